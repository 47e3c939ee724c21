/*
 * Personal-data detectors over a request's fields: runs each detector over
 * each field's value and keeps one finding for each span, the one of the
 * most specific category. The detectors are hand-written scanners that
 * start only where their trigger bytes occur ("@", "+", digits), so the
 * scan costs one pass over the value and a little more where something
 * looks like a match.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pii_internal.h"

void pii_findings_clear(struct pii_findings *findings)
{
	if (!findings)
		return;
	for (size_t i = 0; i < findings->count; i++)
		free(findings->items[i].value);
	findings->count = 0;
	findings->cut = false;
}

void pii_findings_free(struct pii_findings *findings)
{
	if (!findings)
		return;
	pii_findings_clear(findings);
	free(findings->items);
	findings->items = NULL;
	findings->capacity = 0;
}

/* Rank of a category when two findings overlap: the lower wins. A hash in
 * an identity field is the most specific, then patterns with a checksum or
 * a fixed form, then phone numbers, whose forms are loose, then the
 * categories that only a field's name gives. */
static int category_rank(const char *category)
{
	static const char *const ranked[] = {
		"email", "payment_card", "iban", "us_ssn", "ip_address", "geolocation", "phone",
	};

	if (strncmp(category, "hashed_", 7) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(ranked) / sizeof(ranked[0]); i++) {
		if (strcmp(category, ranked[i]) == 0)
			return (int)i + 1;
	}
	return (int)(sizeof(ranked) / sizeof(ranked[0])) + 1;
}

static bool spans_overlap(const struct pii_finding *finding, const struct pii_match *match)
{
	return finding->offset < match->offset + match->length &&
	       match->offset < finding->offset + finding->length;
}

static void remove_finding(struct pii_findings *findings, size_t index)
{
	free(findings->items[index].value);
	findings->items[index] = findings->items[findings->count - 1];
	findings->count--;
}

static int reserve_finding(struct pii_findings *findings)
{
	struct pii_finding *items;
	size_t capacity;

	if (findings->count < findings->capacity)
		return 0;
	capacity = findings->capacity ? findings->capacity * 2 : 16;
	items = realloc(findings->items, capacity * sizeof(*items));
	if (!items)
		return -ENOMEM;
	findings->items = items;
	findings->capacity = capacity;
	return 0;
}

/* Drops the field's findings that overlap match and are less specific.
 * Returns false, dropping nothing, when one as specific overlaps it. */
static bool make_room(struct pii_field_scan *scan, const struct pii_match *match)
{
	struct pii_findings *findings = scan->findings;
	int rank = category_rank(match->category);
	size_t i;

	for (i = scan->first; i < findings->count; i++) {
		if (spans_overlap(&findings->items[i], match) &&
		    category_rank(findings->items[i].category) <= rank)
			return false;
	}
	i = scan->first;
	while (i < findings->count) {
		if (spans_overlap(&findings->items[i], match))
			remove_finding(findings, i);
		else
			i++;
	}
	return true;
}

/* Appends text to the NUL-terminated buffer, cutting it to fit. The maximum
 * chain, 8 decodings and a hash's steps, needs about 120 of the 160 bytes. */
static void append_text(char *buffer, size_t size, const char *text)
{
	size_t used = strlen(buffer);
	size_t length = strlen(text);

	if (length >= size - used)
		length = size - used - 1;
	memcpy(buffer + used, text, length);
	buffer[used + length] = '\0';
}

int pii_report(struct pii_field_scan *scan, const struct pii_match *match)
{
	struct pii_findings *findings = scan->findings;
	struct pii_finding *finding;
	char *value;

	if (!make_room(scan, match))
		return 0;
	if (findings->count - scan->first >= PII_MAX_FINDINGS_PER_FIELD) {
		findings->cut = true;
		return 0;
	}
	if (reserve_finding(findings) < 0)
		return -ENOMEM;
	value = malloc(match->value_bytes + 1);
	if (!value)
		return -ENOMEM;
	memcpy(value, match->value, match->value_bytes);
	value[match->value_bytes] = '\0';

	finding = &findings->items[findings->count++];
	finding->category = match->category;
	finding->source = match->source;
	finding->field = scan->index;
	finding->offset = match->offset;
	finding->length = match->length;
	finding->value = value;
	finding->encoding[0] = '\0';
	append_text(finding->encoding, sizeof(finding->encoding), scan->chain);
	if (scan->chain[0] && match->steps[0])
		append_text(finding->encoding, sizeof(finding->encoding), " > ");
	append_text(finding->encoding, sizeof(finding->encoding), match->steps);
	return 0;
}

/* Fields whose value is never a person's: the request's own server and
 * the browser's product tokens ("Chrome/120.0.0.0" would read as an IP
 * address). */
static bool is_skipped_field(const struct field *field)
{
	static const char *const skipped[] = {
		"url.scheme", "url.host", "url.port", "header.user-agent", "header.sec-fetch-site",
	};

	for (size_t i = 0; i < sizeof(skipped) / sizeof(skipped[0]); i++) {
		if (strcmp(field->path, skipped[i]) == 0)
			return true;
	}
	return false;
}

static void write_chain(const struct field *field, char *chain, size_t size)
{
	chain[0] = '\0';
	for (size_t i = 0; i < field->decoding_count; i++) {
		if (i)
			append_text(chain, size, " > ");
		append_text(chain, size, field_decoding_name(field->decodings[i]));
	}
}

/* Bytes that decide which detectors can match a value. */
enum value_traits {
	HAS_DIGIT = 1 << 0,
	HAS_AT = 1 << 1,
	HAS_ESCAPE = 1 << 2, /* "%" or "\": an encoded "@" or "+" may follow */
	HAS_DOT = 1 << 3,
	HAS_COLON = 1 << 4,
};

static const unsigned char byte_traits[256] = {
	['0' ... '9'] = HAS_DIGIT,
	['@'] = HAS_AT,
	['%'] = HAS_ESCAPE,
	['\\'] = HAS_ESCAPE,
	['.'] = HAS_DOT,
	[':'] = HAS_COLON,
};

static unsigned int traits_of(const char *text, size_t length)
{
	unsigned int traits = 0;

	for (size_t i = 0; i < length; i++)
		traits |= byte_traits[(unsigned char)text[i]];
	return traits;
}

static bool means_personal_data(enum pii_meaning meaning)
{
	return meaning != PII_MEANING_NONE && meaning != PII_MEANING_VERSION &&
	       meaning != PII_MEANING_RECORD_ID;
}

static int run_detectors(struct pii_field_scan *scan)
{
	unsigned int traits = traits_of(scan->text, scan->length);
	int error = 0;

	if (traits & (HAS_AT | HAS_ESCAPE))
		error = pii_find_emails(scan);
	if (!error && (traits & HAS_DIGIT))
		error = pii_find_phones(scan);
	if (!error && (traits & HAS_DIGIT))
		error = pii_find_cards(scan);
	if (!error && (traits & HAS_DIGIT))
		error = pii_find_ibans(scan);
	if (!error && (traits & HAS_DIGIT))
		error = pii_find_us_ssns(scan);
	if (!error && (traits & (HAS_DOT | HAS_COLON)))
		error = pii_find_ip_addresses(scan);
	if (!error && (traits & HAS_DIGIT) && (traits & HAS_DOT))
		error = pii_find_locations(scan);
	if (!error && means_personal_data(scan->meaning))
		error = pii_find_by_meaning(scan);
	return error;
}

static int compare_findings(const void *a, const void *b)
{
	const struct pii_finding *left = a;
	const struct pii_finding *right = b;

	if (left->offset != right->offset)
		return left->offset < right->offset ? -1 : 1;
	if (left->length != right->length)
		return left->length < right->length ? -1 : 1;
	return 0;
}

static int scan_field(const struct field_list *fields, const enum pii_meaning *meanings, size_t index,
		      struct pii_findings *findings)
{
	const struct field *field = &fields->fields[index];
	struct pii_field_scan scan = {
		.fields = fields,
		.meanings = meanings,
		.index = index,
		.text = field->value,
		.length = field->value_bytes,
		.meaning = meanings[index],
		.findings = findings,
		.first = findings->count,
	};
	int error;

	if (!field->value || field->value_bytes == 0 || is_skipped_field(field))
		return 0;
	write_chain(field, scan.chain, sizeof(scan.chain));

	error = run_detectors(&scan);
	if (error)
		return error;
	if (findings->count - scan.first > 1)
		qsort(findings->items + scan.first, findings->count - scan.first, sizeof(findings->items[0]),
		      compare_findings);
	return 0;
}

int pii_scan(const struct field_list *fields, const enum pii_meaning *meanings, struct pii_findings *findings)
{
	enum pii_meaning *resolved;
	int error = 0;

	if (!fields || fields->count == 0)
		return 0;
	resolved = malloc(fields->count * sizeof(*resolved));
	if (!resolved)
		return -ENOMEM;
	for (size_t i = 0; i < fields->count; i++) {
		if (meanings && meanings[i] != PII_MEANING_NONE)
			resolved[i] = meanings[i];
		else
			resolved[i] = pii_meaning_of_path(fields->fields[i].path);
	}

	for (size_t i = 0; i < fields->count && !error; i++)
		error = scan_field(fields, resolved, i, findings);

	free(resolved);
	return error;
}

/*
 * Findings that only a field's meaning makes. A person's name, address,
 * date of birth or gender counts in a field named for it. A hashed
 * identifier (SHA-256, SHA-1 or MD5 in hex, base64 or base64url) counts in
 * a field whose meaning is an identity. A hash elsewhere is a session id or a cache key
 * as often as not, so it is no finding. Each value is checked for the
 * shape its meaning implies, so "ud[ct]=1" or "user.name=true" give
 * nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pii_internal.h"

#define MAX_TEXT_BYTES 128

static const char *const hashed_categories[] = {
	[PII_MEANING_EMAIL] = "hashed_email",
	[PII_MEANING_PHONE] = "hashed_phone",
	[PII_MEANING_FIRST_NAME] = "hashed_first_name",
	[PII_MEANING_LAST_NAME] = "hashed_last_name",
	[PII_MEANING_NAME] = "hashed_name",
	[PII_MEANING_STREET] = "hashed_street_address",
	[PII_MEANING_CITY] = "hashed_city",
	[PII_MEANING_STATE] = "hashed_state",
	[PII_MEANING_POSTAL_CODE] = "hashed_postal_code",
	[PII_MEANING_COUNTRY] = "hashed_country",
	[PII_MEANING_DATE_OF_BIRTH] = "hashed_date_of_birth",
	[PII_MEANING_GENDER] = "hashed_gender",
	[PII_MEANING_EXTERNAL_ID] = "hashed_external_id",
	[PII_MEANING_US_SSN] = "hashed_us_ssn",
};

/* ---- hashes ---- */

struct digest_kind {
	const char *name;
	size_t bytes;
};

static const struct digest_kind digests[] = {
	{ "sha256", 32 },
	{ "sha1", 20 },
	{ "md5", 16 },
};

static bool is_base64_byte(char c)
{
	return pii_is_alnum(c) || c == '+' || c == '/' || c == '-' || c == '_';
}

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (pii_is_digit(c))
		return c - '0' + 52;
	return c == '+' || c == '-' ? 62 : 63;
}

/* Writes the lowercase hex of a token that is a digest in hex. Returns the
 * digest kind, or NULL. */
static const struct digest_kind *read_hex_digest(const char *token, size_t length, char *hex)
{
	for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
		if (length != digests[i].bytes * 2)
			continue;
		for (size_t k = 0; k < length; k++) {
			if (!pii_is_hex(token[k]))
				return NULL;
			hex[k] = pii_lower(token[k]);
		}
		return &digests[i];
	}
	return NULL;
}

/* Decodes a token that is a digest in base64 or base64url, padded or not,
 * into lowercase hex. Sets *alphabet. Returns the digest kind, or NULL. The
 * token must mix upper and lower case, as the base64 of 16 or more random
 * bytes all but always does, and the bits after the last byte must be zero
 * (RFC 4648 section 3.5). */
static const struct digest_kind *read_base64_digest(const char *token, size_t length, char *hex,
						    const char **alphabet)
{
	static const char hex_digits[] = "0123456789abcdef";
	const struct digest_kind *kind = NULL;
	bool upper = false, lower = false, standard = false, url = false;
	unsigned int bits = 0, used = 0;
	size_t digits = length;
	size_t out = 0;

	while (digits > 0 && token[digits - 1] == '=')
		digits--;
	for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
		size_t unpadded = (digests[i].bytes * 8 + 5) / 6;
		size_t padded = (digests[i].bytes + 2) / 3 * 4;

		if (digits == unpadded && (length == unpadded || length == padded))
			kind = &digests[i];
	}
	if (!kind)
		return NULL;

	for (size_t i = 0; i < digits; i++) {
		char c = token[i];

		upper |= c >= 'A' && c <= 'Z';
		lower |= c >= 'a' && c <= 'z';
		standard |= c == '+' || c == '/';
		url |= c == '-' || c == '_';
		bits = (bits << 6) | (unsigned int)base64_value(c);
		used += 6;
		if (used >= 8) {
			unsigned int byte = (bits >> (used - 8)) & 0xff;

			used -= 8;
			hex[out++] = hex_digits[byte >> 4];
			hex[out++] = hex_digits[byte & 0xf];
		}
	}
	if (!upper || !lower || (standard && url) || (bits & ((1u << used) - 1)) != 0)
		return NULL;
	*alphabet = url ? "base64url" : "base64";
	return kind;
}

static int check_hash_token(struct pii_field_scan *scan, size_t start, size_t end)
{
	char hex[2 * 32];
	char steps[32];
	const char *alphabet = "hex";
	const struct digest_kind *kind;
	struct pii_match match = {
		.category = hashed_categories[scan->meaning],
		.source = "detector:field_name",
		.offset = start,
		.length = end - start,
		.steps = steps,
		.value = hex,
	};

	kind = read_hex_digest(scan->text + start, end - start, hex);
	if (!kind)
		kind = read_base64_digest(scan->text + start, end - start, hex, &alphabet);
	if (!kind)
		return 0;
	snprintf(steps, sizeof(steps), "%s > %s", kind->name, alphabet);
	match.value_bytes = kind->bytes * 2;
	return pii_report(scan, &match);
}

/* Checks each token of base64 bytes and padding in the value, which finds
 * the hash in "tv.1~em.<hash>" as well as a hash alone. */
static int find_hashes(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	size_t offset = 0;

	while (offset < scan->length) {
		size_t end = offset;
		int error;

		while (end < scan->length && is_base64_byte(text[end]))
			end++;
		if (end == offset) {
			offset++;
			continue;
		}
		while (end < scan->length && end - offset < 64 && text[end] == '=')
			end++;
		if (!pii_alnum_at(text, scan->length, end) && end - offset >= 22 && end - offset <= 64) {
			error = check_hash_token(scan, offset, end);
			if (error)
				return error;
		}
		offset = end;
	}
	return 0;
}

/* ---- plain values ---- */

/* Returns the value without spaces around it. */
static void trim(const struct pii_field_scan *scan, size_t *start, size_t *end)
{
	*start = 0;
	*end = scan->length;
	while (*start < *end && (scan->text[*start] == ' ' || scan->text[*start] == '\t'))
		(*start)++;
	while (*end > *start && (scan->text[*end - 1] == ' ' || scan->text[*end - 1] == '\t'))
		(*end)--;
}

/* Writes text in lowercase with runs of spaces as one, or without spaces
 * and dashes when drop_spaces is set. Returns the bytes written. */
static size_t normalise_text(const char *text, size_t length, bool drop_spaces, char *out)
{
	size_t used = 0;

	for (size_t i = 0; i < length; i++) {
		char c = text[i];

		if (c == ' ' && (drop_spaces || (used > 0 && out[used - 1] == ' ')))
			continue;
		if (c == '-' && drop_spaces)
			continue;
		out[used++] = pii_lower(c);
	}
	return used;
}

static bool is_placeholder(const char *text, size_t length)
{
	static const char *const placeholders[] = {
		"undefined", "null", "none", "true", "false", "nan", "unknown",
	};

	for (size_t i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
		if (length == strlen(placeholders[i]) && strncasecmp(text, placeholders[i], length) == 0)
			return true;
	}
	return false;
}

/* A name or a place: letters (ASCII or any UTF-8 sequence), spaces and
 * "-'.", with no digits. */
static bool is_name_text(const char *text, size_t length)
{
	bool letter = false;

	if (length < 2 || length > 64 || is_placeholder(text, length))
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (pii_is_alpha((char)c) || c >= 0x80)
			letter = true;
		else if (c != ' ' && c != '-' && c != '\'' && c != '.')
			return false;
	}
	return letter;
}

/* A street address: letters, digits, spaces and ".,-/#'", with a letter. */
static bool is_street_text(const char *text, size_t length)
{
	bool letter = false;

	if (length < 3 || length > MAX_TEXT_BYTES || is_placeholder(text, length))
		return false;
	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)text[i];

		if (pii_is_alpha((char)c) || c >= 0x80)
			letter = true;
		else if (!pii_is_digit((char)c) && !strchr(" .,-/#'", c))
			return false;
	}
	return letter;
}

/* A postal code: 3 to 10 letters, digits, spaces and dashes, with a digit
 * ("75008", "SW1A 1AA", "12345-6789"). */
static bool is_postal_code(const char *text, size_t length)
{
	bool digit = false;

	if (length < 3 || length > 10)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (pii_is_digit(text[i]))
			digit = true;
		else if (!pii_is_alpha(text[i]) && text[i] != ' ' && text[i] != '-')
			return false;
	}
	return digit;
}

static bool is_gender(const char *text, size_t length)
{
	static const char *const genders[] = {
		"m", "f", "w", "d", "x", "male", "female", "man", "woman", "non-binary", "nonbinary",
		"diverse", "divers", "other",
	};

	for (size_t i = 0; i < sizeof(genders) / sizeof(genders[0]); i++) {
		if (length == strlen(genders[i]) && strncasecmp(text, genders[i], length) == 0)
			return true;
	}
	return false;
}

static int report_plain(struct pii_field_scan *scan, size_t start, size_t end, const char *value,
			size_t value_bytes)
{
	struct pii_match match = {
		.category = pii_meaning_name(scan->meaning),
		.source = "detector:field_name",
		.offset = start,
		.length = end - start,
		.steps = "",
		.value = value,
		.value_bytes = value_bytes,
	};

	return pii_report(scan, &match);
}

static int find_plain_value(struct pii_field_scan *scan)
{
	const char *text;
	char value[PII_VALUE_BYTES];
	size_t start;
	size_t end;
	size_t length;
	bool valid;
	bool drop_spaces = false;

	trim(scan, &start, &end);
	text = scan->text + start;
	length = end - start;
	if (length == 0 || length > MAX_TEXT_BYTES)
		return 0;

	switch (scan->meaning) {
	case PII_MEANING_FIRST_NAME:
	case PII_MEANING_LAST_NAME:
	case PII_MEANING_NAME:
	case PII_MEANING_CITY:
	case PII_MEANING_STATE:
	case PII_MEANING_COUNTRY:
		valid = is_name_text(text, length);
		break;
	case PII_MEANING_STREET:
		valid = is_street_text(text, length);
		break;
	case PII_MEANING_POSTAL_CODE:
		valid = is_postal_code(text, length);
		drop_spaces = true;
		break;
	case PII_MEANING_GENDER:
		valid = is_gender(text, length);
		break;
	case PII_MEANING_DATE_OF_BIRTH:
		if (!pii_read_date(text, length, value))
			return 0;
		return report_plain(scan, start, end, value, 8);
	default:
		return 0;
	}
	if (!valid)
		return 0;
	return report_plain(scan, start, end, value, normalise_text(text, length, drop_spaces, value));
}

static bool is_identity(enum pii_meaning meaning)
{
	return (size_t)meaning < sizeof(hashed_categories) / sizeof(hashed_categories[0]) &&
	       hashed_categories[meaning] != NULL;
}

int pii_find_by_meaning(struct pii_field_scan *scan)
{
	int error;

	if (is_identity(scan->meaning)) {
		error = find_hashes(scan);
		if (error)
			return error;
	}
	return find_plain_value(scan);
}

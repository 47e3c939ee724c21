/*
 * Redaction of what an event prints. Every personal-data finding's text is
 * replaced by a mark that names its category and the start of its keyed
 * fingerprint ("[email:3f2a9c1e04b7]"), wherever the text appears: as it was
 * decoded, and percent-encoded once or twice as URLs carry it. A printed
 * value that contains a finding in a form the text search cannot see
 * (base64, JSON escapes inside a query parameter) is replaced whole. Cookie and
 * Authorization values and URL credentials are always replaced.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define SECRET_MARK "[REDACTED]"

/* Texts shorter than this (a first name, a city) are replaced only as
 * whole words, so that "Max" leaves "Maximilian" alone. */
#define WHOLE_WORD_BELOW_BYTES 8

struct needle {
	const char *text; /* points into a field value */
	size_t length;
	const char *mark;
	size_t field;
};

struct redactor {
	const struct field_list *fields;
	struct needle *needles;
	size_t count;
};

static int compare_length(const void *left, const void *right)
{
	const struct needle *a = left, *b = right;

	if (a->length == b->length)
		return 0;
	return a->length < b->length ? 1 : -1;
}

int redactor_new(struct redactor **out, const struct field_list *fields, const struct pii_findings *findings,
		 const char *const *marks)
{
	struct redactor *redactor = calloc(1, sizeof(*redactor));
	size_t count = findings ? findings->count : 0;

	*out = NULL;
	if (!redactor)
		return -ENOMEM;
	redactor->fields = fields;
	redactor->needles = calloc(count + 1, sizeof(*redactor->needles));
	if (!redactor->needles) {
		free(redactor);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		const struct pii_finding *finding = &findings->items[i];

		if (finding->field >= fields->count || !finding->length)
			continue;
		redactor->needles[redactor->count++] = (struct needle){
			.text = fields->fields[finding->field].value + finding->offset,
			.length = finding->length,
			.mark = marks[i],
			.field = finding->field,
		};
	}
	/* The longest text is tried first, so an e-mail address that starts
	 * with the first name is replaced whole, not from behind the name. */
	qsort(redactor->needles, redactor->count, sizeof(*redactor->needles), compare_length);
	*out = redactor;
	return 0;
}

void redactor_free(struct redactor *redactor)
{
	if (!redactor)
		return;
	free(redactor->needles);
	free(redactor);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads one byte of text at *position as a URL carries it: literal, %XX,
 * %25XX (encoded twice) or '+' for a space. Returns the byte, or -1 at the
 * end, and advances *position. */
static int next_byte(const char *text, size_t length, size_t *position)
{
	size_t at = *position;

	if (at >= length)
		return -1;
	if (text[at] == '%' && at + 2 < length && hex_value(text[at + 1]) >= 0 && hex_value(text[at + 2]) >= 0) {
		int value = hex_value(text[at + 1]) * 16 + hex_value(text[at + 2]);

		if (value == '%' && at + 4 < length && hex_value(text[at + 3]) >= 0 && hex_value(text[at + 4]) >= 0) {
			*position = at + 5;
			return hex_value(text[at + 3]) * 16 + hex_value(text[at + 4]);
		}
		*position = at + 3;
		return value;
	}
	*position = at + 1;
	return text[at] == '+' ? ' ' : (unsigned char)text[at];
}

/* Whether the byte that text spells at position, after percent-decoding
 * once, is a letter or digit. */
static bool word_byte_at(const char *text, size_t length, size_t position)
{
	if (position >= length)
		return false;
	if (text[position] == '%' && position + 2 < length && hex_value(text[position + 1]) >= 0 &&
	    hex_value(text[position + 2]) >= 0)
		return isalnum(hex_value(text[position + 1]) * 16 + hex_value(text[position + 2]));
	return isalnum((unsigned char)text[position]);
}

/* Whether a letter or digit comes right before start: a plain one, or one
 * written as %XX. */
static bool word_byte_before(const char *text, size_t start)
{
	if (start == 0)
		return false;
	if (start >= 3 && text[start - 3] == '%' && hex_value(text[start - 2]) >= 0 && hex_value(text[start - 1]) >= 0)
		return isalnum(hex_value(text[start - 2]) * 16 + hex_value(text[start - 1]));
	return isalnum((unsigned char)text[start - 1]);
}

/* Returns the end of the needle when text at start spells it, else 0. */
static size_t match_at(const char *text, size_t length, size_t start, const struct needle *needle)
{
	size_t position = start;
	bool whole_word = needle->length < WHOLE_WORD_BELOW_BYTES;

	if (whole_word && word_byte_before(text, start))
		return 0;

	for (size_t i = 0; i < needle->length; i++) {
		int byte = next_byte(text, length, &position);

		/* '+' spells a space only in encoded text, and the needle's own
		 * '+' (E.164 phone numbers) is literal. */
		if (byte == ' ' && text[position - 1] == '+' && needle->text[i] == '+')
			byte = '+';
		if (byte != (unsigned char)needle->text[i])
			return 0;
	}
	if (whole_word && word_byte_at(text, length, position))
		return 0;
	return position;
}

/* Appends bytes to a growing output. */
static int append(char **out, size_t *used, size_t *capacity, const char *bytes, size_t length)
{
	if (*used + length + 1 > *capacity) {
		size_t grown = (*capacity + length + 1) * 2;
		char *bigger = realloc(*out, grown);

		if (!bigger)
			return -ENOMEM;
		*out = bigger;
		*capacity = grown;
	}
	memcpy(*out + *used, bytes, length);
	*used += length;
	(*out)[*used] = '\0';
	return 0;
}

char *redact_text(const struct redactor *redactor, const char *text, size_t *replaced)
{
	size_t length = strlen(text);
	size_t used = 0, capacity = 0, position = 0;
	char *out = NULL;

	*replaced = 0;
	if (append(&out, &used, &capacity, "", 0))
		return NULL;
	while (position < length) {
		size_t end = 0;
		const struct needle *found = NULL;

		for (size_t n = 0; n < redactor->count && !end; n++) {
			end = match_at(text, length, position, &redactor->needles[n]);
			found = &redactor->needles[n];
		}
		if (end) {
			if (append(&out, &used, &capacity, found->mark, strlen(found->mark)))
				goto fail;
			(*replaced)++;
			position = end;
		} else {
			if (append(&out, &used, &capacity, text + position, 1))
				goto fail;
			position++;
		}
	}
	return out;

fail:
	free(out);
	return NULL;
}

/* Returns the mark of a finding in the field at path or inside it (a path
 * that continues with '.' or '['), or NULL when there is none. */
static const char *finding_inside(const struct redactor *redactor, const char *path, size_t length)
{
	for (size_t n = 0; n < redactor->count; n++) {
		const char *inner = redactor->fields->fields[redactor->needles[n].field].path;

		if (strncmp(inner, path, length) == 0 && (inner[length] == '\0' || inner[length] == '.' ||
							 inner[length] == '['))
			return redactor->needles[n].mark;
	}
	return NULL;
}

static bool is_secret_path(const char *path)
{
	return strncmp(path, "cookie.", 7) == 0 || strcmp(path, "header.authorization") == 0 ||
	       strncmp(path, "header.authorization.", 21) == 0 || strncmp(path, "header.authorization[", 21) == 0 ||
	       strcmp(path, "url.user_info") == 0 || strncmp(path, "url.user_info.", 14) == 0;
}

char *redact_field(const struct redactor *redactor, size_t index)
{
	const struct field *field = &redactor->fields->fields[index];
	const char *mark;
	size_t replaced;
	char *text;

	if (is_secret_path(field->path))
		return strdup(SECRET_MARK);
	text = redact_text(redactor, field->value, &replaced);
	mark = finding_inside(redactor, field->path, strlen(field->path));
	if (text && !replaced && mark) {
		free(text);
		return strdup(mark);
	}
	return text;
}

/* Whether a raw parameter value already carries a mark. */
static bool has_mark(const struct redactor *redactor, const char *value, size_t length)
{
	for (size_t n = 0; n < redactor->count; n++)
		if (memmem(value, length, redactor->needles[n].mark, strlen(redactor->needles[n].mark)))
			return true;
	return false;
}

/* Appends one name=value pair of a query. Its value is replaced when it
 * contains a finding that the text search did not find in it. */
static int append_parameter(const struct redactor *redactor, const char *pair, size_t length, char **out,
			    size_t *used, size_t *capacity)
{
	const char *equals = memchr(pair, '=', length);
	char path[512];
	const char *mark = NULL;
	size_t name_length = equals ? (size_t)(equals - pair) : length;

	/* Field paths carry names percent-decoded: only plain names compare. */
	if (equals && !memchr(pair, '%', name_length) && name_length + 7 < sizeof(path)) {
		snprintf(path, sizeof(path), "query.%.*s", (int)name_length, pair);
		mark = finding_inside(redactor, path, strlen(path));
	}
	if (!mark || has_mark(redactor, equals + 1, length - name_length - 1))
		return append(out, used, capacity, pair, length);
	if (append(out, used, capacity, pair, name_length + 1))
		return -ENOMEM;
	return append(out, used, capacity, mark, strlen(mark));
}

/* Replaces the value of each query parameter that contains a finding the
 * text search did not see in the URL, such as an e-mail address in base64. */
static char *redact_parameters(const struct redactor *redactor, char *url)
{
	char *query = strchr(url, '?');
	size_t used = 0, capacity = 0;
	char *out = NULL;
	const char *cursor;
	int error;

	if (!query)
		return url;
	error = append(&out, &used, &capacity, url, (size_t)(query - url + 1));
	cursor = query + 1;
	while (!error && *cursor && *cursor != '#') {
		size_t pair = strcspn(cursor, "&#");

		error = append_parameter(redactor, cursor, pair, &out, &used, &capacity);
		cursor += pair;
		if (!error && *cursor == '&')
			error = append(&out, &used, &capacity, cursor++, 1);
	}
	if (!error)
		error = append(&out, &used, &capacity, cursor, strlen(cursor));
	free(url);
	if (error) {
		free(out);
		return NULL;
	}
	return out;
}

/* Replaces "user:password@" in the authority. */
static char *redact_credentials(char *url)
{
	char *start = strstr(url, "//");
	size_t authority;
	char *at;
	char *out;

	if (!start)
		return url;
	start += 2;
	authority = strcspn(start, "/?#");
	at = memchr(start, '@', authority);
	if (!at)
		return url;
	out = malloc(strlen(url) + sizeof(SECRET_MARK));
	if (!out) {
		free(url);
		return NULL;
	}
	sprintf(out, "%.*s%s%s", (int)(start - url), url, SECRET_MARK, at);
	free(url);
	return out;
}

char *redact_url(const struct redactor *redactor, const char *url)
{
	size_t replaced;
	char *text = redact_text(redactor, url, &replaced);

	if (text)
		text = redact_parameters(redactor, text);
	if (text)
		text = redact_credentials(text);
	return text;
}

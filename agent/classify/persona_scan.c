/*
 * Finding a persona's forms in a request's fields. The automaton scans each
 * field value once, and its candidates are compared in full. A match that
 * lies inside another is dropped, so each place in a value is reported
 * once, by its longest form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persona_internal.h"

struct persona_match {
	size_t start;
	size_t length; /* including the tail, when present */
	uint32_t pattern;
};

struct scan_context {
	const struct persona *persona;
	const uint8_t *text;
	size_t length;
	struct persona_match *matches;
	size_t match_count;
	size_t match_capacity;
};

static int add_match(struct scan_context *context, uint32_t pattern, size_t start, size_t length)
{
	struct persona_match *match;

	if (context->match_count == context->match_capacity) {
		size_t capacity = context->match_capacity ? context->match_capacity * 2 : 16;
		struct persona_match *grown = realloc(context->matches, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		context->matches = grown;
		context->match_capacity = capacity;
	}
	match = &context->matches[context->match_count++];
	match->start = start;
	match->length = length;
	match->pattern = pattern;
	return 0;
}

static bool is_ascii_alnum(uint8_t byte)
{
	return (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z');
}

/* Compares text with a pattern: exactly, or for caseless patterns (whose
 * text is lowercase) with ASCII letters folded. */
static bool pattern_at(const struct persona_pattern *pattern, const uint8_t *text)
{
	size_t i;

	if (!pattern->caseless)
		return memcmp(text, pattern->text, pattern->length) == 0;
	for (i = 0; i < pattern->length; i++) {
		uint8_t byte = text[i];

		if (byte >= 'A' && byte <= 'Z')
			byte = (uint8_t)(byte - 'A' + 'a');
		if (byte != (uint8_t)pattern->text[i])
			return false;
	}
	return true;
}

/* Returns the match's length with the pattern's tail when the text has it. */
static size_t length_with_tail(const struct persona_pattern *pattern, const uint8_t *text, size_t available)
{
	size_t tail_length = pattern->tail ? strlen(pattern->tail) : 0;

	if (tail_length && pattern->length + tail_length <= available &&
	    memcmp(text + pattern->length, pattern->tail, tail_length) == 0)
		return pattern->length + tail_length;
	return pattern->length;
}

static int check_candidate(void *opaque, uint32_t index, size_t start)
{
	struct scan_context *context = opaque;
	const struct persona_pattern *pattern = &context->persona->patterns.items[index];
	const uint8_t *text = context->text;
	size_t length;

	if (pattern->length > context->length - start || !pattern_at(pattern, text + start))
		return 0;
	length = length_with_tail(pattern, text + start, context->length - start);
	if (pattern->token) {
		if (start > 0 && is_ascii_alnum(text[start - 1]))
			return 0;
		if (start + length < context->length && is_ascii_alnum(text[start + length]))
			return 0;
	}
	return add_match(context, index, start, length);
}

/* Short forms count only when they are the whole value, with or without
 * their tail. */
static int check_whole_value(struct scan_context *context)
{
	const struct persona *persona = context->persona;
	size_t i;

	if (context->length >= PERSONA_MIN_PATTERN_BYTES + PERSONA_MAX_TAIL_BYTES)
		return 0;
	for (i = 0; i < persona->whole_field_count; i++) {
		const struct persona_pattern *pattern = &persona->patterns.items[persona->whole_field[i]];
		int err;

		if (pattern->length > context->length || !pattern_at(pattern, context->text))
			continue;
		if (length_with_tail(pattern, context->text, context->length) != context->length)
			continue;
		err = add_match(context, persona->whole_field[i], 0, context->length);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Earlier start first, then the longer, then the pattern made first. */
static int compare_matches(const void *left, const void *right)
{
	const struct persona_match *a = left;
	const struct persona_match *b = right;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->length != b->length)
		return a->length > b->length ? -1 : 1;
	return a->pattern < b->pattern ? -1 : a->pattern > b->pattern;
}

/* Sorts the matches and drops each one that a kept match covers. */
static void keep_covering_matches(struct scan_context *context)
{
	size_t kept_count = 0;
	size_t covered_end = 0;
	size_t i;

	if (context->match_count == 0)
		return;
	qsort(context->matches, context->match_count, sizeof(*context->matches), compare_matches);
	for (i = 0; i < context->match_count; i++) {
		struct persona_match *match = &context->matches[i];
		size_t end = match->start + match->length;

		if (kept_count > 0 && end <= covered_end)
			continue;
		context->matches[kept_count++] = *match;
		covered_end = end;
	}
	context->match_count = kept_count;
}

static void append_step(char *encoding, size_t *used, const char *name)
{
	int written;

	if (*used >= PII_ENCODING_BYTES - 1)
		return;
	written = snprintf(encoding + *used, PII_ENCODING_BYTES - *used, "%s%s", *used ? " > " : "", name);
	if (written > 0)
		*used += (size_t)written;
}

/* Writes the field's decodings, then the form's chain, joined by " > ".
 * The longest, eight decodings and five steps of at most 9 bytes each,
 * takes 153 bytes with the separators, so PII_ENCODING_BYTES fits it. */
static void write_encoding(char *encoding, const struct field *field, const struct persona_pattern *pattern)
{
	size_t used = 0;
	size_t i;

	encoding[0] = '\0';
	for (i = 0; i < field->decoding_count; i++)
		append_step(encoding, &used, field_decoding_name(field->decodings[i]));
	for (i = 0; i < pattern->step_count; i++)
		append_step(encoding, &used, persona_step_name(pattern->steps[i]));
}

static int append_finding(struct pii_findings *findings, const struct persona *persona,
			  const struct field *field, size_t field_index, const struct persona_match *match)
{
	const struct persona_pattern *pattern = &persona->patterns.items[match->pattern];
	const struct persona_value *value = &persona->values[pattern->value];
	struct pii_finding *finding;

	if (findings->count == findings->capacity) {
		size_t capacity = findings->capacity ? findings->capacity * 2 : 8;
		struct pii_finding *grown = realloc(findings->items, capacity * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		findings->items = grown;
		findings->capacity = capacity;
	}

	finding = &findings->items[findings->count];
	memset(finding, 0, sizeof(*finding));
	finding->value = strdup(value->normalised);
	if (!finding->value)
		return -ENOMEM;
	finding->category = persona_kind_name(value->kind);
	finding->source = persona_kind_source(value->kind);
	finding->field = field_index;
	finding->offset = match->start;
	finding->length = match->length;
	write_encoding(finding->encoding, field, pattern);
	findings->count++;
	return 0;
}

static int scan_field(struct scan_context *context, const struct field *field)
{
	int err;

	context->text = (const uint8_t *)field->value;
	context->length = field->value_bytes;
	context->match_count = 0;

	err = persona_automaton_scan(context->persona->automaton, context->text, context->length,
				     check_candidate, context);
	if (err == 0)
		err = check_whole_value(context);
	if (err == 0)
		keep_covering_matches(context);
	return err;
}

int persona_scan(const struct persona *persona, const struct field_list *fields,
		 struct pii_findings *findings)
{
	struct scan_context context = { .persona = persona };
	size_t i;
	size_t j;
	int err = 0;

	for (i = 0; i < fields->count && err == 0; i++) {
		err = scan_field(&context, &fields->fields[i]);
		for (j = 0; j < context.match_count && err == 0; j++)
			err = append_finding(findings, persona, &fields->fields[i], i, &context.matches[j]);
	}
	free(context.matches);
	return err;
}

/*
 * The filter engine's storage: adding a parsed filter, the arena that
 * contains the text of every filter, and the counters. Patterns and domain names
 * point into the stored line, and are copied only when they must be
 * lowercased, so a list costs little more than its own size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "internal.h"

#define ARENA_INITIAL_BYTES (64u << 10)
#define ARRAY_INITIAL_COUNT 256
/* Bytes of a filter quoted in a message. */
#define QUOTE_MAX_BYTES 160

static int grow(void **array, size_t *capacity, size_t needed, size_t element_size)
{
	size_t count = *capacity ? *capacity : ARRAY_INITIAL_COUNT;
	void *grown;

	if (needed <= *capacity)
		return 0;
	while (count < needed) {
		if (count > SIZE_MAX / 2 / element_size)
			return -ENOMEM;
		count *= 2;
	}
	grown = realloc(*array, count * element_size);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	*capacity = count;
	return 0;
}

int domains_reserve(struct filter_engine *engine, size_t count)
{
	return grow((void **)&engine->domains, &engine->domain_capacity, engine->domain_count + count,
		    sizeof(struct domain_entry));
}

static int arena_append(struct filter_engine *engine, const char *bytes, size_t length, bool lowercase,
			uint32_t *offset)
{
	size_t needed = engine->arena_used + length + 1;
	size_t capacity = engine->arena_capacity ? engine->arena_capacity : ARENA_INITIAL_BYTES;
	char *grown;

	/* Offsets are 32 bits wide. */
	if (needed > UINT32_MAX)
		return -ENOMEM;
	if (needed > engine->arena_capacity) {
		while (capacity < needed)
			capacity *= 2;
		grown = realloc(engine->arena, capacity);
		if (!grown)
			return -ENOMEM;
		engine->arena = grown;
		engine->arena_capacity = capacity;
	}

	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)bytes[i];

		engine->arena[engine->arena_used + i] = (char)(lowercase ? lower_ascii(c) : c);
	}
	engine->arena[engine->arena_used + length] = '\0';
	*offset = (uint32_t)engine->arena_used;
	engine->arena_used = needed;
	return 0;
}

int arena_reference(struct filter_engine *engine, const struct stored_line *line, const char *span,
		    size_t length, bool lowercase, uint32_t *offset)
{
	for (size_t i = 0; lowercase && i < length; i++) {
		if (span[i] >= 'A' && span[i] <= 'Z')
			return arena_append(engine, span, length, true, offset);
	}
	*offset = line->offset + (uint32_t)(span - line->bytes);
	return 0;
}

static void count_filter(struct filter_stats *stats, uint16_t flags)
{
	stats->loaded++;
	if (flags & FILTER_EXCEPTION)
		stats->exceptions++;
	else if (flags & FILTER_IMPORTANT)
		stats->important++;
	if (flags & FILTER_REGEX)
		stats->regex++;
}

/* Stores a parsed network filter. Returns 0, -ENOMEM, or -EINVAL with
 * parsed->reason and parsed->detail set. */
static int store_filter(struct filter_engine *engine, struct parsed_filter *parsed, char *message,
			size_t size)
{
	struct filter filter = { .types = parsed->types, .flags = parsed->flags };
	struct stored_line line = { .bytes = parsed->text };
	bool regex = (parsed->flags & FILTER_REGEX) != 0;
	bool match_case = (parsed->flags & FILTER_MATCH_CASE) != 0;
	pcre2_code *code = NULL;
	int rc;

	rc = grow((void **)&engine->filters, &engine->filter_capacity, engine->filter_count + 1,
		  sizeof(filter));
	if (rc == 0 && regex)
		rc = grow((void **)&engine->regexes, &engine->regex_capacity, engine->regex_count + 1,
			  sizeof(code));
	if (rc == 0 && regex) {
		rc = regex_compile(parsed->pattern, parsed->pattern_length, match_case, &code, message, size);
		parsed->reason = "invalid regular expression";
		parsed->detail = message;
		parsed->detail_length = strlen(message);
	}
	if (rc < 0)
		return rc;

	rc = arena_append(engine, parsed->text, parsed->text_length, false, &line.offset);
	if (rc < 0)
		goto cleanup;
	filter.text = line.offset;
	rc = arena_reference(engine, &line, parsed->pattern, parsed->pattern_length, !regex && !match_case,
			     &filter.pattern);
	if (rc < 0)
		goto cleanup;
	filter.pattern_length = (uint32_t)parsed->pattern_length;
	if (parsed->domains) {
		rc = domains_store(engine, &line, parsed->domains, parsed->domains_length, &filter);
		parsed->reason = "too many domains";
		parsed->detail = NULL;
		if (rc < 0)
			goto cleanup;
	}

	if (code) {
		filter.regex = (uint32_t)engine->regex_count;
		engine->regexes[engine->regex_count++] = code;
		code = NULL;
	}
	engine->filters[engine->filter_count++] = filter;
	count_filter(&engine->stats, filter.flags);

cleanup:
	pcre2_code_free(code);
	return rc;
}

static void report_invalid(struct filter_engine *engine, const struct parsed_filter *parsed,
			   const char *origin)
{
	int quoted = parsed->text_length > QUOTE_MAX_BYTES ? QUOTE_MAX_BYTES : (int)parsed->text_length;

	engine->stats.invalid++;
	if (engine->warnings_left == 0)
		return;
	engine->warnings_left--;

	if (parsed->detail)
		log_warn("%s: invalid filter \"%.*s%s\": %s (%.*s)", origin ? origin : "filter", quoted,
			 parsed->text, (size_t)quoted < parsed->text_length ? "..." : "", parsed->reason,
			 (int)parsed->detail_length, parsed->detail);
	else
		log_warn("%s: invalid filter \"%.*s%s\": %s", origin ? origin : "filter", quoted,
			 parsed->text, (size_t)quoted < parsed->text_length ? "..." : "", parsed->reason);
}

int filter_engine_add(struct filter_engine *engine, const char *line, size_t length, const char *origin)
{
	struct parsed_filter parsed;
	char message[160] = "";
	int rc;

	switch (parse_line(line, length, &parsed)) {
	case LINE_BLANK:
		return FILTER_SKIPPED;
	case LINE_COMMENT:
		engine->stats.comments++;
		return FILTER_SKIPPED;
	case LINE_COSMETIC:
		engine->stats.cosmetic_skipped++;
		return FILTER_SKIPPED;
	case LINE_DROPPED:
		engine->stats.unsupported++;
		log_debug("%s: dropped filter \"%.*s\": %s (%.*s)", origin ? origin : "filter",
			  parsed.text_length > QUOTE_MAX_BYTES ? QUOTE_MAX_BYTES : (int)parsed.text_length,
			  parsed.text, parsed.reason, (int)parsed.detail_length,
			  parsed.detail ? parsed.detail : "");
		return FILTER_DROPPED;
	case LINE_INVALID:
		report_invalid(engine, &parsed, origin);
		return -EINVAL;
	case LINE_NETWORK:
		break;
	}

	rc = store_filter(engine, &parsed, message, sizeof(message));
	if (rc == -EINVAL)
		report_invalid(engine, &parsed, origin);
	return rc < 0 ? rc : FILTER_ADDED;
}

int filter_engine_new(struct filter_engine **engine)
{
	*engine = calloc(1, sizeof(**engine));
	if (!*engine)
		return -ENOMEM;
	(*engine)->warnings_left = WARNINGS_PER_SOURCE;
	return 0;
}

int filter_engine_build_index(struct filter_engine *engine)
{
	return index_build(engine);
}

void filter_engine_stats(const struct filter_engine *engine, struct filter_stats *stats)
{
	*stats = engine->stats;
	/* The blocking class includes the important filters. */
	stats->unindexed = engine->filter_count - engine->index.filter_count +
			   engine->index.classes[FILTER_CLASS_BLOCKING].unindexed_count +
			   engine->index.classes[FILTER_CLASS_EXCEPTION].unindexed_count;
}

void filter_engine_free(struct filter_engine *engine)
{
	if (!engine)
		return;
	for (size_t i = 0; i < engine->regex_count; i++)
		pcre2_code_free(engine->regexes[i]);
	free(engine->regexes);
	index_free(&engine->index);
	free(engine->domains);
	free(engine->filters);
	free(engine->arena);
	free(engine);
}

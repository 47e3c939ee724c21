/*
 * Filter index. A "||host^" filter is filed under its host name. Any other
 * filter is filed under one token of its pattern that every matching URL
 * contains whole: the token that the fewest filters have, so that buckets
 * stay small. A filter without such a token but with a domain= list is
 * filed under each of its domains. A request then tries only the filters
 * in the buckets of its host, of its URL's tokens and of its page's
 * domains, plus the few filters filed nowhere ("unindexed", such as
 * "$ping,third-party"). Exceptions, important filters and the other
 * blocking filters have tables of their own, and the blocking tables hold
 * the important filters too. The filters of a bucket are consecutive
 * entries, in list order. A hosts table also keeps a record of each
 * bucket's first filter beside its slots.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Tokens found in nearly every URL; a filter is filed under one of them
 * only when it has no other token. */
static const char *const common_tokens[] = { "http", "https", "www", "com", "net", "org", "js" };
#define COMMON_COUNT (sizeof(common_tokens) / sizeof(common_tokens[0]))
#define COMMON_PENALTY (1u << 24)

/* Token hash to filter count, open addressing. */
struct token_counts {
	uint32_t *keys;
	uint32_t *counts;
	size_t mask;
	size_t used;
};

static int counts_init(struct token_counts *counts, size_t size)
{
	counts->keys = calloc(size, sizeof(uint32_t));
	counts->counts = calloc(size, sizeof(uint32_t));
	counts->mask = size - 1;
	counts->used = 0;
	return counts->keys && counts->counts ? 0 : -ENOMEM;
}

static void counts_free(struct token_counts *counts)
{
	free(counts->keys);
	free(counts->counts);
}

static uint32_t *counts_find(const struct token_counts *counts, uint32_t token)
{
	size_t i = slot_of(token, counts->mask);

	while (counts->keys[i] && counts->keys[i] != token)
		i = (i + 1) & counts->mask;
	return &counts->keys[i];
}

static int counts_grow(struct token_counts *counts)
{
	struct token_counts grown;

	if (counts_init(&grown, (counts->mask + 1) * 2) < 0) {
		counts_free(&grown);
		return -ENOMEM;
	}
	for (size_t i = 0; i <= counts->mask; i++) {
		uint32_t *key;

		if (!counts->keys[i])
			continue;
		key = counts_find(&grown, counts->keys[i]);
		*key = counts->keys[i];
		grown.counts[key - grown.keys] = counts->counts[i];
		grown.used++;
	}
	counts_free(counts);
	*counts = grown;
	return 0;
}

struct count_context {
	struct token_counts *counts;
	int rc;
};

static void count_token(uint32_t token, size_t start, size_t length, void *data)
{
	struct count_context *context = data;
	struct token_counts *counts = context->counts;
	uint32_t *key;

	(void)start;
	(void)length;
	if (context->rc < 0)
		return;
	if (counts->used * 2 >= counts->mask + 1) {
		context->rc = counts_grow(counts);
		if (context->rc < 0)
			return;
	}
	key = counts_find(counts, token);
	if (!*key) {
		*key = token;
		counts->used++;
	}
	counts->counts[key - counts->keys]++;
}

static void for_each_token(const struct filter_engine *engine, const struct filter *filter,
			   token_callback callback, void *context)
{
	const char *pattern = engine->arena + filter->pattern;

	if (filter->flags & FILTER_REGEX)
		regex_for_each_token(pattern, filter->pattern_length, callback, context);
	else
		pattern_for_each_token(pattern, filter->pattern_length, filter->flags, callback, context);
}

struct choice {
	const struct token_counts *counts;
	const uint32_t *common;
	uint32_t token;
	uint32_t score;
	size_t start;
	size_t length;
};

static void choose_token(uint32_t token, size_t start, size_t length, void *data)
{
	struct choice *choice = data;
	uint32_t score = choice->counts->counts[counts_find(choice->counts, token) - choice->counts->keys];

	for (size_t i = 0; i < COMMON_COUNT; i++) {
		if (choice->common[i] == token)
			score += COMMON_PENALTY;
	}
	/* Fewest filters first; among equals the longer token, which fewer
	 * URLs contain. */
	if (!choice->token || score < choice->score || (score == choice->score && length > choice->length)) {
		choice->token = token;
		choice->score = score;
		choice->start = start;
		choice->length = length;
	}
}

static void hash_common_tokens(uint32_t *common)
{
	for (size_t i = 0; i < COMMON_COUNT; i++)
		common[i] = token_hash(common_tokens[i], strlen(common_tokens[i]));
}

/* Table a filter is filed in. */
enum key_kind {
	KEY_NONE = 0,   /* by its domains, else unindexed */
	KEY_HOST,
	KEY_TOKEN,
};

struct filter_key {
	enum key_kind kind;
	uint32_t key;
	uint16_t token_offset;  /* for KEY_TOKEN, as in struct index_entry */
};

/* "||ads.example.com^", the most common form in EasyList and EasyPrivacy,
 * matches exactly the URLs whose host is that name or a subdomain of it.
 * Such a filter is filed under the hash of the name, and a request looks
 * up each suffix of its host that starts a label. */
static bool host_key(const struct filter_engine *engine, const struct filter *filter, uint32_t *key)
{
	const char *pattern = engine->arena + filter->pattern;
	size_t length = filter->pattern_length;

	if ((filter->flags & (FILTER_ANCHOR_HOST | FILTER_ANCHOR_END | FILTER_REGEX)) != FILTER_ANCHOR_HOST ||
	    length < 2 || pattern[length - 1] != '^')
		return false;
	for (size_t i = 0; i + 1 < length; i++) {
		if (!is_host_char((unsigned char)pattern[i]))
			return false;
	}
	*key = hash_final(domain_hash(pattern, length - 1));
	return true;
}

/* The token offset that a filter's entry gets: only a plain pattern's
 * token before any "*" has one, because its place in the URL fixes where
 * the pattern's first segment must be. */
static uint16_t token_offset(const struct filter *filter, const struct filter_engine *engine, size_t start)
{
	if ((filter->flags & FILTER_REGEX) || start >= NO_TOKEN_OFFSET ||
	    memchr(engine->arena + filter->pattern, '*', start))
		return NO_TOKEN_OFFSET;
	return (uint16_t)start;
}

/* Files each filter under a host, else its rarest usable token. */
static int choose_keys(const struct filter_engine *engine, struct filter_key *keys)
{
	struct token_counts counts;
	struct count_context context = { .counts = &counts, .rc = 0 };
	uint32_t common[COMMON_COUNT];
	int rc;

	for (size_t i = 0; i < engine->filter_count; i++) {
		if (host_key(engine, &engine->filters[i], &keys[i].key))
			keys[i].kind = KEY_HOST;
	}

	rc = counts_init(&counts, 1024);
	for (size_t i = 0; rc == 0 && i < engine->filter_count; i++) {
		if (keys[i].kind == KEY_NONE)
			for_each_token(engine, &engine->filters[i], count_token, &context);
		rc = context.rc;
	}

	hash_common_tokens(common);
	for (size_t i = 0; rc == 0 && i < engine->filter_count; i++) {
		struct choice choice = { .counts = &counts, .common = common };

		if (keys[i].kind != KEY_NONE)
			continue;
		for_each_token(engine, &engine->filters[i], choose_token, &choice);
		if (!choice.token)
			continue;
		keys[i].kind = KEY_TOKEN;
		keys[i].key = choice.token;
		keys[i].token_offset = token_offset(&engine->filters[i], engine, choice.start);
	}
	counts_free(&counts);
	return rc;
}

enum filter_class filter_class_of(const struct filter *filter)
{
	if (filter->flags & FILTER_EXCEPTION)
		return FILTER_CLASS_EXCEPTION;
	return (filter->flags & FILTER_IMPORTANT) ? FILTER_CLASS_IMPORTANT : FILTER_CLASS_BLOCKING;
}

/* One filter filed under one key of one table of its class; a filter
 * indexed by its domains has one placement per domain. */
struct placement {
	struct index_table *table;  /* NULL for the unindexed bucket */
	uint32_t key;
	uint32_t filter;
	uint32_t *first;            /* the bucket's field in its slot or class */
	uint16_t token_offset;
};

/* Whether a filter without a token can be filed under its domains: only
 * when it cannot apply on a page outside them. Entities ("example.*")
 * have no fixed name to file under. */
static bool indexable_by_domains(const struct filter *filter)
{
	return (filter->flags & FILTER_INCLUDES_DOMAINS) && !(filter->flags & FILTER_HAS_ENTITY);
}

static size_t domain_placements(const struct filter_engine *engine, const struct filter *filter)
{
	size_t count = 0;

	for (size_t d = 0; indexable_by_domains(filter) && d < filter->domain_count; d++)
		count += !engine->domains[filter->domains + d].excluded;
	return count;
}

/* The classes whose tables a filter is filed in. An important filter is
 * filed with the other blocking filters too, so that a request that no
 * blocking filter matches needs no search of the important ones. */
static unsigned classes_of(const struct filter *filter)
{
	enum filter_class class = filter_class_of(filter);

	if (class == FILTER_CLASS_IMPORTANT)
		return 1u << FILTER_CLASS_IMPORTANT | 1u << FILTER_CLASS_BLOCKING;
	return 1u << class;
}

/* Counts the placements of each table, an upper bound of its keys. */
static size_t count_placements(struct filter_index *index, const struct filter_engine *engine,
			       const struct filter_key *keys)
{
	size_t count = 0;

	for (size_t i = 0; i < engine->filter_count; i++) {
		const struct filter *filter = &engine->filters[i];
		size_t domains = keys[i].kind == KEY_NONE ? domain_placements(engine, filter) : 0;

		for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
			struct class_index *class = &index->classes[c];

			if (!(classes_of(filter) & 1u << c))
				continue;
			if (keys[i].kind == KEY_HOST)
				class->hosts.keys++;
			else if (keys[i].kind == KEY_TOKEN)
				class->tokens.keys++;
			class->domains.keys += domains;
			count += domains ? domains : 1;
		}
	}
	return count;
}

static size_t place_filter(struct class_index *class, const struct filter_engine *engine,
			   const struct filter_key *key, uint32_t filter_index, struct placement *placements)
{
	const struct filter *filter = &engine->filters[filter_index];
	size_t count = 0;

	if (key->kind != KEY_NONE) {
		struct index_table *table = key->kind == KEY_HOST ? &class->hosts : &class->tokens;
		uint16_t offset = key->kind == KEY_TOKEN ? key->token_offset : NO_TOKEN_OFFSET;

		placements[0] = (struct placement){ table, key->key, filter_index, NULL, offset };
		return 1;
	}
	for (size_t d = 0; indexable_by_domains(filter) && d < filter->domain_count; d++) {
		const struct domain_entry *entry = &engine->domains[filter->domains + d];

		if (!entry->excluded)
			placements[count++] = (struct placement){ &class->domains, entry->hash,
								  filter_index, NULL, NO_TOKEN_OFFSET };
	}
	if (count == 0)
		placements[count++] =
			(struct placement){ NULL, 0, filter_index, &class->unindexed, NO_TOKEN_OFFSET };
	return count;
}

static size_t list_placements(struct filter_index *index, const struct filter_engine *engine,
			      const struct filter_key *keys, struct placement *placements)
{
	size_t count = 0;

	for (size_t i = 0; i < engine->filter_count; i++) {
		for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
			if (classes_of(&engine->filters[i]) & 1u << c)
				count += place_filter(&index->classes[c], engine, &keys[i], (uint32_t)i,
						      placements + count);
		}
	}
	return count;
}

/* Sizes a table for at most keys keys: slots at most three quarters full,
 * and 16 to 32 Bloom filter bits per key. An empty table gets no memory. */
static int table_init(struct index_table *table, size_t keys)
{
	size_t slots = 16;
	size_t words = 8;

	memset(table, 0, sizeof(*table));
	if (keys == 0)
		return 0;
	while (slots * 3 < keys * 4)
		slots *= 2;
	table->words_shift = 32 - 3;
	while (words * 64 < keys * 16 && table->words_shift > 1) {
		words *= 2;
		table->words_shift--;
	}
	table->slots = calloc(slots, sizeof(struct index_slot));
	table->words = calloc(words, sizeof(uint64_t));
	table->mask = (uint32_t)(slots - 1);
	return table->slots && table->words ? 0 : -ENOMEM;
}

/* Finds or creates the slot of each placement. A slot's first field
 * counts its placements until assign_ranges() runs. */
static void assign_buckets(struct placement *placements, size_t count)
{
	for (size_t p = 0; p < count; p++) {
		struct index_table *table = placements[p].table;
		uint32_t key = placements[p].key;
		size_t s;

		if (table) {
			s = slot_of(key, table->mask);
			while (table->slots[s].key && table->slots[s].key != key)
				s = (s + 1) & table->mask;
			if (!table->slots[s].key) {
				table->slots[s] = (struct index_slot){ key, 0 };
				table->words[bloom_word_of(key, table->words_shift)] |= bloom_bits_of(key);
			}
			placements[p].first = &table->slots[s].first;
		}
		(*placements[p].first)++;
	}
}

/* Turns a bucket's count into the end of its range of entries, where
 * filling starts, and marks the range's last entry. */
static void assign_range(uint32_t *first, struct index_entry *entries, uint32_t *next)
{
	*next += *first;
	*first = *next;
	entries[*next - 1].flags = ENTRY_BUCKET_END;
}

static void assign_table_ranges(struct index_table *table, struct index_entry *entries, uint32_t *next)
{
	table->keys = 0;
	for (size_t s = 0; table->slots && s <= table->mask; s++) {
		if (table->slots[s].key) {
			assign_range(&table->slots[s].first, entries, next);
			table->keys++;
		}
	}
}

static void assign_ranges(struct filter_index *index, uint32_t *next)
{
	for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
		struct class_index *class = &index->classes[c];

		class->unindexed_count = class->unindexed;
		if (class->unindexed_count > 0)
			assign_range(&class->unindexed, index->entries, next);
		else
			class->unindexed = NO_BUCKET;
		assign_table_ranges(&class->hosts, index->entries, next);
		assign_table_ranges(&class->tokens, index->entries, next);
		assign_table_ranges(&class->domains, index->entries, next);
	}
}

void index_entry_init(struct index_entry *entry, const struct filter_engine *engine, uint32_t filter_index)
{
	const struct filter *filter = &engine->filters[filter_index];

	memset(entry, 0, sizeof(*entry));
	entry->filter = filter_index;
	entry->text = filter->text;
	entry->pattern = filter->pattern;
	entry->pattern_length = filter->pattern_length;
	entry->types = filter->types;
	entry->flags = filter->flags;
	entry->token_offset = NO_TOKEN_OFFSET;
}

static bool is_literal(const char *pattern, size_t length)
{
	return !memchr(pattern, '*', length) && !memchr(pattern, '^', length);
}

/* Keeps a pattern's last 2 bytes in its entry when a match at a token
 * place must end with them. Without "*", such a match starts at a fixed
 * place, and bytes other than "^" are compared one for one inside the URL.
 * A final "^" is left out, because it can match past the URL's end. */
static void set_tail(struct index_entry *entry, const char *pattern)
{
	size_t length = entry->pattern_length;

	if (entry->token_offset == NO_TOKEN_OFFSET || (entry->flags & FILTER_REGEX) || length < 2 ||
	    memchr(pattern, '*', length) || pattern[length - 2] == '^' || pattern[length - 1] == '^')
		return;
	memcpy(&entry->tail, pattern + length - 2, sizeof(entry->tail));
	entry->flags |= ENTRY_TAIL;
}

/* Fills entries backwards from each range's end, so that every bucket's
 * first field ends at its range's start and filters keep their list
 * order. */
static void fill_entries(struct filter_index *index, const struct filter_engine *engine,
			 const struct placement *placements, size_t count)
{
	uint32_t next = 0;

	assign_ranges(index, &next);
	for (size_t p = count; p-- > 0;) {
		const struct filter *filter = &engine->filters[placements[p].filter];
		struct index_entry *entry = &index->entries[--*placements[p].first];
		uint16_t end = entry->flags & ENTRY_BUCKET_END;

		index_entry_init(entry, engine, placements[p].filter);
		entry->flags |= end;
		entry->token_offset = placements[p].token_offset;
		if (!(filter->flags & FILTER_REGEX) &&
		    is_literal(engine->arena + filter->pattern, filter->pattern_length))
			entry->flags |= ENTRY_LITERAL;
		set_tail(entry, engine->arena + filter->pattern);
	}
}

static void fill_host_record(struct host_record *record, const struct index_entry *entry,
			     const struct filter_engine *engine)
{
	size_t name_length = entry->pattern_length - 1;

	record->filter = entry->filter;
	record->text = entry->text;
	record->types = entry->types;
	record->flags = entry->flags;
	if (name_length > 0 && name_length <= HOST_RECORD_NAME_BYTES && !(entry->flags & FILTER_MATCH_CASE)) {
		record->name_length = (uint16_t)name_length;
		memcpy(record->name, engine->arena + entry->pattern, name_length);
	}
}

/* Copies the first filter of each hosts table bucket to its record. */
static int fill_host_records(struct filter_index *index, const struct filter_engine *engine)
{
	for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
		struct class_index *class = &index->classes[c];
		const struct index_table *hosts = &class->hosts;
		size_t size = ((size_t)hosts->mask + 1) * sizeof(struct host_record);

		if (hosts->keys == 0)
			continue;
		/* Aligned, so that each record is one cache line. */
		class->host_records = aligned_alloc(64, size);
		if (!class->host_records)
			return -ENOMEM;
		memset(class->host_records, 0, size);
		for (size_t s = 0; s <= hosts->mask; s++) {
			const struct index_entry *first = &index->entries[hosts->slots[s].first];

			if (hosts->slots[s].key)
				fill_host_record(&class->host_records[s], first, engine);
		}
	}
	return 0;
}

static void table_free(struct index_table *table)
{
	free(table->slots);
	free(table->words);
}

void index_free(struct filter_index *index)
{
	for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
		table_free(&index->classes[c].hosts);
		table_free(&index->classes[c].tokens);
		table_free(&index->classes[c].domains);
		free(index->classes[c].host_records);
	}
	free(index->entries);
	memset(index, 0, sizeof(*index));
}

static int init_tables(struct filter_index *index)
{
	for (size_t c = 0; c < FILTER_CLASS_COUNT; c++) {
		struct class_index *class = &index->classes[c];

		if (table_init(&class->hosts, class->hosts.keys) < 0 ||
		    table_init(&class->tokens, class->tokens.keys) < 0 ||
		    table_init(&class->domains, class->domains.keys) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int build_tables(struct filter_index *index, const struct filter_engine *engine,
			const struct filter_key *keys)
{
	struct placement *placements;
	size_t count = count_placements(index, engine, keys);
	int rc = -ENOMEM;

	placements = calloc(count + 1, sizeof(*placements));
	index->entries = calloc(count + 1, sizeof(struct index_entry));
	if (!placements || !index->entries || init_tables(index) < 0)
		goto cleanup;

	count = list_placements(index, engine, keys, placements);
	assign_buckets(placements, count);
	fill_entries(index, engine, placements, count);
	rc = fill_host_records(index, engine);
	if (rc < 0)
		goto cleanup;
	index->filter_count = engine->filter_count;

cleanup:
	free(placements);
	return rc;
}

int index_build(struct filter_engine *engine)
{
	struct filter_index index = { 0 };
	struct filter_key *keys;
	int rc;

	keys = calloc(engine->filter_count + 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	rc = choose_keys(engine, keys);
	if (rc == 0)
		rc = build_tables(&index, engine, keys);
	if (rc == 0) {
		index_free(&engine->index);
		engine->index = index;
	} else {
		index_free(&index);
	}
	free(keys);
	return rc;
}

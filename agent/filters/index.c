/*
 * Filter index. A "||host^" filter is filed under its host name. Any other
 * filter is filed under one token of its pattern that every matching URL
 * contains whole: the token that the fewest filters have, so that buckets
 * stay small. A filter without such a token but with a domain= list is
 * filed under each of its domains. A request then tries only the filters
 * in the buckets of its host, of its URL's tokens and of its page's
 * domains, plus the few filters filed nowhere ("unindexed", such as
 * "$ping,third-party").
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

/* Mixes a key so that the low bits that pick a slot depend on all of its
 * bits. */
static size_t slot_of(uint32_t key, size_t mask)
{
	key ^= key >> 16;
	key *= 0x45d9f3bu;
	key ^= key >> 16;
	return key & mask;
}

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

static void count_token(uint32_t token, size_t length, void *data)
{
	struct count_context *context = data;
	struct token_counts *counts = context->counts;
	uint32_t *key;

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
	size_t length;
};

static void choose_token(uint32_t token, size_t length, void *data)
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
		choice->length = length;
	}
}

static void hash_common_tokens(uint32_t *common)
{
	for (size_t i = 0; i < COMMON_COUNT; i++) {
		uint32_t hash = HASH_SEED;

		for (const char *c = common_tokens[i]; *c; c++)
			hash = hash_step(hash, (unsigned char)*c);
		common[i] = hash_final(hash);
	}
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
};

static bool is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

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
		if (choice.token)
			keys[i] = (struct filter_key){ KEY_TOKEN, choice.token };
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

static uint32_t bit_of(uint32_t key, uint32_t shift)
{
	return (key * 0x85ebca6bu) >> shift;
}

const struct index_bucket *index_lookup(const struct index_table *table, uint32_t key)
{
	uint32_t bit;

	if (!table->slots)
		return NULL;
	bit = bit_of(key, table->bits_shift);
	if (!(table->bits[bit / 64] & (1ull << (bit % 64))))
		return NULL;
	for (size_t i = slot_of(key, table->mask); table->slots[i].key; i = (i + 1) & table->mask) {
		if (table->slots[i].key == key)
			return &table->slots[i].bucket;
	}
	return NULL;
}

/* One filter filed under one key of one table; a filter indexed by its
 * domains has one placement per domain. */
struct placement {
	struct index_table *table;  /* NULL for the unindexed bucket */
	uint32_t key;
	uint32_t filter;
	struct index_bucket *bucket;
};

/* Whether a filter without a token can be filed under its domains: only
 * when it cannot apply on a page outside them. Entities ("example.*")
 * have no fixed name to file under. */
static bool indexable_by_domains(const struct filter *filter)
{
	return (filter->flags & FILTER_INCLUDES_DOMAINS) && !(filter->flags & FILTER_HAS_ENTITY);
}

static size_t count_placements(const struct filter_engine *engine, const struct filter_key *keys,
			       size_t *host_count, size_t *domain_count)
{
	size_t count = 0;

	*host_count = *domain_count = 0;
	for (size_t i = 0; i < engine->filter_count; i++) {
		const struct filter *filter = &engine->filters[i];
		size_t domains = 0;

		*host_count += keys[i].kind == KEY_HOST;
		for (size_t d = 0;
		     keys[i].kind == KEY_NONE && indexable_by_domains(filter) && d < filter->domain_count;
		     d++)
			domains += !engine->domains[filter->domains + d].excluded;
		count += domains ? domains : 1;
		*domain_count += domains;
	}
	return count;
}

static size_t list_placements(struct filter_index *index, const struct filter_engine *engine,
			      const struct filter_key *keys, struct placement *placements)
{
	size_t count = 0;

	for (size_t i = 0; i < engine->filter_count; i++) {
		const struct filter *filter = &engine->filters[i];
		size_t before = count;

		if (keys[i].kind != KEY_NONE) {
			struct index_table *table = keys[i].kind == KEY_HOST ? &index->hosts : &index->tokens;

			placements[count++] = (struct placement){ table, keys[i].key, (uint32_t)i, NULL };
			continue;
		}
		for (size_t d = 0; indexable_by_domains(filter) && d < filter->domain_count; d++) {
			const struct domain_entry *entry = &engine->domains[filter->domains + d];

			if (!entry->excluded)
				placements[count++] =
					(struct placement){ &index->domains, hash_final(entry->hash),
							    (uint32_t)i, NULL };
		}
		if (count == before)
			placements[count++] = (struct placement){ NULL, 0, (uint32_t)i, NULL };
	}
	return count;
}

/* Sizes a table for keys: slots at most two thirds full, and eight bits
 * per key, which lets about one absent key in eight through. */
static int table_init(struct index_table *table, size_t keys)
{
	size_t slots = 16;
	size_t bits = 512;

	while (slots < keys + keys / 2)
		slots *= 2;
	table->bits_shift = 32 - 9;
	while (bits < keys * 8 && table->bits_shift > 0) {
		bits *= 2;
		table->bits_shift--;
	}
	table->slots = calloc(slots, sizeof(struct index_slot));
	table->bits = calloc(bits / 64, sizeof(uint64_t));
	table->mask = (uint32_t)(slots - 1);
	return table->slots && table->bits ? 0 : -ENOMEM;
}

/* Finds or creates the slot of each placement. */
static void assign_buckets(struct filter_index *index, struct placement *placements, size_t count)
{
	for (size_t p = 0; p < count; p++) {
		struct index_table *table = placements[p].table;
		uint32_t key = placements[p].key;
		uint32_t bit;
		size_t s;

		if (!table) {
			placements[p].bucket = &index->unindexed;
			continue;
		}
		s = slot_of(key, table->mask);
		while (table->slots[s].key && table->slots[s].key != key)
			s = (s + 1) & table->mask;
		table->keys += !table->slots[s].key;
		table->slots[s].key = key;
		bit = bit_of(key, table->bits_shift);
		table->bits[bit / 64] |= 1ull << (bit % 64);
		placements[p].bucket = &table->slots[s].bucket;
	}
}

/* The field of a bucket that counts a class's filters, then marks its
 * range. */
static uint32_t *class_cursor(struct index_bucket *bucket, enum filter_class class)
{
	if (class == FILTER_CLASS_IMPORTANT)
		return &bucket->start;
	return class == FILTER_CLASS_BLOCKING ? &bucket->blocking : &bucket->exceptions;
}

/* Turns per-class counts into ranges of entries, then points each class's
 * field at its range's end, where filling starts. */
static void assign_ranges(struct index_bucket *bucket, uint32_t *next)
{
	uint32_t important = bucket->start;
	uint32_t blocking = bucket->blocking;
	uint32_t exceptions = bucket->exceptions;

	bucket->end = *next + important + blocking + exceptions;
	bucket->start = *next + important;
	bucket->blocking = bucket->start + blocking;
	bucket->exceptions = bucket->end;
	*next = bucket->end;
}

static void assign_table_ranges(struct index_table *table, uint32_t *next)
{
	for (size_t s = 0; s <= table->mask; s++) {
		if (table->slots[s].key)
			assign_ranges(&table->slots[s].bucket, next);
	}
}

void index_entry_init(struct index_entry *entry, const struct filter_engine *engine, uint32_t filter_index)
{
	const struct filter *filter = &engine->filters[filter_index];
	size_t copied =
		filter->pattern_length < ENTRY_PREFIX_BYTES ? filter->pattern_length : ENTRY_PREFIX_BYTES;

	memset(entry, 0, sizeof(*entry));
	entry->filter = filter_index;
	entry->pattern = filter->pattern;
	entry->pattern_length = filter->pattern_length;
	entry->types = filter->types;
	entry->flags = filter->flags;
	for (size_t i = 0; i < copied; i++)
		entry->prefix[i] = (char)lower_ascii((unsigned char)engine->arena[filter->pattern + i]);
}

/* Fills entries backwards from each range's end, so that every class's
 * field ends at its range's start and filters keep their list order. */
static void fill_entries(struct filter_index *index, const struct filter_engine *engine,
			 const struct placement *placements, size_t count)
{
	uint32_t next = 0;

	for (size_t p = 0; p < count; p++) {
		const struct filter *filter = &engine->filters[placements[p].filter];

		(*class_cursor(placements[p].bucket, filter_class_of(filter)))++;
	}
	assign_ranges(&index->unindexed, &next);
	assign_table_ranges(&index->hosts, &next);
	assign_table_ranges(&index->tokens, &next);
	assign_table_ranges(&index->domains, &next);

	for (size_t p = count; p-- > 0;) {
		const struct filter *filter = &engine->filters[placements[p].filter];
		uint32_t *cursor = class_cursor(placements[p].bucket, filter_class_of(filter));

		index_entry_init(&index->entries[--*cursor], engine, placements[p].filter);
	}
}

static void table_free(struct index_table *table)
{
	free(table->slots);
	free(table->bits);
}

void index_free(struct filter_index *index)
{
	table_free(&index->hosts);
	table_free(&index->tokens);
	table_free(&index->domains);
	free(index->entries);
	memset(index, 0, sizeof(*index));
}

static int build_tables(struct filter_index *index, const struct filter_engine *engine,
			const struct filter_key *keys)
{
	struct placement *placements;
	size_t host_count;
	size_t domain_count;
	size_t count = count_placements(engine, keys, &host_count, &domain_count);
	int rc = -ENOMEM;

	placements = calloc(count + 1, sizeof(*placements));
	index->entries = calloc(count + 1, sizeof(struct index_entry));
	if (!placements || !index->entries)
		goto cleanup;
	if (table_init(&index->hosts, host_count) < 0 ||
	    table_init(&index->tokens, count - domain_count - host_count) < 0 ||
	    table_init(&index->domains, domain_count) < 0)
		goto cleanup;

	count = list_placements(index, engine, keys, placements);
	assign_buckets(index, placements, count);
	fill_entries(index, engine, placements, count);
	index->filter_count = engine->filter_count;
	rc = 0;

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

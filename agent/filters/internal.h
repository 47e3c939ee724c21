/*
 * Internals of the network filter engine, shared by its files: the parsed
 * and stored forms of a filter, the filter index, and the views of a
 * request that matching works on.
 */
#ifndef PLAINSIGHT_FILTERS_INTERNAL_H
#define PLAINSIGHT_FILTERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "filters.h"

#define TYPE_BIT(type) ((uint16_t)(1u << (type)))
#define TYPES_ALL ((uint16_t)((1u << FILTER_TYPE_COUNT) - 1))
/* Types of a filter without type options: all but document and popup, as
 * in Adblock Plus 3. */
#define TYPES_DEFAULT \
	((uint16_t)(TYPES_ALL & ~(TYPE_BIT(FILTER_TYPE_DOCUMENT) | TYPE_BIT(FILTER_TYPE_POPUP))))

enum filter_flag {
	FILTER_EXCEPTION = 1u << 0,
	FILTER_IMPORTANT = 1u << 1,
	FILTER_MATCH_CASE = 1u << 2,
	FILTER_ANCHOR_HOST = 1u << 3,  /* "||": at the host start or after a dot in the host */
	FILTER_ANCHOR_START = 1u << 4, /* "|" at the start: at the URL start */
	FILTER_ANCHOR_END = 1u << 5,   /* "|" at the end: at the URL end */
	FILTER_REGEX = 1u << 6,
	FILTER_THIRD_PARTY = 1u << 7,  /* $third-party */
	FILTER_FIRST_PARTY = 1u << 8,  /* $~third-party */
	FILTER_INCLUDES_DOMAINS = 1u << 9, /* domain= names a domain without "~" */
	FILTER_HAS_ENTITY = 1u << 10,      /* domain= names an entity, "example.*" */
	FILTER_HAS_DOMAINS = 1u << 11,     /* domain= is given */
};

/* Stored filter. Text and patterns live in the engine's arena, addressed by
 * offset so that the arena can grow. */
struct filter {
	uint32_t text;           /* original line, NUL-terminated */
	uint32_t pattern;        /* normalized pattern, or the regular expression's source */
	uint32_t pattern_length;
	uint32_t regex;          /* index in engine->regexes for FILTER_REGEX */
	uint32_t domains;        /* first of domain_count entries in engine->domains */
	uint16_t domain_count;
	uint16_t types;          /* TYPE_BIT() set */
	uint16_t flags;          /* enum filter_flag */
};

/* One entry of a domain= list. A filter's entries are sorted by hash. */
struct domain_entry {
	uint32_t hash;      /* hash_final(domain_hash()) of the name */
	uint32_t name;      /* arena offset, lowercase, without "~" and ".*" */
	uint16_t length;
	uint8_t excluded;   /* written with "~" */
	uint8_t entity;     /* written "name.*": name followed by any public suffix */
};

enum filter_class {
	FILTER_CLASS_IMPORTANT = 0,
	FILTER_CLASS_BLOCKING,
	FILTER_CLASS_EXCEPTION,
	FILTER_CLASS_COUNT,
};

/* Flags of index_entry.flags only, in bits that enum filter_flag leaves
 * free: the last entry of a bucket, and a plain pattern without "*" and
 * "^", which plain byte comparisons match. */
#define ENTRY_BUCKET_END ((uint16_t)(1u << 15))
#define ENTRY_LITERAL ((uint16_t)(1u << 14))
/* index_entry.tail is set. */
#define ENTRY_TAIL ((uint16_t)(1u << 13))

/* Offset of a token in a pattern that is unknown or of no use. */
#define NO_TOKEN_OFFSET UINT16_MAX

/* A filter in a bucket, with copies of what most checks need, so that a
 * candidate that fails them costs no read of the filter or its pattern.
 * The entries of a bucket are consecutive, in list order. */
struct index_entry {
	uint32_t filter;
	uint32_t text;            /* as in struct filter */
	uint32_t pattern;
	uint32_t pattern_length;
	uint16_t types;
	uint16_t flags;           /* enum filter_flag, and ENTRY_BUCKET_END */
	/* For a plain pattern in a token bucket whose token comes before any
	 * "*": where the token starts in it. A match then starts that many
	 * bytes before the token in the URL. Else NO_TOKEN_OFFSET. */
	uint16_t token_offset;
	/* With ENTRY_TAIL: the last 2 bytes of a pattern that has a token
	 * offset, no "*", and no "^" in these bytes. A match at a known token
	 * place then ends with them at a known place of the URL, so most
	 * candidates fail without a read of the pattern. */
	uint16_t tail;
};

/* First entry of the bucket of a key that is not in a table. */
#define NO_BUCKET UINT32_MAX

struct index_slot {
	uint32_t key;     /* token or domain hash, 0 for an empty slot */
	uint32_t first;   /* first entry of the key's bucket */
};

/* Hash table from key to bucket: open addressing, linear probing, at most
 * three quarters full. In front of it, a blocked Bloom filter (two bits in
 * one 64-bit word, 16 to 32 bits per key) turns away 99% to 99.5% of the
 * absent keys (measured with EasyList and EasyPrivacy) without reading the
 * slots. */
struct index_table {
	struct index_slot *slots;
	uint32_t mask;            /* slot count - 1 */
	size_t keys;              /* 0 when the table is empty; slots and words are NULL then */
	uint64_t *words;
	uint32_t words_shift;     /* 32 - log2(word count) */
};

/* Mixes a key so that the low bits that pick a slot depend on all of its
 * bits. */
static inline size_t slot_of(uint32_t key, size_t mask)
{
	key ^= key >> 16;
	key *= 0x45d9f3bu;
	key ^= key >> 16;
	return key & mask;
}

static inline uint32_t bloom_word_of(uint32_t key, uint32_t shift)
{
	return (key * 0x85ebca6bu) >> shift;
}

static inline uint64_t bloom_bits_of(uint32_t key)
{
	uint32_t mixed = key * 0xcc9e2d51u;

	return (1ull << (mixed >> 26)) | (1ull << ((mixed >> 20) & 63));
}

/* Whether the key may be in a non-empty table. */
static inline bool bloom_allows(const struct index_table *table, uint32_t key)
{
	uint64_t bits = bloom_bits_of(key);

	return (table->words[bloom_word_of(key, table->words_shift)] & bits) == bits;
}

/* The slot of key in a non-empty table, or SIZE_MAX. */
static inline size_t find_slot(const struct index_table *table, uint32_t key)
{
	for (size_t i = slot_of(key, table->mask); table->slots[i].key; i = (i + 1) & table->mask) {
		if (table->slots[i].key == key)
			return i;
	}
	return SIZE_MAX;
}

/* The first entry of key's bucket in a non-empty table, or NO_BUCKET. */
static inline uint32_t probe_slots(const struct index_table *table, uint32_t key)
{
	size_t slot = find_slot(table, key);

	return slot == SIZE_MAX ? NO_BUCKET : table->slots[slot].first;
}

/* The first entry of key's bucket, or NO_BUCKET. */
static inline uint32_t index_lookup(const struct index_table *table, uint32_t key)
{
	if (table->keys == 0 || !bloom_allows(table, key))
		return NO_BUCKET;
	return probe_slots(table, key);
}

/* Bytes of a host name that a host record keeps: all but 43 of the
 * 94,914 "||host^" filters in EasyList and EasyPrivacy (Debian's
 * webext-ublock-origin-firefox 1.67.0) name at most 48. */
#define HOST_RECORD_NAME_BYTES 48

/*
 * The first filter of a hosts table bucket, kept at its slot's index
 * rather than only in the entries, so that one cache line checks it and
 * the line can be prefetched as soon as a host suffix is hashed. A bucket
 * of several filters goes on in the entries.
 */
struct host_record {
	uint32_t filter;
	uint32_t text;
	uint16_t types;
	uint16_t flags;         /* as in its index_entry, ENTRY_BUCKET_END included */
	/* The host name's length. The name is kept, padded with zeros, when
	 * it fits and the filter is not $match-case; else name_length is 0. */
	uint16_t name_length;
	uint16_t unused;
	char name[HOST_RECORD_NAME_BYTES];
};

_Static_assert(sizeof(struct host_record) == 64, "a host record is one cache line");

/*
 * The filters of one class (the blocking class includes the important
 * filters), reached three ways: the host name of a "||host^" filter,
 * looked up with the suffixes of the request's host; the tokens of a
 * filter's pattern, looked up with the URL's tokens; and, for a filter
 * without a usable token whose domain= names domains without "~", those
 * domains, looked up with the suffixes of the page's host. The unindexed
 * bucket contains the filters that none fits, and every request tries
 * them. Keeping each class apart lets a request stop at the first
 * blocking filter, and look for important filters and exceptions only in
 * their small tables.
 */
struct class_index {
	struct index_table hosts;
	struct index_table tokens;
	struct index_table domains;
	uint32_t unindexed;         /* first entry, when unindexed_count > 0 */
	uint32_t unindexed_count;
	struct host_record *host_records; /* one per slot of hosts, cache line aligned */
};

struct filter_index {
	struct class_index classes[FILTER_CLASS_COUNT];
	struct index_entry *entries;
	size_t filter_count;        /* filters [0, filter_count) are indexed */
};

/* Invalid filters logged one by one per file (or per engine, for filters
 * added alone); the rest are counted in the file's summary. */
#define WARNINGS_PER_SOURCE 5

struct filter_engine {
	char *arena;
	size_t arena_used;
	size_t arena_capacity;

	struct filter *filters;
	size_t filter_count;
	size_t filter_capacity;

	struct domain_entry *domains;
	size_t domain_count;
	size_t domain_capacity;

	pcre2_code **regexes;
	size_t regex_count;
	size_t regex_capacity;

	struct filter_index index;
	struct filter_stats stats;
	/* Invalid filters still to be logged one by one. */
	unsigned warnings_left;
};

/* A network filter parsed from one line, pointing into that line. */
struct parsed_filter {
	const char *pattern;
	size_t pattern_length;
	const char *domains;      /* value of domain=, or NULL */
	size_t domains_length;
	uint16_t types;
	uint16_t flags;
	const char *text;         /* the line without surrounding white space */
	size_t text_length;
	const char *reason;       /* why the line is invalid or dropped */
	const char *detail;       /* the option concerned, or NULL */
	size_t detail_length;
};

enum line_kind {
	LINE_BLANK,
	LINE_COMMENT,   /* "!" comment or "[Adblock Plus 2.0]" header */
	LINE_COSMETIC,  /* element hiding, scriptlet or cosmetic-only exception */
	LINE_NETWORK,
	LINE_DROPPED,   /* network filter with an option the engine does not implement */
	LINE_INVALID,
};

/* URL being matched: the lowercase copy, and where its host is. */
struct url_view {
	const char *lower;      /* lowercase, length bytes */
	const char *original;   /* same bytes, original case */
	size_t length;
	bool truncated;         /* the URL is longer than FILTER_URL_MAX_BYTES */
	size_t host_start;
	size_t host_end;
};

/* Suffixes of a host that start a label, shortest first. A host name has
 * at most 127 labels (253 bytes), so no filter names a longer suffix. */
#define SOURCE_SUFFIXES_MAX 128

struct source_view {
	const char *host;
	size_t length;           /* 0 when unknown or longer than a host name can be */
	bool ready;              /* lower and the suffixes are filled in */
	size_t suffix_count;     /* shortest suffix first */
	uint16_t suffix_start[SOURCE_SUFFIXES_MAX];
	uint32_t suffix_hash[SOURCE_SUFFIXES_MAX]; /* hash_final(domain_hash()) */
	char lower[256 + 8];   /* 8 bytes more for padded_hash() */
};

#define NO_TOKEN_POSITION UINT16_MAX

/* Places of a URL token: first, and second when the URL has it exactly
 * twice. NO_TOKEN_POSITION for none, and in both when the URL has it
 * three times or more. */
struct token_place {
	uint16_t first;
	uint16_t second;
};

static const struct token_place NO_TOKEN_PLACE = { NO_TOKEN_POSITION, NO_TOKEN_POSITION };

/* Distinct URL tokens kept for the index lookups of one request. The
 * tokens of a URL with more are found again for each class searched. */
#define URL_TOKENS_MAX 256
/* Bytes after a URL's lowercase copy that url_prepare() may write. */
#define URL_PADDING_BYTES 64

/* A request URL prepared for matching by url_prepare(). */
struct url_scan {
	struct url_view view;             /* view.lower points to lower */
	size_t full_length;               /* strlen() of the URL, which regular expressions see whole */
	size_t token_count;
	size_t token_tail;                /* where the tokens after the kept ones start, or view.length */
	uint32_t tokens[URL_TOKENS_MAX];  /* hash_final() of each distinct token, in URL order */
	struct token_place token_places[URL_TOKENS_MAX];
	size_t host_suffix_count;
	uint16_t host_suffix_start[SOURCE_SUFFIXES_MAX]; /* from view.host_start */
	/* hash_final(domain_hash()) of each, shortest suffix first */
	uint32_t host_suffix_hash[SOURCE_SUFFIXES_MAX];
	uint64_t token_bits[FILTER_URL_MAX_BYTES / 64 + 1]; /* bit i: byte i is a token character */
	/* bit i: byte i can be part of a host name: a token character or one
	 * of ".-_" */
	uint64_t host_bits[FILTER_URL_MAX_BYTES / 64 + 1];
	char lower[FILTER_URL_MAX_BYTES + URL_PADDING_BYTES]; /* NUL-terminated at view.length */
};

/* The line being added: the caller's bytes and their copy in the arena. */
struct stored_line {
	const char *bytes;
	uint32_t offset;
};

/* Token characters: tokens of patterns and URLs are maximal runs of them.
 * "%" ends a token, so that "%2Fevent" yields "2fevent". */
static inline bool is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Characters of a lowercase host name as "||host^" filters write it. */
static inline bool is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

/* Separators for "^": anything but a letter, a digit or one of "_-.%".
 * Bytes from 0x80 up are parts of characters, never separators, as in
 * Adblock Plus, which matches on JavaScript strings. */
static inline bool is_separator(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return false;
	return c < 0x80 && c != '_' && c != '-' && c != '.' && c != '%';
}

/*
 * Hashes of tokens and host labels take 8 bytes at a time, a word with the
 * first byte lowest, and mix each word in with one multiplication. A host
 * name's hash chains the hashes of its labels from the last one, so that
 * one pass over a host gives the hash of each suffix that starts a label.
 * hash.c computes them from any text, url.c from its padded lowercase copy
 * of the URL, and both give the same values.
 */
static inline uint64_t load_word(const char *bytes)
{
	uint64_t word;

	memcpy(&word, bytes, sizeof(word));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	word = __builtin_bswap64(word);
#endif
	return word;
}

static inline uint64_t word_hash_start(size_t length)
{
	return (uint64_t)length * 0x9e3779b97f4a7c15ull;
}

static inline uint64_t word_mix(uint64_t hash, uint64_t word)
{
	return (hash ^ word) * 0xff51afd7ed558ccdull;
}

static inline uint32_t word_finish(uint64_t hash)
{
	return (uint32_t)(hash ^ (hash >> 32));
}

/* Mask of the first count bytes of a word, all 8 from 8 on. */
static inline uint64_t low_bytes_mask(size_t count)
{
	return count >= 8 ? ~0ull : (1ull << (8 * count)) - 1;
}

/* Hash of the lowercase bytes [0, length) of a buffer that can be read up
 * to 7 bytes past them. */
static inline uint64_t padded_hash(const char *lower, size_t length)
{
	uint64_t hash = word_hash_start(length);
	size_t i = 0;

	/* Most tokens and labels have 1 to 16 bytes: both words are mixed
	 * and one result chosen, without a branch on the length. */
	if (length > 0 && length <= 16) {
		uint64_t one = word_mix(hash, load_word(lower) & low_bytes_mask(length));
		uint64_t rest = low_bytes_mask(length > 8 ? length - 8 : 0);
		uint64_t two = word_mix(one, load_word(lower + 8) & rest);

		return length > 8 ? two : one;
	}
	for (; length - i > 8; i += 8)
		hash = word_mix(hash, load_word(lower + i));
	if (length > i)
		hash = word_mix(hash, load_word(lower + i) & low_bytes_mask(length - i));
	return hash;
}

#define DOMAIN_HASH_SEED 0x243f6a8885a308d3ull

/* Chains a label's hash in front of the hash of the labels after it. */
static inline uint64_t label_step(uint64_t after, uint64_t label)
{
	return word_mix(after << 29 | after >> 35, label);
}

/* Index keys are never 0, which marks an empty slot. */
static inline uint32_t hash_final(uint32_t hash)
{
	return hash ? hash : 1;
}

static inline unsigned char lower_ascii(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* parse.c, parse_options.c */
enum line_kind parse_line(const char *line, size_t length, struct parsed_filter *parsed);
enum line_kind parse_options(const char *options, size_t length, struct parsed_filter *parsed);

/* types.c */
uint16_t type_bits_from_option(const char *name, size_t length);

/* pattern.c */
/* start is the token's offset in a plain pattern, SIZE_MAX in a regular
 * expression. */
typedef void (*token_callback)(uint32_t token, size_t start, size_t length, void *context);
void pattern_for_each_token(const char *pattern, size_t length, uint16_t flags, token_callback callback,
			    void *context);
bool pattern_match(const char *pattern, size_t length, uint16_t flags, const struct url_view *url);
/* Whether a pattern's anchors let a match start at start. */
bool pattern_start_allowed(uint16_t flags, const struct url_view *url, size_t start);
/* Whether a pattern matches with its first segment (up to the first "*")
 * at start, and the others after it as pattern_match() places them. */
bool pattern_match_at(const char *pattern, size_t length, uint16_t flags, const struct url_view *url,
		      size_t start);

/* regex.c */
/* Compiles a regular expression filter's source. On failure, message gets
 * PCRE2's explanation. Returns 0, -EINVAL or -ENOMEM. */
int regex_compile(const char *source, size_t length, bool match_case, pcre2_code **code, char *message,
		  size_t size);
void regex_for_each_token(const char *source, size_t length, token_callback callback, void *context);
bool regex_match(const pcre2_code *code, const char *subject, size_t length);

/* index.c */
int index_build(struct filter_engine *engine);
void index_free(struct filter_index *index);
enum filter_class filter_class_of(const struct filter *filter);
void index_entry_init(struct index_entry *entry, const struct filter_engine *engine, uint32_t filter_index);

/* url.c */
/* Lowercases the URL, finds its host and hashes the host's suffixes. */
void url_prepare(struct url_scan *scan, const char *url);
/* Hashes the tokens of a URL that url_prepare() prepared. */
void url_find_tokens(struct url_scan *scan);
/* The next token at or after *position, its start, and its hash_final()
 * hash. Returns false at the end of the URL. */
bool url_next_token(const struct url_scan *scan, size_t *position, size_t *start, uint32_t *token);

/* hash.c */
/* hash_final() hash of a token, in any case. */
uint32_t token_hash(const char *bytes, size_t length);
/* Hash of a host name, in any case. */
uint32_t domain_hash(const char *name, size_t length);
/* Hashes each suffix of a lowercase host name that starts a label, as
 * hash_final(domain_hash()), shortest first, with its start. The name can
 * be read up to 7 bytes past its length. Returns how many, at most max. */
size_t padded_suffix_hashes(const char *lower, size_t length, uint32_t *hashes, uint16_t *starts, size_t max);

/* domains.c */
int domains_store(struct filter_engine *engine, const struct stored_line *line, const char *list,
		  size_t length, struct filter *filter);
void source_view_init(struct source_view *source, const char *host);
void source_view_prepare(struct source_view *source);
bool domains_allow(const struct filter_engine *engine, const struct filter *filter,
		   struct source_view *source);

/* engine.c */
int arena_reference(struct filter_engine *engine, const struct stored_line *line, const char *span,
		    size_t length, bool lowercase, uint32_t *offset);
int domains_reserve(struct filter_engine *engine, size_t count);

#endif

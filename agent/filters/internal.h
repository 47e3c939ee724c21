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
	uint32_t hash;      /* domain_hash() of the name */
	uint32_t name;      /* arena offset, lowercase, without "~" and ".*" */
	uint16_t length;
	uint8_t excluded;   /* written with "~" */
	uint8_t entity;     /* written "name.*": name followed by any public suffix */
};

/* Filters of one bucket, by class, as ranges of index->entries: important
 * blocking filters [start, blocking), other blocking filters [blocking,
 * exceptions), exceptions [exceptions, end). */
struct index_bucket {
	uint32_t start;
	uint32_t blocking;
	uint32_t exceptions;
	uint32_t end;
};

#define ENTRY_PREFIX_BYTES 8

/* A filter in a bucket, with copies of what most checks need, so that a
 * candidate that fails them costs no read of the filter or its pattern. */
struct index_entry {
	uint32_t filter;
	uint32_t pattern;         /* as in struct filter */
	uint32_t pattern_length;
	uint16_t types;
	uint16_t flags;
	/* The pattern's first bytes, lowercase: each pair of literal bytes
	 * among them must occur in the URL (see match.c). */
	char prefix[ENTRY_PREFIX_BYTES];
};

/* Set of the byte pairs of a URL, hashed to BIGRAM_BITS bits. */
#define BIGRAM_BITS 4096

static inline uint32_t bigram_bit(unsigned char first, unsigned char second)
{
	return ((uint32_t)first * 67u + second) & (BIGRAM_BITS - 1);
}

/* A slot contains its bucket, so that a lookup that finds its key reads
 * no second array. */
struct index_slot {
	uint32_t key;     /* token or domain hash, 0 for an empty slot */
	struct index_bucket bucket;
};

/* Hash table from key to bucket: open addressing, linear probing. In
 * front of it, a bit array with one bit set per key (about 8 bits per
 * key) turns away most absent keys without reading the slots. */
struct index_table {
	struct index_slot *slots;
	uint32_t mask;            /* slot count - 1; slots is NULL when empty */
	size_t keys;
	uint64_t *bits;
	uint32_t bits_shift;      /* 32 - log2(bit count) */
};

/*
 * Three ways into the buckets: the host name of a "||host^" filter, looked
 * up with the suffixes of the request's host; the tokens of a filter's
 * pattern, looked up with the URL's tokens; and, for a filter without a
 * usable token whose domain= names domains without "~", those domains,
 * looked up with the suffixes of the page's host. The unindexed bucket
 * contains the filters that none fits, and every request tries them.
 */
struct filter_index {
	struct index_table hosts;
	struct index_table tokens;
	struct index_table domains;
	struct index_bucket unindexed;
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

enum filter_class {
	FILTER_CLASS_IMPORTANT = 0,
	FILTER_CLASS_BLOCKING,
	FILTER_CLASS_EXCEPTION,
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
	uint32_t suffix_hash[SOURCE_SUFFIXES_MAX];
	char lower[256];
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

/* 32-bit FNV-1a, the hash of tokens and domain names. */
#define HASH_SEED 2166136261u

static inline uint32_t hash_step(uint32_t hash, unsigned char c)
{
	return (hash ^ c) * 16777619u;
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
typedef void (*token_callback)(uint32_t token, size_t length, void *context);
void pattern_for_each_token(const char *pattern, size_t length, uint16_t flags, token_callback callback,
			    void *context);
bool pattern_match(const char *pattern, size_t length, uint16_t flags, const struct url_view *url);

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
const struct index_bucket *index_lookup(const struct index_table *table, uint32_t key);
enum filter_class filter_class_of(const struct filter *filter);
void index_entry_init(struct index_entry *entry, const struct filter_engine *engine, uint32_t filter_index);

/* domains.c */
uint32_t domain_hash(const char *name, size_t length);
/* Hashes each suffix of name that starts a label, shortest first, and
 * stores its start when starts is not NULL. Returns how many, at most
 * max. */
size_t label_suffix_hashes(const char *name, size_t length, uint32_t *hashes, uint16_t *starts, size_t max);
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

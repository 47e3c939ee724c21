/*
 * Private to the persona matcher (agent/classify/persona*.c): the forms
 * precomputed from a persona's values, and the multi-pattern automaton that
 * finds them. docs/PERSONA.md lists the forms and chains.
 */
#ifndef PLAINSIGHT_PERSONA_INTERNAL_H
#define PLAINSIGHT_PERSONA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

/* A form shorter than this is matched only as a whole field value, because
 * text like "Al" or "m" occurs everywhere. */
#define PERSONA_MIN_PATTERN_BYTES 4
/* A form shorter than this (and not shorter than the minimum) matches only
 * as a token: neither byte next to it may be an ASCII letter or digit. */
#define PERSONA_TOKEN_BYTES 8

#define PERSONA_MAX_STEPS 6
/* Bytes of each pattern in the automaton; the rest is compared at each
 * candidate. 16 bytes of base64 or hex are 96 or 64 bits, so a candidate
 * that fails the full comparison is rare in real traffic. */
#define PERSONA_PREFIX_BYTES 16
/* Maximum bytes of a tail: the padding "==" URL-encoded. */
#define PERSONA_MAX_TAIL_BYTES 6

enum persona_kind {
	PERSONA_KIND_EMAIL,
	PERSONA_KIND_PHONE,
	PERSONA_KIND_FIRST_NAME,
	PERSONA_KIND_LAST_NAME,
	PERSONA_KIND_NAME,
	PERSONA_KIND_STREET_ADDRESS,
	PERSONA_KIND_CITY,
	PERSONA_KIND_STATE,
	PERSONA_KIND_POSTAL_CODE,
	PERSONA_KIND_COUNTRY,
	PERSONA_KIND_DATE_OF_BIRTH,
	PERSONA_KIND_GENDER,
	PERSONA_KIND_PAYMENT_CARD,
	PERSONA_KIND_IBAN,
	PERSONA_KIND_USER_ID,
	PERSONA_KIND_IP_ADDRESS,
	PERSONA_KIND_OTHER,
	PERSONA_KIND_COUNT,
};

/* Steps of a chain, named in findings by persona_step_name. */
enum persona_step {
	/* normalisations */
	PERSONA_STEP_TRIM,
	PERSONA_STEP_LOWERCASE,
	PERSONA_STEP_COMPACT,
	PERSONA_STEP_DIGITS,
	PERSONA_STEP_E164,
	PERSONA_STEP_NATIONAL,
	PERSONA_STEP_YYYYMMDD,
	PERSONA_STEP_INITIAL,
	/* encodings */
	PERSONA_STEP_URL,
	PERSONA_STEP_BASE64,
	PERSONA_STEP_BASE64URL,
	PERSONA_STEP_HEX,
	PERSONA_STEP_JSON,
	/* hashes */
	PERSONA_STEP_MD5,
	PERSONA_STEP_SHA1,
	PERSONA_STEP_SHA256,
	PERSONA_STEP_SHA512,
	PERSONA_STEP_COUNT,
};

/* One text to look for, and how it was made from a persona value. */
struct persona_pattern {
	char *text;
	size_t length;
	/* Base64 padding ("=", "==", "%3D"...) that the text may be followed
	 * by: a match takes it in when it is there, and is found without it. */
	const char *tail;
	uint32_t value; /* index into the persona's values */
	uint8_t steps[PERSONA_MAX_STEPS];
	uint8_t step_count;
	bool caseless;    /* hex digits: matched in either case */
	bool whole_field; /* shorter than PERSONA_MIN_PATTERN_BYTES */
	bool token;       /* shorter than PERSONA_TOKEN_BYTES */
};

struct persona_pattern_list {
	struct persona_pattern *items;
	size_t count;
	size_t capacity;
	/* Open-addressing set of item indices + 1 (0: empty slot), so that a
	 * text made by two chains is kept once, with the chain made first. */
	uint32_t *slots;
	size_t slot_count;
	/* OpenSSL rejected a hash (MD5 in FIPS mode), so its forms are missing. */
	bool digest_failed;
};

struct persona_value {
	enum persona_kind kind;
	char *normalised; /* the findings' value */
};

struct persona_automaton;

struct persona {
	char *name;
	struct persona_value *values;
	size_t value_count;
	struct persona_pattern_list patterns;
	/* Indices of the whole_field patterns, compared with whole values. */
	uint32_t *whole_field;
	size_t whole_field_count;
	struct persona_automaton *automaton;
};

/* ---- persona_kinds.c: the kinds of value ---- */

/* Returns the kind named name, or PERSONA_KIND_COUNT. */
enum persona_kind persona_kind_of(const char *name);
/* The kind's name, which is also the findings' category. */
const char *persona_kind_name(enum persona_kind kind);
/* "persona:<kind>" */
const char *persona_kind_source(enum persona_kind kind);
/* Writes the list of kind names, comma-separated, for error messages. */
void persona_kind_list(char *text, size_t size);
const char *persona_step_name(enum persona_step step);

/* ---- persona_normalise.c: normalised forms of one value ---- */

#define PERSONA_MAX_NORMAL_FORMS 4

struct persona_text {
	char *bytes; /* NUL-terminated when not NULL */
	size_t length;
	size_t capacity;
	bool failed; /* an allocation failed, so the text is incomplete */
};

/* A normalised form and the one or two steps that made it. */
struct persona_normal_form {
	struct persona_text text;
	uint8_t steps[2];
	uint8_t step_count;
};

struct persona_normal_forms {
	struct persona_normal_form items[PERSONA_MAX_NORMAL_FORMS];
	size_t count;
	bool failed;
};

/* Fills forms with the distinct, non-empty normalised forms of a trimmed
 * value, the most normalised first. Returns 0 or -ENOMEM. */
int persona_normal_forms(struct persona_normal_forms *forms, enum persona_kind kind, const char *text);
void persona_normal_forms_free(struct persona_normal_forms *forms);

/* Returns the value as findings carry it (lowercase e-mail, E.164 phone,
 * digits of a card), allocated, or NULL when out of memory. */
char *persona_normalised_value(enum persona_kind kind, const char *text);

/* ---- persona_forms.c: the chains over each normalised form ---- */

/* Adds every form of a value (already trimmed) to list, in the order that
 * decides which chain names a text made by several. Returns 0 or -ENOMEM. */
int persona_forms_add(struct persona_pattern_list *list, uint32_t value, enum persona_kind kind,
		      const char *text);

void persona_pattern_list_free(struct persona_pattern_list *list);

/* ---- persona_encode.c: text transformations ---- */

void persona_text_append(struct persona_text *text, const void *bytes, size_t length);
void persona_text_free(struct persona_text *text);

/* Each appends the encoding of input to out. */
void persona_encode_url(struct persona_text *out, const char *input, size_t length);
void persona_encode_form(struct persona_text *out, const char *input, size_t length);
void persona_encode_base64(struct persona_text *out, const uint8_t *input, size_t length, bool url);
void persona_encode_hex(struct persona_text *out, const uint8_t *input, size_t length, bool upper);
void persona_encode_json(struct persona_text *out, const char *input, size_t length, bool escape_markup);

/* Computes the digest of a hash step into digest (at least 64 bytes) and
 * returns its length, or 0 when OpenSSL refuses the algorithm (MD5 in FIPS
 * mode). */
size_t persona_digest(enum persona_step step, const void *input, size_t length, uint8_t *digest);

/* ---- persona_automaton.c: Aho-Corasick over the patterns ---- */

/* Builds the automaton over the patterns that are not whole_field. */
int persona_automaton_build(struct persona_automaton **automaton, const struct persona_pattern *patterns,
			    size_t count);

/* Called for each pattern whose first bytes (compared without case) occur
 * in the text at start. The rest of the pattern is not compared yet. A
 * negative return stops the scan and is returned by it. */
typedef int (*persona_candidate_fn)(void *context, uint32_t pattern, size_t start);

int persona_automaton_scan(const struct persona_automaton *automaton, const uint8_t *text, size_t length,
			   persona_candidate_fn candidate, void *context);

/* Bytes of the automaton's tables. */
size_t persona_automaton_bytes(const struct persona_automaton *automaton);

void persona_automaton_free(struct persona_automaton *automaton);

#endif

/*
 * Private to the personal-data detectors (pii*.c): the state of one field's
 * scan and the detectors that pii.c runs over it. docs/PII.md gives the
 * rules each detector follows.
 */
#ifndef PLAINSIGHT_PII_INTERNAL_H
#define PLAINSIGHT_PII_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "classify.h"

/* Longest normalised value a detector builds on the stack (an e-mail
 * address is at most 254 bytes, RFC 5321 section 4.5.3.1.3). */
#define PII_VALUE_BYTES 320

/* One field being scanned. */
struct pii_field_scan {
	const struct field_list *fields;
	const enum pii_meaning *meanings; /* resolved, one for each field */
	size_t index;
	const char *text; /* the field's value, value_bytes long */
	size_t length;
	enum pii_meaning meaning;
	char chain[PII_ENCODING_BYTES]; /* the field's decodings, " > " between */
	struct pii_findings *findings;
	size_t first; /* index in findings of this field's first finding */
};

/* A detector's match. pii_report copies value. */
struct pii_match {
	const char *category;
	const char *source;
	size_t offset;
	size_t length;
	const char *steps; /* the detector's own decodings, "" for none */
	const char *value;
	size_t value_bytes;
};

/* Adds a finding for the field being scanned, unless a finding of a more
 * specific category overlaps it. Less specific findings that overlap it
 * are removed. Returns 0 or -ENOMEM. */
int pii_report(struct pii_field_scan *scan, const struct pii_match *match);

/* ---- detectors: each returns 0 or -ENOMEM ---- */

int pii_find_emails(struct pii_field_scan *scan); /* pii_email.c */
int pii_find_phones(struct pii_field_scan *scan); /* pii_phone.c */
int pii_find_cards(struct pii_field_scan *scan); /* pii_numbers.c */
int pii_find_ibans(struct pii_field_scan *scan); /* pii_numbers.c */
int pii_find_us_ssns(struct pii_field_scan *scan); /* pii_numbers.c */
int pii_find_ip_addresses(struct pii_field_scan *scan); /* pii_network.c */
int pii_find_locations(struct pii_field_scan *scan); /* pii_geo.c */
int pii_find_by_meaning(struct pii_field_scan *scan); /* pii_fields.c */

/* Reads a whole value as a date in one of the forms pii_date.c lists and
 * writes it as "YYYYMMDD" and a NUL into yyyymmdd (9 bytes). */
bool pii_read_date(const char *text, size_t length, char *yyyymmdd);

/* ---- character classes, ASCII only and independent of the locale ---- */

static inline bool pii_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool pii_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool pii_is_alnum(char c)
{
	return pii_is_digit(c) || pii_is_alpha(c);
}

static inline bool pii_is_hex(char c)
{
	return pii_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline char pii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline char pii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static inline int pii_hex_value(char c)
{
	if (pii_is_digit(c))
		return c - '0';
	c = pii_lower(c);
	return c - 'a' + 10;
}

/* Whether the byte before offset is a letter or digit (false at the start). */
static inline bool pii_alnum_before(const char *text, size_t offset)
{
	return offset > 0 && pii_is_alnum(text[offset - 1]);
}

/* Whether the byte at offset is a letter or digit (false at the end). */
static inline bool pii_alnum_at(const char *text, size_t length, size_t offset)
{
	return offset < length && pii_is_alnum(text[offset]);
}

/* Whether text[offset] is '.' or ',' followed by a digit: a decimal part or
 * the next number of a list follows. */
static inline bool pii_number_continues(const char *text, size_t length, size_t offset)
{
	return offset + 1 < length && (text[offset] == '.' || text[offset] == ',') &&
	       pii_is_digit(text[offset + 1]);
}

/* Returns the meaning a field has, resolved by pii_scan. */
static inline enum pii_meaning pii_meaning_at(const struct pii_field_scan *scan, size_t index)
{
	return scan->meanings[index];
}

#endif

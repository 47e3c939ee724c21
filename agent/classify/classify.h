/*
 * Classify stage: what a request means. For now, the site a request belongs
 * to and whether it goes to a third party, from the Referer, Origin and
 * Sec-Fetch-Site headers, with registrable domains (eTLD+1) from libpsl and
 * Debian's public suffix list.
 */
#ifndef PLAINSIGHT_CLASSIFY_H
#define PLAINSIGHT_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "../extract/extract.h"

#define SITE_BYTES 256

enum party {
	PARTY_UNKNOWN = 0, /* no header names the site */
	PARTY_FIRST,
	PARTY_THIRD,
};

struct site_context {
	char site[SITE_BYTES];     /* registrable domain of the page, "" if unknown */
	char server[SITE_BYTES];   /* registrable domain of the request's host */
	enum party party;
};

/* The parts of a request that classification reads. */
struct site_request {
	const char *host;            /* the request's host, without port */
	const char *referer;         /* header values, or NULL */
	const char *origin;
	const char *sec_fetch_site;
};

/* Loads the public suffix list: Debian's current copy when it is installed
 * (package publicsuffix), else the list built into libpsl. Returns 0 or
 * -ENOENT. */
int classify_init(void);
void classify_free(void);

/* Fills context for request. */
void classify_site(const struct site_request *request, struct site_context *context);

/*
 * Vendor table: host names and URL patterns mapped to who runs a service and
 * what it is for. Loaded from JSON files (data/vendors.json, then files
 * that extend or override it; docs/VENDORS.md gives the format).
 */

struct vendor_entry {
	const char *id;       /* unique key, "meta-pixel"; a later file's entry replaces an earlier one */
	const char *vendor;   /* "Meta" */
	const char *product;  /* "Meta Pixel" */
	const char *company;  /* "Meta Platforms, Inc." */
	const char *category; /* "advertising", "analytics", ..., or "browser" */
	const char *decoder;  /* pixel decoder name, or NULL */
};

struct vendor_match {
	const struct vendor_entry *entry;
	/* The rule that matched, as "vendors.json:meta-pixel facebook.com/tr". */
	const char *rule;
};

struct vendor_table;

/* Creates an empty table. Returns 0 or -ENOMEM. */
int vendor_table_new(struct vendor_table **table);

/* Adds the entries of a JSON file; an entry whose id is already in the table
 * replaces it. Returns 0, or a negative errno with one message logged that
 * names the file and, for bad content, the entry. */
int vendor_table_load(struct vendor_table *table, const char *path);

/* Finds the most specific rule for a request: the longest matching host
 * suffix, then a rule with a path over one without. host is lowercase
 * without port; target is the path and query. Returns false when none
 * matches. */
bool vendor_table_match(const struct vendor_table *table, const char *host, const char *target,
			struct vendor_match *match);

/* Entries in the table. */
size_t vendor_table_count(const struct vendor_table *table);

void vendor_table_free(struct vendor_table *table);

/*
 * Personal data found in a request. Detectors (patterns, and meanings of
 * field names) and persona matching (a test person's known values in every
 * form) both give findings; the policy stage fingerprints and redacts them.
 */

#define PII_ENCODING_BYTES 160

struct pii_finding {
	const char *category; /* static: "email", "phone", "hashed_email", ... */
	const char *source;   /* static: "detector:email", "persona:email", ... */
	size_t field;         /* index of the field in the field_list */
	/* The matched text's place in the field's value, for redaction. */
	size_t offset;
	size_t length;
	/* Decodings from the wire to the field (the field's chain), then the
	 * steps that turned the value into what was sent, joined by " > ":
	 * "form > url > json > lowercase > sha256 > hex". */
	char encoding[PII_ENCODING_BYTES];
	/* The normalised value (lowercase e-mail, E.164 phone, digits of a
	 * card), used only for the keyed fingerprint and never printed; for a
	 * hash whose input is unknown, the hash text in lowercase. Owned. */
	char *value;
};

struct pii_findings {
	struct pii_finding *items;
	size_t count;
	size_t capacity;
};

/* Frees the findings' values and empties the list, keeping its storage. */
void pii_findings_clear(struct pii_findings *findings);
void pii_findings_free(struct pii_findings *findings);

/*
 * Persona matching: a test person's known values (docs/PERSONA.md), found
 * in a request's fields in every form a browser may send them: normalised,
 * encoded, hashed, and two such steps deep.
 */

struct persona;

/* Loads a JSON persona file and precomputes the forms of its values.
 * Returns 0 or a negative errno, with one message logged that names the
 * file and, for bad content, the member. */
int persona_load(struct persona **persona, const char *path);

/* Distinct texts searched for. */
size_t persona_pattern_count(const struct persona *persona);

/* Bytes of the matcher: automaton tables, patterns and their texts. */
size_t persona_memory_bytes(const struct persona *persona);

/* Finds every form of every persona value in each field of fields and
 * appends a finding for each: category the value's kind, source
 * "persona:<kind>", encoding the field's decodings and then the form's
 * chain, value the normalised persona value. Each place in a field is
 * reported once, by the longest form found there. Returns 0 or -ENOMEM,
 * after which the findings appended so far are still valid. */
int persona_scan(const struct persona *persona, const struct field_list *fields, struct pii_findings *findings);

void persona_free(struct persona *persona);

#endif

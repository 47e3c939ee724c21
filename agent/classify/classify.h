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
#include "../filters/filters.h"

#define SITE_BYTES 256

enum party {
	PARTY_UNKNOWN = 0, /* no header names the site */
	PARTY_FIRST,
	PARTY_THIRD,
};

struct site_context {
	char site[SITE_BYTES];     /* registrable domain of the page, "" if unknown */
	char server[SITE_BYTES];   /* registrable domain of the request's host */
	char page_host[SITE_BYTES]; /* host of the page, "" if unknown */
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
 * names the file and, for bad content, the entry. A file that fails to load
 * leaves the table as it was. A successful load frees replaced entries, so
 * matches made before it must not be used after it. */
int vendor_table_load(struct vendor_table *table, const char *path);

/* The same for a file's text held in memory; name is used in messages and
 * in the rules' names. */
int vendor_table_parse(struct vendor_table *table, const char *name, const char *text, size_t length);

/* Finds the most specific rule for a request: the longest matching host
 * suffix, then a rule with a path over one without. host has no port, and
 * its ASCII case does not matter. target is the path and query (origin
 * form), or NULL, which only rules without a path match. Returns false when
 * none matches. match points into the table. Nothing is allocated, so
 * threads may match at once while no load runs. */
bool vendor_table_match(const struct vendor_table *table, const char *host, const char *target,
			struct vendor_match *match);

/* Entries in the table. */
size_t vendor_table_count(const struct vendor_table *table);

void vendor_table_free(struct vendor_table *table);

/*
 * Pixel decoders (data/decoders.json): for one pixel's wire format, the
 * fields that carry the event, the account or pixel id, the page URL and
 * the person's identity. Paths are matched against the part of a field's
 * path after its parameter root (query, form, multipart, JSON).
 */

#define PIXEL_MAX_EVENTS 16
#define PIXEL_MAX_IDENTITY 32

struct pixel_identity {
	size_t field;        /* index in the field_list */
	const char *path;    /* that field's path */
	const char *meaning; /* "email", "phone", "first_name", ... */
};

/* The fields a decoder read from one request. Strings point into the field
 * list or the decoder table, which must outlive the report. */
struct pixel_report {
	const char *events[PIXEL_MAX_EVENTS]; /* distinct, in the order sent */
	size_t event_count;
	const char *account_id;
	const char *page_url;
	struct pixel_identity identity[PIXEL_MAX_IDENTITY];
	size_t identity_count;
	char account_buffer[64]; /* an account id taken from the URL path */
};

struct decoder;
struct decoder_table;

/* Parses a decoder file held in memory; name is used in messages. Returns
 * 0, -EINVAL with one message logged, or -ENOMEM. */
int decoder_table_parse(struct decoder_table **table, const char *name, const char *text, size_t length);
void decoder_table_free(struct decoder_table *table);
const struct decoder *decoder_find(const struct decoder_table *table, const char *name);
const char *decoder_name(const struct decoder *decoder);

/* Returns the parameter name in a field path ("ud[em]" of "query.ud[em]"), or NULL
 * for paths outside the parameter roots. */
const char *decoder_parameter_name(const char *path);

/* Reads a request's fields; target is the path and query, for decoders
 * that take the account from the URL path. */
void decoder_run(const struct decoder *decoder, const struct field_list *fields, const char *target,
		 struct pixel_report *report);

/*
 * Filter lists (EasyPrivacy, EasyList) for trackers the vendor table does
 * not name, one filter engine per list.
 */

#define FILTER_MATCHED_BY_BYTES 512

struct filter_lists;

struct filter_list_verdict {
	const char *category; /* "tracking" (EasyPrivacy) or "advertising" (EasyList) */
	char matched_by[FILTER_MATCHED_BY_BYTES]; /* "easyprivacy.txt: ||stats.example^" */
};

/* The lists Debian's webext-ublock-origin-firefox package installs. */
extern const char *const filter_list_defaults[];

/* Loads count lists from paths, or the default lists when paths is NULL;
 * a default list that is not installed is skipped with a warning. Returns
 * 0 or a negative errno with one message logged. */
int filter_lists_load(struct filter_lists **lists, const char *const *paths, size_t count);
void filter_lists_free(struct filter_lists *lists);

/* Finds the first list that blocks request. */
bool filter_lists_match(const struct filter_lists *lists, const struct filter_request *request,
			struct filter_list_verdict *verdict);

/*
 * The classifier: site context, vendor table, filter lists and decoders
 * together, one call per request.
 */

struct classifier_options {
	/* Vendor files that extend or override the built-in table, in order. */
	const char *const *vendor_files;
	size_t vendor_file_count;
	/* Filter lists; NULL for the defaults. */
	const char *const *filter_lists;
	size_t filter_list_count;
	bool no_filter_lists;
	/* A test person's values to find in every form (docs/PERSONA.md), or
	 * NULL. */
	const char *persona_path;
};

struct classify_request {
	const char *host;   /* lowercase, without port */
	const char *target; /* path and query */
	const char *url;    /* url.full */
	const char *referer;
	const char *origin;
	const char *sec_fetch_site;
	const char *sec_fetch_dest;
	const char *sec_fetch_mode;
	const struct field_list *fields;
};

struct tracker_label {
	const struct vendor_entry *entry; /* NULL when only a filter list matched */
	const char *category;
	const char *matched_by; /* the vendor rule or the filter, with its file */
	bool decoded;           /* pixel was filled by a decoder */
	struct pixel_report pixel;
};

struct classification {
	struct site_context site;
	bool tracker; /* label describes a tracker */
	bool browser; /* the browser's own traffic; label names the service */
	struct tracker_label label;
	char matched_by[FILTER_MATCHED_BY_BYTES]; /* label.matched_by of a filter */
	struct pii_findings *pii; /* personal data found; owned, see classification_clear */
};

struct pii_findings;
struct classifier;

/* Loads the built-in tables, then the options' files. Returns 0 or a
 * negative errno with one message logged. */
int classifier_new(const struct classifier_options *options, struct classifier **classifier);
/* Classifies one request. result must be zeroed or cleared before the
 * first call. Returns 0, or -ENOMEM when the personal-data scan could not
 * finish (the labels are complete, the findings are not). */
int classifier_run(const struct classifier *classifier, const struct classify_request *request,
		   struct classification *result);

/* Frees what a classification owns. */
void classification_clear(struct classification *result);
void classifier_free(struct classifier *classifier);

/*
 * Personal data found in a request. Two sources give findings: detectors
 * (patterns, and meanings of field names) and persona matching (a test
 * person's known values in every form). The policy stage then fingerprints
 * and redacts them.
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
	 * card), owned. It is used only for the keyed fingerprint and never
	 * printed. For a hash whose input is unknown, it is the digest as
	 * lowercase hex, whether it was sent in hex or base64. */
	char *value;
};

struct pii_findings {
	struct pii_finding *items;
	size_t count;
	size_t capacity;
	/* Set when a field had more than PII_MAX_FINDINGS_PER_FIELD findings
	 * and the rest were dropped. */
	bool cut;
};

/* Frees the findings' values and empties the list, keeping its storage. */
void pii_findings_clear(struct pii_findings *findings);
void pii_findings_free(struct pii_findings *findings);

/*
 * Detectors: patterns over every field's value (e-mail addresses, phone
 * numbers, payment cards, IBANs, US social security numbers, IP addresses,
 * precise locations) and the meaning of a field's name (names, addresses,
 * dates of birth, hashed identifiers). docs/PII.md lists the rules.
 */

/* Maximum findings of one field. A body with a thousand e-mail addresses
 * is reported by its first 64. */
#define PII_MAX_FINDINGS_PER_FIELD 64

/* Meaning of a field, from its name or from a pixel decoder. */
enum pii_meaning {
	PII_MEANING_NONE = 0,
	PII_MEANING_EMAIL,
	PII_MEANING_PHONE,
	PII_MEANING_FIRST_NAME,
	PII_MEANING_LAST_NAME,
	PII_MEANING_NAME, /* full name */
	PII_MEANING_STREET,
	PII_MEANING_CITY,
	PII_MEANING_STATE,
	PII_MEANING_POSTAL_CODE,
	PII_MEANING_COUNTRY,
	PII_MEANING_DATE_OF_BIRTH,
	PII_MEANING_GENDER,
	PII_MEANING_EXTERNAL_ID, /* the site's own id of a person */
	PII_MEANING_US_SSN,
	PII_MEANING_LATITUDE,
	PII_MEANING_LONGITUDE,
	/* Meanings that rule detections out. */
	PII_MEANING_VERSION,   /* a software version or user agent: "1.2.3.4" is no IP address */
	PII_MEANING_RECORD_ID, /* an id or a time: 16 digits are no card number */
};

/* Returns the meaning of a field from the last name of its path:
 * "query.ud[em]" and "body.json.user.email" mean an e-mail address. Names
 * are compared without case, "$", "-" or camelCase. Short or ambiguous names
 * ("fn", "ct", "st", "city", "state") need a parent that contains a
 * person's data ("ud[ct]", "user_data.ct", "address.city") or a prefix such as
 * "billing_city". */
enum pii_meaning pii_meaning_of_path(const char *path);

/* Returns the name of a meaning ("email", "first_name"), "" for none. */
const char *pii_meaning_name(enum pii_meaning meaning);

/* Appends the personal data found in fields to findings, ordered by field
 * and then offset, at most one finding for each overlapping span of a field.
 * meanings gives one meaning for each field, as a pixel decoder reads them
 * from the tracker's protocol. It may be NULL, and PII_MEANING_NONE in it
 * leaves the meaning to the path.
 * Returns 0 or -ENOMEM. */
int pii_scan(const struct field_list *fields, const enum pii_meaning *meanings,
	     struct pii_findings *findings);

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

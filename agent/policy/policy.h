/*
 * Policy stage: what may leave the host. Each personal-data finding gets a
 * severity from the policy, and a keyed fingerprint in place of its value.
 * Redaction replaces the values in everything an event prints. The
 * fingerprint is an HMAC-SHA-256 under a key that stays on the host, so a
 * collector can tell that two events carry the same value without learning
 * it, and without the key a guessed value cannot be checked.
 */
#ifndef PLAINSIGHT_POLICY_H
#define PLAINSIGHT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "../classify/classify.h"

#define FINGERPRINT_HEX_BYTES 65 /* 64 hex digits and NUL */

struct fingerprint_key;

/* Loads a key file: at least 32 bytes, either raw or written as hex digits
 * (docs/FINGERPRINTS.md gives the format). A file that group or others may read
 * is loaded with a warning. Returns 0 or a negative errno, with one message
 * logged that names the file. */
int fingerprint_key_load(struct fingerprint_key **key, const char *path);

/* Writes 32 random bytes from getrandom(2) to a new file of mode 0600. An
 * existing file is never overwritten: that returns -EEXIST. */
int fingerprint_key_generate(const char *path);

/* Writes the HMAC-SHA-256 of category, a NUL byte and value as 64 lowercase
 * hex digits. value must already be normalised (pii_finding.value is). On an
 * OpenSSL failure, which is logged, out is the empty string. */
void fingerprint(const struct fingerprint_key *key, const char *category, const char *value, size_t length,
		 char out[FINGERPRINT_HEX_BYTES]);

/* Creates a key of 32 random bytes that lives in memory only. Returns 0 or
 * a negative errno. */
int fingerprint_key_random(struct fingerprint_key **key);

#define FINGERPRINT_KEY_DEFAULT_DIR "/var/lib/plainsight"
#define FINGERPRINT_KEY_DEFAULT_PATH FINGERPRINT_KEY_DEFAULT_DIR "/fingerprint.key"

/* Loads the key at path, or when path is NULL the default key: loaded,
 * else created, else a random key for this run (with a warning). Returns 0
 * or a negative errno with one message logged. */
int fingerprint_key_open(struct fingerprint_key **key, const char *path);

void fingerprint_key_free(struct fingerprint_key *key);

/*
 * Severity (docs/POLICY.md). Without a policy file, personal data or a
 * hashed identifier sent to a third-party tracker is high. Personal data
 * sent to another third party is medium, and to the first party info. A
 * third-party tracker request without personal data is low, the rest none.
 */

enum severity {
	SEVERITY_NONE = 0,
	SEVERITY_INFO,
	SEVERITY_LOW,
	SEVERITY_MEDIUM,
	SEVERITY_HIGH,
};

struct policy;

/* Loads a policy file of rules by site, vendor, tracker category and
 * personal-data category. Returns 0 or a negative errno with one message
 * logged. */
int policy_load(struct policy **policy, const char *path);
void policy_free(struct policy *policy);

/* "none", "info", "low", "medium" or "high". */
const char *severity_name(enum severity severity);

/* Returns the severity of one finding; policy may be NULL. */
enum severity policy_finding_severity(const struct policy *policy, const struct classification *classification,
				      const struct pii_finding *finding);

/* Returns the event's severity: the highest of its findings', or for an
 * event without findings low for a third-party tracker, else none. */
enum severity policy_event_severity(const struct policy *policy, const struct classification *classification);

/*
 * Redaction: finding values, cookies, Authorization and URL credentials
 * replaced in what an event prints.
 */

struct redactor;

/* Builds a redactor for one request. marks gives, for each finding, the
 * text that replaces it. fields, findings and marks must outlive the
 * redactor. Returns 0 or -ENOMEM. */
int redactor_new(struct redactor **redactor, const struct field_list *fields, const struct pii_findings *findings,
		 const char *const *marks);
void redactor_free(struct redactor *redactor);

/* Returns a copy of text with each finding's text replaced, also where it
 * is percent-encoded once or twice; *replaced counts the replacements.
 * NULL when out of memory. */
char *redact_text(const struct redactor *redactor, const char *text, size_t *replaced);

/* Returns the printable value of field index. A secret, or a value that
 * contains a finding in a form the text search cannot see, is replaced
 * whole. Any other value goes through redact_text(). NULL when out of
 * memory. */
char *redact_field(const struct redactor *redactor, size_t index);

/* Returns a URL with findings, query parameter values that hold a finding,
 * and credentials replaced. NULL when out of memory. */
char *redact_url(const struct redactor *redactor, const char *url);

/*
 * One request through the policy: fingerprints, severities, marks and the
 * redactor, as the output stage prints them.
 */

#define REDACTION_MARK_BYTES 64

struct policy_settings {
	const struct policy *policy;        /* NULL: the default policy */
	const struct fingerprint_key *key;
	bool keep_values;                   /* print values as captured */
};

struct policy_result {
	enum severity severity;
	size_t count;                                 /* findings */
	enum severity *severities;                    /* per finding */
	char (*fingerprints)[FINGERPRINT_HEX_BYTES];  /* per finding */
	char (*marks)[REDACTION_MARK_BYTES];          /* per finding */
	struct redactor *redactor;                    /* NULL when values are kept */
};

/* Applies settings to a classified request. Returns 0 or -ENOMEM. */
int policy_apply(const struct policy_settings *settings, const struct classification *classification,
		 const struct field_list *fields, struct policy_result *result);
void policy_result_clear(struct policy_result *result);

#endif

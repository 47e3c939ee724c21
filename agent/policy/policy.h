/*
 * Policy stage: what may leave the host. For now, keyed fingerprints. A
 * finding's value is replaced by an HMAC-SHA-256 under a key that stays on
 * the host. A collector can tell that two events carry the same value
 * without learning it, and without the key a guessed value cannot be
 * checked.
 */
#ifndef PLAINSIGHT_POLICY_H
#define PLAINSIGHT_POLICY_H

#include <stddef.h>

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

void fingerprint_key_free(struct fingerprint_key *key);

#endif

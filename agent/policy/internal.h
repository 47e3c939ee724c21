/*
 * Private to agent/policy/: the HMAC core behind fingerprint(), open to the
 * unit tests so that they can check it against the RFC 4231 test vectors,
 * whose keys are shorter than a key file may be.
 */
#ifndef PLAINSIGHT_POLICY_INTERNAL_H
#define PLAINSIGHT_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "policy.h"

#define FINGERPRINT_DIGEST_BYTES 32 /* SHA-256 */

/* Creates a key from bytes of any nonzero length. Returns 0, -EINVAL for an
 * empty key, -ENOMEM, or -EIO when OpenSSL cannot set up HMAC-SHA-256. */
int fingerprint_key_from_bytes(struct fingerprint_key **key, const uint8_t *bytes, size_t length);

/* Computes HMAC-SHA-256 under key over the parts, one after the other.
 * Returns 0 or -EIO. */
int fingerprint_hmac(const struct fingerprint_key *key, const struct iovec *parts, size_t part_count,
		     uint8_t digest[FINGERPRINT_DIGEST_BYTES]);

#endif

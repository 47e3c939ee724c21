/*
 * Keyed fingerprints of personal data: HMAC-SHA-256 (RFC 2104) through
 * OpenSSL 3's EVP_MAC interface. The key is set up once, and each
 * fingerprint works on a copy of that keyed context, so fingerprint() only
 * reads the key and may run in several threads at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "../common/log.h"
#include "internal.h"

struct fingerprint_key {
	EVP_MAC_CTX *keyed; /* HMAC-SHA-256, initialised with the key */
};

int fingerprint_key_from_bytes(struct fingerprint_key **key, const uint8_t *bytes, size_t length)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	struct fingerprint_key *created;
	EVP_MAC *hmac;
	int err = -EIO;

	*key = NULL;
	if (length == 0)
		return -EINVAL;
	created = calloc(1, sizeof(*created));
	if (!created)
		return -ENOMEM;

	hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (hmac)
		created->keyed = EVP_MAC_CTX_new(hmac);
	/* The context holds its own reference to the algorithm. */
	EVP_MAC_free(hmac);
	if (!created->keyed || !EVP_MAC_init(created->keyed, bytes, length, params)) {
		log_error("fingerprint key: OpenSSL failed to set up HMAC-SHA-256");
		goto cleanup;
	}

	*key = created;
	return 0;

cleanup:
	fingerprint_key_free(created);
	return err;
}

int fingerprint_hmac(const struct fingerprint_key *key, const struct iovec *parts, size_t part_count,
		     uint8_t digest[FINGERPRINT_DIGEST_BYTES])
{
	EVP_MAC_CTX *context = EVP_MAC_CTX_dup(key->keyed);
	size_t digest_bytes = 0;
	int err = -EIO;
	size_t i;

	if (!context)
		return -EIO;
	for (i = 0; i < part_count; i++) {
		if (!EVP_MAC_update(context, parts[i].iov_base, parts[i].iov_len))
			goto cleanup;
	}
	if (!EVP_MAC_final(context, digest, &digest_bytes, FINGERPRINT_DIGEST_BYTES) ||
	    digest_bytes != FINGERPRINT_DIGEST_BYTES)
		goto cleanup;
	err = 0;

cleanup:
	EVP_MAC_CTX_free(context);
	return err;
}

/*
 * The category is part of the input, so a fingerprint identifies a value of
 * one kind. The postal code "10115" and the user id "10115" get different
 * fingerprints, and a collector that joins on fingerprints never merges
 * unrelated data that shares its text. Detectors and persona matching use
 * the same category names for the same kind of data, so one e-mail address
 * gets the same fingerprint from both. The NUL byte keeps the boundary
 * unambiguous, because ("ab", "c") and ("a", "bc") must differ.
 */
void fingerprint(const struct fingerprint_key *key, const char *category, const char *value, size_t length,
		 char out[FINGERPRINT_HEX_BYTES])
{
	static const char hex_digits[] = "0123456789abcdef";
	uint8_t digest[FINGERPRINT_DIGEST_BYTES];
	struct iovec parts[] = {
		{ (void *)category, strlen(category) },
		{ (void *)"", 1 },
		{ (void *)value, length },
	};
	size_t i;

	out[0] = '\0';
	if (fingerprint_hmac(key, parts, sizeof(parts) / sizeof(parts[0]), digest) < 0) {
		log_error("fingerprint: OpenSSL HMAC-SHA-256 failed for a %s value", category);
		return;
	}
	for (i = 0; i < FINGERPRINT_DIGEST_BYTES; i++) {
		out[2 * i] = hex_digits[digest[i] >> 4];
		out[2 * i + 1] = hex_digits[digest[i] & 0x0f];
	}
	out[2 * FINGERPRINT_DIGEST_BYTES] = '\0';
	OPENSSL_cleanse(digest, sizeof(digest));
}

void fingerprint_key_free(struct fingerprint_key *key)
{
	if (!key)
		return;
	EVP_MAC_CTX_free(key->keyed);
	free(key);
}

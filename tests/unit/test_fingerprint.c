/*
 * Unit tests of keyed fingerprints (agent/policy/fingerprint*.c): the HMAC
 * core against the HMAC-SHA-256 test vectors of RFC 4231 section 4, the
 * fingerprint's input, and key files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/internal.h"
#include "policy/policy.h"

#define MAX_VECTOR_KEY_BYTES 131
#define PATH_BYTES 256
#define LOG_TEXT_BYTES 4096

struct hmac_vector {
	const char *name;
	uint8_t key_byte; /* the key is key_bytes copies of this byte ... */
	size_t key_bytes;
	const char *key_text; /* ... unless this is set */
	const char *data;
	const char *hmac_sha256;
};

/* RFC 4231 test cases 1, 2, 6 and 7: a short key, a key shorter than the
 * digest, and keys longer than SHA-256's 64-byte block. */
static const struct hmac_vector vectors[] = {
	{ "case 1", 0x0b, 20, NULL, "Hi There",
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	{ "case 2", 0, 4, "Jefe", "what do ya want for nothing?",
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "case 6", 0xaa, 131, NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	{ "case 7", 0xaa, 131, NULL,
	  "This is a test using a larger than block-size key and a larger than block-size data. "
	  "The key needs to be hashed before being used by the HMAC algorithm.",
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

/* ---- helpers ---- */

static void hex_of(const uint8_t *bytes, size_t length, char *text)
{
	size_t i;

	for (i = 0; i < length; i++)
		sprintf(text + 2 * i, "%02x", bytes[i]);
	text[2 * length] = '\0';
}

static struct fingerprint_key *vector_key(const struct hmac_vector *vector)
{
	uint8_t bytes[MAX_VECTOR_KEY_BYTES];
	struct fingerprint_key *key;

	if (vector->key_text)
		memcpy(bytes, vector->key_text, vector->key_bytes);
	else
		memset(bytes, vector->key_byte, vector->key_bytes);
	assert_int_equal(fingerprint_key_from_bytes(&key, bytes, vector->key_bytes), 0);
	return key;
}

static struct fingerprint_key *byte_key(uint8_t byte)
{
	uint8_t bytes[32];
	struct fingerprint_key *key;

	memset(bytes, byte, sizeof(bytes));
	assert_int_equal(fingerprint_key_from_bytes(&key, bytes, sizeof(bytes)), 0);
	return key;
}

struct key_dir {
	char path[PATH_BYTES];
	char key[PATH_BYTES];
};

static int setup_dir(void **state)
{
	struct key_dir *dir = calloc(1, sizeof(*dir));

	if (!dir)
		return -1;
	strcpy(dir->path, "/tmp/plainsight-fingerprint-XXXXXX");
	if (!mkdtemp(dir->path)) {
		free(dir);
		return -1;
	}
	snprintf(dir->key, sizeof(dir->key), "%s/key", dir->path);
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	struct key_dir *dir = *state;

	unlink(dir->key);
	rmdir(dir->path);
	free(dir);
	return 0;
}

static void write_file(const char *path, const void *bytes, size_t length, mode_t mode)
{
	FILE *file;

	unlink(path);
	file = fopen(path, "we");
	assert_non_null(file);
	assert_int_equal(fwrite(bytes, 1, length, file), length);
	assert_int_equal(fclose(file), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Runs fingerprint_key_load with stderr sent to a file, and returns what
 * it logged in text. */
static int load_logged(struct fingerprint_key **key, const char *path, char *text)
{
	FILE *log_file = tmpfile();
	int saved_stderr = dup(STDERR_FILENO);
	size_t length;
	int err;

	assert_non_null(log_file);
	fflush(stderr);
	dup2(fileno(log_file), STDERR_FILENO);
	err = fingerprint_key_load(key, path);
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);

	rewind(log_file);
	length = fread(text, 1, LOG_TEXT_BYTES - 1, log_file);
	text[length] = '\0';
	fclose(log_file);
	return err;
}

/* ---- HMAC core ---- */

static void test_hmac_rfc4231_vectors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct fingerprint_key *key = vector_key(&vectors[i]);
		struct iovec whole = { (void *)vectors[i].data, strlen(vectors[i].data) };
		uint8_t digest[FINGERPRINT_DIGEST_BYTES];
		char text[2 * FINGERPRINT_DIGEST_BYTES + 1];

		print_message("%s\n", vectors[i].name);
		assert_int_equal(fingerprint_hmac(key, &whole, 1, digest), 0);
		hex_of(digest, sizeof(digest), text);
		assert_string_equal(text, vectors[i].hmac_sha256);
		fingerprint_key_free(key);
	}
}

static void test_hmac_parts_concatenate(void **state)
{
	const struct hmac_vector *vector = &vectors[1];
	struct fingerprint_key *key = vector_key(vector);
	struct iovec parts[] = {
		{ (void *)vector->data, 4 },
		{ (void *)"", 0 },
		{ (void *)(vector->data + 4), strlen(vector->data) - 4 },
	};
	uint8_t digest[FINGERPRINT_DIGEST_BYTES];
	char text[2 * FINGERPRINT_DIGEST_BYTES + 1];

	/* The keyed context is copied per call, so a second call starts afresh. */
	assert_int_equal(fingerprint_hmac(key, parts, 3, digest), 0);
	assert_int_equal(fingerprint_hmac(key, parts, 3, digest), 0);
	hex_of(digest, sizeof(digest), text);
	assert_string_equal(text, vector->hmac_sha256);
	fingerprint_key_free(key);
}

/* ---- fingerprint ---- */

static void test_fingerprint_input_layout(void **state)
{
	struct fingerprint_key *key = byte_key(0x42);
	static const char input[] = "email\0jane.doe@example.com";
	struct iovec whole = { (void *)input, sizeof(input) - 1 };
	uint8_t digest[FINGERPRINT_DIGEST_BYTES];
	char expected[FINGERPRINT_HEX_BYTES];
	char out[FINGERPRINT_HEX_BYTES];

	assert_int_equal(fingerprint_hmac(key, &whole, 1, digest), 0);
	hex_of(digest, sizeof(digest), expected);
	fingerprint(key, "email", "jane.doe@example.com", strlen("jane.doe@example.com"), out);
	assert_string_equal(out, expected);
	assert_int_equal(strlen(out), FINGERPRINT_HEX_BYTES - 1);
	fingerprint_key_free(key);
}

static void test_fingerprint_stable_per_key(void **state)
{
	struct fingerprint_key *key = byte_key(0x01);
	struct fingerprint_key *same = byte_key(0x01);
	struct fingerprint_key *other = byte_key(0x02);
	char first[FINGERPRINT_HEX_BYTES];
	char second[FINGERPRINT_HEX_BYTES];
	char third[FINGERPRINT_HEX_BYTES];

	fingerprint(key, "phone", "+4915123456789", 14, first);
	fingerprint(same, "phone", "+4915123456789", 14, second);
	assert_string_equal(first, second);
	fingerprint(other, "phone", "+4915123456789", 14, third);
	assert_string_not_equal(first, third);

	fingerprint_key_free(key);
	fingerprint_key_free(same);
	fingerprint_key_free(other);
}

static void test_fingerprint_category_separates(void **state)
{
	struct fingerprint_key *key = byte_key(0x07);
	char postal[FINGERPRINT_HEX_BYTES];
	char user[FINGERPRINT_HEX_BYTES];
	char shifted[FINGERPRINT_HEX_BYTES];

	fingerprint(key, "postal_code", "10115", 5, postal);
	fingerprint(key, "user_id", "10115", 5, user);
	assert_string_not_equal(postal, user);

	/* The NUL between category and value keeps ("ab", "c") apart from ("a", "bc"). */
	fingerprint(key, "ab", "c", 1, postal);
	fingerprint(key, "a", "bc", 2, shifted);
	assert_string_not_equal(postal, shifted);
	fingerprint_key_free(key);
}

static void test_fingerprint_value_with_nul(void **state)
{
	struct fingerprint_key *key = byte_key(0x09);
	char whole[FINGERPRINT_HEX_BYTES];
	char cut[FINGERPRINT_HEX_BYTES];

	fingerprint(key, "other", "a\0b", 3, whole);
	fingerprint(key, "other", "a", 1, cut);
	assert_string_not_equal(whole, cut);
	fingerprint_key_free(key);
}

/* ---- key files ---- */

static void test_key_generate_and_load(void **state)
{
	struct key_dir *dir = *state;
	struct fingerprint_key *key;
	struct stat status;
	char out[FINGERPRINT_HEX_BYTES];
	char log_text[LOG_TEXT_BYTES];

	assert_int_equal(fingerprint_key_generate(dir->key), 0);
	assert_int_equal(stat(dir->key, &status), 0);
	assert_int_equal(status.st_mode & 07777, 0600);
	assert_int_equal(status.st_size, 32);

	assert_int_equal(load_logged(&key, dir->key, log_text), 0);
	assert_string_equal(log_text, "");
	fingerprint(key, "email", "a@b.example", 11, out);
	assert_int_equal(strlen(out), 64);
	fingerprint_key_free(key);
}

static void test_key_generate_never_overwrites(void **state)
{
	struct key_dir *dir = *state;
	struct stat before;
	struct stat after;

	write_file(dir->key, "existing key material, 32 bytes+", 33, 0600);
	assert_int_equal(stat(dir->key, &before), 0);
	assert_int_equal(fingerprint_key_generate(dir->key), -EEXIST);
	assert_int_equal(stat(dir->key, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
}

static void test_key_generated_keys_differ(void **state)
{
	struct key_dir *dir = *state;
	struct fingerprint_key *first;
	struct fingerprint_key *second;
	char first_out[FINGERPRINT_HEX_BYTES];
	char second_out[FINGERPRINT_HEX_BYTES];

	assert_int_equal(fingerprint_key_generate(dir->key), 0);
	assert_int_equal(fingerprint_key_load(&first, dir->key), 0);
	unlink(dir->key);
	assert_int_equal(fingerprint_key_generate(dir->key), 0);
	assert_int_equal(fingerprint_key_load(&second, dir->key), 0);

	fingerprint(first, "email", "a@b.example", 11, first_out);
	fingerprint(second, "email", "a@b.example", 11, second_out);
	assert_string_not_equal(first_out, second_out);
	fingerprint_key_free(first);
	fingerprint_key_free(second);
}

static void test_key_hex_equals_raw(void **state)
{
	struct key_dir *dir = *state;
	static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F\n";
	uint8_t raw[32];
	struct fingerprint_key *from_hex;
	struct fingerprint_key *from_raw;
	char hex_out[FINGERPRINT_HEX_BYTES];
	char raw_out[FINGERPRINT_HEX_BYTES];
	size_t i;

	write_file(dir->key, hex, strlen(hex), 0600);
	assert_int_equal(fingerprint_key_load(&from_hex, dir->key), 0);
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	write_file(dir->key, raw, sizeof(raw), 0600);
	assert_int_equal(fingerprint_key_load(&from_raw, dir->key), 0);

	fingerprint(from_hex, "city", "berlin", 6, hex_out);
	fingerprint(from_raw, "city", "berlin", 6, raw_out);
	assert_string_equal(hex_out, raw_out);
	fingerprint_key_free(from_hex);
	fingerprint_key_free(from_raw);
}

static void test_key_too_short(void **state)
{
	struct key_dir *dir = *state;
	struct fingerprint_key *key;
	char log_text[LOG_TEXT_BYTES];

	write_file(dir->key, "sixteen bytes ok", 16, 0600);
	assert_int_equal(load_logged(&key, dir->key, log_text), -EINVAL);
	assert_null(key);
	assert_non_null(strstr(log_text, dir->key));
	assert_non_null(strstr(log_text, "contains 16 key bytes"));
	assert_non_null(strstr(log_text, "at least 32"));

	/* 40 hex digits are 20 key bytes, not a 40-byte raw key. */
	write_file(dir->key, "00112233445566778899aabbccddeeff00112233", 40, 0600);
	assert_int_equal(load_logged(&key, dir->key, log_text), -EINVAL);
	assert_non_null(strstr(log_text, "contains 20 key bytes as hex"));

	write_file(dir->key, "", 0, 0600);
	assert_int_equal(load_logged(&key, dir->key, log_text), -EINVAL);
	assert_non_null(strstr(log_text, "contains 0 key bytes"));
}

static void test_key_open_to_others_warns(void **state)
{
	struct key_dir *dir = *state;
	struct fingerprint_key *key;
	uint8_t raw[48];
	char log_text[LOG_TEXT_BYTES];

	memset(raw, 0x5a, sizeof(raw));
	write_file(dir->key, raw, sizeof(raw), 0644);
	assert_int_equal(load_logged(&key, dir->key, log_text), 0);
	assert_non_null(key);
	assert_non_null(strstr(log_text, "warning"));
	assert_non_null(strstr(log_text, "accessible by group or others (mode 0644)"));
	assert_non_null(strstr(log_text, "chmod 600"));
	fingerprint_key_free(key);
}

static void test_key_file_errors(void **state)
{
	struct key_dir *dir = *state;
	struct fingerprint_key *key;
	static char big[8192];
	char missing[PATH_BYTES + 16];
	char log_text[LOG_TEXT_BYTES];

	snprintf(missing, sizeof(missing), "%s/missing", dir->path);
	assert_int_equal(load_logged(&key, missing, log_text), -ENOENT);
	assert_non_null(strstr(log_text, missing));

	assert_int_equal(load_logged(&key, dir->path, log_text), -EINVAL);
	assert_non_null(strstr(log_text, "not a regular file"));

	memset(big, 'k', sizeof(big));
	write_file(dir->key, big, sizeof(big), 0600);
	assert_int_equal(load_logged(&key, dir->key, log_text), -EINVAL);
	assert_non_null(strstr(log_text, "at most 4096 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231_vectors),
		cmocka_unit_test(test_hmac_parts_concatenate),
		cmocka_unit_test(test_fingerprint_input_layout),
		cmocka_unit_test(test_fingerprint_stable_per_key),
		cmocka_unit_test(test_fingerprint_category_separates),
		cmocka_unit_test(test_fingerprint_value_with_nul),
		cmocka_unit_test_setup_teardown(test_key_generate_and_load, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_generate_never_overwrites, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_generated_keys_differ, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_hex_equals_raw, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_too_short, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_open_to_others_warns, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_file_errors, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Fingerprint key files. A key is at least 32 bytes, the output size of
 * SHA-256, because HMAC-SHA-256 gains no strength from a longer key and
 * loses some with a shorter one. It is stored either raw, as
 * fingerprint_key_generate writes it, or as hex digits, as
 * `openssl rand -hex 32` writes it (docs/FINGERPRINTS.md).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "../common/log.h"
#include "internal.h"

#define KEY_MIN_BYTES 32
/* A key file larger than this is most likely the wrong file. */
#define KEY_FILE_MAX_BYTES 4096
#define GENERATED_KEY_BYTES 32

/* Reads the whole of a regular file of at most KEY_FILE_MAX_BYTES. */
static int read_key_file(const char *path, uint8_t *bytes, size_t *length)
{
	struct stat status;
	int err = 0;
	int fd;

	*length = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_error("failed to open fingerprint key file %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &status) < 0 || !S_ISREG(status.st_mode) || status.st_size > KEY_FILE_MAX_BYTES) {
		log_error("fingerprint key file %s is not a regular file of at most %d bytes", path,
			  KEY_FILE_MAX_BYTES);
		err = -EINVAL;
		goto cleanup;
	}
	if (status.st_mode & (S_IRWXG | S_IRWXO))
		log_warn("fingerprint key file %s is accessible by group or others (mode %04o); "
			 "run chmod 600 on it", path, (unsigned int)(status.st_mode & 07777));

	while (*length < KEY_FILE_MAX_BYTES) {
		ssize_t got = read(fd, bytes + *length, KEY_FILE_MAX_BYTES - *length);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			log_error("failed to read fingerprint key file %s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		*length += (size_t)got;
	}

cleanup:
	close(fd);
	return err;
}

static int hex_value(uint8_t digit)
{
	if (digit >= '0' && digit <= '9')
		return digit - '0';
	if (digit >= 'a' && digit <= 'f')
		return digit - 'a' + 10;
	if (digit >= 'A' && digit <= 'F')
		return digit - 'A' + 10;
	return -1;
}

/* Decodes the file in place when it is hex digits, an even number of them,
 * and nothing else but trailing whitespace. Returns whether it was. */
static bool decode_hex_key(uint8_t *bytes, size_t *length)
{
	size_t digits = *length;
	size_t i;

	while (digits > 0 && isspace(bytes[digits - 1]))
		digits--;
	if (digits == 0 || digits % 2 != 0)
		return false;
	for (i = 0; i < digits; i++) {
		if (hex_value(bytes[i]) < 0)
			return false;
	}

	for (i = 0; i < digits / 2; i++)
		bytes[i] = (uint8_t)(hex_value(bytes[2 * i]) << 4 | hex_value(bytes[2 * i + 1]));
	*length = digits / 2;
	return true;
}

int fingerprint_key_load(struct fingerprint_key **key, const char *path)
{
	uint8_t bytes[KEY_FILE_MAX_BYTES];
	size_t length;
	bool hex;
	int err;

	*key = NULL;
	err = read_key_file(path, bytes, &length);
	if (err < 0)
		goto cleanup;

	hex = decode_hex_key(bytes, &length);
	if (length < KEY_MIN_BYTES) {
		log_error("fingerprint key file %s contains %zu key bytes%s; a key needs at least %d random "
			  "bytes, raw or as %d hex digits", path, length, hex ? " as hex" : "", KEY_MIN_BYTES,
			  2 * KEY_MIN_BYTES);
		err = -EINVAL;
		goto cleanup;
	}
	err = fingerprint_key_from_bytes(key, bytes, length);
	if (err == -ENOMEM)
		log_error("fingerprint key file %s: out of memory", path);

cleanup:
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return err;
}

static int write_all(int fd, const uint8_t *bytes, size_t length)
{
	while (length > 0) {
		ssize_t written = write(fd, bytes, length);

		if (written < 0 && errno == EINTR)
			continue;
		if (written < 0)
			return -errno;
		bytes += written;
		length -= (size_t)written;
	}
	return 0;
}

/* Fills bytes from getrandom(2). Without GRND_NONBLOCK, getrandom waits
 * until the kernel's pool is initialised, so an early boot never yields a
 * weak key. Returns 0 or a negative errno. */
static int random_bytes(uint8_t *bytes, size_t length)
{
	size_t filled = 0;

	while (filled < length) {
		ssize_t got = getrandom(bytes + filled, length - filled, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		filled += (size_t)got;
	}
	return 0;
}

int fingerprint_key_random(struct fingerprint_key **key)
{
	uint8_t bytes[GENERATED_KEY_BYTES];
	int err;

	*key = NULL;
	err = random_bytes(bytes, sizeof(bytes));
	if (err)
		log_error("failed to get random bytes for a fingerprint key: %s", strerror(-err));
	else
		err = fingerprint_key_from_bytes(key, bytes, sizeof(bytes));
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return err;
}

int fingerprint_key_generate(const char *path)
{
	uint8_t bytes[GENERATED_KEY_BYTES];
	int err;
	int fd;

	err = random_bytes(bytes, sizeof(bytes));
	if (err) {
		log_error("failed to get random bytes for fingerprint key %s: %s", path, strerror(-err));
		goto cleanup;
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		log_error("failed to create fingerprint key file %s: %s%s", path, strerror(errno),
			  errno == EEXIST ? " (an existing key is never overwritten)" : "");
		goto cleanup;
	}
	err = write_all(fd, bytes, sizeof(bytes));
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (err < 0) {
		log_error("failed to write fingerprint key file %s: %s", path, strerror(-err));
		unlink(path);
	}

cleanup:
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return err;
}

/*
 * The offset cache: one small text file per build-id, so that a 300 MB
 * browser binary is scanned once per build, not once per process start.
 *
 *   plainsight-boringssl-offsets 1
 *   ignore-symbols 0
 *   result 0
 *   reason no error
 *   method error sites
 *   ssl_write 0x9dab690 0x9dac690 the only function reporting ...
 *   ssl_read 0x... 0x... ...
 *   ssl_free 0x0 0x0 why it was not found
 *   ssl_shutdown ...
 *
 * The columns of a function line are file offset, vaddr and evidence. A
 * file with another format number, another ignore-symbols value or anything
 * unreadable is a miss and is rewritten after the next scan.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boringssl_internal.h"

/* Raise this when the analysis changes what it finds, so that results of
 * the older rules are scanned again. Format 1 entries may come from a scan
 * that took an attached uprobe's int3 for padding, which put function
 * starts one byte late and lost SSL_free. */
#define CACHE_FORMAT 2
#define CACHE_LINE_BYTES 1024

static int cache_path(const char *cache_dir, const char *build_id, char *path, size_t size)
{
	const char *c;
	int written;

	/* The build-id comes from the file; only hex digits may reach a path. */
	if (!build_id[0])
		return -EINVAL;
	for (c = build_id; *c; c++) {
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return -EINVAL;
	}
	written = snprintf(path, size, "%s/%s.offsets", cache_dir, build_id);
	return written < 0 || (size_t)written >= size ? -ENAMETOOLONG : 0;
}

/* Copies the rest of a line without its newline. */
static void copy_text(char *out, size_t size, const char *text)
{
	snprintf(out, size, "%.*s", (int)strcspn(text, "\n"), text);
}

static int parse_function_line(const char *line, struct tls_offsets *out)
{
	struct tls_function *function;
	char key[32];
	uint64_t offset, vaddr;
	int consumed = 0;
	size_t i;

	if (sscanf(line, "%31s 0x%" SCNx64 " 0x%" SCNx64 " %n", key, &offset, &vaddr, &consumed) < 3 ||
	    consumed == 0)
		return -EINVAL;
	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		if (strcmp(key, tls_roles[i].key) != 0)
			continue;
		function = tls_role_function(out, i);
		function->offset = offset;
		function->vaddr = vaddr;
		copy_text(function->evidence, sizeof(function->evidence), line + consumed);
		return 0;
	}
	return -EINVAL;
}

static int parse_line(const char *line, bool ignore_symbols, struct tls_offsets *out, int *result,
		      char *reason, size_t reason_size, unsigned int *seen)
{
	int value;

	if (sscanf(line, "plainsight-boringssl-offsets %d", &value) == 1) {
		*seen |= 1;
		return value == CACHE_FORMAT ? 0 : -EINVAL;
	}
	if (sscanf(line, "ignore-symbols %d", &value) == 1) {
		*seen |= 2;
		return value == (int)ignore_symbols ? 0 : -EINVAL;
	}
	if (sscanf(line, "result %d", &value) == 1) {
		*seen |= 4;
		*result = value;
		return value == 0 || value == -ENOENT ? 0 : -EINVAL;
	}
	if (strncmp(line, "reason ", 7) == 0) {
		copy_text(reason, reason_size, line + 7);
		return 0;
	}
	if (strncmp(line, "method ", 7) == 0) {
		copy_text(out->method, sizeof(out->method), line + 7);
		return 0;
	}
	return parse_function_line(line, out);
}

int cache_load(const char *cache_dir, const char *build_id, bool ignore_symbols,
	       struct tls_offsets *out, int *result, char *reason, size_t reason_size)
{
	char path[PATH_MAX], line[CACHE_LINE_BYTES];
	unsigned int seen = 0;
	int err = 0;
	FILE *file;

	if (cache_path(cache_dir, build_id, path, sizeof(path)))
		return -ENOENT;
	file = fopen(path, "re");
	if (!file)
		return -ENOENT;

	memset(out, 0, sizeof(*out));
	snprintf(out->build_id, sizeof(out->build_id), "%s", build_id);
	while (!err && fgets(line, sizeof(line), file))
		err = parse_line(line, ignore_symbols, out, result, reason, reason_size, &seen);
	fclose(file);

	if (err || seen != 7 || (*result == 0 && (!out->ssl_write.offset || !out->ssl_read.offset))) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return 0;
}

static int make_directories(const char *path)
{
	char partial[PATH_MAX];
	size_t length = strlen(path), i;

	if (length == 0 || length >= sizeof(partial))
		return -ENAMETOOLONG;
	memcpy(partial, path, length + 1);

	for (i = 1; i <= length; i++) {
		if (partial[i] != '/' && partial[i] != '\0')
			continue;
		partial[i] = '\0';
		if (mkdir(partial, 0755) != 0 && errno != EEXIST)
			return -errno;
		partial[i] = path[i];
	}
	return 0;
}

/* Writes text with newlines replaced, so that it stays on one line. */
static void write_text(FILE *file, const char *text)
{
	for (; *text; text++)
		fputc(*text == '\n' || *text == '\r' ? ' ' : *text, file);
	fputc('\n', file);
}

static void write_entry(FILE *file, bool ignore_symbols, const struct tls_offsets *offsets, int result,
			const char *reason)
{
	const struct tls_function *function;
	size_t i;

	fprintf(file, "plainsight-boringssl-offsets %d\n", CACHE_FORMAT);
	fprintf(file, "ignore-symbols %d\n", ignore_symbols ? 1 : 0);
	fprintf(file, "result %d\n", result);
	fputs("reason ", file);
	write_text(file, result ? reason : "no error");
	fputs("method ", file);
	write_text(file, offsets->method);
	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		function = tls_role_function_const(offsets, i);
		fprintf(file, "%s 0x%" PRIx64 " 0x%" PRIx64 " ", tls_roles[i].key, function->offset,
			function->vaddr);
		write_text(file, function->evidence);
	}
}

int cache_store(const char *cache_dir, const char *build_id, bool ignore_symbols,
		const struct tls_offsets *offsets, int result, const char *reason)
{
	char path[PATH_MAX], temporary[PATH_MAX];
	FILE *file = NULL;
	int fd = -1, err;

	err = cache_path(cache_dir, build_id, path, sizeof(path));
	if (err)
		return err;
	err = make_directories(cache_dir);
	if (err)
		return err;

	/* Written aside and renamed, so that a reader never sees half an entry. */
	if (snprintf(temporary, sizeof(temporary), "%s.XXXXXX", path) >= (int)sizeof(temporary))
		return -ENAMETOOLONG;
	fd = mkostemp(temporary, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0644);
	file = fdopen(fd, "w");
	if (!file) {
		err = -errno;
		close(fd);
		goto cleanup;
	}

	write_entry(file, ignore_symbols, offsets, result, reason);
	if (ferror(file)) {
		fclose(file);
		err = -EIO;
		goto cleanup;
	}
	if (fclose(file) != 0) {
		err = -errno;
		goto cleanup;
	}
	if (rename(temporary, path) != 0) {
		err = -errno;
		goto cleanup;
	}
	return 0;

cleanup:
	unlink(temporary);
	return err;
}

/*
 * The BoringSSL offset finder's interface (boringssl.h): symbols when the
 * file has them, else the error-site analysis of boringssl_identify.c, with
 * a cache keyed by build-id in front, and a printed description for the
 * `plainsight offsets` command.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "boringssl_internal.h"

const struct tls_role tls_roles[TLS_ROLE_COUNT] = {
	{ "SSL_write", "ssl_write", offsetof(struct tls_offsets, ssl_write) },
	{ "SSL_read", "ssl_read", offsetof(struct tls_offsets, ssl_read) },
	{ "SSL_free", "ssl_free", offsetof(struct tls_offsets, ssl_free) },
	{ "SSL_shutdown", "ssl_shutdown", offsetof(struct tls_offsets, ssl_shutdown) },
};

struct tls_function *tls_role_function(struct tls_offsets *offsets, size_t role)
{
	return (struct tls_function *)((char *)offsets + tls_roles[role].offset);
}

const struct tls_function *tls_role_function_const(const struct tls_offsets *offsets, size_t role)
{
	return (const struct tls_function *)((const char *)offsets + tls_roles[role].offset);
}

static void reset_offsets(struct tls_offsets *out, const struct elf_image *image)
{
	memset(out, 0, sizeof(*out));
	if (image)
		snprintf(out->build_id, sizeof(out->build_id), "%s", image->build_id);
}

/* Fills out from .symtab or .dynsym. Returns 0 when SSL_write and SSL_read
 * are both there. */
static int find_by_symbols(const struct elf_image *image, struct tls_offsets *out)
{
	struct tls_function *function;
	const char *table;
	uint64_t vaddr, offset;
	size_t i;

	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		function = tls_role_function(out, i);
		if (elf_image_find_function(image, tls_roles[i].name, &vaddr, &table) ||
		    elf_image_file_offset(image, vaddr, &offset)) {
			snprintf(function->evidence, sizeof(function->evidence), "no symbol %s",
				 tls_roles[i].name);
			continue;
		}
		function->vaddr = vaddr;
		function->offset = offset;
		snprintf(function->evidence, sizeof(function->evidence), "symbol %s in %s", tls_roles[i].name,
			 table);
	}

	if (!out->ssl_write.vaddr || !out->ssl_read.vaddr)
		return -ENOENT;
	snprintf(out->method, sizeof(out->method), "symbols");
	return 0;
}

/* The whole search on an open file. analysis, when given, keeps the
 * error-site details for describing them; the caller frees it. */
static int find_in_image(const struct elf_image *image, bool ignore_symbols, struct tls_offsets *out,
			 struct boringssl_analysis *analysis, char *reason, size_t reason_size)
{
	struct boringssl_analysis local;
	int err;

	reset_offsets(out, image);
	if (!ignore_symbols && find_by_symbols(image, out) == 0)
		return 0;

	reset_offsets(out, image);
	snprintf(out->method, sizeof(out->method), "error sites");
	err = analysis_run(analysis ? analysis : &local, image, out, reason, reason_size);
	if (!analysis)
		analysis_free(&local);
	return err;
}

int boringssl_find_offsets(const char *path, bool ignore_symbols, struct tls_offsets *out,
			   char *reason, size_t reason_size)
{
	struct elf_image image;
	int err;

	reset_offsets(out, NULL);
	snprintf(reason, reason_size, "no error");

	err = elf_image_open(&image, path, reason, reason_size);
	if (err)
		return err;
	err = find_in_image(&image, ignore_symbols, out, NULL, reason, reason_size);
	elf_image_close(&image);
	return err;
}

/* A cached result is used only if its offsets still lie in the file. */
static bool offsets_fit(const struct tls_offsets *offsets, const struct elf_image *image)
{
	size_t i;

	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		if (tls_role_function_const(offsets, i)->offset >= image->size)
			return false;
	}
	return true;
}

int boringssl_find_offsets_cached(const char *path, const char *cache_dir, bool ignore_symbols,
				  struct tls_offsets *out, char *reason, size_t reason_size)
{
	struct elf_image image;
	struct timespec began, ended;
	int err, result;

	reset_offsets(out, NULL);
	snprintf(reason, reason_size, "no error");

	if (!cache_dir)
		return boringssl_find_offsets(path, ignore_symbols, out, reason, reason_size);

	err = elf_image_open(&image, path, reason, reason_size);
	if (err)
		return err;

	if (!image.build_id[0]) {
		log_debug("boringssl: %s has no build-id, scanning without the cache", path);
	} else if (cache_load(cache_dir, image.build_id, ignore_symbols, out, &result, reason,
			      reason_size) == 0 &&
		   offsets_fit(out, &image)) {
		log_debug("boringssl: %s: cached result for build-id %s", path, image.build_id);
		elf_image_close(&image);
		return result;
	}

	clock_gettime(CLOCK_MONOTONIC, &began);
	result = find_in_image(&image, ignore_symbols, out, NULL, reason, reason_size);
	clock_gettime(CLOCK_MONOTONIC, &ended);
	/* The caller logs what it attaches, under the file's own name. */
	log_message(LOG_LEVEL_DEBUG,
		    "BoringSSL offsets of %s (build-id %s) by %s in %.3f s: %s", path,
		    image.build_id[0] ? image.build_id : "none", out->method,
		    (ended.tv_sec - began.tv_sec) + (ended.tv_nsec - began.tv_nsec) / 1e9,
		    result ? reason : "found");

	if (image.build_id[0] && (result == 0 || result == -ENOENT)) {
		err = cache_store(cache_dir, image.build_id, ignore_symbols, out, result, reason);
		if (err)
			log_warn("cannot cache the BoringSSL offsets of %s in %s: %s", path, cache_dir,
				 strerror(-err));
	}
	elf_image_close(&image);
	return result;
}

/* ---- description for people ---- */

static const char *role_of(const struct tls_offsets *offsets, const struct boringssl_analysis *analysis,
			   uint64_t start)
{
	size_t i;

	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		if (tls_role_function_const(offsets, i)->vaddr == start)
			return tls_roles[i].name;
	}
	if (start == analysis->read_impl)
		return "read implementation (ssl_read_impl)";
	if (start == analysis->ssl_new)
		return "SSL_new";
	return "";
}

static void print_reasons(FILE *out, const struct site_function *function)
{
	const char *name;
	size_t i;

	for (i = 0; i < function->reason_count; i++) {
		name = reason_code_name(function->reasons[i]);
		fprintf(out, "%s%d", i ? ", " : "", function->reasons[i]);
		if (name)
			fprintf(out, " %s", name);
		if (function->lines[i] >= 0)
			fprintf(out, " (line %d)", function->lines[i]);
	}
}

static void print_sites(FILE *out, const struct elf_image *image, const struct boringssl_analysis *analysis,
			const struct tls_offsets *offsets)
{
	const struct site_function *function;
	const char *role;
	uint64_t offset;
	size_t i;

	fprintf(out, "path strings ending in ssl/ssl_lib.cc: %zu, loads of their address: %zu, not an ERR_LIB_SSL report: %zu\n",
		analysis->scan.file_name_strings, analysis->scan.references, analysis->scan.rejected);
	fprintf(out, "error sites: %zu in %zu functions", analysis->scan.count, analysis->function_count);
	if (analysis->unplaced_sites)
		fprintf(out, ", %zu outside any bounded function", analysis->unplaced_sites);
	fprintf(out, "\n");
	if (analysis->scan.error_function)
		fprintf(out, "error function: vaddr 0x%" PRIx64 ", called by %zu of them\n",
			analysis->scan.error_function, analysis->scan.error_function_calls);

	for (i = 0; i < analysis->function_count; i++) {
		function = &analysis->functions[i];
		if (elf_image_file_offset(image, function->start, &offset))
			offset = 0;
		role = role_of(offsets, analysis, function->start);
		fprintf(out, "  function vaddr 0x%" PRIx64 " offset 0x%" PRIx64 " size %" PRIu64 "%s%s: ",
			function->start, offset, function->end - function->start, *role ? " = " : "", role);
		print_reasons(out, function);
		fprintf(out, "\n");
	}
}

static void print_result(FILE *out, const struct tls_offsets *offsets)
{
	const struct tls_function *function;
	size_t i;

	fprintf(out, "result by %s:\n", offsets->method[0] ? offsets->method : "nothing");
	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		function = tls_role_function_const(offsets, i);
		if (function->vaddr)
			fprintf(out, "  %-12s offset 0x%" PRIx64 " vaddr 0x%" PRIx64 ": %s\n", tls_roles[i].name,
				function->offset, function->vaddr, function->evidence);
		else
			fprintf(out, "  %-12s not found: %s\n", tls_roles[i].name, function->evidence);
	}
}

/* Prints, for each symbol, whether the error-site analysis agrees with it. */
static void print_comparison(FILE *out, const struct tls_offsets *symbols, const struct tls_offsets *analysed)
{
	const struct tls_function *expected, *actual;
	size_t i;

	fprintf(out, "error sites compared with symbols:\n");
	for (i = 0; i < TLS_ROLE_COUNT; i++) {
		expected = tls_role_function_const(symbols, i);
		actual = tls_role_function_const(analysed, i);
		if (!expected->vaddr)
			fprintf(out, "  %-12s no symbol to compare with\n", tls_roles[i].name);
		else if (expected->vaddr == actual->vaddr)
			fprintf(out, "  %-12s agrees (0x%" PRIx64 ")\n", tls_roles[i].name, actual->vaddr);
		else
			fprintf(out, "  %-12s DIFFERS: symbol 0x%" PRIx64 ", error sites 0x%" PRIx64 "\n",
				tls_roles[i].name, expected->vaddr, actual->vaddr);
	}
}

int boringssl_describe(FILE *out, const char *path, bool ignore_symbols)
{
	struct tls_offsets symbols, analysed;
	struct boringssl_analysis analysis;
	struct timespec began, ended;
	struct elf_image image;
	char reason[512];
	bool have_symbols;
	int err, result;

	fprintf(out, "file: %s\n", path);
	err = elf_image_open(&image, path, reason, sizeof(reason));
	if (err) {
		fprintf(out, "error: %s\n", reason);
		return err;
	}
	fprintf(out, "size: %zu bytes, build-id: %s\n", image.size,
		image.build_id[0] ? image.build_id : "none");

	reset_offsets(&symbols, &image);
	have_symbols = !ignore_symbols && find_by_symbols(&image, &symbols) == 0;
	if (ignore_symbols)
		fprintf(out, "symbols: ignored\n");
	else
		fprintf(out, "symbols: %s\n", have_symbols ? "SSL_write and SSL_read exported" :
							     "SSL_write or SSL_read missing");

	clock_gettime(CLOCK_MONOTONIC, &began);
	result = find_in_image(&image, true, &analysed, &analysis, reason, sizeof(reason));
	clock_gettime(CLOCK_MONOTONIC, &ended);
	if (analysis.scan.count)
		print_sites(out, &image, &analysis, &analysed);
	fprintf(out, "error-site analysis took %.3f s\n",
		(ended.tv_sec - began.tv_sec) + (ended.tv_nsec - began.tv_nsec) / 1e9);

	if (have_symbols) {
		print_result(out, &symbols);
		print_comparison(out, &symbols, &analysed);
		result = 0;
	} else {
		print_result(out, &analysed);
		if (result)
			fprintf(out, "not found: %s\n", reason);
	}

	analysis_free(&analysis);
	elf_image_close(&image);
	return result;
}

/*
 * The BoringSSL offset finder on Debian's Chromium, a 300 MB stripped
 * executable: the functions are found, the result for the build checked by
 * hand matches, also with uprobes attached at those functions, and the
 * second lookup comes from the cache. Skipped when
 * /usr/lib/chromium/chromium is not installed.
 *
 * The first scan of Chromium 156 took 0.2 to 0.6 s on a 2-vCPU VM
 * (docs/BORINGSSL.md has the measurements), which is why these tests live
 * apart from test_boringssl.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <linux/perf_event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture/boringssl.h"
#include "uprobe.h"

#define CHROMIUM "/usr/lib/chromium/chromium"

/* Debian's chromium 156.0.8078.114-1~deb12u1. The addresses were checked
 * by disassembly: SSL_write, SSL_read, SSL_peek and ssl_read_impl have the
 * structure of BoringSSL's ssl/ssl_lib.cc, and SSL_free is the NULL check,
 * ssl_st destructor call and OPENSSL_free tail call that SSL_new inlines. */
#define CHECKED_BUILD_ID "fedd2dee222a71e0243fa57139a185a5db6d1b44"
#define CHECKED_SSL_WRITE 0x9dac690
#define CHECKED_SSL_READ 0x9dac260
#define CHECKED_SSL_FREE 0x9dabaf0
#define CHECKED_SSL_SHUTDOWN 0x9dac800

static char directory[64];
static char reason[512];

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
	return remove(path);
}

static int create_directory(void **state)
{
	strcpy(directory, "/tmp/test_boringssl_chromium.XXXXXX");
	return mkdtemp(directory) ? 0 : -1;
}

static int remove_directory(void **state)
{
	return nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void assert_offset_matches_vaddr(const struct tls_function *function)
{
	/* In Chromium's executable segment, file offset = vaddr - 0x1000. */
	assert_int_not_equal(function->vaddr, 0);
	assert_int_equal(function->offset + 0x1000, function->vaddr);
}

static void test_chromium_found(void **state)
{
	struct tls_offsets offsets;
	struct timespec start;

	if (access(CHROMIUM, R_OK) != 0)
		skip();

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (boringssl_find_offsets(CHROMIUM, false, &offsets, reason, sizeof(reason)) != 0)
		fail_msg("%s", reason);
	print_message("scan of %s: %.3f s\n", CHROMIUM, seconds_since(&start));

	assert_string_equal(offsets.method, "error sites");
	if (!offsets.ssl_free.offset || !offsets.ssl_shutdown.offset)
		fail_msg("build-id %s: SSL_free: %s; SSL_shutdown: %s", offsets.build_id, offsets.ssl_free.evidence,
			 offsets.ssl_shutdown.evidence);
	assert_int_not_equal(offsets.ssl_write.offset, 0);
	assert_int_not_equal(offsets.ssl_read.offset, 0);
	assert_int_not_equal(offsets.ssl_free.offset, 0);
	assert_int_not_equal(offsets.ssl_shutdown.offset, 0);
	assert_int_not_equal(offsets.ssl_write.offset, offsets.ssl_read.offset);

	if (strcmp(offsets.build_id, CHECKED_BUILD_ID) != 0)
		return; /* another build: only "found" can be checked */
	assert_int_equal(offsets.ssl_write.vaddr, CHECKED_SSL_WRITE);
	assert_int_equal(offsets.ssl_read.vaddr, CHECKED_SSL_READ);
	assert_int_equal(offsets.ssl_free.vaddr, CHECKED_SSL_FREE);
	assert_int_equal(offsets.ssl_shutdown.vaddr, CHECKED_SSL_SHUTDOWN);
	assert_offset_matches_vaddr(&offsets.ssl_write);
	assert_offset_matches_vaddr(&offsets.ssl_read);
	assert_offset_matches_vaddr(&offsets.ssl_free);
	assert_offset_matches_vaddr(&offsets.ssl_shutdown);
}

/* The int3 of a uprobe shows in every private mapping of the file made
 * while the probe is registered. Through such a mapping, with an agent
 * attached to Chromium, the finder placed SSL_write and SSL_read a byte
 * late and missed SSL_free. The probes here are for this process only,
 * so Chromium processes running elsewhere get no int3 from them. Needs
 * CAP_PERFMON or root. */
static void test_chromium_with_uprobes_attached(void **state)
{
	static const uint64_t checked[] = { CHECKED_SSL_WRITE, CHECKED_SSL_READ, CHECKED_SSL_FREE,
					    CHECKED_SSL_SHUTDOWN };
	struct tls_offsets offsets;
	int probes[4];
	size_t i;

	if (access(CHROMIUM, R_OK) != 0)
		skip();
	if (boringssl_find_offsets(CHROMIUM, false, &offsets, reason, sizeof(reason)) != 0)
		fail_msg("%s", reason);
	if (strcmp(offsets.build_id, CHECKED_BUILD_ID) != 0)
		skip(); /* the probe offsets are known for the checked build only */

	for (i = 0; i < 4; i++) {
		probes[i] = open_uprobe(CHROMIUM, checked[i] - 0x1000); /* file offset, as above */
		if (probes[i] < 0) {
			print_message("uprobe at 0x%llx: %s\n", (unsigned long long)checked[i], strerror(errno));
			while (i-- > 0)
				close(probes[i]);
			skip();
		}
	}

	if (boringssl_find_offsets(CHROMIUM, false, &offsets, reason, sizeof(reason)) != 0)
		fail_msg("%s", reason);
	assert_int_equal(offsets.ssl_write.vaddr, CHECKED_SSL_WRITE);
	assert_int_equal(offsets.ssl_read.vaddr, CHECKED_SSL_READ);
	assert_int_equal(offsets.ssl_free.vaddr, CHECKED_SSL_FREE);
	assert_int_equal(offsets.ssl_shutdown.vaddr, CHECKED_SSL_SHUTDOWN);

	for (i = 0; i < 4; i++)
		close(probes[i]);
}

static void test_chromium_cached(void **state)
{
	struct tls_offsets scanned, cached;
	struct timespec start;
	double scan_seconds, lookup_seconds;
	char *cache_dir = NULL;

	if (access(CHROMIUM, R_OK) != 0)
		skip();
	assert_true(asprintf(&cache_dir, "%s/offsets", directory) > 0);

	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(boringssl_find_offsets_cached(CHROMIUM, cache_dir, false, &scanned, reason,
						       sizeof(reason)),
			 0);
	scan_seconds = seconds_since(&start);

	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(boringssl_find_offsets_cached(CHROMIUM, cache_dir, false, &cached, reason,
						       sizeof(reason)),
			 0);
	lookup_seconds = seconds_since(&start);
	print_message("first scan %.3f s, cached lookup %.6f s\n", scan_seconds, lookup_seconds);

	assert_int_equal(cached.ssl_write.offset, scanned.ssl_write.offset);
	assert_int_equal(cached.ssl_read.offset, scanned.ssl_read.offset);
	assert_int_equal(cached.ssl_free.offset, scanned.ssl_free.offset);
	assert_int_equal(cached.ssl_shutdown.offset, scanned.ssl_shutdown.offset);
	assert_string_equal(cached.ssl_write.evidence, scanned.ssl_write.evidence);
	assert_string_equal(cached.build_id, scanned.build_id);
	/* Reading the cache maps the file for its build-id only. */
	assert_true(lookup_seconds < scan_seconds);
	free(cache_dir);
}

static void test_chromium_describe(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	if (access(CHROMIUM, R_OK) != 0)
		skip();

	out = open_memstream(&text, &size);
	assert_non_null(out);
	assert_int_equal(boringssl_describe(out, CHROMIUM, false), 0);
	fclose(out);
	assert_non_null(strstr(text, "symbols: SSL_write or SSL_read missing"));
	assert_non_null(strstr(text, "result by error sites:"));
	assert_non_null(strstr(text, "= SSL_write: "));
	assert_non_null(strstr(text, "= SSL_read: "));
	assert_null(strstr(text, "not found"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chromium_found),
		cmocka_unit_test(test_chromium_with_uprobes_attached),
		cmocka_unit_test(test_chromium_cached),
		cmocka_unit_test(test_chromium_describe),
	};

	return cmocka_run_group_tests(tests, create_directory, remove_directory);
}

/*
 * Times the BoringSSL offset finder on one binary: a scan with the file's
 * pages evicted from the page cache (cold), scans with them cached (warm),
 * and lookups from the build-id cache. tools/bench/boringssl_timing.sh
 * builds and runs it; docs/BORINGSSL.md quotes its output.
 *
 *   boringssl_timing BINARY CACHE_DIR ROUNDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/boringssl.h"

static double now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec + now.tv_nsec / 1e9;
}

/* Drops the file's clean pages from the page cache, unless a running
 * process maps them. */
static int evict(const char *path)
{
	int fd = open(path, O_RDONLY), err;

	if (fd < 0)
		return -errno;
	err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return -err;
}

static int compare_doubles(const void *a, const void *b)
{
	double left = *(const double *)a, right = *(const double *)b;

	return (left > right) - (left < right);
}

static double median(double *values, int count)
{
	qsort(values, count, sizeof(*values), compare_doubles);
	return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* Runs one finder call and returns its duration in seconds, or a negative
 * number if it failed. */
static double time_call(const char *path, const char *cache_dir)
{
	struct tls_offsets offsets;
	char reason[512];
	double start = now_seconds();
	int err;

	if (cache_dir)
		err = boringssl_find_offsets_cached(path, cache_dir, false, &offsets, reason, sizeof(reason));
	else
		err = boringssl_find_offsets(path, false, &offsets, reason, sizeof(reason));
	if (err) {
		fprintf(stderr, "boringssl_timing: %s: %s\n", path, reason);
		return -1;
	}
	return now_seconds() - start;
}

int main(int argc, char **argv)
{
	const char *path, *cache_dir;
	double cold, *warm, *cached;
	int rounds, i, err;

	if (argc != 4 || atoi(argv[3]) < 1) {
		fprintf(stderr, "usage: boringssl_timing BINARY CACHE_DIR ROUNDS\n");
		return 2;
	}
	path = argv[1];
	cache_dir = argv[2];
	rounds = atoi(argv[3]);
	warm = calloc(rounds, sizeof(*warm));
	cached = calloc(rounds, sizeof(*cached));
	if (!warm || !cached)
		return 1;

	err = evict(path);
	if (err)
		fprintf(stderr, "boringssl_timing: cannot evict %s from the page cache: %s\n", path,
			strerror(-err));
	cold = time_call(path, NULL);
	for (i = 0; i < rounds; i++)
		warm[i] = time_call(path, NULL);

	/* The first cached call scans and stores; the rest read the entry. */
	if (time_call(path, cache_dir) < 0)
		return 1;
	for (i = 0; i < rounds; i++)
		cached[i] = time_call(path, cache_dir);

	for (i = 0; i < rounds; i++) {
		if (warm[i] < 0 || cached[i] < 0 || cold < 0)
			return 1;
	}
	printf("binary: %s\n", path);
	printf("first scan, file not in the page cache: %.3f s\n", cold);
	printf("scan, file in the page cache (median of %d): %.3f s\n", rounds, median(warm, rounds));
	printf("lookup from the build-id cache (median of %d): %.3f ms\n", rounds,
	       median(cached, rounds) * 1e3);
	free(warm);
	free(cached);
	return 0;
}

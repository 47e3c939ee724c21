/*
 * Benchmark of the network filter engine on a request corpus.
 *
 *   abp_match --requests FILE.json --list A.txt [--list B.txt ...] [--repeat N] --decisions OUT.jsonl
 *
 * FILE.json is an array of {"url", "sourceUrl", "type"} objects (the
 * format of abp-matching-requests.json). Third party is decided from the
 * registrable domains of the two URLs with libpsl, and an unknown page
 * ("http://") leaves the party unknown (filter_request_from_urls()).
 *
 * Loads the lists (timed as load_ms, and RSS measured right after), then
 * reads the requests and decides every one in file order, N times over
 * (default 1), timing each filter_engine_match() call with
 * CLOCK_MONOTONIC. Writes the first pass's decisions to OUT.jsonl,
 * one line per request:
 *   {"i":0,"blocked":true,"filter":"||example.com^","exception":null}
 * and prints one JSON summary on stdout:
 *   {"engine":"plainsight","requests":N,"load_ms":..,"median_ns":..,"p99_ns":..,"mean_ns":..,
 *    "rss_bytes_after_load":..,"rss_bytes_peak":..,"filters":{...}}
 * RSS values come from VmRSS and VmHWM in /proc/self/status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/log.h"
#include "filters/filters.h"

#define LISTS_MAX 16

struct options {
	const char *requests;
	const char *lists[LISTS_MAX];
	size_t list_count;
	const char *decisions;
	long repeat;
};

static void usage(const char *program)
{
	fprintf(stderr,
		"usage: %s --requests FILE.json --list LIST.txt [--list LIST.txt ...] [--repeat N] "
		"--decisions OUT.jsonl\n"
		"  --requests   JSON array of {url, sourceUrl, type} requests\n"
		"  --list       filter list to load, up to %d times\n"
		"  --repeat     passes over the requests, timed (default 1)\n"
		"  --decisions  where to write the first pass's decisions, one JSON line per request\n",
		program, LISTS_MAX);
}

static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{ "requests", required_argument, NULL, 'r' }, { "list", required_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'n' },   { "decisions", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
	};
	int option;

	memset(options, 0, sizeof(*options));
	options->repeat = 1;
	while ((option = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		char *end;

		switch (option) {
		case 'r':
			options->requests = optarg;
			break;
		case 'l':
			if (options->list_count == LISTS_MAX) {
				fprintf(stderr, "abp_match: at most %d --list options\n", LISTS_MAX);
				return -1;
			}
			options->lists[options->list_count++] = optarg;
			break;
		case 'n':
			options->repeat = strtol(optarg, &end, 10);
			if (*end || options->repeat < 1 || options->repeat > 1000) {
				fprintf(stderr, "abp_match: invalid --repeat %s: expected 1 to 1000\n",
					optarg);
				return -1;
			}
			break;
		case 'd':
			options->decisions = optarg;
			break;
		default:
			return -1;
		}
	}
	if (!options->requests || !options->decisions || options->list_count == 0 || optind != argc)
		return -1;
	return 0;
}

static char *read_file(const char *path)
{
	FILE *file = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!file)
		return NULL;
	if (fseek(file, 0, SEEK_END) == 0 && (size = ftell(file)) >= 0 && fseek(file, 0, SEEK_SET) == 0) {
		text = malloc((size_t)size + 1);
		if (text && fread(text, 1, (size_t)size, file) == (size_t)size) {
			text[size] = '\0';
		} else {
			free(text);
			text = NULL;
		}
	}
	fclose(file);
	return text;
}

static const char *string_field(const cJSON *object, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

/* Builds every request before timing starts. A URL without a host is
 * still matched: "|https://" filters can match it. */
static struct filter_url_request *build_requests(const cJSON *root, size_t *count)
{
	struct filter_url_request *requests;
	const cJSON *entry;
	size_t i = 0;

	*count = (size_t)cJSON_GetArraySize(root);
	requests = calloc(*count ? *count : 1, sizeof(*requests));
	if (!requests)
		return NULL;
	cJSON_ArrayForEach(entry, root) {
		filter_request_from_urls(&requests[i], string_field(entry, "url"),
					 string_field(entry, "sourceUrl"), string_field(entry, "type"));
		i++;
	}
	return requests;
}

static uint64_t now_ns(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (uint64_t)time.tv_sec * 1000000000u + (uint64_t)time.tv_nsec;
}

/* Reads a "Name:   123 kB" line of /proc/self/status, in bytes; 0 when
 * missing. */
static size_t status_bytes(const char *name)
{
	FILE *file = fopen("/proc/self/status", "r");
	size_t length = strlen(name);
	char line[256];
	size_t kilobytes = 0;

	if (!file)
		return 0;
	while (fgets(line, sizeof(line), file)) {
		if (strncmp(line, name, length) == 0 && line[length] == ':') {
			kilobytes = strtoull(line + length + 1, NULL, 10);
			break;
		}
	}
	fclose(file);
	return kilobytes * 1024;
}

static void write_json_string(FILE *out, const char *text)
{
	if (!text) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static void write_decision(FILE *out, size_t index, const struct filter_decision *decision)
{
	fprintf(out, "{\"i\":%zu,\"blocked\":%s,\"filter\":", index, decision->blocked ? "true" : "false");
	write_json_string(out, decision->filter);
	fputs(",\"exception\":", out);
	write_json_string(out, decision->exception);
	fputs("}\n", out);
}

static int compare_durations(const void *a, const void *b)
{
	uint64_t left = *(const uint64_t *)a;
	uint64_t right = *(const uint64_t *)b;

	return (left > right) - (left < right);
}

/* Runs every pass; writes the first one's decisions. Returns 0 or -EIO. */
static int run_passes(const struct filter_engine *engine, const struct filter_url_request *requests,
		      size_t count, long repeat, FILE *decisions, uint64_t *durations)
{
	for (long pass = 0; pass < repeat; pass++) {
		for (size_t i = 0; i < count; i++) {
			struct filter_decision decision;
			uint64_t start = now_ns();

			filter_engine_match(engine, &requests[i].request, &decision);
			durations[(size_t)pass * count + i] = now_ns() - start;
			if (pass == 0)
				write_decision(decisions, i, &decision);
		}
	}
	return ferror(decisions) ? -EIO : 0;
}

static void print_summary(size_t count, double load_ms, uint64_t *durations, size_t timed,
			  size_t rss_after_load, const struct filter_stats *stats)
{
	double total_ns = 0;

	for (size_t i = 0; i < timed; i++)
		total_ns += (double)durations[i];
	qsort(durations, timed, sizeof(*durations), compare_durations);

	printf("{\"engine\":\"plainsight\",\"requests\":%zu,\"load_ms\":%.3f,\"median_ns\":%llu,\"p99_ns\":%"
	       "llu,"
	       "\"mean_ns\":%.1f,\"rss_bytes_after_load\":%zu,\"rss_bytes_peak\":%zu,",
	       count, load_ms, timed ? (unsigned long long)durations[timed / 2] : 0ull,
	       timed ? (unsigned long long)durations[(size_t)((double)(timed - 1) * 0.99)] : 0ull,
	       timed ? total_ns / (double)timed : 0.0, rss_after_load, status_bytes("VmHWM"));
	printf("\"filters\":{\"loaded\":%zu,\"exceptions\":%zu,\"important\":%zu,\"regex\":%zu,\"unindexed\":"
	       "%zu,"
	       "\"cosmetic_skipped\":%zu,\"comments\":%zu,\"unsupported\":%zu,\"invalid\":%zu}}\n",
	       stats->loaded, stats->exceptions, stats->important, stats->regex, stats->unindexed,
	       stats->cosmetic_skipped, stats->comments, stats->unsupported, stats->invalid);
}

int main(int argc, char **argv)
{
	struct filter_url_request *requests = NULL;
	struct filter_engine *engine = NULL;
	struct filter_stats stats;
	struct options options;
	uint64_t *durations = NULL;
	FILE *decisions = NULL;
	cJSON *root = NULL;
	size_t rss_after_load;
	size_t count = 0;
	uint64_t start;
	double load_ms;
	char *text;
	int status = 1;

	if (parse_options(argc, argv, &options) < 0) {
		usage(argv[0]);
		return 2;
	}
	log_set_level(LOG_LEVEL_WARN);

	/* Lists first, so that the RSS after loading them has no requests in
	 * it. */
	if (filter_engine_new(&engine) < 0) {
		fprintf(stderr, "abp_match: out of memory\n");
		goto cleanup;
	}
	start = now_ns();
	for (size_t i = 0; i < options.list_count; i++) {
		if (filter_engine_load_file(engine, options.lists[i]) < 0) {
			fprintf(stderr, "abp_match: cannot load filter list %s\n", options.lists[i]);
			goto cleanup;
		}
	}
	load_ms = (double)(now_ns() - start) / 1e6;
	rss_after_load = status_bytes("VmRSS");
	filter_engine_stats(engine, &stats);

	text = read_file(options.requests);
	root = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!cJSON_IsArray(root)) {
		fprintf(stderr, "abp_match: %s: cannot read a JSON array of requests\n", options.requests);
		goto cleanup;
	}
	requests = build_requests(root, &count);
	durations = calloc(count * (size_t)options.repeat + 1, sizeof(*durations));
	if (!requests || !durations) {
		fprintf(stderr, "abp_match: out of memory\n");
		goto cleanup;
	}

	decisions = fopen(options.decisions, "w");
	if (!decisions) {
		fprintf(stderr, "abp_match: cannot create %s: %s\n", options.decisions, strerror(errno));
		goto cleanup;
	}
	if (run_passes(engine, requests, count, options.repeat, decisions, durations) < 0 ||
	    fclose(decisions) != 0) {
		decisions = NULL;
		fprintf(stderr, "abp_match: cannot write %s\n", options.decisions);
		goto cleanup;
	}
	decisions = NULL;

	print_summary(count, load_ms, durations, count * (size_t)options.repeat, rss_after_load, &stats);
	status = 0;

cleanup:
	if (decisions)
		fclose(decisions);
	filter_engine_free(engine);
	free(durations);
	free(requests);
	cJSON_Delete(root);
	return status;
}

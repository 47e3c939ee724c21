/*
 * Benchmark of the network filter engine on a request corpus.
 *
 *   abp_match --requests FILE.json --list A.txt [--list B.txt ...] [--repeat N]
 *             [--unknown-page either|first-party] --decisions OUT.jsonl
 *
 * FILE.json is an array of {"url", "sourceUrl", "type"} objects (the
 * format of abp-matching-requests.json). Third party is decided from the
 * registrable domains of the two URLs with libpsl. A page URL without a
 * host ("http://", "about:blank") leaves the party unknown by default
 * (filter_request_from_urls()), so that $third-party and $~third-party
 * filters both apply, as the corpus of adblock-rust expects. With
 * --unknown-page first-party such a request is first party instead, as
 * @ghostery/adblocker 2.18 treats it.
 *
 * Loads the lists (timed as load_ms, and RSS measured right after), then
 * reads the requests and decides every one in file order. The first pass
 * is an untimed warm-up, which also writes the decisions. N more passes
 * (default 1) time each filter_engine_match() call with CLOCK_MONOTONIC.
 * Each request is built with filter_request_from_urls(), untimed, right
 * before it is matched, as the ghostery driver builds its Request object.
 * The request's URL is then in the CPU caches for both engines, as it is
 * when the agent has just parsed it. Writes the
 * decisions to OUT.jsonl, one line per request:
 *   {"i":0,"blocked":true,"filter":"||example.com^","exception":null}
 * and prints one JSON summary on stdout:
 *   {"engine":"plainsight","requests":N,"load_ms":..,"median_ns":..,"p99_ns":..,"mean_ns":..,
 *    "warmup_passes":1,"unknown_page":"either","rss_bytes_after_load":..,"rss_bytes_peak":..,
 *    "filters":{...}}
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
/* Untimed passes before the timed ones, as the ghostery driver makes one:
 * both engines then start timing with their code and data in use. */
#define WARMUP_PASSES 1

/* Party of a request whose page URL has no host. */
enum unknown_page {
	UNKNOWN_PAGE_EITHER,       /* party unknown: $third-party and $~third-party both apply */
	UNKNOWN_PAGE_FIRST_PARTY,  /* first party, as @ghostery/adblocker decides */
};

struct options {
	const char *requests;
	const char *lists[LISTS_MAX];
	size_t list_count;
	const char *decisions;
	long repeat;
	enum unknown_page unknown_page;
};

static void usage(const char *program)
{
	fprintf(stderr,
		"usage: %s --requests FILE.json --list LIST.txt [--list LIST.txt ...] [--repeat N]\n"
		"       [--unknown-page either|first-party] --decisions OUT.jsonl\n"
		"  --requests      JSON array of {url, sourceUrl, type} requests\n"
		"  --list          filter list to load, up to %d times\n"
		"  --repeat        timed passes over the requests, after one untimed pass (default 1)\n"
		"  --unknown-page  party of a request whose page URL has no host: either (default; both\n"
		"                  $third-party and $~third-party filters apply) or first-party\n"
		"  --decisions     where to write the decisions, one JSON line per request\n",
		program, LISTS_MAX);
}

static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{ "requests", required_argument, NULL, 'r' },
		{ "list", required_argument, NULL, 'l' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "unknown-page", required_argument, NULL, 'u' },
		{ "decisions", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
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
		case 'u':
			if (strcmp(optarg, "either") == 0) {
				options->unknown_page = UNKNOWN_PAGE_EITHER;
			} else if (strcmp(optarg, "first-party") == 0) {
				options->unknown_page = UNKNOWN_PAGE_FIRST_PARTY;
			} else {
				fprintf(stderr, "abp_match: invalid --unknown-page %s: expected %s\n", optarg,
					"either or first-party");
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

/* A request as the corpus gives it. */
struct request_input {
	const char *url;
	const char *source_url;
	const char *type;
};

/* Collects the requests' fields, in file order. */
static struct request_input *read_inputs(const cJSON *root, size_t *count)
{
	struct request_input *inputs;
	const cJSON *entry;
	size_t i = 0;

	*count = (size_t)cJSON_GetArraySize(root);
	inputs = calloc(*count ? *count : 1, sizeof(*inputs));
	if (!inputs)
		return NULL;
	cJSON_ArrayForEach(entry, root) {
		inputs[i++] = (struct request_input){ string_field(entry, "url"),
						      string_field(entry, "sourceUrl"),
						      string_field(entry, "type") };
	}
	return inputs;
}

/* Builds one request. A URL without a host is still matched: "|https://"
 * filters can match it. */
static void build_request(struct filter_url_request *request, const struct request_input *input,
			  enum unknown_page unknown_page)
{
	filter_request_from_urls(request, input->url, input->source_url, input->type);
	if (unknown_page == UNKNOWN_PAGE_FIRST_PARTY && !request->request.party_known) {
		request->request.party_known = true;
		request->request.third_party = false;
	}
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

/* Runs the untimed passes, which write the decisions, then the timed
 * ones. Returns 0 or -EIO. */
static int run_passes(const struct filter_engine *engine, const struct request_input *inputs, size_t count,
		      const struct options *options, FILE *decisions, uint64_t *durations)
{
	for (int pass = 0; pass < WARMUP_PASSES; pass++) {
		for (size_t i = 0; i < count; i++) {
			struct filter_url_request request;
			struct filter_decision decision;

			build_request(&request, &inputs[i], options->unknown_page);
			filter_engine_match(engine, &request.request, &decision);
			if (pass == 0)
				write_decision(decisions, i, &decision);
		}
	}
	for (long pass = 0; pass < options->repeat; pass++) {
		for (size_t i = 0; i < count; i++) {
			struct filter_url_request request;
			struct filter_decision decision;
			uint64_t start;

			build_request(&request, &inputs[i], options->unknown_page);
			start = now_ns();
			filter_engine_match(engine, &request.request, &decision);
			durations[(size_t)pass * count + i] = now_ns() - start;
		}
	}
	return ferror(decisions) ? -EIO : 0;
}

static void print_summary(size_t count, double load_ms, uint64_t *durations, size_t timed,
			  enum unknown_page unknown_page, size_t rss_after_load,
			  const struct filter_stats *stats)
{
	double total_ns = 0;

	for (size_t i = 0; i < timed; i++)
		total_ns += (double)durations[i];
	qsort(durations, timed, sizeof(*durations), compare_durations);

	printf("{\"engine\":\"plainsight\",\"requests\":%zu,\"load_ms\":%.3f,\"median_ns\":%llu,\"p99_ns\":%"
	       "llu,"
	       "\"mean_ns\":%.1f,\"warmup_passes\":%d,\"unknown_page\":\"%s\",\"rss_bytes_after_load\":%zu,"
	       "\"rss_bytes_peak\":%zu,",
	       count, load_ms, timed ? (unsigned long long)durations[timed / 2] : 0ull,
	       timed ? (unsigned long long)durations[(size_t)((double)(timed - 1) * 0.99)] : 0ull,
	       timed ? total_ns / (double)timed : 0.0, WARMUP_PASSES,
	       unknown_page == UNKNOWN_PAGE_FIRST_PARTY ? "first-party" : "either", rss_after_load,
	       status_bytes("VmHWM"));
	printf("\"filters\":{\"loaded\":%zu,\"exceptions\":%zu,\"important\":%zu,\"regex\":%zu,\"unindexed\":"
	       "%zu,"
	       "\"cosmetic_skipped\":%zu,\"comments\":%zu,\"unsupported\":%zu,\"invalid\":%zu}}\n",
	       stats->loaded, stats->exceptions, stats->important, stats->regex, stats->unindexed,
	       stats->cosmetic_skipped, stats->comments, stats->unsupported, stats->invalid);
}

int main(int argc, char **argv)
{
	struct request_input *inputs = NULL;
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
	inputs = read_inputs(root, &count);
	durations = calloc(count * (size_t)options.repeat + 1, sizeof(*durations));
	if (!inputs || !durations) {
		fprintf(stderr, "abp_match: out of memory\n");
		goto cleanup;
	}

	decisions = fopen(options.decisions, "w");
	if (!decisions) {
		fprintf(stderr, "abp_match: cannot create %s: %s\n", options.decisions, strerror(errno));
		goto cleanup;
	}
	if (run_passes(engine, inputs, count, &options, decisions, durations) < 0 ||
	    fclose(decisions) != 0) {
		decisions = NULL;
		fprintf(stderr, "abp_match: cannot write %s\n", options.decisions);
		goto cleanup;
	}
	decisions = NULL;

	print_summary(count, load_ms, durations, count * (size_t)options.repeat, options.unknown_page,
		      rss_after_load, &stats);
	status = 0;

cleanup:
	if (decisions)
		fclose(decisions);
	filter_engine_free(engine);
	free(durations);
	free(inputs);
	cJSON_Delete(root);
	return status;
}

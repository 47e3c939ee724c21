/*
 * Conformance of the network filter engine with a corpus of 8,276 real
 * requests, each listing the EasyList-style filters that match it (the
 * matching-test-requests.json file of adblock-rust 0.13.3):
 *
 * - every blocking filter, loaded alone, blocks its request;
 * - every exception, loaded with the catch-all blocking filter "*",
 *   overrides it for its request;
 * - a request's filters loaded together leave it unblocked when one of
 *   them is an exception, unless a blocking filter is $important;
 * - with EasyPrivacy and EasyList loaded, the index gives the decisions of
 *   a scan of every filter, for every fourth request of the corpus.
 *
 * The corpus is read from $PLAINSIGHT_ABP_REQUESTS when it is set, else
 * from the first of default_paths that exists. The test fails when the file
 * is not found.
 *
 * Requests whose URL has no host ("http://", which the corpus has 54 times)
 * cannot be matched and are skipped, as adblock-rust's own test does. A
 * page URL without a host means the page is unknown: $third-party and
 * ~third-party do not restrict then (see struct filter_request).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/log.h"
#include "filters/filters.h"

#define FAILURES_SHOWN 20
#define EXCLUSIONS_SHOWN 5

static const char *const default_paths[] = {
	"../shared/data/abp-matching-requests.json",
	"/work/shared/data/abp-matching-requests.json",
};

struct corpus {
	cJSON *root;
	char path[4096];
};

/* Counters of one check over the corpus. */
struct tally {
	size_t checked;
	size_t failures;
	size_t excluded;    /* filters the engine drops on purpose */
	size_t no_host;     /* requests skipped: URL without a host */
};

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

static int load_corpus(void **state)
{
	static struct corpus corpus;
	const char *variable = getenv("PLAINSIGHT_ABP_REQUESTS");
	bool variable_set = variable && variable[0];
	char tried[8192] = "";
	char *text = NULL;

	/* A path given explicitly is the only one tried. */
	if (variable_set) {
		snprintf(corpus.path, sizeof(corpus.path), "%s", variable);
		text = read_file(corpus.path);
		snprintf(tried, sizeof(tried), "%s (PLAINSIGHT_ABP_REQUESTS)", variable);
	}
	for (size_t i = 0; !variable_set && !text && i < sizeof(default_paths) / sizeof(default_paths[0]);
	     i++) {
		snprintf(corpus.path, sizeof(corpus.path), "%s", default_paths[i]);
		text = read_file(corpus.path);
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", tried[0] ? ", " : "",
			 default_paths[i]);
	}
	if (!text) {
		fprintf(stderr,
			"abp-matching-requests.json not found; tried %s. Set PLAINSIGHT_ABP_REQUESTS to its "
			"path.\n",
			tried);
		return -1;
	}

	corpus.root = cJSON_Parse(text);
	free(text);
	if (!cJSON_IsArray(corpus.root)) {
		fprintf(stderr, "%s: not a JSON array of requests\n", corpus.path);
		return -1;
	}
	fprintf(stderr, "corpus: %s, %d requests\n", corpus.path, cJSON_GetArraySize(corpus.root));
	*state = &corpus;
	return 0;
}

static int free_corpus(void **state)
{
	struct corpus *corpus = *state;

	if (corpus)
		cJSON_Delete(corpus->root);
	return 0;
}

static const char *string_field(const cJSON *request, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(request, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool is_exception(const char *filter)
{
	return strncmp(filter, "@@", 2) == 0;
}

/* Whether the option list after the last "$" has the option name. */
static bool has_option(const char *filter, const char *name)
{
	const char *options = strrchr(filter, '$');
	size_t length = strlen(name);

	for (const char *at = options; at && *at; at = strchr(at, ',')) {
		at++;
		if (strncmp(at, name, length) == 0 && (at[length] == ',' || at[length] == '\0'))
			return true;
	}
	return false;
}

static void report_failure(struct tally *tally, const char *what, const char *filter, const cJSON *request,
			   const struct filter_decision *decision)
{
	if (tally->failures++ >= FAILURES_SHOWN)
		return;
	fprintf(stderr, "FAIL %s\n  filter    %s\n  url       %s\n  page      %s\n  type      %s\n", what,
		filter, string_field(request, "url"), string_field(request, "sourceUrl"),
		string_field(request, "type"));
	if (decision)
		fprintf(stderr, "  decision  matched=%d blocked=%d filter=%s exception=%s\n",
			decision->matched, decision->blocked, decision->filter ? decision->filter : "-",
			decision->exception ? decision->exception : "-");
}

static void note_exclusion(struct tally *tally, const char *filter)
{
	if (tally->excluded++ < EXCLUSIONS_SHOWN)
		fprintf(stderr, "  excluded (dropped on purpose by the engine): %s\n", filter);
}

/*
 * Builds the request of a corpus entry; false when its URL has no host.
 * The corpus's type "fetch" is the Chrome DevTools resource type, and the
 * corpus treats it as "other": it lists "$other" filters for such requests,
 * and "$~xmlhttprequest" ones. filter_type_from_name() maps "fetch" to
 * xmlhttprequest instead, as browser extensions see fetch() requests.
 */
static bool corpus_request(const cJSON *entry, struct filter_url_request *request, struct tally *tally)
{
	const char *type = string_field(entry, "type");

	if (filter_request_from_urls(request, string_field(entry, "url"), string_field(entry, "sourceUrl"),
				     type) != 0) {
		tally->no_host++;
		return false;
	}
	if (type && strcmp(type, "fetch") == 0)
		request->request.type = FILTER_TYPE_OTHER;
	return true;
}

static void check_blocking_filter(const cJSON *entry, const char *filter,
				  const struct filter_request *request, struct tally *tally)
{
	struct filter_engine *engine = NULL;
	struct filter_decision decision;
	int rc;

	assert_int_equal(filter_engine_new(&engine), 0);
	rc = filter_engine_add(engine, filter, strlen(filter), "corpus");
	if (rc == FILTER_DROPPED) {
		note_exclusion(tally, filter);
	} else if (rc != FILTER_ADDED) {
		report_failure(tally, "blocking filter not added", filter, entry, NULL);
	} else {
		tally->checked++;
		filter_engine_match(engine, request, &decision);
		if (!decision.blocked || !decision.filter || strcmp(decision.filter, filter) != 0)
			report_failure(tally, "blocking filter alone does not block", filter, entry,
				       &decision);

		/* Again through the token index instead of the linear scan. */
		assert_int_equal(filter_engine_build_index(engine), 0);
		filter_engine_match(engine, request, &decision);
		if (!decision.blocked)
			report_failure(tally, "indexed blocking filter does not block", filter, entry,
				       &decision);
	}
	filter_engine_free(engine);
}

static void print_tally(const char *check, const struct tally *tally)
{
	fprintf(stderr,
		"%s: %zu checked, %zu failures, %zu filter uses excluded because the engine drops their "
		"options on purpose (redirect= and the like), %zu requests skipped for a URL without a "
		"host\n",
		check, tally->checked, tally->failures, tally->excluded, tally->no_host);
}

static void test_blocking_filters_alone(void **state)
{
	struct corpus *corpus = *state;
	struct tally tally = { 0 };
	const cJSON *entry;

	cJSON_ArrayForEach(entry, corpus->root) {
		const cJSON *filter;
		struct filter_url_request request;

		if (!corpus_request(entry, &request, &tally))
			continue;
		cJSON_ArrayForEach(filter, cJSON_GetObjectItemCaseSensitive(entry, "filters")) {
			if (cJSON_IsString(filter) && !is_exception(filter->valuestring))
				check_blocking_filter(entry, filter->valuestring, &request.request, &tally);
		}
	}

	print_tally("blocking filters alone", &tally);
	assert_true(tally.checked > 6500);
	assert_true(tally.excluded < 50);
	assert_int_equal(tally.failures, 0);
}

static void check_exception_alone(const cJSON *entry, const char *exception,
				  const struct filter_request *request, struct tally *tally)
{
	static const char catch_all[] = "*";
	struct filter_engine *engine = NULL;
	struct filter_decision decision;
	int rc;

	assert_int_equal(filter_engine_new(&engine), 0);
	assert_int_equal(filter_engine_add(engine, catch_all, strlen(catch_all), "catch-all"), FILTER_ADDED);
	rc = filter_engine_add(engine, exception, strlen(exception), "corpus");
	if (rc == FILTER_DROPPED) {
		note_exclusion(tally, exception);
	} else if (rc != FILTER_ADDED) {
		report_failure(tally, "exception not added", exception, entry, NULL);
	} else {
		tally->checked++;
		filter_engine_match(engine, request, &decision);
		if (!decision.matched || decision.blocked || !decision.exception ||
		    strcmp(decision.exception, exception) != 0)
			report_failure(tally, "exception does not override \"*\"", exception, entry,
				       &decision);
	}
	filter_engine_free(engine);
}

static void test_exceptions_alone(void **state)
{
	struct corpus *corpus = *state;
	struct tally tally = { 0 };
	const cJSON *entry;

	cJSON_ArrayForEach(entry, corpus->root) {
		const cJSON *filter;
		struct filter_url_request request;

		if (!corpus_request(entry, &request, &tally))
			continue;
		cJSON_ArrayForEach(filter, cJSON_GetObjectItemCaseSensitive(entry, "filters")) {
			if (cJSON_IsString(filter) && is_exception(filter->valuestring))
				check_exception_alone(entry, filter->valuestring, &request.request, &tally);
		}
	}

	print_tally("exceptions alone", &tally);
	assert_true(tally.checked > 500);
	assert_int_equal(tally.failures, 0);
}

/* Loads all filters of an entry into engine. Sets *important when an
 * $important blocking filter was added, *exceptions to the number of
 * exceptions added, and *blocking to the number of blocking filters. */
static void load_entry_filters(struct filter_engine *engine, const cJSON *entry, struct tally *tally,
			       bool *important, size_t *exceptions, size_t *blocking)
{
	const cJSON *filter;

	*important = false;
	*exceptions = *blocking = 0;
	cJSON_ArrayForEach(filter, cJSON_GetObjectItemCaseSensitive(entry, "filters")) {
		const char *text = filter->valuestring;
		int rc;

		if (!cJSON_IsString(filter))
			continue;
		rc = filter_engine_add(engine, text, strlen(text), "corpus");
		if (rc == FILTER_DROPPED) {
			note_exclusion(tally, text);
			continue;
		}
		assert_int_equal(rc, FILTER_ADDED);
		if (is_exception(text)) {
			(*exceptions)++;
		} else {
			(*blocking)++;
			*important = *important || has_option(text, "important");
		}
	}
}

static void test_exceptions_win_together(void **state)
{
	struct corpus *corpus = *state;
	struct tally tally = { 0 };
	const cJSON *entry;

	cJSON_ArrayForEach(entry, corpus->root) {
		struct filter_url_request request;
		struct filter_engine *engine = NULL;
		struct filter_decision decision;
		size_t exceptions;
		size_t blocking;
		bool important;

		if (!corpus_request(entry, &request, &tally))
			continue;
		assert_int_equal(filter_engine_new(&engine), 0);
		load_entry_filters(engine, entry, &tally, &important, &exceptions, &blocking);
		assert_int_equal(filter_engine_build_index(engine), 0);
		if (exceptions > 0 && blocking > 0) {
			tally.checked++;
			filter_engine_match(engine, &request.request, &decision);
			if (important && !decision.blocked)
				report_failure(&tally, "$important filter overridden",
					       decision.filter ? decision.filter : "-", entry, &decision);
			if (!important && decision.blocked)
				report_failure(&tally, "exception does not win", decision.filter, entry,
					       &decision);
		}
		filter_engine_free(engine);
	}

	print_tally("exceptions with blocking filters", &tally);
	assert_true(tally.checked > 100);
	assert_int_equal(tally.failures, 0);
}

#define LISTS_DIRECTORY                                                                                   \
	"/usr/share/mozilla/extensions/{ec8030f7-c20a-464f-9b0e-13a3a9e97384}/uBlock0@raymondhill.net/" \
	"assets/thirdparties/easylist/"
#define SCAN_EVERY 4

/* Adds a list line by line, without building the index, so that matching
 * scans every filter. */
static void add_lines(struct filter_engine *engine, const char *path)
{
	FILE *file = fopen(path, "r");
	size_t capacity = 0;
	char *line = NULL;
	ssize_t length;

	if (!file)
		fail_msg("%s is missing: install the Debian package webext-ublock-origin-firefox", path);
	while ((length = getline(&line, &capacity, file)) >= 0)
		filter_engine_add(engine, line, (size_t)length, path);
	free(line);
	fclose(file);
}

static void compare_decisions(const cJSON *entry, const struct filter_request *request,
			      const struct filter_engine *scan, const struct filter_engine *indexed,
			      struct tally *tally)
{
	struct filter_decision expected;
	struct filter_decision decision;

	tally->checked++;
	filter_engine_match(scan, request, &expected);
	filter_engine_match(indexed, request, &decision);
	if (decision.matched != expected.matched || decision.blocked != expected.blocked ||
	    !decision.exception != !expected.exception)
		report_failure(tally, "index and scan differ; the scan found",
			       expected.filter ? expected.filter : "-", entry, &decision);
}

static void test_index_agrees_with_scan(void **state)
{
	static const char *const lists[] = { LISTS_DIRECTORY "easyprivacy.txt",
					     LISTS_DIRECTORY "easylist.txt" };
	struct corpus *corpus = *state;
	struct filter_engine *indexed = NULL;
	struct filter_engine *scan = NULL;
	struct tally tally = { 0 };
	const cJSON *entry;
	size_t index = 0;

	assert_int_equal(filter_engine_new(&scan), 0);
	assert_int_equal(filter_engine_new(&indexed), 0);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		add_lines(scan, lists[i]);
		assert_int_equal(filter_engine_load_file(indexed, lists[i]), 0);
	}

	cJSON_ArrayForEach(entry, corpus->root) {
		struct filter_url_request request;

		if (index++ % SCAN_EVERY != 0 || !corpus_request(entry, &request, &tally))
			continue;
		compare_decisions(entry, &request.request, scan, indexed, &tally);
		/* Once more as an image request and with the party flipped, so
		 * that more filters take part. */
		request.request.type = FILTER_TYPE_IMAGE;
		request.request.third_party = !request.request.third_party;
		compare_decisions(entry, &request.request, scan, indexed, &tally);
	}

	print_tally("index against scan", &tally);
	assert_true(tally.checked > 4000);
	assert_int_equal(tally.failures, 0);
	filter_engine_free(scan);
	filter_engine_free(indexed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_filters_alone),
		cmocka_unit_test(test_exceptions_alone),
		cmocka_unit_test(test_exceptions_win_together),
		cmocka_unit_test(test_index_agrees_with_scan),
	};

	/* Invalid filters would be logged; the checks report them instead. */
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, load_corpus, free_corpus);
}

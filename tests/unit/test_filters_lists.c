/*
 * The network filter engine on the real EasyPrivacy and EasyList, as the
 * Debian package webext-ublock-origin-firefox ships them: both load, their
 * counts are printed, and a few well-known requests get the expected
 * decision.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "filters/filters.h"

#define LISTS_DIRECTORY                                                                                   \
	"/usr/share/mozilla/extensions/{ec8030f7-c20a-464f-9b0e-13a3a9e97384}/uBlock0@raymondhill.net/" \
	"assets/thirdparties/easylist/"

static const char *const list_paths[] = {
	LISTS_DIRECTORY "easyprivacy.txt",
	LISTS_DIRECTORY "easylist.txt",
};

static int load_lists(void **state)
{
	struct filter_engine *engine = NULL;
	struct filter_stats stats;
	struct timespec start;
	struct timespec end;

	for (size_t i = 0; i < sizeof(list_paths) / sizeof(list_paths[0]); i++) {
		if (access(list_paths[i], R_OK) != 0) {
			fprintf(stderr,
				"%s is missing: install the Debian package webext-ublock-origin-firefox\n",
				list_paths[i]);
			return -1;
		}
	}

	if (filter_engine_new(&engine) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (size_t i = 0; i < sizeof(list_paths) / sizeof(list_paths[0]); i++) {
		if (filter_engine_load_file(engine, list_paths[i]) < 0) {
			filter_engine_free(engine);
			return -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);

	filter_engine_stats(engine, &stats);
	fprintf(stderr,
		"EasyPrivacy + EasyList: %zu network filters loaded (%zu exceptions, %zu important, %zu "
		"regular "
		"expressions, %zu unindexed), %zu cosmetic rules and %zu comments skipped, %zu dropped for "
		"options not implemented, %zu invalid, in %.1f ms\n",
		stats.loaded, stats.exceptions, stats.important, stats.regex, stats.unindexed,
		stats.cosmetic_skipped, stats.comments, stats.unsupported, stats.invalid,
		(double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6);
	*state = engine;
	return 0;
}

static int free_lists(void **state)
{
	filter_engine_free(*state);
	return 0;
}

static void test_lists_counts(void **state)
{
	struct filter_stats stats;

	filter_engine_stats(*state, &stats);
	/* EasyList and EasyPrivacy each have tens of thousands of network
	 * filters; every line of them is valid Adblock Plus syntax. */
	assert_true(stats.loaded > 50000);
	assert_true(stats.exceptions > 500);
	assert_true(stats.cosmetic_skipped > 10000);
	assert_true(stats.comments > 100);
	assert_int_equal(stats.invalid, 0);
	assert_true(stats.unsupported < 100);
	assert_true(stats.unindexed < 50);
}

struct known_request {
	const char *url;
	const char *page;
	const char *type;
	bool blocked;
	const char *filter_part;  /* text the reported filter contains, or NULL */
};

static void test_known_decisions(void **state)
{
	static const struct known_request requests[] = {
		{ "https://www.google-analytics.com/g/collect?v=2&tid=G-ABCDEF1234&cid=123.456&en=page_view",
		  "https://www.example.com/", "ping", true, "google-analytics" },
		{ "https://www.googletagmanager.com/gtag/js?id=G-ABCDEF1234", "https://www.example.com/",
		  "script", true,
		  "googletagmanager" },
		{ "https://connect.facebook.net/en_US/fbevents.js", "https://shop.example.org/", "script",
		  true,
		  "fbevents" },
		{ "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1",
		  "https://news.example.net/", "script", true, "googlesyndication" },
		{ "https://securepubads.g.doubleclick.net/tag/js/gpt.js", "https://news.example.net/",
		  "script", true,
		  "doubleclick" },
		{ "https://www.example.com/index.html", "https://www.example.com/", "document", false, NULL },
		{ "https://www.example.com/static/app.js", "https://www.example.com/", "script", false,
		  NULL },
		{ "https://upload.wikimedia.org/wikipedia/commons/a/a9/Example.jpg",
		  "https://en.wikipedia.org/",
		  "image", false, NULL },
		{ "https://fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2",
		  "https://www.example.com/",
		  "font", false, NULL },
	};

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		const struct known_request *known = &requests[i];
		struct filter_url_request request;
		struct filter_decision decision;

		assert_int_equal(filter_request_from_urls(&request, known->url, known->page, known->type), 0);
		filter_engine_match(*state, &request.request, &decision);
		fprintf(stderr, "%s %s (%s, page %s): %s%s%s\n", decision.blocked ? "blocked" : "allowed",
			known->url, known->type, known->page, decision.filter ? decision.filter : "no filter",
			decision.exception ? ", exception " : "",
			decision.exception ? decision.exception : "");
		if (decision.blocked != known->blocked)
			fail_msg("%s: blocked=%d, expected %d", known->url, decision.blocked, known->blocked);
		if (known->filter_part && !strstr(decision.filter, known->filter_part))
			fail_msg("%s: blocked by %s, expected a filter about %s", known->url, decision.filter,
				 known->filter_part);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_counts),
		cmocka_unit_test(test_known_decisions),
	};

	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, load_lists, free_lists);
}

/*
 * Unit tests of the network filter engine: one table of cases per syntax
 * feature, each with requests that must and must not be blocked, and the
 * handling of lines the engine skips, drops or rejects.
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

#include "common/log.h"
#include "filters/filters.h"

#define FILTERS_MAX 4

/* One request against a set of filters loaded together. */
struct match_case {
	const char *filters[FILTERS_MAX];
	const char *url;
	const char *page;       /* page URL, NULL when unknown */
	const char *type;       /* filter_type_from_name() name, NULL for "other" */
	bool blocked;
	const char *exception;  /* expected overriding exception, or NULL */
};

static struct filter_engine *engine_with(const char *const *filters)
{
	struct filter_engine *engine = NULL;

	assert_int_equal(filter_engine_new(&engine), 0);
	for (size_t i = 0; i < FILTERS_MAX && filters[i]; i++) {
		int rc = filter_engine_add(engine, filters[i], strlen(filters[i]), "test");

		if (rc != FILTER_ADDED)
			fail_msg("filter not added (%d): %s", rc, filters[i]);
	}
	return engine;
}

static void check_decision(const struct match_case *test, const struct filter_decision *decision,
			   bool indexed)
{
	const char *mode = indexed ? "indexed" : "linear";

	if (decision->blocked != test->blocked)
		fail_msg("%s: %s with %s (page %s, type %s): blocked=%d, expected %d", mode, test->url,
			 test->filters[0], test->page ? test->page : "-", test->type ? test->type : "other",
			 decision->blocked, test->blocked);
	if (test->exception && (!decision->exception || strcmp(decision->exception, test->exception) != 0))
		fail_msg("%s: %s: exception %s, expected %s", mode, test->url,
			 decision->exception ? decision->exception : "none", test->exception);
	if (decision->blocked && !decision->filter)
		fail_msg("%s: %s: blocked without a filter", mode, test->url);
}

/* Runs each case twice: with the filters scanned one by one, and through
 * the token index. */
static void run_cases(const struct match_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct match_case *test = &cases[i];
		struct filter_engine *engine = engine_with(test->filters);
		struct filter_url_request request;
		struct filter_decision decision;

		/* data: URLs have no host, and are matched all the same. */
		if (filter_request_from_urls(&request, test->url, test->page, test->type) != 0)
			assert_null(strstr(test->url, "://"));
		filter_engine_match(engine, &request.request, &decision);
		check_decision(test, &decision, false);

		assert_int_equal(filter_engine_build_index(engine), 0);
		filter_engine_match(engine, &request.request, &decision);
		check_decision(test, &decision, true);
		filter_engine_free(engine);
	}
}

#define RUN_CASES(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void test_host_anchor(void **state)
{
	static const struct match_case cases[] = {
		{ { "||ads.example.com^" }, "https://ads.example.com/a.js", NULL, "script", true, NULL },
		{ { "||ads.example.com^" }, "https://x.ads.example.com/", NULL, "script", true, NULL },
		{ { "||ads.example.com^" }, "http://ads.example.com:8080/", NULL, "script", true, NULL },
		{ { "||ads.example.com^" }, "https://ads.example.com", NULL, "script", true, NULL },
		{ { "||ads.example.com^" }, "https://badads.example.com/", NULL, "script", false, NULL },
		{ { "||ads.example.com^" }, "https://ads.example.com.evil.org/", NULL, "script", false,
		  NULL },
		{ { "||ads.example.com^" }, "https://site.org/?u=https://ads.example.com/", NULL, "script",
		  false, NULL },
		{ { "||example.com/ads/" }, "https://www.example.com/ads/1.png", NULL, "image", true, NULL },
		{ { "||example.com/ads/" }, "https://www.example.com/img/ads/1.png", NULL, "image", false,
		  NULL },
		/* Without "^" the host may go on: Adblock Plus semantics. */
		{ { "||example.co" }, "https://example.com/", NULL, "image", true, NULL },
		{ { "||google.*/ads/" }, "https://www.google.co.in/ads/", NULL, "image", true, NULL },
		{ { "||[::1]^" }, "http://[::1]:8080/x", NULL, "image", true, NULL },
		{ { "||10.0.0.1^" }, "http://10.0.0.1/x", NULL, "image", true, NULL },
		{ { "||10.0.0.1^" }, "http://110.0.0.1/x", NULL, "image", false, NULL },
		{ { "||example.com^" }, "data:text/html,example.com", NULL, "image", false, NULL },
	};

	RUN_CASES(cases);
}

/* "||host^" filters found through a host suffix: the first filter of a
 * bucket is checked from its record, the others from their entries. */
static void test_host_records(void **state)
{
	static const struct match_case cases[] = {
		{ { "||ads.example.com^" }, "https://ADS.Example.COM/x", NULL, "image", true, NULL },
		{ { "||ads.example.com^" }, "https://ads.example.com./x", NULL, "image", false, NULL },
		{ { "||a.b^" }, "http://a.b/x", NULL, "image", true, NULL },
		{ { "||a.b^" }, "http://a.b", NULL, "image", true, NULL },
		/* A bucket of several filters: the second one decides. */
		{ { "||ads.com^$script", "||ads.com^$image" }, "http://ads.com/x", NULL, "image", true,
		  NULL },
		{ { "||ads.com^$domain=a.com", "||ads.com^$third-party" }, "http://ads.com/x",
		  "https://b.com/", "image", true, NULL },
		{ { "||ads.com^$domain=a.com", "||ads.com^$third-party" }, "http://x.ads.com/x",
		  "https://www.ads.com/", "image", false, NULL },
		/* Longer than a record keeps: checked from the entry. */
		{ { "||a-host-name-of-more-than-forty-eight-bytes.tracking.example.com^" },
		  "https://cdn.a-host-name-of-more-than-forty-eight-bytes.tracking.example.com/t.gif", NULL,
		  "image", true, NULL },
		{ { "||a-host-name-of-more-than-forty-eight-bytes.tracking.example.com^" },
		  "https://a-host-name-of-more-than-forty-eight-bytes.tracking.example.community/", NULL,
		  "image", false, NULL },
		/* $match-case keeps no name in the record. */
		{ { "||Ads.Example.com^$match-case" }, "https://Ads.Example.com/", NULL, "image", true,
		  NULL },
		{ { "||Ads.Example.com^$match-case" }, "https://ads.example.com/", NULL, "image", false,
		  NULL },
		{ { "||tracker.example.com^" }, "https://user@tracker.example.com:8080/", NULL, "image", true,
		  NULL },
	};

	RUN_CASES(cases);
}

/* A pattern filed under a token is checked where the URL has that token:
 * once, twice, or more often. */
static void test_token_places(void **state)
{
	static const struct match_case cases[] = {
		{ { "/view.gif?" }, "https://a.com/view.gif?x", NULL, "image", true, NULL },
		{ { "/view.gif?" }, "https://a.com/view/x/view.gif?x", NULL, "image", true, NULL },
		{ { "/view.gif?" }, "https://view.com/view/view.gif?x", NULL, "image", true, NULL },
		{ { "/view.gif?" }, "https://a.com/view/x/view.gif", NULL, "image", false, NULL },
		{ { "/view/*.gif" }, "https://a.com/view.js/view/a.gif", NULL, "image", true, NULL },
		{ { "/view/*.gif" }, "https://a.com/view.js/view/a.png", NULL, "image", false, NULL },
		{ { "/view^" }, "https://a.com/view-x/view?y", NULL, "image", true, NULL },
		{ { "/view^" }, "https://a.com/view-x/viewer", NULL, "image", false, NULL },
		/* Tokens across the 64-byte words of the URL's bit masks. */
		{ { "/crossword^" }, "https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/crossword?x",
		  NULL, "image", true, NULL },
		{ { "/crossword^" },
		  "https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/crossword", NULL,
		  "image", true, NULL },
		{ { "|http://a.b/x" }, "http://a.b/x", NULL, "image", true, NULL },
		/* 64 bytes: the token "js" ends at the end of the first word. */
		{ { "/x.js|" }, "https://example.com/abcdefghijklmnopqrstuvwxyzabcdefghijklm/x.js", NULL,
		  "script", true, NULL },
	};

	RUN_CASES(cases);
}

/* A pattern without "*" filed under a token keeps its last 2 bytes in
 * its index entry, and a candidate whose URL lacks them there is skipped.
 * These cases match at the URL's end, with "^" inside the pattern, and in
 * the original case, and fail when the last bytes are cut off or differ. */
static void test_pattern_tails(void **state)
{
	static const struct match_case cases[] = {
		{ { "/banner/ad.js" }, "https://a.com/banner/ad.js", NULL, "script", true, NULL },
		{ { "/banner/ad.js" }, "https://a.com/banner/ad.j", NULL, "script", false, NULL },
		{ { "/banner/ad.js" }, "https://a.com/banner/ad.jx", NULL, "script", false, NULL },
		{ { "/banner/ad.js" }, "https://a.com/banner/banner/ad.js", NULL, "script", true, NULL },
		{ { "/banner^ad.js" }, "https://a.com/banner?ad.js", NULL, "script", true, NULL },
		{ { "/banner^ad.js" }, "https://a.com/banner?ad.jsx", NULL, "script", true, NULL },
		{ { "/banner^ad.js" }, "https://a.com/banner?ad.gs", NULL, "script", false, NULL },
		{ { "/banner/x^" }, "https://a.com/banner/x", NULL, "script", true, NULL },
		{ { "/banner/x^" }, "https://a.com/banner/xy", NULL, "script", false, NULL },
		{ { "/Banner/Ad.JS$match-case" }, "https://a.com/Banner/Ad.JS", NULL, "script", true, NULL },
		{ { "/Banner/Ad.JS$match-case" }, "https://a.com/Banner/Ad.js", NULL, "script", false, NULL },
		{ { "/banner/ad.js|" }, "https://a.com/banner/ad.js", NULL, "script", true, NULL },
		{ { "/banner/ad.js|" }, "https://a.com/banner/ad.js?x", NULL, "script", false, NULL },
	};

	RUN_CASES(cases);
}

static void test_start_and_end_anchors(void **state)
{
	static const struct match_case cases[] = {
		{ { "|https://ads." }, "https://ads.example.com/", NULL, "image", true, NULL },
		{ { "|https://ads." }, "http://x.com/?u=https://ads.example.com/", NULL, "image", false,
		  NULL },
		{ { "swf|" }, "http://x.com/movie.swf", NULL, "object", true, NULL },
		{ { "swf|" }, "http://x.com/movie.swf?v=1", NULL, "object", false, NULL },
		{ { "|http://x.com/|" }, "http://x.com/", NULL, "image", true, NULL },
		{ { "|http://x.com/|" }, "http://x.com/a", NULL, "image", false, NULL },
		{ { "|data:" }, "data:image/png;base64,AAAA", NULL, "image", true, NULL },
		{ { "|*ads" }, "http://x.com/ads", NULL, "image", true, NULL },
	};

	RUN_CASES(cases);
}

static void test_separator(void **state)
{
	static const struct match_case cases[] = {
		{ { "example.com^" }, "http://example.com/", NULL, "image", true, NULL },
		{ { "example.com^" }, "http://example.com", NULL, "image", true, NULL },
		{ { "example.com^" }, "http://example.com:8000/", NULL, "image", true, NULL },
		{ { "example.com^" }, "http://example.company/", NULL, "image", false, NULL },
		{ { "/ads^" }, "http://x.com/ads?id=1", NULL, "image", true, NULL },
		{ { "/ads^" }, "http://x.com/ads-1", NULL, "image", false, NULL },
		{ { "/ads^" }, "http://x.com/ads_1", NULL, "image", false, NULL },
		{ { "/ads^" }, "http://x.com/ads.gif", NULL, "image", false, NULL },
		{ { "/ads^" }, "http://x.com/ads%20", NULL, "image", false, NULL },
		{ { "^ad^" }, "http://x.com/ad/", NULL, "image", true, NULL },
		{ { "^ad^" }, "http://x.com/bad/", NULL, "image", false, NULL },
	};

	RUN_CASES(cases);
}

static void test_wildcard(void **state)
{
	static const struct match_case cases[] = {
		{ { "/banner/*/img^" }, "http://x.com/banner/foo/img?x", NULL, "image", true, NULL },
		{ { "/banner/*/img^" }, "http://x.com/banner/img", NULL, "image", false, NULL },
		{ { "/a*b*c" }, "http://x.com/a1b2c", NULL, "image", true, NULL },
		{ { "/a*b*c" }, "http://x.com/a1c2b", NULL, "image", false, NULL },
		{ { "ad*.js|" }, "http://x.com/ad/x/y.js", NULL, "script", true, NULL },
		{ { "ad*.js|" }, "http://x.com/ad/x/y.jsx", NULL, "script", false, NULL },
		{ { "*" }, "http://x.com/", NULL, "image", true, NULL },
	};

	RUN_CASES(cases);
}

static void test_case_sensitivity(void **state)
{
	static const struct match_case cases[] = {
		{ { "/AdBanner." }, "http://x.com/adbanner.gif", NULL, "image", true, NULL },
		{ { "/adbanner." }, "http://X.COM/ADBANNER.GIF", NULL, "image", true, NULL },
		{ { "/AdBanner.$match-case" }, "http://x.com/AdBanner.gif", NULL, "image", true, NULL },
		{ { "/AdBanner.$match-case" }, "http://x.com/adbanner.gif", NULL, "image", false, NULL },
		{ { "/Banner\\d+/$match-case" }, "http://x.com/banner1", NULL, "image", false, NULL },
	};

	RUN_CASES(cases);
}

static void test_exceptions(void **state)
{
	static const struct match_case cases[] = {
		{ { "||ads.com^", "@@||ads.com/good^" }, "http://ads.com/good", NULL, "image", false,
		  "@@||ads.com/good^" },
		{ { "||ads.com^", "@@||ads.com/good^" }, "http://ads.com/bad", NULL, "image", true, NULL },
		{ { "||ads.com^", "@@||ads.com^$script" }, "http://ads.com/x.js", NULL, "script", false,
		  "@@||ads.com^$script" },
		{ { "||ads.com^", "@@||ads.com^$script" }, "http://ads.com/x.png", NULL, "image", true,
		  NULL },
		{ { "@@||ads.com^" }, "http://ads.com/x.png", NULL, "image", false, NULL },
	};

	RUN_CASES(cases);
}

static void test_important(void **state)
{
	static const struct match_case cases[] = {
		{ { "||ads.com^$important", "@@||ads.com^" }, "http://ads.com/x", NULL, "image", true, NULL },
		{ { "||ads.com^", "@@||ads.com^$important" }, "http://ads.com/x", NULL, "image", false,
		  "@@||ads.com^$important" },
		{ { "/x$important,domain=a.com", "@@/x" }, "http://t.com/x", "https://a.com/", "image", true,
		  NULL },
		{ { "/x$important,domain=a.com", "@@/x", "/x" }, "http://t.com/x", "https://b.com/", "image",
		  false, "@@/x" },
	};

	RUN_CASES(cases);
}

static void test_regular_expressions(void **state)
{
	static const struct match_case cases[] = {
		{ { "/banner\\d+\\.gif/" }, "http://x.com/banner123.gif", NULL, "image", true, NULL },
		{ { "/banner\\d+\\.gif/" }, "http://x.com/banner.gif", NULL, "image", false, NULL },
		{ { "/\\.js$/" }, "http://x.com/a.js", NULL, "script", true, NULL },
		{ { "/\\.js$/" }, "http://x.com/a.js?v=1", NULL, "script", false, NULL },
		{ { "/^https?:\\/\\/[a-z]{8,}\\.xyz\\//$script,third-party" }, "https://abcdefghij.xyz/p.js",
		  "https://site.com/", "script", true, NULL },
		{ { "/^https?:\\/\\/[a-z]{8,}\\.xyz\\//$script,third-party" }, "https://abc.xyz/p.js",
		  "https://site.com/", "script", false, NULL },
		{ { "/^https?:\\/\\/[a-z]{8,}\\.xyz\\//$script,third-party" }, "https://abcdefghij.xyz/p.js",
		  "https://site.com/", "image", false, NULL },
		{ { "/ADS/" }, "http://x.com/ads/", NULL, "image", true, NULL },
		{ { "/ADS/$match-case" }, "http://x.com/ads/", NULL, "image", false, NULL },
		/* JavaScript's "[^]" matches any character. */
		{ { "/track[^]id/" }, "http://x.com/track-id", NULL, "image", true, NULL },
		/* Top-level alternation: no token can be trusted. */
		{ { "/\\/(adv|banner)\\.js/" }, "http://x.com/banner.js", NULL, "script", true, NULL },
		{ { "/foo\\/|\\/bar\\.js/" }, "http://x.com/bar.js", NULL, "script", true, NULL },
	};

	RUN_CASES(cases);
}

static void test_domain_option(void **state)
{
	static const struct match_case cases[] = {
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://a.com/", "image",
		  true, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://x.a.com/", "image",
		  true, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://b.a.com/", "image",
		  false, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://x.b.a.com/", "image",
		  false, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://other.com/", "image",
		  false, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", "https://aa.com/", "image",
		  false, NULL },
		{ { "||cdn.com^$domain=a.com|~b.a.com" }, "https://cdn.com/x", NULL, "image", false, NULL },
		{ { "||cdn.com^$domain=~a.com" }, "https://cdn.com/x", "https://other.com/", "image", true,
		  NULL },
		{ { "||cdn.com^$domain=~a.com" }, "https://cdn.com/x", "https://www.a.com/", "image", false,
		  NULL },
		{ { "||cdn.com^$domain=~a.com" }, "https://cdn.com/x", NULL, "image", true, NULL },
		{ { "||cdn.com^$domain=A.COM" }, "https://cdn.com/x", "https://a.com/", "image", true, NULL },
		{ { "||cdn.com^$from=a.com" }, "https://cdn.com/x", "https://a.com/", "image", true, NULL },
		/* Entities: the name followed by any public suffix. */
		{ { "||cdn.com^$domain=google.*" }, "https://cdn.com/x", "https://www.google.co.uk/", "image",
		  true, NULL },
		{ { "||cdn.com^$domain=google.*" }, "https://cdn.com/x", "https://google.evil.com/", "image",
		  false, NULL },
		/* Filters without a pattern token are filed under their domains. */
		{ { "$image,domain=a.com" }, "https://cdn.com/x", "https://sub.a.com/", "image", true, NULL },
		{ { "$image,domain=a.com" }, "https://cdn.com/x", "https://b.com/", "image", false, NULL },
		{ { "$image,domain=a.com" }, "https://cdn.com/x", NULL, "image", false, NULL },
	};

	RUN_CASES(cases);
}

static void test_third_party(void **state)
{
	static const struct match_case cases[] = {
		{ { "||t.com^$third-party" }, "https://t.com/p", "https://site.com/", "image", true, NULL },
		{ { "||t.com^$third-party" }, "https://t.com/p", "https://www.t.com/", "image", false, NULL },
		{ { "||t.com^$~third-party" }, "https://t.com/p", "https://www.t.com/", "image", true, NULL },
		{ { "||t.com^$~third-party" }, "https://t.com/p", "https://site.com/", "image", false, NULL },
		{ { "||t.com^$3p" }, "https://t.com/p", "https://site.com/", "image", true, NULL },
		{ { "||t.com^$1p" }, "https://t.com/p", "https://site.com/", "image", false, NULL },
		{ { "||t.com^$first-party" }, "https://t.com/p", "https://a.t.com/", "image", true, NULL },
		{ { "||t.com^$~first-party" }, "https://t.com/p", "https://a.t.com/", "image", false, NULL },
		/* Registrable domains: shop.co.uk and cdn.shop.co.uk are one site. */
		{ { "||cdn.shop.co.uk^$third-party" }, "https://cdn.shop.co.uk/", "https://www.shop.co.uk/",
		  "image", false, NULL },
		{ { "||cdn.shop.co.uk^$third-party" }, "https://cdn.shop.co.uk/", "https://www.other.co.uk/",
		  "image", true, NULL },
		{ { "||10.0.0.1^$third-party" }, "http://10.0.0.1/", "http://10.0.0.2/", "image", true,
		  NULL },
		{ { "||10.0.0.1^$third-party" }, "http://10.0.0.1/", "http://10.0.0.1:8080/", "image", false,
		  NULL },
		/* Unknown page: neither form restricts. */
		{ { "||t.com^$third-party" }, "https://t.com/p", NULL, "image", true, NULL },
		{ { "||t.com^$~third-party" }, "https://t.com/p", "http://", "image", true, NULL },
	};

	RUN_CASES(cases);
}

/* Every type, by its option name: the option matches that type only, and
 * its negation every default type but that one. */
static void test_resource_types(void **state)
{
	for (int type = 0; type < FILTER_TYPE_COUNT; type++) {
		const char *name = filter_type_name((enum filter_resource_type)type);
		int other = type == FILTER_TYPE_SCRIPT ? FILTER_TYPE_IMAGE : FILTER_TYPE_SCRIPT;
		const char *other_name = filter_type_name((enum filter_resource_type)other);
		char positive[64];
		char negative[64];

		snprintf(positive, sizeof(positive), "||t.com^$%s", name);
		snprintf(negative, sizeof(negative), "||t.com^$~%s", name);
		{
			const struct match_case cases[] = {
				{ { positive }, "https://t.com/", NULL, name, true, NULL },
				{ { positive }, "https://t.com/", NULL, other_name, false, NULL },
				{ { negative }, "https://t.com/", NULL, name, false, NULL },
				{ { negative }, "https://t.com/", NULL, other_name, true, NULL },
			};

			RUN_CASES(cases);
		}
	}
}

static void test_type_defaults_and_aliases(void **state)
{
	static const struct match_case cases[] = {
		/* Without type options: every type but document and popup. */
		{ { "||t.com^" }, "https://t.com/", NULL, "document", false, NULL },
		{ { "||t.com^" }, "https://t.com/", NULL, "popup", false, NULL },
		{ { "||t.com^" }, "https://t.com/", NULL, "websocket", true, NULL },
		{ { "||t.com^" }, "https://t.com/", NULL, NULL, true, NULL },
		{ { "||t.com^$document" }, "https://t.com/", NULL, "document", true, NULL },
		{ { "||t.com^$all" }, "https://t.com/", NULL, "popup", true, NULL },
		{ { "||t.com^$xhr" }, "https://t.com/", NULL, "xmlhttprequest", true, NULL },
		{ { "||t.com^$xhr" }, "https://t.com/", NULL, "fetch", true, NULL },
		{ { "||t.com^$css" }, "https://t.com/", NULL, "stylesheet", true, NULL },
		{ { "||t.com^$frame" }, "https://t.com/", NULL, "sub_frame", true, NULL },
		{ { "||t.com^$beacon" }, "https://t.com/", NULL, "ping", true, NULL },
		{ { "||t.com^$doc" }, "https://t.com/", NULL, "main_frame", true, NULL },
		{ { "||t.com^$object-subrequest" }, "https://t.com/", NULL, "object", true, NULL },
		{ { "||t.com^$image,script" }, "https://t.com/", NULL, "script", true, NULL },
		{ { "||t.com^$image,script" }, "https://t.com/", NULL, "font", false, NULL },
		{ { "||t.com^$~image,~script" }, "https://t.com/", NULL, "font", true, NULL },
		{ { "||t.com^$~image,~script" }, "https://t.com/", NULL, "document", false, NULL },
		/* A cosmetic option next to a type leaves an exception for that type. */
		{ { "||t.com^", "@@||t.com^$generichide,script" }, "https://t.com/", NULL, "script", false,
		  NULL },
	};

	RUN_CASES(cases);
}

static void test_type_from_name(void **state)
{
	static const struct {
		const char *name;
		enum filter_resource_type type;
	} cases[] = {
		{ "script", FILTER_TYPE_SCRIPT },	  { "image", FILTER_TYPE_IMAGE },
		{ "stylesheet", FILTER_TYPE_STYLESHEET }, { "xmlhttprequest", FILTER_TYPE_XMLHTTPREQUEST },
		{ "xhr", FILTER_TYPE_XMLHTTPREQUEST },	  { "fetch", FILTER_TYPE_XMLHTTPREQUEST },
		{ "subdocument", FILTER_TYPE_SUBDOCUMENT }, { "sub_frame", FILTER_TYPE_SUBDOCUMENT },
		{ "main_frame", FILTER_TYPE_DOCUMENT },	  { "ping", FILTER_TYPE_PING },
		{ "beacon", FILTER_TYPE_PING },		  { "media", FILTER_TYPE_MEDIA },
		{ "font", FILTER_TYPE_FONT },		  { "websocket", FILTER_TYPE_WEBSOCKET },
		{ "popup", FILTER_TYPE_POPUP },		  { "SCRIPT", FILTER_TYPE_SCRIPT },
		{ "unknown", FILTER_TYPE_OTHER },	  { "", FILTER_TYPE_OTHER },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (filter_type_from_name(cases[i].name) != cases[i].type)
			fail_msg("type of \"%s\": %d, expected %d", cases[i].name,
				 filter_type_from_name(cases[i].name), cases[i].type);
	}
	assert_int_equal(filter_type_from_name(NULL), FILTER_TYPE_OTHER);
	assert_string_equal(filter_type_name(FILTER_TYPE_XMLHTTPREQUEST), "xmlhttprequest");
}

static void test_type_from_fetch_metadata(void **state)
{
	static const struct {
		const char *destination;
		const char *mode;
		enum filter_resource_type type;
	} cases[] = {
		{ "script", "no-cors", FILTER_TYPE_SCRIPT },
		{ "image", "no-cors", FILTER_TYPE_IMAGE },
		{ "style", "no-cors", FILTER_TYPE_STYLESHEET },
		{ "font", "cors", FILTER_TYPE_FONT },
		{ "audio", "no-cors", FILTER_TYPE_MEDIA },
		{ "video", "no-cors", FILTER_TYPE_MEDIA },
		{ "track", "cors", FILTER_TYPE_MEDIA },
		{ "object", "no-cors", FILTER_TYPE_OBJECT },
		{ "embed", "no-cors", FILTER_TYPE_OBJECT },
		{ "document", "navigate", FILTER_TYPE_DOCUMENT },
		{ "iframe", "navigate", FILTER_TYPE_SUBDOCUMENT },
		{ "frame", "navigate", FILTER_TYPE_SUBDOCUMENT },
		{ "empty", "cors", FILTER_TYPE_XMLHTTPREQUEST },
		{ "empty", "same-origin", FILTER_TYPE_XMLHTTPREQUEST },
		{ "empty", "no-cors", FILTER_TYPE_PING },
		{ "empty", "websocket", FILTER_TYPE_WEBSOCKET },
		{ "websocket", "websocket", FILTER_TYPE_WEBSOCKET },
		{ "worker", "same-origin", FILTER_TYPE_SCRIPT },
		{ "manifest", "cors", FILTER_TYPE_OTHER },
		{ "Script", "no-cors", FILTER_TYPE_SCRIPT },
		{ NULL, "navigate", FILTER_TYPE_DOCUMENT },
		{ NULL, NULL, FILTER_TYPE_OTHER },
		{ "nonsense", NULL, FILTER_TYPE_OTHER },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum filter_resource_type type = filter_type_from_fetch(cases[i].destination, cases[i].mode);

		if (type != cases[i].type)
			fail_msg("Sec-Fetch-Dest %s, Sec-Fetch-Mode %s: type %d, expected %d",
				 cases[i].destination ? cases[i].destination : "-",
				 cases[i].mode ? cases[i].mode : "-", type, cases[i].type);
	}
}

/* Lines the engine adds, skips, drops or rejects, with the counter each
 * one moves. */
static void test_line_kinds(void **state)
{
	static const struct {
		const char *line;
		int result;
	} cases[] = {
		{ "! Title: EasyList", FILTER_SKIPPED },
		{ "[Adblock Plus 2.0]", FILTER_SKIPPED },
		{ "", FILTER_SKIPPED },
		{ "   \r\n", FILTER_SKIPPED },
		{ "##.ad-banner", FILTER_SKIPPED },
		{ "example.com##.ad", FILTER_SKIPPED },
		{ "example.com,~shop.example.com#@#.ad", FILTER_SKIPPED },
		{ "example.com#?#div:-abp-has(.ad)", FILTER_SKIPPED },
		{ "example.com#$#abort-on-property-read ads", FILTER_SKIPPED },
		{ "example.com#%#window.ads = 1;", FILTER_SKIPPED },
		{ "example.com##+js(set, ads, 0)", FILTER_SKIPPED },
		{ "example.*##.ad", FILTER_SKIPPED },
		{ "@@||example.com^$generichide", FILTER_SKIPPED },
		{ "@@||example.com^$elemhide", FILTER_SKIPPED },
		{ "||ads.com^$redirect=noopjs", FILTER_DROPPED },
		{ "||ads.com^$script,redirect-rule=noopjs", FILTER_DROPPED },
		{ "||ads.com^$removeparam=utm_source", FILTER_DROPPED },
		{ "||ads.com^$csp=script-src 'none'", FILTER_DROPPED },
		{ "||ads.com^$rewrite=abp-resource:blank-js", FILTER_DROPPED },
		{ "||ads.com^$badfilter", FILTER_DROPPED },
		{ "||ads.com^$xhr,method=post", FILTER_DROPPED },
		{ "||ads.com^$domain=/ads\\d/", FILTER_DROPPED },
		{ "@@||ads.com^$genericblock", FILTER_DROPPED },
		{ "||ads.com^$unknown-option", -EINVAL },
		{ "||ads.com^$script=1", -EINVAL },
		{ "||ads.com^$domain=", -EINVAL },
		{ "||ads.com^$~important", -EINVAL },
		{ "||ads.com^$third-party,~third-party", -EINVAL },
		{ "||ads.com^$script,~script", -EINVAL },
		{ "/ads(/", -EINVAL },
		{ "127.0.0.1 ads.com", -EINVAL },
		{ "@@", -EINVAL },
		{ "||ads.com^", FILTER_ADDED },
		{ "@@||ads.com/ok^", FILTER_ADDED },
		{ "  ||ads.com/trimmed^  ", FILTER_ADDED },
		{ "/ads$/", FILTER_ADDED },
		{ "$popup,third-party,domain=a.com", FILTER_ADDED },
		{ "||ads.com^$collapse", FILTER_ADDED },
	};
	struct filter_engine *engine = NULL;
	struct filter_stats stats;

	assert_int_equal(filter_engine_new(&engine), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = filter_engine_add(engine, cases[i].line, strlen(cases[i].line), "test");

		if (rc != cases[i].result)
			fail_msg("\"%s\": %d, expected %d", cases[i].line, rc, cases[i].result);
	}

	filter_engine_stats(engine, &stats);
	assert_int_equal(stats.comments, 2);
	assert_int_equal(stats.cosmetic_skipped, 10);
	assert_int_equal(stats.unsupported, 9);
	assert_int_equal(stats.invalid, 9);
	assert_int_equal(stats.loaded, 6);
	assert_int_equal(stats.exceptions, 1);
	assert_int_equal(stats.regex, 1);
	filter_engine_free(engine);
}

static void test_dropped_filter_never_matches(void **state)
{
	static const char dropped[] = "||ads.com^$redirect=noopjs";
	struct filter_engine *engine = NULL;
	struct filter_url_request request;
	struct filter_decision decision;

	assert_int_equal(filter_engine_new(&engine), 0);
	assert_int_equal(filter_engine_add(engine, dropped, strlen(dropped), "test"), FILTER_DROPPED);
	assert_int_equal(filter_request_from_urls(&request, "https://ads.com/a.js", NULL, "script"), 0);
	assert_false(filter_engine_match(engine, &request.request, &decision));
	assert_false(decision.matched);
	filter_engine_free(engine);
}

static char *write_list(const char *text)
{
	char *path = strdup("/tmp/plainsight-filters-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* Invalid lines are counted and never stop the load; the rest of the file
 * is kept. */
static void test_load_file(void **state)
{
	static const char list[] = "[Adblock Plus 2.0]\n"
				   "! Title: test\n"
				   "||ads.com^\n"
				   "||bad.com^$nonsense\n"
				   "/broken(regex/\n"
				   "example.com##.ad\n"
				   "||tracker.com^$third-party,redirect=noopjs\n"
				   "@@||ads.com/ok^\r\n"
				   "||last.com^";
	struct filter_engine *engine = NULL;
	struct filter_url_request request;
	struct filter_decision decision;
	struct filter_stats stats;
	char *path = write_list(list);

	assert_int_equal(filter_engine_new(&engine), 0);
	assert_int_equal(filter_engine_load_file(engine, path), 0);
	filter_engine_stats(engine, &stats);
	assert_int_equal(stats.loaded, 3);
	assert_int_equal(stats.exceptions, 1);
	assert_int_equal(stats.invalid, 2);
	assert_int_equal(stats.unsupported, 1);
	assert_int_equal(stats.cosmetic_skipped, 1);
	assert_int_equal(stats.comments, 2);

	assert_int_equal(filter_request_from_urls(&request, "https://last.com/x", NULL, "image"), 0);
	assert_true(filter_engine_match(engine, &request.request, &decision));
	assert_string_equal(decision.filter, "||last.com^");
	assert_int_equal(filter_request_from_urls(&request, "https://ads.com/ok", NULL, "image"), 0);
	assert_false(filter_engine_match(engine, &request.request, &decision));
	assert_string_equal(decision.exception, "@@||ads.com/ok^");

	assert_int_equal(filter_engine_load_file(engine, "/nonexistent/plainsight/list.txt"), -ENOENT);
	unlink(path);
	free(path);
	filter_engine_free(engine);
}

/* Filters added after the index was built are found too. */
static void test_add_after_index(void **state)
{
	static const char first[] = "||one.com^";
	static const char second[] = "||two.com^";
	struct filter_engine *engine = NULL;
	struct filter_url_request request;
	struct filter_decision decision;

	assert_int_equal(filter_engine_new(&engine), 0);
	assert_int_equal(filter_engine_add(engine, first, strlen(first), "test"), FILTER_ADDED);
	assert_int_equal(filter_engine_build_index(engine), 0);
	assert_int_equal(filter_engine_add(engine, second, strlen(second), "test"), FILTER_ADDED);

	assert_int_equal(filter_request_from_urls(&request, "https://two.com/", NULL, "image"), 0);
	assert_true(filter_engine_match(engine, &request.request, &decision));
	assert_string_equal(decision.filter, second);
	assert_int_equal(filter_request_from_urls(&request, "https://one.com/", NULL, "image"), 0);
	assert_true(filter_engine_match(engine, &request.request, &decision));
	filter_engine_free(engine);
}

/* Past FILTER_URL_MAX_BYTES, plain patterns see the start of the URL and
 * never an end anchor; regular expressions see the whole URL. */
static void test_long_url(void **state)
{
	static const char *const filters[] = { "||long.com/start^", "tail.gif|", "/tail\\.gif$/" };
	size_t length = FILTER_URL_MAX_BYTES + 100;
	char *url = malloc(length + 1);
	struct filter_engine *engine = NULL;
	struct filter_url_request request;
	struct filter_decision decision;

	assert_non_null(url);
	memset(url, 'a', length);
	memcpy(url, "https://long.com/start/", 23);
	memcpy(url + length - 8, "tail.gif", 8);
	url[length] = '\0';
	assert_int_equal(filter_request_from_urls(&request, url, NULL, "image"), 0);

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		assert_int_equal(filter_engine_new(&engine), 0);
		assert_int_equal(filter_engine_add(engine, filters[i], strlen(filters[i]), "test"),
				 FILTER_ADDED);
		filter_engine_match(engine, &request.request, &decision);
		if (decision.blocked != (i != 1))
			fail_msg("%s on a %zu-byte URL: blocked=%d", filters[i], length, decision.blocked);
		filter_engine_free(engine);
	}
	free(url);
}

/* A URL with more distinct tokens than a request keeps: the tokens after
 * them are found again for each class searched. */
static void test_many_tokens(void **state)
{
	static const char *const filters[] = { "/adtoken.gif", "@@/zz299z/*$image" };
	char url[4096] = "https://many.example.com/";
	struct filter_engine *engine = NULL;
	struct filter_url_request request;
	struct filter_decision decision;
	size_t length = strlen(url);

	for (int i = 0; i < 300; i++)
		length += (size_t)snprintf(url + length, sizeof(url) - length, "zz%dz/", i);
	snprintf(url + length, sizeof(url) - length, "adtoken.gif");
	assert_int_equal(filter_request_from_urls(&request, url, NULL, "image"), 0);

	assert_int_equal(filter_engine_new(&engine), 0);
	assert_int_equal(filter_engine_add(engine, filters[0], strlen(filters[0]), "test"), FILTER_ADDED);
	assert_int_equal(filter_engine_build_index(engine), 0);
	assert_true(filter_engine_match(engine, &request.request, &decision));
	assert_string_equal(decision.filter, filters[0]);

	assert_int_equal(filter_engine_add(engine, filters[1], strlen(filters[1]), "test"), FILTER_ADDED);
	assert_int_equal(filter_engine_build_index(engine), 0);
	assert_false(filter_engine_match(engine, &request.request, &decision));
	assert_string_equal(decision.exception, filters[1]);
	filter_engine_free(engine);
}

static void test_request_from_urls(void **state)
{
	struct filter_url_request request;

	assert_int_equal(filter_request_from_urls(&request, "https://User@API.Shop.co.uk:8443/x",
						  "https://www.shop.co.uk/", "xhr"),
			 0);
	assert_string_equal(request.host, "api.shop.co.uk");
	assert_string_equal(request.request.source_host, "www.shop.co.uk");
	assert_true(request.request.party_known);
	assert_false(request.request.third_party);
	assert_int_equal(request.request.type, FILTER_TYPE_XMLHTTPREQUEST);

	assert_int_equal(filter_request_from_urls(&request, "https://t.com/", "about:blank", "image"), 0);
	assert_null(request.request.source_host);
	assert_false(request.request.party_known);

	assert_int_equal(filter_request_from_urls(&request, "https://", NULL, "image"), -EINVAL);
	assert_int_equal(filter_request_from_urls(&request, "http://[::1]:80/", "http://[::1]/", "image"), 0);
	assert_string_equal(request.host, "::1");
	assert_false(request.request.third_party);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_anchor),
		cmocka_unit_test(test_host_records),
		cmocka_unit_test(test_token_places),
		cmocka_unit_test(test_start_and_end_anchors),
		cmocka_unit_test(test_separator),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_case_sensitivity),
		cmocka_unit_test(test_exceptions),
		cmocka_unit_test(test_important),
		cmocka_unit_test(test_regular_expressions),
		cmocka_unit_test(test_domain_option),
		cmocka_unit_test(test_third_party),
		cmocka_unit_test(test_resource_types),
		cmocka_unit_test(test_type_defaults_and_aliases),
		cmocka_unit_test(test_type_from_name),
		cmocka_unit_test(test_type_from_fetch_metadata),
		cmocka_unit_test(test_line_kinds),
		cmocka_unit_test(test_dropped_filter_never_matches),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_add_after_index),
		cmocka_unit_test(test_pattern_tails),
		cmocka_unit_test(test_long_url),
		cmocka_unit_test(test_many_tokens),
		cmocka_unit_test(test_request_from_urls),
	};

	/* The invalid lines below are expected; keep their warnings out. */
	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the classifier (agent/classify/). A request's URL, headers
 * and body go through the extract stage as in the agent. The tracker label
 * comes out: vendor, category, the pixel decoder's event, account id, page
 * URL and identity fields, and the rule that matched. The requests follow
 * each pixel's wire format as its script sends it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "classify/classify.h"

#define MAX_IDENTITY 8

struct pixel_case {
	const char *url;
	const char *content_type; /* NULL: no body */
	const char *body;
	const char *referer;
	const char *vendor;
	const char *decoder;
	const char *event; /* first event, NULL: none expected */
	size_t event_count;
	const char *account_id;
	const char *page_url;
	const char *identity[MAX_IDENTITY]; /* "path=meaning" */
};

static const struct pixel_case pixel_cases[] = {
	{
		.url = "https://www.facebook.com/tr/?id=1234567890&ev=Purchase&dl=https%3A%2F%2Fshop.example%2Fthanks"
		       "&cd[value]=12.50&cd[currency]=EUR&ud[em]=" "8a6f5c0f1b0e3d1c2b4a59687766554433221100ffeeddccbbaa998877665544"
		       "&ud[fn]=" "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		.vendor = "Meta", .decoder = "meta-pixel", .event = "Purchase", .event_count = 1,
		.account_id = "1234567890", .page_url = "https://shop.example/thanks",
		.identity = { "query.ud[em]=email", "query.ud[fn]=first_name" },
	},
	{
		.url = "https://www.facebook.com/tr/",
		.content_type = "application/x-www-form-urlencoded",
		.body = "id=555&ev=PageView&dl=https%3A%2F%2Fshop.example%2F&udff[em]=abc",
		.vendor = "Meta", .decoder = "meta-pixel", .event = "PageView", .event_count = 1,
		.account_id = "555", .page_url = "https://shop.example/",
		.identity = { "body.form.udff[em]=email" },
	},
	{
		.url = "https://analytics.tiktok.com/api/v2/pixel",
		.content_type = "application/json",
		.body = "{\"event\":\"CompletePayment\",\"message_id\":\"m1\",\"context\":{\"pixel\":{\"code\":\"C4ABCDEF\"},"
			"\"page\":{\"url\":\"https://shop.example/confirm\"},\"user\":{\"email\":\"e3b0c442\","
			"\"phone_number\":\"9f86d081\"}},\"properties\":{\"value\":30}}",
		.vendor = "TikTok", .decoder = "tiktok-pixel", .event = "CompletePayment", .event_count = 1,
		.account_id = "C4ABCDEF", .page_url = "https://shop.example/confirm",
		.identity = { "body.json.context.user.email=email", "body.json.context.user.phone_number=phone" },
	},
	{
		.url = "https://analytics.tiktok.com/api/v2/pixel/track",
		.content_type = "text/plain;charset=UTF-8",
		.body = "{\"event\":\"ViewContent\",\"context\":{\"pixel\":{\"code\":\"CPIX2\"},\"page\":{\"url\":\"https://a.example/\"}}}",
		.vendor = "TikTok", .decoder = "tiktok-pixel", .event = "ViewContent", .event_count = 1,
		.account_id = "CPIX2", .page_url = "https://a.example/",
	},
	{
		.url = "https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST123&cid=111.222&uid=u-9"
		       "&dl=https%3A%2F%2Fshop.example%2Fcart&en=page_view",
		.vendor = "Google", .decoder = "ga4", .event = "page_view", .event_count = 1,
		.account_id = "G-TEST123", .page_url = "https://shop.example/cart",
		.identity = { "query.cid=client_id", "query.uid=user_id" },
	},
	{
		.url = "https://www.google-analytics.com/g/collect?v=2&tid=G-BATCH&cid=1.2&dl=https%3A%2F%2Fs.example%2F",
		.content_type = "text/plain;charset=UTF-8",
		.body = "en=add_to_cart&ep.item=shoe\r\nen=begin_checkout&up.email=x\r\nen=purchase",
		.vendor = "Google", .decoder = "ga4", .event = "add_to_cart", .event_count = 3,
		.account_id = "G-BATCH", .page_url = "https://s.example/",
		.identity = { "query.cid=client_id", "body.form[1].up.email=email" },
	},
	{
		.url = "https://www.google-analytics.com/collect?v=1&t=event&ea=signup&tid=UA-12345-1&cid=55.66"
		       "&dl=https%3A%2F%2Fshop.example%2Fjoin",
		.vendor = "Google", .decoder = "universal-analytics", .event = "signup", .event_count = 1,
		.account_id = "UA-12345-1", .page_url = "https://shop.example/join",
		.identity = { "query.cid=client_id" },
	},
	{
		.url = "https://www.googleadservices.com/pagead/conversion/987654321/?label=AbC&value=20&currency_code=EUR"
		       "&url=https%3A%2F%2Fshop.example%2Fdone",
		.vendor = "Google", .decoder = "google-ads", .event = "conversion", .event_count = 1,
		.account_id = "987654321", .page_url = "https://shop.example/done",
	},
	{
		.url = "https://px.ads.linkedin.com/collect?v=2&fmt=js&pid=7654321&time=1733352000000"
		       "&url=https%3A%2F%2Fshop.example%2F",
		.vendor = "LinkedIn", .decoder = "linkedin-insight", .event = "page_view", .event_count = 1,
		.account_id = "7654321", .page_url = "https://shop.example/",
	},
	{
		.url = "https://px.ads.linkedin.com/collect?v=2&fmt=gif&pid=7654321&conversionId=9876543"
		       "&url=https%3A%2F%2Fshop.example%2Fdone",
		.vendor = "LinkedIn", .decoder = "linkedin-insight", .event = "conversion", .event_count = 1,
		.account_id = "7654321", .page_url = "https://shop.example/done",
	},
	{
		.url = "https://tr.snapchat.com/p",
		.content_type = "application/x-www-form-urlencoded",
		.body = "pid=aaaa-bbbb&ev=PURCHASE&pl=https%3A%2F%2Fshop.example%2Fok&u_hem=4f1b",
		.vendor = "Snap", .decoder = "snap-pixel", .event = "PURCHASE", .event_count = 1,
		.account_id = "aaaa-bbbb", .page_url = "https://shop.example/ok",
		.identity = { "body.form.u_hem=email" },
	},
	{
		.url = "https://ct.pinterest.com/v3/?event=checkout&tid=2612345678901"
		       "&pd=%7B%22em%22%3A%22f1e2%22%7D&ad=%7B%22loc%22%3A%22https%3A%2F%2Fshop.example%2Fpay%22%7D",
		.vendor = "Pinterest", .decoder = "pinterest-tag", .event = "checkout", .event_count = 1,
		.account_id = "2612345678901", .page_url = "https://shop.example/pay",
		.identity = { "query.pd.em=email" },
	},
	{
		.url = "https://bat.bing.com/action/0?ti=5123456&Ver=2&evt=custom&ea=purchase&gv=20"
		       "&p=https%3A%2F%2Fshop.example%2Fthanks",
		.vendor = "Microsoft", .decoder = "microsoft-uet", .event = "purchase", .event_count = 1,
		.account_id = "5123456", .page_url = "https://shop.example/thanks",
	},
	{
		.url = "https://alb.reddit.com/rp.gif?ts=1733352000&id=t2_abc123&event=Purchase&m.itemCount=1",
		.vendor = "Reddit", .decoder = "reddit-pixel", .event = "Purchase", .event_count = 1,
		.account_id = "t2_abc123",
	},
	{
		.url = "https://t.co/i/adsct?bci=3&eci=2&event_id=e1&events=%5B%5B%22pageview%22%2C%7B%7D%5D%5D"
		       "&p_id=Twitter&p_user_id=0&pl_id=p1&tw_document_href=https%3A%2F%2Fshop.example%2F"
		       "&txn_id=o1x2y&type=javascript&version=2.3.30",
		.vendor = "X", .decoder = "x-pixel", .event = "pageview", .event_count = 1,
		.account_id = "o1x2y", .page_url = "https://shop.example/",
	},
};

static struct classifier *classifier;

static int setup(void **state)
{
	return classifier_new(NULL, &classifier) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	classifier_free(classifier);
	return 0;
}

/* Host and target of an absolute URL. */
static void split(const char *url, char *host, size_t size, const char **target)
{
	const char *start = strstr(url, "//") + 2;
	size_t length = strcspn(start, ":/?#");

	snprintf(host, size, "%.*s", (int)length, start);
	*target = start + strcspn(start, "/?#");
}

/* Extracts fields as the agent does and classifies the request. */
static void classify(const char *url, const char *content_type, const char *body, const char *referer,
		     struct field_list *fields, struct classification *result, char *host, size_t host_size)
{
	const char *names[2] = { "Content-Type", "Referer" };
	const char *values[2] = { content_type ? content_type : "", referer ? referer : "" };
	struct extract_request request = {
		.method = body ? "POST" : "GET",
		.url = url,
		.header_names = names,
		.header_values = values,
		.header_count = 2,
		.body = (const uint8_t *)body,
		.body_kept = body ? strlen(body) : 0,
		.body_bytes = body ? strlen(body) : 0,
	};
	struct extract_limits limits;
	struct classify_request classify_request = { .host = host, .url = url, .referer = referer, .fields = fields };

	extract_default_limits(&limits);
	assert_int_equal(extract_request_fields(&request, &limits, fields), 0);
	split(url, host, host_size, &classify_request.target);
	assert_int_equal(classifier_run(classifier, &classify_request, result), 0);
}

static void check_identity(const struct pixel_case *test, const struct pixel_report *pixel)
{
	size_t expected = 0;

	for (; expected < MAX_IDENTITY && test->identity[expected]; expected++) {
		char text[160];
		bool found = false;

		for (size_t i = 0; i < pixel->identity_count && !found; i++) {
			snprintf(text, sizeof(text), "%s=%s", pixel->identity[i].path, pixel->identity[i].meaning);
			found = strcmp(text, test->identity[expected]) == 0;
		}
		if (!found)
			fail_msg("%s: identity field %s not reported", test->url, test->identity[expected]);
	}
	if (pixel->identity_count != expected)
		fail_msg("%s: %zu identity fields, expected %zu (first: %s)", test->url, pixel->identity_count,
			 expected, pixel->identity_count ? pixel->identity[0].path : "none");
}

static void test_pixels(void **state)
{
	for (size_t c = 0; c < sizeof(pixel_cases) / sizeof(pixel_cases[0]); c++) {
		const struct pixel_case *test = &pixel_cases[c];
		struct field_list fields = { 0 };
		struct classification result = { 0 };
		char host[256];

		classify(test->url, test->content_type, test->body, test->referer, &fields, &result, host,
			 sizeof(host));
		if (!result.tracker || !result.label.entry)
			fail_msg("%s: not labelled as a tracker", test->url);
		assert_string_equal(result.label.entry->vendor, test->vendor);
		assert_string_equal(result.label.entry->decoder, test->decoder);
		assert_true(result.label.decoded);
		assert_non_null(strstr(result.label.matched_by, result.label.entry->id));
		assert_int_equal(result.label.pixel.event_count, test->event_count);
		if (test->event)
			assert_string_equal(result.label.pixel.events[0], test->event);
		if (test->account_id)
			assert_string_equal(result.label.pixel.account_id, test->account_id);
		if (test->page_url)
			assert_string_equal(result.label.pixel.page_url, test->page_url);
		else
			assert_null(result.label.pixel.page_url);
		check_identity(test, &result.label.pixel);
		field_list_clear(&fields);
		classification_clear(&result);
	}
}

/* A first-party API call and a plain page are no tracker; a lookalike host
 * is not its namesake. */
static void test_not_trackers(void **state)
{
	static const char *const urls[] = {
		"https://shop.example/api/cart?item=1",
		"https://notfacebook.com/tr/?id=1&ev=PageView",
		"https://www.facebook.com.shop.example/tr/?id=1&ev=PageView",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct field_list fields = { 0 };
		struct classification result = { 0 };
		char host[256];

		classify(urls[i], NULL, NULL, "https://shop.example/", &fields, &result, host, sizeof(host));
		if (result.tracker || result.browser)
			fail_msg("%s: labelled as %s", urls[i], result.label.matched_by);
		assert_string_equal(result.site.site, "shop.example");
		field_list_clear(&fields);
		classification_clear(&result);
	}
}

/* Services browsers call on their own are browser traffic, not trackers. */
static void test_browser_traffic(void **state)
{
	static const char *const urls[] = {
		"https://update.googleapis.com/service/update2/json?cup2key=1",
		"https://firefox.settings.services.mozilla.com/v1/buckets/main/collections",
	};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct field_list fields = { 0 };
		struct classification result = { 0 };
		char host[256];

		classify(urls[i], NULL, NULL, NULL, &fields, &result, host, sizeof(host));
		if (!result.browser || result.tracker)
			fail_msg("%s: not labelled as browser traffic", urls[i]);
		assert_string_equal(result.label.entry->category, "browser");
		field_list_clear(&fields);
		classification_clear(&result);
	}
}

/* A second vendor file replaces a built-in entry by its id. */
static void test_override(void **state)
{
	char path[] = "/tmp/plainsight-vendors-XXXXXX";
	int descriptor = mkstemp(path);
	static const char text[] = "{\"format\":1,\"entries\":[{\"id\":\"shop-analytics\",\"vendor\":\"Shop Stats\","
				   "\"product\":\"Shop Stats\",\"company\":\"Shop Stats Ltd\",\"category\":\"analytics\","
				   "\"rules\":[\"stats.shop.example/hit\"]}]}";
	struct classifier_options options = { 0 };
	const char *files[1] = { path };
	struct classifier *custom;
	struct field_list fields = { 0 };
	struct classification result = { 0 };
	char host[256];
	struct classifier *saved = classifier;

	assert_true(descriptor >= 0);
	assert_int_equal(write(descriptor, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(descriptor);
	options.vendor_files = files;
	options.vendor_file_count = 1;
	assert_int_equal(classifier_new(&options, &custom), 0);
	unlink(path);

	classifier = custom;
	classify("https://stats.shop.example/hit?p=1", NULL, NULL, NULL, &fields, &result, host, sizeof(host));
	classifier = saved;
	assert_true(result.tracker);
	assert_string_equal(result.label.entry->vendor, "Shop Stats");
	field_list_clear(&fields);
	classification_clear(&result);
	classifier_free(custom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pixels),
		cmocka_unit_test(test_not_trackers),
		cmocka_unit_test(test_browser_traffic),
		cmocka_unit_test(test_override),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

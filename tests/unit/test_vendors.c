/*
 * Unit tests of the vendor table: the shipped data/vendors.json (size,
 * unique ids, every rule reaching its own entry, the major trackers and
 * browser services), host and path matching, rule precedence, override
 * files and the rejection of invalid files. Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "classify/classify.h"

#define DATA_FILE "data/vendors.json"
#define MIN_VENDORS 100

static char directory[64];

/* ---- files ---- */

static char *make_path(const char *name)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", directory, name) > 0);
	return path;
}

static char *write_file(const char *name, const char *text, size_t size)
{
	char *path = make_path(name);
	FILE *file = fopen(path, "wb");

	assert_non_null(file);
	if (size > 0)
		assert_int_equal(fwrite(text, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
	return path;
}

static char *write_text(const char *name, const char *text)
{
	return write_file(name, text, strlen(text));
}

static char *read_text(const char *path)
{
	FILE *file = fopen(path, "rb");
	char *text;
	long size;

	assert_non_null(file);
	assert_int_equal(fseek(file, 0, SEEK_END), 0);
	size = ftell(file);
	assert_true(size >= 0);
	rewind(file);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	return text;
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
	return remove(path);
}

static int create_directory(void **state)
{
	strcpy(directory, "/tmp/test_vendors.XXXXXX");
	return mkdtemp(directory) ? 0 : -1;
}

static int remove_directory(void **state)
{
	return nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct vendor_table *load_data_file(void)
{
	struct vendor_table *table = NULL;

	assert_int_equal(vendor_table_new(&table), 0);
	assert_int_equal(vendor_table_load(table, DATA_FILE), 0);
	return table;
}

/* Loads path into table with stderr sent to a file, and returns what the
 * load logged. */
static char *load_logged(struct vendor_table *table, const char *path, int *result)
{
	char *log_path = make_path("stderr.txt");
	int saved = dup(STDERR_FILENO);
	int log_file = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *logged;

	assert_true(saved >= 0);
	assert_true(log_file >= 0);
	fflush(stderr);
	assert_true(dup2(log_file, STDERR_FILENO) >= 0);
	*result = vendor_table_load(table, path);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(log_file);

	logged = read_text(log_path);
	free(log_path);
	return logged;
}

/* ---- matching helpers ---- */

struct match_case {
	const char *host;
	const char *target;
	const char *id;
	const char *vendor;
	const char *company;
	const char *category;
	const char *decoder; /* NULL when the entry has none */
};

static const char *match_id(const struct vendor_table *table, const char *host, const char *target)
{
	struct vendor_match match = { 0 };

	if (!vendor_table_match(table, host, target, &match))
		return NULL;
	assert_non_null(match.entry);
	assert_non_null(match.rule);
	return match.entry->id;
}

static void expect_case(const struct vendor_table *table, const struct match_case *expected)
{
	struct vendor_match match = { 0 };
	bool found = vendor_table_match(table, expected->host, expected->target, &match);

	if (!found || strcmp(match.entry->id, expected->id) != 0)
		print_error("%s%s: expected %s, found %s\n", expected->host, expected->target, expected->id,
			    found ? match.entry->id : "no match");
	assert_true(found);
	assert_string_equal(match.entry->id, expected->id);
	assert_string_equal(match.entry->vendor, expected->vendor);
	assert_string_equal(match.entry->company, expected->company);
	assert_string_equal(match.entry->category, expected->category);
	if (expected->decoder)
		assert_string_equal(match.entry->decoder, expected->decoder);
	else
		assert_null(match.entry->decoder);
	assert_non_null(strstr(match.rule, "vendors.json:"));
}

static void expect_no_match(const struct vendor_table *table, const char *host, const char *target)
{
	const char *id = match_id(table, host, target);

	if (id)
		print_error("%s%s: expected no match, found %s\n", host ? host : "(null)",
			    target ? target : "", id);
	assert_null(id);
}

/* ---- the shipped data file ---- */

static cJSON *parse_data_file(void)
{
	char *text = read_text(DATA_FILE);
	cJSON *root = cJSON_Parse(text);

	free(text);
	assert_non_null(root);
	return root;
}

static const char *member_text(const cJSON *object, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	assert_true(cJSON_IsString(item));
	return item->valuestring;
}

static void test_data_file_size_and_ids(void **state)
{
	cJSON *root = parse_data_file();
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
	int count = cJSON_GetArraySize(entries);
	struct vendor_table *table = load_data_file();
	size_t vendor_count = 0;

	assert_int_equal(vendor_table_count(table), (size_t)count);
	for (int i = 0; i < count; i++) {
		const cJSON *entry = cJSON_GetArrayItem(entries, i);
		bool vendor_seen = false;

		for (int j = 0; j < i; j++) {
			const cJSON *before = cJSON_GetArrayItem(entries, j);

			if (strcmp(member_text(before, "id"), member_text(entry, "id")) == 0)
				print_error("id %s appears twice\n", member_text(entry, "id"));
			assert_string_not_equal(member_text(before, "id"), member_text(entry, "id"));
			if (strcmp(member_text(before, "vendor"), member_text(entry, "vendor")) == 0)
				vendor_seen = true;
		}
		vendor_count += !vendor_seen;
	}
	assert_true(vendor_count >= MIN_VENDORS);

	vendor_table_free(table);
	cJSON_Delete(root);
}

/* Each rule, tried with its own host and path, reaches its own entry and
 * names itself, so no rule is hidden by another entry's identical rule. */
static void test_data_file_rules_reach_entry(void **state)
{
	cJSON *root = parse_data_file();
	const cJSON *entry;
	struct vendor_table *table = load_data_file();
	size_t rules_tried = 0;

	cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(root, "entries")) {
		const char *id = cJSON_GetObjectItemCaseSensitive(entry, "id")->valuestring;
		const cJSON *rule;

		cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(entry, "rules")) {
			const char *text = rule->valuestring;
			size_t host_bytes = strcspn(text, "/");
			char host[256];
			char target[1100];
			char label[1400];
			struct vendor_match match = { 0 };

			snprintf(host, sizeof(host), "%.*s", (int)host_bytes, text);
			snprintf(target, sizeof(target), "%s", text[host_bytes] ? text + host_bytes : "/");
			target[strcspn(target, "*")] = '\0';
			snprintf(label, sizeof(label), "vendors.json:%s %s", id, text);

			if (!vendor_table_match(table, host, target, &match) ||
			    strcmp(match.rule, label) != 0)
				print_error("rule %s of %s: found %s\n", text, id,
					    match.rule ? match.rule : "nothing");
			assert_non_null(match.entry);
			assert_string_equal(match.entry->id, id);
			assert_string_equal(match.rule, label);
			rules_tried++;
		}
	}
	assert_true(rules_tried > 200);

	vendor_table_free(table);
	cJSON_Delete(root);
}

#define META "Meta Platforms, Inc."
#define GOOGLE "Google LLC"
#define MICROSOFT "Microsoft Corporation"

static const struct match_case major_vendor_cases[] = {
	{ "analytics.tiktok.com", "/api/v2/pixel", "tiktok-pixel", "TikTok", "TikTok Pte. Ltd.",
	  "advertising", "tiktok-pixel" },
	{ "analytics.tiktok.com", "/api/v2/pixel/act?sdkid=1", "tiktok-pixel", "TikTok", "TikTok Pte. Ltd.",
	  "advertising", "tiktok-pixel" },
	{ "analytics.tiktok.com", "/i18n/pixel/events.js", "tiktok-pixel", "TikTok", "TikTok Pte. Ltd.",
	  "advertising", "tiktok-pixel" },
	{ "www.facebook.com", "/tr/?id=1&ev=PageView", "meta-pixel", "Meta", META, "advertising",
	  "meta-pixel" },
	{ "facebook.com", "/tr?id=1", "meta-pixel", "Meta", META, "advertising", "meta-pixel" },
	{ "www.facebook.com", "/privacy_sandbox/pixel/register/trigger/", "meta-pixel", "Meta", META,
	  "advertising", "meta-pixel" },
	{ "connect.facebook.net", "/signals/config/1?v=2", "meta-pixel", "Meta", META, "advertising",
	  "meta-pixel" },
	{ "connect.facebook.net", "/en_US/fbevents.js", "meta", "Meta", META, "social", NULL },
	{ "www.facebook.com", "/plugins/like.php", "meta", "Meta", META, "social", NULL },
	{ "region1.google-analytics.com", "/g/collect?v=2&tid=G-1", "google-analytics-ga4", "Google", GOOGLE,
	  "analytics", "ga4" },
	{ "www.google-analytics.com", "/g/collect?v=2", "google-analytics-ga4", "Google", GOOGLE, "analytics",
	  "ga4" },
	{ "analytics.google.com", "/g/collect?v=2", "google-analytics-ga4", "Google", GOOGLE, "analytics",
	  "ga4" },
	{ "region1.analytics.google.com", "/g/collect", "google-analytics-ga4", "Google", GOOGLE, "analytics",
	  "ga4" },
	{ "www.google-analytics.com", "/collect?v=1&tid=UA-1", "google-universal-analytics", "Google", GOOGLE,
	  "analytics", "universal-analytics" },
	{ "www.google-analytics.com", "/analytics.js", "google-analytics", "Google", GOOGLE, "analytics",
	  NULL },
	{ "www.googleadservices.com", "/pagead/conversion/123/?label=x", "google-ads-conversion", "Google",
	  GOOGLE, "advertising", "google-ads" },
	{ "www.google.com", "/pagead/1p-conversion/123/", "google-ads-conversion", "Google", GOOGLE,
	  "advertising", "google-ads" },
	{ "googleads.g.doubleclick.net", "/pagead/viewthroughconversion/123/?x=1", "google-ads-conversion",
	  "Google", GOOGLE, "advertising", "google-ads" },
	{ "www.googleadservices.com", "/pagead/conversion_async.js", "google-ads", "Google", GOOGLE,
	  "advertising", NULL },
	{ "ad.doubleclick.net", "/ddm/activity/src=1", "google-doubleclick", "Google", GOOGLE, "advertising",
	  NULL },
	{ "doubleclick.net", "/", "google-doubleclick", "Google", GOOGLE, "advertising", NULL },
	{ "stats.g.doubleclick.net", "/j/collect?t=dc", "google-doubleclick", "Google", GOOGLE, "advertising",
	  NULL },
	{ "stats.g.doubleclick.net", "/g/collect?v=2", "google-analytics-ga4", "Google", GOOGLE, "analytics",
	  "ga4" },
	{ "www.googletagmanager.com", "/gtm.js?id=GTM-1", "google-tag-manager", "Google", GOOGLE,
	  "tag_manager", NULL },
	{ "bat.bing.com", "/action/0?ti=1&evt=pageLoad", "microsoft-uet", "Microsoft", MICROSOFT,
	  "advertising", "microsoft-uet" },
	{ "www.clarity.ms", "/tag/abc", "microsoft-clarity", "Microsoft", MICROSOFT, "session_replay", NULL },
	{ "k.clarity.ms", "/collect", "microsoft-clarity", "Microsoft", MICROSOFT, "session_replay", NULL },
	{ "px.ads.linkedin.com", "/collect?pid=1", "linkedin-insight", "LinkedIn", "LinkedIn Corporation",
	  "advertising", "linkedin-insight" },
	{ "px.ads.linkedin.com", "/wa/", "linkedin-insight", "LinkedIn", "LinkedIn Corporation",
	  "advertising", "linkedin-insight" },
	{ "snap.licdn.com", "/li.lms-analytics/insight.min.js", "linkedin-insight", "LinkedIn",
	  "LinkedIn Corporation", "advertising", "linkedin-insight" },
	{ "tr.snapchat.com", "/p", "snap-pixel", "Snap", "Snap Inc.", "advertising", "snap-pixel" },
	{ "tr.snapchat.com", "/cm/i?pid=1", "snap-pixel", "Snap", "Snap Inc.", "advertising", "snap-pixel" },
	{ "sc-static.net", "/scevent.min.js", "snap-pixel", "Snap", "Snap Inc.", "advertising",
	  "snap-pixel" },
	{ "ct.pinterest.com", "/v3/?tid=1&event=init", "pinterest-tag", "Pinterest", "Pinterest, Inc.",
	  "advertising", "pinterest-tag" },
	{ "ct.pinterest.com", "/user/?tid=1", "pinterest-tag", "Pinterest", "Pinterest, Inc.", "advertising",
	  "pinterest-tag" },
	{ "s.pinimg.com", "/ct/core.js", "pinterest-tag", "Pinterest", "Pinterest, Inc.", "advertising",
	  "pinterest-tag" },
	{ "s.pinimg.com", "/images/logo.png", "pinterest", "Pinterest", "Pinterest, Inc.", "social", NULL },
	{ "analytics.twitter.com", "/1/i/adsct?txn_id=1", "x-pixel", "X", "X Corp.", "advertising",
	  "x-pixel" },
	{ "t.co", "/i/adsct?txn_id=1", "x-pixel", "X", "X Corp.", "advertising", "x-pixel" },
	{ "t.co", "/1/i/adsct?txn_id=1", "x-pixel", "X", "X Corp.", "advertising", "x-pixel" },
	{ "static.ads-twitter.com", "/uwt.js", "x-pixel", "X", "X Corp.", "advertising", "x-pixel" },
	{ "ads-api.x.com", "/12/measurement/conversions/abc", "x-ads-api", "X", "X Corp.", "advertising",
	  NULL },
	{ "t.co", "/AbCdEf", "x", "X", "X Corp.", "social", NULL },
	{ "alb.reddit.com", "/rp.gif?ts=1&id=t2_1", "reddit-pixel", "Reddit", "Reddit, Inc.", "advertising",
	  "reddit-pixel" },
	{ "pixel-config.reddit.com", "/pixels/t2_1/config", "reddit-pixel", "Reddit", "Reddit, Inc.",
	  "advertising", "reddit-pixel" },
	{ "www.redditstatic.com", "/ads/pixel.js", "reddit-pixel", "Reddit", "Reddit, Inc.", "advertising",
	  "reddit-pixel" },
	{ "www.redditstatic.com", "/shreddit/app.js", "reddit", "Reddit", "Reddit, Inc.", "social", NULL },
	{ "c.amazon-adsystem.com", "/aax2/apstag.js", "amazon-ads", "Amazon", "Amazon.com, Inc.",
	  "advertising", NULL },
	{ "static.criteo.net", "/js/ld/publishertag.js", "criteo", "Criteo", "Criteo S.A.", "advertising",
	  NULL },
	{ "dis.criteo.com", "/dis/rtb/appnexus/cookiematch.aspx", "criteo", "Criteo", "Criteo S.A.",
	  "advertising", NULL },
	{ "cdn.taboola.com", "/libtrc/site/loader.js", "taboola", "Taboola", "Taboola.com Ltd.",
	  "advertising", NULL },
	{ "widgets.outbrain.com", "/outbrain.js", "outbrain", "Outbrain", "Outbrain Inc.", "advertising",
	  NULL },
	{ "static.hotjar.com", "/c/hotjar-1.js?sv=6", "hotjar", "Hotjar", "Hotjar Ltd", "session_replay",
	  NULL },
	{ "content.hotjar.io", "/", "hotjar", "Hotjar", "Hotjar Ltd", "session_replay", NULL },
	{ "edge.fullstory.com", "/s/fs.js", "fullstory", "FullStory", "FullStory, Inc.", "session_replay",
	  NULL },
	{ "rs.fullstory.com", "/rec/bundle", "fullstory", "FullStory", "FullStory, Inc.", "session_replay",
	  NULL },
	{ "api-js.mixpanel.com", "/track/?verbose=1", "mixpanel", "Mixpanel", "Mixpanel, Inc.", "analytics",
	  NULL },
	{ "api.segment.io", "/v1/t", "segment", "Segment", "Twilio Inc.", "customer_data_platform", NULL },
	{ "cdn.segment.com", "/analytics.js/v1/key/analytics.min.js", "segment", "Segment", "Twilio Inc.",
	  "customer_data_platform", NULL },
	{ "api2.amplitude.com", "/2/httpapi", "amplitude", "Amplitude", "Amplitude, Inc.", "analytics",
	  NULL },
	{ "heapanalytics.com", "/h?a=1", "heap", "Heap", "Heap Inc.", "analytics", NULL },
	{ "us.i.posthog.com", "/e/?ip=1", "posthog", "PostHog", "PostHog Inc.", "analytics", NULL },
	{ "eu.i.posthog.com", "/decide/", "posthog", "PostHog", "PostHog Inc.", "analytics", NULL },
	{ "browser-intake-datadoghq.com", "/api/v2/rum?ddsource=browser", "datadog-rum", "Datadog",
	  "Datadog, Inc.", "error_monitoring", NULL },
	{ "browser-intake-datadoghq.eu", "/api/v2/rum", "datadog-rum", "Datadog", "Datadog, Inc.",
	  "error_monitoring", NULL },
	{ "browser-intake-us5-datadoghq.com", "/api/v2/logs", "datadog-rum", "Datadog", "Datadog, Inc.",
	  "error_monitoring", NULL },
	{ "o123.ingest.sentry.io", "/api/1/envelope/", "sentry", "Sentry", "Functional Software, Inc.",
	  "error_monitoring", NULL },
	{ "o1.ingest.us.sentry.io", "/api/2/envelope/", "sentry", "Sentry", "Functional Software, Inc.",
	  "error_monitoring", NULL },
	{ "bam.nr-data.net", "/1/key?a=1", "new-relic", "New Relic", "New Relic, Inc.", "error_monitoring",
	  NULL },
	{ "bam.eu01.nr-data.net", "/events/1/key", "new-relic", "New Relic", "New Relic, Inc.",
	  "error_monitoring", NULL },
	{ "js-agent.newrelic.com", "/nr-spa-1.0.min.js", "new-relic", "New Relic", "New Relic, Inc.",
	  "error_monitoring", NULL },
	{ "shop.sc.omtrdc.net", "/b/ss/suite/1/JS-2.22.0/s1", "adobe-analytics", "Adobe", "Adobe Inc.",
	  "analytics", NULL },
	{ "shop.112.2o7.net", "/b/ss/suite/1", "adobe-analytics", "Adobe", "Adobe Inc.", "analytics", NULL },
	{ "dpm.demdex.net", "/id?d_visid_ver=5", "adobe-audience-manager", "Adobe", "Adobe Inc.",
	  "advertising", NULL },
	{ "edge.adobedc.net", "/ee/v1/interact?configId=1", "adobe-experience-platform", "Adobe",
	  "Adobe Inc.", "customer_data_platform", NULL },
	{ "mc.yandex.ru", "/watch/1?page-url=x", "yandex-metrica", "Yandex", "YANDEX LLC", "analytics",
	  NULL },
	{ "mc.yandex.com", "/metrika/tag.js", "yandex-metrica", "Yandex", "YANDEX LLC", "analytics", NULL },
	{ "pixel.quantserve.com", "/pixel/p-1.gif", "quantcast", "Quantcast", "Quantcast Corporation",
	  "advertising", NULL },
	{ "cmp.quantcast.com", "/choice/1/site/choice.js", "quantcast-choice", "Quantcast",
	  "Quantcast Corporation", "consent", NULL },
	{ "idsync.rlcdn.com", "/1.gif?partner_uid=1", "liveramp", "LiveRamp", "LiveRamp, Inc.", "advertising",
	  NULL },
	{ "insight.adsrvr.org", "/track/up?adv=1", "the-trade-desk", "The Trade Desk", "The Trade Desk, Inc.",
	  "advertising", NULL },
	{ "match.adsrvr.org", "/track/cmf/generic", "the-trade-desk", "The Trade Desk",
	  "The Trade Desk, Inc.", "advertising", NULL },
};

static void test_major_vendors(void **state)
{
	struct vendor_table *table = load_data_file();

	for (size_t i = 0; i < sizeof(major_vendor_cases) / sizeof(major_vendor_cases[0]); i++)
		expect_case(table, &major_vendor_cases[i]);
	vendor_table_free(table);
}

#define MOZILLA "Mozilla Corporation"

static const struct match_case browser_cases[] = {
	{ "aus5.mozilla.org", "/update/6/Firefox/128.0/x/update.xml", "mozilla-update", "Mozilla", MOZILLA,
	  "browser", NULL },
	{ "firefox.settings.services.mozilla.com", "/v1/buckets/main/collections/x/changeset",
	  "mozilla-remote-settings", "Mozilla", MOZILLA, "browser", NULL },
	{ "content-signature-2.cdn.mozilla.net", "/chains/remote-settings.content-signature.mozilla.org.pem",
	  "mozilla-remote-settings", "Mozilla", MOZILLA, "browser", NULL },
	{ "incoming.telemetry.mozilla.org", "/submit/telemetry/1/main/Firefox", "mozilla-telemetry",
	  "Mozilla", MOZILLA, "browser", NULL },
	{ "push.services.mozilla.com", "/", "mozilla-push", "Mozilla", MOZILLA, "browser", NULL },
	{ "detectportal.firefox.com", "/canonical.html", "mozilla-captive-portal", "Mozilla", MOZILLA,
	  "browser", NULL },
	{ "shavar.services.mozilla.com", "/downloads?client=navclient-auto-ffox",
	  "mozilla-tracking-protection", "Mozilla", MOZILLA, "browser", NULL },
	{ "api.accounts.firefox.com", "/v1/account/status", "mozilla-accounts-sync", "Mozilla", MOZILLA,
	  "browser", NULL },
	{ "sync-1-us-west1-g.sync.services.mozilla.com", "/1.5/1/storage/meta/global",
	  "mozilla-accounts-sync", "Mozilla", MOZILLA, "browser", NULL },
	{ "contile.services.mozilla.com", "/v1/tiles", "mozilla-services", "Mozilla", MOZILLA, "browser",
	  NULL },
	{ "normandy.cdn.mozilla.net", "/api/v1/", "mozilla-normandy", "Mozilla", MOZILLA, "browser", NULL },
	{ "getpocket.cdn.mozilla.net", "/v3/firefox/global-recs", "mozilla-new-tab", "Mozilla", MOZILLA,
	  "browser", NULL },
	{ "safebrowsing.googleapis.com", "/v4/threatListUpdates:fetch?key=1", "google-safe-browsing",
	  "Google", GOOGLE, "browser", NULL },
	{ "update.googleapis.com", "/service/update2/json", "chrome-update", "Google", GOOGLE, "browser",
	  NULL },
	{ "clients2.google.com", "/service/update2/crx?x=id", "chrome-update", "Google", GOOGLE, "browser",
	  NULL },
	{ "optimizationguide-pa.googleapis.com", "/v1:GetModels", "chrome-optimization-guide", "Google",
	  GOOGLE, "browser", NULL },
	{ "content-autofill.googleapis.com", "/v1/pages/abc", "chrome-autofill", "Google", GOOGLE, "browser",
	  NULL },
	{ "accounts.google.com", "/ListAccounts?gpsia=1&source=ChromiumBrowser", "chrome-account-check",
	  "Google", GOOGLE, "browser", NULL },
	{ "www.gstatic.com", "/generate_204", "google-connectivity-check", "Google", GOOGLE, "browser",
	  NULL },
};

static void test_browser_services(void **state)
{
	struct vendor_table *table = load_data_file();

	for (size_t i = 0; i < sizeof(browser_cases) / sizeof(browser_cases[0]); i++)
		expect_case(table, &browser_cases[i]);

	/* The same hosts serve sites too: only the browser's own paths count. */
	expect_no_match(table, "accounts.google.com", "/v3/signin/identifier?continue=x");
	expect_no_match(table, "accounts.google.com", "/ListAccountsX");
	expect_no_match(table, "clients2.google.com", "/cr/report");
	expect_no_match(table, "www.gstatic.com", "/images/branding/logo.png");
	vendor_table_free(table);
}

static void test_hosts_that_do_not_match(void **state)
{
	struct vendor_table *table = load_data_file();

	expect_no_match(table, "evilfacebook.com", "/tr?id=1");
	expect_no_match(table, "facebook.com.example.org", "/tr?id=1");
	expect_no_match(table, "www.example.org", "/");
	expect_no_match(table, "notgoogle-analytics.com", "/g/collect");
	expect_no_match(table, "www.google.com", "/search?q=x");
	expect_no_match(table, "com", "/");
	expect_no_match(table, "", "/");
	expect_no_match(table, NULL, "/");
	expect_no_match(table, "127.0.0.1", "/tr");
	expect_no_match(table, ".", "/");
	vendor_table_free(table);
}

static void test_host_case_and_trailing_dot(void **state)
{
	struct vendor_table *table = load_data_file();
	char long_host[300];

	assert_string_equal(match_id(table, "WWW.FaceBook.COM", "/tr?id=1"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com.", "/tr?id=1"), "meta-pixel");
	assert_string_equal(match_id(table, "facebook.com", NULL), "meta");

	/* A name over 253 bytes is not a host name. */
	memset(long_host, 'a', sizeof(long_host));
	strcpy(long_host + sizeof(long_host) - sizeof(".facebook.com"), ".facebook.com");
	expect_no_match(table, long_host, "/");
	vendor_table_free(table);
}

static void test_path_prefix_boundaries(void **state)
{
	struct vendor_table *table = load_data_file();

	assert_string_equal(match_id(table, "www.facebook.com", "/tr"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com", "/tr/"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com", "/tr?ev=Lead"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com", "/tr/extra/segments"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com", "/track"), "meta");
	assert_string_equal(match_id(table, "www.facebook.com", "/tr.gif"), "meta");
	assert_string_equal(match_id(table, "www.facebook.com", "/TR"), "meta");
	assert_string_equal(match_id(table, "www.facebook.com", ""), "meta");
	assert_string_equal(match_id(table, "analytics.tiktok.com", "/api/v2/pixels"), "tiktok-pixel");
	vendor_table_free(table);
}

/* ---- precedence and overrides, with files written by the tests ---- */

static struct vendor_table *load_text(const char *name, const char *text)
{
	struct vendor_table *table = NULL;
	char *path = write_text(name, text);

	assert_int_equal(vendor_table_new(&table), 0);
	assert_int_equal(vendor_table_load(table, path), 0);
	free(path);
	return table;
}

#define ENTRY(id, category, rules)                                                                \
	"{\"id\": \"" id "\", \"vendor\": \"V " id "\", \"product\": \"P\", \"company\": \"C\", " \
	"\"category\": \"" category "\", \"rules\": [" rules "]}"

#define FILE_OF(entries) "{\"format\": 1, \"entries\": [" entries "]}"

static const char hosts_file[] = FILE_OF(
	ENTRY("root", "analytics", "\"example.com/collect\"") ", "
	ENTRY("sub", "advertising", "\"a.example.com\"") ", "
	ENTRY("deeper", "advertising", "\"b.a.example.com/x\""));

static void test_longest_host_suffix_wins(void **state)
{
	struct vendor_table *table = load_text("hosts.json", hosts_file);
	struct vendor_match match = { 0 };

	assert_string_equal(match_id(table, "a.example.com", "/collect"), "sub");
	assert_string_equal(match_id(table, "c.a.example.com", "/collect"), "sub");
	assert_string_equal(match_id(table, "b.a.example.com", "/x/1"), "deeper");
	/* A longer host whose path rule does not apply falls back to a shorter one. */
	assert_string_equal(match_id(table, "b.a.example.com", "/y"), "sub");
	assert_string_equal(match_id(table, "www.example.com", "/collect?v=1"), "root");
	expect_no_match(table, "www.example.com", "/other");

	assert_true(vendor_table_match(table, "x.b.a.example.com", "/x", &match));
	assert_string_equal(match.rule, "hosts.json:deeper b.a.example.com/x");
	vendor_table_free(table);
}

static const char paths_file[] = FILE_OF(
	ENTRY("host", "analytics", "\"example.com\"") ", "
	ENTRY("short", "analytics", "\"example.com/api\"") ", "
	ENTRY("long", "advertising", "\"example.com/api/v2/pixel\"") ", "
	ENTRY("prefix", "advertising", "\"example.com/pre*\"") ", "
	ENTRY("directory", "advertising", "\"example.com/dir/\""));

static void test_path_rule_precedence(void **state)
{
	struct vendor_table *table = load_text("paths.json", paths_file);

	assert_string_equal(match_id(table, "example.com", "/api/v2/pixel/act"), "long");
	assert_string_equal(match_id(table, "example.com", "/api/v2/pixel?x=1"), "long");
	assert_string_equal(match_id(table, "example.com", "/api/v2/pixels"), "short");
	assert_string_equal(match_id(table, "example.com", "/api/v1"), "short");
	assert_string_equal(match_id(table, "example.com", "/apis"), "host");
	assert_string_equal(match_id(table, "example.com", "/prefix"), "prefix");
	assert_string_equal(match_id(table, "example.com", "/pre"), "prefix");
	assert_string_equal(match_id(table, "example.com", "/pr"), "host");
	assert_string_equal(match_id(table, "example.com", "/dir/file"), "directory");
	assert_string_equal(match_id(table, "example.com", "/dir"), "host");
	assert_string_equal(match_id(table, "sub.example.com", "/api/v2/pixel"), "long");
	vendor_table_free(table);
}

static const char override_file[] =
	"{\"format\": 1, \"comment\": \"kiosk fleet\", \"entries\": ["
	"{\"id\": \"meta-pixel\", \"vendor\": \"Meta\", \"product\": \"Meta Pixel\", "
	"\"company\": \"Meta Platforms Ireland Limited\", \"category\": \"advertising\", "
	"\"decoder\": \"meta-pixel\", \"rules\": [\"facebook.com/tr\"]}, "
	ENTRY("kiosk-analytics", "analytics", "\"stats.kiosk.example\", \"facebook.com/kiosk\"") "]}";

static void test_override_replaces_and_adds(void **state)
{
	struct vendor_table *table = load_data_file();
	size_t shipped = vendor_table_count(table);
	char *path = write_text("override.json", override_file);
	struct vendor_match match = { 0 };

	assert_int_equal(vendor_table_load(table, path), 0);
	assert_int_equal(vendor_table_count(table), shipped + 1);

	assert_true(vendor_table_match(table, "www.facebook.com", "/tr?id=1", &match));
	assert_string_equal(match.entry->id, "meta-pixel");
	assert_string_equal(match.entry->company, "Meta Platforms Ireland Limited");
	assert_string_equal(match.rule, "override.json:meta-pixel facebook.com/tr");
	/* The replaced entry's other rules are gone with it. */
	assert_string_equal(match_id(table, "www.facebook.com", "/privacy_sandbox/pixel"), "meta");

	assert_true(vendor_table_match(table, "eu.stats.kiosk.example", "/hit", &match));
	assert_string_equal(match.entry->id, "kiosk-analytics");
	assert_string_equal(match.entry->category, "analytics");
	assert_null(match.entry->decoder);
	assert_string_equal(match_id(table, "facebook.com", "/kiosk/1"), "kiosk-analytics");
	assert_string_equal(match_id(table, "bat.bing.com", "/action/0"), "microsoft-uet");

	free(path);
	vendor_table_free(table);
}

static void test_later_file_wins_same_rule(void **state)
{
	struct vendor_table *table =
		load_text("first.json", FILE_OF(ENTRY("first", "analytics", "\"example.com/collect\"")));
	char *path = write_text("second.json",
				FILE_OF(ENTRY("second", "advertising", "\"example.com/collect\"")));

	assert_int_equal(vendor_table_load(table, path), 0);
	assert_int_equal(vendor_table_count(table), 2);
	assert_string_equal(match_id(table, "example.com", "/collect"), "second");
	free(path);
	vendor_table_free(table);
}

/* Loads a file that must be rejected and checks that the table still
 * contains the shipped data unchanged. */
static void expect_rejected(struct vendor_table *table, const char *name, const char *text, size_t size)
{
	size_t count = vendor_table_count(table);
	char *path = write_file(name, text, size);
	int err = vendor_table_load(table, path);

	if (err != -EINVAL)
		print_error("%s was not rejected: %.*s\n", name, (int)size, text);
	assert_int_equal(err, -EINVAL);
	assert_int_equal(vendor_table_count(table), count);
	assert_string_equal(match_id(table, "www.facebook.com", "/tr"), "meta-pixel");
	assert_string_equal(match_id(table, "www.facebook.com", "/privacy_sandbox/pixel"), "meta-pixel");
	assert_string_equal(match_id(table, "analytics.tiktok.com", "/api/v2/pixel"), "tiktok-pixel");
	expect_no_match(table, "stats.kiosk.example", "/");
	free(path);
}

#define GOOD_ENTRY ENTRY("kiosk-analytics", "analytics", "\"stats.kiosk.example\"")
#define REPLACING_ENTRY ENTRY("meta-pixel", "analytics", "\"facebook.com/tr\"")

static const char *const invalid_files[] = {
	"{\"format\": 1, \"entries\": [",
	"[]",
	"{\"entries\": []}",
	"{\"format\": 2, \"entries\": []}",
	"{\"format\": 1}",
	"{\"format\": 1, \"entries\": {}}",
	"{\"format\": 1, \"entries\": [], \"extra\": true}",
	"{\"format\": 1, \"format\": 1, \"entries\": []}",
	"{\"format\": 1, \"entries\": [], \"comment\": 3}",
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"V\", \"product\": \"P\", \"company\": \"C\", "
			   "\"category\": \"analytics\", \"rules\": [\"x.example\"], \"comment\": []}"),
	FILE_OF(GOOD_ENTRY ", " REPLACING_ENTRY ", " ENTRY("bad", "ads", "\"bad.example\"")),
	FILE_OF(GOOD_ENTRY ", 17"),
	FILE_OF(GOOD_ENTRY
		", {\"id\": \"x\", \"product\": \"P\", \"company\": \"C\", \"category\": \"analytics\", "
		"\"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", {\"vendor\": \"V\", \"product\": \"P\", \"company\": \"C\", \"category\": "
			   "\"analytics\", \"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"V\", \"product\": \"P\", \"company\": \"C\", "
			   "\"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"\", \"product\": \"P\", \"company\": \"C\", "
			   "\"category\": \"analytics\", \"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"V\", \"product\": \"P\", \"company\": \"C\", "
			   "\"category\": \"analytics\", \"decoder\": 3, \"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"V\", \"product\": \"P\", \"company\": \"C\", "
			   "\"category\": \"analytics\", \"rules\": [\"x.example\"], \"rule\": []}"),
	FILE_OF(GOOD_ENTRY ", {\"id\": \"x\", \"vendor\": \"V\", \"vendor\": \"W\", \"product\": \"P\", "
			   "\"company\": \"C\", \"category\": \"analytics\", \"rules\": [\"x.example\"]}"),
	FILE_OF(GOOD_ENTRY ", " ENTRY("Upper", "analytics", "\"x.example\"")),
	FILE_OF(REPLACING_ENTRY ", " GOOD_ENTRY ", " ENTRY("kiosk-analytics", "analytics", "\"y.example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "7")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"facebook\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"https://x.example/\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"*.x.example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x..example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"-x.example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x-.example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example.\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"192.168.1.1\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example:443\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example*\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example/a b\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example/a*b\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example/a?b=1\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"x.example\", \"x.example\"")),
	FILE_OF(GOOD_ENTRY ", " ENTRY("x", "analytics", "\"stats.kiosk.example\"")),
};

static void test_invalid_file_keeps_table(void **state)
{
	struct vendor_table *table = load_data_file();
	static const char nul_file[] = "{\"format\": 1, \"entries\": []}\0{}";

	for (size_t i = 0; i < sizeof(invalid_files) / sizeof(invalid_files[0]); i++)
		expect_rejected(table, "broken.json", invalid_files[i], strlen(invalid_files[i]));
	expect_rejected(table, "nul.json", nul_file, sizeof(nul_file) - 1);
	vendor_table_free(table);
}

static void test_missing_file(void **state)
{
	struct vendor_table *table = load_data_file();
	size_t count = vendor_table_count(table);
	char *path = make_path("does-not-exist.json");

	assert_int_equal(vendor_table_load(table, path), -ENOENT);
	assert_int_equal(vendor_table_count(table), count);
	free(path);
	vendor_table_free(table);
}

static void test_error_names_file_and_entry(void **state)
{
	struct vendor_table *table = load_data_file();
	char *path = write_text("categories.json",
				FILE_OF(GOOD_ENTRY ", " ENTRY("pixel", "ads", "\"x.example\"")));
	int err = 0;
	char *logged = load_logged(table, path, &err);

	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(logged, path));
	assert_non_null(strstr(logged, "entries[1] (id \"pixel\")"));
	assert_non_null(strstr(logged, "unknown category \"ads\""));
	assert_null(strchr(strchr(logged, '\n') + 1, '\n'));
	free(logged);
	free(path);

	path = write_text("syntax.json", "{\"format\": 1,\n \"entries\": [}");
	logged = load_logged(table, path, &err);
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(logged, "line 2"));
	free(logged);
	free(path);
	vendor_table_free(table);
}

static void test_empty_table(void **state)
{
	struct vendor_table *table = NULL;
	struct vendor_match match = { 0 };

	assert_int_equal(vendor_table_new(&table), 0);
	assert_int_equal(vendor_table_count(table), 0);
	assert_false(vendor_table_match(table, "www.facebook.com", "/tr", &match));
	assert_false(vendor_table_match(NULL, "www.facebook.com", "/tr", &match));
	assert_int_equal(vendor_table_count(NULL), 0);
	assert_int_equal(vendor_table_load(NULL, DATA_FILE), -EINVAL);
	vendor_table_free(table);
	vendor_table_free(NULL);

	table = load_text("empty.json", "{\"format\": 1, \"entries\": []}");
	assert_int_equal(vendor_table_count(table), 0);
	expect_no_match(table, "www.facebook.com", "/tr");
	vendor_table_free(table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_file_size_and_ids),
		cmocka_unit_test(test_data_file_rules_reach_entry),
		cmocka_unit_test(test_major_vendors),
		cmocka_unit_test(test_browser_services),
		cmocka_unit_test(test_hosts_that_do_not_match),
		cmocka_unit_test(test_host_case_and_trailing_dot),
		cmocka_unit_test(test_path_prefix_boundaries),
		cmocka_unit_test(test_longest_host_suffix_wins),
		cmocka_unit_test(test_path_rule_precedence),
		cmocka_unit_test(test_override_replaces_and_adds),
		cmocka_unit_test(test_later_file_wins_same_rule),
		cmocka_unit_test(test_invalid_file_keeps_table),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_error_names_file_and_entry),
		cmocka_unit_test(test_empty_table),
	};

	return cmocka_run_group_tests(tests, create_directory, remove_directory);
}

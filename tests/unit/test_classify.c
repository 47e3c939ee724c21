/* Unit tests of the site context: registrable domains and third parties. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "classify/classify.h"

static int setup(void **state)
{
	return classify_init();
}

static int teardown(void **state)
{
	classify_free();
	return 0;
}

static struct site_context classify(const char *host, const char *referer, const char *origin,
				    const char *sec_fetch_site)
{
	struct site_request request = { host, referer, origin, sec_fetch_site };
	struct site_context context;

	classify_site(&request, &context);
	return context;
}

static void test_third_party_by_referer(void **state)
{
	struct site_context context = classify("analytics.tiktok.com", "https://www.shop.co.uk/checkout?x=1",
					       NULL, NULL);

	assert_string_equal(context.site, "shop.co.uk");
	assert_string_equal(context.server, "tiktok.com");
	assert_int_equal(context.party, PARTY_THIRD);
}

static void test_same_site_subdomains(void **state)
{
	struct site_context context = classify("API.Shop.co.uk", "https://www.shop.co.uk/", NULL, NULL);

	assert_string_equal(context.server, "shop.co.uk");
	assert_int_equal(context.party, PARTY_FIRST);
}

static void test_origin_when_no_referer(void **state)
{
	struct site_context context = classify("www.facebook.com", NULL, "https://user@kiosk.example:8443", NULL);

	assert_string_equal(context.site, "kiosk.example");
	assert_int_equal(context.party, PARTY_THIRD);
}

static void test_fetch_metadata_wins(void **state)
{
	struct site_context context = classify("cdn.example", NULL, NULL, "cross-site");

	assert_string_equal(context.site, "");
	assert_int_equal(context.party, PARTY_THIRD);
	context = classify("tracker.example", "https://tracker.example/", NULL, "same-origin");
	assert_int_equal(context.party, PARTY_FIRST);
}

static void test_unknown_without_headers(void **state)
{
	struct site_context context = classify("update.example", NULL, "null", "none");

	assert_string_equal(context.site, "");
	assert_int_equal(context.party, PARTY_UNKNOWN);
}

static void test_ip_hosts(void **state)
{
	struct site_context context = classify("127.0.0.1", "https://[::1]:8443/page", NULL, NULL);

	assert_string_equal(context.site, "::1");
	assert_string_equal(context.server, "127.0.0.1");
	assert_int_equal(context.party, PARTY_THIRD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_third_party_by_referer),
		cmocka_unit_test(test_same_site_subdomains),
		cmocka_unit_test(test_origin_when_no_referer),
		cmocka_unit_test(test_fetch_metadata_wins),
		cmocka_unit_test(test_unknown_without_headers),
		cmocka_unit_test(test_ip_hosts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

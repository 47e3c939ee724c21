/*
 * Unit tests of url_host() (agent/common/url.h): credentials, ports, IPv6
 * literals, case, and URLs without a host or with one that does not fit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/url.h"

struct host_case {
	const char *url;
	const char *host; /* "" when there is none */
};

static const struct host_case cases[] = {
	{ "https://www.Example.COM/path?q=1", "www.example.com" },
	{ "https://shop.example:8443/", "shop.example" },
	{ "https://user:pa@ss@t.example/x", "t.example" },
	{ "https://[2001:DB8::1]:443/", "2001:db8::1" },
	{ "http://127.0.0.1?x=1", "127.0.0.1" },
	{ "https://a.example#frag", "a.example" },
	{ "https://", "" },
	{ "about:blank", "" },
	{ "//no-scheme.example/", "" },
	{ "https://[::1/", "" },
};

static void test_url_host_cases(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64];
		size_t length = url_host(cases[i].url, host, sizeof(host));

		if (strcmp(host, cases[i].host) != 0 || length != strlen(cases[i].host))
			fail_msg("%s: host \"%s\" (%zu bytes), expected \"%s\"", cases[i].url, host, length,
				 cases[i].host);
	}
}

static void test_url_host_too_long(void **state)
{
	char host[8];

	assert_int_equal(url_host("https://long.example/", host, sizeof(host)), 0);
	assert_string_equal(host, "");
	assert_int_equal(url_host("https://a.example/", host, sizeof(host)), 0);
	assert_int_equal(url_host("https://ab.exa/", host, sizeof(host)), 6);
	assert_int_equal(url_host(NULL, host, sizeof(host)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_host_cases),
		cmocka_unit_test(test_url_host_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

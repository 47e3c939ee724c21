/* Unit tests of the JSON events: field layout, URLs and text cleaning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "output/output.h"

static struct http_header request_headers[] = {
	{ .name = "Host", .value = "shop.example:8443" },
	{ .name = "User-Agent", .value = "weird \xc3\xa9\xff\xed\xa0\x80 end" },
};

static struct http_message request = {
	.method = "GET",
	.target = "/cart?item=7#top",
	.version_major = 1,
	.version_minor = 1,
	.headers = request_headers,
	.header_count = 2,
	.time_ns = 1796414466123456789ull,
};

static struct http_message response = { .status_code = 200, .version_major = 1, .version_minor = 1, .body_bytes = 5 };

static cJSON *format(const struct http_exchange *exchange)
{
	char *text = event_format(exchange, "kiosk-1", 7, NULL);
	cJSON *event;

	assert_non_null(text);
	event = cJSON_Parse(text);
	cJSON_free(text);
	assert_non_null(event);
	return event;
}

static const cJSON *at(const cJSON *object, const char *first, const char *second)
{
	const cJSON *child = cJSON_GetObjectItemCaseSensitive(object, first);

	return second ? cJSON_GetObjectItemCaseSensitive(child, second) : child;
}

static void test_event_fields(void **state)
{
	struct http_exchange exchange = {
		.conn_id = 3, .pid = 42, .tid = 43, .executable_path = "/usr/bin/curl", .thread_name = "curl",
		.library = TLS_LIBRARY_OPENSSL, .request = &request, .response = &response,
		.peer = { .family = 2, .port = 8443, .address = { 127, 0, 0, 1 } },
	};
	cJSON *event = format(&exchange);

	assert_string_equal(at(event, "@timestamp", NULL)->valuestring, "2026-12-04T20:01:06.123456Z");
	assert_string_equal(at(event, "url", "full")->valuestring, "https://shop.example:8443/cart?item=7#top");
	assert_string_equal(at(event, "url", "path")->valuestring, "/cart");
	assert_string_equal(at(event, "url", "query")->valuestring, "item=7");
	assert_string_equal(at(event, "server", "address")->valuestring, "shop.example");
	assert_int_equal(at(event, "server", "port")->valueint, 8443);
	assert_int_equal(at(event, "event", "sequence")->valueint, 7);
	assert_string_equal(at(at(event, "process", "executable"), "name", NULL)->valuestring, "curl");
	assert_string_equal(at(event, "tls", "library")->valuestring, "openssl");
	assert_int_equal(at(at(event, "http", "response"), "status_code", NULL)->valueint, 200);
	cJSON_Delete(event);
}

static void test_invalid_utf8_replaced(void **state)
{
	struct http_exchange exchange = { .executable_path = "", .request = &request, .pid = 1 };
	cJSON *event = format(&exchange);

	/* 0xFF and the encoded surrogate become U+FFFD; the valid é stays. */
	assert_string_equal(at(event, "user_agent", "original")->valuestring,
			    "weird \xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
	cJSON_Delete(event);
}

static void test_absolute_url_split(void **state)
{
	struct http_message absolute = request;
	struct http_exchange exchange = { .executable_path = "", .request = &absolute, .pid = 1 };
	cJSON *event;

	absolute.target = "https://absolute.example:29443/abs?z=9";
	event = format(&exchange);
	assert_string_equal(at(event, "url", "full")->valuestring, "https://absolute.example:29443/abs?z=9");
	assert_string_equal(at(event, "url", "path")->valuestring, "/abs");
	assert_string_equal(at(event, "url", "query")->valuestring, "z=9");
	cJSON_Delete(event);
}

static void test_asterisk_target(void **state)
{
	struct http_message options = request;
	struct http_exchange exchange = { .executable_path = "", .request = &options, .pid = 1 };
	cJSON *event;

	options.method = "OPTIONS";
	options.target = "*";
	event = format(&exchange);
	assert_string_equal(at(event, "url", "full")->valuestring, "https://shop.example:8443");
	assert_null(at(event, "url", "path"));
	cJSON_Delete(event);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_absolute_url_split),
		cmocka_unit_test(test_asterisk_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

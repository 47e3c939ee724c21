/*
 * Unit tests of the extract stage (agent/extract/). A table of requests
 * covers each encoding and nesting. Further tests cover content codings
 * (built here with zlib, brotli streams made with libbrotlienc 1.0.9),
 * decompression bombs, limits, bodies cut at every byte, and values with
 * NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>
#include <zlib.h>

#include "extract/extract.h"

#define MAX_TEST_HEADERS 8
#define MAX_EXPECTED_FIELDS 16
#define MAX_ABSENT_PATHS 4

/* Enough for any chain: FIELD_MAX_DECODINGS names of at most 9 bytes. */
#define CHAIN_TEXT_BYTES 128

struct test_request {
	const char *url;
	const char *headers[MAX_TEST_HEADERS][2];
	const void *body;
	size_t body_kept; /* 0: strlen(body) */
	uint64_t body_bytes; /* 0: body_kept */
};

/* ---- running and looking up ---- */

static int run_request(const struct test_request *test, const struct extract_limits *limits, struct field_list *list)
{
	const char *names[MAX_TEST_HEADERS];
	const char *values[MAX_TEST_HEADERS];
	struct extract_limits defaults;
	struct extract_request request = {
		.method = "POST",
		.url = test->url,
		.header_names = names,
		.header_values = values,
		.body = test->body,
	};

	while (request.header_count < MAX_TEST_HEADERS && test->headers[request.header_count][0]) {
		names[request.header_count] = test->headers[request.header_count][0];
		values[request.header_count] = test->headers[request.header_count][1];
		request.header_count++;
	}
	if (test->body) {
		request.body_kept = test->body_kept ? test->body_kept : strlen(test->body);
		request.body_bytes = test->body_bytes ? test->body_bytes : request.body_kept;
	}
	if (!limits) {
		extract_default_limits(&defaults);
		limits = &defaults;
	}

	memset(list, 0, sizeof(*list));
	return extract_request_fields(&request, limits, list);
}

/* Writes the chain as "form>url>json", or "" for none. */
static void chain_text(const struct field *field, char *text)
{
	size_t i;

	text[0] = '\0';
	for (i = 0; i < field->decoding_count; i++) {
		if (i)
			strcat(text, ">");
		strcat(text, field_decoding_name(field->decodings[i]));
	}
}

static void print_fields(const struct field_list *list)
{
	char chain[CHAIN_TEXT_BYTES];
	size_t i;

	for (i = 0; i < list->count; i++) {
		chain_text(&list->fields[i], chain);
		print_message("  %s = \"%.*s\" (%s)\n", list->fields[i].path, (int)list->fields[i].value_bytes,
			      list->fields[i].value, chain);
	}
	print_message("  body_cut=%d fields_cut=%d\n", list->body_cut, list->fields_cut);
}

/* Returns the first field with path, value (NULL: any) and chain (NULL:
 * any), or NULL. */
static const struct field *find_field(const struct field_list *list, const char *path, const char *value,
				      const char *chain)
{
	char text[CHAIN_TEXT_BYTES];
	size_t i;

	for (i = 0; i < list->count; i++) {
		const struct field *field = &list->fields[i];

		if (strcmp(field->path, path) != 0)
			continue;
		if (value && field->value_bytes != strlen(value))
			continue;
		if (value && memcmp(field->value, value, field->value_bytes) != 0)
			continue;
		chain_text(field, text);
		if (chain && strcmp(text, chain) != 0)
			continue;
		return field;
	}
	return NULL;
}

static const struct field *expect_field(const struct field_list *list, const char *path, const char *value,
					const char *chain)
{
	const struct field *field = find_field(list, path, value, chain);

	if (!field) {
		print_fields(list);
		fail_msg("no field %s = \"%s\" (%s)", path, value ? value : "*", chain ? chain : "*");
	}
	return field;
}

static size_t count_fields_with_prefix(const struct field_list *list, const char *prefix)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strncmp(list->fields[i].path, prefix, strlen(prefix)) == 0)
			count++;
	}
	return count;
}

static void expect_no_prefix(const struct field_list *list, const char *prefix)
{
	if (count_fields_with_prefix(list, prefix)) {
		print_fields(list);
		fail_msg("unexpected field under %s", prefix);
	}
}

/* Invariants of every list: paths are set, values end with a NUL after
 * value_bytes, chains fit. */
static void check_list_invariants(const struct field_list *list)
{
	size_t i;

	assert_true(list->count <= list->capacity);
	for (i = 0; i < list->count; i++) {
		const struct field *field = &list->fields[i];

		assert_non_null(field->path);
		assert_true(field->path[0] != '\0');
		assert_non_null(field->value);
		assert_int_equal(field->value[field->value_bytes], '\0');
		assert_true(field->decoding_count <= FIELD_MAX_DECODINGS);
	}
}

static double elapsed_seconds(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* ---- the table ---- */

struct expected_field {
	const char *path;
	const char *value;
	const char *chain;
};

struct extract_case {
	const char *name;
	struct test_request request;
	struct expected_field fields[MAX_EXPECTED_FIELDS];
	const char *absent[MAX_ABSENT_PATHS]; /* path prefixes */
};

#define MULTIPART_TWO_PARTS                                                  \
	"preamble to ignore\r\n"                                             \
	"--XyZ\r\n"                                                          \
	"Content-Disposition: form-data; name=\"email\"\r\n"                 \
	"\r\n"                                                               \
	"jane@example.com\r\n"                                               \
	"--XyZ\r\n"                                                          \
	"Content-Disposition: form-data; name=\"upload\"; filename=\"n.txt\"\r\n" \
	"Content-Type: text/plain\r\n"                                       \
	"\r\n"                                                               \
	"line1\r\nline2\r\n"                                                 \
	"--XyZ--\r\n"

static const struct extract_case cases[] = {
	{
		.name = "url parts",
		.request = { .url = "https://user:pw@Tracker.example:8443/p/a%20b?x=1#frag" },
		.fields = {
			{ "url.scheme", "https", "" },
			{ "url.user_info", "user:pw", "" },
			{ "url.host", "Tracker.example", "" },
			{ "url.port", "8443", "" },
			{ "url.path", "/p/a b", "url" },
			{ "url.fragment", "frag", "" },
			{ "query.x", "1", "" },
		},
	},
	{
		.name = "ipv6 host",
		.request = { .url = "https://[2001:db8::1]:443/c" },
		.fields = {
			{ "url.host", "[2001:db8::1]", "" },
			{ "url.port", "443", "" },
			{ "url.path", "/c", "" },
		},
	},
	{
		.name = "origin-form target with host header",
		.request = { .url = "/collect?v=2", .headers = { { "Host", "t.example" } } },
		.fields = {
			{ "url.host", "t.example", "" },
			{ "url.path", "/collect", "" },
			{ "query.v", "2", "" },
		},
		.absent = { "url.scheme" },
	},
	{
		.name = "bracket names",
		.request = { .url = "https://www.facebook.com/tr?id=1&ud[em]=5e88&cd[content_ids][0]=sku1"
				    "&cd%5Bvalue%5D=9.99" },
		.fields = {
			{ "query.id", "1", "" },
			{ "query.ud[em]", "5e88", "" },
			{ "query.cd[content_ids][0]", "sku1", "" },
			{ "query.cd[value]", "9.99", "" },
		},
	},
	{
		.name = "plus and escapes in query",
		.request = { .url = "/s?q=a+b%40c&empty=&flag&=novalue" },
		.fields = {
			{ "query.q", "a b@c", "url" },
			{ "query.empty", "", "" },
			{ "query.flag", "", "" },
			{ "query.", "novalue", "" },
		},
	},
	{
		.name = "bad percent escapes",
		.request = { .url = "/s?a=%zz&b=%4&c=100%&d=%7B%22k%22%3A%zz%7D" },
		.fields = {
			{ "query.a", "%zz", "" },
			{ "query.b", "%4", "" },
			{ "query.c", "100%", "" },
			{ "query.d", "{\"k\":%zz}", "url" },
		},
		.absent = { "query.d.", "query.a." },
	},
	{
		.name = "posthog form with url-encoded json",
		.request = {
			.url = "https://eu.i.posthog.com/e/?ip=1",
			.headers = { { "Content-Type", "application/x-www-form-urlencoded" } },
			.body = "data=%7B%22event%22%3A%22%24identify%22%2C%22properties%22%3A%7B%22%24email%22%3A"
				"%22jane%40example.com%22%7D%7D&compression=none",
		},
		.fields = {
			{ "body.form.data",
			  "{\"event\":\"$identify\",\"properties\":{\"$email\":\"jane@example.com\"}}", "form>url" },
			{ "body.form.data.event", "$identify", "form>url>json" },
			{ "body.form.data.properties.$email", "jane@example.com", "form>url>json" },
			{ "body.form.compression", "none", "form" },
		},
	},
	{
		.name = "json value holding base64url json",
		.request = {
			.url = "/i",
			.headers = { { "Content-Type", "application/json" } },
			.body = "{\"ctx\":\"eyJ1Ijp7ImVtYWlsIjoiYW5uQGV4LmlvIn0sImsiOiI_Pj8ifQ==\"}",
		},
		.fields = {
			{ "body.json.ctx", "eyJ1Ijp7ImVtYWlsIjoiYW5uQGV4LmlvIn0sImsiOiI_Pj8ifQ==", "json" },
			{ "body.json.ctx", "{\"u\":{\"email\":\"ann@ex.io\"},\"k\":\"?>?\"}", "json>base64url" },
			{ "body.json.ctx.u.email", "ann@ex.io", "json>base64url>json" },
			{ "body.json.ctx.k", "?>?", "json>base64url>json" },
		},
	},
	{
		.name = "base64 of a query string",
		.request = { .url = "/p?p=ZW1haWw9YSU0MGIuY29tJmlkPTc=" },
		.fields = {
			{ "query.p", "email=a%40b.com&id=7", "base64" },
			{ "query.p.email", "a@b.com", "base64>query>url" },
			{ "query.p.id", "7", "base64>query" },
		},
	},
	{
		.name = "base64 text",
		.request = { .url = "/p?e=YUBiLmNvbQ==&id=abcdefgh&hash=5e884898da28047151d0e56f8dc6292773603d0d" },
		.fields = {
			{ "query.e", "a@b.com", "base64" },
			{ "query.id", "abcdefgh", "" },
		},
		.absent = { "query.id.", "query.hash." },
	},
	{
		.name = "encoded path segment",
		.request = { .url = "https://c.example/v1/eyJ1c2VyIjoiYUBiLmMifQ/x" },
		.fields = {
			{ "url.path", "/v1/eyJ1c2VyIjoiYUBiLmMifQ/x", "" },
			{ "url.path[1]", "{\"user\":\"a@b.c\"}", "base64" },
			{ "url.path[1].user", "a@b.c", "base64>json" },
		},
		.absent = { "url.path[0]", "url.path[2]" },
	},
	{
		.name = "url with query inside a value",
		.request = { .url = "/tr?dl=https%3A%2F%2Fshop.example%2Fthanks%3Femail%3Da%2540b.c" },
		.fields = {
			{ "query.dl", "https://shop.example/thanks?email=a%40b.c", "url" },
			{ "query.dl.email", "a@b.c", "url>query>url" },
		},
	},
	{
		.name = "fragment as query",
		.request = { .url = "https://app.example/cb#access_token=abc&state=1" },
		.fields = {
			{ "url.fragment", "access_token=abc&state=1", "" },
			{ "url.fragment.access_token", "abc", "query" },
			{ "url.fragment.state", "1", "query" },
		},
	},
	{
		.name = "multipart with a file part",
		.request = {
			.url = "/upload",
			.headers = { { "Content-Type", "multipart/form-data; boundary=XyZ" } },
			.body = MULTIPART_TWO_PARTS,
		},
		.fields = {
			{ "body.multipart.email", "jane@example.com", "multipart" },
			{ "body.multipart.upload", "line1\r\nline2", "multipart" },
			{ "body.multipart.upload;filename", "n.txt", "multipart" },
		},
		.absent = { "body.raw" },
	},
	{
		.name = "multipart quoted boundary and json part",
		.request = {
			.url = "/upload",
			.headers = { { "content-type", "multipart/form-data; charset=utf-8; boundary=\"a b\"" } },
			.body = "--a b\r\n"
				"Content-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n"
				"Content-Type: application/json\r\n\r\n"
				"{\"email\":\"m@p.io\"}\r\n"
				"--a b--",
		},
		.fields = {
			{ "body.multipart.data", "{\"email\":\"m@p.io\"}", "multipart" },
			{ "body.multipart.data.email", "m@p.io", "multipart>json" },
			{ "body.multipart.data;filename", "blob", "multipart" },
		},
	},
	{
		.name = "multipart cut in the second part's headers",
		.request = {
			.url = "/upload",
			.headers = { { "Content-Type", "multipart/form-data; boundary=XyZ" } },
			.body = "--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\njane@example.com\r\n"
				"--XyZ\r\nContent-Disposition: form-da",
		},
		.fields = {
			{ "body.multipart.email", "jane@example.com", "multipart" },
		},
		.absent = { "body.multipart.upload", "body.raw" },
	},
	{
		.name = "multipart cut in the content",
		.request = {
			.url = "/upload",
			.headers = { { "Content-Type", "multipart/form-data; boundary=XyZ" } },
			.body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\npartial te",
		},
		.fields = {
			{ "body.multipart.note", "partial te", "multipart" },
		},
	},
	{
		.name = "multipart without its boundary in the body",
		.request = {
			.url = "/upload",
			.headers = { { "Content-Type", "multipart/form-data; boundary=other" } },
			.body = "{\"a\":\"b\"}",
		},
		.fields = {
			{ "body.json.a", "b", "json" },
		},
		.absent = { "body.multipart" },
	},
	{
		.name = "ndjson",
		.request = {
			.url = "/batch",
			.headers = { { "Content-Type", "application/x-ndjson" } },
			.body = "{\"a\":1}\n\n{\"b\":[true,\"x\",null,false]}\r\nnot json\n{\"c\":-2.5e3}\n",
		},
		.fields = {
			{ "body.ndjson[0].a", "1", "ndjson" },
			{ "body.ndjson[1].b[0]", "true", "ndjson" },
			{ "body.ndjson[1].b[1]", "x", "ndjson" },
			{ "body.ndjson[1].b[3]", "false", "ndjson" },
			{ "body.ndjson[3].c", "-2.5e3", "ndjson" },
		},
		.absent = { "body.ndjson[1].b[2]", "body.ndjson[2]" },
	},
	{
		.name = "ndjson recognised in text/plain",
		.request = {
			.url = "/envelope",
			.headers = { { "Content-Type", "text/plain;charset=UTF-8" } },
			.body = "{\"event_id\":\"9ec79c33\"}\n{\"type\":\"event\"}\n"
				"{\"user\":{\"email\":\"s@e.io\"}}\n",
		},
		.fields = {
			{ "body.ndjson[0].event_id", "9ec79c33", "ndjson" },
			{ "body.ndjson[2].user.email", "s@e.io", "ndjson" },
		},
	},
	{
		.name = "json sent as text/plain",
		.request = {
			.url = "/beacon",
			.headers = { { "Content-Type", "text/plain;charset=UTF-8" } },
			.body = " {\"user\":{\"email\":\"x@y.z\"},\"events\":[{\"name\":\"purchase\",\"value\":12.50,"
				"\"id\":12345678901234567890,\"\":\"empty key\"}],\"ok\":true,\"none\":null,"
				"\"empty_object\":{},\"empty_array\":[]}\n",
		},
		.fields = {
			{ "body.json.user.email", "x@y.z", "json" },
			{ "body.json.events[0].name", "purchase", "json" },
			{ "body.json.events[0].value", "12.50", "json" },
			{ "body.json.events[0].id", "12345678901234567890", "json" },
			{ "body.json.events[0].", "empty key", "json" },
			{ "body.json.ok", "true", "json" },
		},
		.absent = { "body.json.none", "body.json.empty_", "body.raw" },
	},
	{
		.name = "json type with a scalar body",
		.request = { .url = "/n", .headers = { { "Content-Type", "application/json" } }, .body = "42" },
		.fields = { { "body.json", "42", "json" } },
	},
	{
		.name = "vendor json type",
		.request = {
			.url = "/r",
			.headers = { { "Content-Type", "application/reports+json" } },
			.body = "[{\"type\":\"csp-violation\",\"body\":{\"documentURL\":\"https://s.example/?u=1\"}}]",
		},
		.fields = {
			{ "body.json[0].type", "csp-violation", "json" },
			{ "body.json[0].body.documentURL", "https://s.example/?u=1", "json" },
			{ "body.json[0].body.documentURL.u", "1", "json>query" },
		},
	},
	{
		.name = "broken json",
		.request = {
			.url = "/j",
			.headers = { { "Content-Type", "application/json" } },
			.body = "{\"a\": [1, 2",
		},
		.fields = { { "body.raw", "{\"a\": [1, 2", "" } },
		.absent = { "body.json" },
	},
	{
		.name = "query string lines in text/plain",
		.request = {
			.url = "https://region1.google-analytics.com/g/collect?v=2&tid=G-1",
			.headers = { { "Content-Type", "text/plain" } },
			.body = "en=page_view&ep.email=a%40b.c\r\nen=scroll&epn.percent=90\n",
		},
		.fields = {
			{ "query.tid", "G-1", "" },
			{ "body.form[0].en", "page_view", "form" },
			{ "body.form[0].ep.email", "a@b.c", "form>url" },
			{ "body.form[1].en", "scroll", "form" },
			{ "body.form[1].epn.percent", "90", "form" },
		},
	},
	{
		.name = "single query string line",
		.request = { .url = "/c", .body = "a=1&b=two" },
		.fields = {
			{ "body.form.a", "1", "form" },
			{ "body.form.b", "two", "form" },
		},
	},
	{
		.name = "plain text body",
		.request = { .url = "/t", .headers = { { "Content-Type", "text/plain" } }, .body = "hello there" },
		.fields = { { "body.raw", "hello there", "" } },
	},
	{
		.name = "bad base64",
		.request = { .url = "/b?t=eyJhIjoxfQ=&u=ab+c-def&v=eyJhIjoxfQ" },
		.fields = {
			{ "query.t", "eyJhIjoxfQ=", "" },
			{ "query.v", "{\"a\":1}", "base64" },
			{ "query.v.a", "1", "base64>json" },
		},
		.absent = { "query.t.", "query.u." },
	},
	{
		.name = "cookies",
		.request = {
			.url = "/c",
			.headers = {
				{ "Cookie",
				  "_ga=GA1.2.3.4; ajs_user_traits=%7B%22email%22%3A%22c%40d.e%22%7D;flag; q=\"quoted\"" },
				{ "cookie", "second=2" },
			},
		},
		.fields = {
			{ "cookie._ga", "GA1.2.3.4", "" },
			{ "cookie.ajs_user_traits", "%7B%22email%22%3A%22c%40d.e%22%7D", "" },
			{ "cookie.ajs_user_traits", "{\"email\":\"c@d.e\"}", "url" },
			{ "cookie.ajs_user_traits.email", "c@d.e", "url>json" },
			{ "cookie.", "flag", "" },
			{ "cookie.q", "quoted", "" },
			{ "cookie.second", "2", "" },
		},
		.absent = { "header.cookie" },
	},
	{
		.name = "jwt payload",
		.request = {
			.url = "/j",
			.headers = { { "Cookie", "s=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMiLCJlbWFpbCI6ImpAay5sIn0.c2ln; "
						  "v=1.2.3; n=bm90IGpzb24.eyJhIjoxfQ.x" } },
		},
		.fields = {
			{ "cookie.s", "{\"sub\":\"123\",\"email\":\"j@k.l\"}", "base64url" },
			{ "cookie.s.email", "j@k.l", "base64url>json" },
			{ "cookie.v", "1.2.3", "" },
			{ "cookie.n", "bm90IGpzb24.eyJhIjoxfQ.x", "" },
		},
		.absent = { "cookie.v.", "cookie.n." },
	},
	{
		.name = "selected headers",
		.request = {
			.url = "/h",
			.headers = {
				{ "Referer", "https://shop.example/checkout?email=a%40b.c" },
				{ "Origin", "https://shop.example" },
				{ "User-Agent", "Mozilla/5.0 (X11; Linux x86_64)" },
				{ "Authorization", "Bearer abc.def" },
				{ "Sec-Fetch-Site", "cross-site" },
				{ "X-Client-Data", "CIe2yQEIpLbJAQ==" },
				{ "Accept", "*/*" },
			},
		},
		.fields = {
			{ "header.referer", "https://shop.example/checkout?email=a%40b.c", "" },
			{ "header.referer.email", "a@b.c", "query>url" },
			{ "header.origin", "https://shop.example", "" },
			{ "header.user-agent", "Mozilla/5.0 (X11; Linux x86_64)", "" },
			{ "header.authorization", "Bearer abc.def", "" },
			{ "header.sec-fetch-site", "cross-site", "" },
			{ "header.x-client-data", "CIe2yQEIpLbJAQ==", "" },
		},
		.absent = { "header.accept", "header.x-client-data." },
	},
	{
		.name = "control bytes in names",
		.request = { .url = "/n?k%00e%0Ay=1" },
		.fields = { { "query.k%00e%0Ay", "1", "" } },
	},
};

static void test_extract_table(void **state)
{
	size_t i;
	size_t j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct extract_case *test = &cases[i];
		struct field_list list;

		print_message("case: %s\n", test->name);
		assert_int_equal(run_request(&test->request, NULL, &list), 0);
		check_list_invariants(&list);

		for (j = 0; j < MAX_EXPECTED_FIELDS && test->fields[j].path; j++)
			expect_field(&list, test->fields[j].path, test->fields[j].value, test->fields[j].chain);
		for (j = 0; j < MAX_ABSENT_PATHS && test->absent[j]; j++)
			expect_no_prefix(&list, test->absent[j]);
		assert_false(list.fields_cut);
		field_list_clear(&list);
	}
}

/* ---- order, sources and repeated keys ---- */

static void test_fields_in_request_order(void **state)
{
	struct test_request request = {
		.url = "https://t.example/c?id=1&id=2&id=3",
		.headers = {
			{ "Referer", "https://s.example/" },
			{ "Cookie", "a=1" },
			{ "Content-Type", "application/x-www-form-urlencoded" },
		},
		.body = "e=x",
	};
	static const struct {
		const char *path;
		const char *value;
		enum field_source source;
	} expected[] = {
		{ "url.scheme", "https", FIELD_SOURCE_URL },
		{ "url.host", "t.example", FIELD_SOURCE_URL },
		{ "url.path", "/c", FIELD_SOURCE_URL },
		{ "query.id", "1", FIELD_SOURCE_QUERY },
		{ "query.id", "2", FIELD_SOURCE_QUERY },
		{ "query.id", "3", FIELD_SOURCE_QUERY },
		{ "header.referer", "https://s.example/", FIELD_SOURCE_HEADER },
		{ "cookie.a", "1", FIELD_SOURCE_COOKIE },
		{ "body.form.e", "x", FIELD_SOURCE_BODY },
	};
	struct field_list list;
	size_t i;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	if (list.count != sizeof(expected) / sizeof(expected[0]))
		print_fields(&list);
	assert_int_equal(list.count, sizeof(expected) / sizeof(expected[0]));

	for (i = 0; i < list.count; i++) {
		assert_string_equal(list.fields[i].path, expected[i].path);
		assert_string_equal(list.fields[i].value, expected[i].value);
		assert_int_equal(list.fields[i].source, expected[i].source);
	}
	field_list_clear(&list);
}

static void test_nested_fields_keep_source(void **state)
{
	struct test_request request = { .url = "/c", .headers = { { "Cookie", "t=%7B%22k%22%3A%22v%22%7D" } } };
	const struct field *field;
	struct field_list list;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	field = expect_field(&list, "cookie.t.k", "v", "url>json");
	assert_int_equal(field->source, FIELD_SOURCE_COOKIE);
	field_list_clear(&list);
}

/* ---- NUL bytes ---- */

static void test_nul_bytes_in_values(void **state)
{
	struct test_request request = {
		.url = "/n?n=a%00b",
		.headers = { { "Content-Type", "application/x-www-form-urlencoded" } },
		.body = "f=%00%00x",
	};
	static const uint8_t raw_body[] = { 'x', 0, 'y', 0xff, 0 };
	struct test_request raw = { .url = "/r", .body = raw_body, .body_kept = sizeof(raw_body) };
	const struct field *field;
	struct field_list list;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	field = expect_field(&list, "query.n", NULL, "url");
	assert_int_equal(field->value_bytes, 3);
	assert_memory_equal(field->value, "a\0b", 3);
	field = expect_field(&list, "body.form.f", NULL, "form>url");
	assert_int_equal(field->value_bytes, 3);
	assert_memory_equal(field->value, "\0\0x", 3);
	field_list_clear(&list);

	assert_int_equal(run_request(&raw, NULL, &list), 0);
	field = expect_field(&list, "body.raw", NULL, "");
	assert_int_equal(field->value_bytes, sizeof(raw_body));
	assert_memory_equal(field->value, raw_body, sizeof(raw_body));
	field_list_clear(&list);
}

/* ---- content codings ---- */

struct byte_buffer {
	uint8_t *data;
	size_t bytes;
};

/* Compresses input with zlib's deflate: window_bits 15 for a zlib stream,
 * 31 for gzip, -15 for raw deflate. */
static struct byte_buffer compress_with(const void *input, size_t input_bytes, int window_bits)
{
	struct byte_buffer out;
	z_stream stream;

	memset(&stream, 0, sizeof(stream));
	assert_int_equal(deflateInit2(&stream, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
	out.data = malloc(deflateBound(&stream, input_bytes));
	assert_non_null(out.data);

	stream.next_in = (Bytef *)input;
	stream.avail_in = (uInt)input_bytes;
	stream.next_out = out.data;
	stream.avail_out = (uInt)deflateBound(&stream, input_bytes);
	assert_int_equal(deflate(&stream, Z_FINISH), Z_STREAM_END);
	out.bytes = stream.total_out;
	deflateEnd(&stream);
	return out;
}

static const char coded_json[] = "{\"user\":{\"email\":\"coded@example.com\"}}";

static void check_coded_body(const char *content_encoding, const char *content_type, const uint8_t *body,
			     size_t body_bytes, const char *path, const char *value, const char *chain)
{
	struct test_request request = {
		.url = "/e?compression=gzip-js",
		.headers = { { "Content-Type", content_type } },
		.body = body,
		.body_kept = body_bytes,
	};
	struct field_list list;

	if (content_encoding) {
		request.headers[1][0] = "Content-Encoding";
		request.headers[1][1] = content_encoding;
	}
	print_message("coding: %s, %s\n", content_encoding ? content_encoding : "none", chain);
	assert_int_equal(run_request(&request, NULL, &list), 0);
	check_list_invariants(&list);
	expect_field(&list, path, value, chain);
	assert_false(list.body_cut);
	field_list_clear(&list);
}

static void test_gzip_by_header_and_magic(void **state)
{
	struct byte_buffer gzip = compress_with(coded_json, strlen(coded_json), 31);

	check_coded_body("gzip", "application/json", gzip.data, gzip.bytes, "body.json.user.email",
			 "coded@example.com", "gzip>json");
	check_coded_body("x-gzip", "application/json", gzip.data, gzip.bytes, "body.json.user.email",
			 "coded@example.com", "gzip>json");

	/* PostHog with compression=gzip-js sends gzip as text/plain. */
	check_coded_body(NULL, "text/plain", gzip.data, gzip.bytes, "body.json.user.email", "coded@example.com",
			 "gzip>json");
	check_coded_body("identity", "text/plain", gzip.data, gzip.bytes, "body.json.user.email",
			 "coded@example.com", "gzip>json");
	free(gzip.data);
}

static void test_gzip_members_concatenated(void **state)
{
	struct byte_buffer first = compress_with("{\"a\":\"one\",", 11, 31);
	struct byte_buffer second = compress_with("\"b\":\"two\"}", 10, 31);
	uint8_t *both = malloc(first.bytes + second.bytes);

	assert_non_null(both);
	memcpy(both, first.data, first.bytes);
	memcpy(both + first.bytes, second.data, second.bytes);
	check_coded_body("gzip", "application/json", both, first.bytes + second.bytes, "body.json.b", "two",
			 "gzip>json");

	free(both);
	free(first.data);
	free(second.data);
}

static void test_deflate_zlib_and_raw(void **state)
{
	struct byte_buffer zlib_stream = compress_with(coded_json, strlen(coded_json), 15);
	struct byte_buffer raw = compress_with(coded_json, strlen(coded_json), -15);

	/* A zlib-wrapped body is named gzip in the chain, raw deflate is
	 * named deflate, as extract.h defines the two decodings. */
	check_coded_body("deflate", "application/json", zlib_stream.data, zlib_stream.bytes, "body.json.user.email",
			 "coded@example.com", "gzip>json");
	check_coded_body("deflate", "application/json", raw.data, raw.bytes, "body.json.user.email",
			 "coded@example.com", "deflate>json");
	free(zlib_stream.data);
	free(raw.data);
}

/* {"user":{"email":"br@example.com"}} compressed by libbrotlienc 1.0.9,
 * quality 5, window 22. */
static const uint8_t brotli_json[] = {
	0x1b, 0x22, 0x00, 0x00, 0x04, 0x1c, 0x72, 0xe4, 0x17, 0x8c, 0x22, 0x0e, 0x30, 0x6d, 0xc1, 0x06, 0x1c, 0x38,
	0x04, 0x98, 0xc5, 0xeb, 0xd5, 0x9d, 0x8e, 0x80, 0x30, 0x34, 0x70, 0x2e, 0x52, 0x4b, 0x13, 0x1b, 0xe2, 0x07,
};

/* 64 MiB of zeros compressed by libbrotlienc 1.0.9, quality 5. */
static const uint8_t brotli_zeros_64mib[] = {
	0xcb, 0xff, 0xff, 0x3f, 0x00, 0x24, 0x00, 0xe2, 0xb1, 0x40, 0x72, 0xef, 0xff, 0xf8, 0xff, 0xff, 0x07,
	0x80, 0x04, 0x40, 0x1c, 0x16, 0x80, 0xee, 0xfd, 0x1f, 0xff, 0xff, 0xff, 0x00, 0x90, 0x00, 0x88, 0xc3,
	0x02, 0xd0, 0xbd, 0xff, 0xe3, 0xff, 0xff, 0x1f, 0x00, 0x12, 0x00, 0x71, 0x58, 0x00, 0xba, 0xf7, 0x7f,
	0xfc, 0xff, 0xff, 0x03, 0x40, 0x02, 0x20, 0x0e, 0x0b, 0x40, 0xf7, 0xfe, 0x8f, 0xff, 0xff, 0x7f, 0x00,
	0x48, 0x00, 0xc4, 0x61, 0x01, 0xe8, 0xde, 0xff, 0xf1, 0xff, 0xff, 0x0f, 0x00, 0x09, 0x80, 0x38, 0x2c,
	0x00, 0xdd, 0xfb, 0x3f, 0xfe, 0xff, 0xff, 0x01, 0x20, 0x01, 0x10, 0x87, 0x05, 0xa0, 0x7b, 0xff, 0x37,
};

static void test_brotli(void **state)
{
	check_coded_body("br", "application/json", brotli_json, sizeof(brotli_json), "body.json.user.email",
			 "br@example.com", "br>json");
}

static void test_two_codings(void **state)
{
	struct byte_buffer gzip = compress_with(coded_json, strlen(coded_json), 31);
	struct byte_buffer both = compress_with(gzip.data, gzip.bytes, -15);

	/* "gzip, deflate": gzip was applied first, so deflate is undone
	 * first and comes first in the chain. */
	check_coded_body("gzip, deflate", "application/json", both.data, both.bytes, "body.json.user.email",
			 "coded@example.com", "deflate>gzip>json");
	free(gzip.data);
	free(both.data);
}

static void test_undecodable_codings(void **state)
{
	struct test_request request = {
		.url = "/e",
		.headers = { { "Content-Type", "application/json" }, { "Content-Encoding", "gzip" } },
		.body = "{\"not\":\"compressed\"}",
	};
	struct field_list list;

	/* A body that is not in the coding it names is taken as it is. */
	assert_int_equal(run_request(&request, NULL, &list), 0);
	expect_field(&list, "body.json.not", "compressed", "json");
	field_list_clear(&list);

	request.headers[1][1] = "zstd";
	assert_int_equal(run_request(&request, NULL, &list), 0);
	expect_field(&list, "body.json.not", "compressed", "json");
	field_list_clear(&list);
}

/* ---- decompression bombs ---- */

/*
 * Builds a gzip stream of zeros_mib MiB of zeros in milliseconds. One MiB
 * is compressed once as raw deflate ending in a full flush, which makes it
 * end on a byte boundary and refer to nothing before it (RFC 1951 section
 * 3.2.4, zlib.h Z_FULL_FLUSH), so the same bytes can be repeated. The gzip
 * header and trailer (RFC 1952 section 2.3) wrap the repeats.
 */
static struct byte_buffer gzip_of_zeros(size_t zeros_mib)
{
	static const uint8_t header[10] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff };
	static const uint8_t empty_final_block[] = { 0x03, 0x00 };
	uint8_t *zeros = calloc(1, 1 << 20);
	uint8_t block[4096];
	struct byte_buffer out;
	z_stream stream;
	uLong crc_one;
	uLong crc;
	size_t block_bytes;
	size_t offset;
	size_t i;

	assert_non_null(zeros);
	memset(&stream, 0, sizeof(stream));
	assert_int_equal(deflateInit2(&stream, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
	stream.next_in = zeros;
	stream.avail_in = 1 << 20;
	stream.next_out = block;
	stream.avail_out = sizeof(block);
	assert_int_equal(deflate(&stream, Z_FULL_FLUSH), Z_OK);
	assert_int_equal(stream.avail_in, 0);
	block_bytes = sizeof(block) - stream.avail_out;
	deflateEnd(&stream);

	crc_one = crc32(0, zeros, 1 << 20);
	crc = crc_one;
	for (i = 1; i < zeros_mib; i++)
		crc = crc32_combine(crc, crc_one, 1 << 20);
	free(zeros);

	out.bytes = sizeof(header) + zeros_mib * block_bytes + sizeof(empty_final_block) + 8;
	out.data = malloc(out.bytes);
	assert_non_null(out.data);
	memcpy(out.data, header, sizeof(header));
	offset = sizeof(header);
	for (i = 0; i < zeros_mib; i++, offset += block_bytes)
		memcpy(out.data + offset, block, block_bytes);
	memcpy(out.data + offset, empty_final_block, sizeof(empty_final_block));
	offset += sizeof(empty_final_block);
	for (i = 0; i < 4; i++)
		out.data[offset + i] = (uint8_t)(crc >> (8 * i));
	for (i = 0; i < 4; i++)
		out.data[offset + 4 + i] = (uint8_t)((zeros_mib << 20) >> (8 * i));
	return out;
}

static long max_rss_kib(void)
{
	struct rusage usage;

	assert_int_equal(getrusage(RUSAGE_SELF, &usage), 0);
	return usage.ru_maxrss;
}

/* Extracts a bomb and checks that it stops at the limit: body_cut set,
 * body.raw holding exactly the limit of zeros, little time and memory. */
static void check_bomb(const char *content_encoding, const uint8_t *body, size_t body_bytes)
{
	struct test_request request = { .url = "/bomb", .body = body, .body_kept = body_bytes };
	struct extract_limits limits;
	const struct field *field;
	struct timespec start;
	struct field_list list;
	long rss_before;
	size_t i;

	extract_default_limits(&limits);
	if (content_encoding) {
		request.headers[0][0] = "Content-Encoding";
		request.headers[0][1] = content_encoding;
	}
	print_message("bomb: %s, %zu bytes\n", content_encoding ? content_encoding : "no header", body_bytes);

	rss_before = max_rss_kib();
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(run_request(&request, &limits, &list), 0);
	assert_true(elapsed_seconds(&start) < 2.0);
	/* An unbounded decoding would need 1 GiB. */
	assert_true(max_rss_kib() - rss_before < 256 * 1024);

	assert_true(list.body_cut);
	field = expect_field(&list, "body.raw", NULL, NULL);
	assert_int_equal(field->value_bytes, limits.max_decoded_body_bytes);
	for (i = 0; i < field->value_bytes; i++) {
		if (field->value[i] != 0)
			fail_msg("byte %zu of the decoded bomb is not zero", i);
	}
	field_list_clear(&list);
}

static void test_decompression_bombs(void **state)
{
	struct byte_buffer inner = gzip_of_zeros(1024);
	struct byte_buffer outer = compress_with(inner.data, inner.bytes, 31);

	/* The inner stream is about 1 MiB and the outer one about 2.5 KiB.
	 * Both decode to 1 GiB of zeros. */
	print_message("1 GiB of zeros: gzip %zu bytes, gzip of gzip %zu bytes\n", inner.bytes, outer.bytes);
	assert_true(outer.bytes < 4096);

	check_bomb("gzip", inner.data, inner.bytes);
	check_bomb(NULL, inner.data, inner.bytes);
	check_bomb("gzip, gzip", outer.data, outer.bytes);
	check_bomb("br", brotli_zeros_64mib, sizeof(brotli_zeros_64mib));

	free(inner.data);
	free(outer.data);
}

static void test_body_limit_exact(void **state)
{
	struct byte_buffer gzip = compress_with("0123456789", 10, 31);
	struct test_request request = {
		.url = "/l",
		.headers = { { "Content-Encoding", "gzip" }, { "Content-Type", "text/plain" } },
		.body = gzip.data,
		.body_kept = gzip.bytes,
	};
	struct extract_limits limits;
	struct field_list list;

	/* A body that decodes to exactly the limit is whole. */
	extract_default_limits(&limits);
	limits.max_decoded_body_bytes = 10;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.raw", "0123456789", "gzip");
	assert_false(list.body_cut);
	field_list_clear(&list);

	limits.max_decoded_body_bytes = 9;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.raw", "012345678", "gzip");
	assert_true(list.body_cut);
	field_list_clear(&list);

	/* The limit applies to a body without coding as well. */
	request.headers[0][1] = "identity";
	request.body = "abcdefghijkl";
	request.body_kept = 0;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.raw", "abcdefghi", "");
	assert_true(list.body_cut);
	field_list_clear(&list);
	free(gzip.data);
}

static void test_body_cut_by_stream(void **state)
{
	struct test_request request = {
		.url = "/l",
		.headers = { { "Content-Type", "application/json" } },
		.body = "{\"a\":",
		.body_bytes = 4000,
	};
	struct field_list list;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	assert_true(list.body_cut);
	expect_field(&list, "body.raw", "{\"a\":", "");
	field_list_clear(&list);
}

/* ---- limits ---- */

static void test_max_fields(void **state)
{
	char body[2048];
	struct test_request request = {
		.url = "/m",
		.headers = { { "Content-Type", "application/json" } },
		.body = body,
	};
	struct extract_limits limits;
	struct field_list list;
	size_t length;
	int i;

	length = (size_t)snprintf(body, sizeof(body), "[");
	for (i = 0; i < 100; i++)
		length += (size_t)snprintf(body + length, sizeof(body) - length, "%s%d", i ? "," : "", i);
	snprintf(body + length, sizeof(body) - length, "]");

	extract_default_limits(&limits);
	limits.max_fields = 10;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	assert_int_equal(list.count, 10);
	assert_true(list.fields_cut);
	expect_field(&list, "body.json[8]", "8", "json");
	field_list_clear(&list);

	/* Exactly as many fields as the limit is not a cut. */
	limits.max_fields = 3 + 100; /* url.path and the two query fields */
	request.url = "/m?a=1&b=2";
	assert_int_equal(run_request(&request, &limits, &list), 0);
	assert_int_equal(list.count, 103);
	assert_false(list.fields_cut);
	field_list_clear(&list);
}

static void test_max_depth(void **state)
{
	/* data is URL-encoded JSON whose "p" is base64 of JSON. */
	struct test_request request = {
		.url = "/d",
		.headers = { { "Content-Type", "application/x-www-form-urlencoded" } },
		.body = "data=%7B%22k%22%3A%22v%22%2C%22p%22%3A%22eyJ1c2VyIjoiYUBiLmMifQ%3D%3D%22%7D",
	};
	struct extract_limits limits;
	struct field_list list;

	extract_default_limits(&limits);
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.form.data.p.user", "a@b.c", "form>url>json>base64>json");
	assert_false(list.fields_cut);
	field_list_clear(&list);

	limits.max_depth = 2;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.form.data.p", "{\"user\":\"a@b.c\"}", "form>url>json>base64");
	expect_no_prefix(&list, "body.form.data.p.user");
	assert_true(list.fields_cut);
	field_list_clear(&list);

	limits.max_depth = 0;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	expect_field(&list, "body.form.data", NULL, "form>url");
	expect_no_prefix(&list, "body.form.data.");
	assert_true(list.fields_cut);
	field_list_clear(&list);
}

static void test_chain_length_bounded(void **state)
{
	/* "x%40y" percent-encoded twelve times over: each decoding removes
	 * one "25". */
	char url[256];
	struct test_request request = { .url = url };
	struct extract_limits limits;
	struct field_list list;
	size_t longest = 0;
	size_t i;

	strcpy(url, "/c?v=x%");
	for (i = 0; i < 11; i++)
		strcat(url, "25");
	strcat(url, "40y");

	extract_default_limits(&limits);
	limits.max_depth = 100;
	assert_int_equal(run_request(&request, &limits, &list), 0);
	check_list_invariants(&list);
	for (i = 0; i < list.count; i++) {
		if (list.fields[i].decoding_count > longest)
			longest = list.fields[i].decoding_count;
	}
	assert_int_equal(longest, FIELD_MAX_DECODINGS);
	assert_true(list.fields_cut);
	expect_no_prefix(&list, "query.v.");
	field_list_clear(&list);
}

static void test_long_paths_cut(void **state)
{
	/* 600 nested arrays make a path of 1800 bytes, over the path limit. */
	char body[1300];
	struct test_request request = {
		.url = "/p",
		.headers = { { "Content-Type", "application/json" } },
		.body = body,
	};
	struct field_list list;

	memset(body, '[', 600);
	body[600] = '1';
	memset(body + 601, ']', 600);
	body[1201] = '\0';

	assert_int_equal(run_request(&request, NULL, &list), 0);
	check_list_invariants(&list);
	expect_no_prefix(&list, "body.json");
	assert_true(list.fields_cut);
	field_list_clear(&list);
}

/* ---- malformed input cut at every byte ---- */

static void extract_every_prefix(const char *content_type, const char *content_encoding, const uint8_t *body,
				 size_t body_bytes)
{
	struct test_request request = { .url = "/x?d=%7B%22a%22%3A1%7D", .body = body };
	struct field_list list;
	size_t kept;

	request.headers[0][0] = "Content-Type";
	request.headers[0][1] = content_type;
	if (content_encoding) {
		request.headers[1][0] = "Content-Encoding";
		request.headers[1][1] = content_encoding;
	}

	for (kept = 1; kept <= body_bytes; kept++) {
		request.body_kept = kept;
		request.body_bytes = body_bytes;
		assert_int_equal(run_request(&request, NULL, &list), 0);
		check_list_invariants(&list);
		assert_true(list.body_cut == (kept < body_bytes));
		field_list_clear(&list);
	}
}

static void test_truncated_bodies(void **state)
{
	static const char json[] = "{\"u\":{\"e\":\"a%40b\",\"l\":[1,2.5,\"eyJhIjoxfQ\"]},\"q\":\"a=1&b=2\"}";
	static const char ndjson[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":\"x\"}\n";
	static const char multipart[] = MULTIPART_TWO_PARTS;
	static const char form[] = "a=%7B%22b%22%3A%22YUBiLmNvbQ%3D%3D%22%7D&c=%zz&d=1";
	struct byte_buffer gzip = compress_with(json, strlen(json), 31);
	struct byte_buffer raw = compress_with(json, strlen(json), -15);

	extract_every_prefix("application/json", NULL, (const uint8_t *)json, strlen(json));
	extract_every_prefix("text/plain", NULL, (const uint8_t *)ndjson, strlen(ndjson));
	extract_every_prefix("multipart/form-data; boundary=XyZ", NULL, (const uint8_t *)multipart,
			     strlen(multipart));
	extract_every_prefix("application/x-www-form-urlencoded", NULL, (const uint8_t *)form, strlen(form));
	extract_every_prefix("application/json", "gzip", gzip.data, gzip.bytes);
	extract_every_prefix("application/json", "deflate", raw.data, raw.bytes);
	extract_every_prefix("application/json", "br", brotli_json, sizeof(brotli_json));
	free(gzip.data);
	free(raw.data);
}

static void test_truncated_gzip_keeps_prefix(void **state)
{
	static const char text[] = "{\"k\":\"a fairly long value that compresses to several bytes\"}";
	struct byte_buffer gzip = compress_with(text, strlen(text), 31);
	struct test_request request = {
		.url = "/g",
		.headers = { { "Content-Encoding", "gzip" }, { "Content-Type", "text/plain" } },
		.body = gzip.data,
		.body_kept = gzip.bytes - 8, /* without the trailer */
		.body_bytes = gzip.bytes,
	};
	struct field_list list;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	assert_true(list.body_cut);
	expect_field(&list, "body.json.k", "a fairly long value that compresses to several bytes", "gzip>json");
	field_list_clear(&list);
	free(gzip.data);
}

/* ---- edges ---- */

static void test_empty_request(void **state)
{
	struct test_request request = { .url = NULL };
	struct field_list list;

	assert_int_equal(run_request(&request, NULL, &list), 0);
	assert_int_equal(list.count, 0);
	assert_false(list.body_cut);
	assert_false(list.fields_cut);
	field_list_clear(&list);
	field_list_clear(&list);
}

static void test_decoding_names(void **state)
{
	assert_string_equal(field_decoding_name(FIELD_DECODING_URL), "url");
	assert_string_equal(field_decoding_name(FIELD_DECODING_BASE64), "base64");
	assert_string_equal(field_decoding_name(FIELD_DECODING_BASE64URL), "base64url");
	assert_string_equal(field_decoding_name(FIELD_DECODING_JSON), "json");
	assert_string_equal(field_decoding_name(FIELD_DECODING_QUERY), "query");
	assert_string_equal(field_decoding_name(FIELD_DECODING_FORM), "form");
	assert_string_equal(field_decoding_name(FIELD_DECODING_MULTIPART), "multipart");
	assert_string_equal(field_decoding_name(FIELD_DECODING_NDJSON), "ndjson");
	assert_string_equal(field_decoding_name(FIELD_DECODING_GZIP), "gzip");
	assert_string_equal(field_decoding_name(FIELD_DECODING_DEFLATE), "deflate");
	assert_string_equal(field_decoding_name(FIELD_DECODING_BROTLI), "br");
	assert_string_equal(field_decoding_name((enum field_decoding)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_table),
		cmocka_unit_test(test_fields_in_request_order),
		cmocka_unit_test(test_nested_fields_keep_source),
		cmocka_unit_test(test_nul_bytes_in_values),
		cmocka_unit_test(test_gzip_by_header_and_magic),
		cmocka_unit_test(test_gzip_members_concatenated),
		cmocka_unit_test(test_deflate_zlib_and_raw),
		cmocka_unit_test(test_brotli),
		cmocka_unit_test(test_two_codings),
		cmocka_unit_test(test_undecodable_codings),
		cmocka_unit_test(test_decompression_bombs),
		cmocka_unit_test(test_body_limit_exact),
		cmocka_unit_test(test_body_cut_by_stream),
		cmocka_unit_test(test_max_fields),
		cmocka_unit_test(test_max_depth),
		cmocka_unit_test(test_chain_length_bounded),
		cmocka_unit_test(test_long_paths_cut),
		cmocka_unit_test(test_truncated_bodies),
		cmocka_unit_test(test_truncated_gzip_keeps_prefix),
		cmocka_unit_test(test_empty_request),
		cmocka_unit_test(test_decoding_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

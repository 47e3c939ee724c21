/* Unit tests of the HAR reader: entries, bodies, times, damaged files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "source/har.h"

struct recorded {
	char method[16];
	char url[256];
	char body[256];
	size_t body_bytes;
	size_t header_count;
	uint64_t started_ns;
	int status;
	int64_t response_body_bytes;
};

struct recorder {
	struct recorded entries[8];
	size_t count;
};

static int record(void *user, const struct har_entry *entry)
{
	struct recorder *recorder = user;
	struct recorded *copy;

	if (recorder->count == 8)
		return -E2BIG;
	copy = &recorder->entries[recorder->count++];
	snprintf(copy->method, sizeof(copy->method), "%s", entry->method);
	snprintf(copy->url, sizeof(copy->url), "%s", entry->url);
	memcpy(copy->body, entry->body ? (const char *)entry->body : "", entry->body_bytes < 255 ? entry->body_bytes : 255);
	copy->body_bytes = entry->body_bytes;
	copy->header_count = entry->header_count;
	copy->started_ns = entry->started_ns;
	copy->status = entry->status;
	copy->response_body_bytes = entry->response_body_bytes;
	return 0;
}

static char *write_file(const char *text, size_t length)
{
	char *path = strdup("/tmp/plainsight-har-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, length), (ssize_t)length);
	close(fd);
	return path;
}

/* "entries" inside a page title and a "log" key inside a page must not be
 * taken for log.entries. */
static const char sample[] =
	"{\"log\": {\"version\": \"1.2\", \"pages\": [{\"title\": \"entries [\", \"log\": {\"entries\": []}}],\n"
	" \"entries\": [\n"
	"  {\"startedDateTime\": \"2026-12-04T21:01:06.250+01:00\", \"request\": {\"method\": \"POST\",\n"
	"   \"url\": \"https://t.example/tr?id=1\", \"httpVersion\": \"h2\",\n"
	"   \"headers\": [{\"name\": \"content-type\", \"value\": \"text/plain\"}, {\"name\": \"x\", \"value\": \"}\"}],\n"
	"   \"postData\": {\"mimeType\": \"text/plain\", \"text\": \"eyJlbSI6ImFkYSJ9\", \"encoding\": \"base64\"}},\n"
	"   \"response\": {\"status\": 204, \"content\": {\"size\": 0}}},\n"
	"  {\"startedDateTime\": \"bad\", \"request\": {\"method\": \"POST\", \"url\": \"https://f.example/\",\n"
	"   \"headers\": [], \"postData\": {\"params\": [{\"name\": \"a\", \"value\": \"1\"}, {\"name\": \"b\", \"value\": \"x y\"}]}},\n"
	"   \"response\": {\"status\": 0}}\n"
	" ]}}\n";

static void test_entries_read(void **state)
{
	struct recorder recorder = { 0 };
	struct har_status status;
	char *path = write_file(sample, strlen(sample));

	assert_true(har_file_looks_like(path));
	assert_int_equal(har_read(path, record, &recorder, &status), 0);
	assert_true(status.complete);
	assert_int_equal(status.entries, 2);
	assert_int_equal(recorder.count, 2);

	assert_string_equal(recorder.entries[0].method, "POST");
	assert_string_equal(recorder.entries[0].url, "https://t.example/tr?id=1");
	assert_int_equal(recorder.entries[0].header_count, 2);
	assert_int_equal(recorder.entries[0].body_bytes, strlen("{\"em\":\"ada\"}"));
	assert_memory_equal(recorder.entries[0].body, "{\"em\":\"ada\"}", recorder.entries[0].body_bytes);
	/* 21:01:06.250 at +01:00 is 20:01:06.250 UTC. */
	assert_int_equal(recorder.entries[0].started_ns, 1796414466250000000ull);
	assert_int_equal(recorder.entries[0].status, 204);
	assert_int_equal(recorder.entries[0].response_body_bytes, 0);

	assert_string_equal(recorder.entries[1].body, "a=1&b=x y");
	assert_int_equal(recorder.entries[1].started_ns, 0);
	assert_int_equal(recorder.entries[1].status, 0);

	unlink(path);
	free(path);
}

static void test_truncated_keeps_entries(void **state)
{
	const char *second = strstr(sample, "{\"startedDateTime\": \"bad\"");
	const char *second_end = strstr(sample, "\n ]}}");

	/* Cut at every byte of the second entry: the first still comes out. */
	for (size_t cut = (size_t)(second - sample); cut < (size_t)(second_end - sample); cut++) {
		struct recorder recorder = { 0 };
		struct har_status status;
		char *path = write_file(sample, cut);
		int result = har_read(path, record, &recorder, &status);

		assert_int_equal(result, -EIO);
		assert_false(status.complete);
		assert_int_equal(recorder.count, 1);
		assert_non_null(strstr(status.error, "truncated"));
		unlink(path);
		free(path);
	}
}

static void test_not_a_har(void **state)
{
	struct recorder recorder = { 0 };
	struct har_status status;
	char *path = write_file("{\"a\": [1, 2]}", 13);

	assert_int_equal(har_read(path, record, &recorder, &status), -EBADMSG);
	assert_non_null(strstr(status.error, "no log.entries"));
	unlink(path);
	free(path);

	path = write_file("PSARCHIV", 8);
	assert_false(har_file_looks_like(path));
	unlink(path);
	free(path);
}

static void test_invalid_entry_stops(void **state)
{
	static const char text[] = "{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \"https://a/\"}},"
				   " {\"request\": {\"url\": \"https://b/\"}}, {\"request\": {\"method\": \"GET\", "
				   "\"url\": \"https://c/\"}}]}}";
	struct recorder recorder = { 0 };
	struct har_status status;
	char *path = write_file(text, strlen(text));

	assert_int_equal(har_read(path, record, &recorder, &status), -EBADMSG);
	assert_int_equal(recorder.count, 1);
	assert_non_null(strstr(status.error, "entry 1"));
	unlink(path);
	free(path);
}

static void test_missing_file(void **state)
{
	struct recorder recorder = { 0 };
	struct har_status status;

	assert_int_equal(har_read("/nonexistent/x.har", record, &recorder, &status), -ENOENT);
	assert_non_null(strstr(status.error, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_read),
		cmocka_unit_test(test_truncated_keeps_entries),
		cmocka_unit_test(test_not_a_har),
		cmocka_unit_test(test_invalid_entry_stops),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

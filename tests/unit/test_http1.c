/*
 * Unit tests of the HTTP/1 parser (agent/stream/http1.c).
 *
 * Every example is parsed whole, then split in two at every byte offset
 * (large ones at fewer, see next_split), then fed one byte at a time. All
 * runs must report the same messages and the same garbage. Each test then
 * checks the fields of the whole run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream/http1.h"

#define MAX_RECORDED 16
/* More than the field lines of any example. */
#define MAX_RECORDED_HEADERS 16

struct recorded_message {
	enum h1_kind kind;
	char *method;
	char *target;
	int status_code;
	char *reason;
	int version_major;
	int version_minor;
	size_t header_count;
	char *names[MAX_RECORDED_HEADERS];
	char *values[MAX_RECORDED_HEADERS];
	/* h1_message_header(message, "HOST"), to check the lookup ignores case. */
	char *host;
	uint64_t body_bytes;
	uint8_t *body;
	size_t body_kept;
	uint64_t start_offset;
	uint64_t end_offset;
	uint64_t lost_bytes;
	bool chunked;
	bool keep_alive;
	bool truncated;
};

struct recorded_garbage {
	uint64_t offset;
	uint64_t bytes;
};

struct recording {
	struct recorded_message messages[MAX_RECORDED];
	size_t message_count;
	struct recorded_garbage garbage[MAX_RECORDED];
	size_t garbage_count;

	/* Return values for response_is_bodyless, one per response head in
	 * order. It returns false once they run out. */
	const bool *bodyless;
	size_t bodyless_count;
	size_t bodyless_calls;
};

/* A piece of stream: bytes, or a gap of `bytes` lost bytes when data is NULL. */
struct step {
	const char *data;
	size_t bytes;
};

#define DATA(text) { .data = (text), .bytes = sizeof(text) - 1 }
#define GAP(count) { .data = NULL, .bytes = (count) }

struct example {
	enum h1_kind kind;
	const struct step *steps;
	size_t step_count;
	size_t body_keep_bytes;
	const bool *bodyless;
	size_t bodyless_count;
	/* Call h1_parser_finish after the last step. */
	bool finish;
};

enum split_mode {
	SPLIT_NONE,
	SPLIT_AT,
	SPLIT_EVERY_BYTE,
};

static char *copy_text(const char *text)
{
	char *copy;

	if (!text)
		return NULL;
	copy = strdup(text);
	assert_non_null(copy);
	return copy;
}

static void on_message(void *user, const struct h1_message *message)
{
	struct recording *recording = user;
	struct recorded_message *copy;
	size_t i;

	assert_true(recording->message_count < MAX_RECORDED);
	assert_true(message->header_count <= MAX_RECORDED_HEADERS);
	copy = &recording->messages[recording->message_count++];

	copy->kind = message->kind;
	copy->method = copy_text(message->method);
	copy->target = copy_text(message->target);
	copy->status_code = message->status_code;
	copy->reason = copy_text(message->reason);
	copy->version_major = message->version_major;
	copy->version_minor = message->version_minor;
	copy->header_count = message->header_count;
	for (i = 0; i < message->header_count; i++) {
		copy->names[i] = copy_text(message->headers[i].name);
		copy->values[i] = copy_text(message->headers[i].value);
	}
	copy->host = copy_text(h1_message_header(message, "HOST"));

	copy->body_bytes = message->body_bytes;
	copy->body_kept = message->body_kept;
	if (message->body_kept > 0) {
		copy->body = malloc(message->body_kept);
		assert_non_null(copy->body);
		memcpy(copy->body, message->body, message->body_kept);
	}

	copy->start_offset = message->start_offset;
	copy->end_offset = message->end_offset;
	copy->lost_bytes = message->lost_bytes;
	copy->chunked = message->chunked;
	copy->keep_alive = message->keep_alive;
	copy->truncated = message->truncated;
}

static void on_garbage(void *user, uint64_t offset, uint64_t bytes)
{
	struct recording *recording = user;

	assert_true(recording->garbage_count < MAX_RECORDED);
	recording->garbage[recording->garbage_count].offset = offset;
	recording->garbage[recording->garbage_count].bytes = bytes;
	recording->garbage_count++;
}

static bool response_is_bodyless(void *user, const struct h1_message *response)
{
	struct recording *recording = user;
	size_t index = recording->bodyless_calls++;

	return index < recording->bodyless_count && recording->bodyless[index];
}

static const struct h1_parser_ops test_ops = {
	.response_is_bodyless = response_is_bodyless,
	.on_message = on_message,
	.on_garbage = on_garbage,
};

static void recording_free(struct recording *recording)
{
	size_t i, j;

	for (i = 0; i < recording->message_count; i++) {
		struct recorded_message *message = &recording->messages[i];

		free(message->method);
		free(message->target);
		free(message->reason);
		for (j = 0; j < message->header_count; j++) {
			free(message->names[j]);
			free(message->values[j]);
		}
		free(message->host);
		free(message->body);
	}
	memset(recording, 0, sizeof(*recording));
}

static void feed(struct h1_parser *parser, const char *data, size_t bytes)
{
	assert_int_equal(h1_parser_feed(parser, (const uint8_t *)data, bytes), 0);
}

/* Runs an example through a new parser. With SPLIT_AT, the data step that
 * contains data byte split_at (counted over all data steps) is fed in two
 * calls split before that byte. */
static void run_example(const struct example *example, enum split_mode mode, size_t split_at,
			struct recording *recording)
{
	struct h1_parser *parser;
	size_t position = 0;
	size_t i, j;

	memset(recording, 0, sizeof(*recording));
	recording->bodyless = example->bodyless;
	recording->bodyless_count = example->bodyless_count;
	parser = h1_parser_new(example->kind, &test_ops, recording, example->body_keep_bytes);
	assert_non_null(parser);

	for (i = 0; i < example->step_count; i++) {
		const struct step *step = &example->steps[i];

		if (!step->data) {
			h1_parser_gap(parser, step->bytes);
			continue;
		}

		if (mode == SPLIT_EVERY_BYTE) {
			for (j = 0; j < step->bytes; j++)
				feed(parser, step->data + j, 1);
		} else if (mode == SPLIT_AT && split_at >= position && split_at < position + step->bytes) {
			feed(parser, step->data, split_at - position);
			feed(parser, step->data + (split_at - position), step->bytes - (split_at - position));
		} else {
			feed(parser, step->data, step->bytes);
		}
		position += step->bytes;
	}

	if (example->finish)
		h1_parser_finish(parser);
	h1_parser_free(parser);
}

/* Where a comparison runs, for the message printed before a failed assert. */
static char comparison[64];

#define SAME_NUMBER(field)                                                                   \
	do {                                                                                 \
		if (expected->field != actual->field)                                        \
			print_error("%s: %s differs\n", comparison, #field);                 \
		assert_int_equal(expected->field, actual->field);                            \
	} while (0)

static void assert_same_text(const char *expected, const char *actual, const char *field_name)
{
	if (!expected || !actual) {
		if (expected != actual)
			print_error("%s: %s is NULL in one run only\n", comparison, field_name);
		assert_ptr_equal(expected, actual);
		return;
	}
	if (strcmp(expected, actual) != 0)
		print_error("%s: %s differs\n", comparison, field_name);
	assert_string_equal(expected, actual);
}

static void assert_same_message(const struct recorded_message *expected, const struct recorded_message *actual)
{
	size_t i;

	SAME_NUMBER(kind);
	assert_same_text(expected->method, actual->method, "method");
	assert_same_text(expected->target, actual->target, "target");
	SAME_NUMBER(status_code);
	assert_same_text(expected->reason, actual->reason, "reason");
	SAME_NUMBER(version_major);
	SAME_NUMBER(version_minor);
	SAME_NUMBER(header_count);
	for (i = 0; i < expected->header_count; i++) {
		assert_same_text(expected->names[i], actual->names[i], "header name");
		assert_same_text(expected->values[i], actual->values[i], "header value");
	}
	assert_same_text(expected->host, actual->host, "Host lookup");
	SAME_NUMBER(body_bytes);
	SAME_NUMBER(body_kept);
	if (expected->body_kept > 0)
		assert_memory_equal(expected->body, actual->body, expected->body_kept);
	SAME_NUMBER(start_offset);
	SAME_NUMBER(end_offset);
	SAME_NUMBER(lost_bytes);
	SAME_NUMBER(chunked);
	SAME_NUMBER(keep_alive);
	SAME_NUMBER(truncated);
}

static void assert_same_recording(const struct recording *expected, const struct recording *actual)
{
	size_t i;

	SAME_NUMBER(message_count);
	for (i = 0; i < expected->message_count; i++)
		assert_same_message(&expected->messages[i], &actual->messages[i]);

	SAME_NUMBER(garbage_count);
	for (i = 0; i < expected->garbage_count; i++) {
		SAME_NUMBER(garbage[i].offset);
		SAME_NUMBER(garbage[i].bytes);
	}
}

/*
 * Splitting a 64 KiB head at every offset would parse it 65536 times. Large
 * examples are therefore split at every offset only in the SPLIT_DENSE_BYTES
 * at each end, where their limits and next messages are. In the middle they
 * are split at every SPLIT_STRIDE-th offset.
 */
#define SPLIT_DENSE_BYTES 4096
#define SPLIT_STRIDE 61

static size_t next_split(size_t offset, size_t data_bytes)
{
	if (offset < SPLIT_DENSE_BYTES || offset + SPLIT_DENSE_BYTES >= data_bytes)
		return offset + 1;
	return offset + SPLIT_STRIDE;
}

/* Runs the example whole into `whole`, and checks that its splits (see
 * next_split) and the byte-by-byte run report the same. */
static void run_all_splits(const struct example *example, struct recording *whole)
{
	struct recording split;
	size_t data_bytes = 0;
	size_t i;

	run_example(example, SPLIT_NONE, 0, whole);

	for (i = 0; i < example->step_count; i++) {
		if (example->steps[i].data)
			data_bytes += example->steps[i].bytes;
	}

	for (i = 0; i < data_bytes; i = next_split(i, data_bytes)) {
		snprintf(comparison, sizeof(comparison), "split at byte %zu", i);
		run_example(example, SPLIT_AT, i, &split);
		assert_same_recording(whole, &split);
		recording_free(&split);
	}

	snprintf(comparison, sizeof(comparison), "byte by byte");
	run_example(example, SPLIT_EVERY_BYTE, 0, &split);
	assert_same_recording(whole, &split);
	recording_free(&split);
}

#define EXAMPLE(kind_, steps_)                                                                \
	{                                                                                     \
		.kind = (kind_), .steps = (steps_), .step_count = sizeof(steps_) / sizeof((steps_)[0]), \
		.body_keep_bytes = 1024, .finish = true,                                      \
	}

#define LENGTH(text) (sizeof(text) - 1)

/* ---- requests ---- */

#define SIMPLE_GET                                                                            \
	"GET /index.html?q=1 HTTP/1.1\r\n"                                                    \
	"Host: example.com\r\n"                                                               \
	"User-Agent:   test agent  \r\n"                                                      \
	"Accept: */*\r\n"                                                                     \
	"\r\n"

static void test_get_simple(void **state)
{
	static const struct step steps[] = { DATA(SIMPLE_GET) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;
	struct recorded_message *m = &r.messages[0];

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.garbage_count, 0);
	assert_int_equal(m->kind, H1_REQUEST);
	assert_string_equal(m->method, "GET");
	assert_string_equal(m->target, "/index.html?q=1");
	assert_null(m->reason);
	assert_int_equal(m->version_major, 1);
	assert_int_equal(m->version_minor, 1);
	assert_int_equal(m->header_count, 3);
	assert_string_equal(m->names[0], "Host");
	assert_string_equal(m->values[0], "example.com");
	assert_string_equal(m->names[1], "User-Agent");
	assert_string_equal(m->values[1], "test agent");
	assert_string_equal(m->names[2], "Accept");
	assert_string_equal(m->values[2], "*/*");
	assert_string_equal(m->host, "example.com");
	assert_int_equal(m->body_bytes, 0);
	assert_int_equal(m->body_kept, 0);
	assert_int_equal(m->start_offset, 0);
	assert_int_equal(m->end_offset, LENGTH(SIMPLE_GET));
	assert_int_equal(m->lost_bytes, 0);
	assert_false(m->chunked);
	assert_true(m->keep_alive);
	assert_false(m->truncated);
	recording_free(&r);
}

#define POST_HEAD                                                                             \
	"POST /submit HTTP/1.1\r\n"                                                           \
	"Host: a.example\r\n"                                                                 \
	"Content-Length: 11\r\n"                                                              \
	"Content-Type: text/plain\r\n"                                                        \
	"\r\n"
#define NEXT_GET "GET /next HTTP/1.1\r\nHost: a.example\r\n\r\n"

static void test_post_content_length(void **state)
{
	static const struct step steps[] = { DATA(POST_HEAD "hello world" NEXT_GET) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_string_equal(r.messages[0].method, "POST");
	assert_int_equal(r.messages[0].body_bytes, 11);
	assert_int_equal(r.messages[0].body_kept, 11);
	assert_memory_equal(r.messages[0].body, "hello world", 11);
	assert_int_equal(r.messages[0].end_offset, LENGTH(POST_HEAD) + 11);
	assert_false(r.messages[0].truncated);
	assert_string_equal(r.messages[1].target, "/next");
	assert_int_equal(r.messages[1].start_offset, LENGTH(POST_HEAD) + 11);
	assert_int_equal(r.messages[1].body_bytes, 0);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define PIPELINED_A "GET /a HTTP/1.1\r\nHost: p.example\r\n\r\n"
#define PIPELINED_B "POST /b HTTP/1.1\r\nHost: p.example\r\nContent-Length: 2\r\n\r\nhi"
#define PIPELINED_C "DELETE /c HTTP/1.1\r\nHost: p.example\r\nConnection: close\r\n\r\n"

static void test_pipelined_requests(void **state)
{
	static const struct step steps[] = { DATA(PIPELINED_A PIPELINED_B PIPELINED_C) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 3);
	assert_string_equal(r.messages[0].target, "/a");
	assert_string_equal(r.messages[1].target, "/b");
	assert_string_equal(r.messages[2].method, "DELETE");
	assert_string_equal(r.messages[2].target, "/c");
	assert_int_equal(r.messages[0].start_offset, 0);
	assert_int_equal(r.messages[0].end_offset, LENGTH(PIPELINED_A));
	assert_int_equal(r.messages[1].start_offset, LENGTH(PIPELINED_A));
	assert_int_equal(r.messages[1].end_offset, LENGTH(PIPELINED_A PIPELINED_B));
	assert_int_equal(r.messages[1].body_bytes, 2);
	assert_int_equal(r.messages[2].start_offset, LENGTH(PIPELINED_A PIPELINED_B));
	assert_int_equal(r.messages[2].end_offset, LENGTH(PIPELINED_A PIPELINED_B PIPELINED_C));
	assert_true(r.messages[0].keep_alive);
	assert_false(r.messages[2].keep_alive);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define BARE_LF_POST "POST /x HTTP/1.0\nHost: lf.example\nContent-Length: 3\n\nabc"
#define BARE_LF_GET "GET /y HTTP/1.1\nHost: lf.example\n\n"

static void test_bare_lf(void **state)
{
	static const struct step steps[] = { DATA(BARE_LF_POST BARE_LF_GET) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].version_minor, 0);
	assert_int_equal(r.messages[0].header_count, 2);
	assert_string_equal(r.messages[0].host, "lf.example");
	assert_int_equal(r.messages[0].body_bytes, 3);
	assert_memory_equal(r.messages[0].body, "abc", 3);
	assert_false(r.messages[0].keep_alive);
	assert_int_equal(r.messages[0].end_offset, LENGTH(BARE_LF_POST));
	assert_string_equal(r.messages[1].target, "/y");
	assert_int_equal(r.messages[1].end_offset, LENGTH(BARE_LF_POST BARE_LF_GET));
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

static void test_keep_alive_defaults(void **state)
{
	static const struct step steps[] = { DATA("GET /1 HTTP/1.0\r\n\r\n"
						  "GET /2 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
						  "GET /3 HTTP/1.1\r\n\r\n"
						  "GET /4 HTTP/1.1\r\nConnection: Upgrade, close\r\n\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 4);
	assert_false(r.messages[0].keep_alive);
	assert_true(r.messages[1].keep_alive);
	assert_true(r.messages[2].keep_alive);
	assert_false(r.messages[3].keep_alive);
	recording_free(&r);
}

static void test_obs_fold_joined(void **state)
{
	static const struct step steps[] = { DATA("GET /f HTTP/1.1\r\n"
						  "X-Long: first\r\n"
						  "   second \r\n"
						  "\tthird\r\n"
						  "Host: f.example\r\n"
						  "\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].header_count, 2);
	assert_string_equal(r.messages[0].names[0], "X-Long");
	assert_string_equal(r.messages[0].values[0], "first second third");
	assert_string_equal(r.messages[0].host, "f.example");
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define CHUNKED_REQUEST_HEAD                                                                  \
	"POST /c HTTP/1.1\r\n"                                                                \
	"Transfer-Encoding: chunked\r\n"                                                      \
	"\r\n"
#define CHUNKED_REQUEST CHUNKED_REQUEST_HEAD "3\r\nabc\r\n0\r\n\r\n"

static void test_chunked_then_next_request(void **state)
{
	static const struct step steps[] = { DATA(CHUNKED_REQUEST "GET /after HTTP/1.1\r\n\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].chunked);
	assert_int_equal(r.messages[0].body_bytes, 3);
	assert_int_equal(r.messages[0].end_offset, LENGTH(CHUNKED_REQUEST));
	assert_string_equal(r.messages[1].target, "/after");
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

/* ---- responses ---- */

#define CHUNKED_HEAD                                                                          \
	"HTTP/1.1 200 OK\r\n"                                                                 \
	"Transfer-Encoding: gzip, Chunked\r\n"                                                \
	"Content-Type: text/plain\r\n"                                                        \
	"\r\n"
#define CHUNKED_BODY                                                                          \
	"5;name=value\r\nhello\r\n"                                                           \
	"6 ; a=1;b=\"x y\"\r\n world\r\n"                                                     \
	"000;last\r\n"                                                                        \
	"Expires: never\r\n"                                                                  \
	"X-Checksum: abc\r\n"                                                                 \
	"\r\n"
#define NO_CONTENT "HTTP/1.1 204 No Content\r\n\r\n"

static void test_chunked_extensions_trailers(void **state)
{
	static const struct step steps[] = { DATA(CHUNKED_HEAD CHUNKED_BODY NO_CONTENT) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;
	struct recorded_message *m = &r.messages[0];

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(m->status_code, 200);
	assert_string_equal(m->reason, "OK");
	assert_null(m->method);
	assert_true(m->chunked);
	assert_int_equal(m->body_bytes, 11);
	assert_int_equal(m->body_kept, 11);
	assert_memory_equal(m->body, "hello world", 11);
	assert_int_equal(m->header_count, 2);
	assert_int_equal(m->end_offset, LENGTH(CHUNKED_HEAD CHUNKED_BODY));
	assert_false(m->truncated);
	assert_true(m->keep_alive);
	assert_int_equal(r.messages[1].status_code, 204);
	assert_int_equal(r.messages[1].start_offset, LENGTH(CHUNKED_HEAD CHUNKED_BODY));
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define UNTIL_CLOSE_HEAD "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n"
#define UNTIL_CLOSE_BODY "<html>\r\nHTTP/1.1 200 OK\r\n</html>\r\n"

static void test_response_until_close(void **state)
{
	static const struct step steps[] = { DATA(UNTIL_CLOSE_HEAD UNTIL_CLOSE_BODY) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;
	struct recorded_message *m = &r.messages[0];

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(m->version_minor, 0);
	assert_int_equal(m->body_bytes, LENGTH(UNTIL_CLOSE_BODY));
	assert_memory_equal(m->body, UNTIL_CLOSE_BODY, LENGTH(UNTIL_CLOSE_BODY));
	assert_int_equal(m->end_offset, LENGTH(UNTIL_CLOSE_HEAD UNTIL_CLOSE_BODY));
	assert_false(m->truncated);
	assert_false(m->keep_alive);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

static void test_until_close_needs_finish(void **state)
{
	static const struct step steps[] = { DATA(UNTIL_CLOSE_HEAD UNTIL_CLOSE_BODY) };
	struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	example.finish = false;
	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 0);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define TE_GZIP_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n"

static void test_unchunked_coding_until_close(void **state)
{
	static const struct step steps[] = { DATA(TE_GZIP_HEAD "abcdef") };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].body_bytes, 6);
	assert_false(r.messages[0].chunked);
	assert_false(r.messages[0].truncated);
	recording_free(&r);
}

#define HEAD_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html\r\n\r\n"
#define GET_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void test_head_response_bodyless(void **state)
{
	static const struct step steps[] = { DATA(HEAD_ANSWER GET_ANSWER) };
	static const bool bodyless[] = { true, false };
	struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	example.bodyless = bodyless;
	example.bodyless_count = 2;
	run_all_splits(&example, &r);

	assert_int_equal(r.bodyless_calls, 2);
	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].body_bytes, 0);
	assert_int_equal(r.messages[0].end_offset, LENGTH(HEAD_ANSWER));
	assert_false(r.messages[0].truncated);
	assert_int_equal(r.messages[1].start_offset, LENGTH(HEAD_ANSWER));
	assert_int_equal(r.messages[1].body_bytes, 2);
	assert_memory_equal(r.messages[1].body, "ok", 2);
	recording_free(&r);
}

#define NOT_MODIFIED "HTTP/1.1 304 Not Modified\r\nContent-Length: 512\r\nETag: \"x\"\r\n\r\n"
#define EMPTY_OK "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

static void test_status_204_304(void **state)
{
	static const struct step steps[] = { DATA(NO_CONTENT NOT_MODIFIED EMPTY_OK) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.messages[0].status_code, 204);
	assert_string_equal(r.messages[0].reason, "No Content");
	assert_int_equal(r.messages[0].body_bytes, 0);
	assert_int_equal(r.messages[0].end_offset, LENGTH(NO_CONTENT));
	assert_int_equal(r.messages[1].status_code, 304);
	assert_int_equal(r.messages[1].body_bytes, 0);
	assert_int_equal(r.messages[1].end_offset, LENGTH(NO_CONTENT NOT_MODIFIED));
	assert_false(r.messages[1].truncated);
	assert_int_equal(r.messages[2].status_code, 200);
	assert_int_equal(r.messages[2].end_offset, LENGTH(NO_CONTENT NOT_MODIFIED EMPTY_OK));
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define FINAL_OK "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"

static void test_continue_then_ok(void **state)
{
	static const struct step steps[] = { DATA(CONTINUE FINAL_OK) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].status_code, 100);
	assert_string_equal(r.messages[0].reason, "Continue");
	assert_int_equal(r.messages[0].header_count, 0);
	assert_int_equal(r.messages[0].end_offset, LENGTH(CONTINUE));
	assert_int_equal(r.messages[1].status_code, 200);
	assert_int_equal(r.messages[1].body_bytes, 4);
	assert_int_equal(r.messages[1].end_offset, LENGTH(CONTINUE FINAL_OK));
	recording_free(&r);
}

static void test_status_without_reason(void **state)
{
	static const struct step steps[] = { DATA("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"
						  "HTTP/1.1 999 \r\nContent-Length: 0\r\n\r\n") };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].status_code, 200);
	assert_string_equal(r.messages[0].reason, "");
	assert_int_equal(r.messages[1].status_code, 999);
	assert_string_equal(r.messages[1].reason, "");
	recording_free(&r);
}

/* ---- garbage and resynchronisation ---- */

#define GARBAGE_FIRST "GET /a HTTP/1.1\r\nHost: g.example\r\n\r\n"
#define GARBAGE_JUNK "\x16\x03\x01\x00 binary\r\nget / http/1.1\r\n\r\nGET /x HTTP/2.0\r\n"
#define GARBAGE_SECOND "GET /b HTTP/1.1\r\nHost: g.example\r\n\r\n"

static void test_garbage_between_messages(void **state)
{
	static const struct step steps[] = { DATA(GARBAGE_FIRST GARBAGE_JUNK GARBAGE_SECOND) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_string_equal(r.messages[0].target, "/a");
	assert_string_equal(r.messages[1].target, "/b");
	assert_int_equal(r.messages[1].start_offset, LENGTH(GARBAGE_FIRST GARBAGE_JUNK));
	assert_false(r.messages[1].truncated);
	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, LENGTH(GARBAGE_FIRST));
	assert_int_equal(r.garbage[0].bytes, LENGTH(GARBAGE_JUNK));
	recording_free(&r);
}

#define JOINED_LATE "ta of a body joined late\r\n{\"x\":1}\n"

static void test_garbage_at_start(void **state)
{
	static const struct step steps[] = { DATA(JOINED_LATE EMPTY_OK) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, 0);
	assert_int_equal(r.garbage[0].bytes, LENGTH(JOINED_LATE));
	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].start_offset, LENGTH(JOINED_LATE));
	recording_free(&r);
}

#define EMPTY_LINES "\r\n\n"

static void test_empty_lines_skipped(void **state)
{
	static const struct step steps[] = { DATA(EMPTY_LINES "GET / HTTP/1.1\r\n\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 0);
	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].start_offset, LENGTH(EMPTY_LINES));
	recording_free(&r);
}

#define BROKEN_HEAD "GET /broken HTTP/1.1\r\nHost: b.example\r\n"
#define BAD_FIELD "Bad Field: space before colon\r\n"

static void test_invalid_field_line(void **state)
{
	static const struct step steps[] = { DATA(BROKEN_HEAD BAD_FIELD "\r\n" BROKEN_HEAD "\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, 0);
	assert_int_equal(r.garbage[0].bytes, LENGTH(BROKEN_HEAD BAD_FIELD "\r\n"));
	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].start_offset, LENGTH(BROKEN_HEAD BAD_FIELD "\r\n"));
	assert_false(r.messages[0].truncated);
	recording_free(&r);
}

/* A head cut short without a gap being reported: the next start line in its
 * field lines starts a new message. */
static void test_start_line_in_head(void **state)
{
	static const struct step steps[] = { DATA(BROKEN_HEAD BROKEN_HEAD "\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, 0);
	assert_int_equal(r.garbage[0].bytes, LENGTH(BROKEN_HEAD));
	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].start_offset, LENGTH(BROKEN_HEAD));
	assert_string_equal(r.messages[0].host, "b.example");
	recording_free(&r);
}

#define BAD_LENGTH "POST /l HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n"
#define BAD_LENGTH_BODY "body text\r\n"
#define AFTER_BAD "GET /after HTTP/1.1\r\n\r\n"

static void test_invalid_content_length(void **state)
{
	static const struct step steps[] = { DATA(BAD_LENGTH BAD_LENGTH_BODY AFTER_BAD) };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].end_offset, LENGTH(BAD_LENGTH));
	assert_int_equal(r.messages[0].body_bytes, 0);
	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, LENGTH(BAD_LENGTH));
	assert_int_equal(r.garbage[0].bytes, LENGTH(BAD_LENGTH_BODY));
	assert_string_equal(r.messages[1].target, "/after");
	assert_false(r.messages[1].truncated);
	recording_free(&r);
}

#define CONFLICTING_LENGTH "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
#define SAME_LENGTHS "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n"

static void test_conflicting_content_length(void **state)
{
	static const struct step steps[] = { DATA(CONFLICTING_LENGTH SAME_LENGTHS "abc") };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].end_offset, LENGTH(CONFLICTING_LENGTH));
	assert_false(r.messages[1].truncated);
	assert_int_equal(r.messages[1].body_bytes, 3);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define BAD_CHUNK_HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n"

static void test_invalid_chunk_size(void **state)
{
	static const struct step steps[] = { DATA(BAD_CHUNK_HEAD "zz\r\n" EMPTY_OK) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_true(r.messages[0].chunked);
	assert_int_equal(r.messages[0].body_bytes, 4);
	assert_int_equal(r.messages[0].end_offset, LENGTH(BAD_CHUNK_HEAD));
	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, LENGTH(BAD_CHUNK_HEAD));
	assert_int_equal(r.garbage[0].bytes, 4);
	assert_int_equal(r.messages[1].start_offset, LENGTH(BAD_CHUNK_HEAD "zz\r\n"));
	assert_false(r.messages[1].truncated);
	recording_free(&r);
}

/* A chunked body that ends without its last chunk, followed by the next
 * response: the status line is where a chunk size should be. */
static void test_chunk_size_is_start_line(void **state)
{
	static const struct step steps[] = { DATA(BAD_CHUNK_HEAD EMPTY_OK) };
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].end_offset, LENGTH(BAD_CHUNK_HEAD));
	assert_int_equal(r.messages[1].start_offset, LENGTH(BAD_CHUNK_HEAD));
	assert_int_equal(r.messages[1].status_code, 200);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

#define CHUNKED_UPLOAD_HEAD "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

/* "ACE" is a valid chunk size and a valid method: the line is taken as the
 * next request once the space after it is not followed by ';'. */
static void test_chunk_size_is_request_line(void **state)
{
	static const struct step steps[] = { DATA(CHUNKED_UPLOAD_HEAD "ACE /x HTTP/1.1\r\n\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].end_offset, LENGTH(CHUNKED_UPLOAD_HEAD));
	assert_string_equal(r.messages[1].method, "ACE");
	assert_string_equal(r.messages[1].target, "/x");
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

static void test_transfer_encoding_in_1_0(void **state)
{
	static const struct step steps[] = { DATA("POST /t HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_true(r.messages[0].truncated);
	assert_false(r.messages[0].chunked);
	recording_free(&r);
}

/* ---- gaps ---- */

#define GAP_BODY_HEAD "POST /up HTTP/1.1\r\nHost: gap.example\r\nContent-Length: 10\r\n\r\n"
#define GAP_NEXT "GET /n HTTP/1.1\r\n\r\n"

static void test_gap_in_body(void **state)
{
	static const struct step steps[] = {
		DATA(GAP_BODY_HEAD "abc"),
		GAP(4),
		DATA("xyz" GAP_NEXT),
	};
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;
	struct recorded_message *m = &r.messages[0];

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(m->body_bytes, 10);
	assert_int_equal(m->lost_bytes, 4);
	assert_int_equal(m->body_kept, 3);
	assert_memory_equal(m->body, "abc", 3);
	assert_int_equal(m->end_offset, LENGTH(GAP_BODY_HEAD) + 10);
	assert_false(m->truncated);
	assert_int_equal(r.messages[1].start_offset, LENGTH(GAP_BODY_HEAD) + 10);
	assert_int_equal(r.messages[1].lost_bytes, 0);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

/* A gap that covers the end of a body and the start of the next message. */
static void test_gap_past_body(void **state)
{
	static const struct step steps[] = {
		DATA(GAP_BODY_HEAD "abc"),
		GAP(20),
		DATA("ost: lost\r\n\r\n" GAP_NEXT),
	};
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].body_bytes, 10);
	assert_int_equal(r.messages[0].lost_bytes, 7);
	assert_false(r.messages[0].truncated);
	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, LENGTH(GAP_BODY_HEAD "abc") + 20);
	assert_int_equal(r.garbage[0].bytes, LENGTH("ost: lost\r\n\r\n"));
	assert_string_equal(r.messages[1].target, "/n");
	recording_free(&r);
}

static void test_gap_in_chunk_data(void **state)
{
	static const struct step steps[] = {
		DATA(CHUNKED_REQUEST_HEAD "8\r\nab"),
		GAP(3),
		DATA("fgh\r\n0\r\n\r\n"),
	};
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].body_bytes, 8);
	assert_int_equal(r.messages[0].lost_bytes, 3);
	assert_int_equal(r.messages[0].body_kept, 2);
	assert_false(r.messages[0].truncated);
	assert_int_equal(r.messages[0].end_offset, LENGTH(CHUNKED_REQUEST_HEAD "8\r\nab") + 3 + LENGTH("fgh\r\n0\r\n\r\n"));
	recording_free(&r);
}

#define CUT_HEAD "GET /a HTTP/1.1\r\nHost: cut.example\r\nAcc"
#define CUT_REST "ept: text/html\r\n\r\n"
#define CUT_NEXT "GET /b HTTP/1.1\r\nHost: cut.example\r\n\r\n"

static void test_gap_in_headers(void **state)
{
	static const struct step steps[] = {
		DATA(CUT_HEAD),
		GAP(10),
		DATA(CUT_REST CUT_NEXT),
	};
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;
	struct recorded_message *m = &r.messages[0];

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_string_equal(m->target, "/a");
	assert_true(m->truncated);
	assert_int_equal(m->header_count, 1);
	assert_string_equal(m->host, "cut.example");
	assert_int_equal(m->end_offset, LENGTH(CUT_HEAD));
	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, LENGTH(CUT_HEAD) + 10);
	assert_int_equal(r.garbage[0].bytes, LENGTH(CUT_REST));
	assert_string_equal(r.messages[1].target, "/b");
	assert_int_equal(r.messages[1].start_offset, LENGTH(CUT_HEAD CUT_REST) + 10);
	assert_false(r.messages[1].truncated);
	recording_free(&r);
}

/* After a gap the next byte may start a message, because the lost bytes may
 * have ended the previous one. */
static void test_gap_before_message(void **state)
{
	static const struct step steps[] = {
		DATA("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
		GAP(9),
		DATA(EMPTY_OK),
	};
	const struct example example = EXAMPLE(H1_RESPONSE, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].body_bytes, 5);
	assert_int_equal(r.messages[0].lost_bytes, 3);
	assert_int_equal(r.messages[1].status_code, 200);
	assert_false(r.messages[1].truncated);
	assert_int_equal(r.garbage_count, 0);
	recording_free(&r);
}

static void test_finish_truncates(void **state)
{
	static const struct step steps[] = { DATA(GAP_BODY_HEAD "abc") };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_true(r.messages[0].truncated);
	assert_int_equal(r.messages[0].body_bytes, 3);
	assert_int_equal(r.messages[0].end_offset, LENGTH(GAP_BODY_HEAD "abc"));
	recording_free(&r);
}

/* ---- limits ---- */

#define KEEP_HEAD "POST /k HTTP/1.1\r\nContent-Length: 11\r\n\r\n"

static void test_body_keep_limit(void **state)
{
	static const struct step steps[] = { DATA(KEEP_HEAD "hello world" CHUNKED_REQUEST_HEAD
						  "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n") };
	struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	example.body_keep_bytes = 4;
	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.messages[0].body_bytes, 11);
	assert_int_equal(r.messages[0].body_kept, 4);
	assert_memory_equal(r.messages[0].body, "hell", 4);
	assert_int_equal(r.messages[1].body_bytes, 6);
	assert_int_equal(r.messages[1].body_kept, 4);
	assert_memory_equal(r.messages[1].body, "abcd", 4);
	recording_free(&r);
}

static void test_body_keep_zero(void **state)
{
	static const struct step steps[] = { DATA(KEEP_HEAD "hello world") };
	struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	example.body_keep_bytes = 0;
	run_all_splits(&example, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].body_bytes, 11);
	assert_int_equal(r.messages[0].body_kept, 0);
	recording_free(&r);
}

/* Shortest filler line: "X-Fill: " and a few value bytes, then CRLF. */
#define MIN_FILL_LINE 16

/* Builds a request head of exactly head_bytes bytes, followed by `next`.
 * The caller frees the result. */
static char *make_large_head(size_t head_bytes, const char *next, size_t *total_bytes)
{
	static const char start[] = "GET /big HTTP/1.1\r\n";
	static const char field[] = "X-Fill: ";
	size_t next_bytes = strlen(next);
	size_t used = LENGTH(start);
	char *text = malloc(head_bytes + next_bytes);

	assert_non_null(text);
	memcpy(text, start, used);

	/* Field lines of at most 8000 bytes, the last one no shorter than
	 * MIN_FILL_LINE, then the empty line. */
	while (used < head_bytes - 2) {
		size_t remaining = head_bytes - 2 - used;
		size_t line = remaining > 8000 ? 8000 : remaining;

		if (remaining > line && remaining - line < MIN_FILL_LINE)
			line = remaining - MIN_FILL_LINE;
		assert_true(line >= MIN_FILL_LINE);
		memcpy(text + used, field, LENGTH(field));
		memset(text + used + LENGTH(field), 'a', line - LENGTH(field) - 2);
		memcpy(text + used + line - 2, "\r\n", 2);
		used += line;
	}
	assert_int_equal(used, head_bytes - 2);
	memcpy(text + used, "\r\n", 2);
	memcpy(text + head_bytes, next, next_bytes);
	*total_bytes = head_bytes + next_bytes;
	return text;
}

static void test_head_at_limit(void **state)
{
	size_t total;
	char *text = make_large_head(H1_MAX_HEAD_BYTES, "GET /after HTTP/1.1\r\n\r\n", &total);
	const struct step steps[] = { { .data = text, .bytes = total } };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 0);
	assert_int_equal(r.message_count, 2);
	assert_string_equal(r.messages[0].target, "/big");
	assert_int_equal(r.messages[0].end_offset, H1_MAX_HEAD_BYTES);
	assert_false(r.messages[0].truncated);
	assert_string_equal(r.messages[1].target, "/after");
	recording_free(&r);
	free(text);
}

static void test_head_too_large(void **state)
{
	size_t total;
	char *text = make_large_head(H1_MAX_HEAD_BYTES + 1, "GET /after HTTP/1.1\r\n\r\n", &total);
	const struct step steps[] = { { .data = text, .bytes = total } };
	const struct example example = EXAMPLE(H1_REQUEST, steps);
	struct recording r;

	run_all_splits(&example, &r);

	assert_int_equal(r.garbage_count, 1);
	assert_int_equal(r.garbage[0].offset, 0);
	assert_int_equal(r.garbage[0].bytes, H1_MAX_HEAD_BYTES + 1);
	assert_int_equal(r.message_count, 1);
	assert_string_equal(r.messages[0].target, "/after");
	assert_int_equal(r.messages[0].start_offset, H1_MAX_HEAD_BYTES + 1);
	recording_free(&r);
	free(text);
}

/* ---- h1_looks_like_start ---- */

static bool looks_like(enum h1_kind kind, const char *text)
{
	return h1_looks_like_start(kind, (const uint8_t *)text, strlen(text));
}

static void test_looks_like_start(void **state)
{
	assert_true(looks_like(H1_REQUEST, "GET / HTTP/1.1\r\n"));
	assert_true(looks_like(H1_REQUEST, "GET / HTTP/1.1\r\nHost: x\r\n"));
	assert_true(looks_like(H1_REQUEST, "GET /a"));
	assert_true(looks_like(H1_REQUEST, "P"));
	assert_true(looks_like(H1_REQUEST, "M-SEARCH * HTTP/1.1\r"));
	assert_false(looks_like(H1_REQUEST, ""));
	assert_false(looks_like(H1_REQUEST, "\r"));
	assert_false(looks_like(H1_REQUEST, "get / HTTP/1.1\r\n"));
	assert_false(looks_like(H1_REQUEST, "GET / HTTP/1.1 \r\n"));
	assert_false(looks_like(H1_REQUEST, "GET / HTTP/2.0\r\n"));
	assert_false(looks_like(H1_REQUEST, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
	assert_false(looks_like(H1_REQUEST, "GET /\r\n"));
	assert_false(looks_like(H1_REQUEST, "HTTP/1.1 200 OK\r\n"));
	assert_false(looks_like(H1_REQUEST, "\x16\x03\x01"));
	assert_true(looks_like(H1_RESPONSE, "HTTP/1.1 200 OK\r\n"));
	assert_true(looks_like(H1_RESPONSE, "HTTP/1.0 404\n"));
	assert_true(looks_like(H1_RESPONSE, "HTTP/1."));
	assert_true(looks_like(H1_RESPONSE, "HTTP/1.1 2"));
	assert_false(looks_like(H1_RESPONSE, "HTTP/2 200\r\n"));
	assert_false(looks_like(H1_RESPONSE, "HTTP/1.1 20\r\n"));
	assert_false(looks_like(H1_RESPONSE, "HTTP/1.1 099 x\r\n"));
	assert_false(looks_like(H1_RESPONSE, "HTTP/1.1 2000"));
	assert_false(looks_like(H1_RESPONSE, "GET / HTTP/1.1\r\n"));
}

static void test_header_lookup_missing(void **state)
{
	struct h1_message message = { 0 };

	assert_null(h1_message_header(&message, "Host"));
	assert_null(h1_message_header(NULL, "Host"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_simple),
		cmocka_unit_test(test_post_content_length),
		cmocka_unit_test(test_pipelined_requests),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_keep_alive_defaults),
		cmocka_unit_test(test_obs_fold_joined),
		cmocka_unit_test(test_chunked_then_next_request),
		cmocka_unit_test(test_chunked_extensions_trailers),
		cmocka_unit_test(test_response_until_close),
		cmocka_unit_test(test_until_close_needs_finish),
		cmocka_unit_test(test_unchunked_coding_until_close),
		cmocka_unit_test(test_head_response_bodyless),
		cmocka_unit_test(test_status_204_304),
		cmocka_unit_test(test_continue_then_ok),
		cmocka_unit_test(test_status_without_reason),
		cmocka_unit_test(test_garbage_between_messages),
		cmocka_unit_test(test_garbage_at_start),
		cmocka_unit_test(test_empty_lines_skipped),
		cmocka_unit_test(test_invalid_field_line),
		cmocka_unit_test(test_start_line_in_head),
		cmocka_unit_test(test_invalid_content_length),
		cmocka_unit_test(test_conflicting_content_length),
		cmocka_unit_test(test_invalid_chunk_size),
		cmocka_unit_test(test_chunk_size_is_start_line),
		cmocka_unit_test(test_chunk_size_is_request_line),
		cmocka_unit_test(test_transfer_encoding_in_1_0),
		cmocka_unit_test(test_gap_in_body),
		cmocka_unit_test(test_gap_past_body),
		cmocka_unit_test(test_gap_in_chunk_data),
		cmocka_unit_test(test_gap_in_headers),
		cmocka_unit_test(test_gap_before_message),
		cmocka_unit_test(test_finish_truncates),
		cmocka_unit_test(test_body_keep_limit),
		cmocka_unit_test(test_body_keep_zero),
		cmocka_unit_test(test_head_at_limit),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_looks_like_start),
		cmocka_unit_test(test_header_lookup_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

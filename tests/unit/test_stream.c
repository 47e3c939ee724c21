/*
 * Unit tests of the stream stage (agent/stream/stream.c and exchange.c):
 * chunk sequences go in through the stage's tls_chunk_sink, and every
 * reported http_exchange is copied so that each test can check its fields
 * and the stage's counters afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "stream/stream.h"

#define TEST_PID 4242u
#define TEST_TID 4243u
#define OTHER_PID 5151u
#define OTHER_TID 5152u
#define START_NS 1700000000000000000ull
#define TIMEOUT_NS 5000000000ull
#define MAX_TEST_CONNECTIONS 8
#define EXECUTABLE_PATH "/usr/lib/firefox/firefox"

/* One reported exchange, with copies of everything it pointed to. */
struct recorded_exchange {
	struct http_exchange exchange;
	char *executable_path;
	struct http_message request;
	struct http_message response;
};

/* The stream under test, what it reported, and the chunk fields that tests
 * rarely change. */
struct harness {
	struct stream_options options;
	struct stream *stream;
	struct recorded_exchange **exchanges;
	size_t exchange_count;
	uint64_t now_ns;
	uint32_t pids[MAX_TEST_CONNECTIONS];
	uint64_t next_offset[MAX_TEST_CONNECTIONS][2];
};

/* ---- recording ---- */

static char *copy_text(const char *text)
{
	char *copy;

	if (!text)
		return NULL;
	copy = strdup(text);
	assert_non_null(copy);
	return copy;
}

static void copy_message(struct http_message *copy, const struct http_message *message)
{
	*copy = *message;
	copy->method = copy_text(message->method);
	copy->target = copy_text(message->target);

	copy->headers = calloc(message->header_count + 1, sizeof(*copy->headers));
	assert_non_null(copy->headers);
	for (size_t i = 0; i < message->header_count; i++) {
		copy->headers[i].name = copy_text(message->headers[i].name);
		copy->headers[i].value = copy_text(message->headers[i].value);
	}

	copy->body = NULL;
	if (message->body_kept) {
		copy->body = malloc(message->body_kept);
		assert_non_null(copy->body);
		memcpy(copy->body, message->body, message->body_kept);
	}
}

static void free_message(struct http_message *message)
{
	free(message->method);
	free(message->target);
	for (size_t i = 0; i < message->header_count; i++) {
		free(message->headers[i].name);
		free(message->headers[i].value);
	}
	free(message->headers);
	free(message->body);
}

static void record_exchange(void *user, const struct http_exchange *exchange)
{
	struct harness *harness = user;
	struct recorded_exchange *record = calloc(1, sizeof(*record));
	struct recorded_exchange **grown;

	assert_non_null(record);
	assert_non_null(exchange->executable_path);
	assert_non_null(exchange->request);

	record->exchange = *exchange;
	record->executable_path = copy_text(exchange->executable_path);
	record->exchange.executable_path = record->executable_path;
	copy_message(&record->request, exchange->request);
	record->exchange.request = &record->request;
	if (exchange->response) {
		copy_message(&record->response, exchange->response);
		record->exchange.response = &record->response;
	}

	grown = realloc(harness->exchanges, (harness->exchange_count + 1) * sizeof(*grown));
	assert_non_null(grown);
	harness->exchanges = grown;
	harness->exchanges[harness->exchange_count++] = record;
}

static const struct http_exchange *exchange_at(const struct harness *harness, size_t index)
{
	assert_true(index < harness->exchange_count);
	return &harness->exchanges[index]->exchange;
}

static const char *header_value(const struct http_message *message, const char *name)
{
	for (size_t i = 0; i < message->header_count; i++) {
		if (strcasecmp(message->headers[i].name, name) == 0)
			return message->headers[i].value;
	}
	return NULL;
}

static struct stream_stats read_stats(const struct harness *harness)
{
	struct stream_stats stats;

	stream_read_stats(harness->stream, &stats);
	return stats;
}

/* ---- setup ---- */

static int setup(void **state)
{
	struct harness *harness = calloc(1, sizeof(*harness));

	if (!harness)
		return -1;
	stream_default_options(&harness->options);
	harness->options.response_timeout_ns = TIMEOUT_NS;
	harness->now_ns = START_NS;
	for (size_t i = 0; i < MAX_TEST_CONNECTIONS; i++)
		harness->pids[i] = TEST_PID;
	*state = harness;
	return 0;
}

static int teardown(void **state)
{
	struct harness *harness = *state;

	stream_free(harness->stream);
	for (size_t i = 0; i < harness->exchange_count; i++) {
		free(harness->exchanges[i]->executable_path);
		free_message(&harness->exchanges[i]->request);
		if (harness->exchanges[i]->exchange.response)
			free_message(&harness->exchanges[i]->response);
		free(harness->exchanges[i]);
	}
	free(harness->exchanges);
	free(harness);
	return 0;
}

/* Creates the stream with harness->options, which a test may change first. */
static struct harness *open_stream(void **state)
{
	struct harness *harness = *state;

	harness->stream = stream_new(&harness->options, record_exchange, harness);
	assert_non_null(harness->stream);
	return harness;
}

/* ---- chunks ---- */

static struct tls_chunk make_chunk(struct harness *harness, enum tls_chunk_type type, uint64_t conn_id)
{
	struct tls_chunk chunk = {
		.type = type,
		.time_ns = harness->now_ns,
		.conn_id = conn_id,
		.library = TLS_LIBRARY_OPENSSL,
	};

	assert_true(conn_id < MAX_TEST_CONNECTIONS);
	chunk.pid = harness->pids[conn_id];
	chunk.tid = chunk.pid == TEST_PID ? TEST_TID : OTHER_TID;
	return chunk;
}

static void write_chunk(struct harness *harness, const struct tls_chunk *chunk)
{
	struct tls_chunk_sink *sink = stream_chunk_sink(harness->stream);

	assert_int_equal(sink->write(sink, chunk), 0);
}

/* Sends bytes at an explicit stream offset, for gaps and overlaps. */
static void send_bytes_at(struct harness *harness, uint64_t conn_id, enum tls_direction direction,
			  uint64_t offset, const void *bytes, size_t length)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_DATA, conn_id);
	uint64_t *next = &harness->next_offset[conn_id][direction];

	chunk.direction = direction;
	chunk.stream_offset = offset;
	chunk.data = bytes;
	chunk.data_bytes = (uint32_t)length;
	write_chunk(harness, &chunk);
	if (offset + length > *next)
		*next = offset + length;
}

/* Sends text right after the last byte sent in that direction. */
static void send_text(struct harness *harness, uint64_t conn_id, enum tls_direction direction, const char *text)
{
	uint64_t offset = harness->next_offset[conn_id][direction];

	send_bytes_at(harness, conn_id, direction, offset, text, strlen(text));
}

/* Sends text in chunks of 1, 2, 3, 4 and 5 bytes, over and over. */
static void send_text_split(struct harness *harness, uint64_t conn_id, enum tls_direction direction,
			    const char *text)
{
	size_t length = strlen(text);
	size_t size = 1;

	for (size_t at = 0; at < length; at += size, size = size % 5 + 1) {
		size_t piece = length - at < size ? length - at : size;

		send_bytes_at(harness, conn_id, direction, harness->next_offset[conn_id][direction], text + at,
			      piece);
	}
}

/* Makes the capture lose the next `bytes` bytes of one direction. */
static void lose_bytes(struct harness *harness, uint64_t conn_id, enum tls_direction direction, uint64_t bytes)
{
	harness->next_offset[conn_id][direction] += bytes;
}

static void send_process(struct harness *harness, uint32_t pid, const char *path)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_PROCESS, 0);

	chunk.pid = pid;
	chunk.tid = pid;
	chunk.executable_path = path;
	write_chunk(harness, &chunk);
}

static struct tls_endpoint ipv4_endpoint(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct tls_endpoint endpoint = {
		.family = AF_INET,
		.port = port,
		.address = { a, b, c, d },
	};

	return endpoint;
}

static void send_connection(struct harness *harness, uint64_t conn_id, struct tls_endpoint local,
			    struct tls_endpoint peer)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_CONNECTION, conn_id);

	chunk.local = local;
	chunk.peer = peer;
	write_chunk(harness, &chunk);
}

/* Closes with final lengths that add `egress_lost` and `ingress_lost`
 * bytes after the last bytes sent. */
static void send_close_losing(struct harness *harness, uint64_t conn_id, uint64_t egress_lost,
			      uint64_t ingress_lost)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_CLOSE, conn_id);

	chunk.egress_bytes = harness->next_offset[conn_id][TLS_EGRESS] + egress_lost;
	chunk.ingress_bytes = harness->next_offset[conn_id][TLS_INGRESS] + ingress_lost;
	write_chunk(harness, &chunk);
}

static void send_close(struct harness *harness, uint64_t conn_id)
{
	send_close_losing(harness, conn_id, 0, 0);
}

static void send_exit(struct harness *harness, uint32_t pid)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_EXIT, 0);

	chunk.pid = pid;
	chunk.tid = pid;
	write_chunk(harness, &chunk);
}

static void send_tick(struct harness *harness, uint64_t time_ns)
{
	struct tls_chunk chunk = make_chunk(harness, TLS_CHUNK_TICK, 0);

	harness->now_ns = time_ns;
	chunk.time_ns = time_ns;
	write_chunk(harness, &chunk);
}

/* ---- messages ---- */

static const char get_request[] = "GET /index.html?q=1 HTTP/1.1\r\n"
				  "Host: example.com\r\n"
				  "User-Agent: test\r\n"
				  "\r\n";

static const char ok_response[] = "HTTP/1.1 200 OK\r\n"
				  "Content-Type: text/plain\r\n"
				  "Content-Length: 5\r\n"
				  "\r\n"
				  "hello";

static const char not_found_response[] = "HTTP/1.1 404 Not Found\r\n"
					 "Content-Length: 0\r\n"
					 "\r\n";

/* Sends a GET request for `target` with only a Host header. */
static void send_get(struct harness *harness, uint64_t conn_id, const char *target)
{
	send_text(harness, conn_id, TLS_EGRESS, "GET ");
	send_text(harness, conn_id, TLS_EGRESS, target);
	send_text(harness, conn_id, TLS_EGRESS, " HTTP/1.1\r\nHost: example.com\r\n\r\n");
}

/* ---- tests ---- */

static void test_get_with_response(void **state)
{
	struct harness *harness = open_stream(state);
	struct tls_endpoint local = ipv4_endpoint(10, 0, 0, 2, 51000);
	struct tls_endpoint peer = ipv4_endpoint(93, 184, 216, 34, 443);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_process(harness, TEST_PID, EXECUTABLE_PATH);
	send_connection(harness, 1, local, peer);
	send_text(harness, 1, TLS_EGRESS, get_request);
	assert_int_equal(harness->exchange_count, 0);

	harness->now_ns += 1000;
	send_text(harness, 1, TLS_INGRESS, ok_response);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->method, "GET");
	assert_string_equal(exchange->request->target, "/index.html?q=1");
	assert_int_equal(exchange->request->version_major, 1);
	assert_int_equal(exchange->request->version_minor, 1);
	assert_int_equal(exchange->request->header_count, 2);
	assert_string_equal(header_value(exchange->request, "Host"), "example.com");
	assert_int_equal(exchange->request->body_bytes, 0);
	assert_int_equal(exchange->request->time_ns, START_NS);
	assert_false(exchange->request->truncated);

	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 200);
	assert_string_equal(header_value(exchange->response, "Content-Type"), "text/plain");
	assert_int_equal(exchange->response->body_bytes, 5);
	assert_int_equal(exchange->response->body_kept, 5);
	assert_memory_equal(exchange->response->body, "hello", 5);
	assert_int_equal(exchange->response->time_ns, START_NS + 1000);
	assert_false(exchange->response->truncated);

	assert_string_equal(exchange->executable_path, EXECUTABLE_PATH);
	assert_int_equal(exchange->library, TLS_LIBRARY_OPENSSL);
	assert_int_equal(exchange->conn_id, 1);
	assert_int_equal(exchange->pid, TEST_PID);
	assert_int_equal(exchange->tid, TEST_TID);
	assert_int_equal(exchange->bytes_lost, 0);
	assert_memory_equal(&exchange->local, &local, sizeof(local));
	assert_memory_equal(&exchange->peer, &peer, sizeof(peer));

	stats = read_stats(harness);
	assert_int_equal(stats.connections, 1);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.requests_without_response, 0);
	assert_int_equal(stats.responses_without_request, 0);
	assert_int_equal(stats.garbage_bytes, 0);
	assert_int_equal(stats.bytes_lost, 0);
	assert_int_equal(stats.out_of_order_chunks, 0);
}

static void test_unknown_process_and_socket(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, ok_response);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->executable_path, "");
	assert_int_equal(exchange->local.family, 0);
	assert_int_equal(exchange->peer.family, 0);
}

static void test_split_into_small_chunks(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text_split(harness, 1, TLS_EGRESS,
			"POST /collect HTTP/1.1\r\n"
			"Host: tracker.example\r\n"
			"Content-Type: application/x-www-form-urlencoded\r\n"
			"Content-Length: 23\r\n"
			"\r\n"
			"email=a%40b.example&x=1");
	send_text_split(harness, 1, TLS_INGRESS,
			"HTTP/1.1 200 OK\r\n"
			"Transfer-Encoding: chunked\r\n"
			"\r\n"
			"5\r\nhello\r\n"
			"6\r\n world\r\n"
			"0\r\n\r\n");

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->method, "POST");
	assert_string_equal(exchange->request->target, "/collect");
	assert_int_equal(exchange->request->header_count, 3);
	assert_string_equal(header_value(exchange->request, "Host"), "tracker.example");
	assert_int_equal(exchange->request->body_bytes, 23);
	assert_int_equal(exchange->request->body_kept, 23);
	assert_memory_equal(exchange->request->body, "email=a%40b.example&x=1", 23);

	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 200);
	assert_int_equal(exchange->response->body_bytes, 11);
	assert_int_equal(exchange->response->body_kept, 11);
	assert_memory_equal(exchange->response->body, "hello world", 11);
	assert_int_equal(exchange->bytes_lost, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.garbage_bytes, 0);
	assert_int_equal(stats.out_of_order_chunks, 0);
}

static void test_head_request_in_pieces(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text_split(harness, 1, TLS_EGRESS, "HEAD /file HTTP/1.1\r\nHost: example.com\r\n\r\n");
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");

	stats = read_stats(harness);
	assert_int_equal(stats.server_side_connections, 0);
	assert_int_equal(stats.garbage_bytes, 0);
	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->method, "HEAD");
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->body_bytes, 0);
}

static void test_pipelined_paired_in_order(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS,
		  "GET /first HTTP/1.1\r\nHost: example.com\r\n\r\n"
		  "GET /second HTTP/1.1\r\nHost: example.com\r\n\r\n");
	send_get(harness, 1, "/third");
	assert_int_equal(harness->exchange_count, 0);

	send_text(harness, 1, TLS_INGRESS,
		  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
		  "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nbb");
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 301 Moved Permanently\r\nContent-Length: 3\r\n\r\nccc");

	assert_int_equal(harness->exchange_count, 3);
	assert_string_equal(exchange_at(harness, 0)->request->target, "/first");
	assert_int_equal(exchange_at(harness, 0)->response->status_code, 200);
	assert_int_equal(exchange_at(harness, 0)->response->body_bytes, 1);
	assert_string_equal(exchange_at(harness, 1)->request->target, "/second");
	assert_int_equal(exchange_at(harness, 1)->response->status_code, 404);
	assert_int_equal(exchange_at(harness, 1)->response->body_bytes, 2);
	assert_string_equal(exchange_at(harness, 2)->request->target, "/third");
	assert_int_equal(exchange_at(harness, 2)->response->status_code, 301);
	assert_int_equal(exchange_at(harness, 2)->response->body_bytes, 3);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 3);
	assert_int_equal(stats.requests_without_response, 0);
	assert_int_equal(stats.responses_without_request, 0);
}

static void test_continue_then_final(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS,
		  "POST /upload HTTP/1.1\r\n"
		  "Host: example.com\r\n"
		  "Content-Length: 4\r\n"
		  "Expect: 100-continue\r\n"
		  "\r\n");
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 100 Continue\r\n\r\n");
	assert_int_equal(harness->exchange_count, 0);

	send_text(harness, 1, TLS_EGRESS, "data");
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->method, "POST");
	assert_int_equal(exchange->request->body_bytes, 4);
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 201);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.responses_without_request, 0);
}

static void test_head_response_bodyless(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS,
		  "HEAD /file HTTP/1.1\r\nHost: example.com\r\n\r\n"
		  "GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n");
	send_text(harness, 1, TLS_INGRESS,
		  "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
		  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

	assert_int_equal(harness->exchange_count, 2);
	assert_string_equal(exchange_at(harness, 0)->request->method, "HEAD");
	assert_int_equal(exchange_at(harness, 0)->response->status_code, 200);
	assert_int_equal(exchange_at(harness, 0)->response->body_bytes, 0);
	assert_string_equal(header_value(exchange_at(harness, 0)->response, "Content-Length"), "1000");
	assert_string_equal(exchange_at(harness, 1)->request->target, "/next");
	assert_int_equal(exchange_at(harness, 1)->response->body_bytes, 2);
	assert_memory_equal(exchange_at(harness, 1)->response->body, "ok", 2);

	stats = read_stats(harness);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_upgrade_ends_http(void **state)
{
	struct harness *harness = open_stream(state);
	static const uint8_t frame[] = { 0x81, 0x02, 'h', 'i' };
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS,
		  "GET /socket HTTP/1.1\r\n"
		  "Host: example.com\r\n"
		  "Connection: Upgrade\r\n"
		  "Upgrade: websocket\r\n"
		  "\r\n");
	send_text(harness, 1, TLS_INGRESS,
		  "HTTP/1.1 101 Switching Protocols\r\n"
		  "Connection: Upgrade\r\n"
		  "Upgrade: websocket\r\n"
		  "\r\n");
	send_bytes_at(harness, 1, TLS_INGRESS, harness->next_offset[1][TLS_INGRESS], frame, sizeof(frame));
	send_bytes_at(harness, 1, TLS_EGRESS, harness->next_offset[1][TLS_EGRESS], frame, sizeof(frame));
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/socket");
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 101);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.requests_without_response, 0);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_body_ends_at_close(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
	send_text(harness, 1, TLS_INGRESS, "abc");
	send_text(harness, 1, TLS_INGRESS, "defg");
	assert_int_equal(harness->exchange_count, 0);

	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 200);
	assert_int_equal(exchange->response->body_bytes, 7);
	assert_memory_equal(exchange->response->body, "abcdefg", 7);
	assert_false(exchange->response->truncated);
	assert_int_equal(exchange->bytes_lost, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.requests_without_response, 0);
	assert_int_equal(stats.bytes_lost, 0);
}

static void test_unanswered_at_close(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/index.html?q=1");
	assert_null(exchange->response);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.requests_without_response, 1);
}

static void test_unanswered_at_finish(void **state)
{
	struct harness *harness = open_stream(state);

	send_get(harness, 1, "/a");
	send_get(harness, 2, "/b");
	stream_finish(harness->stream);

	assert_int_equal(harness->exchange_count, 2);
	assert_string_equal(exchange_at(harness, 0)->request->target, "/a");
	assert_null(exchange_at(harness, 0)->response);
	assert_string_equal(exchange_at(harness, 1)->request->target, "/b");
	assert_null(exchange_at(harness, 1)->response);
}

static void test_timeout_reported_once(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_get(harness, 1, "/slow");
	send_tick(harness, START_NS + TIMEOUT_NS - 1);
	assert_int_equal(harness->exchange_count, 0);

	send_tick(harness, START_NS + TIMEOUT_NS + 1);
	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/slow");
	assert_null(exchange->response);

	send_tick(harness, START_NS + 3 * TIMEOUT_NS);
	assert_int_equal(harness->exchange_count, 1);

	send_get(harness, 1, "/next");
	send_text(harness, 1, TLS_INGRESS, not_found_response);
	assert_int_equal(harness->exchange_count, 1);

	send_text(harness, 1, TLS_INGRESS, ok_response);
	assert_int_equal(harness->exchange_count, 2);
	exchange = exchange_at(harness, 1);
	assert_string_equal(exchange->request->target, "/next");
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 200);

	send_close(harness, 1);
	assert_int_equal(harness->exchange_count, 2);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 2);
	assert_int_equal(stats.requests_without_response, 1);
	assert_int_equal(stats.responses_without_request, 0);
}

static void test_timeout_then_close(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_get(harness, 1, "/slow");
	send_tick(harness, START_NS + TIMEOUT_NS + 1);
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 1);
	assert_null(exchange_at(harness, 0)->response);

	stats = read_stats(harness);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.requests_without_response, 1);
}

static void test_gap_on_next_exchange(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_get(harness, 1, "/first");
	send_text(harness, 1, TLS_INGRESS, ok_response);

	lose_bytes(harness, 1, TLS_EGRESS, 10);
	send_get(harness, 1, "/second");
	send_text(harness, 1, TLS_INGRESS, ok_response);

	assert_int_equal(harness->exchange_count, 2);
	assert_int_equal(exchange_at(harness, 0)->bytes_lost, 0);
	assert_string_equal(exchange_at(harness, 1)->request->target, "/second");
	assert_int_equal(exchange_at(harness, 1)->bytes_lost, 10);
	assert_int_equal(exchange_at(harness, 1)->response->status_code, 200);

	stats = read_stats(harness);
	assert_int_equal(stats.bytes_lost, 10);
	assert_int_equal(stats.bytes_lost_unreported, 0);
}

static void test_gap_inside_body(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
	lose_bytes(harness, 1, TLS_INGRESS, 5);
	send_text(harness, 1, TLS_INGRESS, "hij");

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->body_bytes, 10);
	assert_int_equal(exchange->bytes_lost, 5);

	stats = read_stats(harness);
	assert_int_equal(stats.bytes_lost, 5);
}

static void test_gap_at_close(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, ok_response);
	send_close_losing(harness, 1, 7, 3);

	assert_int_equal(harness->exchange_count, 1);
	assert_int_equal(exchange_at(harness, 0)->bytes_lost, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.bytes_lost, 10);
	assert_int_equal(stats.bytes_lost_unreported, 10);
}

static void test_gap_before_close(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc");
	send_close_losing(harness, 1, 0, 4);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_non_null(exchange->response);
	assert_int_equal(exchange->bytes_lost, 4);

	stats = read_stats(harness);
	assert_int_equal(stats.bytes_lost, 4);
	assert_int_equal(stats.bytes_lost_unreported, 0);
}

static void test_overlap_skipped(void **state)
{
	struct harness *harness = open_stream(state);
	const size_t length = strlen(get_request);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_bytes_at(harness, 1, TLS_EGRESS, 0, get_request, 10);
	send_bytes_at(harness, 1, TLS_EGRESS, 5, get_request + 5, 15);
	send_bytes_at(harness, 1, TLS_EGRESS, 0, get_request, 10);
	send_bytes_at(harness, 1, TLS_EGRESS, 20, get_request + 20, length - 20);
	send_bytes_at(harness, 1, TLS_EGRESS, 0, get_request, length);

	send_text(harness, 1, TLS_INGRESS, ok_response);
	send_bytes_at(harness, 1, TLS_INGRESS, 0, ok_response, strlen(ok_response));

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/index.html?q=1");
	assert_int_equal(exchange->request->header_count, 2);
	assert_int_equal(exchange->response->body_bytes, 5);
	assert_int_equal(exchange->bytes_lost, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.out_of_order_chunks, 4);
	assert_int_equal(stats.garbage_bytes, 0);
	assert_int_equal(stats.bytes_lost, 0);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.responses_without_request, 0);
}

static void test_oldest_connection_evicted(void **state)
{
	struct harness *harness = *state;
	const struct http_exchange *exchange;
	struct stream_stats stats;

	harness->options.max_connections = 2;
	open_stream(state);

	send_get(harness, 1, "/one");
	send_get(harness, 2, "/two");
	assert_int_equal(harness->exchange_count, 0);

	send_get(harness, 3, "/three");
	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_int_equal(exchange->conn_id, 1);
	assert_string_equal(exchange->request->target, "/one");
	assert_null(exchange->response);

	stats = read_stats(harness);
	assert_int_equal(stats.connections, 3);
	assert_int_equal(stats.connections_evicted, 1);
	assert_int_equal(stats.requests_without_response, 1);

	send_text(harness, 3, TLS_INGRESS, ok_response);
	assert_int_equal(harness->exchange_count, 2);
	assert_int_equal(exchange_at(harness, 1)->conn_id, 3);
	assert_non_null(exchange_at(harness, 1)->response);
}

static void test_recent_connection_kept(void **state)
{
	struct harness *harness = *state;
	struct stream_stats stats;

	harness->options.max_connections = 2;
	open_stream(state);

	send_get(harness, 1, "/one");
	send_get(harness, 2, "/two");
	send_text(harness, 1, TLS_INGRESS, "HTTP/1.1 200 OK\r\n");

	send_get(harness, 3, "/three");
	assert_int_equal(harness->exchange_count, 1);
	assert_int_equal(exchange_at(harness, 0)->conn_id, 2);

	send_text(harness, 1, TLS_INGRESS, "Content-Length: 0\r\n\r\n");
	assert_int_equal(harness->exchange_count, 2);
	assert_int_equal(exchange_at(harness, 1)->conn_id, 1);
	assert_int_equal(exchange_at(harness, 1)->response->status_code, 200);

	stats = read_stats(harness);
	assert_int_equal(stats.connections, 3);
	assert_int_equal(stats.connections_evicted, 1);
}

static void test_pending_overflow(void **state)
{
	struct harness *harness = *state;
	const struct http_exchange *exchange;
	struct stream_stats stats;

	harness->options.max_pending_requests = 2;
	open_stream(state);

	send_get(harness, 1, "/a");
	send_get(harness, 1, "/b");
	assert_int_equal(harness->exchange_count, 0);

	send_get(harness, 1, "/c");
	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/a");
	assert_null(exchange->response);

	stats = read_stats(harness);
	assert_int_equal(stats.requests_dropped, 1);
	assert_int_equal(stats.requests, 1);
	assert_int_equal(stats.requests_without_response, 1);

	/* The response to the dropped /a is skipped, so /b and /c still get
	 * their own. */
	send_text(harness, 1, TLS_INGRESS, not_found_response);
	assert_int_equal(harness->exchange_count, 1);
	send_text(harness, 1, TLS_INGRESS, ok_response);
	send_text(harness, 1, TLS_INGRESS, ok_response);
	assert_int_equal(harness->exchange_count, 3);
	assert_string_equal(exchange_at(harness, 1)->request->target, "/b");
	assert_non_null(exchange_at(harness, 1)->response);
	assert_int_equal(exchange_at(harness, 1)->response->status_code, 200);
	assert_string_equal(exchange_at(harness, 2)->request->target, "/c");
	assert_non_null(exchange_at(harness, 2)->response);
	assert_int_equal(exchange_at(harness, 2)->response->status_code, 200);

	send_close(harness, 1);
	assert_int_equal(harness->exchange_count, 3);
	assert_int_equal(read_stats(harness).responses_without_request, 0);
}

static void test_http2_counted(void **state)
{
	struct harness *harness = open_stream(state);
	static const uint8_t settings_frame[] = { 0, 0, 0, 4, 0, 0, 0, 0, 0 };
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
	send_bytes_at(harness, 1, TLS_EGRESS, harness->next_offset[1][TLS_EGRESS], settings_frame,
		      sizeof(settings_frame));
	send_bytes_at(harness, 1, TLS_INGRESS, 0, settings_frame, sizeof(settings_frame));
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.connections, 1);
	assert_int_equal(stats.http2_connections, 1);
	assert_int_equal(stats.requests, 0);
	assert_int_equal(stats.responses_without_request, 0);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_server_side_counted(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_text(harness, 1, TLS_INGRESS, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
	send_text(harness, 1, TLS_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	send_text(harness, 1, TLS_INGRESS, "GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n");
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.server_side_connections, 1);
	assert_int_equal(stats.requests, 0);
	assert_int_equal(stats.responses_without_request, 0);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_server_response_first(void **state)
{
	struct harness *harness = open_stream(state);
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	send_text(harness, 1, TLS_INGRESS, "GET /again HTTP/1.1\r\nHost: localhost\r\n\r\n");
	send_text(harness, 1, TLS_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	send_close(harness, 1);

	assert_int_equal(harness->exchange_count, 0);

	stats = read_stats(harness);
	assert_int_equal(stats.server_side_connections, 1);
	assert_int_equal(stats.requests, 0);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_client_response_first(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_INGRESS, ok_response);
	send_get(harness, 1, "/later");
	send_text(harness, 1, TLS_INGRESS, not_found_response);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/later");
	assert_int_equal(exchange->response->status_code, 404);

	stats = read_stats(harness);
	assert_int_equal(stats.server_side_connections, 0);
	assert_int_equal(stats.responses_without_request, 1);
	assert_int_equal(stats.garbage_bytes, 0);
}

static void test_exit_ends_own_connections(void **state)
{
	struct harness *harness = open_stream(state);
	const struct http_exchange *exchange;

	harness->pids[2] = OTHER_PID;
	send_process(harness, TEST_PID, EXECUTABLE_PATH);
	send_process(harness, OTHER_PID, "/usr/bin/curl");
	send_get(harness, 1, "/mine");
	send_get(harness, 2, "/other");
	send_get(harness, 3, "/mine-too");

	send_exit(harness, TEST_PID);

	assert_int_equal(harness->exchange_count, 2);
	exchange = exchange_at(harness, 0);
	assert_int_equal(exchange->conn_id, 1);
	assert_int_equal(exchange->pid, TEST_PID);
	assert_string_equal(exchange->executable_path, EXECUTABLE_PATH);
	assert_null(exchange->response);
	exchange = exchange_at(harness, 1);
	assert_int_equal(exchange->conn_id, 3);
	assert_null(exchange->response);

	send_text(harness, 2, TLS_INGRESS, ok_response);
	assert_int_equal(harness->exchange_count, 3);
	exchange = exchange_at(harness, 2);
	assert_int_equal(exchange->conn_id, 2);
	assert_int_equal(exchange->pid, OTHER_PID);
	assert_int_equal(exchange->tid, OTHER_TID);
	assert_string_equal(exchange->executable_path, "/usr/bin/curl");
	assert_string_equal(exchange->request->target, "/other");
	assert_non_null(exchange->response);
}

static void test_garbage_before_request(void **state)
{
	struct harness *harness = open_stream(state);
	static const char garbage[] = "\x01\x02 not http\r\n";
	const struct http_exchange *exchange;
	struct stream_stats stats;

	send_text(harness, 1, TLS_EGRESS, garbage);
	send_text(harness, 1, TLS_EGRESS, get_request);
	send_text(harness, 1, TLS_INGRESS, ok_response);

	assert_int_equal(harness->exchange_count, 1);
	exchange = exchange_at(harness, 0);
	assert_string_equal(exchange->request->target, "/index.html?q=1");
	assert_non_null(exchange->response);
	assert_int_equal(exchange->response->status_code, 200);

	stats = read_stats(harness);
	assert_int_equal(stats.garbage_bytes, strlen(garbage));
	assert_int_equal(stats.requests, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_with_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_process_and_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_into_small_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_request_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_paired_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_then_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_response_bodyless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_ends_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_ends_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unanswered_at_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_reported_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_on_next_exchange, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_inside_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_at_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gap_before_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oldest_connection_evicted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent_connection_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http2_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_side_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_response_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_response_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_ends_own_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_before_request, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

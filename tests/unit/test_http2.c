/*
 * Unit tests of the HTTP/2 parser (agent/stream/http2*.c).
 *
 * Header blocks are real HPACK, written by libnghttp2's deflater with its
 * dynamic table, so later blocks refer to entries that earlier ones added.
 * Every connection script is parsed whole, then with one step split in two
 * at every byte offset (long scripts at fewer, see next_split), then fed
 * one byte at a time. All runs must report the same messages and errors.
 * Each test then checks the fields of the whole run.
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
#include <nghttp2/nghttp2.h>

#include "stream/http2.h"

/* ---- byte buffers and frames ---- */

struct bytes {
	uint8_t *data;
	size_t length;
	size_t capacity;
};

static void bytes_append(struct bytes *bytes, const void *data, size_t length)
{
	if (bytes->length + length > bytes->capacity) {
		size_t capacity = bytes->capacity ? bytes->capacity : 256;

		while (capacity < bytes->length + length)
			capacity *= 2;
		bytes->data = realloc(bytes->data, capacity);
		assert_non_null(bytes->data);
		bytes->capacity = capacity;
	}
	if (length > 0)
		memcpy(bytes->data + bytes->length, data, length);
	bytes->length += length;
}

static void bytes_free(struct bytes *bytes)
{
	free(bytes->data);
	memset(bytes, 0, sizeof(*bytes));
}

enum {
	DATA = 0x0,
	HEADERS = 0x1,
	PRIORITY = 0x2,
	RST_STREAM = 0x3,
	SETTINGS = 0x4,
	PUSH_PROMISE = 0x5,
	PING = 0x6,
	GOAWAY = 0x7,
	WINDOW_UPDATE = 0x8,
	CONTINUATION = 0x9,
};

enum {
	END_STREAM = 0x01,
	ACK = 0x01,
	END_HEADERS = 0x04,
	PADDED = 0x08,
	PRIORITY_FLAG = 0x20,
};

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static void frame_add(struct bytes *out, uint8_t type, uint8_t flags, uint32_t stream_id, const void *payload,
		      size_t length)
{
	uint8_t header[9] = {
		(uint8_t)(length >> 16), (uint8_t)(length >> 8), (uint8_t)length,
		type, flags,
		(uint8_t)(stream_id >> 24), (uint8_t)(stream_id >> 16), (uint8_t)(stream_id >> 8), (uint8_t)stream_id,
	};

	bytes_append(out, header, sizeof(header));
	bytes_append(out, payload, length);
}

static void put32(uint8_t *out, uint32_t value)
{
	out[0] = (uint8_t)(value >> 24);
	out[1] = (uint8_t)(value >> 16);
	out[2] = (uint8_t)(value >> 8);
	out[3] = (uint8_t)value;
}

/* A SETTINGS frame with one setting, or an empty one when id is 0. */
static void settings_add(struct bytes *out, uint16_t id, uint32_t value)
{
	uint8_t entry[6] = { (uint8_t)(id >> 8), (uint8_t)id };

	put32(entry + 2, value);
	frame_add(out, SETTINGS, 0, 0, entry, id ? sizeof(entry) : 0);
}

static void settings_ack_add(struct bytes *out)
{
	frame_add(out, SETTINGS, ACK, 0, NULL, 0);
}

/* The client preface and an empty SETTINGS frame. */
static void preface_add(struct bytes *out)
{
	bytes_append(out, PREFACE, strlen(PREFACE));
	settings_add(out, 0, 0);
}

static void data_add(struct bytes *out, uint32_t stream_id, uint8_t flags, const char *text)
{
	frame_add(out, DATA, flags, stream_id, text, strlen(text));
}

/* A DATA frame with PADDED and pad_length bytes of padding. */
static void data_padded_add(struct bytes *out, uint32_t stream_id, uint8_t flags, const char *text,
			    uint8_t pad_length)
{
	struct bytes payload = { 0 };
	uint8_t zeros[256] = { 0 };

	bytes_append(&payload, &pad_length, 1);
	bytes_append(&payload, text, strlen(text));
	bytes_append(&payload, zeros, pad_length);
	frame_add(out, DATA, flags | PADDED, stream_id, payload.data, payload.length);
	bytes_free(&payload);
}

/* ---- HPACK blocks ---- */

struct field {
	const char *name;
	const char *value;
};

#define FIELDS(...) ((const struct field[]){ __VA_ARGS__, { NULL, NULL } })

static size_t field_count(const struct field *fields)
{
	size_t count = 0;

	while (fields[count].name)
		count++;
	return count;
}

static nghttp2_hd_deflater *encoder_new(void)
{
	nghttp2_hd_deflater *deflater = NULL;

	assert_int_equal(nghttp2_hd_deflate_new(&deflater, 4096), 0);
	return deflater;
}

/* Encodes fields with nghttp2's deflater (libnghttp2 1.52), which indexes
 * most fields into its dynamic table. */
static void block_encode(nghttp2_hd_deflater *deflater, const struct field *fields, struct bytes *block)
{
	size_t count = field_count(fields);
	nghttp2_nv *nva = calloc(count + 1, sizeof(*nva));
	size_t bound;
	ssize_t written;
	size_t i;

	assert_non_null(nva);
	for (i = 0; i < count; i++) {
		nva[i].name = (uint8_t *)fields[i].name;
		nva[i].namelen = strlen(fields[i].name);
		nva[i].value = (uint8_t *)fields[i].value;
		nva[i].valuelen = strlen(fields[i].value);
		nva[i].flags = NGHTTP2_NV_FLAG_NONE;
	}

	bound = nghttp2_hd_deflate_bound(deflater, nva, count);
	block->length = 0;
	bytes_append(block, NULL, 0);
	if (block->capacity < bound) {
		block->data = realloc(block->data, bound);
		assert_non_null(block->data);
		block->capacity = bound;
	}
	written = nghttp2_hd_deflate_hd(deflater, block->data, bound, nva, count);
	assert_true(written >= 0);
	block->length = (size_t)written;
	free(nva);
}

/* A HEADERS frame with END_HEADERS carrying the encoded fields. */
static void headers_add(struct bytes *out, nghttp2_hd_deflater *deflater, uint32_t stream_id, uint8_t flags,
			const struct field *fields)
{
	struct bytes block = { 0 };

	block_encode(deflater, fields, &block);
	frame_add(out, HEADERS, flags | END_HEADERS, stream_id, block.data, block.length);
	bytes_free(&block);
}

#define REQUEST_FIELDS(path)                                                                              \
	FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", path },                         \
	       { ":authority", "example.com" }, { "user-agent", "test-agent/1.0" })

#define RESPONSE_FIELDS(status) FIELDS({ ":status", status }, { "content-type", "text/plain" })

/* ---- scripts ---- */

/* Bytes of one direction, or a gap of gap_bytes lost bytes. */
struct step {
	enum tls_direction direction;
	bool is_gap;
	uint64_t gap_bytes;
	struct bytes bytes;
};

#define MAX_STEPS 64

struct script {
	struct step steps[MAX_STEPS];
	size_t step_count;
	size_t body_keep_bytes;
	/* Call h2_finish after the last step. */
	bool finish;
	/* Bytes at each end split at every offset, and the step between
	 * splits in the middle; 0 for the defaults. */
	size_t split_dense;
	size_t split_stride;
};

static void script_init(struct script *script)
{
	memset(script, 0, sizeof(*script));
	script->body_keep_bytes = 1024;
	script->finish = true;
}

static void script_free(struct script *script)
{
	size_t i;

	for (i = 0; i < script->step_count; i++)
		bytes_free(&script->steps[i].bytes);
}

/* Returns the bytes of a new data step of one direction. */
static struct bytes *script_step(struct script *script, enum tls_direction direction)
{
	struct step *step;

	assert_true(script->step_count < MAX_STEPS);
	step = &script->steps[script->step_count++];
	step->direction = direction;
	return &step->bytes;
}

/* Returns the bytes of the last step when it is data of this direction,
 * else of a new step. */
static struct bytes *script_bytes(struct script *script, enum tls_direction direction)
{
	if (script->step_count > 0) {
		struct step *last = &script->steps[script->step_count - 1];

		if (!last->is_gap && last->direction == direction)
			return &last->bytes;
	}
	return script_step(script, direction);
}

static void script_gap(struct script *script, enum tls_direction direction, uint64_t bytes)
{
	struct step *step;

	assert_true(script->step_count < MAX_STEPS);
	step = &script->steps[script->step_count++];
	step->direction = direction;
	step->is_gap = true;
	step->gap_bytes = bytes;
}

#define EGRESS(script) script_bytes((script), TLS_EGRESS)
#define INGRESS(script) script_bytes((script), TLS_INGRESS)

/* ---- recording ---- */

struct recorded_message {
	uint32_t stream_id;
	enum h1_kind kind;
	size_t header_count;
	char **names;
	char **values;
	size_t unknown_fields;
	uint64_t body_bytes;
	uint8_t *body;
	size_t body_kept;
	uint64_t lost_bytes;
	bool partial;
	bool truncated;
};

struct recorded_error {
	enum tls_direction direction;
	uint64_t bytes;
	char *what;
};

struct recording {
	struct recorded_message *messages;
	size_t message_count;
	size_t message_capacity;
	struct recorded_error *errors;
	size_t error_count;
	size_t error_capacity;
};

static char *copy_text(const char *text)
{
	char *copy;

	assert_non_null(text);
	copy = strdup(text);
	assert_non_null(copy);
	return copy;
}

static void on_message(void *user, const struct h2_message *message)
{
	struct recording *recording = user;
	struct recorded_message *copy;
	size_t i;

	if (recording->message_count == recording->message_capacity) {
		recording->message_capacity = recording->message_capacity ? recording->message_capacity * 2 : 16;
		recording->messages = realloc(recording->messages,
					      recording->message_capacity * sizeof(*recording->messages));
		assert_non_null(recording->messages);
	}
	copy = &recording->messages[recording->message_count++];
	memset(copy, 0, sizeof(*copy));

	copy->stream_id = message->stream_id;
	copy->kind = message->kind;
	copy->header_count = message->header_count;
	copy->names = calloc(message->header_count + 1, sizeof(char *));
	copy->values = calloc(message->header_count + 1, sizeof(char *));
	assert_non_null(copy->names);
	assert_non_null(copy->values);
	for (i = 0; i < message->header_count; i++) {
		copy->names[i] = copy_text(message->headers[i].name);
		copy->values[i] = copy_text(message->headers[i].value);
	}
	copy->unknown_fields = message->unknown_fields;
	copy->body_bytes = message->body_bytes;
	copy->body_kept = message->body_kept;
	if (message->body_kept > 0) {
		copy->body = malloc(message->body_kept);
		assert_non_null(copy->body);
		memcpy(copy->body, message->body, message->body_kept);
	}
	copy->lost_bytes = message->lost_bytes;
	copy->partial = message->partial;
	copy->truncated = message->truncated;
}

static void on_error(void *user, enum tls_direction direction, uint64_t bytes, const char *what)
{
	struct recording *recording = user;
	struct recorded_error *error;

	if (recording->error_count == recording->error_capacity) {
		recording->error_capacity = recording->error_capacity ? recording->error_capacity * 2 : 8;
		recording->errors = realloc(recording->errors, recording->error_capacity * sizeof(*recording->errors));
		assert_non_null(recording->errors);
	}
	error = &recording->errors[recording->error_count++];
	error->direction = direction;
	error->bytes = bytes;
	error->what = copy_text(what);
}

static const struct h2_parser_ops test_ops = {
	.on_message = on_message,
	.on_error = on_error,
};

static void recording_free(struct recording *recording)
{
	size_t i, j;

	for (i = 0; i < recording->message_count; i++) {
		struct recorded_message *message = &recording->messages[i];

		for (j = 0; j < message->header_count; j++) {
			free(message->names[j]);
			free(message->values[j]);
		}
		free(message->names);
		free(message->values);
		free(message->body);
	}
	for (i = 0; i < recording->error_count; i++)
		free(recording->errors[i].what);
	free(recording->messages);
	free(recording->errors);
	memset(recording, 0, sizeof(*recording));
}

/* ---- running scripts ---- */

enum split_mode {
	SPLIT_NONE,
	SPLIT_AT,
	SPLIT_EVERY_BYTE,
};

static void feed(struct h2_connection *connection, enum tls_direction direction, const uint8_t *data,
		 size_t length)
{
	assert_int_equal(h2_feed(connection, direction, data, length), 0);
}

/* Runs a script through a new connection. With SPLIT_AT, the data step
 * that contains data byte split_at (counted over all data steps) is fed in
 * two calls split before that byte. */
static void run_script(const struct script *script, enum split_mode mode, size_t split_at,
		       struct recording *recording)
{
	struct h2_connection *connection;
	size_t position = 0;
	size_t i, j;

	memset(recording, 0, sizeof(*recording));
	connection = h2_connection_new(&test_ops, recording, script->body_keep_bytes);
	assert_non_null(connection);

	for (i = 0; i < script->step_count; i++) {
		const struct step *step = &script->steps[i];
		const uint8_t *data = step->bytes.data;
		size_t length = step->bytes.length;

		if (step->is_gap) {
			h2_gap(connection, step->direction, step->gap_bytes);
			continue;
		}

		if (mode == SPLIT_EVERY_BYTE) {
			for (j = 0; j < length; j++)
				feed(connection, step->direction, data + j, 1);
		} else if (mode == SPLIT_AT && split_at >= position && split_at < position + length) {
			feed(connection, step->direction, data, split_at - position);
			feed(connection, step->direction, data + (split_at - position),
			     length - (split_at - position));
		} else {
			feed(connection, step->direction, data, length);
		}
		position += length;
	}

	if (script->finish)
		h2_finish(connection);
	h2_connection_free(connection);
}

/* Where a comparison runs, for the message printed before a failed assert. */
static char comparison[64];

#define SAME_NUMBER(field)                                                            \
	do {                                                                          \
		if (expected->field != actual->field)                                 \
			print_error("%s: %s differs\n", comparison, #field);          \
		assert_int_equal(expected->field, actual->field);                     \
	} while (0)

#define SAME_TEXT(field)                                                              \
	do {                                                                          \
		if (strcmp(expected->field, actual->field) != 0)                      \
			print_error("%s: %s differs\n", comparison, #field);          \
		assert_string_equal(expected->field, actual->field);                  \
	} while (0)

static void assert_same_message(const struct recorded_message *expected, const struct recorded_message *actual)
{
	size_t i;

	SAME_NUMBER(stream_id);
	SAME_NUMBER(kind);
	SAME_NUMBER(header_count);
	for (i = 0; i < expected->header_count; i++) {
		SAME_TEXT(names[i]);
		SAME_TEXT(values[i]);
	}
	SAME_NUMBER(unknown_fields);
	SAME_NUMBER(body_bytes);
	SAME_NUMBER(body_kept);
	if (expected->body_kept > 0)
		assert_memory_equal(expected->body, actual->body, expected->body_kept);
	SAME_NUMBER(lost_bytes);
	SAME_NUMBER(partial);
	SAME_NUMBER(truncated);
}

static void assert_same_recording(const struct recording *expected, const struct recording *actual)
{
	size_t i;

	SAME_NUMBER(message_count);
	for (i = 0; i < expected->message_count; i++)
		assert_same_message(&expected->messages[i], &actual->messages[i]);

	SAME_NUMBER(error_count);
	for (i = 0; i < expected->error_count; i++) {
		SAME_NUMBER(errors[i].direction);
		SAME_NUMBER(errors[i].bytes);
		SAME_TEXT(errors[i].what);
	}
}

/*
 * Long scripts are split at every offset only in the SPLIT_DENSE_BYTES at
 * each end; in the middle, at every SPLIT_STRIDE-th offset. A script may
 * set other numbers.
 */
#define SPLIT_DENSE_BYTES 4096
#define SPLIT_STRIDE 61

static size_t next_split(const struct script *script, size_t offset, size_t data_bytes)
{
	size_t dense = script->split_dense ? script->split_dense : SPLIT_DENSE_BYTES;
	size_t stride = script->split_stride ? script->split_stride : SPLIT_STRIDE;

	if (offset < dense || offset + dense >= data_bytes)
		return offset + 1;
	return offset + stride;
}

/* Runs the script whole into `whole`, and checks that its splits and the
 * byte-by-byte run report the same. */
static void run_all_splits(const struct script *script, struct recording *whole)
{
	struct recording split;
	size_t data_bytes = 0;
	size_t i;

	run_script(script, SPLIT_NONE, 0, whole);

	for (i = 0; i < script->step_count; i++)
		data_bytes += script->steps[i].bytes.length;

	for (i = 0; i < data_bytes; i = next_split(script, i, data_bytes)) {
		snprintf(comparison, sizeof(comparison), "split at byte %zu", i);
		run_script(script, SPLIT_AT, i, &split);
		assert_same_recording(whole, &split);
		recording_free(&split);
	}

	snprintf(comparison, sizeof(comparison), "byte by byte");
	run_script(script, SPLIT_EVERY_BYTE, 0, &split);
	assert_same_recording(whole, &split);
	recording_free(&split);
}

/* ---- checks ---- */

static const char *header_value(const struct recorded_message *message, const char *name)
{
	size_t i;

	for (i = 0; i < message->header_count; i++) {
		if (strcmp(message->names[i], name) == 0)
			return message->values[i];
	}
	return NULL;
}

/* Checks every field of a message, in order. */
static void assert_fields(const struct recorded_message *message, const struct field *fields)
{
	size_t count = field_count(fields);
	size_t i;

	assert_int_equal(message->header_count, count);
	for (i = 0; i < count; i++) {
		assert_string_equal(message->names[i], fields[i].name);
		assert_string_equal(message->values[i], fields[i].value);
	}
}

static void assert_body(const struct recorded_message *message, const char *body)
{
	assert_int_equal(message->body_bytes, strlen(body));
	assert_int_equal(message->body_kept, strlen(body));
	if (strlen(body) > 0)
		assert_memory_equal(message->body, body, strlen(body));
}

static void assert_message(const struct recorded_message *message, uint32_t stream_id, enum h1_kind kind,
			   bool truncated)
{
	assert_int_equal(message->stream_id, stream_id);
	assert_int_equal(message->kind, kind);
	assert_int_equal(message->truncated, truncated);
}

/* ---- requests and responses ---- */

static void test_get_and_response(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/index.html"));
	settings_add(INGRESS(&s), 0, 0);
	settings_ack_add(INGRESS(&s));
	headers_add(INGRESS(&s), server, 1, 0, RESPONSE_FIELDS("200"));
	data_add(INGRESS(&s), 1, END_STREAM, "hello");
	settings_ack_add(EGRESS(&s));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/index.html"));
	assert_int_equal(r.messages[0].unknown_fields, 0);
	assert_false(r.messages[0].partial);
	assert_body(&r.messages[0], "");
	assert_null(r.messages[0].body);

	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));
	assert_body(&r.messages[1], "hello");
	assert_int_equal(r.messages[1].lost_bytes, 0);
	assert_false(r.messages[1].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* The second request refers to entries the first one added. */
static void test_dynamic_table_reuse(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/one"));
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/two"));
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/three"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/one"));
	assert_fields(&r.messages[1], REQUEST_FIELDS("/two"));
	assert_fields(&r.messages[2], REQUEST_FIELDS("/three"));
	assert_int_equal(r.messages[2].stream_id, 5);
	assert_false(r.messages[2].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

static void test_post_body_padded(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0,
		    FIELDS({ ":method", "POST" }, { ":scheme", "https" }, { ":path", "/collect" },
			   { ":authority", "tracker.example" }, { "content-type", "application/json" }));
	data_add(EGRESS(&s), 1, 0, "{\"email\":");
	data_padded_add(EGRESS(&s), 1, 0, "\"a@b.example\"", 7);
	data_padded_add(EGRESS(&s), 1, 0, "", 3);
	data_padded_add(EGRESS(&s), 1, END_STREAM, "}", 0);
	headers_add(INGRESS(&s), server, 1, END_STREAM, FIELDS({ ":status", "204" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_string_equal(header_value(&r.messages[0], ":method"), "POST");
	assert_string_equal(header_value(&r.messages[0], "content-type"), "application/json");
	assert_body(&r.messages[0], "{\"email\":\"a@b.example\"}");
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], FIELDS({ ":status", "204" }));
	assert_body(&r.messages[1], "");

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

static void test_body_keep_limit(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	s.body_keep_bytes = 8;
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/upload"));
	data_add(EGRESS(&s), 1, 0, "01234");
	data_add(EGRESS(&s), 1, END_STREAM, "56789abcdef");
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].body_bytes, 16);
	assert_int_equal(r.messages[0].body_kept, 8);
	assert_memory_equal(r.messages[0].body, "01234567", 8);
	assert_false(r.messages[0].truncated);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

static void test_headers_continuation(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes block = { 0 };
	struct recording r;
	struct script s;
	const struct field *fields = FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/split" },
					    { ":authority", "example.com" }, { "cookie", "id=12345" },
					    { "x-long", "0123456789012345678901234567890123456789" });
	size_t third;

	script_init(&s);
	preface_add(EGRESS(&s));
	block_encode(client, fields, &block);
	third = block.length / 3;
	frame_add(EGRESS(&s), HEADERS, END_STREAM, 1, block.data, third);
	frame_add(EGRESS(&s), CONTINUATION, 0, 1, block.data + third, third);
	frame_add(EGRESS(&s), CONTINUATION, 0, 1, NULL, 0);
	frame_add(EGRESS(&s), CONTINUATION, END_HEADERS, 1, block.data + 2 * third, block.length - 2 * third);
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_fields(&r.messages[0], fields);

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	nghttp2_hd_deflate_del(client);
}

/* HEADERS with PRIORITY and PADDED: the priority fields and the padding
 * are not part of the header block. */
static void test_headers_priority_padded(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes block = { 0 };
	struct bytes payload = { 0 };
	uint8_t pad_length = 5;
	uint8_t priority[5] = { 0x80, 0, 0, 3, 200 }; /* exclusive, on stream 3, weight 201 */
	uint8_t padding[5] = { 0 };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	block_encode(client, REQUEST_FIELDS("/priority"), &block);
	bytes_append(&payload, &pad_length, 1);
	bytes_append(&payload, priority, sizeof(priority));
	bytes_append(&payload, block.data, block.length);
	bytes_append(&payload, padding, sizeof(padding));
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG, 1, payload.data,
		  payload.length);

	/* PRIORITY alone, without padding. */
	bytes_free(&payload);
	block_encode(client, REQUEST_FIELDS("/second"), &block);
	bytes_append(&payload, priority, sizeof(priority));
	bytes_append(&payload, block.data, block.length);
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 3, payload.data, payload.length);
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/priority"));
	assert_fields(&r.messages[1], REQUEST_FIELDS("/second"));

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	bytes_free(&payload);
	nghttp2_hd_deflate_del(client);
}

static void test_interleaved_streams(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/a"));
	headers_add(EGRESS(&s), client, 3, 0, REQUEST_FIELDS("/b"));
	data_add(EGRESS(&s), 1, 0, "a1");
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/c"));
	data_add(EGRESS(&s), 3, END_STREAM, "b1");
	headers_add(INGRESS(&s), server, 5, 0, RESPONSE_FIELDS("200"));
	headers_add(INGRESS(&s), server, 3, 0, RESPONSE_FIELDS("404"));
	data_add(INGRESS(&s), 5, 0, "c-");
	data_add(EGRESS(&s), 1, END_STREAM, "a2");
	data_add(INGRESS(&s), 3, END_STREAM, "nope");
	data_add(INGRESS(&s), 5, END_STREAM, "body");
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("304"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 6);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 5, H1_REQUEST, false);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/c"));
	assert_message(&r.messages[1], 3, H1_REQUEST, false);
	assert_fields(&r.messages[1], REQUEST_FIELDS("/b"));
	assert_body(&r.messages[1], "b1");
	assert_message(&r.messages[2], 1, H1_REQUEST, false);
	assert_fields(&r.messages[2], REQUEST_FIELDS("/a"));
	assert_body(&r.messages[2], "a1a2");
	assert_message(&r.messages[3], 3, H1_RESPONSE, false);
	assert_fields(&r.messages[3], RESPONSE_FIELDS("404"));
	assert_body(&r.messages[3], "nope");
	assert_message(&r.messages[4], 5, H1_RESPONSE, false);
	assert_fields(&r.messages[4], RESPONSE_FIELDS("200"));
	assert_body(&r.messages[4], "c-body");
	assert_message(&r.messages[5], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[5], RESPONSE_FIELDS("304"));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* A response that ends while its request is still open makes the request
 * reported first, truncated; later request DATA is ignored. */
static void test_response_before_request_end(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/upload"));
	data_add(EGRESS(&s), 1, 0, "part1");
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("413"));
	data_add(EGRESS(&s), 1, END_STREAM, "part2");
	run_all_splits(&s, &r);

	/* The early response waits for the request, whose whole body is
	 * still reported. */
	assert_int_equal(r.message_count, 2);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_body(&r.messages[0], "part1part2");
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("413"));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

static void test_trailers(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/grpc"));
	data_add(EGRESS(&s), 1, 0, "request");
	headers_add(EGRESS(&s), client, 1, END_STREAM, FIELDS({ "x-checksum", "abc123" }));
	headers_add(INGRESS(&s), server, 1, 0, RESPONSE_FIELDS("200"));
	data_add(INGRESS(&s), 1, 0, "reply");
	headers_add(INGRESS(&s), server, 1, END_STREAM, FIELDS({ "grpc-status", "0" }, { "grpc-message", "ok" }));
	/* These refer to the entries the trailers added. */
	headers_add(EGRESS(&s), client, 3, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/next" },
			   { "x-checksum", "abc123" }));
	headers_add(INGRESS(&s), server, 3, END_STREAM,
		    FIELDS({ ":status", "200" }, { "grpc-status", "0" }, { "grpc-message", "ok" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 4);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/grpc"));
	assert_body(&r.messages[0], "request");
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));
	assert_body(&r.messages[1], "reply");
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/next" },
					     { "x-checksum", "abc123" }));
	assert_false(r.messages[2].partial);
	assert_fields(&r.messages[3], FIELDS({ ":status", "200" }, { "grpc-status", "0" }, { "grpc-message", "ok" }));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

static void test_informational_response(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0,
		    FIELDS({ ":method", "PUT" }, { ":scheme", "https" }, { ":path", "/file" },
			   { ":authority", "example.com" }, { "expect", "100-continue" }));
	headers_add(INGRESS(&s), server, 1, 0, FIELDS({ ":status", "100" }));
	data_add(EGRESS(&s), 1, END_STREAM, "contents");
	headers_add(INGRESS(&s), server, 1, 0, FIELDS({ ":status", "103" }, { "link", "</style.css>; rel=preload" }));
	headers_add(INGRESS(&s), server, 1, 0, FIELDS({ ":status", "201" }, { "link", "</style.css>; rel=preload" }));
	data_add(INGRESS(&s), 1, END_STREAM, "created");
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_body(&r.messages[0], "contents");
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], FIELDS({ ":status", "201" }, { "link", "</style.css>; rel=preload" }));
	assert_body(&r.messages[1], "created");

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* ---- stream and connection ends ---- */

static void test_rst_stream_truncates(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	uint8_t cancel[4] = { 0, 0, 0, 0x8 };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/cancelled"));
	data_add(EGRESS(&s), 1, 0, "partial");
	frame_add(EGRESS(&s), RST_STREAM, 0, 1, cancel, sizeof(cancel));
	/* Frames after the reset are ignored. */
	data_add(EGRESS(&s), 1, END_STREAM, "late");
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/kept"));
	headers_add(INGRESS(&s), server, 3, 0, RESPONSE_FIELDS("200"));
	data_add(INGRESS(&s), 3, 0, "half");
	frame_add(INGRESS(&s), RST_STREAM, 0, 3, cancel, sizeof(cancel));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	assert_body(&r.messages[0], "partial");
	assert_message(&r.messages[1], 3, H1_REQUEST, false);
	assert_message(&r.messages[2], 3, H1_RESPONSE, true);
	assert_body(&r.messages[2], "half");

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

static void test_goaway_truncates_unprocessed(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	uint8_t goaway[8] = { 0 };
	struct recording r;
	struct script s;

	put32(goaway, 3);
	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/one"));
	headers_add(EGRESS(&s), client, 3, 0, REQUEST_FIELDS("/three"));
	headers_add(EGRESS(&s), client, 5, 0, REQUEST_FIELDS("/five"));
	data_add(EGRESS(&s), 5, 0, "never processed");
	frame_add(INGRESS(&s), GOAWAY, 0, 0, goaway, sizeof(goaway));
	data_add(EGRESS(&s), 3, END_STREAM, "three");
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("200"));
	headers_add(INGRESS(&s), server, 3, END_STREAM, RESPONSE_FIELDS("200"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 5);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_message(&r.messages[1], 5, H1_REQUEST, true);
	assert_body(&r.messages[1], "never processed");
	assert_message(&r.messages[2], 3, H1_REQUEST, false);
	assert_body(&r.messages[2], "three");
	assert_message(&r.messages[3], 1, H1_RESPONSE, false);
	assert_message(&r.messages[4], 3, H1_RESPONSE, false);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

static void test_finish_truncates_open(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct bytes block = { 0 };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/streaming"));
	headers_add(EGRESS(&s), client, 3, 0, REQUEST_FIELDS("/upload"));
	data_add(EGRESS(&s), 3, 0, "so far");
	headers_add(INGRESS(&s), server, 1, 0, RESPONSE_FIELDS("200"));
	data_add(INGRESS(&s), 1, 0, "chunk");
	/* A header block still waiting for CONTINUATION, and half a frame. */
	block_encode(client, REQUEST_FIELDS("/cut"), &block);
	frame_add(EGRESS(&s), HEADERS, END_STREAM, 5, block.data, block.length);
	bytes_append(EGRESS(&s), "\x00\x00", 2);
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 4);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_message(&r.messages[1], 1, H1_RESPONSE, true);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));
	assert_body(&r.messages[1], "chunk");
	assert_message(&r.messages[2], 3, H1_REQUEST, true);
	assert_fields(&r.messages[2], REQUEST_FIELDS("/upload"));
	assert_body(&r.messages[2], "so far");
	assert_message(&r.messages[3], 5, H1_REQUEST, true);
	assert_int_equal(r.messages[3].header_count, 0);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].direction, TLS_EGRESS);
	assert_int_equal(r.errors[0].bytes, 2);

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* At H2_MAX_OPEN_STREAMS (1024) open streams, the oldest is reported
 * truncated when another opens. */
static void test_oldest_stream_evicted(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct recording r;
	struct script s;
	uint32_t id;

	script_init(&s);
	s.split_dense = 64;
	s.split_stride = 4099;
	preface_add(EGRESS(&s));
	for (id = 1; id <= 2 * 1025 - 1; id += 2)
		headers_add(EGRESS(&s), client, id, 0, REQUEST_FIELDS("/open"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 1025);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/open"));
	assert_message(&r.messages[1], 3, H1_REQUEST, true);
	assert_message(&r.messages[1024], 2049, H1_REQUEST, true);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* ---- control frames ---- */

static void test_control_frames_ignored(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	uint8_t ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t window[4] = { 0, 1, 0, 0 };
	uint8_t priority[5] = { 0, 0, 0, 0, 15 };
	uint8_t unknown[3] = { 'x', 'y', 'z' };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	frame_add(EGRESS(&s), WINDOW_UPDATE, 0, 0, window, sizeof(window));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/x"));
	frame_add(EGRESS(&s), PRIORITY, 0, 1, priority, sizeof(priority));
	frame_add(EGRESS(&s), 0xfa, 0xff, 1, unknown, sizeof(unknown));
	frame_add(EGRESS(&s), PING, 0, 0, ping, sizeof(ping));
	frame_add(EGRESS(&s), WINDOW_UPDATE, 0, 1, window, sizeof(window));
	data_add(EGRESS(&s), 1, END_STREAM, "body");
	frame_add(INGRESS(&s), PING, ACK, 0, ping, sizeof(ping));
	frame_add(INGRESS(&s), 0x20, 0, 0, NULL, 0);
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("200"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/x"));
	assert_body(&r.messages[0], "body");
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* A large SETTINGS_HEADER_TABLE_SIZE from the client, acknowledged by the
 * server, lets the server's encoder use a table larger than 4096 bytes. */
static void test_settings_table_size_larger(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = NULL;
	char big_a[1500], big_b[1500], big_c[1500];
	struct recording r;
	struct script s;
	const struct field *fields;

	memset(big_a, 'a', sizeof(big_a) - 1);
	memset(big_b, 'b', sizeof(big_b) - 1);
	memset(big_c, 'c', sizeof(big_c) - 1);
	big_a[sizeof(big_a) - 1] = big_b[sizeof(big_b) - 1] = big_c[sizeof(big_c) - 1] = '\0';
	fields = FIELDS({ ":status", "200" }, { "x-a", big_a }, { "x-b", big_b }, { "x-c", big_c });

	assert_int_equal(nghttp2_hd_deflate_new(&server, 8192), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(server, 8192), 0);

	script_init(&s);
	bytes_append(EGRESS(&s), PREFACE, strlen(PREFACE));
	settings_add(EGRESS(&s), 0x1, 8192);
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/b"));
	settings_add(INGRESS(&s), 0, 0);
	settings_ack_add(INGRESS(&s));
	headers_add(INGRESS(&s), server, 1, END_STREAM, fields);
	headers_add(INGRESS(&s), server, 3, END_STREAM, fields);
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 4);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[2], fields);
	assert_fields(&r.messages[3], fields);
	assert_int_equal(r.messages[3].unknown_fields, 0);
	assert_false(r.messages[3].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* A smaller SETTINGS_HEADER_TABLE_SIZE takes effect at the server's ACK:
 * the inflater shrinks its table then, and the server's next block begins
 * with the size update that RFC 7541 section 4.2 requires. */
static void test_settings_table_size_smaller(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	settings_add(INGRESS(&s), 0, 0);
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("200"));
	settings_add(EGRESS(&s), 0x1, 64);
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/b"));
	settings_ack_add(INGRESS(&s));
	assert_int_equal(nghttp2_hd_deflate_change_table_size(server, 64), 0);
	headers_add(INGRESS(&s), server, 3, END_STREAM, RESPONSE_FIELDS("200"));
	headers_add(INGRESS(&s), server, 5, END_STREAM, RESPONSE_FIELDS("404"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 5);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[3], 3, H1_RESPONSE, false);
	assert_fields(&r.messages[3], RESPONSE_FIELDS("200"));
	assert_message(&r.messages[4], 5, H1_RESPONSE, false);
	assert_fields(&r.messages[4], RESPONSE_FIELDS("404"));
	assert_false(r.messages[4].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* Size updates at the start of a block (RFC 7541 section 6.3): to 0, which
 * empties the table, then back to 4096. */
static void test_size_update_in_block(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes block = { 0 };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/before"));
	assert_int_equal(nghttp2_hd_deflate_change_table_size(client, 0), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(client, 4096), 0);
	block_encode(client, REQUEST_FIELDS("/after"), &block);
	/* 0x20 is a size update to 0, 0x3f 0xe1 0x1f one to 4096. */
	assert_memory_equal(block.data, "\x20\x3f\xe1\x1f", 4);
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS, 3, block.data, block.length);
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/again"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/before"));
	assert_fields(&r.messages[1], REQUEST_FIELDS("/after"));
	assert_fields(&r.messages[2], REQUEST_FIELDS("/again"));

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	nghttp2_hd_deflate_del(client);
}

/* ---- server push ---- */

/* PUSH_PROMISE and the pushed stream are not reported, but their header
 * blocks add entries that the server's later blocks refer to. */
static void test_push_promise_keeps_table(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	const struct field *pushed = FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/pushed.css" },
					    { ":authority", "push.example" }, { "x-push-marker", "pushed-value" });
	struct bytes block = { 0 };
	struct bytes payload = { 0 };
	uint8_t promised[4];
	uint8_t pad_length = 2;
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/page"));

	put32(promised, 2);
	block_encode(server, pushed, &block);
	bytes_append(&payload, &pad_length, 1);
	bytes_append(&payload, promised, sizeof(promised));
	bytes_append(&payload, block.data, block.length / 2);
	bytes_append(&payload, "\0\0", pad_length);
	frame_add(INGRESS(&s), PUSH_PROMISE, PADDED, 1, payload.data, payload.length);
	frame_add(INGRESS(&s), CONTINUATION, END_HEADERS, 1, block.data + block.length / 2,
		  block.length - block.length / 2);
	headers_add(INGRESS(&s), server, 2, 0, FIELDS({ ":status", "200" }, { "x-push-marker", "pushed-value" }));
	data_add(INGRESS(&s), 2, END_STREAM, "body{}");
	headers_add(INGRESS(&s), server, 1, END_STREAM,
		    FIELDS({ ":status", "200" }, { "x-push-marker", "pushed-value" },
			   { ":authority", "push.example" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], FIELDS({ ":status", "200" }, { "x-push-marker", "pushed-value" },
					     { ":authority", "push.example" }));
	assert_false(r.messages[1].partial);

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	bytes_free(&payload);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* ---- mid-connection attach ---- */

/*
 * The deflater encodes requests on streams 1 and 3, which are not fed to
 * the parser. From stream 5 on, fields that refer to entries added by those
 * blocks are unknown, and fields added after the attach resolve exactly.
 */
static void test_mid_connection_attach(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct bytes unseen = { 0 };
	struct recording r;
	struct script s;

	block_encode(client, FIELDS({ ":method", "GET" }, { ":authority", "example.com" },
				    { "user-agent", "test-agent" }, { "x-id", "one" }), &unseen);
	block_encode(client, FIELDS({ ":method", "GET" }, { ":authority", "example.com" }, { "x-id", "two" }),
		     &unseen);
	block_encode(server, FIELDS({ ":status", "200" }, { "server", "old-server" }), &unseen);

	script_init(&s);
	/* The first bytes seen are frames, not the preface. */
	frame_add(EGRESS(&s), WINDOW_UPDATE, 0, 0, "\0\0\1\0", 4);
	headers_add(EGRESS(&s), client, 5, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/c" }, { ":authority", "example.com" },
			   { "user-agent", "test-agent" }, { "x-id", "two" }, { "x-new", "fresh" }));
	headers_add(EGRESS(&s), client, 7, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/d" }, { ":authority", "example.com" },
			   { "x-new", "fresh" }, { "x-id", "three" }));
	headers_add(EGRESS(&s), client, 9, END_STREAM,
		    FIELDS({ ":method", "GET" }, { "x-id", "three" }, { "x-new", "fresh" }));
	headers_add(INGRESS(&s), server, 5, END_STREAM,
		    FIELDS({ ":status", "200" }, { "server", "old-server" }, { "x-served-by", "edge1" }));
	headers_add(INGRESS(&s), server, 7, END_STREAM, FIELDS({ ":status", "200" }, { "x-served-by", "edge1" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 5);
	assert_int_equal(r.error_count, 0);

	assert_message(&r.messages[0], 5, H1_REQUEST, false);
	assert_fields(&r.messages[0], FIELDS({ ":method", "GET" }, { ":path", "/c" }, { "", "" }, { "", "" },
					     { "", "" }, { "x-new", "fresh" }));
	assert_int_equal(r.messages[0].unknown_fields, 3);
	assert_true(r.messages[0].partial);

	/* x-id with a new value: the name refers to an unseen entry, the
	 * value is a literal. */
	assert_message(&r.messages[1], 7, H1_REQUEST, false);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { ":path", "/d" }, { "", "" },
					     { "x-new", "fresh" }, { "", "three" }));
	assert_int_equal(r.messages[1].unknown_fields, 2);
	assert_true(r.messages[1].partial);

	/* The entry added by stream 7 resolves, with its unknown name. */
	assert_message(&r.messages[2], 9, H1_REQUEST, false);
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { "", "three" }, { "x-new", "fresh" }));
	assert_int_equal(r.messages[2].unknown_fields, 1);

	assert_message(&r.messages[3], 5, H1_RESPONSE, false);
	assert_fields(&r.messages[3], FIELDS({ ":status", "200" }, { "", "" }, { "x-served-by", "edge1" }));
	assert_int_equal(r.messages[3].unknown_fields, 1);
	assert_true(r.messages[3].partial);

	assert_message(&r.messages[4], 7, H1_RESPONSE, false);
	assert_fields(&r.messages[4], FIELDS({ ":status", "200" }, { "x-served-by", "edge1" }));
	assert_int_equal(r.messages[4].unknown_fields, 0);
	assert_false(r.messages[4].partial);

	recording_free(&r);
	script_free(&s);
	bytes_free(&unseen);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* A size update to 0 after the attach empties the encoder's table, so
 * nothing unseen is left: later blocks decode completely. */
static void test_mid_connection_table_emptied(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes unseen = { 0 };
	struct recording r;
	struct script s;

	block_encode(client, REQUEST_FIELDS("/unseen"), &unseen);

	script_init(&s);
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/seen"));
	assert_int_equal(nghttp2_hd_deflate_change_table_size(client, 0), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(client, 4096), 0);
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/emptied"));
	headers_add(EGRESS(&s), client, 7, END_STREAM, REQUEST_FIELDS("/later"));
	/* With the table known again, index 200 cannot be an unseen entry:
	 * the block is wrong and does not decode. */
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS, 9, "\x82\xff\x49", 3);
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 4);
	assert_true(r.messages[0].partial);
	assert_int_equal(r.messages[0].unknown_fields, 2);
	assert_fields(&r.messages[1], REQUEST_FIELDS("/emptied"));
	assert_false(r.messages[1].partial);
	assert_fields(&r.messages[2], REQUEST_FIELDS("/later"));
	assert_false(r.messages[2].partial);
	assert_message(&r.messages[3], 9, H1_REQUEST, true);
	assert_fields(&r.messages[3], FIELDS({ ":method", "GET" }));
	assert_int_equal(r.error_count, 1);
	assert_string_equal(r.errors[0].what, "header block did not decode");

	recording_free(&r);
	script_free(&s);
	bytes_free(&unseen);
	nghttp2_hd_deflate_del(client);
}

/* Joined in the middle of an upload: the DATA of a stream whose HEADERS
 * were not seen is a request without fields, marked partial. */
static void test_data_without_headers(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	data_add(EGRESS(&s), 1, 0, "email=a%40b.example");
	data_add(EGRESS(&s), 1, END_STREAM, "&x=1");
	data_add(EGRESS(&s), 3, END_STREAM, "");
	headers_add(INGRESS(&s), server, 1, 0, RESPONSE_FIELDS("200"));
	data_add(INGRESS(&s), 1, END_STREAM, "ok");
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/after"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_int_equal(r.messages[0].header_count, 0);
	assert_true(r.messages[0].partial);
	assert_body(&r.messages[0], "email=a%40b.example&x=1");
	assert_message(&r.messages[1], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));
	assert_message(&r.messages[2], 5, H1_REQUEST, false);
	assert_fields(&r.messages[2], REQUEST_FIELDS("/after"));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* Bytes before the first frame boundary (a capture that joins in the
 * middle of a frame) are skipped and reported. */
static void test_garbage_before_frames(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	bytes_append(EGRESS(&s), "tail of an earlier frame", 24);
	headers_add(EGRESS(&s), client, 7, END_STREAM, REQUEST_FIELDS("/x"));
	data_add(EGRESS(&s), 9, 0, "body");
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].direction, TLS_EGRESS);
	assert_int_equal(r.errors[0].bytes, 24);
	assert_message(&r.messages[0], 7, H1_REQUEST, false);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/x"));
	assert_message(&r.messages[1], 9, H1_REQUEST, true);
	assert_body(&r.messages[1], "body");

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* Ingress bytes that arrive before the egress preface: the server's
 * SETTINGS frame is found as a boundary and nothing is lost. */
static void test_ingress_first(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	settings_add(INGRESS(&s), 0x3, 100);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	settings_ack_add(INGRESS(&s));
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("200"));
	headers_add(INGRESS(&s), server, 3, END_STREAM, RESPONSE_FIELDS("200"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[1], RESPONSE_FIELDS("200"));
	assert_fields(&r.messages[2], RESPONSE_FIELDS("200"));
	assert_false(r.messages[2].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* ---- gaps and damaged input ---- */

static void test_gap_in_data(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes *bytes;
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/upload"));
	bytes = EGRESS(&s);
	frame_add(bytes, DATA, 0, 1, "hello world", 11);
	bytes->length -= 6; /* " world" is lost */
	script_gap(&s, TLS_EGRESS, 6);
	data_padded_add(EGRESS(&s), 1, 0, "more", 200);
	bytes = EGRESS(&s);
	bytes->length -= 150; /* 150 bytes of padding are lost */
	script_gap(&s, TLS_EGRESS, 150);
	data_add(EGRESS(&s), 1, END_STREAM, "!");
	headers_add(EGRESS(&s), client, 3, END_STREAM, REQUEST_FIELDS("/next"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, false);
	assert_int_equal(r.messages[0].body_bytes, 16);
	assert_int_equal(r.messages[0].lost_bytes, 156);
	/* The kept body stops at the gap, to stay a prefix of the body. */
	assert_int_equal(r.messages[0].body_kept, 5);
	assert_memory_equal(r.messages[0].body, "hello", 5);
	assert_fields(&r.messages[1], REQUEST_FIELDS("/next"));
	assert_false(r.messages[1].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* A gap inside a header block that ends inside the same frame: the frame
 * boundary stays known, the stream is truncated, and the table unknown. */
static void test_gap_in_header_block(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes *bytes;
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/first"));
	bytes = EGRESS(&s);
	headers_add(bytes, client, 3, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/lost" }, { "x-lost", "value" }));
	bytes->length -= 8;
	script_gap(&s, TLS_EGRESS, 3);
	/* The last 5 bytes of the frame arrive: a made-up tail, since the
	 * block is not decoded any more. */
	bytes_append(EGRESS(&s), "\0\0\0\0\0", 5);
	headers_add(EGRESS(&s), client, 5, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/after" }, { ":authority", "example.com" },
			   { "x-fresh", "1" }));
	headers_add(EGRESS(&s), client, 7, END_STREAM, FIELDS({ ":method", "GET" }, { "x-fresh", "1" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 4);
	assert_int_equal(r.error_count, 0);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/first"));
	assert_message(&r.messages[1], 3, H1_REQUEST, true);
	assert_int_equal(r.messages[1].header_count, 0);
	assert_message(&r.messages[2], 5, H1_REQUEST, false);
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { ":path", "/after" }, { "", "" },
					     { "x-fresh", "1" }));
	assert_true(r.messages[2].partial);
	assert_message(&r.messages[3], 7, H1_REQUEST, false);
	assert_fields(&r.messages[3], FIELDS({ ":method", "GET" }, { "x-fresh", "1" }));
	assert_false(r.messages[3].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* A gap that runs past the end of a header frame: the next boundary is
 * found again, open messages of that side are truncated, and later streams
 * are still reported. */
static void test_gap_across_frames(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	nghttp2_hd_deflater *server = encoder_new();
	struct bytes *bytes;
	size_t before;
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/open"));
	data_add(EGRESS(&s), 1, 0, "start");
	bytes = EGRESS(&s);
	before = bytes->length;
	headers_add(bytes, client, 3, END_STREAM, REQUEST_FIELDS("/lost"));
	data_add(bytes, 1, 0, "lost data");
	script_gap(&s, TLS_EGRESS, bytes->length - before - 4 - 7);
	bytes->length = before + 4;
	/* The last 7 bytes of the lost DATA frame, then intact frames. */
	bytes_append(EGRESS(&s), "st data", 7);
	data_add(EGRESS(&s), 1, END_STREAM, "end");
	headers_add(EGRESS(&s), client, 5, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/after" }, { "x-fresh", "1" }));
	headers_add(INGRESS(&s), server, 1, END_STREAM, RESPONSE_FIELDS("200"));
	run_all_splits(&s, &r);

	/* The 4 bytes before the gap are reported at the gap, the 7 after it
	 * once the next boundary is found. */
	assert_int_equal(r.error_count, 2);
	assert_int_equal(r.errors[0].direction, TLS_EGRESS);
	assert_int_equal(r.errors[0].bytes, 4);
	assert_int_equal(r.errors[1].bytes, 7);
	assert_int_equal(r.message_count, 3);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	assert_int_equal(r.messages[0].body_bytes, strlen("startend"));
	assert_message(&r.messages[1], 5, H1_REQUEST, false);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { ":path", "/after" }, { "x-fresh", "1" }));
	assert_message(&r.messages[2], 1, H1_RESPONSE, false);
	assert_fields(&r.messages[2], RESPONSE_FIELDS("200"));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
	nghttp2_hd_deflate_del(server);
}

/* Bytes between frames that are not a frame header: they are skipped and
 * reported, and the frames after them are parsed. */
static void test_garbage_between_frames(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	bytes_append(EGRESS(&s), "garbage", 7);
	headers_add(EGRESS(&s), client, 3, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/b" }, { ":authority", "example.com" }));
	headers_add(EGRESS(&s), client, 5, END_STREAM, FIELDS({ ":method", "GET" }, { ":path", "/c" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, 7);
	assert_fields(&r.messages[0], REQUEST_FIELDS("/a"));
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { ":path", "/b" }, { "", "" }));
	assert_true(r.messages[1].partial);
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { ":path", "/c" }));

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* A frame longer than SETTINGS_MAX_FRAME_SIZE (16384 by default) cannot be
 * one on a connection seen from its start: its bytes are skipped. */
static void test_frame_over_max_size(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	char *big = malloc(20001);
	struct recording r;
	struct script s;

	assert_non_null(big);
	memset(big, 'x', 20000);
	big[20000] = '\0';
	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/big"));
	data_add(EGRESS(&s), 1, 0, big);
	headers_add(EGRESS(&s), client, 3, END_STREAM, FIELDS({ ":method", "GET" }, { ":path", "/small" }));
	data_add(EGRESS(&s), 1, END_STREAM, "end");
	run_all_splits(&s, &r);

	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, 9 + 20000);
	assert_int_equal(r.message_count, 2);
	assert_message(&r.messages[0], 3, H1_REQUEST, false);
	assert_fields(&r.messages[0], FIELDS({ ":method", "GET" }, { ":path", "/small" }));
	assert_message(&r.messages[1], 1, H1_REQUEST, true);
	assert_body(&r.messages[1], "end");

	recording_free(&r);
	script_free(&s);
	free(big);
	nghttp2_hd_deflate_del(client);
}

/* With SETTINGS_MAX_FRAME_SIZE raised by the receiver, the same frame is
 * fine. */
static void test_frame_max_size_raised(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	char *big = malloc(20001);
	struct recording r;
	struct script s;

	assert_non_null(big);
	memset(big, 'x', 20000);
	big[20000] = '\0';
	script_init(&s);
	preface_add(EGRESS(&s));
	settings_add(INGRESS(&s), 0x5, 65536);
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/big"));
	data_add(EGRESS(&s), 1, END_STREAM, big);
	run_all_splits(&s, &r);

	assert_int_equal(r.error_count, 0);
	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.messages[0].body_bytes, 20000);
	assert_false(r.messages[0].truncated);

	recording_free(&r);
	script_free(&s);
	free(big);
	nghttp2_hd_deflate_del(client);
}

/* A header block that does not decode truncates its message, and the
 * parser goes on with an unknown table. */
static void test_invalid_block_recovers(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	static const uint8_t invalid[] = { 0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS, 3, invalid, sizeof(invalid));
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/b"));
	headers_add(EGRESS(&s), client, 7, END_STREAM, FIELDS({ ":method", "GET" }, { "x-new", "1" }));
	headers_add(EGRESS(&s), client, 9, END_STREAM, FIELDS({ ":method", "GET" }, { "x-new", "1" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 5);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, sizeof(invalid));
	assert_string_equal(r.errors[0].what, "header block did not decode");
	assert_message(&r.messages[1], 3, H1_REQUEST, true);
	/* The field before the failure is kept. */
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }));
	assert_message(&r.messages[2], 5, H1_REQUEST, false);
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/b" },
					     { "", "" }, { "", "" }));
	assert_true(r.messages[2].partial);
	assert_fields(&r.messages[4], FIELDS({ ":method", "GET" }, { "x-new", "1" }));
	assert_false(r.messages[4].partial);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* A header block larger than H2_MAX_HEADER_BLOCK_BYTES truncates its
 * stream without being decoded. */
static void test_header_block_too_large(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	size_t value_bytes = 60000;
	char *value = malloc(value_bytes + 1);
	struct bytes block = { 0 };
	struct recording r;
	struct script s;
	size_t at;

	assert_non_null(value);
	for (at = 0; at < value_bytes; at++)
		value[at] = (char)('!' + (at * 7919) % 90);
	value[value_bytes] = '\0';

	script_init(&s);
	s.split_dense = 512;
	s.split_stride = 997;
	preface_add(EGRESS(&s));
	settings_add(INGRESS(&s), 0x5, 0xffffff);
	block_encode(client,
		     FIELDS({ ":method", "GET" }, { "x-1", value }, { "x-2", value }, { "x-3", value },
			    { "x-4", value }, { "x-5", value }),
		     &block);
	assert_true(block.length > H2_MAX_HEADER_BLOCK_BYTES);
	frame_add(EGRESS(&s), HEADERS, END_STREAM, 1, block.data, 100000);
	frame_add(EGRESS(&s), CONTINUATION, 0, 1, block.data + 100000, 100000);
	frame_add(EGRESS(&s), CONTINUATION, END_HEADERS, 1, block.data + 200000, block.length - 200000);
	headers_add(EGRESS(&s), client, 3, END_STREAM,
		    FIELDS({ ":method", "GET" }, { ":path", "/next" }, { "x-fresh", "1" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, block.length);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	assert_int_equal(r.messages[0].header_count, 0);
	assert_message(&r.messages[1], 3, H1_REQUEST, false);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { ":path", "/next" }, { "x-fresh", "1" }));

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	free(value);
	nghttp2_hd_deflate_del(client);
}

/* A small block that names one large entry many times decodes to more than
 * H2_MAX_HEADER_BLOCK_BYTES of fields: the fields past the limit are
 * dropped and the message truncated, but the block is decoded to the end,
 * so the table stays in step. */
static void test_decoded_fields_over_limit(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	char value[3001];
	struct bytes block = { 0 };
	struct recording r;
	struct script s;
	size_t i;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	script_init(&s);
	preface_add(EGRESS(&s));
	block_encode(client, FIELDS({ ":method", "GET" }, { "x-big", value }), &block);
	/* 0xbe is the indexed field 62: the x-big entry just added. */
	for (i = 0; i < 100; i++)
		bytes_append(&block, "\xbe", 1);
	frame_add(EGRESS(&s), HEADERS, END_STREAM | END_HEADERS, 1, block.data, block.length);
	headers_add(EGRESS(&s), client, 3, END_STREAM, FIELDS({ ":method", "GET" }, { "x-big", value }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	/* (3005 + 32) bytes per x-big field: 86 of them fit in 262144. */
	assert_int_equal(r.messages[0].header_count, 1 + 86);
	assert_string_equal(r.messages[0].names[86], "x-big");
	assert_message(&r.messages[1], 3, H1_REQUEST, false);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { "x-big", value }));
	assert_false(r.messages[1].partial);

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	nghttp2_hd_deflate_del(client);
}

/* A literal longer than nghttp2 1.52 accepts (65536 bytes) is an unknown
 * field. With incremental indexing it may have entered the encoder's table,
 * so the entries before it become unknown too. */
static void test_literal_over_nghttp2_limit(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	size_t value_bytes = 70000;
	struct bytes block = { 0 };
	struct bytes literal = { 0 };
	uint8_t prefix[5];
	struct recording r;
	struct script s;
	size_t at;

	/* A literal with incremental indexing and a new name "x-huge", its
	 * value not Huffman-coded: 0x7f then 70000 - 127 in 7-bit groups. */
	bytes_append(&literal, "\x40\x06x-huge", 8);
	prefix[0] = 0x7f;
	prefix[1] = (uint8_t)(0x80 | ((value_bytes - 127) & 0x7f));
	prefix[2] = (uint8_t)(0x80 | (((value_bytes - 127) >> 7) & 0x7f));
	prefix[3] = (uint8_t)((value_bytes - 127) >> 14);
	bytes_append(&literal, prefix, 4);
	for (at = 0; at < value_bytes; at++)
		bytes_append(&literal, "h", 1);

	script_init(&s);
	s.split_dense = 256;
	s.split_stride = 4001;
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, END_STREAM, REQUEST_FIELDS("/a"));
	block_encode(client, FIELDS({ ":method", "GET" }), &block);
	bytes_append(&block, literal.data, literal.length);
	frame_add(EGRESS(&s), HEADERS, END_STREAM, 3, block.data, 16384);
	for (at = 16384; at + 16384 < block.length; at += 16384)
		frame_add(EGRESS(&s), CONTINUATION, 0, 3, block.data + at, 16384);
	frame_add(EGRESS(&s), CONTINUATION, END_HEADERS, 3, block.data + at, block.length - at);
	/* The deflater never saw the literal, so its table still contains the
	 * entries of stream 1, which the parser can no longer place. */
	headers_add(EGRESS(&s), client, 5, END_STREAM, REQUEST_FIELDS("/b"));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 3);
	assert_int_equal(r.error_count, 0);
	assert_message(&r.messages[1], 3, H1_REQUEST, false);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { "", "" }));
	assert_int_equal(r.messages[1].unknown_fields, 1);
	assert_message(&r.messages[2], 5, H1_REQUEST, false);
	assert_fields(&r.messages[2], FIELDS({ ":method", "GET" }, { ":scheme", "https" }, { ":path", "/b" },
					     { "", "" }, { "", "" }));
	assert_true(r.messages[2].partial);

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	bytes_free(&literal);
	nghttp2_hd_deflate_del(client);
}

/* A header block without END_HEADERS followed by another frame than its
 * CONTINUATION is lost. */
static void test_continuation_missing(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes block = { 0 };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	block_encode(client, REQUEST_FIELDS("/cut"), &block);
	frame_add(EGRESS(&s), HEADERS, END_STREAM, 1, block.data, block.length);
	data_add(EGRESS(&s), 1, END_STREAM, "ignored");
	headers_add(EGRESS(&s), client, 3, END_STREAM, FIELDS({ ":method", "GET" }, { ":path", "/next" }));
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 2);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, block.length);
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	assert_int_equal(r.messages[0].header_count, 0);
	assert_int_equal(r.messages[0].body_bytes, 0);
	assert_fields(&r.messages[1], FIELDS({ ":method", "GET" }, { ":path", "/next" }));

	recording_free(&r);
	script_free(&s);
	bytes_free(&block);
	nghttp2_hd_deflate_del(client);
}

/* Padding as long as the payload is invalid: the frame is skipped. */
static void test_invalid_padding(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	uint8_t payload[4] = { 10, 'a', 'b', 'c' };
	struct recording r;
	struct script s;

	script_init(&s);
	preface_add(EGRESS(&s));
	headers_add(EGRESS(&s), client, 1, 0, REQUEST_FIELDS("/p"));
	frame_add(EGRESS(&s), DATA, PADDED, 1, payload, sizeof(payload));
	data_add(EGRESS(&s), 1, END_STREAM, "ok");
	run_all_splits(&s, &r);

	assert_int_equal(r.message_count, 1);
	assert_int_equal(r.error_count, 1);
	assert_int_equal(r.errors[0].bytes, sizeof(payload));
	assert_message(&r.messages[0], 1, H1_REQUEST, true);
	/* What the skipped frame held is unknown, so nothing after it is kept:
	 * the kept body must stay an exact prefix. */
	assert_int_equal(r.messages[0].body_bytes, 2);
	assert_int_equal(r.messages[0].body_kept, 0);

	recording_free(&r);
	script_free(&s);
	nghttp2_hd_deflate_del(client);
}

/* Random bytes never crash the parser, in either direction, with gaps. */
static void test_random_bytes(void **state)
{
	uint8_t data[4096];
	uint32_t seed = 12345;
	int round;

	for (round = 0; round < 200; round++) {
		struct recording r;
		struct h2_connection *connection = h2_connection_new(&test_ops, &r, 64);
		size_t at = 0;
		size_t i;

		memset(&r, 0, sizeof(r));
		assert_non_null(connection);
		for (i = 0; i < sizeof(data); i++) {
			seed = seed * 1103515245 + 12345;
			data[i] = (uint8_t)(seed >> 16);
			/* Some rounds look more like frames. */
			if (round % 2 && i % 9 < 3)
				data[i] = 0;
		}
		if (round % 3 == 0)
			h2_feed(connection, TLS_EGRESS, (const uint8_t *)PREFACE, strlen(PREFACE));
		while (at < sizeof(data)) {
			size_t length = 1 + (data[at] % 700);

			if (length > sizeof(data) - at)
				length = sizeof(data) - at;
			h2_feed(connection, (at / 700) % 2 ? TLS_INGRESS : TLS_EGRESS, data + at, length);
			if (data[at] % 17 == 0)
				h2_gap(connection, TLS_EGRESS, data[at]);
			at += length;
		}
		h2_finish(connection);
		h2_connection_free(connection);
		recording_free(&r);
	}
}

/* ---- detection ---- */

static void test_looks_like_frames(void **state)
{
	nghttp2_hd_deflater *client = encoder_new();
	struct bytes frames = { 0 };
	uint8_t stream_zero_headers[9] = { 0, 0, 0, HEADERS, END_HEADERS, 0, 0, 0, 0 };
	uint8_t bad_ping[9] = { 0, 0, 7, PING, 0, 0, 0, 0, 0 };
	uint8_t unknown_type[9] = { 0, 0, 0, 0x42, 0, 0, 0, 0, 0 };
	uint8_t tls_record[9] = { 0x17, 0x03, 0x03, 0x00, 0x40, 0, 0, 0, 0 };

	settings_add(&frames, 0x4, 65535);
	assert_true(h2_looks_like_frames(frames.data, frames.length));
	headers_add(&frames, client, 1, END_STREAM, REQUEST_FIELDS("/"));
	frame_add(&frames, WINDOW_UPDATE, 0, 0, "\0\0\1\0", 4);
	assert_true(h2_looks_like_frames(frames.data, frames.length));
	/* A last frame cut short still counts, as far as it goes. */
	assert_true(h2_looks_like_frames(frames.data, frames.length - 2));
	assert_true(h2_looks_like_frames(frames.data, 9));

	assert_false(h2_looks_like_frames(frames.data, 8));
	assert_false(h2_looks_like_frames(NULL, 0));
	assert_false(h2_looks_like_frames((const uint8_t *)PREFACE, strlen(PREFACE)));
	assert_false(h2_looks_like_frames((const uint8_t *)"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 27));
	assert_false(h2_looks_like_frames(stream_zero_headers, sizeof(stream_zero_headers)));
	assert_false(h2_looks_like_frames(bad_ping, sizeof(bad_ping)));
	assert_false(h2_looks_like_frames(unknown_type, sizeof(unknown_type)));
	assert_false(h2_looks_like_frames(tls_record, sizeof(tls_record)));

	/* A valid frame followed by a header that is not one. */
	bytes_append(&frames, bad_ping, sizeof(bad_ping));
	assert_false(h2_looks_like_frames(frames.data, frames.length));

	bytes_free(&frames);
	nghttp2_hd_deflate_del(client);
}

static void test_starts_with_preface(void **state)
{
	assert_true(h2_starts_with_preface((const uint8_t *)PREFACE, strlen(PREFACE)));
	assert_true(h2_starts_with_preface((const uint8_t *)PREFACE "\0\0\0", strlen(PREFACE) + 3));
	assert_false(h2_starts_with_preface((const uint8_t *)PREFACE, strlen(PREFACE) - 1));
	assert_false(h2_starts_with_preface((const uint8_t *)"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24));
	assert_false(h2_starts_with_preface(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_and_response),
		cmocka_unit_test(test_dynamic_table_reuse),
		cmocka_unit_test(test_post_body_padded),
		cmocka_unit_test(test_body_keep_limit),
		cmocka_unit_test(test_headers_continuation),
		cmocka_unit_test(test_headers_priority_padded),
		cmocka_unit_test(test_interleaved_streams),
		cmocka_unit_test(test_response_before_request_end),
		cmocka_unit_test(test_trailers),
		cmocka_unit_test(test_informational_response),
		cmocka_unit_test(test_rst_stream_truncates),
		cmocka_unit_test(test_goaway_truncates_unprocessed),
		cmocka_unit_test(test_finish_truncates_open),
		cmocka_unit_test(test_oldest_stream_evicted),
		cmocka_unit_test(test_control_frames_ignored),
		cmocka_unit_test(test_settings_table_size_larger),
		cmocka_unit_test(test_settings_table_size_smaller),
		cmocka_unit_test(test_size_update_in_block),
		cmocka_unit_test(test_push_promise_keeps_table),
		cmocka_unit_test(test_mid_connection_attach),
		cmocka_unit_test(test_mid_connection_table_emptied),
		cmocka_unit_test(test_data_without_headers),
		cmocka_unit_test(test_garbage_before_frames),
		cmocka_unit_test(test_ingress_first),
		cmocka_unit_test(test_gap_in_data),
		cmocka_unit_test(test_gap_in_header_block),
		cmocka_unit_test(test_gap_across_frames),
		cmocka_unit_test(test_garbage_between_frames),
		cmocka_unit_test(test_frame_over_max_size),
		cmocka_unit_test(test_frame_max_size_raised),
		cmocka_unit_test(test_invalid_block_recovers),
		cmocka_unit_test(test_header_block_too_large),
		cmocka_unit_test(test_decoded_fields_over_limit),
		cmocka_unit_test(test_literal_over_nghttp2_limit),
		cmocka_unit_test(test_continuation_missing),
		cmocka_unit_test(test_invalid_padding),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_looks_like_frames),
		cmocka_unit_test(test_starts_with_preface),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Streams of the HTTP/2 parser (RFC 9113 section 5): the request and the
 * response of each stream, assembled from decoded header blocks and DATA
 * frames and reported through on_message. The frame layer (http2.c) calls
 * in here with the frames of both directions.
 *
 * A request is what the egress side sends on a stream, a response what the
 * ingress side sends. Streams with an even id were pushed by the server
 * (RFC 9113 section 8.4): their header blocks are decoded to keep the HPACK
 * table in step, and nothing else of them is kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http2_internal.h"

#define FIELDS_TEXT_INITIAL_BYTES 512
#define FIELDS_INITIAL_COUNT 16
#define BODY_INITIAL_BYTES 1024
/* Overhead per field in the field section size (RFC 9113 section 6.5.2). */
#define FIELD_OVERHEAD_BYTES 32

/* ---- memory ---- */

static bool budget_take(struct h2_connection *connection, size_t bytes)
{
	if (bytes > H2_CONNECTION_KEPT_BYTES_MAX - connection->kept_bytes)
		return false;
	connection->kept_bytes += bytes;
	return true;
}

static void budget_return(struct h2_connection *connection, size_t bytes)
{
	connection->kept_bytes -= bytes;
}

/* Grows an array to hold at least `needed` elements, doubling from
 * `initial`, within the connection's budget. */
static bool array_reserve(struct h2_connection *connection, void **array, size_t *capacity, size_t element_bytes,
			  size_t needed, size_t initial)
{
	size_t grown = *capacity ? *capacity : initial;
	void *resized;

	if (needed <= *capacity)
		return true;
	while (grown < needed)
		grown *= 2;
	if (!budget_take(connection, (grown - *capacity) * element_bytes))
		return false;

	resized = realloc(*array, grown * element_bytes);
	if (!resized) {
		budget_return(connection, (grown - *capacity) * element_bytes);
		connection->out_of_memory = true;
		return false;
	}
	*array = resized;
	*capacity = grown;
	return true;
}

/* ---- messages ---- */

static void fields_clear(struct h2_connection *connection, struct h2_fields *fields)
{
	budget_return(connection, fields->text_capacity + fields->capacity * 2 * sizeof(size_t));
	free(fields->text);
	free(fields->offsets);
	memset(fields, 0, sizeof(*fields));
}

static void half_clear(struct h2_connection *connection, struct h2_half *half)
{
	fields_clear(connection, &half->fields);
	budget_return(connection, half->body_kept);
	free(half->body);
	memset(half, 0, sizeof(*half));
}

static void half_open(struct h2_connection *connection, struct h2_half *half)
{
	half->state = H2_HALF_OPEN;
	half->body_keep_limit = connection->body_keep_bytes;
}

/*
 * Stores one decoded field. The fields of one message are limited to
 * H2_MAX_HEADER_BLOCK_BYTES as RFC 9113 section 6.5.2 counts them, because
 * a small block can refer to one large table entry many times. A field past
 * the limit, or past the connection's budget, is dropped and the message
 * reported truncated.
 */
static void fields_add(struct h2_connection *connection, struct h2_half *half, const uint8_t *name,
		       size_t name_bytes, const uint8_t *value, size_t value_bytes)
{
	struct h2_fields *fields = &half->fields;
	size_t size = name_bytes + value_bytes + FIELD_OVERHEAD_BYTES;
	size_t text_bytes = name_bytes + 1 + value_bytes + 1;
	size_t offset_capacity = fields->capacity * 2;
	char *text;

	if (size > H2_MAX_HEADER_BLOCK_BYTES - fields->list_bytes) {
		half->truncated = true;
		return;
	}
	if (!array_reserve(connection, (void **)&fields->text, &fields->text_capacity, 1,
			   fields->text_used + text_bytes, FIELDS_TEXT_INITIAL_BYTES) ||
	    !array_reserve(connection, (void **)&fields->offsets, &offset_capacity, sizeof(size_t),
			   fields->count * 2 + 2, FIELDS_INITIAL_COUNT * 2)) {
		fields->capacity = offset_capacity / 2;
		half->truncated = true;
		return;
	}
	fields->capacity = offset_capacity / 2;

	text = fields->text + fields->text_used;
	if (name_bytes > 0)
		memcpy(text, name, name_bytes);
	text[name_bytes] = '\0';
	if (value_bytes > 0)
		memcpy(text + name_bytes + 1, value, value_bytes);
	text[name_bytes + 1 + value_bytes] = '\0';

	fields->offsets[fields->count * 2] = fields->text_used;
	fields->offsets[fields->count * 2 + 1] = fields->text_used + name_bytes + 1;
	fields->count++;
	fields->text_used += text_bytes;
	fields->list_bytes += size;
}

struct field_target {
	struct h2_connection *connection;
	struct h2_half *half;
};

/* h2_field_fn for the message whose header block is being decoded. An
 * unknown name or value is stored as "". */
static void field_received(void *user, const uint8_t *name, size_t name_bytes, const uint8_t *value,
			   size_t value_bytes)
{
	struct field_target *target = user;
	size_t count = target->half->fields.count;

	if (!value)
		value_bytes = 0;
	fields_add(target->connection, target->half, name, name_bytes, value, value_bytes);
	if (target->half->fields.count > count && (!name || !value)) {
		target->half->fields.unknown++;
		target->half->partial = true;
	}
}

/* Whether the message's :status is 1xx (RFC 9113 section 8.1): an
 * informational response, which a final one follows. */
static bool fields_informational(const struct h2_fields *fields)
{
	size_t i;

	for (i = 0; i < fields->count; i++) {
		const char *name = fields->text + fields->offsets[i * 2];
		const char *value = fields->text + fields->offsets[i * 2 + 1];

		if (strcmp(name, ":status") != 0)
			continue;
		return strlen(value) == 3 && value[0] == '1' && value[1] >= '0' && value[1] <= '9' &&
		       value[2] >= '0' && value[2] <= '9';
	}
	return false;
}

static bool body_reserve(struct h2_connection *connection, struct h2_half *half, size_t needed)
{
	size_t capacity = half->body_capacity ? half->body_capacity : BODY_INITIAL_BYTES;
	uint8_t *body;

	if (needed <= half->body_capacity)
		return true;
	while (capacity < needed)
		capacity *= 2;
	/* needed is at most body_keep_bytes, so this still covers it. */
	if (capacity > connection->body_keep_bytes)
		capacity = connection->body_keep_bytes;
	body = realloc(half->body, capacity);
	if (!body) {
		connection->out_of_memory = true;
		return false;
	}
	half->body = body;
	half->body_capacity = capacity;
	return true;
}

/*
 * Counts body bytes and keeps their first body_keep_limit bytes. The
 * connection's budget is charged per byte kept rather than per byte
 * allocated, so that what is kept does not depend on how the DATA arrived.
 */
static void body_append(struct h2_connection *connection, struct h2_half *half, const uint8_t *data,
			size_t length)
{
	size_t budget_left = H2_CONNECTION_KEPT_BYTES_MAX - connection->kept_bytes;
	size_t keep;

	half->body_bytes += length;
	if (half->body_kept >= half->body_keep_limit)
		return;

	keep = half->body_keep_limit - half->body_kept;
	if (keep > length)
		keep = length;
	if (keep > budget_left) {
		keep = budget_left;
		half->body_keep_limit = half->body_kept + keep;
	}
	if (keep == 0)
		return;
	if (!body_reserve(connection, half, half->body_kept + keep)) {
		half->body_keep_limit = half->body_kept;
		return;
	}
	memcpy(half->body + half->body_kept, data, keep);
	half->body_kept += keep;
	connection->kept_bytes += keep;
}

static bool report_headers_reserve(struct h2_connection *connection, size_t count)
{
	struct h1_header *headers;

	if (count <= connection->report_capacity)
		return true;
	headers = realloc(connection->report_headers, count * sizeof(*headers));
	if (!headers) {
		connection->out_of_memory = true;
		return false;
	}
	connection->report_headers = headers;
	connection->report_capacity = count;
	return true;
}

/* Reports an open message and closes it. A message whose header array
 * cannot be allocated is reported without fields, truncated. */
static void half_report(struct h2_connection *connection, struct h2_stream *stream, struct h2_half *half,
			enum h1_kind kind, bool truncated)
{
	struct h2_message message;
	size_t i;

	/* A held response is complete: only its own losses truncate it. */
	if (half->state == H2_HALF_WAITING)
		truncated = false;
	else if (half->state != H2_HALF_OPEN)
		return;

	memset(&message, 0, sizeof(message));
	message.stream_id = stream->id;
	message.kind = kind;
	if (report_headers_reserve(connection, half->fields.count)) {
		for (i = 0; i < half->fields.count; i++) {
			connection->report_headers[i].name = half->fields.text + half->fields.offsets[i * 2];
			connection->report_headers[i].value = half->fields.text + half->fields.offsets[i * 2 + 1];
		}
		message.headers = half->fields.count > 0 ? connection->report_headers : NULL;
		message.header_count = half->fields.count;
		message.unknown_fields = half->fields.unknown;
	} else {
		truncated = true;
	}
	message.body_bytes = half->body_bytes;
	message.body = half->body_kept > 0 ? half->body : NULL;
	message.body_kept = half->body_kept;
	message.lost_bytes = half->lost_bytes;
	message.partial = half->partial;
	message.truncated = truncated || half->truncated;

	if (connection->ops.on_message)
		connection->ops.on_message(connection->user, &message);
	half_clear(connection, half);
	half->state = H2_HALF_DONE;
}

/* ---- streams ---- */

static struct h2_stream *stream_find(struct h2_connection *connection, uint32_t stream_id)
{
	size_t i;

	/* Newer streams, at the end, carry most frames. */
	for (i = connection->stream_count; i > 0; i--) {
		if (connection->streams[i - 1]->id == stream_id)
			return connection->streams[i - 1];
	}
	return NULL;
}

static void stream_remove(struct h2_connection *connection, struct h2_stream *stream)
{
	size_t i;

	for (i = 0; i < connection->stream_count; i++) {
		if (connection->streams[i] == stream)
			break;
	}
	if (i == connection->stream_count)
		return;

	memmove(connection->streams + i, connection->streams + i + 1,
		(connection->stream_count - i - 1) * sizeof(*connection->streams));
	connection->stream_count--;
	half_clear(connection, &stream->request);
	half_clear(connection, &stream->response);
	free(stream);
}

/* Reports what is open of a stream, request first, and removes it. */
static void stream_end(struct h2_connection *connection, struct h2_stream *stream, bool truncated)
{
	half_report(connection, stream, &stream->request, H1_REQUEST, truncated);
	half_report(connection, stream, &stream->response, H1_RESPONSE, truncated);
	stream_remove(connection, stream);
}

/* Opens a stream. At H2_MAX_OPEN_STREAMS the oldest is reported truncated
 * and removed first. Returns NULL when out of memory. */
static struct h2_stream *stream_open(struct h2_connection *connection, uint32_t stream_id)
{
	struct h2_stream *stream;

	if (connection->stream_count == H2_MAX_OPEN_STREAMS)
		stream_end(connection, connection->streams[0], true);

	if (connection->stream_count == connection->stream_capacity) {
		size_t capacity = connection->stream_capacity ? connection->stream_capacity * 2 : 16;
		struct h2_stream **streams = realloc(connection->streams, capacity * sizeof(*streams));

		if (!streams) {
			connection->out_of_memory = true;
			return NULL;
		}
		connection->streams = streams;
		connection->stream_capacity = capacity;
	}

	stream = calloc(1, sizeof(*stream));
	if (!stream) {
		connection->out_of_memory = true;
		return NULL;
	}
	stream->id = stream_id;
	connection->streams[connection->stream_count++] = stream;
	return stream;
}

static struct h2_half *stream_half(struct h2_stream *stream, enum tls_direction direction)
{
	return direction == TLS_EGRESS ? &stream->request : &stream->response;
}

/* A stream whose frames carry no message: one the server pushed. */
static bool stream_pushed(enum tls_direction direction, uint32_t stream_id)
{
	return direction == TLS_INGRESS && stream_id % 2 == 0;
}

/*
 * Reports a message whose END_STREAM arrived, or which ended early. A
 * response ends its stream. A request still open then is reported before
 * it, truncated, so that a request always comes before its response.
 */
static void half_end(struct h2_connection *connection, struct h2_stream *stream, enum tls_direction direction,
		     bool truncated)
{
	if (direction == TLS_EGRESS) {
		half_report(connection, stream, &stream->request, H1_REQUEST, truncated);
		if (stream->response.state == H2_HALF_WAITING) {
			half_report(connection, stream, &stream->response, H1_RESPONSE, false);
			stream_remove(connection, stream);
		}
		return;
	}

	/* A server may respond before the request's body is sent (RFC 9113,
	 * section 8.1), as trackers that reply 204 at once do. The client goes
	 * on sending the body, so the response waits for the request's end. */
	if (stream->request.state == H2_HALF_OPEN && !truncated) {
		stream->response.state = H2_HALF_WAITING;
		return;
	}
	half_report(connection, stream, &stream->request, H1_REQUEST, true);
	half_report(connection, stream, &stream->response, H1_RESPONSE, truncated);
	stream_remove(connection, stream);
}

void h2_streams_free(struct h2_connection *connection)
{
	while (connection->stream_count > 0)
		stream_remove(connection, connection->streams[connection->stream_count - 1]);
	free(connection->streams);
	free(connection->report_headers);
	connection->streams = NULL;
	connection->report_headers = NULL;
	connection->stream_capacity = 0;
	connection->report_capacity = 0;
}

/* ---- header blocks ---- */

/* A HEADERS frame starts a header block: the message it opens exists from
 * here, so that it is reported even if the block is lost. */
void h2_headers_begin(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id)
{
	struct h2_stream *stream;
	struct h2_half *half;

	if (stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (!stream)
		stream = stream_open(connection, stream_id);
	if (!stream)
		return;

	half = stream_half(stream, direction);
	if (half->state == H2_HALF_IDLE)
		half_open(connection, half);
}

/* Reports a message truncated because its header block was lost: a gap, a
 * block over the limit, or one cut off by another frame. Trailers lost end
 * the message too, because what follows them is unknown. */
void h2_headers_lost(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id)
{
	struct h2_stream *stream;

	if (stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (stream && stream_half(stream, direction)->state == H2_HALF_OPEN)
		half_end(connection, stream, direction, true);
}

/*
 * Decodes the complete header block of a direction into the message it
 * starts. Informational (1xx) responses are decoded and dropped, and so are
 * trailers, PUSH_PROMISE blocks and the blocks of pushed streams: decoding
 * them keeps the HPACK table in step.
 */
void h2_headers_complete(struct h2_connection *connection, struct h2_direction *direction)
{
	struct h2_block *block = &direction->block;
	struct h2_stream *stream = NULL;
	struct h2_half *half = NULL;
	struct field_target target = { .connection = connection };
	int rv;

	if (block->frame_type == H2_FRAME_HEADERS && !stream_pushed(direction->which, block->stream_id))
		stream = stream_find(connection, block->stream_id);
	if (stream)
		half = stream_half(stream, direction->which);
	if (half && half->state == H2_HALF_OPEN && !half->headers_done)
		target.half = half;

	rv = h2_hpack_decode_block(&direction->hpack, connection->from_start, block->bytes, block->used,
				   target.half ? field_received : NULL, &target);
	if (rv < 0) {
		if (rv == -ENOMEM)
			connection->out_of_memory = true;
		h2_report_error(connection, direction->which, block->used,
				rv == -ENOMEM ? "out of memory while decoding a header block" :
						"header block did not decode");
		if (half && half->state == H2_HALF_OPEN)
			half_end(connection, stream, direction->which, true);
		return;
	}

	if (target.half) {
		half->headers_done = true;
		if (direction->which == TLS_INGRESS && fields_informational(&half->fields)) {
			half_clear(connection, half);
			if (block->end_stream) {
				half->state = H2_HALF_DONE;
				half_end(connection, stream, TLS_INGRESS, true);
			}
			return;
		}
	}
	if (block->end_stream && half && half->state == H2_HALF_OPEN)
		half_end(connection, stream, direction->which, false);
}

/* ---- DATA ---- */

/*
 * Starts a DATA frame with content_bytes of data after padding. Once the
 * connection is incomplete, DATA on a stream whose HEADERS were not seen
 * starts a message without fields, marked partial. An empty frame does not,
 * because it would report a message with nothing in it.
 */
void h2_data_begin(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		   uint32_t content_bytes)
{
	bool may_start = connection->incomplete && content_bytes > 0;
	struct h2_stream *stream;
	struct h2_half *half;

	if (stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (!stream && may_start)
		stream = stream_open(connection, stream_id);
	if (!stream)
		return;

	half = stream_half(stream, direction);
	if (half->state == H2_HALF_IDLE && may_start) {
		half_open(connection, half);
		half->headers_done = true;
		half->partial = true;
	}
}

void h2_data_append(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		    const uint8_t *data, size_t length)
{
	struct h2_stream *stream;
	struct h2_half *half;

	if (stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (!stream)
		return;
	half = stream_half(stream, direction);
	if (half->state == H2_HALF_OPEN)
		body_append(connection, half, data, length);
}

/*
 * Counts bytes of a DATA frame that the capture lost: body_bytes of data
 * and other_bytes of padding. When body_unknown, the Pad Length was lost
 * too, so how much was data is unknown and the message is truncated. The
 * kept body stops growing, so that it stays an exact prefix of the body.
 */
void h2_data_lose(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		  uint64_t body_bytes, uint64_t other_bytes, bool body_unknown)
{
	struct h2_stream *stream;
	struct h2_half *half;

	if (stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (!stream)
		return;
	half = stream_half(stream, direction);
	if (half->state != H2_HALF_OPEN)
		return;

	half->body_bytes += body_bytes;
	half->lost_bytes += body_bytes + other_bytes;
	half->body_keep_limit = half->body_kept;
	if (body_unknown)
		half->truncated = true;
}

void h2_data_end(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		 bool end_stream)
{
	struct h2_stream *stream;

	if (!end_stream || stream_pushed(direction, stream_id))
		return;
	stream = stream_find(connection, stream_id);
	if (stream && stream_half(stream, direction)->state == H2_HALF_OPEN)
		half_end(connection, stream, direction, false);
}

/* ---- stream and connection ends ---- */

/* RST_STREAM from either side (RFC 9113 section 6.4) ends the stream. */
void h2_stream_reset(struct h2_connection *connection, uint32_t stream_id)
{
	struct h2_stream *stream = stream_find(connection, stream_id);

	if (stream)
		stream_end(connection, stream, true);
}

/*
 * GOAWAY (RFC 9113 section 6.8) from the server: streams the client opened
 * with an id above last_stream_id were not processed and never will be. A
 * GOAWAY from the client concerns pushed streams only, which are not kept.
 */
void h2_goaway(struct h2_connection *connection, enum tls_direction direction, uint32_t last_stream_id)
{
	size_t i = 0;

	if (direction != TLS_INGRESS)
		return;
	while (i < connection->stream_count) {
		struct h2_stream *stream = connection->streams[i];

		if (stream->id % 2 == 1 && stream->id > last_stream_id)
			stream_end(connection, stream, true);
		else
			i++;
	}
}

/* Marks every open message of a direction truncated: bytes of it were lost
 * where any stream's frames may have been. */
void h2_direction_truncate(struct h2_connection *connection, enum tls_direction direction)
{
	size_t i;

	for (i = 0; i < connection->stream_count; i++) {
		struct h2_half *half = stream_half(connection->streams[i], direction);

		if (half->state == H2_HALF_OPEN)
			half->truncated = true;
	}
}

/* Reports every open message truncated, oldest stream first. */
void h2_streams_finish(struct h2_connection *connection)
{
	while (connection->stream_count > 0)
		stream_end(connection, connection->streams[0], true);
}

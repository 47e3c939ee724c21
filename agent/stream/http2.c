/*
 * HTTP/2 parser (RFC 9113) for one connection; http2.h is its interface.
 * This file reads the frames of both directions. Finding frame boundaries
 * is in http2_boundary.c, HPACK in http2_hpack.c, streams and messages in
 * http2_streams.c.
 *
 * Each direction is read by a state machine fed byte ranges. Every decision
 * is taken at a byte whose position the stream fixes, such as the end of a
 * frame header, of a payload part or of a header block. No decision depends
 * on where a feed call ends, so the messages reported are the same however
 * the input is split.
 *
 * The egress side of a connection captured from its start begins with the
 * client preface, and the ingress side with the server's SETTINGS frame
 * (RFC 9113 section 3.4). Otherwise, and after a gap or bytes that are not
 * a valid frame, the parser looks for the next frame boundary, then parses
 * the bytes from there again out of a replay buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http2_internal.h"

#define BLOCK_INITIAL_BYTES 1024
/* A header block buffer larger than this is freed when its block ends, so
 * that one large block does not hold memory for the connection's life. */
#define BLOCK_KEEP_BYTES (64 * 1024)

void h2_report_error(struct h2_connection *connection, enum tls_direction direction, uint64_t bytes,
		     const char *what)
{
	if (connection->ops.on_error)
		connection->ops.on_error(connection->user, direction, bytes, what);
}

static struct h2_direction *direction_other(struct h2_connection *connection, struct h2_direction *direction)
{
	return &connection->directions[direction->which == TLS_EGRESS ? TLS_INGRESS : TLS_EGRESS];
}

/* ---- losses ---- */

static void block_reset(struct h2_block *block)
{
	block->active = false;
	block->lost = false;
	block->lost_reason = NULL;
	block->lost_bytes = 0;
	block->used = 0;
	if (block->capacity > BLOCK_KEEP_BYTES) {
		free(block->bytes);
		block->bytes = NULL;
		block->capacity = 0;
	}
}

/*
 * Gives up the header block being assembled. Whatever it would have added
 * to the dynamic table is unknown now, so the table is too. reason, when
 * not NULL, is reported through on_error as the block ends.
 */
static void block_lose(struct h2_connection *connection, struct h2_direction *direction, const char *reason)
{
	struct h2_block *block = &direction->block;

	if (!block->active || block->lost)
		return;
	block->lost = true;
	block->lost_reason = reason;
	block->lost_bytes += block->used;
	block->used = 0;
	h2_hpack_lose(&direction->hpack);
	if (block->frame_type == H2_FRAME_HEADERS)
		h2_headers_lost(connection, direction->which, block->stream_id);
}

/* Ends the header block after its last fragment, or after it was lost. */
static void block_close(struct h2_connection *connection, struct h2_direction *direction)
{
	struct h2_block *block = &direction->block;

	if (!block->lost)
		h2_headers_complete(connection, direction);
	else if (block->lost_reason)
		h2_report_error(connection, direction->which, block->lost_bytes, block->lost_reason);
	block_reset(block);
}

/*
 * Reports bytes skipped without finding a frame boundary. They may have
 * held any frame, so the HPACK table becomes unknown and every open message
 * of this direction may miss data.
 */
void h2_garbage_flush(struct h2_connection *connection, struct h2_direction *direction)
{
	uint64_t bytes = direction->garbage_bytes;

	if (bytes == 0)
		return;
	direction->garbage_bytes = 0;
	connection->incomplete = true;
	h2_hpack_lose(&direction->hpack);
	h2_direction_truncate(connection, direction->which);
	h2_report_error(connection, direction->which, bytes, "bytes skipped while looking for an HTTP/2 frame");
}

/*
 * The next frame boundary is unknown: bytes were lost, or what should have
 * been a frame header is not one. The frames missed may have carried any
 * stream's data or a header block, so the block in progress is lost, the
 * HPACK table becomes unknown, and every open message of this direction is
 * marked truncated. The parser then looks for a boundary.
 */
static void direction_lose(struct h2_connection *connection, struct h2_direction *direction)
{
	connection->incomplete = true;
	if (direction->block.active) {
		block_lose(connection, direction, NULL);
		block_close(connection, direction);
	}
	h2_hpack_lose(&direction->hpack);
	h2_direction_truncate(connection, direction->which);

	direction->state = H2_READ_RESYNC;
	direction->header_bytes = 0;
	direction->scan_start = 0;
	direction->scan_end = 0;
}

/* ---- preface ---- */

/* The egress side did not begin with the client preface: the capture
 * joined the connection later. The bytes matched so far may start a frame. */
static void preface_mismatch(struct h2_connection *connection, struct h2_direction *direction)
{
	connection->incomplete = true;
	h2_resync_begin(connection, direction, (const uint8_t *)H2_PREFACE, direction->preface_bytes);
}

static size_t preface_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			   size_t length)
{
	size_t used = 0;

	while (used < length && direction->preface_bytes < H2_PREFACE_BYTES) {
		if (data[used] != (uint8_t)H2_PREFACE[direction->preface_bytes]) {
			preface_mismatch(connection, direction);
			return used;
		}
		used++;
		direction->preface_bytes++;
	}

	if (direction->preface_bytes == H2_PREFACE_BYTES) {
		connection->from_start = true;
		direction->state = H2_READ_HEADER;
		direction->header_bytes = 0;
	}
	return used;
}

/* The ingress side starts at a frame boundary only when the egress side
 * showed that the capture began with the connection. */
static void ingress_start(struct h2_connection *connection, struct h2_direction *direction)
{
	if (connection->from_start) {
		direction->state = H2_READ_HEADER;
		direction->header_bytes = 0;
		return;
	}
	h2_resync_begin(connection, direction, NULL, 0);
}

/* ---- frame payloads ---- */

static void setting_apply(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *entry)
{
	uint16_t id = (uint16_t)(entry[0] << 8 | entry[1]);
	uint32_t value = (uint32_t)entry[2] << 24 | (uint32_t)entry[3] << 16 | (uint32_t)entry[4] << 8 | entry[5];
	/* A setting limits what the other side sends (RFC 9113 section 6.5). */
	struct h2_direction *other = direction_other(connection, direction);

	switch (id) {
	case H2_SETTINGS_HEADER_TABLE_SIZE:
		h2_hpack_settings_announced(&other->hpack, value);
		break;
	case H2_SETTINGS_MAX_FRAME_SIZE:
		/* Raised as soon as it is seen rather than at its ACK, so
		 * that a frame sent early is not taken for a bad one. */
		if (value >= H2_DEFAULT_MAX_FRAME_BYTES && value <= H2_FRAME_LENGTH_MAX &&
		    value > other->max_frame_bytes)
			other->max_frame_bytes = value;
		break;
	default:
		break;
	}
}

static void settings_take(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			  size_t length)
{
	while (length > 0) {
		size_t take = H2_SETTING_BYTES - direction->control_bytes;

		if (take > length)
			take = length;
		memcpy(direction->control + direction->control_bytes, data, take);
		direction->control_bytes += take;
		data += take;
		length -= take;

		if (direction->control_bytes == H2_SETTING_BYTES) {
			setting_apply(connection, direction, direction->control);
			direction->control_bytes = 0;
		}
	}
}

/* Keeps the first bytes of a control frame's payload. */
static void control_take(struct h2_direction *direction, const uint8_t *data, size_t length)
{
	size_t take = sizeof(direction->control) - direction->control_bytes;

	if (take > length)
		take = length;
	memcpy(direction->control + direction->control_bytes, data, take);
	direction->control_bytes += take;
}

static void block_append(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			 size_t length)
{
	struct h2_block *block = &direction->block;
	size_t needed;

	if (block->lost) {
		block->lost_bytes += length;
		return;
	}
	if (length > H2_MAX_HEADER_BLOCK_BYTES - block->used) {
		block_lose(connection, direction, "header block larger than H2_MAX_HEADER_BLOCK_BYTES");
		block->lost_bytes += length;
		return;
	}

	needed = block->used + length;
	if (needed > block->capacity) {
		size_t capacity = block->capacity ? block->capacity : BLOCK_INITIAL_BYTES;
		uint8_t *bytes;

		while (capacity < needed)
			capacity *= 2;
		bytes = realloc(block->bytes, capacity);
		if (!bytes) {
			connection->out_of_memory = true;
			block_lose(connection, direction, "out of memory while keeping a header block");
			block->lost_bytes += length;
			return;
		}
		block->bytes = bytes;
		block->capacity = capacity;
	}
	memcpy(block->bytes + block->used, data, length);
	block->used += length;
}

static void block_start(struct h2_connection *connection, struct h2_direction *direction)
{
	struct h2_block *block = &direction->block;
	const struct h2_frame *frame = &direction->frame;

	block->active = true;
	block->frame_type = frame->type;
	block->stream_id = frame->stream_id;
	block->end_stream = frame->type == H2_FRAME_HEADERS && (frame->flags & H2_FLAG_END_STREAM);
	block->lost = false;
	block->lost_reason = NULL;
	block->lost_bytes = 0;
	block->used = 0;
	if (frame->type == H2_FRAME_HEADERS)
		h2_headers_begin(connection, direction->which, frame->stream_id);
}

static bool frame_in_block(const struct h2_direction *direction)
{
	const struct h2_frame *frame = &direction->frame;

	if (!direction->block.active || direction->block.stream_id != frame->stream_id)
		return false;
	return frame->type == H2_FRAME_HEADERS || frame->type == H2_FRAME_PUSH_PROMISE ||
	       frame->type == H2_FRAME_CONTINUATION;
}

/* Called once per frame as its content (after Pad Length and prefix)
 * begins, even when it is empty. */
static void content_begin(struct h2_connection *connection, struct h2_direction *direction)
{
	const struct h2_frame *frame = &direction->frame;

	if (frame->type == H2_FRAME_DATA)
		h2_data_begin(connection, direction->which, frame->stream_id, direction->content_left);
}

static void content_take(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			 size_t length)
{
	const struct h2_frame *frame = &direction->frame;

	switch (frame->type) {
	case H2_FRAME_DATA:
		h2_data_append(connection, direction->which, frame->stream_id, data, length);
		break;
	case H2_FRAME_HEADERS:
	case H2_FRAME_PUSH_PROMISE:
	case H2_FRAME_CONTINUATION:
		if (frame_in_block(direction))
			block_append(connection, direction, data, length);
		break;
	case H2_FRAME_SETTINGS:
		if (!direction->frame_damaged)
			settings_take(connection, direction, data, length);
		break;
	case H2_FRAME_RST_STREAM:
	case H2_FRAME_GOAWAY:
		control_take(direction, data, length);
		break;
	default:
		break;
	}
}

/* Moves past the parts of the payload that have no bytes left. */
static void phase_advance(struct h2_connection *connection, struct h2_direction *direction)
{
	if (direction->phase == H2_PHASE_PREFIX && direction->prefix_left == 0) {
		direction->phase = H2_PHASE_CONTENT;
		content_begin(connection, direction);
	}
	if (direction->phase == H2_PHASE_CONTENT && direction->content_left == 0)
		direction->phase = H2_PHASE_PADDING;
}

/* Skips the rest of the payload, whose layout is unknown or invalid. */
static void payload_skip_rest(struct h2_direction *direction)
{
	direction->frame_damaged = true;
	direction->phase = H2_PHASE_PADDING;
	direction->prefix_left = 0;
	direction->content_left = 0;
	direction->padding_left = direction->payload_left;
}

/* The content of a DATA or header frame that is skipped because its Pad
 * Length was lost (lost_bytes of the payload with it) or is invalid. */
static void content_lose(struct h2_connection *connection, struct h2_direction *direction, uint64_t lost_bytes)
{
	const struct h2_frame *frame = &direction->frame;

	if (frame->type == H2_FRAME_DATA)
		h2_data_lose(connection, direction->which, frame->stream_id, 0, lost_bytes, true);
	else if (frame_in_block(direction))
		block_lose(connection, direction, NULL);
}

/* Reads Pad Length (RFC 9113 sections 6.1, 6.2, 6.6). Padding as long as
 * the rest of the payload or longer is a connection error. */
static void pad_length_take(struct h2_connection *connection, struct h2_direction *direction, uint8_t pad_length)
{
	if (pad_length > direction->content_left) {
		h2_report_error(connection, direction->which, direction->frame.length,
				"frame padding longer than its payload");
		content_lose(connection, direction, 0);
		payload_skip_rest(direction);
		return;
	}
	direction->content_left -= pad_length;
	direction->padding_left = pad_length;
	direction->phase = H2_PHASE_PREFIX;
	phase_advance(connection, direction);
}

static void frame_end(struct h2_connection *connection, struct h2_direction *direction)
{
	const struct h2_frame *frame = &direction->frame;
	bool in_block = frame_in_block(direction);

	direction->state = H2_READ_HEADER;
	direction->header_bytes = 0;

	switch (frame->type) {
	case H2_FRAME_DATA:
		h2_data_end(connection, direction->which, frame->stream_id, frame->flags & H2_FLAG_END_STREAM);
		break;
	case H2_FRAME_HEADERS:
	case H2_FRAME_PUSH_PROMISE:
	case H2_FRAME_CONTINUATION:
		if (in_block && (frame->flags & H2_FLAG_END_HEADERS))
			block_close(connection, direction);
		break;
	case H2_FRAME_SETTINGS:
		/* An ACK acknowledges a SETTINGS frame of the other side,
		 * whose table size limits this side's encoder. */
		if (frame->flags & H2_FLAG_ACK)
			h2_hpack_settings_acknowledged(&direction->hpack);
		break;
	case H2_FRAME_RST_STREAM:
		if (!direction->frame_damaged)
			h2_stream_reset(connection, frame->stream_id);
		break;
	case H2_FRAME_GOAWAY:
		if (!direction->frame_damaged) {
			const uint8_t *c = direction->control;

			h2_goaway(connection, direction->which,
				  ((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3]) &
					  0x7fffffffu);
		}
		break;
	default:
		break;
	}
}

static size_t payload_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			   size_t length)
{
	size_t used = 0;

	switch (direction->phase) {
	case H2_PHASE_PAD_LENGTH:
		used = 1;
		direction->payload_left--;
		pad_length_take(connection, direction, data[0]);
		break;
	case H2_PHASE_PREFIX:
		used = length < direction->prefix_left ? length : direction->prefix_left;
		direction->prefix_left -= (uint32_t)used;
		direction->payload_left -= (uint32_t)used;
		phase_advance(connection, direction);
		break;
	case H2_PHASE_CONTENT:
		used = length < direction->content_left ? length : direction->content_left;
		direction->content_left -= (uint32_t)used;
		direction->payload_left -= (uint32_t)used;
		content_take(connection, direction, data, used);
		phase_advance(connection, direction);
		break;
	case H2_PHASE_PADDING:
		used = length < direction->padding_left ? length : direction->padding_left;
		direction->padding_left -= (uint32_t)used;
		direction->payload_left -= (uint32_t)used;
		break;
	}

	if (direction->payload_left == 0)
		frame_end(connection, direction);
	return used;
}

/* ---- frame headers in sequence ---- */

static uint32_t frame_length_limit(const struct h2_connection *connection, const struct h2_direction *direction)
{
	/* SETTINGS_MAX_FRAME_SIZE is only known for a connection seen from
	 * its start. */
	return connection->from_start ? direction->max_frame_bytes : H2_FRAME_LENGTH_MAX;
}

/* A frame header that cannot be one: the boundary was wrong. Its first
 * byte is skipped and the boundary looked for in the rest. */
static void frame_header_reject(struct h2_connection *connection, struct h2_direction *direction)
{
	uint8_t rest[H2_FRAME_HEADER_BYTES - 1];

	memcpy(rest, direction->header + 1, sizeof(rest));
	direction->garbage_bytes++;
	direction_lose(connection, direction);
	h2_resync_begin(connection, direction, rest, sizeof(rest));
}

static void frame_start(struct h2_connection *connection, struct h2_direction *direction)
{
	struct h2_frame *frame = &direction->frame;

	h2_frame_header_parse(direction->header, frame);
	if (!h2_frame_header_valid(frame) || frame->length > frame_length_limit(connection, direction)) {
		frame_header_reject(connection, direction);
		return;
	}

	/* Only CONTINUATION of the same stream may follow a header block
	 * without END_HEADERS (RFC 9113 section 6.10). */
	if (direction->block.active && !(frame->type == H2_FRAME_CONTINUATION && frame_in_block(direction))) {
		block_lose(connection, direction, "header block cut off by a frame other than CONTINUATION");
		block_close(connection, direction);
	}
	if (frame->type == H2_FRAME_HEADERS || frame->type == H2_FRAME_PUSH_PROMISE)
		block_start(connection, direction);

	direction->state = H2_READ_PAYLOAD;
	direction->frame_damaged = false;
	direction->control_bytes = 0;
	direction->payload_left = frame->length;
	direction->prefix_left = h2_frame_prefix_bytes(frame);
	direction->content_left = frame->length - direction->prefix_left - (h2_frame_padded(frame) ? 1 : 0);
	direction->padding_left = 0;
	if (h2_frame_padded(frame)) {
		direction->phase = H2_PHASE_PAD_LENGTH;
	} else {
		direction->phase = H2_PHASE_PREFIX;
		phase_advance(connection, direction);
	}

	if (direction->payload_left == 0)
		frame_end(connection, direction);
}

static size_t header_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			  size_t length)
{
	size_t take = H2_FRAME_HEADER_BYTES - direction->header_bytes;

	if (take > length)
		take = length;
	memcpy(direction->header + direction->header_bytes, data, take);
	direction->header_bytes += take;
	if (direction->header_bytes == H2_FRAME_HEADER_BYTES)
		frame_start(connection, direction);
	return take;
}

/* Runs the current state on the data and returns how many bytes it used.
 * A state that uses none has moved to one that uses at least one. */
static size_t state_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			 size_t length)
{
	switch (direction->state) {
	case H2_READ_START:
		ingress_start(connection, direction);
		return 0;
	case H2_READ_PREFACE:
		return preface_feed(connection, direction, data, length);
	case H2_READ_RESYNC:
		return h2_resync_feed(connection, direction, data, length);
	case H2_READ_HEADER:
		return header_feed(connection, direction, data, length);
	case H2_READ_PAYLOAD:
		return payload_feed(connection, direction, data, length);
	}
	return length;
}

/* Feeds the bytes left to replay, then the data. */
static void direction_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			   size_t length)
{
	for (;;) {
		size_t used;

		if (direction->replay_start < direction->replay_end) {
			used = state_feed(connection, direction, direction->replay + direction->replay_start,
					  direction->replay_end - direction->replay_start);
			direction->replay_start += used;
		} else if (length > 0) {
			used = state_feed(connection, direction, data, length);
			data += used;
			length -= used;
		} else {
			break;
		}

		if (direction->scan_accepted)
			h2_resync_accept(connection, direction);
	}

	/* Back in step: the buffers for finding a boundary are not needed
	 * until the next loss. */
	if (direction->state != H2_READ_RESYNC) {
		free(direction->scan);
		free(direction->replay);
		direction->scan = NULL;
		direction->replay = NULL;
		direction->scan_start = direction->scan_end = 0;
		direction->replay_start = direction->replay_end = 0;
	}
}

/*
 * The available bytes of a direction end here (a gap or the end of the
 * connection) while the parser looks for a boundary: the candidates are
 * judged without waiting for more, and what follows a boundary is parsed.
 * Parsing it may lead to looking for a boundary again, which then repeats.
 */
static void resync_drain(struct h2_connection *connection, struct h2_direction *direction)
{
	while (direction->state == H2_READ_RESYNC && direction->scan_end > direction->scan_start) {
		if (!h2_resync_scan(direction, true))
			break;
		h2_resync_accept(connection, direction);
		direction_feed(connection, direction, NULL, 0);
	}
}

/* ---- gaps ---- */

/* Handles the part of a gap that falls inside the current frame's payload
 * and returns its size. */
static uint64_t payload_gap(struct h2_connection *connection, struct h2_direction *direction, uint64_t bytes)
{
	const struct h2_frame *frame = &direction->frame;
	uint32_t take = bytes < direction->payload_left ? (uint32_t)bytes : direction->payload_left;
	uint32_t left = take;

	while (left > 0) {
		uint32_t part;

		switch (direction->phase) {
		case H2_PHASE_PAD_LENGTH:
			content_lose(connection, direction, direction->payload_left);
			payload_skip_rest(direction);
			continue;
		case H2_PHASE_PREFIX:
			part = left < direction->prefix_left ? left : direction->prefix_left;
			direction->prefix_left -= part;
			break;
		case H2_PHASE_CONTENT:
			part = left < direction->content_left ? left : direction->content_left;
			direction->content_left -= part;
			if (frame->type == H2_FRAME_DATA)
				h2_data_lose(connection, direction->which, frame->stream_id, part, 0, false);
			else if (frame_in_block(direction))
				block_lose(connection, direction, NULL);
			else
				direction->frame_damaged = true;
			break;
		case H2_PHASE_PADDING:
		default:
			part = left < direction->padding_left ? left : direction->padding_left;
			direction->padding_left -= part;
			if (frame->type == H2_FRAME_DATA && !direction->frame_damaged)
				h2_data_lose(connection, direction->which, frame->stream_id, 0, part, false);
			break;
		}
		direction->payload_left -= part;
		left -= part;
		phase_advance(connection, direction);
	}

	if (direction->payload_left == 0)
		frame_end(connection, direction);
	return take;
}

/* Handles the first part of a gap and returns how many of its bytes it
 * covered; 0 when the state changed first. */
static uint64_t gap_step(struct h2_connection *connection, struct h2_direction *direction, uint64_t bytes)
{
	switch (direction->state) {
	case H2_READ_PAYLOAD:
		return payload_gap(connection, direction, bytes);
	case H2_READ_RESYNC:
		resync_drain(connection, direction);
		if (direction->state != H2_READ_RESYNC)
			return 0;
		break;
	case H2_READ_PREFACE:
		/* The bytes matched may be the start of a frame cut off by
		 * the gap, not a preface. */
		direction->garbage_bytes += direction->preface_bytes;
		break;
	case H2_READ_HEADER:
		direction->garbage_bytes += direction->header_bytes;
		break;
	case H2_READ_START:
		break;
	}

	h2_garbage_flush(connection, direction);
	direction_lose(connection, direction);
	return bytes;
}

/* ---- the interface ---- */

static void direction_init(struct h2_direction *direction, enum tls_direction which)
{
	direction->which = which;
	direction->state = which == TLS_EGRESS ? H2_READ_PREFACE : H2_READ_START;
	direction->max_frame_bytes = H2_DEFAULT_MAX_FRAME_BYTES;
}

static void direction_free(struct h2_direction *direction)
{
	h2_hpack_free(&direction->hpack);
	free(direction->block.bytes);
	free(direction->scan);
	free(direction->replay);
}

struct h2_connection *h2_connection_new(const struct h2_parser_ops *ops, void *user, size_t body_keep_bytes)
{
	struct h2_connection *connection = calloc(1, sizeof(*connection));

	if (!connection)
		return NULL;
	if (ops)
		connection->ops = *ops;
	connection->user = user;
	connection->body_keep_bytes = body_keep_bytes;
	direction_init(&connection->directions[TLS_EGRESS], TLS_EGRESS);
	direction_init(&connection->directions[TLS_INGRESS], TLS_INGRESS);

	if (h2_hpack_init(&connection->directions[TLS_EGRESS].hpack) < 0 ||
	    h2_hpack_init(&connection->directions[TLS_INGRESS].hpack) < 0) {
		h2_connection_free(connection);
		return NULL;
	}
	return connection;
}

void h2_connection_free(struct h2_connection *connection)
{
	if (!connection)
		return;
	direction_free(&connection->directions[TLS_EGRESS]);
	direction_free(&connection->directions[TLS_INGRESS]);
	h2_streams_free(connection);
	free(connection);
}

/*
 * When memory runs out, the header block or body being kept is cut short
 * and the message reported truncated. The parser goes on with the next
 * bytes, and returns -ENOMEM so that the caller can count the loss.
 */
int h2_feed(struct h2_connection *connection, enum tls_direction direction, const uint8_t *data, size_t length)
{
	if (direction != TLS_EGRESS && direction != TLS_INGRESS)
		return -EINVAL;
	if (connection->finished || length == 0)
		return 0;

	connection->out_of_memory = false;
	direction_feed(connection, &connection->directions[direction], data, length);
	return connection->out_of_memory ? -ENOMEM : 0;
}

void h2_gap(struct h2_connection *connection, enum tls_direction direction, uint64_t bytes)
{
	struct h2_direction *state;

	if (direction != TLS_EGRESS && direction != TLS_INGRESS)
		return;
	if (connection->finished)
		return;

	state = &connection->directions[direction];
	while (bytes > 0)
		bytes -= gap_step(connection, state, bytes);
}

/* Ends one direction: bytes still waiting for a boundary are judged now,
 * and an unfinished frame header or preface is skipped. */
static void direction_finish(struct h2_connection *connection, struct h2_direction *direction)
{
	resync_drain(connection, direction);
	if (direction->state == H2_READ_PREFACE && direction->preface_bytes < H2_PREFACE_BYTES)
		direction->garbage_bytes += direction->preface_bytes;
	if (direction->state == H2_READ_HEADER)
		direction->garbage_bytes += direction->header_bytes;
	if (direction->block.active)
		block_reset(&direction->block);
	h2_garbage_flush(connection, direction);
}

void h2_finish(struct h2_connection *connection)
{
	if (connection->finished)
		return;
	direction_finish(connection, &connection->directions[TLS_EGRESS]);
	direction_finish(connection, &connection->directions[TLS_INGRESS]);
	h2_streams_finish(connection);
	connection->finished = true;
}

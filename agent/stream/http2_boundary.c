/*
 * Frame headers of the HTTP/2 parser checked on their own (RFC 9113
 * section 6), and the search for a frame boundary. The parser searches
 * when it does not know where the next frame starts: at the start of a
 * capture that joined a connection late, after a gap, or after bytes that
 * are not a frame.
 *
 * A boundary is a position where a plausible frame header
 * (frame_header_plausible) is followed, after its payload, by another
 * plausible header. Only frames of up to RESYNC_MAX_PAYLOAD_BYTES are taken
 * as the first frame, so that the bytes waited for stay bounded. That
 * covers every frame of a peer that keeps the default
 * SETTINGS_MAX_FRAME_SIZE. The decision depends only on the bytes, never on
 * how much has arrived, so that it is the same however the input is split.
 * The bytes from the boundary on are then parsed again as frames, from the
 * replay buffer of http2.c, and the bytes skipped before it are reported
 * through on_error.
 */
#include <stdlib.h>
#include <string.h>

#include "http2_internal.h"

/* Maximum payload of the first frame found when looking for a boundary. */
#define RESYNC_MAX_PAYLOAD_BYTES H2_DEFAULT_MAX_FRAME_BYTES
/* Bytes needed to judge a candidate boundary: its frame and the next
 * frame's header. */
#define RESYNC_WINDOW_BYTES (2 * H2_FRAME_HEADER_BYTES + RESYNC_MAX_PAYLOAD_BYTES)

/* Extension frame types that servers and browsers send, none with flags:
 * ALTSVC (RFC 7838), ORIGIN (RFC 8336), PRIORITY_UPDATE (RFC 9218). They
 * are ignored like any unknown type, but may follow a boundary candidate. */
#define FRAME_ALTSVC 0xa
#define FRAME_ORIGIN 0xc
#define FRAME_PRIORITY_UPDATE 0x10

/* Flags each frame type defines (RFC 9113 section 6). */
static const uint8_t defined_flags[] = {
	[H2_FRAME_DATA] = H2_FLAG_END_STREAM | H2_FLAG_PADDED,
	[H2_FRAME_HEADERS] = H2_FLAG_END_STREAM | H2_FLAG_END_HEADERS | H2_FLAG_PADDED | H2_FLAG_PRIORITY,
	[H2_FRAME_PRIORITY] = 0,
	[H2_FRAME_RST_STREAM] = 0,
	[H2_FRAME_SETTINGS] = H2_FLAG_ACK,
	[H2_FRAME_PUSH_PROMISE] = H2_FLAG_END_HEADERS | H2_FLAG_PADDED,
	[H2_FRAME_PING] = H2_FLAG_ACK,
	[H2_FRAME_GOAWAY] = 0,
	[H2_FRAME_WINDOW_UPDATE] = 0,
	[H2_FRAME_CONTINUATION] = H2_FLAG_END_HEADERS,
	[FRAME_ALTSVC] = 0,
	[FRAME_ORIGIN] = 0,
	[FRAME_PRIORITY_UPDATE] = 0,
};

static bool frame_type_known(uint8_t type)
{
	return type <= H2_FRAME_CONTINUATION || type == FRAME_ALTSVC || type == FRAME_ORIGIN ||
	       type == FRAME_PRIORITY_UPDATE;
}

/* ---- frame headers ---- */

void h2_frame_header_parse(const uint8_t *header, struct h2_frame *frame)
{
	frame->length = (uint32_t)header[0] << 16 | (uint32_t)header[1] << 8 | header[2];
	frame->type = header[3];
	frame->flags = header[4];
	/* The reserved bit is ignored on receipt (RFC 9113 section 4.1). */
	frame->stream_id = ((uint32_t)header[5] << 24 | (uint32_t)header[6] << 16 | (uint32_t)header[7] << 8 |
			    header[8]) & 0x7fffffffu;
}

bool h2_frame_padded(const struct h2_frame *frame)
{
	bool may_pad = frame->type == H2_FRAME_DATA || frame->type == H2_FRAME_HEADERS ||
		       frame->type == H2_FRAME_PUSH_PROMISE;

	return may_pad && (frame->flags & H2_FLAG_PADDED);
}

/* Bytes between the Pad Length and the field block fragment: the priority
 * fields of HEADERS (RFC 9113 section 6.2), the promised stream id of
 * PUSH_PROMISE (section 6.6). */
uint32_t h2_frame_prefix_bytes(const struct h2_frame *frame)
{
	if (frame->type == H2_FRAME_HEADERS && (frame->flags & H2_FLAG_PRIORITY))
		return 5;
	if (frame->type == H2_FRAME_PUSH_PROMISE)
		return 4;
	return 0;
}

/*
 * Checks what a frame header alone shows against RFC 9113 section 6:
 * whether the frame type belongs on a stream or on the connection, fixed
 * lengths, and room for the Pad Length and prefix fields. A peer treats a
 * header that fails as a connection error. Unknown types pass, because
 * they are ignored (RFC 9113 section 5.5).
 */
bool h2_frame_header_valid(const struct h2_frame *frame)
{
	uint32_t fixed_bytes = (h2_frame_padded(frame) ? 1 : 0) + h2_frame_prefix_bytes(frame);

	switch (frame->type) {
	case H2_FRAME_DATA:
	case H2_FRAME_HEADERS:
	case H2_FRAME_PUSH_PROMISE:
	case H2_FRAME_CONTINUATION:
		return frame->stream_id != 0 && frame->length >= fixed_bytes;
	case H2_FRAME_PRIORITY:
		return frame->stream_id != 0 && frame->length == 5;
	case H2_FRAME_RST_STREAM:
		return frame->stream_id != 0 && frame->length == 4;
	case H2_FRAME_SETTINGS:
		if (frame->flags & H2_FLAG_ACK)
			return frame->stream_id == 0 && frame->length == 0;
		return frame->stream_id == 0 && frame->length % H2_SETTING_BYTES == 0;
	case H2_FRAME_PING:
		return frame->stream_id == 0 && frame->length == 8;
	case H2_FRAME_GOAWAY:
		return frame->stream_id == 0 && frame->length >= 8;
	case H2_FRAME_WINDOW_UPDATE:
		return frame->length == 4;
	case FRAME_ORIGIN:
		return frame->stream_id == 0;
	case FRAME_PRIORITY_UPDATE:
		return frame->stream_id == 0 && frame->length >= 4;
	default:
		return true;
	}
}

/*
 * Whether a frame header is likely real when nothing vouches for where it
 * starts: valid, of a type RFC 9113 or a common extension defines, with no
 * flag its type leaves undefined, the reserved bit clear, and at most
 * max_length long. A sender may set undefined flags and the reserved bit,
 * but none of the common ones does, and random bytes rarely pass all this.
 */
static bool frame_header_plausible(const uint8_t *header, uint32_t max_length)
{
	struct h2_frame frame;

	h2_frame_header_parse(header, &frame);
	if (!frame_type_known(frame.type) || (frame.flags & ~defined_flags[frame.type]))
		return false;
	if ((header[5] & 0x80) || frame.length > max_length)
		return false;
	return h2_frame_header_valid(&frame);
}

bool h2_starts_with_preface(const uint8_t *data, size_t length)
{
	return data && length >= H2_PREFACE_BYTES && memcmp(data, H2_PREFACE, H2_PREFACE_BYTES) == 0;
}

bool h2_looks_like_frames(const uint8_t *data, size_t length)
{
	bool seen = false;
	size_t at = 0;

	if (!data)
		return false;
	while (length - at >= H2_FRAME_HEADER_BYTES) {
		struct h2_frame frame;

		if (!frame_header_plausible(data + at, H2_FRAME_LENGTH_MAX))
			return false;
		seen = true;
		h2_frame_header_parse(data + at, &frame);
		if (frame.length > length - at - H2_FRAME_HEADER_BYTES)
			break;
		at += H2_FRAME_HEADER_BYTES + frame.length;
	}
	return seen;
}

/* ---- looking for a frame boundary ---- */

static bool scan_reserve(struct h2_connection *connection, struct h2_direction *direction)
{
	if (direction->scan)
		return true;
	direction->scan = malloc(RESYNC_WINDOW_BYTES);
	if (!direction->scan) {
		connection->out_of_memory = true;
		return false;
	}
	direction->scan_start = 0;
	direction->scan_end = 0;
	return true;
}

/* Appends as many bytes as the candidate buffer has room for, and returns
 * how many it took. When the buffer cannot be allocated, all bytes are
 * taken and counted as skipped. */
static size_t scan_append(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			  size_t length)
{
	size_t room;

	if (!scan_reserve(connection, direction)) {
		direction->garbage_bytes += length;
		return length;
	}
	if (direction->scan_start > 0 && direction->scan_end == RESYNC_WINDOW_BYTES) {
		memmove(direction->scan, direction->scan + direction->scan_start,
			direction->scan_end - direction->scan_start);
		direction->scan_end -= direction->scan_start;
		direction->scan_start = 0;
	}

	room = RESYNC_WINDOW_BYTES - direction->scan_end;
	if (length > room)
		length = room;
	memcpy(direction->scan + direction->scan_end, data, length);
	direction->scan_end += length;
	return length;
}

/*
 * Judges candidate boundaries from the first candidate byte on, skipping
 * the ones that fail. Returns true when scan_start is a boundary. A
 * candidate passes when its header is plausible and the header after its
 * payload is too. At the end of the available bytes (at_end, before a gap
 * or at the end of the connection), a frame that ends exactly there passes
 * as well, and the rest is skipped.
 */
bool h2_resync_scan(struct h2_direction *direction, bool at_end)
{
	while (direction->scan_end - direction->scan_start >= H2_FRAME_HEADER_BYTES) {
		const uint8_t *header = direction->scan + direction->scan_start;
		size_t available = direction->scan_end - direction->scan_start;

		if (frame_header_plausible(header, RESYNC_MAX_PAYLOAD_BYTES)) {
			size_t frame_end = H2_FRAME_HEADER_BYTES +
					   ((size_t)header[0] << 16 | (size_t)header[1] << 8 | header[2]);

			if (available >= frame_end + H2_FRAME_HEADER_BYTES) {
				if (frame_header_plausible(header + frame_end, H2_FRAME_LENGTH_MAX))
					return true;
			} else if (!at_end) {
				return false;
			} else if (available == frame_end) {
				return true;
			}
		}
		direction->scan_start++;
		direction->garbage_bytes++;
	}

	if (at_end) {
		direction->garbage_bytes += direction->scan_end - direction->scan_start;
		direction->scan_start = direction->scan_end;
	}
	return false;
}

/* Starts looking for a boundary in bytes already taken from the input. */
void h2_resync_begin(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			 size_t length)
{
	direction->state = H2_READ_RESYNC;
	direction->scan_start = 0;
	direction->scan_end = 0;
	if (length > 0)
		scan_append(connection, direction, data, length);
	if (h2_resync_scan(direction, false))
		direction->scan_accepted = true;
}

size_t h2_resync_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
			  size_t length)
{
	size_t taken = scan_append(connection, direction, data, length);

	if (direction->scan && h2_resync_scan(direction, false))
		direction->scan_accepted = true;
	return taken;
}

/*
 * Makes the candidate bytes from the boundary on the next input, ahead of
 * what is left to replay. Those candidates were all taken from that replay,
 * or came after it once it was used up, so the two together never exceed
 * RESYNC_WINDOW_BYTES.
 */
void h2_resync_accept(struct h2_connection *connection, struct h2_direction *direction)
{
	size_t found = direction->scan_end - direction->scan_start;
	size_t left = direction->replay_end - direction->replay_start;

	direction->scan_accepted = false;
	h2_garbage_flush(connection, direction);
	direction->state = H2_READ_HEADER;
	direction->header_bytes = 0;

	if (left == 0) {
		uint8_t *spare = direction->replay;

		direction->replay = direction->scan;
		direction->replay_start = direction->scan_start;
		direction->replay_end = direction->scan_end;
		direction->scan = spare;
	} else {
		if (found + left > RESYNC_WINDOW_BYTES) {
			direction->garbage_bytes += found + left - RESYNC_WINDOW_BYTES;
			left = RESYNC_WINDOW_BYTES - found;
		}
		memmove(direction->replay + found, direction->replay + direction->replay_start, left);
		memcpy(direction->replay, direction->scan + direction->scan_start, found);
		direction->replay_start = 0;
		direction->replay_end = found + left;
	}
	direction->scan_start = 0;
	direction->scan_end = 0;
}

/*
 * Private to the HTTP/2 parser (http2.c, http2_hpack.c, http2_streams.c):
 * the state of one connection, shared by the frame layer, the HPACK layer
 * and the stream layer. http2.h is the interface.
 */
#ifndef PLAINSIGHT_HTTP2_INTERNAL_H
#define PLAINSIGHT_HTTP2_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "http2.h"

struct h2_connection;
struct h2_direction;
struct h2_frame;

/* Frame types (RFC 9113 section 6). */
enum h2_frame_type {
	H2_FRAME_DATA = 0x0,
	H2_FRAME_HEADERS = 0x1,
	H2_FRAME_PRIORITY = 0x2,
	H2_FRAME_RST_STREAM = 0x3,
	H2_FRAME_SETTINGS = 0x4,
	H2_FRAME_PUSH_PROMISE = 0x5,
	H2_FRAME_PING = 0x6,
	H2_FRAME_GOAWAY = 0x7,
	H2_FRAME_WINDOW_UPDATE = 0x8,
	H2_FRAME_CONTINUATION = 0x9,
};

/* Frame flags (RFC 9113 section 6). END_STREAM and ACK share a bit. */
#define H2_FLAG_END_STREAM 0x01
#define H2_FLAG_ACK 0x01
#define H2_FLAG_END_HEADERS 0x04
#define H2_FLAG_PADDED 0x08
#define H2_FLAG_PRIORITY 0x20

/* Settings identifiers (RFC 9113 section 6.5.2). */
#define H2_SETTINGS_HEADER_TABLE_SIZE 0x1
#define H2_SETTINGS_MAX_FRAME_SIZE 0x5

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_BYTES 24
#define H2_FRAME_HEADER_BYTES 9
/* Bytes of a SETTINGS entry (RFC 9113 section 6.5.1). */
#define H2_SETTING_BYTES 6

/* The 24-bit length field allows 2^24-1 bytes, which is also the largest
 * SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2). */
#define H2_FRAME_LENGTH_MAX 0xffffffu
/* Initial SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2). */
#define H2_DEFAULT_MAX_FRAME_BYTES 16384u

/* Initial SETTINGS_HEADER_TABLE_SIZE (RFC 9113 section 6.5.2). */
#define H2_DEFAULT_TABLE_BYTES 4096u
/*
 * Largest dynamic table mirrored per direction, in bytes. Chrome and Firefox
 * announce 65536. A larger size update is applied as this size, so entries
 * may leave the mirror before they leave the encoder's table, and later
 * references to them decode as unknown fields.
 */
#define H2_TABLE_MAX_BYTES 65536u

/* Open streams per connection; opening one more reports the oldest
 * truncated. */
#define H2_MAX_OPEN_STREAMS 1024

/* Bytes of decoded field text and kept bodies held per connection across all
 * open streams. Past it, fields are dropped (message truncated) and bodies
 * stop being kept. */
#define H2_CONNECTION_KEPT_BYTES_MAX (16u * 1024 * 1024)

/* ---- HPACK (http2_hpack.c) ---- */

enum h2_hpack_mode {
	/* No header block decoded yet: whether the table is known is decided
	 * at the first one. */
	H2_HPACK_FRESH,
	/* The inflater's table contains every entry of the encoder's. */
	H2_HPACK_COMPLETE,
	/* The encoder's table may hold entries the inflater never saw. */
	H2_HPACK_PARTIAL,
};

/* SETTINGS_HEADER_TABLE_SIZE values announced and not acknowledged yet. */
#define H2_PENDING_SETTINGS 4

/* The decoder of one direction's header blocks. */
struct h2_hpack {
	nghttp2_hd_inflater *inflater; /* NULL after a failed allocation */
	enum h2_hpack_mode mode;
	/* Bytes were lost before the first block, so it cannot be COMPLETE. */
	bool lost;
	/* The table size limit given to the inflater, at most
	 * H2_TABLE_MAX_BYTES. */
	size_t settings_bytes;
	/* settings_bytes is the decoder's real setting, not a guess. */
	bool settings_known;
	uint32_t pending[H2_PENDING_SETTINGS];
	size_t pending_count;
};

/* Receives one decoded field. name or value is NULL when unknown. The bytes
 * are not NUL-terminated and are valid only during the call. */
typedef void (*h2_field_fn)(void *user, const uint8_t *name, size_t name_bytes, const uint8_t *value,
			    size_t value_bytes);

int h2_hpack_init(struct h2_hpack *hpack);
void h2_hpack_free(struct h2_hpack *hpack);
int h2_hpack_decode_block(struct h2_hpack *hpack, bool table_known, const uint8_t *block, size_t bytes,
			  h2_field_fn on_field, void *user);
void h2_hpack_lose(struct h2_hpack *hpack);
void h2_hpack_settings_announced(struct h2_hpack *hpack, uint32_t table_bytes);
void h2_hpack_settings_acknowledged(struct h2_hpack *hpack);

/* ---- frames (http2.c, http2_boundary.c) ---- */

void h2_report_error(struct h2_connection *connection, enum tls_direction direction, uint64_t bytes,
		     const char *what);
void h2_garbage_flush(struct h2_connection *connection, struct h2_direction *direction);

void h2_frame_header_parse(const uint8_t *header, struct h2_frame *frame);
bool h2_frame_padded(const struct h2_frame *frame);
uint32_t h2_frame_prefix_bytes(const struct h2_frame *frame);
bool h2_frame_header_valid(const struct h2_frame *frame);

bool h2_resync_scan(struct h2_direction *direction, bool at_end);
void h2_resync_begin(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
		     size_t length);
size_t h2_resync_feed(struct h2_connection *connection, struct h2_direction *direction, const uint8_t *data,
		      size_t length);
void h2_resync_accept(struct h2_connection *connection, struct h2_direction *direction);

enum h2_read_state {
	/* Ingress before its first byte: how to start depends on whether the
	 * egress side began with the preface. */
	H2_READ_START,
	/* Egress only: matching the client connection preface. */
	H2_READ_PREFACE,
	/* Looking for the next frame boundary. */
	H2_READ_RESYNC,
	H2_READ_HEADER,
	H2_READ_PAYLOAD,
};

/* Part of a frame payload (RFC 9113 sections 6.1, 6.2 and 6.6). */
enum h2_payload_phase {
	H2_PHASE_PAD_LENGTH,
	/* HEADERS priority fields or the PUSH_PROMISE promised stream id. */
	H2_PHASE_PREFIX,
	H2_PHASE_CONTENT,
	H2_PHASE_PADDING,
};

struct h2_frame {
	uint32_t length;
	uint8_t type;
	uint8_t flags;
	uint32_t stream_id;
};

/* The header block being assembled in one direction. CONTINUATION frames
 * must follow their HEADERS or PUSH_PROMISE directly (RFC 9113 section 6.10),
 * so a direction has at most one. */
struct h2_block {
	bool active;
	uint8_t frame_type; /* HEADERS or PUSH_PROMISE */
	uint32_t stream_id;
	bool end_stream;
	/* Fragments are no longer kept: the block is lost. */
	bool lost;
	/* The reason for the loss, reported through on_error when the block
	 * ends. NULL when the loss is reported otherwise, as for a gap. */
	const char *lost_reason;
	uint64_t lost_bytes;
	uint8_t *bytes;
	size_t used;
	size_t capacity;
};

struct h2_direction {
	enum tls_direction which;
	enum h2_read_state state;

	/* H2_READ_PREFACE: bytes of the preface matched so far. */
	size_t preface_bytes;

	uint8_t header[H2_FRAME_HEADER_BYTES];
	size_t header_bytes;
	struct h2_frame frame;
	enum h2_payload_phase phase;
	uint32_t payload_left;
	uint32_t prefix_left;
	uint32_t content_left;
	uint32_t padding_left;
	/* Part of this frame was lost: its control fields are not used. */
	bool frame_damaged;
	/* The first bytes of a control frame, or the SETTINGS entry being read. */
	uint8_t control[8];
	size_t control_bytes;

	struct h2_block block;

	/* H2_READ_RESYNC: candidate bytes, scan[scan_start, scan_end). */
	uint8_t *scan;
	size_t scan_start;
	size_t scan_end;
	bool scan_accepted;
	/* Bytes skipped and not reported yet through on_error. */
	uint64_t garbage_bytes;
	/* Bytes to parse again, after a resync found a boundary in them. */
	uint8_t *replay;
	size_t replay_start;
	size_t replay_end;

	/* Largest frame the receiver of this direction accepts
	 * (SETTINGS_MAX_FRAME_SIZE it announced). */
	uint32_t max_frame_bytes;
	struct h2_hpack hpack;
};

/* ---- streams (http2_streams.c) ---- */

/* Decoded fields of one message: NUL-terminated names and values in text,
 * their offsets in offsets (two per field). */
struct h2_fields {
	char *text;
	size_t text_used;
	size_t text_capacity;
	size_t *offsets;
	size_t count;
	size_t capacity;
	/* Field section size as RFC 9113 section 6.5.2 counts it: name and
	 * value bytes plus 32 per field. */
	size_t list_bytes;
	size_t unknown;
};

enum h2_half_state {
	H2_HALF_IDLE,
	H2_HALF_OPEN,
	/* A response complete before its request: held back until the
	 * request ends, so that the request's body is not lost. */
	H2_HALF_WAITING,
	H2_HALF_DONE,
};

/* One direction of a stream: the request or the response being assembled. */
struct h2_half {
	enum h2_half_state state;
	/* The header block that starts the message has been decoded, so a
	 * later HEADERS frame carries trailers. */
	bool headers_done;
	bool partial;
	/* Data of this message was lost; it is reported truncated. */
	bool truncated;
	struct h2_fields fields;
	uint64_t body_bytes;
	uint64_t lost_bytes;
	uint8_t *body;
	size_t body_kept;
	size_t body_capacity;
	/* body_keep_bytes, lowered after a gap so the kept bytes stay an exact
	 * prefix of the body, or when the connection's budget runs out. */
	size_t body_keep_limit;
};

struct h2_stream {
	uint32_t id;
	struct h2_half request;
	struct h2_half response;
};

struct h2_connection {
	struct h2_parser_ops ops;
	void *user;
	size_t body_keep_bytes;

	struct h2_direction directions[2];
	/* The egress side began with the client preface. */
	bool from_start;
	/* Something of the connection was not seen: it began before the
	 * capture, or bytes were lost. DATA may then start a message whose
	 * HEADERS were not seen. */
	bool incomplete;
	bool finished;
	/* An allocation failed during the current call. */
	bool out_of_memory;

	/* Open streams, oldest first. */
	struct h2_stream **streams;
	size_t stream_count;
	size_t stream_capacity;

	/* Bytes of field text and kept bodies held by open streams. */
	size_t kept_bytes;

	/* Header array handed to on_message. */
	struct h1_header *report_headers;
	size_t report_capacity;
};

void h2_streams_free(struct h2_connection *connection);
void h2_headers_begin(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id);
void h2_headers_complete(struct h2_connection *connection, struct h2_direction *direction);
void h2_headers_lost(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id);
void h2_data_begin(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		   uint32_t content_bytes);
void h2_data_append(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		    const uint8_t *data, size_t length);
void h2_data_lose(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		  uint64_t body_bytes, uint64_t other_bytes, bool body_unknown);
void h2_data_end(struct h2_connection *connection, enum tls_direction direction, uint32_t stream_id,
		 bool end_stream);
void h2_stream_reset(struct h2_connection *connection, uint32_t stream_id);
void h2_goaway(struct h2_connection *connection, enum tls_direction direction, uint32_t last_stream_id);
void h2_direction_truncate(struct h2_connection *connection, enum tls_direction direction);
void h2_streams_finish(struct h2_connection *connection);

#endif

/*
 * HTTP/2 (RFC 9113) for one connection, both directions: frames after the
 * client preface, HPACK (RFC 7541) through libnghttp2's inflater, one per
 * direction, and the request and response of every stream.
 *
 * Input may be split at any byte; the messages reported are the same however
 * it is split. The parser can start in the middle of a connection: it finds
 * the next frame boundary, decodes what it can, and marks header fields that
 * refer to dynamic-table entries it never saw, instead of guessing. A
 * connection whose header state is damaged stays usable where possible.
 */
#ifndef PLAINSIGHT_HTTP2_H
#define PLAINSIGHT_HTTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/tls_chunk.h"
#include "http1.h"

/* Largest header block (HEADERS plus CONTINUATION) accepted per stream, in
 * bytes, before decoding; a larger one truncates the stream. */
#define H2_MAX_HEADER_BLOCK_BYTES (256 * 1024)

struct h2_message {
	uint32_t stream_id;
	enum h1_kind kind; /* H1_REQUEST from the egress side, H1_RESPONSE from ingress */

	/* Header fields in order, pseudo-header fields (":method", ":path",
	 * ":authority", ":scheme", ":status") included, names lower-case as
	 * HTTP/2 requires. A field whose name or value could not be decoded
	 * has the name or value "" and counts in unknown_fields. */
	struct h1_header *headers;
	size_t header_count;
	size_t unknown_fields;

	/* DATA payload after padding is removed, in bytes. */
	uint64_t body_bytes;
	uint8_t *body; /* the first body_kept bytes */
	size_t body_kept;

	uint64_t lost_bytes; /* capture gaps inside this stream's frames */

	/* The header block referred to dynamic-table entries that were added
	 * before the capture joined the connection. Also set, with no header
	 * fields, for a message whose HEADERS the capture never saw: DATA of a
	 * stream that began before the capture joined or during a loss. */
	bool partial;
	/* The message ended without END_STREAM: RST_STREAM, GOAWAY, a gap, a
	 * header block too large, or the end of the connection. */
	bool truncated;
};

struct h2_parser_ops {
	/* Called for every complete or truncated message. For one stream, the
	 * request always comes before its response: a response that completes
	 * first makes the parser report the request then, truncated. A response
	 * whose request the capture never saw is reported alone.
	 * The message is valid only during the call. */
	void (*on_message)(void *user, const struct h2_message *message);

	/* Called for bytes skipped because no frame boundary was found in them,
	 * and for frame-level errors that cost data (a header block that did not
	 * decode, a frame longer than the peer's limit). May be NULL. */
	void (*on_error)(void *user, enum tls_direction direction, uint64_t bytes, const char *what);
};

struct h2_connection;

/* Creates the state of one connection; body_keep_bytes is how many body
 * bytes of each message are kept. Returns NULL when out of memory. */
struct h2_connection *h2_connection_new(const struct h2_parser_ops *ops, void *user, size_t body_keep_bytes);

/* Frees; NULL is accepted. */
void h2_connection_free(struct h2_connection *connection);

/* Feeds the next bytes of one direction. The egress stream of a connection
 * captured from its start begins with the client preface. Returns 0, or
 * -ENOMEM. */
int h2_feed(struct h2_connection *connection, enum tls_direction direction, const uint8_t *data, size_t length);

/* Tells the parser that the next `bytes` bytes of one direction were lost. */
void h2_gap(struct h2_connection *connection, enum tls_direction direction, uint64_t bytes);

/* Ends the connection: every open stream is reported truncated. */
void h2_finish(struct h2_connection *connection);

/* Returns true when data starts with the client connection preface. */
bool h2_starts_with_preface(const uint8_t *data, size_t length);

/* Returns true when data looks like a sequence of HTTP/2 frames (valid
 * types, flags, lengths and stream ids for at least the frames it holds),
 * for a capture that joins a connection after its preface. */
bool h2_looks_like_frames(const uint8_t *data, size_t length);

#endif

/*
 * Incremental HTTP/1.0 and HTTP/1.1 parser for one direction of one
 * connection: requests on the egress side, responses on the ingress side.
 *
 * Input may be split at any byte; the messages reported are the same however
 * it is split. Bytes that are not HTTP/1 (garbage between messages, or the
 * middle of a message the capture joined late) are reported and skipped until
 * the next line that starts a message. Gaps in the capture are passed in with
 * h1_parser_gap so that body lengths stay right where they can.
 */
#ifndef PLAINSIGHT_HTTP1_H
#define PLAINSIGHT_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest start line plus header block accepted, in bytes. A longer one is
 * treated as garbage. */
#define H1_MAX_HEAD_BYTES (64 * 1024)

enum h1_kind {
	H1_REQUEST,
	H1_RESPONSE,
};

struct h1_header {
	char *name;  /* as sent, NUL-terminated */
	char *value; /* leading and trailing whitespace removed */
};

struct h1_message {
	enum h1_kind kind;

	/* Start line. For a request: method and target as sent; for a
	 * response: status_code and reason. */
	char *method;
	char *target;
	int status_code;
	char *reason;
	int version_major;
	int version_minor;

	struct h1_header *headers;
	size_t header_count;

	/* Body after transfer decoding (chunked framing removed), in bytes. */
	uint64_t body_bytes;
	/* The first body_kept bytes of the body; body_bytes may be larger. */
	uint8_t *body;
	size_t body_kept;

	/* Stream offsets of the first byte of the message and of the byte after
	 * its end, in the direction's own stream (gap bytes included). */
	uint64_t start_offset;
	uint64_t end_offset;

	/* Bytes of this message that the capture lost (h1_parser_gap). */
	uint64_t lost_bytes;

	bool chunked;
	bool keep_alive;
	/* The message ended because the stream ended or a gap made its end
	 * unknown, not because its framing ended it. */
	bool truncated;
};

struct h1_parser_ops {
	/* Called once a response's header block is parsed. Returns true when
	 * that response can carry no body because of the request it responds to
	 * (HEAD, or a 2xx answer to CONNECT); the parser itself handles 1xx,
	 * 204 and 304. May be NULL for request parsers. */
	bool (*response_is_bodyless)(void *user, const struct h1_message *response);

	/* Called for every complete message, including interim 1xx responses.
	 * The message and its strings stay valid only during the call. */
	void (*on_message)(void *user, const struct h1_message *message);

	/* Called for bytes skipped because they are not HTTP/1. May be NULL. */
	void (*on_garbage)(void *user, uint64_t offset, uint64_t bytes);
};

struct h1_parser;

/* Creates a parser; body_keep_bytes is how many body bytes of each message
 * are kept in h1_message.body. Returns NULL when out of memory. */
struct h1_parser *h1_parser_new(enum h1_kind kind, const struct h1_parser_ops *ops, void *user,
				size_t body_keep_bytes);

/* Frees the parser; NULL is accepted. */
void h1_parser_free(struct h1_parser *parser);

/* Feeds the next bytes of the stream. Returns 0, or -ENOMEM. */
int h1_parser_feed(struct h1_parser *parser, const uint8_t *data, size_t length);

/* Tells the parser that the next `bytes` bytes of the stream were lost. Inside
 * a body of known length they are counted as body bytes and as lost bytes of
 * that message; anywhere else the message in progress is reported truncated
 * and the parser looks for the next message start. */
void h1_parser_gap(struct h1_parser *parser, uint64_t bytes);

/* Ends the stream: a body delimited by the connection's close completes, and
 * a message in progress is reported truncated. */
void h1_parser_finish(struct h1_parser *parser);

/* Returns true when the bytes fed so far start like HTTP/1 of this kind
 * (a request line or an "HTTP/1." status line). Used to choose a parser. */
bool h1_looks_like_start(enum h1_kind kind, const uint8_t *data, size_t length);

/* Returns the value of the first header with this name (case-insensitive),
 * or NULL. */
const char *h1_message_header(const struct h1_message *message, const char *name);

#endif

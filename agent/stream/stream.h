/*
 * Stream stage: per-connection reassembly of tls_chunks in both directions,
 * protocol detection, HTTP/1.x parsing, and pairing of each request with its
 * response. It hands one http_exchange per request to the next stage.
 */
#ifndef PLAINSIGHT_STREAM_H
#define PLAINSIGHT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/tls_chunk.h"
#include "http1.h"

/* A header as kept by the stream stage. */
struct http_header {
	char *name;
	char *value;
};

/* An HTTP message owned by the stream stage (a copy of what the parser saw). */
struct http_message {
	char *method;       /* requests */
	char *target;       /* requests, as sent */
	int status_code;    /* responses */
	int version_major;
	int version_minor;
	struct http_header *headers;
	size_t header_count;
	uint64_t body_bytes;
	uint8_t *body; /* the first body_kept bytes */
	size_t body_kept;
	uint64_t time_ns; /* CLOCK_REALTIME of the chunk that completed the message */
	bool truncated;
	/* Some HTTP/2 header fields could not be decoded: they referred to
	 * compression state from before the capture joined the connection. */
	bool partial;
};

/* One request, with its response when one came, and where it was seen. */
struct http_exchange {
	uint64_t conn_id;
	uint32_t pid;
	uint32_t tid;
	const char *executable_path; /* "" when unknown */
	const char *thread_name;     /* "" when unknown */
	enum tls_library library;
	struct tls_endpoint local; /* family 0 when the socket is unknown */
	struct tls_endpoint peer;
	const struct http_message *request;
	const struct http_message *response; /* NULL: none before close or timeout */
	/* Bytes of this connection lost by the capture since the previous
	 * exchange of the connection was reported. */
	uint64_t bytes_lost;
	/* The request's URL when a source gave it whole (a HAR file), or NULL
	 * to build it from the Host header and the request target. */
	const char *url_full;
	/* The request's origin: "tls" (a capture) or "har"; NULL means "tls". */
	const char *capture_source;
};

/* A process sent QUIC (UDP to port 443), which no TLS hook can read. */
struct quic_notice {
	uint64_t time_ns;
	uint32_t pid;
	uint32_t tid;
	const char *executable_path; /* "" when unknown */
	const char *thread_name;     /* "" when unknown */
	struct tls_endpoint local;
	struct tls_endpoint peer;
};

struct stream_options {
	size_t max_connections;        /* tracked at once; the oldest is evicted */
	size_t body_keep_bytes;        /* body bytes kept per message for later stages */
	uint64_t response_timeout_ns;  /* a request without response is reported after this */
	size_t max_pending_requests;   /* pipelined requests waiting per connection */
};

struct stream_stats {
	uint64_t connections;
	uint64_t connections_evicted;
	uint64_t requests;
	uint64_t requests_without_response;
	uint64_t responses_without_request;
	uint64_t requests_dropped; /* pending queue full */
	uint64_t garbage_bytes;
	uint64_t bytes_lost;            /* gaps in the captured streams */
	uint64_t bytes_lost_unreported; /* lost after a connection's last exchange */
	uint64_t http2_connections;
	uint64_t server_side_connections;
	uint64_t out_of_order_chunks;
	uint64_t quic_notices;
};

typedef void (*stream_exchange_fn)(void *user, const struct http_exchange *exchange);
typedef void (*stream_quic_fn)(void *user, const struct quic_notice *notice);

struct stream;

void stream_default_options(struct stream_options *options);

/* Returns the value of the message's first header with this name
 * (case-insensitive), or NULL. */
const char *http_message_header(const struct http_message *message, const char *name);

/* Returns NULL when out of memory. */
struct stream *stream_new(const struct stream_options *options, stream_exchange_fn on_exchange, void *user);

/* Sets the function that receives QUIC notices (none by default). */
void stream_set_quic_handler(struct stream *stream, stream_quic_fn on_quic);

/* The chunk sink that feeds this stream. */
struct tls_chunk_sink *stream_chunk_sink(struct stream *stream);

/* Ends every connection, reporting requests still waiting for a response. */
void stream_finish(struct stream *stream);

void stream_read_stats(const struct stream *stream, struct stream_stats *stats);

/* Frees; NULL is accepted. Does not report pending requests (see
 * stream_finish). */
void stream_free(struct stream *stream);

#endif

/* Private to agent/stream/: connection state shared by its files. */
#ifndef PLAINSIGHT_STREAM_INTERNAL_H
#define PLAINSIGHT_STREAM_INTERNAL_H

#include "http2.h"
#include "stream.h"

enum connection_protocol {
	PROTOCOL_UNKNOWN = 0,
	PROTOCOL_HTTP1,
	PROTOCOL_HTTP2,
	PROTOCOL_SERVER_SIDE, /* the process serves requests, which are not reported */
	PROTOCOL_OPAQUE,      /* after a protocol switch (101), not HTTP any more */
};

struct pending_request {
	struct http_message message;
	uint32_t stream_id; /* HTTP/2 stream; 0 for HTTP/1, which pairs in order */
	bool reported; /* reported after the timeout, still waits for pairing */
	struct pending_request *next;
};

struct connection {
	uint64_t conn_id;
	uint32_t pid;
	uint32_t tid;
	enum tls_library library;
	struct tls_endpoint local;
	struct tls_endpoint peer;
	enum connection_protocol protocol;

	struct h1_parser *request_parser;
	struct h1_parser *response_parser;
	struct h2_connection *http2; /* created when the connection speaks HTTP/2 */
	uint64_t next_offset[2]; /* expected stream offset per direction */
	uint64_t chunk_time_ns;  /* time of the chunk being parsed */

	struct pending_request *pending_head;
	struct pending_request *pending_tail;
	size_t pending_count;
	/* Responses still owed to requests dropped from the queue. */
	uint64_t responses_to_skip;
	uint64_t lost_unreported;

	struct stream *stream;
	struct connection *hash_next;
	struct connection *older; /* least recently used order */
	struct connection *newer;
};

struct process_entry {
	uint32_t pid;
	char *executable_path;
	struct process_entry *next;
};

struct thread_entry {
	uint32_t tid;
	uint32_t pid;
	char name[16]; /* Linux keeps at most 15 bytes of a thread name */
	struct thread_entry *next;
};

#define CONNECTION_BUCKETS 4096
#define PROCESS_BUCKETS 1024

struct stream {
	struct stream_options options;
	stream_exchange_fn on_exchange;
	stream_quic_fn on_quic;
	void *user;
	struct tls_chunk_sink sink;

	struct connection *buckets[CONNECTION_BUCKETS];
	struct connection *oldest;
	struct connection *newest;
	size_t connection_count;

	struct process_entry *processes[PROCESS_BUCKETS];
	struct thread_entry *threads[PROCESS_BUCKETS];
	struct stream_stats stats;
};

/* exchange.c */
void exchange_on_request(struct connection *connection, const struct h1_message *message);
void exchange_on_response(struct connection *connection, const struct h1_message *message);
bool exchange_response_is_bodyless(struct connection *connection, const struct h1_message *response);
void exchange_report_timeouts(struct connection *connection, uint64_t now_ns);
void exchange_flush(struct connection *connection);
void http_message_clear(struct http_message *message);
bool http_message_copy_content(struct http_message *copy, const struct h1_header *headers, size_t header_count,
			       const uint8_t *body, size_t body_kept);
void exchange_report(struct connection *connection, const struct http_message *request,
		     const struct http_message *response);
bool exchange_enqueue(struct connection *connection, struct http_message *request, uint32_t stream_id);
void exchange_remove(struct connection *connection, struct pending_request *pending);

/* exchange_h2.c */
int exchange_start_http2(struct connection *connection);

/* stream.c */
const char *stream_executable_path(const struct stream *stream, uint32_t pid);
const char *stream_thread_name(const struct stream *stream, uint32_t tid);

#endif

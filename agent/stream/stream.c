/*
 * Connection table and chunk dispatch of the stream stage. Connections are
 * found by conn_id in a hash table and kept in least-recently-used order, so
 * that a full table evicts (and counts) the connection idle the longest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "internal.h"

static const char http2_preface[] = "PRI * HTTP/2.0\r\n";

void stream_default_options(struct stream_options *options)
{
	options->max_connections = 16384;
	options->body_keep_bytes = 1 << 20;
	options->response_timeout_ns = 30ull * 1000000000ull;
	options->max_pending_requests = 64;
}

/* ---- processes ---- */

static struct process_entry **process_slot(struct stream *stream, uint32_t pid)
{
	struct process_entry **slot = &stream->processes[pid % PROCESS_BUCKETS];

	while (*slot && (*slot)->pid != pid)
		slot = &(*slot)->next;
	return slot;
}

const char *stream_executable_path(const struct stream *stream, uint32_t pid)
{
	const struct process_entry *entry = stream->processes[pid % PROCESS_BUCKETS];

	while (entry && entry->pid != pid)
		entry = entry->next;
	return entry ? entry->executable_path : "";
}

static int remember_process(struct stream *stream, uint32_t pid, const char *path)
{
	struct process_entry **slot = process_slot(stream, pid);
	char *copy = strdup(path ? path : "");

	if (!copy)
		return -ENOMEM;
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			free(copy);
			return -ENOMEM;
		}
		(*slot)->pid = pid;
	}
	free((*slot)->executable_path);
	(*slot)->executable_path = copy;
	return 0;
}

static void forget_process(struct stream *stream, uint32_t pid)
{
	struct process_entry **slot = process_slot(stream, pid);
	struct process_entry *entry = *slot;

	if (!entry)
		return;
	*slot = entry->next;
	free(entry->executable_path);
	free(entry);
}

/* ---- threads ---- */

const char *stream_thread_name(const struct stream *stream, uint32_t tid)
{
	const struct thread_entry *entry = stream->threads[tid % PROCESS_BUCKETS];

	while (entry && entry->tid != tid)
		entry = entry->next;
	return entry ? entry->name : "";
}

static int remember_thread(struct stream *stream, uint32_t pid, uint32_t tid, const char *name)
{
	struct thread_entry **slot = &stream->threads[tid % PROCESS_BUCKETS];

	while (*slot && (*slot)->tid != tid)
		slot = &(*slot)->next;
	if (!*slot) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot)
			return -ENOMEM;
		(*slot)->tid = tid;
	}
	(*slot)->pid = pid;
	snprintf((*slot)->name, sizeof((*slot)->name), "%s", name ? name : "");
	return 0;
}

/* Forgets the threads of an ended process; all buckets are walked, since
 * they are keyed by thread. */
static void forget_threads(struct stream *stream, uint32_t pid)
{
	for (size_t i = 0; i < PROCESS_BUCKETS; i++) {
		struct thread_entry **slot = &stream->threads[i];

		while (*slot) {
			struct thread_entry *entry = *slot;

			if (entry->pid == pid) {
				*slot = entry->next;
				free(entry);
			} else {
				slot = &entry->next;
			}
		}
	}
}

/* ---- connection table ---- */

static struct connection **connection_slot(struct stream *stream, uint64_t conn_id)
{
	struct connection **slot = &stream->buckets[conn_id % CONNECTION_BUCKETS];

	while (*slot && (*slot)->conn_id != conn_id)
		slot = &(*slot)->hash_next;
	return slot;
}

static void unlink_recency(struct stream *stream, struct connection *connection)
{
	if (connection->older)
		connection->older->newer = connection->newer;
	else
		stream->oldest = connection->newer;
	if (connection->newer)
		connection->newer->older = connection->older;
	else
		stream->newest = connection->older;
	connection->older = connection->newer = NULL;
}

static void mark_recent(struct stream *stream, struct connection *connection)
{
	if (stream->newest == connection)
		return;
	if (connection->older || connection->newer || stream->oldest == connection)
		unlink_recency(stream, connection);
	connection->older = stream->newest;
	if (stream->newest)
		stream->newest->newer = connection;
	stream->newest = connection;
	if (!stream->oldest)
		stream->oldest = connection;
}

/* Ends a connection: finishes its parsers (a body delimited by close ends
 * here), reports what still waits, and frees it. */
static void end_connection(struct stream *stream, struct connection *connection)
{
	struct connection **slot = connection_slot(stream, connection->conn_id);

	if (connection->http2)
		h2_finish(connection->http2);
	if (connection->response_parser)
		h1_parser_finish(connection->response_parser);
	if (connection->request_parser)
		h1_parser_finish(connection->request_parser);
	exchange_flush(connection);

	*slot = connection->hash_next;
	unlink_recency(stream, connection);
	stream->connection_count--;
	h1_parser_free(connection->request_parser);
	h1_parser_free(connection->response_parser);
	h2_connection_free(connection->http2);
	free(connection);
}

static void on_request(void *user, const struct h1_message *message)
{
	exchange_on_request(user, message);
}

static void on_response(void *user, const struct h1_message *message)
{
	exchange_on_response(user, message);
}

static bool response_is_bodyless(void *user, const struct h1_message *response)
{
	return exchange_response_is_bodyless(user, response);
}

static void on_garbage(void *user, uint64_t offset, uint64_t bytes)
{
	struct connection *connection = user;

	connection->stream->stats.garbage_bytes += bytes;
	log_debug("connection %llu: skipped %llu bytes that are not HTTP/1 at offset %llu",
		  (unsigned long long)connection->conn_id, (unsigned long long)bytes,
		  (unsigned long long)offset);
}

static const struct h1_parser_ops request_ops = {
	.on_message = on_request,
	.on_garbage = on_garbage,
};

static const struct h1_parser_ops response_ops = {
	.response_is_bodyless = response_is_bodyless,
	.on_message = on_response,
	.on_garbage = on_garbage,
};

static struct connection *find_or_add_connection(struct stream *stream, const struct tls_chunk *chunk)
{
	struct connection **slot = connection_slot(stream, chunk->conn_id);
	struct connection *connection = *slot;

	if (connection) {
		mark_recent(stream, connection);
		return connection;
	}

	if (stream->connection_count >= stream->options.max_connections) {
		log_debug("connection table full (%zu): evicting connection %llu", stream->connection_count,
			  (unsigned long long)stream->oldest->conn_id);
		end_connection(stream, stream->oldest);
		stream->stats.connections_evicted++;
		slot = connection_slot(stream, chunk->conn_id);
	}

	connection = calloc(1, sizeof(*connection));
	if (!connection)
		return NULL;
	connection->conn_id = chunk->conn_id;
	connection->pid = chunk->pid;
	connection->tid = chunk->tid;
	connection->library = chunk->library;
	connection->stream = stream;
	connection->request_parser = h1_parser_new(H1_REQUEST, &request_ops, connection, stream->options.body_keep_bytes);
	connection->response_parser = h1_parser_new(H1_RESPONSE, &response_ops, connection, stream->options.body_keep_bytes);
	if (!connection->request_parser || !connection->response_parser) {
		h1_parser_free(connection->request_parser);
		h1_parser_free(connection->response_parser);
		free(connection);
		return NULL;
	}

	*slot = connection;
	mark_recent(stream, connection);
	stream->connection_count++;
	stream->stats.connections++;
	return connection;
}

/* ---- chunks ---- */

static void mark_server_side(struct connection *connection)
{
	connection->protocol = PROTOCOL_SERVER_SIDE;
	connection->stream->stats.server_side_connections++;
}

/* Chooses the protocol from the first egress bytes of a connection, or from
 * ingress bytes that arrive first: a server reads a request before it writes
 * anything, and those bytes are not garbage. */
static void detect_protocol(struct connection *connection, const struct tls_chunk *chunk)
{
	struct stream *stream = connection->stream;
	size_t compare = chunk->data_bytes < sizeof(http2_preface) - 1 ? chunk->data_bytes : sizeof(http2_preface) - 1;

	if (chunk->data_bytes == 0)
		return;

	/* A whole request line is needed, because a prefix such as "HTTP"
	 * could also start a response. */
	if (chunk->direction == TLS_INGRESS) {
		if (memchr(chunk->data, '\n', chunk->data_bytes) &&
		    h1_looks_like_start(H1_REQUEST, chunk->data, chunk->data_bytes))
			mark_server_side(connection);
		return;
	}

	/* A status line needs all of "HTTP/1.", so that the "H" of a HEAD
	 * request written in pieces is not taken for one. */
	if ((compare >= 3 && memcmp(chunk->data, http2_preface, compare) == 0) ||
	    h2_looks_like_frames(chunk->data, chunk->data_bytes)) {
		/* The preface, or frames of a connection joined after it. */
		if (exchange_start_http2(connection)) {
			log_warn("out of memory: connection %llu not decoded", (unsigned long long)connection->conn_id);
			connection->protocol = PROTOCOL_OPAQUE;
			return;
		}
		connection->protocol = PROTOCOL_HTTP2;
		stream->stats.http2_connections++;
	} else if (chunk->data_bytes >= strlen("HTTP/1.") &&
		   h1_looks_like_start(H1_RESPONSE, chunk->data, chunk->data_bytes)) {
		mark_server_side(connection);
	} else {
		connection->protocol = PROTOCOL_HTTP1;
	}
}

/* Passes lost bytes of one direction to the connection's parser. */
static void parser_gap(struct connection *connection, enum tls_direction direction, uint64_t gap)
{
	if (connection->protocol == PROTOCOL_HTTP2)
		h2_gap(connection->http2, direction, gap);
	else if (connection->protocol == PROTOCOL_HTTP1 || connection->protocol == PROTOCOL_UNKNOWN)
		h1_parser_gap(direction == TLS_EGRESS ? connection->request_parser : connection->response_parser, gap);
}

static int handle_data(struct stream *stream, const struct tls_chunk *chunk)
{
	struct connection *connection = find_or_add_connection(stream, chunk);
	struct h1_parser *parser;
	uint64_t *expected;
	uint64_t skip = 0;

	if (!connection)
		return -ENOMEM;
	connection->tid = chunk->tid;
	connection->chunk_time_ns = chunk->time_ns;
	if (chunk->library != TLS_LIBRARY_UNKNOWN)
		connection->library = chunk->library;
	if (connection->protocol == PROTOCOL_UNKNOWN)
		detect_protocol(connection, chunk);

	/* Offsets come from the BPF side; a jump forward is capture loss. They
	 * are followed on every connection, also those not parsed, so that
	 * their close does not count delivered bytes as lost. */
	expected = &connection->next_offset[chunk->direction == TLS_EGRESS ? 0 : 1];
	if (chunk->stream_offset > *expected) {
		uint64_t gap = chunk->stream_offset - *expected;

		stream->stats.bytes_lost += gap;
		connection->lost_unreported += gap;
		parser_gap(connection, chunk->direction, gap);
	} else if (chunk->stream_offset < *expected) {
		skip = *expected - chunk->stream_offset;
		stream->stats.out_of_order_chunks++;
		if (skip >= chunk->data_bytes)
			return 0;
	}
	*expected = chunk->stream_offset + chunk->data_bytes;

	if (chunk->data_bytes == 0 || connection->protocol == PROTOCOL_SERVER_SIDE ||
	    connection->protocol == PROTOCOL_OPAQUE)
		return 0;
	if (connection->protocol == PROTOCOL_HTTP2)
		return h2_feed(connection->http2, chunk->direction, chunk->data + skip, chunk->data_bytes - skip);
	parser = chunk->direction == TLS_EGRESS ? connection->request_parser : connection->response_parser;
	return h1_parser_feed(parser, chunk->data + skip, chunk->data_bytes - skip);
}

static void handle_connection(struct stream *stream, const struct tls_chunk *chunk)
{
	struct connection *connection = find_or_add_connection(stream, chunk);

	if (!connection)
		return;
	connection->local = chunk->local;
	connection->peer = chunk->peer;
}

/* Counts the bytes sent after the last chunk that arrived: the close record
 * carries each direction's final length. */
static void handle_close(struct stream *stream, const struct tls_chunk *chunk)
{
	struct connection *connection = *connection_slot(stream, chunk->conn_id);
	uint64_t finals[2] = { chunk->egress_bytes, chunk->ingress_bytes };

	if (!connection)
		return;
	for (int direction = 0; direction < 2; direction++) {
		if (finals[direction] > connection->next_offset[direction]) {
			uint64_t gap = finals[direction] - connection->next_offset[direction];

			stream->stats.bytes_lost += gap;
			connection->lost_unreported += gap;
			/* A message that the lost bytes belonged to ends truncated. */
			parser_gap(connection, direction == 0 ? TLS_EGRESS : TLS_INGRESS, gap);
		}
	}
	end_connection(stream, connection);
}

static void handle_exit(struct stream *stream, uint32_t pid)
{
	struct connection *connection = stream->oldest;

	while (connection) {
		struct connection *newer = connection->newer;

		if (connection->pid == pid)
			end_connection(stream, connection);
		connection = newer;
	}
	forget_process(stream, pid);
	forget_threads(stream, pid);
}

static void handle_quic(struct stream *stream, const struct tls_chunk *chunk)
{
	struct quic_notice notice = {
		.time_ns = chunk->time_ns,
		.pid = chunk->pid,
		.tid = chunk->tid,
		.executable_path = stream_executable_path(stream, chunk->pid),
		.thread_name = stream_thread_name(stream, chunk->tid),
		.local = chunk->local,
		.peer = chunk->peer,
	};

	stream->stats.quic_notices++;
	if (stream->on_quic)
		stream->on_quic(stream->user, &notice);
}

static void handle_tick(struct stream *stream, uint64_t now_ns)
{
	for (struct connection *c = stream->oldest; c; c = c->newer)
		exchange_report_timeouts(c, now_ns);
}

static int write_chunk(struct tls_chunk_sink *sink, const struct tls_chunk *chunk)
{
	struct stream *stream = (struct stream *)((char *)sink - offsetof(struct stream, sink));

	switch (chunk->type) {
	case TLS_CHUNK_DATA:
		return handle_data(stream, chunk);
	case TLS_CHUNK_CONNECTION:
		handle_connection(stream, chunk);
		return 0;
	case TLS_CHUNK_CLOSE:
		handle_close(stream, chunk);
		return 0;
	case TLS_CHUNK_PROCESS:
		return remember_process(stream, chunk->pid, chunk->executable_path);
	case TLS_CHUNK_EXIT:
		handle_exit(stream, chunk->pid);
		return 0;
	case TLS_CHUNK_TICK:
		handle_tick(stream, chunk->time_ns);
		return 0;
	case TLS_CHUNK_THREAD:
		return remember_thread(stream, chunk->pid, chunk->tid, chunk->thread_name);
	case TLS_CHUNK_QUIC:
		handle_quic(stream, chunk);
		return 0;
	}
	return 0;
}

struct stream *stream_new(const struct stream_options *options, stream_exchange_fn on_exchange, void *user)
{
	struct stream *stream = calloc(1, sizeof(*stream));

	if (!stream)
		return NULL;
	stream->options = *options;
	if (stream->options.max_connections == 0)
		stream->options.max_connections = 1;
	if (stream->options.max_pending_requests == 0)
		stream->options.max_pending_requests = 1;
	stream->on_exchange = on_exchange;
	stream->user = user;
	stream->sink.write = write_chunk;
	return stream;
}

void stream_set_quic_handler(struct stream *stream, stream_quic_fn on_quic)
{
	stream->on_quic = on_quic;
}

struct tls_chunk_sink *stream_chunk_sink(struct stream *stream)
{
	return &stream->sink;
}

void stream_finish(struct stream *stream)
{
	while (stream->oldest)
		end_connection(stream, stream->oldest);
}

void stream_read_stats(const struct stream *stream, struct stream_stats *stats)
{
	*stats = stream->stats;
}

void stream_free(struct stream *stream)
{
	if (!stream)
		return;
	while (stream->oldest) {
		struct connection *connection = stream->oldest;

		unlink_recency(stream, connection);
		while (connection->pending_head) {
			struct pending_request *head = connection->pending_head;

			connection->pending_head = head->next;
			http_message_clear(&head->message);
			free(head);
		}
		h1_parser_free(connection->request_parser);
		h1_parser_free(connection->response_parser);
		h2_connection_free(connection->http2);
		free(connection);
	}
	for (size_t i = 0; i < PROCESS_BUCKETS; i++) {
		while (stream->threads[i]) {
			struct thread_entry *entry = stream->threads[i];

			stream->threads[i] = entry->next;
			free(entry);
		}
		while (stream->processes[i]) {
			struct process_entry *entry = stream->processes[i];

			stream->processes[i] = entry->next;
			free(entry->executable_path);
			free(entry);
		}
	}
	free(stream);
}

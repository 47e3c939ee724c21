/*
 * Pairing on an HTTP/2 connection: requests and responses meet by stream
 * id (RFC 9113, section 5), in any order across streams.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "internal.h"

static const char *pseudo_header(const struct h2_message *message, const char *name)
{
	for (size_t i = 0; i < message->header_count; i++) {
		if (strcmp(message->headers[i].name, name) == 0)
			return message->headers[i].value;
	}
	return NULL;
}

/* Copies an HTTP/2 message into the stream stage's own form. Returns false
 * when out of memory (copy left cleared). */
static bool copy_h2_message(struct http_message *copy, const struct h2_message *message, uint64_t time_ns)
{
	const char *status = pseudo_header(message, ":status");

	memset(copy, 0, sizeof(*copy));
	copy->method = strdup(pseudo_header(message, ":method") ? pseudo_header(message, ":method") : "");
	copy->target = strdup(pseudo_header(message, ":path") ? pseudo_header(message, ":path") : "");
	copy->status_code = status ? atoi(status) : 0;
	copy->version_major = 2;
	copy->body_bytes = message->body_bytes;
	copy->time_ns = time_ns;
	copy->truncated = message->truncated;
	copy->partial = message->partial;
	if (copy->method && copy->target &&
	    http_message_copy_content(copy, message->headers, message->header_count, message->body, message->body_kept))
		return true;

	http_message_clear(copy);
	return false;
}

static struct pending_request *find_stream(struct connection *connection, uint32_t stream_id)
{
	for (struct pending_request *p = connection->pending_head; p; p = p->next) {
		if (p->stream_id == stream_id)
			return p;
	}
	return NULL;
}

static void on_h2_response(struct connection *connection, const struct h2_message *message)
{
	struct pending_request *pending = find_stream(connection, message->stream_id);
	struct http_message response;

	if (!pending) {
		connection->stream->stats.responses_without_request++;
		return;
	}
	if (!pending->reported) {
		if (copy_h2_message(&response, message, connection->chunk_time_ns)) {
			exchange_report(connection, &pending->message, &response);
			http_message_clear(&response);
		} else {
			exchange_report(connection, &pending->message, NULL);
		}
	}
	exchange_remove(connection, pending);
}

static void on_h2_message(void *user, const struct h2_message *message)
{
	struct connection *connection = user;
	struct http_message request;

	if (message->kind == H1_RESPONSE) {
		on_h2_response(connection, message);
		return;
	}
	if (!copy_h2_message(&request, message, connection->chunk_time_ns) ||
	    !exchange_enqueue(connection, &request, message->stream_id)) {
		log_warn("out of memory: request on connection %llu stream %u not reported",
			 (unsigned long long)connection->conn_id, message->stream_id);
		connection->stream->stats.requests_dropped++;
	}
}

static void on_h2_error(void *user, enum tls_direction direction, uint64_t bytes, const char *what)
{
	struct connection *connection = user;

	connection->stream->stats.garbage_bytes += bytes;
	log_debug("connection %llu, %s: HTTP/2: %s (%llu bytes)", (unsigned long long)connection->conn_id,
		  direction == TLS_EGRESS ? "egress" : "ingress", what, (unsigned long long)bytes);
}

static const struct h2_parser_ops h2_ops = {
	.on_message = on_h2_message,
	.on_error = on_h2_error,
};

/* Switches a connection to HTTP/2. Returns 0 or -ENOMEM. */
int exchange_start_http2(struct connection *connection)
{
	connection->http2 = h2_connection_new(&h2_ops, connection, connection->stream->options.body_keep_bytes);
	return connection->http2 ? 0 : -ENOMEM;
}

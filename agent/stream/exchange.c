/*
 * Pairing requests with responses on one HTTP/1 connection. Requests wait in
 * a FIFO queue, because HTTP/1.1 servers respond to pipelined requests in order (RFC
 * 9112, section 9.3.2); each final response completes the oldest request.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/log.h"
#include "internal.h"

const char *http_message_header(const struct http_message *message, const char *name)
{
	for (size_t i = 0; i < message->header_count; i++) {
		if (strcasecmp(message->headers[i].name, name) == 0)
			return message->headers[i].value;
	}
	return NULL;
}

void http_message_clear(struct http_message *message)
{
	free(message->method);
	free(message->target);
	for (size_t i = 0; i < message->header_count; i++) {
		free(message->headers[i].name);
		free(message->headers[i].value);
	}
	free(message->headers);
	free(message->body);
	memset(message, 0, sizeof(*message));
}

static char *copy_string(const char *text)
{
	return strdup(text ? text : "");
}

/* Copies headers and the kept body into copy, which owns them after.
 * Returns false when out of memory; copy is then partly filled, and
 * http_message_clear frees it. */
bool http_message_copy_content(struct http_message *copy, const struct h1_header *headers, size_t header_count,
			       const uint8_t *body, size_t body_kept)
{
	copy->headers = calloc(header_count + 1, sizeof(*copy->headers));
	if (!copy->headers)
		return false;
	for (size_t i = 0; i < header_count; i++) {
		copy->headers[i].name = copy_string(headers[i].name);
		copy->headers[i].value = copy_string(headers[i].value);
		copy->header_count++;
		if (!copy->headers[i].name || !copy->headers[i].value)
			return false;
	}

	if (body_kept) {
		copy->body = malloc(body_kept);
		if (!copy->body)
			return false;
		memcpy(copy->body, body, body_kept);
		copy->body_kept = body_kept;
	}
	return true;
}

/* Copies what later stages need from a parser message, which is valid only
 * during the parser's callback. Returns false when out of memory. */
static bool copy_message(struct http_message *copy, const struct h1_message *message, uint64_t time_ns)
{
	memset(copy, 0, sizeof(*copy));
	copy->method = copy_string(message->method);
	copy->target = copy_string(message->target);
	copy->status_code = message->status_code;
	copy->version_major = message->version_major;
	copy->version_minor = message->version_minor;
	copy->body_bytes = message->body_bytes;
	copy->time_ns = time_ns;
	copy->truncated = message->truncated;
	if (copy->method && copy->target &&
	    http_message_copy_content(copy, message->headers, message->header_count, message->body, message->body_kept))
		return true;

	http_message_clear(copy);
	return false;
}

void exchange_report(struct connection *connection, const struct http_message *request,
		     const struct http_message *response)
{
	struct stream *stream = connection->stream;
	struct http_exchange exchange = {
		.conn_id = connection->conn_id,
		.pid = connection->pid,
		.tid = connection->tid,
		.executable_path = stream_executable_path(stream, connection->pid),
		.thread_name = stream_thread_name(stream, connection->tid),
		.library = connection->library,
		.local = connection->local,
		.peer = connection->peer,
		.request = request,
		.response = response,
		.bytes_lost = connection->lost_unreported,
	};

	connection->lost_unreported = 0;
	stream->stats.requests++;
	if (!response)
		stream->stats.requests_without_response++;
	stream->on_exchange(stream->user, &exchange);
}

/* Unlinks and frees one queued request. */
void exchange_remove(struct connection *connection, struct pending_request *pending)
{
	struct pending_request **link = &connection->pending_head;
	struct pending_request *previous = NULL;

	while (*link && *link != pending) {
		previous = *link;
		link = &(*link)->next;
	}
	if (!*link)
		return;
	*link = pending->next;
	if (connection->pending_tail == pending)
		connection->pending_tail = previous;
	connection->pending_count--;
	http_message_clear(&pending->message);
	free(pending);
}

static void pop_pending(struct connection *connection)
{
	exchange_remove(connection, connection->pending_head);
}

/* Queues a request that waits for its response, taking over its memory.
 * When the queue is full, the oldest is reported without its response
 * rather than lost. Returns false when out of memory (message cleared). */
bool exchange_enqueue(struct connection *connection, struct http_message *request, uint32_t stream_id)
{
	struct stream *stream = connection->stream;
	struct pending_request *pending;

	if (connection->pending_count >= stream->options.max_pending_requests) {
		if (!connection->pending_head->reported)
			exchange_report(connection, &connection->pending_head->message, NULL);
		/* An HTTP/1 response to it is skipped when it comes, so that later
		 * responses still pair with their own requests. HTTP/2 pairs by
		 * stream and needs no skip. */
		if (connection->pending_head->stream_id == 0)
			connection->responses_to_skip++;
		pop_pending(connection);
		stream->stats.requests_dropped++;
	}

	pending = calloc(1, sizeof(*pending));
	if (!pending) {
		http_message_clear(request);
		return false;
	}
	pending->message = *request;
	pending->stream_id = stream_id;
	if (connection->pending_tail)
		connection->pending_tail->next = pending;
	else
		connection->pending_head = pending;
	connection->pending_tail = pending;
	connection->pending_count++;
	return true;
}

void exchange_on_request(struct connection *connection, const struct h1_message *message)
{
	struct stream *stream = connection->stream;
	struct http_message copy;

	if (!copy_message(&copy, message, connection->chunk_time_ns) || !exchange_enqueue(connection, &copy, 0)) {
		log_warn("out of memory: request on connection %llu not reported",
			 (unsigned long long)connection->conn_id);
		connection->responses_to_skip++;
		stream->stats.requests_dropped++;
	}
}

bool exchange_response_is_bodyless(struct connection *connection, const struct h1_message *response)
{
	const struct http_message *request;

	if (!connection->pending_head)
		return false;
	request = &connection->pending_head->message;
	if (strcasecmp(request->method, "HEAD") == 0)
		return true;
	return strcasecmp(request->method, "CONNECT") == 0 && response->status_code / 100 == 2;
}

void exchange_on_response(struct connection *connection, const struct h1_message *message)
{
	struct http_message response;
	struct pending_request *head = connection->pending_head;

	/* Interim responses (100 Continue, 103 Early Hints) precede the final
	 * one; 101 ends HTTP on this connection (RFC 9110, section 15.2). */
	if (message->status_code >= 100 && message->status_code < 200 && message->status_code != 101)
		return;

	if (connection->responses_to_skip) {
		connection->responses_to_skip--;
		return;
	}
	if (!head) {
		connection->stream->stats.responses_without_request++;
		return;
	}

	if (!head->reported) {
		if (copy_message(&response, message, connection->chunk_time_ns)) {
			exchange_report(connection, &head->message, &response);
			http_message_clear(&response);
		} else {
			exchange_report(connection, &head->message, NULL);
		}
	}
	pop_pending(connection);

	if (message->status_code == 101)
		connection->protocol = PROTOCOL_OPAQUE;
}

/* Reports, without a response, every request older than the timeout. They
 * stay queued so that a late response still pairs with the right request. */
void exchange_report_timeouts(struct connection *connection, uint64_t now_ns)
{
	uint64_t timeout = connection->stream->options.response_timeout_ns;

	for (struct pending_request *p = connection->pending_head; p; p = p->next) {
		if (p->reported || now_ns < p->message.time_ns + timeout)
			continue;
		exchange_report(connection, &p->message, NULL);
		p->reported = true;
	}
}

/* Reports every request still waiting, at the connection's end. */
void exchange_flush(struct connection *connection)
{
	while (connection->pending_head) {
		if (!connection->pending_head->reported)
			exchange_report(connection, &connection->pending_head->message, NULL);
		pop_pending(connection);
	}
	if (connection->lost_unreported) {
		connection->stream->stats.bytes_lost_unreported += connection->lost_unreported;
		connection->lost_unreported = 0;
	}
}

/*
 * Incremental HTTP/1.0 and HTTP/1.1 parser (RFC 9112), one per direction of a
 * connection; http1.h is its interface.
 *
 * Every decision is taken at a line feed or at a byte count that the stream
 * itself fixes, such as a body length or a size limit. No decision depends
 * on where a feed call ends, so the messages reported are the same however
 * the stream is split.
 *
 * The head buffer holds the start line and the field lines read so far in
 * compacted form (NUL-terminated strings), followed by the raw bytes of the
 * line being read. A compacted line is never longer than the raw line, so
 * the buffer never needs more than H1_MAX_HEAD_BYTES.
 *
 * A message can only start at the beginning of a line, so bytes that cannot
 * start one are skipped up to the next line feed. The first byte of the
 * stream and the first byte after a gap count as the beginning of a line,
 * because the parser cannot know what came before them.
 */
#include "http1.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes at the start of a candidate start line that are checked as they
 * arrive, so that garbage is recognised before its line feed. The rest of a
 * longer line is checked at its line feed. */
#define START_PREFIX_CHECK_BYTES 64

/* Maximum length of a method in a request line. The longest method that
 * RFC 7237 registers, UPDATEREDIRECTREF, has 17 bytes. */
#define METHOD_MAX_BYTES 32

/* Bytes of a chunk-size line before its extensions: hex digits, spaces and
 * the CR. A longer one is an invalid chunk size. */
#define CHUNK_SIZE_LINE_MAX_BYTES 64

/* The head buffer starts at this size and grows up to H1_MAX_HEAD_BYTES. */
#define HEAD_INITIAL_BYTES 1024

/* The body buffer starts at this size (or body_keep_bytes when smaller). */
#define BODY_INITIAL_BYTES 1024

/* An invalid chunk-size line is copied into the head buffer to be looked at
 * again as a start line. */
_Static_assert(HEAD_INITIAL_BYTES >= CHUNK_SIZE_LINE_MAX_BYTES, "head buffer too small for a chunk-size line");

enum parse_state {
	/* At the beginning of a line, looking for a start line. */
	STATE_START_LINE,
	/* Inside a line that cannot start a message, skipping to its end. */
	STATE_SKIP_LINE,
	/* After the start line, reading field lines up to the empty line. */
	STATE_FIELD_LINES,
	/* Body framed by Content-Length (RFC 9112 section 6.2). */
	STATE_BODY_LENGTH,
	/* Body that ends when the connection closes (RFC 9112 section 6.3). */
	STATE_BODY_CLOSE,
	/* Chunked transfer coding (RFC 9112 section 7.1). */
	STATE_CHUNK_SIZE,
	STATE_CHUNK_DATA,
	/* The CRLF after a chunk's data. */
	STATE_CHUNK_DATA_END,
	/* The trailer section after the last chunk, up to its empty line. */
	STATE_TRAILERS,
};

/* Position inside a chunk-size line. */
enum chunk_size_step {
	CHUNK_SIZE_DIGITS,
	CHUNK_SIZE_SPACE,
	CHUNK_SIZE_EXTENSION,
	CHUNK_SIZE_CR,
};

enum chunk_byte {
	CHUNK_BYTE_TAKEN,
	CHUNK_BYTE_LINE_END,
	CHUNK_BYTE_INVALID,
};

enum body_framing {
	BODY_NONE,
	BODY_LENGTH,
	BODY_CHUNKED,
	BODY_CLOSE,
	BODY_INVALID,
};

enum scan_result {
	SCAN_INVALID,
	/* A valid prefix of a start line, not complete yet. */
	SCAN_PARTIAL,
	SCAN_VALID,
};

/* Positions of the parts of a start line, as byte offsets in the line. */
struct start_line {
	size_t method_bytes;
	size_t target_at;
	size_t target_bytes;
	size_t reason_at;
	size_t reason_bytes;
	int version_minor;
	int status_code;
};

/* Offsets of a field's name and value in the head buffer. */
struct field_span {
	size_t name_at;
	size_t value_at;
};

struct h1_parser {
	enum h1_kind kind;
	struct h1_parser_ops ops;
	void *user;
	size_t body_keep_bytes;

	enum parse_state state;
	/* Stream offset of the next byte fed. */
	uint64_t offset;
	/* An allocation failed during the current h1_parser_feed call. */
	bool out_of_memory;

	/* Garbage skipped and not reported yet. garbage_bytes is 0 when none. */
	uint64_t garbage_offset;
	uint64_t garbage_bytes;

	char *head;
	size_t head_capacity;
	/* Bytes of compacted start line and fields at the start of head. */
	size_t head_used;
	/* Raw bytes of the complete lines of the head, for H1_MAX_HEAD_BYTES. */
	size_t head_raw_bytes;
	/* Raw bytes of the line being read, stored at head + head_used. */
	size_t line_bytes;
	/* Stream offset of the first byte of the line being read. */
	uint64_t line_offset;

	struct field_span *spans;
	/* As many entries as spans, filled in from spans for each message. */
	struct h1_header *headers;
	size_t field_count;
	size_t field_capacity;

	struct h1_message message;
	size_t method_at;
	size_t target_at;
	size_t reason_at;

	/* Body bytes left in a Content-Length body or in the current chunk. */
	uint64_t body_remaining;
	uint8_t *body;
	size_t body_capacity;
	/* How many body bytes this message may keep: body_keep_bytes, lowered
	 * after a gap or a failed allocation so that the kept bytes stay an
	 * exact prefix of the body. */
	size_t body_keep_limit;

	enum chunk_size_step chunk_step;
	uint64_t chunk_size;
	bool chunk_has_digit;
	uint64_t chunk_line_offset;
	/* The chunk-size line up to its extensions, kept so that it can be
	 * looked at again as a start line when it is invalid. */
	uint8_t chunk_line[CHUNK_SIZE_LINE_MAX_BYTES];
	size_t chunk_line_bytes;
	uint64_t chunk_extension_bytes;
	bool chunk_end_cr;

	uint64_t trailer_bytes;
	uint64_t trailer_line_bytes;
	bool trailer_line_cr;
};

/* ---- characters ---- */

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_upper(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* tchar (RFC 9110 section 5.6.2). */
static bool is_token_char(uint8_t c)
{
	if (is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Characters of a field value or a reason phrase: VCHAR, SP, HTAB and
 * obs-text (RFC 9110 section 5.5, RFC 9112 section 4). */
static bool is_text_char(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Any visible byte. obs-text is accepted in a request target too, because
 * some clients send UTF-8 unencoded. */
static bool is_target_char(uint8_t c)
{
	return c > 0x20 && c != 0x7f;
}

static int hex_value(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Returns the length of a line without its LF and the CR before it.
 * raw_bytes includes the LF. */
static size_t line_content_bytes(const uint8_t *line, size_t raw_bytes)
{
	size_t bytes = raw_bytes - 1;

	if (bytes > 0 && line[bytes - 1] == '\r')
		bytes--;
	return bytes;
}

/* ---- start lines ---- */

static enum scan_result out_of_input(bool complete)
{
	return complete ? SCAN_INVALID : SCAN_PARTIAL;
}

/* Scans HTTP-version (RFC 9112 section 2.3) with major version 1. */
static enum scan_result scan_version(const uint8_t *s, size_t length, bool complete, size_t *at, int *minor)
{
	static const char name[] = "HTTP/1.";
	size_t i;

	for (i = 0; name[i] != '\0'; i++, (*at)++) {
		if (*at == length)
			return out_of_input(complete);
		if (s[*at] != (uint8_t)name[i])
			return SCAN_INVALID;
	}

	if (*at == length)
		return out_of_input(complete);
	if (!is_digit(s[*at]))
		return SCAN_INVALID;
	*minor = s[*at] - '0';
	(*at)++;
	return SCAN_VALID;
}

/*
 * Scans request-line = method SP request-target SP HTTP-version (RFC 9112
 * section 3), without its line ending. The grammar allows any token as a
 * method, but this parser takes only an uppercase letter followed by
 * uppercase letters, '-' and '_', as every registered method is. Lowercase
 * text at the start of a line is far more likely garbage than a method.
 */
static enum scan_result scan_request_line(const uint8_t *s, size_t length, bool complete,
					  struct start_line *line)
{
	enum scan_result result;
	size_t at = 0;

	while (at < length && at <= METHOD_MAX_BYTES &&
	       (is_upper(s[at]) || (at > 0 && (s[at] == '-' || s[at] == '_'))))
		at++;
	if (at > METHOD_MAX_BYTES)
		return SCAN_INVALID;
	if (at == length)
		return out_of_input(complete);
	if (at == 0 || s[at] != ' ')
		return SCAN_INVALID;
	line->method_bytes = at++;

	line->target_at = at;
	while (at < length && is_target_char(s[at]))
		at++;
	if (at == length)
		return out_of_input(complete);
	if (at == line->target_at || s[at] != ' ')
		return SCAN_INVALID;
	line->target_bytes = at - line->target_at;
	at++;

	result = scan_version(s, length, complete, &at, &line->version_minor);
	if (result != SCAN_VALID)
		return result;
	if (at < length)
		return SCAN_INVALID;
	return complete ? SCAN_VALID : SCAN_PARTIAL;
}

/*
 * Scans status-line = HTTP-version SP status-code SP [ reason-phrase ]
 * (RFC 9112 section 4), without its line ending. Servers must send the SP
 * before an empty reason, but a line without it is still unambiguous, so it
 * is accepted. Codes 100 to 999 are accepted: RFC 9110 section 15 defines
 * only 100 to 599, but some servers send others, LinkedIn's 999 for example.
 */
static enum scan_result scan_status_line(const uint8_t *s, size_t length, bool complete,
					 struct start_line *line)
{
	enum scan_result result;
	size_t at = 0;
	int i;

	result = scan_version(s, length, complete, &at, &line->version_minor);
	if (result != SCAN_VALID)
		return result;
	if (at == length)
		return out_of_input(complete);
	if (s[at] != ' ')
		return SCAN_INVALID;
	at++;

	line->status_code = 0;
	for (i = 0; i < 3; i++, at++) {
		if (at == length)
			return out_of_input(complete);
		if (!is_digit(s[at]) || (i == 0 && s[at] == '0'))
			return SCAN_INVALID;
		line->status_code = line->status_code * 10 + (s[at] - '0');
	}

	line->reason_at = at;
	line->reason_bytes = 0;
	if (at < length) {
		if (s[at] != ' ')
			return SCAN_INVALID;
		line->reason_at = ++at;
		while (at < length && is_text_char(s[at]))
			at++;
		if (at < length)
			return SCAN_INVALID;
		line->reason_bytes = at - line->reason_at;
	}
	return complete ? SCAN_VALID : SCAN_PARTIAL;
}

/* Scans a start line without its line ending. When complete is false, the
 * line may continue and SCAN_PARTIAL means that it still can become valid. */
static enum scan_result scan_start_line(enum h1_kind kind, const uint8_t *s, size_t length, bool complete,
					struct start_line *line)
{
	if (kind == H1_REQUEST)
		return scan_request_line(s, length, complete, line);
	return scan_status_line(s, length, complete, line);
}

/* Scans the beginning of a line whose LF has not arrived. A last CR may be
 * the first half of CRLF, so it is left out. */
static enum scan_result scan_start_prefix(enum h1_kind kind, const uint8_t *s, size_t length)
{
	struct start_line line;

	if (length > 0 && s[length - 1] == '\r')
		length--;
	return scan_start_line(kind, s, length, false, &line);
}

/*
 * The data must begin with the start line itself. When it contains a line
 * feed, the first line decides. Otherwise the result is true while the bytes
 * are a valid prefix of a start line, so a very short input (such as "H"
 * for a response) gives true. Callers that need a firm result should pass
 * a whole line.
 */
bool h1_looks_like_start(enum h1_kind kind, const uint8_t *data, size_t length)
{
	struct start_line line;
	const uint8_t *lf;
	size_t content;

	if (!data || length == 0)
		return false;

	lf = memchr(data, '\n', length);
	if (lf) {
		content = line_content_bytes(data, (size_t)(lf - data) + 1);
		return scan_start_line(kind, data, content, true, &line) == SCAN_VALID;
	}

	if (length == 1 && data[0] == '\r')
		return false;
	return scan_start_prefix(kind, data, length) == SCAN_PARTIAL;
}

/* ---- garbage ---- */

static void garbage_flush(struct h1_parser *parser)
{
	if (parser->garbage_bytes == 0)
		return;
	if (parser->ops.on_garbage)
		parser->ops.on_garbage(parser->user, parser->garbage_offset, parser->garbage_bytes);
	parser->garbage_bytes = 0;
}

/* Adds skipped bytes to the garbage run. Contiguous runs are reported as one. */
static void garbage_add(struct h1_parser *parser, uint64_t offset, uint64_t bytes)
{
	if (bytes == 0)
		return;
	if (parser->garbage_bytes > 0 && parser->garbage_offset + parser->garbage_bytes != offset)
		garbage_flush(parser);
	if (parser->garbage_bytes == 0)
		parser->garbage_offset = offset;
	parser->garbage_bytes += bytes;
}

/* ---- buffers ---- */

static bool head_reserve(struct h1_parser *parser, size_t bytes)
{
	size_t capacity = parser->head_capacity;
	char *head;

	if (bytes <= capacity)
		return true;
	if (bytes > H1_MAX_HEAD_BYTES)
		return false;

	while (capacity < bytes)
		capacity *= 2;
	if (capacity > H1_MAX_HEAD_BYTES)
		capacity = H1_MAX_HEAD_BYTES;

	head = realloc(parser->head, capacity);
	if (!head) {
		parser->out_of_memory = true;
		return false;
	}
	parser->head = head;
	parser->head_capacity = capacity;
	return true;
}

static bool fields_reserve(struct h1_parser *parser, size_t count)
{
	size_t capacity = parser->field_capacity ? parser->field_capacity * 2 : 16;
	struct field_span *spans;
	struct h1_header *headers;

	if (count <= parser->field_capacity)
		return true;

	/* Both arrays keep at least field_capacity entries if one fails. */
	spans = realloc(parser->spans, capacity * sizeof(*spans));
	if (!spans)
		goto fail;
	parser->spans = spans;
	headers = realloc(parser->headers, capacity * sizeof(*headers));
	if (!headers)
		goto fail;
	parser->headers = headers;
	parser->field_capacity = capacity;
	return true;

fail:
	parser->out_of_memory = true;
	return false;
}

static bool body_reserve(struct h1_parser *parser, size_t bytes)
{
	size_t capacity = parser->body_capacity;
	uint8_t *body;

	if (bytes <= capacity)
		return true;

	if (capacity == 0)
		capacity = BODY_INITIAL_BYTES;
	while (capacity < bytes)
		capacity *= 2;
	if (capacity > parser->body_keep_bytes)
		capacity = parser->body_keep_bytes;

	body = realloc(parser->body, capacity);
	if (!body) {
		parser->out_of_memory = true;
		return false;
	}
	parser->body = body;
	parser->body_capacity = capacity;
	return true;
}

/* ---- messages ---- */

static void message_reset(struct h1_parser *parser)
{
	memset(&parser->message, 0, sizeof(parser->message));
	parser->message.kind = parser->kind;
	parser->head_used = 0;
	parser->head_raw_bytes = 0;
	parser->line_bytes = 0;
	parser->field_count = 0;
	parser->body_remaining = 0;
	parser->body_keep_limit = parser->body_keep_bytes;
	parser->state = STATE_START_LINE;
}

/* Points the message's strings into the head buffer, which does not move
 * again until the message is reset. */
static void message_bind(struct h1_parser *parser)
{
	struct h1_message *message = &parser->message;
	size_t i;

	if (parser->kind == H1_REQUEST) {
		message->method = parser->head + parser->method_at;
		message->target = parser->head + parser->target_at;
	} else {
		message->reason = parser->head + parser->reason_at;
	}

	for (i = 0; i < parser->field_count; i++) {
		parser->headers[i].name = parser->head + parser->spans[i].name_at;
		parser->headers[i].value = parser->head + parser->spans[i].value_at;
	}
	message->headers = parser->field_count > 0 ? parser->headers : NULL;
	message->header_count = parser->field_count;
	message->body = message->body_kept > 0 ? parser->body : NULL;
}

/* Reports the message in progress and gets ready for the next one. */
static void message_report(struct h1_parser *parser, uint64_t end_offset, bool truncated)
{
	message_bind(parser);
	parser->message.end_offset = end_offset;
	parser->message.truncated = truncated;
	if (parser->ops.on_message)
		parser->ops.on_message(parser->user, &parser->message);
	message_reset(parser);
}

static void body_append(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	struct h1_message *message = &parser->message;
	size_t keep;

	message->body_bytes += length;
	if (message->body_kept >= parser->body_keep_limit)
		return;

	keep = parser->body_keep_limit - message->body_kept;
	if (keep > length)
		keep = length;
	if (!body_reserve(parser, message->body_kept + keep)) {
		parser->body_keep_limit = message->body_kept;
		return;
	}
	memcpy(parser->body + message->body_kept, data, keep);
	message->body_kept += keep;
}

/* Counts lost bytes inside a body of known length. The body kept so far
 * stops growing, because it must stay an exact prefix of the body. */
static void body_lose(struct h1_parser *parser, uint64_t bytes)
{
	parser->message.body_bytes += bytes;
	parser->message.lost_bytes += bytes;
	parser->body_keep_limit = parser->message.body_kept;
	parser->offset += bytes;
}

/* ---- header fields ---- */

/* Returns the value of the next header named `name` at or after *index. */
static const char *header_next(const struct h1_message *message, const char *name, size_t *index)
{
	for (; *index < message->header_count; (*index)++) {
		if (strcasecmp(message->headers[*index].name, name) == 0)
			return message->headers[(*index)++].value;
	}
	return NULL;
}

/* Returns the next non-empty element of a comma-separated list (RFC 9110
 * section 5.6.1) without surrounding whitespace, or false at its end. */
static bool list_next(const char **cursor, const char **element, size_t *bytes)
{
	const char *p = *cursor;
	const char *end;

	while (*p == ',' || is_space((uint8_t)*p))
		p++;
	if (*p == '\0') {
		*cursor = p;
		return false;
	}

	*element = p;
	while (*p != '\0' && *p != ',')
		p++;
	end = p;
	while (end > *element && is_space((uint8_t)end[-1]))
		end--;
	*bytes = (size_t)(end - *element);
	*cursor = p;
	return true;
}

static bool connection_has_option(const struct h1_message *message, const char *option)
{
	size_t option_bytes = strlen(option);
	const char *value;
	size_t index = 0;

	while ((value = header_next(message, "Connection", &index))) {
		const char *element;
		size_t bytes;

		while (list_next(&value, &element, &bytes)) {
			if (bytes == option_bytes && strncasecmp(element, option, bytes) == 0)
				return true;
		}
	}
	return false;
}

/* Whether the connection persists after this message, from its version and
 * Connection options (RFC 9112 section 9.3). */
static bool message_keep_alive(const struct h1_message *message)
{
	if (connection_has_option(message, "close"))
		return false;
	if (message->version_minor >= 1)
		return true;
	return connection_has_option(message, "keep-alive");
}

static int parse_decimal(const char *text, size_t bytes, uint64_t *value)
{
	uint64_t result = 0;
	size_t i;

	if (bytes == 0)
		return -EINVAL;
	for (i = 0; i < bytes; i++) {
		unsigned int digit;

		if (!is_digit((uint8_t)text[i]))
			return -EINVAL;
		digit = (unsigned int)(text[i] - '0');
		if (result > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		result = result * 10 + digit;
	}
	*value = result;
	return 0;
}

/*
 * Reads Content-Length (RFC 9112 section 6.3 items 5 and 6). Several values,
 * as a list in one field line or in several lines, are accepted when they
 * are all equal. Returns 1 and sets *length when present, 0 when absent,
 * -EINVAL when invalid.
 */
static int content_length(const struct h1_message *message, uint64_t *length)
{
	bool found = false;
	const char *value;
	size_t index = 0;

	while ((value = header_next(message, "Content-Length", &index))) {
		const char *element;
		size_t bytes;
		size_t elements = 0;

		while (list_next(&value, &element, &bytes)) {
			uint64_t number;

			if (parse_decimal(element, bytes, &number) < 0)
				return -EINVAL;
			if (found && number != *length)
				return -EINVAL;
			*length = number;
			found = true;
			elements++;
		}
		if (elements == 0)
			return -EINVAL;
	}
	return found ? 1 : 0;
}

/* Returns whether Transfer-Encoding is present, and sets *chunked when
 * chunked is its final coding. */
static bool transfer_encoding(const struct h1_message *message, bool *chunked)
{
	bool present = false;
	const char *value;
	size_t index = 0;

	*chunked = false;
	while ((value = header_next(message, "Transfer-Encoding", &index))) {
		const char *element;
		size_t bytes;

		present = true;
		while (list_next(&value, &element, &bytes)) {
			size_t name_bytes = 0;

			/* A coding may carry parameters after ';'. */
			while (name_bytes < bytes && is_token_char((uint8_t)element[name_bytes]))
				name_bytes++;
			*chunked = name_bytes == 7 && strncasecmp(element, "chunked", 7) == 0;
		}
	}
	return present;
}

/* Decides how the body of a message is framed (RFC 9112 section 6.3). */
static enum body_framing body_framing(const struct h1_message *message, bool bodyless, uint64_t *length)
{
	bool chunked;
	int found;

	if (bodyless)
		return BODY_NONE;

	if (transfer_encoding(message, &chunked)) {
		/* HTTP/1.0 has no transfer codings, so RFC 9112 section 6.1
		 * calls such a message's framing faulty. */
		if (message->version_minor == 0)
			return BODY_INVALID;
		if (chunked)
			return BODY_CHUNKED;
		/* A request must end with chunked; a response that does not
		 * ends at close (item 4). */
		return message->kind == H1_RESPONSE ? BODY_CLOSE : BODY_INVALID;
	}

	found = content_length(message, length);
	if (found < 0)
		return BODY_INVALID;
	if (found > 0)
		return BODY_LENGTH;

	/* Items 7 and 8: a request without either has no body, a response
	 * ends at close. */
	return message->kind == H1_REQUEST ? BODY_NONE : BODY_CLOSE;
}

/* 1xx, 204 and 304 responses end at their head (RFC 9112 section 6.3 item
 * 1), and the callback adds answers to HEAD and CONNECT. The callback runs
 * for every response, in order, so a caller can track which request each
 * one answers. */
static bool response_is_bodyless(struct h1_parser *parser)
{
	const struct h1_message *message = &parser->message;
	int status = message->status_code;
	bool bodyless = false;

	if (parser->ops.response_is_bodyless)
		bodyless = parser->ops.response_is_bodyless(parser->user, message);
	return bodyless || (status >= 100 && status < 200) || status == 204 || status == 304;
}

/* ---- chunked transfer coding ---- */

static void chunk_size_begin(struct h1_parser *parser)
{
	parser->state = STATE_CHUNK_SIZE;
	parser->chunk_step = CHUNK_SIZE_DIGITS;
	parser->chunk_size = 0;
	parser->chunk_has_digit = false;
	parser->chunk_line_offset = parser->offset;
	parser->chunk_line_bytes = 0;
	parser->chunk_extension_bytes = 0;
}

/* ---- the head ---- */

/* Decides the body's framing once the empty line has ended the head. */
static void head_complete(struct h1_parser *parser)
{
	struct h1_message *message = &parser->message;
	bool bodyless = false;
	uint64_t length = 0;

	message_bind(parser);
	message->keep_alive = message_keep_alive(message);
	if (parser->kind == H1_RESPONSE)
		bodyless = response_is_bodyless(parser);

	switch (body_framing(message, bodyless, &length)) {
	case BODY_NONE:
		message_report(parser, parser->offset, false);
		break;
	case BODY_INVALID:
		/* The body's end is unknown, so what follows is scanned
		 * for the next start line. */
		message_report(parser, parser->offset, true);
		break;
	case BODY_LENGTH:
		if (length == 0) {
			message_report(parser, parser->offset, false);
			break;
		}
		parser->body_remaining = length;
		parser->state = STATE_BODY_LENGTH;
		break;
	case BODY_CHUNKED:
		message->chunked = true;
		chunk_size_begin(parser);
		break;
	case BODY_CLOSE:
		/* Only self-delimited messages let a connection persist
		 * (RFC 9112 section 9.3). */
		message->keep_alive = false;
		parser->state = STATE_BODY_CLOSE;
		break;
	}
}

/* Reports a message whose head a gap or the stream's end cut short, with
 * the start line and the field lines read so far. */
static void head_report_truncated(struct h1_parser *parser)
{
	message_bind(parser);
	parser->message.keep_alive = message_keep_alive(&parser->message);
	message_report(parser, parser->offset, true);
}

/* Drops the head read so far as garbage, because it is too large or memory
 * ran out. */
static void head_to_garbage(struct h1_parser *parser, bool line_ended)
{
	uint64_t start = parser->message.start_offset;

	garbage_add(parser, start, parser->offset - start);
	message_reset(parser);
	parser->state = line_ended ? STATE_START_LINE : STATE_SKIP_LINE;
}

/* Starts a message at the start line in head[0, line_bytes), compacting it
 * to "method\0target\0" or "reason\0". */
static void message_begin(struct h1_parser *parser, const struct start_line *line)
{
	struct h1_message *message = &parser->message;
	char *head = parser->head;

	garbage_flush(parser);
	message->start_offset = parser->line_offset;
	message->version_major = 1;
	message->version_minor = line->version_minor;

	if (parser->kind == H1_REQUEST) {
		head[line->method_bytes] = '\0';
		head[line->target_at + line->target_bytes] = '\0';
		parser->method_at = 0;
		parser->target_at = line->target_at;
		parser->head_used = line->target_at + line->target_bytes + 1;
	} else {
		message->status_code = line->status_code;
		memmove(head, head + line->reason_at, line->reason_bytes);
		head[line->reason_bytes] = '\0';
		parser->reason_at = 0;
		parser->head_used = line->reason_bytes + 1;
	}

	parser->head_raw_bytes = parser->line_bytes;
	parser->line_bytes = 0;
	parser->state = STATE_FIELD_LINES;
}

/* Drops the line being read as garbage. */
static void line_to_garbage(struct h1_parser *parser, bool line_ended)
{
	garbage_add(parser, parser->line_offset, parser->line_bytes);
	parser->line_bytes = 0;
	parser->state = line_ended ? STATE_START_LINE : STATE_SKIP_LINE;
}

/* Handles a complete line in head[0, line_bytes) while looking for a start
 * line. */
static void start_line_complete(struct h1_parser *parser)
{
	const uint8_t *line = (const uint8_t *)parser->head;
	size_t content = line_content_bytes(line, parser->line_bytes);
	struct start_line start;

	/* RFC 9112 section 2.2 lets a server ignore empty lines before a
	 * request line, and this parser does the same before status lines.
	 * Inside a garbage run they are garbage too. */
	if (content == 0) {
		if (parser->garbage_bytes > 0)
			line_to_garbage(parser, true);
		parser->line_bytes = 0;
		return;
	}

	if (scan_start_line(parser->kind, line, content, true, &start) != SCAN_VALID) {
		line_to_garbage(parser, true);
		return;
	}
	message_begin(parser, &start);
}

/* Drops the line being read as soon as it can no longer become a start
 * line, so that garbage is not stored. */
static void start_line_check_prefix(struct h1_parser *parser)
{
	size_t bytes = parser->line_bytes;

	if (bytes > START_PREFIX_CHECK_BYTES)
		bytes = START_PREFIX_CHECK_BYTES;
	if (scan_start_prefix(parser->kind, (const uint8_t *)parser->head, bytes) == SCAN_INVALID)
		line_to_garbage(parser, false);
}

static size_t start_line_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	size_t room = H1_MAX_HEAD_BYTES - parser->line_bytes;
	size_t checked = parser->line_bytes;
	const uint8_t *lf;
	size_t take;

	/* A start line this long leaves no room for the rest of a head. */
	if (room == 0) {
		line_to_garbage(parser, false);
		return 0;
	}

	lf = memchr(data, '\n', length);
	take = lf ? (size_t)(lf - data) + 1 : length;
	if (take > room) {
		take = room;
		lf = NULL;
	}

	if (parser->line_bytes == 0)
		parser->line_offset = parser->offset;
	parser->offset += take;
	if (!head_reserve(parser, parser->line_bytes + take)) {
		parser->line_bytes += take;
		line_to_garbage(parser, lf != NULL);
		return take;
	}
	memcpy(parser->head + parser->line_bytes, data, take);
	parser->line_bytes += take;

	if (lf)
		start_line_complete(parser);
	else if (checked < START_PREFIX_CHECK_BYTES)
		start_line_check_prefix(parser);
	return take;
}

static size_t skip_line_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	const uint8_t *lf = memchr(data, '\n', length);
	size_t take = lf ? (size_t)(lf - data) + 1 : length;

	garbage_add(parser, parser->offset, take);
	parser->offset += take;
	if (lf)
		parser->state = STATE_START_LINE;
	return take;
}

/*
 * Adds field-line = field-name ":" OWS field-value OWS (RFC 9112 section 5),
 * compacted in place to "name\0value\0". Whitespace before the colon makes
 * the line invalid (RFC 9112 section 5.1), and so does a control character
 * in the value, a bare CR included (RFC 9112 section 2.2).
 */
static int field_line_add(struct h1_parser *parser, uint8_t *line, size_t content)
{
	size_t name_bytes = 0;
	size_t value_at;
	size_t value_end;
	size_t value_bytes;
	size_t i;

	while (name_bytes < content && is_token_char(line[name_bytes]))
		name_bytes++;
	if (name_bytes == 0 || name_bytes == content || line[name_bytes] != ':')
		return -EINVAL;

	value_at = name_bytes + 1;
	value_end = content;
	while (value_at < value_end && is_space(line[value_at]))
		value_at++;
	while (value_end > value_at && is_space(line[value_end - 1]))
		value_end--;
	for (i = value_at; i < value_end; i++) {
		if (!is_text_char(line[i]))
			return -EINVAL;
	}

	if (!fields_reserve(parser, parser->field_count + 1))
		return -ENOMEM;

	value_bytes = value_end - value_at;
	line[name_bytes] = '\0';
	memmove(line + name_bytes + 1, line + value_at, value_bytes);
	line[name_bytes + 1 + value_bytes] = '\0';

	parser->spans[parser->field_count].name_at = parser->head_used;
	parser->spans[parser->field_count].value_at = parser->head_used + name_bytes + 1;
	parser->field_count++;
	parser->head_used += name_bytes + 1 + value_bytes + 1;
	return 0;
}

/*
 * Joins an obs-fold continuation line to the previous field value with one
 * SP, as RFC 9112 section 5.2 allows. Such a line before the first field
 * line is dropped (RFC 9112 section 2.2).
 */
static int field_line_fold(struct h1_parser *parser, uint8_t *line, size_t content)
{
	size_t start = 0;
	size_t end = content;
	char *value_end;
	size_t i;

	if (parser->field_count == 0)
		return 0;

	while (start < end && is_space(line[start]))
		start++;
	while (end > start && is_space(line[end - 1]))
		end--;
	for (i = start; i < end; i++) {
		if (!is_text_char(line[i]))
			return -EINVAL;
	}
	if (start == end)
		return 0;

	/* head[head_used - 1] is the NUL after the previous value. The line
	 * starts at head + head_used with at least one space, so the text
	 * moved left never overruns the line. */
	value_end = parser->head + parser->head_used - 1;
	if (parser->spans[parser->field_count - 1].value_at < parser->head_used - 1)
		*value_end++ = ' ';
	memmove(value_end, line + start, end - start);
	value_end[end - start] = '\0';
	parser->head_used = (size_t)(value_end - parser->head) + (end - start) + 1;
	return 0;
}

/*
 * Handles a line that is not a field line. The head so far is garbage, and
 * the line may start the next message, for example when the rest of the
 * previous head was lost and no gap was reported.
 */
static void field_line_invalid(struct h1_parser *parser)
{
	uint64_t start = parser->message.start_offset;
	uint64_t line_offset = parser->line_offset;
	size_t bytes = parser->line_bytes;

	garbage_add(parser, start, line_offset - start);
	memmove(parser->head, parser->head + parser->head_used, bytes);
	message_reset(parser);
	parser->line_bytes = bytes;
	parser->line_offset = line_offset;
	start_line_complete(parser);
}

static void field_line_complete(struct h1_parser *parser)
{
	uint8_t *line = (uint8_t *)parser->head + parser->head_used;
	size_t content = line_content_bytes(line, parser->line_bytes);
	int err;

	parser->head_raw_bytes += parser->line_bytes;
	if (content == 0) {
		parser->line_bytes = 0;
		head_complete(parser);
		return;
	}

	if (is_space(line[0]))
		err = field_line_fold(parser, line, content);
	else
		err = field_line_add(parser, line, content);

	if (err == -ENOMEM) {
		head_to_garbage(parser, true);
		return;
	}
	if (err < 0) {
		field_line_invalid(parser);
		return;
	}
	parser->line_bytes = 0;
}

static size_t field_lines_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	size_t room = H1_MAX_HEAD_BYTES - parser->head_raw_bytes - parser->line_bytes;
	const uint8_t *lf;
	size_t take;

	if (room == 0) {
		head_to_garbage(parser, parser->line_bytes == 0);
		return 0;
	}

	lf = memchr(data, '\n', length);
	take = lf ? (size_t)(lf - data) + 1 : length;
	if (take > room) {
		take = room;
		lf = NULL;
	}

	if (parser->line_bytes == 0)
		parser->line_offset = parser->offset;
	parser->offset += take;
	if (!head_reserve(parser, parser->head_used + parser->line_bytes + take)) {
		head_to_garbage(parser, lf != NULL);
		return take;
	}
	memcpy(parser->head + parser->head_used + parser->line_bytes, data, take);
	parser->line_bytes += take;

	if (lf)
		field_line_complete(parser);
	return take;
}

/* ---- bodies ---- */

static size_t body_length_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	size_t take = length;

	if (take > parser->body_remaining)
		take = (size_t)parser->body_remaining;
	body_append(parser, data, take);
	parser->body_remaining -= take;
	parser->offset += take;

	if (parser->body_remaining == 0)
		message_report(parser, parser->offset, false);
	return take;
}

static size_t body_close_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	body_append(parser, data, length);
	parser->offset += length;
	return length;
}

/*
 * Ends a chunked message whose chunk-size line is invalid. The message is
 * reported truncated where that line starts. The line is then looked at
 * again as a start line, because the next message starts there when the
 * body ended early.
 */
static void chunk_size_invalid(struct h1_parser *parser)
{
	uint64_t line_offset = parser->chunk_line_offset;
	size_t bytes = parser->chunk_line_bytes;

	message_report(parser, line_offset, true);
	memcpy(parser->head, parser->chunk_line, bytes);
	parser->line_bytes = bytes;
	parser->line_offset = line_offset;
	if (bytes > 0)
		start_line_check_prefix(parser);
}

static void chunk_size_line_end(struct h1_parser *parser)
{
	if (parser->chunk_size == 0) {
		parser->state = STATE_TRAILERS;
		parser->trailer_bytes = 0;
		parser->trailer_line_bytes = 0;
		return;
	}
	parser->body_remaining = parser->chunk_size;
	parser->state = STATE_CHUNK_DATA;
}

/*
 * Takes one byte of chunk-size [ chunk-ext ] CRLF (RFC 9112 section 7.1)
 * before the extensions. Spaces after the size are accepted even without a
 * ';' after them, which the grammar does not allow.
 */
static enum chunk_byte chunk_size_byte(struct h1_parser *parser, uint8_t c)
{
	int digit = hex_value(c);

	if (parser->chunk_line_bytes == CHUNK_SIZE_LINE_MAX_BYTES)
		return CHUNK_BYTE_INVALID;

	switch (parser->chunk_step) {
	case CHUNK_SIZE_DIGITS:
		if (digit >= 0) {
			if (parser->chunk_size > UINT64_MAX >> 4)
				return CHUNK_BYTE_INVALID;
			parser->chunk_size = parser->chunk_size << 4 | (uint64_t)digit;
			parser->chunk_has_digit = true;
			break;
		}
		if (!parser->chunk_has_digit)
			return CHUNK_BYTE_INVALID;
		__attribute__((fallthrough));
	case CHUNK_SIZE_SPACE:
		if (is_space(c))
			parser->chunk_step = CHUNK_SIZE_SPACE;
		else if (c == ';')
			parser->chunk_step = CHUNK_SIZE_EXTENSION;
		else if (c == '\r')
			parser->chunk_step = CHUNK_SIZE_CR;
		else if (c == '\n')
			return CHUNK_BYTE_LINE_END;
		else
			return CHUNK_BYTE_INVALID;
		break;
	case CHUNK_SIZE_CR:
		return c == '\n' ? CHUNK_BYTE_LINE_END : CHUNK_BYTE_INVALID;
	case CHUNK_SIZE_EXTENSION:
		break;
	}

	parser->chunk_line[parser->chunk_line_bytes++] = c;
	return CHUNK_BYTE_TAKEN;
}

/* Skips chunk extensions to the end of the line: nothing downstream uses
 * them. They are limited to H1_MAX_HEAD_BYTES like a head. */
static size_t chunk_extension_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	uint64_t room = H1_MAX_HEAD_BYTES - parser->chunk_extension_bytes;
	const uint8_t *lf;
	size_t take;

	if (room == 0) {
		uint64_t line_offset = parser->chunk_line_offset;

		message_report(parser, line_offset, true);
		garbage_add(parser, line_offset, parser->offset - line_offset);
		parser->state = STATE_SKIP_LINE;
		return 0;
	}

	lf = memchr(data, '\n', length);
	take = lf ? (size_t)(lf - data) + 1 : length;
	if (take > room) {
		take = (size_t)room;
		lf = NULL;
	}
	parser->chunk_extension_bytes += take;
	parser->offset += take;
	if (lf)
		chunk_size_line_end(parser);
	return take;
}

static size_t chunk_size_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	size_t used;

	if (parser->chunk_step == CHUNK_SIZE_EXTENSION)
		return chunk_extension_feed(parser, data, length);

	for (used = 0; used < length; used++) {
		enum chunk_byte result = chunk_size_byte(parser, data[used]);

		if (result == CHUNK_BYTE_INVALID) {
			chunk_size_invalid(parser);
			return used;
		}
		parser->offset++;
		if (result == CHUNK_BYTE_LINE_END) {
			chunk_size_line_end(parser);
			return used + 1;
		}
		if (parser->chunk_step == CHUNK_SIZE_EXTENSION)
			return used + 1;
	}
	return used;
}

static size_t chunk_data_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	size_t take = length;

	if (take > parser->body_remaining)
		take = (size_t)parser->body_remaining;
	body_append(parser, data, take);
	parser->body_remaining -= take;
	parser->offset += take;

	if (parser->body_remaining == 0) {
		parser->state = STATE_CHUNK_DATA_END;
		parser->chunk_end_cr = false;
	}
	return take;
}

static size_t chunk_data_end_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	if (data[0] == '\n') {
		parser->offset++;
		chunk_size_begin(parser);
		return 1;
	}
	if (data[0] == '\r' && !parser->chunk_end_cr) {
		parser->chunk_end_cr = true;
		parser->offset++;
		return 1;
	}

	/* The chunk's data did not end where its chunk size declared. The
	 * message is truncated here, and the next one may start at this byte. */
	message_report(parser, parser->offset, true);
	return 0;
}

/*
 * Skips the trailer section up to its empty line (RFC 9112 section 7.1.2).
 * Trailer fields are not reported, because h1_message has no place for
 * them. The section is limited to H1_MAX_HEAD_BYTES like a head.
 */
static size_t trailers_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	uint64_t room = H1_MAX_HEAD_BYTES - parser->trailer_bytes;
	const uint8_t *lf;
	size_t take;
	bool empty;

	if (room == 0) {
		bool line_ended = parser->trailer_line_bytes == 0;

		message_report(parser, parser->offset, true);
		parser->state = line_ended ? STATE_START_LINE : STATE_SKIP_LINE;
		return 0;
	}

	lf = memchr(data, '\n', length);
	take = lf ? (size_t)(lf - data) + 1 : length;
	if (take > room) {
		take = (size_t)room;
		lf = NULL;
	}

	if (parser->trailer_line_bytes == 0)
		parser->trailer_line_cr = data[0] == '\r';
	parser->trailer_line_bytes += take;
	parser->trailer_bytes += take;
	parser->offset += take;
	if (!lf)
		return take;

	/* Only LF, or CR LF: the empty line that ends the message. */
	empty = parser->trailer_line_bytes == 1 || (parser->trailer_line_bytes == 2 && parser->trailer_line_cr);
	parser->trailer_line_bytes = 0;
	if (empty)
		message_report(parser, parser->offset, false);
	return take;
}

/* ---- the interface ---- */

/* Runs the current state on the data and returns how many bytes it used.
 * A state that uses none has moved to one that uses at least one. */
static size_t state_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	switch (parser->state) {
	case STATE_START_LINE:
		return start_line_feed(parser, data, length);
	case STATE_SKIP_LINE:
		return skip_line_feed(parser, data, length);
	case STATE_FIELD_LINES:
		return field_lines_feed(parser, data, length);
	case STATE_BODY_LENGTH:
		return body_length_feed(parser, data, length);
	case STATE_BODY_CLOSE:
		return body_close_feed(parser, data, length);
	case STATE_CHUNK_SIZE:
		return chunk_size_feed(parser, data, length);
	case STATE_CHUNK_DATA:
		return chunk_data_feed(parser, data, length);
	case STATE_CHUNK_DATA_END:
		return chunk_data_end_feed(parser, data, length);
	case STATE_TRAILERS:
		return trailers_feed(parser, data, length);
	}
	return length;
}

struct h1_parser *h1_parser_new(enum h1_kind kind, const struct h1_parser_ops *ops, void *user,
				size_t body_keep_bytes)
{
	struct h1_parser *parser = calloc(1, sizeof(*parser));

	if (!parser)
		return NULL;
	parser->head = malloc(HEAD_INITIAL_BYTES);
	if (!parser->head) {
		free(parser);
		return NULL;
	}

	parser->head_capacity = HEAD_INITIAL_BYTES;
	parser->kind = kind;
	if (ops)
		parser->ops = *ops;
	parser->user = user;
	parser->body_keep_bytes = body_keep_bytes;
	message_reset(parser);
	return parser;
}

void h1_parser_free(struct h1_parser *parser)
{
	if (!parser)
		return;
	free(parser->head);
	free(parser->spans);
	free(parser->headers);
	free(parser->body);
	free(parser);
}

/*
 * When memory runs out, the head being read is skipped as garbage or the
 * body kept stops growing. The parser goes on with the next bytes, and
 * returns -ENOMEM so that the caller can count the loss.
 */
int h1_parser_feed(struct h1_parser *parser, const uint8_t *data, size_t length)
{
	parser->out_of_memory = false;
	while (length > 0) {
		size_t used = state_feed(parser, data, length);

		data += used;
		length -= used;
	}
	return parser->out_of_memory ? -ENOMEM : 0;
}

/*
 * Handles the part of a gap that falls into the current state and returns
 * its size in bytes. Only a Content-Length body and a chunk's data know
 * where they end, so only they can absorb lost bytes.
 *
 * NOTE: a body that ends at close could absorb a gap too, but http1.h
 * specifies truncation outside bodies of known length. The rest of such a
 * body is therefore scanned for start lines and reported as garbage.
 */
static uint64_t gap_step(struct h1_parser *parser, uint64_t bytes)
{
	uint64_t take;

	switch (parser->state) {
	case STATE_BODY_LENGTH:
		take = bytes < parser->body_remaining ? bytes : parser->body_remaining;
		body_lose(parser, take);
		parser->body_remaining -= take;
		if (parser->body_remaining == 0)
			message_report(parser, parser->offset, false);
		return take;
	case STATE_CHUNK_DATA:
		take = bytes < parser->body_remaining ? bytes : parser->body_remaining;
		body_lose(parser, take);
		parser->body_remaining -= take;
		if (parser->body_remaining == 0) {
			parser->state = STATE_CHUNK_DATA_END;
			parser->chunk_end_cr = false;
		}
		return take;
	case STATE_START_LINE:
		garbage_add(parser, parser->line_offset, parser->line_bytes);
		break;
	case STATE_SKIP_LINE:
		break;
	case STATE_FIELD_LINES:
		head_report_truncated(parser);
		break;
	case STATE_BODY_CLOSE:
	case STATE_CHUNK_SIZE:
	case STATE_CHUNK_DATA_END:
	case STATE_TRAILERS:
		message_report(parser, parser->offset, true);
		break;
	}

	garbage_flush(parser);
	parser->offset += bytes;
	parser->line_bytes = 0;
	parser->state = STATE_START_LINE;
	return bytes;
}

void h1_parser_gap(struct h1_parser *parser, uint64_t bytes)
{
	while (bytes > 0)
		bytes -= gap_step(parser, bytes);
}

void h1_parser_finish(struct h1_parser *parser)
{
	switch (parser->state) {
	case STATE_START_LINE:
		garbage_add(parser, parser->line_offset, parser->line_bytes);
		break;
	case STATE_SKIP_LINE:
		break;
	case STATE_FIELD_LINES:
		head_report_truncated(parser);
		break;
	case STATE_BODY_CLOSE:
		/* The close is this body's framing, so the body is whole. */
		message_report(parser, parser->offset, false);
		break;
	case STATE_BODY_LENGTH:
	case STATE_CHUNK_SIZE:
	case STATE_CHUNK_DATA:
	case STATE_CHUNK_DATA_END:
	case STATE_TRAILERS:
		message_report(parser, parser->offset, true);
		break;
	}

	garbage_flush(parser);
	parser->line_bytes = 0;
	parser->state = STATE_START_LINE;
}

const char *h1_message_header(const struct h1_message *message, const char *name)
{
	size_t index = 0;

	if (!message || !name)
		return NULL;
	return header_next(message, name, &index);
}

/*
 * Request bodies: content codings are undone first (decompress.c), then
 * Content-Type chooses the format. A body whose type gives no format
 * (text/plain from navigator.sendBeacon, a missing type) is recognised by
 * its content. Every body field starts with the body's
 * decodings: its content codings, outermost first, then its format.
 *
 *   body.form.<name>         application/x-www-form-urlencoded
 *   body.form[<line>].<name> text of several lines, each a query string
 *   body.multipart.<name>    multipart/form-data
 *   body.json<json path>     application/json, text/json, +json types
 *   body.ndjson[<line>]...   newline-delimited JSON
 *   body.raw                 anything else, the whole body as one value
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Maximum length of an accepted boundary parameter. RFC 2046 section 5.1.1
 * allows 70 characters, but some clients send more. */
#define BOUNDARY_MAX_BYTES 200

enum body_format {
	FORMAT_FORM,
	FORMAT_MULTIPART,
	FORMAT_JSON,
	FORMAT_NDJSON,
	FORMAT_UNKNOWN, /* recognised by content */
};

struct media_type {
	enum body_format format;
	char boundary[BOUNDARY_MAX_BYTES + 1];
	size_t boundary_bytes;
};

/* A body being extracted, as text, and whether it was cut before its end. */
struct body_text {
	const char *data;
	size_t bytes;
	bool cut;
};

/* ---- Content-Type ---- */

static bool type_is(const char *type, size_t type_bytes, const char *name)
{
	return strlen(name) == type_bytes && strncasecmp(type, name, type_bytes) == 0;
}

static bool type_ends_with(const char *type, size_t type_bytes, const char *suffix)
{
	size_t suffix_bytes = strlen(suffix);

	return type_bytes >= suffix_bytes && strncasecmp(type + type_bytes - suffix_bytes, suffix, suffix_bytes) == 0;
}

static enum body_format format_of_type(const char *type, size_t type_bytes)
{
	if (type_is(type, type_bytes, "application/x-www-form-urlencoded"))
		return FORMAT_FORM;
	if (type_is(type, type_bytes, "multipart/form-data"))
		return FORMAT_MULTIPART;

	/* Structured syntax suffix +json (RFC 6839 section 3.1), and CSP
	 * violation reports, which are JSON under their own type. */
	if (type_is(type, type_bytes, "application/json") || type_is(type, type_bytes, "text/json") ||
	    type_is(type, type_bytes, "application/csp-report") ||
	    (strncasecmp(type, "application/", 12) == 0 && type_ends_with(type, type_bytes, "+json")))
		return FORMAT_JSON;

	if (type_is(type, type_bytes, "application/x-ndjson") || type_is(type, type_bytes, "application/ndjson") ||
	    type_is(type, type_bytes, "application/jsonl") || type_is(type, type_bytes, "application/jsonlines") ||
	    type_is(type, type_bytes, "application/x-jsonlines"))
		return FORMAT_NDJSON;
	return FORMAT_UNKNOWN;
}

/* Stores the boundary parameter of a Content-Type value, a token or a
 * quoted-string (RFC 9110 section 5.6.6). */
static void find_boundary(const char *parameters, struct media_type *media)
{
	const char *cursor = parameters;

	while ((cursor = strchr(cursor, ';'))) {
		size_t bytes;

		cursor++;
		cursor += strspn(cursor, " \t");
		if (strncasecmp(cursor, "boundary=", 9) != 0)
			continue;
		cursor += 9;

		if (*cursor == '"') {
			cursor++;
			bytes = strcspn(cursor, "\"");
		} else {
			bytes = strcspn(cursor, " \t;");
		}
		if (bytes > BOUNDARY_MAX_BYTES)
			return;
		memcpy(media->boundary, cursor, bytes);
		media->boundary[bytes] = '\0';
		media->boundary_bytes = bytes;
		return;
	}
}

static void parse_media_type(const char *content_type, struct media_type *media)
{
	size_t type_bytes;

	memset(media, 0, sizeof(*media));
	media->format = FORMAT_UNKNOWN;
	if (!content_type)
		return;

	content_type += strspn(content_type, " \t");
	type_bytes = strcspn(content_type, "; \t");
	media->format = format_of_type(content_type, type_bytes);
	if (media->format == FORMAT_MULTIPART)
		find_boundary(content_type + type_bytes, media);
}

/* ---- lines ---- */

/* A line of the body, without its line break. */
struct line_cursor {
	const struct body_text *body;
	size_t offset;
};

static bool is_blank(const char *text, size_t text_bytes)
{
	size_t i;

	for (i = 0; i < text_bytes; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
			return false;
	}
	return true;
}

/* Returns the next line that is not blank, or false at the end of the
 * body. *last is set for the line that runs to the end of the body. */
static bool next_line(struct line_cursor *cursor, const char **line, size_t *line_bytes, bool *last)
{
	const struct body_text *body = cursor->body;

	while (cursor->offset < body->bytes) {
		const char *start = body->data + cursor->offset;
		const char *line_feed = memchr(start, '\n', body->bytes - cursor->offset);
		size_t bytes = line_feed ? (size_t)(line_feed - start) : body->bytes - cursor->offset;

		cursor->offset += bytes + (line_feed ? 1 : 0);
		*last = cursor->offset >= body->bytes;
		if (bytes > 0 && start[bytes - 1] == '\r')
			bytes--;
		if (is_blank(start, bytes))
			continue;

		*line = start;
		*line_bytes = bytes;
		return true;
	}
	return false;
}

static bool line_is_json(const char *line, size_t line_bytes)
{
	cJSON *json = json_parse_whole(line, line_bytes, false);

	cJSON_Delete(json);
	return json != NULL;
}

/* Returns whether the body is newline-delimited JSON: two lines or more,
 * each a JSON value, except a last line cut short with the body. */
static bool has_ndjson_shape(const struct body_text *body)
{
	struct line_cursor cursor = { .body = body };
	const char *line;
	size_t line_bytes;
	size_t lines = 0;
	bool last;

	while (next_line(&cursor, &line, &line_bytes, &last)) {
		if (!line_is_json(line, line_bytes) && !(last && body->cut && lines > 0))
			return false;
		lines++;
	}
	return lines >= 2;
}

/* Returns the number of lines of a body whose every line is a query
 * string, or 0 when one is not. */
static size_t count_query_lines(const struct body_text *body)
{
	struct line_cursor cursor = { .body = body };
	const char *line;
	size_t line_bytes;
	size_t lines = 0;
	bool last;

	while (next_line(&cursor, &line, &line_bytes, &last)) {
		if (!query_has_shape(line, line_bytes))
			return 0;
		lines++;
	}
	return lines;
}

/* ---- formats ---- */

static int add_with_decoding(struct extract_context *ctx, const char *root, enum field_decoding decoding,
			     int (*add)(struct extract_context *ctx, const struct body_text *body),
			     const struct body_text *body)
{
	int err;

	path_set_root(ctx, root);
	if (!chain_push(ctx, decoding))
		return 0;
	err = add(ctx, body);
	chain_pop(ctx);
	return err;
}

static int add_form(struct extract_context *ctx, const struct body_text *body)
{
	return query_add_pairs(ctx, body->data, body->bytes);
}

/* Adds a body of several query-string lines, as the batch requests of
 * Google Analytics 4 send them, one index per line. */
static int add_form_lines(struct extract_context *ctx, const struct body_text *body)
{
	struct line_cursor cursor = { .body = body };
	const char *line;
	size_t line_bytes;
	size_t index = 0;
	size_t saved;
	bool last;
	int err = 0;

	while (!err && next_line(&cursor, &line, &line_bytes, &last)) {
		if (path_push_index(ctx, index, &saved)) {
			err = query_add_pairs(ctx, line, line_bytes);
			path_restore(ctx, saved);
		}
		index++;
	}
	return err;
}

/* Adds the leaves of one NDJSON line, or nothing when it is not JSON. */
static int add_json_line(struct extract_context *ctx, const char *text, size_t text_bytes)
{
	cJSON *json = json_parse_whole(text, text_bytes, false);
	int err;

	if (!json)
		return 0;
	err = json_add_leaves(ctx, json, text, text_bytes);
	cJSON_Delete(json);
	return err;
}

/* Adds the leaves of a JSON body parsed into json, and frees json. */
static int add_json_body(struct extract_context *ctx, cJSON *json, const struct body_text *body)
{
	int err = 0;

	path_set_root(ctx, "body.json");
	if (chain_push(ctx, FIELD_DECODING_JSON)) {
		err = json_add_leaves(ctx, json, body->data, body->bytes);
		chain_pop(ctx);
	}
	cJSON_Delete(json);
	return err;
}

/* Adds each JSON line under "[index]", index counting the lines that are
 * not blank. A line that is not JSON keeps its index and gives nothing. */
static int add_ndjson(struct extract_context *ctx, const struct body_text *body)
{
	struct line_cursor cursor = { .body = body };
	const char *line;
	size_t line_bytes;
	size_t index = 0;
	size_t saved;
	bool last;
	int err = 0;

	while (!err && next_line(&cursor, &line, &line_bytes, &last)) {
		if (field_list_full(ctx) && ctx->list->fields_cut)
			break;
		if (path_push_index(ctx, index, &saved)) {
			err = add_json_line(ctx, line, line_bytes);
			path_restore(ctx, saved);
		}
		index++;
	}
	return err;
}

static int add_raw(struct extract_context *ctx, const struct body_text *body)
{
	if (!body->bytes)
		return 0;
	path_set_root(ctx, "body.raw");
	return value_add(ctx, body->data, body->bytes);
}

/* Extracts a body by its content: a JSON object or array, NDJSON, lines
 * of query strings, or else the raw body. */
static int add_by_content(struct extract_context *ctx, const struct body_text *body)
{
	cJSON *json = json_parse_whole(body->data, body->bytes, true);
	size_t query_lines;

	if (json)
		return add_json_body(ctx, json, body);
	if (has_ndjson_shape(body))
		return add_with_decoding(ctx, "body.ndjson", FIELD_DECODING_NDJSON, add_ndjson, body);

	query_lines = count_query_lines(body);
	if (query_lines == 1)
		return add_with_decoding(ctx, "body.form", FIELD_DECODING_FORM, add_form, body);
	if (query_lines > 1)
		return add_with_decoding(ctx, "body.form", FIELD_DECODING_FORM, add_form_lines, body);
	return add_raw(ctx, body);
}

static int add_by_format(struct extract_context *ctx, const struct media_type *media, const struct body_text *body)
{
	cJSON *json;
	int ret;

	switch (media->format) {
	case FORMAT_FORM:
		return add_with_decoding(ctx, "body.form", FIELD_DECODING_FORM, add_form, body);
	case FORMAT_MULTIPART:
		ret = multipart_extract(ctx, body->data, body->bytes, media->boundary, media->boundary_bytes);
		return ret <= 0 ? ret : add_by_content(ctx, body);
	case FORMAT_JSON:
		/* A JSON type with a scalar body ("42") is still JSON. */
		json = json_parse_whole(body->data, body->bytes, false);
		if (json)
			return add_json_body(ctx, json, body);
		return add_by_content(ctx, body);
	case FORMAT_NDJSON:
		return add_with_decoding(ctx, "body.ndjson", FIELD_DECODING_NDJSON, add_ndjson, body);
	case FORMAT_UNKNOWN:
		break;
	}
	return add_by_content(ctx, body);
}

/* Returns every Content-Encoding value joined by ", ", since the codings
 * may be split over several header lines, or NULL when there is none. */
static int join_content_encodings(const struct extract_request *request, char **joined)
{
	size_t bytes = 0;
	size_t i;

	*joined = NULL;
	for (i = 0; i < request->header_count; i++) {
		if (strcasecmp(request->header_names[i], "Content-Encoding") == 0)
			bytes += strlen(request->header_values[i]) + 2;
	}
	if (!bytes)
		return 0;

	*joined = calloc(1, bytes + 1);
	if (!*joined)
		return -ENOMEM;
	for (i = 0; i < request->header_count; i++) {
		if (strcasecmp(request->header_names[i], "Content-Encoding") != 0)
			continue;
		if ((*joined)[0])
			strcat(*joined, ", ");
		strcat(*joined, request->header_values[i]);
	}
	return 0;
}

int body_extract(struct extract_context *ctx, const struct extract_request *request)
{
	struct decoded_body decoded;
	struct media_type media;
	struct body_text body;
	char *content_encoding;
	size_t i;
	int err;

	if (request->body_kept < request->body_bytes)
		ctx->list->body_cut = true;
	if (!request->body || !request->body_kept)
		return 0;

	err = join_content_encodings(request, &content_encoding);
	if (err)
		return err;
	err = body_decode(request->body, request->body_kept, content_encoding, ctx->limits->max_decoded_body_bytes,
			  &decoded);
	free(content_encoding);
	if (err)
		return err;
	if (decoded.cut)
		ctx->list->body_cut = true;

	ctx->source = FIELD_SOURCE_BODY;
	ctx->depth = 0;
	ctx->chain_count = 0;
	for (i = 0; i < decoded.decoding_count; i++)
		chain_push(ctx, decoded.decodings[i]);

	body.data = (const char *)decoded.data;
	body.bytes = decoded.bytes;
	body.cut = ctx->list->body_cut;
	parse_media_type(request_header(request, "Content-Type"), &media);
	err = add_by_format(ctx, &media, &body);

	decoded_body_free(&decoded);
	return err;
}

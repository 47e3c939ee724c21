/*
 * Private to agent/extract/: the state of one extraction, shared by its
 * files. docs/FIELDS.md describes the paths and decodings they produce.
 */
#ifndef PLAINSIGHT_EXTRACT_INTERNAL_H
#define PLAINSIGHT_EXTRACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "extract.h"

/* Maximum bytes of a path, NUL excluded. A name that would make a path
 * longer is not added and nothing below it is descended into, which also
 * bounds the recursion over deeply nested JSON. */
#define EXTRACT_MAX_PATH_BYTES 1024

/* Maximum content codings undone for one body ("gzip, br" is two). */
#define EXTRACT_MAX_CONTENT_CODINGS 4

struct extract_context {
	const struct extract_limits *limits;
	struct field_list *list;
	enum field_source source;

	/* The path of the value being extracted, NUL-terminated. Names are
	 * pushed and popped as the extraction descends and returns. */
	char path[EXTRACT_MAX_PATH_BYTES + 1];
	size_t path_bytes;

	/* Decodings that led to the value being extracted, outermost first. */
	enum field_decoding chain[FIELD_MAX_DECODINGS];
	size_t chain_count;

	/* Nested value decodings (JSON, URL, base64, query) applied so far;
	 * bounded by limits->max_depth. */
	unsigned int depth;
};

/* ---- fields.c: the list, the path and the chain ---- */

/* Adds a field with the context's path, chain and source. A full list is
 * not an error: it sets fields_cut and drops the field. */
int field_add(struct extract_context *ctx, const void *value, size_t value_bytes);

bool field_list_full(const struct extract_context *ctx);

/* Replaces the path by root. */
void path_set_root(struct extract_context *ctx, const char *root);

/* Appends "." and name, "[index]" or raw text to the path and stores the
 * previous length in *saved for path_restore. Returns false, with the path
 * unchanged and fields_cut set, when the path would exceed
 * EXTRACT_MAX_PATH_BYTES. */
bool path_push_name(struct extract_context *ctx, const char *name, size_t name_bytes, size_t *saved);
bool path_push_index(struct extract_context *ctx, size_t index, size_t *saved);
bool path_push_text(struct extract_context *ctx, const char *text, size_t *saved);
void path_restore(struct extract_context *ctx, size_t saved);

/* Appends a decoding to the chain. Returns false, with fields_cut set,
 * when the chain is full (FIELD_MAX_DECODINGS). */
bool chain_push(struct extract_context *ctx, enum field_decoding decoding);
void chain_pop(struct extract_context *ctx);

/* ---- decode.c: value decodings and their detection ---- */

/* Percent-decodes in (RFC 3986 section 2.1) into out, which has room for
 * in_bytes. An invalid escape is kept as it is. With plus_as_space, '+'
 * becomes a space, as in application/x-www-form-urlencoded. Returns the
 * decoded length and sets *changed when any byte was decoded. */
size_t percent_decode(const char *in, size_t in_bytes, char *out, bool plus_as_space, bool *changed);

/* Adds a field for value at the context's path, then the fields of any
 * decoding of it (value_expand). */
int value_add(struct extract_context *ctx, const char *value, size_t value_bytes);

/* Adds the fields of the first decoding of value that applies: JSON, the
 * query of an http(s) URL, base64 or base64url text, a query string, or
 * percent-encoded text. Adds nothing for a value that none fits. */
int value_expand(struct extract_context *ctx, const char *value, size_t value_bytes);

/* Returns whether bytes is valid UTF-8 without control characters other
 * than tab, CR and LF. */
bool text_is_printable(const uint8_t *bytes, size_t count);

/* ---- json.c ---- */

/* Parses text as one JSON value followed only by whitespace. Returns NULL
 * when it is not, or when cJSON runs out of memory. With containers_only,
 * a scalar (a number, a string) does not count. */
cJSON *json_parse_whole(const char *text, size_t text_bytes, bool containers_only);

/* Adds a field for each leaf of root, parsed from text, under the context's
 * path. */
int json_add_leaves(struct extract_context *ctx, const cJSON *root, const char *text, size_t text_bytes);

/* ---- url.c ---- */

int url_extract(struct extract_context *ctx, const char *url, const char *host_header);

/* Adds a field for each name=value pair of a query string under the
 * context's path, as "path.name". Names and values are percent-decoded with
 * '+' as space. A value whose decoding changed it carries the URL decoding
 * in its chain. */
int query_add_pairs(struct extract_context *ctx, const char *query, size_t query_bytes);

/* Returns whether text has the shape of a query string: name=value pairs
 * joined by '&'. */
bool query_has_shape(const char *text, size_t text_bytes);

/* When text is an absolute http or https URL with a query, stores the
 * query (without '?' and fragment) and returns true. */
bool url_find_query(const char *text, size_t text_bytes, const char **query, size_t *query_bytes);

/* ---- cookies.c ---- */

int cookies_extract(struct extract_context *ctx, const char *header_value);

/* ---- body.c, multipart.c ---- */

int body_extract(struct extract_context *ctx, const struct extract_request *request);

/* Adds the parts of a multipart/form-data body (RFC 7578) under
 * "body.multipart". Returns 1, without fields, when no line of the body
 * starts with the delimiter of that boundary. Returns 0 or -ENOMEM
 * otherwise. */
int multipart_extract(struct extract_context *ctx, const char *body, size_t body_bytes, const char *boundary,
		      size_t boundary_bytes);

/* ---- decompress.c ---- */

/* A body with its content codings undone. */
struct decoded_body {
	const uint8_t *data;
	size_t bytes;
	uint8_t *owned; /* freed by decoded_body_free, NULL when data is the input */
	enum field_decoding decodings[EXTRACT_MAX_CONTENT_CODINGS];
	size_t decoding_count;
	bool cut; /* decoding stopped at the limit before the end of the body */
};

/* Undoes the codings of Content-Encoding (NULL when absent), last applied
 * first, or gzip found by its magic bytes when there is no coding. A body
 * that cannot be decoded is returned as it is, without decodings. Returns
 * 0 or -ENOMEM. */
int body_decode(const uint8_t *body, size_t body_bytes, const char *content_encoding, size_t max_bytes,
		struct decoded_body *out);
void decoded_body_free(struct decoded_body *body);

/* ---- extract.c ---- */

/* Returns the value of the first header named name (any case), or NULL. */
const char *request_header(const struct extract_request *request, const char *name);

#endif

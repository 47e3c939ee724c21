/*
 * The parts of a request's URL (RFC 3986 section 3) and query strings.
 *
 * Query strings are parsed as application/x-www-form-urlencoded, as the
 * WHATWG URL standard's URLSearchParams does: pairs split at '&', name and
 * value at the first '=', '+' as a space, then percent-decoding. Trackers'
 * servers decode them the same way, so a client that sends a literal '+'
 * in a value already loses it there. Names are kept whole: "ud[em]" and
 * "cd[content_ids][0]" are names, not nested structure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* The parts of a URL as spans of the text. A part that is absent has 0
 * bytes, except that query and fragment may be present and empty. */
struct url_parts {
	const char *scheme;
	size_t scheme_bytes;
	const char *user_info;
	size_t user_info_bytes;
	const char *host;
	size_t host_bytes;
	const char *port;
	size_t port_bytes;
	const char *path;
	size_t path_bytes;
	const char *query;
	size_t query_bytes;
	bool has_query;
	const char *fragment;
	size_t fragment_bytes;
	bool has_fragment;
};

/* ---- parsing ---- */

static bool is_scheme_byte(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return !first && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* Returns the length of a "scheme://" prefix, or 0 when there is none. */
static size_t scheme_bytes(const char *url)
{
	size_t i = 0;

	while (url[i] && is_scheme_byte(url[i], i == 0))
		i++;
	if (i == 0 || strncmp(url + i, "://", 3) != 0)
		return 0;
	return i;
}

static void split_authority(const char *authority, size_t authority_bytes, struct url_parts *parts)
{
	const char *host = authority;
	size_t host_bytes = authority_bytes;
	const char *at = NULL;
	const char *colon;
	size_t i;

	for (i = 0; i < authority_bytes; i++) {
		if (authority[i] == '@')
			at = authority + i;
	}
	if (at) {
		parts->user_info = authority;
		parts->user_info_bytes = (size_t)(at - authority);
		host = at + 1;
		host_bytes = authority_bytes - parts->user_info_bytes - 1;
	}

	/* An IPv6 literal is bracketed (RFC 3986 section 3.2.2), and its
	 * colons do not start the port. */
	colon = NULL;
	for (i = host_bytes; i > 0; i--) {
		if (host[i - 1] == ']')
			break;
		if (host[i - 1] == ':') {
			colon = host + i - 1;
			break;
		}
	}
	if (colon) {
		parts->port = colon + 1;
		parts->port_bytes = host_bytes - (size_t)(colon - host) - 1;
		host_bytes = (size_t)(colon - host);
	}
	parts->host = host;
	parts->host_bytes = host_bytes;
}

/* Splits an absolute URL or an origin-form request target ("/path?query"),
 * which is what HTTP/1 requests carry. */
static void url_split(const char *url, struct url_parts *parts)
{
	const char *rest = url;
	size_t length;

	memset(parts, 0, sizeof(*parts));

	length = scheme_bytes(url);
	if (length) {
		parts->scheme = url;
		parts->scheme_bytes = length;
		rest = url + length + 3;
		length = strcspn(rest, "/?#");
		split_authority(rest, length, parts);
		rest += length;
	}

	parts->path = rest;
	parts->path_bytes = strcspn(rest, "?#");
	rest += parts->path_bytes;

	if (*rest == '?') {
		parts->has_query = true;
		parts->query = rest + 1;
		parts->query_bytes = strcspn(parts->query, "#");
		rest = parts->query + parts->query_bytes;
	}
	if (*rest == '#') {
		parts->has_fragment = true;
		parts->fragment = rest + 1;
		parts->fragment_bytes = strlen(parts->fragment);
	}
}

/* ---- fields ---- */

static int add_part(struct extract_context *ctx, const char *root, const char *value, size_t value_bytes)
{
	path_set_root(ctx, root);
	return field_add(ctx, value, value_bytes);
}

/* Adds url.path percent-decoded, then the fields of any encoded segment
 * under "url.path[index]", index counting the segments after the first
 * '/' from 0. A segment is not a field of its own. */
static int add_path(struct extract_context *ctx, const char *path, size_t path_bytes)
{
	char *decoded;
	size_t decoded_bytes;
	size_t index = 0;
	size_t start;
	size_t end;
	size_t saved;
	bool changed;
	int err;

	if (!path_bytes)
		return 0;
	decoded = malloc(path_bytes);
	if (!decoded)
		return -ENOMEM;

	path_set_root(ctx, "url.path");
	decoded_bytes = percent_decode(path, path_bytes, decoded, false, &changed);
	if (changed)
		chain_push(ctx, FIELD_DECODING_URL);
	err = field_add(ctx, decoded, decoded_bytes);
	if (changed)
		chain_pop(ctx);

	start = path[0] == '/' ? 1 : 0;
	while (!err && start <= path_bytes) {
		end = start;
		while (end < path_bytes && path[end] != '/')
			end++;

		decoded_bytes = percent_decode(path + start, end - start, decoded, false, &changed);
		if (decoded_bytes && path_push_index(ctx, index, &saved)) {
			if (changed)
				chain_push(ctx, FIELD_DECODING_URL);
			err = value_expand(ctx, decoded, decoded_bytes);
			if (changed)
				chain_pop(ctx);
			path_restore(ctx, saved);
		}

		index++;
		start = end + 1;
	}

	free(decoded);
	return err;
}

int url_extract(struct extract_context *ctx, const char *url, const char *host_header)
{
	struct url_parts parts;
	int err = 0;

	url_split(url, &parts);
	ctx->source = FIELD_SOURCE_URL;
	ctx->chain_count = 0;
	ctx->depth = 0;

	if (parts.scheme_bytes)
		err = add_part(ctx, "url.scheme", parts.scheme, parts.scheme_bytes);
	if (!err && parts.user_info_bytes)
		err = add_part(ctx, "url.user_info", parts.user_info, parts.user_info_bytes);

	/* An origin-form target has no authority, so the Host header names
	 * the host (RFC 9112 section 3.2). */
	if (!err && parts.host_bytes)
		err = add_part(ctx, "url.host", parts.host, parts.host_bytes);
	else if (!err && !parts.scheme_bytes && host_header && host_header[0])
		err = add_part(ctx, "url.host", host_header, strlen(host_header));

	if (!err && parts.port_bytes)
		err = add_part(ctx, "url.port", parts.port, parts.port_bytes);
	if (!err)
		err = add_path(ctx, parts.path, parts.path_bytes);
	if (!err && parts.has_fragment) {
		path_set_root(ctx, "url.fragment");
		err = value_add(ctx, parts.fragment, parts.fragment_bytes);
	}
	if (err || !parts.has_query)
		return err;

	ctx->source = FIELD_SOURCE_QUERY;
	path_set_root(ctx, "query");
	return query_add_pairs(ctx, parts.query, parts.query_bytes);
}

/* ---- query strings ---- */

static int add_pair(struct extract_context *ctx, const char *pair, size_t pair_bytes, char *scratch)
{
	const char *equals = memchr(pair, '=', pair_bytes);
	size_t name_raw_bytes = equals ? (size_t)(equals - pair) : pair_bytes;
	const char *value = equals ? equals + 1 : pair + pair_bytes;
	size_t value_raw_bytes = pair_bytes - name_raw_bytes - (equals ? 1 : 0);
	char *decoded_value;
	size_t name_bytes;
	size_t value_bytes;
	size_t saved;
	bool changed;
	int err;

	name_bytes = percent_decode(pair, name_raw_bytes, scratch, true, &changed);
	decoded_value = scratch + name_bytes;
	value_bytes = percent_decode(value, value_raw_bytes, decoded_value, true, &changed);

	if (!path_push_name(ctx, scratch, name_bytes, &saved))
		return 0;
	if (changed && !chain_push(ctx, FIELD_DECODING_URL)) {
		path_restore(ctx, saved);
		return 0;
	}

	err = value_add(ctx, decoded_value, value_bytes);

	if (changed)
		chain_pop(ctx);
	path_restore(ctx, saved);
	return err;
}

int query_add_pairs(struct extract_context *ctx, const char *query, size_t query_bytes)
{
	size_t start = 0;
	char *scratch;
	int err = 0;

	scratch = malloc(query_bytes + 1);
	if (!scratch)
		return -ENOMEM;

	while (!err && start < query_bytes) {
		const char *amp = memchr(query + start, '&', query_bytes - start);
		size_t end = amp ? (size_t)(amp - query) : query_bytes;

		if (field_list_full(ctx) && ctx->list->fields_cut)
			break;
		if (end > start)
			err = add_pair(ctx, query + start, end - start, scratch);
		start = end + 1;
	}

	free(scratch);
	return err;
}

/* ---- detection ---- */

static bool is_alphanumeric(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Bytes accepted in the names of a detected query string: those of form
 * field names in practice, including the brackets of "cd[value]", '$' of
 * "$email" and percent-escapes. */
static bool is_query_name_byte(char c)
{
	return is_alphanumeric(c) || (c != '\0' && strchr("_-.~$[]%+:*!(),'", c) != NULL);
}

/* Returns whether text could be base64 or base64url with optional padding,
 * such as "YWJj=". Such text is not taken for a query string even when
 * decoding it as base64 gave nothing printable. */
static bool has_base64_shape(const char *text, size_t text_bytes)
{
	size_t i;

	while (text_bytes > 0 && text[text_bytes - 1] == '=')
		text_bytes--;
	for (i = 0; i < text_bytes; i++) {
		if (!is_alphanumeric(text[i]) && (text[i] == '\0' || !strchr("+/-_", text[i])))
			return false;
	}
	return true;
}

static bool pair_has_shape(const char *pair, size_t pair_bytes)
{
	const char *equals = memchr(pair, '=', pair_bytes);
	size_t i;

	if (!equals || equals == pair)
		return false;
	for (i = 0; pair + i < equals; i++) {
		if (!is_query_name_byte(pair[i]))
			return false;
	}
	return true;
}

bool query_has_shape(const char *text, size_t text_bytes)
{
	size_t pairs = 0;
	size_t start = 0;
	size_t i;

	for (i = 0; i < text_bytes; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	if (has_base64_shape(text, text_bytes))
		return false;

	while (start < text_bytes) {
		const char *amp = memchr(text + start, '&', text_bytes - start);
		size_t end = amp ? (size_t)(amp - text) : text_bytes;

		if (end > start) {
			if (!pair_has_shape(text + start, end - start))
				return false;
			pairs++;
		}
		start = end + 1;
	}
	return pairs > 0;
}

bool url_find_query(const char *text, size_t text_bytes, const char **query, size_t *query_bytes)
{
	const char *question;
	const char *hash;
	size_t prefix;

	if (text_bytes > 7 && strncasecmp(text, "http://", 7) == 0)
		prefix = 7;
	else if (text_bytes > 8 && strncasecmp(text, "https://", 8) == 0)
		prefix = 8;
	else
		return false;

	hash = memchr(text + prefix, '#', text_bytes - prefix);
	if (hash)
		text_bytes = (size_t)(hash - text);
	question = memchr(text + prefix, '?', text_bytes - prefix);
	if (!question || question + 1 == text + text_bytes)
		return false;

	*query = question + 1;
	*query_bytes = (size_t)(text + text_bytes - *query);
	return true;
}

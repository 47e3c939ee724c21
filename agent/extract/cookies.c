/*
 * Cookie header fields (RFC 6265 section 4.2.1): "name=value" pairs joined
 * by "; ". Each cookie becomes the field "cookie.<name>". A pair without
 * '=' is a cookie with an empty name, as the Set-Cookie parsing algorithm
 * of RFC 6265bis stores it. Cookie values are opaque to HTTP, but many are
 * percent-encoded JSON or base64, which value_add decodes.
 */
#include <string.h>

#include "internal.h"

static bool is_cookie_space(char c)
{
	return c == ' ' || c == '\t';
}

static int add_cookie(struct extract_context *ctx, const char *pair, size_t pair_bytes)
{
	const char *equals = memchr(pair, '=', pair_bytes);
	const char *name = pair;
	size_t name_bytes = 0;
	const char *value = pair;
	size_t value_bytes = pair_bytes;
	size_t saved;
	int err;

	if (equals) {
		name_bytes = (size_t)(equals - pair);
		value = equals + 1;
		value_bytes = pair_bytes - name_bytes - 1;
	}
	while (name_bytes > 0 && is_cookie_space(name[name_bytes - 1]))
		name_bytes--;
	while (value_bytes > 0 && is_cookie_space(value[0])) {
		value++;
		value_bytes--;
	}

	/* A quoted value (cookie-value = DQUOTE *cookie-octet DQUOTE) is
	 * given without its quotes. */
	if (value_bytes >= 2 && value[0] == '"' && value[value_bytes - 1] == '"') {
		value++;
		value_bytes -= 2;
	}

	if (!path_push_name(ctx, name, name_bytes, &saved))
		return 0;
	err = value_add(ctx, value, value_bytes);
	path_restore(ctx, saved);
	return err;
}

int cookies_extract(struct extract_context *ctx, const char *header_value)
{
	size_t length = strlen(header_value);
	size_t start = 0;
	int err = 0;

	ctx->source = FIELD_SOURCE_COOKIE;
	ctx->chain_count = 0;
	ctx->depth = 0;
	path_set_root(ctx, "cookie");

	while (!err && start < length) {
		const char *semicolon = memchr(header_value + start, ';', length - start);
		size_t end = semicolon ? (size_t)(semicolon - header_value) : length;

		while (start < end && is_cookie_space(header_value[start]))
			start++;
		if (field_list_full(ctx) && ctx->list->fields_cut)
			break;
		if (end > start)
			err = add_cookie(ctx, header_value + start, end - start);
		start = end + 1;
	}
	return err;
}

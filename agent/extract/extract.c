/*
 * Entry point of the extract stage: the URL, then the selected headers and
 * cookies in the order they were sent, then the body. docs/FIELDS.md
 * describes every path and decoding.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Headers given as fields, besides Cookie and every X-* header. The
 * classify stage finds the site of a request from Referer, Origin and
 * Sec-Fetch-Site. Authorization is given whole, for the policy stage to
 * redact. */
static const char *const selected_headers[] = {
	"Referer", "Origin", "User-Agent", "Authorization", "Sec-Fetch-Site",
};

void extract_default_limits(struct extract_limits *limits)
{
	/* Eight times the stream stage's default of 1 MiB kept per body,
	 * because JSON compresses about that well with gzip. */
	limits->max_decoded_body_bytes = 8u << 20;

	/* An estimate: a batch of 50 analytics events with 50 properties
	 * each, with room to spare. */
	limits->max_fields = 4096;

	/* Chains seen in tracker requests are up to four long, such as a form
	 * field holding URL-encoded JSON whose string is base64 of JSON. */
	limits->max_depth = 6;
}

const char *request_header(const struct extract_request *request, const char *name)
{
	size_t i;

	for (i = 0; i < request->header_count; i++) {
		if (strcasecmp(request->header_names[i], name) == 0)
			return request->header_values[i];
	}
	return NULL;
}

static bool header_is_selected(const char *name)
{
	size_t i;

	if (strncasecmp(name, "X-", 2) == 0)
		return true;
	for (i = 0; i < sizeof(selected_headers) / sizeof(selected_headers[0]); i++) {
		if (strcasecmp(name, selected_headers[i]) == 0)
			return true;
	}
	return false;
}

/* Adds "header.<name>" with the name in lowercase, as HTTP/2 and HTTP/3
 * send it, so that paths do not depend on the HTTP version. */
static int add_header(struct extract_context *ctx, const char *name, const char *value)
{
	size_t name_bytes = strlen(name);
	char *lowercase;
	size_t saved;
	size_t i;
	int err = 0;

	lowercase = strdup(name);
	if (!lowercase)
		return -ENOMEM;
	for (i = 0; i < name_bytes; i++) {
		if (lowercase[i] >= 'A' && lowercase[i] <= 'Z')
			lowercase[i] = (char)(lowercase[i] - 'A' + 'a');
	}

	ctx->source = FIELD_SOURCE_HEADER;
	ctx->chain_count = 0;
	ctx->depth = 0;
	path_set_root(ctx, "header");
	if (path_push_name(ctx, lowercase, name_bytes, &saved)) {
		err = value_add(ctx, value, strlen(value));
		path_restore(ctx, saved);
	}

	free(lowercase);
	return err;
}

static int add_headers(struct extract_context *ctx, const struct extract_request *request)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < request->header_count; i++) {
		const char *name = request->header_names[i];
		const char *value = request->header_values[i];

		if (strcasecmp(name, "Cookie") == 0)
			err = cookies_extract(ctx, value);
		else if (header_is_selected(name))
			err = add_header(ctx, name, value);
	}
	return err;
}

int extract_request_fields(const struct extract_request *request, const struct extract_limits *limits,
			   struct field_list *list)
{
	struct extract_context ctx = {
		.limits = limits,
		.list = list,
	};
	int err = 0;

	if (request->url)
		err = url_extract(&ctx, request->url, request_header(request, "Host"));
	if (!err)
		err = add_headers(&ctx, request);
	if (!err)
		err = body_extract(&ctx, request);
	return err;
}

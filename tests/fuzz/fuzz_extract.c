/*
 * libFuzzer target for the extract stage (agent/extract/).
 *
 * The first three input bytes choose the request's shape:
 *
 *   byte 0  Content-Type, an index into content_types
 *   byte 1  Content-Encoding, an index into content_encodings
 *   byte 2  bit 0 sets small limits, bit 1 reports a body longer than kept
 *
 * The rest is split at its first two line feeds into the URL, a Cookie
 * header value and the body.
 *
 * Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Iagent tests/fuzz/fuzz_extract.c \
 *     $(find agent/extract -name '*.c') agent/common/log.c \
 *     -lcjson -lz -lbrotlidec -o /tmp/fuzz_extract
 *   /tmp/fuzz_extract -max_total_time=300 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"

#define SHAPE_BYTES 3

static const char *const content_types[] = {
	NULL,
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=b",
	"multipart/form-data; boundary=\"b\"",
	"application/json",
	"text/plain;charset=UTF-8",
	"application/x-ndjson",
	"application/vnd.api+json",
	"application/octet-stream",
};

static const char *const content_encodings[] = {
	NULL, "gzip", "deflate", "br", "gzip, br", "identity", "zstd",
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Returns a NUL-terminated copy of the bytes up to the next line feed and
 * moves *data past it. */
static char *take_line(const uint8_t **data, size_t *size)
{
	const uint8_t *line_feed = memchr(*data, '\n', *size);
	size_t bytes = line_feed ? (size_t)(line_feed - *data) : *size;
	char *line = malloc(bytes + 1);

	if (!line)
		abort();
	memcpy(line, *data, bytes);
	line[bytes] = '\0';

	*data += bytes + (line_feed ? 1 : 0);
	*size -= bytes + (line_feed ? 1 : 0);
	return line;
}

/* Aborts unless the list keeps the promises of extract.h and
 * docs/FIELDS.md: the field limit, a NUL after each value, a path without
 * NUL of at most 1024 bytes, a chain of known decodings. */
static void check_fields(const struct field_list *list, const struct extract_limits *limits)
{
	size_t i;
	size_t j;

	if (list->count > limits->max_fields)
		abort();
	for (i = 0; i < list->count; i++) {
		const struct field *field = &list->fields[i];

		if (!field->path[0] || strlen(field->path) > 1024 || field->value[field->value_bytes] != '\0')
			abort();
		if (field->decoding_count > FIELD_MAX_DECODINGS)
			abort();
		for (j = 0; j < field->decoding_count; j++) {
			if (field->decodings[j] > FIELD_DECODING_BROTLI)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[3];
	const char *values[3];
	struct extract_request request = { .method = "POST", .header_names = names, .header_values = values };
	struct extract_limits limits;
	struct field_list list = { 0 };
	const char *content_type;
	const char *content_encoding;
	uint8_t flags;
	char *url;
	char *cookie;
	uint8_t *body;

	if (size < SHAPE_BYTES)
		return 0;
	content_type = content_types[data[0] % COUNT(content_types)];
	content_encoding = content_encodings[data[1] % COUNT(content_encodings)];
	flags = data[2];
	data += SHAPE_BYTES;
	size -= SHAPE_BYTES;

	url = take_line(&data, &size);
	cookie = take_line(&data, &size);

	/* A copy of exactly the body's size, so that ASan reports any read
	 * past its end. */
	body = malloc(size ? size : 1);
	if (!body)
		abort();
	memcpy(body, data, size);

	request.url = url;
	names[request.header_count] = "Cookie";
	values[request.header_count++] = cookie;
	if (content_type) {
		names[request.header_count] = "Content-Type";
		values[request.header_count++] = content_type;
	}
	if (content_encoding) {
		names[request.header_count] = "Content-Encoding";
		values[request.header_count++] = content_encoding;
	}
	request.body = body;
	request.body_kept = size;
	request.body_bytes = (flags & 2) ? size + 100 : size;

	extract_default_limits(&limits);
	if (flags & 1) {
		limits.max_decoded_body_bytes = 4096;
		limits.max_fields = 16;
		limits.max_depth = 2;
	}

	if (extract_request_fields(&request, &limits, &list) == 0)
		check_fields(&list, &limits);
	field_list_clear(&list);

	free(body);
	free(cookie);
	free(url);
	return 0;
}

/*
 * The field list of the extract stage, and the path and decoding chain that
 * each new field is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Capacity of a list's first allocation, in fields. */
#define LIST_INITIAL_CAPACITY 32

static const char *const decoding_names[] = {
	[FIELD_DECODING_URL] = "url",
	[FIELD_DECODING_BASE64] = "base64",
	[FIELD_DECODING_BASE64URL] = "base64url",
	[FIELD_DECODING_JSON] = "json",
	[FIELD_DECODING_QUERY] = "query",
	[FIELD_DECODING_FORM] = "form",
	[FIELD_DECODING_MULTIPART] = "multipart",
	[FIELD_DECODING_NDJSON] = "ndjson",
	[FIELD_DECODING_GZIP] = "gzip",
	[FIELD_DECODING_DEFLATE] = "deflate",
	[FIELD_DECODING_BROTLI] = "br",
};

const char *field_decoding_name(enum field_decoding decoding)
{
	if ((size_t)decoding >= sizeof(decoding_names) / sizeof(decoding_names[0]) || !decoding_names[decoding])
		return "unknown";
	return decoding_names[decoding];
}

void field_list_clear(struct field_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		free(list->fields[i].path);
		free(list->fields[i].value);
	}
	free(list->fields);
	memset(list, 0, sizeof(*list));
}

bool field_list_full(const struct extract_context *ctx)
{
	return ctx->list->count >= ctx->limits->max_fields;
}

static int list_reserve_one(struct field_list *list)
{
	struct field *fields;
	size_t capacity;

	if (list->count < list->capacity)
		return 0;

	capacity = list->capacity ? list->capacity * 2 : LIST_INITIAL_CAPACITY;
	fields = realloc(list->fields, capacity * sizeof(*fields));
	if (!fields)
		return -ENOMEM;

	list->fields = fields;
	list->capacity = capacity;
	return 0;
}

int field_add(struct extract_context *ctx, const void *value, size_t value_bytes)
{
	struct field_list *list = ctx->list;
	struct field *field;
	char *path_copy;
	char *value_copy;

	if (field_list_full(ctx)) {
		list->fields_cut = true;
		return 0;
	}
	if (list_reserve_one(list))
		return -ENOMEM;

	/* The value gets a NUL after value_bytes so that text values can be
	 * read as C strings. value_bytes still counts any NUL inside. */
	path_copy = strndup(ctx->path, ctx->path_bytes);
	value_copy = malloc(value_bytes + 1);
	if (!path_copy || !value_copy) {
		free(path_copy);
		free(value_copy);
		return -ENOMEM;
	}
	if (value_bytes)
		memcpy(value_copy, value, value_bytes);
	value_copy[value_bytes] = '\0';

	field = &list->fields[list->count++];
	memset(field, 0, sizeof(*field));
	field->path = path_copy;
	field->value = value_copy;
	field->value_bytes = value_bytes;
	field->source = ctx->source;
	memcpy(field->decodings, ctx->chain, ctx->chain_count * sizeof(ctx->chain[0]));
	field->decoding_count = ctx->chain_count;
	return 0;
}

/* ---- path ---- */

void path_set_root(struct extract_context *ctx, const char *root)
{
	size_t bytes = strlen(root);

	if (bytes > EXTRACT_MAX_PATH_BYTES)
		bytes = EXTRACT_MAX_PATH_BYTES;
	memcpy(ctx->path, root, bytes);
	ctx->path[bytes] = '\0';
	ctx->path_bytes = bytes;
}

static bool path_overflow(struct extract_context *ctx)
{
	ctx->list->fields_cut = true;
	return false;
}

/* Control bytes in a name are written as %XX, so that a path is printable
 * and contains no NUL. Every other byte is copied as it is. */
static size_t escaped_bytes(const char *name, size_t name_bytes)
{
	size_t bytes = 0;
	size_t i;

	for (i = 0; i < name_bytes; i++) {
		unsigned char c = (unsigned char)name[i];

		bytes += (c < 0x20 || c == 0x7f) ? 3 : 1;
	}
	return bytes;
}

static void escape_into(char *out, const char *name, size_t name_bytes)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < name_bytes; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f) {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 0x0f];
		} else {
			*out++ = (char)c;
		}
	}
}

bool path_push_name(struct extract_context *ctx, const char *name, size_t name_bytes, size_t *saved)
{
	size_t bytes = escaped_bytes(name, name_bytes);

	if (ctx->path_bytes + 1 + bytes > EXTRACT_MAX_PATH_BYTES)
		return path_overflow(ctx);

	*saved = ctx->path_bytes;
	ctx->path[ctx->path_bytes] = '.';
	escape_into(ctx->path + ctx->path_bytes + 1, name, name_bytes);
	ctx->path_bytes += 1 + bytes;
	ctx->path[ctx->path_bytes] = '\0';
	return true;
}

bool path_push_index(struct extract_context *ctx, size_t index, size_t *saved)
{
	char text[32];

	snprintf(text, sizeof(text), "[%zu]", index);
	return path_push_text(ctx, text, saved);
}

bool path_push_text(struct extract_context *ctx, const char *text, size_t *saved)
{
	size_t bytes = strlen(text);

	if (ctx->path_bytes + bytes > EXTRACT_MAX_PATH_BYTES)
		return path_overflow(ctx);

	*saved = ctx->path_bytes;
	memcpy(ctx->path + ctx->path_bytes, text, bytes + 1);
	ctx->path_bytes += bytes;
	return true;
}

void path_restore(struct extract_context *ctx, size_t saved)
{
	ctx->path_bytes = saved;
	ctx->path[saved] = '\0';
}

/* ---- chain ---- */

bool chain_push(struct extract_context *ctx, enum field_decoding decoding)
{
	if (ctx->chain_count >= FIELD_MAX_DECODINGS) {
		ctx->list->fields_cut = true;
		return false;
	}
	ctx->chain[ctx->chain_count++] = decoding;
	return true;
}

void chain_pop(struct extract_context *ctx)
{
	ctx->chain_count--;
}

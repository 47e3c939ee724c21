/*
 * multipart/form-data bodies (RFC 7578, framed as in RFC 2046 section
 * 5.1.1). Each part becomes "body.multipart.<name>", its content as the
 * value. A file part also gives its filename as
 * "body.multipart.<name>;filename". A body cut before its close delimiter
 * still gives the parts whose header section is complete, the last one
 * with the content up to the cut.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* A part's parameters from Content-Disposition, unquoted. */
struct part_names {
	char *name;
	size_t name_bytes;
	char *filename;
	size_t filename_bytes;
	bool has_filename;
};

/* The body and its delimiter, "--" followed by the boundary. */
struct multipart_body {
	const char *data;
	size_t bytes;
	char *delimiter;
	size_t delimiter_bytes;
};

/* Finds the delimiter at or after offset where it starts a line. Returns
 * its offset, or bytes when there is none. */
static size_t find_delimiter(const struct multipart_body *body, size_t offset)
{
	while (offset < body->bytes) {
		const char *found = memmem(body->data + offset, body->bytes - offset, body->delimiter,
					   body->delimiter_bytes);

		if (!found)
			return body->bytes;
		offset = (size_t)(found - body->data);
		if (offset == 0 || body->data[offset - 1] == '\n')
			return offset;
		offset++;
	}
	return body->bytes;
}

/* Returns the offset after the line feed that ends the line at offset, or
 * bytes when the line has none. */
static size_t next_line(const struct multipart_body *body, size_t offset)
{
	const char *line_feed = memchr(body->data + offset, '\n', body->bytes - offset);

	return line_feed ? (size_t)(line_feed - body->data) + 1 : body->bytes;
}

/* ---- Content-Disposition ---- */

static bool is_header_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Copies a parameter value, a token or a quoted-string, into out (room for
 * the input) and returns its length. In a quoted-string, a backslash before
 * '"' or '\' escapes it (RFC 9110 section 5.6.4). Any other backslash is
 * kept, because browsers do not escape (they write '"' as %22). */
static size_t copy_parameter_value(const char *value, size_t value_bytes, char *out, size_t *consumed)
{
	size_t out_bytes = 0;
	size_t i = 0;

	if (value_bytes == 0 || value[0] != '"') {
		while (i < value_bytes && value[i] != ';')
			out[out_bytes++] = value[i++];
		while (out_bytes > 0 && is_header_space(out[out_bytes - 1]))
			out_bytes--;
		*consumed = i;
		return out_bytes;
	}

	for (i = 1; i < value_bytes && value[i] != '"'; i++) {
		if (value[i] == '\\' && i + 1 < value_bytes && (value[i + 1] == '"' || value[i + 1] == '\\'))
			i++;
		out[out_bytes++] = value[i];
	}
	*consumed = i < value_bytes ? i + 1 : i;
	return out_bytes;
}

/* Reads the name and filename parameters of a Content-Disposition value
 * (NUL-terminated) into names. Their buffers, and scratch for the values
 * of other parameters, have room for the whole value. */
static void parse_disposition(const char *value, struct part_names *names, char *scratch)
{
	const char *cursor = strchr(value, ';');

	while (cursor) {
		const char *parameter;
		size_t parameter_bytes;
		size_t value_bytes;
		size_t consumed;
		char *target;

		cursor++;
		cursor += strspn(cursor, " \t");
		parameter = cursor;
		parameter_bytes = strcspn(cursor, "=;");
		if (cursor[parameter_bytes] != '=') {
			cursor = strchr(cursor, ';');
			continue;
		}
		cursor += parameter_bytes + 1;

		if (parameter_bytes == 4 && strncasecmp(parameter, "name", 4) == 0)
			target = names->name;
		else if (parameter_bytes == 8 && strncasecmp(parameter, "filename", 8) == 0)
			target = names->filename;
		else
			target = scratch;

		value_bytes = copy_parameter_value(cursor, strlen(cursor), target, &consumed);
		if (target == names->name) {
			names->name_bytes = value_bytes;
		} else if (target == names->filename) {
			names->filename_bytes = value_bytes;
			names->has_filename = true;
		}
		cursor = strchr(cursor + consumed, ';');
	}
}

static void part_names_free(struct part_names *names)
{
	free(names->name);
	free(names->filename);
	memset(names, 0, sizeof(*names));
}

/* Parses one header line of a part, of which only Content-Disposition
 * matters. */
static int read_header_line(const char *line, size_t line_bytes, struct part_names *names)
{
	static const char disposition[] = "content-disposition:";
	size_t prefix_bytes = sizeof(disposition) - 1;
	char *value;
	char *scratch;
	size_t value_bytes;

	if (line_bytes < prefix_bytes || strncasecmp(line, disposition, prefix_bytes) != 0)
		return 0;

	value_bytes = line_bytes - prefix_bytes;
	part_names_free(names);
	value = strndup(line + prefix_bytes, value_bytes);
	scratch = malloc(value_bytes + 1);
	names->name = malloc(value_bytes + 1);
	names->filename = malloc(value_bytes + 1);
	if (!value || !scratch || !names->name || !names->filename) {
		free(value);
		free(scratch);
		return -ENOMEM;
	}

	parse_disposition(value, names, scratch);
	free(value);
	free(scratch);
	return 0;
}

/* Reads the header section of a part from offset to its empty line and
 * stores the offset of the content. Returns 1 when the body ends first. */
static int read_part_headers(const struct multipart_body *body, size_t offset, struct part_names *names,
			     size_t *content_offset)
{
	while (offset < body->bytes) {
		size_t end = next_line(body, offset);
		size_t line_bytes = end - offset;
		int err;

		if (body->data[end - 1] != '\n')
			return 1;
		line_bytes--;
		if (line_bytes > 0 && body->data[offset + line_bytes - 1] == '\r')
			line_bytes--;

		if (line_bytes == 0) {
			*content_offset = end;
			return 0;
		}
		err = read_header_line(body->data + offset, line_bytes, names);
		if (err)
			return err;
		offset = end;
	}
	return 1;
}

static int add_part(struct extract_context *ctx, const struct part_names *names, const char *content,
		    size_t content_bytes)
{
	size_t saved;
	size_t filename_saved;
	int err;

	if (!path_push_name(ctx, names->name ? names->name : "", names->name_bytes, &saved))
		return 0;

	err = value_add(ctx, content, content_bytes);
	if (!err && names->has_filename && path_push_text(ctx, ";filename", &filename_saved)) {
		err = field_add(ctx, names->filename, names->filename_bytes);
		path_restore(ctx, filename_saved);
	}

	path_restore(ctx, saved);
	return err;
}

/* Returns where the content before the delimiter at next ends: the line
 * break before a delimiter belongs to the delimiter (RFC 2046 section
 * 5.1.1). */
static size_t content_end(const struct multipart_body *body, size_t content_offset, size_t next)
{
	size_t end = next;

	if (next == body->bytes)
		return end;
	if (end > content_offset && body->data[end - 1] == '\n')
		end--;
	if (end > content_offset && body->data[end - 1] == '\r')
		end--;
	return end;
}

static int extract_parts(struct extract_context *ctx, const struct multipart_body *body, size_t offset)
{
	while (offset < body->bytes) {
		struct part_names names = { 0 };
		size_t after = offset + body->delimiter_bytes;
		size_t content_offset;
		size_t next;
		int err;

		/* The close delimiter has "--" after the boundary. */
		if (after + 2 <= body->bytes && body->data[after] == '-' && body->data[after + 1] == '-')
			return 0;
		if (field_list_full(ctx) && ctx->list->fields_cut)
			return 0;

		err = read_part_headers(body, next_line(body, after), &names, &content_offset);
		if (err) {
			part_names_free(&names);
			return err < 0 ? err : 0;
		}

		next = find_delimiter(body, content_offset);
		err = add_part(ctx, &names, body->data + content_offset,
			       content_end(body, content_offset, next) - content_offset);
		part_names_free(&names);
		if (err)
			return err;
		offset = next;
	}
	return 0;
}

int multipart_extract(struct extract_context *ctx, const char *data, size_t data_bytes, const char *boundary,
		      size_t boundary_bytes)
{
	struct multipart_body body = { .data = data, .bytes = data_bytes };
	size_t offset;
	int err;

	if (!boundary_bytes)
		return 1;
	body.delimiter_bytes = boundary_bytes + 2;
	body.delimiter = malloc(body.delimiter_bytes);
	if (!body.delimiter)
		return -ENOMEM;
	memcpy(body.delimiter, "--", 2);
	memcpy(body.delimiter + 2, boundary, boundary_bytes);

	/* Text before the first delimiter is a preamble, to be ignored. */
	offset = find_delimiter(&body, 0);
	if (offset == body.bytes) {
		free(body.delimiter);
		return 1;
	}

	path_set_root(ctx, "body.multipart");
	err = 0;
	if (chain_push(ctx, FIELD_DECODING_MULTIPART)) {
		err = extract_parts(ctx, &body, offset);
		chain_pop(ctx);
	}
	free(body.delimiter);
	return err;
}

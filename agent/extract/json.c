/*
 * JSON values (RFC 8259) parsed with cJSON and turned into one field per
 * leaf: "path.key" for an object member, "path[index]" for an array element.
 * Strings are added as values (and may be decoded further), numbers as the
 * text they were written with, booleans as "true" or "false". Nulls, empty
 * objects and empty arrays give no field.
 *
 * NOTE: cJSON 1.7 keeps strings as C strings, so a string or key holding
 * "\u0000" is cut at that character.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Position in the JSON text of the next number token. cJSON keeps numbers
 * only as doubles, which cannot hold every integer above 2^53 (long ids, a
 * 19-digit card number). The leaves are visited in document order, so the
 * n-th number leaf is the n-th number token of the text, and its text is
 * taken from there. */
struct number_cursor {
	const char *text;
	size_t text_bytes;
	size_t offset;
};

struct json_walk {
	struct extract_context *ctx;
	struct number_cursor numbers;
};

static bool is_number_start(char c)
{
	return c == '-' || (c >= '0' && c <= '9');
}

static bool is_number_byte(char c)
{
	return is_number_start(c) || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* Skips a string whose opening quote is at offset and returns the offset
 * after its closing quote. */
static size_t skip_string(const char *text, size_t text_bytes, size_t offset)
{
	offset++;
	while (offset < text_bytes && text[offset] != '"')
		offset += text[offset] == '\\' ? 2 : 1;
	return offset + 1;
}

/* Finds the next number token outside strings. Returns false when there
 * is none left. */
static bool next_number(struct number_cursor *cursor, const char **number, size_t *number_bytes)
{
	const char *text = cursor->text;
	size_t offset = cursor->offset;
	size_t start;

	while (offset < cursor->text_bytes && !is_number_start(text[offset])) {
		if (text[offset] == '"')
			offset = skip_string(text, cursor->text_bytes, offset);
		else
			offset++;
	}
	if (offset >= cursor->text_bytes)
		return false;

	start = offset;
	while (offset < cursor->text_bytes && is_number_byte(text[offset]))
		offset++;

	cursor->offset = offset;
	*number = text + start;
	*number_bytes = offset - start;
	return true;
}

static int add_number(struct json_walk *walk, const cJSON *item)
{
	const char *number;
	size_t number_bytes;
	char printed[64];

	if (next_number(&walk->numbers, &number, &number_bytes))
		return field_add(walk->ctx, number, number_bytes);

	/* Only reached if the text and the tree disagree. */
	number_bytes = (size_t)snprintf(printed, sizeof(printed), "%.17g", item->valuedouble);
	return field_add(walk->ctx, printed, number_bytes);
}

/* Passes the cursor over the number tokens of a subtree that is skipped,
 * so that the numbers after it keep their own text. */
static void skip_numbers(struct json_walk *walk, const cJSON *item)
{
	const cJSON *child;
	const char *number;
	size_t number_bytes;

	if (cJSON_IsNumber(item)) {
		next_number(&walk->numbers, &number, &number_bytes);
		return;
	}
	cJSON_ArrayForEach(child, item)
		skip_numbers(walk, child);
}

static int walk_item(struct json_walk *walk, const cJSON *item);

static int walk_children(struct json_walk *walk, const cJSON *parent)
{
	struct extract_context *ctx = walk->ctx;
	const cJSON *child;
	size_t index = 0;
	size_t saved;
	bool pushed;
	int err;

	cJSON_ArrayForEach(child, parent)
	{
		if (field_list_full(ctx) && ctx->list->fields_cut)
			return 0;

		if (cJSON_IsArray(parent))
			pushed = path_push_index(ctx, index, &saved);
		else
			pushed = path_push_name(ctx, child->string, strlen(child->string), &saved);
		index++;

		if (!pushed) {
			skip_numbers(walk, child);
			continue;
		}

		err = walk_item(walk, child);
		path_restore(ctx, saved);
		if (err)
			return err;
	}
	return 0;
}

static int walk_item(struct json_walk *walk, const cJSON *item)
{
	if (cJSON_IsObject(item) || cJSON_IsArray(item))
		return walk_children(walk, item);
	if (cJSON_IsString(item))
		return value_add(walk->ctx, item->valuestring, strlen(item->valuestring));
	if (cJSON_IsNumber(item))
		return add_number(walk, item);
	if (cJSON_IsTrue(item))
		return field_add(walk->ctx, "true", 4);
	if (cJSON_IsFalse(item))
		return field_add(walk->ctx, "false", 5);
	return 0;
}

int json_add_leaves(struct extract_context *ctx, const cJSON *root, const char *text, size_t text_bytes)
{
	struct json_walk walk = {
		.ctx = ctx,
		.numbers = { .text = text, .text_bytes = text_bytes, .offset = 0 },
	};

	return walk_item(&walk, root);
}

cJSON *json_parse_whole(const char *text, size_t text_bytes, bool containers_only)
{
	const char *end = NULL;
	cJSON *root;

	root = cJSON_ParseWithLengthOpts(text, text_bytes, &end, false);
	if (!root)
		return NULL;

	while (end && end < text + text_bytes && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!end || end != text + text_bytes || (containers_only && !cJSON_IsObject(root) && !cJSON_IsArray(root))) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

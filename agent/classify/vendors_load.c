/*
 * Vendor file reader: one JSON file (format 1, docs/VENDORS.md) turned into
 * validated records. Any invalid entry rejects the whole file with one
 * message, so a broken override never loads in part.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/log.h"
#include "vendors_internal.h"

#define VENDOR_FORMAT 1
#define MESSAGE_BYTES 512

static const char *const file_keys[] = { "format", "entries", "comment" };

int vendor_file_reject(const struct vendor_file *file, size_t index, const char *id, const char *format, ...)
{
	char message[MESSAGE_BYTES];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof(message), format, args);
	va_end(args);

	if (index == SIZE_MAX)
		log_error("invalid vendor file %s: %s", file->path, message);
	else if (!id)
		log_error("invalid vendor file %s: entries[%zu]: %s", file->path, index, message);
	else
		log_error("invalid vendor file %s: entries[%zu] (id \"%s\"): %s", file->path, index, id,
			  message);
	return -EINVAL;
}

/* ---- reading the file ---- */

static int read_text(const char *path, char **text, size_t *text_bytes)
{
	FILE *stream = fopen(path, "re");
	char *buffer = NULL;
	size_t length = 0;
	size_t capacity = 0;
	int err = 0;

	if (!stream) {
		err = -errno;
		log_error("failed to open vendor file %s: %s", path, strerror(errno));
		return err;
	}

	for (;;) {
		size_t got;

		if (length + 1 >= capacity) {
			size_t grown_capacity = capacity ? capacity * 2 : 64 * 1024;
			char *grown;

			if (grown_capacity > VENDOR_MAX_FILE_BYTES + 2)
				grown_capacity = VENDOR_MAX_FILE_BYTES + 2;
			grown = realloc(buffer, grown_capacity);
			if (!grown) {
				err = -ENOMEM;
				log_error("out of memory reading vendor file %s", path);
				goto cleanup;
			}
			buffer = grown;
			capacity = grown_capacity;
		}
		got = fread(buffer + length, 1, capacity - 1 - length, stream);
		length += got;
		if (length > VENDOR_MAX_FILE_BYTES) {
			err = -EFBIG;
			log_error("vendor file %s is larger than %u bytes", path, VENDOR_MAX_FILE_BYTES);
			goto cleanup;
		}
		if (got == 0)
			break;
	}
	if (ferror(stream)) {
		err = -EIO;
		log_error("failed to read vendor file %s", path);
		goto cleanup;
	}
	buffer[length] = '\0';
	*text = buffer;
	*text_bytes = length;
	buffer = NULL;

cleanup:
	free(buffer);
	fclose(stream);
	return err;
}

/* Parses text, or logs where the JSON syntax breaks. */
static int parse_json(const struct vendor_file *file, const char *text, size_t text_bytes, cJSON **root)
{
	const char *end = NULL;
	size_t line = 1;
	size_t column = 1;

	if (strlen(text) != text_bytes)
		return vendor_file_reject(file, SIZE_MAX, NULL, "the file contains a NUL byte");

	*root = cJSON_ParseWithOpts(text, &end, 1);
	if (*root)
		return 0;
	if (!end)
		end = text;
	for (const char *c = text; c < end && *c; c++) {
		column = *c == '\n' ? 1 : column + 1;
		line += *c == '\n';
	}
	return vendor_file_reject(file, SIZE_MAX, NULL, "JSON syntax error at line %zu, column %zu", line,
				  column);
}

/* ---- the whole file ---- */

struct id_position {
	const char *id;
	size_t index;
};

static int compare_id_positions(const void *left, const void *right)
{
	const struct id_position *a = left;
	const struct id_position *b = right;
	int order = strcmp(a->id, b->id);

	if (order)
		return order;
	return a->index < b->index ? -1 : a->index > b->index;
}

static int check_unique_ids(const struct vendor_file *file, const struct vendor_batch *batch)
{
	struct id_position *ids;
	int err = 0;

	if (batch->count < 2)
		return 0;
	ids = calloc(batch->count, sizeof(*ids));
	if (!ids) {
		log_error("out of memory reading vendor file %s", file->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < batch->count; i++)
		ids[i] = (struct id_position){ batch->records[i]->entry.id, i };
	qsort(ids, batch->count, sizeof(*ids), compare_id_positions);
	for (size_t i = 1; i < batch->count && !err; i++) {
		if (strcmp(ids[i - 1].id, ids[i].id) == 0)
			err = vendor_file_reject(file, ids[i].index, ids[i].id,
						 "the id is already used by entries[%zu]", ids[i - 1].index);
	}
	free(ids);
	return err;
}

static int read_entries(const struct vendor_file *file, const cJSON *root, struct vendor_batch *batch)
{
	const size_t key_count = sizeof(file_keys) / sizeof(file_keys[0]);
	const cJSON *format = cJSON_GetObjectItemCaseSensitive(root, "format");
	const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
	const cJSON *bad_key;
	const cJSON *item;
	bool repeated = false;
	int err;

	if (!cJSON_IsObject(root))
		return vendor_file_reject(file, SIZE_MAX, NULL, "the top level is not an object");
	bad_key = vendor_json_find_bad_key(root, file_keys, key_count, &repeated);
	if (bad_key)
		return vendor_file_reject(
			file, SIZE_MAX, NULL,
			repeated ? "key \"%s\" appears twice"
				 : "unknown top-level key \"%s\" (expected format, entries, comment)",
			bad_key->string);
	if (!vendor_json_is_string_or_missing(root, "comment"))
		return vendor_file_reject(file, SIZE_MAX, NULL, "\"comment\" is not a string");
	if (!cJSON_IsNumber(format) || format->valuedouble != VENDOR_FORMAT)
		return vendor_file_reject(file, SIZE_MAX, NULL,
					  "missing or unsupported \"format\" (this version reads %d)",
					  VENDOR_FORMAT);
	if (!cJSON_IsArray(entries))
		return vendor_file_reject(file, SIZE_MAX, NULL, "missing \"entries\" (an array)");

	batch->records = calloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof(*batch->records));
	if (!batch->records) {
		log_error("out of memory reading vendor file %s", file->path);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(item, entries) {
		err = vendor_entry_read(file, item, batch->count, &batch->records[batch->count]);
		if (err)
			return err;
		batch->count++;
	}
	return check_unique_ids(file, batch);
}

int vendor_file_parse(const char *name, const char *text, size_t text_bytes, unsigned int generation,
		      struct vendor_batch *batch)
{
	const char *slash = strrchr(name, '/');
	struct vendor_file file = { name, slash ? slash + 1 : name, generation };
	cJSON *root = NULL;
	int err;

	*batch = (struct vendor_batch){ 0 };
	err = parse_json(&file, text, text_bytes, &root);
	if (!err)
		err = read_entries(&file, root, batch);
	if (err)
		vendor_batch_free(batch);
	cJSON_Delete(root);
	return err;
}

int vendor_file_read(const char *path, unsigned int generation, struct vendor_batch *batch)
{
	char *text = NULL;
	size_t text_bytes = 0;
	int err;

	*batch = (struct vendor_batch){ 0 };
	err = read_text(path, &text, &text_bytes);
	if (!err)
		err = vendor_file_parse(path, text, text_bytes, generation, batch);
	free(text);
	return err;
}

void vendor_batch_free(struct vendor_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++)
		vendor_record_free(batch->records[i]);
	free(batch->records);
	*batch = (struct vendor_batch){ 0 };
}

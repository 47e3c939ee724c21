/*
 * HAR 1.2 reader. A small scanner walks the JSON text byte by byte, tracking
 * strings and nesting, until it reaches the array log.entries. Each element
 * of that array is then cut out as one JSON text and parsed with cJSON.
 * cJSON 1.7 has no incremental parser, so this is how a large file is read
 * without holding it whole, and how a truncated one keeps its first entries.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "har.h"

#define READ_BUFFER_BYTES (64 * 1024)
#define KEY_BYTES 16 /* keys longer than "entries" need not be kept whole */
#define MAX_TRACKED_DEPTH 8

struct scanner {
	FILE *file;
	uint64_t offset; /* of the next byte to read */
	int depth;       /* nesting of objects and arrays */
	bool in_string;
	bool escaped;
	char string[KEY_BYTES]; /* the last string token, cut to KEY_BYTES - 1 */
	size_t string_length;
	bool string_complete;
	/* The key each open object at depths 1 .. MAX_TRACKED_DEPTH is in. */
	char keys[MAX_TRACKED_DEPTH + 1][KEY_BYTES];

	char *entry; /* the current entry's JSON text */
	size_t entry_length;
	size_t entry_capacity;

	struct har_status *status;
};

__attribute__((format(printf, 3, 4))) static int fail(struct scanner *scanner, int error, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(scanner->status->error, sizeof(scanner->status->error), format, args);
	va_end(args);
	scanner->status->stopped_at = scanner->offset;
	return error;
}

bool har_file_looks_like(const char *path)
{
	FILE *file = fopen(path, "re");
	int c = EOF;

	if (!file)
		return false;
	/* Skip a UTF-8 byte order mark and whitespace. */
	do {
		c = fgetc(file);
	} while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF);
	fclose(file);
	return c == '{';
}

/* ---- the scanner ---- */

static void track_string_byte(struct scanner *scanner, int c)
{
	if (scanner->escaped) {
		scanner->escaped = false;
	} else if (c == '\\') {
		scanner->escaped = true;
		return;
	} else if (c == '"') {
		scanner->in_string = false;
		scanner->string_complete = true;
		return;
	}
	if (scanner->string_length < KEY_BYTES - 1)
		scanner->string[scanner->string_length++] = (char)c;
	scanner->string[scanner->string_length] = '\0';
}

/* Handles one byte outside strings. Returns 1 when the byte opens the
 * entries array, 0 otherwise. */
static int track_structure(struct scanner *scanner, int c)
{
	switch (c) {
	case '"':
		scanner->in_string = true;
		scanner->string_length = 0;
		scanner->string[0] = '\0';
		scanner->string_complete = false;
		return 0;
	case ':':
		/* The string just read is a key of the object at this depth. */
		if (scanner->depth >= 1 && scanner->depth <= MAX_TRACKED_DEPTH && scanner->string_complete)
			memcpy(scanner->keys[scanner->depth], scanner->string, KEY_BYTES);
		return 0;
	case '{':
	case '[':
		scanner->depth++;
		if (scanner->depth <= MAX_TRACKED_DEPTH)
			scanner->keys[scanner->depth][0] = '\0';
		/* { "log": { "entries": [ ... ] } }: the array opens at depth 3. */
		return c == '[' && scanner->depth == 3 && strcmp(scanner->keys[1], "log") == 0 &&
		       strcmp(scanner->keys[2], "entries") == 0;
	case '}':
	case ']':
		scanner->depth--;
		return 0;
	}
	scanner->string_complete = c == ' ' || c == '\t' || c == '\r' || c == '\n' ? scanner->string_complete : false;
	return 0;
}

static int append_entry_byte(struct scanner *scanner, int c)
{
	if (scanner->entry_length + 1 >= scanner->entry_capacity) {
		size_t capacity = scanner->entry_capacity ? scanner->entry_capacity * 2 : 4096;
		char *grown;

		if (capacity > HAR_MAX_ENTRY_BYTES + 1)
			capacity = HAR_MAX_ENTRY_BYTES + 1;
		if (scanner->entry_length + 1 >= capacity)
			return fail(scanner, -EFBIG, "entry %llu is larger than %u bytes at byte %llu",
				    (unsigned long long)scanner->status->entries, HAR_MAX_ENTRY_BYTES,
				    (unsigned long long)scanner->offset);
		grown = realloc(scanner->entry, capacity);
		if (!grown)
			return fail(scanner, -ENOMEM, "out of memory for entry %llu",
				    (unsigned long long)scanner->status->entries);
		scanner->entry = grown;
		scanner->entry_capacity = capacity;
	}
	scanner->entry[scanner->entry_length++] = (char)c;
	return 0;
}

/* ---- one entry ---- */

static const char *string_at(const cJSON *object, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static double number_at(const cJSON *object, const char *name, double fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

/* Parses an ISO 8601 time such as 2026-12-04T20:01:06.123+01:00 or ...Z.
 * Returns ns since the Unix epoch, or 0 when the text is not such a time. */
static uint64_t parse_time(const char *text)
{
	struct tm parts = { 0 };
	const char *rest;
	uint64_t fraction_ns = 0;
	uint64_t scale = 100000000;
	long offset_s = 0;
	time_t seconds;

	if (!text)
		return 0;
	rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &parts);
	if (!rest)
		return 0;
	if (*rest == '.') {
		for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
			fraction_ns += (uint64_t)(*rest - '0') * scale;
			scale /= 10;
		}
	}
	if ((*rest == '+' || *rest == '-') && strlen(rest) >= 6) {
		long hours = strtol(rest + 1, NULL, 10);
		long minutes = strtol(rest + 4, NULL, 10);

		offset_s = (hours * 3600 + minutes * 60) * (*rest == '-' ? -1 : 1);
	}
	seconds = timegm(&parts) - offset_s;
	return seconds < 0 ? 0 : (uint64_t)seconds * 1000000000u + fraction_ns;
}

static int base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 (either alphabet, padding optional) in place; returns the
 * decoded length. Characters outside the alphabet are skipped. */
static size_t decode_base64(char *text)
{
	size_t out = 0;
	unsigned int bits = 0;
	int bit_count = 0;

	for (const char *in = text; *in && *in != '='; in++) {
		int value = base64_value((unsigned char)*in);

		if (value < 0)
			continue;
		bits = (bits << 6) | (unsigned int)value;
		bit_count += 6;
		if (bit_count >= 8) {
			bit_count -= 8;
			text[out++] = (char)((bits >> bit_count) & 0xff);
		}
	}
	return out;
}

/* Joins postData.params as a form body: name=value&... as the HAR gives
 * them (already URL-encoded by the browser that wrote it). */
static char *join_params(const cJSON *params)
{
	size_t size = 1;
	const cJSON *param;
	char *body;

	cJSON_ArrayForEach(param, params) {
		const char *name = string_at(param, "name");
		const char *value = string_at(param, "value");

		size += (name ? strlen(name) : 0) + (value ? strlen(value) : 0) + 2;
	}
	body = calloc(1, size);
	if (!body)
		return NULL;
	cJSON_ArrayForEach(param, params) {
		const char *name = string_at(param, "name");
		const char *value = string_at(param, "value");

		if (body[0])
			strcat(body, "&");
		strcat(body, name ? name : "");
		strcat(body, "=");
		strcat(body, value ? value : "");
	}
	return body;
}

/* Fills entry->body from request.postData; *owned receives memory to free. */
static int read_post_data(const cJSON *request, struct har_entry *entry, char **owned)
{
	const cJSON *post = cJSON_GetObjectItemCaseSensitive(request, "postData");
	const char *text = string_at(post, "text");
	const char *encoding = string_at(post, "encoding");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(post, "params");

	*owned = NULL;
	if (text) {
		*owned = strdup(text);
		if (!*owned)
			return -ENOMEM;
		entry->body_bytes = encoding && strcmp(encoding, "base64") == 0 ? decode_base64(*owned) : strlen(*owned);
	} else if (cJSON_IsArray(params) && cJSON_GetArraySize(params) > 0) {
		*owned = join_params(params);
		if (!*owned)
			return -ENOMEM;
		entry->body_bytes = strlen(*owned);
	}
	entry->body = (const uint8_t *)*owned;
	return 0;
}

static int read_headers(const cJSON *request, struct har_entry *entry, struct har_header **owned)
{
	const cJSON *headers = cJSON_GetObjectItemCaseSensitive(request, "headers");
	const cJSON *header;
	size_t count = 0;

	*owned = calloc((size_t)cJSON_GetArraySize(headers) + 1, sizeof(**owned));
	if (!*owned)
		return -ENOMEM;
	cJSON_ArrayForEach(header, headers) {
		const char *name = string_at(header, "name");
		const char *value = string_at(header, "value");

		if (!name || !value)
			continue;
		(*owned)[count].name = name;
		(*owned)[count].value = value;
		count++;
	}
	entry->headers = *owned;
	entry->header_count = count;
	return 0;
}

static int deliver_entry(struct scanner *scanner, har_entry_fn on_entry, void *user)
{
	cJSON *root = cJSON_ParseWithLength(scanner->entry, scanner->entry_length);
	const cJSON *request = cJSON_GetObjectItemCaseSensitive(root, "request");
	const cJSON *response = cJSON_GetObjectItemCaseSensitive(root, "response");
	struct har_entry entry = { .index = scanner->status->entries, .response_body_bytes = -1 };
	struct har_header *headers = NULL;
	char *body = NULL;
	int error;

	if (!root || !cJSON_IsObject(request) || !string_at(request, "method") || !string_at(request, "url")) {
		cJSON_Delete(root);
		return fail(scanner, -EBADMSG, "entry %llu ending at byte %llu is not a valid HAR entry (a request "
			    "with method and url is required)",
			    (unsigned long long)entry.index, (unsigned long long)scanner->offset);
	}

	entry.started_ns = parse_time(string_at(root, "startedDateTime"));
	entry.method = string_at(request, "method");
	entry.url = string_at(request, "url");
	entry.http_version = string_at(request, "httpVersion");
	entry.server_ip = string_at(root, "serverIPAddress");
	entry.status = (int)number_at(response, "status", 0);
	entry.response_body_bytes =
		(int64_t)number_at(cJSON_GetObjectItemCaseSensitive(response, "content"), "size", -1);

	error = read_headers(request, &entry, &headers);
	if (!error)
		error = read_post_data(request, &entry, &body);
	if (error)
		error = fail(scanner, error, "out of memory for entry %llu", (unsigned long long)entry.index);
	else
		error = on_entry(user, &entry);
	if (!error)
		scanner->status->entries++;

	free(headers);
	free(body);
	cJSON_Delete(root);
	return error;
}

/* ---- the file ---- */

/* Feeds one byte; returns 0, a negative errno, or 1 when the entries array
 * ended. */
static int scan_byte(struct scanner *scanner, int c, bool *in_entries, har_entry_fn on_entry, void *user)
{
	int error;
	bool in_entry = *in_entries && (scanner->depth > 3 || (scanner->depth == 3 && c == '{'));

	if (in_entry) {
		error = append_entry_byte(scanner, c);
		if (error)
			return error;
	}

	if (scanner->in_string) {
		track_string_byte(scanner, c);
		return 0;
	}
	if (track_structure(scanner, c) == 1) {
		*in_entries = true;
		return 0;
	}

	if (!*in_entries)
		return 0;
	if (in_entry && scanner->depth == 3 && c == '}') {
		error = deliver_entry(scanner, on_entry, user);
		scanner->entry_length = 0;
		return error;
	}
	if (scanner->depth == 2 && c == ']')
		return 1;
	return 0;
}

int har_read(const char *path, har_entry_fn on_entry, void *user, struct har_status *status)
{
	struct scanner scanner = { .status = status };
	unsigned char buffer[READ_BUFFER_BYTES];
	bool in_entries = false;
	size_t count;
	int result = 0;

	memset(status, 0, sizeof(*status));
	scanner.file = fopen(path, "re");
	if (!scanner.file)
		return fail(&scanner, -errno, "cannot open %s: %s", path, strerror(errno));

	while (result == 0 && (count = fread(buffer, 1, sizeof(buffer), scanner.file)) > 0) {
		for (size_t i = 0; i < count && result == 0; i++) {
			result = scan_byte(&scanner, buffer[i], &in_entries, on_entry, user);
			scanner.offset++;
		}
	}

	if (result == 0 && ferror(scanner.file))
		result = fail(&scanner, -EIO, "reading failed at byte %llu", (unsigned long long)scanner.offset);
	else if (result == 0 && !in_entries)
		result = fail(&scanner, -EBADMSG, "no log.entries array found in %llu bytes: not a HAR file?",
			      (unsigned long long)scanner.offset);
	else if (result == 0)
		result = fail(&scanner, -EIO, "HAR truncated at byte %llu, after %llu whole entries",
			      (unsigned long long)scanner.offset, (unsigned long long)status->entries);
	else if (result == 1) {
		result = 0;
		status->complete = true;
		status->stopped_at = scanner.offset;
	}

	fclose(scanner.file);
	free(scanner.entry);
	return result;
}

/*
 * Persona matching: a test person's known values are precomputed in every
 * form a request may carry them (persona_forms.c) and found in a request's
 * fields with one Aho-Corasick automaton (persona_automaton.c). This file
 * loads the persona file, whose format docs/PERSONA.md gives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../common/log.h"
#include "persona_internal.h"

/* Bounds that keep the automaton small: each value gives some hundreds of
 * patterns. */
#define PERSONA_FILE_MAX_BYTES (1024 * 1024)
#define PERSONA_MAX_VALUES 256
#define PERSONA_MAX_VALUE_BYTES 512
#define KIND_LIST_BYTES 512

/* ---- loading ---- */

/* Reads the file into a NUL-terminated buffer. */
static int read_persona_file(const char *path, char **text)
{
	FILE *file = fopen(path, "re");
	size_t length;
	int err = 0;

	*text = NULL;
	if (!file) {
		err = -errno;
		log_error("failed to open persona file %s: %s", path, strerror(errno));
		return err;
	}
	*text = malloc(PERSONA_FILE_MAX_BYTES + 1);
	if (!*text) {
		err = -ENOMEM;
		log_error("persona file %s: out of memory", path);
		goto cleanup;
	}
	length = fread(*text, 1, PERSONA_FILE_MAX_BYTES + 1, file);
	if (ferror(file)) {
		err = -EIO;
		log_error("failed to read persona file %s", path);
	} else if (length > PERSONA_FILE_MAX_BYTES) {
		err = -EFBIG;
		log_error("persona file %s is larger than %d bytes", path, PERSONA_FILE_MAX_BYTES);
	} else if (length == 0) {
		err = -EINVAL;
		log_error("persona file %s is empty; it must be a JSON object with a \"values\" object",
			  path);
	} else {
		(*text)[length] = '\0';
	}

cleanup:
	fclose(file);
	if (err < 0) {
		free(*text);
		*text = NULL;
	}
	return err;
}

/* Logs where JSON parsing stopped, as line and column from 1. */
static void log_json_error(const char *path, const char *text, const char *end)
{
	unsigned int line = 1;
	unsigned int column = 1;
	const char *at;

	for (at = text; end && at < end && *at; at++) {
		column++;
		if (*at == '\n') {
			line++;
			column = 1;
		}
	}
	log_error("persona file %s is not valid JSON: error at line %u, column %u", path, line, column);
}

static bool has_text(const char *text)
{
	return text[strspn(text, " \t\r\n\f\v")] != '\0';
}

/* Copies the value without surrounding whitespace. */
static char *trimmed_copy(const char *text)
{
	size_t start = strspn(text, " \t\r\n\f\v");
	size_t length = strlen(text + start);

	while (length > 0 && strchr(" \t\r\n\f\v", text[start + length - 1]))
		length--;
	return strndup(text + start, length);
}

/* Returns why a value does not fit what the forms of its kind rely on, or
 * NULL when it fits. */
static const char *invalid_reason(enum persona_kind kind, const char *text)
{
	if (strlen(text) > PERSONA_MAX_VALUE_BYTES)
		return "is longer than 512 bytes";
	switch (kind) {
	case PERSONA_KIND_EMAIL:
		return strchr(text, '@') ? NULL : "is not an e-mail address (no @)";
	case PERSONA_KIND_PHONE:
		if (text[strspn(text, "+0123456789 -./()")] != '\0' || !strpbrk(text, "0123456789"))
			return "is not a phone number (only digits, spaces and + - . / ( ) are allowed)";
		return NULL;
	case PERSONA_KIND_PAYMENT_CARD:
		if (text[strspn(text, "0123456789 -")] != '\0' || !strpbrk(text, "0123456789"))
			return "is not a card number (only digits, spaces and - are allowed)";
		return NULL;
	default:
		return NULL;
	}
}

static int add_value(struct persona *persona, const char *path, const char *kind_name, enum persona_kind kind,
		     size_t index, const cJSON *item)
{
	struct persona_value *value;
	const char *reason;
	char *text;
	int err;

	if (!cJSON_IsString(item) || !has_text(item->valuestring)) {
		log_error("persona file %s: values.%s[%zu] is %s; write each value as a non-empty JSON "
			  "string", path, kind_name, index, cJSON_IsString(item) ? "empty" : "not a string");
		return -EINVAL;
	}
	if (persona->value_count == PERSONA_MAX_VALUES) {
		log_error("persona file %s has more than %d values", path, PERSONA_MAX_VALUES);
		return -EINVAL;
	}
	text = trimmed_copy(item->valuestring);
	if (!text)
		return -ENOMEM;
	reason = invalid_reason(kind, text);
	if (reason) {
		log_error("persona file %s: values.%s[%zu] %s", path, kind_name, index, reason);
		free(text);
		return -EINVAL;
	}

	value = &persona->values[persona->value_count];
	value->kind = kind;
	value->normalised = persona_normalised_value(kind, text);
	err = value->normalised ? 0 : -ENOMEM;
	if (err == 0)
		err = persona_forms_add(&persona->patterns, (uint32_t)persona->value_count, kind, text);
	persona->value_count++;
	free(text);
	return err;
}

static int add_kind(struct persona *persona, const char *path, const cJSON *member)
{
	enum persona_kind kind = persona_kind_of(member->string);
	char kinds[KIND_LIST_BYTES];
	const cJSON *item;
	size_t index = 0;
	int err = 0;

	if (kind == PERSONA_KIND_COUNT) {
		persona_kind_list(kinds, sizeof(kinds));
		log_error("persona file %s: unknown value kind \"%s\" in \"values\"; the kinds are %s", path,
			  member->string, kinds);
		return -EINVAL;
	}
	if (cJSON_IsString(member))
		return add_value(persona, path, member->string, kind, 0, member);
	if (!cJSON_IsArray(member)) {
		log_error("persona file %s: values.%s must be a string or an array of strings", path,
			  member->string);
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, member) {
		err = add_value(persona, path, member->string, kind, index++, item);
		if (err < 0)
			break;
	}
	return err;
}

static int add_values(struct persona *persona, const char *path, const cJSON *root)
{
	const cJSON *values = cJSON_GetObjectItemCaseSensitive(root, "values");
	const cJSON *member;
	int err = 0;

	if (!cJSON_IsObject(values)) {
		log_error("persona file %s has no \"values\" object", path);
		return -EINVAL;
	}
	cJSON_ArrayForEach(member, values) {
		err = add_kind(persona, path, member);
		if (err < 0)
			return err;
	}
	if (persona->value_count == 0) {
		log_error("persona file %s has no values; add them to \"values\" by kind, such as "
			  "\"email\": [\"jane.doe@example.com\"]", path);
		return -EINVAL;
	}
	return 0;
}

/* Checks the top level: an object with "values" and an optional "name". */
static int read_root(struct persona *persona, const char *path, const cJSON *root)
{
	const cJSON *member;

	if (!cJSON_IsObject(root)) {
		log_error("persona file %s is not a JSON object with a \"values\" object", path);
		return -EINVAL;
	}
	cJSON_ArrayForEach(member, root) {
		if (strcmp(member->string, "name") == 0 && cJSON_IsString(member))
			continue;
		if (strcmp(member->string, "values") == 0)
			continue;
		log_error("persona file %s: %s \"%s\"; the top level has \"name\" (a string) and \"values\"",
			  path, strcmp(member->string, "name") == 0 ? "invalid member" : "unknown member",
			  member->string);
		return -EINVAL;
	}
	member = cJSON_GetObjectItemCaseSensitive(root, "name");
	persona->name = strdup(cJSON_IsString(member) ? member->valuestring : "");
	return persona->name ? 0 : -ENOMEM;
}

static int finish(struct persona *persona)
{
	size_t i;

	persona->whole_field = calloc(persona->patterns.count + 1, sizeof(*persona->whole_field));
	if (!persona->whole_field)
		return -ENOMEM;
	for (i = 0; i < persona->patterns.count; i++) {
		if (persona->patterns.items[i].whole_field)
			persona->whole_field[persona->whole_field_count++] = (uint32_t)i;
	}
	/* The set is needed only while adding. */
	free(persona->patterns.slots);
	persona->patterns.slots = NULL;
	persona->patterns.slot_count = 0;
	return persona_automaton_build(&persona->automaton, persona->patterns.items, persona->patterns.count);
}

int persona_load(struct persona **persona, const char *path)
{
	struct persona *loaded = calloc(1, sizeof(*loaded));
	const char *end = NULL;
	cJSON *root = NULL;
	char *text = NULL;
	int err = -ENOMEM;

	*persona = NULL;
	if (!loaded)
		goto cleanup;
	loaded->values = calloc(PERSONA_MAX_VALUES, sizeof(*loaded->values));
	if (!loaded->values)
		goto cleanup;
	err = read_persona_file(path, &text);
	if (err < 0)
		goto cleanup;
	root = cJSON_ParseWithOpts(text, &end, true);
	if (!root) {
		log_json_error(path, text, end);
		err = -EINVAL;
		goto cleanup;
	}

	err = read_root(loaded, path, root);
	if (err == 0)
		err = add_values(loaded, path, root);
	if (err == 0)
		err = finish(loaded);
	if (err == -ENOMEM)
		log_error("persona file %s: out of memory", path);
	if (err < 0)
		goto cleanup;
	if (loaded->patterns.digest_failed)
		log_warn("persona file %s: OpenSSL rejected a hash algorithm (in FIPS mode it rejects MD5), "
			 "so forms hashed with it are not found", path);
	log_info("persona \"%s\" from %s: %zu values, %zu patterns, matcher of %zu KiB", loaded->name, path,
		 loaded->value_count, loaded->patterns.count, persona_memory_bytes(loaded) / 1024);

	*persona = loaded;
	loaded = NULL;

cleanup:
	cJSON_Delete(root);
	free(text);
	persona_free(loaded);
	return err;
}

size_t persona_pattern_count(const struct persona *persona)
{
	return persona ? persona->patterns.count : 0;
}

size_t persona_memory_bytes(const struct persona *persona)
{
	size_t bytes;
	size_t i;

	if (!persona)
		return 0;
	bytes = sizeof(*persona) + persona_automaton_bytes(persona->automaton) +
		persona->patterns.count * sizeof(*persona->patterns.items) +
		persona->whole_field_count * sizeof(*persona->whole_field);
	for (i = 0; i < persona->patterns.count; i++)
		bytes += persona->patterns.items[i].length + 1;
	return bytes;
}

void persona_free(struct persona *persona)
{
	size_t i;

	if (!persona)
		return;
	for (i = 0; i < persona->value_count; i++)
		free(persona->values[i].normalised);
	free(persona->values);
	free(persona->name);
	persona_pattern_list_free(&persona->patterns);
	free(persona->whole_field);
	persona_automaton_free(persona->automaton);
	free(persona);
}

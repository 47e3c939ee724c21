/*
 * Pixel decoders. A decoder is data (data/decoders.json): for one pixel's
 * wire format it names the request fields that carry the event, the account
 * or pixel id, the page URL the pixel reports and the person's identity.
 * Paths are matched relative to the parameter roots of extraction (query,
 * form, multipart, JSON and NDJSON bodies), so one rule covers a pixel that
 * sends the same parameter in the URL or in the body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>

#include "../common/log.h"
#include "classify.h"

struct path_list {
	char **items;
	/* For events only: when names[i] is set, a field at items[i] names
	 * the event names[i] by being there (LinkedIn's conversionId is a
	 * number, the event is a conversion). */
	char **names;
	size_t count;
};

struct identity_rule {
	char *pattern;
	char *meaning;
};

struct decoder {
	char *name;
	struct path_list event;
	struct path_list account_id;
	struct path_list page_url;
	struct identity_rule *identity;
	size_t identity_count;
	char *event_default;
	pcre2_code *account_in_path; /* its capture group 1 in the URL path is the account */
};

struct decoder_table {
	struct decoder *items;
	size_t count;
};

/* Roots under which the rest of a path is a pixel's parameter name. Longer
 * roots first, so "body.form[" is not taken for "body.form.". */
static const char *const parameter_roots[] = {
	"query.", "body.form.", "body.multipart.", "body.json.",
};
static const char *const indexed_roots[] = { "body.form[", "body.ndjson[" };

const char *decoder_parameter_name(const char *path)
{
	for (size_t i = 0; i < sizeof(parameter_roots) / sizeof(parameter_roots[0]); i++) {
		size_t length = strlen(parameter_roots[i]);

		if (strncmp(path, parameter_roots[i], length) == 0)
			return path + length;
	}
	for (size_t i = 0; i < sizeof(indexed_roots) / sizeof(indexed_roots[0]); i++) {
		size_t length = strlen(indexed_roots[i]);
		const char *end;

		if (strncmp(path, indexed_roots[i], length) != 0)
			continue;
		end = strchr(path + length, ']');
		if (end && end[1] == '.')
			return end + 2;
	}
	return NULL;
}

/* Matches text against a glob in which '*' matches any run of bytes, as in
 * "batch[*].event". */
static bool glob_match(const char *pattern, const char *text)
{
	const char *star = NULL;
	const char *resume = NULL;

	while (*text) {
		if (*pattern == '*') {
			star = pattern++;
			resume = text;
		} else if (*pattern == *text) {
			pattern++;
			text++;
		} else if (star) {
			pattern = star + 1;
			text = ++resume;
		} else {
			return false;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

static void decoder_clear(struct decoder *decoder)
{
	struct path_list *lists[] = { &decoder->event, &decoder->account_id, &decoder->page_url };

	free(decoder->name);
	for (size_t l = 0; l < 3; l++) {
		for (size_t i = 0; i < lists[l]->count; i++) {
			free(lists[l]->items[i]);
			if (lists[l]->names)
				free(lists[l]->names[i]);
		}
		free(lists[l]->items);
		free(lists[l]->names);
	}
	for (size_t i = 0; i < decoder->identity_count; i++) {
		free(decoder->identity[i].pattern);
		free(decoder->identity[i].meaning);
	}
	free(decoder->identity);
	free(decoder->event_default);
	pcre2_code_free(decoder->account_in_path);
}

void decoder_table_free(struct decoder_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->count; i++)
		decoder_clear(&table->items[i]);
	free(table->items);
	free(table);
}

/* Reads one entry of a path list: a path, or for events an object
 * {"present": path, "event": name}. */
static int read_path_entry(const cJSON *item, bool named, struct path_list *list)
{
	const cJSON *present = cJSON_GetObjectItemCaseSensitive(item, "present");
	const cJSON *event = cJSON_GetObjectItemCaseSensitive(item, "event");
	size_t index = list->count++;

	if (cJSON_IsString(item)) {
		list->items[index] = strdup(item->valuestring);
		return list->items[index] ? 0 : -ENOMEM;
	}
	if (!named || !cJSON_IsString(present) || !cJSON_IsString(event))
		return -EINVAL;
	list->items[index] = strdup(present->valuestring);
	list->names[index] = strdup(event->valuestring);
	return list->items[index] && list->names[index] ? 0 : -ENOMEM;
}

static int read_path_list(const cJSON *object, const char *key, bool named, struct path_list *list)
{
	const cJSON *array = cJSON_GetObjectItemCaseSensitive(object, key);
	size_t size;
	const cJSON *item;
	int error;

	if (!array)
		return 0;
	if (!cJSON_IsArray(array))
		return -EINVAL;
	size = (size_t)cJSON_GetArraySize(array) + 1;
	list->items = calloc(size, sizeof(*list->items));
	if (named)
		list->names = calloc(size, sizeof(*list->names));
	if (!list->items || (named && !list->names))
		return -ENOMEM;
	cJSON_ArrayForEach(item, array) {
		error = read_path_entry(item, named, list);
		if (error)
			return error;
	}
	return 0;
}

static int read_identity(const cJSON *object, struct decoder *decoder)
{
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(object, "identity");
	const cJSON *item;

	if (!map)
		return 0;
	if (!cJSON_IsObject(map))
		return -EINVAL;
	decoder->identity = calloc((size_t)cJSON_GetArraySize(map) + 1, sizeof(*decoder->identity));
	if (!decoder->identity)
		return -ENOMEM;
	cJSON_ArrayForEach(item, map) {
		struct identity_rule *rule = &decoder->identity[decoder->identity_count];

		if (!cJSON_IsString(item))
			return -EINVAL;
		rule->pattern = strdup(item->string);
		rule->meaning = strdup(item->valuestring);
		decoder->identity_count++;
		if (!rule->pattern || !rule->meaning)
			return -ENOMEM;
	}
	return 0;
}

static int read_optional_text(const cJSON *object, const char *key, char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);

	if (!item)
		return 0;
	if (!cJSON_IsString(item))
		return -EINVAL;
	*out = strdup(item->valuestring);
	return *out ? 0 : -ENOMEM;
}

static int compile_path_pattern(const char *text, struct decoder *decoder)
{
	PCRE2_SIZE offset;
	int code;

	decoder->account_in_path = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, 0, &code, &offset, NULL);
	return decoder->account_in_path ? 0 : -EINVAL;
}

static int read_decoder(const cJSON *object, struct decoder *decoder)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(object, "name");
	char *path_pattern = NULL;
	int error;

	if (!cJSON_IsString(name))
		return -EINVAL;
	decoder->name = strdup(name->valuestring);
	if (!decoder->name)
		return -ENOMEM;

	error = read_path_list(object, "event", true, &decoder->event);
	if (!error)
		error = read_path_list(object, "account_id", false, &decoder->account_id);
	if (!error)
		error = read_path_list(object, "page_url", false, &decoder->page_url);
	if (!error)
		error = read_identity(object, decoder);
	if (!error)
		error = read_optional_text(object, "event_default", &decoder->event_default);
	if (!error)
		error = read_optional_text(object, "account_id_in_path", &path_pattern);
	if (!error && path_pattern)
		error = compile_path_pattern(path_pattern, decoder);
	free(path_pattern);
	return error;
}

int decoder_table_parse(struct decoder_table **out, const char *name, const char *text, size_t length)
{
	struct decoder_table *table = calloc(1, sizeof(*table));
	cJSON *root = cJSON_ParseWithLength(text, length);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "decoders");
	const cJSON *item;
	int error = 0;

	if (!table) {
		error = -ENOMEM;
		goto cleanup;
	}
	if (!cJSON_IsArray(list)) {
		log_error("%s: not a decoder file: no \"decoders\" array", name);
		error = -EINVAL;
		goto cleanup;
	}
	table->items = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*table->items));
	if (!table->items) {
		error = -ENOMEM;
		goto cleanup;
	}
	cJSON_ArrayForEach(item, list) {
		error = read_decoder(item, &table->items[table->count++]);
		if (error) {
			log_error("%s: decoder %zu is invalid: %s", name, table->count,
				  error == -ENOMEM ? "out of memory" : "a member has the wrong type or a bad pattern");
			goto cleanup;
		}
	}

cleanup:
	cJSON_Delete(root);
	if (error) {
		decoder_table_free(table);
		table = NULL;
	}
	*out = table;
	return error;
}

const struct decoder *decoder_find(const struct decoder_table *table, const char *name)
{
	for (size_t i = 0; table && name && i < table->count; i++)
		if (strcmp(table->items[i].name, name) == 0)
			return &table->items[i];
	return NULL;
}

const char *decoder_name(const struct decoder *decoder)
{
	return decoder->name;
}

static void add_event(struct pixel_report *report, const char *event)
{
	for (size_t i = 0; i < report->event_count; i++)
		if (strcmp(report->events[i], event) == 0)
			return;
	if (report->event_count < PIXEL_MAX_EVENTS)
		report->events[report->event_count++] = event;
}

static void add_identity(struct pixel_report *report, const struct field_list *fields, size_t field,
			 const char *meaning)
{
	/* A value decoded further repeats its path: name each field once. */
	for (size_t i = 0; i < report->identity_count; i++)
		if (strcmp(report->identity[i].path, fields->fields[field].path) == 0)
			return;
	if (report->identity_count < PIXEL_MAX_IDENTITY) {
		report->identity[report->identity_count].path = fields->fields[field].path;
		report->identity[report->identity_count].field = field;
		report->identity[report->identity_count].meaning = meaning;
		report->identity_count++;
	}
}

static void account_from_path(const struct decoder *decoder, const char *target, struct pixel_report *report)
{
	pcre2_match_data *match = pcre2_match_data_create_from_pattern(decoder->account_in_path, NULL);
	PCRE2_SIZE *vector;
	size_t length;

	if (!match)
		return;
	length = strcspn(target, "?#");
	if (pcre2_match(decoder->account_in_path, (PCRE2_SPTR)target, length, 0, 0, match, NULL) >= 2) {
		vector = pcre2_get_ovector_pointer(match);
		length = vector[3] - vector[2];
		if (length >= sizeof(report->account_buffer))
			length = sizeof(report->account_buffer) - 1;
		memcpy(report->account_buffer, target + vector[2], length);
		report->account_buffer[length] = '\0';
		report->account_id = report->account_buffer;
	}
	pcre2_match_data_free(match);
}

/* Returns the index of the first field from start on whose parameter name
 * matches pattern, or fields->count when none does. */
static size_t next_match(const struct field_list *fields, size_t start, const char *pattern)
{
	for (size_t i = start; i < fields->count; i++) {
		const char *name = decoder_parameter_name(fields->fields[i].path);

		if (name && fields->fields[i].value_bytes && glob_match(pattern, name))
			return i;
	}
	return fields->count;
}

/* Returns the value of the first field that matches the earliest pattern of
 * list, because the list is in order of preference. */
static const char *first_value(const struct path_list *list, const struct field_list *fields)
{
	for (size_t p = 0; p < list->count; p++) {
		size_t i = next_match(fields, 0, list->items[p]);

		if (i < fields->count)
			return fields->fields[i].value;
	}
	return NULL;
}

/* Collects the events named by the earliest pattern that names any. A batch
 * (GA4 lines, TikTok's batch array) names several. */
static void read_events(const struct decoder *decoder, const struct field_list *fields,
			struct pixel_report *report)
{
	for (size_t p = 0; p < decoder->event.count && report->event_count == 0; p++) {
		const char *name = decoder->event.names ? decoder->event.names[p] : NULL;

		for (size_t i = next_match(fields, 0, decoder->event.items[p]); i < fields->count;
		     i = next_match(fields, i + 1, decoder->event.items[p]))
			add_event(report, name ? name : fields->fields[i].value);
	}
	if (report->event_count == 0 && decoder->event_default)
		add_event(report, decoder->event_default);
}

static void read_identity_fields(const struct decoder *decoder, const struct field_list *fields,
				 struct pixel_report *report)
{
	for (size_t i = 0; i < fields->count; i++) {
		const char *name = decoder_parameter_name(fields->fields[i].path);

		if (!name || fields->fields[i].value_bytes == 0)
			continue;
		for (size_t r = 0; r < decoder->identity_count; r++) {
			if (glob_match(decoder->identity[r].pattern, name)) {
				add_identity(report, fields, i, decoder->identity[r].meaning);
				break;
			}
		}
	}
}

void decoder_run(const struct decoder *decoder, const struct field_list *fields, const char *target,
		 struct pixel_report *report)
{
	memset(report, 0, sizeof(*report));
	read_events(decoder, fields, report);
	report->account_id = first_value(&decoder->account_id, fields);
	report->page_url = first_value(&decoder->page_url, fields);
	read_identity_fields(decoder, fields, report);

	if (!report->account_id && decoder->account_in_path && target)
		account_from_path(decoder, target, report);
}

/*
 * One entry of a vendor file: its fields and its rules, checked and copied
 * into a record. docs/VENDORS.md gives the format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "vendors_internal.h"

#define MAX_ID_BYTES 64
#define MAX_NAME_BYTES 200 /* vendor, product and company */

static const char *const categories[] = {
	"advertising", "analytics", "social", "session_replay", "tag_manager",
	"customer_data_platform", "error_monitoring", "consent", "browser",
};

#define CATEGORY_LIST                                                                           \
	"advertising, analytics, social, session_replay, tag_manager, customer_data_platform, " \
	"error_monitoring, consent or browser"

static const char *const entry_keys[] = {
	"id", "vendor", "product", "company", "category", "decoder", "rules", "comment",
};

static bool is_listed(const char *name, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(name, list[i]) == 0)
			return true;
	}
	return false;
}

const cJSON *vendor_json_find_bad_key(const cJSON *object, const char *const *keys, size_t key_count,
				      bool *repeated)
{
	const cJSON *member;

	cJSON_ArrayForEach(member, object) {
		*repeated = false;
		if (!is_listed(member->string, keys, key_count))
			return member;
		for (const cJSON *before = object->child; before != member; before = before->next) {
			if (strcmp(before->string, member->string) == 0) {
				*repeated = true;
				return member;
			}
		}
	}
	return NULL;
}

/* An id or decoder name: a lowercase letter or digit, then letters, digits,
 * '-', '_' or '.'. */
static bool is_valid_name(const char *text)
{
	size_t length = strlen(text);

	if (length == 0 || length > MAX_ID_BYTES)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = text[i];
		bool alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alphanumeric && (i == 0 || (c != '-' && c != '_' && c != '.')))
			return false;
	}
	return true;
}

static bool is_valid_display_text(const char *text)
{
	size_t length = strlen(text);

	if (length == 0 || length > MAX_NAME_BYTES)
		return false;
	for (size_t i = 0; i < length; i++) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return false;
	}
	return true;
}

static const char *string_member(const cJSON *object, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool vendor_json_is_string_or_missing(const cJSON *object, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);

	return !item || cJSON_IsString(item);
}

static int copy_string(const char *text, const char **copy)
{
	*copy = strdup(text);
	return *copy ? 0 : -ENOMEM;
}

/* Checks vendor, product, company and category and copies them with id and
 * decoder into record->entry. */
static int read_entry_fields(const struct vendor_file *file, const cJSON *object, size_t index,
			     const char *id, struct vendor_record *record)
{
	static const char *const display_names[] = { "vendor", "product", "company" };
	const char **display_copies[] = { &record->entry.vendor, &record->entry.product,
					  &record->entry.company };
	const cJSON *decoder = cJSON_GetObjectItemCaseSensitive(object, "decoder");
	const char *category = string_member(object, "category");
	int err = 0;

	for (size_t i = 0; i < 3; i++) {
		const char *text = string_member(object, display_names[i]);

		if (!text)
			return vendor_file_reject(file, index, id, "missing \"%s\" (a string)",
						  display_names[i]);
		if (!is_valid_display_text(text))
			return vendor_file_reject(
				file, index, id,
				"invalid \"%s\": expected 1 to %d characters without control characters",
				display_names[i], MAX_NAME_BYTES);
		err = err ? err : copy_string(text, display_copies[i]);
	}
	if (!category)
		return vendor_file_reject(file, index, id, "missing \"category\" (a string)");
	for (size_t i = 0; i < sizeof(categories) / sizeof(categories[0]); i++) {
		if (strcmp(category, categories[i]) == 0)
			record->entry.category = categories[i];
	}
	if (!record->entry.category)
		return vendor_file_reject(file, index, id, "unknown category \"%s\" (expected %s)", category,
					  CATEGORY_LIST);
	if (decoder && !cJSON_IsNull(decoder)) {
		if (!cJSON_IsString(decoder) || !is_valid_name(decoder->valuestring))
			return vendor_file_reject(
				file, index, id,
				"invalid \"decoder\": expected null or a name such as \"meta-pixel\"");
		err = err ? err : copy_string(decoder->valuestring, &record->entry.decoder);
	}
	err = err ? err : copy_string(id, &record->entry.id);
	if (err)
		log_error("out of memory reading vendor file %s", file->path);
	return err;
}

/* Splits a rule's text into host and path. Returns NULL, or why the text is
 * not a rule. */
static const char *parse_rule_text(const char *text, struct vendor_rule *rule)
{
	size_t length = strlen(text);
	size_t host_bytes = strcspn(text, "/");
	size_t label_start = 0;
	const char *path = text + host_bytes;

	if (host_bytes == 0)
		return "it has no host";
	if (host_bytes > VENDOR_MAX_HOST_BYTES)
		return "its host is longer than 253 bytes";
	if (memchr(text, '*', host_bytes))
		return "'*' can only end a path, as in \"example.com/collect*\"";
	for (size_t i = 0; i <= host_bytes; i++) {
		char c = i < host_bytes ? text[i] : '.';
		bool alphanumeric =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (alphanumeric)
			continue;
		if (c == '-' && i > label_start && i + 1 < host_bytes && text[i + 1] != '.')
			continue;
		if (c != '.' || i == label_start || i - label_start > 63)
			return "its host is not a host name (labels of 1 to 63 letters, digits, inner '-')";
		label_start = i + 1;
	}
	if (!memchr(text, '.', host_bytes))
		return "its host has a single label; a rule names at least a registrable domain";
	label_start = (size_t)((const char *)memrchr(text, '.', host_bytes) + 1 - text);
	if (strspn(text + label_start, "0123456789") >= host_bytes - label_start)
		return "its last label is a number; IP addresses are not supported";

	rule->host_bytes = host_bytes;
	rule->path_bytes = length - host_bytes;
	rule->path_is_plain_prefix = length > host_bytes && text[length - 1] == '*';
	if (rule->path_is_plain_prefix)
		rule->path_bytes--;
	if (rule->path_bytes > VENDOR_MAX_PATH_BYTES)
		return "its path is longer than 1024 bytes";
	for (size_t i = 0; i < rule->path_bytes; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '*')
			return "its path has a space, control character, '?', '#', or '*' before the end";
	}
	return NULL;
}

static int read_rule(const struct vendor_file *file, const char *text, size_t index, const char *id,
		     struct vendor_record *record, struct vendor_rule *rule)
{
	const char *reason = parse_rule_text(text, rule);
	int length;

	if (reason)
		return vendor_file_reject(file, index, id, "invalid rule \"%s\": %s", text, reason);

	/* host and path share one block: "facebook.com\0/tr\0". */
	rule->host = malloc(rule->host_bytes + rule->path_bytes + 2);
	length = asprintf(&rule->label, "%s:%s %s", file->base_name, id, text);
	if (!rule->host || length < 0) {
		rule->label = length < 0 ? NULL : rule->label;
		log_error("out of memory reading vendor file %s", file->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rule->host_bytes; i++) {
		char c = text[i];

		rule->host[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	rule->host[rule->host_bytes] = '\0';
	rule->path = NULL;
	if (rule->path_bytes > 0) {
		char *path = rule->host + rule->host_bytes + 1;

		memcpy(path, text + rule->host_bytes, rule->path_bytes);
		path[rule->path_bytes] = '\0';
		rule->path = path;
	}
	rule->record = record;
	return 0;
}

static int read_rules(const struct vendor_file *file, const cJSON *object, size_t index, const char *id,
		      struct vendor_record *record)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(object, "rules");
	const cJSON *item;
	int count = cJSON_GetArraySize(rules);
	int err;

	if (!cJSON_IsArray(rules) || count == 0)
		return vendor_file_reject(file, index, id,
					  "missing \"rules\" (a non-empty array of strings)");
	record->rules = calloc((size_t)count, sizeof(*record->rules));
	if (!record->rules) {
		log_error("out of memory reading vendor file %s", file->path);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(item, rules) {
		if (!cJSON_IsString(item))
			return vendor_file_reject(file, index, id, "rules[%zu] is not a string",
						  record->rule_count);
		err = read_rule(file, item->valuestring, index, id, record,
				&record->rules[record->rule_count]);
		record->rule_count++;
		if (err)
			return err;
	}
	return 0;
}

int vendor_entry_read(const struct vendor_file *file, const cJSON *object, size_t index,
		      struct vendor_record **result)
{
	const size_t key_count = sizeof(entry_keys) / sizeof(entry_keys[0]);
	struct vendor_record *record = NULL;
	const cJSON *bad_key;
	const char *id;
	bool repeated = false;
	int err;

	if (!cJSON_IsObject(object))
		return vendor_file_reject(file, index, NULL, "not an object");
	id = string_member(object, "id");
	if (!id)
		return vendor_file_reject(file, index, NULL, "missing \"id\" (a string)");
	if (!is_valid_name(id))
		return vendor_file_reject(
			file, index, NULL,
			"invalid id \"%s\": expected 1 to %d lowercase letters, digits, '-', '_' or '.', "
			"starting with a letter or digit",
			id, MAX_ID_BYTES);
	bad_key = vendor_json_find_bad_key(object, entry_keys, key_count, &repeated);
	if (bad_key)
		return vendor_file_reject(
			file, index, id,
			repeated ? "key \"%s\" appears twice"
				 : "unknown key \"%s\" (expected id, vendor, product, company, category, "
				   "decoder, rules, comment)",
			bad_key->string);
	if (!vendor_json_is_string_or_missing(object, "comment"))
		return vendor_file_reject(file, index, id, "\"comment\" is not a string");

	record = calloc(1, sizeof(*record));
	if (!record) {
		log_error("out of memory reading vendor file %s", file->path);
		return -ENOMEM;
	}
	record->generation = file->generation;
	err = read_entry_fields(file, object, index, id, record);
	if (!err)
		err = read_rules(file, object, index, id, record);
	if (err) {
		vendor_record_free(record);
		return err;
	}
	*result = record;
	return 0;
}

void vendor_record_free(struct vendor_record *record)
{
	if (!record)
		return;
	for (size_t i = 0; i < record->rule_count; i++) {
		free(record->rules[i].host);
		free(record->rules[i].label);
	}
	free(record->rules);
	free((char *)record->entry.id);
	free((char *)record->entry.vendor);
	free((char *)record->entry.product);
	free((char *)record->entry.company);
	free((char *)record->entry.decoder);
	/* category points into the static list. */
	free(record);
}

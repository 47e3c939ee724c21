/*
 * Severity of an event and of each personal-data finding in it. The
 * default policy gives, by what was sent to whom:
 *
 *   high    personal data or a hashed identifier to a third-party tracker
 *   medium  personal data to another third party
 *   info    personal data to the first party
 *   low     a third-party tracker request without personal data
 *   none    anything else
 *
 * A request whose party is unknown (no Referer, Origin or Sec-Fetch-Site)
 * counts as third party when it goes to a tracker, since trackers are run
 * by someone other than the site, and as first party otherwise.
 *
 * A policy file (docs/POLICY.md) lists rules that set the severity of the
 * findings they match, by site, vendor, tracker category and personal-data
 * category. The first matching rule wins. An event's severity is the
 * highest of its findings'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "../common/log.h"
#include "policy.h"

#define POLICY_FILE_MAX_BYTES (1u << 20)

static const char *const severity_names[] = { "none", "info", "low", "medium", "high" };

struct policy_rule {
	char *site;             /* registrable domain, NULL: any */
	char *vendor;           /* vendor name, NULL: any */
	char *tracker_category; /* "advertising", ..., NULL: any */
	char *pii_category;     /* "email", "hashed_email", ..., NULL: any */
	enum severity severity;
};

struct policy {
	struct policy_rule *rules;
	size_t count;
};

const char *severity_name(enum severity severity)
{
	return (size_t)severity < sizeof(severity_names) / sizeof(severity_names[0]) ? severity_names[severity] : "none";
}

static int severity_from_name(const char *name, enum severity *severity)
{
	for (size_t i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]); i++) {
		if (strcmp(name, severity_names[i]) == 0) {
			*severity = (enum severity)i;
			return 0;
		}
	}
	return -EINVAL;
}

void policy_free(struct policy *policy)
{
	if (!policy)
		return;
	for (size_t i = 0; i < policy->count; i++) {
		free(policy->rules[i].site);
		free(policy->rules[i].vendor);
		free(policy->rules[i].tracker_category);
		free(policy->rules[i].pii_category);
	}
	free(policy->rules);
	free(policy);
}

/* Copies an optional string member; "*" is the same as leaving it out. */
static int read_match(const cJSON *rule, const char *key, char **out)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(rule, key);

	*out = NULL;
	if (!item || (cJSON_IsString(item) && strcmp(item->valuestring, "*") == 0))
		return 0;
	if (!cJSON_IsString(item) || !item->valuestring[0])
		return -EINVAL;
	*out = strdup(item->valuestring);
	return *out ? 0 : -ENOMEM;
}

/* Whether every member of object is one of keys: a misspelt key must not
 * turn a rule into one that matches everything. */
static bool only_known_keys(const cJSON *object, const char *const *keys, size_t count)
{
	const cJSON *member;

	cJSON_ArrayForEach(member, object) {
		bool known = false;

		for (size_t i = 0; i < count && !known; i++)
			known = strcmp(member->string, keys[i]) == 0;
		if (!known)
			return false;
	}
	return true;
}

static const char *const rule_keys[] = { "site", "vendor", "tracker_category", "pii_category", "severity" };

static int read_rule(const cJSON *item, struct policy_rule *rule)
{
	const cJSON *severity = cJSON_GetObjectItemCaseSensitive(item, "severity");
	int error;

	if (!cJSON_IsObject(item) || !cJSON_IsString(severity) ||
	    !only_known_keys(item, rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0])))
		return -EINVAL;
	if (severity_from_name(severity->valuestring, &rule->severity))
		return -EINVAL;
	error = read_match(item, "site", &rule->site);
	if (!error)
		error = read_match(item, "vendor", &rule->vendor);
	if (!error)
		error = read_match(item, "tracker_category", &rule->tracker_category);
	if (!error)
		error = read_match(item, "pii_category", &rule->pii_category);
	return error;
}

static int read_text(const char *path, char **text, size_t *length)
{
	FILE *file = fopen(path, "r");
	int error = 0;

	if (!file)
		return -errno;
	*text = malloc(POLICY_FILE_MAX_BYTES + 1);
	if (!*text) {
		fclose(file);
		return -ENOMEM;
	}
	*length = fread(*text, 1, POLICY_FILE_MAX_BYTES + 1, file);
	if (ferror(file))
		error = -EIO;
	else if (*length > POLICY_FILE_MAX_BYTES)
		error = -EFBIG;
	fclose(file);
	return error;
}

/* Logs where cJSON stopped parsing text, as a line and column. */
static void log_syntax_error(const char *path, const char *text, size_t length)
{
	const char *stop = cJSON_GetErrorPtr();
	size_t line = 1, column = 1;

	for (const char *c = text; stop && c < stop && c < text + length; c++) {
		column = *c == '\n' ? 1 : column + 1;
		line += *c == '\n';
	}
	log_error("invalid policy file %s: not valid JSON at line %zu, column %zu", path, line, column);
}

static const char *const file_keys[] = { "rules", "comment" };

static int parse_rules(const char *path, const char *text, size_t length, struct policy *policy)
{
	cJSON *root = cJSON_ParseWithLength(text, length);
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
	const cJSON *item;
	int error = 0;

	if (!root) {
		log_syntax_error(path, text, length);
		return -EINVAL;
	}
	if (!cJSON_IsArray(rules) || !only_known_keys(root, file_keys, sizeof(file_keys) / sizeof(file_keys[0]))) {
		log_error("invalid policy file %s: expected a JSON object with a \"rules\" array (and optionally "
			  "a \"comment\"), and no other member", path);
		cJSON_Delete(root);
		return -EINVAL;
	}
	policy->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof(*policy->rules));
	if (!policy->rules)
		error = -ENOMEM;
	cJSON_ArrayForEach(item, rules) {
		if (error)
			break;
		error = read_rule(item, &policy->rules[policy->count++]);
		if (error == -EINVAL)
			log_error("invalid policy file %s: rules[%zu]: expected \"severity\" (none, info, low, "
				  "medium or high) and optional non-empty strings site, vendor, tracker_category "
				  "and pii_category, and no other member", path, policy->count - 1);
	}
	cJSON_Delete(root);
	return error;
}

int policy_load(struct policy **out, const char *path)
{
	struct policy *policy = calloc(1, sizeof(*policy));
	char *text = NULL;
	size_t length = 0;
	int error;

	*out = NULL;
	if (!policy)
		return -ENOMEM;
	error = read_text(path, &text, &length);
	if (error && error != -ENOMEM)
		log_error("cannot read policy file %s: %s", path, strerror(-error));
	if (!error)
		error = parse_rules(path, text, length, policy);
	free(text);
	if (error) {
		policy_free(policy);
		return error;
	}
	*out = policy;
	return 0;
}

static bool rule_field_matches(const char *rule, const char *value)
{
	return !rule || (value && strcasecmp(rule, value) == 0);
}

static bool is_third_party(const struct classification *classification)
{
	if (classification->site.party == PARTY_UNKNOWN)
		return classification->tracker;
	return classification->site.party == PARTY_THIRD;
}

static enum severity default_finding_severity(const struct classification *classification)
{
	if (!is_third_party(classification))
		return SEVERITY_INFO;
	return classification->tracker ? SEVERITY_HIGH : SEVERITY_MEDIUM;
}

enum severity policy_finding_severity(const struct policy *policy, const struct classification *classification,
				      const struct pii_finding *finding)
{
	const struct tracker_label *label = &classification->label;
	const char *vendor = classification->tracker && label->entry ? label->entry->vendor : NULL;
	const char *category = classification->tracker ? label->category : NULL;

	for (size_t i = 0; policy && i < policy->count; i++) {
		const struct policy_rule *rule = &policy->rules[i];

		if (rule_field_matches(rule->site, classification->site.site) && rule_field_matches(rule->vendor, vendor) &&
		    rule_field_matches(rule->tracker_category, category) &&
		    rule_field_matches(rule->pii_category, finding->category))
			return rule->severity;
	}
	return default_finding_severity(classification);
}

enum severity policy_event_severity(const struct policy *policy, const struct classification *classification)
{
	enum severity highest = SEVERITY_NONE;

	for (size_t i = 0; classification->pii && i < classification->pii->count; i++) {
		enum severity severity = policy_finding_severity(policy, classification, &classification->pii->items[i]);

		if (severity > highest)
			highest = severity;
	}
	if (classification->pii && classification->pii->count)
		return highest;
	return classification->tracker && is_third_party(classification) ? SEVERITY_LOW : SEVERITY_NONE;
}

/*
 * The personal-data part of an event: plainsight.severity, plainsight.pii
 * (one entry per finding, with its keyed fingerprint, never its value), and
 * the redaction of every value the event prints: url.full, url.path,
 * url.query, the tracker's page_url and the printed fields.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

static void add_findings(cJSON *plainsight, const struct pii_findings *findings, const struct field_list *fields,
			 const struct policy_result *policy)
{
	cJSON *list = cJSON_AddArrayToObject(plainsight, "pii");

	for (size_t i = 0; list && i < findings->count; i++) {
		const struct pii_finding *finding = &findings->items[i];
		cJSON *item = cJSON_CreateObject();

		if (!item)
			return;
		event_add_text(item, "category", finding->category);
		if (fields && finding->field < fields->count)
			event_add_text(item, "path", fields->fields[finding->field].path);
		if (finding->encoding[0])
			event_add_text(item, "encoding", finding->encoding);
		event_add_text(item, "source", finding->source);
		event_add_text(item, "fingerprint", policy->fingerprints[i]);
		event_add_text(item, "severity", severity_name(policy->severities[i]));
		cJSON_AddItemToArray(list, item);
	}
	if (findings->cut)
		cJSON_AddBoolToObject(plainsight, "pii_cut", true);
}

/* Replaces the string member name of object by what redact() makes of it. */
static void replace_text(cJSON *object, const char *name, const struct redactor *redactor,
			 char *(*redact)(const struct redactor *, const char *))
{
	cJSON *item = cJSON_GetObjectItemCaseSensitive(object, name);
	char *text;

	if (!cJSON_IsString(item))
		return;
	text = redact(redactor, item->valuestring);
	cJSON_DeleteItemFromObjectCaseSensitive(object, name);
	/* Out of memory: the value is left out rather than printed unredacted. */
	if (text)
		event_add_text(object, name, text);
	free(text);
}

static char *redact_plain(const struct redactor *redactor, const char *text)
{
	size_t replaced;

	return redact_text(redactor, text, &replaced);
}

/* url.query is a URL's query without its "?". */
static char *redact_query(const struct redactor *redactor, const char *query)
{
	char *url = malloc(strlen(query) + 2);
	char *redacted;
	char *result;

	if (!url)
		return NULL;
	url[0] = '?';
	strcpy(url + 1, query);
	redacted = redact_url(redactor, url);
	free(url);
	if (!redacted)
		return NULL;
	result = strdup(redacted + 1);
	free(redacted);
	return result;
}

static void redact_fields(cJSON *plainsight, const struct redactor *redactor)
{
	cJSON *list = cJSON_GetObjectItemCaseSensitive(plainsight, "fields");
	size_t index = 0;
	cJSON *item;

	cJSON_ArrayForEach(item, list) {
		char *text = redact_field(redactor, index++);

		cJSON_DeleteItemFromObjectCaseSensitive(item, "value");
		if (text)
			event_add_text(item, "value", text);
		free(text);
	}
}

static void redact_event(cJSON *event, const struct redactor *redactor)
{
	cJSON *url = cJSON_GetObjectItemCaseSensitive(event, "url");
	cJSON *plainsight = cJSON_GetObjectItemCaseSensitive(event, "plainsight");

	replace_text(url, "full", redactor, redact_url);
	replace_text(url, "path", redactor, redact_plain);
	replace_text(url, "query", redactor, redact_query);
	replace_text(cJSON_GetObjectItemCaseSensitive(plainsight, "tracker"), "page_url", redactor, redact_plain);
	redact_fields(plainsight, redactor);
}

void event_add_findings(cJSON *event, const struct event_annotations *annotations)
{
	const struct policy_result *policy = annotations->policy;
	const struct classification *classification = annotations->classification;
	cJSON *plainsight = event_object_at(event, "plainsight");

	/* A body scanned in part may hide personal data, so every event
	 * marks it, not only events printed with --fields. */
	if (annotations->scanned_fields && annotations->scanned_fields->body_cut)
		cJSON_AddBoolToObject(plainsight, "body_cut", true);
	if (annotations->scanned_fields && annotations->scanned_fields->fields_cut)
		cJSON_AddBoolToObject(plainsight, "fields_cut", true);
	if (!policy)
		return;
	event_add_text(plainsight, "severity", severity_name(policy->severity));
	if (classification && classification->pii && classification->pii->count)
		add_findings(plainsight, classification->pii, annotations->scanned_fields, policy);
	if (policy->redactor)
		redact_event(event, policy->redactor);
}

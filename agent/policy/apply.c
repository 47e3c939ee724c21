/*
 * The policy stage for one request: a keyed fingerprint and a severity for
 * each finding, the event's severity, and the redactor that the output
 * stage runs over everything it prints.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Fingerprint digits shown in a mark: 48 bits tell values apart in one
 * event stream and are still no way to test a guess without the key. */
#define MARK_FINGERPRINT_DIGITS 12

void policy_result_clear(struct policy_result *result)
{
	redactor_free(result->redactor);
	free(result->severities);
	free(result->fingerprints);
	free(result->marks);
	memset(result, 0, sizeof(*result));
}

static int allocate(struct policy_result *result, size_t count)
{
	result->count = count;
	result->severities = calloc(count + 1, sizeof(*result->severities));
	result->fingerprints = calloc(count + 1, sizeof(*result->fingerprints));
	result->marks = calloc(count + 1, sizeof(*result->marks));
	return result->severities && result->fingerprints && result->marks ? 0 : -ENOMEM;
}

static int build_redactor(const struct classification *classification, const struct field_list *fields,
			  struct policy_result *result)
{
	const char **marks = calloc(result->count + 1, sizeof(*marks));
	int error;

	if (!marks)
		return -ENOMEM;
	for (size_t i = 0; i < result->count; i++)
		marks[i] = result->marks[i];
	error = redactor_new(&result->redactor, fields, classification->pii, marks);
	/* The redactor keeps the marks' texts, not this array. */
	free(marks);
	return error;
}

int policy_apply(const struct policy_settings *settings, const struct classification *classification,
		 const struct field_list *fields, struct policy_result *result)
{
	const struct pii_findings *findings = classification->pii;
	int error;

	memset(result, 0, sizeof(*result));
	error = allocate(result, findings ? findings->count : 0);
	if (error)
		return error;

	for (size_t i = 0; i < result->count; i++) {
		const struct pii_finding *finding = &findings->items[i];

		fingerprint(settings->key, finding->category, finding->value, strlen(finding->value),
			    result->fingerprints[i]);
		snprintf(result->marks[i], REDACTION_MARK_BYTES, "[%s:%.*s]", finding->category,
			 MARK_FINGERPRINT_DIGITS, result->fingerprints[i]);
		result->severities[i] = policy_finding_severity(settings->policy, classification, finding);
	}
	result->severity = policy_event_severity(settings->policy, classification);

	if (settings->keep_values || !fields)
		return 0;
	return build_redactor(classification, fields, result);
}

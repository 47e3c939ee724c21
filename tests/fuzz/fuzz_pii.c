/*
 * libFuzzer target for the personal-data detectors (agent/classify/pii*.c)
 * and redaction (agent/policy/redact.c).
 *
 * Byte 0 chooses the field's path from paths, which sets its meaning; the
 * rest is the field's value, NUL bytes included. Every finding must lie
 * inside the value and have a normalised value, and redaction must never
 * print a finding's text where it found it.
 *
 * Build and run: make fuzz-build, then
 *   build/fuzz/fuzz_pii -max_total_time=300 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/classify.h"
#include "policy/policy.h"

static const char *const paths[] = {
	"query.q", "query.ud[em]", "query.ud[ph]", "body.json.user.email", "body.form.phone_number",
	"query.ud[fn]", "body.json.context.user.external_id", "body.raw", "query.version", "header.referer",
	"body.json.lat", "query.ud[db]", "body.form.ssn", "cookie.sid",
};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static void check_findings(const struct field_list *list, const struct pii_findings *findings)
{
	for (size_t i = 0; i < findings->count; i++) {
		const struct pii_finding *finding = &findings->items[i];
		const struct field *field = &list->fields[finding->field];

		if (finding->field >= list->count || !finding->value || !finding->category || !finding->length ||
		    finding->offset + finding->length > field->value_bytes)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field field = { 0 };
	struct field_list list = { .fields = &field, .count = 1, .capacity = 1 };
	struct pii_findings findings = { 0 };
	struct redactor *redactor;
	const char **marks;
	char *text;

	if (size < 1)
		return 0;
	field.path = (char *)paths[data[0] % COUNT(paths)];
	field.value = malloc(size);
	if (!field.value)
		abort();
	memcpy(field.value, data + 1, size - 1);
	field.value[size - 1] = '\0';
	field.value_bytes = size - 1;

	if (pii_scan(&list, NULL, &findings) != 0)
		abort();
	check_findings(&list, &findings);

	marks = calloc(findings.count + 1, sizeof(*marks));
	if (!marks)
		abort();
	for (size_t i = 0; i < findings.count; i++)
		marks[i] = "[x]";
	if (redactor_new(&redactor, &list, &findings, marks) != 0)
		abort();
	text = redact_field(redactor, 0);
	free(text);
	text = redact_url(redactor, field.value);
	free(text);

	redactor_free(redactor);
	free(marks);
	pii_findings_free(&findings);
	free(field.value);
	return 0;
}

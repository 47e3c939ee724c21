/*
 * Unit tests of the policy stage (agent/policy/): default severities by
 * party and tracker, policy files and their errors, and redaction of
 * findings, secrets and credentials in URLs and printed fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/policy.h"

static struct pii_finding make_finding(const char *category, size_t field, size_t offset, size_t length)
{
	struct pii_finding finding = { .category = category, .source = "detector:email", .field = field,
				       .offset = offset, .length = length };

	finding.value = strdup("x");
	return finding;
}

static void set_party(struct classification *classification, enum party party, bool tracker)
{
	memset(classification, 0, sizeof(*classification));
	classification->site.party = party;
	classification->tracker = tracker;
	snprintf(classification->site.site, sizeof(classification->site.site), "shop.example");
}

static void test_severity_defaults(void **state)
{
	struct pii_finding items[1] = { make_finding("email", 0, 0, 1) };
	struct pii_findings findings = { .items = items, .count = 1, .capacity = 1 };
	struct pii_findings none = { 0 };
	struct classification classification;

	set_party(&classification, PARTY_THIRD, true);
	classification.pii = &findings;
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_HIGH);

	set_party(&classification, PARTY_THIRD, false);
	classification.pii = &findings;
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_MEDIUM);

	set_party(&classification, PARTY_FIRST, false);
	classification.pii = &findings;
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_INFO);

	/* A tracker without a known party counts as third party. */
	set_party(&classification, PARTY_UNKNOWN, true);
	classification.pii = &findings;
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_HIGH);

	set_party(&classification, PARTY_THIRD, true);
	classification.pii = &none;
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_LOW);

	set_party(&classification, PARTY_FIRST, false);
	assert_int_equal(policy_event_severity(NULL, &classification), SEVERITY_NONE);
	assert_string_equal(severity_name(SEVERITY_MEDIUM), "medium");
	free(items[0].value);
}

static char *write_file(const char *text)
{
	char *path = strdup("/tmp/plainsight-policy-XXXXXX");
	int descriptor = mkstemp(path);

	assert_true(descriptor >= 0);
	assert_int_equal(write(descriptor, text, strlen(text)), (ssize_t)strlen(text));
	close(descriptor);
	return path;
}

static void test_policy_file_rules(void **state)
{
	char *path = write_file("{\"rules\":[{\"site\":\"shop.example\",\"pii_category\":\"ip_address\",\"severity\":\"info\"},"
				"{\"vendor\":\"*\",\"tracker_category\":\"analytics\",\"severity\":\"low\"}]}");
	struct pii_finding items[2] = { make_finding("ip_address", 0, 0, 1), make_finding("email", 0, 0, 1) };
	struct pii_findings findings = { .items = items, .count = 2, .capacity = 2 };
	struct vendor_entry entry = { .vendor = "Google", .category = "analytics" };
	struct classification classification;
	struct policy *policy;

	assert_int_equal(policy_load(&policy, path), 0);
	unlink(path);
	free(path);

	set_party(&classification, PARTY_THIRD, true);
	classification.pii = &findings;
	classification.label.entry = &entry;
	classification.label.category = "analytics";
	assert_int_equal(policy_finding_severity(policy, &classification, &items[0]), SEVERITY_INFO);
	assert_int_equal(policy_finding_severity(policy, &classification, &items[1]), SEVERITY_LOW);
	assert_int_equal(policy_event_severity(policy, &classification), SEVERITY_LOW);

	classification.label.category = "advertising";
	assert_int_equal(policy_finding_severity(policy, &classification, &items[1]), SEVERITY_HIGH);
	policy_free(policy);
	free(items[0].value);
	free(items[1].value);
}

static void test_policy_file_errors(void **state)
{
	static const char *const bad[] = {
		"{\"rules\":[{\"site\":\"a.example\"}]}",
		"{\"rules\":[{\"severity\":\"urgent\"}]}",
		"{\"rules\":[{\"severity\":\"high\",\"vendor\":\"\"}]}",
		"{\"rules\":[{\"severity\":\"high\",\"vendor\":3}]}",
		"{\"rules\":{}}",
		"not json",
		"{\"rules\":[{\"sight\":\"a.example\",\"severity\":\"high\"}]}",
		"{\"version\":1,\"rules\":[]}",
	};
	struct policy *policy;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = write_file(bad[i]);

		assert_int_equal(policy_load(&policy, path), -EINVAL);
		assert_null(policy);
		unlink(path);
		free(path);
	}
	assert_int_equal(policy_load(&policy, "/nonexistent/policy.json"), -ENOENT);
}

/* Field list with one query parameter, as extraction gives it. */
static void add_field(struct field_list *list, const char *path, const char *value)
{
	struct field *field = &list->fields[list->count++];

	memset(field, 0, sizeof(*field));
	field->path = strdup(path);
	field->value = strdup(value);
	field->value_bytes = strlen(value);
}

static void free_fields(struct field_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->fields[i].path);
		free(list->fields[i].value);
	}
}

static void test_redact_url_forms(void **state)
{
	struct field fields[4];
	struct field_list list = { .fields = fields, .capacity = 4 };
	struct pii_finding items[1];
	struct pii_findings findings = { .items = items, .count = 1 };
	const char *marks[1] = { "[email:0123456789ab]" };
	struct redactor *redactor;
	char *text;

	add_field(&list, "query.em", "jane@example.com");
	items[0] = (struct pii_finding){ .category = "email", .field = 0, .offset = 0, .length = 16 };
	assert_int_equal(redactor_new(&redactor, &list, &findings, marks), 0);

	text = redact_url(redactor, "https://t.example/p?em=jane%40example.com&x=1");
	assert_string_equal(text, "https://t.example/p?em=[email:0123456789ab]&x=1");
	free(text);
	text = redact_url(redactor, "https://t.example/p?dl=https%3A%2F%2Fs.example%2F%3Fe%3Djane%2540example.com");
	assert_string_equal(text, "https://t.example/p?dl=https%3A%2F%2Fs.example%2F%3Fe%3D[email:0123456789ab]");
	free(text);
	text = redact_url(redactor, "https://user:secret@t.example/p?x=jane@example.com");
	assert_string_equal(text, "https://[REDACTED]@t.example/p?x=[email:0123456789ab]");
	free(text);
	text = redact_url(redactor, "https://t.example/p?x=1");
	assert_string_equal(text, "https://t.example/p?x=1");
	free(text);

	redactor_free(redactor);
	free_fields(&list);
}

/* A finding inside base64 is not in the URL as text: its parameter goes. */
static void test_redact_encoded_parameter(void **state)
{
	struct field fields[4];
	struct field_list list = { .fields = fields, .capacity = 4 };
	struct pii_finding items[1];
	struct pii_findings findings = { .items = items, .count = 1 };
	const char *marks[1] = { "[email:0123456789ab]" };
	struct redactor *redactor;
	char *text;

	add_field(&list, "query.p", "ZW1haWw9YSU0MGIuY29t");
	add_field(&list, "query.p", "email=a%40b.com");
	add_field(&list, "query.p.email", "a@b.com");
	items[0] = (struct pii_finding){ .category = "email", .field = 2, .offset = 0, .length = 7 };
	assert_int_equal(redactor_new(&redactor, &list, &findings, marks), 0);

	text = redact_url(redactor, "https://t.example/c?p=ZW1haWw9YSU0MGIuY29t&v=2");
	assert_string_equal(text, "https://t.example/c?p=[email:0123456789ab]&v=2");
	free(text);
	text = redact_field(redactor, 0);
	assert_string_equal(text, "[email:0123456789ab]");
	free(text);
	text = redact_field(redactor, 1);
	assert_string_equal(text, "email=[email:0123456789ab]");
	free(text);

	redactor_free(redactor);
	free_fields(&list);
}

/* A first name that starts an e-mail address must not leave the rest of
 * the address behind, and a short value is replaced as a whole word only. */
static void test_redact_longest_first(void **state)
{
	struct field fields[4];
	struct field_list list = { .fields = fields, .capacity = 4 };
	struct pii_finding items[2];
	struct pii_findings findings = { .items = items, .count = 2 };
	const char *marks[2] = { "[first_name:aaaaaaaaaaaa]", "[email:bbbbbbbbbbbb]" };
	struct redactor *redactor;
	char *text;

	add_field(&list, "query.fn", "Max");
	add_field(&list, "query.em", "Max.Tester@example.org");
	items[0] = (struct pii_finding){ .category = "first_name", .field = 0, .offset = 0, .length = 3 };
	items[1] = (struct pii_finding){ .category = "email", .field = 1, .offset = 0, .length = 22 };
	assert_int_equal(redactor_new(&redactor, &list, &findings, marks), 0);

	text = redact_url(redactor, "https://t.example/p?fn=Max&em=Max.Tester%40example.org&q=Maximilian&r=%3DMax%26");
	assert_string_equal(text, "https://t.example/p?fn=[first_name:aaaaaaaaaaaa]&em=[email:bbbbbbbbbbbb]"
				  "&q=Maximilian&r=%3D[first_name:aaaaaaaaaaaa]%26");
	free(text);
	text = redact_field(redactor, 1);
	assert_string_equal(text, "[email:bbbbbbbbbbbb]");
	free(text);

	redactor_free(redactor);
	free_fields(&list);
}

static void test_redact_secrets(void **state)
{
	struct field fields[4];
	struct field_list list = { .fields = fields, .capacity = 4 };
	struct pii_findings findings = { 0 };
	struct redactor *redactor;
	char *text;

	add_field(&list, "cookie.session", "abc123");
	add_field(&list, "header.authorization", "Bearer token");
	add_field(&list, "query.page", "2");
	assert_int_equal(redactor_new(&redactor, &list, &findings, NULL), 0);
	for (size_t i = 0; i < 2; i++) {
		text = redact_field(redactor, i);
		assert_string_equal(text, "[REDACTED]");
		free(text);
	}
	text = redact_field(redactor, 2);
	assert_string_equal(text, "2");
	free(text);
	redactor_free(redactor);
	free_fields(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity_defaults),
		cmocka_unit_test(test_policy_file_rules),
		cmocka_unit_test(test_policy_file_errors),
		cmocka_unit_test(test_redact_url_forms),
		cmocka_unit_test(test_redact_encoded_parameter),
		cmocka_unit_test(test_redact_longest_first),
		cmocka_unit_test(test_redact_secrets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

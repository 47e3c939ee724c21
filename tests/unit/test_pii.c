/*
 * Unit tests of the personal-data detectors (agent/classify/pii*.c). Each
 * detector has a table of values that must be found, with the matched text,
 * normalised value and encoding, and values that must not (versions,
 * timestamps, ids, hashes outside identity fields, asset names). Further
 * tests run whole requests through the extract stage as trackers send
 * them, and measure the scan's throughput.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "classify/classify.h"
#include "extract/extract.h"

#define SHA256_JANE_EMAIL "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52d"
#define SHA256_JANE_EMAIL_BASE64 "jIe0ic41zy4vOfgOKCyy6ASTKlaiE5g+7rQoQH1DtS0="
#define SHA256_JANE_EMAIL_BASE64URL "jIe0ic41zy4vOfgOKCyy6ASTKlaiE5g-7rQoQH1DtS0"
#define SHA256_PHONE "d6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a"
#define SHA256_PHONE_UPPER "D6736136EA896C1BFDC553E0E86E702C70D060D805696CA3E4E9E0961353860A"
#define SHA256_JANE "81f8f6dde88365f3928796ec7aa53f72820b06db8664f5fe76a7eb13e24546a2"
#define SHA1_JANE_EMAIL "0850a4cffb73cbc53fd33e8990c2184c915ff041"
#define MD5_USER "7631bc07a1cc8fcd56e70fc6b2fb4a43"
#define MD5_USER_BASE64 "djG8B6HMj81W5w/GsvtKQw=="

#define MAX_TEST_HEADERS 4

/* ---- building fields and scanning them ---- */

/* One field made by hand. Its chain is a list of decodings ended by -1. */
struct test_field {
	const char *path;
	const char *value;
	int chain[4];
};

static void add_field(struct field_list *list, const char *path, const char *value, size_t value_bytes,
		      const int *chain)
{
	struct field *field;

	if (list->count == list->capacity) {
		list->capacity = list->capacity ? list->capacity * 2 : 8;
		list->fields = realloc(list->fields, list->capacity * sizeof(*list->fields));
		assert_non_null(list->fields);
	}
	field = &list->fields[list->count++];
	memset(field, 0, sizeof(*field));
	field->path = strdup(path);
	field->value = malloc(value_bytes + 1);
	assert_non_null(field->path);
	assert_non_null(field->value);
	memcpy(field->value, value, value_bytes);
	field->value[value_bytes] = '\0';
	field->value_bytes = value_bytes;
	field->source = FIELD_SOURCE_BODY;
	for (size_t i = 0; chain && i < 4 && chain[i] >= 0; i++)
		field->decodings[field->decoding_count++] = (enum field_decoding)chain[i];
}

static void add_test_field(struct field_list *list, const struct test_field *test)
{
	add_field(list, test->path, test->value, strlen(test->value), test->chain);
}

static void scan_fields(const struct field_list *list, struct pii_findings *findings)
{
	memset(findings, 0, sizeof(*findings));
	assert_int_equal(pii_scan(list, NULL, findings), 0);
}

static void print_findings(const struct field_list *list, const struct pii_findings *findings)
{
	for (size_t i = 0; i < findings->count; i++) {
		const struct pii_finding *finding = &findings->items[i];
		const struct field *field = &list->fields[finding->field];

		print_message("  %s [%zu,+%zu] \"%.*s\" %s (%s) value=%s enc=\"%s\"\n", field->path,
			      finding->offset, finding->length, (int)finding->length,
			      field->value + finding->offset, finding->category, finding->source,
			      finding->value, finding->encoding);
	}
}

/* Returns the finding of a category in the field with path, or NULL. */
static const struct pii_finding *find_finding(const struct field_list *list,
					      const struct pii_findings *findings, const char *path,
					      const char *category, const char *value)
{
	for (size_t i = 0; i < findings->count; i++) {
		const struct pii_finding *finding = &findings->items[i];

		if (strcmp(list->fields[finding->field].path, path) != 0 ||
		    strcmp(finding->category, category) != 0)
			continue;
		if (value && strcmp(finding->value, value) != 0)
			continue;
		return finding;
	}
	return NULL;
}

static const struct pii_finding *expect_finding(const struct field_list *list,
						const struct pii_findings *findings, const char *path,
						const char *category, const char *value, const char *encoding)
{
	const struct pii_finding *finding = find_finding(list, findings, path, category, value);

	if (!finding) {
		print_findings(list, findings);
		fail_msg("no %s finding %s in %s", category, value ? value : "*", path);
	}
	if (encoding && strcmp(finding->encoding, encoding) != 0) {
		print_findings(list, findings);
		fail_msg("%s in %s: encoding \"%s\", expected \"%s\"", category, path, finding->encoding,
			 encoding);
	}
	return finding;
}

static void expect_matched_text(const struct field_list *list, const struct pii_finding *finding,
				const char *text)
{
	const struct field *field = &list->fields[finding->field];

	assert_true(finding->offset + finding->length <= field->value_bytes);
	if (finding->length != strlen(text) ||
	    memcmp(field->value + finding->offset, text, finding->length) != 0)
		fail_msg("matched \"%.*s\", expected \"%s\"", (int)finding->length,
			 field->value + finding->offset, text);
}

static void expect_no_findings(const struct field_list *list, const struct pii_findings *findings)
{
	if (findings->count) {
		print_findings(list, findings);
		fail_msg("%zu unexpected findings", findings->count);
	}
}

static void free_fields(struct field_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->fields[i].path);
		free(list->fields[i].value);
	}
	free(list->fields);
	memset(list, 0, sizeof(*list));
}

/* ---- detector tables ---- */

/* A value that gives exactly one finding (category set) or none (NULL). */
struct value_case {
	const char *path;
	const char *value;
	const char *category;
	const char *normalised;
	const char *matched; /* NULL: the whole value */
	const char *encoding;
};

static void run_value_cases(const struct value_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct value_case *test = &cases[i];
		struct test_field field = { test->path, test->value, { -1 } };
		struct field_list list = { 0 };
		struct pii_findings findings;
		const struct pii_finding *finding;

		print_message("case: %s = %s\n", test->path, test->value);
		add_test_field(&list, &field);
		scan_fields(&list, &findings);
		if (!test->category) {
			expect_no_findings(&list, &findings);
		} else {
			if (findings.count != 1)
				print_findings(&list, &findings);
			assert_int_equal(findings.count, 1);
			finding = expect_finding(&list, &findings, test->path, test->category,
						 test->normalised, test->encoding ? test->encoding : "");
			expect_matched_text(&list, finding, test->matched ? test->matched : test->value);
		}
		pii_findings_free(&findings);
		free_fields(&list);
	}
}

#define NOT_FOUND(path, value) { (path), (value), NULL, NULL, NULL, NULL }
#define RUN_CASES(cases) run_value_cases(cases, sizeof(cases) / sizeof(cases[0]))

static const struct value_case email_cases[] = {
	{ "body.raw", "contact jane.doe@example.com today", "email", "jane.doe@example.com",
	  "jane.doe@example.com", NULL },
	{ "query.q", "Jane.Doe+News@Example.COM", "email", "jane.doe+news@example.com", NULL, NULL },
	{ "body.raw", "e=jane%40example.com&x=1", "email", "jane@example.com", "jane%40example.com", "url" },
	{ "body.raw", "u=jane%2540example.com", "email", "jane@example.com", "jane%2540example.com",
	  "url > url" },
	{ "body.raw", "{\"u\":\"jane\\u0040example.com\"}", "email", "jane@example.com",
	  "jane\\u0040example.com", "json" },
	{ "body.raw", "to=jane%2Btag%40example.com", "email", "jane+tag@example.com",
	  "jane%2Btag%40example.com", "url" },
	{ "query.dl", "https://shop.example/thanks?email=jane%40example.com", "email", "jane@example.com",
	  "jane%40example.com", "url" },
	{ "body.raw", "Write to jane@example.com.Thanks", "email", "jane@example.com", "jane@example.com",
	  NULL },
	{ "body.raw", "ann@ex.io", "email", "ann@ex.io", NULL, NULL },
	{ "body.raw", "mailto:ivan@example.xn--p1ai", "email", "ivan@example.xn--p1ai",
	  "ivan@example.xn--p1ai", NULL },
	{ "body.raw", "../jane@shop.co.uk", "email", "jane@shop.co.uk", "jane@shop.co.uk", NULL },

	NOT_FOUND("body.raw", "logo@2x.png"),
	NOT_FOUND("body.raw", "/img/icon@3x.webp?v=2"),
	NOT_FOUND("body.raw", "sprite@2X.jpg"),
	NOT_FOUND("body.raw", "user@localhost"),
	NOT_FOUND("body.raw", "@scope/package"),
	NOT_FOUND("body.raw", "jane@example.c"),
	NOT_FOUND("body.raw", "jane@example.123"),
	NOT_FOUND("body.raw", "jane@example.test"),
	NOT_FOUND("body.raw", "a..b@example.com"),
	NOT_FOUND("body.raw", "jane.@example.com"),
	NOT_FOUND("body.raw", "jane@-example.com"),
	NOT_FOUND("header.referer", "https://user@example.com/path"),
	NOT_FOUND("body.raw", "100%40 off"),
};

static void test_email_table(void **state)
{
	RUN_CASES(email_cases);
}

static const struct value_case phone_cases[] = {
	{ "body.raw", "call +4915112345678 now", "phone", "+4915112345678", "+4915112345678", NULL },
	{ "body.raw", "tel: +1 555-123-4567.", "phone", "+15551234567", "+1 555-123-4567", NULL },
	{ "body.raw", "+1 (555) 123-4567", "phone", "+15551234567", NULL, NULL },
	{ "body.raw", "Phone (555) 123-4567", "phone", "+15551234567", "(555) 123-4567", NULL },
	{ "body.raw", "555-123-4567", "phone", "+15551234567", NULL, NULL },
	{ "body.raw", "1-555-123-4567", "phone", "+15551234567", NULL, NULL },
	{ "body.raw", "555.123.4567", "phone", "+15551234567", NULL, NULL },
	{ "body.raw", "+49 (0)30 1234567", "phone", "+49301234567", NULL, NULL },
	{ "body.raw", "+44 20 7946 0958", "phone", "+442079460958", NULL, NULL },
	{ "body.raw", "Tel. 030 1234567", "phone", "0301234567", "030 1234567", NULL },
	{ "body.raw", "0151/12345678", "phone", "015112345678", NULL, NULL },
	{ "body.raw", "06 12 34 56 78", "phone", "0612345678", NULL, NULL },
	{ "body.raw", "p=%2B4915112345678", "phone", "+4915112345678", "%2B4915112345678", "url" },
	{ "query.ph", "15551234567", "phone", "15551234567", NULL, NULL },
	{ "query.ud[ph]", " 4915112345678", "phone", "4915112345678", "4915112345678", NULL },
	{ "body.json.user.phone_number", "0049 151 12345678", "phone", "+4915112345678", NULL, NULL },
	{ "body.json.mobilePhone", "+49 151 1234 5678", "phone", "+4915112345678", NULL, NULL },

	NOT_FOUND("body.raw", "1733352000"),
	NOT_FOUND("body.raw", "ts=1733352000123"),
	NOT_FOUND("query.x", "15551234567"),
	NOT_FOUND("body.raw", "price 1234.56 EUR"),
	NOT_FOUND("body.raw", "+12.50"),
	NOT_FOUND("body.raw", "+123456789.50"),
	NOT_FOUND("body.raw", "2024-12-04T10:00:00+01:00"),
	NOT_FOUND("body.raw", "1e+21"),
	NOT_FOUND("body.raw", "+0123456789"),
	NOT_FOUND("body.raw", "+1 123 456 7890"),
	NOT_FOUND("body.raw", "2024-12-04"),
	NOT_FOUND("body.raw", "04/12/2024"),
	NOT_FOUND("body.raw", "sr=1920x1080"),
	NOT_FOUND("query.ph", "1234"),
	NOT_FOUND("query.ph", "call me"),
};

static void test_phone_table(void **state)
{
	RUN_CASES(phone_cases);
}

static const struct value_case card_cases[] = {
	{ "body.raw", "card 4111 1111 1111 1111 exp", "payment_card", "4111111111111111",
	  "4111 1111 1111 1111", NULL },
	{ "body.raw", "4111-1111-1111-1111", "payment_card", "4111111111111111", NULL, NULL },
	{ "body.json.pan", "5555555555554444", "payment_card", "5555555555554444", NULL, NULL },
	{ "body.raw", "378282246310005", "payment_card", "378282246310005", NULL, NULL },
	{ "body.raw", "3782 822463 10005", "payment_card", "378282246310005", NULL, NULL },
	{ "body.raw", "6011111111111117", "payment_card", "6011111111111117", NULL, NULL },
	{ "body.raw", "2223003122003222", "payment_card", "2223003122003222", NULL, NULL },
	{ "body.raw", "3530111333300000", "payment_card", "3530111333300000", NULL, NULL },
	{ "body.raw", "n=12 4111111111111111", "payment_card", "4111111111111111", "4111111111111111", NULL },

	NOT_FOUND("body.raw", "4111111111111112"),
	NOT_FOUND("body.raw", "1733352000123456"),
	NOT_FOUND("body.raw", "12345678901234567890"),
	NOT_FOUND("body.raw", "x4111111111111111"),
	NOT_FOUND("body.raw", "4111111111111111.50"),
	NOT_FOUND("body.raw", "0.4111111111111111"),
	NOT_FOUND("body.json.event_id", "4111111111111111"),
	NOT_FOUND("body.raw", "4111 1111 1111 1111 1111 1"),
	NOT_FOUND("body.raw", "550e8400-e29b-41d4-a716-446655440000"),
};

static void test_card_table(void **state)
{
	RUN_CASES(card_cases);
}

static const struct value_case iban_cases[] = {
	{ "body.raw", "IBAN DE89 3704 0044 0532 0130 00.", "iban", "DE89370400440532013000",
	  "DE89 3704 0044 0532 0130 00", NULL },
	{ "body.form.iban", "GB82WEST12345698765432", "iban", "GB82WEST12345698765432", NULL, NULL },
	{ "body.raw", "de89370400440532013000", "iban", "DE89370400440532013000", NULL, NULL },
	{ "body.raw", "FR1420041010050500013M02606", "iban", "FR1420041010050500013M02606", NULL, NULL },

	NOT_FOUND("body.raw", "DE89 3704 0044 0532 0130 01"),
	NOT_FOUND("body.raw", "DE8937040044053201300"),
	NOT_FOUND("body.raw", "DE893704004405320130000"),
	NOT_FOUND("body.raw", "XX89370400440532013000"),
	NOT_FOUND("body.raw", "De89370400440532013000"),
};

static void test_iban_table(void **state)
{
	RUN_CASES(iban_cases);
}

static const struct value_case ssn_cases[] = {
	{ "body.raw", "ssn 123-45-6789.", "us_ssn", "123456789", "123-45-6789", NULL },
	{ "body.json.customer.ssn", "123456789", "us_ssn", "123456789", NULL, NULL },
	{ "body.json.ssn", "123 45 6789", "us_ssn", "123456789", NULL, NULL },

	NOT_FOUND("body.raw", "000-12-3456"),
	NOT_FOUND("body.raw", "666-12-3456"),
	NOT_FOUND("body.raw", "900-12-3456"),
	NOT_FOUND("body.raw", "123-00-4567"),
	NOT_FOUND("body.raw", "123-45-0000"),
	NOT_FOUND("body.raw", "078-05-1120"),
	NOT_FOUND("body.raw", "123456789"),
	NOT_FOUND("body.raw", "9123-45-6789"),
	NOT_FOUND("body.raw", "123-45-6789-1"),
	NOT_FOUND("body.json.ssn", "666456789"),
};

static void test_ssn_table(void **state)
{
	RUN_CASES(ssn_cases);
}

static const struct value_case ip_cases[] = {
	{ "body.raw", "client 203.0.113.5 ok", "ip_address", "203.0.113.5", "203.0.113.5", NULL },
	{ "header.x-forwarded-for", "192.168.1.20", "ip_address", "192.168.1.20", NULL, NULL },
	{ "body.raw", "{\"ip\":\"198.51.100.7:8080\"}", "ip_address", "198.51.100.7", "198.51.100.7", NULL },
	{ "body.json.candidate", "2001:db8::8a2e:370:7334", "ip_address", "2001:db8::8a2e:370:7334", NULL,
	  NULL },
	{ "body.raw", "addr [2001:DB8:0:0:0:0:0:1]", "ip_address", "2001:db8::1", "2001:DB8:0:0:0:0:0:1",
	  NULL },
	{ "body.raw", "fe80::1ff:fe23:4567:890a", "ip_address", "fe80::1ff:fe23:4567:890a", NULL, NULL },
	{ "body.raw", "::ffff:203.0.113.5", "ip_address", "::ffff:203.0.113.5", NULL, NULL },
	{ "query.q", "1.2.3.4", "ip_address", "1.2.3.4", NULL, NULL },

	NOT_FOUND("query.v", "1.2.3.4"),
	NOT_FOUND("body.json.sdk_version", "1.2.3.4"),
	NOT_FOUND("body.json.appVersion", "10.0.0.1"),
	NOT_FOUND("body.raw", "0.0.0.0"),
	NOT_FOUND("body.raw", "127.0.0.1"),
	NOT_FOUND("body.raw", "255.255.255.255"),
	NOT_FOUND("body.raw", "239.1.2.3"),
	NOT_FOUND("body.json.ua", "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36"),
	NOT_FOUND("body.raw", "v1.2.3.4"),
	NOT_FOUND("body.raw", "lib-1.2.3.4"),
	NOT_FOUND("body.raw", "1.2.3.4.5"),
	NOT_FOUND("body.raw", "1.2.3.4-beta"),
	NOT_FOUND("body.raw", "01.02.03.04"),
	NOT_FOUND("body.raw", "999.1.1.1"),
	NOT_FOUND("body.raw", "10.0.0"),
	NOT_FOUND("header.referer", "https://203.0.113.5/path"),
	NOT_FOUND("header.origin", "http://[2001:db8::1]:8080"),
	NOT_FOUND("body.raw", "at 12:30:45"),
	NOT_FOUND("body.raw", "12:30::"),
	NOT_FOUND("body.raw", "::1"),
	NOT_FOUND("body.raw", "::"),
	NOT_FOUND("body.raw", "std::string"),
	NOT_FOUND("body.raw", "ff02::1"),
	NOT_FOUND("body.raw", "00:1a:2b:3c:4d:5e"),
};

static void test_ip_table(void **state)
{
	RUN_CASES(ip_cases);
}

static const struct value_case location_cases[] = {
	{ "query.ll", "48.8584,2.2945", "geolocation", "48.8584,2.2945", NULL, NULL },
	{ "body.raw", "at 48.8584, 2.2945 today", "geolocation", "48.8584,2.2945", "48.8584, 2.2945", NULL },
	{ "body.raw", "-33.8688,151.2093", "geolocation", "-33.8688,151.2093", NULL, NULL },

	NOT_FOUND("query.ll", "48.85,2.29"),
	NOT_FOUND("body.raw", "0.123,0.456"),
	NOT_FOUND("body.raw", "1.234,5.678,9.012"),
	NOT_FOUND("body.raw", "123.456,200.123"),
	NOT_FOUND("body.json.lat", "48.8584"),
	NOT_FOUND("body.raw", "v=2.9.160"),
	NOT_FOUND("body.raw", "1.2345,"),
};

static void test_location_table(void **state)
{
	RUN_CASES(location_cases);
}

static void test_location_siblings(void **state)
{
	static const struct test_field fields[] = {
		{ "query.lat", "48.8584", { -1 } },
		{ "query.lng", "2.2945", { -1 } },
		{ "body.json.a.latitude", "48.8584", { -1 } },
		{ "body.json.b.longitude", "2.2945", { -1 } },
		{ "body.json.c.lat", "48.85", { -1 } },
		{ "body.json.c.lon", "2.29", { -1 } },
	};
	struct field_list list = { 0 };
	struct pii_findings findings;
	const struct pii_finding *finding;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		add_test_field(&list, &fields[i]);
	scan_fields(&list, &findings);

	finding = expect_finding(&list, &findings, "query.lat", "geolocation", "48.8584,2.2945", "");
	expect_matched_text(&list, finding, "48.8584");
	finding = expect_finding(&list, &findings, "query.lng", "geolocation", "48.8584,2.2945", "");
	expect_matched_text(&list, finding, "2.2945");
	if (findings.count != 2)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 2);

	pii_findings_free(&findings);
	free_fields(&list);
}

static const struct value_case meaning_cases[] = {
	{ "query.ud[fn]", "jane", "first_name", "jane", NULL, NULL },
	{ "query.ud[ln]", "Doe", "last_name", "doe", NULL, NULL },
	{ "body.json.user_data.fn", "Zoë", "first_name", "zoë", NULL, NULL },
	{ "body.json.traits.firstName", "Jane", "first_name", "jane", NULL, NULL },
	{ "body.json.customer.name", "Jane  Doe", "name", "jane doe", NULL, NULL },
	{ "query.ud[ct]", "Paris", "city", "paris", NULL, NULL },
	{ "body.json.shipping_address.city", "New York", "city", "new york", NULL, NULL },
	{ "query.ud[st]", "ca", "state", "ca", NULL, NULL },
	{ "query.ud[zp]", "75008", "postal_code", "75008", NULL, NULL },
	{ "body.form.billing_postcode", "SW1A 1AA", "postal_code", "sw1a1aa", NULL, NULL },
	{ "query.ud[country]", "fr", "country", "fr", NULL, NULL },
	{ "query.ud[db]", "19900115", "date_of_birth", "19900115", NULL, NULL },
	{ "body.json.user.dob", "15.01.1990", "date_of_birth", "19900115", NULL, NULL },
	{ "body.json.birthday", "01/15/1990", "date_of_birth", "19900115", NULL, NULL },
	{ "body.json.birthday", "1990-01-15", "date_of_birth", "19900115", NULL, NULL },
	{ "query.ud[ge]", "f", "gender", "f", NULL, NULL },
	{ "body.json.gender", "Female", "gender", "female", NULL, NULL },
	{ "body.json.billing_address.street", "221B Baker Street", "street_address", "221b baker street",
	  NULL, NULL },
	{ "body.form.address_line1", " Hauptstr. 5 ", "street_address", "hauptstr. 5", "Hauptstr. 5", NULL },

	NOT_FOUND("query.ct", "Paris"),
	NOT_FOUND("query.st", "abc"),
	NOT_FOUND("query.state", "visible"),
	NOT_FOUND("query.fn", "init"),
	NOT_FOUND("query.ud[ct]", "12"),
	NOT_FOUND("query.ud[zp]", "abc"),
	NOT_FOUND("query.ud[db]", "1733352000"),
	NOT_FOUND("query.ud[db]", "19901315"),
	NOT_FOUND("query.ud[ge]", "yes"),
	NOT_FOUND("body.json.user.name", "true"),
	NOT_FOUND("body.json.event_name", "Purchase"),
	NOT_FOUND("body.json.user.first_name", "J4ne"),
	NOT_FOUND("body.json.user.email", "not given"),
	NOT_FOUND("query.ud[external_id]", "12345"),
	NOT_FOUND("body.multipart.first_name;filename", "jane.txt"),
};

static void test_meaning_table(void **state)
{
	RUN_CASES(meaning_cases);
}

static const struct value_case hash_cases[] = {
	{ "query.ud[em]", SHA256_JANE_EMAIL, "hashed_email", SHA256_JANE_EMAIL, NULL, "sha256 > hex" },
	{ "query.ud[ph]", SHA256_PHONE_UPPER, "hashed_phone", SHA256_PHONE, NULL, "sha256 > hex" },
	{ "query.udff[fn]", SHA256_JANE, "hashed_first_name", SHA256_JANE, NULL, "sha256 > hex" },
	{ "body.json.user_data.em[0]", SHA256_JANE_EMAIL, "hashed_email", SHA256_JANE_EMAIL, NULL,
	  "sha256 > hex" },
	{ "body.json.sha256_email_address", SHA256_JANE_EMAIL, "hashed_email", SHA256_JANE_EMAIL, NULL,
	  "sha256 > hex" },
	{ "body.json.email_sha1", SHA1_JANE_EMAIL, "hashed_email", SHA1_JANE_EMAIL, NULL, "sha1 > hex" },
	{ "query.ud[external_id]", MD5_USER, "hashed_external_id", MD5_USER, NULL, "md5 > hex" },
	{ "body.json.external_id", MD5_USER_BASE64, "hashed_external_id", MD5_USER, NULL, "md5 > base64" },
	{ "query.ud[em]", SHA256_JANE_EMAIL_BASE64, "hashed_email", SHA256_JANE_EMAIL, NULL,
	  "sha256 > base64" },
	{ "query.hashedEmail", SHA256_JANE_EMAIL_BASE64URL, "hashed_email", SHA256_JANE_EMAIL, NULL,
	  "sha256 > base64url" },
	{ "query.em", "tv.1~em." SHA256_JANE_EMAIL, "hashed_email", SHA256_JANE_EMAIL, SHA256_JANE_EMAIL,
	  "sha256 > hex" },
	{ "body.json.u_hem", SHA256_JANE_EMAIL, "hashed_email", SHA256_JANE_EMAIL, NULL, "sha256 > hex" },

	NOT_FOUND("query.sid", SHA256_JANE_EMAIL),
	NOT_FOUND("body.json.session_id", MD5_USER),
	NOT_FOUND("cookie._ga_hash", SHA1_JANE_EMAIL),
	NOT_FOUND("query.cache_key", SHA256_PHONE),
	NOT_FOUND("query.ud[em]", "8c87b489ce35cf2e2f39f80e282cb2e804932a56a213983eeeb428407d43b52"),
	NOT_FOUND("query.ud[em]", SHA256_JANE_EMAIL "0"),
	NOT_FOUND("query.ud[em]", "not-a-hash"),
	NOT_FOUND("query.ud[em]", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	NOT_FOUND("query.ud[em]", "550e8400-e29b-41d4-a716-446655440000"),
};

static void test_hash_table(void **state)
{
	RUN_CASES(hash_cases);
}

static const struct value_case false_positive_cases[] = {
	NOT_FOUND("query.v", "2.9.160"),
	NOT_FOUND("query.sdk_version", "1.2.3.4"),
	NOT_FOUND("query._p", "1733352000123"),
	NOT_FOUND("query.ts", "1733352000"),
	NOT_FOUND("query.cid", "1234567890.1733352000"),
	NOT_FOUND("query.fbp", "fb.1.1733352000123.1234567890"),
	NOT_FOUND("query.uuid", "550e8400-e29b-41d4-a716-446655440000"),
	NOT_FOUND("cookie.session", "f81d4fae7dec11d0a76500a0c91e6bf6"),
	NOT_FOUND("query.color", "#ff0000"),
	NOT_FOUND("body.json.style", "color: rgb(255, 0, 0); margin: 0.125em"),
	NOT_FOUND("query.price", "1234.56"),
	NOT_FOUND("query.value", "12,500.00"),
	NOT_FOUND("query.img", "https://cdn.example/logo@2x.png"),
	NOT_FOUND("query.sr", "1920x1080"),
	NOT_FOUND("query.dt", "Order 2024-12-04 at 10:30:00"),
	NOT_FOUND("body.raw", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.0.0"),
	NOT_FOUND("query.gtm", "45je4c20v9"),
};

static void test_false_positive_table(void **state)
{
	RUN_CASES(false_positive_cases);
}

/* ---- meanings of paths ---- */

static void test_meaning_of_path(void **state)
{
	static const struct {
		const char *path;
		enum pii_meaning meaning;
	} cases[] = {
		{ "query.ud[em]", PII_MEANING_EMAIL },
		{ "ud[em]", PII_MEANING_EMAIL },
		{ "em", PII_MEANING_EMAIL },
		{ "body.json.context.user.email", PII_MEANING_EMAIL },
		{ "body.form.data.properties.$email", PII_MEANING_EMAIL },
		{ "query.e_mail", PII_MEANING_EMAIL },
		{ "query.E-Mail", PII_MEANING_EMAIL },
		{ "body.json.userEmail", PII_MEANING_EMAIL },
		{ "body.json.user_email", PII_MEANING_EMAIL },
		{ "body.json.sha256_email_address", PII_MEANING_EMAIL },
		{ "body.json.hashedEmail", PII_MEANING_EMAIL },
		{ "body.json.emails[2]", PII_MEANING_EMAIL },
		{ "body.json.user_data.em[0]", PII_MEANING_EMAIL },
		{ "query.phone_number", PII_MEANING_PHONE },
		{ "query.ud[ph]", PII_MEANING_PHONE },
		{ "body.json.PhoneNumber", PII_MEANING_PHONE },
		{ "query.ud[fn]", PII_MEANING_FIRST_NAME },
		{ "body.json.first_name", PII_MEANING_FIRST_NAME },
		{ "body.json.billing_first_name", PII_MEANING_FIRST_NAME },
		{ "query.fn", PII_MEANING_NONE },
		{ "query.ud[ln]", PII_MEANING_LAST_NAME },
		{ "query.ud[ct]", PII_MEANING_CITY },
		{ "query.ct", PII_MEANING_NONE },
		{ "body.json.billing_city", PII_MEANING_CITY },
		{ "body.json.address.city", PII_MEANING_CITY },
		{ "query.ud[st]", PII_MEANING_STATE },
		{ "query.state", PII_MEANING_NONE },
		{ "body.json.user_state", PII_MEANING_NONE },
		{ "query.ud[zp]", PII_MEANING_POSTAL_CODE },
		{ "query.zip", PII_MEANING_POSTAL_CODE },
		{ "body.json.postal_code", PII_MEANING_POSTAL_CODE },
		{ "query.ud[db]", PII_MEANING_DATE_OF_BIRTH },
		{ "query.db", PII_MEANING_NONE },
		{ "query.dob", PII_MEANING_DATE_OF_BIRTH },
		{ "body.json.birthday", PII_MEANING_DATE_OF_BIRTH },
		{ "query.ud[ge]", PII_MEANING_GENDER },
		{ "body.json.gender", PII_MEANING_GENDER },
		{ "query.ud[country]", PII_MEANING_COUNTRY },
		{ "query.country", PII_MEANING_NONE },
		{ "query.ud[external_id]", PII_MEANING_EXTERNAL_ID },
		{ "body.form[0].uid", PII_MEANING_EXTERNAL_ID },
		{ "body.json.user_id", PII_MEANING_EXTERNAL_ID },
		{ "body.json.session_id", PII_MEANING_RECORD_ID },
		{ "body.json.eventId", PII_MEANING_RECORD_ID },
		{ "body.json.timestamp", PII_MEANING_RECORD_ID },
		{ "query.v", PII_MEANING_VERSION },
		{ "query.sdk_version", PII_MEANING_VERSION },
		{ "body.json.appVersion", PII_MEANING_VERSION },
		{ "body.json.context.userAgent", PII_MEANING_VERSION },
		{ "query.lat", PII_MEANING_LATITUDE },
		{ "query.lng", PII_MEANING_LONGITUDE },
		{ "body.json.geo.longitude", PII_MEANING_LONGITUDE },
		{ "body.json.ssn", PII_MEANING_US_SSN },
		{ "body.json.event_name", PII_MEANING_NONE },
		{ "body.json.customer.name", PII_MEANING_NAME },
		{ "body.json.name", PII_MEANING_NONE },
		{ "body.multipart.email;filename", PII_MEANING_NONE },
		{ "query.", PII_MEANING_NONE },
		{ "", PII_MEANING_NONE },
		{ "query.aVeryLongParameterNameThatGoesOnAndOnBeyondSixtyFourBytesOfText_email",
		  PII_MEANING_NONE },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum pii_meaning meaning = pii_meaning_of_path(cases[i].path);

		if (meaning != cases[i].meaning)
			fail_msg("%s: meaning %s, expected %s", cases[i].path, pii_meaning_name(meaning),
				 pii_meaning_name(cases[i].meaning));
	}
	assert_int_equal(pii_meaning_of_path(NULL), PII_MEANING_NONE);
}

static void test_meanings_from_decoder(void **state)
{
	static const struct test_field fields[] = {
		{ "query.p1", SHA256_JANE_EMAIL, { -1 } },
		{ "query.p2", "15551234567", { -1 } },
		{ "query.ud[em]", SHA256_JANE_EMAIL, { -1 } },
	};
	const enum pii_meaning meanings[] = { PII_MEANING_EMAIL, PII_MEANING_PHONE, PII_MEANING_NONE };
	struct field_list list = { 0 };
	struct pii_findings findings = { 0 };

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		add_test_field(&list, &fields[i]);
	assert_int_equal(pii_scan(&list, meanings, &findings), 0);

	expect_finding(&list, &findings, "query.p1", "hashed_email", SHA256_JANE_EMAIL, "sha256 > hex");
	expect_finding(&list, &findings, "query.p2", "phone", "15551234567", "");
	expect_finding(&list, &findings, "query.ud[em]", "hashed_email", SHA256_JANE_EMAIL, "sha256 > hex");
	assert_int_equal(findings.count, 3);

	pii_findings_free(&findings);
	free_fields(&list);
}

/* ---- findings: spans, order, limits ---- */

static void test_one_finding_per_span(void **state)
{
	/* An American Express number grouped as on the card, in a phone
	 * field, reads as both. */
	static const struct test_field fields[] = { { "query.ph", "3782 822463 10005", { -1 } } };
	struct field_list list = { 0 };
	struct pii_findings findings;

	add_test_field(&list, &fields[0]);
	scan_fields(&list, &findings);
	if (findings.count != 1)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 1);
	assert_string_equal(findings.items[0].category, "payment_card");

	pii_findings_free(&findings);
	free_fields(&list);
}

static void test_findings_in_order(void **state)
{
	static const struct test_field fields[] = {
		{ "body.raw", "b@example.com 4111111111111111 a@example.org +4915112345678", { -1 } },
		{ "query.e", "c@example.net", { -1 } },
	};
	static const char *const expected[] = {
		"b@example.com", "4111111111111111", "a@example.org", "+4915112345678", "c@example.net",
	};
	struct field_list list = { 0 };
	struct pii_findings findings;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		add_test_field(&list, &fields[i]);
	scan_fields(&list, &findings);
	if (findings.count != 5)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 5);
	for (size_t i = 0; i < findings.count; i++)
		assert_string_equal(findings.items[i].value, expected[i]);
	assert_int_equal(findings.items[4].field, 1);

	pii_findings_free(&findings);
	free_fields(&list);
}

static void test_encoding_includes_field_chain(void **state)
{
	static const struct test_field fields[] = {
		{ "body.form.data.u",
		  "x jane%40example.com",
		  { FIELD_DECODING_FORM, FIELD_DECODING_URL, FIELD_DECODING_JSON, -1 } },
		{ "body.form.data.em", SHA256_JANE_EMAIL, { FIELD_DECODING_GZIP, FIELD_DECODING_JSON, -1 } },
	};
	struct field_list list = { 0 };
	struct pii_findings findings;
	const struct pii_finding *finding;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		add_test_field(&list, &fields[i]);
	scan_fields(&list, &findings);

	finding = expect_finding(&list, &findings, "body.form.data.u", "email", "jane@example.com",
				 "form > url > json > url");
	assert_int_equal(finding->offset, 2);
	expect_finding(&list, &findings, "body.form.data.em", "hashed_email", SHA256_JANE_EMAIL,
		       "gzip > json > sha256 > hex");

	pii_findings_free(&findings);
	free_fields(&list);
}

static void test_nul_bytes_in_value(void **state)
{
	static const char value[] = "a\0jane@example.com\0+4915112345678";
	struct field_list list = { 0 };
	struct pii_findings findings;
	const struct pii_finding *finding;

	add_field(&list, "body.raw", value, sizeof(value) - 1, NULL);
	scan_fields(&list, &findings);

	finding = expect_finding(&list, &findings, "body.raw", "email", "jane@example.com", "");
	assert_int_equal(finding->offset, 2);
	finding = expect_finding(&list, &findings, "body.raw", "phone", "+4915112345678", "");
	assert_int_equal(finding->offset, 19);

	pii_findings_free(&findings);
	free_fields(&list);
}

static void test_findings_per_field_bounded(void **state)
{
	struct field_list list = { 0 };
	struct pii_findings findings;
	char *value = malloc(100 * 32);
	size_t used = 0;

	assert_non_null(value);
	for (int i = 0; i < 100; i++)
		used += (size_t)sprintf(value + used, "user%d@example.com ", i);
	add_field(&list, "body.raw", value, used, NULL);
	scan_fields(&list, &findings);

	assert_int_equal(findings.count, PII_MAX_FINDINGS_PER_FIELD);
	assert_true(findings.cut);
	assert_string_equal(findings.items[0].value, "user0@example.com");

	pii_findings_clear(&findings);
	assert_int_equal(findings.count, 0);
	assert_false(findings.cut);
	pii_findings_free(&findings);
	pii_findings_free(NULL);
	free(value);
	free_fields(&list);
}

static void test_scan_appends(void **state)
{
	static const struct test_field fields[] = { { "query.e", "jane@example.com", { -1 } } };
	struct field_list list = { 0 };
	struct pii_findings findings;

	add_test_field(&list, &fields[0]);
	scan_fields(&list, &findings);
	assert_int_equal(pii_scan(&list, NULL, &findings), 0);
	assert_int_equal(findings.count, 2);

	pii_findings_free(&findings);
	free_fields(&list);
	assert_int_equal(pii_scan(&list, NULL, &findings), 0);
	assert_int_equal(findings.count, 0);
}

/* ---- whole requests through the extract stage ---- */

struct test_request {
	const char *method;
	const char *url;
	const char *headers[MAX_TEST_HEADERS][2];
	const char *body;
};

static void scan_request(const struct test_request *test, struct field_list *list,
			 struct pii_findings *findings)
{
	const char *names[MAX_TEST_HEADERS];
	const char *values[MAX_TEST_HEADERS];
	struct extract_limits limits;
	struct extract_request request = {
		.method = test->method ? test->method : "GET",
		.url = test->url,
		.header_names = names,
		.header_values = values,
	};

	while (request.header_count < MAX_TEST_HEADERS && test->headers[request.header_count][0]) {
		names[request.header_count] = test->headers[request.header_count][0];
		values[request.header_count] = test->headers[request.header_count][1];
		request.header_count++;
	}
	if (test->body) {
		request.body = (const uint8_t *)test->body;
		request.body_kept = strlen(test->body);
		request.body_bytes = request.body_kept;
	}
	extract_default_limits(&limits);
	memset(list, 0, sizeof(*list));
	assert_int_equal(extract_request_fields(&request, &limits, list), 0);
	scan_fields(list, findings);
}

static void test_meta_pixel_request(void **state)
{
	struct test_request request = {
		.url = "https://www.facebook.com/tr/"
		       "?id=1234567890123456&ev=Purchase&dl=https%3A%2F%2Fshop.example%2F"
		       "&ud[em]=" SHA256_JANE_EMAIL "&ud[ph]=" SHA256_PHONE "&ud[fn]=" SHA256_JANE
		       "&ud[ct]=paris&cd[value]=12.50&cd[currency]=EUR&ts=1733352000123&v=2.9.160",
	};
	struct field_list list;
	struct pii_findings findings;

	scan_request(&request, &list, &findings);
	expect_finding(&list, &findings, "query.ud[em]", "hashed_email", SHA256_JANE_EMAIL, "sha256 > hex");
	expect_finding(&list, &findings, "query.ud[ph]", "hashed_phone", SHA256_PHONE, "sha256 > hex");
	expect_finding(&list, &findings, "query.ud[fn]", "hashed_first_name", SHA256_JANE, "sha256 > hex");
	expect_finding(&list, &findings, "query.ud[ct]", "city", "paris", "");
	if (findings.count != 4)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 4);

	pii_findings_free(&findings);
	field_list_clear(&list);
}

static void test_tiktok_events_request(void **state)
{
	struct test_request request = {
		.method = "POST",
		.url = "https://analytics.tiktok.com/api/v2/pixel",
		.headers = { { "Content-Type", "application/json" } },
		.body = "{\"event\":\"CompletePayment\",\"timestamp\":\"2024-12-04T22:40:00.123Z\","
			"\"context\":{\"user\":{\"email\":\"" SHA256_JANE_EMAIL
			"\",\"phone_number\":\"" SHA256_PHONE
			"\"},\"ad\":{\"callback\":\"E.C.P.v3fQ2K7bZ\"},\"library\":{\"name\":\"pixel.js\","
			"\"version\":\"2.2.1\"}},\"properties\":{\"value\":99.5,\"currency\":\"USD\"}}",
	};
	struct field_list list;
	struct pii_findings findings;

	scan_request(&request, &list, &findings);
	expect_finding(&list, &findings, "body.json.context.user.email", "hashed_email", SHA256_JANE_EMAIL,
		       "json > sha256 > hex");
	expect_finding(&list, &findings, "body.json.context.user.phone_number", "hashed_phone", SHA256_PHONE,
		       "json > sha256 > hex");
	if (findings.count != 2)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 2);

	pii_findings_free(&findings);
	field_list_clear(&list);
}

static void test_ga4_page_url_with_email(void **state)
{
	struct test_request request = {
		.url = "https://region1.google-analytics.com/g/collect?v=2&tid=G-ABC123XYZ&gtm=45je4c20v9"
		       "&_p=1733352000123&cid=1234567890.1733352000&ul=en-us&sr=1920x1080"
		       "&sid=1733352000&sct=3"
		       "&dl=https%3A%2F%2Fshop.example%2Fthanks%3Femail%3Djane%2540example.com&dt=Thanks"
		       "&en=page_view&_et=123",
		.headers = { { "User-Agent",
			       "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36" } },
	};
	struct field_list list;
	struct pii_findings findings;
	const struct pii_finding *finding;

	scan_request(&request, &list, &findings);
	finding = expect_finding(&list, &findings, "query.dl.email", "email", "jane@example.com",
				 "url > query > url");
	expect_matched_text(&list, finding, "jane@example.com");
	finding = expect_finding(&list, &findings, "query.dl", "email", "jane@example.com", "url > url");
	expect_matched_text(&list, finding, "jane%40example.com");
	if (findings.count != 2)
		print_findings(&list, &findings);
	assert_int_equal(findings.count, 2);

	pii_findings_free(&findings);
	field_list_clear(&list);
}

static void test_form_with_encoded_json(void **state)
{
	struct test_request request = {
		.method = "POST",
		.url = "https://eu.i.posthog.com/e/",
		.headers = { { "Content-Type", "application/x-www-form-urlencoded" } },
		.body = "data=%7B%22event%22%3A%22%24identify%22%2C%22properties%22%3A%7B%22%24email%22%3A%22"
			"Jane%40Example.com%22%2C%22%24lib_version%22%3A%221.200.3.4%22%2C%22%24ip%22%3A%22"
			"203.0.113.9%22%7D%7D&ver=1.200.3",
	};
	struct field_list list;
	struct pii_findings findings;
	const struct pii_finding *finding;

	scan_request(&request, &list, &findings);
	expect_finding(&list, &findings, "body.form.data.properties.$email", "email", "jane@example.com",
		       "form > url > json");
	expect_finding(&list, &findings, "body.form.data", "email", "jane@example.com", "form > url");
	expect_finding(&list, &findings, "body.form.data.properties.$ip", "ip_address", "203.0.113.9",
		       "form > url > json");
	finding = find_finding(&list, &findings, "body.form.data.properties.$lib_version", "ip_address",
			       NULL);
	assert_null(finding);

	pii_findings_free(&findings);
	field_list_clear(&list);
}

static void test_raw_body(void **state)
{
	struct test_request request = {
		.method = "POST",
		.url = "https://collector.example/log",
		.headers = { { "Content-Type", "text/plain" } },
		.body = "name: Jane Doe\nmail: jane@example.com\nphone: +1 555-123-4567\n"
			"card: 4111 1111 1111 1111\n",
	};
	struct field_list list;
	struct pii_findings findings;

	scan_request(&request, &list, &findings);
	expect_finding(&list, &findings, "body.raw", "email", "jane@example.com", "");
	expect_finding(&list, &findings, "body.raw", "phone", "+15551234567", "");
	expect_finding(&list, &findings, "body.raw", "payment_card", "4111111111111111", "");

	pii_findings_free(&findings);
	field_list_clear(&list);
}

static void test_tracker_requests_without_pii(void **state)
{
	static const struct test_request requests[] = {
		{
			.url = "https://region1.google-analytics.com/g/collect?v=2&tid=G-ABC123XYZ"
			       "&gtm=45je4c20v9&_p=1733352000123&cid=1234567890.1733352000"
			       "&sid=1733352000&dl=https%3A%2F%2Fshop.example%2F&ep.color=%23ff0000"
			       "&ep.price=1234.56&ep.img=logo%402x.png&ep.sdk_version=1.2.3.4"
			       "&ep.session_hash=" SHA256_JANE_EMAIL
			       "&ep.uuid=550e8400-e29b-41d4-a716-446655440000",
			.headers = {
				{ "User-Agent",
				  "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36" },
				{ "Referer", "https://shop.example/product/42?ref=1" },
				{ "Cookie", "_ga=GA1.1.1234567890.1733352000;"
					    " sid=f81d4fae7dec11d0a76500a0c91e6bf6;"
					    " _ga_ABC123=GS1.1.1733352000.1.1.1733352100.0.0.0" },
			},
		},
		{
			.url = "https://www.facebook.com/tr/?id=1234567890123456&ev=PageView"
			       "&dl=https%3A%2F%2Fshop.example%2Fcart&rl=&if=false&ts=1733352000123"
			       "&cd[content_ids]=%5B%22sku-4111%22%5D&cd[value]=129.95&sw=1920"
			       "&sh=1080&v=2.9.176&r=stable&ec=0&o=4126"
			       "&fbp=fb.1.1733352000123.987654321&it=1733351999000&coo=false&rqm=GET",
		},
		{
			.method = "POST",
			.url = "https://api.segment.io/v1/t",
			.headers = { { "Content-Type", "text/plain" } },
			.body = "{\"anonymousId\":\"0b5c7a3e-9f2d-4c1e-8a6b-2d4f6e8a0c1b\","
				"\"event\":\"Viewed\",\"messageId\":\"ajs-next-1733352000123-4f1c2e3d\","
				"\"sentAt\":\"2024-12-04T22:40:00.123Z\",\"context\":{\"library\":"
				"{\"name\":\"analytics.js\",\"version\":\"npm:next-1.70.0\"},"
				"\"page\":{\"url\":\"https://shop.example/p/42\"},"
				"\"screen\":{\"width\":1920}},\"properties\":{\"price\":12.5,"
				"\"ratio\":0.125,\"sku\":\"4111-1111\"}}",
		},
	};

	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
		struct field_list list;
		struct pii_findings findings;

		print_message("request: %s\n", requests[i].url);
		scan_request(&requests[i], &list, &findings);
		expect_no_findings(&list, &findings);
		pii_findings_free(&findings);
		field_list_clear(&list);
	}
}

/* ---- throughput ---- */

static double elapsed_seconds(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Prints the scan's throughput over 4000 fields shaped like tracker
 * parameters, about 1 in 8 with personal data. The bound checked, 1 MB/s,
 * is far below the rates measured, so a busy shared machine passes it. */
static void test_scan_throughput(void **state)
{
	static const struct test_field shapes[] = {
		{ "query.dl",
		  "https://shop.example/products/shoes?color=red&size=42&utm_source=newsletter",
		  { -1 } },
		{ "query._p", "1733352000123", { -1 } },
		{ "query.cid", "1234567890.1733352000", { -1 } },
		{ "body.json.events[0].params.page_title", "Running shoes for men and women | Shop", { -1 } },
		{ "query.ud[em]", SHA256_JANE_EMAIL, { -1 } },
		{ "body.json.context.page.referrer",
		  "https://www.search.example/search?q=running+shoes",
		  { -1 } },
		{ "body.json.user.email", "jane.doe@example.com", { -1 } },
		{ "cookie._ga", "GA1.1.1234567890.1733352000", { -1 } },
	};
	struct field_list list = { 0 };
	struct pii_findings findings = { 0 };
	struct timespec start;
	size_t bytes = 0;
	double seconds;
	int rounds = 20;

	for (size_t i = 0; i < 4000; i++) {
		add_test_field(&list, &shapes[i % (sizeof(shapes) / sizeof(shapes[0]))]);
		bytes += list.fields[i].value_bytes;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int round = 0; round < rounds; round++) {
		pii_findings_clear(&findings);
		assert_int_equal(pii_scan(&list, NULL, &findings), 0);
	}
	seconds = elapsed_seconds(&start);
	print_message("pii_scan: %zu fields, %zu bytes, %d rounds in %.3f s: %.1f MB/s, %.0f fields/ms\n",
		      list.count, bytes, rounds, seconds, (double)bytes * rounds / seconds / 1e6,
		      (double)list.count * rounds / seconds / 1e3);
	assert_int_equal(findings.count, 1000);
	assert_true((double)bytes * rounds / seconds > 1e6);

	pii_findings_free(&findings);
	free_fields(&list);
}

/* Prints the scan's throughput over one 1 MiB raw body of JSON events
 * without personal data, as a sendBeacon batch that extraction could not
 * parse would be. */
static void test_scan_throughput_long_value(void **state)
{
	static const char event[] = "{\"event\":\"page_view\",\"ts\":1733352000123,"
				    "\"url\":\"https://shop.example/p/42?ref=mail\","
				    "\"title\":\"Running shoes, size 42, price 129.95 EUR\","
				    "\"v\":\"2.9.160\",\"sid\":\"f81d4fae7dec11d0a76500a0c91e6bf6\"} ";
	size_t capacity = 1 << 20;
	char *body = malloc(capacity);
	struct field_list list = { 0 };
	struct pii_findings findings = { 0 };
	struct timespec start;
	size_t used = 0;
	double seconds;
	int rounds = 20;

	assert_non_null(body);
	while (used + sizeof(event) - 1 <= capacity) {
		memcpy(body + used, event, sizeof(event) - 1);
		used += sizeof(event) - 1;
	}
	add_field(&list, "body.raw", body, used, NULL);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (int round = 0; round < rounds; round++) {
		pii_findings_clear(&findings);
		assert_int_equal(pii_scan(&list, NULL, &findings), 0);
	}
	seconds = elapsed_seconds(&start);
	print_message("pii_scan: one raw body of %zu bytes, %d rounds in %.3f s: %.1f MB/s\n", used, rounds,
		      seconds, (double)used * rounds / seconds / 1e6);
	assert_int_equal(findings.count, 0);
	assert_true((double)used * rounds / seconds > 1e6);

	pii_findings_free(&findings);
	free_fields(&list);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email_table),
		cmocka_unit_test(test_phone_table),
		cmocka_unit_test(test_card_table),
		cmocka_unit_test(test_iban_table),
		cmocka_unit_test(test_ssn_table),
		cmocka_unit_test(test_ip_table),
		cmocka_unit_test(test_location_table),
		cmocka_unit_test(test_location_siblings),
		cmocka_unit_test(test_meaning_table),
		cmocka_unit_test(test_hash_table),
		cmocka_unit_test(test_false_positive_table),
		cmocka_unit_test(test_meaning_of_path),
		cmocka_unit_test(test_meanings_from_decoder),
		cmocka_unit_test(test_one_finding_per_span),
		cmocka_unit_test(test_findings_in_order),
		cmocka_unit_test(test_encoding_includes_field_chain),
		cmocka_unit_test(test_nul_bytes_in_value),
		cmocka_unit_test(test_findings_per_field_bounded),
		cmocka_unit_test(test_scan_appends),
		cmocka_unit_test(test_meta_pixel_request),
		cmocka_unit_test(test_tiktok_events_request),
		cmocka_unit_test(test_ga4_page_url_with_email),
		cmocka_unit_test(test_form_with_encoded_json),
		cmocka_unit_test(test_raw_body),
		cmocka_unit_test(test_tracker_requests_without_pii),
		cmocka_unit_test(test_scan_throughput),
		cmocka_unit_test(test_scan_throughput_long_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of persona matching (agent/classify/persona*.c). For one value
 * of each kind, the test computes every form and chain itself, with its own
 * encoders and with digests and base64 from OpenSSL. It puts each text into
 * a request, runs the extract stage and persona_scan, and checks that the
 * text is found with exactly its chain. Further tests cover fields decoded
 * by the extract stage, unrelated text, short values, overlapping forms and
 * malformed persona files.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "classify/classify.h"
#include "classify/persona_internal.h"

#define MAX_NORMALS 4
#define CHAIN_BYTES 128
#define LOG_TEXT_BYTES 4096
#define PATH_BYTES 256
#define TEXT_BYTES 2048

/* ---- test-side encoders, written apart from the matcher's ---- */

static char *text_copy(const char *text, size_t length)
{
	char *copy = malloc(length + 1);

	assert_non_null(copy);
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

static char *url_encode(const char *input, bool form)
{
	const char *unreserved = form ? "*-._" : "-_.!~*'()";
	char *out = malloc(3 * strlen(input) + 1);
	size_t used = 0;
	size_t i;

	assert_non_null(out);
	for (i = 0; input[i]; i++) {
		unsigned char byte = (unsigned char)input[i];

		if ((byte < 0x80 &&
		     ((byte >= '0' && byte <= '9') || ((byte | 0x20) >= 'a' && (byte | 0x20) <= 'z'))) ||
		    strchr(unreserved, byte))
			out[used++] = (char)byte;
		else if (form && byte == ' ')
			out[used++] = '+';
		else
			used += (size_t)sprintf(out + used, "%%%02X", byte);
	}
	out[used] = '\0';
	return out;
}

/* Base64 through OpenSSL's EVP_EncodeBlock, with the URL alphabet and
 * without padding made from it. */
static char *base64_encode(const void *input, size_t length, bool url, bool padded)
{
	char *out = malloc(4 * (length / 3 + 1) + 1);
	size_t i;
	int written;

	assert_non_null(out);
	written = EVP_EncodeBlock((unsigned char *)out, input, (int)length);
	out[written] = '\0';
	for (i = 0; url && out[i]; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	while (!padded && written > 0 && out[written - 1] == '=')
		out[--written] = '\0';
	return out;
}

static char *hex_encode(const void *input, size_t length, bool upper)
{
	const uint8_t *bytes = input;
	char *out = malloc(2 * length + 1);
	size_t i;

	assert_non_null(out);
	for (i = 0; i < length; i++)
		sprintf(out + 2 * i, upper ? "%02X" : "%02x", bytes[i]);
	out[2 * length] = '\0';
	return out;
}

static char *json_encode(const char *input, bool markup)
{
	char *out = malloc(6 * strlen(input) + 1);
	size_t used = 0;
	size_t i;

	assert_non_null(out);
	for (i = 0; input[i]; i++) {
		unsigned char byte = (unsigned char)input[i];

		if (byte == '"' || byte == '\\')
			used += (size_t)sprintf(out + used, "\\%c", byte);
		else if (byte == '\n')
			used += (size_t)sprintf(out + used, "\\n");
		else if (byte < 0x20 || (markup && strchr("@<>&", byte)))
			used += (size_t)sprintf(out + used, "\\u%04x", byte);
		else
			out[used++] = (char)byte;
	}
	out[used] = '\0';
	return out;
}

static size_t digest_of(const char *hash, const void *input, size_t length, uint8_t *digest)
{
	unsigned int digest_bytes = 0;

	assert_int_equal(EVP_Digest(input, length, digest, &digest_bytes, EVP_get_digestbyname(hash), NULL),
			 1);
	return digest_bytes;
}

/* ---- expected forms ---- */

struct expected_form {
	char *text;
	size_t padding_bytes; /* base64 padding at its end, "=" or "%3D" */
	char chain[CHAIN_BYTES];
};

struct expectations {
	struct expected_form *items;
	size_t count;
	size_t capacity;
};

/* Records text as made by chain, unless an earlier chain made it: the
 * matcher names a text by the first chain that gives it. Takes text. */
static void expect(struct expectations *list, const char *chain, char *text, size_t padding_bytes)
{
	struct expected_form *form;
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strcmp(list->items[i].text, text) == 0) {
			free(text);
			return;
		}
	}
	if (list->count == list->capacity) {
		list->capacity = list->capacity ? 2 * list->capacity : 64;
		list->items = realloc(list->items, list->capacity * sizeof(*list->items));
		assert_non_null(list->items);
	}
	form = &list->items[list->count++];
	form->text = text;
	form->padding_bytes = padding_bytes;
	snprintf(form->chain, sizeof(form->chain), "%s", chain);
}

static void expectations_free(struct expectations *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i].text);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static size_t padding_of(const char *text)
{
	size_t length = strlen(text);
	size_t padding = 0;

	while (padding < length && text[length - padding - 1] == '=')
		padding++;
	return padding;
}

static void join(char *chain, const char *base, const char *steps)
{
	int written = snprintf(chain, CHAIN_BYTES, "%s > %s", base, steps);

	assert_true(written > 0 && written < CHAIN_BYTES);
}

/* The padded and unpadded base64 or base64url of input. */
static void expect_base64(struct expectations *list, const char *chain, const void *input, size_t length,
			  bool url)
{
	char *padded = base64_encode(input, length, url, true);

	expect(list, chain, base64_encode(input, length, url, false), 0);
	expect(list, chain, padded, padding_of(padded));
}

/* The URL encoding of base64, padded (padding as %3D) and unpadded. */
static void expect_url_of_base64(struct expectations *list, const char *chain, const void *input,
				 size_t length)
{
	char *padded = base64_encode(input, length, false, true);
	char *unpadded = base64_encode(input, length, false, false);

	expect(list, chain, url_encode(unpadded, false), 0);
	expect(list, chain, url_encode(padded, false), 3 * padding_of(padded));
	free(padded);
	free(unpadded);
}

static void expect_digest_texts(struct expectations *list, const char *base, const char *hash,
				const void *input, size_t length, bool encode_again)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t digest_bytes = digest_of(hash, input, length, digest);
	char chain[CHAIN_BYTES];
	char hash_chain[CHAIN_BYTES];
	int upper;

	join(hash_chain, base, hash);
	join(chain, hash_chain, "hex");
	expect(list, chain, hex_encode(digest, digest_bytes, false), 0);
	expect(list, chain, hex_encode(digest, digest_bytes, true), 0);
	join(chain, hash_chain, "base64");
	expect_base64(list, chain, digest, digest_bytes, false);
	join(chain, hash_chain, "base64url");
	expect_base64(list, chain, digest, digest_bytes, true);
	if (!encode_again)
		return;

	for (upper = 0; upper <= 1; upper++) {
		char *hex = hex_encode(digest, digest_bytes, upper);

		join(chain, hash_chain, "hex > base64");
		expect_base64(list, chain, hex, strlen(hex), false);
		join(chain, hash_chain, "hex > base64url");
		expect_base64(list, chain, hex, strlen(hex), true);
		free(hex);
	}
	join(chain, hash_chain, "base64 > url");
	expect_url_of_base64(list, chain, digest, digest_bytes);
}

/* Every chain over one normalised form, in the order docs/PERSONA.md gives. */
static void expect_chains(struct expectations *list, const char *base, const char *normal)
{
	static const char *const hashes[] = { "md5", "sha1", "sha256", "sha512" };
	size_t length = strlen(normal);
	char chain[CHAIN_BYTES];
	char *encoded;
	size_t i;

	expect(list, base, text_copy(normal, length), 0);
	join(chain, base, "url");
	expect(list, chain, url_encode(normal, false), 0);
	expect(list, chain, url_encode(normal, true), 0);
	join(chain, base, "base64");
	expect_base64(list, chain, normal, length, false);
	join(chain, base, "base64url");
	expect_base64(list, chain, normal, length, true);
	join(chain, base, "hex");
	expect(list, chain, hex_encode(normal, length, false), 0);
	expect(list, chain, hex_encode(normal, length, true), 0);
	join(chain, base, "json");
	expect(list, chain, json_encode(normal, false), 0);
	expect(list, chain, json_encode(normal, true), 0);

	encoded = url_encode(normal, false);
	join(chain, base, "url > url");
	expect(list, chain, url_encode(encoded, false), 0);
	join(chain, base, "url > base64");
	expect_base64(list, chain, encoded, strlen(encoded), false);
	join(chain, base, "base64 > url");
	expect_url_of_base64(list, chain, normal, length);

	for (i = 0; i < 4; i++)
		expect_digest_texts(list, base, hashes[i], normal, length, true);

	join(chain, base, "url");
	for (i = 0; i < 4; i++)
		expect_digest_texts(list, chain, hashes[i], encoded, strlen(encoded), false);
	free(encoded);
	encoded = base64_encode(normal, length, false, true);
	join(chain, base, "base64");
	for (i = 0; i < 4; i++)
		expect_digest_texts(list, chain, hashes[i], encoded, strlen(encoded), false);
	free(encoded);
}

/* ---- persona files, requests and findings ---- */

static char temp_dir[PATH_BYTES];

static int setup_dir(void **state)
{
	strcpy(temp_dir, "/tmp/plainsight-persona-XXXXXX");
	return mkdtemp(temp_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char path[PATH_BYTES + 16];

	snprintf(path, sizeof(path), "%s/persona.json", temp_dir);
	unlink(path);
	rmdir(temp_dir);
	return 0;
}

/* Writes text as the persona file and loads it with stderr sent to a file,
 * whose text log_text receives. */
static int load_text(const char *text, size_t length, struct persona **persona, char *log_text)
{
	char path[PATH_BYTES + 16];
	FILE *file;
	FILE *log_file = tmpfile();
	int saved_stderr = dup(STDERR_FILENO);
	size_t logged;
	int err;

	snprintf(path, sizeof(path), "%s/persona.json", temp_dir);
	file = fopen(path, "we");
	assert_non_null(file);
	assert_int_equal(fwrite(text, 1, length, file), length);
	assert_int_equal(fclose(file), 0);

	assert_non_null(log_file);
	fflush(stderr);
	dup2(fileno(log_file), STDERR_FILENO);
	err = persona_load(persona, path);
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);

	rewind(log_file);
	logged = fread(log_text, 1, LOG_TEXT_BYTES - 1, log_file);
	log_text[logged] = '\0';
	fclose(log_file);
	return err;
}

static struct persona *load_persona(const char *json)
{
	struct persona *persona = NULL;
	char log_text[LOG_TEXT_BYTES];

	if (load_text(json, strlen(json), &persona, log_text) != 0)
		fail_msg("persona_load failed: %s", log_text);
	return persona;
}

static void extract(const char *url, const char *content_type, const char *body, struct field_list *fields)
{
	const char *names[] = { "Content-Type" };
	const char *values[] = { content_type };
	struct extract_request request = {
		.method = body ? "POST" : "GET",
		.url = url,
		.header_names = names,
		.header_values = values,
		.header_count = content_type ? 1 : 0,
		.body = (const uint8_t *)body,
		.body_kept = body ? strlen(body) : 0,
		.body_bytes = body ? strlen(body) : 0,
	};
	struct extract_limits limits;

	extract_default_limits(&limits);
	memset(fields, 0, sizeof(*fields));
	assert_int_equal(extract_request_fields(&request, &limits, fields), 0);
}

static void findings_free(struct pii_findings *findings)
{
	size_t i;

	for (i = 0; i < findings->count; i++)
		free(findings->items[i].value);
	free(findings->items);
	memset(findings, 0, sizeof(*findings));
}

static void scan(const struct persona *persona, const struct field_list *fields,
		 struct pii_findings *findings)
{
	memset(findings, 0, sizeof(*findings));
	assert_int_equal(persona_scan(persona, fields, findings), 0);
}

/* Returns the index of the field with path and exactly the chain (decoding
 * names joined by ">"), or fields->count. */
static size_t field_index(const struct field_list *fields, const char *path, const char *chain)
{
	size_t i;
	size_t j;

	for (i = 0; i < fields->count; i++) {
		char text[CHAIN_BYTES] = "";

		for (j = 0; j < fields->fields[i].decoding_count; j++) {
			strcat(text, j ? ">" : "");
			strcat(text, field_decoding_name(fields->fields[i].decodings[j]));
		}
		if (strcmp(fields->fields[i].path, path) == 0 && strcmp(text, chain) == 0)
			return i;
	}
	return fields->count;
}

/* Returns the finding in field at offset, or NULL; fails on two. */
static const struct pii_finding *finding_at(const struct pii_findings *findings, size_t field, size_t offset)
{
	const struct pii_finding *found = NULL;
	size_t i;

	for (i = 0; i < findings->count; i++) {
		if (findings->items[i].field != field || findings->items[i].offset != offset)
			continue;
		assert_null(found);
		found = &findings->items[i];
	}
	return found;
}

static void print_findings(const struct pii_findings *findings)
{
	size_t i;

	for (i = 0; i < findings->count; i++)
		print_message("  finding: field %zu offset %zu length %zu %s [%s]\n",
			      findings->items[i].field, findings->items[i].offset, findings->items[i].length,
			      findings->items[i].category, findings->items[i].encoding);
}

/* ---- every form of every kind ---- */

struct normal_case {
	const char *chain;
	const char *text;
};

struct kind_case {
	const char *kind;
	const char *value_json; /* as written in the persona file */
	const char *normalised; /* the findings' value */
	struct normal_case normals[MAX_NORMALS]; /* in the matcher's order */
};

static const struct kind_case kind_cases[] = {
	{"email",
	 "\"  Jane.Doe@Example.com \"",
	 "jane.doe@example.com",
	 {{"lowercase", "jane.doe@example.com"}, {"trim", "Jane.Doe@Example.com"}}},
	{"phone",
	 "\"+49 151 2345 6789\"",
	 "+4915123456789",
	 {{"e164", "+4915123456789"},
	  {"national", "015123456789"},
	  {"digits", "4915123456789"},
	  {"trim", "+49 151 2345 6789"}}},
	{"first_name", "\"Jane\"", "jane", {{"lowercase", "jane"}, {"trim", "Jane"}}},
	{"last_name",
	 "\"O'Neil\"",
	 "o'neil",
	 {{"lowercase", "o'neil"}, {"lowercase > compact", "oneil"}, {"trim", "O'Neil"}}},
	{"name",
	 "\"Jane Doe\"",
	 "jane doe",
	 {{"lowercase", "jane doe"}, {"lowercase > compact", "janedoe"}, {"trim", "Jane Doe"}}},
	{"street_address",
	 "\"Hauptstr. 5\"",
	 "hauptstr. 5",
	 {{"lowercase", "hauptstr. 5"}, {"lowercase > compact", "hauptstr5"}, {"trim", "Hauptstr. 5"}}},
	{"city",
	 "\"S\\u00e3o Paulo\"",
	 "s\xc3\xa3o paulo",
	 {{"lowercase", "s\xc3\xa3o paulo"},
	  {"lowercase > compact", "s\xc3\xa3opaulo"},
	  {"trim", "S\xc3\xa3o Paulo"}}},
	{"state", "\"NY\"", "ny", {{"lowercase", "ny"}, {"trim", "NY"}}},
	{"postal_code",
	 "\"SW1A 1AA\"",
	 "sw1a 1aa",
	 {{"lowercase", "sw1a 1aa"}, {"lowercase > compact", "sw1a1aa"}, {"trim", "SW1A 1AA"}}},
	{"country", "\"Germany\"", "germany", {{"lowercase", "germany"}, {"trim", "Germany"}}},
	{"date_of_birth", "\"1990-04-01\"", "1990-04-01", {{"yyyymmdd", "19900401"}, {"trim", "1990-04-01"}}},
	{"gender",
	 "\"Female\"",
	 "female",
	 {{"lowercase", "female"}, {"lowercase > initial", "f"}, {"trim", "Female"}}},
	{"payment_card",
	 "\"4111 1111 1111 1111\"",
	 "4111111111111111",
	 {{"digits", "4111111111111111"}, {"trim", "4111 1111 1111 1111"}}},
	{"iban",
	 "\"DE89 3704 0044 0532 0130 00\"",
	 "DE89370400440532013000",
	 {{"trim > compact", "DE89370400440532013000"},
	  {"lowercase > compact", "de89370400440532013000"},
	  {"trim", "DE89 3704 0044 0532 0130 00"}}},
	{"user_id", "\"U-829361\"", "U-829361", {{"trim", "U-829361"}, {"lowercase", "u-829361"}}},
	{"ip_address",
	 "\"2001:DB8::1\"",
	 "2001:db8::1",
	 {{"lowercase", "2001:db8::1"}, {"trim", "2001:DB8::1"}}},
	{"other",
	 "\"Canary<Token>&1\"",
	 "Canary<Token>&1",
	 {{"trim", "Canary<Token>&1"}, {"lowercase", "canary<token>&1"}}},
};

static void expect_finding(const struct pii_finding *finding, const struct kind_case *kind, size_t length,
			   const char *encoding, const struct pii_findings *findings, const char *text)
{
	char source[64];

	if (!finding || finding->length != length || strcmp(finding->encoding, encoding) != 0) {
		print_message("%s: form \"%s\" expected as [%s], length %zu\n", kind->kind, text, encoding,
			      length);
		print_findings(findings);
	}
	assert_non_null(finding);
	assert_int_equal(finding->length, length);
	assert_string_equal(finding->encoding, encoding);
	assert_string_equal(finding->category, kind->kind);
	snprintf(source, sizeof(source), "persona:%s", kind->kind);
	assert_string_equal(finding->source, source);
	assert_string_equal(finding->value, kind->normalised);
}

/* A form of at least 4 bytes is found inside text; a shorter one only as a
 * whole value, here a query parameter. */
static void check_form(const struct persona *persona, const struct kind_case *kind,
		       const struct expected_form *form)
{
	size_t core_bytes = strlen(form->text) - form->padding_bytes;
	char text[TEXT_BYTES];
	char encoding[CHAIN_BYTES + 8];
	struct field_list fields;
	struct pii_findings findings;
	const struct pii_finding *finding;
	size_t field;
	char *encoded;

	snprintf(text, sizeof(text), "see %s here", form->text);
	extract("https://collector.example/c", "text/plain", text, &fields);
	field = field_index(&fields, "body.raw", "");
	assert_true(field < fields.count);
	scan(persona, &fields, &findings);
	finding = finding_at(&findings, field, 4);
	if (core_bytes >= 4) {
		expect_finding(finding, kind, strlen(form->text), form->chain, &findings, form->text);
	} else if (finding) {
		print_message("%s: short form \"%s\" [%s] found inside text\n", kind->kind, form->text,
			      form->chain);
		fail();
	}
	findings_free(&findings);
	field_list_clear(&fields);
	if (core_bytes >= 4)
		return;

	encoded = url_encode(form->text, false);
	snprintf(text, sizeof(text), "https://collector.example/c?v=%s", encoded);
	extract(text, NULL, NULL, &fields);
	field = field_index(&fields, "query.v", strcmp(encoded, form->text) ? "url" : "");
	assert_true(field < fields.count);
	snprintf(encoding, sizeof(encoding), "%s%s", strcmp(encoded, form->text) ? "url > " : "",
		 form->chain);
	scan(persona, &fields, &findings);
	expect_finding(finding_at(&findings, field, 0), kind, strlen(form->text), encoding, &findings,
		       form->text);
	findings_free(&findings);
	field_list_clear(&fields);
	free(encoded);
}

static void test_every_form_of_every_kind(void **state)
{
	size_t forms_checked = 0;
	size_t i;
	size_t j;

	for (i = 0; i < sizeof(kind_cases) / sizeof(kind_cases[0]); i++) {
		const struct kind_case *kind = &kind_cases[i];
		struct expectations expected = { 0 };
		char json[TEXT_BYTES];
		struct persona *persona;

		snprintf(json, sizeof(json), "{\"values\": {\"%s\": [%s]}}", kind->kind, kind->value_json);
		persona = load_persona(json);
		for (j = 0; j < MAX_NORMALS && kind->normals[j].chain; j++)
			expect_chains(&expected, kind->normals[j].chain, kind->normals[j].text);

		/* A pattern stands for a text with and without its padding, and
		 * for hex in either case, so it can stand for several texts. */
		assert_true(persona_pattern_count(persona) > 0);
		assert_true(persona_pattern_count(persona) <= expected.count);
		for (j = 0; j < expected.count; j++)
			check_form(persona, kind, &expected.items[j]);
		forms_checked += expected.count;
		expectations_free(&expected);
		persona_free(persona);
	}
	print_message("%zu forms checked\n", forms_checked);
}

/* ---- fields as the extract stage gives them ---- */

static const char demo_persona[] =
	"{\"name\": \"demo shopper\", \"values\": {"
	"\"email\": [\"jane.doe@example.com\"], \"phone\": [\"+49 151 2345 6789\"],"
	"\"first_name\": [\"Jane\"], \"last_name\": [\"Doe\"], \"street_address\": [\"Hauptstr. 5\"],"
	"\"city\": [\"Berlin\"], \"postal_code\": [\"10115\"], \"date_of_birth\": [\"1990-04-01\"],"
	"\"payment_card\": [\"4111 1111 1111 1111\"], \"user_id\": [\"u-829361\"]}}";

static char *sha256_hex(const char *text)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	size_t digest_bytes = digest_of("sha256", text, strlen(text), digest);

	return hex_encode(digest, digest_bytes, false);
}

/* Checks the finding at offset in the field with path and field chain. */
static void expect_at(const struct field_list *fields, const struct pii_findings *findings, const char *path,
		      const char *field_chain, size_t offset, size_t length, const char *category,
		      const char *encoding, const char *value)
{
	size_t field = field_index(fields, path, field_chain);
	const struct pii_finding *finding;

	if (field == fields->count)
		fail_msg("no field %s with chain \"%s\"", path, field_chain);
	finding = finding_at(findings, field, offset);
	if (!finding || finding->length != length || strcmp(finding->encoding, encoding) != 0) {
		print_message("%s at %zu: expected [%s], length %zu\n", path, offset, encoding, length);
		print_findings(findings);
	}
	assert_non_null(finding);
	assert_int_equal(finding->length, length);
	assert_string_equal(finding->encoding, encoding);
	assert_string_equal(finding->category, category);
	assert_string_equal(finding->value, value);
}

static void test_meta_pixel_query(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	char *email = sha256_hex("jane.doe@example.com");
	char *phone = sha256_hex("4915123456789");
	char *first_name = sha256_hex("jane");
	char *birth = sha256_hex("19900401");
	struct field_list fields;
	struct pii_findings findings;
	char url[TEXT_BYTES];

	snprintf(url, sizeof(url),
		 "https://www.facebook.com/tr/?id=123&ev=Lead&ud[em]=%s&ud[ph]=%s&ud[fn]=%s&ud[db]=%s"
		 "&dl=https%%3A%%2F%%2Fshop.example%%2Fcheckout%%3Femail%%3Djane.doe%%2540example.com",
		 email, phone, first_name, birth);
	extract(url, NULL, NULL, &fields);
	scan(persona, &fields, &findings);

	expect_at(&fields, &findings, "query.ud[em]", "", 0, 64, "email", "lowercase > sha256 > hex",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "query.ud[ph]", "", 0, 64, "phone", "digits > sha256 > hex",
		  "+4915123456789");
	expect_at(&fields, &findings, "query.ud[fn]", "", 0, 64, "first_name", "lowercase > sha256 > hex",
		  "jane");
	expect_at(&fields, &findings, "query.ud[db]", "", 0, 64, "date_of_birth", "yyyymmdd > sha256 > hex",
		  "1990-04-01");
	expect_at(&fields, &findings, "query.dl", "url", 36, 22, "email", "url > lowercase > url",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "query.dl.email", "url>query>url", 0, 20, "email",
		  "url > query > url > lowercase", "jane.doe@example.com");
	assert_int_equal(findings.count, 6);

	findings_free(&findings);
	field_list_clear(&fields);
	free(email);
	free(phone);
	free(first_name);
	free(birth);
	persona_free(persona);
}

static void test_tiktok_json_body(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	char *email = sha256_hex("jane.doe@example.com");
	char *phone = sha256_hex("+4915123456789");
	struct field_list fields;
	struct pii_findings findings;
	char body[TEXT_BYTES];

	snprintf(body, sizeof(body),
		 "{\"event\":\"CompletePayment\",\"context\":{\"user\":{\"email\":\"%s\","
		 "\"phone_number\":\"%s\"}},\"properties\":{\"value\":12.5,\"currency\":\"EUR\"},"
		 "\"ext\":\"amFuZS5kb2VAZXhhbXBsZS5jb20=\"}",
		 email, phone);
	extract("https://analytics.tiktok.com/api/v2/pixel", "application/json", body, &fields);
	scan(persona, &fields, &findings);

	expect_at(&fields, &findings, "body.json.context.user.email", "json", 0, 64, "email",
		  "json > lowercase > sha256 > hex", "jane.doe@example.com");
	expect_at(&fields, &findings, "body.json.context.user.phone_number", "json", 0, 64, "phone",
		  "json > e164 > sha256 > hex", "+4915123456789");
	expect_at(&fields, &findings, "body.json.ext", "json", 0, 28, "email", "json > lowercase > base64",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "body.json.ext", "json>base64", 0, 20, "email",
		  "json > base64 > lowercase", "jane.doe@example.com");
	assert_int_equal(findings.count, 4);

	findings_free(&findings);
	field_list_clear(&fields);
	free(email);
	free(phone);
	persona_free(persona);
}

static void test_form_post_and_nul_bytes(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	struct field_list fields;
	struct pii_findings findings;

	extract("https://t.example/collect?q=x%00jane.doe%40example.com", "application/x-www-form-urlencoded",
		"first=Jane&street=Hauptstr.+5&zip=10115&card=4111+1111+1111+1111", &fields);
	scan(persona, &fields, &findings);

	expect_at(&fields, &findings, "query.q", "url", 2, 20, "email", "url > lowercase",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "body.form.first", "form", 0, 4, "first_name", "form > trim", "jane");
	expect_at(&fields, &findings, "body.form.street", "form>url", 0, 11, "street_address",
		  "form > url > trim", "hauptstr. 5");
	expect_at(&fields, &findings, "body.form.zip", "form", 0, 5, "postal_code", "form > lowercase",
		  "10115");
	expect_at(&fields, &findings, "body.form.card", "form>url", 0, 19, "payment_card",
		  "form > url > trim", "4111111111111111");
	assert_int_equal(findings.count, 5);

	findings_free(&findings);
	field_list_clear(&fields);
	persona_free(persona);
}

/* ---- what must not be found ---- */

static void test_unrelated_text_no_findings(void **state)
{
	static const char body[] =
		"v=2&tid=G-XYZ123&cid=1101150.1701011512&en=page_view"
		"&dl=https%3A%2F%2Fshop.example%2Fberliner\n"
		"v=2&tid=G-XYZ123&en=login&ep.user=janet.doe%40example.org&ep.hash="
		"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n"
		"v=2&en=purchase&ep.card=4111-xxxx&ep.zip=101150&ep.name=MaryJane+Doering"
		"&ep.dob=1990-04-02\n";
	struct persona *persona = load_persona(demo_persona);
	struct field_list fields;
	struct pii_findings findings;

	extract("https://region1.google-analytics.com/g/collect?v=2&tid=G-XYZ123&_p=1790417390", "text/plain",
		body, &fields);
	assert_true(fields.count > 10);
	scan(persona, &fields, &findings);
	print_findings(&findings);
	assert_int_equal(findings.count, 0);

	findings_free(&findings);
	field_list_clear(&fields);
	persona_free(persona);
}

static void test_short_values_whole_field(void **state)
{
	struct persona *persona =
		load_persona("{\"values\": {\"first_name\": [\"Al\"], \"state\": [\"NY\"]}}");
	char *hashed = sha256_hex("al");
	struct field_list fields;
	struct pii_findings findings;
	char url[TEXT_BYTES];

	extract("https://t.example/c?a=Alice+and+Al+in+NY&b=al%20&c=NYC", "text/plain", "Al went to NY, al.",
		&fields);
	scan(persona, &fields, &findings);
	print_findings(&findings);
	assert_int_equal(findings.count, 0);
	findings_free(&findings);
	field_list_clear(&fields);

	snprintf(url, sizeof(url), "https://t.example/c?fn=Al&st=ny&h=x.%s.y", hashed);
	extract(url, NULL, NULL, &fields);
	scan(persona, &fields, &findings);
	expect_at(&fields, &findings, "query.fn", "", 0, 2, "first_name", "trim", "al");
	expect_at(&fields, &findings, "query.st", "", 0, 2, "state", "lowercase", "ny");
	expect_at(&fields, &findings, "query.h", "", 2, 64, "first_name", "lowercase > sha256 > hex", "al");
	assert_int_equal(findings.count, 3);

	findings_free(&findings);
	field_list_clear(&fields);
	free(hashed);
	persona_free(persona);
}

static void test_token_boundaries(void **state)
{
	static const struct {
		const char *text;
		bool found;
	} cases[] = {
		{"Jane", true},   {"Jane, hello", true}, {"(Jane)", true}, {"to Jane_Doe", true},
		{"Janet", false}, {"MaryJane", false},   {"Jane1", false}, {"xJanex", false},
	};
	struct persona *persona = load_persona("{\"values\": {\"first_name\": [\"Jane\"]}}");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct field_list fields;
		struct pii_findings findings;
		char url[TEXT_BYTES];
		char *encoded = url_encode(cases[i].text, false);

		snprintf(url, sizeof(url), "https://t.example/c?v=%s", encoded);
		extract(url, NULL, NULL, &fields);
		scan(persona, &fields, &findings);
		print_message("\"%s\"\n", cases[i].text);
		assert_int_equal(findings.count, cases[i].found ? 1 : 0);
		findings_free(&findings);
		field_list_clear(&fields);
		free(encoded);
	}
	persona_free(persona);
}

/* ---- overlapping and variant forms ---- */

static void test_longest_form_reported(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	struct field_list fields;
	struct pii_findings findings;
	size_t raw;

	extract("https://t.example/c", "text/plain",
		"tel:+4915123456789; mail jane.doe@example.com b64 amFuZS5kb2VAZXhhbXBsZS5jb20= "
		"raw amFuZS5kb2VAZXhhbXBsZS5jb20 url amFuZS5kb2VAZXhhbXBsZS5jb20%3D",
		&fields);
	scan(persona, &fields, &findings);
	raw = field_index(&fields, "body.raw", "");
	assert_true(raw < fields.count);

	expect_at(&fields, &findings, "body.raw", "", 4, 14, "phone", "e164", "+4915123456789");
	assert_null(finding_at(&findings, raw, 5)); /* the digits inside the E.164 form */
	expect_at(&fields, &findings, "body.raw", "", 25, 20, "email", "lowercase", "jane.doe@example.com");
	expect_at(&fields, &findings, "body.raw", "", 50, 28, "email", "lowercase > base64",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "body.raw", "", 83, 27, "email", "lowercase > base64",
		  "jane.doe@example.com");
	expect_at(&fields, &findings, "body.raw", "", 115, 30, "email", "lowercase > base64 > url",
		  "jane.doe@example.com");
	/* The first name at the start of the e-mail address is covered by it. */
	assert_null(finding_at(&findings, raw, 26));
	/* The "%3D" makes the extract stage add the percent-decoded body as a
	 * second field, with the same five places. */
	expect_at(&fields, &findings, "body.raw", "url", 115, 28, "email", "url > lowercase > base64",
		  "jane.doe@example.com");
	assert_int_equal(findings.count, 10);

	findings_free(&findings);
	field_list_clear(&fields);
	persona_free(persona);
}

static void test_hex_in_any_case(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	char *hex = sha256_hex("jane.doe@example.com");
	struct field_list fields;
	struct pii_findings findings;
	char url[TEXT_BYTES];
	size_t i;

	for (i = 0; hex[i]; i++) {
		if (i % 3 == 0)
			hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	}
	snprintf(url, sizeof(url), "https://t.example/c?em=%s", hex);
	extract(url, NULL, NULL, &fields);
	scan(persona, &fields, &findings);
	expect_at(&fields, &findings, "query.em", "", 0, 64, "email", "lowercase > sha256 > hex",
		  "jane.doe@example.com");
	assert_int_equal(findings.count, 1);

	findings_free(&findings);
	field_list_clear(&fields);
	free(hex);
	persona_free(persona);
}

static void test_phone_national_forms(void **state)
{
	static const char phones[] = "{\"values\": {\"phone\": "
				     "[\"+44 (0)20 7946 0958\", \"+1 555-010-4477\", \"0151 23456789\"]}}";
	struct persona *persona = load_persona(phones);
	struct field_list fields;
	struct pii_findings findings;

	extract("https://t.example/c", "text/plain",
		"a +442079460958 b 02079460958 c 442079460958 d 5550104477 e 15550104477 f 015123456789 g",
		&fields);
	scan(persona, &fields, &findings);
	expect_at(&fields, &findings, "body.raw", "", 2, 13, "phone", "e164", "+442079460958");
	expect_at(&fields, &findings, "body.raw", "", 18, 11, "phone", "national", "+442079460958");
	expect_at(&fields, &findings, "body.raw", "", 32, 12, "phone", "digits", "+442079460958");
	expect_at(&fields, &findings, "body.raw", "", 47, 10, "phone", "national", "+15550104477");
	expect_at(&fields, &findings, "body.raw", "", 60, 11, "phone", "digits", "+15550104477");
	expect_at(&fields, &findings, "body.raw", "", 74, 12, "phone", "digits", "015123456789");
	assert_int_equal(findings.count, 6);

	findings_free(&findings);
	field_list_clear(&fields);
	persona_free(persona);
}

static void test_ten_values_pattern_count(void **state)
{
	struct persona *persona = load_persona(demo_persona);

	print_message("ten values: %zu patterns, %zu bytes\n", persona_pattern_count(persona),
		      persona_memory_bytes(persona));
	assert_true(persona_pattern_count(persona) > 500);
	assert_true(persona_memory_bytes(persona) > 0);
	persona_free(persona);
}

/* ---- the automaton against a brute-force search ---- */

#define RANDOM_TEXTS 300
#define RANDOM_TEXT_BYTES 600

struct candidate_list {
	uint64_t *items; /* pattern << 32 | start */
	size_t count;
	size_t capacity;
};

static int collect_candidate(void *context, uint32_t pattern, size_t start)
{
	struct candidate_list *list = context;

	if (list->count == list->capacity) {
		list->capacity = list->capacity ? 2 * list->capacity : 64;
		list->items = realloc(list->items, list->capacity * sizeof(*list->items));
		assert_non_null(list->items);
	}
	list->items[list->count++] = (uint64_t)pattern << 32 | start;
	return 0;
}

static int compare_candidates(const void *left, const void *right)
{
	uint64_t a = *(const uint64_t *)left;
	uint64_t b = *(const uint64_t *)right;

	return a < b ? -1 : a > b;
}

/* Whether the pattern's first bytes occur at text, ASCII letters folded. */
static bool prefix_at(const struct persona_pattern *pattern, const uint8_t *text, size_t available)
{
	size_t length = pattern->length < PERSONA_PREFIX_BYTES ? pattern->length : PERSONA_PREFIX_BYTES;
	size_t i;

	if (length > available)
		return false;
	for (i = 0; i < length; i++) {
		int expected = (uint8_t)pattern->text[i];
		int actual = text[i];

		if (expected >= 'A' && expected <= 'Z')
			expected += 'a' - 'A';
		if (actual >= 'A' && actual <= 'Z')
			actual += 'a' - 'A';
		if (expected != actual)
			return false;
	}
	return true;
}

/* Random text made of pieces of patterns, in random case, and random bytes,
 * so that prefixes overlap and break off at every point. */
static size_t random_text(const struct persona *persona, uint8_t *text, unsigned int *seed)
{
	size_t length = 0;

	while (length < RANDOM_TEXT_BYTES - PERSONA_PREFIX_BYTES - 8) {
		const struct persona_pattern *pattern =
			&persona->patterns.items[rand_r(seed) % persona->patterns.count];
		size_t piece = (size_t)rand_r(seed) % (PERSONA_PREFIX_BYTES + 4);
		size_t i;

		if (piece > pattern->length)
			piece = pattern->length;
		for (i = 0; i < piece; i++) {
			uint8_t byte = (uint8_t)pattern->text[i];

			if (rand_r(seed) % 8 == 0 && byte >= 'a' && byte <= 'z')
				byte = (uint8_t)(byte - 'a' + 'A');
			text[length++] = byte;
		}
		if (rand_r(seed) % 3 == 0)
			text[length++] = (uint8_t)rand_r(seed);
	}
	return length;
}

static void test_automaton_matches_brute_force(void **state)
{
	struct persona *persona = load_persona(demo_persona);
	uint8_t text[RANDOM_TEXT_BYTES];
	unsigned int seed = 20261104;
	size_t total = 0;
	size_t round;

	for (round = 0; round < RANDOM_TEXTS; round++) {
		struct candidate_list found = { 0 };
		struct candidate_list expected = { 0 };
		size_t length = random_text(persona, text, &seed);
		size_t start;
		size_t i;
		int err;

		err = persona_automaton_scan(persona->automaton, text, length, collect_candidate, &found);
		assert_int_equal(err, 0);
		for (start = 0; start < length; start++) {
			for (i = 0; i < persona->patterns.count; i++) {
				const struct persona_pattern *pattern = &persona->patterns.items[i];

				if (!pattern->whole_field && prefix_at(pattern, text + start, length - start))
					collect_candidate(&expected, (uint32_t)i, start);
			}
		}

		if (found.count)
			qsort(found.items, found.count, sizeof(*found.items), compare_candidates);
		if (expected.count)
			qsort(expected.items, expected.count, sizeof(*expected.items), compare_candidates);
		assert_int_equal(found.count, expected.count);
		for (i = 0; i < found.count; i++)
			assert_int_equal(found.items[i], expected.items[i]);
		total += found.count;
		free(found.items);
		free(expected.items);
	}
	print_message("%zu candidates compared\n", total);
	assert_true(total > RANDOM_TEXTS);
	persona_free(persona);
}

/* ---- persona files ---- */

static void expect_rejected(const char *text, int expected_err, const char *message)
{
	struct persona *persona = (struct persona *)1;
	char log_text[LOG_TEXT_BYTES];
	const char *line;
	size_t lines = 0;

	assert_int_equal(load_text(text, strlen(text), &persona, log_text), expected_err);
	assert_null(persona);
	if (!strstr(log_text, message))
		fail_msg("expected \"%s\" in the log, got: %s", message, log_text);
	assert_non_null(strstr(log_text, "persona.json"));
	for (line = log_text; (line = strchr(line, '\n')); line++)
		lines++;
	assert_int_equal(lines, 1);
}

static void test_file_errors(void **state)
{
	expect_rejected("", -EINVAL, "is empty");
	expect_rejected("{\"values\": {\"email\": [\"a@b.example\"],}}", -EINVAL,
			"is not valid JSON: error at line 1, column");
	expect_rejected("{\n  \"values\": {\n    \"email\": [\"a@b.example\"\n  }\n}", -EINVAL,
			"is not valid JSON: error at line 4, column 3");
	expect_rejected("[\"a@b.example\"]", -EINVAL, "is not a JSON object");
	expect_rejected("{\"name\": \"x\"}", -EINVAL, "has no \"values\" object");
	expect_rejected("{\"values\": {}}", -EINVAL, "has no values");
	expect_rejected("{\"values\": {\"emial\": [\"a@b.example\"]}}", -EINVAL,
			"unknown value kind \"emial\" in \"values\"; the kinds are email, phone, first_name");
	expect_rejected("{\"value\": {\"email\": [\"a@b.example\"]}}", -EINVAL, "unknown member \"value\"");
	expect_rejected("{\"name\": 7, \"values\": {\"email\": [\"a@b.example\"]}}", -EINVAL,
			"invalid member \"name\"");
	expect_rejected("{\"values\": {\"postal_code\": [10115]}}", -EINVAL,
			"values.postal_code[0] is not a string");
	expect_rejected("{\"values\": {\"city\": [\"Berlin\", \"  \"]}}", -EINVAL, "values.city[1] is empty");
	expect_rejected("{\"values\": {\"city\": {\"name\": \"Berlin\"}}}", -EINVAL,
			"values.city must be a string or an array of strings");
	expect_rejected("{\"values\": {\"email\": [\"jane\"]}}", -EINVAL,
			"values.email[0] is not an e-mail address");
	expect_rejected("{\"values\": {\"phone\": [\"call me\"]}}", -EINVAL,
			"values.phone[0] is not a phone number");
	expect_rejected("{\"values\": {\"payment_card\": [\"4111 x\"]}}", -EINVAL,
			"values.payment_card[0] is not a card number");
}

static void test_file_missing(void **state)
{
	struct persona *persona;

	assert_int_equal(persona_load(&persona, "/nonexistent/persona.json"), -ENOENT);
	assert_null(persona);
}

static void test_file_single_string_value(void **state)
{
	struct persona *persona =
		load_persona("{\"values\": {\"email\": \"jane@example.com\", \"other\": []}}");
	struct field_list fields;
	struct pii_findings findings;

	extract("https://t.example/c?e=jane%40example.com", NULL, NULL, &fields);
	scan(persona, &fields, &findings);
	expect_at(&fields, &findings, "query.e", "url", 0, 16, "email", "url > lowercase",
		  "jane@example.com");
	findings_free(&findings);
	field_list_clear(&fields);
	persona_free(persona);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_form_of_every_kind),
		cmocka_unit_test(test_meta_pixel_query),
		cmocka_unit_test(test_tiktok_json_body),
		cmocka_unit_test(test_form_post_and_nul_bytes),
		cmocka_unit_test(test_unrelated_text_no_findings),
		cmocka_unit_test(test_short_values_whole_field),
		cmocka_unit_test(test_token_boundaries),
		cmocka_unit_test(test_longest_form_reported),
		cmocka_unit_test(test_hex_in_any_case),
		cmocka_unit_test(test_phone_national_forms),
		cmocka_unit_test(test_ten_values_pattern_count),
		cmocka_unit_test(test_automaton_matches_brute_force),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_file_missing),
		cmocka_unit_test(test_file_single_string_value),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}

/*
 * Throughput of persona matching on one core. The driver builds a persona
 * of ten values, or loads --persona FILE. It generates synthetic tracker
 * requests of 1 to 20 KiB: GA4 batches, Meta pixel queries and form posts,
 * TikTok JSON events and checkout forms. A quarter of them carry persona
 * values in plain, encoded or hashed form. The extract stage runs over them
 * once to get their fields. Then it measures, each for --seconds of thread
 * CPU time:
 *
 *   extract            extract_request_fields alone
 *   persona_scan       persona_scan over the fields extracted before
 *   extract_and_scan   both, as the pipeline runs them
 *
 * and prints one JSON line. MB/s counts 10^6 bytes of the requests as sent
 * (URL and body). persona_scan_field_mb_s counts the bytes of the field
 * values scanned instead. Those differ from the request's bytes, because
 * names and syntax are no values, and decoded values are fields of their
 * own.
 *
 *   persona_scan [--requests N] [--seconds S] [--seed N] [--persona FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "classify/classify.h"
#include "common/log.h"
#include "extract/extract.h"

#define MIN_REQUEST_BYTES 1024
#define MAX_REQUEST_BYTES (20 * 1024)

static const char ten_values[] =
	"{\"name\": \"benchmark shopper\", \"values\": {"
	"\"email\": [\"jane.doe@example.com\"], \"phone\": [\"+49 151 2345 6789\"],"
	"\"first_name\": [\"Jane\"], \"last_name\": [\"Doe\"], \"street_address\": [\"Hauptstr. 5\"],"
	"\"city\": [\"Berlin\"], \"postal_code\": [\"10115\"], \"date_of_birth\": [\"1990-04-01\"],"
	"\"payment_card\": [\"4111 1111 1111 1111\"], \"user_id\": [\"u-829361\"]}}";

static const char *const words[] = {
	"summer", "sale", "shoes", "running", "blue", "cotton", "shirt", "organic", "coffee", "beans",
	"kitchen", "lamp", "garden", "chair", "wireless", "headphones", "travel", "bag", "leather", "wallet",
};

static const char *const events[] = { "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase" };

struct buffer {
	char *bytes;
	size_t length;
	size_t capacity;
};

struct request {
	char *url;
	const char *content_type;
	struct buffer body;
};

static uint64_t random_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: the same requests for the same seed. */
static uint32_t next_random(void)
{
	random_state ^= random_state >> 12;
	random_state ^= random_state << 25;
	random_state ^= random_state >> 27;
	return (uint32_t)((random_state * 0x2545f4914f6cdd1dull) >> 32);
}

static const char *random_word(void)
{
	return words[next_random() % (sizeof(words) / sizeof(words[0]))];
}

__attribute__((format(printf, 2, 3))) static void put(struct buffer *buffer, const char *format, ...)
{
	va_list args;
	int needed;

	va_start(args, format);
	needed = vsnprintf(NULL, 0, format, args);
	va_end(args);
	if (needed < 0)
		abort();
	if (buffer->length + (size_t)needed + 1 > buffer->capacity) {
		buffer->capacity = 2 * (buffer->length + (size_t)needed + 1);
		buffer->bytes = realloc(buffer->bytes, buffer->capacity);
		if (!buffer->bytes)
			abort();
	}
	va_start(args, format);
	vsnprintf(buffer->bytes + buffer->length, (size_t)needed + 1, format, args);
	va_end(args);
	buffer->length += (size_t)needed;
}

static void put_random_hex(struct buffer *buffer, size_t digits)
{
	size_t i;

	for (i = 0; i < digits; i++)
		put(buffer, "%x", next_random() & 0xf);
}

/* Writes the lowercase hex SHA-256 of text into out (65 bytes). */
static void sha256_hex(const char *text, char *out)
{
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned int digest_bytes = 0;
	unsigned int i;

	EVP_Digest(text, strlen(text), digest, &digest_bytes, EVP_sha256(), NULL);
	for (i = 0; i < digest_bytes; i++)
		sprintf(out + 2 * i, "%02x", digest[i]);
}

/* ---- synthetic tracker requests ---- */

/* A GA4 batch: one query string per line, each an event. */
static void make_ga4(struct request *request, size_t target, bool persona)
{
	struct buffer url = { 0 };
	char hashed[65];

	put(&url,
	    "https://region1.google-analytics.com/g/collect?v=2&tid=G-8XK2Q1RZ7C&gtm=45je4&_p=%u&cid=%u.%u"
	    "&ul=de-de&sr=1920x1080&dt=%s%%20%s",
	    next_random(), next_random(), next_random(), random_word(), random_word());
	request->url = url.bytes;
	request->content_type = "text/plain;charset=UTF-8";
	while (request->body.length + url.length < target) {
		put(&request->body,
		    "en=%s&_et=%u&ep.page_location=https%%3A%%2F%%2Fshop.example%%2F%s%%2F%s%%3Fref%%3D",
		    events[next_random() % 5], next_random() % 5000, random_word(), random_word());
		put_random_hex(&request->body, 8);
		put(&request->body, "&pr1=id%%7ESKU-%u%%7Enm%%7E%s%%20%s%%7Epr%%7E%u.%02u&epn.value=%u\n",
		    next_random() % 100000, random_word(), random_word(), next_random() % 300,
		    next_random() % 100, next_random() % 1000);
	}
	if (persona) {
		sha256_hex("jane.doe@example.com", hashed);
		put(&request->body, "en=login&ep.method=email&em=tv.1~em.%s\n", hashed);
	}
}

/* A Meta pixel event: a GET query up to 4 KiB, a form POST beyond. */
static void make_meta(struct request *request, size_t target, bool persona)
{
	struct buffer query = { 0 };
	struct buffer url = { 0 };
	char hashed[65];

	put(&query,
	    "id=%u&ev=Purchase&dl=https%%3A%%2F%%2Fshop.example%%2Fcheckout%%2Fthanks%%3Forder%%3D%u"
	    "&rl=https%%3A%%2F%%2Fshop.example%%2Fcart&if=false&ts=%u&sw=1920&sh=1080&v=2.9.156&r=stable",
	    next_random(), next_random(), next_random());
	if (persona) {
		sha256_hex("jane.doe@example.com", hashed);
		put(&query, "&ud[em]=%s", hashed);
		sha256_hex("4915123456789", hashed);
		put(&query, "&ud[ph]=%s", hashed);
		sha256_hex("jane", hashed);
		put(&query, "&ud[fn]=%s", hashed);
		sha256_hex("10115", hashed);
		put(&query, "&ud[zp]=%s", hashed);
	}
	put(&query, "&cd[currency]=EUR&cd[content_ids]=%%5B");
	while (query.length < target) {
		put(&query, "%%22SKU-%u%%22%%2C", next_random() % 100000);
		put(&query, "&cd[contents][%u][name]=%s+%s", next_random() % 50, random_word(),
		    random_word());
	}
	put(&query, "%%5D");

	if (target <= 4096) {
		put(&url, "https://www.facebook.com/tr/?%s", query.bytes);
		free(query.bytes);
	} else {
		put(&url, "https://www.facebook.com/tr/");
		request->content_type = "application/x-www-form-urlencoded";
		request->body = query;
	}
	request->url = url.bytes;
}

/* A TikTok pixel event: JSON with user data and a list of contents. */
static void make_tiktok(struct request *request, size_t target, bool persona)
{
	struct buffer url = { 0 };
	char email[65] = "";
	char phone[65] = "";

	if (persona) {
		sha256_hex("jane.doe@example.com", email);
		sha256_hex("+4915123456789", phone);
	}
	put(&url, "https://analytics.tiktok.com/api/v2/pixel");
	request->url = url.bytes;
	request->content_type = "application/json";
	put(&request->body, "{\"event\":\"CompletePayment\",\"event_id\":\"");
	put_random_hex(&request->body, 32);
	put(&request->body,
	    "\",\"timestamp\":\"2026-11-0%uT10:%02u:00Z\",\"context\":{\"page\":{\"url\":"
	    "\"https://shop.example/checkout/thanks\",\"referrer\":\"https://shop.example/cart\"},"
	    "\"user\":{\"external_id\":\"",
	    1 + next_random() % 9, next_random() % 60);
	put_random_hex(&request->body, 64);
	put(&request->body,
	    "\",\"email\":\"%s\",\"phone_number\":\"%s\"},\"user_agent\":\"Mozilla/5.0 (X11; Linux "
	    "x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\"},"
	    "\"properties\":{\"currency\":\"EUR\",\"value\":%u.%02u,\"contents\":[",
	    email, phone, next_random() % 500, next_random() % 100);
	while (request->body.length < target) {
		put(&request->body,
		    "{\"content_id\":\"SKU-%u\",\"content_name\":\"%s %s %s\",\"quantity\":%u,"
		    "\"price\":%u.%02u},",
		    next_random() % 100000, random_word(), random_word(), random_word(),
		    1 + next_random() % 3, next_random() % 200, next_random() % 100);
	}
	put(&request->body, "{\"content_id\":\"gift-card\",\"quantity\":1,\"price\":0}]}}");
}

/* A checkout form: address fields, a free-text note, a base64 cart. */
static void make_form(struct request *request, size_t target, bool persona)
{
	struct buffer url = { 0 };
	struct buffer cart = { 0 };
	char *encoded;
	int written;

	put(&url, "https://shop.example/checkout/submit");
	request->url = url.bytes;
	request->content_type = "application/x-www-form-urlencoded";
	if (persona)
		put(&request->body,
		    "email=jane.doe%%40example.com&first_name=Jane&last_name=Doe&street=Hauptstr.+5"
		    "&city=Berlin&zip=10115&phone=%%2B49+151+2345+6789&");
	else
		put(&request->body, "email=%s.%s%%40example.org&first_name=%s&city=%s&zip=%u&", random_word(),
		    random_word(), random_word(), random_word(), 10000 + next_random() % 89999);
	put(&cart, "{\"items\":[");
	while (cart.length < target / 3)
		put(&cart, "{\"sku\":\"SKU-%u\",\"qty\":%u},", next_random() % 100000, 1 + next_random() % 4);
	put(&cart, "{}]}");
	encoded = malloc(4 * (cart.length / 3 + 1) + 1);
	if (!encoded)
		abort();
	written = EVP_EncodeBlock((unsigned char *)encoded, (const unsigned char *)cart.bytes,
				  (int)cart.length);
	encoded[written] = '\0';
	put(&request->body, "cart=%s&note=", encoded);
	while (request->body.length < target)
		put(&request->body, "%s+", random_word());
	free(encoded);
	free(cart.bytes);
}

static void make_requests(struct request *requests, size_t count)
{
	static void (*const makers[])(struct request *, size_t, bool) = { make_ga4, make_meta, make_tiktok,
									   make_form };
	size_t i;

	for (i = 0; i < count; i++) {
		size_t target =
			MIN_REQUEST_BYTES + next_random() % (MAX_REQUEST_BYTES - MIN_REQUEST_BYTES + 1);

		memset(&requests[i], 0, sizeof(requests[i]));
		makers[i % 4](&requests[i], target, next_random() % 4 == 0);
	}
}

/* ---- measuring ---- */

struct workload {
	const struct persona *persona;
	struct request *requests;
	size_t request_count;
	struct field_list *fields; /* extracted once, for the scan alone */
	struct pii_findings findings;
	struct extract_limits limits;
};

static double thread_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
	return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void clear_findings(struct pii_findings *findings)
{
	size_t i;

	for (i = 0; i < findings->count; i++)
		free(findings->items[i].value);
	findings->count = 0;
}

static void extract_one(const struct workload *work, size_t index, struct field_list *fields)
{
	const struct request *request = &work->requests[index];
	const char *names[] = { "Content-Type" };
	const char *values[] = { request->content_type };
	struct extract_request input = {
		.method = request->body.length ? "POST" : "GET",
		.url = request->url,
		.header_names = names,
		.header_values = values,
		.header_count = request->content_type ? 1 : 0,
		.body = (const uint8_t *)request->body.bytes,
		.body_kept = request->body.length,
		.body_bytes = request->body.length,
	};

	memset(fields, 0, sizeof(*fields));
	if (extract_request_fields(&input, &work->limits, fields) < 0)
		abort();
}

static void scan_one(struct workload *work, const struct field_list *fields)
{
	if (persona_scan(work->persona, fields, &work->findings) < 0)
		abort();
	clear_findings(&work->findings);
}

/* The pattern detectors over the same fields, as every request gets them
 * whether or not a persona is given. */
static void detect_one(struct workload *work, const struct field_list *fields)
{
	if (pii_scan(fields, NULL, &work->findings) < 0)
		abort();
	clear_findings(&work->findings);
}

enum measured_case { CASE_EXTRACT, CASE_SCAN, CASE_DETECT, CASE_DETECT_AND_SCAN, CASE_EXTRACT_AND_SCAN };

static void run_pass(struct workload *work, enum measured_case measured)
{
	struct field_list fields;
	size_t i;

	for (i = 0; i < work->request_count; i++) {
		if (measured == CASE_SCAN || measured == CASE_DETECT_AND_SCAN)
			scan_one(work, &work->fields[i]);
		if (measured == CASE_DETECT || measured == CASE_DETECT_AND_SCAN)
			detect_one(work, &work->fields[i]);
		if (measured != CASE_EXTRACT && measured != CASE_EXTRACT_AND_SCAN)
			continue;
		extract_one(work, i, &fields);
		if (measured == CASE_EXTRACT_AND_SCAN)
			scan_one(work, &fields);
		field_list_clear(&fields);
	}
}

/* Returns the passes per second of thread CPU time, over at least seconds. */
static double passes_per_second(struct workload *work, enum measured_case measured, double seconds)
{
	double start = thread_seconds();
	double elapsed;
	size_t passes = 0;

	do {
		run_pass(work, measured);
		passes++;
		elapsed = thread_seconds() - start;
	} while (elapsed < seconds);
	return (double)passes / elapsed;
}

static int write_persona_file(char *path)
{
	int fd = mkstemp(path);
	size_t length = strlen(ten_values);

	if (fd < 0)
		return -errno;
	if (write(fd, ten_values, length) != (ssize_t)length) {
		close(fd);
		return -EIO;
	}
	return close(fd) < 0 ? -errno : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: persona_scan [--requests N] [--seconds S] [--seed N] [--persona FILE]\n"
			"  --requests  synthetic requests, 1 to 20 KiB each (default 400)\n"
			"  --seconds   thread CPU seconds per measured case (default 1)\n"
			"  --seed      seed of the request generator (default 1)\n"
			"  --persona   persona file to use instead of the built-in ten values\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "requests", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'e' },
		{ "persona", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char temp_path[] = "/tmp/plainsight-bench-persona-XXXXXX";
	const char *persona_path = NULL;
	struct workload work = { .request_count = 400 };
	struct persona *persona;
	double seconds = 1.0;
	size_t request_bytes = 0;
	size_t field_bytes = 0;
	size_t field_count = 0;
	size_t findings_per_pass;
	double extract_rate, scan_rate, both_rate, detect_rate, detect_scan_rate;
	size_t i;
	size_t j;
	int option;

	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (option == 'r')
			work.request_count = strtoul(optarg, NULL, 10);
		else if (option == 's')
			seconds = strtod(optarg, NULL);
		else if (option == 'e')
			random_state ^= strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ull;
		else if (option == 'p')
			persona_path = optarg;
		else {
			usage();
			return 2;
		}
	}
	if (work.request_count == 0 || seconds <= 0) {
		usage();
		return 2;
	}

	log_set_level(LOG_LEVEL_WARN);
	if (!persona_path) {
		if (write_persona_file(temp_path) < 0) {
			fprintf(stderr, "persona_scan: failed to write a persona file in /tmp\n");
			return 1;
		}
		persona_path = temp_path;
	}
	if (persona_load(&persona, persona_path) < 0)
		return 1;
	if (persona_path == temp_path)
		unlink(temp_path);

	work.persona = persona;
	extract_default_limits(&work.limits);
	work.requests = calloc(work.request_count, sizeof(*work.requests));
	work.fields = calloc(work.request_count, sizeof(*work.fields));
	if (!work.requests || !work.fields)
		abort();
	make_requests(work.requests, work.request_count);
	for (i = 0; i < work.request_count; i++) {
		request_bytes += strlen(work.requests[i].url) + work.requests[i].body.length;
		extract_one(&work, i, &work.fields[i]);
		field_count += work.fields[i].count;
		for (j = 0; j < work.fields[i].count; j++)
			field_bytes += work.fields[i].fields[j].value_bytes;
	}
	for (i = 0; i < work.request_count; i++) {
		if (persona_scan(persona, &work.fields[i], &work.findings) < 0)
			abort();
	}
	findings_per_pass = work.findings.count;
	clear_findings(&work.findings);

	extract_rate = passes_per_second(&work, CASE_EXTRACT, seconds);
	scan_rate = passes_per_second(&work, CASE_SCAN, seconds);
	both_rate = passes_per_second(&work, CASE_EXTRACT_AND_SCAN, seconds);
	detect_rate = passes_per_second(&work, CASE_DETECT, seconds);
	detect_scan_rate = passes_per_second(&work, CASE_DETECT_AND_SCAN, seconds);

	printf("{\"benchmark\":\"persona_scan\",\"persona\":\"%s\",\"patterns\":%zu,\"matcher_bytes\":%zu,"
	       "\"requests\":%zu,\"request_bytes\":%zu,\"fields\":%zu,\"field_bytes\":%zu,"
	       "\"findings_per_pass\":%zu,\"seconds_per_case\":%.2f,\"extract_mb_s\":%.1f,"
	       "\"persona_scan_mb_s\":%.1f,\"persona_scan_field_mb_s\":%.1f,"
	       "\"extract_and_scan_mb_s\":%.1f,\"detectors_mb_s\":%.1f,\"detectors_and_persona_mb_s\":%.1f}\n",
	       persona_path == temp_path ? "built-in ten values" : "file", persona_pattern_count(persona),
	       persona_memory_bytes(persona), work.request_count, request_bytes, field_count, field_bytes,
	       findings_per_pass, seconds, extract_rate * (double)request_bytes / 1e6,
	       scan_rate * (double)request_bytes / 1e6, scan_rate * (double)field_bytes / 1e6,
	       both_rate * (double)request_bytes / 1e6, detect_rate * (double)request_bytes / 1e6,
	       detect_scan_rate * (double)request_bytes / 1e6);

	for (i = 0; i < work.request_count; i++) {
		field_list_clear(&work.fields[i]);
		free(work.requests[i].url);
		free(work.requests[i].body.bytes);
	}
	free(work.findings.items);
	free(work.fields);
	free(work.requests);
	persona_free(persona);
	return 0;
}

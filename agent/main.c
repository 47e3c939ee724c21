/*
 * plainsight: command line, and the wiring of the pipeline stages
 * capture or source -> stream -> output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/boringssl.h"
#include "capture/capture.h"
#include "classify/classify.h"
#include "common/log.h"
#include "common/url.h"
#include "extract/extract.h"
#include "output/output.h"
#include "policy/policy.h"
#include "source/archive.h"
#include "source/har.h"
#include "stream/stream.h"

#define POLL_INTERVAL_MS 50
#define ARCHIVE_FLUSH_INTERVAL_MS 1000
#define MAX_LISTED 256
#define MAX_VENDOR_FILES 8
#define MAX_FILTER_LISTS 8


enum command { COMMAND_RUN, COMMAND_CAPTURE, COMMAND_REPLAY, COMMAND_OFFSETS };

#define OFFSETS_CACHE_DIR "/var/cache/plainsight/offsets"

struct settings {
	enum command command;
	struct capture_options capture;
	struct stream_options stream;
	const char *executables[MAX_LISTED + 1];
	size_t executable_count;
	pid_t pids[MAX_LISTED];
	const char *events_path;  /* NULL: stdout */
	const char *archive_path; /* capture: written; replay: read */
	unsigned int duration_s;  /* 0: until SIGINT or SIGTERM */
	bool ignore_symbols;      /* offsets: find BoringSSL without the symbol table */
	bool print_fields;        /* --fields: add the extracted fields to each event */
	const char *vendor_files[MAX_VENDOR_FILES]; /* --vendors, after the built-in table */
	size_t vendor_file_count;
	const char *fingerprint_key_path; /* --fingerprint-key; NULL: the default key */
	const char *policy_path;          /* --policy; NULL: the default policy */
	const char *persona_path;         /* --persona */
	bool keep_values;                 /* --keep-values: print personal data as captured */
	const char *filter_lists[MAX_FILTER_LISTS]; /* --filter-list; none given: the defaults */
	size_t filter_list_count;
	bool no_filter_lists;
	uint32_t max_decoded_body_bytes; /* 0: the extract stage's default */
};

static volatile sig_atomic_t stop_requested;

static void request_stop(int signal_number)
{
	stop_requested = signal_number;
}

static void print_usage(FILE *stream)
{
	fprintf(stream,
		"Usage: plainsight run [OPTIONS]\n"
		"       plainsight capture -o ARCHIVE [OPTIONS]\n"
		"       plainsight replay ARCHIVE|FILE.har [-o EVENTS] [OPTIONS]\n"
		"       plainsight offsets BINARY [--ignore-symbols]\n"
		"\n"
		"Observes what processes send over TLS, before encryption, and prints one\n"
		"JSON event per HTTP request (JSON Lines), with tracker labels, personal\n"
		"data findings and a severity. run and capture need root, or CAP_BPF,\n"
		"CAP_PERFMON and CAP_DAC_READ_SEARCH. capture also writes every captured\n"
		"chunk to a compressed archive, which replay reads without privileges.\n"
		"replay takes the output and classification options too, and also\n"
		"reads HAR 1.2 files, as browsers' developer tools export them. offsets\n"
		"shows where BoringSSL's SSL_write and SSL_read are in a stripped binary\n"
		"such as Chromium, and how that was decided.\n"
		"\n"
		"Which processes (default: the browsers listed below):\n"
		"  --exe NAME             executables with this base name (repeatable)\n"
		"  --pid PID              this process and its descendants (repeatable)\n"
		"  --cgroup PATH          processes in this cgroup v2 directory and below\n"
		"  --all-processes        every process\n"
		"\n"
		"Output:\n"
		"  -o, --output FILE      run, replay: events file (appended); capture: archive\n"
		"  --events FILE          events file (default: stdout); files are created\n"
		"                         with mode 0600\n"
		"  --fields               add each request's fields (URL, query, cookies,\n"
		"                         headers, body, decoded) as plainsight.fields;\n"
		"                         personal data in them is redacted unless\n"
		"                         --keep-values is given\n"
		"\n"
		"Classification and personal data (run, capture, replay):\n"
		"  --vendors FILE         vendor table entries that extend or replace the\n"
		"                         built-in ones (repeatable; docs/VENDORS.md)\n"
		"  --filter-list FILE     Adblock Plus filter list for trackers the vendor\n"
		"                         table does not name (repeatable; default: the\n"
		"                         EasyPrivacy and EasyList of Debian's\n"
		"                         webext-ublock-origin-firefox package)\n"
		"  --no-filter-lists      label trackers by the vendor table alone\n"
		"  --persona FILE         a test person's values, found in every form they\n"
		"                         are sent in: encoded, hashed (docs/PERSONA.md)\n"
		"  --policy FILE          severity rules by site, vendor and category\n"
		"                         (docs/POLICY.md)\n"
		"  --fingerprint-key FILE key of the personal-data fingerprints, shared by\n"
		"                         a fleet (default " FINGERPRINT_KEY_DEFAULT_PATH ",\n"
		"                         created when missing)\n"
		"  --keep-values          print personal data, cookies and credentials as\n"
		"                         captured instead of redacted (files made 0600)\n"
		"\n"
		"Limits:\n"
		"  --body-keep BYTES      body bytes kept per message for extraction and\n"
		"                         personal-data scanning; a longer body is scanned\n"
		"                         in part and marked body_cut (default 1M)\n"
		"  --max-decoded-body BYTES  body bytes decoded at most (gzip, deflate, br);\n"
		"                         a larger body is reported cut (default 8M)\n"
		"  --call-limit BYTES     bytes copied per TLS call at most; more are counted\n"
		"                         as lost (default 4M, max 64M; K and M suffixes)\n"
		"  --ring-buffer BYTES    kernel ring buffer size, a power of two from 256K to\n"
		"                         1024M (default 64M)\n"
		"  --response-timeout S   report a request without response after S seconds\n"
		"                         (default 30)\n"
		"  --max-connections N    connections tracked at once (default 16384)\n"
		"  --offsets-cache DIR    where BoringSSL offsets are kept by build-id\n"
		"                         (default " OFFSETS_CACHE_DIR ")\n"
		"  --rescan-interval S    rescan processes for new TLS libraries every S\n"
		"                         seconds, 0 to turn off (default 5)\n"
		"  --duration S           stop after S seconds (default: run until signalled)\n"
		"\n"
		"  -v, --verbose          debug messages, including libbpf's\n"
		"  -h, --help             this text\n"
		"  --version              the version\n"
		"\n"
		"Default executables:");
	for (const char *const *name = capture_default_executables; *name; name++)
		fprintf(stream, " %s", *name);
	fprintf(stream, "\n");
}

/* Parses a byte count with an optional K or M suffix (powers of 1024). */
static int parse_bytes(const char *text, uint64_t maximum, uint32_t *bytes)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text)
		return -EINVAL;
	if (*end == 'K' || *end == 'k') {
		value <<= 10;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		value <<= 20;
		end++;
	}
	if (*end || value == 0 || value > maximum)
		return -EINVAL;
	*bytes = (uint32_t)value;
	return 0;
}

static int parse_unsigned(const char *text, unsigned long maximum, unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || *value > maximum)
		return -EINVAL;
	return 0;
}

enum long_option {
	OPTION_EXE = 256,
	OPTION_PID,
	OPTION_CGROUP,
	OPTION_ALL_PROCESSES,
	OPTION_EVENTS,
	OPTION_CALL_LIMIT,
	OPTION_RING_BUFFER,
	OPTION_RESPONSE_TIMEOUT,
	OPTION_MAX_CONNECTIONS,
	OPTION_RESCAN_INTERVAL,
	OPTION_DURATION,
	OPTION_VERSION,
	OPTION_OFFSETS_CACHE,
	OPTION_IGNORE_SYMBOLS,
	OPTION_FIELDS,
	OPTION_VENDORS,
	OPTION_FILTER_LIST,
	OPTION_NO_FILTER_LISTS,
	OPTION_FINGERPRINT_KEY,
	OPTION_POLICY,
	OPTION_KEEP_VALUES,
	OPTION_PERSONA,
	OPTION_MAX_DECODED_BODY,
	OPTION_BODY_KEEP,
};

static const struct option long_options[] = {
	{ "exe", required_argument, NULL, OPTION_EXE },
	{ "pid", required_argument, NULL, OPTION_PID },
	{ "cgroup", required_argument, NULL, OPTION_CGROUP },
	{ "all-processes", no_argument, NULL, OPTION_ALL_PROCESSES },
	{ "output", required_argument, NULL, 'o' },
	{ "events", required_argument, NULL, OPTION_EVENTS },
	{ "call-limit", required_argument, NULL, OPTION_CALL_LIMIT },
	{ "ring-buffer", required_argument, NULL, OPTION_RING_BUFFER },
	{ "response-timeout", required_argument, NULL, OPTION_RESPONSE_TIMEOUT },
	{ "max-connections", required_argument, NULL, OPTION_MAX_CONNECTIONS },
	{ "rescan-interval", required_argument, NULL, OPTION_RESCAN_INTERVAL },
	{ "duration", required_argument, NULL, OPTION_DURATION },
	{ "offsets-cache", required_argument, NULL, OPTION_OFFSETS_CACHE },
	{ "ignore-symbols", no_argument, NULL, OPTION_IGNORE_SYMBOLS },
	{ "fields", no_argument, NULL, OPTION_FIELDS },
	{ "vendors", required_argument, NULL, OPTION_VENDORS },
	{ "filter-list", required_argument, NULL, OPTION_FILTER_LIST },
	{ "no-filter-lists", no_argument, NULL, OPTION_NO_FILTER_LISTS },
	{ "fingerprint-key", required_argument, NULL, OPTION_FINGERPRINT_KEY },
	{ "policy", required_argument, NULL, OPTION_POLICY },
	{ "keep-values", no_argument, NULL, OPTION_KEEP_VALUES },
	{ "persona", required_argument, NULL, OPTION_PERSONA },
	{ "max-decoded-body", required_argument, NULL, OPTION_MAX_DECODED_BODY },
	{ "body-keep", required_argument, NULL, OPTION_BODY_KEEP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPTION_VERSION },
	{ 0 },
};

static int invalid_value(const char *option, const char *value, const char *expected)
{
	log_error("invalid value for %s: '%s' (expected %s)", option, value, expected);
	return 2;
}

/* Applies one option; returns 0, or the exit code to stop with. */
static int apply_option(struct settings *settings, int option, const char *value)
{
	unsigned long number;
	uint32_t bytes;
	char *output;

	switch (option) {
	case OPTION_EXE:
		if (settings->executable_count == MAX_LISTED || strchr(value, '/') || !value[0])
			return invalid_value("--exe", value, "a base name such as firefox-esr, at most 256 of them");
		settings->executables[settings->executable_count++] = value;
		return 0;
	case OPTION_PID:
		if (parse_unsigned(value, INT_MAX, &number) || number == 0 ||
		    settings->capture.pid_count == MAX_LISTED)
			return invalid_value("--pid", value, "a process id, at most 256 of them");
		settings->pids[settings->capture.pid_count++] = (pid_t)number;
		return 0;
	case OPTION_CGROUP:
		settings->capture.cgroup_path = value;
		return 0;
	case OPTION_ALL_PROCESSES:
		settings->capture.all_processes = true;
		return 0;
	case 'o':
		output = (char *)value;
		if (settings->command == COMMAND_CAPTURE)
			settings->archive_path = output;
		else
			settings->events_path = output;
		return 0;
	case OPTION_EVENTS:
		settings->events_path = value;
		return 0;
	case OPTION_CALL_LIMIT:
		if (parse_bytes(value, PS_CALL_LIMIT_MAX_BYTES, &bytes))
			return invalid_value("--call-limit", value, "bytes from 1 to 64M");
		settings->capture.call_limit_bytes = bytes;
		return 0;
	case OPTION_RING_BUFFER:
		/* At least 256K: several whole 16 KiB data records must fit. */
		if (parse_bytes(value, 1u << 30, &bytes) || (bytes & (bytes - 1)) || bytes < (256u << 10))
			return invalid_value("--ring-buffer", value, "a power of two from 256K to 1024M");
		settings->capture.ring_buffer_bytes = bytes;
		return 0;
	case OPTION_RESPONSE_TIMEOUT:
		if (parse_unsigned(value, 86400, &number) || number == 0)
			return invalid_value("--response-timeout", value, "seconds from 1 to 86400");
		settings->stream.response_timeout_ns = number * 1000000000ull;
		return 0;
	case OPTION_MAX_CONNECTIONS:
		if (parse_unsigned(value, 1u << 24, &number) || number == 0)
			return invalid_value("--max-connections", value, "a count from 1 to 16777216");
		settings->stream.max_connections = number;
		return 0;
	case OPTION_RESCAN_INTERVAL:
		if (parse_unsigned(value, 86400, &number))
			return invalid_value("--rescan-interval", value, "seconds from 0 to 86400");
		settings->capture.rescan_interval_ms = (unsigned int)number * 1000;
		return 0;
	case OPTION_DURATION:
		if (parse_unsigned(value, 31u * 86400, &number) || number == 0)
			return invalid_value("--duration", value, "seconds, at least 1");
		settings->duration_s = (unsigned int)number;
		return 0;
	case OPTION_OFFSETS_CACHE:
		settings->capture.offsets_cache_dir = value;
		return 0;
	case OPTION_IGNORE_SYMBOLS:
		settings->ignore_symbols = true;
		return 0;
	case OPTION_FIELDS:
		settings->print_fields = true;
		return 0;
	case OPTION_VENDORS:
		if (settings->vendor_file_count == MAX_VENDOR_FILES)
			return invalid_value("--vendors", value, "at most 8 vendor files");
		settings->vendor_files[settings->vendor_file_count++] = value;
		return 0;
	case OPTION_FILTER_LIST:
		if (settings->filter_list_count == MAX_FILTER_LISTS)
			return invalid_value("--filter-list", value, "at most 8 filter lists");
		settings->filter_lists[settings->filter_list_count++] = value;
		return 0;
	case OPTION_NO_FILTER_LISTS:
		settings->no_filter_lists = true;
		return 0;
	case OPTION_FINGERPRINT_KEY:
		settings->fingerprint_key_path = value;
		return 0;
	case OPTION_POLICY:
		settings->policy_path = value;
		return 0;
	case OPTION_KEEP_VALUES:
		settings->keep_values = true;
		return 0;
	case OPTION_PERSONA:
		settings->persona_path = value;
		return 0;
	case OPTION_MAX_DECODED_BODY:
		if (parse_bytes(value, 1u << 30, &bytes))
			return invalid_value("--max-decoded-body", value, "bytes from 1 to 1024M");
		settings->max_decoded_body_bytes = bytes;
		return 0;
	case OPTION_BODY_KEEP:
		if (parse_bytes(value, 256u << 20, &bytes))
			return invalid_value("--body-keep", value, "bytes from 1 to 256M");
		settings->stream.body_keep_bytes = bytes;
		return 0;
	case 'v':
		log_set_level(LOG_LEVEL_DEBUG);
		return 0;
	}
	return 2;
}

static int parse_command(int argc, char **argv, struct settings *settings)
{
	const char *name = argc > 1 ? argv[1] : "";

	if (strcmp(name, "run") == 0)
		settings->command = COMMAND_RUN;
	else if (strcmp(name, "capture") == 0)
		settings->command = COMMAND_CAPTURE;
	else if (strcmp(name, "replay") == 0)
		settings->command = COMMAND_REPLAY;
	else if (strcmp(name, "offsets") == 0)
		settings->command = COMMAND_OFFSETS;
	else if (strcmp(name, "--version") == 0) {
		printf("plainsight %s\n", PLAINSIGHT_VERSION);
		return 0;
	} else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_usage(stdout);
		return 0;
	} else if (argc <= 1) {
		log_error("missing command (expected run, capture, replay or offsets; see plainsight --help)");
		return 2;
	} else {
		log_error("unknown command '%s' (expected run, capture, replay or offsets; see plainsight --help)", name);
		return 2;
	}
	return -1;
}

static const char *option_name(int option)
{
	for (const struct option *entry = long_options; entry->name; entry++) {
		if (entry->val == option)
			return entry->name;
	}
	return "?";
}

/* Options that choose or shape a live capture, meaningless for replay. */
static bool is_capture_option(int option)
{
	switch (option) {
	case OPTION_EXE:
	case OPTION_PID:
	case OPTION_CGROUP:
	case OPTION_ALL_PROCESSES:
	case OPTION_EVENTS:
	case OPTION_CALL_LIMIT:
	case OPTION_RING_BUFFER:
	case OPTION_RESCAN_INTERVAL:
	case OPTION_DURATION:
		return true;
	}
	return false;
}

/* Returns -1 to go on, or the exit code. */
static int parse_settings(int argc, char **argv, struct settings *settings)
{
	int option;
	int code = parse_command(argc, argv, settings);

	if (code >= 0)
		return code;

	settings->capture.call_limit_bytes = PS_CALL_LIMIT_DEFAULT_BYTES;
	settings->capture.ring_buffer_bytes = 64u << 20;
	settings->capture.rescan_interval_ms = 5000;
	settings->capture.pids = settings->pids;
	settings->capture.offsets_cache_dir = OFFSETS_CACHE_DIR;
	stream_default_options(&settings->stream);

	optind = 2;
	while ((option = getopt_long(argc, argv, "o:vh", long_options, NULL)) != -1) {
		if (option == 'h') {
			print_usage(stdout);
			return 0;
		}
		if (option == OPTION_VERSION) {
			printf("plainsight %s\n", PLAINSIGHT_VERSION);
			return 0;
		}
		if (option == '?') {
			log_error("invalid command line (see plainsight --help)");
			return 2;
		}
		code = apply_option(settings, option, optarg);
		if (code)
			return code;
		if (settings->command == COMMAND_REPLAY && is_capture_option(option)) {
			log_error("--%s applies to run and capture, not to replay (see plainsight --help)",
				  option_name(option));
			return 2;
		}
		if (settings->command == COMMAND_OFFSETS && option != OPTION_IGNORE_SYMBOLS && option != 'v') {
			log_error("offsets takes only --ignore-symbols and -v (see plainsight --help)");
			return 2;
		}
	}

	if (settings->command == COMMAND_REPLAY || settings->command == COMMAND_OFFSETS) {
		if (optind != argc - 1) {
			log_error("%s takes one file (see plainsight --help)",
				  settings->command == COMMAND_REPLAY ? "replay" : "offsets");
			return 2;
		}
		settings->archive_path = argv[optind];
	} else if (optind != argc) {
		log_error("unexpected argument '%s' (see plainsight --help)", argv[optind]);
		return 2;
	}
	if (settings->command == COMMAND_CAPTURE) {
		if (!settings->archive_path) {
			log_error("capture needs an archive file: plainsight capture -o FILE");
			return 2;
		}
		/* A forensic archive is never overwritten. */
		if (access(settings->archive_path, F_OK) == 0) {
			log_error("archive %s exists already; give a new file name", settings->archive_path);
			return 2;
		}
		if (settings->events_path && strcmp(settings->events_path, settings->archive_path) == 0) {
			log_error("the events file and the archive must be different files");
			return 2;
		}
	}

	if (settings->executable_count) {
		settings->capture.executables = settings->executables;
	} else if (!settings->capture.pid_count && !settings->capture.cgroup_path &&
		   !settings->capture.all_processes) {
		settings->capture.executables = capture_default_executables;
	}
	return -1;
}

/* ---- the pipeline ---- */

struct pipeline {
	struct tls_chunk_sink sink; /* archive first, then the stream */
	struct archive_writer *archive;
	struct stream *stream;
	struct event_writer *events;
	uint64_t event_errors;
	uint64_t archive_errors;
	uint64_t extract_errors; /* events dropped: fields not extracted (out of memory) */
	uint64_t scans_cut;      /* requests whose body or fields were scanned in part */
	struct classifier *classifier;
	struct policy *policy;
	struct fingerprint_key *key;
	struct policy_settings policy_settings;
	uint64_t policy_errors; /* events dropped: findings not fingerprinted (out of memory) */
	bool print_fields;
	size_t body_keep_bytes; /* as the stream stage keeps, for HAR entries too */
	struct extract_limits limits;
};

/* Counts a failed event write. A reader that went away (EPIPE, as when the
 * output is piped into head) ends the run, because no event can reach it. */
static void note_event_error(struct pipeline *pipeline, int error)
{
	if (!error)
		return;
	if (pipeline->event_errors++ == 0)
		log_error("writing an event failed: %s (further failures are counted)", strerror(-error));
	if (error == -EPIPE)
		stop_requested = SIGPIPE;
}

/* Runs the extract stage over a request: its URL (url.full), headers
 * (HTTP/2 pseudo-header fields left out) and body. Returns 0 or -ENOMEM. */
static int extract_fields(const struct pipeline *pipeline, const struct http_exchange *exchange,
			  const char *url, struct field_list *fields)
{
	const struct http_message *message = exchange->request;
	const char **names = calloc(message->header_count + 1, sizeof(*names));
	const char **values = calloc(message->header_count + 1, sizeof(*values));
	struct extract_request request = {
		.method = message->method,
		.header_names = names,
		.header_values = values,
		.body = message->body,
		.body_kept = message->body_kept,
		.body_bytes = message->body_bytes,
	};
	int error = -ENOMEM;

	if (names && values) {
		for (size_t i = 0; i < message->header_count; i++) {
			if (message->headers[i].name[0] == ':')
				continue;
			names[request.header_count] = message->headers[i].name;
			values[request.header_count] = message->headers[i].value;
			request.header_count++;
		}
		request.url = url;
		error = extract_request_fields(&request, &pipeline->limits, fields);
	}
	free(names);
	free(values);
	return error;
}

/* The request's host (url.full's, without credentials, brackets or port)
 * and target (path and query). */
static void split_url(const char *url, char *host, size_t host_size, const char **target)
{
	const char *start = url ? strstr(url, "://") : NULL;

	url_host(url, host, host_size);
	*target = start ? start + 3 + strcspn(start + 3, "/?#") : "/";
}

static void classify_exchange(const struct pipeline *pipeline, const struct http_exchange *exchange,
			      const char *url, const struct field_list *fields, struct classification *result)
{
	const struct http_message *message = exchange->request;
	char host[SITE_BYTES];
	struct classify_request request = {
		.host = host,
		.url = url,
		.referer = http_message_header(message, "Referer"),
		.origin = http_message_header(message, "Origin"),
		.sec_fetch_site = http_message_header(message, "Sec-Fetch-Site"),
		.sec_fetch_dest = http_message_header(message, "Sec-Fetch-Dest"),
		.sec_fetch_mode = http_message_header(message, "Sec-Fetch-Mode"),
		.fields = fields,
	};

	split_url(url, host, sizeof(host), &request.target);
	if (classifier_run(pipeline->classifier, &request, result) != 0)
		log_warn("out of memory: the personal data of a request was not scanned completely");
}

static void write_event(void *user, const struct http_exchange *exchange)
{
	struct pipeline *pipeline = user;
	struct field_list fields = { 0 };
	struct classification classification = { 0 };
	struct policy_result policy = { 0 };
	struct event_annotations annotations = {
		.classification = &classification,
		.policy = &policy,
		.scanned_fields = &fields,
	};
	char *url = event_url_full(exchange);
	int error;

	/* Without its fields a request's personal data cannot be found, and
	 * without a redactor it cannot be replaced: such an event would print
	 * it, so it is counted and dropped instead. */
	if (!url || extract_fields(pipeline, exchange, url, &fields) != 0) {
		pipeline->extract_errors++;
		log_warn("out of memory: a request's fields were not extracted; its event is dropped");
		goto cleanup;
	}
	if (fields.body_cut || fields.fields_cut) {
		if (pipeline->scans_cut++ == 0)
			log_warn("a request was scanned only in part: its body is longer than --body-keep or "
				 "--max-decoded-body, or it has more fields than the extract stage keeps; such events "
				 "carry plainsight.body_cut or fields_cut (further ones are counted as scans_cut)");
	}
	classify_exchange(pipeline, exchange, url, &fields, &classification);
	if (pipeline->print_fields)
		annotations.fields = &fields;
	if (policy_apply(&pipeline->policy_settings, &classification, &fields, &policy) != 0) {
		pipeline->policy_errors++;
		log_warn("out of memory: a request's findings were not fingerprinted; its event is dropped");
		goto cleanup;
	}
	error = event_writer_write(pipeline->events, exchange, &annotations);
	note_event_error(pipeline, error);

cleanup:
	policy_result_clear(&policy);
	classification_clear(&classification);
	field_list_clear(&fields);
	free(url);
}

static void write_quic_event(void *user, const struct quic_notice *notice)
{
	struct pipeline *pipeline = user;
	int error = event_writer_write_quic(pipeline->events, notice);

	note_event_error(pipeline, error);
	log_warn("process %u (%s) sent QUIC to port %u, which cannot be captured; its HTTP/3 requests are "
		 "missing (further notices for this process and peer within 10 s are not logged)",
		 notice->pid, notice->executable_path, notice->peer.port);
}

static int pipeline_write(struct tls_chunk_sink *sink, const struct tls_chunk *chunk)
{
	struct pipeline *pipeline = (struct pipeline *)sink;
	int error;

	if (pipeline->archive) {
		error = archive_writer_append(pipeline->archive, chunk);
		if (error && pipeline->archive_errors++ == 0)
			log_error("writing to the archive failed: %s (further failures are counted)",
				  strerror(-error));
	}
	return stream_chunk_sink(pipeline->stream)->write(stream_chunk_sink(pipeline->stream), chunk);
}

static int pipeline_open(struct pipeline *pipeline, const struct settings *settings, const char *host_name)
{
	struct event_writer_options event_options = { .path = settings->events_path, .host_name = host_name };
	struct classifier_options classifier_options = {
		.vendor_files = settings->vendor_files,
		.vendor_file_count = settings->vendor_file_count,
		.filter_lists = settings->filter_list_count ? settings->filter_lists : NULL,
		.filter_list_count = settings->filter_list_count,
		.no_filter_lists = settings->no_filter_lists,
		.persona_path = settings->persona_path,
	};
	int error;

	pipeline->sink.write = pipeline_write;
	error = classifier_new(&classifier_options, &pipeline->classifier);
	if (!error && settings->policy_path)
		error = policy_load(&pipeline->policy, settings->policy_path);
	if (!error)
		error = fingerprint_key_open(&pipeline->key, settings->fingerprint_key_path);
	if (error)
		return error;
	pipeline->policy_settings = (struct policy_settings){
		.policy = pipeline->policy,
		.key = pipeline->key,
		.keep_values = settings->keep_values,
	};
	event_options.keep_values = settings->keep_values;
	pipeline->print_fields = settings->print_fields;
	pipeline->body_keep_bytes = settings->stream.body_keep_bytes;
	extract_default_limits(&pipeline->limits);
	if (settings->max_decoded_body_bytes)
		pipeline->limits.max_decoded_body_bytes = settings->max_decoded_body_bytes;
	pipeline->events = event_writer_open(&event_options, &error);
	if (!pipeline->events)
		return error;
	pipeline->stream = stream_new(&settings->stream, write_event, pipeline);
	if (!pipeline->stream)
		return -ENOMEM;
	stream_set_quic_handler(pipeline->stream, write_quic_event);
	return 0;
}

static void pipeline_close(struct pipeline *pipeline)
{
	if (pipeline->stream)
		stream_finish(pipeline->stream);
	stream_free(pipeline->stream);
	event_writer_close(pipeline->events);
	classifier_free(pipeline->classifier);
	policy_free(pipeline->policy);
	fingerprint_key_free(pipeline->key);
}

static void log_stream_stats(const struct pipeline *pipeline)
{
	struct stream_stats stats;

	stream_read_stats(pipeline->stream, &stats);
	log_info("stats: events=%llu event_write_errors=%llu connections=%llu connections_evicted=%llu "
		 "requests_without_response=%llu responses_without_request=%llu requests_dropped=%llu "
		 "garbage_bytes=%llu stream_bytes_lost=%llu bytes_lost_after_last_event=%llu "
		 "http2_connections=%llu server_side_connections=%llu quic_notices=%llu extract_errors=%llu "
		 "policy_errors=%llu scans_cut=%llu",
		 (unsigned long long)event_writer_count(pipeline->events),
		 (unsigned long long)pipeline->event_errors, (unsigned long long)stats.connections,
		 (unsigned long long)stats.connections_evicted, (unsigned long long)stats.requests_without_response,
		 (unsigned long long)stats.responses_without_request, (unsigned long long)stats.requests_dropped,
		 (unsigned long long)stats.garbage_bytes, (unsigned long long)stats.bytes_lost,
		 (unsigned long long)stats.bytes_lost_unreported, (unsigned long long)stats.http2_connections,
		 (unsigned long long)stats.server_side_connections, (unsigned long long)stats.quic_notices,
		 (unsigned long long)pipeline->extract_errors, (unsigned long long)pipeline->policy_errors,
		 (unsigned long long)pipeline->scans_cut);
}

static void log_capture_stats(struct capture *capture, const struct pipeline *pipeline)
{
	struct capture_stats stats;

	capture_read_stats(capture, &stats);
	log_info("capture stats: records=%llu data_bytes=%llu libraries=%llu ring_buffer_full_records=%llu "
		 "ring_buffer_full_bytes=%llu bytes_over_call_limit=%llu bytes_unreadable=%llu "
		 "calls_untracked=%llu control_records_dropped=%llu bpf_connections_evicted=%llu "
		 "archive_write_errors=%llu",
		 (unsigned long long)stats.records, (unsigned long long)stats.data_bytes,
		 (unsigned long long)stats.libraries_attached,
		 (unsigned long long)stats.loss[PS_LOSS_RECORDS_DROPPED],
		 (unsigned long long)stats.loss[PS_LOSS_BYTES_DROPPED],
		 (unsigned long long)stats.loss[PS_LOSS_BYTES_OVER_LIMIT],
		 (unsigned long long)stats.loss[PS_LOSS_BYTES_UNREADABLE],
		 (unsigned long long)stats.loss[PS_LOSS_CALLS_UNTRACKED],
		 (unsigned long long)stats.loss[PS_LOSS_EVENTS_DROPPED],
		 (unsigned long long)stats.connections_evicted, (unsigned long long)pipeline->archive_errors);
}

static void install_signal_handlers(void)
{
	struct sigaction action = { .sa_handler = request_stop };

	/* No SA_RESTART: the ring-buffer wait must return on a signal. */
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGHUP, &action, NULL);
	sigaction(SIGQUIT, &action, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static uint64_t now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void describe_targets(const struct settings *settings)
{
	size_t names = 0;

	for (const char *const *name = settings->capture.executables; name && *name; name++)
		names++;
	if (settings->capture.all_processes)
		log_info("ready: capturing every process");
	else
		log_info("ready: capturing %zu executable name(s), %zu process tree(s)%s%s", names,
			 settings->capture.pid_count, settings->capture.cgroup_path ? " and cgroup " : "",
			 settings->capture.cgroup_path ? settings->capture.cgroup_path : "");
}

static int capture_loop(struct capture *capture, struct pipeline *pipeline, unsigned int duration_s)
{
	uint64_t started = now_ms();
	uint64_t last_flush = started;
	int result;

	while (!stop_requested) {
		result = capture_poll(capture, &pipeline->sink, POLL_INTERVAL_MS);
		if (result < 0 && result != -EINTR) {
			log_error("capture stopped: %s", strerror(-result));
			return 1;
		}
		if (pipeline->archive && now_ms() - last_flush >= ARCHIVE_FLUSH_INTERVAL_MS) {
			archive_writer_flush(pipeline->archive);
			last_flush = now_ms();
		}
		if (duration_s && now_ms() - started >= (uint64_t)duration_s * 1000)
			break;
	}

	/* Read the records still in the ring buffer before reporting. */
	capture_poll(capture, &pipeline->sink, 0);
	return 0;
}

static int run_live(struct settings *settings, const char *host_name)
{
	struct pipeline pipeline = { 0 };
	struct archive_info info = { 0 };
	struct capture *capture = NULL;
	char reason[256];
	int error;
	int code = 1;

	if (capture_check_environment(reason, sizeof(reason))) {
		log_error("cannot capture: %s", reason);
		return 1;
	}
	if (pipeline_open(&pipeline, settings, host_name))
		goto done;

	if (settings->command == COMMAND_CAPTURE) {
		snprintf(info.host_name, sizeof(info.host_name), "%s", host_name);
		snprintf(info.agent_version, sizeof(info.agent_version), "%s", PLAINSIGHT_VERSION);
		info.start_time_ns = (uint64_t)time(NULL) * 1000000000ull;
		pipeline.archive = archive_writer_open(settings->archive_path, &info, &error);
		if (!pipeline.archive) {
			log_error("cannot create archive %s: %s", settings->archive_path, strerror(-error));
			goto done;
		}
	}

	install_signal_handlers();
	capture = capture_open(&settings->capture, &error);
	if (!capture)
		goto done;
	describe_targets(settings);

	code = capture_loop(capture, &pipeline, settings->duration_s);
	log_info("stopping%s", stop_requested ? " on signal" : "");

done:
	/* Statistics only for a capture that started. */
	if (capture)
		log_capture_stats(capture, &pipeline);
	if (pipeline.stream)
		stream_finish(pipeline.stream);
	if (capture && pipeline.events)
		log_stream_stats(&pipeline);
	/* The archive is complete before the probes are detached, which takes
	 * seconds on a machine with many attached files. */
	if (pipeline.archive && archive_writer_close(pipeline.archive)) {
		log_error("closing archive %s failed", settings->archive_path);
		code = 1;
	}
	pipeline.archive = NULL;
	capture_close(capture);
	pipeline_close(&pipeline);
	return code;
}

static bool has_suffix(const char *text, const char *suffix)
{
	size_t length = strlen(text);
	size_t suffix_length = strlen(suffix);

	return length >= suffix_length && strcasecmp(text + length - suffix_length, suffix) == 0;
}

/* Reads "HTTP/1.1", "http/2.0", "h2" or "h3" into major and minor. */
static void parse_http_version(const char *text, int *major, int *minor)
{
	*major = 1;
	*minor = 1;
	if (!text)
		return;
	if (text[0] == 'h' && (text[1] == '2' || text[1] == '3') && !text[2]) {
		*major = text[1] - '0';
		*minor = 0;
	} else if (strncasecmp(text, "HTTP/", 5) == 0) {
		sscanf(text + 5, "%d.%d", major, minor);
	}
}

/* The origin-form target of an absolute URL: "/path?query" of
 * "https://host/path?query", without a fragment. */
static char *target_of_url(const char *url)
{
	const char *rest = strstr(url, "//");

	rest = rest ? rest + 2 + strcspn(rest + 2, "/?#") : url;
	return *rest && *rest != '#' ? strndup(rest, strcspn(rest, "#")) : strdup("/");
}

static void har_peer(const struct har_entry *entry, struct tls_endpoint *peer)
{
	memset(peer, 0, sizeof(*peer));
	if (!entry->server_ip)
		return;
	if (inet_pton(AF_INET, entry->server_ip, peer->address) == 1)
		peer->family = AF_INET;
	else if (inet_pton(AF_INET6, entry->server_ip, peer->address) == 1)
		peer->family = AF_INET6;
	peer->port = strncasecmp(entry->url, "http://", 7) == 0 ? 80 : 443;
}

/* One HAR entry through the same output as a captured request. */
static int write_har_entry(void *user, const struct har_entry *entry)
{
	struct pipeline *pipeline = user;
	struct http_header *headers = calloc(entry->header_count + 1, sizeof(*headers));
	struct http_message request = {
		.method = (char *)entry->method,
		.headers = headers,
		.header_count = entry->header_count,
		.body_bytes = entry->body_bytes,
		.body = (uint8_t *)entry->body,
		.body_kept = entry->body_bytes < pipeline->body_keep_bytes ? entry->body_bytes
									     : pipeline->body_keep_bytes,
		.time_ns = entry->started_ns,
	};
	struct http_message response = {
		.status_code = entry->status,
		.body_bytes = entry->response_body_bytes > 0 ? (uint64_t)entry->response_body_bytes : 0,
		.time_ns = entry->started_ns,
	};
	struct http_exchange exchange = {
		.executable_path = "",
		.thread_name = "",
		.request = &request,
		.response = entry->status > 0 ? &response : NULL,
		.url_full = entry->url,
		.capture_source = "har",
	};

	request.target = target_of_url(entry->url);
	if (!headers || !request.target) {
		free(headers);
		free(request.target);
		return -ENOMEM;
	}
	for (size_t i = 0; i < entry->header_count; i++) {
		headers[i].name = (char *)entry->headers[i].name;
		headers[i].value = (char *)entry->headers[i].value;
	}
	parse_http_version(entry->http_version, &request.version_major, &request.version_minor);
	response.version_major = request.version_major;
	response.version_minor = request.version_minor;
	har_peer(entry, &exchange.peer);

	write_event(pipeline, &exchange);
	free(headers);
	free(request.target);
	return 0;
}

static int replay_har(struct settings *settings)
{
	struct pipeline pipeline = { 0 };
	struct har_status status;
	char host_name[HOST_NAME_MAX + 1] = "";
	int error;
	int code = 0;

	/* A HAR does not record the host that made it: host.name is this one. */
	gethostname(host_name, sizeof(host_name) - 1);
	if (pipeline_open(&pipeline, settings, host_name)) {
		pipeline_close(&pipeline);
		return 1;
	}
	error = har_read(settings->archive_path, write_har_entry, &pipeline, &status);
	if (error) {
		log_error("HAR file %s: %s; the %llu entries before that point were replayed",
			  settings->archive_path, status.error, (unsigned long long)status.entries);
		code = 1;
	}
	log_info("replayed %llu HAR entries", (unsigned long long)status.entries);
	pipeline_close(&pipeline);
	return code;
}

static int run_replay(struct settings *settings)
{
	struct pipeline pipeline = { 0 };
	struct archive_info info = { 0 };
	struct archive_status status = { 0 };
	int error;
	int code = 0;

	if (har_file_looks_like(settings->archive_path) || has_suffix(settings->archive_path, ".har"))
		return replay_har(settings);

	/* Events carry the host name of the capture, so the header is read
	 * before the pipeline is built. */
	error = archive_read_info(settings->archive_path, &info, &status);
	if (error) {
		log_error("cannot read archive %s: %s", settings->archive_path, status.error);
		return 1;
	}
	if (pipeline_open(&pipeline, settings, info.host_name)) {
		pipeline_close(&pipeline);
		return 1;
	}

	error = archive_read(settings->archive_path, &pipeline.sink, &info, &status);
	if (error) {
		log_error("archive %s: %s; the %llu chunks before that point were replayed",
			  settings->archive_path, status.error, (unsigned long long)status.chunks);
		code = 1;
	}
	stream_finish(pipeline.stream);
	log_stream_stats(&pipeline);
	pipeline_close(&pipeline);
	return code;
}

/* plainsight offsets BINARY: what the capture would attach to in it. */
static int show_offsets(const struct settings *settings)
{
	struct stat status;
	int error;

	if (stat(settings->archive_path, &status)) {
		log_error("cannot open %s: %s", settings->archive_path, strerror(errno));
		return 1;
	}
	if (!S_ISREG(status.st_mode)) {
		log_error("%s is not a regular file", settings->archive_path);
		return 1;
	}
	error = boringssl_describe(stdout, settings->archive_path, settings->ignore_symbols);

	fflush(stdout);
	if (error == -ENOENT) {
		log_error("%s: no BoringSSL found; nothing would be attached", settings->archive_path);
		return 1;
	}
	if (error == -ENOEXEC) {
		log_error("%s: not a complete x86-64 ELF file; nothing would be attached", settings->archive_path);
		return 1;
	}
	if (error) {
		log_error("%s: %s", settings->archive_path, strerror(-error));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct settings settings;
	char host_name[HOST_NAME_MAX + 1] = "";
	int code = parse_settings(argc, argv, &settings);

	if (code >= 0)
		return code;

	if (settings.command == COMMAND_REPLAY)
		return run_replay(&settings);
	if (settings.command == COMMAND_OFFSETS)
		return show_offsets(&settings);

	gethostname(host_name, sizeof(host_name) - 1);
	return run_live(&settings, host_name);
}

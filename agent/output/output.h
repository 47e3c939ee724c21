/*
 * Output stage: one JSON object per line for each reported request, with
 * field names from the OpenTelemetry semantic conventions as nested objects
 * (url.full becomes {"url":{"full":...}}), and a plainsight object for the
 * rest.
 */
#ifndef PLAINSIGHT_OUTPUT_H
#define PLAINSIGHT_OUTPUT_H

#include <stdint.h>

#include "../classify/classify.h"
#include "../extract/extract.h"
#include "../policy/policy.h"
#include "../stream/stream.h"

struct event_writer_options {
	const char *path;      /* events file (appended to), or NULL for stdout */
	const char *host_name; /* host.name of every event */
	bool keep_values;      /* events hold personal data: the file is made 0600 */
};

struct event_writer;

/* Returns NULL with *error set to a negative errno; the cause is logged. */
struct event_writer *event_writer_open(const struct event_writer_options *options, int *error);

/* Results of the later stages for one request; any member may be NULL. */
struct event_annotations {
	const struct field_list *fields;  /* printed as plainsight.fields */
	/* plainsight.site, .third_party, .tracker, .browser_traffic */
	const struct classification *classification;
	/* plainsight.severity and plainsight.pii, and the redaction of every
	 * value printed; the findings' paths are those of scanned_fields. */
	const struct policy_result *policy;
	const struct field_list *scanned_fields;
};

/* Writes one event. Returns 0 or a negative errno. */
int event_writer_write(struct event_writer *writer, const struct http_exchange *exchange,
		       const struct event_annotations *annotations);

/* Writes one event of kind "quic": a process sent QUIC, which the capture
 * cannot read. Returns 0 or a negative errno. */
int event_writer_write_quic(struct event_writer *writer, const struct quic_notice *notice);

/* Events written so far. */
uint64_t event_writer_count(const struct event_writer *writer);

/* Flushes and closes; NULL is accepted. Returns 0 or a negative errno. */
int event_writer_close(struct event_writer *writer);

/* Builds the event as a JSON text without a newline, for writers and tests.
 * The caller frees the result. Returns NULL when out of memory. */
char *event_format(const struct http_exchange *exchange, const char *host_name, uint64_t sequence,
		   const struct event_annotations *annotations);

/* Returns the request's url.full as the event writes it; the caller frees
 * it. NULL when out of memory. */
char *event_url_full(const struct http_exchange *exchange);

/* Builds the "quic" event as a JSON text without a newline; the caller
 * frees it. Returns NULL when out of memory. */
char *event_format_quic(const struct quic_notice *notice, const char *host_name, uint64_t sequence);

#endif

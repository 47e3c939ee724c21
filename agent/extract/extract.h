/*
 * Extract stage: turns one HTTP request into a list of fields, each a path
 * and a value, for the classification stages: URL parts, query parameters,
 * cookies, selected headers, and the body's form fields, multipart parts and
 * JSON leaves. A value that is itself encoded (URL-encoded JSON, base64 or
 * base64url of JSON, a query string) is decoded and its fields are added
 * under the parent's path, recursively to a bounded depth, with the chain of
 * decodings that led to them.
 */
#ifndef PLAINSIGHT_EXTRACT_H
#define PLAINSIGHT_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decoding steps named in a field's chain. */
enum field_decoding {
	FIELD_DECODING_URL = 0,     /* percent-decoding, '+' as space in forms */
	FIELD_DECODING_BASE64,      /* standard alphabet, padding optional */
	FIELD_DECODING_BASE64URL,   /* RFC 4648 section 5 */
	FIELD_DECODING_JSON,        /* parsed as JSON (cJSON) */
	FIELD_DECODING_QUERY,       /* parsed as a query string */
	FIELD_DECODING_FORM,        /* application/x-www-form-urlencoded */
	FIELD_DECODING_MULTIPART,   /* multipart/form-data */
	FIELD_DECODING_NDJSON,      /* newline-delimited JSON */
	FIELD_DECODING_GZIP,        /* gzip or zlib, Content-Encoding or magic bytes */
	FIELD_DECODING_DEFLATE,     /* raw deflate */
	FIELD_DECODING_BROTLI,      /* Content-Encoding: br */
};

#define FIELD_MAX_DECODINGS 8

/* The part of the request that a field came from. */
enum field_source {
	FIELD_SOURCE_URL,    /* url.* parts */
	FIELD_SOURCE_QUERY,  /* query parameters */
	FIELD_SOURCE_COOKIE,
	FIELD_SOURCE_HEADER,
	FIELD_SOURCE_BODY,
};

struct field {
	/* Dotted path, such as "query.ud[em]", "body.json.user.email",
	 * "body.form.data.properties.$email" or "header.referer". */
	char *path;
	/* The decoded value; may contain NUL bytes, so value_bytes counts. */
	char *value;
	size_t value_bytes;
	enum field_source source;
	/* Decodings applied, outermost first. */
	enum field_decoding decodings[FIELD_MAX_DECODINGS];
	size_t decoding_count;
};

struct field_list {
	struct field *fields;
	size_t count;
	size_t capacity;
	/* Set when a limit cut the extraction short: too many fields, a body
	 * over the decompressed-size limit, nesting too deep. */
	bool body_cut;
	bool fields_cut;
};

struct extract_limits {
	size_t max_decoded_body_bytes; /* decompressed body limit */
	size_t max_fields;
	unsigned int max_depth; /* nested decodings of one value */
};

/* The request as extraction reads it. Headers are name/value pairs as sent
 * (HTTP/2 pseudo-header fields excluded). The body is the bytes the request
 * carried on the wire (before Content-Encoding is undone), possibly only
 * the first body_kept of body_bytes. */
struct extract_request {
	const char *method;
	const char *url; /* url.full */
	const char *const *header_names;
	const char *const *header_values;
	size_t header_count;
	const uint8_t *body;
	size_t body_kept;
	uint64_t body_bytes;
};

void extract_default_limits(struct extract_limits *limits);

/* Fills list (which must be zeroed or cleared) with the fields of request.
 * Returns 0, or -ENOMEM; malformed input is never an error, it only yields
 * fewer fields. */
int extract_request_fields(const struct extract_request *request, const struct extract_limits *limits,
			   struct field_list *list);

void field_list_clear(struct field_list *list);

/* Returns the name of a decoding step for output ("url", "base64", ...). */
const char *field_decoding_name(enum field_decoding decoding);

#endif

/*
 * HAR input: the requests of an HTTP Archive 1.2 file, as exported by the
 * developer tools of Chrome and Firefox and by crawlers, one entry at a
 * time. The file is scanned, not loaded whole: only the entry being decoded
 * is held in memory (at most HAR_MAX_ENTRY_BYTES), so large files work and
 * a truncated file still yields every entry before the cut.
 */
#ifndef PLAINSIGHT_HAR_H
#define PLAINSIGHT_HAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest JSON text of one entry, in bytes. */
#define HAR_MAX_ENTRY_BYTES (64u << 20)

struct har_header {
	const char *name;
	const char *value;
};

/* One entry's request and what the HAR records of its response. Strings
 * are valid only during the callback. */
struct har_entry {
	uint64_t index;      /* 0 for the first entry of the file */
	uint64_t started_ns; /* startedDateTime, ns since the Unix epoch, 0 if invalid */
	const char *method;
	const char *url;
	const char *http_version; /* as written: "HTTP/1.1", "h2", "http/2.0", ... */
	const struct har_header *headers;
	size_t header_count;
	/* postData: its text (base64-decoded when its encoding is base64), or its
	 * params joined as application/x-www-form-urlencoded. */
	const uint8_t *body;
	size_t body_bytes;
	const char *server_ip; /* serverIPAddress, or NULL */
	int status;            /* response.status; 0 when there was none */
	int64_t response_body_bytes; /* response.content.size; -1 when unknown */
};

struct har_status {
	uint64_t entries;    /* entries passed to the callback */
	uint64_t stopped_at; /* file offset where reading stopped */
	bool complete;       /* the entries array was read to its end */
	char error[256];     /* why reading stopped early, empty if complete */
};

typedef int (*har_entry_fn)(void *user, const struct har_entry *entry);

/* Returns true when the file starts like JSON (an object), as a HAR does. */
bool har_file_looks_like(const char *path);

/* Reads log.entries of the HAR file at path, calling on_entry for each.
 * Returns 0 when the array was read to its end, or a negative errno when
 * reading stopped early (status gives where and why, and every entry before
 * that point reached on_entry), or the callback's own negative return value. */
int har_read(const char *path, har_entry_fn on_entry, void *user, struct har_status *status);

#endif

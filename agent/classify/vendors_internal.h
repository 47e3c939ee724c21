/*
 * Private to the vendor table: the records of one loaded file, shared by the
 * file reader (vendors_load.c) and the table with its host index
 * (vendors.c). docs/VENDORS.md describes the file format and the matching
 * rules.
 */
#ifndef PLAINSIGHT_VENDORS_INTERNAL_H
#define PLAINSIGHT_VENDORS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "classify.h"

/* Maximum bytes of a host name in text form, without a trailing dot. RFC
 * 1035 limits a name to 255 octets in wire form, which is 253 as text. */
#define VENDOR_MAX_HOST_BYTES 253

/* Maximum bytes of a rule's path. */
#define VENDOR_MAX_PATH_BYTES 1024

/* Maximum bytes of a vendor file; a larger file is rejected whole. */
#define VENDOR_MAX_FILE_BYTES (16u * 1024 * 1024)

struct vendor_record;

/* One rule of an entry: a host and its subdomains, optionally narrowed to a
 * path prefix. */
struct vendor_rule {
	char *host; /* lowercase, no trailing dot; path follows it in the same block */
	size_t host_bytes;
	const char *path; /* starts with '/', or NULL for every path of the host */
	size_t path_bytes;
	bool path_is_plain_prefix; /* written with a trailing '*' */
	char *label;		   /* "vendors.json:meta-pixel facebook.com/tr" */
	const struct vendor_record *record;
};

/* One entry with the strings it owns. */
struct vendor_record {
	struct vendor_entry entry;
	struct vendor_rule *rules;
	size_t rule_count;
	/* Load that added the record, counted from 1; where two entries have
	 * the same rule, the later load's entry wins. */
	unsigned int generation;
};

/* The entries of one file, in file order. */
struct vendor_batch {
	struct vendor_record **records;
	size_t count;
};

/* The vendor file being read. */
struct vendor_file {
	const char *path;      /* as given, for messages */
	const char *base_name; /* for rule labels */
	unsigned int generation;
};

/* ---- vendors_load.c: the file ---- */

/* Reads and validates a vendor file. On success batch owns new records
 * tagged with generation. Returns 0, or a negative errno after logging one
 * message that names the file and, for bad content, the entry; batch is
 * then empty. */
int vendor_file_read(const char *path, unsigned int generation, struct vendor_batch *batch);

/* The same for a file's text held in memory; name stands for the path. */
int vendor_file_parse(const char *name, const char *text, size_t text_bytes, unsigned int generation,
		      struct vendor_batch *batch);

/* Frees the records and the array; accepts an empty batch. */
void vendor_batch_free(struct vendor_batch *batch);

/* Logs "invalid vendor file PATH: entries[INDEX] (id "ID"): MESSAGE" and
 * returns -EINVAL. index SIZE_MAX leaves out the entry, id NULL its id. */
__attribute__((format(printf, 4, 5))) int vendor_file_reject(const struct vendor_file *file, size_t index,
							     const char *id, const char *format, ...);

/* ---- vendors_entry.c: one entry ---- */

void vendor_record_free(struct vendor_record *record);

/* Checks one element of "entries" and copies it into a new record. Returns
 * 0, or a negative errno after logging one message. */
int vendor_entry_read(const struct vendor_file *file, const cJSON *object, size_t index,
		      struct vendor_record **record);

/* Returns the first member of object whose key is not in keys or repeats an
 * earlier key, or NULL. cJSON keeps both copies of a repeated key and reads
 * only the first, so a repeat would otherwise go unnoticed. */
const cJSON *vendor_json_find_bad_key(const cJSON *object, const char *const *keys, size_t key_count,
				      bool *repeated);

/* Returns whether object's member name is a string or absent. */
bool vendor_json_is_string_or_missing(const cJSON *object, const char *name);

#endif

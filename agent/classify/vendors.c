/*
 * Vendor table: entries from one or more vendor files and an index of their
 * rules by host. The index is an open-addressing hash table keyed by rule
 * host. A lookup hashes every suffix of the request's host that starts at a
 * label in one backward pass over the name. It then probes from the longest
 * suffix to the shortest, so its cost grows with the host's length and not
 * with the number of rules. Each load builds a new index beside the old one
 * and swaps it in only when the whole file is valid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "vendors_internal.h"

/* A host of at most 253 bytes has at most 127 labels. */
#define MAX_HOST_LABELS 127

#define FNV_OFFSET_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

/* All rules of one host, a range of index->sorted. */
struct vendor_slot {
	const char *host; /* NULL for an empty slot */
	size_t host_bytes;
	uint64_t hash;
	size_t first;
	size_t count;
};

struct vendor_index {
	/* Grouped by host; within a host, the rule to try first comes first. */
	const struct vendor_rule **sorted;
	struct vendor_slot *slots;
	size_t slot_mask; /* slot count - 1; the count is a power of two */
};

struct vendor_table {
	struct vendor_record **records;
	size_t count;
	unsigned int generation; /* of the last successful load */
	struct vendor_index index;
};

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* FNV-1a over the lowercased bytes from last to first, so that the hashes
 * of all suffixes of a name come out of a single backward pass. */
static uint64_t hash_step(uint64_t hash, char c)
{
	return (hash ^ (unsigned char)ascii_lower(c)) * FNV_PRIME;
}

static uint64_t hash_host(const char *host, size_t host_bytes)
{
	uint64_t hash = FNV_OFFSET_BASIS;

	for (size_t i = host_bytes; i > 0; i--)
		hash = hash_step(hash, host[i - 1]);
	return hash;
}

/* ---- building the index ---- */

/* Orders rules by host, then the one to try first: the longer path, an
 * exact path before a plain prefix of the same text, the later load. The
 * last keys only make the order total. */
static int compare_rules(const void *left, const void *right)
{
	const struct vendor_rule *a = *(const struct vendor_rule *const *)left;
	const struct vendor_rule *b = *(const struct vendor_rule *const *)right;
	int order = strcmp(a->host, b->host);

	if (order)
		return order;
	if (a->path_bytes != b->path_bytes)
		return a->path_bytes > b->path_bytes ? -1 : 1;
	if (a->path_is_plain_prefix != b->path_is_plain_prefix)
		return a->path_is_plain_prefix ? 1 : -1;
	order = a->path && b->path ? strcmp(a->path, b->path) : 0;
	if (order)
		return order;
	if (a->record->generation != b->record->generation)
		return a->record->generation > b->record->generation ? -1 : 1;
	return strcmp(a->record->entry.id, b->record->entry.id);
}

static bool same_rule(const struct vendor_rule *a, const struct vendor_rule *b)
{
	return strcmp(a->host, b->host) == 0 && a->path_bytes == b->path_bytes &&
	       a->path_is_plain_prefix == b->path_is_plain_prefix &&
	       (!a->path || strcmp(a->path, b->path) == 0);
}

static void index_free(struct vendor_index *index)
{
	free(index->sorted);
	free(index->slots);
	*index = (struct vendor_index){ 0 };
}

/* Rejects a rule that two entries of the same load share, because which of
 * them wins would depend on their ids. */
static int check_repeated_rules(const struct vendor_rule **sorted, size_t count, const char *path)
{
	for (size_t i = 1; i < count; i++) {
		const struct vendor_rule *a = sorted[i - 1];
		const struct vendor_rule *b = sorted[i];

		if (a->record->generation != b->record->generation || !same_rule(a, b))
			continue;
		if (a->record == b->record)
			log_error("invalid vendor file %s: entry \"%s\" lists rule \"%s\" twice", path,
				  a->record->entry.id, strchr(a->label, ' ') + 1);
		else
			log_error("invalid vendor file %s: entries \"%s\" and \"%s\" both list rule \"%s\"",
				  path, a->record->entry.id, b->record->entry.id, strchr(a->label, ' ') + 1);
		return -EINVAL;
	}
	return 0;
}

static void index_insert(struct vendor_index *index, const struct vendor_slot *slot)
{
	size_t position = slot->hash & index->slot_mask;

	while (index->slots[position].host)
		position = (position + 1) & index->slot_mask;
	index->slots[position] = *slot;
}

static void index_fill_slots(struct vendor_index *index, size_t rule_count)
{
	struct vendor_slot slot = { 0 };

	for (size_t i = 0; i < rule_count; i++) {
		const struct vendor_rule *rule = index->sorted[i];

		if (slot.host && strcmp(slot.host, rule->host) == 0) {
			slot.count++;
			continue;
		}
		if (slot.host)
			index_insert(index, &slot);
		slot = (struct vendor_slot){ rule->host, rule->host_bytes,
					     hash_host(rule->host, rule->host_bytes), i, 1 };
	}
	if (slot.host)
		index_insert(index, &slot);
}

/* Builds the index of records' rules. path names the file being loaded, for
 * messages. */
static int index_build(struct vendor_index *index, struct vendor_record *const *records, size_t count,
		       const char *path)
{
	size_t rule_count = 0;
	size_t host_count = 0;
	size_t slot_count = 16;
	int err;

	*index = (struct vendor_index){ 0 };
	for (size_t i = 0; i < count; i++)
		rule_count += records[i]->rule_count;
	if (rule_count == 0)
		return 0;

	index->sorted = calloc(rule_count, sizeof(*index->sorted));
	if (!index->sorted)
		goto out_of_memory;
	rule_count = 0;
	for (size_t i = 0; i < count; i++) {
		for (size_t r = 0; r < records[i]->rule_count; r++)
			index->sorted[rule_count++] = &records[i]->rules[r];
	}
	qsort(index->sorted, rule_count, sizeof(*index->sorted), compare_rules);
	err = check_repeated_rules(index->sorted, rule_count, path);
	if (err) {
		index_free(index);
		return err;
	}

	/* At most half of the slots are used, which keeps probe runs short. */
	for (size_t i = 0; i < rule_count; i++)
		host_count += i == 0 || strcmp(index->sorted[i - 1]->host, index->sorted[i]->host) != 0;
	while (slot_count < host_count * 2)
		slot_count *= 2;
	index->slots = calloc(slot_count, sizeof(*index->slots));
	if (!index->slots)
		goto out_of_memory;
	index->slot_mask = slot_count - 1;
	index_fill_slots(index, rule_count);
	return 0;

out_of_memory:
	index_free(index);
	log_error("out of memory loading vendor file %s", path);
	return -ENOMEM;
}

/* ---- loading ---- */

struct id_position {
	const char *id;
	size_t position;
};

static int compare_id_positions(const void *left, const void *right)
{
	return strcmp(((const struct id_position *)left)->id, ((const struct id_position *)right)->id);
}

/* Makes merged the table's records with batch's merged in: an entry whose
 * id is already in the table takes that entry's place, which goes to
 * replaced, and the others are appended. merged has room for both. */
static int merge_records(const struct vendor_table *table, const struct vendor_batch *batch,
			 struct vendor_record **merged, size_t *merged_count, struct vendor_record **replaced,
			 size_t *replaced_count)
{
	struct id_position *ids = calloc(table->count + 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < table->count; i++) {
		merged[i] = table->records[i];
		ids[i] = (struct id_position){ table->records[i]->entry.id, i };
	}
	qsort(ids, table->count, sizeof(*ids), compare_id_positions);

	*merged_count = table->count;
	*replaced_count = 0;
	for (size_t i = 0; i < batch->count; i++) {
		struct id_position key = { batch->records[i]->entry.id, 0 };
		struct id_position *found =
			bsearch(&key, ids, table->count, sizeof(*ids), compare_id_positions);

		if (found) {
			replaced[(*replaced_count)++] = merged[found->position];
			merged[found->position] = batch->records[i];
		} else {
			merged[(*merged_count)++] = batch->records[i];
		}
	}
	free(ids);
	return 0;
}

/* Moves batch's records into table. On failure table and batch are as they
 * were. */
static int table_commit(struct vendor_table *table, struct vendor_batch *batch, const char *path)
{
	struct vendor_record **merged = calloc(table->count + batch->count + 1, sizeof(*merged));
	struct vendor_record **replaced = calloc(batch->count + 1, sizeof(*replaced));
	struct vendor_index index;
	size_t merged_count = 0;
	size_t replaced_count = 0;
	int err = -ENOMEM;

	if (!merged || !replaced ||
	    merge_records(table, batch, merged, &merged_count, replaced, &replaced_count) != 0) {
		log_error("out of memory loading vendor file %s", path);
		goto cleanup;
	}
	err = index_build(&index, merged, merged_count, path);
	if (err)
		goto cleanup;

	for (size_t i = 0; i < replaced_count; i++)
		vendor_record_free(replaced[i]);
	index_free(&table->index);
	free(table->records);
	table->records = merged;
	table->count = merged_count;
	table->index = index;
	table->generation++;
	merged = NULL;
	free(batch->records);
	*batch = (struct vendor_batch){ 0 };

cleanup:
	free(merged);
	free(replaced);
	return err;
}

int vendor_table_new(struct vendor_table **table)
{
	*table = calloc(1, sizeof(**table));
	return *table ? 0 : -ENOMEM;
}

int vendor_table_load(struct vendor_table *table, const char *path)
{
	struct vendor_batch batch;
	size_t file_entries;
	int err;

	if (!table || !path)
		return -EINVAL;
	err = vendor_file_read(path, table->generation + 1, &batch);
	if (err)
		return err;
	file_entries = batch.count;
	err = table_commit(table, &batch, path);
	vendor_batch_free(&batch);
	if (!err)
		log_info("loaded vendor file %s: %zu entries, %zu in the table", path, file_entries,
			 table->count);
	return err;
}

int vendor_table_parse(struct vendor_table *table, const char *name, const char *text, size_t length)
{
	struct vendor_batch batch;
	int err;

	if (!table || !name || !text)
		return -EINVAL;
	err = vendor_file_parse(name, text, length, table->generation + 1, &batch);
	if (err)
		return err;
	err = table_commit(table, &batch, name);
	vendor_batch_free(&batch);
	if (!err)
		log_debug("loaded vendor file %s: %zu entries", name, table->count);
	return err;
}

size_t vendor_table_count(const struct vendor_table *table)
{
	return table ? table->count : 0;
}

void vendor_table_free(struct vendor_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < table->count; i++)
		vendor_record_free(table->records[i]);
	free(table->records);
	index_free(&table->index);
	free(table);
}

/* ---- lookup ---- */

static const struct vendor_slot *index_find(const struct vendor_index *index, const char *host,
					    size_t host_bytes, uint64_t hash)
{
	size_t position = hash & index->slot_mask;

	for (const struct vendor_slot *slot = &index->slots[position]; slot->host;
	     slot = &index->slots[position]) {
		if (slot->hash == hash && slot->host_bytes == host_bytes) {
			size_t i = 0;

			while (i < host_bytes && ascii_lower(host[i]) == slot->host[i])
				i++;
			if (i == host_bytes)
				return slot;
		}
		position = (position + 1) & index->slot_mask;
	}
	return NULL;
}

/* A path rule covers a target that starts with the path when the path ends
 * in '/' or was written with '*', or when the next character of the target
 * ends a path segment: end of target, '/' or '?'. */
static bool rule_covers_target(const struct vendor_rule *rule, const char *target)
{
	char next;

	if (!rule->path)
		return true;
	if (strncmp(target, rule->path, rule->path_bytes) != 0)
		return false;
	if (rule->path_is_plain_prefix || rule->path[rule->path_bytes - 1] == '/')
		return true;
	next = target[rule->path_bytes];
	return next == '\0' || next == '/' || next == '?';
}

bool vendor_table_match(const struct vendor_table *table, const char *host, const char *target,
			struct vendor_match *match)
{
	size_t suffix_starts[MAX_HOST_LABELS + 1];
	uint64_t suffix_hashes[MAX_HOST_LABELS + 1];
	size_t suffix_count = 0;
	size_t host_bytes = host ? strlen(host) : 0;
	uint64_t hash = FNV_OFFSET_BASIS;

	if (host_bytes > 0 && host[host_bytes - 1] == '.')
		host_bytes--;
	if (!table || !table->index.slots || host_bytes == 0 || host_bytes > VENDOR_MAX_HOST_BYTES)
		return false;
	if (!target)
		target = "";

	/* Every suffix that starts at a label, shortest first. */
	for (size_t i = host_bytes; i > 0; i--) {
		hash = hash_step(hash, host[i - 1]);
		if ((i == 1 || host[i - 2] == '.') && suffix_count <= MAX_HOST_LABELS) {
			suffix_starts[suffix_count] = i - 1;
			suffix_hashes[suffix_count++] = hash;
		}
	}

	while (suffix_count > 0) {
		size_t start = suffix_starts[--suffix_count];
		const struct vendor_slot *slot = index_find(&table->index, host + start, host_bytes - start,
							    suffix_hashes[suffix_count]);

		for (size_t i = 0; slot && i < slot->count; i++) {
			const struct vendor_rule *rule = table->index.sorted[slot->first + i];

			if (rule_covers_target(rule, target)) {
				match->entry = &rule->record->entry;
				match->rule = rule->label;
				return true;
			}
		}
	}
	return false;
}

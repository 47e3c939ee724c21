/*
 * The domain= option: storing a filter's list, and deciding whether the
 * page's host is in it. The longest listed domain that the host equals or
 * is a subdomain of decides, so "domain=a.com|~b.a.com" applies on a.com
 * and x.a.com but not on b.a.com or x.b.a.com. When no entry covers the
 * host, the filter applies only if its list has no entry without "~".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "internal.h"

static int compare_entries(const void *a, const void *b)
{
	const struct domain_entry *left = a;
	const struct domain_entry *right = b;

	return (left->hash > right->hash) - (left->hash < right->hash);
}

static int store_entry(struct filter_engine *engine, const struct stored_line *line, const char *name,
		       size_t length, struct filter *filter)
{
	struct domain_entry *entry = &engine->domains[engine->domain_count];
	int rc;

	memset(entry, 0, sizeof(*entry));
	if (length > 0 && name[0] == '~') {
		entry->excluded = 1;
		name++;
		length--;
	}
	if (length >= 2 && name[length - 2] == '.' && name[length - 1] == '*') {
		entry->entity = 1;
		length -= 2;
		filter->flags |= FILTER_HAS_ENTITY;
	}
	if (length == 0)
		return 0;

	rc = arena_reference(engine, line, name, length, true, &entry->name);
	if (rc < 0)
		return rc;
	entry->length = (uint16_t)length;
	entry->hash = hash_final(domain_hash(name, length));
	if (!entry->excluded)
		filter->flags |= FILTER_INCLUDES_DOMAINS;
	engine->domain_count++;
	filter->domain_count++;
	return 0;
}

int domains_store(struct filter_engine *engine, const struct stored_line *line, const char *list,
		  size_t length, struct filter *filter)
{
	size_t entries = 1;
	int rc;

	for (size_t i = 0; i < length; i++)
		entries += list[i] == '|';
	if (entries > UINT16_MAX)
		return -EINVAL;
	rc = domains_reserve(engine, entries);
	if (rc < 0)
		return rc;

	filter->domains = (uint32_t)engine->domain_count;
	filter->domain_count = 0;
	for (size_t start = 0; start <= length;) {
		const char *bar = memchr(list + start, '|', length - start);
		size_t end = bar ? (size_t)(bar - list) : length;

		rc = store_entry(engine, line, list + start, end - start, filter);
		if (rc < 0)
			return rc;
		start = end + 1;
	}
	qsort(engine->domains + filter->domains, filter->domain_count, sizeof(struct domain_entry),
	      compare_entries);
	if (filter->domain_count)
		filter->flags |= FILTER_HAS_DOMAINS;
	return 0;
}

void source_view_init(struct source_view *source, const char *host)
{
	size_t length = host ? strlen(host) : 0;

	source->length = 0;
	source->suffix_count = 0;
	source->ready = false;
	source->host = host;
	if (length > 0 && host[length - 1] == '.')
		length--;
	if (length >= sizeof(source->lower))
		return;
	source->length = length;
}

/* Lowercases the host and hashes each of its suffixes that starts a label,
 * "com", "b.com", "a.b.com". Done once per request that needs it. */
void source_view_prepare(struct source_view *source)
{
	if (source->ready)
		return;
	source->ready = true;
	for (size_t i = 0; i < source->length; i++)
		source->lower[i] = (char)lower_ascii((unsigned char)source->host[i]);
	source->lower[source->length] = '\0';
	source->suffix_count = padded_suffix_hashes(source->lower, source->length, source->suffix_hash,
						    source->suffix_start, SOURCE_SUFFIXES_MAX);
}

static const struct domain_entry *find_exact(const struct filter_engine *engine,
					     const struct domain_entry *entries, size_t count, uint32_t hash,
					     const char *name, size_t length)
{
	size_t low = 0;
	size_t high = count;

	while (low < high) {
		size_t middle = low + (high - low) / 2;

		if (entries[middle].hash < hash)
			low = middle + 1;
		else
			high = middle;
	}
	for (; low < count && entries[low].hash == hash; low++) {
		const struct domain_entry *entry = &entries[low];

		if (!entry->entity && entry->length == length &&
		    memcmp(engine->arena + entry->name, name, length) == 0)
			return entry;
	}
	return NULL;
}

/* "name.*" covers name followed by a public suffix: "google.*" covers
 * google.com and google.co.uk. The suffix test uses the list built into
 * libpsl; without one, any ending is accepted. */
static const struct domain_entry *find_entity(const struct filter_engine *engine,
					      const struct domain_entry *entries, size_t count,
					      const char *name, size_t length)
{
	const psl_ctx_t *suffixes = psl_builtin();

	for (size_t i = 0; i < count; i++) {
		const struct domain_entry *entry = &entries[i];

		if (!entry->entity || (size_t)entry->length + 1 >= length || name[entry->length] != '.' ||
		    memcmp(engine->arena + entry->name, name, entry->length) != 0)
			continue;
		if (!suffixes || psl_is_public_suffix(suffixes, name + entry->length + 1))
			return entry;
	}
	return NULL;
}

bool domains_allow(const struct filter_engine *engine, const struct filter *filter,
		   struct source_view *source)
{
	const struct domain_entry *entries = engine->domains + filter->domains;
	bool default_allows = (filter->flags & FILTER_INCLUDES_DOMAINS) == 0;

	if (source->length == 0)
		return default_allows;
	source_view_prepare(source);

	/* The longest suffix comes first, so the most specific entry decides. */
	for (size_t i = source->suffix_count; i-- > 0;) {
		const char *suffix = source->lower + source->suffix_start[i];
		size_t length = source->length - source->suffix_start[i];
		const struct domain_entry *entry;

		entry = find_exact(engine, entries, filter->domain_count, source->suffix_hash[i], suffix,
				   length);
		if (!entry && (filter->flags & FILTER_HAS_ENTITY))
			entry = find_entity(engine, entries, filter->domain_count, suffix, length);
		if (entry)
			return !entry->excluded;
	}
	return default_allows;
}

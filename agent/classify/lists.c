/*
 * Filter lists for the long tail of trackers that the vendor table does not
 * name. Each list gets its own filter engine, so that a verdict names the
 * list as well as the filter ("easyprivacy.txt: ||example-stats.com^"), and
 * the list decides the category: EasyList is written against advertising,
 * EasyPrivacy against tracking.
 *
 * By default the lists are the ones Debian 12 ships with uBlock Origin
 * (package webext-ublock-origin-firefox 1.67). When they are missing, the
 * classifier runs without them and logs one warning per list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../common/log.h"
#include "../filters/filters.h"
#include "classify.h"

#define UBLOCK_LISTS "/usr/share/mozilla/extensions/{ec8030f7-c20a-464f-9b0e-13a3a9e97384}/" \
		     "uBlock0@raymondhill.net/assets/thirdparties/easylist/"

const char *const filter_list_defaults[] = {
	UBLOCK_LISTS "easyprivacy.txt",
	UBLOCK_LISTS "easylist.txt",
	NULL,
};

struct filter_list_entry {
	struct filter_engine *engine;
	char *name;           /* file base name, for matched_by */
	const char *category; /* "tracking" or "advertising" */
};

struct filter_lists {
	struct filter_list_entry *items;
	size_t count;
};

static const char *list_category(const char *name)
{
	return strncasecmp(name, "easylist", 8) == 0 ? "advertising" : "tracking";
}

static int add_list(struct filter_lists *lists, const char *path)
{
	struct filter_list_entry *entry = &lists->items[lists->count];
	const char *slash = strrchr(path, '/');
	struct filter_stats stats;
	int error;

	error = filter_engine_new(&entry->engine);
	if (error)
		return error;
	/* The engine logs why a file could not be read. */
	error = filter_engine_load_file(entry->engine, path);
	if (error) {
		filter_engine_free(entry->engine);
		return error;
	}
	entry->name = strdup(slash ? slash + 1 : path);
	if (!entry->name) {
		filter_engine_free(entry->engine);
		return -ENOMEM;
	}
	entry->category = list_category(entry->name);
	filter_engine_stats(entry->engine, &stats);
	log_debug("filter list %s: %zu filters, %zu unsupported, %zu invalid", path, stats.loaded,
		  stats.unsupported, stats.invalid);
	lists->count++;
	return 0;
}

int filter_lists_load(struct filter_lists **out, const char *const *paths, size_t count)
{
	struct filter_lists *lists = calloc(1, sizeof(*lists));
	bool defaults = paths == NULL;
	int error = 0;

	*out = NULL;
	if (defaults) {
		paths = filter_list_defaults;
		count = 2;
	}
	if (!lists || !(lists->items = calloc(count + 1, sizeof(*lists->items)))) {
		free(lists);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !error; i++) {
		if (defaults && access(paths[i], R_OK) != 0) {
			log_warn("filter list %s not found: only the vendor table labels trackers (install "
				 "webext-ublock-origin-firefox, or give --filter-list)", paths[i]);
			continue;
		}
		error = add_list(lists, paths[i]);
	}
	if (error) {
		filter_lists_free(lists);
		return error;
	}
	*out = lists;
	return 0;
}

void filter_lists_free(struct filter_lists *lists)
{
	if (!lists)
		return;
	for (size_t i = 0; i < lists->count; i++) {
		filter_engine_free(lists->items[i].engine);
		free(lists->items[i].name);
	}
	free(lists->items);
	free(lists);
}

bool filter_lists_match(const struct filter_lists *lists, const struct filter_request *request,
			struct filter_list_verdict *verdict)
{
	for (size_t i = 0; lists && i < lists->count; i++) {
		struct filter_decision decision;

		if (!filter_engine_match(lists->items[i].engine, request, &decision))
			continue;
		snprintf(verdict->matched_by, sizeof(verdict->matched_by), "%s: %s", lists->items[i].name,
			 decision.filter);
		verdict->category = lists->items[i].category;
		return true;
	}
	return false;
}

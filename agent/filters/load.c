/*
 * Loading a filter list file, line by line, with one summary message per
 * file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "internal.h"

static void log_summary(const char *path, const struct filter_stats *before, const struct filter_stats *after,
			unsigned warned)
{
	size_t invalid = after->invalid - before->invalid;

	log_info("%s: %zu network filters loaded (%zu exceptions), %zu cosmetic rules and %zu comments "
		 "skipped, "
		 "%zu filters dropped for options not implemented, %zu invalid",
		 path, after->loaded - before->loaded, after->exceptions - before->exceptions,
		 after->cosmetic_skipped - before->cosmetic_skipped, after->comments - before->comments,
		 after->unsupported - before->unsupported, invalid);
	if (invalid > warned)
		log_warn("%s: %zu invalid filters in all, only the first %u are logged", path, invalid,
			 warned);
}

int filter_engine_load_file(struct filter_engine *engine, const char *path)
{
	struct filter_stats before = engine->stats;
	size_t line_number = 0;
	size_t capacity = 0;
	char *line = NULL;
	char origin[4096];
	ssize_t length;
	FILE *file;
	int rc = 0;

	file = fopen(path, "r");
	if (!file) {
		rc = -errno;
		log_error("cannot open filter list %s: %s", path, strerror(errno));
		return rc;
	}

	engine->warnings_left = WARNINGS_PER_SOURCE;
	while ((length = getline(&line, &capacity, file)) >= 0) {
		line_number++;
		snprintf(origin, sizeof(origin), "%s:%zu", path, line_number);
		rc = filter_engine_add(engine, line, (size_t)length, origin);
		if (rc == -ENOMEM) {
			log_error("%s: out of memory at line %zu", path, line_number);
			goto cleanup;
		}
	}
	rc = 0;
	if (ferror(file)) {
		rc = errno == EISDIR ? -EISDIR : -EIO;
		log_error("cannot read filter list %s after line %zu: %s", path, line_number, strerror(-rc));
		goto cleanup;
	}

	log_summary(path, &before, &engine->stats, WARNINGS_PER_SOURCE - engine->warnings_left);
	rc = filter_engine_build_index(engine);
	if (rc < 0)
		log_warn(
			"%s: out of memory building the filter index; filters added since the last index are "
			"tried one by one",
			path);

cleanup:
	engine->warnings_left = WARNINGS_PER_SOURCE;
	free(line);
	fclose(file);
	return rc;
}

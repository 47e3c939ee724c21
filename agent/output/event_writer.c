/*
 * Writing events as JSON Lines to stdout or to a file. Each event is flushed
 * as soon as it is written, so that a reader following the file (or a pipe)
 * gets it at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../common/log.h"
#include "output.h"

struct event_writer {
	FILE *file;
	bool owns_file;
	char *host_name;
	uint64_t sequence; /* of the last event formatted, written or not */
	uint64_t written;
};

struct event_writer *event_writer_open(const struct event_writer_options *options, int *error)
{
	struct event_writer *writer = calloc(1, sizeof(*writer));

	*error = -ENOMEM;
	if (!writer)
		return NULL;
	writer->host_name = strdup(options->host_name ? options->host_name : "");
	if (!writer->host_name)
		goto fail;

	if (options->path) {
		/* 0600: events hold URLs and query strings, as private as the
		 * capture archive. */
		int fd = open(options->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		/* An existing file keeps its mode, unless it is to receive
		 * personal data as captured. */
		if (fd >= 0 && options->keep_values && fchmod(fd, 0600) != 0)
			log_warn("cannot make events file %s private (mode 0600): %s", options->path, strerror(errno));
		writer->file = fd >= 0 ? fdopen(fd, "a") : NULL;
		if (fd >= 0 && !writer->file)
			close(fd);
		if (!writer->file) {
			*error = -errno;
			log_error("cannot open events file %s: %s", options->path, strerror(errno));
			goto fail;
		}
		writer->owns_file = true;
	} else {
		writer->file = stdout;
		if (options->keep_values)
			log_warn("--keep-values prints personal data as captured to standard output; prefer -o FILE, "
				 "which is created with mode 0600");
	}
	*error = 0;
	return writer;

fail:
	free(writer->host_name);
	free(writer);
	return NULL;
}

/* Writes one formatted event line and frees the text. */
static int write_line(struct event_writer *writer, char *text)
{
	int error = 0;

	if (!text)
		return -ENOMEM;
	if (fputs(text, writer->file) == EOF || fputc('\n', writer->file) == EOF || fflush(writer->file))
		error = -errno;
	else
		writer->written++;
	cJSON_free(text);
	return error;
}

/* A failed write still uses up its sequence number, so that a collector can
 * tell that an event is missing. */
int event_writer_write(struct event_writer *writer, const struct http_exchange *exchange,
		       const struct event_annotations *annotations)
{
	writer->sequence++;
	return write_line(writer, event_format(exchange, writer->host_name, writer->sequence, annotations));
}

int event_writer_write_quic(struct event_writer *writer, const struct quic_notice *notice)
{
	writer->sequence++;
	return write_line(writer, event_format_quic(notice, writer->host_name, writer->sequence));
}

uint64_t event_writer_count(const struct event_writer *writer)
{
	return writer->written;
}

int event_writer_close(struct event_writer *writer)
{
	int error = 0;

	if (!writer)
		return 0;
	if (writer->owns_file && fclose(writer->file))
		error = -errno;
	else if (!writer->owns_file && fflush(writer->file))
		error = -errno;
	free(writer->host_name);
	free(writer);
	return error;
}

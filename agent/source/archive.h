/*
 * Capture archives: every tls_chunk of a capture run with its metadata, in
 * zlib-compressed blocks, so that `plainsight replay` can run the same
 * pipeline over it later without root or BPF. The format is described in
 * docs/ARCHIVE.md.
 */
#ifndef PLAINSIGHT_ARCHIVE_H
#define PLAINSIGHT_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/tls_chunk.h"

#define ARCHIVE_TEXT_BYTES 256

/* The archive's record of the run that wrote it. */
struct archive_info {
	char host_name[ARCHIVE_TEXT_BYTES];
	char agent_version[ARCHIVE_TEXT_BYTES];
	uint64_t start_time_ns; /* CLOCK_REALTIME */
};

/* How far a reader got. */
struct archive_status {
	uint64_t chunks;        /* chunks passed to the sink */
	uint64_t blocks;        /* blocks read whole */
	uint64_t stopped_at;    /* file offset where reading stopped */
	bool complete;          /* reached the end record */
	char error[256];        /* why reading stopped early, empty if complete */
};

struct archive_writer;

/* Creates (or truncates) the archive at path and writes its header.
 * Returns NULL with *error set to a negative errno on failure. */
struct archive_writer *archive_writer_open(const char *path, const struct archive_info *info, int *error);

/* Adds one chunk to the current block; a full block is compressed and
 * written. Returns 0 or a negative errno. */
int archive_writer_append(struct archive_writer *writer, const struct tls_chunk *chunk);

/* Compresses and writes the current block, even if small, so that a crash
 * loses nothing written before. Returns 0 or a negative errno. */
int archive_writer_flush(struct archive_writer *writer);

/* Flushes, writes the end record, closes the file and frees the writer.
 * NULL is accepted. Returns 0 or a negative errno. */
int archive_writer_close(struct archive_writer *writer);

/* Reads the archive at path and passes every chunk to the sink in order.
 * info is filled from the header. Returns 0 when the archive was read to its
 * end record, or a negative errno when it stopped early; status gives where
 * and why, and every chunk before that point has reached the sink. */
int archive_read(const char *path, struct tls_chunk_sink *sink, struct archive_info *info,
		 struct archive_status *status);

/* Reads only the file header into info. Returns 0 or a negative errno, with
 * status.error saying why. */
int archive_read_info(const char *path, struct archive_info *info, struct archive_status *status);

#endif

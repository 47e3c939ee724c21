/*
 * Capture archive writer and reader. The format is specified in
 * docs/ARCHIVE.md: a file header, then zlib-compressed blocks of
 * little-endian records, the last of which is an end record.
 *
 * Errors of the reader: -EIO when the file ends early (including a missing end
 * record), -EBADMSG when its contents are invalid, the errno of open() or
 * read() when those fail, -ENOMEM, and whatever a sink returns.
 */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define ARCHIVE_MAGIC "PSARCHIV"
#define ARCHIVE_MAGIC_BYTES 8
#define ARCHIVE_VERSION 1
/* Maximum length of a string in the file header, which leaves room for the
 * NUL in struct archive_info. */
#define ARCHIVE_HEADER_TEXT_MAX_BYTES (ARCHIVE_TEXT_BYTES - 1)
#define ARCHIVE_HEADER_MAX_BYTES \
	(ARCHIVE_MAGIC_BYTES + 4 + 8 + 2 * (2 + ARCHIVE_HEADER_TEXT_MAX_BYTES) + 4)

#define ARCHIVE_BLOCK_MAGIC 0x4b425350u /* the bytes "PSBK" read as a little-endian u32 */
#define ARCHIVE_BLOCK_HEADER_BYTES 16
/* A block is written once its records would pass this size, so that a reader
 * holds little memory and a damaged block loses little. */
#define ARCHIVE_BLOCK_TARGET_BYTES (256u << 10)
/* Largest record, header included. A block holds whole records only, so one
 * large record makes a block larger than the target, up to this size. */
#define ARCHIVE_RECORD_MAX_BYTES (1u << 20)
#define ARCHIVE_BLOCK_MAX_BYTES ARCHIVE_RECORD_MAX_BYTES
/* At least compressBound(ARCHIVE_BLOCK_MAX_BYTES), which is 1048909 in zlib
 * 1.2.13, rounded up to a number that a reader in another language can use
 * without zlib's formula. */
#define ARCHIVE_COMPRESSED_MAX_BYTES (ARCHIVE_BLOCK_MAX_BYTES + 1024)

#define ARCHIVE_RECORD_HEADER_BYTES 8
/* time_ns, pid, tid, conn_id: the start of every chunk record */
#define ARCHIVE_COMMON_BYTES 24
#define ARCHIVE_DATA_FIXED_BYTES (ARCHIVE_COMMON_BYTES + 1 + 1 + 8)
#define ARCHIVE_ENDPOINT_BYTES 20
#define ARCHIVE_CONNECTION_BYTES (ARCHIVE_COMMON_BYTES + 2 * ARCHIVE_ENDPOINT_BYTES)
#define ARCHIVE_CLOSE_BYTES (ARCHIVE_COMMON_BYTES + 8 + 8)
#define ARCHIVE_END_BYTES 16
/* Maximum executable path length, without its NUL. Linux's PATH_MAX, 4096,
 * counts the NUL, so every path the kernel returns fits. */
#define ARCHIVE_PATH_MAX_BYTES 4096

/* zlib's default level. NOTE: no measurement of capture throughput backs this
 * choice. Level 1 compresses faster if writing blocks ever falls behind. */
#define ARCHIVE_COMPRESSION_LEVEL 6

/* Record types in the file. The chunk types share their numbers but are
 * mapped one by one, so that renumbering the enum cannot change the format. */
enum archive_record_type {
	ARCHIVE_RECORD_DATA = 1,
	ARCHIVE_RECORD_CONNECTION = 2,
	ARCHIVE_RECORD_CLOSE = 3,
	ARCHIVE_RECORD_PROCESS = 4,
	ARCHIVE_RECORD_EXIT = 5,
	ARCHIVE_RECORD_TICK = 6,
	ARCHIVE_RECORD_THREAD = 7,
	ARCHIVE_RECORD_QUIC = 8,
	ARCHIVE_RECORD_END = 255,
};

/* Address family numbers in the file: Linux's AF_INET and AF_INET6. */
#define ARCHIVE_FAMILY_UNKNOWN 0
#define ARCHIVE_FAMILY_INET 2
#define ARCHIVE_FAMILY_INET6 10

_Static_assert(AF_INET == ARCHIVE_FAMILY_INET, "AF_INET must match the archive family number");
_Static_assert(AF_INET6 == ARCHIVE_FAMILY_INET6, "AF_INET6 must match the archive family number");
_Static_assert(ARCHIVE_HEADER_MAX_BYTES == 538, "docs/ARCHIVE.md gives 538 bytes as the largest file header");

/* Little-endian encoding, byte by byte, so that the format does not depend on
 * the host's byte order or struct layout. */

static uint8_t *put_u8(uint8_t *out, uint8_t value)
{
	out[0] = value;
	return out + 1;
}

static uint8_t *put_u16(uint8_t *out, uint16_t value)
{
	out[0] = (uint8_t)value;
	out[1] = (uint8_t)(value >> 8);
	return out + 2;
}

static uint8_t *put_u32(uint8_t *out, uint32_t value)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(value >> (8 * i));
	return out + 4;
}

static uint8_t *put_u64(uint8_t *out, uint64_t value)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(value >> (8 * i));
	return out + 8;
}

static uint8_t *put_bytes(uint8_t *out, const void *bytes, size_t length)
{
	if (length > 0)
		memcpy(out, bytes, length);
	return out + length;
}

static uint16_t get_u16(const uint8_t *in)
{
	return (uint16_t)(in[0] | (in[1] << 8));
}

static uint32_t get_u32(const uint8_t *in)
{
	uint32_t value = 0;

	for (int i = 3; i >= 0; i--)
		value = (value << 8) | in[i];
	return value;
}

static uint64_t get_u64(const uint8_t *in)
{
	uint64_t value = 0;

	for (int i = 7; i >= 0; i--)
		value = (value << 8) | in[i];
	return value;
}

static uint32_t checksum(const uint8_t *bytes, size_t length)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), bytes, (uInt)length);
}

/* Writes all bytes, retrying after signals and short writes. */
static int write_all(int fd, const uint8_t *bytes, size_t length)
{
	while (length > 0) {
		ssize_t written = write(fd, bytes, length);

		if (written < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		bytes += written;
		length -= (size_t)written;
	}
	return 0;
}

/* Reads up to length bytes and stops early only at the end of the file.
 * Returns the number of bytes read or a negative errno. */
static ssize_t read_full(int fd, uint8_t *bytes, size_t length)
{
	size_t total = 0;

	while (total < length) {
		ssize_t count = read(fd, bytes + total, length - total);

		if (count < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (count == 0)
			break;
		total += (size_t)count;
	}
	return (ssize_t)total;
}

/* ---- writer ---- */

struct archive_writer {
	int fd;
	int error; /* errno of the first failed write, returned by every later call */
	z_stream deflater;
	bool deflater_ready;
	uint8_t *block; /* uncompressed records of the current block */
	size_t block_bytes;
	uint8_t *output; /* block header, then the compressed block */
	size_t output_capacity;
	uint64_t chunks; /* chunk records written, for the end record */
	uint64_t blocks; /* blocks written */
};

static void free_writer(struct archive_writer *writer)
{
	if (writer->fd >= 0)
		close(writer->fd);
	if (writer->deflater_ready)
		deflateEnd(&writer->deflater);
	free(writer->block);
	free(writer->output);
	free(writer);
}

/* Encodes the file header into out. Returns its length or a negative errno. */
static int encode_file_header(const struct archive_info *info, uint8_t *out)
{
	size_t host_bytes = strnlen(info->host_name, ARCHIVE_TEXT_BYTES);
	size_t version_bytes = strnlen(info->agent_version, ARCHIVE_TEXT_BYTES);
	uint8_t *end = out;

	/* Both strings must be NUL-terminated within their arrays. */
	if (host_bytes > ARCHIVE_HEADER_TEXT_MAX_BYTES || version_bytes > ARCHIVE_HEADER_TEXT_MAX_BYTES)
		return -EINVAL;

	end = put_bytes(end, ARCHIVE_MAGIC, ARCHIVE_MAGIC_BYTES);
	end = put_u32(end, ARCHIVE_VERSION);
	end = put_u64(end, info->start_time_ns);
	end = put_u16(end, (uint16_t)host_bytes);
	end = put_bytes(end, info->host_name, host_bytes);
	end = put_u16(end, (uint16_t)version_bytes);
	end = put_bytes(end, info->agent_version, version_bytes);
	end = put_u32(end, checksum(out, (size_t)(end - out)));

	return (int)(end - out);
}

struct archive_writer *archive_writer_open(const char *path, const struct archive_info *info, int *error)
{
	uint8_t header[ARCHIVE_HEADER_MAX_BYTES];
	struct archive_writer *writer = NULL;
	int header_bytes;
	int unused_error;
	int err;

	if (!error)
		error = &unused_error;
	if (!path || !info) {
		err = -EINVAL;
		goto fail;
	}

	header_bytes = encode_file_header(info, header);
	if (header_bytes < 0) {
		err = header_bytes;
		goto fail;
	}

	writer = calloc(1, sizeof(*writer));
	if (!writer) {
		err = -ENOMEM;
		goto fail;
	}
	writer->fd = -1;

	if (deflateInit(&writer->deflater, ARCHIVE_COMPRESSION_LEVEL) != Z_OK) {
		err = -ENOMEM;
		goto fail;
	}
	writer->deflater_ready = true;

	writer->block = malloc(ARCHIVE_BLOCK_MAX_BYTES);
	writer->output_capacity = ARCHIVE_BLOCK_HEADER_BYTES + deflateBound(&writer->deflater, ARCHIVE_BLOCK_MAX_BYTES);
	writer->output = malloc(writer->output_capacity);
	if (!writer->block || !writer->output) {
		err = -ENOMEM;
		goto fail;
	}

	/* 0600 because an archive contains decrypted traffic: cookies, tokens,
	 * form data. */
	writer->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (writer->fd < 0) {
		err = -errno;
		goto fail;
	}

	err = write_all(writer->fd, header, (size_t)header_bytes);
	if (err)
		goto fail;

	*error = 0;
	return writer;

fail:
	if (writer)
		free_writer(writer);
	*error = err;
	return NULL;
}

/* Compresses the current block and writes it with its header. An empty block
 * is not written. */
static int write_block(struct archive_writer *writer)
{
	z_stream *deflater = &writer->deflater;
	uint8_t *header = writer->output;
	size_t compressed_bytes;
	int err;

	if (writer->block_bytes == 0)
		return 0;

	deflateReset(deflater);
	deflater->next_in = writer->block;
	deflater->avail_in = (uInt)writer->block_bytes;
	deflater->next_out = writer->output + ARCHIVE_BLOCK_HEADER_BYTES;
	deflater->avail_out = (uInt)(writer->output_capacity - ARCHIVE_BLOCK_HEADER_BYTES);

	/* The output buffer has deflateBound() bytes, so one call finishes. */
	if (deflate(deflater, Z_FINISH) != Z_STREAM_END) {
		writer->error = -EIO;
		return writer->error;
	}
	compressed_bytes = deflater->total_out;
	if (compressed_bytes > ARCHIVE_COMPRESSED_MAX_BYTES) {
		writer->error = -EMSGSIZE;
		return writer->error;
	}

	header = put_u32(header, ARCHIVE_BLOCK_MAGIC);
	header = put_u32(header, (uint32_t)compressed_bytes);
	header = put_u32(header, (uint32_t)writer->block_bytes);
	put_u32(header, checksum(writer->block, writer->block_bytes));

	err = write_all(writer->fd, writer->output, ARCHIVE_BLOCK_HEADER_BYTES + compressed_bytes);
	if (err) {
		writer->error = err;
		return err;
	}

	writer->blocks++;
	writer->block_bytes = 0;
	return 0;
}

static bool is_known_family(uint16_t family)
{
	return family == ARCHIVE_FAMILY_UNKNOWN || family == ARCHIVE_FAMILY_INET ||
	       family == ARCHIVE_FAMILY_INET6;
}

/* Returns the string of a process or thread chunk: the executable path or
 * the thread name. */
static const char *chunk_name(const struct tls_chunk *chunk)
{
	return chunk->type == TLS_CHUNK_THREAD ? chunk->thread_name : chunk->executable_path;
}

/* Checks a chunk and computes the size of its record, header included.
 * Returns 0 or a negative errno. */
static int measure_record(const struct tls_chunk *chunk, size_t *record_bytes)
{
	uint64_t payload_bytes;

	switch (chunk->type) {
	case TLS_CHUNK_DATA:
		if (chunk->direction != TLS_EGRESS && chunk->direction != TLS_INGRESS)
			return -EINVAL;
		if ((unsigned int)chunk->library > UINT8_MAX)
			return -EINVAL;
		if (chunk->data_bytes > 0 && !chunk->data)
			return -EINVAL;
		payload_bytes = ARCHIVE_DATA_FIXED_BYTES + (uint64_t)chunk->data_bytes;
		break;
	case TLS_CHUNK_CONNECTION:
	case TLS_CHUNK_QUIC:
		if (!is_known_family(chunk->local.family) || !is_known_family(chunk->peer.family))
			return -EINVAL;
		payload_bytes = ARCHIVE_CONNECTION_BYTES;
		break;
	case TLS_CHUNK_CLOSE:
		payload_bytes = ARCHIVE_CLOSE_BYTES;
		break;
	case TLS_CHUNK_PROCESS:
	case TLS_CHUNK_THREAD: {
		const char *name = chunk_name(chunk);
		size_t path_bytes = 0;

		if (name)
			path_bytes = strnlen(name, ARCHIVE_PATH_MAX_BYTES + 1);
		if (path_bytes > ARCHIVE_PATH_MAX_BYTES)
			return -ENAMETOOLONG;
		payload_bytes = ARCHIVE_COMMON_BYTES + path_bytes;
		break;
	}
	case TLS_CHUNK_EXIT:
	case TLS_CHUNK_TICK:
		payload_bytes = ARCHIVE_COMMON_BYTES;
		break;
	default:
		return -EINVAL;
	}

	if (ARCHIVE_RECORD_HEADER_BYTES + payload_bytes > ARCHIVE_RECORD_MAX_BYTES)
		return -EMSGSIZE;
	*record_bytes = ARCHIVE_RECORD_HEADER_BYTES + (size_t)payload_bytes;
	return 0;
}

static enum archive_record_type record_type_of(enum tls_chunk_type type)
{
	switch (type) {
	case TLS_CHUNK_DATA:
		return ARCHIVE_RECORD_DATA;
	case TLS_CHUNK_CONNECTION:
		return ARCHIVE_RECORD_CONNECTION;
	case TLS_CHUNK_CLOSE:
		return ARCHIVE_RECORD_CLOSE;
	case TLS_CHUNK_PROCESS:
		return ARCHIVE_RECORD_PROCESS;
	case TLS_CHUNK_EXIT:
		return ARCHIVE_RECORD_EXIT;
	case TLS_CHUNK_TICK:
		return ARCHIVE_RECORD_TICK;
	case TLS_CHUNK_THREAD:
		return ARCHIVE_RECORD_THREAD;
	case TLS_CHUNK_QUIC:
		return ARCHIVE_RECORD_QUIC;
	}
	return 0; /* not reached: measure_record rejected other types */
}

static uint8_t *put_endpoint(uint8_t *out, const struct tls_endpoint *endpoint)
{
	out = put_u16(out, endpoint->family);
	out = put_u16(out, endpoint->port);
	return put_bytes(out, endpoint->address, sizeof(endpoint->address));
}

/* Encodes a chunk that measure_record accepted into exactly record_bytes. */
static void encode_record(const struct tls_chunk *chunk, size_t record_bytes, uint8_t *out)
{
	out = put_u32(out, record_type_of(chunk->type));
	out = put_u32(out, (uint32_t)(record_bytes - ARCHIVE_RECORD_HEADER_BYTES));

	out = put_u64(out, chunk->time_ns);
	out = put_u32(out, chunk->pid);
	out = put_u32(out, chunk->tid);
	out = put_u64(out, chunk->conn_id);

	switch (chunk->type) {
	case TLS_CHUNK_DATA:
		out = put_u8(out, (uint8_t)chunk->direction);
		out = put_u8(out, (uint8_t)chunk->library);
		out = put_u64(out, chunk->stream_offset);
		put_bytes(out, chunk->data, chunk->data_bytes);
		break;
	case TLS_CHUNK_CONNECTION:
	case TLS_CHUNK_QUIC:
		out = put_endpoint(out, &chunk->local);
		put_endpoint(out, &chunk->peer);
		break;
	case TLS_CHUNK_CLOSE:
		out = put_u64(out, chunk->egress_bytes);
		put_u64(out, chunk->ingress_bytes);
		break;
	case TLS_CHUNK_PROCESS:
	case TLS_CHUNK_THREAD:
		put_bytes(out, chunk_name(chunk), record_bytes - ARCHIVE_RECORD_HEADER_BYTES - ARCHIVE_COMMON_BYTES);
		break;
	case TLS_CHUNK_EXIT:
	case TLS_CHUNK_TICK:
		break;
	}
}

/* Makes room for a record of record_bytes in the current block, writing the
 * block first if the record would take it past the target size. */
static int reserve_record(struct archive_writer *writer, size_t record_bytes)
{
	if (writer->block_bytes == 0)
		return 0;
	if (writer->block_bytes + record_bytes <= ARCHIVE_BLOCK_TARGET_BYTES)
		return 0;
	return write_block(writer);
}

int archive_writer_append(struct archive_writer *writer, const struct tls_chunk *chunk)
{
	size_t record_bytes;
	int err;

	if (!writer || !chunk)
		return -EINVAL;
	if (writer->error)
		return writer->error;

	/* A rejected chunk leaves the archive as it was, so the caller may go on. */
	err = measure_record(chunk, &record_bytes);
	if (err)
		return err;

	err = reserve_record(writer, record_bytes);
	if (err)
		return err;

	encode_record(chunk, record_bytes, writer->block + writer->block_bytes);
	writer->block_bytes += record_bytes;
	writer->chunks++;
	return 0;
}

int archive_writer_flush(struct archive_writer *writer)
{
	if (!writer)
		return -EINVAL;
	if (writer->error)
		return writer->error;
	return write_block(writer);
}

/* Appends the end record, which counts every chunk record and every block,
 * the block that contains the end record included. */
static int append_end_record(struct archive_writer *writer)
{
	size_t record_bytes = ARCHIVE_RECORD_HEADER_BYTES + ARCHIVE_END_BYTES;
	uint8_t *out;
	int err;

	err = reserve_record(writer, record_bytes);
	if (err)
		return err;

	out = writer->block + writer->block_bytes;
	out = put_u32(out, ARCHIVE_RECORD_END);
	out = put_u32(out, ARCHIVE_END_BYTES);
	out = put_u64(out, writer->chunks);
	put_u64(out, writer->blocks + 1);
	writer->block_bytes += record_bytes;
	return 0;
}

int archive_writer_close(struct archive_writer *writer)
{
	int err;

	if (!writer)
		return 0;

	/* After a failed write the file is cut mid-block. An end record after it
	 * would be unreachable, so the archive is left without one. */
	err = writer->error;
	if (!err)
		err = append_end_record(writer);
	if (!err)
		err = write_block(writer);

	/* fsync(2) fails with EINVAL on a pipe, FIFO or socket, which has
	 * nothing to sync. */
	if (!err && fsync(writer->fd) != 0 && errno != EINVAL)
		err = -errno;
	if (close(writer->fd) != 0 && !err)
		err = -errno;
	writer->fd = -1;

	free_writer(writer);
	return err;
}

/* ---- reader ---- */

struct archive_reader {
	int fd;
	uint64_t offset;       /* bytes of the file read so far */
	uint64_t block_start;  /* file offset of the current block's header */
	uint64_t block_number; /* the current block, counted from 1 as in messages */
	struct archive_status *status;
	struct tls_chunk_sink *sink;
	z_stream inflater;
	bool inflater_ready;
	uint8_t *compressed;
	uint8_t *block;
	uint32_t block_bytes;
	bool end_seen;
	char path[ARCHIVE_PATH_MAX_BYTES + 1]; /* the executable path of a process chunk, NUL-terminated */
};

/* Stores the reason for stopping in status.error and returns err. */
__attribute__((format(printf, 3, 4))) static int fail(struct archive_reader *reader, int err, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(reader->status->error, sizeof(reader->status->error), format, args);
	va_end(args);
	return err;
}

/* Reads length bytes at the current offset. Returns the number read, which
 * is less than length only at the end of the file, or a negative errno with
 * status.error set. */
static ssize_t read_at_offset(struct archive_reader *reader, uint8_t *bytes, size_t length)
{
	ssize_t count = read_full(reader->fd, bytes, length);

	if (count < 0)
		return fail(reader, (int)count, "failed to read the archive at byte %" PRIu64 ": %s", reader->offset,
			    strerror((int)-count));
	reader->offset += (uint64_t)count;
	return count;
}

/* Reads one field of the file header into header + *length. */
static int read_header_field(struct archive_reader *reader, uint8_t *header, size_t *length, size_t field_bytes,
			     const char *field_name)
{
	ssize_t count = read_at_offset(reader, header + *length, field_bytes);

	if (count < 0)
		return (int)count;
	if (reader->offset == 0)
		return fail(reader, -EIO, "archive is empty: 0 bytes");
	if ((size_t)count < field_bytes)
		return fail(reader, -EIO,
			    "archive truncated at byte %" PRIu64 " in the file header: expected %zu bytes of %s, found %zd",
			    reader->offset, field_bytes, field_name, count);

	*length += field_bytes;
	return 0;
}

/* Reads a length-prefixed string of the file header into text, which has
 * ARCHIVE_TEXT_BYTES. */
static int read_header_text(struct archive_reader *reader, uint8_t *header, size_t *length, const char *field_name,
			    char *text)
{
	char length_name[64];
	uint64_t field_offset;
	uint16_t text_bytes;
	int err;

	snprintf(length_name, sizeof(length_name), "%s length", field_name);
	err = read_header_field(reader, header, length, 2, length_name);
	if (err)
		return err;
	text_bytes = get_u16(header + *length - 2);
	if (text_bytes > ARCHIVE_HEADER_TEXT_MAX_BYTES)
		return fail(reader, -EBADMSG, "invalid file header at byte %" PRIu64 ": %s has %u bytes, the limit is %d",
			    reader->offset - 2, field_name, text_bytes, ARCHIVE_HEADER_TEXT_MAX_BYTES);

	field_offset = reader->offset;
	err = read_header_field(reader, header, length, text_bytes, field_name);
	if (err)
		return err;
	if (memchr(header + *length - text_bytes, '\0', text_bytes))
		return fail(reader, -EBADMSG, "invalid file header at byte %" PRIu64 ": %s contains a NUL byte",
			    field_offset, field_name);

	memcpy(text, header + *length - text_bytes, text_bytes);
	text[text_bytes] = '\0';
	return 0;
}

static int read_file_header(struct archive_reader *reader, struct archive_info *info)
{
	uint8_t header[ARCHIVE_HEADER_MAX_BYTES];
	struct archive_info parsed = { 0 };
	uint32_t stored_checksum;
	uint32_t computed_checksum;
	uint32_t version;
	size_t length = 0;
	int err;

	err = read_header_field(reader, header, &length, ARCHIVE_MAGIC_BYTES, "magic");
	if (err)
		return err;
	if (memcmp(header, ARCHIVE_MAGIC, ARCHIVE_MAGIC_BYTES) != 0)
		return fail(reader, -EBADMSG,
			    "not a plainsight archive: bytes 0-7 are %02x %02x %02x %02x %02x %02x %02x %02x, "
			    "expected \"%s\"",
			    header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7],
			    ARCHIVE_MAGIC);

	err = read_header_field(reader, header, &length, 4, "version");
	if (err)
		return err;
	version = get_u32(header + length - 4);
	if (version != ARCHIVE_VERSION)
		return fail(reader, -EBADMSG, "unsupported archive version %" PRIu32 " at byte %d: this reader supports version %d",
			    version, ARCHIVE_MAGIC_BYTES, ARCHIVE_VERSION);

	err = read_header_field(reader, header, &length, 8, "start time");
	if (err)
		return err;
	parsed.start_time_ns = get_u64(header + length - 8);

	err = read_header_text(reader, header, &length, "host name", parsed.host_name);
	if (err)
		return err;
	err = read_header_text(reader, header, &length, "agent version", parsed.agent_version);
	if (err)
		return err;

	/* The checksum is not part of the header bytes it covers. */
	computed_checksum = checksum(header, length);
	err = read_header_field(reader, header, &length, 4, "header CRC32");
	if (err)
		return err;
	stored_checksum = get_u32(header + length - 4);
	if (stored_checksum != computed_checksum)
		return fail(reader, -EBADMSG,
			    "file header CRC32 mismatch at byte %" PRIu64 ": stored 0x%08" PRIx32 ", computed 0x%08" PRIx32,
			    reader->offset - 4, stored_checksum, computed_checksum);

	*info = parsed;
	return 0;
}

/* Inflates reader->compressed into reader->block, which must come out at
 * exactly uncompressed_bytes. The output buffer is that size, so a block
 * that inflates to more is stopped there. */
static int inflate_block(struct archive_reader *reader, uint32_t compressed_bytes, uint32_t uncompressed_bytes)
{
	z_stream *inflater = &reader->inflater;
	uint64_t data_offset = reader->block_start + ARCHIVE_BLOCK_HEADER_BYTES;
	int ret;

	inflateReset(inflater);
	inflater->next_in = reader->compressed;
	inflater->avail_in = compressed_bytes;
	inflater->next_out = reader->block;
	inflater->avail_out = uncompressed_bytes;

	ret = inflate(inflater, Z_FINISH);
	switch (ret) {
	case Z_STREAM_END:
		break;
	case Z_MEM_ERROR:
		return fail(reader, -ENOMEM, "out of memory inflating block %" PRIu64, reader->block_number);
	case Z_DATA_ERROR:
		return fail(reader, -EBADMSG, "invalid zlib data in block %" PRIu64 " (data at byte %" PRIu64 "): %s",
			    reader->block_number, data_offset, inflater->msg ? inflater->msg : "no detail");
	case Z_NEED_DICT:
		return fail(reader, -EBADMSG,
			    "invalid zlib data in block %" PRIu64 " (data at byte %" PRIu64 "): it requires a preset dictionary",
			    reader->block_number, data_offset);
	default:
		/* Z_BUF_ERROR or Z_OK. With Z_FINISH, inflate stops with input left
		 * only when it needs room for more output. */
		if (inflater->avail_out == 0 && inflater->avail_in > 0)
			return fail(reader, -EBADMSG,
				    "block %" PRIu64 " at byte %" PRIu64 " inflates to more than the %" PRIu32
				    " bytes its header states",
				    reader->block_number, reader->block_start, uncompressed_bytes);
		return fail(reader, -EBADMSG,
			    "invalid zlib data in block %" PRIu64 " (data at byte %" PRIu64 "): the stream is incomplete",
			    reader->block_number, data_offset);
	}

	if (inflater->avail_in != 0)
		return fail(reader, -EBADMSG, "invalid zlib data in block %" PRIu64 ": %" PRIu32 " bytes follow the end of the stream",
			    reader->block_number, (uint32_t)inflater->avail_in);
	if (inflater->total_out != uncompressed_bytes)
		return fail(reader, -EBADMSG,
			    "block %" PRIu64 " at byte %" PRIu64 " inflates to %lu bytes, its header states %" PRIu32,
			    reader->block_number, reader->block_start, (unsigned long)inflater->total_out,
			    uncompressed_bytes);
	return 0;
}

/* Reads, checks and inflates the next block into reader->block. Returns 0, 1
 * when the file ends before the block's first byte, or a negative errno. */
static int load_block(struct archive_reader *reader)
{
	uint8_t header[ARCHIVE_BLOCK_HEADER_BYTES];
	uint32_t magic, compressed_bytes, uncompressed_bytes, stored_checksum, computed_checksum;
	ssize_t count;
	int err;

	reader->block_start = reader->offset;
	reader->block_number++;

	count = read_at_offset(reader, header, sizeof(header));
	if (count < 0)
		return (int)count;
	if (count == 0)
		return 1;
	if ((size_t)count < sizeof(header))
		return fail(reader, -EIO,
			    "archive truncated at byte %" PRIu64 " in block %" PRIu64 ": expected a %d-byte block header, found %zd bytes",
			    reader->offset, reader->block_number, ARCHIVE_BLOCK_HEADER_BYTES, count);

	magic = get_u32(header);
	compressed_bytes = get_u32(header + 4);
	uncompressed_bytes = get_u32(header + 8);
	stored_checksum = get_u32(header + 12);

	if (magic != ARCHIVE_BLOCK_MAGIC)
		return fail(reader, -EBADMSG,
			    "invalid block magic 0x%08" PRIx32 " at byte %" PRIu64 " (block %" PRIu64 "), expected 0x%08x",
			    magic, reader->block_start, reader->block_number, ARCHIVE_BLOCK_MAGIC);
	if (uncompressed_bytes == 0 || uncompressed_bytes > ARCHIVE_BLOCK_MAX_BYTES)
		return fail(reader, -EBADMSG,
			    "block %" PRIu64 " at byte %" PRIu64 " states %" PRIu32 " uncompressed bytes, expected 1 to %u",
			    reader->block_number, reader->block_start, uncompressed_bytes, ARCHIVE_BLOCK_MAX_BYTES);
	if (compressed_bytes == 0 || compressed_bytes > ARCHIVE_COMPRESSED_MAX_BYTES)
		return fail(reader, -EBADMSG,
			    "block %" PRIu64 " at byte %" PRIu64 " states %" PRIu32 " compressed bytes, expected 1 to %u",
			    reader->block_number, reader->block_start, compressed_bytes, ARCHIVE_COMPRESSED_MAX_BYTES);

	count = read_at_offset(reader, reader->compressed, compressed_bytes);
	if (count < 0)
		return (int)count;
	if ((size_t)count < compressed_bytes)
		return fail(reader, -EIO,
			    "archive truncated at byte %" PRIu64 " in block %" PRIu64 ": expected %" PRIu32
			    " compressed bytes, found %zd",
			    reader->offset, reader->block_number, compressed_bytes, count);

	err = inflate_block(reader, compressed_bytes, uncompressed_bytes);
	if (err)
		return err;

	computed_checksum = checksum(reader->block, uncompressed_bytes);
	if (computed_checksum != stored_checksum)
		return fail(reader, -EBADMSG,
			    "block %" PRIu64 " at byte %" PRIu64 " fails its CRC32: stored 0x%08" PRIx32 ", computed 0x%08" PRIx32,
			    reader->block_number, reader->block_start, stored_checksum, computed_checksum);

	reader->block_bytes = uncompressed_bytes;
	return 0;
}

/* Position of a record, for error messages. */
struct record_place {
	uint64_t block_number;
	uint64_t block_start;
	size_t position; /* offset of the record in the uncompressed block */
};

__attribute__((format(printf, 3, 4))) static int fail_record(struct archive_reader *reader,
							     const struct record_place *place, const char *format, ...)
{
	char detail[160];
	va_list args;

	va_start(args, format);
	vsnprintf(detail, sizeof(detail), format, args);
	va_end(args);

	return fail(reader, -EBADMSG, "invalid record at offset %zu of block %" PRIu64 " (block at byte %" PRIu64 "): %s",
		    place->position, place->block_number, place->block_start, detail);
}

static int check_payload_bytes(struct archive_reader *reader, const struct record_place *place,
			       const char *type_name, uint32_t payload_bytes, uint32_t expected_bytes)
{
	if (payload_bytes == expected_bytes)
		return 0;
	return fail_record(reader, place, "%s record has %" PRIu32 " payload bytes, expected %" PRIu32, type_name,
			   payload_bytes, expected_bytes);
}

static int decode_endpoint(struct archive_reader *reader, const struct record_place *place, const uint8_t *in,
			   struct tls_endpoint *endpoint)
{
	endpoint->family = get_u16(in);
	endpoint->port = get_u16(in + 2);
	memcpy(endpoint->address, in + 4, sizeof(endpoint->address));

	if (!is_known_family(endpoint->family))
		return fail_record(reader, place, "unknown address family %u", endpoint->family);
	return 0;
}

static int decode_data(struct archive_reader *reader, const struct record_place *place, const uint8_t *payload,
		       uint32_t payload_bytes, struct tls_chunk *chunk)
{
	uint8_t direction;

	if (payload_bytes < ARCHIVE_DATA_FIXED_BYTES)
		return fail_record(reader, place, "data record has %" PRIu32 " payload bytes, expected at least %d",
				   payload_bytes, ARCHIVE_DATA_FIXED_BYTES);

	direction = payload[ARCHIVE_COMMON_BYTES];
	if (direction != TLS_EGRESS && direction != TLS_INGRESS)
		return fail_record(reader, place, "data record has direction %u, expected 0 or 1", direction);

	chunk->direction = direction;
	/* Library numbers are passed on unchecked, so that an archive naming a
	 * library added later can still be read. */
	chunk->library = payload[ARCHIVE_COMMON_BYTES + 1];
	chunk->stream_offset = get_u64(payload + ARCHIVE_COMMON_BYTES + 2);
	chunk->data = payload + ARCHIVE_DATA_FIXED_BYTES;
	chunk->data_bytes = payload_bytes - ARCHIVE_DATA_FIXED_BYTES;
	return 0;
}

/* Decodes the string of a process record (executable path) or a thread
 * record (thread name). */
static int decode_process(struct archive_reader *reader, const struct record_place *place, const uint8_t *payload,
			  uint32_t payload_bytes, struct tls_chunk *chunk)
{
	const uint8_t *path = payload + ARCHIVE_COMMON_BYTES;
	const char *what = chunk->type == TLS_CHUNK_THREAD ? "thread name" : "executable path";
	size_t path_bytes;

	if (payload_bytes < ARCHIVE_COMMON_BYTES)
		return fail_record(reader, place, "%s record has %" PRIu32 " payload bytes, expected at least %d",
				   chunk->type == TLS_CHUNK_THREAD ? "thread" : "process", payload_bytes,
				   ARCHIVE_COMMON_BYTES);

	path_bytes = payload_bytes - ARCHIVE_COMMON_BYTES;
	if (path_bytes > ARCHIVE_PATH_MAX_BYTES)
		return fail_record(reader, place, "%s has %zu bytes, the limit is %d", what, path_bytes,
				   ARCHIVE_PATH_MAX_BYTES);
	if (memchr(path, '\0', path_bytes))
		return fail_record(reader, place, "%s contains a NUL byte", what);

	memcpy(reader->path, path, path_bytes);
	reader->path[path_bytes] = '\0';
	if (chunk->type == TLS_CHUNK_THREAD)
		chunk->thread_name = reader->path;
	else
		chunk->executable_path = reader->path;
	return 0;
}

/* Decodes the fields that follow the common ones, by record type. */
static int decode_chunk_fields(struct archive_reader *reader, const struct record_place *place, uint32_t type,
			       const uint8_t *payload, uint32_t payload_bytes, struct tls_chunk *chunk)
{
	int err;

	switch (type) {
	case ARCHIVE_RECORD_DATA:
		chunk->type = TLS_CHUNK_DATA;
		return decode_data(reader, place, payload, payload_bytes, chunk);
	case ARCHIVE_RECORD_CONNECTION:
	case ARCHIVE_RECORD_QUIC:
		chunk->type = type == ARCHIVE_RECORD_QUIC ? TLS_CHUNK_QUIC : TLS_CHUNK_CONNECTION;
		err = check_payload_bytes(reader, place, type == ARCHIVE_RECORD_QUIC ? "quic" : "connection",
					  payload_bytes, ARCHIVE_CONNECTION_BYTES);
		if (!err)
			err = decode_endpoint(reader, place, payload + ARCHIVE_COMMON_BYTES, &chunk->local);
		if (!err)
			err = decode_endpoint(reader, place, payload + ARCHIVE_COMMON_BYTES + ARCHIVE_ENDPOINT_BYTES,
					      &chunk->peer);
		return err;
	case ARCHIVE_RECORD_CLOSE:
		chunk->type = TLS_CHUNK_CLOSE;
		err = check_payload_bytes(reader, place, "close", payload_bytes, ARCHIVE_CLOSE_BYTES);
		if (err)
			return err;
		chunk->egress_bytes = get_u64(payload + ARCHIVE_COMMON_BYTES);
		chunk->ingress_bytes = get_u64(payload + ARCHIVE_COMMON_BYTES + 8);
		return 0;
	case ARCHIVE_RECORD_PROCESS:
		chunk->type = TLS_CHUNK_PROCESS;
		return decode_process(reader, place, payload, payload_bytes, chunk);
	case ARCHIVE_RECORD_EXIT:
		chunk->type = TLS_CHUNK_EXIT;
		return check_payload_bytes(reader, place, "exit", payload_bytes, ARCHIVE_COMMON_BYTES);
	case ARCHIVE_RECORD_TICK:
		chunk->type = TLS_CHUNK_TICK;
		return check_payload_bytes(reader, place, "tick", payload_bytes, ARCHIVE_COMMON_BYTES);
	case ARCHIVE_RECORD_THREAD:
		chunk->type = TLS_CHUNK_THREAD;
		return decode_process(reader, place, payload, payload_bytes, chunk);
	}
	return fail_record(reader, place, "unknown record type %" PRIu32, type);
}

/* Checks the end record at the end of a block. chunks_before is the number
 * of chunk records in the archive before it. */
static int check_end_record(struct archive_reader *reader, const struct record_place *place, const uint8_t *payload,
			    uint32_t payload_bytes, uint64_t chunks_before)
{
	uint64_t stated_chunks, stated_blocks;
	size_t record_end = place->position + ARCHIVE_RECORD_HEADER_BYTES + payload_bytes;
	int err;

	err = check_payload_bytes(reader, place, "end", payload_bytes, ARCHIVE_END_BYTES);
	if (err)
		return err;
	if (record_end != reader->block_bytes)
		return fail_record(reader, place, "%zu bytes follow the end record in its block",
				   reader->block_bytes - record_end);

	stated_chunks = get_u64(payload);
	stated_blocks = get_u64(payload + 8);
	if (stated_chunks != chunks_before || stated_blocks != reader->block_number)
		return fail_record(reader, place,
				   "end record counts %" PRIu64 " chunks in %" PRIu64 " blocks, the archive has %" PRIu64
				   " chunks in %" PRIu64 " blocks",
				   stated_chunks, stated_blocks, chunks_before, reader->block_number);
	return 0;
}

/* Decodes the record at *position of the current block into chunk, or notes
 * the end record, and advances *position. chunks_before is the number of
 * chunk records in the archive before this one. The chunk points into the
 * block and into reader->path. */
static int decode_record(struct archive_reader *reader, size_t *position, uint64_t chunks_before,
			 struct tls_chunk *chunk, bool *is_end)
{
	struct record_place place = {
		.block_number = reader->block_number,
		.block_start = reader->block_start,
		.position = *position,
	};
	size_t remaining = reader->block_bytes - *position;
	const uint8_t *record = reader->block + *position;
	const uint8_t *payload = record + ARCHIVE_RECORD_HEADER_BYTES;
	uint32_t type, payload_bytes;
	int err;

	if (remaining < ARCHIVE_RECORD_HEADER_BYTES)
		return fail_record(reader, &place, "the block ends with %zu bytes, too few for an %d-byte record header",
				   remaining,
				   ARCHIVE_RECORD_HEADER_BYTES);
	type = get_u32(record);
	payload_bytes = get_u32(record + 4);
	if (payload_bytes > remaining - ARCHIVE_RECORD_HEADER_BYTES)
		return fail_record(reader, &place, "record of type %" PRIu32 " has %" PRIu32
				   " payload bytes, but only %zu remain in the block",
				   type, payload_bytes, remaining - ARCHIVE_RECORD_HEADER_BYTES);
	*position += ARCHIVE_RECORD_HEADER_BYTES + payload_bytes;

	*is_end = type == ARCHIVE_RECORD_END;
	if (*is_end)
		return check_end_record(reader, &place, payload, payload_bytes, chunks_before);

	memset(chunk, 0, sizeof(*chunk));
	if (payload_bytes >= ARCHIVE_COMMON_BYTES) {
		chunk->time_ns = get_u64(payload);
		chunk->pid = get_u32(payload + 8);
		chunk->tid = get_u32(payload + 12);
		chunk->conn_id = get_u64(payload + 16);
	}
	err = decode_chunk_fields(reader, &place, type, payload, payload_bytes, chunk);
	return err;
}

/* Checks every record of the current block without passing any on, so that
 * a block reaches the sink whole or not at all. */
static int check_block_records(struct archive_reader *reader)
{
	uint64_t chunks = reader->status->chunks;
	size_t position = 0;
	struct tls_chunk chunk;
	bool is_end = false;
	int err;

	while (position < reader->block_bytes) {
		err = decode_record(reader, &position, chunks, &chunk, &is_end);
		if (err)
			return err;
		if (!is_end)
			chunks++;
	}
	reader->end_seen = is_end;
	return 0;
}

/* Passes the chunks of the current block, already checked, to the sink. */
static int deliver_block_records(struct archive_reader *reader)
{
	struct archive_status *status = reader->status;
	size_t position = 0;
	struct tls_chunk chunk;
	bool is_end;
	int err;

	while (position < reader->block_bytes) {
		err = decode_record(reader, &position, status->chunks, &chunk, &is_end);
		if (err)
			return err;
		if (is_end)
			break;

		err = reader->sink->write(reader->sink, &chunk);
		if (err < 0)
			return fail(reader, err, "the sink rejected chunk %" PRIu64 " (block %" PRIu64 " at byte %" PRIu64 "): %s",
				    status->chunks + 1, reader->block_number, reader->block_start, strerror(-err));
		status->chunks++;
	}
	return 0;
}

/* Checks that the file ends right after the end record's block. */
static int check_trailing_bytes(struct archive_reader *reader)
{
	uint8_t byte;
	ssize_t count = read_at_offset(reader, &byte, 1);

	if (count < 0)
		return (int)count;
	if (count > 0)
		return fail(reader, -EBADMSG, "unexpected data at byte %" PRIu64 " after the block with the end record",
			    reader->offset - 1);
	return 0;
}

static int read_blocks(struct archive_reader *reader)
{
	struct archive_status *status = reader->status;
	int err;

	while (!reader->end_seen) {
		err = load_block(reader);
		if (err == 1 && status->blocks == 0)
			return fail(reader, -EIO, "archive truncated at byte %" PRIu64 ": no block follows the file header",
				    reader->offset);
		if (err == 1)
			return fail(reader, -EIO,
				    "archive truncated at byte %" PRIu64 " after block %" PRIu64 ": the end record is missing",
				    reader->offset, status->blocks);
		if (err)
			return err;

		err = check_block_records(reader);
		if (err)
			return err;
		err = deliver_block_records(reader);
		if (err)
			return err;

		status->blocks++;
		status->stopped_at = reader->offset;
	}

	return check_trailing_bytes(reader);
}

static int prepare_reader(struct archive_reader *reader)
{
	reader->compressed = malloc(ARCHIVE_COMPRESSED_MAX_BYTES);
	reader->block = malloc(ARCHIVE_BLOCK_MAX_BYTES);
	if (!reader->compressed || !reader->block)
		return fail(reader, -ENOMEM, "out of memory for the block buffers");

	if (inflateInit(&reader->inflater) != Z_OK)
		return fail(reader, -ENOMEM, "out of memory for the zlib inflater");
	reader->inflater_ready = true;
	return 0;
}

int archive_read(const char *path, struct tls_chunk_sink *sink, struct archive_info *info,
		 struct archive_status *status)
{
	struct archive_status unused_status;
	struct archive_info unused_info;
	struct archive_reader *reader;
	int err;

	if (!status)
		status = &unused_status;
	if (!info)
		info = &unused_info;
	memset(status, 0, sizeof(*status));
	memset(info, 0, sizeof(*info));

	if (!path || !sink || !sink->write) {
		snprintf(status->error, sizeof(status->error), "invalid argument: path and sink are required");
		return -EINVAL;
	}

	/* On the heap because the path buffer alone takes 4 KiB. */
	reader = calloc(1, sizeof(*reader));
	if (!reader) {
		snprintf(status->error, sizeof(status->error), "out of memory for the archive reader");
		return -ENOMEM;
	}
	reader->status = status;
	reader->sink = sink;

	reader->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (reader->fd < 0) {
		err = -errno;
		fail(reader, err, "failed to open the archive: %s", strerror(-err));
		goto cleanup;
	}

	err = read_file_header(reader, info);
	if (err)
		goto cleanup;
	status->stopped_at = reader->offset;

	err = prepare_reader(reader);
	if (err)
		goto cleanup;

	err = read_blocks(reader);
	if (err)
		goto cleanup;

	status->complete = true;

cleanup:
	if (reader->fd >= 0)
		close(reader->fd);
	if (reader->inflater_ready)
		inflateEnd(&reader->inflater);
	free(reader->compressed);
	free(reader->block);
	free(reader);
	return err;
}

int archive_read_info(const char *path, struct archive_info *info, struct archive_status *status)
{
	struct archive_reader *reader;
	int err = 0;

	memset(status, 0, sizeof(*status));
	memset(info, 0, sizeof(*info));
	reader = calloc(1, sizeof(*reader));
	if (!reader) {
		snprintf(status->error, sizeof(status->error), "out of memory for the archive reader");
		return -ENOMEM;
	}
	reader->status = status;

	reader->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (reader->fd < 0) {
		err = -errno;
		fail(reader, err, "failed to open the archive: %s", strerror(-err));
	} else {
		err = read_file_header(reader, info);
		close(reader->fd);
	}
	free(reader);
	return err;
}

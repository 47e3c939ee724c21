/*
 * Unit tests of the capture archive writer and reader: round trips of every
 * chunk type, block boundaries, and damaged archives (cut at every byte,
 * flipped bytes, hand-made blocks with invalid records).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "source/archive.h"

/* Sizes from docs/ARCHIVE.md that the tests build archives with. */
#define BLOCK_HEADER_BYTES 16
#define BLOCK_TARGET_BYTES (256u << 10)
#define RECORD_HEADER_BYTES 8
#define COMMON_BYTES 24
#define DATA_FIXED_BYTES (COMMON_BYTES + 10)
#define RECORD_END 255

static char directory[64];

/* ---- files ---- */

static char *make_path(const char *name)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", directory, name) > 0);
	return path;
}

static uint8_t *read_whole_file(const char *path, size_t *size)
{
	struct stat info;
	uint8_t *bytes;
	FILE *file;

	assert_int_equal(stat(path, &info), 0);
	*size = (size_t)info.st_size;
	bytes = malloc(*size + 1);
	assert_non_null(bytes);

	file = fopen(path, "rb");
	assert_non_null(file);
	assert_int_equal(fread(bytes, 1, *size, file), *size);
	fclose(file);
	return bytes;
}

static void write_whole_file(const char *path, const uint8_t *bytes, size_t size)
{
	FILE *file = fopen(path, "wb");

	assert_non_null(file);
	if (size > 0)
		assert_int_equal(fwrite(bytes, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
}

static void append_to_file(const char *path, const uint8_t *bytes, size_t size)
{
	FILE *file = fopen(path, "ab");

	assert_non_null(file);
	assert_int_equal(fwrite(bytes, 1, size, file), size);
	assert_int_equal(fclose(file), 0);
}

static uint64_t file_size(const char *path)
{
	struct stat info;

	assert_int_equal(stat(path, &info), 0);
	return (uint64_t)info.st_size;
}

static int remove_entry(const char *path, const struct stat *info, int flag, struct FTW *walk)
{
	return remove(path);
}

static int create_directory(void **state)
{
	strcpy(directory, "/tmp/test_archive.XXXXXX");
	return mkdtemp(directory) ? 0 : -1;
}

static int remove_directory(void **state)
{
	return nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- a sink that keeps deep copies ---- */

struct recorded_chunk {
	struct tls_chunk chunk;
	uint8_t *data;
	char *path;
};

struct recording_sink {
	struct tls_chunk_sink sink;
	struct recorded_chunk *chunks;
	size_t count;
	size_t capacity;
	size_t fail_at; /* 1-based chunk number that the sink rejects, 0 for none */
	int fail_error;
};

static int record_chunk(struct tls_chunk_sink *sink, const struct tls_chunk *chunk)
{
	struct recording_sink *recorder = (struct recording_sink *)sink;
	struct recorded_chunk *copy;

	if (recorder->fail_at == recorder->count + 1)
		return recorder->fail_error;

	if (recorder->count == recorder->capacity) {
		recorder->capacity = recorder->capacity ? 2 * recorder->capacity : 16;
		recorder->chunks = realloc(recorder->chunks, recorder->capacity * sizeof(*recorder->chunks));
		assert_non_null(recorder->chunks);
	}
	copy = &recorder->chunks[recorder->count++];
	copy->chunk = *chunk;
	copy->data = NULL;
	copy->path = NULL;

	if (chunk->type == TLS_CHUNK_DATA) {
		assert_non_null(chunk->data);
		copy->data = malloc(chunk->data_bytes + 1);
		assert_non_null(copy->data);
		memcpy(copy->data, chunk->data, chunk->data_bytes);
	}
	if (chunk->type == TLS_CHUNK_PROCESS) {
		assert_non_null(chunk->executable_path);
		copy->path = strdup(chunk->executable_path);
		assert_non_null(copy->path);
	}
	if (chunk->type == TLS_CHUNK_THREAD) {
		assert_non_null(chunk->thread_name);
		copy->path = strdup(chunk->thread_name);
		assert_non_null(copy->path);
	}
	copy->chunk.data = copy->data;
	copy->chunk.executable_path = chunk->type == TLS_CHUNK_PROCESS ? copy->path : NULL;
	copy->chunk.thread_name = chunk->type == TLS_CHUNK_THREAD ? copy->path : NULL;
	return 0;
}

static void init_recorder(struct recording_sink *recorder)
{
	memset(recorder, 0, sizeof(*recorder));
	recorder->sink.write = record_chunk;
}

static void free_recorder(struct recording_sink *recorder)
{
	for (size_t i = 0; i < recorder->count; i++) {
		free(recorder->chunks[i].data);
		free(recorder->chunks[i].path);
	}
	free(recorder->chunks);
	init_recorder(recorder);
}

/* ---- chunks ---- */

static const struct archive_info test_info = {
	.host_name = "kiosk-17.example.net",
	.agent_version = "0.1.0",
	.start_time_ns = 1718000000123456789ull,
};

static void assert_endpoint_equal(const struct tls_endpoint *expected, const struct tls_endpoint *actual)
{
	assert_int_equal(actual->family, expected->family);
	assert_int_equal(actual->port, expected->port);
	assert_memory_equal(actual->address, expected->address, sizeof(expected->address));
}

/* Checks every field that the chunk's type carries. */
static void assert_chunk_equal(const struct tls_chunk *expected, const struct tls_chunk *actual)
{
	assert_int_equal(actual->type, expected->type);
	assert_int_equal(actual->time_ns, expected->time_ns);
	assert_int_equal(actual->pid, expected->pid);
	assert_int_equal(actual->tid, expected->tid);
	assert_int_equal(actual->conn_id, expected->conn_id);

	switch (expected->type) {
	case TLS_CHUNK_DATA:
		assert_int_equal(actual->direction, expected->direction);
		assert_int_equal(actual->library, expected->library);
		assert_int_equal(actual->stream_offset, expected->stream_offset);
		assert_int_equal(actual->data_bytes, expected->data_bytes);
		if (expected->data_bytes > 0)
			assert_memory_equal(actual->data, expected->data, expected->data_bytes);
		break;
	case TLS_CHUNK_CONNECTION:
	case TLS_CHUNK_QUIC:
		assert_endpoint_equal(&expected->local, &actual->local);
		assert_endpoint_equal(&expected->peer, &actual->peer);
		break;
	case TLS_CHUNK_CLOSE:
		assert_int_equal(actual->egress_bytes, expected->egress_bytes);
		assert_int_equal(actual->ingress_bytes, expected->ingress_bytes);
		break;
	case TLS_CHUNK_PROCESS:
		assert_string_equal(actual->executable_path,
				    expected->executable_path ? expected->executable_path : "");
		break;
	case TLS_CHUNK_THREAD:
		assert_string_equal(actual->thread_name, expected->thread_name ? expected->thread_name : "");
		break;
	case TLS_CHUNK_EXIT:
	case TLS_CHUNK_TICK:
		break;
	}
}

static void assert_chunks_equal(const struct tls_chunk *expected, const struct recording_sink *recorder,
				size_t count)
{
	assert_int_equal(recorder->count, count);
	for (size_t i = 0; i < count; i++)
		assert_chunk_equal(&expected[i], &recorder->chunks[i].chunk);
}

/* A data chunk whose fields all derive from number, over the given bytes. */
static struct tls_chunk data_chunk(uint64_t number, const uint8_t *data, uint32_t data_bytes)
{
	struct tls_chunk chunk = {
		.type = TLS_CHUNK_DATA,
		.time_ns = 1718000000000000000ull + number * 1000,
		.pid = 4000 + (uint32_t)number % 7,
		.tid = 5000 + (uint32_t)number,
		.conn_id = 1 + number % 5,
		.direction = number % 2 ? TLS_INGRESS : TLS_EGRESS,
		.library = TLS_LIBRARY_OPENSSL,
		.stream_offset = number * 1024,
		.data = data,
		.data_bytes = data_bytes,
	};

	return chunk;
}

static struct tls_chunk tick_chunk(uint64_t number)
{
	struct tls_chunk chunk = {
		.type = TLS_CHUNK_TICK,
		.time_ns = 1718000000000000000ull + number,
	};

	return chunk;
}

/* Bytes from a fixed-seed generator: zlib cannot shrink them much, so block
 * sizes stay predictable. */
static void fill_random(uint8_t *bytes, size_t length, uint32_t seed)
{
	uint32_t state = seed * 2654435761u + 1;

	for (size_t i = 0; i < length; i++) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		bytes[i] = (uint8_t)state;
	}
}

static void write_archive(const char *path, const struct tls_chunk *chunks, size_t count)
{
	struct archive_writer *writer;
	int error = 1;

	writer = archive_writer_open(path, &test_info, &error);
	assert_non_null(writer);
	assert_int_equal(error, 0);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(archive_writer_append(writer, &chunks[i]), 0);
	assert_int_equal(archive_writer_close(writer), 0);
}

static void assert_complete(const char *path, int result, const struct archive_status *status)
{
	assert_int_equal(result, 0);
	assert_true(status->complete);
	assert_string_equal(status->error, "");
	assert_int_equal(status->stopped_at, file_size(path));
}

/* ---- round trips ---- */

static void test_round_trip_every_chunk_type(void **state)
{
	static uint8_t large[16384];
	static const uint8_t with_nuls[] = { 0, 'G', 'E', 'T', 0, 0, 0xff, 0x80, '\r', '\n', 0 };
	struct tls_chunk chunks[17];
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_info info;
	char *path = make_path("every-type.archive");
	size_t count = 0;
	int result;

	for (size_t i = 0; i < sizeof(large); i++)
		large[i] = i % 3 == 0 ? 0 : (uint8_t)(i * 7);

	chunks[count++] = data_chunk(1, large, sizeof(large));
	chunks[count++] = data_chunk(2, with_nuls, sizeof(with_nuls));
	chunks[count++] = data_chunk(3, NULL, 0);
	chunks[count] = data_chunk(4, with_nuls, 1);
	chunks[count].library = TLS_LIBRARY_UNKNOWN;
	chunks[count].stream_offset = UINT64_MAX;
	count++;

	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_CONNECTION,
		.time_ns = UINT64_MAX,
		.pid = UINT32_MAX,
		.tid = UINT32_MAX - 1,
		.conn_id = UINT64_MAX - 2,
		.local = { .family = AF_INET, .port = 51234, .address = { 192, 168, 1, 20 } },
		.peer = { .family = AF_INET, .port = 443, .address = { 157, 240, 0, 35 } },
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_CONNECTION,
		.time_ns = 17,
		.pid = 1,
		.tid = 2,
		.conn_id = 3,
		.local = { .family = AF_INET6, .port = 65535,
			   .address = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55 } },
		.peer = { .family = AF_INET6, .port = 443,
			  .address = { 0x2a, 0x03, 0x28, 0x80, 0xf1, 0x2c, 0x01, 0x83, 0xfa, 0xce, 0xb0, 0x0c, 0, 0, 0x25, 0xde } },
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_CONNECTION,
		.time_ns = 18,
		.pid = 1,
		.tid = 2,
		.conn_id = 4,
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_CLOSE,
		.time_ns = 19,
		.pid = 77,
		.tid = 78,
		.conn_id = 3,
		.egress_bytes = 0x0102030405060708ull,
		.ingress_bytes = UINT64_MAX,
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_PROCESS,
		.time_ns = 20,
		.pid = 4242,
		.tid = 4242,
		.executable_path = "/usr/lib/chromium/chromium",
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_PROCESS,
		.time_ns = 21,
		.pid = 4243,
		.tid = 4243,
		.executable_path = "",
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_PROCESS,
		.time_ns = 22,
		.pid = 4244,
		.tid = 4244,
		.executable_path = NULL,
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_EXIT,
		.time_ns = 23,
		.pid = 4242,
		.tid = 4243,
		.conn_id = 9,
	};
	chunks[count++] = tick_chunk(24);
	chunks[count++] = tick_chunk(0);
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_THREAD,
		.time_ns = 25,
		.pid = 4242,
		.tid = 4250,
		.thread_name = "Socket Thread",
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_THREAD,
		.time_ns = 26,
		.pid = 4242,
		.tid = 4251,
		.thread_name = "",
	};
	chunks[count++] = (struct tls_chunk){
		.type = TLS_CHUNK_QUIC,
		.time_ns = 27,
		.pid = 4242,
		.tid = 4250,
		.local = { .family = AF_INET, .port = 40001, .address = { 10, 0, 0, 5 } },
		.peer = { .family = AF_INET, .port = 443, .address = { 127, 0, 0, 1 } },
	};

	write_archive(path, chunks, count);

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, &info, &status);

	assert_complete(path, result, &status);
	assert_int_equal(status.chunks, count);
	assert_int_equal(status.blocks, 1);
	assert_string_equal(info.host_name, test_info.host_name);
	assert_string_equal(info.agent_version, test_info.agent_version);
	assert_int_equal(info.start_time_ns, test_info.start_time_ns);
	assert_chunks_equal(chunks, &recorder, count);

	/* Fields that a type does not carry come back zero. */
	assert_int_equal(recorder.chunks[4].chunk.data_bytes, 0);
	assert_null(recorder.chunks[4].chunk.data);
	assert_int_equal(recorder.chunks[0].chunk.egress_bytes, 0);
	assert_int_equal(recorder.chunks[0].chunk.local.family, 0);

	free_recorder(&recorder);
	free(path);
}

static void test_round_trip_empty_archive(void **state)
{
	static const struct archive_info empty_info = { 0 };
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_info info;
	struct archive_writer *writer;
	char *path = make_path("empty.archive");
	int error;
	int result;

	writer = archive_writer_open(path, &empty_info, &error);
	assert_non_null(writer);
	assert_int_equal(archive_writer_close(writer), 0);

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, &info, &status);

	assert_complete(path, result, &status);
	assert_int_equal(status.chunks, 0);
	assert_int_equal(status.blocks, 1);
	assert_string_equal(info.host_name, "");
	assert_string_equal(info.agent_version, "");
	assert_int_equal(info.start_time_ns, 0);
	assert_int_equal(recorder.count, 0);

	free_recorder(&recorder);
	free(path);
}

static void test_many_chunks_several_blocks(void **state)
{
	enum { CHUNKS = 2000, DATA_BYTES = 1024 };
	const size_t record_bytes = RECORD_HEADER_BYTES + DATA_FIXED_BYTES + DATA_BYTES;
	const size_t records_per_block = BLOCK_TARGET_BYTES / record_bytes;
	struct tls_chunk *chunks = calloc(CHUNKS, sizeof(*chunks));
	uint8_t *data = malloc((size_t)CHUNKS * DATA_BYTES);
	struct recording_sink recorder;
	struct archive_status status;
	char *path = make_path("many.archive");
	int result;

	assert_non_null(chunks);
	assert_non_null(data);
	fill_random(data, (size_t)CHUNKS * DATA_BYTES, 1);
	for (size_t i = 0; i < CHUNKS; i++)
		chunks[i] = data_chunk(i, data + i * DATA_BYTES, DATA_BYTES);

	write_archive(path, chunks, CHUNKS);

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, NULL, &status);

	/* Records fill a block up to the target size. The end record fits into
	 * the last block, which has 2000 - 8 * 245 = 40 data records. */
	assert_complete(path, result, &status);
	assert_int_equal(records_per_block, 245);
	assert_int_equal(status.blocks, (CHUNKS + records_per_block - 1) / records_per_block);
	assert_int_equal(status.chunks, CHUNKS);
	assert_chunks_equal(chunks, &recorder, CHUNKS);

	free_recorder(&recorder);
	free(chunks);
	free(data);
	free(path);
}

static void test_large_record_own_block(void **state)
{
	enum { LARGE_BYTES = 512 << 10 };
	uint8_t *data = malloc(1u << 20);
	struct tls_chunk chunks[3];
	struct recording_sink recorder;
	struct archive_status status;
	char *path = make_path("large.archive");
	int result;

	assert_non_null(data);
	fill_random(data, 1u << 20, 2);
	chunks[0] = data_chunk(0, data, 100);
	chunks[1] = data_chunk(1, data, LARGE_BYTES);
	chunks[2] = data_chunk(2, data + 7, 100);

	write_archive(path, chunks, 3);

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, NULL, &status);

	/* A record larger than the block target gets a block of its own. */
	assert_complete(path, result, &status);
	assert_int_equal(status.blocks, 3);
	assert_chunks_equal(chunks, &recorder, 3);

	free_recorder(&recorder);
	free(data);
	free(path);
}

/* ---- writer ---- */

static void test_flush_writes_small_blocks(void **state)
{
	struct tls_chunk chunks[5];
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_writer *writer;
	char *path = make_path("flush.archive");
	uint64_t header_end;
	uint64_t flushed_end;
	int error;
	int result;

	for (size_t i = 0; i < 5; i++)
		chunks[i] = tick_chunk(i);

	writer = archive_writer_open(path, &test_info, &error);
	assert_non_null(writer);
	header_end = file_size(path);
	assert_true(header_end > 0);

	assert_int_equal(archive_writer_append(writer, &chunks[0]), 0);
	assert_int_equal(archive_writer_append(writer, &chunks[1]), 0);
	assert_int_equal(archive_writer_append(writer, &chunks[2]), 0);
	assert_int_equal(file_size(path), header_end);
	assert_int_equal(archive_writer_flush(writer), 0);
	flushed_end = file_size(path);
	assert_true(flushed_end > header_end);

	/* A flush with nothing pending writes no block. */
	assert_int_equal(archive_writer_flush(writer), 0);
	assert_int_equal(file_size(path), flushed_end);

	/* While the writer is open, the flushed block can be read, but the
	 * archive has no end record yet. */
	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, NULL, &status);
	assert_int_equal(result, -EIO);
	assert_false(status.complete);
	assert_int_equal(status.blocks, 1);
	assert_int_equal(status.chunks, 3);
	assert_int_equal(status.stopped_at, flushed_end);
	assert_non_null(strstr(status.error, "end record is missing"));
	assert_chunks_equal(chunks, &recorder, 3);
	free_recorder(&recorder);

	assert_int_equal(archive_writer_append(writer, &chunks[3]), 0);
	assert_int_equal(archive_writer_flush(writer), 0);
	assert_int_equal(archive_writer_append(writer, &chunks[4]), 0);
	assert_int_equal(archive_writer_close(writer), 0);

	result = archive_read(path, &recorder.sink, NULL, &status);
	assert_complete(path, result, &status);
	assert_int_equal(status.blocks, 3);
	assert_int_equal(status.chunks, 5);
	assert_chunks_equal(chunks, &recorder, 5);

	free_recorder(&recorder);
	free(path);
}

static void test_writer_rejects_invalid_chunks(void **state)
{
	uint8_t *data = calloc(1, 1u << 20);
	char long_path[4200];
	struct tls_chunk chunk;
	struct tls_chunk kept[2];
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_writer *writer;
	char *path = make_path("invalid-chunks.archive");
	int error;

	assert_non_null(data);
	writer = archive_writer_open(path, &test_info, &error);
	assert_non_null(writer);

	kept[0] = tick_chunk(1);
	assert_int_equal(archive_writer_append(writer, &kept[0]), 0);

	chunk = data_chunk(1, data, 1u << 20);
	assert_int_equal(archive_writer_append(writer, &chunk), -EMSGSIZE);

	chunk = data_chunk(1, NULL, 10);
	assert_int_equal(archive_writer_append(writer, &chunk), -EINVAL);

	chunk = data_chunk(1, data, 10);
	chunk.direction = 2;
	assert_int_equal(archive_writer_append(writer, &chunk), -EINVAL);

	chunk = data_chunk(1, data, 10);
	chunk.library = 256;
	assert_int_equal(archive_writer_append(writer, &chunk), -EINVAL);

	chunk = (struct tls_chunk){ .type = TLS_CHUNK_CONNECTION, .peer = { .family = AF_UNIX } };
	assert_int_equal(archive_writer_append(writer, &chunk), -EINVAL);

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	chunk = (struct tls_chunk){ .type = TLS_CHUNK_PROCESS, .executable_path = long_path };
	assert_int_equal(archive_writer_append(writer, &chunk), -ENAMETOOLONG);

	chunk = (struct tls_chunk){ .type = 99 };
	assert_int_equal(archive_writer_append(writer, &chunk), -EINVAL);
	assert_int_equal(archive_writer_append(writer, NULL), -EINVAL);
	assert_int_equal(archive_writer_append(NULL, &kept[0]), -EINVAL);

	/* Rejected chunks leave the archive usable. */
	kept[1] = tick_chunk(2);
	assert_int_equal(archive_writer_append(writer, &kept[1]), 0);
	assert_int_equal(archive_writer_close(writer), 0);

	init_recorder(&recorder);
	assert_int_equal(archive_read(path, &recorder.sink, NULL, &status), 0);
	assert_chunks_equal(kept, &recorder, 2);

	free_recorder(&recorder);
	free(data);
	free(path);
}

static void test_writer_open_errors(void **state)
{
	struct archive_info unterminated;
	char *missing = make_path("no-such-directory/x.archive");
	char *path = make_path("open-errors.archive");
	int error = 0;

	assert_null(archive_writer_open(missing, &test_info, &error));
	assert_int_equal(error, -ENOENT);

	memset(&unterminated, 'x', sizeof(unterminated));
	unterminated.agent_version[0] = '\0';
	error = 0;
	assert_null(archive_writer_open(path, &unterminated, &error));
	assert_int_equal(error, -EINVAL);

	error = 0;
	assert_null(archive_writer_open(path, NULL, &error));
	assert_int_equal(error, -EINVAL);

	assert_int_equal(archive_writer_close(NULL), 0);
	assert_int_equal(archive_writer_flush(NULL), -EINVAL);

	free(missing);
	free(path);
}

static void test_write_error_is_sticky(void **state)
{
	struct rlimit original_limit;
	struct rlimit small_limit;
	struct tls_chunk chunks[2];
	uint8_t data[4096];
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_writer *writer;
	char *path = make_path("sticky.archive");
	uint64_t first_block_end;
	int error;

	fill_random(data, sizeof(data), 3);
	chunks[0] = data_chunk(0, data, sizeof(data));
	chunks[1] = data_chunk(1, data, sizeof(data));

	writer = archive_writer_open(path, &test_info, &error);
	assert_non_null(writer);
	assert_int_equal(archive_writer_append(writer, &chunks[0]), 0);
	assert_int_equal(archive_writer_flush(writer), 0);
	first_block_end = file_size(path);

	/* A file size limit makes the next block's write fail part way
	 * (EFBIG once SIGXFSZ is ignored). */
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &original_limit), 0);
	small_limit = original_limit;
	small_limit.rlim_cur = first_block_end + 100;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small_limit), 0);

	assert_int_equal(archive_writer_append(writer, &chunks[1]), 0);
	assert_int_equal(archive_writer_flush(writer), -EFBIG);
	assert_int_equal(archive_writer_append(writer, &chunks[1]), -EFBIG);
	assert_int_equal(archive_writer_flush(writer), -EFBIG);
	assert_int_equal(archive_writer_close(writer), -EFBIG);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &original_limit), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(file_size(path), first_block_end + 100);

	/* The block written before the failure is still readable. */
	init_recorder(&recorder);
	assert_int_equal(archive_read(path, &recorder.sink, NULL, &status), -EIO);
	assert_int_equal(status.blocks, 1);
	assert_int_equal(status.stopped_at, first_block_end);
	assert_chunks_equal(chunks, &recorder, 1);

	free_recorder(&recorder);
	free(path);
}

static void test_header_write_error(void **state)
{
	int error = 0;

	/* Every write to /dev/full fails with ENOSPC. */
	assert_null(archive_writer_open("/dev/full", &test_info, &error));
	assert_int_equal(error, -ENOSPC);
}

/* ---- damaged archives ---- */

/* An archive of three blocks made by flushes, and where its parts end. */
struct small_archive {
	char *path;
	struct tls_chunk chunks[5];
	uint8_t payload[3][40];
	uint64_t header_end;
	uint64_t block_ends[3];
	uint8_t *bytes;
	size_t size;
};

static void write_small_archive(struct small_archive *archive, const char *name)
{
	struct archive_writer *writer;
	int error;

	archive->path = make_path(name);
	for (size_t i = 0; i < 3; i++) {
		fill_random(archive->payload[i], sizeof(archive->payload[i]), (uint32_t)i + 10);
		archive->payload[i][5] = 0;
	}
	archive->chunks[0] = (struct tls_chunk){ .type = TLS_CHUNK_PROCESS, .pid = 9, .tid = 9,
						 .executable_path = "/usr/bin/firefox" };
	archive->chunks[1] = data_chunk(1, archive->payload[0], sizeof(archive->payload[0]));
	archive->chunks[2] = data_chunk(2, archive->payload[1], sizeof(archive->payload[1]));
	archive->chunks[3] = (struct tls_chunk){ .type = TLS_CHUNK_CLOSE, .conn_id = 3, .egress_bytes = 40,
						 .ingress_bytes = 80 };
	archive->chunks[4] = data_chunk(4, archive->payload[2], sizeof(archive->payload[2]));

	writer = archive_writer_open(archive->path, &test_info, &error);
	assert_non_null(writer);
	archive->header_end = file_size(archive->path);

	assert_int_equal(archive_writer_append(writer, &archive->chunks[0]), 0);
	assert_int_equal(archive_writer_append(writer, &archive->chunks[1]), 0);
	assert_int_equal(archive_writer_flush(writer), 0);
	archive->block_ends[0] = file_size(archive->path);

	assert_int_equal(archive_writer_append(writer, &archive->chunks[2]), 0);
	assert_int_equal(archive_writer_flush(writer), 0);
	archive->block_ends[1] = file_size(archive->path);

	assert_int_equal(archive_writer_append(writer, &archive->chunks[3]), 0);
	assert_int_equal(archive_writer_append(writer, &archive->chunks[4]), 0);
	assert_int_equal(archive_writer_close(writer), 0);
	archive->block_ends[2] = file_size(archive->path);

	archive->bytes = read_whole_file(archive->path, &archive->size);
}

static void free_small_archive(struct small_archive *archive)
{
	free(archive->bytes);
	free(archive->path);
}

/* Chunks in the first `blocks` blocks of the small archive. */
static const size_t small_archive_chunks[] = { 0, 2, 3, 5 };

/* Reads a damaged copy of the small archive at path and checks that the read
 * failed with expected_error after passing on its first whole_blocks blocks. */
static void assert_read_stops(const char *path, const struct small_archive *archive, int expected_error,
			      size_t whole_blocks)
{
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_info info;
	size_t chunks = small_archive_chunks[whole_blocks];
	int result;

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, &info, &status);

	assert_int_equal(result, expected_error);
	assert_false(status.complete);
	assert_true(status.error[0] != '\0');
	assert_int_equal(status.blocks, whole_blocks);
	assert_int_equal(status.chunks, chunks);
	assert_chunks_equal(archive->chunks, &recorder, chunks);
	if (whole_blocks == 0)
		assert_true(status.stopped_at == 0 || status.stopped_at == archive->header_end);
	else
		assert_int_equal(status.stopped_at, archive->block_ends[whole_blocks - 1]);

	free_recorder(&recorder);
}

static void test_truncation_at_every_byte(void **state)
{
	struct small_archive archive;
	char *cut_path = make_path("cut.archive");
	struct recording_sink recorder;
	struct archive_status status;

	write_small_archive(&archive, "truncation.archive");
	assert_int_equal(archive.size, archive.block_ends[2]);

	for (size_t length = 0; length < archive.size; length++) {
		size_t whole_blocks = 0;

		while (whole_blocks < 3 && archive.block_ends[whole_blocks] <= length)
			whole_blocks++;

		write_whole_file(cut_path, archive.bytes, length);
		assert_read_stops(cut_path, &archive, -EIO, whole_blocks);
	}

	write_whole_file(cut_path, archive.bytes, archive.size);
	init_recorder(&recorder);
	assert_complete(cut_path, archive_read(cut_path, &recorder.sink, NULL, &status), &status);
	assert_chunks_equal(archive.chunks, &recorder, 5);

	free_recorder(&recorder);
	free_small_archive(&archive);
	free(cut_path);
}

static void test_truncation_messages(void **state)
{
	struct small_archive archive;
	char *cut_path = make_path("cut-message.archive");
	struct recording_sink recorder;
	struct archive_status status;
	char expected[160];

	write_small_archive(&archive, "truncation-message.archive");
	init_recorder(&recorder);

	write_whole_file(cut_path, archive.bytes, 0);
	assert_int_equal(archive_read(cut_path, &recorder.sink, NULL, &status), -EIO);
	assert_string_equal(status.error, "archive is empty: 0 bytes");

	write_whole_file(cut_path, archive.bytes, archive.block_ends[1]);
	assert_int_equal(archive_read(cut_path, &recorder.sink, NULL, &status), -EIO);
	snprintf(expected, sizeof(expected), "archive truncated at byte %llu after block 2: the end record is missing",
		 (unsigned long long)archive.block_ends[1]);
	assert_string_equal(status.error, expected);

	write_whole_file(cut_path, archive.bytes, archive.block_ends[1] + BLOCK_HEADER_BYTES + 3);
	assert_int_equal(archive_read(cut_path, &recorder.sink, NULL, &status), -EIO);
	assert_non_null(strstr(status.error, "in block 3: expected "));
	assert_non_null(strstr(status.error, " compressed bytes, found 3"));

	free_recorder(&recorder);
	free_small_archive(&archive);
	free(cut_path);
}

/* Whether offset lies in the compressed data of one of the small archive's
 * blocks. */
static bool in_compressed_data(const struct small_archive *archive, uint64_t offset)
{
	uint64_t block_start = archive->header_end;

	for (size_t i = 0; i < 3; i++) {
		if (offset >= block_start + BLOCK_HEADER_BYTES && offset < archive->block_ends[i])
			return true;
		block_start = archive->block_ends[i];
	}
	return false;
}

static void test_any_flipped_byte_detected(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("flipped.archive");
	struct recording_sink recorder;
	struct archive_status status;

	write_small_archive(&archive, "flip-source.archive");

	/* A magic, a CRC32 or a length check covers every byte outside the
	 * compressed data. Inside it, deflate has equivalent encodings (a copy
	 * from a run of equal bytes at another distance, the unused bits after
	 * the final block), so a flip may inflate to the very same bytes. The
	 * block CRC32 protects those bytes, so no changed chunk reaches the sink. */
	for (size_t i = 0; i < archive.size; i++) {
		int result;

		archive.bytes[i] ^= 0x20;
		write_whole_file(damaged_path, archive.bytes, archive.size);
		archive.bytes[i] ^= 0x20;

		init_recorder(&recorder);
		result = archive_read(damaged_path, &recorder.sink, NULL, &status);
		if (result == 0 && !in_compressed_data(&archive, i))
			fail_msg("flipping byte %zu outside compressed data was not detected", i);
		if (result != 0 && result != -EBADMSG && result != -EIO)
			fail_msg("flipping byte %zu returned %d: %s", i, result, status.error);
		assert_int_equal(status.complete, result == 0);
		assert_true(recorder.count <= 5);
		assert_chunks_equal(archive.chunks, &recorder, recorder.count);
		free_recorder(&recorder);
	}

	free_small_archive(&archive);
	free(damaged_path);
}

static void test_flipped_block_data_keeps_earlier(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("flipped-data.archive");
	struct recording_sink recorder;
	struct archive_status status;
	uint64_t deflate_start;
	char expected[128];

	write_small_archive(&archive, "flip-data-source.archive");

	/* Block 2's deflate data starts after its block header and the 2-byte
	 * zlib header. Its lowest bit is BFINAL. Without it, inflate (zlib
	 * 1.2.13) goes on to read the Adler-32 trailer as one more deflate block
	 * and produces more bytes than the block header states. */
	deflate_start = archive.block_ends[0] + BLOCK_HEADER_BYTES + 2;
	assert_int_equal(archive.bytes[deflate_start] & 0x01, 1);
	archive.bytes[deflate_start] ^= 0x01;
	write_whole_file(damaged_path, archive.bytes, archive.size);
	assert_read_stops(damaged_path, &archive, -EBADMSG, 1);

	init_recorder(&recorder);
	archive_read(damaged_path, &recorder.sink, NULL, &status);
	snprintf(expected, sizeof(expected), "block 2 at byte %llu inflates to more than the 82 bytes its header states",
		 (unsigned long long)archive.block_ends[0]);
	assert_string_equal(status.error, expected);
	free_recorder(&recorder);

	free_small_archive(&archive);
	free(damaged_path);
}

static void test_flipped_block_crc_keeps_earlier(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("flipped-crc.archive");
	struct recording_sink recorder;
	struct archive_status status;
	uint64_t crc_offset;

	write_small_archive(&archive, "flip-crc-source.archive");

	crc_offset = archive.block_ends[1] + 12;
	archive.bytes[crc_offset] ^= 0x80;
	write_whole_file(damaged_path, archive.bytes, archive.size);
	assert_read_stops(damaged_path, &archive, -EBADMSG, 2);

	init_recorder(&recorder);
	archive_read(damaged_path, &recorder.sink, NULL, &status);
	assert_non_null(strstr(status.error, "block 3 at byte"));
	assert_non_null(strstr(status.error, "fails its CRC32"));
	free_recorder(&recorder);

	free_small_archive(&archive);
	free(damaged_path);
}

static void test_flipped_header_crc_rejected(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("flipped-header-crc.archive");
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_info info;

	write_small_archive(&archive, "flip-header-source.archive");

	archive.bytes[archive.header_end - 1] ^= 0x04;
	write_whole_file(damaged_path, archive.bytes, archive.size);
	assert_read_stops(damaged_path, &archive, -EBADMSG, 0);

	init_recorder(&recorder);
	archive_read(damaged_path, &recorder.sink, &info, &status);
	assert_non_null(strstr(status.error, "file header CRC32 mismatch"));
	assert_int_equal(status.stopped_at, 0);
	assert_string_equal(info.host_name, "");
	free_recorder(&recorder);

	free_small_archive(&archive);
	free(damaged_path);
}

static void test_wrong_magic_rejected(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("wrong-magic.archive");
	struct recording_sink recorder;
	struct archive_status status;

	write_small_archive(&archive, "magic-source.archive");
	memcpy(archive.bytes, "\x89PNG\r\n\x1a\n", 8);
	write_whole_file(damaged_path, archive.bytes, archive.size);

	init_recorder(&recorder);
	assert_int_equal(archive_read(damaged_path, &recorder.sink, NULL, &status), -EBADMSG);
	assert_string_equal(status.error,
			    "not a plainsight archive: bytes 0-7 are 89 50 4e 47 0d 0a 1a 0a, expected \"PSARCHIV\"");
	assert_int_equal(status.stopped_at, 0);
	assert_int_equal(recorder.count, 0);

	free_recorder(&recorder);
	free_small_archive(&archive);
	free(damaged_path);
}

static void test_wrong_version_rejected(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("wrong-version.archive");
	struct recording_sink recorder;
	struct archive_status status;
	uint32_t header_checksum;

	write_small_archive(&archive, "version-source.archive");

	/* Version 2 with a valid header CRC32, so only the version is wrong. */
	archive.bytes[8] = 2;
	header_checksum = (uint32_t)crc32(0, archive.bytes, (uInt)archive.header_end - 4);
	for (int i = 0; i < 4; i++)
		archive.bytes[archive.header_end - 4 + i] = (uint8_t)(header_checksum >> (8 * i));
	write_whole_file(damaged_path, archive.bytes, archive.size);

	init_recorder(&recorder);
	assert_int_equal(archive_read(damaged_path, &recorder.sink, NULL, &status), -EBADMSG);
	assert_string_equal(status.error, "unsupported archive version 2 at byte 8: this reader supports version 1");
	assert_int_equal(recorder.count, 0);

	free_recorder(&recorder);
	free_small_archive(&archive);
	free(damaged_path);
}

static void test_missing_file_rejected(void **state)
{
	struct recording_sink recorder;
	struct archive_status status;
	char *path = make_path("does-not-exist.archive");

	init_recorder(&recorder);
	assert_int_equal(archive_read(path, &recorder.sink, NULL, &status), -ENOENT);
	assert_string_equal(status.error, "failed to open the archive: No such file or directory");
	assert_false(status.complete);

	assert_int_equal(archive_read(NULL, &recorder.sink, NULL, &status), -EINVAL);
	assert_int_equal(archive_read(path, NULL, NULL, &status), -EINVAL);

	free(path);
}

static void test_sink_error_stops_read(void **state)
{
	struct small_archive archive;
	struct recording_sink recorder;
	struct archive_status status;

	write_small_archive(&archive, "sink-error.archive");

	init_recorder(&recorder);
	recorder.fail_at = 3;
	recorder.fail_error = -ECANCELED;
	assert_int_equal(archive_read(archive.path, &recorder.sink, NULL, &status), -ECANCELED);
	assert_false(status.complete);
	assert_int_equal(status.chunks, 2);
	assert_int_equal(status.blocks, 1);
	assert_int_equal(status.stopped_at, archive.block_ends[0]);
	assert_non_null(strstr(status.error, "the sink rejected chunk 3 (block 2"));
	assert_chunks_equal(archive.chunks, &recorder, 2);

	free_recorder(&recorder);
	free_small_archive(&archive);
}

/* ---- hand-made blocks ---- */

static uint8_t *put_le(uint8_t *out, uint64_t value, int bytes)
{
	for (int i = 0; i < bytes; i++)
		out[i] = (uint8_t)(value >> (8 * i));
	return out + bytes;
}

/* Writes an archive that has only the file header of test_info. */
static char *write_header_only(const char *name)
{
	char *path = make_path(name);
	size_t header_bytes = 8 + 4 + 8 + 2 + strlen(test_info.host_name) + 2 + strlen(test_info.agent_version) + 4;
	uint8_t *bytes;
	size_t size;

	write_archive(path, NULL, 0);
	bytes = read_whole_file(path, &size);
	write_whole_file(path, bytes, header_bytes);
	free(bytes);
	return path;
}

/* Appends a block header with the given fields, then the data. */
static void append_raw_block(const char *path, uint32_t magic, uint32_t uncompressed_bytes, uint32_t checksum,
			     const uint8_t *compressed, uint32_t compressed_bytes)
{
	uint8_t header[BLOCK_HEADER_BYTES];
	uint8_t *out = header;

	out = put_le(out, magic, 4);
	out = put_le(out, compressed_bytes, 4);
	out = put_le(out, uncompressed_bytes, 4);
	put_le(out, checksum, 4);
	append_to_file(path, header, sizeof(header));
	if (compressed_bytes > 0)
		append_to_file(path, compressed, compressed_bytes);
}

/* Compresses records into a valid block and appends it. */
static void append_block(const char *path, const uint8_t *records, size_t length)
{
	uLongf compressed_bytes = compressBound(length);
	uint8_t *compressed = malloc(compressed_bytes);

	assert_non_null(compressed);
	assert_int_equal(compress2(compressed, &compressed_bytes, records, length, 6), Z_OK);
	append_raw_block(path, 0x4b425350u, (uint32_t)length, (uint32_t)crc32(0, records, (uInt)length), compressed,
			 (uint32_t)compressed_bytes);
	free(compressed);
}

static uint8_t *put_record_header(uint8_t *out, uint32_t type, uint32_t payload_bytes)
{
	out = put_le(out, type, 4);
	return put_le(out, payload_bytes, 4);
}

static uint8_t *put_common(uint8_t *out, uint64_t time_ns, uint32_t pid, uint32_t tid, uint64_t conn_id)
{
	out = put_le(out, time_ns, 8);
	out = put_le(out, pid, 4);
	out = put_le(out, tid, 4);
	return put_le(out, conn_id, 8);
}

static uint8_t *put_end_record(uint8_t *out, uint64_t chunks, uint64_t blocks)
{
	out = put_record_header(out, RECORD_END, 16);
	out = put_le(out, chunks, 8);
	return put_le(out, blocks, 8);
}

static void assert_read_fails(const char *path, int expected_error, const char *expected_message,
			      uint64_t expected_chunks)
{
	struct recording_sink recorder;
	struct archive_status status;
	int result;

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, NULL, &status);
	if (!strstr(status.error, expected_message))
		fail_msg("error \"%s\" does not contain \"%s\"", status.error, expected_message);
	assert_int_equal(result, expected_error);
	assert_false(status.complete);
	assert_int_equal(status.chunks, expected_chunks);
	assert_int_equal(recorder.count, expected_chunks);
	free_recorder(&recorder);
}

/* Records encoded by hand from docs/ARCHIVE.md read back as chunks. */
static void test_hand_encoded_archive_read(void **state)
{
	char *path = write_header_only("hand-encoded.archive");
	struct recording_sink recorder;
	struct archive_status status;
	struct archive_info info;
	uint8_t records[512];
	uint8_t *out = records;
	int result;

	out = put_record_header(out, 1, 24 + 10 + 3);
	out = put_common(out, 1000, 11, 12, 13);
	*out++ = 1; /* ingress */
	*out++ = 1; /* OpenSSL */
	out = put_le(out, 4096, 8);
	memcpy(out, "a\0b", 3);
	out += 3;

	out = put_record_header(out, 2, 24 + 40);
	out = put_common(out, 1001, 11, 12, 13);
	out = put_le(out, 2, 2);
	out = put_le(out, 40000, 2);
	memcpy(out, "\x0a\x00\x00\x01", 4);
	memset(out + 4, 0, 12);
	out += 16;
	out = put_le(out, 10, 2);
	out = put_le(out, 443, 2);
	memset(out, 0xab, 16);
	out += 16;

	out = put_record_header(out, 4, 24 + 12);
	out = put_common(out, 1002, 11, 11, 0);
	memcpy(out, "/usr/bin/foo", 12);
	out += 12;

	out = put_end_record(out, 3, 1);
	append_block(path, records, (size_t)(out - records));

	init_recorder(&recorder);
	result = archive_read(path, &recorder.sink, &info, &status);

	assert_complete(path, result, &status);
	assert_string_equal(info.host_name, test_info.host_name);
	assert_int_equal(recorder.count, 3);

	assert_int_equal(recorder.chunks[0].chunk.type, TLS_CHUNK_DATA);
	assert_int_equal(recorder.chunks[0].chunk.time_ns, 1000);
	assert_int_equal(recorder.chunks[0].chunk.pid, 11);
	assert_int_equal(recorder.chunks[0].chunk.tid, 12);
	assert_int_equal(recorder.chunks[0].chunk.conn_id, 13);
	assert_int_equal(recorder.chunks[0].chunk.direction, TLS_INGRESS);
	assert_int_equal(recorder.chunks[0].chunk.library, TLS_LIBRARY_OPENSSL);
	assert_int_equal(recorder.chunks[0].chunk.stream_offset, 4096);
	assert_int_equal(recorder.chunks[0].chunk.data_bytes, 3);
	assert_memory_equal(recorder.chunks[0].chunk.data, "a\0b", 3);

	assert_int_equal(recorder.chunks[1].chunk.type, TLS_CHUNK_CONNECTION);
	assert_int_equal(recorder.chunks[1].chunk.local.family, AF_INET);
	assert_int_equal(recorder.chunks[1].chunk.local.port, 40000);
	assert_memory_equal(recorder.chunks[1].chunk.local.address, "\x0a\x00\x00\x01", 4);
	assert_int_equal(recorder.chunks[1].chunk.peer.family, AF_INET6);
	assert_int_equal(recorder.chunks[1].chunk.peer.port, 443);
	assert_int_equal(recorder.chunks[1].chunk.peer.address[15], 0xab);

	assert_int_equal(recorder.chunks[2].chunk.type, TLS_CHUNK_PROCESS);
	assert_string_equal(recorder.chunks[2].chunk.executable_path, "/usr/bin/foo");

	free_recorder(&recorder);
	free(path);
}

static void test_huge_uncompressed_size_rejected(void **state)
{
	char *path = write_header_only("huge-size.archive");
	uint8_t compressed[64] = { 0 };

	append_raw_block(path, 0x4b425350u, UINT32_MAX, 0, compressed, sizeof(compressed));
	assert_read_fails(path, -EBADMSG, "states 4294967295 uncompressed bytes, expected 1 to 1048576", 0);

	free(path);
}

static void test_bad_compressed_size_rejected(void **state)
{
	char *path = write_header_only("huge-compressed.archive");
	uint8_t compressed[64] = { 0 };
	uint8_t *bytes;
	size_t size;

	append_raw_block(path, 0x4b425350u, 100, 0, compressed, 0);
	assert_read_fails(path, -EBADMSG, "states 0 compressed bytes", 0);

	free(path);

	/* A compressed length one past the limit, with the file too short for
	 * it: the limit is checked before any data is read. */
	path = write_header_only("huge-compressed-2.archive");
	append_raw_block(path, 0x4b425350u, 100, 0, compressed, sizeof(compressed));
	bytes = read_whole_file(path, &size);
	put_le(bytes + size - sizeof(compressed) - BLOCK_HEADER_BYTES + 4, (1u << 20) + 1025, 4);
	write_whole_file(path, bytes, size);
	assert_read_fails(path, -EBADMSG, "states 1049601 compressed bytes, expected 1 to 1049600", 0);

	free(bytes);
	free(path);
}

static void test_decompression_bomb_rejected(void **state)
{
	char *path = write_header_only("bomb.archive");
	size_t zeros_bytes = 8u << 20;
	uint8_t *zeros = calloc(1, zeros_bytes);
	uLongf compressed_bytes = compressBound(zeros_bytes);
	uint8_t *compressed = malloc(compressed_bytes);

	/* 8 MiB of zeros compress to about 8 KiB, and the header claims 1000. */
	assert_non_null(zeros);
	assert_non_null(compressed);
	assert_int_equal(compress2(compressed, &compressed_bytes, zeros, zeros_bytes, 9), Z_OK);
	append_raw_block(path, 0x4b425350u, 1000, (uint32_t)crc32(0, zeros, 1000), compressed,
			 (uint32_t)compressed_bytes);

	assert_read_fails(path, -EBADMSG, "inflates to more than the 1000 bytes its header states", 0);

	free(zeros);
	free(compressed);
	free(path);
}

static void test_block_format_errors(void **state)
{
	uint8_t records[64];
	uint8_t *out = put_end_record(records, 0, 1);
	size_t end_bytes = (size_t)(out - records);
	uLongf compressed_bytes = compressBound(end_bytes) + 8;
	uint8_t compressed[128];
	uint32_t end_checksum = (uint32_t)crc32(0, records, (uInt)end_bytes);
	char *path;

	assert_int_equal(compress2(compressed, &compressed_bytes, records, end_bytes, 6), Z_OK);

	path = write_header_only("block-magic.archive");
	append_raw_block(path, 0x4b425351u, (uint32_t)end_bytes, end_checksum, compressed, (uint32_t)compressed_bytes);
	assert_read_fails(path, -EBADMSG, "invalid block magic 0x4b425351 at byte 53 (block 1), expected 0x4b425350", 0);
	free(path);

	path = write_header_only("block-empty.archive");
	append_raw_block(path, 0x4b425350u, 0, 0, compressed, (uint32_t)compressed_bytes);
	assert_read_fails(path, -EBADMSG, "states 0 uncompressed bytes", 0);
	free(path);

	path = write_header_only("block-short.archive");
	append_raw_block(path, 0x4b425350u, (uint32_t)end_bytes + 1, end_checksum, compressed,
			 (uint32_t)compressed_bytes);
	assert_read_fails(path, -EBADMSG, "inflates to 24 bytes, its header states 25", 0);
	free(path);

	/* Garbage after the zlib stream but inside the stated length. */
	path = write_header_only("block-trailing.archive");
	memset(compressed + compressed_bytes, 0x55, 8);
	append_raw_block(path, 0x4b425350u, (uint32_t)end_bytes, end_checksum, compressed,
			 (uint32_t)compressed_bytes + 8);
	assert_read_fails(path, -EBADMSG, "8 bytes follow the end of the stream", 0);
	free(path);

	path = write_header_only("block-cut-stream.archive");
	append_raw_block(path, 0x4b425350u, (uint32_t)end_bytes, end_checksum, compressed,
			 (uint32_t)compressed_bytes - 6);
	assert_read_fails(path, -EBADMSG, "the stream is incomplete", 0);
	free(path);

	path = write_header_only("block-not-zlib.archive");
	append_raw_block(path, 0x4b425350u, (uint32_t)end_bytes, end_checksum, records, (uint32_t)end_bytes);
	assert_read_fails(path, -EBADMSG, "invalid zlib data in block 1 (data at byte 69)", 0);
	free(path);

	path = write_header_only("no-blocks.archive");
	assert_read_fails(path, -EIO, "archive truncated at byte 53: no block follows the file header", 0);
	free(path);
}

/* Writes one block of the given records and expects the read to fail with
 * -EBADMSG before any chunk reaches the sink. */
static void assert_records_rejected(const char *name, const uint8_t *records, size_t length,
				    const char *expected_message)
{
	char *path = write_header_only(name);

	append_block(path, records, length);
	assert_read_fails(path, -EBADMSG, expected_message, 0);
	free(path);
}

static void test_invalid_records_rejected(void **state)
{
	uint8_t records[256];
	uint8_t *out;

	out = put_record_header(records, 9, 24);
	out = put_common(out, 1, 2, 3, 4);
	assert_records_rejected("unknown-type.archive", records, (size_t)(out - records),
				"invalid record at offset 0 of block 1 (block at byte 53): unknown record type 9");

	/* A valid tick, then a record whose length runs past the block. */
	out = put_record_header(records, 6, 24);
	out = put_common(out, 1, 2, 3, 4);
	out = put_record_header(out, 6, 1000);
	out = put_common(out, 1, 2, 3, 4);
	assert_records_rejected("record-too-long.archive", records, (size_t)(out - records),
				"invalid record at offset 32 of block 1 (block at byte 53): record of type 6 has "
				"1000 payload bytes, but only 24 remain in the block");

	out = put_record_header(records, 6, 24);
	out = put_common(out, 1, 2, 3, 4);
	out = put_le(out, 6, 3);
	assert_records_rejected("record-header-cut.archive", records, (size_t)(out - records),
				"the block ends with 3 bytes, too few for an 8-byte record header");

	out = put_record_header(records, 6, 25);
	out = put_common(out, 1, 2, 3, 4);
	*out++ = 0;
	assert_records_rejected("tick-too-long.archive", records, (size_t)(out - records),
				"tick record has 25 payload bytes, expected 24");

	out = put_record_header(records, 1, 30);
	out = put_common(out, 1, 2, 3, 4);
	out = put_le(out, 0, 6);
	assert_records_rejected("data-too-short.archive", records, (size_t)(out - records),
				"data record has 30 payload bytes, expected at least 34");

	out = put_record_header(records, 1, 34);
	out = put_common(out, 1, 2, 3, 4);
	*out++ = 2;
	*out++ = 1;
	out = put_le(out, 0, 8);
	assert_records_rejected("data-direction.archive", records, (size_t)(out - records),
				"data record has direction 2, expected 0 or 1");

	out = put_record_header(records, 2, 60);
	out = put_common(out, 1, 2, 3, 4);
	memset(out, 0, 36);
	out += 36;
	assert_records_rejected("connection-short.archive", records, (size_t)(out - records),
				"connection record has 60 payload bytes, expected 64");

	out = put_record_header(records, 2, 64);
	out = put_common(out, 1, 2, 3, 4);
	out = put_le(out, 3, 2);
	memset(out, 0, 38);
	out += 38;
	assert_records_rejected("connection-family.archive", records, (size_t)(out - records),
				"unknown address family 3");

	out = put_record_header(records, 3, 24);
	out = put_common(out, 1, 2, 3, 4);
	assert_records_rejected("close-short.archive", records, (size_t)(out - records),
				"close record has 24 payload bytes, expected 40");

	out = put_record_header(records, 4, 24 + 5);
	out = put_common(out, 1, 2, 3, 4);
	memcpy(out, "/a\0bc", 5);
	out += 5;
	assert_records_rejected("process-nul.archive", records, (size_t)(out - records),
				"executable path contains a NUL byte");

	out = put_end_record(records, 0, 1);
	out = put_record_header(out, 6, 24);
	out = put_common(out, 1, 2, 3, 4);
	assert_records_rejected("end-not-last.archive", records, (size_t)(out - records),
				"32 bytes follow the end record in its block");

	out = put_end_record(records, 5, 1);
	assert_records_rejected("end-counts.archive", records, (size_t)(out - records),
				"end record counts 5 chunks in 1 blocks, the archive has 0 chunks in 1 blocks");

	out = put_record_header(records, RECORD_END, 8);
	out = put_le(out, 0, 8);
	assert_records_rejected("end-short.archive", records, (size_t)(out - records),
				"end record has 8 payload bytes, expected 16");
}

static void test_invalid_record_keeps_block_out(void **state)
{
	char *path = write_header_only("bad-second-block.archive");
	uint8_t records[128];
	uint8_t *out;

	/* Block 1 is valid. Block 2 starts with a valid tick, then a record of
	 * unknown type, so none of block 2 reaches the sink. */
	out = put_record_header(records, 6, 24);
	out = put_common(out, 1, 0, 0, 0);
	append_block(path, records, (size_t)(out - records));

	out = put_record_header(records, 6, 24);
	out = put_common(out, 2, 0, 0, 0);
	out = put_record_header(out, 9, 0);
	append_block(path, records, (size_t)(out - records));

	assert_read_fails(path, -EBADMSG, "unknown record type 9", 1);
	free(path);
}

static void test_trailing_data_rejected(void **state)
{
	struct small_archive archive;
	char *damaged_path = make_path("trailing.archive");
	struct recording_sink recorder;
	struct archive_status status;
	char expected[128];

	write_small_archive(&archive, "trailing-source.archive");
	write_whole_file(damaged_path, archive.bytes, archive.size);
	append_to_file(damaged_path, (const uint8_t *)"x", 1);

	init_recorder(&recorder);
	assert_int_equal(archive_read(damaged_path, &recorder.sink, NULL, &status), -EBADMSG);
	snprintf(expected, sizeof(expected), "unexpected data at byte %zu after the block with the end record",
		 archive.size);
	assert_string_equal(status.error, expected);
	assert_false(status.complete);
	assert_int_equal(status.blocks, 3);
	assert_int_equal(status.chunks, 5);
	assert_int_equal(status.stopped_at, archive.size);
	assert_chunks_equal(archive.chunks, &recorder, 5);

	free_recorder(&recorder);
	free_small_archive(&archive);
	free(damaged_path);
}

static void test_header_text_errors(void **state)
{
	char *path = write_header_only("header-text.archive");
	size_t size;
	uint8_t *bytes = read_whole_file(path, &size);
	uint32_t header_checksum;

	/* A host name with a NUL byte and a valid CRC32. */
	bytes[22 + 4] = 0;
	header_checksum = (uint32_t)crc32(0, bytes, (uInt)size - 4);
	put_le(bytes + size - 4, header_checksum, 4);
	write_whole_file(path, bytes, size);
	assert_read_fails(path, -EBADMSG, "invalid file header at byte 22: host name contains a NUL byte", 0);

	/* A host name length past the limit. */
	put_le(bytes + 20, 256, 2);
	write_whole_file(path, bytes, size);
	assert_read_fails(path, -EBADMSG, "invalid file header at byte 20: host name has 256 bytes, the limit is 255", 0);

	free(bytes);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_chunk_type),
		cmocka_unit_test(test_round_trip_empty_archive),
		cmocka_unit_test(test_many_chunks_several_blocks),
		cmocka_unit_test(test_large_record_own_block),
		cmocka_unit_test(test_flush_writes_small_blocks),
		cmocka_unit_test(test_writer_rejects_invalid_chunks),
		cmocka_unit_test(test_writer_open_errors),
		cmocka_unit_test(test_write_error_is_sticky),
		cmocka_unit_test(test_header_write_error),
		cmocka_unit_test(test_truncation_at_every_byte),
		cmocka_unit_test(test_truncation_messages),
		cmocka_unit_test(test_any_flipped_byte_detected),
		cmocka_unit_test(test_flipped_block_data_keeps_earlier),
		cmocka_unit_test(test_flipped_block_crc_keeps_earlier),
		cmocka_unit_test(test_flipped_header_crc_rejected),
		cmocka_unit_test(test_wrong_magic_rejected),
		cmocka_unit_test(test_wrong_version_rejected),
		cmocka_unit_test(test_missing_file_rejected),
		cmocka_unit_test(test_sink_error_stops_read),
		cmocka_unit_test(test_hand_encoded_archive_read),
		cmocka_unit_test(test_huge_uncompressed_size_rejected),
		cmocka_unit_test(test_bad_compressed_size_rejected),
		cmocka_unit_test(test_decompression_bomb_rejected),
		cmocka_unit_test(test_block_format_errors),
		cmocka_unit_test(test_invalid_records_rejected),
		cmocka_unit_test(test_invalid_record_keeps_block_out),
		cmocka_unit_test(test_trailing_data_rejected),
		cmocka_unit_test(test_header_text_errors),
	};

	return cmocka_run_group_tests(tests, create_directory, remove_directory);
}

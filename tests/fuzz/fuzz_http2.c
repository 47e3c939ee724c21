/*
 * libFuzzer target for the HTTP/2 parser (agent/stream/http2*.c).
 *
 * The input is a script of steps for the two directions of a connection:
 * raw bytes, gaps, and HEADERS frames whose fields are encoded with one
 * libnghttp2 deflater per direction, so that header blocks use the dynamic
 * table. A step can also encode a block without feeding it, which leaves
 * the parser behind the encoder's table as after a mid-connection attach.
 *
 * The script is run three times: each step whole, each step split at a
 * point the input chooses, and each step in small pieces. The runs must
 * report the same messages and errors, compared through a digest, so the
 * target checks that the output does not depend on how input is split, as
 * well as memory safety and termination.
 *
 * Build and run (clang 14 on Debian 12):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Iagent tests/fuzz/fuzz_http2.c agent/stream/http2*.c \
 *     -lnghttp2 -o build/fuzz_http2
 *   build/fuzz_http2 -max_len=8192 -timeout=10 CORPUS_DIR
 *
 * Input layout: one options byte (bit 0: start with the client preface,
 * bit 1: do not call h2_finish, bits 4-7: body_keep_bytes / 16), then
 * steps of one control byte, a 16-bit little-endian length and that many
 * bytes. The low 3 bits of the control byte choose the step (see
 * step_kind) and the high 5 bits where the step is split.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "stream/http2.h"

#define MAX_STEPS 256
#define MAX_FIELDS 32

enum step_kind {
	STEP_EGRESS = 0,
	STEP_INGRESS = 1,
	STEP_GAP_EGRESS = 2,
	STEP_GAP_INGRESS = 3,
	/* A HEADERS frame: stream id, flags, then "name\0value\0" pairs. */
	STEP_HEADERS_EGRESS = 4,
	STEP_HEADERS_INGRESS = 5,
	/* The same fields encoded but not fed. */
	STEP_UNSEEN_EGRESS = 6,
	STEP_UNSEEN_INGRESS = 7,
};

struct step {
	enum tls_direction direction;
	bool gap;
	uint64_t gap_bytes;
	uint8_t *data;
	size_t length;
	/* Split point in 32nds of the length. */
	uint8_t split;
};

struct script {
	struct step steps[MAX_STEPS];
	size_t count;
	bool preface;
	bool finish;
	size_t body_keep_bytes;
};

/* FNV-1a over everything the parser reports. */
struct digest {
	uint64_t hash;
	uint64_t messages;
	uint64_t errors;
};

static void digest_add(struct digest *digest, const void *data, size_t length)
{
	const uint8_t *bytes = data;
	size_t i;

	for (i = 0; i < length; i++) {
		digest->hash ^= bytes[i];
		digest->hash *= 0x100000001b3ull;
	}
}

static void digest_text(struct digest *digest, const char *text)
{
	digest_add(digest, text, strlen(text) + 1);
}

static void on_message(void *user, const struct h2_message *message)
{
	struct digest *digest = user;
	uint64_t numbers[7] = {
		message->stream_id, message->kind,        message->header_count, message->unknown_fields,
		message->body_bytes, message->body_kept, message->lost_bytes,
	};
	uint8_t flags[2] = { message->partial, message->truncated };
	size_t i;

	digest->messages++;
	digest_add(digest, numbers, sizeof(numbers));
	digest_add(digest, flags, sizeof(flags));
	for (i = 0; i < message->header_count; i++) {
		digest_text(digest, message->headers[i].name);
		digest_text(digest, message->headers[i].value);
	}
	if (message->body_kept > 0)
		digest_add(digest, message->body, message->body_kept);
}

static void on_error(void *user, enum tls_direction direction, uint64_t bytes, const char *what)
{
	struct digest *digest = user;
	uint64_t numbers[2] = { direction, bytes };

	digest->errors++;
	digest_add(digest, numbers, sizeof(numbers));
	digest_text(digest, what);
}

static const struct h2_parser_ops ops = {
	.on_message = on_message,
	.on_error = on_error,
};

/* Encodes "name\0value\0" pairs from data into a HEADERS frame with
 * END_HEADERS, in out (at least 9 bytes plus the deflater's bound). */
static size_t headers_frame(nghttp2_hd_deflater *deflater, const uint8_t *data, size_t length, uint8_t *out,
			    size_t out_bytes, bool feed)
{
	nghttp2_nv fields[MAX_FIELDS];
	size_t count = 0;
	size_t at = 2;
	ssize_t block_bytes;
	uint32_t stream_id;

	if (length < 2)
		return 0;
	while (at < length && count < MAX_FIELDS) {
		const uint8_t *name = data + at;
		const uint8_t *name_end = memchr(name, '\0', length - at);
		const uint8_t *value;
		const uint8_t *value_end;

		if (!name_end)
			break;
		value = name_end + 1;
		value_end = memchr(value, '\0', (size_t)(data + length - value));
		if (!value_end)
			break;
		fields[count].name = (uint8_t *)name;
		fields[count].namelen = (size_t)(name_end - name);
		fields[count].value = (uint8_t *)value;
		fields[count].valuelen = (size_t)(value_end - value);
		fields[count].flags = NGHTTP2_NV_FLAG_NONE;
		count++;
		at = (size_t)(value_end - data) + 1;
	}

	if (nghttp2_hd_deflate_bound(deflater, fields, count) + 9 > out_bytes)
		return 0;
	block_bytes = nghttp2_hd_deflate_hd(deflater, out + 9, out_bytes - 9, fields, count);
	if (block_bytes < 0 || !feed)
		return 0;

	stream_id = data[0];
	out[0] = (uint8_t)(block_bytes >> 16);
	out[1] = (uint8_t)(block_bytes >> 8);
	out[2] = (uint8_t)block_bytes;
	out[3] = 0x1;                        /* HEADERS */
	out[4] = (uint8_t)(data[1] | 0x04); /* END_HEADERS and the input's flags */
	out[5] = 0;
	out[6] = 0;
	out[7] = 0;
	out[8] = (uint8_t)stream_id;
	return 9 + (size_t)block_bytes;
}

static bool step_add(struct script *script, nghttp2_hd_deflater **deflaters, uint8_t control, const uint8_t *data,
		     size_t length)
{
	enum step_kind kind = control & 7;
	struct step *step = &script->steps[script->count];

	memset(step, 0, sizeof(*step));
	step->direction = kind & 1 ? TLS_INGRESS : TLS_EGRESS;
	step->split = control >> 3;

	switch (kind) {
	case STEP_EGRESS:
	case STEP_INGRESS:
		step->data = malloc(length ? length : 1);
		if (!step->data)
			return false;
		memcpy(step->data, data, length);
		step->length = length;
		break;
	case STEP_GAP_EGRESS:
	case STEP_GAP_INGRESS:
		step->gap = true;
		step->gap_bytes = length;
		break;
	default: {
		size_t bytes = 9 + 2 * length + 64 * MAX_FIELDS;

		step->data = malloc(bytes);
		if (!step->data)
			return false;
		step->length = headers_frame(deflaters[step->direction], data, length, step->data, bytes,
					     kind < STEP_UNSEEN_EGRESS);
		if (step->length == 0) {
			free(step->data);
			return true;
		}
		break;
	}
	}
	script->count++;
	return true;
}

static void script_free(struct script *script)
{
	size_t i;

	for (i = 0; i < script->count; i++)
		free(script->steps[i].data);
}

static bool script_parse(struct script *script, const uint8_t *data, size_t size)
{
	nghttp2_hd_deflater *deflaters[2] = { NULL, NULL };
	size_t at = 1;
	bool ok = true;

	memset(script, 0, sizeof(*script));
	if (size < 1)
		return false;
	script->preface = data[0] & 1;
	script->finish = !(data[0] & 2);
	script->body_keep_bytes = (size_t)(data[0] >> 4) * 16;

	if (nghttp2_hd_deflate_new(&deflaters[0], 4096) != 0 || nghttp2_hd_deflate_new(&deflaters[1], 4096) != 0) {
		ok = false;
		goto out;
	}

	while (at + 3 <= size && script->count < MAX_STEPS) {
		uint8_t control = data[at];
		size_t length = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;

		at += 3;
		if (length > size - at)
			length = size - at;
		if (!step_add(script, deflaters, control, data + at, length)) {
			ok = false;
			break;
		}
		if ((control & 7) != STEP_GAP_EGRESS && (control & 7) != STEP_GAP_INGRESS)
			at += length;
	}

out:
	if (deflaters[0])
		nghttp2_hd_deflate_del(deflaters[0]);
	if (deflaters[1])
		nghttp2_hd_deflate_del(deflaters[1]);
	return ok;
}

enum split_mode {
	SPLIT_NONE,
	SPLIT_CHOSEN,
	SPLIT_PIECES,
};

static void run(const struct script *script, enum split_mode mode, struct digest *digest)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct h2_connection *connection;
	size_t i;

	memset(digest, 0, sizeof(*digest));
	digest->hash = 0xcbf29ce484222325ull;
	connection = h2_connection_new(&ops, digest, script->body_keep_bytes);
	if (!connection)
		abort();
	if (script->preface)
		h2_feed(connection, TLS_EGRESS, (const uint8_t *)preface, sizeof(preface) - 1);

	for (i = 0; i < script->count; i++) {
		const struct step *step = &script->steps[i];
		size_t at = 0;
		size_t piece = 1;

		if (step->gap) {
			h2_gap(connection, step->direction, step->gap_bytes);
			continue;
		}

		switch (mode) {
		case SPLIT_NONE:
			h2_feed(connection, step->direction, step->data, step->length);
			break;
		case SPLIT_CHOSEN:
			at = step->length * step->split / 32;
			h2_feed(connection, step->direction, step->data, at);
			h2_feed(connection, step->direction, step->data + at, step->length - at);
			break;
		case SPLIT_PIECES:
			while (at < step->length) {
				size_t take = step->length - at < piece ? step->length - at : piece;

				h2_feed(connection, step->direction, step->data + at, take);
				at += take;
				piece = piece % 13 + 1;
			}
			break;
		}
	}

	if (script->finish)
		h2_finish(connection);
	h2_connection_free(connection);
}

static bool digest_equal(const struct digest *a, const struct digest *b)
{
	return a->hash == b->hash && a->messages == b->messages && a->errors == b->errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script script;
	struct digest whole, chosen, pieces;

	if (!script_parse(&script, data, size)) {
		script_free(&script);
		return 0;
	}

	run(&script, SPLIT_NONE, &whole);
	run(&script, SPLIT_CHOSEN, &chosen);
	run(&script, SPLIT_PIECES, &pieces);
	script_free(&script);

	/* The messages must not depend on how the input was split. */
	if (!digest_equal(&whole, &chosen) || !digest_equal(&whole, &pieces))
		abort();
	return 0;
}

/*
 * libFuzzer target for the HTTP/1 parser: the input is fed as a request
 * stream and as a response stream, each whole, split in two at a point the
 * input chooses, and byte by byte. The three runs must report the same
 * messages; any difference aborts.
 *
 * Built and run by `make fuzz` (clang 14 on Debian 12).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream/http1.h"

/* A digest of what a run reported: enough to compare runs. */
struct digest {
	uint64_t messages;
	uint64_t garbage_bytes;
	uint64_t sum; /* over fields of every message */
};

static void on_message(void *user, const struct h1_message *message)
{
	struct digest *digest = user;

	digest->messages++;
	digest->sum = digest->sum * 31 + message->body_bytes;
	digest->sum = digest->sum * 31 + message->header_count;
	digest->sum = digest->sum * 31 + (uint64_t)message->status_code;
	digest->sum = digest->sum * 31 + message->start_offset;
	digest->sum = digest->sum * 31 + message->end_offset;
	digest->sum = digest->sum * 31 + message->truncated;
	digest->sum = digest->sum * 31 + (message->target ? strlen(message->target) : 0);
}

static void on_garbage(void *user, uint64_t offset, uint64_t bytes)
{
	struct digest *digest = user;

	digest->garbage_bytes += bytes;
}

static bool head_is_bodyless(void *user, const struct h1_message *response)
{
	return response->status_code == 299;
}

static const struct h1_parser_ops ops = {
	.response_is_bodyless = head_is_bodyless,
	.on_message = on_message,
	.on_garbage = on_garbage,
};

/* Feeds data in pieces of `piece` bytes (0: whole). */
static struct digest run(enum h1_kind kind, const uint8_t *data, size_t size, size_t split, bool bytewise)
{
	struct digest digest = { 0 };
	struct h1_parser *parser = h1_parser_new(kind, &ops, &digest, 64);

	if (!parser)
		abort();
	if (bytewise) {
		for (size_t i = 0; i < size; i++)
			h1_parser_feed(parser, data + i, 1);
	} else {
		h1_parser_feed(parser, data, split);
		h1_parser_feed(parser, data + split, size - split);
	}
	h1_parser_finish(parser);
	h1_parser_free(parser);
	return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t split = size ? data[0] % (size + 1) : 0;

	for (int kind = H1_REQUEST; kind <= H1_RESPONSE; kind++) {
		struct digest whole = run(kind, data, size, size, false);
		struct digest halves = run(kind, data, size, split, false);
		struct digest bytes = run(kind, data, size, 0, true);

		if (memcmp(&whole, &halves, sizeof(whole)) || memcmp(&whole, &bytes, sizeof(whole)))
			abort();
	}
	return 0;
}

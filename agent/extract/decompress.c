/*
 * Content codings of request bodies (RFC 9110 section 8.4.1): gzip
 * (RFC 1952), deflate, which is a zlib stream (RFC 1950) though some
 * senders send raw deflate (RFC 1951), and br (RFC 7932).
 *
 * Every decoder writes into a buffer of at most max_bytes + 1 bytes. The
 * byte past the limit distinguishes a body that continues from one that
 * ends exactly at it, and is dropped. Decoding stops there, so the memory and
 * the time it takes are bounded by the limit however small the input:
 * deflate reaches about 1000:1, and a second coding layer multiplies that.
 * The brotli decoder also allocates its window, at most 16 MiB (RFC 7932
 * section 9.1), since large windows are not enabled.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brotli/decode.h>
#include <zlib.h>

#include "../common/log.h"
#include "internal.h"

/* zlib's windowBits for each stream format (zlib.h, inflateInit2). */
#define ZLIB_WINDOW_RAW (-15)
#define ZLIB_WINDOW_ZLIB 15
#define ZLIB_WINDOW_GZIP_OR_ZLIB (15 + 32)

/* Smallest first allocation of a decoding buffer. */
#define OUTPUT_INITIAL_BYTES 4096

enum content_coding {
	CODING_GZIP,
	CODING_DEFLATE,
	CODING_BROTLI,
};

struct output_buffer {
	uint8_t *data;
	size_t bytes;
	size_t capacity;
	size_t max_capacity; /* the limit plus one byte */
};

/* The outcome of a decoder. */
enum decode_status {
	DECODE_DONE,	   /* the stream ended, or the input ran out */
	DECODE_FULL,	   /* the output reached max_capacity */
	DECODE_INVALID,	   /* the stream is invalid from some byte on */
};

/* ---- output buffer ---- */

static int output_init(struct output_buffer *out, size_t input_bytes, size_t max_bytes)
{
	size_t capacity = OUTPUT_INITIAL_BYTES;

	memset(out, 0, sizeof(*out));
	out->max_capacity = max_bytes + 1;
	if (input_bytes < SIZE_MAX / 4 && input_bytes * 4 > capacity)
		capacity = input_bytes * 4;
	if (capacity > out->max_capacity)
		capacity = out->max_capacity;

	out->data = malloc(capacity);
	if (!out->data)
		return -ENOMEM;
	out->capacity = capacity;
	return 0;
}

/* Makes room for more output. Returns 1 when the buffer is at its maximum
 * already, 0 or -ENOMEM. */
static int output_grow(struct output_buffer *out)
{
	size_t capacity;
	uint8_t *data;

	if (out->bytes < out->capacity)
		return 0;
	if (out->capacity >= out->max_capacity)
		return 1;

	capacity = out->capacity * 2;
	if (capacity < out->capacity || capacity > out->max_capacity)
		capacity = out->max_capacity;
	data = realloc(out->data, capacity);
	if (!data)
		return -ENOMEM;

	out->data = data;
	out->capacity = capacity;
	return 0;
}

/* ---- zlib: gzip, zlib and raw deflate ---- */

static bool starts_gzip_member(const uint8_t *bytes, size_t count)
{
	/* ID1, ID2 and CM = 8 (deflate), RFC 1952 section 2.3.1. */
	return count >= 3 && bytes[0] == 0x1f && bytes[1] == 0x8b && bytes[2] == 0x08;
}

static bool starts_zlib_header(const uint8_t *bytes, size_t count)
{
	/* CM = 8, CINFO <= 7 and the FCHECK rule of RFC 1950 section 2.2. */
	return count >= 2 && (bytes[0] & 0x0f) == 8 && (bytes[0] >> 4) <= 7 && (bytes[0] * 256 + bytes[1]) % 31 == 0;
}

static int inflate_status(int ret, z_stream *stream, bool *stop)
{
	*stop = true;
	switch (ret) {
	case Z_OK:
		/* No input left with room left in the output: the body was
		 * cut before the end of the stream. */
		*stop = stream->avail_in == 0 && stream->avail_out > 0;
		return DECODE_DONE;
	case Z_BUF_ERROR:
		*stop = stream->avail_in == 0;
		return DECODE_DONE;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default:
		/* Z_DATA_ERROR, Z_NEED_DICT (a preset dictionary, which HTTP
		 * never supplies), Z_STREAM_ERROR. */
		return DECODE_INVALID;
	}
}

static int run_inflate(z_stream *stream, struct output_buffer *out, int window_bits)
{
	size_t room;
	bool stop;
	int ret;

	for (;;) {
		ret = output_grow(out);
		if (ret)
			return ret < 0 ? ret : DECODE_FULL;

		room = out->capacity - out->bytes;
		stream->next_out = out->data + out->bytes;
		stream->avail_out = (uInt)(room > UINT_MAX ? UINT_MAX : room);
		ret = inflate(stream, Z_NO_FLUSH);
		out->bytes = (size_t)(stream->next_out - out->data);

		/* A gzip body may hold several members, to be decoded one
		 * after the other (RFC 1952 section 2.2). */
		if (ret == Z_STREAM_END) {
			if (window_bits == ZLIB_WINDOW_GZIP_OR_ZLIB &&
			    starts_gzip_member(stream->next_in, stream->avail_in) && inflateReset(stream) == Z_OK)
				continue;
			return DECODE_DONE;
		}

		ret = inflate_status(ret, stream, &stop);
		if (ret != DECODE_DONE || stop)
			return ret;
	}
}

static int decode_zlib(const uint8_t *in, size_t in_bytes, int window_bits, struct output_buffer *out)
{
	z_stream stream;
	int ret;

	/* zlib counts input in uInt, so a larger body is decoded up to
	 * UINT_MAX bytes. */
	memset(&stream, 0, sizeof(stream));
	stream.next_in = (Bytef *)in;
	stream.avail_in = (uInt)(in_bytes > UINT_MAX ? UINT_MAX : in_bytes);

	ret = inflateInit2(&stream, window_bits);
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	if (ret != Z_OK)
		return DECODE_INVALID;

	ret = run_inflate(&stream, out, window_bits);
	inflateEnd(&stream);
	return ret;
}

/* ---- brotli ---- */

static int decode_brotli(const uint8_t *in, size_t in_bytes, struct output_buffer *out)
{
	BrotliDecoderState *state;
	BrotliDecoderResult result;
	const uint8_t *next_in = in;
	size_t avail_in = in_bytes;
	size_t previous_avail_in;
	size_t previous_bytes;
	size_t avail_out;
	uint8_t *next_out;
	int ret;

	state = BrotliDecoderCreateInstance(NULL, NULL, NULL);
	if (!state)
		return -ENOMEM;

	for (;;) {
		ret = output_grow(out);
		if (ret) {
			ret = ret < 0 ? ret : DECODE_FULL;
			break;
		}

		previous_bytes = out->bytes;
		previous_avail_in = avail_in;
		next_out = out->data + out->bytes;
		avail_out = out->capacity - out->bytes;
		result = BrotliDecoderDecompressStream(state, &avail_in, &next_in, &avail_out, &next_out, NULL);
		out->bytes = (size_t)(next_out - out->data);

		/* NEEDS_MORE_INPUT with all input read: the body was cut. */
		if (result == BROTLI_DECODER_RESULT_SUCCESS || result == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
			ret = DECODE_DONE;
			break;
		}

		/* NEEDS_MORE_OUTPUT is expected with the output full. With room
		 * left and nothing done, another call would not do more. */
		if (result == BROTLI_DECODER_RESULT_ERROR ||
		    (out->bytes == previous_bytes && avail_in == previous_avail_in && avail_out > 0)) {
			ret = DECODE_INVALID;
			break;
		}
	}

	BrotliDecoderDestroyInstance(state);
	return ret;
}

/* ---- codings ---- */

static int decode_one(const uint8_t *in, size_t in_bytes, enum content_coding coding, struct output_buffer *out,
		      enum field_decoding *decoding)
{
	int ret;

	switch (coding) {
	case CODING_GZIP:
		*decoding = FIELD_DECODING_GZIP;
		return decode_zlib(in, in_bytes, ZLIB_WINDOW_GZIP_OR_ZLIB, out);
	case CODING_BROTLI:
		*decoding = FIELD_DECODING_BROTLI;
		return decode_brotli(in, in_bytes, out);
	case CODING_DEFLATE:
		break;
	}

	/* "deflate" is a zlib stream (RFC 9110 section 8.4.1.2), but some
	 * senders use raw deflate. A zlib header is tried first, raw deflate
	 * when there is none or when the zlib stream is invalid from its
	 * first byte. */
	if (starts_zlib_header(in, in_bytes)) {
		*decoding = FIELD_DECODING_GZIP;
		ret = decode_zlib(in, in_bytes, ZLIB_WINDOW_ZLIB, out);
		if (ret != DECODE_INVALID || out->bytes > 0)
			return ret;
	}
	*decoding = FIELD_DECODING_DEFLATE;
	out->bytes = 0;
	return decode_zlib(in, in_bytes, ZLIB_WINDOW_RAW, out);
}

static bool token_is(const char *token, size_t token_bytes, const char *name)
{
	return strlen(name) == token_bytes && strncasecmp(token, name, token_bytes) == 0;
}

/* Parses a Content-Encoding value into codings in the order they were
 * applied. Returns the count, or -1 for a coding that cannot be decoded
 * (zstd, compress) or too many codings. */
static int parse_codings(const char *value, enum content_coding *codings)
{
	int count = 0;

	while (*value) {
		size_t token_bytes;

		value += strspn(value, " \t,");
		token_bytes = strcspn(value, " \t,");
		if (!token_bytes)
			break;

		if (token_is(value, token_bytes, "identity")) {
			value += token_bytes;
			continue;
		}
		if (count == EXTRACT_MAX_CONTENT_CODINGS)
			return -1;

		/* x-gzip is an alias of gzip (RFC 9110 section 8.4.1.3). */
		if (token_is(value, token_bytes, "gzip") || token_is(value, token_bytes, "x-gzip"))
			codings[count++] = CODING_GZIP;
		else if (token_is(value, token_bytes, "deflate"))
			codings[count++] = CODING_DEFLATE;
		else if (token_is(value, token_bytes, "br"))
			codings[count++] = CODING_BROTLI;
		else
			return -1;
		value += token_bytes;
	}
	return count;
}

void decoded_body_free(struct decoded_body *body)
{
	free(body->owned);
	body->owned = NULL;
}

/* Sets out to the body as it is, cut to max_bytes, so that the limit
 * bounds the work of the later steps whether or not the body was encoded. */
static void decoded_body_keep_input(struct decoded_body *out, const uint8_t *body, size_t body_bytes,
				    size_t max_bytes)
{
	decoded_body_free(out);
	memset(out, 0, sizeof(*out));
	out->data = body;
	out->bytes = body_bytes;
	if (body_bytes > max_bytes) {
		out->bytes = max_bytes;
		out->cut = true;
	}
}

/* Undoes one coding of out, replacing its data. Returns 1 when the coding
 * could not be undone at all. */
static int undo_coding(struct decoded_body *out, enum content_coding coding, size_t max_bytes)
{
	struct output_buffer buffer;
	enum field_decoding decoding;
	int ret;

	ret = output_init(&buffer, out->bytes, max_bytes);
	if (ret)
		return ret;

	ret = decode_one(out->data, out->bytes, coding, &buffer, &decoding);
	if (ret < 0 || (ret == DECODE_INVALID && buffer.bytes == 0)) {
		free(buffer.data);
		return ret < 0 ? ret : 1;
	}

	if (buffer.bytes > max_bytes) {
		buffer.bytes = max_bytes;
		out->cut = true;
	}
	free(out->owned);
	out->owned = buffer.data;
	out->data = buffer.data;
	out->bytes = buffer.bytes;
	out->decodings[out->decoding_count++] = decoding;
	return 0;
}

int body_decode(const uint8_t *body, size_t body_bytes, const char *content_encoding, size_t max_bytes,
		struct decoded_body *out)
{
	enum content_coding codings[EXTRACT_MAX_CONTENT_CODINGS];
	int count = 0;
	int ret;
	int i;

	memset(out, 0, sizeof(*out));
	out->data = body;
	out->bytes = body_bytes;

	if (content_encoding)
		count = parse_codings(content_encoding, codings);
	if (count < 0) {
		log_debug("extract: body with Content-Encoding \"%s\" left encoded, a coding is not supported",
			  content_encoding);
		decoded_body_keep_input(out, body, body_bytes, max_bytes);
		return 0;
	}

	/* Some SDKs send gzip without saying so (PostHog's
	 * compression=gzip-js query parameter). */
	if (count == 0 && starts_gzip_member(body, body_bytes))
		codings[count++] = CODING_GZIP;

	/* The last coding listed was applied last, so it is undone first. */
	for (i = count - 1; i >= 0; i--) {
		ret = undo_coding(out, codings[i], max_bytes);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			decoded_body_keep_input(out, body, body_bytes, max_bytes);
			return 0;
		}
	}
	if (count == 0)
		decoded_body_keep_input(out, body, body_bytes, max_bytes);
	return 0;
}

/*
 * Decodings of single values, and the detection that decides which one a
 * value needs. A value that turns out to be encoded is decoded and its
 * fields are added under the value's own path, with the decoding appended
 * to the chain, up to limits->max_depth nested decodings.
 *
 * The rules are tried in this order, and the first that applies wins (see
 * docs/FIELDS.md for examples):
 *
 *   1. a JSON object or array;
 *   2. an absolute http or https URL with a query, whose query is parsed;
 *   3. a JWS or JWT in compact form, whose payload is base64url-decoded;
 *   4. base64 or base64url (RFC 4648) that decodes to printable UTF-8 text;
 *   5. a query string (name=value pairs joined by '&');
 *   6. text with percent-escapes (RFC 3986 section 2.1).
 *
 * Base64 comes before the query string, because base64 padding ("YWJj=")
 * also fits the query shape. The query string comes before percent-escapes,
 * so that "a=1&b=%26" is split before "%26" is decoded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Shortest text, padding included, that is tried as base64. Shorter words
 * and identifiers decode to printable text by chance too often. */
#define BASE64_MIN_TEXT_BYTES 8

/* The decoding that detection found for a value. */
struct value_decoding {
	bool found;
	enum field_decoding decoding;
	cJSON *json;	  /* FIELD_DECODING_JSON */
	const char *text; /* the decoded text, or the query inside the value */
	size_t text_bytes;
	char *owned;	  /* the buffer behind text when it is not the value */
};

/* ---- percent-encoding ---- */

static int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_escape_at(const char *in, size_t in_bytes, size_t i)
{
	return in[i] == '%' && i + 2 < in_bytes && hex_digit_value(in[i + 1]) >= 0 && hex_digit_value(in[i + 2]) >= 0;
}

size_t percent_decode(const char *in, size_t in_bytes, char *out, bool plus_as_space, bool *changed)
{
	size_t out_bytes = 0;
	size_t i = 0;

	*changed = false;
	while (i < in_bytes) {
		if (is_escape_at(in, in_bytes, i)) {
			out[out_bytes++] = (char)(hex_digit_value(in[i + 1]) << 4 | hex_digit_value(in[i + 2]));
			*changed = true;
			i += 3;
			continue;
		}

		if (plus_as_space && in[i] == '+') {
			out[out_bytes++] = ' ';
			*changed = true;
		} else {
			out[out_bytes++] = in[i];
		}
		i++;
	}
	return out_bytes;
}

static bool has_percent_escape(const char *text, size_t text_bytes)
{
	size_t i;

	for (i = 0; i < text_bytes; i++) {
		if (is_escape_at(text, text_bytes, i))
			return true;
	}
	return false;
}

/* ---- base64 ---- */

static int base64_digit_value(char c, bool *standard_only, bool *url_only)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;

	if (c == '+' || c == '/') {
		*standard_only = true;
		return c == '+' ? 62 : 63;
	}
	if (c == '-' || c == '_') {
		*url_only = true;
		return c == '-' ? 62 : 63;
	}
	return -1;
}

/*
 * Decodes base64 (RFC 4648 section 4) or base64url (section 5) into out,
 * which has room for text_bytes * 3 / 4 bytes, and names the alphabet in
 * *alphabet: base64url when '-' or '_' occur, base64 otherwise. Padding is
 * optional, but when present the length must be a multiple of 4. The bits
 * left over by the last digit must be zero, as in the canonical encoding
 * of section 3.5, a check that most random words fail.
 */
static bool base64_decode(const char *text, size_t text_bytes, uint8_t *out, size_t *out_bytes,
			  enum field_decoding *alphabet)
{
	bool standard_only = false;
	bool url_only = false;
	size_t digits = text_bytes;
	uint32_t accumulator = 0;
	unsigned int bits = 0;
	size_t count = 0;
	size_t i;

	while (digits > 0 && text_bytes - digits < 2 && text[digits - 1] == '=')
		digits--;
	if (digits < text_bytes && text_bytes % 4 != 0)
		return false;
	if (digits % 4 == 1)
		return false;

	for (i = 0; i < digits; i++) {
		int value = base64_digit_value(text[i], &standard_only, &url_only);

		if (value < 0)
			return false;
		accumulator = accumulator << 6 | (uint32_t)value;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[count++] = (uint8_t)(accumulator >> bits);
			accumulator &= (1u << bits) - 1;
		}
	}

	if (standard_only && url_only)
		return false;
	if (accumulator != 0)
		return false;

	*out_bytes = count;
	*alphabet = url_only ? FIELD_DECODING_BASE64URL : FIELD_DECODING_BASE64;
	return true;
}

/* ---- text ---- */

/* Returns the length of the UTF-8 sequence at bytes, or 0 when it is
 * invalid (RFC 3629 section 4) or a C0 or C1 control character other than
 * tab, CR and LF. */
static size_t printable_sequence_bytes(const uint8_t *bytes, size_t count)
{
	uint8_t lead = bytes[0];
	uint8_t low = 0x80;
	uint8_t high = 0xbf;
	size_t length;
	size_t i;

	if (lead < 0x80) {
		if (lead == '\t' || lead == '\n' || lead == '\r')
			return 1;
		return (lead >= 0x20 && lead != 0x7f) ? 1 : 0;
	}

	if (lead >= 0xc2 && lead <= 0xdf) {
		length = 2;
	} else if (lead >= 0xe0 && lead <= 0xef) {
		length = 3;
		if (lead == 0xe0)
			low = 0xa0;
		if (lead == 0xed)
			high = 0x9f;
	} else if (lead >= 0xf0 && lead <= 0xf4) {
		length = 4;
		if (lead == 0xf0)
			low = 0x90;
		if (lead == 0xf4)
			high = 0x8f;
	} else {
		return 0;
	}

	if (length > count)
		return 0;
	if (bytes[1] < low || bytes[1] > high)
		return 0;
	for (i = 2; i < length; i++) {
		if (bytes[i] < 0x80 || bytes[i] > 0xbf)
			return 0;
	}

	/* U+0080 to U+009F are the C1 controls. */
	if (lead == 0xc2 && bytes[1] <= 0x9f)
		return 0;
	return length;
}

bool text_is_printable(const uint8_t *bytes, size_t count)
{
	size_t i = 0;

	while (i < count) {
		size_t length = printable_sequence_bytes(bytes + i, count - i);

		if (!length)
			return false;
		i += length;
	}
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim_spaces(const char **text, size_t *text_bytes)
{
	while (*text_bytes > 0 && is_space((*text)[0])) {
		(*text)++;
		(*text_bytes)--;
	}
	while (*text_bytes > 0 && is_space((*text)[*text_bytes - 1]))
		(*text_bytes)--;
}

/* ---- detection ---- */

static bool detect_json(const char *text, size_t text_bytes, struct value_decoding *found)
{
	if (text[0] != '{' && text[0] != '[')
		return false;

	found->json = json_parse_whole(text, text_bytes, true);
	if (!found->json)
		return false;

	found->decoding = FIELD_DECODING_JSON;
	found->text = text;
	found->text_bytes = text_bytes;
	return true;
}

static bool detect_url_query(const char *text, size_t text_bytes, struct value_decoding *found)
{
	if (!url_find_query(text, text_bytes, &found->text, &found->text_bytes))
		return false;

	found->decoding = FIELD_DECODING_QUERY;
	return true;
}

static int detect_base64(const char *text, size_t text_bytes, struct value_decoding *found)
{
	enum field_decoding alphabet;
	size_t decoded_bytes;
	uint8_t *decoded;

	if (text_bytes < BASE64_MIN_TEXT_BYTES)
		return 0;

	decoded = malloc(text_bytes / 4 * 3 + 3);
	if (!decoded)
		return -ENOMEM;

	if (!base64_decode(text, text_bytes, decoded, &decoded_bytes, &alphabet) ||
	    !text_is_printable(decoded, decoded_bytes)) {
		free(decoded);
		return 0;
	}

	found->found = true;
	found->decoding = alphabet;
	found->owned = (char *)decoded;
	found->text = found->owned;
	found->text_bytes = decoded_bytes;
	return 0;
}

static bool is_base64url_text(const char *text, size_t text_bytes)
{
	size_t i;

	for (i = 0; i < text_bytes; i++) {
		char c = text[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Decodes a base64url segment of a JWS into a new buffer when it is
 * printable text. Returns NULL when it is not, and sets *err on -ENOMEM. */
static char *decode_jws_segment(const char *segment, size_t segment_bytes, size_t *decoded_bytes, int *err)
{
	enum field_decoding alphabet;
	uint8_t *decoded;

	if (!segment_bytes || !is_base64url_text(segment, segment_bytes))
		return NULL;

	decoded = malloc(segment_bytes / 4 * 3 + 3);
	if (!decoded) {
		*err = -ENOMEM;
		return NULL;
	}
	if (!base64_decode(segment, segment_bytes, decoded, decoded_bytes, &alphabet) ||
	    !text_is_printable(decoded, *decoded_bytes)) {
		free(decoded);
		return NULL;
	}
	return (char *)decoded;
}

/*
 * A JWS in compact serialization (RFC 7515 section 7.1), which is how JWTs
 * travel: header.payload.signature, each base64url without padding. The
 * header must decode to a JSON object. The payload is what the value
 * carries, so it becomes the decoded text. The signature may be empty, as
 * in an unsecured JWT (RFC 7519 section 6).
 */
static int detect_jws(const char *text, size_t text_bytes, struct value_decoding *found)
{
	const char *first_dot = memchr(text, '.', text_bytes);
	const char *second_dot;
	const char *payload;
	size_t header_bytes;
	size_t payload_bytes;
	size_t decoded_bytes;
	char *decoded;
	cJSON *header;
	int err = 0;

	if (!first_dot)
		return 0;
	payload = first_dot + 1;
	second_dot = memchr(payload, '.', (size_t)(text + text_bytes - payload));
	if (!second_dot || !is_base64url_text(second_dot + 1, (size_t)(text + text_bytes - second_dot - 1)))
		return 0;
	header_bytes = (size_t)(first_dot - text);
	payload_bytes = (size_t)(second_dot - payload);

	decoded = decode_jws_segment(text, header_bytes, &decoded_bytes, &err);
	if (!decoded)
		return err;
	header = json_parse_whole(decoded, decoded_bytes, true);
	free(decoded);
	if (!cJSON_IsObject(header)) {
		cJSON_Delete(header);
		return 0;
	}
	cJSON_Delete(header);

	decoded = decode_jws_segment(payload, payload_bytes, &decoded_bytes, &err);
	if (!decoded)
		return err;

	found->found = true;
	found->decoding = FIELD_DECODING_BASE64URL;
	found->owned = decoded;
	found->text = decoded;
	found->text_bytes = decoded_bytes;
	return 0;
}

static bool detect_query(const char *text, size_t text_bytes, struct value_decoding *found)
{
	if (!query_has_shape(text, text_bytes))
		return false;

	found->decoding = FIELD_DECODING_QUERY;
	found->text = text;
	found->text_bytes = text_bytes;
	return true;
}

static int detect_percent(const char *text, size_t text_bytes, struct value_decoding *found)
{
	bool changed;

	if (!has_percent_escape(text, text_bytes))
		return 0;

	found->owned = malloc(text_bytes);
	if (!found->owned)
		return -ENOMEM;

	found->found = true;
	found->decoding = FIELD_DECODING_URL;
	found->text = found->owned;
	found->text_bytes = percent_decode(text, text_bytes, found->owned, false, &changed);
	return 0;
}

static int detect_decoding(const char *value, size_t value_bytes, struct value_decoding *found)
{
	const char *text = value;
	size_t text_bytes = value_bytes;
	int err;

	memset(found, 0, sizeof(*found));
	trim_spaces(&text, &text_bytes);
	if (!text_bytes)
		return 0;

	if (detect_json(text, text_bytes, found) || detect_url_query(text, text_bytes, found)) {
		found->found = true;
		return 0;
	}

	err = detect_jws(text, text_bytes, found);
	if (err || found->found)
		return err;
	err = detect_base64(text, text_bytes, found);
	if (err || found->found)
		return err;

	if (detect_query(text, text_bytes, found)) {
		found->found = true;
		return 0;
	}

	return detect_percent(text, text_bytes, found);
}

static void value_decoding_free(struct value_decoding *found)
{
	cJSON_Delete(found->json);
	free(found->owned);
}

/* ---- expansion ---- */

static int add_decoded_fields(struct extract_context *ctx, const struct value_decoding *found)
{
	switch (found->decoding) {
	case FIELD_DECODING_JSON:
		return json_add_leaves(ctx, found->json, found->text, found->text_bytes);
	case FIELD_DECODING_QUERY:
		return query_add_pairs(ctx, found->text, found->text_bytes);
	default:
		/* Percent-decoded or base64 text is a value of its own, which
		 * may in turn be encoded. */
		return value_add(ctx, found->text, found->text_bytes);
	}
}

int value_expand(struct extract_context *ctx, const char *value, size_t value_bytes)
{
	struct value_decoding found;
	int err;

	if (field_list_full(ctx) && ctx->list->fields_cut)
		return 0;

	err = detect_decoding(value, value_bytes, &found);
	if (err || !found.found)
		goto out;

	/* A decoding that applies but is one too deep is what max_depth
	 * cuts, so it is reported as a cut. */
	if (ctx->depth >= ctx->limits->max_depth) {
		ctx->list->fields_cut = true;
		goto out;
	}
	if (!chain_push(ctx, found.decoding))
		goto out;

	ctx->depth++;
	err = add_decoded_fields(ctx, &found);
	ctx->depth--;
	chain_pop(ctx);

out:
	value_decoding_free(&found);
	return err;
}

int value_add(struct extract_context *ctx, const char *value, size_t value_bytes)
{
	int err = field_add(ctx, value, value_bytes);

	if (err)
		return err;
	return value_expand(ctx, value, value_bytes);
}

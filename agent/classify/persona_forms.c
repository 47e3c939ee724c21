/*
 * The chains of steps that turn a normalised persona value into what a
 * request carries, and the list of patterns they give. For each normalised
 * form N, in this order:
 *
 *   N
 *   N > url, N > base64, N > base64url, N > hex, N > json
 *   N > url > url, N > url > base64, N > base64 > url
 *   N > H > hex, N > H > base64, N > H > base64url
 *   N > H > hex > base64, N > H > hex > base64url, N > H > base64 > url
 *   N > url > H > T, N > base64 > H > T
 *
 * for each hash H (md5, sha1, sha256, sha512) and each digest text T (hex,
 * base64, base64url). A text made by several chains keeps the first, so
 * the order goes from the simplest chain to the deepest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "persona_internal.h"

#define DIGEST_MAX_BYTES 64 /* SHA-512 */

static const enum persona_step hash_steps[] = {
	PERSONA_STEP_MD5,
	PERSONA_STEP_SHA1,
	PERSONA_STEP_SHA256,
	PERSONA_STEP_SHA512,
};

struct chain {
	uint8_t steps[PERSONA_MAX_STEPS];
	uint8_t count;
};

/* The list that the chains of one normalised form go to, and their value. */
struct form_context {
	struct persona_pattern_list *list;
	uint32_t value;
};

/* ---- the pattern list, a set by text ---- */

static uint64_t pattern_hash(const char *text, size_t length, const char *tail, bool caseless)
{
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a, 64 bits */
	size_t i;

	for (i = 0; i < length; i++)
		hash = (hash ^ (uint8_t)text[i]) * 0x100000001b3ull;
	for (i = 0; tail && tail[i]; i++)
		hash = (hash ^ (uint8_t)tail[i]) * 0x100000001b3ull;
	return (hash ^ caseless) * 0x100000001b3ull;
}

static bool pattern_equal(const struct persona_pattern *pattern, const char *text, size_t length,
			  const char *tail, bool caseless)
{
	if (pattern->length != length || pattern->caseless != caseless)
		return false;
	if ((pattern->tail == NULL) != (tail == NULL) || (tail && strcmp(pattern->tail, tail) != 0))
		return false;
	return memcmp(pattern->text, text, length) == 0;
}

/* Returns the slot of an equal pattern, or of the empty slot where it goes. */
static size_t find_slot(const struct persona_pattern_list *list, const char *text, size_t length,
			const char *tail, bool caseless)
{
	size_t mask = list->slot_count - 1;
	size_t slot = (size_t)pattern_hash(text, length, tail, caseless) & mask;

	while (list->slots[slot]) {
		const struct persona_pattern *pattern = &list->items[list->slots[slot] - 1];

		if (pattern_equal(pattern, text, length, tail, caseless))
			break;
		slot = (slot + 1) & mask;
	}
	return slot;
}

/* Keeps the set at most half full, so that probes stay short. */
static int grow_slots(struct persona_pattern_list *list)
{
	size_t slot_count = list->slot_count ? list->slot_count * 2 : 256;
	uint32_t *old_slots = list->slots;
	size_t i;

	if ((list->count + 1) * 2 <= list->slot_count)
		return 0;
	list->slots = calloc(slot_count, sizeof(*list->slots));
	if (!list->slots) {
		list->slots = old_slots;
		return -ENOMEM;
	}
	list->slot_count = slot_count;
	for (i = 0; i < list->count; i++) {
		const struct persona_pattern *pattern = &list->items[i];

		list->slots[find_slot(list, pattern->text, pattern->length, pattern->tail,
				      pattern->caseless)] = (uint32_t)(i + 1);
	}
	free(old_slots);
	return 0;
}

static int grow_items(struct persona_pattern_list *list)
{
	size_t capacity = list->capacity ? list->capacity * 2 : 256;
	struct persona_pattern *items;

	if (list->count < list->capacity)
		return 0;
	items = realloc(list->items, capacity * sizeof(*items));
	if (!items)
		return -ENOMEM;
	list->items = items;
	list->capacity = capacity;
	return 0;
}

static int list_add(struct form_context *context, const struct chain *chain, const char *text, size_t length,
		    const char *tail, bool caseless)
{
	struct persona_pattern_list *list = context->list;
	struct persona_pattern *pattern;
	size_t slot;

	if (length == 0)
		return 0;
	if (grow_slots(list) < 0 || grow_items(list) < 0)
		return -ENOMEM;
	slot = find_slot(list, text, length, tail, caseless);
	if (list->slots[slot])
		return 0;

	pattern = &list->items[list->count];
	memset(pattern, 0, sizeof(*pattern));
	pattern->text = malloc(length + 1);
	if (!pattern->text)
		return -ENOMEM;
	memcpy(pattern->text, text, length);
	pattern->text[length] = '\0';
	pattern->length = length;
	pattern->tail = tail;
	pattern->value = context->value;
	memcpy(pattern->steps, chain->steps, chain->count);
	pattern->step_count = chain->count;
	pattern->caseless = caseless;
	pattern->whole_field = length < PERSONA_MIN_PATTERN_BYTES;
	pattern->token = length < PERSONA_TOKEN_BYTES;

	list->count++;
	list->slots[slot] = (uint32_t)list->count;
	return 0;
}

void persona_pattern_list_free(struct persona_pattern_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i].text);
	free(list->items);
	free(list->slots);
	memset(list, 0, sizeof(*list));
}

/* ---- chains ---- */

static struct chain chain_with(const struct chain *chain, enum persona_step step)
{
	struct chain longer = *chain;

	if (longer.count < PERSONA_MAX_STEPS)
		longer.steps[longer.count++] = (uint8_t)step;
	return longer;
}

static bool is_base64_step(uint8_t step)
{
	return step == PERSONA_STEP_BASE64 || step == PERSONA_STEP_BASE64URL;
}

/* Returns the padding at the end of a base64 text, or of its URL encoding,
 * as a static string, and shortens length by it. Many senders drop the
 * padding, so the pattern is the text without it. */
static const char *split_padding(const struct chain *chain, const char *text, size_t *length)
{
	uint8_t last = chain->steps[chain->count - 1];
	uint8_t before = chain->count >= 2 ? chain->steps[chain->count - 2] : PERSONA_STEP_COUNT;

	if (is_base64_step(last)) {
		if (*length >= 2 && memcmp(text + *length - 2, "==", 2) == 0) {
			*length -= 2;
			return "==";
		}
		if (*length >= 1 && text[*length - 1] == '=') {
			*length -= 1;
			return "=";
		}
	} else if (last == PERSONA_STEP_URL && is_base64_step(before)) {
		if (*length >= 6 && memcmp(text + *length - 6, "%3D%3D", 6) == 0) {
			*length -= 6;
			return "%3D%3D";
		}
		if (*length >= 3 && memcmp(text + *length - 3, "%3D", 3) == 0) {
			*length -= 3;
			return "%3D";
		}
	}
	return NULL;
}

/* Adds text as a pattern made by chain, and empties text for reuse. */
static int emit(struct form_context *context, const struct chain *chain, struct persona_text *text,
		bool caseless)
{
	size_t length = text->length;
	const char *tail;
	int err;

	if (text->failed) {
		persona_text_free(text);
		return -ENOMEM;
	}
	tail = split_padding(chain, text->bytes, &length);
	err = list_add(context, chain, text->bytes, length, tail, caseless);
	text->length = 0;
	return err;
}

/* Appends the encoding of one step (lowercase hex, encodeURIComponent). */
static void encode(struct persona_text *out, enum persona_step step, const char *input, size_t length)
{
	switch (step) {
	case PERSONA_STEP_URL:
		persona_encode_url(out, input, length);
		break;
	case PERSONA_STEP_BASE64:
	case PERSONA_STEP_BASE64URL:
		persona_encode_base64(out, (const uint8_t *)input, length, step == PERSONA_STEP_BASE64URL);
		break;
	case PERSONA_STEP_HEX:
		persona_encode_hex(out, (const uint8_t *)input, length, false);
		break;
	default:
		persona_encode_json(out, input, length, false);
		break;
	}
}

/* N > url, base64, base64url, hex, json; then two encodings deep. The url
 * and json steps come in two variants each (form encoding with "+" for a
 * space; JSON with \u0040 for @), named alike because decoding either gives
 * the same text. */
static int add_encodings(struct form_context *context, const struct chain *base,
			 const struct persona_text *normal)
{
	static const enum persona_step single[] = {
		PERSONA_STEP_URL, PERSONA_STEP_BASE64, PERSONA_STEP_BASE64URL,
		PERSONA_STEP_HEX, PERSONA_STEP_JSON,
	};
	static const enum persona_step pairs[][2] = {
		{ PERSONA_STEP_URL, PERSONA_STEP_URL },
		{ PERSONA_STEP_URL, PERSONA_STEP_BASE64 },
		{ PERSONA_STEP_BASE64, PERSONA_STEP_URL },
	};
	struct persona_text out = { 0 };
	struct persona_text inner = { 0 };
	struct chain chain;
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(single) / sizeof(single[0]) && err == 0; i++) {
		chain = chain_with(base, single[i]);
		encode(&out, single[i], normal->bytes, normal->length);
		err = emit(context, &chain, &out, single[i] == PERSONA_STEP_HEX);
		if (err == 0 && single[i] == PERSONA_STEP_URL) {
			persona_encode_form(&out, normal->bytes, normal->length);
			err = emit(context, &chain, &out, false);
		} else if (err == 0 && single[i] == PERSONA_STEP_JSON) {
			persona_encode_json(&out, normal->bytes, normal->length, true);
			err = emit(context, &chain, &out, false);
		}
	}

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]) && err == 0; i++) {
		struct chain first = chain_with(base, pairs[i][0]);

		chain = chain_with(&first, pairs[i][1]);
		inner.length = 0;
		encode(&inner, pairs[i][0], normal->bytes, normal->length);
		if (inner.failed) {
			err = -ENOMEM;
			break;
		}
		encode(&out, pairs[i][1], inner.bytes, inner.length);
		err = emit(context, &chain, &out, false);
	}

	persona_text_free(&out);
	persona_text_free(&inner);
	return err;
}

/* Adds the encoding of input by step as a pattern made by chain + step. */
static int emit_encoded(struct form_context *context, const struct chain *chain, enum persona_step step,
			const char *input, size_t length)
{
	struct chain longer = chain_with(chain, step);
	struct persona_text out = { 0 };
	int err;

	encode(&out, step, input, length);
	err = emit(context, &longer, &out, step == PERSONA_STEP_HEX);
	persona_text_free(&out);
	return err;
}

/* N > H > hex > base64 and base64url, with the hex in both cases (they give
 * different base64), and N > H > base64 > url. */
static int add_encoded_digest_texts(struct form_context *context, const struct chain *hash_chain,
				    const uint8_t *digest, size_t digest_bytes)
{
	struct chain hex_chain = chain_with(hash_chain, PERSONA_STEP_HEX);
	struct chain base64_chain = chain_with(hash_chain, PERSONA_STEP_BASE64);
	struct persona_text inner = { 0 };
	int upper;
	int err = 0;

	for (upper = 0; upper <= 1 && err == 0; upper++) {
		inner.length = 0;
		persona_encode_hex(&inner, digest, digest_bytes, upper);
		if (inner.failed)
			err = -ENOMEM;
		if (err == 0)
			err = emit_encoded(context, &hex_chain, PERSONA_STEP_BASE64, inner.bytes,
					   inner.length);
		if (err == 0)
			err = emit_encoded(context, &hex_chain, PERSONA_STEP_BASE64URL, inner.bytes,
					   inner.length);
	}

	if (err == 0) {
		inner.length = 0;
		encode(&inner, PERSONA_STEP_BASE64, (const char *)digest, digest_bytes);
		err = inner.failed ? -ENOMEM
				   : emit_encoded(context, &base64_chain, PERSONA_STEP_URL, inner.bytes,
						  inner.length);
	}
	persona_text_free(&inner);
	return err;
}

/* The digest as hex, base64 and base64url, then, with encode_again, those
 * texts encoded once more. */
static int add_digest_texts(struct form_context *context, const struct chain *hash_chain,
			    const uint8_t *digest, size_t digest_bytes, bool encode_again)
{
	static const enum persona_step texts[] = {PERSONA_STEP_HEX, PERSONA_STEP_BASE64,
						  PERSONA_STEP_BASE64URL};
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]) && err == 0; i++)
		err = emit_encoded(context, hash_chain, texts[i], (const char *)digest, digest_bytes);
	if (err == 0 && encode_again)
		err = add_encoded_digest_texts(context, hash_chain, digest, digest_bytes);
	return err;
}

/* N > H > T for each hash H, with the second encodings when encode_again. */
static int add_hashes(struct form_context *context, const struct chain *base, const char *input,
		      size_t length, bool encode_again)
{
	uint8_t digest[DIGEST_MAX_BYTES];
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(hash_steps) / sizeof(hash_steps[0]) && err == 0; i++) {
		struct chain chain = chain_with(base, hash_steps[i]);
		size_t digest_bytes = persona_digest(hash_steps[i], input, length, digest);

		if (digest_bytes == 0) {
			context->list->digest_failed = true;
			continue;
		}
		err = add_digest_texts(context, &chain, digest, digest_bytes, encode_again);
	}
	return err;
}

/* N > url > H > T and N > base64 > H > T: a value encoded, then hashed. */
static int add_hashes_of_encodings(struct form_context *context, const struct chain *base,
				   const struct persona_text *normal)
{
	static const enum persona_step encodings[] = { PERSONA_STEP_URL, PERSONA_STEP_BASE64 };
	struct persona_text encoded = { 0 };
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(encodings) / sizeof(encodings[0]) && err == 0; i++) {
		struct chain chain = chain_with(base, encodings[i]);

		encoded.length = 0;
		encode(&encoded, encodings[i], normal->bytes, normal->length);
		if (encoded.failed) {
			err = -ENOMEM;
			break;
		}
		err = add_hashes(context, &chain, encoded.bytes, encoded.length, false);
	}
	persona_text_free(&encoded);
	return err;
}

static int add_chains(struct form_context *context, const struct persona_normal_form *normal)
{
	struct persona_text plain = { 0 };
	struct chain base = { .count = normal->step_count };
	int err;

	memcpy(base.steps, normal->steps, normal->step_count);
	persona_text_append(&plain, normal->text.bytes, normal->text.length);
	err = emit(context, &base, &plain, false);
	persona_text_free(&plain);

	if (err == 0)
		err = add_encodings(context, &base, &normal->text);
	if (err == 0)
		err = add_hashes(context, &base, normal->text.bytes, normal->text.length, true);
	if (err == 0)
		err = add_hashes_of_encodings(context, &base, &normal->text);
	return err;
}

int persona_forms_add(struct persona_pattern_list *list, uint32_t value, enum persona_kind kind,
		      const char *text)
{
	struct form_context context = { list, value };
	struct persona_normal_forms forms;
	size_t i;
	int err;

	err = persona_normal_forms(&forms, kind, text);
	for (i = 0; i < forms.count && err == 0; i++)
		err = add_chains(&context, &forms.items[i]);
	persona_normal_forms_free(&forms);
	return err;
}

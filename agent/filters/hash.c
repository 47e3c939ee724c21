/*
 * Hashes of tokens and host names for building the index and for the
 * page's host: the functions of internal.h applied to text of any case,
 * without reading past its end.
 */
#include "internal.h"

/* Bytes [0, count) of bytes, lowercase, with count at most 8, as a word
 * padded with zeros. */
static uint64_t lower_word(const char *bytes, size_t count)
{
	char word[8] = { 0 };

	for (size_t i = 0; i < count; i++)
		word[i] = (char)lower_ascii((unsigned char)bytes[i]);
	return load_word(word);
}

/* padded_hash() of the lowercase form of bytes [0, length). */
static uint64_t text_hash(const char *bytes, size_t length)
{
	uint64_t hash = word_hash_start(length);

	for (size_t i = 0; i < length; i += 8)
		hash = word_mix(hash, lower_word(bytes + i, length - i < 8 ? length - i : 8));
	return hash;
}

uint32_t token_hash(const char *bytes, size_t length)
{
	return hash_final(word_finish(text_hash(bytes, length)));
}

/* The last dot of name in [0, end), or SIZE_MAX. */
static size_t last_dot(const char *name, size_t end)
{
	const char *dot = memrchr(name, '.', end);

	return dot ? (size_t)(dot - name) : SIZE_MAX;
}

/* Labels are split at every dot, so "a." ends with an empty label, but
 * only the suffixes that start inside the name are reported. */
size_t label_suffix_hashes(const char *name, size_t length, uint32_t *hashes, uint16_t *starts, size_t max)
{
	uint64_t chain = DOMAIN_HASH_SEED;
	size_t end = length;
	size_t count = 0;

	while (count < max) {
		size_t dot = last_dot(name, end);
		size_t start = dot == SIZE_MAX ? 0 : dot + 1;

		chain = label_step(chain, text_hash(name + start, end - start));
		if (start < length) {
			hashes[count] = word_finish(chain);
			if (starts)
				starts[count] = (uint16_t)start;
			count++;
		}
		if (dot == SIZE_MAX)
			break;
		end = dot;
	}
	return count;
}

uint32_t domain_hash(const char *name, size_t length)
{
	uint64_t chain = DOMAIN_HASH_SEED;
	size_t end = length;

	for (;;) {
		size_t dot = last_dot(name, end);
		size_t start = dot == SIZE_MAX ? 0 : dot + 1;

		chain = label_step(chain, text_hash(name + start, end - start));
		if (dot == SIZE_MAX)
			return word_finish(chain);
		end = dot;
	}
}

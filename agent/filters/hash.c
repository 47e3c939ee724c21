/*
 * Hashes of tokens and host names, with the functions of internal.h.
 * Building the index hashes text of any case, without reading past its
 * end. Requests hash each suffix of a host from a padded lowercase copy.
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

/* Bit 7 of each byte of word that is 0. Unlike the shorter formula with
 * a subtraction, no borrow marks a byte above a zero byte. */
static uint64_t zero_bytes(uint64_t word)
{
	const uint64_t low_bits = 0x7f7f7f7f7f7f7f7full;

	return ~(((word & low_bits) + low_bits) | word | low_bits);
}

/* Start of the label that ends at end: after the last dot before end, or
 * 0. Reads 8 bytes at a time, from lower[0] on. */
static size_t label_start(const char *lower, size_t end)
{
	const uint64_t dots = 0x2e2e2e2e2e2e2e2eull;

	while (end > 0) {
		size_t from = end >= 8 ? end - 8 : 0;
		uint64_t found = zero_bytes(load_word(lower + from) ^ dots);

		if (end - from < 8)
			found &= (1ull << (8 * (end - from))) - 1;
		if (found)
			return from + (size_t)(63 - __builtin_clzll(found)) / 8 + 1;
		end = from;
	}
	return 0;
}

/* Labels are split at every dot, so "a." ends with an empty label, but
 * only the suffixes that start inside the name are reported. */
size_t padded_suffix_hashes(const char *lower, size_t length, uint32_t *hashes, uint16_t *starts, size_t max)
{
	uint64_t chain = DOMAIN_HASH_SEED;
	size_t end = length;
	size_t count = 0;

	while (count < max) {
		size_t start = label_start(lower, end);

		chain = label_step(chain, padded_hash(lower + start, end - start));
		if (start < length) {
			hashes[count] = hash_final(word_finish(chain));
			starts[count] = (uint16_t)start;
			count++;
		}
		if (start == 0)
			break;
		end = start - 1;
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

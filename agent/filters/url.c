/*
 * The request URL in the form that matching reads: a lowercase copy, the
 * hashes of its distinct tokens and where they are, where its host is,
 * and the hashes of the host's suffixes. This preparation is a large part
 * of each request's time, so it avoids work per byte: where SSE2 is
 * available (every x86-64 CPU), the copy and the search for token
 * characters and dots take 16 bytes at a time, and tokens and labels are
 * hashed 8 bytes at a time.
 */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

#define BLOCK_BYTES 16
#define WORD_BITS 64

/* Masks of one block of 16 bytes: bit i for byte i. */
struct block_masks {
	uint64_t tokens;
	uint64_t dots;
};

#ifdef __SSE2__
/* Bytes in [first, first + count), with signed comparisons: adding
 * 0x80 - first moves the range to the bottom of the signed bytes. */
static inline __m128i in_range(__m128i bytes, char first, char count)
{
	__m128i shifted = _mm_add_epi8(bytes, _mm_set1_epi8((char)(0x80 - first)));

	return _mm_cmplt_epi8(shifted, _mm_set1_epi8((char)(0x80 + count)));
}

/* Lowercases 16 bytes into out and marks the token characters and dots
 * among them. */
static inline struct block_masks lower_block(const unsigned char *in, char *out)
{
	__m128i bytes = _mm_loadu_si128((const __m128i *)in);
	__m128i lower = _mm_or_si128(bytes, _mm_and_si128(in_range(bytes, 'A', 26), _mm_set1_epi8(0x20)));
	__m128i tokens = _mm_or_si128(in_range(lower, 'a', 26), in_range(lower, '0', 10));
	__m128i dots = _mm_cmpeq_epi8(lower, _mm_set1_epi8('.'));

	_mm_storeu_si128((__m128i *)out, lower);
	return (struct block_masks){ (uint16_t)_mm_movemask_epi8(tokens), (uint16_t)_mm_movemask_epi8(dots) };
}
#else
static inline struct block_masks lower_block(const unsigned char *in, char *out)
{
	struct block_masks masks = { 0, 0 };

	for (size_t i = 0; i < BLOCK_BYTES; i++) {
		unsigned char c = lower_ascii(in[i]);

		out[i] = (char)c;
		masks.tokens |= (uint64_t)is_token_char(c) << i;
		masks.dots |= (uint64_t)(c == '.') << i;
	}
	return masks;
}
#endif

/* Sets bits [offset, offset + 16) of a bit array from a block's mask. */
static inline void set_block_bits(uint64_t *words, size_t offset, uint64_t mask)
{
	size_t shift = offset % WORD_BITS;

	words[offset / WORD_BITS] |= mask << shift;
	if (shift > WORD_BITS - BLOCK_BYTES)
		words[offset / WORD_BITS + 1] |= mask >> (WORD_BITS - shift);
}

static void mark_block(struct url_scan *scan, const unsigned char *url, size_t offset)
{
	struct block_masks masks = lower_block(url + offset, scan->lower + offset);

	set_block_bits(scan->token_bits, offset, masks.tokens);
	set_block_bits(scan->dot_bits, offset, masks.dots);
}

/*
 * Lowercases the URL's first length bytes into scan->lower, NUL-terminated,
 * and marks its token characters and dots. Only whole blocks inside the
 * URL are read: the last one overlaps the one before it, and a URL
 * shorter than a block is copied byte by byte. The bit arrays get one
 * word more when length is a multiple of 64, so that every token ends
 * before the last word.
 */
static void lower_and_mark(struct url_scan *scan, const unsigned char *url, size_t length)
{
	size_t offset;

	for (size_t w = 0; w <= length / WORD_BITS; w++)
		scan->token_bits[w] = scan->dot_bits[w] = 0;
	if (length < BLOCK_BYTES) {
		for (size_t i = 0; i < length; i++) {
			unsigned char c = lower_ascii(url[i]);

			scan->lower[i] = (char)c;
			scan->token_bits[0] |= (uint64_t)is_token_char(c) << i;
			scan->dot_bits[0] |= (uint64_t)(c == '.') << i;
		}
	} else {
		for (offset = 0; offset + BLOCK_BYTES <= length; offset += BLOCK_BYTES)
			mark_block(scan, url, offset);
		if (offset < length)
			mark_block(scan, url, length - BLOCK_BYTES);
	}
	scan->lower[length] = '\0';
}

/* The first position at or after from whose token bit equals set, or the
 * URL's length. */
static size_t next_bit(const struct url_scan *scan, size_t from, bool set)
{
	size_t last = scan->view.length / WORD_BITS;
	size_t word = from / WORD_BITS;
	uint64_t bits;

	if (word > last)
		return scan->view.length;
	bits = (set ? scan->token_bits[word] : ~scan->token_bits[word]) & (~0ull << (from % WORD_BITS));
	while (!bits) {
		if (++word > last)
			return scan->view.length;
		bits = set ? scan->token_bits[word] : ~scan->token_bits[word];
	}
	return word * WORD_BITS + (size_t)__builtin_ctzll(bits);
}

static uint32_t hash_token(const struct url_scan *scan, size_t start, size_t end)
{
	return hash_final(word_finish(padded_hash(scan->lower + start, end - start)));
}

bool url_next_token(const struct url_scan *scan, size_t *position, size_t *start, uint32_t *token)
{
	size_t end;

	*start = next_bit(scan, *position, true);
	if (*start >= scan->view.length)
		return false;
	end = next_bit(scan, *start, false);
	*position = end;
	*token = hash_token(scan, *start, end);
	return true;
}

/* Whether an earlier token had this hash, so that its bucket was searched
 * already; its position then becomes ambiguous. seen has one bit per kept
 * hash, so that most new tokens need no comparison. */
static bool token_kept(struct url_scan *scan, uint32_t hash, uint64_t *seen)
{
	uint64_t bit = 1ull << (hash >> 26);

	if (*seen & bit) {
		for (size_t i = 0; i < scan->token_count; i++) {
			if (scan->tokens[i] == hash) {
				scan->token_positions[i] = NO_TOKEN_POSITION;
				return true;
			}
		}
	}
	*seen |= bit;
	return false;
}

/* Keeps the first URL_TOKENS_MAX distinct token hashes in URL order, and
 * where the next new token starts when there are more. A token starts and
 * ends where a token bit differs from the one before it, so each word of
 * bits gives the edges of its tokens at once. */
static void keep_tokens(struct url_scan *scan)
{
	size_t words = scan->view.length / WORD_BITS + 1;
	uint64_t before = 0;
	uint64_t seen = 0;
	size_t start = 0;
	bool in_token = false;

	scan->token_count = 0;
	scan->token_tail = scan->view.length;
	for (size_t w = 0; w < words; w++) {
		uint64_t bits = scan->token_bits[w];
		uint64_t edges = bits ^ (bits << 1 | before);

		before = bits >> (WORD_BITS - 1);
		for (; edges; edges &= edges - 1) {
			size_t position = w * WORD_BITS + (size_t)__builtin_ctzll(edges);
			uint32_t hash;

			in_token = !in_token;
			if (in_token) {
				start = position;
				continue;
			}
			hash = hash_token(scan, start, position);
			if (token_kept(scan, hash, &seen))
				continue;
			if (scan->token_count == URL_TOKENS_MAX) {
				scan->token_tail = start;
				return;
			}
			scan->token_positions[scan->token_count] = (uint16_t)start;
			scan->tokens[scan->token_count++] = hash;
		}
	}
}

/* Finds the host in "scheme://user@host:port/path". URLs without "//"
 * after the scheme (data:, about:blank) have no host. */
static void find_host(struct url_view *url)
{
	const char *text = url->lower;
	size_t i = 0;
	size_t end;
	const char *at;

	url->host_start = url->host_end = 0;
	while (i < url->length && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') ||
				   text[i] == '+' || text[i] == '-' || text[i] == '.'))
		i++;
	if (i == 0 || url->length - i < 3 || memcmp(text + i, "://", 3) != 0)
		return;

	/* text is NUL-terminated at the URL's length. */
	i += 3;
	end = i + strcspn(text + i, "/?#");
	at = memrchr(text + i, '@', end - i);
	if (at)
		i = (size_t)(at - text) + 1;
	/* The port goes; an IPv6 literal keeps its brackets, as filters
	 * write it ("||[::1]^"). */
	url->host_start = i;
	url->host_end = end;
	if (i < end && text[i] == '[') {
		const char *bracket = memchr(text + i, ']', end - i);

		if (bracket)
			url->host_end = (size_t)(bracket - text) + 1;
	} else if (i < end) {
		const char *colon = memchr(text + i, ':', end - i);

		if (colon)
			url->host_end = (size_t)(colon - text);
	}
}

/* The last dot in [from, to), or SIZE_MAX. */
static size_t last_dot(const struct url_scan *scan, size_t from, size_t to)
{
	while (to > from) {
		size_t base = (to - 1) / WORD_BITS * WORD_BITS;
		uint64_t bits = scan->dot_bits[base / WORD_BITS] & (~0ull >> (WORD_BITS - 1 - (to - 1) % WORD_BITS));

		if (base < from)
			bits &= ~0ull << (from - base);
		if (bits)
			return base + WORD_BITS - 1 - (size_t)__builtin_clzll(bits);
		to = base;
	}
	return SIZE_MAX;
}

/* Hashes each suffix of the host that starts a label as
 * label_suffix_hashes() does, shortest first. */
static void hash_host_suffixes(struct url_scan *scan)
{
	size_t host_start = scan->view.host_start;
	size_t end = scan->view.host_end;
	uint64_t chain = DOMAIN_HASH_SEED;
	size_t count = 0;

	while (host_start < scan->view.host_end && count < SOURCE_SUFFIXES_MAX) {
		size_t dot = last_dot(scan, host_start, end);
		size_t start = dot == SIZE_MAX ? host_start : dot + 1;

		chain = label_step(chain, padded_hash(scan->lower + start, end - start));
		if (start < scan->view.host_end) {
			scan->host_suffix_hash[count] = hash_final(word_finish(chain));
			scan->host_suffix_start[count] = (uint16_t)start;
			count++;
		}
		if (dot == SIZE_MAX)
			break;
		end = dot;
	}
	scan->host_suffix_count = count;
}

void url_prepare(struct url_scan *scan, const char *url)
{
	size_t length = strnlen(url, FILTER_URL_MAX_BYTES);

	lower_and_mark(scan, (const unsigned char *)url, length);
	scan->view.lower = scan->lower;
	scan->view.original = url;
	scan->view.length = length;
	scan->view.truncated = url[length] != '\0';
	scan->full_length = length;
	if (scan->view.truncated)
		scan->full_length += strlen(url + length);

	keep_tokens(scan);
	find_host(&scan->view);
	hash_host_suffixes(scan);
}

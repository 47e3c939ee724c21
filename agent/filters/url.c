/*
 * The request URL in the form that matching reads: a lowercase copy, the
 * hashes of its distinct tokens and where they are, where its host is,
 * and the hashes of the host's suffixes. This preparation is a large part
 * of each request's time, so it avoids work per byte. Where SSE2 is
 * available (every x86-64 CPU), the copy and the marking of token and
 * host name characters take 16 bytes at a time. Tokens and labels are
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
	uint64_t hosts;   /* token characters and ".-_" */
};

#ifdef __SSE2__
/* Bytes in [first, first + count), with signed comparisons: adding
 * 0x80 - first moves the range to the bottom of the signed bytes. */
static inline __m128i in_range(__m128i bytes, char first, char count)
{
	__m128i shifted = _mm_add_epi8(bytes, _mm_set1_epi8((char)(0x80 - first)));

	return _mm_cmplt_epi8(shifted, _mm_set1_epi8((char)(0x80 + count)));
}

/* Lowercases 16 bytes into out and marks the token and host name
 * characters among them. */
static inline struct block_masks lower_block(const unsigned char *in, char *out)
{
	__m128i bytes = _mm_loadu_si128((const __m128i *)in);
	__m128i lower = _mm_or_si128(bytes, _mm_and_si128(in_range(bytes, 'A', 26), _mm_set1_epi8(0x20)));
	__m128i tokens = _mm_or_si128(in_range(lower, 'a', 26), in_range(lower, '0', 10));
	/* "-" and "." are adjacent in ASCII. */
	__m128i hosts = _mm_or_si128(_mm_or_si128(tokens, in_range(lower, '-', 2)),
				     _mm_cmpeq_epi8(lower, _mm_set1_epi8('_')));

	_mm_storeu_si128((__m128i *)out, lower);
	return (struct block_masks){ (uint16_t)_mm_movemask_epi8(tokens),
				     (uint16_t)_mm_movemask_epi8(hosts) };
}
#else
static inline struct block_masks lower_block(const unsigned char *in, char *out)
{
	struct block_masks masks = { 0, 0 };

	for (size_t i = 0; i < BLOCK_BYTES; i++) {
		unsigned char c = lower_ascii(in[i]);

		out[i] = (char)c;
		masks.tokens |= (uint64_t)is_token_char(c) << i;
		masks.hosts |= (uint64_t)is_host_char(c) << i;
	}
	return masks;
}
#endif

/* Lowercases the URL's blocks that start in [first, first + 64) into
 * scan->lower, and returns their masks shifted into one word: bit i for
 * byte first + i. Only whole blocks inside the URL are read: the last one
 * is moved back to end at the URL's end, and overlaps the one before. */
static struct block_masks mark_word(struct url_scan *scan, const unsigned char *url, size_t length,
				    size_t first)
{
	struct block_masks word = { 0, 0 };
	size_t end = length - first < WORD_BITS ? length : first + WORD_BITS;
	size_t offset;

	for (offset = first; offset + BLOCK_BYTES <= end; offset += BLOCK_BYTES) {
		struct block_masks block = lower_block(url + offset, scan->lower + offset);

		word.tokens |= block.tokens << (offset - first);
		word.hosts |= block.hosts << (offset - first);
	}
	if (offset < end) {
		/* Bits of the moved block that fall before first are dropped by
		 * the shift to the right. */
		size_t moved = end - BLOCK_BYTES;
		struct block_masks block = lower_block(url + moved, scan->lower + moved);
		size_t back = offset + BLOCK_BYTES - end;

		word.tokens |= (block.tokens >> back) << (offset - first);
		word.hosts |= (block.hosts >> back) << (offset - first);
	}
	return word;
}

/*
 * Lowercases the URL's first length bytes into scan->lower, NUL-terminated,
 * and marks its token and host name characters, 64 bytes per word of
 * scan->token_bits and scan->host_bits. A URL shorter than a block is
 * copied byte by byte. The arrays get one word more when length is a
 * multiple of 64, so that every token ends before the last word.
 */
static void lower_and_mark(struct url_scan *scan, const unsigned char *url, size_t length)
{
	if (length < BLOCK_BYTES) {
		struct block_masks word = { 0, 0 };

		for (size_t i = 0; i < length; i++) {
			unsigned char c = lower_ascii(url[i]);

			scan->lower[i] = (char)c;
			word.tokens |= (uint64_t)is_token_char(c) << i;
			word.hosts |= (uint64_t)is_host_char(c) << i;
		}
		scan->token_bits[0] = word.tokens;
		scan->host_bits[0] = word.hosts;
	} else {
		for (size_t first = 0; first < length; first += WORD_BITS) {
			struct block_masks word = mark_word(scan, url, length, first);

			scan->token_bits[first / WORD_BITS] = word.tokens;
			scan->host_bits[first / WORD_BITS] = word.hosts;
		}
	}
	if (length % WORD_BITS == 0)
		scan->token_bits[length / WORD_BITS] = scan->host_bits[length / WORD_BITS] = 0;
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

/* Whether an earlier token had this hash, so that its bucket is searched
 * already; this place is then added to that token's. seen has one bit per
 * kept hash, so that most new tokens need no comparison. */
static bool token_kept(struct url_scan *scan, uint32_t hash, size_t start, uint64_t *seen)
{
	uint64_t bit = 1ull << (hash >> 26);

	if (*seen & bit) {
		for (size_t i = 0; i < scan->token_count; i++) {
			struct token_place *place = &scan->token_places[i];

			if (scan->tokens[i] != hash)
				continue;
			if (place->first != NO_TOKEN_POSITION && place->second == NO_TOKEN_POSITION)
				place->second = (uint16_t)start;
			else
				*place = NO_TOKEN_PLACE;
			return true;
		}
	}
	*seen |= bit;
	return false;
}

/* Keeps the token [start, end) unless an earlier one had its hash.
 * Returns false when URL_TOKENS_MAX tokens are kept already, and notes
 * where this one starts. */
static bool keep_token(struct url_scan *scan, size_t start, size_t end, uint64_t *seen)
{
	uint32_t hash = hash_token(scan, start, end);

	if (token_kept(scan, hash, start, seen))
		return true;
	if (scan->token_count == URL_TOKENS_MAX) {
		scan->token_tail = start;
		return false;
	}
	scan->token_places[scan->token_count] = (struct token_place){ (uint16_t)start, NO_TOKEN_POSITION };
	scan->tokens[scan->token_count++] = hash;
	return true;
}

/*
 * Keeps the first URL_TOKENS_MAX distinct token hashes in URL order, and
 * where the next new token starts when there are more. A token starts
 * where a token bit follows a clear one, and ends where a clear bit
 * follows a set one. Each word of bits thus gives its starts and ends at
 * once, and the k-th start goes with the k-th end. A token still open at
 * the end of a word ends in a later one, because the last word has clear
 * bits past the URL's end.
 */
static void keep_tokens(struct url_scan *scan)
{
	size_t words = scan->view.length / WORD_BITS + 1;
	uint64_t carry = 0;
	uint64_t seen = 0;
	size_t open = SIZE_MAX;

	scan->token_count = 0;
	scan->token_tail = scan->view.length;
	for (size_t w = 0; w < words; w++) {
		uint64_t bits = scan->token_bits[w];
		uint64_t before = bits << 1 | carry;
		uint64_t starts = bits & ~before;
		uint64_t ends = ~bits & before;
		size_t base = w * WORD_BITS;

		carry = bits >> (WORD_BITS - 1);
		/* One call of keep_token(), so that it is inlined. */
		for (;;) {
			if (open == SIZE_MAX) {
				if (!starts)
					break;
				open = base + (size_t)__builtin_ctzll(starts);
				starts &= starts - 1;
			}
			if (!ends)
				break;
			if (!keep_token(scan, open, base + (size_t)__builtin_ctzll(ends), &seen))
				return;
			ends &= ends - 1;
			open = SIZE_MAX;
		}
	}
}

/* Length of the scheme with its "://": 8 for "https://", 7 for "http://",
 * else found byte by byte. Returns 0 when the URL has none. */
static size_t skip_scheme(const struct url_view *url)
{
	const uint64_t seven_bytes = 0xffffffffffffffull;
	const char *text = url->lower;
	uint64_t word = load_word(text);
	size_t i = 0;

	/* The checks of the length keep both comparisons inside the URL. */
	if (url->length >= 8 && word == load_word("https://"))
		return 8;
	if (url->length >= 7 && (word & seven_bytes) == (load_word("http://\0") & seven_bytes))
		return 7;
	while (i < url->length && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') ||
				   text[i] == '+' || text[i] == '-' || text[i] == '.'))
		i++;
	if (i == 0 || url->length - i < 3 || memcmp(text + i, "://", 3) != 0)
		return 0;
	return i + 3;
}

/* The end of a host that has host name characters only and is followed by
 * "/", "?", "#" or the URL's end, as most are. SIZE_MAX for any other
 * host, which find_host() then reads byte by byte. */
static size_t plain_host_end(const struct url_scan *scan, size_t start)
{
	size_t end = start;
	char after;

	while (end < scan->view.length) {
		uint64_t outside = ~scan->host_bits[end / WORD_BITS] >> (end % WORD_BITS);

		if (outside) {
			end += (size_t)__builtin_ctzll(outside);
			break;
		}
		end += WORD_BITS - end % WORD_BITS;
	}
	if (end >= scan->view.length)
		return scan->view.length;
	after = scan->lower[end];
	return after == '/' || after == '?' || after == '#' ? end : SIZE_MAX;
}

/* Finds the host in "scheme://user@host:port/path". URLs without "//"
 * after the scheme (data:, about:blank) have no host. */
static void find_host(struct url_scan *scan)
{
	struct url_view *url = &scan->view;
	const char *text = url->lower;
	size_t i = skip_scheme(url);
	size_t end;
	const char *at;

	url->host_start = url->host_end = 0;
	if (i == 0)
		return;
	end = plain_host_end(scan, i);
	if (end != SIZE_MAX) {
		url->host_start = i;
		url->host_end = end;
		return;
	}

	/* text is NUL-terminated at the URL's length. */
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
		/* A host ends at the first byte no host name has, as in
		 * "https://a.example'x/": filters and the index then see the
		 * same host. */
		for (size_t c = i; c < url->host_end; c++) {
			if (!is_host_char((unsigned char)text[c])) {
				url->host_end = c;
				break;
			}
		}
	}
}

static void hash_host_suffixes(struct url_scan *scan)
{
	scan->host_suffix_count = padded_suffix_hashes(scan->lower + scan->view.host_start,
						       scan->view.host_end - scan->view.host_start,
						       scan->host_suffix_hash, scan->host_suffix_start,
						       SOURCE_SUFFIXES_MAX);
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

	find_host(scan);
	hash_host_suffixes(scan);
}

void url_find_tokens(struct url_scan *scan)
{
	keep_tokens(scan);
}

/*
 * Plain patterns: their tokens for the index, and matching them against a
 * URL. A stored pattern is the filter's text between its anchors, with
 * leading and trailing "*" removed, and lowercase unless $match-case: "*"
 * matches any run of characters and "^" one separator or the URL's end.
 */
#include <string.h>

#include "internal.h"

#define NO_MATCH SIZE_MAX

void pattern_for_each_token(const char *pattern, size_t length, uint16_t flags, token_callback callback,
			    void *context)
{
	size_t i = 0;

	while (i < length) {
		size_t start = i;
		bool bounded_left;
		bool bounded_right;

		if (!is_token_char(lower_ascii((unsigned char)pattern[i]))) {
			i++;
			continue;
		}
		while (i < length && is_token_char(lower_ascii((unsigned char)pattern[i])))
			i++;

		/* A token is only usable when the URL must contain it whole:
		 * next to "*" or an unanchored end, it may be part of a longer
		 * token of the URL. */
		bounded_left = start > 0 ? pattern[start - 1] != '*'
					 : (flags & (FILTER_ANCHOR_HOST | FILTER_ANCHOR_START)) != 0;
		bounded_right = i < length ? pattern[i] != '*' : (flags & FILTER_ANCHOR_END) != 0;
		if (bounded_left && bounded_right)
			callback(token_hash(pattern + start, i - start), start, i - start, context);
	}
}

/* Matches one "*"-free segment at pos. Returns where the match ends, or
 * NO_MATCH. A "^" matches the end of the URL, unless the URL was cut. */
static size_t segment_match_at(const char *segment, size_t n, const struct url_view *url, const char *text,
			       size_t pos)
{
	if (pos + n <= url->length) {
		for (size_t i = 0; i < n; i++) {
			unsigned char expected = (unsigned char)segment[i];
			unsigned char c = (unsigned char)text[pos + i];

			if (expected != c && (expected != '^' || !is_separator(c)))
				return NO_MATCH;
		}
		return pos + n;
	}

	for (size_t i = 0; i < n; i++) {
		unsigned char expected = (unsigned char)segment[i];
		unsigned char c;

		if (pos + i == url->length) {
			if (url->truncated)
				return NO_MATCH;
			for (; i < n; i++) {
				if (segment[i] != '^')
					return NO_MATCH;
			}
			return url->length;
		}
		c = (unsigned char)text[pos + i];
		if (expected == '^' ? !is_separator(c) : expected != c)
			return NO_MATCH;
	}
	return pos + n;
}

/* Finds the leftmost match of a segment at or after from. */
static size_t segment_find(const char *segment, size_t n, const struct url_view *url, const char *text,
			   size_t from, size_t *end)
{
	char first = segment[0];

	if (n == 0) {
		*end = from;
		return from;
	}

	for (size_t pos = from; pos <= url->length; pos++) {
		if (first != '^') {
			const char *found = memchr(text + pos, first, url->length - pos);

			if (!found)
				return NO_MATCH;
			pos = (size_t)(found - text);
		}
		*end = segment_match_at(segment, n, url, text, pos);
		if (*end != NO_MATCH)
			return pos;
	}
	return NO_MATCH;
}

static size_t find_star(const char *pattern, size_t start, size_t length)
{
	const char *star = memchr(pattern + start, '*', length - start);

	return star ? (size_t)(star - pattern) : length;
}

/* The last segment under an end anchor: it must end where the URL ends. */
static bool match_at_end(const char *segment, size_t n, const struct url_view *url, const char *text,
			 size_t pos, bool anchored)
{
	size_t first;

	if (url->truncated)
		return false;
	if (anchored)
		return segment_match_at(segment, n, url, text, pos) == url->length;

	/* Later starts only work when trailing "^" match the end. */
	first = url->length >= n ? url->length - n : 0;
	for (size_t start = first > pos ? first : pos; start <= url->length; start++) {
		if (segment_match_at(segment, n, url, text, start) == url->length)
			return true;
	}
	return false;
}

/*
 * Matches the segments in order from pos, the first one exactly at pos
 * when anchored. Taking the leftmost match of each segment is enough: a
 * later match of a segment never leaves more room for the ones after it.
 */
static bool match_segments(const char *pattern, size_t length, uint16_t flags, const struct url_view *url,
			   const char *text, size_t pos, bool anchored)
{
	size_t start = 0;

	for (;;) {
		size_t segment_end = find_star(pattern, start, length);
		bool star = segment_end < length;
		size_t n = segment_end - start;
		size_t end;

		if (!star && (flags & FILTER_ANCHOR_END))
			return match_at_end(pattern + start, n, url, text, pos, anchored);

		if (anchored) {
			end = segment_match_at(pattern + start, n, url, text, pos);
			if (end == NO_MATCH)
				return false;
		} else if (segment_find(pattern + start, n, url, text, pos, &end) == NO_MATCH) {
			return false;
		}

		if (!star)
			return true;
		pos = end;
		anchored = false;
		start = segment_end + 1;
	}
}

bool pattern_match(const char *pattern, size_t length, uint16_t flags, const struct url_view *url)
{
	const char *text = (flags & FILTER_MATCH_CASE) ? url->original : url->lower;

	if (flags & FILTER_ANCHOR_HOST) {
		/* At the host's start and after each dot in it. */
		for (size_t pos = url->host_start; pos < url->host_end;) {
			/* Most label starts fail on the first byte. */
			bool first_byte_fits = length == 0 || pattern[0] == '^' || pattern[0] == '*' ||
					       pattern[0] == text[pos];
			const char *dot;

			if (first_byte_fits && match_segments(pattern, length, flags, url, text, pos, true))
				return true;
			dot = memchr(url->lower + pos, '.', url->host_end - pos);
			if (!dot)
				break;
			pos = (size_t)(dot - url->lower) + 1;
		}
		return false;
	}
	return match_segments(pattern, length, flags, url, text, 0, (flags & FILTER_ANCHOR_START) != 0);
}

bool pattern_start_allowed(uint16_t flags, const struct url_view *url, size_t start)
{
	if (start > url->length)
		return false;
	if ((flags & FILTER_ANCHOR_START) && start != 0)
		return false;
	return !(flags & FILTER_ANCHOR_HOST) ||
	       (start >= url->host_start && start < url->host_end &&
		(start == url->host_start || url->lower[start - 1] == '.'));
}

bool pattern_match_at(const char *pattern, size_t length, uint16_t flags, const struct url_view *url,
		      size_t start)
{
	const char *text = (flags & FILTER_MATCH_CASE) ? url->original : url->lower;

	return pattern_start_allowed(flags, url, start) &&
	       match_segments(pattern, length, flags, url, text, start, true);
}

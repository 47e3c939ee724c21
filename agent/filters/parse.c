/*
 * Parsing of one filter list line: what kind of line it is, and for a
 * network filter its exception mark, pattern, anchors and the place where
 * its options start.
 */
#include <string.h>

#include "internal.h"

static void trim(const char **line, size_t *length)
{
	while (*length > 0 && strchr(" \t\r\n", (*line)[0]) && (*line)[0] != '\0') {
		(*line)++;
		(*length)--;
	}
	while (*length > 0 && strchr(" \t\r\n", (*line)[*length - 1]) && (*line)[*length - 1] != '\0')
		(*length)--;
}

/* Characters of the domain list in front of an element hiding separator:
 * "example.com,~shop.example.com", "example.*", "[::1]". */
static bool is_domain_list_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80 ||
	       strchr(".-_~,*:[]", c);
}

/* Separators of element hiding, extended selectors, snippets and
 * scriptlets in Adblock Plus 3 and uBlock Origin ("##+js(...)" starts with
 * "##"), and AdGuard's HTML filtering rules. */
static const char *const cosmetic_separators[] = {
	"##", "#@#", "#?#", "#@?#", "#$#", "#@$#", "#%#", "#@%#", "$$", "$@$",
};

static bool is_cosmetic(const char *line, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (line[i] == '#' || line[i] == '$') {
			for (size_t s = 0; s < sizeof(cosmetic_separators) / sizeof(cosmetic_separators[0]);
			     s++) {
				size_t separator_length = strlen(cosmetic_separators[s]);

				if (separator_length <= length - i &&
				    memcmp(line + i, cosmetic_separators[s], separator_length) == 0)
					return true;
			}
		}
		if (!is_domain_list_char((unsigned char)line[i]))
			return false;
	}
	return false;
}

static bool is_option_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* Whether text reads as an option list: "name", "~name" or "name=value"
 * items separated by commas. */
static bool looks_like_options(const char *text, size_t length)
{
	size_t i = 0;

	if (length == 0)
		return false;
	while (i < length) {
		size_t name_start;

		if (text[i] == '~')
			i++;
		name_start = i;
		while (i < length && is_option_name_char((unsigned char)text[i]))
			i++;
		if (i == name_start)
			return false;
		if (i < length && text[i] == '=') {
			while (i < length && text[i] != ',')
				i++;
		}
		if (i == length)
			return true;
		if (text[i] != ',')
			return false;
		i++;
		if (i == length)
			return false;
	}
	return true;
}

/* The "$" that starts the options: the last one that is followed by a
 * well-formed option list, so that a "$" inside a regular expression
 * ("/ads$/") or inside an option value stays where it is. */
static const char *find_options(const char *line, size_t length)
{
	for (size_t i = length; i-- > 0;) {
		if (line[i] == '$' && looks_like_options(line + i + 1, length - i - 1))
			return line + i;
	}
	return NULL;
}

static enum line_kind parse_pattern(const char *pattern, size_t length, struct parsed_filter *parsed)
{
	if (memchr(pattern, ' ', length) || memchr(pattern, '\t', length)) {
		parsed->reason = "white space in the pattern";
		return LINE_INVALID;
	}

	if (length > 2 && pattern[0] == '/' && pattern[length - 1] == '/') {
		parsed->flags |= FILTER_REGEX;
		parsed->pattern = pattern + 1;
		parsed->pattern_length = length - 2;
		return LINE_NETWORK;
	}

	if (length >= 2 && pattern[0] == '|' && pattern[1] == '|') {
		parsed->flags |= FILTER_ANCHOR_HOST;
		pattern += 2;
		length -= 2;
	} else if (length >= 1 && pattern[0] == '|') {
		parsed->flags |= FILTER_ANCHOR_START;
		pattern++;
		length--;
	}
	if (length >= 1 && pattern[length - 1] == '|') {
		parsed->flags |= FILTER_ANCHOR_END;
		length--;
	}

	/* A wildcard next to an anchor makes the anchor meaningless. */
	while (length > 0 && pattern[0] == '*') {
		parsed->flags &= (uint16_t)~(FILTER_ANCHOR_HOST | FILTER_ANCHOR_START);
		pattern++;
		length--;
	}
	while (length > 0 && pattern[length - 1] == '*') {
		parsed->flags &= (uint16_t)~FILTER_ANCHOR_END;
		length--;
	}

	if (length > UINT32_MAX) {
		parsed->reason = "pattern too long";
		return LINE_INVALID;
	}
	parsed->pattern = pattern;
	parsed->pattern_length = length;
	return LINE_NETWORK;
}

static enum line_kind parse_network(const char *line, size_t length, struct parsed_filter *parsed)
{
	const char *options;
	size_t pattern_length;
	enum line_kind kind;

	if (length >= 2 && line[0] == '@' && line[1] == '@') {
		parsed->flags |= FILTER_EXCEPTION;
		line += 2;
		length -= 2;
	}

	options = find_options(line, length);
	pattern_length = options ? (size_t)(options - line) : length;
	if (options) {
		kind = parse_options(options + 1, length - pattern_length - 1, parsed);
		if (kind != LINE_NETWORK)
			return kind;
	} else {
		parsed->types = TYPES_DEFAULT;
	}

	if (pattern_length == 0 && !options) {
		parsed->reason = "empty pattern";
		return LINE_INVALID;
	}
	return parse_pattern(line, pattern_length, parsed);
}

enum line_kind parse_line(const char *line, size_t length, struct parsed_filter *parsed)
{
	memset(parsed, 0, sizeof(*parsed));
	trim(&line, &length);
	parsed->text = line;
	parsed->text_length = length;

	if (length == 0)
		return LINE_BLANK;
	if (memchr(line, '\0', length)) {
		parsed->reason = "NUL byte in the line";
		return LINE_INVALID;
	}
	if (line[0] == '!' || (line[0] == '[' && line[length - 1] == ']'))
		return LINE_COMMENT;
	/* uBlock Origin reads "# " at the start of a line as a comment. */
	if (length >= 2 && line[0] == '#' && (line[1] == ' ' || line[1] == '\t'))
		return LINE_COMMENT;
	if (is_cosmetic(line, length))
		return LINE_COSMETIC;
	return parse_network(line, length, parsed);
}

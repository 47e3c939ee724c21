/*
 * E-mail addresses in a value: "jane@example.com", and forms that the
 * extraction leaves inside a larger value: percent-encoded ("jane%40example.com",
 * twice as "%2540") and JSON-escaped ("jane\u0040example.com"). The local
 * part is the common subset of RFC 5322's dot-atom: letters, digits and
 * "._+-". The top-level domain must be a real one in libpsl's built-in
 * public suffix list, which rules out asset names like "logo@2x.png".
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "pii_internal.h"

/* RFC 5321 section 4.5.3.1: local part and domain limits, in bytes. */
#define MAX_LOCAL_BYTES 64
#define MAX_DOMAIN_BYTES 253
#define MAX_LABEL_BYTES 63

/* A written form of "@". */
struct at_sign {
	const char *text;
	size_t length;
	const char *steps;
	bool url_encoded; /* a "+" around it is an encoded space, not part of the address */
};

static const struct at_sign at_signs[] = {
	{ "@", 1, "", false },
	{ "%2540", 5, "url > url", true },
	{ "%40", 3, "url", true },
	{ "\\u0040", 6, "json", false },
};

static bool is_local_byte(char c, bool url_encoded)
{
	return pii_is_alnum(c) || c == '.' || c == '_' || c == '-' || (c == '+' && !url_encoded);
}

static const struct at_sign *at_sign_at(const char *text, size_t length, size_t offset)
{
	for (size_t i = 0; i < sizeof(at_signs) / sizeof(at_signs[0]); i++) {
		const struct at_sign *sign = &at_signs[i];

		if (offset + sign->length <= length &&
		    strncasecmp(text + offset, sign->text, sign->length) == 0)
			return sign;
	}
	return NULL;
}

/* Whether text[offset - 3 .. offset) is a percent-escape. Sets *byte to
 * the byte it encodes. */
static bool escape_before(const char *text, size_t offset, char *byte)
{
	if (offset < 3 || text[offset - 3] != '%' || !pii_is_hex(text[offset - 2]) ||
	    !pii_is_hex(text[offset - 1]))
		return false;
	*byte = (char)(pii_hex_value(text[offset - 2]) * 16 + pii_hex_value(text[offset - 1]));
	return true;
}

/* Walks back from the "@" over the local part, whose bytes may be
 * percent-encoded. Writes it decoded and lowercase into local. Returns its
 * start, or at when there is no valid local part. */
static size_t find_local_part(const char *text, size_t at, bool url_encoded, char *local, size_t *local_bytes,
			      bool *escaped)
{
	size_t start = at;
	size_t count = 0;
	char reversed[MAX_LOCAL_BYTES];
	char byte;

	*escaped = false;
	while (start > 0) {
		if (escape_before(text, start, &byte) && is_local_byte(byte, false)) {
			*escaped = true;
			start -= 3;
		} else if (is_local_byte(text[start - 1], url_encoded)) {
			byte = text[start - 1];
			start--;
		} else {
			break;
		}
		if (count == MAX_LOCAL_BYTES)
			return at;
		reversed[count++] = pii_lower(byte);
	}

	/* A dot cannot start a local part, so a dot before it ends a sentence
	 * or a path ("../jane@example.com"). */
	while (count > 0 && reversed[count - 1] == '.') {
		count--;
		start++;
	}
	if (count == 0 || reversed[0] == '.' || memmem(reversed, count, "..", 2))
		return at;
	/* "https://jane@example.com" is a URL's user information. */
	if (start >= 2 && text[start - 1] == '/' && text[start - 2] == '/')
		return at;

	for (size_t i = 0; i < count; i++)
		local[i] = reversed[count - 1 - i];
	*local_bytes = count;
	return start;
}

static bool is_tld(const char *tld, size_t length)
{
	const psl_ctx_t *suffixes;
	bool punycode = length > 4 && strncasecmp(tld, "xn--", 4) == 0;
	char lower[MAX_LABEL_BYTES + 1];

	if (length < 2 || length > MAX_LABEL_BYTES)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (!pii_is_alpha(tld[i]) && !(punycode && (pii_is_digit(tld[i]) || tld[i] == '-')))
			return false;
		lower[i] = pii_lower(tld[i]);
	}
	lower[length] = '\0';

	/* libpsl's built-in list (libpsl 0.21 on Debian 12) needs no loading.
	 * Without one, any name of letters passes. */
	suffixes = psl_builtin();
	if (!suffixes)
		return true;
	return psl_is_public_suffix2(suffixes, lower, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) != 0;
}

/* Whether a label is "2x" or "3x", the scale of an image asset. */
static bool is_scale_label(const char *label, size_t length)
{
	size_t digits = 0;

	while (digits < length && pii_is_digit(label[digits]))
		digits++;
	return digits > 0 && digits + 1 == length && pii_lower(label[digits]) == 'x';
}

/* Checks the labels of domain[0, length): at least two, 1 to 63 bytes
 * each, no "-" at either end of one. */
static bool are_valid_labels(const char *domain, size_t length, size_t *tld_start)
{
	size_t label_start = 0;
	size_t labels = 0;

	for (size_t i = 0; i <= length; i++) {
		size_t label_bytes;

		if (i < length && domain[i] != '.')
			continue;
		label_bytes = i - label_start;
		if (label_bytes == 0 || label_bytes > MAX_LABEL_BYTES)
			return false;
		if (domain[label_start] == '-' || domain[i - 1] == '-')
			return false;
		if (labels == 0 && is_scale_label(domain, label_bytes))
			return false;
		*tld_start = label_start;
		labels++;
		label_start = i + 1;
	}
	return labels >= 2;
}

/* Measures the domain after the "@": labels of letters, digits and "-".
 * A label that is no top-level domain ends it before ("jane@example.com.Next"
 * ends at ".com"). Returns its length, 0 when there is no valid domain. */
static size_t find_domain(const char *text, size_t length, size_t start)
{
	size_t end = start;
	size_t tld_start;

	while (end < length && (pii_is_alnum(text[end]) || text[end] == '-' || text[end] == '.'))
		end++;
	if (end - start > MAX_DOMAIN_BYTES)
		return 0;

	while (end > start) {
		while (end > start && (text[end - 1] == '.' || text[end - 1] == '-'))
			end--;
		if (are_valid_labels(text + start, end - start, &tld_start) &&
		    is_tld(text + start + tld_start, end - start - tld_start))
			return end - start;
		while (end > start && text[end - 1] != '.')
			end--;
	}
	return 0;
}

/* Reports the address around the "@" at offset, if there is one, and sets
 * *next to the offset to scan on from. */
static int match_at(struct pii_field_scan *scan, size_t offset, const struct at_sign *sign, size_t *next)
{
	char value[MAX_LOCAL_BYTES + 1 + MAX_DOMAIN_BYTES];
	size_t local_bytes = 0;
	size_t domain_start = offset + sign->length;
	size_t domain_bytes;
	size_t start;
	bool escaped;
	struct pii_match match = { .category = "email", .source = "detector:email", .steps = sign->steps };

	*next = domain_start;
	start = find_local_part(scan->text, offset, sign->url_encoded, value, &local_bytes, &escaped);
	if (start == offset)
		return 0;
	domain_bytes = find_domain(scan->text, scan->length, domain_start);
	if (domain_bytes == 0)
		return 0;

	value[local_bytes] = '@';
	for (size_t i = 0; i < domain_bytes; i++)
		value[local_bytes + 1 + i] = pii_lower(scan->text[domain_start + i]);
	if (escaped && !sign->steps[0])
		match.steps = "url";
	match.offset = start;
	match.length = domain_start + domain_bytes - start;
	match.value = value;
	match.value_bytes = local_bytes + 1 + domain_bytes;
	*next = domain_start + domain_bytes;
	return pii_report(scan, &match);
}

int pii_find_emails(struct pii_field_scan *scan)
{
	size_t offset = 0;

	while (offset < scan->length) {
		const struct at_sign *sign;
		size_t next;
		int error;

		if (scan->text[offset] != '@' && scan->text[offset] != '%' && scan->text[offset] != '\\') {
			offset++;
			continue;
		}
		sign = at_sign_at(scan->text, scan->length, offset);
		if (!sign) {
			offset++;
			continue;
		}
		error = match_at(scan, offset, sign, &next);
		if (error)
			return error;
		offset = next;
	}
	return 0;
}

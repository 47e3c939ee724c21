/*
 * Phone numbers. Outside a phone field, only forms that read as a phone
 * number count. These are international numbers with "+" ("+4915112345678",
 * "+1 555-123-4567", "+49 (0)30 1234567", "%2B44..." in encoded text),
 * North American numbers with their punctuation ("(555) 123-4567",
 * "555-123-4567"), and national numbers with a trunk prefix 0 split into
 * groups ("030 1234567", "06 12 34 56 78"). Bare digit runs are timestamps
 * and ids far more often than phone numbers, so they count only in a field
 * whose name means a phone ("ph", "phone_number").
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "pii_internal.h"

/* ITU-T E.164: a number has at most 15 digits with its country code. The
 * shortest numbers in use have 7 digits after a 1 to 3 digit country code. */
#define MIN_INTERNATIONAL_DIGITS 8
#define MAX_INTERNATIONAL_DIGITS 15
#define MIN_NATIONAL_DIGITS 9
#define MAX_NATIONAL_DIGITS 12
#define MIN_FIELD_DIGITS 7

/* Digits read from a candidate, with "+" in front when international. */
struct phone_digits {
	char text[MAX_INTERNATIONAL_DIGITS + 3];
	size_t count; /* digits, without the "+" */
	size_t bytes; /* of text */
};

static bool add_digit(struct phone_digits *digits, char digit)
{
	if (digits->count == MAX_INTERNATIONAL_DIGITS + 1)
		return false;
	digits->text[digits->bytes++] = digit;
	digits->count++;
	return true;
}

/* Whether the text after end continues a number: a letter or digit, a
 * decimal part, or a separator and another digit group. */
static bool continues_after(const char *text, size_t length, size_t end)
{
	if (pii_alnum_at(text, length, end) || pii_number_continues(text, length, end))
		return true;
	return end + 1 < length && (text[end] == '-' || text[end] == '/') && pii_is_digit(text[end + 1]);
}

static bool is_separator(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '/';
}

/* Reads the digits of an international number that starts at offset, right
 * after its "+": digit groups with single separators between them, "(...)"
 * around a group, and "(0)", a trunk prefix that is not dialled from
 * abroad. Returns the end offset, or 0. */
static size_t read_international(const char *text, size_t length, size_t offset, struct phone_digits *digits)
{
	size_t i = offset;
	size_t end = 0;
	size_t dots = 0;
	size_t other_separators = 0;

	if (i >= length || text[i] < '1' || text[i] > '9')
		return 0;
	while (i < length) {
		if (pii_is_digit(text[i])) {
			if (!add_digit(digits, text[i]))
				return 0;
			end = ++i;
		} else if (text[i] == '(' && i + 2 < length && text[i + 1] == '0' && text[i + 2] == ')') {
			i += 3;
		} else if (text[i] == '(' || text[i] == ')') {
			i++;
		} else if (is_separator(text[i]) && i + 1 < length &&
			   (pii_is_digit(text[i + 1]) || text[i + 1] == '(')) {
			dots += text[i] == '.';
			other_separators += text[i] != '.';
			i++;
		} else {
			break;
		}
		if (text[i - 1] == ')' && i < length && text[i] == ' ')
			i++;
	}
	/* One dot and no other separator is a decimal number: "+123456789.50". */
	if (dots == 1 && other_separators == 0)
		return 0;
	return end;
}

static int report_phone(struct pii_field_scan *scan, size_t start, size_t end,
			const struct phone_digits *digits, const char *steps)
{
	struct pii_match match = {
		.category = "phone",
		.source = "detector:phone",
		.offset = start,
		.length = end - start,
		.steps = steps,
		.value = digits->text,
		.value_bytes = digits->bytes,
	};

	return pii_report(scan, &match);
}

/* Whether the digits after "+1" are a North American number: 10 digits, the
 * area code not starting with 0 or 1. */
static bool is_valid_country_part(const struct phone_digits *digits)
{
	if (digits->text[1] != '1')
		return true;
	return digits->count == 11 && digits->text[2] >= '2';
}

/* An international number starting at offset with "+" or "%2B". Returns
 * the end offset, or 0 when there is none. */
static size_t match_international(struct pii_field_scan *scan, size_t offset, int *error)
{
	struct phone_digits digits = { .text = "+", .bytes = 1 };
	bool encoded = scan->text[offset] == '%';
	size_t start = offset + (encoded ? 3 : 1);
	size_t end;

	*error = 0;
	if (pii_alnum_before(scan->text, offset))
		return 0;
	end = read_international(scan->text, scan->length, start, &digits);
	if (!end || continues_after(scan->text, scan->length, end))
		return 0;
	if (digits.count < MIN_INTERNATIONAL_DIGITS || digits.count > MAX_INTERNATIONAL_DIGITS)
		return 0;
	if (!is_valid_country_part(&digits))
		return 0;
	*error = report_phone(scan, offset, end, &digits, encoded ? "url" : "");
	return end;
}

/* Reads exactly count digits at *i. */
static bool read_group(const char *text, size_t length, size_t *i, size_t count, struct phone_digits *digits)
{
	for (size_t k = 0; k < count; k++, (*i)++) {
		if (*i >= length || !pii_is_digit(text[*i]) || !add_digit(digits, text[*i]))
			return false;
	}
	return true;
}

/* A North American number: "(555) 123-4567", "555-123-4567",
 * "555.123.4567", optionally after "1-" or "1 ". Returns the end offset,
 * or 0. */
static size_t read_north_american(const char *text, size_t length, size_t offset, struct phone_digits *digits)
{
	size_t i = offset;
	char separator;

	if (i + 1 < length && text[i] == '1' &&
	    (text[i + 1] == '-' || text[i + 1] == ' ' || text[i + 1] == '.'))
		i += 2;
	if (i < length && text[i] == '(') {
		i++;
		if (!read_group(text, length, &i, 3, digits) || i >= length || text[i] != ')')
			return 0;
		i++;
		if (i < length && text[i] == ' ')
			i++;
		separator = 0;
	} else {
		if (!read_group(text, length, &i, 3, digits) || i >= length)
			return 0;
		separator = text[i++];
		if (separator != '-' && separator != '.')
			return 0;
	}
	if (digits->text[2] < '2') /* area codes start with 2 to 9 */
		return 0;
	if (!read_group(text, length, &i, 3, digits) || i >= length)
		return 0;
	if (separator ? text[i] != separator : (text[i] != '-' && text[i] != '.' && text[i] != ' '))
		return 0;
	i++;
	if (!read_group(text, length, &i, 4, digits))
		return 0;
	return i;
}

/* A national number with trunk prefix 0: a first group of 2 to 5 digits
 * ("030", "0151", "(030)"), then up to 4 groups of 2 to 8 digits, all
 * separated by the same byte. Returns the end offset, or 0. */
static size_t read_national(const char *text, size_t length, size_t offset, struct phone_digits *digits)
{
	size_t i = offset;
	size_t groups = 0;
	char separator = 0;
	bool parenthesised = text[i] == '(';

	if (parenthesised)
		i++;
	if (i + 1 >= length || text[i] != '0' || text[i + 1] < '1' || text[i + 1] > '9')
		return 0;
	for (;;) {
		size_t group_start = i;

		while (i < length && pii_is_digit(text[i]) && add_digit(digits, text[i]))
			i++;
		if (i - group_start < 2 || i - group_start > (groups == 0 ? 5 : 8))
			return 0;
		if (groups == 0 && parenthesised) {
			if (i >= length || text[i] != ')')
				return 0;
			i++;
		}
		groups++;
		if (i + 1 >= length || groups == 5 || !pii_is_digit(text[i + 1]))
			break;
		if (text[i] != ' ' && text[i] != '-' && text[i] != '/')
			break;
		if (separator && text[i] != separator)
			break;
		separator = text[i++];
	}
	if (groups < 2 || digits->count < MIN_NATIONAL_DIGITS || digits->count > MAX_NATIONAL_DIGITS)
		return 0;
	/* "078-05-1120" has the form of a US social security number. */
	if (groups == 3 && separator == '-' && digits->count == 9 && text[offset + 3] == '-' &&
	    text[offset + 6] == '-')
		return 0;
	return i;
}

/* A number in national form starting at offset. Returns the end offset, or
 * 0 when there is none. */
static size_t match_national(struct pii_field_scan *scan, size_t offset, int *error)
{
	const char *text = scan->text;
	struct phone_digits north_american = { .text = "+1", .bytes = 2, .count = 1 };
	struct phone_digits national = { 0 };
	size_t end;

	*error = 0;
	if (pii_alnum_before(text, offset) ||
	    (offset > 0 && (text[offset - 1] == '+' || text[offset - 1] == '.')))
		return 0;
	if (offset > 1 && is_separator(text[offset - 1]) && pii_is_digit(text[offset - 2]))
		return 0;

	end = read_north_american(text, scan->length, offset, &north_american);
	if (end && !continues_after(text, scan->length, end)) {
		*error = report_phone(scan, offset, end, &north_american, "");
		return end;
	}
	end = read_national(text, scan->length, offset, &national);
	if (end && !continues_after(text, scan->length, end)) {
		*error = report_phone(scan, offset, end, &national, "");
		return end;
	}
	return 0;
}

/* The whole value of a phone field: digits with optional "+", spaces,
 * dashes, dots and parentheses. "00" in front is the international prefix. */
static int match_phone_field(struct pii_field_scan *scan)
{
	struct phone_digits digits = { 0 };
	size_t start = 0;
	size_t end = scan->length;
	bool international = false;

	while (start < end && scan->text[start] == ' ')
		start++;
	while (end > start && scan->text[end - 1] == ' ')
		end--;
	if (start < end && scan->text[start] == '+') {
		international = true;
		digits.text[digits.bytes++] = '+';
	}
	for (size_t i = start + international; i < end; i++) {
		char c = scan->text[i];

		if (pii_is_digit(c) && !add_digit(&digits, c))
			return 0;
		if (!pii_is_digit(c) && !is_separator(c) && c != '(' && c != ')')
			return 0;
	}
	if (!international && digits.count > 2 && digits.text[0] == '0' && digits.text[1] == '0') {
		digits.text[0] = '+';
		memmove(digits.text + 1, digits.text + 2, digits.bytes - 2);
		digits.bytes--;
		digits.count -= 2;
	}
	if (digits.count < MIN_FIELD_DIGITS || digits.count > MAX_INTERNATIONAL_DIGITS)
		return 0;
	return report_phone(scan, start, end, &digits, "");
}

int pii_find_phones(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	size_t offset = 0;
	int error = 0;

	if (scan->meaning == PII_MEANING_PHONE) {
		error = match_phone_field(scan);
		if (error)
			return error;
	}
	while (offset < scan->length && !error) {
		size_t end = 0;

		if (text[offset] == '+')
			end = match_international(scan, offset, &error);
		else if (text[offset] == '%' && offset + 2 < scan->length &&
			 strncasecmp(text + offset, "%2B", 3) == 0)
			end = match_international(scan, offset, &error);
		else if (pii_is_digit(text[offset]) || text[offset] == '(')
			end = match_national(scan, offset, &error);
		offset = end ? end : offset + 1;
	}
	return error;
}

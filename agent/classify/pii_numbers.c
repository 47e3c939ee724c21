/*
 * Numbers with a check or a fixed form: payment card numbers (Luhn
 * checksum, issuer ranges), IBANs (ISO 13616: length by country, mod 97)
 * and US social security numbers ("AAA-GG-SSSS" without the ranges the
 * Social Security Administration never assigns).
 */
#include <stdbool.h>
#include <string.h>

#include "pii_internal.h"

#define MIN_CARD_DIGITS 13
#define MAX_CARD_DIGITS 19
#define MAX_CARD_GROUPS 5

/* ---- payment cards ---- */

/* Issuer identification number ranges of the card networks, as the
 * networks publish them (ISO/IEC 7812): the first prefix_digits digits of
 * a number between low and high, and the lengths the network issues. */
struct card_range {
	unsigned int low;
	unsigned int high;
	unsigned int prefix_digits;
	unsigned int min_digits;
	unsigned int max_digits;
};

static const struct card_range card_ranges[] = {
	{ 4, 4, 1, 13, 19 },          /* Visa: 13, 16 or 19 */
	{ 51, 55, 2, 16, 16 },        /* Mastercard */
	{ 2221, 2720, 4, 16, 16 },    /* Mastercard 2-series */
	{ 34, 34, 2, 15, 15 },        /* American Express */
	{ 37, 37, 2, 15, 15 },
	{ 6011, 6011, 4, 16, 19 },    /* Discover */
	{ 644, 649, 3, 16, 19 },
	{ 65, 65, 2, 16, 19 },
	{ 3528, 3589, 4, 16, 19 },    /* JCB */
	{ 300, 305, 3, 14, 19 },      /* Diners Club */
	{ 36, 36, 2, 14, 19 },
	{ 38, 39, 2, 16, 19 },
	{ 62, 62, 2, 16, 19 },        /* UnionPay */
	{ 2200, 2204, 4, 16, 19 },    /* Mir */
	{ 5018, 5018, 4, 13, 19 },    /* Maestro */
	{ 5020, 5020, 4, 13, 19 },
	{ 5038, 5038, 4, 13, 19 },
	{ 5893, 5893, 4, 13, 19 },
	{ 6304, 6304, 4, 13, 19 },
	{ 6759, 6759, 4, 13, 19 },
	{ 6761, 6763, 4, 13, 19 },
};

static bool is_issued_number(const char *digits, size_t count)
{
	for (size_t i = 0; i < sizeof(card_ranges) / sizeof(card_ranges[0]); i++) {
		const struct card_range *range = &card_ranges[i];
		unsigned int prefix = 0;

		for (unsigned int k = 0; k < range->prefix_digits; k++)
			prefix = prefix * 10 + (unsigned int)(digits[k] - '0');
		if (prefix >= range->low && prefix <= range->high && count >= range->min_digits &&
		    count <= range->max_digits)
			return true;
	}
	return false;
}

static bool passes_luhn(const char *digits, size_t count)
{
	unsigned int sum = 0;

	for (size_t i = 0; i < count; i++) {
		unsigned int digit = (unsigned int)(digits[count - 1 - i] - '0');

		if (i % 2 == 1) {
			digit *= 2;
			if (digit > 9)
				digit -= 9;
		}
		sum += digit;
	}
	return sum % 10 == 0;
}

/* A run of digit groups separated by one kind of separator (" " or "-"). */
struct digit_run {
	size_t start;
	size_t end;
	size_t group_start[MAX_CARD_GROUPS + 1];
	size_t group_bytes[MAX_CARD_GROUPS + 1];
	size_t groups;
	bool too_many_groups;
};

static size_t read_digits(const char *text, size_t length, size_t offset)
{
	while (offset < length && pii_is_digit(text[offset]))
		offset++;
	return offset;
}

static void read_run(const char *text, size_t length, size_t offset, struct digit_run *run)
{
	char separator = 0;
	size_t i = offset;

	memset(run, 0, sizeof(*run));
	run->start = offset;
	for (;;) {
		size_t end = read_digits(text, length, i);

		if (run->groups == MAX_CARD_GROUPS + 1) {
			run->too_many_groups = true;
			run->end = end;
			return;
		}
		run->group_start[run->groups] = i;
		run->group_bytes[run->groups] = end - i;
		run->groups++;
		run->end = end;
		if (end + 1 >= length || !pii_is_digit(text[end + 1]) ||
		    (text[end] != ' ' && text[end] != '-'))
			return;
		if (separator && text[end] != separator)
			return;
		separator = text[end];
		i = end + 1;
	}
}

/* Groups as printed on cards: 4-4-4-4 with a last group of 1 to 4 digits
 * (13 to 19 digits), 4-6-5 (American Express) and 4-6-4 (Diners Club). */
static bool is_card_grouping(const struct digit_run *run)
{
	const size_t *bytes = run->group_bytes;

	if (run->groups == 3)
		return bytes[0] == 4 && bytes[1] == 6 && (bytes[2] == 5 || bytes[2] == 4);
	if (run->groups < 4)
		return false;
	for (size_t i = 0; i + 1 < run->groups; i++) {
		if (bytes[i] != 4)
			return false;
	}
	return bytes[run->groups - 1] >= 1 && bytes[run->groups - 1] <= 4;
}

static int check_card(struct pii_field_scan *scan, size_t start, size_t end)
{
	char digits[MAX_CARD_DIGITS];
	size_t count = 0;
	struct pii_match match = {
		.category = "payment_card",
		.source = "detector:payment_card",
		.offset = start,
		.length = end - start,
		.steps = "",
		.value = digits,
	};

	for (size_t i = start; i < end; i++) {
		if (!pii_is_digit(scan->text[i]))
			continue;
		if (count == MAX_CARD_DIGITS)
			return 0;
		digits[count++] = scan->text[i];
	}
	if (count < MIN_CARD_DIGITS || !is_issued_number(digits, count) || !passes_luhn(digits, count))
		return 0;
	match.value_bytes = count;
	return pii_report(scan, &match);
}

/* Whether a number at offset is the decimal part or the next item of one
 * before it ("0.4111...", "7,4111..."), or a phone number ("+4915...",
 * "%2B4915..."), which no card number is written with. */
static bool follows_number_or_plus(const char *text, size_t offset)
{
	if (offset > 0 && text[offset - 1] == '+')
		return true;
	if (offset > 2 && text[offset - 3] == '%' && text[offset - 2] == '2' &&
	    pii_lower(text[offset - 1]) == 'b')
		return true;
	return offset > 1 && (text[offset - 1] == '.' || text[offset - 1] == ',') &&
	       pii_is_digit(text[offset - 2]);
}

static int check_run(struct pii_field_scan *scan, const struct digit_run *run)
{
	int error = 0;

	if (pii_alnum_before(scan->text, run->start) || follows_number_or_plus(scan->text, run->start) ||
	    pii_alnum_at(scan->text, scan->length, run->end) ||
	    pii_number_continues(scan->text, scan->length, run->end) || run->too_many_groups)
		return 0;
	if (run->groups > 1 && is_card_grouping(run))
		return check_card(scan, run->start, run->end);

	/* A bare digit run in an id, time or phone field is that id, time or
	 * phone number: "4915112345678" passes the Luhn check as a Visa number. */
	if (scan->meaning == PII_MEANING_RECORD_ID || scan->meaning == PII_MEANING_PHONE)
		return 0;
	for (size_t i = 0; i < run->groups && !error; i++) {
		size_t bytes = run->group_bytes[i];

		if (bytes >= MIN_CARD_DIGITS && bytes <= MAX_CARD_DIGITS)
			error = check_card(scan, run->group_start[i], run->group_start[i] + bytes);
	}
	return error;
}

int pii_find_cards(struct pii_field_scan *scan)
{
	size_t offset = 0;

	while (offset < scan->length) {
		struct digit_run run;
		int error;

		if (!pii_is_digit(scan->text[offset])) {
			offset++;
			continue;
		}
		read_run(scan->text, scan->length, offset, &run);
		error = check_run(scan, &run);
		if (error)
			return error;
		offset = run.end;
	}
	return 0;
}

/* ---- IBAN ---- */

/* IBAN lengths by country, from the SWIFT IBAN registry. */
struct iban_country {
	char code[3];
	unsigned char length;
};

static const struct iban_country iban_countries[] = {
	{ "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 }, { "BA", 20 }, { "BE", 16 },
	{ "BG", 22 }, { "BH", 22 }, { "BR", 29 }, { "BY", 28 }, { "CH", 21 }, { "CR", 22 }, { "CY", 28 },
	{ "CZ", 24 }, { "DE", 22 }, { "DK", 18 }, { "DO", 28 }, { "EE", 20 }, { "EG", 29 }, { "ES", 24 },
	{ "FI", 18 }, { "FO", 18 }, { "FR", 27 }, { "GB", 22 }, { "GE", 22 }, { "GI", 23 }, { "GL", 18 },
	{ "GR", 27 }, { "GT", 28 }, { "HR", 21 }, { "HU", 28 }, { "IE", 22 }, { "IL", 23 }, { "IQ", 23 },
	{ "IS", 26 }, { "IT", 27 }, { "JO", 30 }, { "KW", 30 }, { "KZ", 20 }, { "LB", 28 }, { "LC", 32 },
	{ "LI", 21 }, { "LT", 20 }, { "LU", 20 }, { "LV", 21 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 },
	{ "MK", 19 }, { "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NL", 18 }, { "NO", 15 }, { "PK", 24 },
	{ "PL", 28 }, { "PS", 29 }, { "PT", 25 }, { "QA", 29 }, { "RO", 24 }, { "RS", 22 }, { "SA", 24 },
	{ "SC", 31 }, { "SE", 24 }, { "SI", 19 }, { "SK", 24 }, { "SM", 27 }, { "ST", 25 }, { "SV", 28 },
	{ "TL", 23 }, { "TN", 24 }, { "TR", 26 }, { "UA", 29 }, { "VA", 22 }, { "VG", 24 }, { "XK", 20 },
};

#define MAX_IBAN_BYTES 34

static size_t iban_length(char first, char second)
{
	for (size_t i = 0; i < sizeof(iban_countries) / sizeof(iban_countries[0]); i++) {
		if (iban_countries[i].code[0] == first && iban_countries[i].code[1] == second)
			return iban_countries[i].length;
	}
	return 0;
}

/* ISO 7064 MOD 97-10 over the IBAN with its first four characters moved
 * to the end and letters as 10 to 35. */
static bool passes_mod97(const char *iban, size_t length)
{
	unsigned int remainder = 0;

	for (size_t i = 0; i < length; i++) {
		char c = iban[(i + 4) % length];

		if (pii_is_digit(c))
			remainder = (remainder * 10 + (unsigned int)(c - '0')) % 97;
		else
			remainder = (remainder * 100 + (unsigned int)(c - 'A' + 10)) % 97;
	}
	return remainder == 1;
}

/* Reads an IBAN at offset, printed whole or in groups of 4 with single
 * spaces, into iban (uppercase). Letters must all have the same case.
 * Returns the end offset, or 0. */
static size_t read_iban(const char *text, size_t length, size_t offset, size_t expected, char *iban)
{
	size_t count = 0;
	size_t i = offset;
	bool upper = text[offset] >= 'A' && text[offset] <= 'Z';

	while (i < length && count < expected) {
		char c = text[i];

		if (c == ' ' && count % 4 == 0 && i + 1 < length && pii_is_alnum(text[i + 1])) {
			i++;
			continue;
		}
		if (!pii_is_alnum(c))
			return 0;
		if (pii_is_alpha(c) && (c >= 'A' && c <= 'Z') != upper)
			return 0;
		iban[count++] = pii_upper(c);
		i++;
	}
	if (count != expected || pii_alnum_at(text, length, i))
		return 0;
	return i;
}

static int match_iban(struct pii_field_scan *scan, size_t offset, size_t *next)
{
	const char *text = scan->text;
	char iban[MAX_IBAN_BYTES];
	size_t expected = iban_length(pii_upper(text[offset]), pii_upper(text[offset + 1]));
	size_t end;
	struct pii_match match = {
		.category = "iban",
		.source = "detector:iban",
		.offset = offset,
		.steps = "",
		.value = iban,
	};

	*next = offset + 1;
	if (!expected)
		return 0;
	end = read_iban(text, scan->length, offset, expected, iban);
	if (!end || !passes_mod97(iban, expected))
		return 0;
	match.length = end - offset;
	match.value_bytes = expected;
	*next = end;
	return pii_report(scan, &match);
}

int pii_find_ibans(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	size_t offset = 0;

	while (offset + 4 <= scan->length) {
		size_t next = offset + 1;
		int error;

		if (pii_is_alpha(text[offset]) && pii_is_alpha(text[offset + 1]) &&
		    pii_is_digit(text[offset + 2]) && pii_is_digit(text[offset + 3]) &&
		    !pii_alnum_before(text, offset)) {
			error = match_iban(scan, offset, &next);
			if (error)
				return error;
		}
		offset = next;
	}
	return 0;
}

/* ---- US social security numbers ---- */

/* Whether area-group-serial could be assigned: area 001 to 899 except
 * 666, group 01 to 99, serial 0001 to 9999 (SSA, "Social Security Number
 * Randomization", 2011). 078-05-1120 and 219-09-9999 were printed in
 * advertisements and are invalid too. */
static bool is_assignable_ssn(const char *digits)
{
	unsigned int area =
		(unsigned int)((digits[0] - '0') * 100 + (digits[1] - '0') * 10 + (digits[2] - '0'));

	if (area == 0 || area == 666 || area >= 900)
		return false;
	if (digits[3] == '0' && digits[4] == '0')
		return false;
	if (memcmp(digits + 5, "0000", 4) == 0)
		return false;
	return memcmp(digits, "078051120", 9) != 0 && memcmp(digits, "219099999", 9) != 0;
}

static int report_ssn(struct pii_field_scan *scan, size_t start, size_t end, const char *digits)
{
	struct pii_match match = {
		.category = "us_ssn",
		.source = "detector:us_ssn",
		.offset = start,
		.length = end - start,
		.steps = "",
		.value = digits,
		.value_bytes = 9,
	};

	if (!is_assignable_ssn(digits))
		return 0;
	return pii_report(scan, &match);
}

static bool read_fixed_digits(const char *text, size_t length, size_t *i, size_t count, char *digits)
{
	for (size_t k = 0; k < count; k++, (*i)++) {
		if (*i >= length || !pii_is_digit(text[*i]))
			return false;
		digits[k] = text[*i];
	}
	return true;
}

/* Reads "AAA-GG-SSSS" at offset into digits (9 bytes), and also
 * "AAA GG SSSS" and "AAAGGSSSS" when loose. Returns the end offset, or 0. */
static size_t read_ssn(const char *text, size_t length, size_t offset, bool loose, char *digits)
{
	size_t i = offset;
	char separator = 0;

	if (!read_fixed_digits(text, length, &i, 3, digits))
		return 0;
	if (i < length && (text[i] == '-' || (loose && text[i] == ' ')))
		separator = text[i++];
	else if (!loose)
		return 0;
	if (!read_fixed_digits(text, length, &i, 2, digits + 3))
		return 0;
	if (separator) {
		if (i >= length || text[i] != separator)
			return 0;
		i++;
	}
	if (!read_fixed_digits(text, length, &i, 4, digits + 5))
		return 0;
	return i;
}

int pii_find_us_ssns(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	char digits[9];
	size_t offset = 0;

	if (scan->meaning == PII_MEANING_US_SSN) {
		size_t start = 0;
		size_t end = scan->length;

		while (start < end && text[start] == ' ')
			start++;
		while (end > start && text[end - 1] == ' ')
			end--;
		if (end > start && read_ssn(text, end, start, true, digits) == end)
			return report_ssn(scan, start, end, digits);
	}

	while (offset < scan->length) {
		size_t end;
		int error;

		if (!pii_is_digit(text[offset]) || pii_alnum_before(text, offset) ||
		    (offset > 0 && (text[offset - 1] == '-' || text[offset - 1] == '.'))) {
			offset++;
			continue;
		}
		end = read_ssn(text, scan->length, offset, false, digits);
		if (!end || pii_alnum_at(text, scan->length, end) ||
		    (end + 1 < scan->length && text[end] == '-' && pii_is_digit(text[end + 1]))) {
			offset = read_digits(text, scan->length, offset);
			continue;
		}
		error = report_ssn(scan, offset, end, digits);
		if (error)
			return error;
		offset = end;
	}
	return 0;
}

/*
 * Dates of birth as forms and pixels send them. Meta's advanced matching
 * sends "19900115". ISO 8601 order gives "1990-01-15" and "1990/01/15".
 * "15.01.1990" is day first, as in most of Europe. "01/15/1990" is month
 * first, as in the US, unless the first number is over 12. "15-01-1990" is
 * day first, unless the second number is over 12.
 */
#include <stdbool.h>

#include "pii_internal.h"

/* Years a living person can be born in. */
#define MIN_YEAR 1900
#define MAX_YEAR 2099

static bool read_number(const char *text, size_t digits, unsigned int *value)
{
	*value = 0;
	for (size_t i = 0; i < digits; i++) {
		if (!pii_is_digit(text[i]))
			return false;
		*value = *value * 10 + (unsigned int)(text[i] - '0');
	}
	return true;
}

static bool is_valid_date(unsigned int year, unsigned int month, unsigned int day)
{
	static const unsigned int month_days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12)
		return false;
	return day >= 1 && day <= month_days[month - 1];
}

/* Reads "YYYY?MM?DD" (separator 0: none) or "AA?BB?YYYY". */
static bool read_year_first(const char *text, size_t length, char separator, unsigned int *date)
{
	size_t gap = separator ? 1 : 0;

	if (length != 8 + 2 * gap)
		return false;
	if (separator && (text[4] != separator || text[7] != separator))
		return false;
	return read_number(text, 4, &date[0]) && read_number(text + 4 + gap, 2, &date[1]) &&
	       read_number(text + 6 + 2 * gap, 2, &date[2]);
}

static bool read_year_last(const char *text, size_t length, char separator, unsigned int *first,
			   unsigned int *second, unsigned int *year)
{
	if (length != 10 || text[2] != separator || text[5] != separator)
		return false;
	return read_number(text, 2, first) && read_number(text + 3, 2, second) &&
	       read_number(text + 6, 4, year);
}

static void write_digits(char *out, unsigned int value, size_t digits)
{
	for (size_t i = digits; i > 0; i--) {
		out[i - 1] = (char)('0' + value % 10);
		value /= 10;
	}
}

bool pii_read_date(const char *text, size_t length, char *yyyymmdd)
{
	unsigned int date[3]; /* year, month, day */
	unsigned int first;
	unsigned int second;
	bool found = read_year_first(text, length, 0, date) || read_year_first(text, length, '-', date) ||
		     read_year_first(text, length, '/', date);

	if (!found && read_year_last(text, length, '.', &first, &second, &date[0])) {
		date[1] = second;
		date[2] = first;
		found = true;
	} else if (!found && read_year_last(text, length, '/', &first, &second, &date[0])) {
		date[1] = first > 12 ? second : first;
		date[2] = first > 12 ? first : second;
		found = true;
	} else if (!found && read_year_last(text, length, '-', &first, &second, &date[0])) {
		date[1] = second > 12 ? first : second;
		date[2] = second > 12 ? second : first;
		found = true;
	}
	if (!found || !is_valid_date(date[0], date[1], date[2]))
		return false;
	write_digits(yyyymmdd, date[0], 4);
	write_digits(yyyymmdd + 4, date[1], 2);
	write_digits(yyyymmdd + 6, date[2], 2);
	yyyymmdd[8] = '\0';
	return true;
}

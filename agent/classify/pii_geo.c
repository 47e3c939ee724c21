/*
 * Precise locations: a latitude and a longitude with at least 3 decimals,
 * either as a pair in one value ("48.8584,2.2945") or in two sibling
 * fields ("geo.lat" and "geo.lng"). 3 decimals are about 110 m at the
 * equator, the precision at which a location points to a street.
 * Pairs with both coordinates under 1 degree are ratios and offsets far
 * more often than places in the Gulf of Guinea, so they do not count.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pii_internal.h"

#define MIN_DECIMALS 3
#define MAX_NUMBER_BYTES 24

/* A coordinate as written: sign, 1 to 3 integer digits, "." and decimals. */
struct coordinate {
	size_t start;
	size_t end;
	double degrees;
};

/* Reads a coordinate at offset. Returns false when there is none. */
static bool read_coordinate(const char *text, size_t length, size_t offset, struct coordinate *coordinate)
{
	size_t i = offset;
	size_t integer_start;
	size_t decimals_start;
	double degrees = 0;
	double scale = 1;
	bool negative = false;

	if (i < length && (text[i] == '-' || text[i] == '+'))
		negative = text[i++] == '-';
	integer_start = i;
	while (i < length && pii_is_digit(text[i]) && i - integer_start < 4)
		degrees = degrees * 10 + (text[i++] - '0');
	if (i == integer_start || i - integer_start > 3 || i >= length || text[i] != '.')
		return false;
	decimals_start = ++i;
	while (i < length && pii_is_digit(text[i]) && i - offset < MAX_NUMBER_BYTES) {
		scale /= 10;
		degrees += (text[i++] - '0') * scale;
	}
	if (i - decimals_start < MIN_DECIMALS || pii_alnum_at(text, length, i))
		return false;

	coordinate->start = offset;
	coordinate->end = i;
	coordinate->degrees = negative ? -degrees : degrees;
	return true;
}

static bool is_pair_in_range(double first, double second)
{
	double a = first < 0 ? -first : first;
	double b = second < 0 ? -second : second;

	if (a < 1 && b < 1)
		return false;
	return (a <= 90 && b <= 180) || (a <= 180 && b <= 90);
}

static int report_location(struct pii_field_scan *scan, size_t start, size_t end, const char *value,
			   size_t value_bytes)
{
	struct pii_match match = {
		.category = "geolocation",
		.source = "detector:geolocation",
		.offset = start,
		.length = end - start,
		.steps = "",
		.value = value,
		.value_bytes = value_bytes,
	};

	return pii_report(scan, &match);
}

/* Whether a number list goes on before start or after end ("1.5,48.8584,"). */
static bool is_inside_list(const char *text, size_t length, size_t start, size_t end)
{
	if (start > 0 && (pii_is_alnum(text[start - 1]) || text[start - 1] == '.' || text[start - 1] == '-'))
		return true;
	if (start > 1 && text[start - 1] == ',' && pii_is_digit(text[start - 2]))
		return true;
	if (pii_alnum_at(text, length, end) || (end < length && text[end] == '.'))
		return true;
	if (end >= length || text[end] != ',')
		return false;
	end++;
	while (end < length && text[end] == ' ')
		end++;
	return end < length && (pii_is_digit(text[end]) || text[end] == '-');
}

/* A pair at offset: coordinate, ",", optional spaces, coordinate. Returns
 * the offset to scan on from. */
static size_t match_pair(struct pii_field_scan *scan, size_t offset, int *error)
{
	const char *text = scan->text;
	struct coordinate first;
	struct coordinate second;
	char value[2 * MAX_NUMBER_BYTES + 2];
	size_t i;
	int written;

	*error = 0;
	if (!read_coordinate(text, scan->length, offset, &first))
		return offset + 1;
	i = first.end;
	while (i < scan->length && text[i] == ' ')
		i++;
	if (i >= scan->length || text[i] != ',')
		return first.end;
	i++;
	while (i < scan->length && text[i] == ' ')
		i++;
	if (!read_coordinate(text, scan->length, i, &second))
		return first.end;
	if (is_inside_list(text, scan->length, first.start, second.end) ||
	    !is_pair_in_range(first.degrees, second.degrees))
		return second.end;

	written = snprintf(value, sizeof(value), "%.*s,%.*s", (int)(first.end - first.start),
			   text + first.start, (int)(second.end - second.start), text + second.start);
	*error = report_location(scan, first.start, second.end, value, (size_t)written);
	return second.end;
}

/* The parent part of a path, up to and including the separator before its
 * last name: "geo." for "geo.lat", "ud[" for "ud[lat]". */
static size_t parent_bytes(const char *path)
{
	size_t length = strlen(path);
	size_t i = length;

	if (length > 0 && path[length - 1] == ']') {
		while (i > 0 && path[i - 1] != '[')
			i--;
		return i;
	}
	while (i > 0 && path[i - 1] != '.')
		i--;
	return i;
}

/* Reads a field's whole value as one coordinate, spaces around allowed. */
static bool read_field_coordinate(const struct field *field, struct coordinate *coordinate)
{
	size_t start = 0;
	size_t end = field->value_bytes;

	while (start < end && field->value[start] == ' ')
		start++;
	while (end > start && field->value[end - 1] == ' ')
		end--;
	return read_coordinate(field->value, end, start, coordinate) && coordinate->end == end;
}

/* A latitude or longitude field with a sibling of the other kind: each
 * field of the pair gets a finding of its own, for redaction, with the pair
 * as the value. */
static int match_sibling(struct pii_field_scan *scan)
{
	enum pii_meaning other =
		scan->meaning == PII_MEANING_LATITUDE ? PII_MEANING_LONGITUDE : PII_MEANING_LATITUDE;
	const struct field *self = &scan->fields->fields[scan->index];
	size_t prefix = parent_bytes(self->path);
	struct coordinate mine;
	struct coordinate theirs;
	char value[2 * MAX_NUMBER_BYTES + 2];
	int written;

	if (!read_field_coordinate(self, &mine))
		return 0;
	for (size_t i = 0; i < scan->fields->count; i++) {
		const struct field *sibling = &scan->fields->fields[i];
		const struct coordinate *latitude = scan->meaning == PII_MEANING_LATITUDE ? &mine : &theirs;
		const struct coordinate *longitude = scan->meaning == PII_MEANING_LATITUDE ? &theirs : &mine;
		const struct field *latitude_field = scan->meaning == PII_MEANING_LATITUDE ? self : sibling;
		const struct field *longitude_field = scan->meaning == PII_MEANING_LATITUDE ? sibling : self;

		if (pii_meaning_at(scan, i) != other || parent_bytes(sibling->path) != prefix ||
		    strncmp(sibling->path, self->path, prefix) != 0 ||
		    !read_field_coordinate(sibling, &theirs))
			continue;
		if (latitude->degrees < -90 || latitude->degrees > 90 || longitude->degrees < -180 ||
		    longitude->degrees > 180 || !is_pair_in_range(latitude->degrees, longitude->degrees))
			continue;
		written = snprintf(value, sizeof(value), "%.*s,%.*s", (int)(latitude->end - latitude->start),
				   latitude_field->value + latitude->start,
				   (int)(longitude->end - longitude->start),
				   longitude_field->value + longitude->start);
		return report_location(scan, mine.start, mine.end, value, (size_t)written);
	}
	return 0;
}

int pii_find_locations(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	size_t offset = 0;
	int error = 0;

	if (scan->meaning == PII_MEANING_LATITUDE || scan->meaning == PII_MEANING_LONGITUDE) {
		error = match_sibling(scan);
		if (error)
			return error;
	}
	while (offset < scan->length && !error) {
		char c = text[offset];

		if ((pii_is_digit(c) || c == '-' || c == '+') &&
		    !(offset > 0 && (pii_is_digit(text[offset - 1]) || text[offset - 1] == '.')))
			offset = match_pair(scan, offset, &error);
		else
			offset++;
	}
	return error;
}

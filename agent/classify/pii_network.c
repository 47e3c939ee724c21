/*
 * IP addresses in values. Private ranges (10/8, 172.16/12, 192.168/16,
 * fc00::/7, fe80::/10) are reported like public ones: a page that sends the
 * device's local address (WebRTC candidates, diagnostics) still sends
 * something that singles out the device. Addresses that name no device are
 * not: unspecified, loopback, broadcast, multicast and reserved. Neither is
 * a URL's host ("https://192.0.2.7/"), which is a server, nor a version
 * that happens to have four numbers ("Chrome/120.0.0.0", "v1.2.3.4", or
 * any value of a field named "version", "v" or "sdk_version").
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pii_internal.h"

/* INET6_ADDRSTRLEN, the longest text form, "ffff:...:255.255.255.255". */
#define MAX_IPV6_TEXT 45

static int report_address(struct pii_field_scan *scan, size_t start, size_t end, const char *value)
{
	struct pii_match match = {
		.category = "ip_address",
		.source = "detector:ip_address",
		.offset = start,
		.length = end - start,
		.steps = "",
		.value = value,
		.value_bytes = strlen(value),
	};

	return pii_report(scan, &match);
}

/* Whether the text before offset makes what follows a server or a version:
 * "//" or "@" of a URL, "/" after a product name ("Chrome/"), "-" or "_"
 * ("lib-1.2.3.4"). A letter before ("v1.2.3.4") is ruled out by the caller. */
static bool is_host_or_version_before(const char *text, size_t offset)
{
	char before;

	if (offset == 0)
		return false;
	before = text[offset - 1];
	if (before == '@' || before == '-' || before == '_')
		return true;
	if (before == '/' && offset >= 2)
		return text[offset - 2] == '/' || pii_is_alnum(text[offset - 2]);
	if (before == '[' && offset >= 3)
		return text[offset - 2] == '/' && text[offset - 3] == '/';
	return false;
}

/* Reads a dotted-quad IPv4 address at offset, octets without leading
 * zeros. Returns the end offset, or 0. */
static size_t read_ipv4(const char *text, size_t length, size_t offset, unsigned int *octets)
{
	size_t i = offset;

	for (int k = 0; k < 4; k++) {
		size_t start = i;
		unsigned int value = 0;

		if (k > 0) {
			if (i >= length || text[i] != '.')
				return 0;
			start = ++i;
		}
		while (i < length && pii_is_digit(text[i]) && i - start < 3)
			value = value * 10 + (unsigned int)(text[i++] - '0');
		if (i == start || value > 255 || (text[start] == '0' && i - start > 1))
			return 0;
		octets[k] = value;
	}
	return i;
}

static bool names_a_device_v4(const unsigned int *octets)
{
	/* 0/8 this network, 127/8 loopback, 224/4 multicast, 240/4 reserved
	 * and the broadcast address. */
	return octets[0] != 0 && octets[0] != 127 && octets[0] < 224;
}

static int match_ipv4(struct pii_field_scan *scan, size_t offset)
{
	const char *text = scan->text;
	unsigned int octets[4];
	char value[16];
	size_t end;

	end = read_ipv4(text, scan->length, offset, octets);
	if (!end)
		return 0;
	if (pii_alnum_at(text, scan->length, end) || pii_number_continues(text, scan->length, end))
		return 0;
	if (end + 1 < scan->length && (text[end] == '-' || text[end] == '_') && pii_is_alnum(text[end + 1]))
		return 0;
	if (is_host_or_version_before(text, offset) || !names_a_device_v4(octets))
		return 0;

	snprintf(value, sizeof(value), "%u.%u.%u.%u", octets[0], octets[1], octets[2], octets[3]);
	return report_address(scan, offset, end, value);
}

static bool is_ipv6_byte(char c)
{
	return pii_is_hex(c) || c == ':' || c == '.';
}

/* Whether an IPv6 address names a device: not unspecified, loopback or
 * multicast. */
static bool names_a_device_v6(const struct in6_addr *address)
{
	static const struct in6_addr loopback = IN6ADDR_LOOPBACK_INIT;
	static const struct in6_addr unspecified = IN6ADDR_ANY_INIT;

	return memcmp(address, &loopback, sizeof(loopback)) != 0 &&
	       memcmp(address, &unspecified, sizeof(unspecified)) != 0 && address->s6_addr[0] != 0xff;
}

/* Whether candidate text reads as an address rather than a time or a
 * counter: a hex letter in it, or at least four groups. "12:30::" and
 * "1::2" are valid IPv6 but are no addresses anyone sends. */
static bool looks_like_ipv6(const char *text, size_t length)
{
	size_t groups = 0;

	for (size_t i = 0; i < length; i++) {
		if (pii_is_alpha(text[i]))
			return true;
		if (text[i] != ':' && (i == 0 || text[i - 1] == ':'))
			groups++;
	}
	return groups >= 4;
}

/* Checks the run [offset, end) of hex digits, ":" and "." as an IPv6
 * address, and sets *matched when it is one. */
static int match_ipv6(struct pii_field_scan *scan, size_t offset, size_t end, bool *matched)
{
	const char *text = scan->text;
	char candidate[MAX_IPV6_TEXT + 1];
	char value[INET6_ADDRSTRLEN];
	struct in6_addr address;

	*matched = false;
	while (end > offset && text[end - 1] == '.')
		end--;
	if (end - offset > MAX_IPV6_TEXT || pii_alnum_at(text, scan->length, end))
		return 0;
	if (is_host_or_version_before(text, offset))
		return 0;

	memcpy(candidate, text + offset, end - offset);
	candidate[end - offset] = '\0';
	if (inet_pton(AF_INET6, candidate, &address) != 1 || !names_a_device_v6(&address))
		return 0;
	if (!looks_like_ipv6(candidate, end - offset))
		return 0;
	*matched = true;
	inet_ntop(AF_INET6, &address, value, sizeof(value));
	return report_address(scan, offset, end, value);
}

int pii_find_ip_addresses(struct pii_field_scan *scan)
{
	const char *text = scan->text;
	size_t offset = 0;

	if (scan->meaning == PII_MEANING_VERSION)
		return 0;
	while (offset < scan->length) {
		char before = offset > 0 ? text[offset - 1] : '\0';
		size_t end = offset;
		size_t colons = 0;
		bool matched = false;
		int error = 0;

		if (!is_ipv6_byte(text[offset]) || pii_is_alnum(before) || before == '.' || before == ':') {
			offset++;
			continue;
		}
		while (end < scan->length && is_ipv6_byte(text[end]))
			colons += text[end++] == ':';

		/* An IPv4 address may be followed by ":port", so a run with
		 * colons that is no IPv6 address is tried as IPv4 too. */
		if (colons >= 2)
			error = match_ipv6(scan, offset, end, &matched);
		if (!error && !matched && pii_is_digit(text[offset]))
			error = match_ipv4(scan, offset);
		if (error)
			return error;
		offset = end > offset ? end : offset + 1;
	}
	return 0;
}

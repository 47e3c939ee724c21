/*
 * The host of an absolute URL (RFC 3986 section 3.2), without parsing the
 * rest: Referer and Origin values, url.full and filter-list test corpora
 * all give absolute URLs.
 */
#include <ctype.h>
#include <string.h>

#include "url.h"

size_t url_host(const char *url, char *host, size_t size)
{
	const char *start = url ? strstr(url, "://") : NULL;
	const char *at;
	size_t length;

	host[0] = '\0';
	if (!start)
		return 0;
	start += 3;
	length = strcspn(start, "/?#");

	/* The last '@' ends the credentials: a password may contain one. */
	at = memrchr(start, '@', length);
	if (at) {
		length -= (size_t)(at + 1 - start);
		start = at + 1;
	}

	if (start[0] == '[') {
		const char *end = memchr(start, ']', length);

		length = end ? (size_t)(end - start - 1) : 0;
		start++;
	} else {
		length = strcspn(start, ":/?#");
	}
	if (length == 0 || length >= size)
		return 0;

	for (size_t i = 0; i < length; i++)
		host[i] = (char)tolower((unsigned char)start[i]);
	host[length] = '\0';
	return length;
}

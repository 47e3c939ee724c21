/*
 * The host of an absolute URL, as several stages need it: the classify
 * stage for Referer and Origin, the filter engine for a page's host, and
 * the agent for a request's own host.
 */
#ifndef PLAINSIGHT_URL_H
#define PLAINSIGHT_URL_H

#include <stddef.h>

/* Copies the host of "scheme://user:password@host:port/path" into host,
 * lowercase, without credentials, port or the brackets of an IPv6 literal.
 * Returns its length, or 0 when the URL has no host or it does not fit in
 * size bytes (host is then ""). */
size_t url_host(const char *url, char *host, size_t size);

#endif

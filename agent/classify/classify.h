/*
 * Classify stage: what a request means. For now, the site a request belongs
 * to and whether it goes to a third party, from the Referer, Origin and
 * Sec-Fetch-Site headers, with registrable domains (eTLD+1) from libpsl and
 * Debian's public suffix list.
 */
#ifndef PLAINSIGHT_CLASSIFY_H
#define PLAINSIGHT_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#define SITE_BYTES 256

enum party {
	PARTY_UNKNOWN = 0, /* no header names the site */
	PARTY_FIRST,
	PARTY_THIRD,
};

struct site_context {
	char site[SITE_BYTES];     /* registrable domain of the page, "" if unknown */
	char server[SITE_BYTES];   /* registrable domain of the request's host */
	enum party party;
};

/* The parts of a request that classification reads. */
struct site_request {
	const char *host;            /* the request's host, without port */
	const char *referer;         /* header values, or NULL */
	const char *origin;
	const char *sec_fetch_site;
};

/* Loads the public suffix list: Debian's current copy when it is installed
 * (package publicsuffix), else the list built into libpsl. Returns 0 or
 * -ENOENT. */
int classify_init(void);
void classify_free(void);

/* Fills context for request. */
void classify_site(const struct site_request *request, struct site_context *context);

#endif

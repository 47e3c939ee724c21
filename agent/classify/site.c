/*
 * Site context of a request. The page's site comes from Referer, else
 * Origin. The host of that URL is reduced to its registrable domain
 * (eTLD+1), so shop.example.co.uk and www.example.co.uk are one site. A
 * request is third party when its own registrable domain differs from the
 * page's. The browser's own Sec-Fetch-Site header (Fetch Metadata, sent by
 * Chromium 76+ and Firefox 90+) wins where present, because the browser
 * has the initiator even when Referer is stripped by a referrer policy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "../common/log.h"
#include "../common/url.h"
#include "classify.h"

static psl_ctx_t *suffixes;
static bool suffixes_owned;

int classify_init(void)
{
	if (suffixes)
		return 0;
	suffixes = psl_latest(NULL);
	suffixes_owned = suffixes != NULL;
	if (!suffixes)
		suffixes = (psl_ctx_t *)psl_builtin();
	if (!suffixes) {
		log_error("no public suffix list: install Debian's publicsuffix package");
		return -ENOENT;
	}
	return 0;
}

void classify_free(void)
{
	if (suffixes_owned)
		psl_free(suffixes);
	suffixes = NULL;
	suffixes_owned = false;
}

/* The registrable domain of host, or host itself when it has none (an IP
 * address, localhost, or a name that is itself a public suffix). */
static void registrable(const char *host, char *out, size_t size)
{
	unsigned char address[16];
	const char *domain = NULL;

	/* libpsl 0.21 reads "127.0.0.1" as a name and returns "0.1". */
	if (host[0] && suffixes && inet_pton(AF_INET, host, address) != 1 && inet_pton(AF_INET6, host, address) != 1)
		domain = psl_registrable_domain(suffixes, host);

	snprintf(out, size, "%s", domain ? domain : host);
}

void classify_site(const struct site_request *request, struct site_context *context)
{
	char host[SITE_BYTES];

	memset(context, 0, sizeof(*context));
	snprintf(host, sizeof(host), "%s", request->host ? request->host : "");
	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	registrable(host, context->server, sizeof(context->server));

	if (request->referer && request->referer[0])
		url_host(request->referer, host, sizeof(host));
	else if (request->origin && request->origin[0] && strcmp(request->origin, "null") != 0)
		url_host(request->origin, host, sizeof(host));
	else
		host[0] = '\0';
	if (host[0])
		registrable(host, context->site, sizeof(context->site));
	snprintf(context->page_host, sizeof(context->page_host), "%s", host);

	if (request->sec_fetch_site && strcasecmp(request->sec_fetch_site, "cross-site") == 0)
		context->party = PARTY_THIRD;
	else if (request->sec_fetch_site && (strcasecmp(request->sec_fetch_site, "same-site") == 0 ||
					     strcasecmp(request->sec_fetch_site, "same-origin") == 0))
		context->party = PARTY_FIRST;
	else if (context->site[0] && context->server[0])
		context->party = strcmp(context->site, context->server) == 0 ? PARTY_FIRST : PARTY_THIRD;
}

/*
 * Requests built from a URL, the page's URL and a type name, the form in
 * which test corpora and benchmarks give them. Third party means that the
 * registrable domains (eTLD+1, from the public suffix list built into
 * libpsl) differ; an IP address is its own registrable domain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libpsl.h>

#include "../common/url.h"
#include "internal.h"

/* libpsl 0.21 reads "127.0.0.1" as a name and returns "0.1", so addresses
 * are kept whole. */
static const char *registrable_domain(const char *host)
{
	const psl_ctx_t *suffixes = psl_builtin();
	unsigned char address[16];
	const char *domain = NULL;

	if (suffixes && inet_pton(AF_INET, host, address) != 1 && inet_pton(AF_INET6, host, address) != 1)
		domain = psl_registrable_domain(suffixes, host);
	return domain ? domain : host;
}

int filter_request_from_urls(struct filter_url_request *out, const char *url, const char *source_url,
			     const char *type_name)
{
	memset(out, 0, sizeof(*out));
	out->request.url = url;
	out->request.type = filter_type_from_name(type_name);
	if (url_host(url, out->host, sizeof(out->host)) == 0)
		return -EINVAL;

	if (url_host(source_url, out->source_host, sizeof(out->source_host)) == 0)
		return 0;
	out->request.source_host = out->source_host;
	out->request.party_known = true;
	out->request.third_party =
		strcmp(registrable_domain(out->host), registrable_domain(out->source_host)) != 0;
	return 0;
}

/*
 * Adblock Plus network filters: the request-blocking part of the filter
 * syntax that EasyList and EasyPrivacy are written in. The classify stage
 * checks whether a captured request would have been blocked by those lists
 * and by which filter, so that every verdict can be explained.
 *
 * Supported syntax: "||" host anchors, "|" start and end anchors, "^"
 * separators, "*" wildcards, "@@" exceptions, "/.../" regular expressions
 * (PCRE2 with JavaScript-compatible options), and the options third-party,
 * domain=, the resource types, match-case and important. Element hiding
 * rules, scriptlets, comments and list headers are skipped and counted.
 * Options the engine does not implement make it drop the filter (see the
 * table in parse_options.c).
 *
 * Decision: a request is blocked when a blocking filter matches and no
 * exception does, except that an $important blocking filter wins over
 * every exception (Adblock Plus semantics).
 */
#ifndef PLAINSIGHT_FILTERS_H
#define PLAINSIGHT_FILTERS_H

#include <stdbool.h>
#include <stddef.h>

/* Resource types, the values of $script, $image, ... */
enum filter_resource_type {
	FILTER_TYPE_OTHER = 0,
	FILTER_TYPE_SCRIPT,
	FILTER_TYPE_IMAGE,
	FILTER_TYPE_STYLESHEET,
	FILTER_TYPE_OBJECT,
	FILTER_TYPE_XMLHTTPREQUEST, /* XMLHttpRequest and fetch() */
	FILTER_TYPE_SUBDOCUMENT,    /* frames and iframes */
	FILTER_TYPE_PING,           /* navigator.sendBeacon() and <a ping> */
	FILTER_TYPE_MEDIA,
	FILTER_TYPE_FONT,
	FILTER_TYPE_WEBSOCKET,
	FILTER_TYPE_DOCUMENT,       /* top-level navigation */
	FILTER_TYPE_POPUP,
	FILTER_TYPE_COUNT,
};

/* URL bytes that matching reads. Plain patterns only look at the first
 * FILTER_URL_MAX_BYTES bytes of a longer URL, and then never match an end
 * anchor ("|" or a final "^") there, because the real end is not seen.
 * Regular expressions see the whole URL, but one that the index files
 * under a token is only tried when the token is in those first bytes. */
#define FILTER_URL_MAX_BYTES 8192

struct filter_request {
	/* Absolute URL as requested, "https://host/path?query". */
	const char *url;
	/* Host of the page that made the request, lowercase without port, for
	 * $domain=; NULL or "" when unknown. Then filters that list a domain
	 * without "~" do not match, and filters that only exclude domains
	 * do. */
	const char *source_host;
	/* Whether the request's registrable domain (eTLD+1) differs from the
	 * page's; the caller decides it, with libpsl. */
	bool third_party;
	/* False when the page is unknown. $third-party and ~third-party then
	 * do not restrict, so such filters match either way. The request
	 * corpus of adblock-rust 0.13 expects that: it lists "$third-party"
	 * filters for requests without a page. */
	bool party_known;
	enum filter_resource_type type;
};

struct filter_decision {
	bool matched;          /* a blocking filter matched */
	bool blocked;          /* matched, and no exception overrides it */
	/* Original text of the blocking filter that matched, and of the
	 * exception that overrode it, or NULL. Valid until the engine is
	 * changed or freed. An $important filter is reported without looking
	 * for exceptions, so exception stays NULL then. */
	const char *filter;
	const char *exception;
};

struct filter_stats {
	size_t loaded;            /* network filters in the engine, exceptions included */
	size_t exceptions;        /* of which "@@" exceptions */
	size_t important;         /* of which $important blocking filters */
	size_t regex;             /* of which regular expressions */
	size_t unindexed;         /* of which checked for every request (no usable token) */
	size_t cosmetic_skipped;  /* element hiding and scriptlet rules */
	size_t comments;          /* "!" comments and "[Adblock Plus 2.0]" headers */
	size_t unsupported;       /* dropped: an option the engine does not implement */
	size_t invalid;           /* rejected: unknown option, bad regular expression, ... */
};

/* Results of filter_engine_add() besides -EINVAL and -ENOMEM. */
enum filter_add_result {
	FILTER_ADDED = 0,
	FILTER_SKIPPED = 1,  /* blank, comment, header or cosmetic rule */
	FILTER_DROPPED = 2,  /* uses an option the engine does not implement */
};

struct filter_engine;

/* Creates an empty engine. Returns 0 or -ENOMEM. */
int filter_engine_new(struct filter_engine **engine);

/*
 * Adds one line of a filter list. origin names it in messages, such as
 * "easyprivacy.txt:123". Returns a filter_add_result, -EINVAL for a line
 * that cannot be parsed, or -ENOMEM. Lines that cannot be parsed are
 * counted as invalid, and the first few per engine or file are logged
 * with their origin.
 *
 * Filters added one by one are checked by a linear scan until the next
 * filter_engine_load_file() or filter_engine_build_index(), so a handful of
 * them costs nothing extra to set up.
 */
int filter_engine_add(struct filter_engine *engine, const char *line, size_t length, const char *origin);

/* Adds every line of a filter list file and rebuilds the token index.
 * Unparsable lines are counted and never fatal. Logs one summary line per
 * file. Returns 0, -errno when the file cannot be read, or -ENOMEM. */
int filter_engine_load_file(struct filter_engine *engine, const char *path);

/* Rebuilds the token index over every filter added so far. Returns 0 or
 * -ENOMEM (the engine then keeps matching correctly, only slower). */
int filter_engine_build_index(struct filter_engine *engine);

void filter_engine_stats(const struct filter_engine *engine, struct filter_stats *stats);

/*
 * Decides one request. Returns decision->blocked. Does not allocate: it
 * uses about 15 KiB of stack, and 33 KiB more while a regular expression
 * runs (PCRE2's JIT stack and match data). Safe to call from several
 * threads at once on an engine that is not being changed.
 */
bool filter_engine_match(const struct filter_engine *engine, const struct filter_request *request,
			 struct filter_decision *decision);

void filter_engine_free(struct filter_engine *engine);

/* Maps a type name, as filter options and browser APIs spell it ("script",
 * "xmlhttprequest", "xhr", "fetch", "sub_frame", "beacon", ...), to a type.
 * Unknown names give FILTER_TYPE_OTHER. */
enum filter_resource_type filter_type_from_name(const char *name);

/* Maps the Sec-Fetch-Dest and Sec-Fetch-Mode request headers (either may
 * be NULL) to a type. */
enum filter_resource_type filter_type_from_fetch(const char *sec_fetch_dest, const char *sec_fetch_mode);

/* Name of a type as filter options spell it, "xmlhttprequest" for example. */
const char *filter_type_name(enum filter_resource_type type);

/* A request built from URLs, as test corpora and benchmarks give them. */
struct filter_url_request {
	struct filter_request request;
	char host[256];
	char source_host[256];
};

/*
 * Fills out from the request's URL, the page's URL (NULL or without a host
 * when unknown, such as "http://") and a type name. The party is known
 * when the page's host is: third party when the registrable domains
 * (libpsl's built-in public suffix list) differ. out->request.url points
 * to url. Returns 0, or -EINVAL when url has no host.
 */
int filter_request_from_urls(struct filter_url_request *out, const char *url, const char *source_url,
			     const char *type_name);

#endif

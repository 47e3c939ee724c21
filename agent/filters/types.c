/*
 * Resource types: their names in filter options and in browser APIs, and
 * the type of a captured request from its Fetch Metadata headers.
 */
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const type_names[FILTER_TYPE_COUNT] = {
	[FILTER_TYPE_OTHER] = "other",
	[FILTER_TYPE_SCRIPT] = "script",
	[FILTER_TYPE_IMAGE] = "image",
	[FILTER_TYPE_STYLESHEET] = "stylesheet",
	[FILTER_TYPE_OBJECT] = "object",
	[FILTER_TYPE_XMLHTTPREQUEST] = "xmlhttprequest",
	[FILTER_TYPE_SUBDOCUMENT] = "subdocument",
	[FILTER_TYPE_PING] = "ping",
	[FILTER_TYPE_MEDIA] = "media",
	[FILTER_TYPE_FONT] = "font",
	[FILTER_TYPE_WEBSOCKET] = "websocket",
	[FILTER_TYPE_DOCUMENT] = "document",
	[FILTER_TYPE_POPUP] = "popup",
};

/* Other spellings: uBlock Origin's short option names, the obsolete
 * object-subrequest of Adblock Plus 2, and the type names of the
 * WebExtensions webRequest API, Chrome DevTools and Puppeteer. */
static const struct type_alias {
	const char *name;
	enum filter_resource_type type;
} type_aliases[] = {
	{ "css", FILTER_TYPE_STYLESHEET },
	{ "xhr", FILTER_TYPE_XMLHTTPREQUEST },
	{ "fetch", FILTER_TYPE_XMLHTTPREQUEST },
	{ "frame", FILTER_TYPE_SUBDOCUMENT },
	{ "sub_frame", FILTER_TYPE_SUBDOCUMENT },
	{ "doc", FILTER_TYPE_DOCUMENT },
	{ "main_frame", FILTER_TYPE_DOCUMENT },
	{ "beacon", FILTER_TYPE_PING },
	{ "object-subrequest", FILTER_TYPE_OBJECT },
	{ "object_subrequest", FILTER_TYPE_OBJECT },
	{ "imageset", FILTER_TYPE_IMAGE },
};

static int type_from_span(const char *name, size_t length)
{
	for (int type = 0; type < FILTER_TYPE_COUNT; type++) {
		if (strlen(type_names[type]) == length && strncasecmp(type_names[type], name, length) == 0)
			return type;
	}
	for (size_t i = 0; i < sizeof(type_aliases) / sizeof(type_aliases[0]); i++) {
		if (strlen(type_aliases[i].name) == length &&
		    strncasecmp(type_aliases[i].name, name, length) == 0)
			return (int)type_aliases[i].type;
	}
	return -1;
}

uint16_t type_bits_from_option(const char *name, size_t length)
{
	int type;

	/* uBlock Origin's $all: every type, document and popup included. */
	if (length == 3 && strncasecmp(name, "all", 3) == 0)
		return TYPES_ALL;

	type = type_from_span(name, length);
	return type < 0 ? 0 : TYPE_BIT(type);
}

enum filter_resource_type filter_type_from_name(const char *name)
{
	int type;

	if (!name)
		return FILTER_TYPE_OTHER;
	type = type_from_span(name, strlen(name));
	return type < 0 ? FILTER_TYPE_OTHER : (enum filter_resource_type)type;
}

const char *filter_type_name(enum filter_resource_type type)
{
	if ((unsigned)type >= FILTER_TYPE_COUNT)
		return "other";
	return type_names[type];
}

static bool equals(const char *value, const char *expected)
{
	return value && strcasecmp(value, expected) == 0;
}

/* Sec-Fetch-Dest "empty" is fetch(), XMLHttpRequest, sendBeacon() and
 * <a ping>. Browsers send sendBeacon() with mode "no-cors" unless its body
 * needs a CORS preflight, and <a ping> always as "no-cors", so "no-cors"
 * is taken as a ping. A fetch() with mode "no-cors" is reported as a ping
 * too. */
static enum filter_resource_type type_from_empty_destination(const char *mode)
{
	if (equals(mode, "websocket"))
		return FILTER_TYPE_WEBSOCKET;
	if (equals(mode, "no-cors"))
		return FILTER_TYPE_PING;
	return FILTER_TYPE_XMLHTTPREQUEST;
}

/* Sec-Fetch-Dest carries the request's destination as the Fetch standard
 * names it. */
static const struct destination_type {
	const char *destination;
	enum filter_resource_type type;
} destination_types[] = {
	{ "script", FILTER_TYPE_SCRIPT },
	{ "worker", FILTER_TYPE_SCRIPT },
	{ "sharedworker", FILTER_TYPE_SCRIPT },
	{ "serviceworker", FILTER_TYPE_SCRIPT },
	{ "audioworklet", FILTER_TYPE_SCRIPT },
	{ "paintworklet", FILTER_TYPE_SCRIPT },
	{ "image", FILTER_TYPE_IMAGE },
	{ "style", FILTER_TYPE_STYLESHEET },
	{ "font", FILTER_TYPE_FONT },
	{ "audio", FILTER_TYPE_MEDIA },
	{ "video", FILTER_TYPE_MEDIA },
	{ "track", FILTER_TYPE_MEDIA },
	{ "object", FILTER_TYPE_OBJECT },
	{ "embed", FILTER_TYPE_OBJECT },
	{ "document", FILTER_TYPE_DOCUMENT },
	{ "iframe", FILTER_TYPE_SUBDOCUMENT },
	{ "frame", FILTER_TYPE_SUBDOCUMENT },
	{ "fencedframe", FILTER_TYPE_SUBDOCUMENT },
	{ "websocket", FILTER_TYPE_WEBSOCKET },
	{ "report", FILTER_TYPE_OTHER },
	{ "manifest", FILTER_TYPE_OTHER },
	{ "xslt", FILTER_TYPE_OTHER },
};

enum filter_resource_type filter_type_from_fetch(const char *sec_fetch_dest, const char *sec_fetch_mode)
{
	if (equals(sec_fetch_mode, "websocket"))
		return FILTER_TYPE_WEBSOCKET;
	if (!sec_fetch_dest)
		return equals(sec_fetch_mode, "navigate") ? FILTER_TYPE_DOCUMENT : FILTER_TYPE_OTHER;
	if (equals(sec_fetch_dest, "empty"))
		return type_from_empty_destination(sec_fetch_mode);

	for (size_t i = 0; i < sizeof(destination_types) / sizeof(destination_types[0]); i++) {
		if (equals(sec_fetch_dest, destination_types[i].destination))
			return destination_types[i].type;
	}
	return FILTER_TYPE_OTHER;
}

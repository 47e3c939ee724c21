/*
 * Options of a network filter, the comma-separated list after "$".
 *
 * Each option the engine recognizes works as in Adblock Plus 3, or is ignored
 * because it cannot change whether a request is blocked, or makes the
 * engine drop the whole filter. A filter is dropped when, without the
 * option, it would block or allow requests it was not written for. An
 * option name that is not in the table makes the filter invalid, as in
 * Adblock Plus.
 */
#include <string.h>
#include <strings.h>

#include "internal.h"

enum option_action {
	OPTION_THIRD_PARTY,  /* "~" turns it into first party */
	OPTION_FIRST_PARTY,  /* "~" turns it into third party */
	OPTION_DOMAIN,
	OPTION_MATCH_CASE,
	OPTION_IMPORTANT,
	OPTION_COSMETIC,     /* concerns element hiding only */
	OPTION_IGNORE,
	OPTION_DROP,
};

/*
 * Resource type names (script, xhr, ...) are read by types.c first.
 *
 * NOTE: "@@||example.com^$document" is an exception for document requests
 * only. Adblock Plus also lets it allow every request made by a page it
 * matches, which needs the page's URL; filter_request has only its host.
 */
static const struct option_rule {
	const char *name;
	enum option_action action;
} option_rules[] = {
	{ "third-party", OPTION_THIRD_PARTY },
	{ "3p", OPTION_THIRD_PARTY },
	{ "first-party", OPTION_FIRST_PARTY },
	{ "1p", OPTION_FIRST_PARTY },
	{ "domain", OPTION_DOMAIN },
	{ "from", OPTION_DOMAIN },               /* uBlock Origin's name for domain= */
	{ "match-case", OPTION_MATCH_CASE },
	{ "important", OPTION_IMPORTANT },

	/* Exceptions that turn element hiding off on the pages they match;
	 * a filter with only these options is skipped like a cosmetic rule. */
	{ "elemhide", OPTION_COSMETIC },
	{ "ehide", OPTION_COSMETIC },
	{ "generichide", OPTION_COSMETIC },
	{ "ghide", OPTION_COSMETIC },
	{ "specifichide", OPTION_COSMETIC },
	{ "shide", OPTION_COSMETIC },

	/* Ignored: it changes how a blocked element is displayed, not
	 * whether the request is blocked. */
	{ "collapse", OPTION_IGNORE },

	/* Dropped, with what the option does: */
	{ "redirect", OPTION_DROP },             /* blocks and serves a stand-in resource */
	{ "redirect-rule", OPTION_DROP },        /* redirects only what another filter blocks */
	{ "rewrite", OPTION_DROP },              /* Adblock Plus: serves a built-in resource */
	{ "empty", OPTION_DROP },                /* old uBlock Origin form of redirect= */
	{ "mp4", OPTION_DROP },                  /* old uBlock Origin form of redirect= */
	{ "csp", OPTION_DROP },                  /* adds a Content-Security-Policy; blocks nothing */
	{ "inline-script", OPTION_DROP },        /* a csp= shorthand */
	{ "inline-font", OPTION_DROP },          /* a csp= shorthand */
	{ "permissions", OPTION_DROP },          /* adds a Permissions-Policy; blocks nothing */
	{ "removeparam", OPTION_DROP },          /* strips query parameters; the request goes on */
	{ "queryprune", OPTION_DROP },           /* old name of removeparam= */
	{ "replace", OPTION_DROP },              /* rewrites the response body */
	{ "urltransform", OPTION_DROP },         /* rewrites the URL */
	{ "uritransform", OPTION_DROP },         /* rewrites the URL */
	{ "header", OPTION_DROP },               /* tests response headers, which a request lacks */
	{ "method", OPTION_DROP },               /* tests the HTTP method, not in filter_request */
	{ "to", OPTION_DROP },                   /* restricts the request's domain; not implemented */
	{ "denyallow", OPTION_DROP },            /* exempts request domains; not implemented */
	{ "ipaddress", OPTION_DROP },            /* tests the server's address */
	{ "strict1p", OPTION_DROP },             /* party by host name; not implemented */
	{ "strict3p", OPTION_DROP },
	{ "strict-first-party", OPTION_DROP },
	{ "strict-third-party", OPTION_DROP },
	{ "badfilter", OPTION_DROP },            /* disables another filter, which stays active here */
	{ "genericblock", OPTION_DROP },         /* turns generic blocking filters off on a page */
	{ "sitekey", OPTION_DROP },              /* needs the page's signed key */
	{ "popunder", OPTION_DROP },             /* a window opened behind the page */
	{ "webrtc", OPTION_DROP },               /* WebRTC connections, no longer a type */
	{ "cname", OPTION_DROP },                /* exception for uncloaked CNAME targets only */
};

static const struct option_rule *find_rule(const char *name, size_t length)
{
	for (size_t i = 0; i < sizeof(option_rules) / sizeof(option_rules[0]); i++) {
		if (strlen(option_rules[i].name) == length &&
		    strncasecmp(option_rules[i].name, name, length) == 0)
			return &option_rules[i];
	}
	return NULL;
}

/* One item of the option list, "~name=value" split into its parts. */
struct option_item {
	bool negated;
	const char *name;
	size_t name_length;
	const char *value;   /* NULL without "=" */
	size_t value_length;
};

static enum line_kind fail(struct parsed_filter *parsed, enum line_kind kind, const char *reason,
			   const struct option_item *item)
{
	parsed->reason = reason;
	parsed->detail = item->name;
	parsed->detail_length = item->name_length;
	return kind;
}

/* Checks a domain= list, "a.com|~b.a.com|example.*". */
static enum line_kind check_domain_list(const struct option_item *item, struct parsed_filter *parsed)
{
	const char *list = item->value;
	size_t length = item->value_length;
	size_t names = 0;

	for (size_t start = 0; start <= length;) {
		const char *bar = memchr(list + start, '|', length - start);
		size_t end = bar ? (size_t)(bar - list) : length;
		size_t name_start = start < end && list[start] == '~' ? start + 1 : start;

		/* uBlock Origin also accepts /regular expressions/ here. */
		if (name_start < end && list[name_start] == '/')
			return fail(parsed, LINE_DROPPED, "regular expression in domain=", item);
		if (end - name_start > UINT16_MAX)
			return fail(parsed, LINE_INVALID, "domain name too long", item);
		names += end > name_start;
		start = end + 1;
	}
	if (names == 0)
		return fail(parsed, LINE_INVALID, "empty domain list", item);
	return LINE_NETWORK;
}

static enum line_kind apply_rule(const struct option_rule *rule, const struct option_item *item,
				 struct parsed_filter *parsed, bool *cosmetic)
{
	bool takes_value = rule->action == OPTION_DOMAIN;

	if (rule->action == OPTION_DROP)
		return fail(parsed, LINE_DROPPED, "option not implemented", item);
	if (takes_value != (item->value != NULL))
		return fail(parsed, LINE_INVALID,
			    takes_value ? "option needs a value" : "option takes no value", item);

	switch (rule->action) {
	case OPTION_THIRD_PARTY:
	case OPTION_FIRST_PARTY: {
		bool third = (rule->action == OPTION_THIRD_PARTY) != item->negated;

		parsed->flags |= third ? FILTER_THIRD_PARTY : FILTER_FIRST_PARTY;
		return LINE_NETWORK;
	}
	case OPTION_DOMAIN:
		if (item->negated)
			return fail(parsed, LINE_INVALID, "option cannot be negated", item);
		if (parsed->domains)
			return fail(parsed, LINE_INVALID, "option given twice", item);
		parsed->domains = item->value;
		parsed->domains_length = item->value_length;
		return check_domain_list(item, parsed);
	case OPTION_MATCH_CASE:
		if (!item->negated)
			parsed->flags |= FILTER_MATCH_CASE;
		return LINE_NETWORK;
	case OPTION_IMPORTANT:
		if (item->negated)
			return fail(parsed, LINE_INVALID, "option cannot be negated", item);
		parsed->flags |= FILTER_IMPORTANT;
		return LINE_NETWORK;
	case OPTION_COSMETIC:
		*cosmetic = true;
		return LINE_NETWORK;
	case OPTION_IGNORE:
	case OPTION_DROP:
		break;
	}
	return LINE_NETWORK;
}

static void split_item(const char *text, size_t length, struct option_item *item)
{
	const char *equals = memchr(text, '=', length);

	memset(item, 0, sizeof(*item));
	if (length > 0 && text[0] == '~') {
		item->negated = true;
		text++;
		length--;
	}
	item->name = text;
	item->name_length = equals ? (size_t)(equals - text) : length;
	if (equals) {
		item->value = equals + 1;
		item->value_length = length - item->name_length - 1;
	}
}

/* Reads one item into the type sets or the parsed filter. */
static enum line_kind parse_item(const struct option_item *item, struct parsed_filter *parsed,
				 uint16_t *included, uint16_t *excluded, bool *cosmetic)
{
	uint16_t type_bits = type_bits_from_option(item->name, item->name_length);
	const struct option_rule *rule;

	if (type_bits) {
		if (item->value)
			return fail(parsed, LINE_INVALID, "type option takes no value", item);
		if (item->negated)
			*excluded |= type_bits;
		else
			*included |= type_bits;
		return LINE_NETWORK;
	}

	rule = find_rule(item->name, item->name_length);
	if (!rule)
		return fail(parsed, LINE_INVALID, "unknown option", item);
	return apply_rule(rule, item, parsed, cosmetic);
}

enum line_kind parse_options(const char *options, size_t length, struct parsed_filter *parsed)
{
	uint16_t included = 0;
	uint16_t excluded = 0;
	bool cosmetic = false;

	for (size_t start = 0; start < length;) {
		const char *comma = memchr(options + start, ',', length - start);
		size_t end = comma ? (size_t)(comma - options) : length;
		struct option_item item;
		enum line_kind kind;

		split_item(options + start, end - start, &item);
		kind = parse_item(&item, parsed, &included, &excluded, &cosmetic);
		if (kind != LINE_NETWORK)
			return kind;
		start = end + 1;
	}

	if (cosmetic && !included && !excluded)
		return LINE_COSMETIC;
	if ((parsed->flags & FILTER_THIRD_PARTY) && (parsed->flags & FILTER_FIRST_PARTY)) {
		parsed->reason = "both third-party and first-party";
		return LINE_INVALID;
	}
	parsed->types = (uint16_t)((included ? included : TYPES_DEFAULT) & ~excluded);
	if (parsed->types == 0) {
		parsed->reason = "no resource type left";
		return LINE_INVALID;
	}
	return LINE_NETWORK;
}

/*
 * Deciding one request. The URL is prepared once (url.c): lowercase, the
 * hashes of its tokens and of its host's suffixes. Each class of filters
 * is then searched in the same order: the buckets of the host's suffixes
 * (longest first), of the URL's tokens (in URL order), of the page's host
 * suffixes (shortest first), then the unindexed filters, so that the most
 * specific filter is the one reported. Blocking filters, important ones
 * included, are searched up to the first that matches. Only then are the
 * important filters searched on their own, unless the first match was
 * one, and the exceptions, unless an important filter matched.
 * Everything lives on the stack.
 */
#include <string.h>

#include "internal.h"

struct match_state {
	const struct filter_engine *engine;
	const struct filter_request *request;
	uint16_t type_bit;           /* TYPE_BIT() of the request's type */
	uint16_t party_reject;       /* party flags of the filters that the known party excludes */
	uint16_t found_flags;        /* flags of the filter that the last search found */
	struct source_view source;
	struct url_scan url;
};

static void prepare_request(struct match_state *state)
{
	const struct filter_request *request = state->request;
	unsigned type = (unsigned)request->type < FILTER_TYPE_COUNT ? request->type : FILTER_TYPE_OTHER;

	state->type_bit = TYPE_BIT(type);
	state->party_reject = 0;
	if (request->party_known)
		state->party_reject = request->third_party ? FILTER_FIRST_PARTY : FILTER_THIRD_PARTY;

	url_prepare(&state->url, request->url);
	source_view_init(&state->source, request->source_host);
}

/* The checks that need only a filter's types and flags. */
static bool options_allow(const struct match_state *state, const struct index_entry *entry)
{
	return (entry->types & state->type_bit) && !(entry->flags & state->party_reject);
}

/* domains_allow() for an entry. When the page is unknown, the entry's
 * flags decide without a read of the filter. */
static bool domains_allow_entry(struct match_state *state, const struct index_entry *entry)
{
	const struct filter_engine *engine = state->engine;

	if (!(entry->flags & FILTER_HAS_DOMAINS))
		return true;
	if (state->source.length == 0)
		return !(entry->flags & FILTER_INCLUDES_DOMAINS);
	return domains_allow(engine, &engine->filters[entry->filter], &state->source);
}

/* Whether bytes [0, length) of two buffers are equal. The last 8 bytes
 * go first, because patterns differ most at their end (".js", ".gif"). */
static bool same_bytes(const char *left, const char *right, size_t length)
{
	if (length < 8)
		return memcmp(left, right, length) == 0;
	if (load_word(left + length - 8) != load_word(right + length - 8))
		return false;
	for (size_t i = 0; i + 8 < length; i += 8) {
		if (load_word(left + i) != load_word(right + i))
			return false;
	}
	return true;
}

/* Whether a pattern matches with its first byte at start. */
static bool pattern_matches_at(const struct match_state *state, const struct index_entry *entry, size_t start)
{
	const struct url_view *url = &state->url.view;
	const char *pattern = state->engine->arena + entry->pattern;
	size_t length = entry->pattern_length;

	if (!(entry->flags & ENTRY_LITERAL))
		return pattern_match_at(pattern, length, entry->flags, url, start);
	if (start + length > url->length ||
	    ((entry->flags & FILTER_ANCHOR_END) && (start + length != url->length || url->truncated)))
		return false;
	return same_bytes(pattern, ((entry->flags & FILTER_MATCH_CASE) ? url->original : url->lower) + start,
			  length) &&
	       pattern_start_allowed(entry->flags, url, start);
}

/* Whether a plain pattern matches. token_position is where the URL has
 * the token of the entry's bucket, when it has it once; the pattern's
 * first segment can then only match at one place. */
static bool plain_pattern_matches(struct match_state *state, const struct index_entry *entry,
				  size_t token_position)
{
	const char *pattern = state->engine->arena + entry->pattern;

	if (token_position != NO_TOKEN_POSITION && entry->token_offset != NO_TOKEN_OFFSET)
		return token_position >= entry->token_offset &&
		       pattern_matches_at(state, entry, token_position - entry->token_offset);

	return pattern_match(pattern, entry->pattern_length, entry->flags, &state->url.view);
}

/* The checks after options_allow(). A plain pattern goes before the
 * page's domain, because it needs no read of the filter itself. A regular
 * expression goes last, because it costs the most. */
static bool entry_matches(struct match_state *state, const struct index_entry *entry, size_t token_position)
{
	const struct filter_engine *engine = state->engine;

	if (entry->flags & FILTER_REGEX) {
		const struct filter *filter = &engine->filters[entry->filter];

		return domains_allow_entry(state, entry) &&
		       regex_match(engine->regexes[filter->regex], state->request->url, state->url.full_length);
	}
	return plain_pattern_matches(state, entry, token_position) && domains_allow_entry(state, entry);
}

/* The text of the first filter of the bucket that starts at
 * entries[first] that matches, or NULL. */
static const char *scan_bucket(struct match_state *state, uint32_t first, size_t token_position)
{
	const struct index_entry *entry = &state->engine->index.entries[first];

	for (;; entry++) {
		/* Most entries fail on their options: checked inline. */
		if (options_allow(state, entry) && entry_matches(state, entry, token_position)) {
			state->found_flags = entry->flags;
			return state->engine->arena + entry->text;
		}
		if (entry->flags & ENTRY_BUCKET_END)
			return NULL;
	}
}

/* Whether the first length bytes of a host name copy are text's. text
 * can be read HOST_NAME_BYTES bytes on. */
static bool same_host_name(const struct host_name *name, const char *text, size_t length)
{
	uint64_t differ = 0;

	for (size_t i = 0; i < HOST_NAME_BYTES; i += 8)
		differ |= (load_word(text + i) & low_bytes_mask(length > i ? length - i : 0)) ^
			  load_word(name->bytes + i);
	return differ == 0;
}

/* Whether a "||host^" pattern is the host suffix that found its bucket,
 * followed by a separator or the URL's end. When it is not (a hash
 * collision, or a $match-case filter), pattern_match() decides. */
static bool host_suffix_is(const struct match_state *state, const struct class_index *class,
			   const struct index_entry *entry, size_t suffix)
{
	const struct url_view *url = &state->url.view;
	size_t start = url->host_start + state->url.host_suffix_start[suffix];
	size_t length = url->host_end - start;
	size_t place = (size_t)(entry - state->engine->index.entries) - class->hosts_first;

	if ((entry->flags & FILTER_MATCH_CASE) || entry->pattern_length != length + 1)
		return false;
	/* The lowercase URL has URL_PADDING_BYTES after its end. */
	if (length <= HOST_NAME_BYTES ? !same_host_name(&class->host_names[place], url->lower + start, length)
				      : memcmp(state->engine->arena + entry->pattern, url->lower + start, length) != 0)
		return false;
	if (url->host_end == url->length)
		return !url->truncated;
	return is_separator((unsigned char)url->lower[url->host_end]);
}

static const char *scan_host_bucket(struct match_state *state, const struct class_index *class, uint32_t first,
				    size_t suffix)
{
	const struct filter_engine *engine = state->engine;
	const struct index_entry *entry = &engine->index.entries[first];

	for (;; entry++) {
		if (options_allow(state, entry) &&
		    (host_suffix_is(state, class, entry, suffix) ||
		     pattern_match(engine->arena + entry->pattern, entry->pattern_length, entry->flags,
				   &state->url.view)) &&
		    domains_allow_entry(state, entry)) {
			state->found_flags = entry->flags;
			return engine->arena + entry->text;
		}
		if (entry->flags & ENTRY_BUCKET_END)
			return NULL;
	}
}

static const char *search_hosts(struct match_state *state, const struct class_index *class)
{
	for (size_t i = state->url.host_suffix_count; i-- > 0;) {
		uint32_t first = index_lookup(&class->hosts, state->url.host_suffix_hash[i]);
		const char *found;

		if (first != NO_BUCKET && (found = scan_host_bucket(state, class, first, i)))
			return found;
	}
	return NULL;
}

static const char *search_tokens(struct match_state *state, const struct index_table *tokens)
{
	const struct url_scan *url = &state->url;
	/* Tokens after the kept ones may repeat a kept one. */
	bool positions_known = url->token_tail == url->view.length;
	size_t position = url->token_tail;
	const char *found;
	size_t start;
	uint32_t token;
	uint32_t first;

	for (size_t i = 0; i < url->token_count; i++) {
		first = index_lookup(tokens, url->tokens[i]);
		if (first != NO_BUCKET &&
		    (found = scan_bucket(state, first,
					 positions_known ? url->token_positions[i] : NO_TOKEN_POSITION)))
			return found;
	}
	while (!positions_known && url_next_token(url, &position, &start, &token)) {
		first = index_lookup(tokens, token);
		if (first != NO_BUCKET && (found = scan_bucket(state, first, NO_TOKEN_POSITION)))
			return found;
	}
	return NULL;
}

static const char *search_domains(struct match_state *state, const struct index_table *domains)
{
	struct source_view *source = &state->source;

	if (source->length == 0)
		return NULL;
	source_view_prepare(source);
	for (size_t i = 0; i < source->suffix_count; i++) {
		uint32_t first = index_lookup(domains, source->suffix_hash[i]);
		const char *found;

		if (first != NO_BUCKET && (found = scan_bucket(state, first, NO_TOKEN_POSITION)))
			return found;
	}
	return NULL;
}

/* The first filter of a class among those added since the index was
 * built, which are tried one by one. */
static const char *scan_unindexed_tail(struct match_state *state, enum filter_class class)
{
	const struct filter_engine *engine = state->engine;

	for (size_t i = engine->index.filter_count; i < engine->filter_count; i++) {
		const struct filter *filter = &engine->filters[i];
		enum filter_class filter_class = filter_class_of(filter);
		struct index_entry entry;

		if (filter_class != class &&
		    !(class == FILTER_CLASS_BLOCKING && filter_class == FILTER_CLASS_IMPORTANT))
			continue;
		index_entry_init(&entry, engine, (uint32_t)i);
		if (options_allow(state, &entry) && entry_matches(state, &entry, NO_TOKEN_POSITION)) {
			state->found_flags = entry.flags;
			return engine->arena + filter->text;
		}
	}
	return NULL;
}

/* The text of the first filter of a class that matches, in the order of
 * the file comment, or NULL. */
static const char *find_first(struct match_state *state, enum filter_class class)
{
	const struct class_index *index = &state->engine->index.classes[class];
	const char *found = NULL;

	if (index->hosts.keys > 0)
		found = search_hosts(state, index);
	if (!found && index->tokens.keys > 0)
		found = search_tokens(state, &index->tokens);
	if (!found && index->domains.keys > 0)
		found = search_domains(state, &index->domains);
	if (!found && index->unindexed_count > 0)
		found = scan_bucket(state, index->unindexed, NO_TOKEN_POSITION);
	return found ? found : scan_unindexed_tail(state, class);
}

bool filter_engine_match(const struct filter_engine *engine, const struct filter_request *request,
			 struct filter_decision *decision)
{
	struct match_state state;
	const char *important;

	memset(decision, 0, sizeof(*decision));
	if (!engine || !request || !request->url)
		return false;
	state.engine = engine;
	state.request = request;
	prepare_request(&state);

	decision->filter = find_first(&state, FILTER_CLASS_BLOCKING);
	if (!decision->filter)
		return false;
	decision->matched = true;
	/* The first match, when important, is the first important filter. */
	important = (state.found_flags & FILTER_IMPORTANT) ? decision->filter
							   : find_first(&state, FILTER_CLASS_IMPORTANT);
	if (important) {
		decision->filter = important;
		decision->blocked = true;
		return true;
	}
	decision->exception = find_first(&state, FILTER_CLASS_EXCEPTION);
	decision->blocked = !decision->exception;
	return decision->blocked;
}

/*
 * Deciding one request. The URL is prepared once (url.c): lowercase, the
 * hashes of its tokens and of its host's suffixes. Each class of filters
 * is then searched in the same order: the buckets of the host's suffixes
 * (longest first), of the URL's tokens (in URL order), of the page's host
 * suffixes (shortest first), then the unindexed filters. The most
 * specific filter is thus the one reported. Blocking filters, important
 * ones included, are searched up to the first that matches. Only then
 * are the important filters searched on their own, unless the first
 * match was one, and the exceptions, unless an important filter matched.
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

/* Starts loading what the search of the blocking filters reads first:
 * the Bloom filter words, slots and records of the host's suffixes. Their
 * places depend only on the hashes, so the loads overlap the hashing of
 * the URL's tokens. */
static void prefetch_hosts(const struct match_state *state)
{
	const struct class_index *class = &state->engine->index.classes[FILTER_CLASS_BLOCKING];
	const struct index_table *hosts = &class->hosts;

	if (hosts->keys == 0)
		return;
	for (size_t i = 0; i < state->url.host_suffix_count; i++) {
		uint32_t key = state->url.host_suffix_hash[i];
		size_t slot = slot_of(key, hosts->mask);

		__builtin_prefetch(&hosts->words[bloom_word_of(key, hosts->words_shift)]);
		__builtin_prefetch(&hosts->slots[slot]);
		__builtin_prefetch(&class->host_records[slot]);
	}
}

static void prepare_request(struct match_state *state)
{
	const struct filter_request *request = state->request;
	unsigned type = (unsigned)request->type < FILTER_TYPE_COUNT ? request->type : FILTER_TYPE_OTHER;

	state->type_bit = TYPE_BIT(type);
	state->party_reject = 0;
	if (request->party_known)
		state->party_reject = request->third_party ? FILTER_FIRST_PARTY : FILTER_THIRD_PARTY;

	url_prepare(&state->url, request->url);
	prefetch_hosts(state);
	url_find_tokens(&state->url);
	source_view_init(&state->source, request->source_host);
}

/* The checks that need only a filter's types and flags. */
static bool options_allow_bits(const struct match_state *state, uint16_t types, uint16_t flags)
{
	return (types & state->type_bit) && !(flags & state->party_reject);
}

static bool options_allow(const struct match_state *state, const struct index_entry *entry)
{
	return options_allow_bits(state, entry->types, entry->flags);
}

/* domains_allow() for a filter. When the page is unknown, its flags decide
 * without a read of the filter. */
static bool domains_allow_bits(struct match_state *state, uint16_t flags, uint32_t filter)
{
	const struct filter_engine *engine = state->engine;

	if (!(flags & FILTER_HAS_DOMAINS))
		return true;
	if (state->source.length == 0)
		return !(flags & FILTER_INCLUDES_DOMAINS);
	return domains_allow(engine, &engine->filters[filter], &state->source);
}

static bool domains_allow_entry(struct match_state *state, const struct index_entry *entry)
{
	return domains_allow_bits(state, entry->flags, entry->filter);
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

static bool pattern_matches_at_token(const struct match_state *state, const struct index_entry *entry,
				     size_t token_position)
{
	return token_position >= entry->token_offset &&
	       pattern_matches_at(state, entry, token_position - entry->token_offset);
}

/* Whether a plain pattern matches. place is where the URL has the token of
 * the entry's bucket. When it has it once, the pattern's first segment
 * can only match at one place. When it has it twice, a pattern without
 * "*" and "^" matches at one of two places; others are searched for. */
static bool plain_pattern_matches(struct match_state *state, const struct index_entry *entry,
				  struct token_place place)
{
	const char *pattern = state->engine->arena + entry->pattern;

	if (place.first != NO_TOKEN_POSITION && entry->token_offset != NO_TOKEN_OFFSET) {
		if (place.second == NO_TOKEN_POSITION)
			return pattern_matches_at_token(state, entry, place.first);
		if (entry->flags & ENTRY_LITERAL)
			return pattern_matches_at_token(state, entry, place.first) ||
			       pattern_matches_at_token(state, entry, place.second);
	}

	return pattern_match(pattern, entry->pattern_length, entry->flags, &state->url.view);
}

/* The checks after options_allow(). A plain pattern goes before the
 * page's domain, because it needs no read of the filter itself. A regular
 * expression goes last, because it costs the most. */
static bool entry_matches(struct match_state *state, const struct index_entry *entry,
			  struct token_place place)
{
	const struct filter_engine *engine = state->engine;

	if (entry->flags & FILTER_REGEX) {
		const struct filter *filter = &engine->filters[entry->filter];

		return domains_allow_entry(state, entry) &&
		       regex_match(engine->regexes[filter->regex], state->request->url,
				   state->url.full_length);
	}
	return plain_pattern_matches(state, entry, place) && domains_allow_entry(state, entry);
}

/* Whether an entry's tail is where a match with the bucket's token at
 * token_position would end. */
static bool tail_at(const struct url_view *url, const struct index_entry *entry, size_t token_position)
{
	const char *text = (entry->flags & FILTER_MATCH_CASE) ? url->original : url->lower;
	size_t end = token_position - entry->token_offset + entry->pattern_length;
	uint16_t tail;

	if (token_position < entry->token_offset || end > url->length)
		return false;
	memcpy(&tail, text + end - 2, sizeof(tail));
	return tail == entry->tail;
}

/* false when an entry's tail rules out a match at the token's places,
 * where plain_pattern_matches() would look. With two places, it decides
 * there only for a literal pattern. */
static bool tail_allows(const struct match_state *state, const struct index_entry *entry,
			struct token_place place)
{
	const struct url_view *url = &state->url.view;

	if (!(entry->flags & ENTRY_TAIL) || place.first == NO_TOKEN_POSITION)
		return true;
	if (place.second == NO_TOKEN_POSITION)
		return tail_at(url, entry, place.first);
	if (!(entry->flags & ENTRY_LITERAL))
		return true;
	return tail_at(url, entry, place.first) || tail_at(url, entry, place.second);
}

/* The text of the first filter of the bucket that starts at
 * entries[first] that matches, or NULL. */
static const char *scan_bucket(struct match_state *state, uint32_t first, struct token_place place)
{
	const struct index_entry *entry = &state->engine->index.entries[first];

	for (;; entry++) {
		/* Most entries fail on their options: checked inline. */
		if (options_allow(state, entry) && tail_allows(state, entry, place) &&
		    entry_matches(state, entry, place)) {
			state->found_flags = entry->flags;
			return state->engine->arena + entry->text;
		}
		if (entry->flags & ENTRY_BUCKET_END)
			return NULL;
	}
}

/* Whether a host name ends where the URL's host does, followed by a
 * separator or the URL's end, as "^" requires. */
static bool host_end_allows(const struct url_view *url)
{
	if (url->host_end == url->length)
		return !url->truncated;
	return is_separator((unsigned char)url->lower[url->host_end]);
}

/* Whether a host record's name is the host suffix that starts at start.
 * The lowercase URL has URL_PADDING_BYTES after its end, so it can be
 * read a whole name's length on. */
static bool record_name_is(const struct url_view *url, const struct host_record *record, size_t start)
{
	size_t length = url->host_end - start;
	uint64_t differ = 0;

	if (record->name_length != length)
		return false;
	for (size_t i = 0; i < HOST_RECORD_NAME_BYTES; i += 8)
		differ |= (load_word(url->lower + start + i) & low_bytes_mask(length > i ? length - i : 0)) ^
			  load_word(record->name + i);
	return differ == 0 && host_end_allows(url);
}

/* Whether a "||host^" pattern is the host suffix that starts at start,
 * followed by a separator or the URL's end. When it is not (a hash
 * collision, or a $match-case filter), pattern_match() decides. */
static bool host_suffix_is(const struct match_state *state, const struct index_entry *entry, size_t start)
{
	const struct url_view *url = &state->url.view;
	size_t length = url->host_end - start;

	return !(entry->flags & FILTER_MATCH_CASE) && entry->pattern_length == length + 1 &&
	       memcmp(state->engine->arena + entry->pattern, url->lower + start, length) == 0 &&
	       host_end_allows(url);
}

/*
 * The text of the first filter of the bucket in a hosts table slot that
 * matches, or NULL. The bucket's first filter is checked from its record
 * when it can be. When that fails on the name, the filter is checked
 * again from its entry, so that pattern_match() decides as for any other.
 */
static const char *scan_host_bucket(struct match_state *state, const struct class_index *class, size_t slot,
				    size_t suffix)
{
	const struct filter_engine *engine = state->engine;
	const struct host_record *record = &class->host_records[slot];
	const struct index_entry *entry = &engine->index.entries[class->hosts.slots[slot].first];
	size_t start = state->url.view.host_start + state->url.host_suffix_start[suffix];

	if (record->name_length > 0 && record_name_is(&state->url.view, record, start)) {
		if (options_allow_bits(state, record->types, record->flags) &&
		    domains_allow_bits(state, record->flags, record->filter)) {
			state->found_flags = record->flags;
			return engine->arena + record->text;
		}
		if (record->flags & ENTRY_BUCKET_END)
			return NULL;
		entry++;
	}
	for (;; entry++) {
		if (options_allow(state, entry) &&
		    (host_suffix_is(state, entry, start) ||
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

/* Searches the buckets of the host's suffixes, longest first. */
static const char *search_hosts(struct match_state *state, const struct class_index *class)
{
	const struct index_table *hosts = &class->hosts;

	for (size_t i = state->url.host_suffix_count; i-- > 0;) {
		uint32_t key = state->url.host_suffix_hash[i];
		size_t slot;
		const char *found;

		if (!bloom_allows(hosts, key))
			continue;
		slot = find_slot(hosts, key);
		if (slot != SIZE_MAX && (found = scan_host_bucket(state, class, slot, i)))
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
					 positions_known ? url->token_places[i] : NO_TOKEN_PLACE)))
			return found;
	}
	while (!positions_known && url_next_token(url, &position, &start, &token)) {
		first = index_lookup(tokens, token);
		if (first != NO_BUCKET && (found = scan_bucket(state, first, NO_TOKEN_PLACE)))
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

		if (first != NO_BUCKET && (found = scan_bucket(state, first, NO_TOKEN_PLACE)))
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
		if (options_allow(state, &entry) && entry_matches(state, &entry, NO_TOKEN_PLACE)) {
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
		found = scan_bucket(state, index->unindexed, NO_TOKEN_PLACE);
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

/*
 * Deciding one request. The URL is lowercased once. A first walk goes
 * through the buckets of its host, its tokens and its page's domains, and
 * the unindexed filters, trying important and blocking filters. Only when
 * a blocking filter matched does a second walk look for exceptions.
 * Everything lives on the stack.
 */
#include <string.h>

#include "internal.h"

/* Position in the walk over a request's buckets. */
struct bucket_walk {
	enum { WALK_START, WALK_HOSTS, WALK_TOKENS, WALK_DOMAINS, WALK_DONE } phase;
	size_t position;   /* host suffixes left, next URL byte, or next page host suffix */
};

/* Buckets the first walk visited, so that the walk for exceptions can
 * reuse them instead of tokenizing again. */
#define VISITED_MAX 64

struct match_state {
	const struct filter_engine *engine;
	const struct filter_request *request;
	enum filter_resource_type type;
	size_t full_length;          /* strlen(request->url), for regular expressions */
	struct url_view url;
	size_t host_suffix_count;
	uint32_t host_suffix_hash[SOURCE_SUFFIXES_MAX];
	struct source_view source;
	struct bucket_walk walk;     /* where the first walk stopped */
	size_t visited_count;        /* VISITED_MAX + 1 when some were not kept */
	const struct index_bucket *visited[VISITED_MAX];
	uint64_t bigrams[BIGRAM_BITS / 64];
	char lower[FILTER_URL_MAX_BYTES];
};

/* Finds the host in "scheme://user@host:port/path". URLs without "//"
 * after the scheme (data:, about:blank) have no host. */
static void find_host(struct url_view *url)
{
	const char *text = url->lower;
	size_t i = 0;
	size_t end;

	url->host_start = url->host_end = 0;
	while (i < url->length && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') ||
				   text[i] == '+' || text[i] == '-' || text[i] == '.'))
		i++;
	if (i == 0 || url->length - i < 3 || memcmp(text + i, "://", 3) != 0)
		return;

	i += 3;
	end = i;
	while (end < url->length && text[end] != '/' && text[end] != '?' && text[end] != '#')
		end++;
	for (size_t at = end; at-- > i;) {
		if (text[at] == '@') {
			i = at + 1;
			break;
		}
	}
	/* The port goes; an IPv6 literal keeps its brackets, as filters
	 * write it ("||[::1]^"). */
	url->host_start = i;
	url->host_end = end;
	if (i < end && text[i] == '[') {
		const char *bracket = memchr(text + i, ']', end - i);

		if (bracket)
			url->host_end = (size_t)(bracket - text) + 1;
	} else if (i < end) {
		const char *colon = memchr(text + i, ':', end - i);

		if (colon)
			url->host_end = (size_t)(colon - text);
	}
}

static void prepare_url(struct match_state *state)
{
	const char *url = state->request->url;
	size_t length = 0;

	memset(state->bigrams, 0, sizeof(state->bigrams));
	for (; url[length] && length < FILTER_URL_MAX_BYTES; length++) {
		unsigned char c = lower_ascii((unsigned char)url[length]);

		state->lower[length] = (char)c;
		if (length > 0) {
			uint32_t bit = bigram_bit((unsigned char)state->lower[length - 1], c);

			state->bigrams[bit / 64] |= 1ull << (bit % 64);
		}
	}

	state->url.lower = state->lower;
	state->url.original = url;
	state->url.length = length;
	state->url.truncated = url[length] != '\0';
	state->full_length = state->url.truncated ? length + strlen(url + length) : length;
	find_host(&state->url);
	state->host_suffix_count = 0;
	if (state->engine->index.hosts.keys > 0)
		state->host_suffix_count = label_suffix_hashes(
			state->lower + state->url.host_start, state->url.host_end - state->url.host_start,
			state->host_suffix_hash, NULL, SOURCE_SUFFIXES_MAX);
}

static void prepare_source(struct match_state *state)
{
	source_view_init(&state->source, state->request->source_host);
	if (state->engine->index.domains.keys > 0 && state->source.length > 0)
		source_view_prepare(&state->source);
}

/* The bucket of the next URL token that has one, or NULL at the end. */
static const struct index_bucket *next_token_bucket(const struct match_state *state, size_t *position)
{
	const struct index_table *tokens = &state->engine->index.tokens;
	const char *text = state->lower;
	size_t i = *position;

	while (i < state->url.length) {
		uint32_t hash = HASH_SEED;
		const struct index_bucket *bucket;

		if (!is_token_char((unsigned char)text[i])) {
			i++;
			continue;
		}
		while (i < state->url.length && is_token_char((unsigned char)text[i]))
			hash = hash_step(hash, (unsigned char)text[i++]);
		bucket = index_lookup(tokens, hash_final(hash));
		if (bucket) {
			*position = i;
			return bucket;
		}
	}
	*position = i;
	return NULL;
}

/* Buckets in the order of the walk: the most specific filters first, so
 * that they are the ones reported. */
static const struct index_bucket *next_bucket(const struct match_state *state, struct bucket_walk *walk)
{
	const struct filter_index *index = &state->engine->index;
	const struct index_bucket *bucket = NULL;

	switch (walk->phase) {
	case WALK_START:
		walk->phase = WALK_HOSTS;
		walk->position = state->host_suffix_count;
		/* fall through */
	case WALK_HOSTS:
		/* Longest suffix first. */
		while (!bucket && walk->position > 0)
			bucket = index_lookup(&index->hosts,
					      hash_final(state->host_suffix_hash[--walk->position]));
		if (bucket)
			return bucket;
		walk->phase = WALK_TOKENS;
		walk->position = 0;
		/* fall through */
	case WALK_TOKENS:
		bucket = next_token_bucket(state, &walk->position);
		if (bucket)
			return bucket;
		walk->phase = WALK_DOMAINS;
		walk->position = 0;
		/* fall through */
	case WALK_DOMAINS:
		while (!bucket && state->source.ready && walk->position < state->source.suffix_count)
			bucket = index_lookup(&index->domains,
					      hash_final(state->source.suffix_hash[walk->position++]));
		if (bucket)
			return bucket;
		walk->phase = WALK_DONE;
		return &index->unindexed;
	case WALK_DONE:
		break;
	}
	return NULL;
}

/* The checks that need only a filter's types and flags. */
static bool options_allow(const struct match_state *state, uint16_t types, uint16_t flags)
{
	const struct filter_request *request = state->request;

	if (!(types & TYPE_BIT(state->type)))
		return false;
	if (request->party_known) {
		if ((flags & FILTER_THIRD_PARTY) && !request->third_party)
			return false;
		if ((flags & FILTER_FIRST_PARTY) && request->third_party)
			return false;
	}
	return true;
}

/*
 * Whether every pair of literal bytes among the pattern's first bytes is
 * in the URL's set of pairs. Most candidates fail here, for a few bit
 * tests instead of a scan of the URL. Hash collisions only let more
 * candidates through to the full match.
 */
static bool bigrams_allow(const struct match_state *state, const struct index_entry *entry)
{
	size_t length =
		entry->pattern_length < ENTRY_PREFIX_BYTES ? entry->pattern_length : ENTRY_PREFIX_BYTES;
	const unsigned char *prefix = (const unsigned char *)entry->prefix;

	for (size_t i = 1; i < length; i++) {
		uint32_t bit;

		if (prefix[i] == '*' || prefix[i] == '^' || prefix[i - 1] == '*' || prefix[i - 1] == '^')
			continue;
		bit = bigram_bit(prefix[i - 1], prefix[i]);
		if (!(state->bigrams[bit / 64] & (1ull << (bit % 64))))
			return false;
	}
	return true;
}

/* The rest of the checks. A plain pattern goes before the page's domain,
 * because it needs no read of the filter itself. A regular expression
 * goes last, because it costs the most. */
static bool entry_matches(struct match_state *state, const struct index_entry *entry)
{
	const struct filter_engine *engine = state->engine;
	const struct filter *filter = &engine->filters[entry->filter];

	if (!options_allow(state, entry->types, entry->flags))
		return false;
	if (entry->flags & FILTER_REGEX) {
		if ((entry->flags & FILTER_HAS_DOMAINS) && !domains_allow(engine, filter, &state->source))
			return false;
		return regex_match(engine->regexes[filter->regex], state->request->url, state->full_length);
	}
	if (!bigrams_allow(state, entry))
		return false;
	if (!pattern_match(engine->arena + entry->pattern, entry->pattern_length, entry->flags, &state->url))
		return false;
	return !(entry->flags & FILTER_HAS_DOMAINS) || domains_allow(engine, filter, &state->source);
}

/* The first filter of entries [from, to) that matches, or NULL. */
static const struct filter *scan_entries(struct match_state *state, uint32_t from, uint32_t to)
{
	const struct index_entry *entries = state->engine->index.entries;

	for (uint32_t i = from; i < to; i++) {
		if (entry_matches(state, &entries[i]))
			return &state->engine->filters[entries[i].filter];
	}
	return NULL;
}

/* The first filter of a class among those added since the index was
 * built, which are tried one by one. */
static const struct filter *scan_unindexed_tail(struct match_state *state, enum filter_class class)
{
	const struct filter_engine *engine = state->engine;

	for (size_t i = engine->index.filter_count; i < engine->filter_count; i++) {
		const struct filter *filter = &engine->filters[i];
		struct index_entry entry;

		if (filter_class_of(filter) != class)
			continue;
		index_entry_init(&entry, engine, (uint32_t)i);
		if (entry_matches(state, &entry))
			return filter;
	}
	return NULL;
}

static const struct index_bucket *visit_next(struct match_state *state)
{
	const struct index_bucket *bucket = next_bucket(state, &state->walk);

	if (bucket && state->visited_count < VISITED_MAX)
		state->visited[state->visited_count++] = bucket;
	else if (bucket)
		state->visited_count = VISITED_MAX + 1;
	return bucket;
}

/* First walk. An important filter ends it. Otherwise it keeps the first
 * blocking filter that matches, and goes on only while an important
 * filter could still match. */
static void find_blocking(struct match_state *state, const struct filter **important,
			  const struct filter **blocking)
{
	bool important_possible = state->engine->stats.important > 0;
	const struct index_bucket *bucket;

	*important = *blocking = NULL;
	state->walk = (struct bucket_walk){ WALK_START, 0 };
	state->visited_count = 0;
	while ((bucket = visit_next(state))) {
		*important = scan_entries(state, bucket->start, bucket->blocking);
		if (*important)
			return;
		if (!*blocking)
			*blocking = scan_entries(state, bucket->blocking, bucket->exceptions);
		if (*blocking && !important_possible)
			return;
	}

	*important = scan_unindexed_tail(state, FILTER_CLASS_IMPORTANT);
	if (!*important && !*blocking)
		*blocking = scan_unindexed_tail(state, FILTER_CLASS_BLOCKING);
}

/* Second walk: the buckets the first walk kept, then the rest of the walk
 * from where the first one stopped. When the first walk could not keep
 * them all, the second starts over. */
static const struct filter *find_exception(struct match_state *state)
{
	struct bucket_walk walk = state->walk;
	const struct index_bucket *bucket;
	const struct filter *exception;

	if (state->visited_count > VISITED_MAX) {
		walk = (struct bucket_walk){ WALK_START, 0 };
	} else {
		for (size_t i = 0; i < state->visited_count; i++) {
			bucket = state->visited[i];
			exception = scan_entries(state, bucket->exceptions, bucket->end);
			if (exception)
				return exception;
		}
	}
	while ((bucket = next_bucket(state, &walk))) {
		exception = scan_entries(state, bucket->exceptions, bucket->end);
		if (exception)
			return exception;
	}
	return scan_unindexed_tail(state, FILTER_CLASS_EXCEPTION);
}

bool filter_engine_match(const struct filter_engine *engine, const struct filter_request *request,
			 struct filter_decision *decision)
{
	struct match_state state;
	const struct filter *important;
	const struct filter *blocking;
	const struct filter *exception;

	memset(decision, 0, sizeof(*decision));
	if (!engine || !request || !request->url)
		return false;
	state.engine = engine;
	state.request = request;
	state.type = (unsigned)request->type < FILTER_TYPE_COUNT ? request->type : FILTER_TYPE_OTHER;
	prepare_url(&state);
	prepare_source(&state);

	find_blocking(&state, &important, &blocking);
	if (important) {
		decision->matched = decision->blocked = true;
		decision->filter = engine->arena + important->text;
		return true;
	}
	if (!blocking)
		return false;
	decision->matched = true;
	decision->filter = engine->arena + blocking->text;

	exception = find_exception(&state);
	if (exception)
		decision->exception = engine->arena + exception->text;
	decision->blocked = !exception;
	return decision->blocked;
}

/*
 * The classifier: one call per request. It gives the site context and
 * whether the request goes to a tracker: the vendor table first, then the
 * filter lists for the long tail. It adds what a pixel decoder read, whether
 * the request is the browser's own traffic, and the personal data found.
 * Every label names the rule that produced it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "classify.h"

/* The built-in data files, linked into the binary by the Makefile. */
extern const char builtin_vendors[], builtin_vendors_end[];
extern const char builtin_decoders[], builtin_decoders_end[];

struct classifier {
	struct vendor_table *vendors;
	struct decoder_table *decoders;
	struct filter_lists *lists; /* NULL: none */
	struct persona *persona;    /* NULL: none */
};

static int load_builtin(struct classifier *classifier)
{
	int error;

	error = vendor_table_parse(classifier->vendors, "built-in vendors.json", builtin_vendors,
				   (size_t)(builtin_vendors_end - builtin_vendors));
	if (error)
		return error;
	return decoder_table_parse(&classifier->decoders, "built-in decoders.json", builtin_decoders,
				   (size_t)(builtin_decoders_end - builtin_decoders));
}

int classifier_new(const struct classifier_options *options, struct classifier **out)
{
	struct classifier *classifier = calloc(1, sizeof(*classifier));
	int error;

	*out = NULL;
	if (!classifier)
		return -ENOMEM;
	error = classify_init();
	if (!error)
		error = vendor_table_new(&classifier->vendors);
	if (!error)
		error = load_builtin(classifier);
	for (size_t i = 0; !error && options && i < options->vendor_file_count; i++)
		error = vendor_table_load(classifier->vendors, options->vendor_files[i]);
	if (!error && options && options->persona_path)
		error = persona_load(&classifier->persona, options->persona_path);
	if (!error && !(options && options->no_filter_lists))
		error = filter_lists_load(&classifier->lists, options ? options->filter_lists : NULL,
					  options ? options->filter_list_count : 0);
	if (error) {
		classifier_free(classifier);
		return error;
	}
	*out = classifier;
	return 0;
}

void classifier_free(struct classifier *classifier)
{
	if (!classifier)
		return;
	vendor_table_free(classifier->vendors);
	decoder_table_free(classifier->decoders);
	filter_lists_free(classifier->lists);
	persona_free(classifier->persona);
	free(classifier);
}

static void run_decoder(const struct classifier *classifier, const struct classify_request *request,
			struct tracker_label *label)
{
	const struct decoder *decoder = decoder_find(classifier->decoders, label->entry->decoder);

	if (!decoder || !request->fields)
		return;
	decoder_run(decoder, request->fields, request->target, &label->pixel);
	label->decoded = true;
}

/* Asks the filter lists about a request that no vendor rule names. The
 * resource type comes from Fetch Metadata where the browser sent it. */
static void match_lists(const struct classifier *classifier, const struct classify_request *request,
			struct classification *result)
{
	struct filter_request filter_request = {
		.url = request->url,
		.source_host = result->site.page_host,
		.third_party = result->site.party == PARTY_THIRD,
		.party_known = result->site.party != PARTY_UNKNOWN,
		.type = filter_type_from_fetch(request->sec_fetch_dest, request->sec_fetch_mode),
	};
	struct filter_list_verdict verdict;

	if (!classifier->lists || !request->url || !filter_lists_match(classifier->lists, &filter_request, &verdict))
		return;
	memcpy(result->matched_by, verdict.matched_by, sizeof(result->matched_by));
	result->tracker = true;
	result->label.category = verdict.category;
	result->label.matched_by = result->matched_by;
}

/* Returns the meaning of each field as the pixel decoder read it, for the
 * personal-data scan: a pixel's own field names ("ud[em]", "u_hem") are
 * more exact than the generic table of names. */
static enum pii_meaning *decoder_meanings(const struct classify_request *request, const struct tracker_label *label)
{
	enum pii_meaning *meanings;

	if (!label->decoded || !label->pixel.identity_count || !request->fields->count)
		return NULL;
	meanings = calloc(request->fields->count, sizeof(*meanings));
	if (!meanings)
		return NULL;
	for (size_t i = 0; i < label->pixel.identity_count; i++) {
		const char *name = label->pixel.identity[i].meaning;

		for (int m = PII_MEANING_EMAIL; m <= PII_MEANING_RECORD_ID; m++) {
			if (strcmp(pii_meaning_name((enum pii_meaning)m), name) == 0) {
				meanings[label->pixel.identity[i].field] = (enum pii_meaning)m;
				break;
			}
		}
	}
	return meanings;
}

static bool overlaps(const struct pii_finding *a, const struct pii_finding *b)
{
	return a->field == b->field && a->offset < b->offset + b->length && b->offset < a->offset + a->length;
}

/* Moves the detectors' findings into result, except where a persona
 * finding covers the same text. The persona finding is kept because it
 * names the person's value, so even a hash gets the plain value's
 * fingerprint. */
static int merge_findings(struct pii_findings *result, struct pii_findings *detected)
{
	size_t persona_count = result->count;

	for (size_t i = 0; i < detected->count; i++) {
		struct pii_finding *finding = &detected->items[i];
		bool covered = false;

		for (size_t p = 0; p < persona_count && !covered; p++)
			covered = overlaps(finding, &result->items[p]);
		if (covered)
			continue;
		if (result->count == result->capacity) {
			size_t capacity = result->capacity ? result->capacity * 2 : 8;
			struct pii_finding *items = realloc(result->items, capacity * sizeof(*items));

			if (!items)
				return -ENOMEM;
			result->items = items;
			result->capacity = capacity;
		}
		result->items[result->count++] = *finding;
		finding->value = NULL; /* now owned by result */
	}
	result->cut = result->cut || detected->cut;
	return 0;
}

static int scan_personal_data(const struct classifier *classifier, const struct classify_request *request,
			      struct classification *result)
{
	struct pii_findings detected = { 0 };
	enum pii_meaning *meanings;
	int error = 0;

	if (!request->fields)
		return 0;
	result->pii = calloc(1, sizeof(*result->pii));
	if (!result->pii)
		return -ENOMEM;
	if (classifier->persona)
		error = persona_scan(classifier->persona, request->fields, result->pii);

	meanings = decoder_meanings(request, &result->label);
	if (!error)
		error = pii_scan(request->fields, meanings, &detected);
	if (!error)
		error = merge_findings(result->pii, &detected);
	free(meanings);
	pii_findings_free(&detected);
	return error;
}

void classification_clear(struct classification *result)
{
	pii_findings_free(result->pii);
	free(result->pii);
	result->pii = NULL;
}

static void label_request(const struct classifier *classifier, const struct classify_request *request,
			  struct classification *result)
{
	struct site_request site = {
		.host = request->host,
		.referer = request->referer,
		.origin = request->origin,
		.sec_fetch_site = request->sec_fetch_site,
	};
	struct vendor_match match;

	classify_site(&site, &result->site);

	if (!request->host || !vendor_table_match(classifier->vendors, request->host,
						  request->target ? request->target : "/", &match)) {
		match_lists(classifier, request, result);
		return;
	}
	result->label.entry = match.entry;
	result->label.category = match.entry->category;
	result->label.matched_by = match.rule;
	if (strcmp(match.entry->category, "browser") == 0) {
		result->browser = true;
		return;
	}
	result->tracker = true;
	run_decoder(classifier, request, &result->label);
}

int classifier_run(const struct classifier *classifier, const struct classify_request *request,
		   struct classification *result)
{
	classification_clear(result);
	memset(result, 0, sizeof(*result));
	label_request(classifier, request, result);
	return scan_personal_data(classifier, request, result);
}

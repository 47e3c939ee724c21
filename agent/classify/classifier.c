/*
 * The classifier: one call per request gives the site context, whether the
 * request goes to a tracker (vendor table first, then the filter lists for
 * the long tail), what a pixel decoder read from it, and whether it is the
 * browser's own traffic. Every label names the rule that produced it.
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

void classifier_run(const struct classifier *classifier, const struct classify_request *request,
		    struct classification *result)
{
	struct site_request site = {
		.host = request->host,
		.referer = request->referer,
		.origin = request->origin,
		.sec_fetch_site = request->sec_fetch_site,
	};
	struct vendor_match match;

	memset(result, 0, sizeof(*result));
	classify_site(&site, &result->site);

	if (!request->host || !vendor_table_match(classifier->vendors, request->host,
						  request->target ? request->target : "/", &match))
		return;
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

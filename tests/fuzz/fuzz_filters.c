/*
 * libFuzzer target for the Adblock Plus filter engine (agent/filters/).
 *
 * Byte 0 chooses the request: bits 0-3 the resource type, bit 4 whether
 * the party is known, bit 5 third party, bit 6 whether the page has a
 * host. The rest is lines: every line but the last is a filter, the last
 * is the request's URL. The target adds the filters one by one, matches,
 * builds the token index and matches again; both decisions must agree.
 *
 * Build and run: make fuzz-build, then
 *   build/fuzz/fuzz_filters -max_total_time=300 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct filter_engine *engine;
	struct filter_decision scanned, indexed;
	struct filter_request request = { 0 };
	const uint8_t *line = data + 1;
	const uint8_t *end = data + size;
	char *url;

	if (size < 2 || filter_engine_new(&engine) != 0)
		return 0;

	for (;;) {
		const uint8_t *line_feed = memchr(line, '\n', (size_t)(end - line));

		if (!line_feed)
			break;
		filter_engine_add(engine, (const char *)line, (size_t)(line_feed - line), "fuzz:1");
		line = line_feed + 1;
	}
	url = strndup((const char *)line, (size_t)(end - line));
	if (!url)
		abort();

	request.url = url;
	request.type = (enum filter_resource_type)((data[0] & 0x0f) % FILTER_TYPE_COUNT);
	request.party_known = data[0] & 0x10;
	request.third_party = data[0] & 0x20;
	request.source_host = data[0] & 0x40 ? "www.example.com" : NULL;

	filter_engine_match(engine, &request, &scanned);
	if (filter_engine_build_index(engine) == 0) {
		filter_engine_match(engine, &request, &indexed);
		/* The index only narrows which filters are tried. */
		if (scanned.blocked != indexed.blocked || scanned.matched != indexed.matched)
			abort();
	}
	free(url);
	filter_engine_free(engine);
	return 0;
}

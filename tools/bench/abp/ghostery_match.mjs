#!/usr/bin/env node
// Reference side of the Adblock Plus matching benchmark: times
// @ghostery/adblocker (version pinned in package.json) on the same lists and
// requests as build/tools/bench/abp_match, with the same command line and
// output formats, so that tools/bench/abp_compare.py can compare the two.
//
// Usage:
//   node --expose-gc ghostery_match.mjs --requests FILE.json --list A.txt
//        [--list B.txt ...] [--repeat N] --decisions OUT.jsonl
//
// stdout carries one JSON summary line; errors go to stderr.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

import { FiltersEngine, Request } from '@ghostery/adblocker';

const USAGE = 'usage: node --expose-gc ghostery_match.mjs --requests FILE.json --list A.txt '
	+ '[--list B.txt ...] [--repeat N] --decisions OUT.jsonl';

// Network filters only. In version 2.18.2, match() does not consult $csp
// filters, so they do not decide whether a request is blocked and are not
// loaded either.
const TIMED_CONFIG = {
	loadNetworkFilters: true,
	loadCosmeticFilters: false,
	loadGenericCosmeticsFilters: false,
	loadCSPFilters: false,
	enableHtmlFiltering: false,
};

// The timed engine runs as browsers run it: without raw lines, and with
// optimizations that fuse filters of a bucket into one. Both lose the original
// filter text, so the decisions file comes from a second engine that keeps
// every filter apart (enableOptimizations: false) with its raw line
// (debug: true). It is built after the timing, so it affects no number.
const DECISIONS_CONFIG = { ...TIMED_CONFIG, debug: true, enableOptimizations: false };

// The corpus names resource types as Adblock Plus options do, but the library
// expects webRequest names. Version 2.18.2 matches a request of an unknown type
// only against filters without a type option.
const TYPE_TO_WEBREQUEST = {
	subdocument: 'sub_frame',
	document: 'main_frame',
};

function fail(message) {
	process.stderr.write(`ghostery_match: ${message}\n`);
	process.exit(2);
}

function parseArguments(argv) {
	const options = { requests: null, lists: [], repeat: 10, decisions: null };

	for (let i = 0; i < argv.length; i += 1) {
		const name = argv[i];
		const value = argv[i + 1];
		if (name === '--help' || name === '-h') {
			process.stdout.write(`${USAGE}\n`);
			process.exit(0);
		}
		if (value === undefined) {
			fail(`option ${name} requires a value\n${USAGE}`);
		}
		i += 1;
		if (name === '--requests') {
			options.requests = value;
		} else if (name === '--list') {
			options.lists.push(value);
		} else if (name === '--decisions') {
			options.decisions = value;
		} else if (name === '--repeat') {
			options.repeat = Number(value);
			if (!Number.isInteger(options.repeat) || options.repeat < 1) {
				fail(`invalid --repeat value '${value}': expected a positive integer`);
			}
		} else {
			fail(`unknown option ${name}\n${USAGE}`);
		}
	}

	if (options.requests === null || options.lists.length === 0 || options.decisions === null) {
		fail(`--requests, --list and --decisions are required\n${USAGE}`);
	}
	return options;
}

function readText(path) {
	try {
		return readFileSync(path, 'utf8');
	} catch (error) {
		fail(`cannot read ${path}: ${error.message}`);
	}
	return '';
}

// Returns the requests as Request.fromRawDetails() arguments. An entry
// without a string url is reported on stderr and kept as an empty URL, so
// that indexes stay aligned with the other engine's decisions file.
function loadRequests(path) {
	let entries;
	try {
		entries = JSON.parse(readText(path));
	} catch (error) {
		fail(`invalid JSON in ${path}: ${error.message}`);
	}
	if (!Array.isArray(entries)) {
		fail(`invalid requests file ${path}: expected a JSON array`);
	}

	let invalid = 0;
	const details = entries.map((entry) => {
		const valid = entry !== null && typeof entry === 'object' && typeof entry.url === 'string';
		if (!valid) {
			invalid += 1;
			return { url: '', sourceUrl: '', type: 'other' };
		}
		const type = typeof entry.type === 'string' ? entry.type : 'other';
		return {
			url: entry.url,
			sourceUrl: typeof entry.sourceUrl === 'string' ? entry.sourceUrl : '',
			type: TYPE_TO_WEBREQUEST[type] ?? type,
		};
	});
	if (invalid > 0) {
		process.stderr.write(`ghostery_match: ${invalid} request(s) without a url in ${path}; `
			+ 'they are matched as empty URLs\n');
	}
	return details;
}

function loadListsText(paths) {
	return paths.map(readText).join('\n');
}

function collectGarbage() {
	if (typeof globalThis.gc !== 'function') {
		fail('run node with --expose-gc so that memory is measured after a garbage collection');
	}
	globalThis.gc();
	globalThis.gc();
}

function matchOnce(engine, detail) {
	return engine.match(Request.fromRawDetails(detail));
}

// Times every request of every pass twice over: engine.match() alone, and
// Request.fromRawDetails() plus engine.match(). Each request object is new,
// so no pass reuses the tokens that the previous one cached in it. Returns
// both durations in ns and the blocked flags of the first pass.
function timePasses(engine, details, repeat) {
	const matchDurations = new Float64Array(details.length * repeat);
	const totalDurations = new Float64Array(details.length * repeat);
	const blocked = new Uint8Array(details.length);
	let slot = 0;

	for (let pass = 0; pass < repeat; pass += 1) {
		for (let i = 0; i < details.length; i += 1) {
			const start = process.hrtime.bigint();
			const request = Request.fromRawDetails(details[i]);
			const matchStart = process.hrtime.bigint();
			const result = engine.match(request);
			const end = process.hrtime.bigint();

			matchDurations[slot] = Number(end - matchStart);
			totalDurations[slot] = Number(end - start);
			slot += 1;
			if (pass === 0) {
				blocked[i] = result.match ? 1 : 0;
			}
		}
	}
	return { matchDurations, totalDurations, blocked };
}

// Sorts durations in place and returns their median, 99th percentile
// (nearest rank) and mean.
function describeDurations(durations) {
	let totalNs = 0;
	for (const value of durations) {
		totalNs += value;
	}
	durations.sort();
	return {
		median: percentile(durations, 0.5),
		p99: percentile(durations, 0.99),
		mean: totalNs / durations.length,
	};
}

// Nearest-rank percentile of sorted values.
function percentile(sorted, fraction) {
	const rank = Math.ceil(fraction * sorted.length);
	return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

function filterText(filter) {
	return filter === undefined ? null : filter.toString();
}

// Writes one decision line per request from the raw-line engine and returns
// how many blocked flags differ from the timed engine's.
function writeDecisions(path, listsText, details, timedBlocked) {
	const engine = FiltersEngine.parse(listsText, DECISIONS_CONFIG);
	const lines = [];
	let disagreements = 0;

	for (let i = 0; i < details.length; i += 1) {
		const result = matchOnce(engine, details[i]);
		if ((result.match ? 1 : 0) !== timedBlocked[i]) {
			disagreements += 1;
		}
		lines.push(JSON.stringify({
			i,
			blocked: result.match,
			filter: filterText(result.filter),
			exception: filterText(result.exception),
		}));
	}
	try {
		writeFileSync(path, lines.join('\n') + '\n');
	} catch (error) {
		fail(`cannot write ${path}: ${error.message}`);
	}
	return disagreements;
}

function libraryVersion() {
	const require = createRequire(import.meta.url);
	return require('@ghostery/adblocker/package.json').version;
}

function main() {
	const options = parseArguments(process.argv.slice(2));
	const details = loadRequests(options.requests);
	let listsText = loadListsText(options.lists);

	collectGarbage();
	const beforeLoad = process.memoryUsage();
	const loadStart = process.hrtime.bigint();
	let engine = FiltersEngine.parse(listsText, TIMED_CONFIG);
	const loadNs = process.hrtime.bigint() - loadStart;

	// The list text is kept outside the measurement: only the engine and
	// the requests stay reachable.
	const savedListsText = listsText;
	listsText = null;
	collectGarbage();
	const afterLoad = process.memoryUsage();

	// One untimed pass lets V8 compile the hot paths and fills the
	// engine's lazily built bucket cache, as a browser's first page loads do.
	for (const detail of details) {
		matchOnce(engine, detail);
	}
	const { matchDurations, totalDurations, blocked } = timePasses(engine, details, options.repeat);
	const peakRssBytes = process.resourceUsage().maxRSS * 1024;
	const matchTimes = describeDurations(matchDurations);
	const totalTimes = describeDurations(totalDurations);

	engine = null;
	const disagreements = writeDecisions(options.decisions, savedListsText, details, blocked);
	if (disagreements > 0) {
		process.stderr.write('ghostery_match: the raw-line engine disagrees with the timed engine on '
			+ `${disagreements} request(s); the decisions file comes from the raw-line engine\n`);
	}

	// median_ns, p99_ns and mean_ns time engine.match() alone, because
	// abp_match also builds its requests (hosts, party) before timing.
	// The with_request_ values add Request.fromRawDetails().
	const summary = {
		engine: 'ghostery',
		version: libraryVersion(),
		requests: details.length,
		load_ms: Number(loadNs) / 1e6,
		median_ns: matchTimes.median,
		p99_ns: matchTimes.p99,
		mean_ns: matchTimes.mean,
		with_request_median_ns: totalTimes.median,
		with_request_p99_ns: totalTimes.p99,
		with_request_mean_ns: totalTimes.mean,
		warmup_passes: 1,
		rss_bytes_before_load: beforeLoad.rss,
		rss_bytes_after_load: afterLoad.rss,
		rss_bytes_peak: peakRssBytes,
		heap_used_bytes: afterLoad.heapUsed,
		array_buffers_bytes: afterLoad.arrayBuffers,
		decision_engine_disagreements: disagreements,
	};
	process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main();

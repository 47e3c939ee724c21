#!/usr/bin/python3
"""Adblock Plus network filter matching: plainsight against @ghostery/adblocker.

Both drivers take the same command line
  DRIVER --requests FILE.json --list A.txt --list B.txt --repeat N --decisions OUT.jsonl
print one JSON summary line on stdout and write one decision line per request.
This script runs them alternately, ROUNDS times each, on the same lists and
requests. It prints a Markdown report with the medians of the per-run timings,
the speed ratios and memory. The report also lists every request on which the
two engines decide differently, grouped by kind and by a cause derived from
the filters involved.

A request whose page URL has no host ("http://", "about:blank") is first party
for @ghostery/adblocker 2.18. abp_match decides such a request either way by
default (party unknown: $third-party and $~third-party filters both apply), as
the plainsight agent does for a request whose page it did not see. The timed
plainsight runs use `--unknown-page first-party`, the semantics ghostery has,
and give the headline equality. One more plainsight run, untimed, uses
`--unknown-page either`, and the report gives its equality and differences too.

Run after `make bench` and `npm ci --prefix tools/bench/abp`:
  /usr/bin/python3 tools/bench/abp_compare.py --rounds 5
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Debian package webext-ublock-origin-firefox ships both lists.
DEBIAN_LIST_DIR = ("/usr/share/mozilla/extensions/{ec8030f7-c20a-464f-9b0e-13a3a9e97384}/"
                   "uBlock0@raymondhill.net/assets/thirdparties/easylist")
DEFAULT_LISTS = [os.path.join(DEBIAN_LIST_DIR, "easyprivacy.txt"),
                 os.path.join(DEBIAN_LIST_DIR, "easylist.txt")]
REQUESTS_CANDIDATES = [os.path.join(ROOT, "..", "shared", "data", "abp-matching-requests.json"),
                       "/work/shared/data/abp-matching-requests.json"]
GHOSTERY_DIR = os.path.join(HERE, "abp")
DRIVER_TIMEOUT_S = 900

GOAL_SPEED_RATIO = 10.0
GOAL_EQUAL_PERCENT = 99.9
EXAMPLES_PER_GROUP = 3

# Options that only select resource types or the party. The cause of a
# difference names any other option.
TYPE_OPTIONS = {
    "script", "image", "stylesheet", "object", "xmlhttprequest", "xhr", "subdocument", "frame",
    "ping", "media", "font", "websocket", "other", "fetch", "beacon", "object-subrequest", "webrtc",
}
PARTY_OPTIONS = {"third-party", "3p", "first-party", "1p"}

PLAINSIGHT = "plainsight"
GHOSTERY = "ghostery"

# abp_match's --unknown-page modes: the one ghostery's semantics match, which
# the timed runs use, and the agent's own.
FIRST_PARTY = "first-party"
EITHER = "either"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", dest="lists", action="append", metavar="FILE",
                        help="filter list, repeatable (default: EasyPrivacy and EasyList from "
                             "the Debian package webext-ublock-origin-firefox)")
    parser.add_argument("--requests", metavar="FILE",
                        help="JSON array of requests with url, sourceUrl and type (default: "
                             "abp-matching-requests.json in ../shared/data or /work/shared/data)")
    parser.add_argument("--repeat", type=int, default=10,
                        help="timed passes over the requests in each run (default: 10)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each driver, alternating, whose values the report gives "
                             "as medians (default: 1)")
    parser.add_argument("--plainsight-driver", metavar="COMMAND",
                        default=os.path.join(ROOT, "build", "tools", "bench", "abp_match"),
                        help="plainsight driver command, split like a shell word list "
                             "(default: build/tools/bench/abp_match)")
    parser.add_argument("--node", default=shutil.which("node") or "/usr/bin/node",
                        help="Node.js binary for the ghostery driver (default: node from PATH)")
    args = parser.parse_args()

    if args.repeat < 1 or args.rounds < 1:
        parser.error("--repeat and --rounds must be at least 1")
    args.lists = args.lists or DEFAULT_LISTS
    args.requests = args.requests or find_requests_file()
    args.plainsight_command = shlex.split(args.plainsight_driver)
    args.ghostery_command = [args.node, "--expose-gc", os.path.join(GHOSTERY_DIR, "ghostery_match.mjs")]
    check_inputs(parser, args)
    return args


def find_requests_file():
    for candidate in REQUESTS_CANDIDATES:
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    return REQUESTS_CANDIDATES[-1]


def check_inputs(parser, args):
    for path in args.lists + [args.requests]:
        if not os.path.isfile(path):
            parser.error(f"file not found: {path}")
    if not args.plainsight_command or not shutil.which(args.plainsight_command[0]):
        parser.error(f"plainsight driver not found: {args.plainsight_driver} (run `make bench`, "
                     "or pass --plainsight-driver)")
    if not os.path.isdir(os.path.join(GHOSTERY_DIR, "node_modules", "@ghostery", "adblocker")):
        parser.error("@ghostery/adblocker is not installed: run `npm ci --prefix tools/bench/abp`")


def run_driver(command, args, decisions_path, repeat=None):
    """Runs one driver and returns its summary, the last line of its stdout."""
    argv = command + ["--requests", args.requests, "--repeat", str(repeat or args.repeat),
                      "--decisions", decisions_path]
    for path in args.lists:
        argv += ["--list", path]

    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=DRIVER_TIMEOUT_S,
                                   check=False)
    except subprocess.TimeoutExpired:
        sys.exit(f"abp_compare: {shlex.join(argv)} timed out after {DRIVER_TIMEOUT_S} s")
    if completed.returncode != 0:
        sys.exit(f"abp_compare: {shlex.join(argv)} failed with exit code {completed.returncode}:\n"
                 f"{completed.stderr}")
    if completed.stderr:
        sys.stderr.write(completed.stderr)

    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as error:
        sys.exit(f"abp_compare: invalid summary from {argv[0]} ({error}); stdout was:\n{completed.stdout}")


def run_rounds(args, directory):
    """Runs both drivers alternately. The first round writes the decisions
    files that are compared. Returns the summaries per engine and those paths."""
    drivers = [(PLAINSIGHT, args.plainsight_command + ["--unknown-page", FIRST_PARTY]),
               (GHOSTERY, args.ghostery_command)]
    summaries = {PLAINSIGHT: [], GHOSTERY: []}
    decisions = {name: os.path.join(directory, f"{name}-decisions.jsonl") for name, _ in drivers}

    for round_index in range(args.rounds):
        # Alternating the order spreads slow phases of a shared machine over
        # both engines.
        order = drivers if round_index % 2 == 0 else list(reversed(drivers))
        for name, command in order:
            path = decisions[name] if round_index == 0 else os.path.join(directory, f"{name}-later.jsonl")
            summaries[name].append(run_driver(command, args, path))
            print(f"abp_compare: round {round_index + 1}/{args.rounds}: {name} median "
                  f"{summaries[name][-1].get('median_ns')} ns", file=sys.stderr)
    return summaries, decisions


def run_either_mode(args, directory):
    """Runs plainsight once more with the party of a page without a host left
    unknown, for its decisions only. Returns the decisions file's path."""
    path = os.path.join(directory, f"{PLAINSIGHT}-{EITHER}-decisions.jsonl")
    summary = run_driver(args.plainsight_command + ["--unknown-page", EITHER], args, path, repeat=1)
    if summary.get("unknown_page") != EITHER:
        sys.exit(f"abp_compare: the plainsight driver reports unknown_page {summary.get('unknown_page')!r}, "
                 f"expected {EITHER!r}: rebuild it with `make bench`")
    return path


def median_field(summaries, field):
    values = [summary[field] for summary in summaries if isinstance(summary.get(field), (int, float))]
    return statistics.median(values) if values else None


def read_decisions(path, count, name):
    """Returns a list of `count` decisions indexed by request. Invalid lines
    are counted and reported, and missing requests are left as None."""
    decisions = [None] * count
    invalid = 0
    with open(path, encoding="utf-8") as file:
        for line in file:
            try:
                record = json.loads(line)
                index = record["i"]
                if not isinstance(index, int) or not 0 <= index < count:
                    raise ValueError(f"index {index!r} out of range")
                decisions[index] = record
            except (ValueError, KeyError, TypeError):
                invalid += 1

    missing = decisions.count(None)
    if invalid or missing:
        print(f"abp_compare: {name} decisions: {invalid} invalid line(s), {missing} request(s) missing",
              file=sys.stderr)
    return decisions


class ListIndex:
    """Facts about the list lines that explain differences: targets of
    $badfilter and lines inside `!#if` blocks, keyed by filter text."""

    def __init__(self, paths):
        self.badfiltered = set()
        self.conditions = {}
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as file:
                self._read(file)

    def _read(self, file):
        stack = []
        for raw_line in file:
            line = raw_line.strip()
            if line.startswith("!#if"):
                stack.append(line[4:].strip())
            elif line.startswith("!#else") and stack:
                stack[-1] = f"!({stack[-1]})"
            elif line.startswith("!#endif") and stack:
                stack.pop()
            elif line and not line.startswith(("!", "[")):
                self._add_filter(line, stack)

    def _add_filter(self, line, stack):
        if stack:
            self.conditions[line] = " && ".join(stack)
        pattern, options = split_filter(line)
        if "badfilter" in options:
            remaining = [option for option in options if option != "badfilter"]
            self.badfiltered.add(pattern + ("$" + ",".join(remaining) if remaining else ""))


def url_host(url):
    """Returns the host of an absolute URL, or "" when it has none (the corpus
    gives "http://" for an unknown page)."""
    try:
        return urllib.parse.urlsplit(url or "").hostname or ""
    except ValueError:
        return ""


def split_filter(text):
    """Splits a network filter into its pattern and its list of options."""
    if text.startswith("@@"):
        body = text[2:]
        prefix = "@@"
    else:
        body = text
        prefix = ""

    if body.startswith("/") and body.endswith("/"):
        return text, []
    dollar = body.rfind("$")
    if dollar < 0 or (body.startswith("/") and body.rfind("/", 1) > dollar):
        return text, []
    options = [option.strip() for option in body[dollar + 1:].split(",")]
    return prefix + body[:dollar], [option for option in options if option]


def option_names(options):
    return {option.lstrip("~").split("=", 1)[0].lower() for option in options}


def describe_filter(text):
    """Returns a verb phrase naming what is notable in a filter: a regular
    expression, or options other than resource types and party."""
    pattern, options = split_filter(text)
    names = option_names(options)
    notable = sorted(names - TYPE_OPTIONS - PARTY_OPTIONS)
    body = pattern[2:] if pattern.startswith("@@") else pattern
    phrases = []

    if body.startswith("/") and body.endswith("/") and len(body) > 1:
        phrases.append("is a regular expression")
    if notable:
        phrases.append("uses $" + ", $".join(notable))
    elif names:
        phrases.append("has only type or party options")
    return " and ".join(phrases) if phrases else "is a plain pattern without options"


def first_filter(text):
    """Returns the first part of a fused filter's text, whose parts are joined
    with ' <+> ', because one part is enough to name the cause."""
    return text.split(" <+> ")[0] if text else text


def unknown_party_options(text, request):
    """Returns the party options of a filter if the request's page URL has no
    host, which leaves the party unknown. Returns an empty set otherwise."""
    if url_host(request.get("sourceUrl")):
        return set()
    return option_names(split_filter(text)[1]) & PARTY_OPTIONS


def classify(request, blocking, allowing, index):
    """Derives the cause of a difference from the blocking side's filter and
    the allowing side's exception."""
    filter_text = first_filter(blocking.get("filter"))
    exception_text = first_filter(allowing.get("exception"))

    if filter_text and exception_text and "important" in option_names(split_filter(filter_text)[1]):
        return "$important filter, which the allowing side let an exception override"
    if exception_text:
        party = unknown_party_options(exception_text, request)
        if party:
            return (f"exception only on the allowing side; the exception uses ${', $'.join(sorted(party))} "
                    "and the page URL has no host, so the party is unknown")
        return f"exception only on the allowing side; the exception {describe_filter(exception_text)}"
    if allowing.get("filter"):
        return "the allowing side matched a filter but did not block"
    if not filter_text:
        return "the blocking side reported no filter text"
    if filter_text in index.badfiltered:
        return "blocking filter is disabled by a $badfilter line of the lists"
    if filter_text in index.conditions:
        return f"blocking filter is inside `!#if {index.conditions[filter_text]}`"
    party = unknown_party_options(filter_text, request)
    if party:
        return (f"blocking filter uses ${', $'.join(sorted(party))} and the page URL has no host, "
                "so the party is unknown")
    return f"blocking filter {describe_filter(filter_text)}"


def compare_decisions(requests, decisions, index):
    """Returns the equal counts (among all requests, and among those whose
    page URL has a host), the count of requests both block with a different
    filter text, and the differences grouped by kind and cause."""
    equal = 0
    known_party = [0, 0]
    other_filter = 0
    groups = OrderedDict([(f"{PLAINSIGHT} blocks, {GHOSTERY} allows", {}),
                          (f"{GHOSTERY} blocks, {PLAINSIGHT} allows", {}),
                          ("missing or invalid decision", {})])

    for i, request in enumerate(requests):
        ours = decisions[PLAINSIGHT][i]
        theirs = decisions[GHOSTERY][i]
        if ours is None or theirs is None:
            groups["missing or invalid decision"].setdefault("no decision line", []).append(i)
            continue
        same = bool(ours.get("blocked")) == bool(theirs.get("blocked"))
        if url_host(request.get("sourceUrl")):
            known_party[0] += same
            known_party[1] += 1
        if same:
            equal += 1
            if ours.get("blocked") and first_filter(ours.get("filter")) != first_filter(theirs.get("filter")):
                other_filter += 1
            continue
        if ours.get("blocked"):
            kind, cause = f"{PLAINSIGHT} blocks, {GHOSTERY} allows", classify(request, ours, theirs, index)
        else:
            kind, cause = f"{GHOSTERY} blocks, {PLAINSIGHT} allows", classify(request, theirs, ours, index)
        groups[kind].setdefault(cause, []).append(i)
    return equal, known_party, other_filter, groups


def format_int(value):
    return "n/a" if value is None else f"{round(value):,}"


def format_mib(value):
    return "n/a" if value is None else f"{value / 1048576:.1f}"


def format_ms(value):
    return "n/a" if value is None else f"{value:,.1f}"


def format_ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def timing_table(summaries):
    rows = [("median ns per request", "median_ns", format_int),
            ("p99 ns per request", "p99_ns", format_int),
            ("mean ns per request", "mean_ns", format_int),
            ("median ns with request building", "with_request_median_ns", format_int),
            ("p99 ns with request building", "with_request_p99_ns", format_int),
            ("load ms", "load_ms", format_ms),
            ("RSS before load, MiB", "rss_bytes_before_load", format_mib),
            ("RSS after load, MiB", "rss_bytes_after_load", format_mib),
            ("peak RSS, MiB", "rss_bytes_peak", format_mib),
            ("JS heap used after load, MiB", "heap_used_bytes", format_mib),
            ("JS array buffers after load, MiB", "array_buffers_bytes", format_mib)]
    lines = [f"| | {PLAINSIGHT} | {GHOSTERY} |", "|---|---:|---:|"]
    for label, field, formatter in rows:
        values = [median_field(summaries[name], field) for name in (PLAINSIGHT, GHOSTERY)]
        if all(value is None for value in values):
            continue
        lines.append(f"| {label} | {formatter(values[0])} | {formatter(values[1])} |")
    return lines


def rounds_table(summaries):
    lines = [f"| round | {PLAINSIGHT} median ns | {GHOSTERY} median ns | ratio "
             f"| {PLAINSIGHT} p99 ns | {GHOSTERY} p99 ns | ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for number, (ours, theirs) in enumerate(zip(summaries[PLAINSIGHT], summaries[GHOSTERY]), start=1):
        median_ratio = format_ratio(theirs.get("median_ns"), ours.get("median_ns"))
        p99_ratio = format_ratio(theirs.get("p99_ns"), ours.get("p99_ns"))
        lines.append(f"| {number} | {format_int(ours.get('median_ns'))} "
                     f"| {format_int(theirs.get('median_ns'))} | {format_optional_ratio(median_ratio)} "
                     f"| {format_int(ours.get('p99_ns'))} | {format_int(theirs.get('p99_ns'))} "
                     f"| {format_optional_ratio(p99_ratio)} |")
    return lines


def format_optional_ratio(ratio):
    return "n/a" if ratio is None else f"{ratio:.1f}"


def shorten(text, limit=160):
    if text is None:
        return "none"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def example_lines(i, request, decisions):
    lines = [f"  - request {i}: `{shorten(request.get('url'))}` (type {request.get('type')}, "
             f"source `{shorten(request.get('sourceUrl'), 80)}`)"]
    for name in (PLAINSIGHT, GHOSTERY):
        decision = decisions[name][i] or {}
        lines.append(f"    - {name}: filter `{shorten(decision.get('filter'))}`, "
                     f"exception `{shorten(decision.get('exception'))}`")
    corpus = request.get("filters") or []
    lines.append(f"    - filters the corpus lists for it: "
                 f"{', '.join(f'`{shorten(f, 100)}`' for f in corpus) if corpus else 'none'}")
    return lines


def difference_lines(requests, decisions, groups):
    lines = []
    for kind, causes in groups.items():
        total = sum(len(indexes) for indexes in causes.values())
        if total == 0:
            continue
        lines += ["", f"### {kind}: {total:,}", ""]
        for cause, indexes in sorted(causes.items(), key=lambda item: -len(item[1])):
            lines.append(f"- {cause}: {len(indexes):,}")
            for i in indexes[:EXAMPLES_PER_GROUP]:
                lines += example_lines(i, requests[i], decisions)
    return lines


def warmup_text(summaries):
    value = summaries[0].get("warmup_passes")
    return "not reported" if value is None else str(value)


def environment_lines(args, summaries):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    node = subprocess.run([args.node, "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    version = summaries[GHOSTERY][0].get("version", "unknown")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"- {now}, Linux {platform.release()}, {os.cpu_count()} CPUs ({cpu}), Node.js {node}, "
             f"@ghostery/adblocker {version}",
             f"- {args.rounds} round(s), each driver run {args.repeat} timed passes over the requests; "
             f"the table gives medians of the per-run values",
             f"- untimed warm-up passes before timing: {warmup_text(summaries[PLAINSIGHT])} "
             f"for {PLAINSIGHT}, {warmup_text(summaries[GHOSTERY])} for {GHOSTERY}",
             f"- {PLAINSIGHT} timed with `--unknown-page {FIRST_PARTY}`: a request whose page URL has no "
             f"host is first party, as for {GHOSTERY}"]
    for path in args.lists:
        lines.append(f"- list `{path}` ({os.path.getsize(path):,} bytes)")
    lines.append(f"- requests `{args.requests}`")
    return lines


def goal_text(met):
    return "met" if met else "NOT met"


def summary_lines(summaries, requests, equal, known_party, other_filter, either_equal):
    medians = {name: median_field(summaries[name], "median_ns") for name in summaries}
    p99s = {name: median_field(summaries[name], "p99_ns") for name in summaries}
    median_ratio = format_ratio(medians[GHOSTERY], medians[PLAINSIGHT])
    p99_ratio = format_ratio(p99s[GHOSTERY], p99s[PLAINSIGHT])
    equal_percent = 100.0 * equal / len(requests) if requests else 0.0

    lines = ["",
             f"- speed ratio, {GHOSTERY} median / {PLAINSIGHT} median: "
             f"**{format_optional_ratio(median_ratio)}** "
             f"(goal at least {GOAL_SPEED_RATIO:.0f}: "
             f"{goal_text(median_ratio is not None and median_ratio >= GOAL_SPEED_RATIO)})",
             f"- p99 ratio: **{format_optional_ratio(p99_ratio)}**",
             f"- equal decisions (blocked or not), a page URL without a host being first party "
             f"(`--unknown-page {FIRST_PARTY}`, ghostery's semantics): "
             f"**{equal:,} of {len(requests):,}, {equal_percent:.2f}%** "
             f"(goal at least {GOAL_EQUAL_PERCENT}%: {goal_text(equal_percent >= GOAL_EQUAL_PERCENT)})",
             f"- equal decisions among the {known_party[1]:,} requests whose page URL has a host: "
             f"{known_party[0]:,} ({100.0 * known_party[0] / max(known_party[1], 1):.2f}%)",
             f"- equal decisions with the party of such a request left unknown "
             f"(`--unknown-page {EITHER}`, the agent's semantics): {either_equal:,} of {len(requests):,}, "
             f"{100.0 * either_equal / max(len(requests), 1):.2f}%",
             f"- requests both engines block, with a different filter text: {other_filter:,}"]
    disagreements = median_field(summaries[GHOSTERY], "decision_engine_disagreements")
    if disagreements:
        lines.append(f"- WARNING: ghostery's raw-line engine disagreed with its timed engine on "
                     f"{disagreements:.0f} request(s)")
    return lines


def check_counts(summaries, requests):
    for name, runs in summaries.items():
        for summary in runs:
            if summary.get("requests") != len(requests):
                print(f"abp_compare: {name} reports {summary.get('requests')} requests, the file has "
                      f"{len(requests)}", file=sys.stderr)


def main():
    args = parse_arguments()
    with open(args.requests, encoding="utf-8") as file:
        try:
            requests = json.load(file)
        except json.JSONDecodeError as error:
            sys.exit(f"abp_compare: invalid JSON in {args.requests}: {error}")
    if not isinstance(requests, list):
        sys.exit(f"abp_compare: invalid requests file {args.requests}: expected a JSON array")
    # An entry that is not an object is still matched (as an empty URL) by
    # the drivers, so it keeps its index here.
    requests = [request if isinstance(request, dict) else {} for request in requests]

    with tempfile.TemporaryDirectory(prefix="abp-compare-") as directory:
        summaries, paths = run_rounds(args, directory)
        either_path = run_either_mode(args, directory)
        decisions = {name: read_decisions(path, len(requests), name) for name, path in paths.items()}
        either_decisions = {PLAINSIGHT: read_decisions(either_path, len(requests), f"{PLAINSIGHT} {EITHER}"),
                            GHOSTERY: decisions[GHOSTERY]}
    check_counts(summaries, requests)

    index = ListIndex(args.lists)
    equal, known_party, other_filter, groups = compare_decisions(requests, decisions, index)
    either_equal, _, _, either_groups = compare_decisions(requests, either_decisions, index)
    report = ["## Adblock Plus matching: plainsight and @ghostery/adblocker", ""]
    report += environment_lines(args, summaries)
    report += [""] + timing_table(summaries)
    report += summary_lines(summaries, requests, equal, known_party, other_filter, either_equal)
    if args.rounds > 1:
        report += ["", "Per round:", ""] + rounds_table(summaries)
    report += ["", f"## Differences with `--unknown-page {FIRST_PARTY}`"]
    report += difference_lines(requests, decisions, groups) or ["", "None."]
    report += ["", f"## Differences with `--unknown-page {EITHER}`"]
    report += difference_lines(requests, either_decisions, either_groups) or ["", "None."]
    print("\n".join(report))


if __name__ == "__main__":
    main()

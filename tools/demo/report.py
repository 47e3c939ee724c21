"""The demo's summary of plainsight's events, per browser, and the check of
those events against what the demo shop sends (tools/demo/shop/shop.js)."""

import base64
import hashlib
import re
import urllib.parse
from collections import Counter

BROWSER_NAMES = {"firefox-esr": "Firefox ESR", "chromium": "Chromium"}
SEVERITIES = ("high", "medium", "low", "info", "none")

# Tracker requests that shop.js sends from each page, in order: (page, product, event,
# account id, {PII category: (path prefix, text the encoding must contain)},
# severity). A path prefix or encoding of None accepts any.
EXPECTED_TRACKERS = [
    ("product", "Meta Pixel", "PageView", "917356204815", {}, "low"),
    ("product", "TikTok Pixel", "ViewContent", "C4PLAINSIGHTDEMO01", {}, "low"),
    ("product", "Google Analytics 4", "view_item", "G-PSDEMO2024", {}, "low"),
    ("product", "LinkedIn Insight Tag", "page_view", "5123456", {}, "low"),
    ("product", "Microsoft Clarity", None, None, {}, "low"),
    ("checkout", "Google Analytics 4", "begin_checkout", "G-PSDEMO2024", {}, "low"),
    ("checkout", "Meta Pixel", "InitiateCheckout", "917356204815",
     {"email": ("query.ud[em]", "sha256"), "phone": ("query.ud[ph]", "sha256"),
      "first_name": ("query.ud[fn]", "sha256"), "last_name": ("query.ud[ln]", "sha256"),
      "city": ("query.ud[ct]", "sha256"), "postal_code": ("query.ud[zp]", "sha256")}, "high"),
    ("checkout", "TikTok Pixel", "InitiateCheckout", "C4PLAINSIGHTDEMO01",
     {"email": ("body.json.context.user.email", "sha256"),
      "phone": ("body.json.context.user.phone_number", "sha256")}, "high"),
    ("checkout", "Microsoft Clarity", None, None,
     {"email": (None, "gzip"), "phone": (None, "gzip"), "first_name": (None, "gzip"),
      "last_name": (None, "gzip"), "street_address": (None, "gzip"), "postal_code": (None, "gzip"),
      "city": (None, "gzip")}, "high"),
    ("confirmation", "Meta Pixel", "Purchase", "917356204815",
     {"email": (None, None)}, "high"),
    ("confirmation", "Google Analytics 4", "purchase", "G-PSDEMO2024", {"email": ("query.dl", None)}, "high"),
    ("confirmation", "LinkedIn Insight Tag", "conversion", "5123456", {"email": ("query.url", None)}, "high"),
    ("confirmation", "Microsoft Clarity", None, None,
     {"email": (None, "gzip"), "first_name": (None, "gzip"), "last_name": (None, "gzip")}, "high"),
]
# The shop's own API calls, on each browser's run.
EXPECTED_FIRST_PARTY = (("POST", "/api/cart"), ("POST", "/api/order"))


def field(event, dotted):
    """Return the value at a dotted path such as 'url.full', or None."""
    value = event
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def requests_by_browser(events):
    """HTTP request events by executable name, each list in the order the
    requests were sent. That is the order of @timestamp, the time of the
    request, because an event is written when its exchange completes, and
    some connections complete theirs only when they close."""
    browsers = {}
    def request_order(event):
        return (field(event, "@timestamp") or "", field(event, "event.sequence") or 0)

    for event in sorted(events, key=request_order):
        if field(event, "event.kind") == "http.request":
            browsers.setdefault(field(event, "process.executable.name"), []).append(event)
    return browsers


def assign_pages(events, shop_host):
    """Pairs each event with the shop page that sent it. A browser requests
    the next page only after the previous page's requests are done, so a
    request belongs to the page whose document was requested last before it."""
    page = "start"
    pairs = []
    for event in events:
        path = field(event, "url.path") or ""
        if field(event, "server.address") == shop_host and path.endswith(".html"):
            page = path.rsplit("/", 1)[-1][:-len(".html")]
        pairs.append((page, event))
    return pairs


def tracker_line(event):
    tracker = field(event, "plainsight.tracker")
    name = tracker.get("product") or tracker.get("domain") or "?"
    vendor = tracker.get("vendor")
    label = f"{name} ({vendor})" if vendor and vendor not in name else name
    return (f"    {label:<22} {tracker.get('category', '?'):<14} event {tracker.get('event') or '-':<16} "
            f"account {tracker.get('account_id') or '-':<18} {severity_text(event)}")


def severity_text(event):
    severity = field(event, "plainsight.severity") or "none"
    return severity.upper() if severity == "high" else severity


def finding_lines(event, indent):
    """Format one line per finding: category, field path and the chain of
    encodings, as plainsight reports them."""
    lines = []
    seen = set()
    for finding in field(event, "plainsight.pii") or []:
        key = (finding.get("category"), finding.get("path"))
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"{indent}{finding.get('category', '?'):<14} in {finding.get('path')} "
                     f"({finding.get('encoding')})")
    return lines


def pii_categories(event):
    categories = []
    for finding in field(event, "plainsight.pii") or []:
        if finding.get("category") not in categories:
            categories.append(finding.get("category"))
    return categories


def request_target(event):
    target = field(event, "url.path") or "?"
    if field(event, "url.query"):
        target += "?" + field(event, "url.query")
    return target


def first_party_line(event, target_width):
    method = field(event, "http.request.method") or "?"
    line = f"    {method:<5} {request_target(event):<{target_width}} {severity_text(event)}"
    categories = pii_categories(event)
    if categories:
        line += ": " + ", ".join(categories)
    return line


def browser_summary(executable, events, shop_host):
    first = events[0]
    title = (f"== {BROWSER_NAMES.get(executable, executable)} ({executable}, TLS library "
             f"{field(first, 'tls.library')}, HTTP/{field(first, 'network.protocol.version')}): "
             f"{len(events)} requests ==")
    lines = [title]
    first_party = []
    other = []
    current_page = None
    for page, event in assign_pages(events, shop_host):
        if field(event, "plainsight.tracker"):
            if page != current_page:
                lines.append(f"  {page} page, tracker requests:")
                current_page = page
            lines.append(tracker_line(event))
            lines.extend(finding_lines(event, "        "))
        elif field(event, "server.address") == shop_host:
            first_party.append(event)
        else:
            other.append(event)

    lines.append(f"  first party ({shop_host}), {len(first_party)} requests, none labelled as a tracker:")
    target_width = max((len(request_target(event)) for event in first_party), default=0)
    lines.extend(first_party_line(event, target_width) for event in first_party)
    if other:
        lines.append(f"  other requests ({len(other)}):")
        lines.extend(f"    {field(e, 'url.full')} {severity_text(e)}" for e in other)

    categories = Counter(field(e, "plainsight.tracker.category")
                         for e in events if field(e, "plainsight.tracker"))
    category_text = ", ".join(f"{name} {count}" for name, count in categories.most_common())
    severities = Counter(field(e, "plainsight.severity") or "none" for e in events)
    severity_text_line = ", ".join(f"{name} {severities[name]}" for name in SEVERITIES if severities[name])
    lines.append(f"  trackers by category: {category_text or 'none'}; first party {len(first_party)}")
    lines.append(f"  requests by severity: {severity_text_line}")
    return "\n".join(lines)


def summary(events, persona, shop_url):
    shop_host = urllib.parse.urlsplit(shop_url).hostname
    values = persona["values"]
    shopper = " ".join(first(values.get(kind)) for kind in ("first_name", "last_name") if values.get(kind))
    browsers = requests_by_browser(events)
    parts = [f"plainsight saw {shopper or 'the persona'} shop at {shop_url} "
             f"in {len(browsers)} browsers: {sum(len(e) for e in browsers.values())} requests.",
             "Severity: high = personal data to a third-party tracker, low = a tracker without personal "
             "data, info = personal data to the shop itself (docs/POLICY.md).", ""]
    for executable, browser_events in browsers.items():
        parts.append(browser_summary(executable, browser_events, shop_host))
        parts.append("")
    return "\n".join(parts)


def first(value):
    return value if isinstance(value, str) else value[0]


# ---- Check

def check_tracker(problems, where, event, expected):
    _page, _product, event_name, account, pii, severity = expected
    tracker = field(event, "plainsight.tracker")
    comparisons = (("event", tracker.get("event"), event_name),
                   ("account id", tracker.get("account_id"), account),
                   ("severity", field(event, "plainsight.severity"), severity),
                   ("third party", field(event, "plainsight.third_party"), True))
    for name, actual, expected_value in comparisons:
        if actual != expected_value:
            problems.append(f"{where}: {name} is {actual!r}, expected {expected_value!r}")

    findings = field(event, "plainsight.pii") or []
    categories = {finding.get("category") for finding in findings}
    if categories != set(pii):
        problems.append(f"{where}: personal data {sorted(categories)}, expected {sorted(pii)}")
    for category, (path_prefix, encoding_part) in pii.items():
        matching = [f for f in findings if f.get("category") == category
                    and (path_prefix is None or (f.get("path") or "").startswith(path_prefix))
                    and (encoding_part is None or encoding_part in (f.get("encoding") or ""))]
        if category in categories and not matching:
            found = [(f.get("path"), f.get("encoding")) for f in findings if f.get("category") == category]
            problems.append(f"{where}: {category} not found in {path_prefix or 'any field'} with an encoding "
                            f"that has {encoding_part}; found {found}")


def check_browser(problems, executable, events, shop_host):
    name = BROWSER_NAMES.get(executable, executable)
    remaining = [(page, event) for page, event in assign_pages(events, shop_host)
                 if field(event, "plainsight.tracker")]
    for expected in EXPECTED_TRACKERS:
        page, product = expected[0], expected[1]
        where = f"{name}, {page} page, {product}"
        candidates = [pair for pair in remaining if pair[0] == page
                      and field(pair[1], "plainsight.tracker.product") == product
                      and (expected[2] is None or field(pair[1], "plainsight.tracker.event") == expected[2])]
        if not candidates:
            problems.append(f"{where}: no such tracker request")
            continue
        remaining.remove(candidates[0])
        check_tracker(problems, where, candidates[0][1], expected)
    for page, event in remaining:
        problems.append(f"{name}, {page} page: unexpected tracker request {field(event, 'url.full')}")

    first_party = [event for event in events if field(event, "server.address") == shop_host]
    for event in first_party:
        if field(event, "plainsight.tracker"):
            problems.append(f"{name}: the shop's own request {field(event, 'url.path')} "
                            "is labelled as a tracker")
        if field(event, "plainsight.severity") not in ("none", "info"):
            problems.append(f"{name}: the shop's own request {field(event, 'url.path')} has severity "
                            f"{field(event, 'plainsight.severity')}, expected none or info")
    for method, path in EXPECTED_FIRST_PARTY:
        if not any(field(e, "http.request.method") == method and field(e, "url.path") == path
                   for e in first_party):
            problems.append(f"{name}: no event for the shop's own {method} {path}")


def value_forms(kind, value):
    """Return the normalised forms of a persona value (docs/PERSONA.md), so
    that a leak in any of them is found."""
    trimmed = value.strip()
    lowered = "".join(c.lower() if c.isascii() else c for c in trimmed)
    forms = {trimmed, lowered, "".join(c for c in lowered if c.isalnum() or not c.isascii())}
    if kind == "phone":
        digits = "".join(c for c in trimmed if c.isdigit())
        forms |= {digits, "+" + digits}
        if trimmed.startswith("+") and " " in trimmed:
            country = "".join(c for c in trimmed.split(" ", 1)[0] if c.isdigit())
            forms.add("0" + digits[len(country):])
    return forms


def encoded_forms(text):
    """Return the texts a pixel or an SDK might send for a form: the form
    encoded once, hashed, or a hash encoded."""
    raw = text.encode()
    quoted = urllib.parse.quote(text, safe="")
    forms = {text, quoted, urllib.parse.quote_plus(text), urllib.parse.quote(quoted, safe=""), raw.hex(),
             base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
             text.replace("@", "\\u0040")}
    for name in ("md5", "sha1", "sha256", "sha512"):
        digest = hashlib.new(name, raw).digest()
        forms |= {digest.hex(), digest.hex().upper(), base64.b64encode(digest).decode().rstrip("="),
                  base64.urlsafe_b64encode(digest).decode().rstrip("="),
                  base64.b64encode(digest.hex().encode()).decode().rstrip("=")}
    return forms


def leak_patterns(persona):
    """Regular expressions for every form of every persona value. Forms
    shorter than 8 bytes must stand alone, not inside a longer word or
    number, as plainsight itself matches them (docs/PERSONA.md)."""
    patterns = {}
    for kind, values in persona["values"].items():
        for value in [values] if isinstance(values, str) else values:
            for form in value_forms(kind, value):
                for text in encoded_forms(form):
                    if len(text.encode()) >= 8:
                        patterns[text] = re.compile(re.escape(text))
                    elif len(text.encode()) >= 4:
                        alone = r"(?<![A-Za-z0-9])" + re.escape(text) + r"(?![A-Za-z0-9])"
                        patterns[text] = re.compile(alone)
    return patterns


def strings_of(value):
    """Yield every string in a parsed JSON value, keys included. Numbers are left
    out: a port or a size that happens to equal a postal code is no leak."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def check_leaks(problems, events, log, persona):
    patterns = leak_patterns(persona)
    texts = [text for event in events for text in strings_of(event)]
    for form, pattern in patterns.items():
        for text in texts:
            if pattern.search(text):
                problems.append(f"a form of a persona value is in the events file: {form!r} "
                                f"in {text[:120]!r}")
                break
        # The log has counters, which can equal a short value: only the
        # longer forms are looked for there.
        if len(form.encode()) >= 8 and form in log:
            problems.append(f"a form of a persona value is in plainsight's log: {form!r}")


def check(events, log, persona, shop_url):
    """Returns the differences between the events and what the shop sends,
    as messages; an empty list when there are none."""
    shop_host = urllib.parse.urlsplit(shop_url).hostname
    problems = []
    browsers = requests_by_browser(events)
    for executable in BROWSER_NAMES:
        if executable not in browsers:
            problems.append(f"no events from {BROWSER_NAMES[executable]} ({executable})")
            continue
        check_browser(problems, executable, browsers[executable], shop_host)
    check_leaks(problems, events, log, persona)
    return problems

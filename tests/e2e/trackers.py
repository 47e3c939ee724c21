"""End-to-end tests of tracker classification. A shop page in a real browser
sends requests in the wire formats of the TikTok Pixel, the Meta Pixel and
Google Analytics 4 to those trackers' real host names, which the browser
resolves to 127.0.0.1. It also sends one request to the shop's own API."""

import re

from browsers import Chromium, Firefox
from harness import TEST_HOST, events_by_url, expect_equal, field
from pages import capture_page

# Each request is awaited, so the page is done when done.txt is asked for.
TRACKER_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>plainsight tracker shop</title>
<link rel="icon" href="data:,"></head>
<body><p>tracker shop</p>
<script>
const port = location.port;
const page = encodeURIComponent(location.href);

function image(url) {
  return new Promise(function (done) {
    const pixel = new Image();
    pixel.onload = pixel.onerror = done;
    pixel.src = url;
  });
}

async function run() {
  await image('https://www.facebook.com:' + port + '/tr/?id=1234567890123&ev=PageView&dl=' + page +
              '&rl=&if=false&ts=1733352000000&sw=1280&sh=720&v=2.9.180&r=stable&ec=0&o=4126');
  await fetch('https://analytics.tiktok.com:' + port + '/api/v2/pixel', {
    method: 'POST', mode: 'no-cors',
    body: JSON.stringify({event: 'CompletePayment', message_id: 'messageId-1', event_id: '',
      context: {pixel: {code: 'CPLAINSIGHT0001'}, page: {url: location.href, referrer: ''},
                library: {name: 'pixel.js', version: '2.2.1'}},
      properties: {value: 42.5, currency: 'EUR'}})});
  await fetch('https://region1.google-analytics.com:' + port + '/g/collect?v=2&tid=G-PLAINSIGHT1' +
              '&gtm=45je4cc0&_p=1733352000&cid=1234567890.1733352000&ul=en-us&sr=1280x720' +
              '&dl=' + page + '&dt=Shop&en=page_view&_ee=1', {method: 'POST', mode: 'no-cors', body: ''});
  await fetch('/api/cart?item=42', {method: 'POST', body: JSON.stringify({item: 42, quantity: 1})});
  await fetch('/site/done.txt');
}
run();
</script></body></html>
"""


def stats_counter(stderr, name):
    """Returns the value of the counter called name in the stats line that
    plainsight logs at exit."""
    found = re.search(rf"\binfo: stats: .*\b{name}=(\d+)", stderr)
    if not found:
        raise AssertionError(f"no {name} in the stats line:\n{stderr[-2000:]}")
    return int(found.group(1))


def check_trackers(context, browser, executable):
    plainsight, by_host = capture_page(context, browser, executable, "trackers", TRACKER_PAGE)
    # Garbage bytes are bytes that the HTTP parsers skipped because the
    # reassembled stream differs from what the peer sent, as when a peek is
    # captured like a read. The HTTP/2 parser then loses the frame boundaries
    # and pairs the responses only at close.
    expect_equal(stats_counter(plainsight.stderr(), "garbage_bytes"), 0, "garbage bytes in the stats line")
    page = context.nginx.h2_url("/site/trackers.html", TEST_HOST)
    expected = {
        "www.facebook.com": ("Meta", "PageView", "1234567890123"),
        "analytics.tiktok.com": ("TikTok", "CompletePayment", "CPLAINSIGHT0001"),
        "region1.google-analytics.com": ("Google", "page_view", "G-PLAINSIGHT1"),
    }
    for host, (vendor, event_name, account) in expected.items():
        events = by_host.get(host, [])
        expect_equal(len(events), 1, f"events for {host} (hosts seen: {sorted(by_host)})")
        event = events[0]
        expect_equal(field(event, "plainsight.tracker.vendor"), vendor, f"vendor of {host}")
        expect_equal(field(event, "plainsight.tracker.event"), event_name, f"event of {host}")
        expect_equal(field(event, "plainsight.tracker.account_id"), account, f"account of {host}")
        expect_equal(field(event, "plainsight.tracker.page_url"), page, f"page URL of {host}")
        expect_equal(field(event, "plainsight.site"), "plainsight.test", f"site of {host}")
        expect_equal(field(event, "plainsight.third_party"), True, f"third party of {host}")
        if not field(event, "plainsight.tracker.matched_by"):
            raise AssertionError(f"no matched_by for {host}: {event}")

    cart = events_by_url(plainsight.events()).get(context.nginx.h2_url("/api/cart?item=42", TEST_HOST), [])
    expect_equal(len(cart), 1, "events for the shop's own API")
    expect_equal(field(cart[0], "plainsight.tracker"), None, "tracker label of the shop's own API")
    expect_equal(field(cart[0], "plainsight.third_party"), False, "third party of the shop's own API")


def test_firefox_trackers(context):
    check_trackers(context, Firefox(context.directory, context.authority.ca_cert), "firefox-esr")


def test_chromium_trackers(context):
    check_trackers(context, Chromium(context.directory), "chromium")

#!/usr/bin/python3
"""End-to-end tests of plainsight against real TLS clients and a real nginx.

Run as root: python3 tests/e2e/run.py --binary build/plainsight
Prints one line per test and a closing 'N passed, N failed' line.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

from browsers import Chromium, Firefox
from harness import (GET_BODY_BYTES, TEST_HOST, UPLOAD_RESPONSE_BYTES, Plainsight, Workspace,
                     archive_plaintext, events_by_url, expect_equal, field, run_checked)
from persona import test_chromium_persona, test_firefox_persona
from trackers import test_chromium_trackers, test_firefox_trackers

UPLOAD_BYTES = 5 * 1024 * 1024
PYTHON = "/usr/bin/python3"


class Context:
    def __init__(self, binary, workspace):
        self.binary = binary
        self.workspace = workspace
        self.directory = workspace.directory
        self.nginx = workspace.nginx
        self.authority = workspace.authority

    def start(self, *arguments, name="plainsight"):
        return Plainsight(self.binary, list(arguments), self.directory, name=name)

    def start_own_capture(self, *arguments, name="plainsight"):
        """A capture limited to this test process and its children."""
        return self.start("run", "--pid", str(os.getpid()), *arguments, name=name)

    def curl(self, *arguments):
        return run_checked(["curl", "-sS", "--http1.1", "--cacert", self.authority.ca_cert,
                            "-o", "/dev/null", *arguments])


def expect_one_event(events, stderr):
    if len(events) != 1:
        raise AssertionError(f"expected exactly 1 event, got {len(events)}: {events}\n{stderr}")
    return events[0]


def check_common_fields(event, executable_name):
    expect_equal(field(event, "event.kind"), "http.request", "event.kind")
    expect_equal(field(event, "tls.library"), "openssl", "tls.library")
    expect_equal(field(event, "process.executable.name"), executable_name, "process.executable.name")
    expect_equal(field(event, "network.protocol.version"), "1.1", "network.protocol.version")
    expect_equal(field(event, "server.address"), "localhost", "server.address")
    expect_equal(field(event, "network.peer.address"), "127.0.0.1", "network.peer.address")
    expect_equal(field(event, "client.address"), "127.0.0.1", "client.address")
    expect_equal(field(event, "plainsight.capture.bytes_lost"), 0, "plainsight.capture.bytes_lost")
    if not isinstance(field(event, "client.port"), int) or field(event, "client.port") <= 0:
        raise AssertionError(f"client.port missing: {event}")
    if not field(event, "@timestamp").endswith("Z"):
        raise AssertionError(f"@timestamp not UTC: {field(event, '@timestamp')}")


# ---- tests ----

def test_curl_get_query(context):
    url = context.nginx.url("/search?q=plain+sight&page=2")
    plainsight = context.start_own_capture()
    context.curl("-A", "plainsight-e2e/1", url)
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    check_common_fields(event, "curl")
    expect_equal(field(event, "url.full"), url, "url.full")
    expect_equal(field(event, "url.query"), "q=plain+sight&page=2", "url.query")
    expect_equal(field(event, "http.request.method"), "GET", "method")
    expect_equal(field(event, "http.request.body.size"), 0, "request body size")
    expect_equal(field(event, "http.response.status_code"), 200, "status")
    expect_equal(field(event, "http.response.body.size"), GET_BODY_BYTES, "response body size")
    expect_equal(field(event, "server.port"), context.nginx.tls_port, "server.port")
    expect_equal(field(event, "user_agent.original"), "plainsight-e2e/1", "user_agent.original")


def test_curl_post_5mib(context):
    body = os.path.join(context.directory, "upload.bin")
    with open(body, "wb") as file:
        file.write(os.urandom(UPLOAD_BYTES))
    url = context.nginx.url("/upload/form")
    plainsight = context.start_own_capture()
    context.curl("--data-binary", f"@{body}", "-H", "Content-Type: application/octet-stream", url)
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    check_common_fields(event, "curl")
    expect_equal(field(event, "url.full"), url, "url.full")
    expect_equal(field(event, "http.request.method"), "POST", "method")
    expect_equal(field(event, "http.request.body.size"), UPLOAD_BYTES, "request body size")
    expect_equal(field(event, "http.response.status_code"), 201, "status")
    expect_equal(field(event, "http.response.body.size"), UPLOAD_RESPONSE_BYTES, "response body size")


def test_python_urllib(context):
    url = context.nginx.url("/items/list?lang=python")
    script = (
        "import ssl, sys, urllib.request\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "request = urllib.request.Request(sys.argv[1], headers={'User-Agent': 'urllib-e2e'})\n"
        "urllib.request.urlopen(request, context=context).read()\n")
    plainsight = context.start_own_capture()
    run_checked([PYTHON, "-c", script, url, context.authority.ca_cert])
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    check_common_fields(event, os.path.basename(os.path.realpath(PYTHON)))
    expect_equal(field(event, "url.full"), url, "url.full")
    expect_equal(field(event, "http.request.method"), "GET", "method")
    expect_equal(field(event, "http.response.status_code"), 200, "status")
    expect_equal(field(event, "http.response.body.size"), GET_BODY_BYTES, "response body size")
    expect_equal(field(event, "user_agent.original"), "urllib-e2e", "user_agent.original")


def test_archive_replays_same_events(context):
    archive = os.path.join(context.directory, "session.psa")
    plainsight = context.start("capture", "--pid", str(os.getpid()), "-o", archive, name="capture")
    context.curl(context.nginx.url("/one?a=1"))
    context.curl("--data-binary", "name=value", context.nginx.url("/upload/two"))
    context.curl(context.nginx.url("/three"), context.nginx.url("/four"))
    expect_equal(plainsight.stop(), 0, "capture exit code")
    live = plainsight.events()
    expect_equal(len(live), 4, "live events")

    replay = subprocess.run([context.binary, "replay", archive], capture_output=True, text=True,
                            check=False)
    expect_equal(replay.returncode, 0, f"replay exit code ({replay.stderr})")
    replayed = [json.loads(line) for line in replay.stdout.splitlines()]
    expect_equal(replayed, live, "replayed events")


def test_truncated_archive_keeps_events(context):
    archive = os.path.join(context.directory, "cut.psa")
    plainsight = context.start("capture", "--pid", str(os.getpid()), "-o", archive, name="cut")
    context.curl(context.nginx.url("/before-cut"))
    # The capture writes a block about once a second: wait for the block with
    # the request, so that the cut below only reaches the final block.
    time.sleep(2.5)
    plainsight.stop()
    size = os.path.getsize(archive)
    with open(archive, "r+b") as file:
        file.truncate(size - 5)

    replay = subprocess.run([context.binary, "replay", archive], capture_output=True, text=True,
                            check=False)
    expect_equal(replay.returncode, 1, "replay exit code of a truncated archive")
    if "truncated" not in replay.stderr and "end" not in replay.stderr:
        raise AssertionError(f"no clear message about the cut: {replay.stderr}")
    urls = [field(json.loads(line), "url.full") for line in replay.stdout.splitlines()]
    expect_equal(urls, [context.nginx.url("/before-cut")], "events before the cut")


def test_call_limit_counts_loss(context):
    body = os.path.join(context.directory, "limit.bin")
    with open(body, "wb") as file:
        file.write(b"x" * (256 * 1024))
    plainsight = context.start_own_capture("--call-limit", "1K")
    context.curl("--data-binary", f"@{body}", context.nginx.url("/upload/limited"))
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    lost = field(event, "plainsight.capture.bytes_lost")
    if not lost or lost <= 0:
        raise AssertionError(f"bytes_lost not reported with a 1 KiB call limit: {event}")
    if "bytes_over_call_limit=0 " in plainsight.stderr():
        raise AssertionError(f"stats line does not count the cut bytes:\n{plainsight.stderr()}")


def test_loss_keeps_pairing(context):
    """Bytes cut by the call limit do not shift later responses onto the
    wrong requests of a keep-alive connection."""
    body = os.path.join(context.directory, "pairing.bin")
    with open(body, "wb") as file:
        file.write(b"p" * 5000)
    plainsight = context.start_own_capture("--call-limit", "1K")
    context.curl("--data-binary", f"@{body}", context.nginx.url("/upload/first"),
                 "--next", "--http1.1", "--cacert", context.authority.ca_cert, "-o", "/dev/null",
                 context.nginx.url("/second"))
    plainsight.stop()

    events = plainsight.events()
    expect_equal([field(e, "url.path") for e in events], ["/upload/first", "/second"], "paths")
    expect_equal(field(events[0], "http.response.status_code"), 201, "status of the cut upload")
    expect_equal(field(events[0], "http.response.body.size"), UPLOAD_RESPONSE_BYTES, "its response size")
    expect_equal(field(events[0], "http.request.body.size"), 5000, "request body size")
    if field(events[0], "plainsight.capture.bytes_lost") <= 0:
        raise AssertionError(f"bytes_lost not reported: {events[0]}")
    expect_equal(field(events[1], "http.response.status_code"), 200, "status of the next request")
    expect_equal(field(events[1], "http.response.body.size"), GET_BODY_BYTES, "its response size")


def test_other_processes_not_captured(context):
    """A capture of another process tree captures nothing of this test's curl."""
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        plainsight = context.start("run", "--pid", str(sleeper.pid), name="other")
        context.curl(context.nginx.url("/not-mine"))
        plainsight.stop()
    finally:
        sleeper.kill()
        sleeper.wait()
    expect_equal(plainsight.events(), [], "events of processes outside the target")


def test_exe_filter(context):
    renamed = os.path.join(context.directory, "ps-e2e-client")
    shutil.copy(shutil.which("curl"), renamed)
    plainsight = context.start("run", "--exe", "ps-e2e-client", name="exe")
    run_checked([renamed, "-sS", "--http1.1", "--cacert", context.authority.ca_cert, "-o", "/dev/null",
                 context.nginx.url("/by-name")])
    context.curl(context.nginx.url("/not-by-name"))
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    expect_equal(field(event, "process.executable.name"), "ps-e2e-client", "process.executable.name")
    expect_equal(field(event, "url.full"), context.nginx.url("/by-name"), "url.full")


def test_new_library_found_without_restart(context):
    """A copy of libssl that appears after the start (as in an application
    bundle) is attached when a captured process opens it."""
    bundle = os.path.join(context.directory, "bundle")
    os.makedirs(bundle, exist_ok=True)
    shutil.copy("/lib/x86_64-linux-gnu/libssl.so.3", bundle)
    url = context.nginx.url("/bundled?copy=1")
    script = (
        "import ssl, sys, time, urllib.request\n"
        "time.sleep(1)  # give the agent time to attach the new file\n"
        "context = ssl.create_default_context(cafile=sys.argv[2])\n"
        "urllib.request.urlopen(sys.argv[1], context=context).read()\n")
    plainsight = context.start_own_capture("--rescan-interval", "0")
    run_checked([PYTHON, "-c", script, url, context.authority.ca_cert],
                env=dict(os.environ, LD_LIBRARY_PATH=bundle))
    plainsight.stop()

    event = expect_one_event(plainsight.events(), plainsight.stderr())
    expect_equal(field(event, "url.full"), url, "url.full")
    attached = [line for line in plainsight.stderr().splitlines()
                if "attached to OpenSSL library" in line and line.endswith("bundle/libssl.so.3 (9 probes)")]
    expect_equal(len(attached), 1, f"attach messages for the copy ({plainsight.stderr()})")


ORDER_JSON = '{"order":1042,"items":[{"sku":"KIOSK-7","quantity":2}],"currency":"EUR"}'
BEACON_TEXT = "visit=product&dwell_ms=5120"

# The page that the browser tests load. It makes one fetch POST with a JSON
# body, one XMLHttpRequest GET with a query string, one sendBeacon with a text
# body and one image, one after the other, then a last request that marks
# the end.
SHOP_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>plainsight test shop</title>
<link rel="icon" href="data:,"></head>
<body><p>test shop</p>
<script>
async function run() {
  await fetch('/api/order', {method: 'POST', headers: {'Content-Type': 'application/json'},
                             body: '%(order)s'});
  await new Promise(function (resolve) {
    const request = new XMLHttpRequest();
    request.open('GET', '/api/search?q=kiosk&page=2');
    request.onloadend = resolve;
    request.send();
  });
  navigator.sendBeacon('/beacon/collect', '%(beacon)s');
  await new Promise(function (resolve) {
    const image = new Image();
    image.onload = image.onerror = resolve;
    image.src = '/site/pixel.gif?ev=PageView&id=42';
  });
  await new Promise(function (resolve) { setTimeout(resolve, 500); });
  await fetch('/site/done.txt');
}
run();
</script></body></html>
"""

# A 1x1 transparent GIF.
PIXEL_GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000"
                          "010001000002024401003b")


def write_shop(context):
    site = context.nginx.site_directory()
    with open(os.path.join(site, "shop.html"), "w", encoding="utf-8") as file:
        file.write(SHOP_PAGE % {"order": ORDER_JSON, "beacon": BEACON_TEXT})
    with open(os.path.join(site, "pixel.gif"), "wb") as file:
        file.write(PIXEL_GIF)
    with open(os.path.join(site, "done.txt"), "w", encoding="utf-8") as file:
        file.write("done\n")


def expect_browser_request(by_url, url, method, body_size, status, executable):
    events = by_url.get(url, [])
    expect_equal(len(events), 1, f"events for {url} (all: {sorted(by_url)})")
    event = events[0]
    expect_equal(field(event, "http.request.method"), method, f"method of {url}")
    expect_equal(field(event, "http.request.body.size"), body_size, f"body size of {url}")
    expect_equal(field(event, "http.response.status_code"), status, f"status of {url}")
    expect_equal(field(event, "process.executable.name"), executable, f"executable of {url}")
    expect_equal(field(event, "plainsight.capture.bytes_lost"), 0, f"bytes lost of {url}")


def test_firefox_http1(context):
    write_shop(context)
    archive = os.path.join(context.directory, "firefox.psa")
    firefox = Firefox(context.directory, context.authority.ca_cert)
    plainsight = context.start("capture", "--pid", str(os.getpid()), "-o", archive, name="firefox")
    try:
        since = context.nginx.access_log_size()
        firefox.open(context.nginx.url("/site/shop.html", TEST_HOST))
        done = context.nginx.wait_for_request("/site/done.txt", 90, since)
    finally:
        firefox.close()
    plainsight.stop()
    if not done:
        raise AssertionError(f"Firefox did not finish the page:\n{firefox.log()[-2000:]}")

    events = plainsight.events()
    by_url = events_by_url(events)
    url = lambda path: context.nginx.url(path, TEST_HOST)
    expect_browser_request(by_url, url("/api/order"), "POST", len(ORDER_JSON), 201, "firefox-esr")
    expect_browser_request(by_url, url("/api/search?q=kiosk&page=2"), "GET", 0, 201, "firefox-esr")
    expect_browser_request(by_url, url("/beacon/collect"), "POST", len(BEACON_TEXT), 201, "firefox-esr")
    expect_browser_request(by_url, url("/site/pixel.gif?ev=PageView&id=42"), "GET", 0, 200,
                           "firefox-esr")
    order = by_url[url("/api/order")][0]
    expect_equal(field(order, "plainsight.site"), "plainsight.test", "plainsight.site")
    expect_equal(field(order, "plainsight.third_party"), False, "plainsight.third_party")
    expect_equal(field(order, "tls.library"), "nss", "tls.library")
    expect_equal(field(order, "process.thread.name"), "Socket Thread", "process.thread.name")
    expect_equal(field(order, "network.peer.address"), "127.0.0.1", "network.peer.address")
    expect_equal(field(order, "server.address"), TEST_HOST, "server.address")

    # Firefox writes its profile through the same PR_Write as its sockets:
    # none of those bytes may reach the capture.
    with open(os.path.join(firefox.profile, "compatibility.ini"), encoding="utf-8") as file:
        if "[Compatibility]" not in file.read():
            raise AssertionError("the profile has no compatibility.ini section to look for")
    captured = archive_plaintext(archive)
    for marker in (b"[Compatibility]", b"LastPlatformDir", b"user_pref("):
        if marker in captured:
            raise AssertionError(f"a profile file write was captured: {marker!r} is in the archive")
        if marker.decode() in open(plainsight.events_path, encoding="utf-8").read():
            raise AssertionError(f"a profile file write reached the events: {marker!r}")

    replay = subprocess.run([context.binary, "replay", archive], capture_output=True, text=True,
                            check=False)
    expect_equal(replay.returncode, 0, f"replay exit code ({replay.stderr})")
    expect_equal([json.loads(line) for line in replay.stdout.splitlines()], events, "replayed events")


def test_chromium_http1(context):
    write_shop(context)
    cache = os.path.join(context.directory, "offsets-cache")
    chromium = Chromium(context.directory)
    plainsight = context.start("run", "--pid", str(os.getpid()), "--offsets-cache", cache, name="chromium")
    try:
        since = context.nginx.access_log_size()
        chromium.open(context.nginx.url("/site/shop.html", TEST_HOST), TEST_HOST)
        done = context.nginx.wait_for_request("/site/done.txt", 90, since)
    finally:
        chromium.close()
    plainsight.stop()
    if not done:
        raise AssertionError(f"Chromium did not finish the page:\n{chromium.log()[-2000:]}")
    if "attached to BoringSSL in /usr/lib/chromium/chromium" not in plainsight.stderr():
        raise AssertionError(f"no BoringSSL attach logged:\n{plainsight.stderr()}")

    by_url = events_by_url(plainsight.events())
    url = lambda path: context.nginx.url(path, TEST_HOST)
    expect_browser_request(by_url, url("/api/order"), "POST", len(ORDER_JSON), 201, "chromium")
    expect_browser_request(by_url, url("/api/search?q=kiosk&page=2"), "GET", 0, 201, "chromium")
    expect_browser_request(by_url, url("/beacon/collect"), "POST", len(BEACON_TEXT), 201, "chromium")
    expect_browser_request(by_url, url("/site/pixel.gif?ev=PageView&id=42"), "GET", 0, 200, "chromium")
    order = by_url[url("/api/order")][0]
    expect_equal(field(order, "plainsight.site"), "plainsight.test", "plainsight.site")
    expect_equal(field(order, "plainsight.third_party"), False, "plainsight.third_party")
    expect_equal(field(order, "tls.library"), "boringssl", "tls.library")
    expect_equal(field(order, "network.peer.address"), "127.0.0.1", "network.peer.address")
    expect_equal(field(order, "network.peer.port"), context.nginx.tls_port, "network.peer.port")
    if not os.listdir(cache):
        raise AssertionError("the offsets were not cached by build-id")


def test_offsets_command(context):
    found = subprocess.run([context.binary, "offsets", "/usr/lib/chromium/chromium"], capture_output=True,
                           text=True, check=False)
    expect_equal(found.returncode, 0, f"exit code for chromium ({found.stderr})")
    for name in ("SSL_write", "SSL_read", "SSL_free"):
        if not any(line.strip().startswith(name + " ") and "offset 0x" in line
                   for line in found.stdout.splitlines()):
            raise AssertionError(f"{name} offset missing:\n{found.stdout[-1500:]}")
    for path, message in (("/bin/ls", "no BoringSSL found"), (None, "not a complete x86-64 ELF")):
        if path is None:
            path = os.path.join(context.directory, "truncated-elf")
            with open("/bin/ls", "rb") as source, open(path, "wb") as target:
                target.write(source.read(5000))
        result = subprocess.run([context.binary, "offsets", path], capture_output=True, text=True, check=False)
        expect_equal(result.returncode, 1, f"exit code for {path}")
        if message not in result.stderr:
            raise AssertionError(f"unclear message for {path}: {result.stderr}")


# The HTTP/2 page: a gzip-compressed POST (CompressionStream), a JSON
# beacon, a form POST, then, after a pause long enough to start a capture in
# the middle of the connection, one more request.
H2_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>plainsight h2 shop</title>
<link rel="icon" href="data:,"></head>
<body><p>h2 shop</p>
<script>
async function run() {
  const purchase = JSON.stringify({event: 'Purchase', email: 'ada@example.com', value: 42.5});
  const compressed = await new Response(new Blob([purchase]).stream()
      .pipeThrough(new CompressionStream('gzip'))).arrayBuffer();
  await fetch('/api/collect?v=2', {method: 'POST', body: compressed,
      headers: {'Content-Type': 'application/json', 'Content-Encoding': 'gzip'}});
  navigator.sendBeacon('/beacon/json', JSON.stringify({event: 'PageView', page: '/checkout'}));
  await fetch('/api/form', {method: 'POST', body: new URLSearchParams({em: 'ada@example.com', fn: 'ada'})});
  await fetch('/site/first-done.txt');
  await new Promise(function (resolve) { setTimeout(resolve, %(pause_ms)d); });
  await fetch('/api/later?step=2', {method: 'POST', body: new URLSearchParams({ph: '+4915100000000'})});
  await fetch('/site/done.txt');
}
run();
</script></body></html>
"""


def write_h2_shop(context, pause_ms):
    write_shop(context)
    site = context.nginx.site_directory()
    with open(os.path.join(site, "h2shop.html"), "w", encoding="utf-8") as file:
        file.write(H2_PAGE % {"pause_ms": pause_ms})
    with open(os.path.join(site, "first-done.txt"), "w", encoding="utf-8") as file:
        file.write("first\n")


def field_values(event):
    return {item["path"]: item["value"] for item in field(event, "plainsight.fields") or []}


def check_h2_browser(context, browser, executable, library):
    """Loads the HTTP/2 page in a browser and checks every event and field."""
    write_h2_shop(context, 100)
    plainsight = context.start("run", "--fields", "--keep-values", "--pid", str(os.getpid()), "--offsets-cache",
                               os.path.join(context.directory, "offsets-cache"), name=f"{executable}-h2")
    try:
        since = context.nginx.access_log_size()
        browser.open(context.nginx.h2_url("/site/h2shop.html", TEST_HOST))
        done = context.nginx.wait_for_request("/site/done.txt", 90, since)
    finally:
        browser.close()
    plainsight.stop()
    if not done:
        raise AssertionError(f"{executable} did not finish the page:\n{browser.log()[-2000:]}")

    by_url = events_by_url(plainsight.events())
    url = lambda path: context.nginx.h2_url(path, TEST_HOST)
    collect = by_url.get(url("/api/collect?v=2"), [])
    expect_equal(len(collect), 1, f"events for the gzip POST (all: {sorted(by_url)})")
    # A beacon's response is not awaited: the browser may reset the stream
    # before reading it, so only the beacon's request is checked.
    for path, method, status in (("/api/collect?v=2", "POST", 201), ("/beacon/json", "POST", None),
                                 ("/api/form", "POST", 201), ("/api/later?step=2", "POST", 201)):
        events = by_url.get(url(path), [])
        expect_equal(len(events), 1, f"events for {path}")
        expect_equal(field(events[0], "network.protocol.version"), "2", f"protocol of {path}")
        expect_equal(field(events[0], "http.request.method"), method, f"method of {path}")
        if status is not None:
            expect_equal(field(events[0], "http.response.status_code"), status, f"status of {path}")
        expect_equal(field(events[0], "process.executable.name"), executable, f"executable of {path}")
        expect_equal(field(events[0], "tls.library"), library, f"library of {path}")
    expect_equal(field_values(collect[0]).get("body.json.email"), "ada@example.com", "gzip POST email")
    expect_equal(field_values(by_url[url("/beacon/json")][0]).get("body.json.event"), "PageView", "beacon")
    expect_equal(field_values(by_url[url("/api/form")][0]).get("body.form.em"), "ada@example.com", "form")


def check_h2_joined_late(context, browser, executable):
    """A capture started after the browser opened its HTTP/2 connection
    still reports the later requests with their paths."""
    write_h2_shop(context, 8000)
    since = context.nginx.access_log_size()
    plainsight = None
    try:
        browser.open(context.nginx.h2_url("/site/h2shop.html", TEST_HOST))
        if not context.nginx.wait_for_request("/site/first-done.txt", 90, since):
            raise AssertionError(f"{executable} did not load the page:\n{browser.log()[-2000:]}")
        plainsight = context.start("run", "--fields", "--keep-values", "--pid", str(os.getpid()), "--offsets-cache",
                                   os.path.join(context.directory, "offsets-cache"), name=f"{executable}-late")
        done = context.nginx.wait_for_request("/site/done.txt", 90, since)
    finally:
        browser.close()
        if plainsight:
            plainsight.stop()
    if not done:
        raise AssertionError(f"{executable} did not finish the page")

    later = [e for e in plainsight.events() if field(e, "url.path") == "/api/later"]
    expect_equal(len(later), 1, f"events for /api/later ({[field(e, 'url.full') for e in plainsight.events()]})")
    expect_equal(field(later[0], "url.query"), "step=2", "query of /api/later")
    expect_equal(field(later[0], "http.request.method"), "POST", "method of /api/later")
    expect_equal(field_values(later[0]).get("body.form.ph"), "+4915100000000", "form field of /api/later")


def test_firefox_http2(context):
    check_h2_browser(context, Firefox(context.directory, context.authority.ca_cert), "firefox-esr", "nss")


def test_chromium_http2(context):
    check_h2_browser(context, Chromium(context.directory), "chromium", "boringssl")


def test_firefox_http2_joined_late(context):
    check_h2_joined_late(context, Firefox(context.directory, context.authority.ca_cert), "firefox-esr")


def test_chromium_http2_joined_late(context):
    check_h2_joined_late(context, Chromium(context.directory), "chromium")


def test_curl_http2(context):
    get_url = context.nginx.h2_url("/h2/page?lang=en")
    post_url = context.nginx.h2_url("/api/h2-post")
    plainsight = context.start_own_capture("--fields", "--keep-values")
    run_checked(["curl", "-sS", "--http2", "--cacert", context.authority.ca_cert, "-o", "/dev/null", get_url,
                 "--next", "--http2", "--cacert", context.authority.ca_cert, "-o", "/dev/null",
                 "--data-binary", "email=ada%40example.com&id=7", post_url])
    plainsight.stop()

    by_url = events_by_url(plainsight.events())
    expect_equal(sorted(by_url), sorted([get_url, post_url]), "URLs")
    get, post = by_url[get_url][0], by_url[post_url][0]
    for event in (get, post):
        expect_equal(field(event, "network.protocol.version"), "2", "network.protocol.version")
        expect_equal(field(event, "plainsight.capture.bytes_lost"), 0, "bytes_lost")
        expect_equal(field(event, "plainsight.capture.partial"), False, "partial")
        expect_equal(field(event, "user_agent.original").startswith("curl/"), True, "user_agent.original")
    expect_equal(field(get, "http.request.method"), "GET", "GET method")
    expect_equal(field(get, "http.response.status_code"), 200, "GET status")
    expect_equal(field(get, "http.response.body.size"), GET_BODY_BYTES, "GET response body")
    expect_equal(field(post, "http.request.method"), "POST", "POST method")
    expect_equal(field(post, "http.request.body.size"), len("email=ada%40example.com&id=7"), "POST body")
    expect_equal(field(post, "http.response.status_code"), 201, "POST status")
    values = {f["path"]: f["value"] for f in field(post, "plainsight.fields")}
    expect_equal(values.get("body.form.email"), "ada@example.com", "body.form.email")


def test_http2_early_response(context):
    """A server that responds before the body arrives: what the client sent
    after the response is still reported. Whether curl sends the body before
    nginx resets the stream is a race, so the event must match what
    curl's own trace records as sent."""
    url = context.nginx.h2_url("/early/collect")
    body = '{"user":{"email":"early@example.org"}}'
    trace = os.path.join(context.directory, "early.trace")
    plainsight = context.start_own_capture("--fields", "--keep-values")
    # nginx resets the stream after its early response, which curl reports as
    # a framing error (exit code 92).
    subprocess.run(["curl", "-sS", "--http2", "--cacert", context.authority.ca_cert, "-o", "/dev/null",
                    "--trace-ascii", trace, "-H", "Content-Type: application/json", "--data-binary", body, url],
                   capture_output=True, check=False)
    plainsight.stop()

    with open(trace, encoding="utf-8", errors="replace") as file:
        sent = f"Send data, {len(body)} bytes" in file.read()
    event = expect_one_event(plainsight.events(), plainsight.stderr())
    expect_equal(field(event, "http.response.status_code"), 204, "status")
    expect_equal(field(event, "http.request.body.size"), len(body) if sent else 0, "request body size")
    if sent:
        expect_equal(field_values(event).get("body.json.user.email"), "early@example.org", "body field")


def test_wget_get_and_post(context):
    plainsight = context.start_own_capture()
    get_url = context.nginx.url("/wget/page?lang=en")
    post_url = context.nginx.url("/upload/wget")
    common = ["wget", "-q", "-O", "/dev/null", f"--ca-certificate={context.authority.ca_cert}"]
    run_checked(common + [get_url])
    run_checked(common + ["--post-data=name=kiosk&id=7", post_url])
    plainsight.stop()

    by_url = events_by_url(plainsight.events())
    expect_equal(sorted(by_url), sorted([get_url, post_url]), "URLs")
    for url, method, body, status, response_body in (
            (get_url, "GET", 0, 200, GET_BODY_BYTES),
            (post_url, "POST", len("name=kiosk&id=7"), 201, UPLOAD_RESPONSE_BYTES)):
        expect_equal(len(by_url[url]), 1, f"events for {url}")
        event = by_url[url][0]
        expect_equal(field(event, "http.request.method"), method, f"method of {url}")
        expect_equal(field(event, "http.request.body.size"), body, f"request body of {url}")
        expect_equal(field(event, "http.response.status_code"), status, f"status of {url}")
        expect_equal(field(event, "http.response.body.size"), response_body, f"response body of {url}")
        expect_equal(field(event, "tls.library"), "gnutls", "tls.library")
        expect_equal(field(event, "process.executable.name"), "wget", "process.executable.name")
        expect_equal(field(event, "network.peer.port"), context.nginx.tls_port, "network.peer.port")
        expect_equal(field(event, "plainsight.capture.bytes_lost"), 0, "bytes_lost")


def test_quic_send_reported(context):
    """UDP to port 443 is QUIC that no TLS hook reads: reported once per
    process and peer within 10 s, however many datagrams."""
    script = (
        "import socket\n"
        "unconnected = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "for _ in range(5):\n"
        "    unconnected.sendto(b'quic-initial', ('127.0.0.1', 443))\n"
        "connected = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n"
        "connected.connect(('::1', 443))\n"
        "for _ in range(5):\n"
        "    for send in (connected.send, lambda data: connected.sendmsg([data])):\n"
        "        try:\n"
        "            send(b'quic-initial')\n"
        "        except ConnectionRefusedError:  # nothing listens: ICMP port unreachable\n"
        "            pass\n")
    plainsight = context.start_own_capture()
    run_checked([PYTHON, "-c", script])
    plainsight.stop()

    events = plainsight.events()
    expect_equal(sorted(field(e, "network.peer.address") for e in events), ["127.0.0.1", "::1"],
                 f"QUIC peers ({events})")
    for event in events:
        expect_equal(field(event, "event.kind"), "quic", "event.kind")
        expect_equal(field(event, "network.transport"), "udp", "network.transport")
        expect_equal(field(event, "network.peer.port"), 443, "network.peer.port")
        expect_equal(field(event, "process.executable.name"), os.path.basename(os.path.realpath(PYTHON)),
                     "process.executable.name")
    if "sent QUIC" not in plainsight.stderr():
        raise AssertionError(f"no warning about QUIC in the log:\n{plainsight.stderr()}")


def har_entry(event):
    """A HAR 1.2 entry, as Chrome's DevTools writes one, for a captured event."""
    body_size = field(event, "http.request.body.size")
    request = {
        "method": field(event, "http.request.method"),
        "url": field(event, "url.full"),
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": "User-Agent", "value": field(event, "user_agent.original") or ""}],
        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": body_size,
    }
    if body_size:
        request["postData"] = {"mimeType": "application/x-www-form-urlencoded", "text": "x" * body_size}
    return {
        "startedDateTime": field(event, "@timestamp"),
        "time": 1.5,
        "request": request,
        "response": {"status": field(event, "http.response.status_code"), "statusText": "",
                     "httpVersion": "HTTP/1.1", "headers": [], "cookies": [],
                     "content": {"size": field(event, "http.response.body.size"), "mimeType": "text/plain"},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0.5},
        "serverIPAddress": "127.0.0.1",
    }


def test_har_matches_live(context):
    plainsight = context.start_own_capture()
    context.curl("-A", "har-e2e", context.nginx.url("/har/one?x=1"))
    context.curl("-A", "har-e2e", "--data-binary", "k=v&n=2", context.nginx.url("/upload/har"))
    plainsight.stop()
    live = plainsight.events()
    expect_equal(len(live), 2, "live events")

    har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                   "pages": [], "entries": [har_entry(event) for event in live]}}
    path = os.path.join(context.directory, "live.har")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(har, file, indent=2)
    replay = subprocess.run([context.binary, "replay", path], capture_output=True, text=True, check=False)
    expect_equal(replay.returncode, 0, f"replay exit code ({replay.stderr})")
    replayed = [json.loads(line) for line in replay.stdout.splitlines()]
    expect_equal(len(replayed), 2, "replayed events")
    for original, copy in zip(live, replayed):
        for name in ("url.full", "url.path", "url.query", "http.request.method", "http.request.body.size",
                     "http.response.status_code", "http.response.body.size", "user_agent.original",
                     "server.address", "server.port", "@timestamp"):
            expect_equal(field(copy, name), field(original, name), name)
        expect_equal(field(copy, "plainsight.capture.source"), "har", "plainsight.capture.source")

    # Cut inside the second entry: the first still comes out, with an error.
    text = open(path, encoding="utf-8").read()
    cut = os.path.join(context.directory, "cut.har")
    with open(cut, "w", encoding="utf-8") as file:
        file.write(text[:text.index("/upload/har")])
    replay = subprocess.run([context.binary, "replay", cut], capture_output=True, text=True, check=False)
    expect_equal(replay.returncode, 1, "replay exit code of a truncated HAR")
    if "truncated" not in replay.stderr:
        raise AssertionError(f"no message about the cut: {replay.stderr}")
    expect_equal([field(json.loads(line), "url.full") for line in replay.stdout.splitlines()],
                 [field(live[0], "url.full")], "entries before the cut")


def test_unprivileged_run_explains(context):
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             context.binary, "run"], capture_output=True, text=True, check=False)
    expect_equal(result.returncode, 1, "exit code without privileges")
    lines = result.stderr.strip().splitlines()
    expect_equal(len(lines), 1, f"error lines ({result.stderr})")
    if "CAP_BPF" not in lines[0] or "root" not in lines[0]:
        raise AssertionError(f"message does not say what to do: {lines[0]}")
    expect_equal(result.stdout, "", "stdout")


def test_help_and_version(context):
    help_text = run_checked([context.binary, "--help"]).stdout
    for option in ("--exe", "--pid", "--cgroup", "--all-processes", "--call-limit", "firefox-esr"):
        if option not in help_text:
            raise AssertionError(f"--help does not mention {option}")
    version = run_checked([context.binary, "--version"]).stdout
    if not version.startswith("plainsight "):
        raise AssertionError(f"unexpected --version output: {version}")


TESTS = [
    test_curl_get_query,
    test_curl_post_5mib,
    test_python_urllib,
    test_archive_replays_same_events,
    test_truncated_archive_keeps_events,
    test_call_limit_counts_loss,
    test_loss_keeps_pairing,
    test_other_processes_not_captured,
    test_exe_filter,
    test_new_library_found_without_restart,
    test_wget_get_and_post,
    test_curl_http2,
    test_http2_early_response,
    test_firefox_http2,
    test_chromium_http2,
    test_firefox_http2_joined_late,
    test_chromium_http2_joined_late,
    test_firefox_http1,
    test_chromium_http1,
    test_firefox_trackers,
    test_chromium_trackers,
    test_firefox_persona,
    test_chromium_persona,
    test_offsets_command,
    test_quic_send_reported,
    test_har_matches_live,
    test_unprivileged_run_explains,
    test_help_and_version,
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", required=True, help="path to the plainsight binary")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("names", nargs="*", help="run only tests whose name contains one of these")
    arguments = parser.parse_args()

    if os.geteuid() != 0:
        print("e2e: these tests attach uprobes and must run as root", file=sys.stderr)
        return 2

    binary = os.path.abspath(arguments.binary)
    selected = [t for t in TESTS if not arguments.names or any(n in t.__name__ for n in arguments.names)]
    workspace = Workspace()
    passed = failed = 0
    try:
        context = Context(binary, workspace)
        for test in selected:
            try:
                test(context)
                passed += 1
                print(f"PASS {test.__name__}", flush=True)
            except Exception:  # a failing test must not stop the others
                failed += 1
                print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
    finally:
        workspace.close(keep=arguments.keep)
        if arguments.keep:
            print(f"e2e: kept {workspace.directory}")

    print(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

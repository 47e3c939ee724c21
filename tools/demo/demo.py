#!/usr/bin/python3
"""plainsight demo: a shopper buys an espresso cup in a small shop that has
tracking tags on its pages, once in Firefox ESR and once in Chromium, while
plainsight watches both browsers, and the demo prints what went to whom.

Run as root: python3 tools/demo/demo.py --binary build/plainsight [--check]

The shop and every tracker are one nginx on 127.0.0.1 with a throwaway CA.
The browsers resolve the trackers' real host names to 127.0.0.1 by their
own settings, never through /etc/hosts or DNS, so nothing leaves the machine.
plainsight captures only this script's own process tree (--pid).
"""

import argparse
import html
import json
import os
import shutil
import signal
import sys
import tempfile
import time

DEMO_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DEMO_DIRECTORY, "..", "..", "tests", "e2e"))

from browsers import Chromium, Firefox  # noqa: E402
from harness import NGINX, CertificateAuthority, Plainsight, free_port, run_checked  # noqa: E402
import report  # noqa: E402

SHOP_HOST = "shop.plainsight.demo"
# The tags in shop/shop.js send to these names; the certificate covers them.
TRACKER_HOSTS = ("www.facebook.com", "analytics.tiktok.com", "region1.google-analytics.com",
                 "px.ads.linkedin.com", "z.clarity.ms")
SHOP_FILES = ("product.html", "checkout.html", "confirmation.html", "shop.js", "style.css")
DEFAULT_PERSONA = os.path.join(DEMO_DIRECTORY, "persona.json")
# A browser's start and three pages take a few seconds; this allows for a
# slow, busy machine.
BROWSER_TIMEOUT_S = 90

NGINX_CONFIG = """
daemon on;
# The workers write request bodies under the demo's private directory.
user root root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    types {{ text/html html; text/css css; text/javascript js; }}

    # The shop and every tracker: the browsers reach all of them here. The
    # shop's and the trackers' paths do not overlap, so one server serves all.
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        root {site};
        add_header Cache-Control no-store;

        # POST endpoints go through the backend, because nginx then reads the
        # whole request body before it responds, as a real server would.
        location = /api/cart {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        location = /api/order {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        location = /api/v2/pixel {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        location = /g/collect {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        location = /collect {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        location /tr/ {{ return 204; }}
        location = /done {{ return 204; }}
    }}

    server {{
        listen 127.0.0.1:{backend_port};
        location = /api/cart {{
            default_type application/json;
            return 200 '{{"items":2,"total":"25.00"}}';
        }}
        location = /api/order {{
            default_type application/json;
            return 200 '{{"order":"PS-1042"}}';
        }}
        location / {{ return 204; }}
    }}
}}
"""


class ShopServer:
    """nginx serving the shop's pages and the trackers' endpoints over TLS
    and HTTP/2. It daemonizes, so its processes leave this process tree and
    plainsight does not capture them."""

    def __init__(self, directory, authority, site, avoid_texts):
        self.prefix = os.path.join(directory, "nginx")
        os.makedirs(self.prefix)
        self.port = pick_port(avoid_texts)
        self.config = os.path.join(self.prefix, "nginx.conf")
        with open(self.config, "w", encoding="utf-8") as file:
            file.write(NGINX_CONFIG.format(prefix=self.prefix, port=self.port, backend_port=free_port(),
                                           certificate=authority.server_cert, key=authority.server_key,
                                           site=site))
        self.access_log = os.path.join(self.prefix, "access.log")
        self.pid_file = os.path.join(self.prefix, "nginx.pid")

    def start(self):
        error_log = os.path.join(self.prefix, "error.log")
        run_checked([NGINX, "-c", self.config, "-p", self.prefix, "-e", error_log])

    def url(self, path):
        return f"https://{SHOP_HOST}:{self.port}{path}"

    def access_log_size(self):
        return os.path.getsize(self.access_log) if os.path.exists(self.access_log) else 0

    def wait_for_request(self, request_line_start, timeout_s, since):
        """Waits until the access log, from byte `since` on, has a request
        line starting with request_line_start; returns whether it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(self.access_log):
                with open(self.access_log, encoding="utf-8", errors="replace") as file:
                    file.seek(since)
                    if f'"{request_line_start}' in file.read():
                        return True
            time.sleep(0.2)
        return False

    def stop(self):
        """Stops nginx if it runs; nginx removes its pid file when it exits."""
        if os.path.exists(self.pid_file):
            run_checked([NGINX, "-c", self.config, "-p", self.prefix, "-s", "stop"])


class StoppablePlainsight(Plainsight):
    """A plainsight run whose stop is on the cleanup stack from the moment
    its process exists, before it is ready, so that a signal during the
    start leaves no plainsight behind."""

    def __init__(self, stack, *arguments):
        self.stack = stack
        super().__init__(*arguments)

    def _wait_until_ready(self):
        self.stack.append(self.stop)
        super()._wait_until_ready()


def pick_port(avoid_texts):
    """Return a free port whose number is not one of the persona's values (a
    postal code can look like a port), so that the leak check cannot
    mistake the port in a URL for a leaked value."""
    for _ in range(100):
        port = free_port()
        if str(port) not in avoid_texts:
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


def first_values(persona):
    """Return the first value of each kind in a persona file's values."""
    values = {}
    for kind, value in persona["values"].items():
        values[kind] = value if isinstance(value, str) else value[0]
    return values


def write_site(directory, persona_values):
    """Copies the shop's files, with the persona's values filled into the
    checkout form, and returns the site directory."""
    site = os.path.join(directory, "site")
    os.makedirs(site)
    for name in SHOP_FILES:
        with open(os.path.join(DEMO_DIRECTORY, "shop", name), encoding="utf-8") as file:
            text = file.read()
        for kind in ("first_name", "last_name", "email", "phone", "street_address", "postal_code", "city"):
            text = text.replace("{{" + kind + "}}", html.escape(persona_values.get(kind, ""), quote=True))
        with open(os.path.join(site, name), "w", encoding="utf-8") as file:
            file.write(text)
    return site


def write_fingerprint_key(directory):
    """Write a new random key for this run only (docs/FINGERPRINTS.md), mode
    0600, and return its path."""
    path = os.path.join(directory, "fingerprint.key")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(os.urandom(32))
    return path


def visit_shop(browser, shop, name):
    """Opens the product page and waits until the browser has gone through
    checkout and confirmation and asked for /done."""
    since = shop.access_log_size()
    start = time.monotonic()
    print(f"demo: {name} is shopping ...", flush=True)
    try:
        if isinstance(browser, Chromium):
            browser.open(shop.url("/product.html"), (SHOP_HOST,) + TRACKER_HOSTS, only_listed_hosts=True)
        else:
            browser.open(shop.url("/product.html"))
        done = shop.wait_for_request("GET /done ", BROWSER_TIMEOUT_S, since)
    finally:
        browser.close()
    if not done:
        raise RuntimeError(f"{name} did not reach the end of the shop within {BROWSER_TIMEOUT_S} s; "
                           f"its log ends with:\n{browser.log()[-2000:]}")
    print(f"demo: {name} finished in {time.monotonic() - start:.1f} s", flush=True)


def raise_on_termination(signal_number, _frame):
    raise KeyboardInterrupt(f"signal {signal_number}")


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="path to the plainsight binary")
    parser.add_argument("--persona", default=DEFAULT_PERSONA,
                        help="persona file of the shopper (default: tools/demo/persona.json; "
                             "--check expects its seven kinds of values)")
    parser.add_argument("--events", default="demo-events.jsonl",
                        help="where to copy plainsight's events file (default: demo-events.jsonl "
                             "in the current directory)")
    parser.add_argument("--check", action="store_true",
                        help="also check the events against what the shop sends, and exit with 1 "
                             "when they differ")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (certificates, nginx logs, browser logs)")
    return parser.parse_args()


def run_demo(arguments, directory, persona, stack):
    """Runs the shop in both browsers under plainsight; returns the stopped
    plainsight run and the shop server. Everything started is pushed on
    stack, to be stopped later."""
    values = first_values(persona)
    authority = CertificateAuthority(directory, hosts=(SHOP_HOST,) + TRACKER_HOSTS)
    site = write_site(directory, values)
    shop = ShopServer(directory, authority, site, set(values.values()))
    stack.append(shop.stop)
    shop.start()

    key = write_fingerprint_key(directory)
    capture = ["run", "--pid", str(os.getpid()), "--fields", "--persona", arguments.persona,
               "--fingerprint-key", key, "--offsets-cache", os.path.join(directory, "offsets")]
    plainsight = StoppablePlainsight(stack, arguments.binary, capture, directory)
    print(f"demo: plainsight is capturing this demo's processes; the shop is {shop.url('/product.html')}",
          flush=True)

    visit_shop(Firefox(directory, authority.ca_cert), shop, "Firefox ESR")
    visit_shop(Chromium(directory), shop, "Chromium")

    # Stopping again at cleanup is harmless, and needed when a signal
    # interrupts this stop.
    code = plainsight.stop()
    if code != 0:
        raise RuntimeError(f"plainsight exited with {code}:\n{plainsight.stderr()[-2000:]}")
    return plainsight, shop


def main():
    arguments = parse_arguments()
    if os.geteuid() != 0:
        print("demo: run as root: plainsight attaches uprobes, which needs root", file=sys.stderr)
        return 2
    arguments.binary = os.path.abspath(arguments.binary)
    arguments.persona = os.path.abspath(arguments.persona)
    try:
        with open(arguments.persona, encoding="utf-8") as file:
            persona = json.load(file)
    except (OSError, ValueError) as error:
        print(f"demo: failed to read the persona file {arguments.persona}: {error}", file=sys.stderr)
        return 1

    signal.signal(signal.SIGTERM, raise_on_termination)
    signal.signal(signal.SIGHUP, raise_on_termination)
    started = time.monotonic()
    directory = tempfile.mkdtemp(prefix="plainsight-demo-")
    stack = []
    try:
        plainsight, shop = run_demo(arguments, directory, persona, stack)
        events = plainsight.events()
        shutil.copyfile(plainsight.events_path, arguments.events)
        log = plainsight.stderr()
    except KeyboardInterrupt:
        print("demo: interrupted; stopping nginx and the browsers", file=sys.stderr)
        return 130
    except (OSError, RuntimeError) as error:
        print(f"demo: failed: {error}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the cleanup short; each step is
        # bounded by its own timeout.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for stop in reversed(stack):
            try:
                stop()
            except Exception as error:  # cleanup goes on whatever one step raised
                print(f"demo: cleanup: {error}", file=sys.stderr)
        if arguments.keep:
            print(f"demo: kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    print()
    print(report.summary(events, persona, shop.url("/")))
    print(f"Events file: {os.path.abspath(arguments.events)} ({len(events)} events, copied from the run's "
          f"temporary directory{'' if arguments.keep else ', which is removed'}).")
    print(f"The demo took {time.monotonic() - started:.0f} s.")
    if not arguments.check:
        return 0

    problems = report.check(events, log, persona, shop.url("/"))
    if problems:
        print(f"\ncheck FAILED ({len(problems)} problems):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\ncheck passed: both browsers' tracker requests, findings and severities are as the shop sends "
          "them, the shop's own calls carry no tracker label, and no form of the persona's values is in "
          "the events file.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

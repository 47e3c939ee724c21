#!/usr/bin/python3
"""Throughput of `plainsight replay` on one core, over an archive of mixed
HTTP/1.1 and HTTP/2 requests with bodies.

The archive is captured live from curl against a local nginx (127.0.0.1):
REQUESTS requests over HTTP/1.1 and as many over HTTP/2, each a POST with a
form or JSON body. Replay then runs ROUNDS times pinned to CPU 0 in each
mode, and the medians are printed. Every mode classifies and scans each
request for personal data; the modes differ in what they add:

  no lists   vendor table and detectors, no filter lists (--no-filter-lists)
  default    the above, and EasyPrivacy and EasyList
  persona    default, and a persona of ten values (--persona)
  --fields   default, and every field printed (--fields)

Run as root after `make`:
  tools/bench/replay_throughput.py --requests 2000 --rounds 5
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from harness import Plainsight, Workspace  # noqa: E402  (needs the path above)


def curl_config(path, urls_and_bodies, http2, ca_cert):
    """Writes a curl config that sends every request on one connection;
    "next" resets options, so each request repeats them."""
    with open(path, "w", encoding="utf-8") as file:
        for index, (url, body) in enumerate(urls_and_bodies):
            if index:
                file.write("next\n")
            file.write(f'url = "{url}"\n')
            file.write(f"data-binary = \"{body}\"\n")
            file.write("output = /dev/null\n")
            file.write(f'cacert = "{ca_cert}"\n')
            file.write("http2\n" if http2 else "http1.1\n")


def capture_archive(binary, workspace, requests):
    nginx = workspace.nginx
    ca = workspace.authority.ca_cert
    h1 = [(nginx.url(f"/upload/form?i={i}&utm_source=bench"),
           f"email=user{i}%40example.com&name=Ada+Lovelace&cart=" + "x" * 1500) for i in range(requests)]
    h2 = [(nginx.h2_url(f"/api/collect?i={i}"),
           '{\\"event\\":\\"Purchase\\",\\"user\\":{\\"em\\":\\"user' + str(i) + '@example.com\\"},'
           '\\"items\\":[' + ",".join(['{\\"sku\\":\\"A-1\\",\\"qty\\":2}'] * 20) + ']}') for i in range(requests)]
    curl_config(os.path.join(workspace.directory, "h1.curl"), h1, False, ca)
    curl_config(os.path.join(workspace.directory, "h2.curl"), h2, True, ca)

    archive = os.path.join(workspace.directory, "bench.psa")
    plainsight = Plainsight(binary, ["capture", "--pid", str(os.getpid()), "-o", archive],
                            workspace.directory, name="bench-capture")
    for config in ("h1.curl", "h2.curl"):
        subprocess.run(["curl", "-sS", "-K", os.path.join(workspace.directory, config)], check=True)
    plainsight.stop()
    data_bytes = int(re.search(r" data_bytes=(\d+)", plainsight.stderr()).group(1))
    return archive, len(plainsight.events()), data_bytes


PERSONA = {"name": "benchmark shopper", "values": {
    "email": ["user7@example.com", "ada.lovelace@example.org"], "phone": ["+44 20 7946 0958"],
    "first_name": ["Ada"], "last_name": ["Lovelace"], "street_address": ["12 Analytical Row"],
    "city": ["London"], "postal_code": ["SW1A 1AA"], "payment_card": ["4111 1111 1111 1111"],
    "user_id": ["u-1815-1852"]}}


def time_replay(binary, archive, extra):
    started = time.monotonic()
    result = subprocess.run(["taskset", "-c", "0", binary, "replay", *extra, archive],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    elapsed = time.monotonic() - started
    return elapsed, result.stdout.count(b"\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build/plainsight"))
    parser.add_argument("--requests", type=int, default=2000, help="requests per protocol")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("replay_throughput.py: run as root (the archive is captured live)", file=sys.stderr)
        return 2

    workspace = Workspace()
    try:
        archive, live_events, data_bytes = capture_archive(args.binary, workspace, args.requests)
        print(f"archive: {live_events} requests, {data_bytes / 1e6:.1f} MB of plaintext, "
              f"{os.path.getsize(archive) / 1e6:.1f} MB compressed")
        persona = os.path.join(workspace.directory, "persona.json")
        with open(persona, "w", encoding="utf-8") as file:
            json.dump(PERSONA, file)
        key = os.path.join(workspace.directory, "fingerprint.key")
        with open(key, "wb") as file:
            file.write(os.urandom(32))
        common = ["--fingerprint-key", key]
        modes = (("no lists", ["--no-filter-lists"]), ("default", []), ("persona", ["--persona", persona]),
                 ("--fields", ["--fields"]))
        print(f"{'mode':10} {'median s':>9} {'requests/s':>11} {'MB/s':>7}")
        for name, extra in modes:
            extra = common + extra
            times = []
            for _ in range(args.rounds):
                elapsed, events = time_replay(args.binary, archive, extra)
                if events != live_events:
                    raise RuntimeError(f"replay gave {events} events, the live run {live_events}")
                times.append(elapsed)
            median = statistics.median(times)
            print(f"{name:10} {median:9.3f} {live_events / median:11.0f} {data_bytes / 1e6 / median:7.1f}")
    finally:
        workspace.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

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

from harness import (GET_BODY_BYTES, UPLOAD_RESPONSE_BYTES, Plainsight, Workspace, field,
                     run_checked)

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


def expect_equal(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


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
    url = context.nginx.url("/api/items?lang=python")
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


def test_other_processes_not_captured(context):
    """A capture of another process tree sees nothing of this test's curl."""
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
    test_other_processes_not_captured,
    test_exe_filter,
    test_new_library_found_without_restart,
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

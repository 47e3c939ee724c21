#!/usr/bin/python3
"""Cost of capturing SSL_write, side by side in one run.

Modes, interleaved round by round so that machine noise hits all alike:
  none          no probe at all
  empty-uprobe  bpftrace with an empty uprobe on SSL_write: the floor
  plainsight    plainsight run --exe tls_write_client
  bpftrace      bpftrace printing each buffer (a typical one-off capture)

Then a sustained load: several clients at once, 16 KiB writes, and how many
bytes plainsight delivered and lost.

Run as root after `make bench`:
  tools/bench/run_bench.py --rounds 7 --calls 100000
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LIBSSL = "/lib/x86_64-linux-gnu/libssl.so.3"


def make_certificate(directory):
    key = os.path.join(directory, "key.pem")
    cert = os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return cert, key


class Sink:
    """tls_sink: a TLS server on 127.0.0.1 that reads and discards everything."""

    def __init__(self, binary, cert, key):
        self.process = subprocess.Popen([binary, cert, key], stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline().strip().split("=")[1])

    def stop(self):
        self.process.kill()
        self.process.wait()


class Tool:
    """A capture tool running in the background, ready when `marker` shows."""

    def __init__(self, command, marker, stream="stderr"):
        self.output = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdout=self.output if stream == "stdout" else subprocess.DEVNULL,
                                        stderr=self.output if stream == "stderr" else subprocess.DEVNULL,
                                        text=True)
        deadline = time.monotonic() + 30
        while marker not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not start: {self.text()}")
            time.sleep(0.05)

    def text(self):
        self.output.seek(0)
        return self.output.read()

    def stop(self):
        self.process.send_signal(2)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.text()


def start_mode(mode, binary, ring_buffer="64M"):
    if mode == "none":
        return None
    if mode == "empty-uprobe":
        return Tool(["bpftrace", "-e", f"uprobe:{LIBSSL}:SSL_write {{ }}"], "Attaching", "stdout")
    if mode == "plainsight":
        return Tool([binary, "run", "--exe", "tls_write_client", "--ring-buffer", ring_buffer,
                     "-o", "/dev/null", "--rescan-interval", "0"], "ready:")
    if mode == "bpftrace":
        # BPFTRACE_STRLEN 200 is the largest bpftrace 0.17 accepts, so each
        # buffer is printed cut to 200 bytes: bpftrace does less work here
        # than a capture of whole buffers would.
        os.environ["BPFTRACE_STRLEN"] = "200"
        program = (f"uprobe:{LIBSSL}:SSL_write /comm == \"tls_write_clien\"/ "
                   "{ printf(\"%r\\n\", buf(arg1, arg2)); }")
        return Tool(["bpftrace", "-e", program], "Attaching", "stdout")
    raise ValueError(mode)


def run_client(client, port, calls, size):
    result = subprocess.run([client, "127.0.0.1", str(port), str(calls), str(size), "--memory"],
                            capture_output=True, text=True, check=True)
    return float(re.search(r"ns_per_call=([0-9.]+)", result.stdout).group(1))


def per_call_costs(args, client, port):
    modes = ["none", "empty-uprobe", "plainsight", "bpftrace"]
    samples = {mode: [] for mode in modes}
    for round_index in range(args.rounds):
        for mode in modes:
            tool = start_mode(mode, args.binary)
            samples[mode].append(run_client(client, port, args.calls, args.size))
            if tool:
                tool.stop()
        print(f"round {round_index + 1}: " +
              ", ".join(f"{m}={samples[m][-1]:.0f}" for m in modes), flush=True)

    medians = {mode: statistics.median(values) for mode, values in samples.items()}
    floor = medians["empty-uprobe"] - medians["none"]
    print(f"\nper SSL_write of {args.size} bytes, median of {args.rounds} rounds x {args.calls} calls:")
    print(f"{'mode':14} {'ns/call':>9} {'added ns':>9} {'ratio to empty uprobe':>22}")
    for mode in modes:
        added = medians[mode] - medians["none"]
        ratio = added / floor if floor > 0 else float("nan")
        print(f"{mode:14} {medians[mode]:9.0f} {added:9.0f} {ratio:22.2f}")


def sustained_load(args, client, port):
    size = 16384
    calls = (args.sustained_mib << 20) // size
    print(f"\nsustained load: N clients at once, each {args.sustained_mib} MiB in {size}-byte "
          "SSL_write calls over loopback, captured by plainsight")
    print(f"{'clients':>7} {'ring':>5} {'sent MiB/s':>11} {'delivered':>10} {'bytes lost':>11} "
          f"{'records lost':>13}")
    for clients, ring in ((1, "64M"), (2, "64M"), (4, "64M"), (4, "16M"), (4, "4M"), (4, "1M")):
        tool = start_mode("plainsight", args.binary, ring)
        started = time.monotonic()
        processes = [subprocess.Popen([client, "127.0.0.1", str(port), str(calls), str(size)],
                                      stdout=subprocess.DEVNULL) for _ in range(clients)]
        for process in processes:
            process.wait()
        elapsed = time.monotonic() - started
        log = tool.stop()
        sent = clients * calls * size
        delivered = int(re.search(r" data_bytes=(\d+)", log).group(1))
        lost = int(re.search(r"ring_buffer_full_bytes=(\d+)", log).group(1))
        records = int(re.search(r"ring_buffer_full_records=(\d+)", log).group(1))
        print(f"{clients:7} {ring:>5} {sent / elapsed / (1 << 20):11.0f} "
              f"{100.0 * delivered / sent:9.2f}% {lost:11} {records:13}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build/plainsight"))
    parser.add_argument("--client", default=os.path.join(ROOT, "build/tools/bench/tls_write_client"))
    parser.add_argument("--sink", default=os.path.join(ROOT, "build/tools/bench/tls_sink"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--sustained-mib", type=int, default=256, help="MiB each client sends")
    parser.add_argument("--skip-sustained", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run_bench.py: run as root (it attaches uprobes)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as directory:
        sink = Sink(args.sink, *make_certificate(directory))
        print(f"machine: {os.uname().release}, {os.cpu_count()} CPUs; client {args.client}")
        per_call_costs(args, args.client, sink.port)
        if not args.skip_sustained:
            sustained_load(args, args.client, sink.port)
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

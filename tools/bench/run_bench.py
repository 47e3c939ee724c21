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
import ssl
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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
    """A TLS server on 127.0.0.1 that reads and discards everything."""

    def __init__(self, cert, key):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            connection, _ = self.listener.accept()
            threading.Thread(target=self._drain, args=(connection,), daemon=True).start()

    def _drain(self, connection):
        try:
            with self.context.wrap_socket(connection, server_side=True) as tls:
                buffer = bytearray(1 << 18)
                while tls.recv_into(buffer):
                    pass
        except (OSError, ssl.SSLError):
            pass


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
        self.process.wait(timeout=60)
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
        program = (f"uprobe:{LIBSSL}:SSL_write /comm == \"tls_write_clien\"/ "
                   "{ printf(\"%r\\n\", buf(arg1, arg2)); }")
        return Tool(["sh", "-c", f"bpftrace -e '{program}' > /dev/null 2>{tempfile.gettempdir()}/bt.err; "
                     f"cat {tempfile.gettempdir()}/bt.err >&2"], "", "stderr")
    raise ValueError(mode)


def run_client(client, port, calls, size):
    result = subprocess.run([client, "127.0.0.1", str(port), str(calls), str(size)],
                            capture_output=True, text=True, check=True)
    return float(re.search(r"ns_per_call=([0-9.]+)", result.stdout).group(1))


def per_call_costs(args, client, port):
    modes = ["none", "empty-uprobe", "plainsight", "bpftrace"]
    samples = {mode: [] for mode in modes}
    for round_index in range(args.rounds):
        for mode in modes:
            tool = start_mode(mode, args.binary)
            if mode == "bpftrace":
                time.sleep(3)  # bpftrace prints nothing when ready; it attaches within ~1 s here
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
    print("\nsustained load: N clients at once, each 256 MiB in 16 KiB SSL_write calls")
    print(f"{'clients':>7} {'ring':>5} {'MiB/s delivered':>16} {'bytes lost':>11} {'records lost':>13}")
    size = 16384
    calls = (256 << 20) // size
    for clients, ring in ((1, "64M"), (2, "64M"), (4, "64M"), (2, "1M")):
        tool = start_mode("plainsight", args.binary, ring)
        started = time.monotonic()
        processes = [subprocess.Popen([client, "127.0.0.1", str(port), str(calls), str(size)],
                                      stdout=subprocess.DEVNULL) for _ in range(clients)]
        for process in processes:
            process.wait()
        elapsed = time.monotonic() - started
        log = tool.stop()
        delivered = int(re.search(r" data_bytes=(\d+)", log).group(1))
        lost = int(re.search(r"ring_buffer_full_bytes=(\d+)", log).group(1))
        records = int(re.search(r"ring_buffer_full_records=(\d+)", log).group(1))
        print(f"{clients:7} {ring:>5} {delivered / elapsed / (1 << 20):16.0f} {lost:11} {records:13}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build/plainsight"))
    parser.add_argument("--client", default=os.path.join(ROOT, "build/tools/bench/tls_write_client"))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--skip-sustained", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run_bench.py: run as root (it attaches uprobes)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as directory:
        sink = Sink(*make_certificate(directory))
        print(f"machine: {os.uname().release}, {os.cpu_count()} CPUs; client {args.client}")
        per_call_costs(args, args.client, sink.port)
        if not args.skip_sustained:
            sustained_load(args, args.client, sink.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared pieces of the end-to-end tests: a throwaway CA, a local nginx with
TLS, and a plainsight run whose events are read back.

Everything listens on 127.0.0.1 only. Every capture is limited to this test
process and its descendants with --pid, because other programs on the
machine use OpenSSL too.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zlib

# Debian installs nginx in /usr/sbin, which a non-login PATH may lack.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
READY_TIMEOUT_S = 20
# A host name that browsers resolve to 127.0.0.1 by their own settings, never
# through the system's resolver or /etc/hosts.
TEST_HOST = "shop.plainsight.test"
# Real trackers' host names; the browsers resolve them to 127.0.0.1, and the
# test certificate names them.
TRACKER_HOSTS = ("www.facebook.com", "analytics.tiktok.com", "region1.google-analytics.com", "us.i.posthog.com")
STOP_TIMEOUT_S = 20


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_checked(command, **kwargs):
    # No standard input: a tool that prompts (certutil) must fail, not wait.
    result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"command failed ({result.returncode}): {' '.join(command)}\n{result.stderr}")
    return result


class CertificateAuthority:
    """A CA and one server certificate for localhost, 127.0.0.1 and the
    given host names (by default the test shop's and the trackers')."""

    def __init__(self, directory, hosts=(TEST_HOST,) + TRACKER_HOSTS):
        self.ca_key = os.path.join(directory, "ca.key")
        self.ca_cert = os.path.join(directory, "ca.pem")
        self.server_key = os.path.join(directory, "server.key")
        self.server_cert = os.path.join(directory, "server.pem")
        request = os.path.join(directory, "server.csr")
        extensions = os.path.join(directory, "server.ext")

        run_checked(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                     "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
                     "-subj", "/CN=plainsight test CA"])
        run_checked(["openssl", "req", "-newkey", "rsa:2048", "-nodes",
                     "-keyout", self.server_key, "-out", request, "-subj", "/CN=localhost"])
        with open(extensions, "w", encoding="ascii") as file:
            names = ",".join(f"DNS:{host}" for host in hosts)
            file.write(f"subjectAltName=DNS:localhost,{names},IP:127.0.0.1\n")
        run_checked(["openssl", "x509", "-req", "-in", request, "-CA", self.ca_cert,
                     "-CAkey", self.ca_key, "-CAcreateserial", "-out", self.server_cert,
                     "-days", "2", "-extfile", extensions])


NGINX_CONFIG = """
daemon on;
# The workers write request bodies under the test's private directory.
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
    client_max_body_size 64m;

    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        location /upload {{
            # nginx reads the whole request body before it proxies, so the
            # response comes after the last byte of the upload.
            proxy_pass http://127.0.0.1:{backend_port};
        }}
        location /api/ {{
            proxy_pass http://127.0.0.1:{backend_port};
        }}
        location /beacon {{
            proxy_pass http://127.0.0.1:{backend_port};
        }}
        location /site/ {{
            root {prefix};
            add_header Cache-Control no-store;
        }}
        location / {{
            default_type text/plain;
            return 200 "{body}";
        }}
    }}

    # The same site over HTTP/2 (ALPN h2), which browsers prefer.
    server {{
        listen 127.0.0.1:{h2_port} ssl http2;
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        location /early/ {{
            # Responds before reading the request body, as many trackers do.
            return 204;
        }}
        location /api/ {{
            proxy_pass http://127.0.0.1:{backend_port};
        }}
        location /beacon {{
            proxy_pass http://127.0.0.1:{backend_port};
        }}
        location /site/ {{
            root {prefix};
            add_header Cache-Control no-store;
        }}
        location / {{
            default_type text/plain;
            return 200 "{body}";
        }}
    }}

    server {{
        listen 127.0.0.1:{backend_port};
        location / {{
            default_type text/plain;
            return 201 "stored\\n";
        }}
    }}
}}
"""

# The body nginx returns for every GET, and its length in bytes.
GET_BODY = "plainsight test page\\n"
GET_BODY_BYTES = len("plainsight test page\n")
UPLOAD_RESPONSE_BYTES = len("stored\n")


class Nginx:
    """nginx serving HTTPS on 127.0.0.1, started before any capture so that
    its processes are not descendants of the test (they daemonize)."""

    def __init__(self, directory, authority):
        self.prefix = os.path.join(directory, "nginx")
        os.makedirs(self.prefix, exist_ok=True)
        self.tls_port = free_port()
        self.h2_port = free_port()
        self.backend_port = free_port()
        self.config = os.path.join(self.prefix, "nginx.conf")
        with open(self.config, "w", encoding="ascii") as file:
            file.write(NGINX_CONFIG.format(prefix=self.prefix, tls_port=self.tls_port,
                                           h2_port=self.h2_port, backend_port=self.backend_port,
                                           certificate=authority.server_cert,
                                           key=authority.server_key, body=GET_BODY))
        run_checked([NGINX, "-c", self.config, "-p", self.prefix, "-e",
                     os.path.join(self.prefix, "error.log")])
        self._wait_until_listening()

    def _wait_until_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on 127.0.0.1:{self.tls_port}")

    def url(self, path, host="localhost"):
        return f"https://{host}:{self.tls_port}{path}"

    def h2_url(self, path, host="localhost"):
        """A URL on the server that speaks HTTP/2."""
        return f"https://{host}:{self.h2_port}{path}"

    def site_directory(self):
        """The directory served under /site/."""
        directory = os.path.join(self.prefix, "site")
        os.makedirs(directory, exist_ok=True)
        return directory

    def access_log_size(self):
        log = os.path.join(self.prefix, "access.log")
        return os.path.getsize(log) if os.path.exists(log) else 0

    def wait_for_request(self, path_part, timeout_s, since=0):
        """Waits until the access log, from byte `since` on, shows a request
        whose line contains path_part; returns whether it did."""
        log = os.path.join(self.prefix, "access.log")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.exists(log):
                with open(log, encoding="utf-8", errors="replace") as file:
                    file.seek(since)
                    if path_part in file.read():
                        return True
            time.sleep(0.2)
        return False

    def stop(self):
        subprocess.run([NGINX, "-c", self.config, "-p", self.prefix, "-s", "stop"],
                       capture_output=True, check=False)


class Plainsight:
    """One plainsight process, started and waited for until it is ready."""

    def __init__(self, binary, arguments, directory, name="plainsight"):
        self.events_path = os.path.join(directory, f"{name}.events.jsonl")
        self.stderr_path = os.path.join(directory, f"{name}.stderr")
        self.stderr_file = open(self.stderr_path, "w", encoding="utf-8")
        self.stdout_file = open(self.events_path, "w", encoding="utf-8")
        self.process = subprocess.Popen([binary] + arguments, stdout=self.stdout_file,
                                        stderr=self.stderr_file)
        self._wait_until_ready()

    def _wait_until_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if "ready:" in self.stderr():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"plainsight exited early:\n{self.stderr()}")
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError(f"plainsight was not ready after {READY_TIMEOUT_S} s:\n{self.stderr()}")

    def stderr(self):
        with open(self.stderr_path, encoding="utf-8", errors="replace") as file:
            return file.read()

    def stop(self):
        """Sends SIGINT, waits, and returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        self.stderr_file.close()
        self.stdout_file.close()
        return code

    def events(self):
        with open(self.events_path, encoding="utf-8") as file:
            return [json.loads(line) for line in file if line.strip()]


def archive_plaintext(path):
    """Returns the inflated records of every block of a capture archive, as
    laid out in docs/ARCHIVE.md, joined: enough to search for bytes."""
    with open(path, "rb") as file:
        data = file.read()
    if data[:8] != b"PSARCHIV":
        raise ValueError(f"{path} is not a capture archive")
    host_length = int.from_bytes(data[20:22], "little")
    version_length = int.from_bytes(data[22 + host_length:24 + host_length], "little")
    offset = 28 + host_length + version_length
    records = []
    while offset + 16 <= len(data) and data[offset:offset + 4] == b"PSBK":
        compressed = int.from_bytes(data[offset + 4:offset + 8], "little")
        records.append(zlib.decompress(data[offset + 16:offset + 16 + compressed]))
        offset += 16 + compressed
    return b"".join(records)


def expect_equal(actual, expected, description):
    if actual != expected:
        raise AssertionError(f"{description}: expected {expected!r}, got {actual!r}")


def events_by_url(events):
    result = {}
    for event in events:
        result.setdefault(field(event, "url.full"), []).append(event)
    return result


def field(event, dotted):
    """Returns the value at a dotted path such as 'url.full', or None."""
    value = event
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


class Workspace:
    """A temporary directory with a CA and nginx, removed at the end."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="plainsight-e2e-")
        self.authority = CertificateAuthority(self.directory)
        self.nginx = Nginx(self.directory, self.authority)

    def close(self, keep=False):
        self.nginx.stop()
        if not keep:
            shutil.rmtree(self.directory, ignore_errors=True)

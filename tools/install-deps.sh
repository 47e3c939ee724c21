#!/bin/sh
# Installs the Debian 12 packages that building, running, testing and
# benchmarking plainsight need. Safe to run again: packages already installed
# are left alone, and the package lists are only refreshed when something is
# missing. Run as root.
set -eu

# Build: compilers, BPF tooling, and the libraries the agent links.
BUILD_PACKAGES="make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev libcjson-dev libnghttp2-dev libbrotli-dev libpsl-dev publicsuffix libpcre2-dev libssl-dev"
# Runtime data: EasyPrivacy and EasyList, as Debian ships them with uBlock
# Origin, are the default filter lists of the tracker classifier.
RUNTIME_PACKAGES="webext-ublock-origin-firefox"
# Tests: unit test framework, and the real clients and servers the end-to-end
# tests drive: curl and Python use OpenSSL 3, wget uses GnuTLS, Firefox ESR
# uses NSS (certutil from libnss3-tools sets up its test profile), nginx
# serves TLS; Chromium links BoringSSL, and android-libboringssl is a
# BoringSSL build with symbols, the reference for the offset finder;
# libclang-rt-14-dev holds the libFuzzer and sanitizer runtimes.
TEST_PACKAGES="libcmocka-dev curl nginx openssl python3 ca-certificates procps iproute2 wget firefox-esr libnss3-tools chromium android-libboringssl binutils libclang-rt-14-dev"
# Benchmarks: bpftrace is the comparison tool for the capture cost.
BENCH_PACKAGES="bpftrace"

PACKAGES="$BUILD_PACKAGES $RUNTIME_PACKAGES $TEST_PACKAGES $BENCH_PACKAGES"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (it installs Debian packages with apt-get)" >&2
	exit 1
fi

missing=""
for package in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $package" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps.sh: all packages are installed"
	exit 0
fi

echo "install-deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # the list is split into package names on purpose
apt-get install -y -qq --no-install-recommends $missing

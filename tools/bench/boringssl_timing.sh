#!/bin/sh
# Builds tools/bench/boringssl_timing.c against the offset finder's sources
# and times the finder on a binary: a first scan with the file out of the
# page cache, scans with it cached, and lookups from the build-id cache.
#
#   tools/bench/boringssl_timing.sh [BINARY] [ROUNDS]
#
# BINARY defaults to Debian's /usr/lib/chromium/chromium, ROUNDS to 5.
# Evicting the file from the page cache needs no root, but has no effect
# while a running process maps the file (a running Chromium).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-/usr/lib/chromium/chromium}
rounds=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$root/include" -I"$root/agent" \
	"$root/tools/bench/boringssl_timing.c" "$root"/agent/capture/boringssl*.c \
	"$root/agent/common/log.c" -lelf -o "$work/boringssl_timing"

"$work/boringssl_timing" "$binary" "$work/cache" "$rounds"

#!/bin/sh
# Builds with clang + AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit and fuzz
# replay suites (build-asan/).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
  CXX=clang++ CC=clang meson setup build-asan --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled >/dev/null
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite fuzz-replay

#!/bin/sh
# Configures build-fuzz/: clang, ASan+UBSan, libFuzzer targets, unit tests (no benchmarks).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++ CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbenchmarks=disabled >/dev/null
fi

#!/bin/sh
# The test command (README "Tests"): installs what it needs, builds, runs every suite.
#   ./test.sh              all suites (unit, integration with the 60-s soak, fuzz replays,
#                          interop, packaging, bench) but the 21-minute soak; suites whose tools
#                          are missing report SKIP, never a silent pass
#   ./test.sh SUITE...     only those meson suites (e.g. ./test.sh unit; ./test.sh soak for the
#                          full soak, tests/soak)
# Build directory: build/ (override with BUILD=dir).
set -eu
cd "$(dirname "$0")"
tools/deps.sh test
BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD"
args=""
for suite in "$@"; do args="$args --suite $suite"; done
# shellcheck disable=SC2086
meson test -C "$BUILD" --print-errorlogs --num-processes 2 $args

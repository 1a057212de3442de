#!/bin/sh
# The demo (README "Quick start"): installs what it needs, builds, then runs enginemux in front
# of three bundled mock execution clients on 127.0.0.1 and drives it like a consensus client
# for a few seconds per phase, printing what happened. Options go to tools/demo.sh
# (e.g. ./demo.sh --seconds 10).
set -eu
cd "$(dirname "$0")"
tools/deps.sh build
BUILD=${BUILD:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD" src/app/enginemux src/mockel/enginemux-mock-el bench/load/enginemux-load
exec tools/demo.sh --build "$BUILD" "$@"

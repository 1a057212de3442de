#!/bin/sh
# The demo (README "Quick start"): installs what it needs, builds, then runs enginemux in front
# of three bundled mock execution clients on 127.0.0.1 and drives it like a consensus client
# for a few seconds per phase, printing what happened. Options go to tools/demo.sh
# (e.g. ./demo.sh --seconds 10).
#
# ./demo.sh --real-clients [--seconds N] [--no-kill] runs the real thing instead: Lodestar (CL)
# → enginemux → three EthereumJS nodes from the npm registry (tests/interop/devnet.mjs).
# ./demo.sh --real-clients --role sync runs the sync role's: Lodestar → nginx → EthereumJS, nginx
# mirroring to enginemux in the sync role, which keeps two spare EthereumJS nodes in step
# (tests/interop/sync.mjs; about a minute, then it says what it checked).
# ./demo.sh --real-clients --role builder runs the builder role's: Lodestar → enginemux
# `--role builder` → EthereumJS as the local EL and a second EthereumJS as the block builder; a
# builder-only transaction lands, stays out in dry-run, and the chain survives the builder's
# death (tests/interop/builder.mjs; about a minute).
set -eu
cd "$(dirname "$0")"
BUILD=${BUILD:-build}
if [ "${1:-}" = "--real-clients" ]; then
  shift
  tools/deps.sh interop
  [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
  ninja -C "$BUILD" src/app/enginemux
  export EM_ENGINEMUX="$PWD/$BUILD/src/app/enginemux" EM_INTEROP_WORK="$PWD/$BUILD/interop-work"
  if [ "${1:-}" = "--role" ] && [ "${2:-}" = "sync" ]; then
    [ $# -eq 2 ] || { echo "demo.sh: --real-clients --role sync takes no other option" >&2; exit 2; }
    exec node tests/interop/sync.mjs demo-sync
  fi
  if [ "${1:-}" = "--role" ] && [ "${2:-}" = "builder" ]; then
    [ $# -eq 2 ] || { echo "demo.sh: --real-clients --role builder takes no other option" >&2; exit 2; }
    exec node tests/interop/builder.mjs demo-builder
  fi
  exec node tests/interop/devnet.mjs devnet "$@"
fi
tools/deps.sh build
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$BUILD" src/app/enginemux src/mockel/enginemux-mock-el bench/load/enginemux-load
exec tools/demo.sh --build "$BUILD" "$@"

#!/bin/sh
# 1 rpc shard against 2 (issue 16 item 2): enginemux --role rpc --shards N before one mock EL,
# driven by enginemux-load (closed loop) on loopback, in one run: eth_blockNumber (every read goes
# to the EL, as bench/compare's enginemux-rpc row) and eth_chainId (a cache hit: the shards' own
# work, no EL). Prints one markdown row per (method, shards) and the machine's load.
#
#   bench/load/rpc_shards.sh [BUILD_DIR]    (default build; EM_DURATION seconds per run, 10)
#
# Nothing is pinned by this script: enginemux pins shard k to the k-th CPU of its affinity set,
# enginemux-load runs with --no-pin, so on a box with fewer cores than shards + generator + EL
# they compete (the table says how many CPUs there were). Stops exactly what it started, by pid.
set -eu
build=${1:-build}
duration=${EM_DURATION:-10}
connections=${EM_CONNECTIONS:-64}
tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# Waits until FILE has a line matching REGEX; prints the first match.
wait_line() {
  i=0
  while ! grep -Eo "$2" "$1" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1; }
    sleep 0.1
  done
  grep -Eo "$2" "$1" | head -1
}

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/el.hex"
"$build/src/mockel/enginemux-mock-el" --port 0 --jwt-secret "$tmp/el.hex" --name el1 \
  >"$tmp/el.log" 2>&1 &
pids="$pids $!"
el_port=$(wait_line "$tmp/el.log" 'listening on 127\.0\.0\.1:[0-9]+' | sed 's/.*://')

echo "| method | shards | req/s | p50 µs | p99 µs | errors |"
echo "|---|---|---|---|---|---|"
for method in eth_blockNumber eth_chainId; do
  for shards in 1 2; do
    log="$tmp/em-$method-$shards.log"
    "$build/src/app/enginemux" --role rpc --rpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
      --shards "$shards" --nodes "http://127.0.0.1:$el_port#jwt-secret=$tmp/el.hex#name=el1" \
      >"$log" 2>&1 &
    em=$!
    pids="$pids $em"
    port=$(wait_line "$log" 'rpc listener on 127\.0\.0\.1:[0-9]+' | sed 's/.*://')
    wait_line "$log" 'node el1 is synced' >/dev/null
    "$build/bench/load/enginemux-load" --target "http://127.0.0.1:$port" --method "$method" \
      --connections "$connections" --duration "$duration" --warmup 1 --no-pin --json \
      >"$tmp/load.json"
    python3 - "$tmp/load.json" "$method" "$shards" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_us"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['throughput_rps']:.0f} | {l['p50']} | {l['p99']} | "
      f"{r['errors']['total']} |")
PY
    kill "$em"
    wait "$em" 2>/dev/null || true
  done
done
echo
echo "CPUs: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')); loadavg at the end:" \
  "$(cut -d' ' -f1-3 /proc/loadavg); build: $build ($(meson introspect "$build" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))'))"

#!/bin/bash
# The demo's body (see demo.sh). Three phases against enginemux + 3 mock ELs on 127.0.0.1:
#   1. healthy: a CL-like mix (newPayloadV4 with 200-tx payloads whose block hashes enginemux
#      verifies, forkchoiceUpdatedV3, eth_* calls) at a fixed rate;
#   2. one EL starts answering INVALID to every newPayload: the vote refuses to say VALID
#      (SYNCING), and enginemux logs the disagreement;
#   3. that EL is killed: two of three still reach the quorum, the dead one is reported.
set -euo pipefail
BUILD=build
SECONDS_PER_PHASE=4
RATE=200
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECONDS_PER_PHASE=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    -h|--help) echo "usage: demo.sh [--seconds N] [--rate R]"; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
  esac
done
EM=$BUILD/src/app/enginemux
MOCK=$BUILD/src/mockel/enginemux-mock-el
LOAD=$BUILD/bench/load/enginemux-load
for b in "$EM" "$MOCK" "$LOAD"; do [ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/enginemux-demo.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$1"; }
port_of() { # file marker -> port
  for _ in $(seq 1 200); do
    if grep -q "$2" "$1" 2>/dev/null; then
      grep -o "$2[0-9.]*:[0-9]*" "$1" | head -1 | sed 's/.*://'; return 0
    fi
    sleep 0.05
  done
  echo "demo: no '$2' in $1:" >&2; cat "$1" >&2; exit 1
}
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting three mock execution clients (enginemux-mock-el) on 127.0.0.1"
NODES=""
for i in 1 2 3; do
  secret "$WORK/el$i.jwt"
  "$MOCK" --port 0 --jwt-secret "$WORK/el$i.jwt" --name "el$i" >"$WORK/el$i.out" 2>"$WORK/el$i.err" &
  PIDS+=($!)
  port=$(port_of "$WORK/el$i.out" "listening on ")
  eval "EL${i}_PORT=$port; EL${i}_PID=$!"
  echo "  el$i  http://127.0.0.1:$port  (its own JWT secret)"
  NODES="$NODES${NODES:+,}http://127.0.0.1:$port#jwt-secret=$WORK/el$i.jwt#name=el$i"
done

say "starting enginemux in front of them (quorum 0.6, block-hash checks on)"
secret "$WORK/cl.jwt"
cat >"$WORK/enginemux.toml" <<TOML
[health]
interval_ms = 500
failback_hold_ms = 2000
TOML
"$EM" --nodes "$NODES" --jwt-secret "$WORK/cl.jwt" --port 0 --admin-listen 127.0.0.1:0 \
  --config "$WORK/enginemux.toml" >"$WORK/em.out" 2>"$WORK/em.err" &
EM_PID=$!
PIDS+=($EM_PID)
PORT=$(port_of "$WORK/em.err" "listening on ")
ADMIN=$(port_of "$WORK/em.err" "admin API on ")
echo "  consensus clients connect to http://127.0.0.1:$PORT (JWT-authenticated)"
echo "  admin API on http://127.0.0.1:$ADMIN (/status, /metrics)"
sleep 1

say "building 32 synthetic engine_newPayloadV4 requests (200 txs x 200 B each) with correct block hashes"
"$EM" payload-example --version 4 --txs 200 --tx-bytes 200 --count 32 >"$WORK/payloads.json"
ZERO=0x0000000000000000000000000000000000000000000000000000000000000000
HEAD=0x$(printf 'ab%.0s' $(seq 1 32))
cat >"$WORK/cl.mix" <<MIX
# what a consensus client sends, roughly: payloads, fork choice, a few eth_* reads
40 @payloads.json
30 engine_forkchoiceUpdatedV3 [{"headBlockHash":"$HEAD","safeBlockHash":"$HEAD","finalizedBlockHash":"$ZERO"},null]
20 eth_blockNumber
10 eth_chainId
MIX

run_load() {
  "$LOAD" --target "http://127.0.0.1:$PORT" --jwt-secret "$WORK/cl.jwt" --mix "$WORK/cl.mix" \
    --rate "$RATE" --connections 16 --duration "${SECONDS_PER_PHASE}s" --warmup 1s --quiet
}
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v k="$1" '$1==k {print $2}'; }
votes() {
  for s in VALID INVALID SYNCING; do
    printf '  told the CL %-8s %s\n' "$s:" "$(metric "enginemux_vote_answers_total{status=\"$s\"}")"
  done
  printf '  block hashes checked: %s, mismatches: %s, disagreements logged: %s\n' \
    "$(metric enginemux_block_hash_checked_total)" "$(metric enginemux_block_hash_mismatch_total)" \
    "$(metric enginemux_disagreements_total)"
}
nodes() {
  curl -s "http://127.0.0.1:$ADMIN/status" | python3 -c '
import json,sys
s=json.load(sys.stdin)
print("  primary: %s" % s["primary"])
for n in s["nodes"]:
    print("  %-4s %-8s probe %6d us  calls %6d  errors %5d  %s" % (n["name"], n["state"], n["resp_time_us"], n["calls"], n["errors"], n["reason"]))'
}

say "phase 1: healthy — $RATE requests/s for ${SECONDS_PER_PHASE}s"
run_load
votes
nodes

say "phase 2: el3 starts answering INVALID to every newPayload"
curl -s -X POST --data-binary 'engine_newPayload*:status=INVALID,lvh=null,validation_error=demo: el3 disagrees' \
  "http://127.0.0.1:$EL3_PORT/mock/rules" >/dev/null
run_load
votes
echo "  (an INVALID minority makes enginemux answer SYNCING, never VALID; a log line per disagreement:)"
grep -m2 "disagreement" "$WORK/em.err" | cut -c1-220 | sed 's/^/    /'

say "phase 3: el3 is killed (SIGKILL); two of three still make the quorum"
kill -9 "$EL3_PID" 2>/dev/null || true
sleep 1
run_load
votes
nodes

say "done: what enginemux logged"
grep -v disagreement "$WORK/em.err" | cut -c1-200 | sed 's/^/  /' | tail -12

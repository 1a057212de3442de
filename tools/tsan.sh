#!/bin/sh
# ThreadSanitizer (clang) over the tests whose code crosses threads (issue 19, item 9). Builds
# build-tsan/ (only the targets below) and runs:
#   unit         pipeline_shared_tables (the rpc shards' filter and sticky tables from several
#                threads), base (MPSC/SPSC queues, the async log writer), io (Loop::post from
#                plain threads and from other loops: MSG_RING and eventfd wake-ups), upstream
#                (HealthBoard seqlock: prober and shard writers, readers), net (server, client
#                and node on real sockets)
#   integration  mux, admin and churn: the TSan-built daemon under load, with admin API reads
#                (/status, /metrics: the shard's counters and the board), node adds and removals
#                (registry updates and tasks posted to the shard) and ELs dying (shards reporting
#                failures to the board); churn repeats EM_CHURN_REPEAT times (default 5); sync
#                (the sync role: /status and /metrics read its clients' seqlocked records while
#                the shard writes them, and a reload posts its settings); rpc and rpc_redis
#                (the shared answer cache and budgets, the Redis client, /status and /metrics);
#                rpc_shards (two rpc shards sharing the cache, budgets, breakers, sticky and
#                filter tables; node changes, heartbeats and stops posted to both);
#                load_integration (enginemux-load's worker threads) and mockel_integration (the
#                mock EL's threads and shared state)
#   soak         tests/soak for 30 s + 30 s at 100 req/s with every process TSan-built (daemon,
#                mock ELs, enginemux-load, the test itself: an EL restarted on one thread while
#                another starts processes); only its races and its contract violations count
#                here, so its p99 and RSS bounds are relaxed (TSan's own cost and shadow memory)
# A race aborts the process that found it (halt_on_error); reports go to build-tsan/tsan-reports/
# (log_path: a daemon's report would otherwise vanish with the test's temporary files) and are
# printed; any report fails the run. tools/tsan.supp holds suppressions for known-benign reports
# in third-party code only, each with its reason (none are needed today).
set -eu
cd "$(dirname "$0")/.."
if [ ! -f build-tsan/build.ninja ]; then
  CXX=clang++ CC=clang meson setup build-tsan --buildtype=debugoptimized -Db_sanitize=thread \
    -Db_lundef=false -Dbenchmarks=disabled >/dev/null
fi
ninja -C build-tsan \
  tests/base/test_base tests/io/test_io tests/upstream/test_upstream tests/net/test_net \
  src/app/enginemux src/mockel/enginemux-mock-el \
  tests/integration/test_mux tests/integration/test_admin tests/integration/test_churn \
  tests/integration/test_sync tests/integration/test_rpc tests/integration/test_rpc_redis \
  tests/integration/test_rpc_shards tests/pipeline/test_pipeline_shared_tables \
  bench/load/enginemux-load bench/load/test_load_integration tests/mockel/test_mockel_integration \
  tests/soak/test_soak
reports="$PWD/build-tsan/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$reports/tsan suppressions=$PWD/tools/tsan.supp"
export TSAN_OPTIONS
status=0
EM_CHURN_REPEAT=${EM_CHURN_REPEAT:-5} \
  meson test -C build-tsan --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 5 \
  base io upstream net mux admin churn sync rpc rpc_redis rpc_shards pipeline_shared_tables \
  load_integration mockel_integration ||
  status=$?
echo "== soak under ThreadSanitizer (30 s + 30 s)"
EM_SOAK_SECONDS=30 EM_SOAK_RATE=100 EM_SOAK_P99_SLACK_MS=60000 EM_SOAK_RSS_FLAT_PCT=100 \
  EM_ENGINEMUX=build-tsan/src/app/enginemux EM_MOCK_EL=build-tsan/src/mockel/enginemux-mock-el \
  EM_LOAD=build-tsan/bench/load/enginemux-load build-tsan/tests/soak/test_soak >build-tsan/soak.log 2>&1 ||
  soak=$?
case ${soak:-0} in
  0) grep -E "violations|OK \]" build-tsan/soak.log ;;
  77) echo "soak SKIP: $(tail -1 build-tsan/soak.log)" ;;  # no io_uring here (meson's exit 77)
  *) status=$soak; cat build-tsan/soak.log >&2 ;;
esac
found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  for f in $found; do
    echo "== ThreadSanitizer report $f" >&2
    cat "$f" >&2
  done
  echo "tools/tsan.sh: ThreadSanitizer reported $(echo "$found" | wc -l) problem(s)" >&2
  exit 1
fi
exit $status

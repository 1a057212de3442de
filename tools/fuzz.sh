#!/bin/sh
# Builds every libFuzzer target (clang, ASan+UBSan; build-fuzz/) and runs each for
# FUZZ_SECONDS (default 60) on its committed corpus, two at a time. New corpus entries go to a
# temporary directory (the committed corpus is not modified); a crash fails the run and leaves
# the reproducer in build-fuzz/artifacts/.
set -eu
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
tools/setup-fuzz-build.sh
ninja -C build-fuzz
mkdir -p build-fuzz/artifacts
targets=$(find build-fuzz/fuzz -maxdepth 2 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "no fuzz targets built" >&2; exit 1; }
fail=0
run_one() {
  bin=$1
  name=$(basename "$bin")
  name=${name#fuzz_}
  corpus=$(find fuzz -type d -path "*/corpus/$name" | head -1)
  work=$(mktemp -d)
  echo "fuzz $name: ${seconds}s on ${corpus:-empty corpus}"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
       "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/artifacts/"$name"- "$work" ${corpus:+"$corpus"} \
       >build-fuzz/artifacts/"$name".log 2>&1; then
    echo "FUZZ FAILURE: $name (see build-fuzz/artifacts/$name.log)" >&2
    tail -40 build-fuzz/artifacts/"$name".log >&2
    rm -rf "$work"
    return 1
  fi
  grep -E "stat::number_of_executed_units|Done" build-fuzz/artifacts/"$name".log | tail -1
  rm -rf "$work"
}
set -- $targets
while [ $# -gt 0 ]; do
  a=$1; shift
  if [ $# -gt 0 ]; then
    b=$1; shift
    run_one "$a" & pa=$!
    run_one "$b" & pb=$!
    wait $pa || fail=1
    wait $pb || fail=1
  else
    run_one "$a" || fail=1
  fi
done
exit $fail

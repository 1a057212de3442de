#!/bin/sh
# Builds with clang + AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit and fuzz
# replay suites, then the admin node-churn scenario (issue 19) 20 times with the sanitized
# daemon. The build (build-fuzz/) is the one tools/fuzz.sh fuzzes from, so CI compiles the
# sanitized tree once: the libraries carry libFuzzer's coverage instrumentation too, which only
# makes these tests a little slower.
set -eu
cd "$(dirname "$0")/.."
tools/setup-fuzz-build.sh
ninja -C build-fuzz
# The seeded simulators (validator_scenarios, pipeline_simulator) run several times slower under
# ASan+UBSan with libFuzzer's coverage instrumentation: their timeouts are multiplied.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-fuzz --print-errorlogs --num-processes 2 --timeout-multiplier 5 \
  --suite unit --suite fuzz-replay
# A completion delivered into a freed node crashed the daemon only sometimes; under ASan every
# touch of freed memory aborts it. 20 repetitions (fresh daemon and ELs each) take well under
# two minutes.
EM_CHURN_REPEAT=20 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  meson test -C build-fuzz --print-errorlogs churn

#!/bin/sh
# Entry point of the interop suite's meson tests: `run.sh SCENARIO` runs tests/interop/SCENARIO.mjs
# with node. Exits 77 (meson SKIP) with the reason when node is missing; the scenario itself
# skips when npm or the registry is unreachable (see lib/harness.mjs).
here=$(cd "$(dirname "$0")" && pwd)
scenario=${1:?usage: run.sh mux|failover|prague|passthrough|rpc|rpc_anvil|ws|sync|builder}
if ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node is not installed (the interop suite runs real clients from npm: tools/deps.sh interop installs nodejs and npm)"
  exit 77
fi
exec node "$here/$scenario.mjs" "$scenario"

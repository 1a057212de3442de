#!/bin/sh
# Installs the Debian 12 packages a task needs, if any are missing (apt-get; sudo when not root).
# usage: tools/deps.sh build|test|ci|bench|package|interop|all ...
set -eu
build="g++ meson ninja-build pkg-config git ca-certificates liburing-dev libsimdjson-dev
  libmimalloc-dev libssl-dev libexpected-dev libtomlplusplus-dev libcli11-dev curl procps"
test="$build libgtest-dev libgmock-dev libbenchmark-dev libcrypto++-dev python3 etcd-server
  nodejs npm make python-is-python3 strace build-essential dpkg-dev debhelper fakeroot rpm
  lintian openssl prometheus tmux python3-yaml clang-format clang-tidy nginx redis-server"
ci="$test clang libclang-rt-14-dev"
bench="$build libbenchmark-dev nginx haproxy gnuplot-nox python3"
package="$build build-essential dpkg-dev debhelper fakeroot rpm lintian"
# real clients from npm: node-gyp builds native modules (Lodestar's blst runs `python`); nginx
# fronts the sync scenario
interop="$build nodejs npm make python3 python-is-python3 nginx"
want=""
for set in "$@"; do
  case "$set" in
    build) want="$want $build" ;;
    test) want="$want $test" ;;
    ci) want="$want $ci" ;;
    bench) want="$want $bench" ;;
    package) want="$want $package" ;;
    interop) want="$want $interop" ;;
    all) want="$want $ci $bench $package" ;;
    *) echo "tools/deps.sh: unknown set '$set' (build|test|ci|bench|package|all)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $want; do
  case " $missing " in *" $p "*) continue ;; esac
  # Node.js from another source (e.g. nodesource, which bundles npm) conflicts with Debian's
  # npm package: a working node and npm are enough.
  case "$p" in nodejs|npm) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;; esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

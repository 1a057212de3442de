#!/bin/sh
# The version mapping of packaging/common.sh (docs/PACKAGING.md "Versions"): the documented
# table, rejection of unmappable input, the order dpkg and rpm give the mapped versions (when
# those tools are present), and that this tree's own version maps.
set -eu
src=${EM_SOURCE_ROOT:?set by meson}
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
map() {
  sh -c '. "$1/packaging/common.sh"; em_version_map "$2"' sh "$src" "$1"
}

while read -r from want; do
  got=$(map "$from") || got="(failed)"
  [ "$got" = "$want" ] || fail "$from -> $got, documented: $want"
done <<'TABLE'
1.2.3 1.2.3
1.2.3-rc1 1.2.3~rc1
1.2.3-5-gabc1234 1.2.3+5.gabc1234
1.2.3-5-gabc1234-dirty 1.2.3+5.gabc1234.dirty
1.2.3-rc1-2-gabc1234 1.2.3~rc1+2.gabc1234
0.1.0+gabc1234-dirty 0.1.0+gabc1234.dirty
0.1.0+gabc1234 0.1.0+gabc1234
TABLE

for bad in "" "abc" "v1.0" "1.0 2" "1.0/2"; do
  if got=$(map "$bad"); then fail "'$bad' mapped to '$got' instead of failing"; fi
done

own=$("$src/tools/version.sh")
map "$own" >/dev/null || fail "this tree's version '$own' does not map"

# Each version must sort strictly before the next one.
order="1.2.3~rc1 1.2.3~rc1+2.gabc1234 1.2.3 1.2.3+5.gabc1234 1.2.3+6.g0123abc 1.2.4"
checked=""
if command -v dpkg >/dev/null; then
  prev=""
  for v in $order; do
    [ -z "$prev" ] || dpkg --compare-versions "$prev-1" lt "$v-1" || fail "dpkg: $prev is not before $v"
    prev=$v
  done
  checked="$checked dpkg"
fi
if command -v rpm >/dev/null; then
  prev=""
  for v in $order; do
    if [ -n "$prev" ]; then
      c=$(rpm --eval "%{lua: print(rpm.vercmp('$prev-1', '$v-1'))}")
      [ "$c" = "-1" ] || fail "rpm: $prev is not before $v (vercmp $c)"
    fi
    prev=$v
  done
  checked="$checked rpm"
fi
echo "version mapping: order checked with:${checked:- nothing (no dpkg, no rpm)}"
[ $failures -eq 0 ]

#!/bin/sh
# Checks that the SIMD Keccak libraries define no weak or unique symbols. Such a symbol (an
# inline function or template instantiated there, compiled with -mavx2/-mavx512f) could be the
# copy the linker keeps for every caller, and then AVX instructions would run before, or
# without, the CPUID check. Usage: check_simd_symbols.sh NM LIB.a...
set -eu
nm_tool=$1
shift
status=0
for lib in "$@"; do
    # nm -P: "name type value size"; W/V = weak, u = GNU unique.
    bad=$("$nm_tool" -P --defined-only "$lib" | awk '$2 ~ /^[WVu]$/ { print $1 }')
    if [ -n "$bad" ]; then
        echo "FAIL: $lib defines shared (weak/unique) symbols compiled with SIMD flags:" >&2
        echo "$bad" | sed 's/^/  /' >&2
        status=1
    else
        echo "ok: $lib defines no weak or unique symbols"
    fi
done
exit $status

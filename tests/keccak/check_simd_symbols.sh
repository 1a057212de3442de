#!/bin/sh
# Checks that the SIMD Keccak libraries define no weak functions. A weak function there (an
# inline function or template instantiated in that file, compiled with -mavx2/-mavx512f) could
# be the copy the linker keeps for every caller, and then AVX instructions would run before, or
# without, the CPUID check. Weak data (V: e.g. the typeinfo that -fsanitize=function emits) holds
# no instructions and is allowed. Usage: check_simd_symbols.sh NM LIB.a...
set -eu
nm_tool=$1
shift
status=0
for lib in "$@"; do
    # nm -P: "name type [value size]"; W = weak function (V = weak object, u = unique object).
    bad=$("$nm_tool" -P --defined-only "$lib" | awk '$2 == "W" { print $1 }')
    if [ -n "$bad" ]; then
        echo "FAIL: $lib defines weak functions compiled with SIMD flags:" >&2
        echo "$bad" | sed 's/^/  /' >&2
        status=1
    else
        echo "ok: $lib defines no weak functions"
    fi
done
exit $status

#!/bin/sh
# Checks that AVX code stays inside the SIMD Keccak libraries, so that nothing runs AVX
# instructions before (or without) the CPUID check:
#  1. the baseline library (dispatcher, portable, reference) contains no VEX/EVEX instruction
#     (mnemonic v*, or ymm/zmm/mask registers);
#  2. the SIMD libraries define no weak functions: such a function (an inline function or
#     template instantiated there, compiled with -mavx2/-mavx512f) could be the copy the linker
#     keeps for every caller. Weak data (V: e.g. the typeinfo that -fsanitize=function emits)
#     holds no instructions and is allowed.
# Usage: check_simd_isolation.sh NM OBJDUMP BASELINE.a SIMD.a...
set -eu
nm_tool=$1
objdump_tool=$2
baseline=$3
shift 3
status=0
avx=$("$objdump_tool" -d --no-show-raw-insn "$baseline" |
      awk -F'\t' '$2 ~ /^v/ || $2 ~ /%[yz]mm|%k[0-7]/ { print "  " $0 }' | head -20)
if [ -n "$avx" ]; then
    echo "FAIL: $baseline (baseline flags) contains AVX instructions:" >&2
    echo "$avx" >&2
    status=1
else
    echo "ok: $baseline contains no AVX instructions"
fi
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

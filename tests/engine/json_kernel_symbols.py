#!/usr/bin/env python3
"""The JSON kernel libraries export nothing the baseline code could bind to by mistake, and in
the linked program only their code (and the other SIMD kernels) uses instructions past x86-64.

Each level library (src/engine/meson.build) is built with -m flags the baseline CPU may lack. Its
only global symbols must be its own (namespace k_<level>); a global or weak copy of anything
else (an inline function of std::, simdjson or our headers) could be the one the linker keeps
for baseline callers, which would then run AVX2 or AVX-512 code on any CPU. -fno-weak makes those
copies local; this test proves it on the built archives. With --binary PROGRAM it also
disassembles the linked program: every function using an instruction of SSE4.1 and later (AVX
included, and BMI, LZCNT, POPCNT) must belong to a level (k_<level>, simdjson::<level>) or to
the Keccak and hex SIMD kernels.

Usage: json_kernel_symbols.py [--binary PROGRAM] LEVEL=ARCHIVE ... ; exits 77 (skip) without nm
or archives (or objdump, with --binary).
"""
import re
import shutil
import subprocess
import sys

# Allowed global symbols outside the level's namespace: the personality-routine pointer every
# C++ object with exception tables has (data, identical everywhere).
ALLOWED = {"DW.ref.__gxx_personality_v0"}
# nm types of local symbols, undefined ones, and commons (zero-size inline variables such as
# std::ranges niebloids: data the linker merges, never code).
IGNORED_TYPES = set("tdbrnNU?C")


# Instructions a baseline x86-64 CPU lacks (lzcnt would run as bsr there). Not tzcnt: g++ emits
# it for baseline code on purpose (rep bsf: the same result where BMI is missing). SSE2's
# pminub/pmaxub/pminsw/pmaxsw are baseline; SSE4.1 added the other widths.
BEYOND_BASELINE = re.compile(
    r"\t(v[a-z0-9]+|popcnt|lzcnt|andn|bextr|blsi|blsmsk|blsr|bzhi|pdep|pext|shlx|shrx|"
    r"sarx|rorx|mulx|pshufb|palignr|pabs[bwd]|phadd[wd]|phsub[wd]|pmaddubsw|pmulhrsw|psign[bwd]|"
    r"pblend[a-z]*|blendv?p[sd]|pcmpeqq|pcmpgtq|pextr[bdq]|pinsr[bdq]|pmov[sz]x[a-z]*|ptest|"
    r"pmaxsb|pmaxsd|pmaxuw|pmaxud|pminsb|pminsd|pminuw|pminud|pmulld|pmuldq|packusdw|round[sp][sd]|dpp[sd]|insertps|"
    r"extractps|mpsadbw|phminposuw|movntdqa|crc32[a-z]*|pcmp[ei]str[im]|pclmul[a-z]*|aes[a-z]*) "
    r"|%[yz]mm|%k[0-7]")
# Functions allowed to use them: the JSON levels, simdjson's own kernels, Keccak's and hex's.
ALLOWED_FUNCTIONS = re.compile(
    r"::k_(westmere|haswell|icelake)::|simdjson::(westmere|haswell|icelake)::|Avx2x4|Avx512x8|"
    r"keccak256_many_avx|hex_decode_digits_avx2|_avx2|_avx512")


def check_binary(binary: str) -> list[str]:
    objdump = shutil.which("objdump")
    if not objdump:
        return []
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", "-C", binary], check=True,
                         capture_output=True, text=True).stdout
    function = ""
    flagged = {}
    for line in out.splitlines():
        if line.endswith(">:") and " <" in line:
            function = line.split(" <", 1)[1][:-2]
        elif function and BEYOND_BASELINE.search(line) and not ALLOWED_FUNCTIONS.search(function):
            flagged.setdefault(function, line.strip())
    return [f"{binary}: {f} uses {insn}" for f, insn in flagged.items()]


def main() -> int:
    args = sys.argv[1:]
    binary = None
    if len(args) >= 2 and args[0] == "--binary":
        binary, args = args[1], args[2:]
    nm = shutil.which("nm")
    if not nm or not args or (binary and not shutil.which("objdump")):
        print("skip: nm, objdump or archives missing")
        return 77
    problems = check_binary(binary) if binary else []
    for arg in args:
        level, archive = arg.split("=", 1)
        out = subprocess.run([nm, "-C", "--defined-only", archive], check=True,
                             capture_output=True, text=True).stdout
        own = f"::k_{level}::"
        count = 0
        for line in out.splitlines():
            parts = line.split(" ", 2)
            if len(parts) != 3 or len(parts[1]) != 1:
                continue
            kind, name = parts[1], parts[2]
            if kind in IGNORED_TYPES or name in ALLOWED:
                continue
            count += 1
            if own not in name:
                problems.append(f"{archive}: global {kind} {name}")
        if count == 0:
            problems.append(f"{archive}: no global symbol of k_{level} (not a kernel library?)")
    for p in problems[:50]:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s): code built for a level could run on CPUs without it")
        return 1
    print(f"{len(args)} kernel libraries export only their own namespace" +
          (f"; {binary} uses instructions past x86-64 only in SIMD kernels" if binary else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The JSON kernel libraries export nothing the baseline code could bind to by mistake.

Each level library (src/engine/meson.build) is built with -m flags the baseline CPU may lack. Its
only global symbols must be its own (namespace k_<level>); a global or weak copy of anything
else (an inline function of std::, simdjson or our headers) could be the one the linker keeps
for baseline callers, which would then run AVX2 or AVX-512 code on any CPU. -fno-weak makes those
copies local; this test proves it on the built archives.

Usage: json_kernel_symbols.py LEVEL=ARCHIVE ... ; exits 77 (skip) without nm or archives.
"""
import shutil
import subprocess
import sys

# Allowed global symbols outside the level's namespace: the personality-routine pointer every
# C++ object with exception tables has (data, identical everywhere).
ALLOWED = {"DW.ref.__gxx_personality_v0"}
# nm types of local symbols, undefined ones, and commons (zero-size inline variables such as
# std::ranges niebloids: data the linker merges, never code).
IGNORED_TYPES = set("tdbrnNU?C")


def main() -> int:
    nm = shutil.which("nm")
    if not nm or len(sys.argv) < 2:
        print("skip: nm or archives missing")
        return 77
    problems = []
    for arg in sys.argv[1:]:
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
        print(f"{len(problems)} symbol(s) could be shared with baseline code")
        return 1
    print(f"{len(sys.argv) - 1} kernel libraries export only their own namespace")
    return 0


if __name__ == "__main__":
    sys.exit(main())

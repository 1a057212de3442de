#!/usr/bin/env python3
"""tidy: the C++ under src/, tests/, bench/ and fuzz/ is as clang-format 14 writes it.

.clang-format at the root holds the style (100 columns). Pinned to clang-format 14, Debian 12's:
another version formats some constructs differently, so with another one the check skips.

usage: format.py [--root DIR] [--fix] [FILE...]
  --fix   rewrites the files in place (tools/tidy/format --fix); the check then passes
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

FOLDERS = ['src', 'tests', 'bench', 'fuzz']
VERSION = 14
FINDING = re.compile(r'^(.+?):(\d+):(\d+): (?:error|warning): (.*)$')


def clang_format_binary():
    """clang-format 14 (CLANG_FORMAT, clang-format-14 or clang-format), or (None, why)."""
    for name in (os.environ.get('CLANG_FORMAT'), f'clang-format-{VERSION}', 'clang-format'):
        if name and shutil.which(name):
            out = subprocess.run([name, '--version'], capture_output=True, text=True).stdout
            m = re.search(r'version (\d+)', out)
            if m and int(m.group(1)) == VERSION:
                return shutil.which(name), None
            return None, (f'{name} is not clang-format {VERSION} ({out.strip()}): the style is '
                          f'pinned to {VERSION}, which formats some constructs differently')
    return None, 'clang-format not found: tools/deps.sh test installs it (clang-format)'


def chunks(items, n):
    return [items[i::n] for i in range(n) if items[i::n]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=common.ROOT)
    parser.add_argument('--fix', action='store_true', help='rewrite the files in place')
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('files', nargs='*')
    args = parser.parse_args()
    tool, why = clang_format_binary()
    if tool is None:
        print(why, file=sys.stderr)
        return common.SKIP
    files = args.files or common.cxx_files(args.root, FOLDERS)
    if args.fix:
        mode = ['-i']
    else:
        mode = ['--dry-run', '--Werror', '--ferror-limit=1']
    # --style=file finds the .clang-format above each file.
    commands = [[tool, '--style=file'] + mode + part for part in chunks(files, args.jobs)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(lambda c: subprocess.run(c, cwd=args.root, capture_output=True,
                                                      text=True), commands))
    if args.fix:
        failed = [r for r in runs if r.returncode != 0]
        for r in failed:
            print(r.stderr, file=sys.stderr)
        return 1 if failed else 0
    findings = []
    for r in runs:
        for line in r.stderr.splitlines():
            m = FINDING.match(line)
            if m:
                findings.append(f'{m.group(1)}:{m.group(2)}: not as clang-format writes it '
                                f'(column {m.group(3)})')
        if r.returncode != 0 and not any(FINDING.match(l) for l in r.stderr.splitlines()):
            findings.append(f'.clang-format:1: clang-format failed: {r.stderr.strip()}')
    return common.report('format', sorted(set(findings)),
                         'run tools/tidy/format --fix, or see the diff with clang-format FILE')


if __name__ == '__main__':
    sys.exit(main())

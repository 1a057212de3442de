#!/usr/bin/env python3
"""tidy: every header under src/ compiles on its own.

For each header it writes a .cpp that includes it twice (the second include also proves its
#pragma once) and compiles it with -fsyntax-only, with the flags the build uses for a source
of the same folder (compile_commands.json). A header that compiled is not compiled again until
it or a header it reads changes, nor with other flags (stamps under <build>/tidy/headers/).

usage: headers.py [--root DIR] [--build DIR] [--jobs N] [HEADER...]
"""
import concurrent.futures
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def flags_for(header, root, flags):
    """The compile command (directory, arguments) of the source that best stands for a header:
    its own .cpp, else one in its folder, else in the nearest folder above it."""
    path = os.path.join(root, header)
    own = os.path.splitext(path)[0] + '.cpp'
    if own in flags:
        return flags[own][:2]
    folder = os.path.dirname(path)
    while folder.startswith(os.path.join(root, 'src')):
        for source in sorted(flags):
            if os.path.dirname(source) == folder:
                return flags[source][:2]
        folder = os.path.dirname(folder)
    return None


def check_header(header, root, work, flags):
    """Compiles one header alone; returns a finding or None."""
    command = flags_for(header, root, flags)
    if command is None:
        return f'{header}:1: no source of its folder is in compile_commands.json'
    directory, args = command
    cpp = os.path.join(work, header + '.cpp')
    stamp = cpp + '.stamp'
    depfile = cpp + '.d'
    run = args + ['-fsyntax-only', '-fdiagnostics-color=never', '-MD', '-MF', depfile,
                  '-MT', 'header', cpp]
    if common.stamp_fresh(stamp, run):
        return None
    os.makedirs(os.path.dirname(cpp), exist_ok=True)
    include = os.path.relpath(header, 'src')
    with open(cpp, 'w', encoding='utf-8') as f:
        f.write(f'#include "{include}"\n#include "{include}"\n')
    started_ns = time.time_ns()
    done = subprocess.run(run, cwd=directory, capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL='C'))  # plain quotes in the messages
    if done.returncode != 0:
        return (f'{header}:1: does not compile on its own (an include it relies on is missing?):\n'
                + common.indent(done.stderr + f'\ncommand: cd {directory} && {shlex.join(run)}'))
    deps = [d for d in common.read_depfile(depfile, directory) if d != cpp]  # cpp: written now
    common.write_stamp(stamp, run, deps, started_ns)
    return None


def main():
    parser = common.compiling_checks_parser(__doc__)
    parser.add_argument('headers', nargs='*')
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    flags = common.compile_commands(os.path.abspath(args.build))
    if flags is None:
        return common.SKIP
    work = os.path.join(os.path.abspath(args.build), 'tidy', 'headers')
    headers = args.headers or [h for h in common.cxx_files(root, ['src'], ('.h', '.hpp'))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = pool.map(lambda h: check_header(h, root, work, flags), headers)
        findings = [r for r in results if r]
    return common.report('headers', findings, 'each header must include what it uses')


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env python3
"""tidy: every header under src/ compiles on its own.

For each header it writes a .cpp that includes it twice (the second include also proves its
#pragma once) and compiles it with -fsyntax-only, with the flags the build uses for a source
of the same folder (compile_commands.json). A header that compiled is not compiled again until
it or a header it reads changes, nor with other flags (stamps under <build>/tidy/headers/).

usage: headers.py [--root DIR] [--build DIR] [--jobs N] [HEADER...]
"""
import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def compile_flags(build):
    """{source path relative to the root: its compile command's arguments without -c, -o and
    the dependency-file options}, for the sources under src/."""
    with open(os.path.join(build, 'compile_commands.json'), encoding='utf-8') as f:
        entries = json.load(f)
    flags = {}
    for e in entries:
        source = os.path.normpath(os.path.join(e['directory'], e['file']))
        args = e['arguments'] if 'arguments' in e else shlex.split(e['command'])
        kept = []
        skip = False
        for a in args[1:]:
            if skip:
                skip = False
            elif a in ('-o', '-c', '-MQ', '-MF', '-MT'):
                skip = True
            elif a in ('-MD', '-MMD') or a.startswith('-fdiagnostics-color'):
                pass
            else:
                kept.append(a)
        flags[source] = (e['directory'], [args[0]] + kept)
    return flags


def flags_for(header, root, flags):
    """The compile command of the source that best stands for a header: its own .cpp, else one
    in its folder, else in the nearest folder above it."""
    path = os.path.join(root, header)
    own = os.path.splitext(path)[0] + '.cpp'
    if own in flags:
        return flags[own]
    folder = os.path.dirname(path)
    while folder.startswith(os.path.join(root, 'src')):
        for source in sorted(flags):
            if os.path.dirname(source) == folder:
                return flags[source]
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
                + '\n'.join('    ' + line for line in done.stderr.rstrip().splitlines())
                + f'\n    command: cd {directory} && {shlex.join(run)}')
    deps = [d for d in common.read_depfile(depfile, directory) if d != cpp]  # cpp: written now
    common.write_stamp(stamp, run, deps, started_ns)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=common.ROOT)
    parser.add_argument('--build', default=os.environ.get('EM_BUILD_ROOT',
                                                          os.path.join(common.ROOT, 'build')))
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument('headers', nargs='*')
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    if not os.path.exists(os.path.join(args.build, 'compile_commands.json')):
        print(f'no {args.build}/compile_commands.json: run meson setup first', file=sys.stderr)
        return common.SKIP
    flags = compile_flags(os.path.abspath(args.build))
    work = os.path.join(os.path.abspath(args.build), 'tidy', 'headers')
    headers = args.headers or [h for h in common.cxx_files(root, ['src'], ('.h', '.hpp'))]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = pool.map(lambda h: check_header(h, root, work, flags), headers)
        findings = [r for r in results if r]
    return common.report('headers', findings, 'each header must include what it uses')


if __name__ == '__main__':
    sys.exit(main())

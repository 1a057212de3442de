#!/usr/bin/env python3
"""tidy: clang-tidy (14, the checks in .clang-tidy) finds nothing in src/.

Runs clang-tidy on every source under src/ listed in the build's compile_commands.json, with
--jobs processes (2 by default), reporting findings in src/ headers too. A source that came out
clean is not checked again until it, a header it reads (the build's own dependency file says
which) or .clang-tidy changes (stamps under <build>/tidy/clang-tidy/); --all ignores them.

usage: clang_tidy.py [--root DIR] [--build DIR] [--jobs N] [--all] [SOURCE...]
"""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

FINDING = re.compile(r'^([^\s:][^:]*):(\d+):(\d+): (warning|error): (.*)$')


def clang_tidy_binary():
    for name in (os.environ.get('CLANG_TIDY'), 'clang-tidy-14', 'clang-tidy'):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def first_commands_dir(build):
    """A folder holding the build's compile_commands.json with one command per source: the
    first without -fno-weak, else the first. clang-tidy runs every command a source has, and the
    JSON kernels compile jsonrpc/walk.cpp, jsonrpc/request.cpp, eth/payload_decode.cpp and
    engine/json_kernel_level.cpp once more per x86-64 level with g++'s -fno-weak, which clang
    rejects; the command without it is the baseline one."""
    with open(os.path.join(build, 'compile_commands.json'), encoding='utf-8') as f:
        entries = json.load(f)
    chosen = {}
    for e in entries:
        source = os.path.normpath(os.path.join(e['directory'], e['file']))
        text = e.get('command') or ' '.join(e.get('arguments', []))
        gcc_only = '-fno-weak' in text.split()
        if source not in chosen or (chosen[source][0] and not gcc_only):
            chosen[source] = (gcc_only, e)
    kept = [e for _, e in chosen.values()]
    folder = os.path.join(build, 'tidy', 'clang-tidy')
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, 'compile_commands.json')
    text = json.dumps(kept, indent=1)
    if not os.path.exists(path) or open(path, encoding='utf-8').read() != text:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    return folder


def check_source(path, info, root, build, db, tool, key, use_stamps):
    """Runs clang-tidy on one source (commands from the folder db); returns its findings
    (formatted) or []."""
    directory, depfile = info
    stamp = os.path.join(build, 'tidy', 'clang-tidy', os.path.relpath(path, root) + '.stamp')
    if use_stamps and common.stamp_fresh(stamp, key):
        return []
    started_ns = time.time_ns()
    run = [tool, '-p', db, '--quiet', f'--header-filter=^{re.escape(root)}/src/',
           '--extra-arg=-Wno-unknown-warning-option', path]
    done = subprocess.run(run, cwd=directory, capture_output=True, text=True)
    findings = []
    lines = done.stdout.splitlines()
    for k, line in enumerate(lines):
        m = FINDING.match(line)
        if m:
            rel = os.path.relpath(os.path.join(directory, m.group(1)), root)
            # the source line and the caret clang-tidy prints under it
            context = common.indent('\n'.join(lines[k + 1:k + 3]))
            message = m.group(5).replace(',-warnings-as-errors]', ']')
            findings.append(f'{rel}:{m.group(2)}:{m.group(3)}: {message}\n{context}')
    if done.returncode != 0 and not findings:
        findings.append(f'{os.path.relpath(path, root)}:1: clang-tidy failed '
                        f'(exit {done.returncode}):\n{common.indent(done.stderr)}')
    if not findings:
        # The dependency file is rewritten whenever the object is rebuilt (new flags too).
        deps = common.read_depfile(depfile, directory) + [path, os.path.join(root, '.clang-tidy')]
        if os.path.exists(depfile):
            deps.append(depfile)
        common.write_stamp(stamp, key, deps, started_ns)
    return findings


def main():
    parser = common.compiling_checks_parser(__doc__)
    parser.add_argument('--all', action='store_true', help='check every source, ignoring stamps')
    parser.add_argument('sources', nargs='*')
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    build = os.path.abspath(args.build)
    tool = clang_tidy_binary()
    if tool is None:
        print('clang-tidy not found: tools/deps.sh test installs it (clang-tidy)', file=sys.stderr)
        return common.SKIP
    commands = common.compile_commands(build)
    if commands is None:
        return common.SKIP
    src = os.path.join(root, 'src') + os.sep
    found = {path: (c[0], c[2]) for path, c in commands.items() if path.startswith(src)}
    version = subprocess.run([tool, '--version'], capture_output=True, text=True).stdout.strip()
    if args.sources:
        wanted = {os.path.abspath(s) for s in args.sources}
        found = {p: i for p, i in found.items() if p in wanted}
    key = [version]
    db = first_commands_dir(build)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = pool.map(
            lambda p: check_source(p, found[p], root, build, db, tool, key, not args.all),
            sorted(found))
        findings = sorted({f for r in results for f in r})  # a header's finding comes once
    print(f'tidy/clang_tidy: {len(found)} sources in {time.monotonic() - start:.0f} s',
          file=sys.stderr)
    return common.report('clang_tidy', findings, 'fix them, or NOLINT(check) with the reason')


if __name__ == '__main__':
    sys.exit(main())

"""What the tidy checks share: the repository root, the files they scan, the layer order.

The checks (tools/tidy/*.py, README "Tests", docs/ARCHITECTURE.md "House rules") each print
`path:line: what is wrong` per finding and exit 1 if there was any, 0 if none, 77 (SKIP) when a
tool they need is missing. Each takes --root DIR so its own test (tests/tidy/selftest.py) can
run it on fixture trees; tests/tidy/fixtures/ is never scanned as product code.
"""
import argparse
import json
import os
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CXX_EXTENSIONS = ('.h', '.hpp', '.cpp', '.cc')
# Planted violations for the checks' own test: never product code.
FIXTURES = os.path.join('tests', 'tidy', 'fixtures')
SKIP = 77


def cxx_files(root, folders, extensions=CXX_EXTENSIONS):
    """Paths (relative to root, sorted) of the C++ files under the given folders of root."""
    found = []
    for folder in folders:
        top = os.path.join(root, folder)
        for dirpath, dirnames, filenames in os.walk(top):
            rel_dir = os.path.relpath(dirpath, root)
            dirnames[:] = [d for d in dirnames
                           if os.path.join(rel_dir, d) != FIXTURES and not d.startswith('.')]
            for name in filenames:
                if name.endswith(extensions):
                    found.append(os.path.normpath(os.path.join(rel_dir, name)))
    return sorted(found)


def read_layers(root):
    """The layers of src/ in dependency order, from src/layers.txt (also read by src/meson.build)."""
    path = os.path.join(root, 'src', 'layers.txt')
    layers = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                layers.append(line)
    return layers


def report(check, findings, what):
    """Prints findings (already formatted 'path:line: message') and returns the exit code."""
    for finding in findings:
        print(finding)
    if findings:
        print(f'tidy/{check}: {len(findings)} finding(s); {what}', file=sys.stderr)
        return 1
    print(f'tidy/{check}: ok')
    return 0


def read_depfile(path, directory):
    """The prerequisites listed in a make-style dependency file, as absolute paths ([] if it
    cannot be read)."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read().replace('\\\n', ' ')
    except OSError:
        return []
    deps = text.split(':', 1)[1].split() if ':' in text else []
    return [os.path.normpath(os.path.join(directory, d)) for d in deps]


def stamp_fresh(stamp, key):
    """Whether a check passed with this key (its command and tool version) since every file it
    read last changed; the stamp holds the key and those files' mtimes."""
    try:
        with open(stamp, encoding='utf-8') as f:
            last = json.load(f)
    except (OSError, ValueError):
        return False
    if last.get('key') != key or not last.get('deps'):
        return False
    for path, mtime in last['deps'].items():
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return False
        except OSError:
            return False
    return True


def write_stamp(stamp, key, deps, started_ns):
    """Records that a check started at started_ns (time.time_ns()) passed with key over deps,
    unless one of them changed while it ran (then it is checked again next time)."""
    try:
        mtimes = {d: os.stat(d).st_mtime_ns for d in deps}
        if any(m >= started_ns for m in mtimes.values()):
            return
        os.makedirs(os.path.dirname(stamp), exist_ok=True)
        with open(stamp, 'w', encoding='utf-8') as f:
            json.dump({'key': key, 'deps': mtimes}, f)
    except OSError:
        pass  # no stamp: checked again next time


def compiling_checks_parser(doc):
    """The options of the checks that compile: --root, --build (the meson build directory,
    EM_BUILD_ROOT under meson test) and --jobs (processes at a time)."""
    parser = argparse.ArgumentParser(description=doc.split('\n')[0])
    parser.add_argument('--root', default=ROOT)
    parser.add_argument('--build', default=os.environ.get('EM_BUILD_ROOT',
                                                          os.path.join(ROOT, 'build')))
    parser.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    return parser


def compile_commands(build):
    """The build's compile_commands.json as {source (absolute): (directory, the command's
    arguments without -c, -o and the dependency-file options, the object's dependency file)},
    the first entry of each source; None (after saying why) when there is none."""
    path = os.path.join(build, 'compile_commands.json')
    if not os.path.exists(path):
        print(f'no {path}: run meson setup first', file=sys.stderr)
        return None
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)
    commands = {}
    for e in entries:
        source = os.path.normpath(os.path.join(e['directory'], e['file']))
        if source in commands:
            continue
        args = e['arguments'] if 'arguments' in e else shlex.split(e['command'])
        kept = []
        skip = False
        for a in args:
            if skip:
                skip = False
            elif a in ('-o', '-c', '-MQ', '-MF', '-MT'):
                skip = True
            elif a in ('-MD', '-MMD') or a.startswith('-fdiagnostics-color'):
                pass
            elif os.path.normpath(os.path.join(e['directory'], a)) != source:
                kept.append(a)
        depfile = os.path.join(e['directory'], e.get('output', '') + '.d')
        commands[source] = (e['directory'], kept, depfile)
    return commands


def indent(text):
    """A tool's output, indented under the finding it explains."""
    return '\n'.join('    ' + line for line in text.strip('\n').splitlines())

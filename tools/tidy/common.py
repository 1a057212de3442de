"""What the tidy checks share: the repository root, the files they scan, the layer order.

The checks (tools/tidy/*.py, README "Tests", docs/ARCHITECTURE.md "House rules") each print
`path:line: what is wrong` per finding and exit 1 if there was any, 0 if none, 77 (SKIP) when a
tool they need is missing. Each takes --root DIR so its own test (tests/tidy/selftest.py) can
run it on fixture trees; tests/tidy/fixtures/ is never scanned as product code.
"""
import json
import os
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

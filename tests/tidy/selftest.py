#!/usr/bin/env python3
"""The tidy checks' own test: each check passes on the fixtures that keep its rule and fails,
naming file and line, on the ones planted to break it (tests/tidy/fixtures/, a tree of its own
that no real check scans). Needs the build's compile_commands.json (EM_BUILD_ROOT) for the
compiler's flags; the clang-tidy and clang-format parts skip without those tools.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, 'fixtures')
TOOLS = os.path.join(ROOT, 'tools', 'tidy')
BUILD = os.environ.get('EM_BUILD_ROOT', os.path.join(ROOT, 'build'))
sys.path.insert(0, TOOLS)
import common  # noqa: E402
import clang_tidy  # noqa: E402
import format as clang_format  # noqa: E402
import function_length  # noqa: E402


def run(script, *args):
    """Runs a check; returns (exit code, the set of 'path:line' it reported, its output)."""
    done = subprocess.run([sys.executable, os.path.join(TOOLS, script)] + list(args),
                          capture_output=True, text=True)
    where = set()
    for line in done.stdout.splitlines():
        if line.startswith(' '):
            continue  # a finding's detail (compiler output), not a finding
        parts = line.split(':')
        if len(parts) >= 3 and parts[1].isdigit():
            where.add(f'{parts[0]}:{parts[1]}')
    return done.returncode, where, done.stdout + done.stderr


def build_flags():
    """The compiler and flags the build uses for src/base (from compile_commands.json)."""
    commands = common.compile_commands(BUILD)
    source = os.path.join(ROOT, 'src', 'base', 'result.cpp')
    if not commands or source not in commands:
        raise unittest.SkipTest('src/base/result.cpp is not in compile_commands.json')
    return commands[source][:2]


class FixtureBuild:
    """A build directory whose compile_commands.json compiles the given fixture sources (which
    need not exist: a header's check takes the flags of a source in its folder) with the real
    build's compiler and standard."""

    def __init__(self, tmp, sources):
        self.path = tmp
        directory, flags = build_flags()
        first_option = next(k for k, f in enumerate(flags) if f.startswith('-'))
        compiler = flags[:first_option]  # e.g. ['ccache', 'c++']
        std = [f for f in flags if f.startswith('-std=')]
        entries = []
        for name in sources:
            source = os.path.join(FIXTURES, name)
            command = compiler + std + ['-I', os.path.join(FIXTURES, 'src'), '-o',
                                        os.path.basename(name) + '.o', '-c', source]
            entries.append({'directory': tmp, 'file': source,
                            'output': os.path.basename(name) + '.o',
                            'command': shlex.join(command)})
        with open(os.path.join(tmp, 'compile_commands.json'), 'w', encoding='utf-8') as f:
            json.dump(entries, f)


class Layering(unittest.TestCase):
    def test_fixtures(self):
        code, where, out = run('layering.py', '--root', FIXTURES)
        self.assertEqual(code, 1, out)
        self.assertEqual(where, {'src/base/upward.h:4', 'src/orphan:1'}, out)
        self.assertIn('layer base includes "app/service.h" of layer app', out)

    def test_product_order_is_the_builds(self):
        # src/meson.build adds the layers from src/layers.txt, the list the check reads.
        with open(os.path.join(ROOT, 'src', 'meson.build'), encoding='utf-8') as f:
            self.assertIn("fs.read('layers.txt')", f.read())
        self.assertEqual(common.read_layers(ROOT)[0], 'base')


class FunctionLength(unittest.TestCase):
    def test_fixtures(self):
        code, where, out = run('function_length.py', '--root', FIXTURES, '--max', '8',
                               'src/app/lengths.cpp')
        self.assertEqual(code, 1, out)
        self.assertEqual(where, {'src/app/lengths.cpp:8', 'src/app/lengths.cpp:42',
                                 'src/app/lengths.cpp:56', 'src/app/lengths.cpp:70',
                                 'src/app/lengths.cpp:96'}, out)
        self.assertIn('function Widget::Widget is 9 lines (max 8)', out)

    def test_limit_is_80(self):
        self.assertEqual(function_length.LINES_MAX, 80)


class Headers(unittest.TestCase):
    def test_fixtures(self):
        with tempfile.TemporaryDirectory() as tmp:
            FixtureBuild(tmp, [f'src/{folder}/placeholder.cpp'
                               for folder in ('base', 'io', 'app', 'orphan')])
            code, where, out = run('headers.py', '--root', FIXTURES, '--build', tmp)
            self.assertEqual(code, 1, out)
            self.assertEqual(where, {'src/base/not_alone.h:1', 'src/base/no_pragma_once.h:1'},
                             out)
            self.assertIn("'string' in namespace 'std' does not name a type", out)
            # A header that compiled is not compiled again while nothing it reads changed...
            stamp = os.path.join(tmp, 'tidy', 'headers', 'src', 'base', 'clean.h.cpp.stamp')
            self.assertTrue(os.path.exists(stamp), out)
            # ...and the ones that failed are, and still fail.
            code, where, out = run('headers.py', '--root', FIXTURES, '--build', tmp)
            self.assertEqual(where, {'src/base/not_alone.h:1', 'src/base/no_pragma_once.h:1'})


class Nodiscard(unittest.TestCase):
    def compile(self, *defines):
        directory, flags = build_flags()
        source = os.path.join(FIXTURES, 'nodiscard.cpp')
        return subprocess.run(flags + list(defines) + ['-fsyntax-only', source], cwd=directory,
                              capture_output=True, text=True)

    def test_ignored_result_fails_the_build(self):
        done = self.compile('-DFIXTURE_PLANT')
        self.assertNotEqual(done.returncode, 0, done.stderr)
        self.assertIn('nodiscard', done.stderr)
        self.assertIn('nodiscard.cpp:14', done.stderr)

    def test_void_cast_is_allowed(self):
        done = self.compile()
        self.assertEqual(done.returncode, 0, done.stderr)


class ClangTidy(unittest.TestCase):
    def setUp(self):
        if clang_tidy.clang_tidy_binary() is None:
            self.skipTest('no clang-tidy')

    def test_fixtures(self):
        with tempfile.TemporaryDirectory() as tmp:
            FixtureBuild(tmp, ['src/app/tidy_finding.cpp', 'src/app/tidy_clean.cpp'])
            code, where, out = run('clang_tidy.py', '--root', FIXTURES, '--build', tmp)
            self.assertEqual(code, 1, out)
            self.assertEqual(where, {'src/app/tidy_finding.cpp:11',
                                     'src/app/tidy_finding.cpp:16'}, out)
            self.assertIn('[bugprone-use-after-move]', out)
            self.assertIn('[performance-for-range-copy]', out)


class ClangTidyConfig(unittest.TestCase):
    def test_every_disabled_check_says_why(self):
        with open(os.path.join(ROOT, '.clang-tidy'), encoding='utf-8') as f:
            text = f.read()
        lines = text.split('\nChecks: >\n', 1)[1].splitlines()
        checks = [line.strip().rstrip(',') for line in lines[:[not l.startswith('  ')
                                                                for l in lines].index(True)]]
        self.assertIn('bugprone-*', checks)
        disabled = [c for c in checks if c.startswith('-') and c != '-*']
        self.assertIn('-bugprone-easily-swappable-parameters', disabled)
        reasons = [line for line in text.splitlines() if line.startswith('#')]
        for check in disabled:
            self.assertTrue([r for r in reasons if f'{check}:' in r],
                            f'.clang-tidy disables {check} without a "# {check}: why" line')


class Format(unittest.TestCase):
    def setUp(self):
        if clang_format.clang_format_binary()[0] is None:
            self.skipTest(clang_format.clang_format_binary()[1])

    def test_fixtures(self):
        code, where, out = run('format.py', '--root', FIXTURES, 'src/app/format.cpp',
                               'src/app/well_formatted.cpp')
        self.assertEqual(code, 1, out)
        self.assertEqual(where, {'src/app/format.cpp:3'}, out)

    def test_fix_makes_it_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(ROOT, '.clang-format'), tmp)
            shutil.copy(os.path.join(FIXTURES, 'src', 'app', 'format.cpp'), tmp)
            code, _, out = run('format.py', '--root', tmp, '--fix', 'format.cpp')
            self.assertEqual(code, 0, out)
            code, where, out = run('format.py', '--root', tmp, 'format.cpp')
            self.assertEqual((code, where), (0, set()), out)
            with open(os.path.join(tmp, 'format.cpp'), encoding='utf-8') as f:
                self.assertIn('int badly_spaced(int x) {\n    return x + 1;\n}', f.read())

    def test_fixtures_are_not_product_code(self):
        self.assertFalse([p for p in common.cxx_files(ROOT, clang_format.FOLDERS)
                          if p.startswith(common.FIXTURES)])


if __name__ == '__main__':
    unittest.main(verbosity=2)

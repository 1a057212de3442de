#!/usr/bin/env python3
"""tidy: no function in src/ longer than 80 lines, unless it carries a waiver saying why.

A function's length is the lines from its opening brace to its closing brace, both included
(lambdas and local classes count toward the function that holds them). A waiver is a comment
`// tidy: long because <reason>` on the lines directly above the function's declaration or on
its declaration's lines.

A small C++ scanner, not a compiler: it drops comments, strings and preprocessor lines (of an
#if/#else it keeps the first branch), then follows braces through namespaces and classes to
the function bodies. Its own test (tests/tidy/selftest.py) pins what it recognises.

usage: function_length.py [--root DIR] [--max N] [FILE...]   (default: every file under src/)
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

LINES_MAX = 80
WAIVER = re.compile(r'//\s*tidy:\s*long because\s+\S')

TOKEN = re.compile(r'''
    (?P<newline>\n)
  | (?P<space>[ \t\r\f\v]+|\\\n)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<raw_string>(?:u8|[uUL])?R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)")
  | (?P<string>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
  | (?P<char>(?:u8|[uUL])?'(?:[^'\\\n]|\\.)*')
  | (?P<number>\.?\d(?:[\w.']|[eEpP][+-])*)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<punct>::|->|.)
''', re.VERBOSE | re.DOTALL)


def tokens(text):
    """Yields (text, line) for the C++ tokens of a file: no comments, no preprocessor lines;
    string and character literals become the token '""'. Of #if/#elif/#else it keeps the
    first branch, so braces stay balanced when branches repeat a function's head."""
    line = 1
    at_line_start = True
    pos = 0
    skipping = []  # per open #if: True while in a branch after the first
    while pos < len(text):
        if at_line_start:
            m = re.match(r'[ \t]*#[ \t]*(\w*)', text[pos:pos + 200])
            if m:
                end = pos
                while True:  # a directive runs to an unescaped newline (comments aside)
                    nl = text.find('\n', end)
                    if nl < 0:
                        nl = len(text)
                    if text[end:nl].rstrip('\r').endswith('\\'):
                        end = nl + 1
                        continue
                    break
                directive = m.group(1)
                if directive in ('if', 'ifdef', 'ifndef'):
                    skipping.append(False)
                elif directive in ('elif', 'else') and skipping:
                    skipping[-1] = True
                elif directive == 'endif' and skipping:
                    skipping.pop()
                line += text.count('\n', pos, nl)
                pos = nl
                continue
        if any(skipping):
            nl = text.find('\n', pos)
            if nl < 0:
                break
            pos = nl + 1
            line += 1
            at_line_start = True
            continue
        m = TOKEN.match(text, pos)
        kind = m.lastgroup if m.lastgroup != 'delim' else 'raw_string'
        value = m.group(0)
        pos = m.end()
        if kind == 'newline':
            line += 1
            at_line_start = True
            continue
        if kind in ('space', 'line_comment', 'block_comment'):
            line += value.count('\n')
            continue
        at_line_start = False
        if kind in ('raw_string', 'string', 'char'):
            yield '""', line
            line += value.count('\n')
            continue
        yield value, line


def matching(toks, i):
    """Index of the '}' that closes the '{' at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j][0] == '{':
            depth += 1
        elif toks[j][0] == '}':
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def skip_template_headers(head):
    """The head without its leading `template <...>` parameter lists."""
    i = 0
    while i + 1 < len(head) and head[i][0] == 'template' and head[i + 1][0] == '<':
        depth = 0
        j = i + 1
        while j < len(head):
            if head[j][0] == '<':
                depth += 1
            elif head[j][0] == '>':
                depth -= 1
                if depth == 0:
                    break
            j += 1
        i = j + 1
    return head[i:]


def classify(head):
    """What a '{' opens at namespace or class scope, from the tokens since the last ; { or }:
    'namespace', 'class', 'function', 'member_init' (a brace in a constructor's initializer
    list), 'expression' (inside parentheses: part of the head) or 'other' (enum, initializer)."""
    parens = 0
    for text, _ in head:
        parens += {'(': 1, '[': 1, ')': -1, ']': -1}.get(text, 0)
    if parens > 0:
        return 'expression'
    head = skip_template_headers(head)
    words = [t for t, _ in head]
    if not words:
        return 'other'
    if 'namespace' in words[:2] or (words[0] == 'extern' and words[1:2] == ['""']):
        return 'namespace'
    if words[0] in ('class', 'struct', 'union') or words[:2] in (['typedef', 'struct'],):
        return 'class'
    if words[0] == 'enum':
        return 'other'
    depth = 0
    first_paren = None
    colon_after_params = False
    for k, w in enumerate(words):
        if w in ('(', '['):
            if depth == 0 and w == '(' and first_paren is None:
                first_paren = k
            depth += 1
        elif w in (')', ']'):
            depth -= 1
        elif depth == 0 and w == '=' and (k == 0 or words[k - 1] != 'operator'):
            if first_paren is None or words[k - 1] not in ('operator', '=', '!', '<', '>'):
                return 'other'
        elif depth == 0 and w == ':' and first_paren is not None:
            colon_after_params = True
    if first_paren is None:
        return 'other'
    if colon_after_params and words[-1] not in (')', '}'):
        return 'member_init'  # `: a_{1}`: the body's brace follows a `)` or a `}`
    return 'function'


def function_name(head):
    """`Class::name` of a function head: the qualified name before its parameter list."""
    words = [t for t, _ in skip_template_headers(head)]
    if 'operator' in words:  # operator(), operator[], operator==: the symbol is the name
        k = words.index('operator')
        end = words.index('(', k + 2 if words[k + 1] == '(' else k + 1)
        words = words[:k] + ['operator' + ''.join(words[k + 1:end])] + words[end:]
    depth = 0
    for k, w in enumerate(words):
        if w == '(' and depth == 0:
            j = k - 1
            name = []
            while j >= 0 and (re.match(r'\w', words[j]) or words[j] in ('::', '~')):
                if name and name[0] not in ('::', '~') and words[j] not in ('::', '~'):
                    break
                name.insert(0, words[j])
                j -= 1
            return ''.join(name) or '(anonymous)'
        depth += {'(': 1, '[': 1, ')': -1, ']': -1}.get(w, 0)
    return '(anonymous)'


def functions(text):
    """Yields (name, first line of the head, line of '{', line of '}') for each function body
    at namespace or class scope of a C++ source text."""
    toks = list(tokens(text))
    scopes = []  # 'namespace' or 'class', innermost last
    head = []
    i = 0
    while i < len(toks):
        tok, line = toks[i]
        if tok == '{':
            kind = classify(head)
            if kind in ('namespace', 'class'):
                scopes.append(kind)
                head = []
            elif kind in ('member_init', 'expression'):
                j = matching(toks, i)
                head.extend(toks[i:j + 1])
                i = j
            elif kind == 'function':
                j = matching(toks, i)
                yield function_name(head), head[0][1], line, toks[j][1]
                head = []
                i = j
            else:
                i = matching(toks, i)
                head = []
        elif tok == '}':
            if scopes:
                scopes.pop()
            head = []
        elif tok == ';':
            head = []
        elif (tok == ':' and scopes and scopes[-1] == 'class' and len(head) == 1
              and head[0][0] in ('public', 'private', 'protected')):
            head = []
        else:
            head.append(toks[i])
        i += 1


def waived(lines, head_line, brace_line):
    """Whether a `// tidy: long because ...` comment sits on the declaration's lines or on the
    comment lines directly above it (lines are 1-based)."""
    for n in range(head_line, brace_line + 1):
        if WAIVER.search(lines[n - 1]):
            return True
    n = head_line - 1
    while n >= 1 and lines[n - 1].lstrip().startswith('//'):
        if WAIVER.search(lines[n - 1]):
            return True
        n -= 1
    return False


def check_file(root, path, lines_max):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        text = f.read()
    lines = text.split('\n')
    findings = []
    for name, head_line, open_line, close_line in functions(text):
        length = close_line - open_line + 1
        if length > lines_max and not waived(lines, head_line, open_line):
            findings.append(f'{path}:{open_line}: function {name} is {length} lines '
                            f'(max {lines_max}): split it, or put "// tidy: long because '
                            f'<why>" above it')
    return findings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=common.ROOT)
    parser.add_argument('--max', type=int, default=LINES_MAX)
    parser.add_argument('--list', action='store_true', help='print every function and its length')
    parser.add_argument('files', nargs='*')
    args = parser.parse_args()
    files = args.files or common.cxx_files(args.root, ['src'])
    if args.list:
        for path in files:
            with open(os.path.join(args.root, path), encoding='utf-8') as f:
                for name, _, open_line, close_line in functions(f.read()):
                    print(f'{close_line - open_line + 1:5} {path}:{open_line} {name}')
        return 0
    findings = []
    for path in files:
        findings.extend(check_file(args.root, path, args.max))
    return common.report('function_length', findings,
                         f'functions over {args.max} lines need splitting or a waiver')


if __name__ == '__main__':
    sys.exit(main())

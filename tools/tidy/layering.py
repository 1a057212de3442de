#!/usr/bin/env python3
"""tidy: no #include of a layer declared later than the including one.

The layers of src/ and their order are src/layers.txt (src/meson.build adds them in that order;
docs/ARCHITECTURE.md "Layers" draws them). A file in src/<layer>/ may include headers of its own
layer and of layers listed before it. Every folder of src/ must be listed, so a new layer gets
a place in the order before it gets includes.

usage: layering.py [--root DIR]
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]')


def check(root):
    layers = common.read_layers(root)
    rank = {layer: i for i, layer in enumerate(layers)}
    findings = []
    src = os.path.join(root, 'src')
    for name in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, name)) and name not in rank:
            findings.append(f'src/{name}:1: layer {name} is not in src/layers.txt: give it its '
                            f'place in the order')
    for path in common.cxx_files(root, ['src']):
        parts = path.split(os.sep)
        if len(parts) < 3 or parts[1] not in rank:
            continue  # files directly in src/, or in an unlisted folder (reported above)
        layer = parts[1]
        with open(os.path.join(root, path), encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m or '/' not in m.group(1):
                    continue
                target = m.group(1).split('/')[0]
                if target in rank and rank[target] > rank[layer]:
                    findings.append(f'{path}:{number}: layer {layer} includes "{m.group(1)}" of '
                                    f'layer {target}, which comes later in src/layers.txt')
    return findings


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=common.ROOT)
    args = parser.parse_args()
    return common.report('layering', check(args.root),
                         'a layer may include only itself and the layers before it')


if __name__ == '__main__':
    sys.exit(main())

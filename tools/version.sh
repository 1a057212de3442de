#!/bin/sh
# Prints the version: `git describe` in a git checkout, else the VERSION file, else 0.0.0.
# --tag: "<version>|<short commit>" (for the generated src/base/version.cpp).
cd "$(dirname "$0")/.." || exit 1
if [ "${1:-}" = "--tag" ]; then
  commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  echo "$("$0")|$commit"
  exit 0
fi
if v=$(git describe --tags --always --dirty 2>/dev/null) && [ -n "$v" ]; then
  case "$v" in
    v[0-9]*) echo "${v#v}" ;;
    *) echo "0.1.0+g$v" ;;
  esac
elif [ -f VERSION ]; then
  cat VERSION
else
  echo 0.0.0
fi

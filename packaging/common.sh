# Shared by packaging/build-deb and packaging/build-rpm (sourced, POSIX sh): options, the
# version mapping, and the release build installed into a staging tree that both package
# formats are made from, so the .deb and the .rpm hold the same binaries.
#
# Options (both scripts):
#   --builddir DIR   meson build directory, reused between runs (default: build-package)
#   --outdir DIR     where the package is written (default: dist)
#   --no-deps        do not run tools/deps.sh (the caller checked the tools)
#   --reuse-stage    package the staging tree of the previous run in --builddir as it is
#                    (no configure, build or install): the .deb and .rpm of one build
# Environment: EM_PKG_RELEASE (package release/revision, default 1),
#   EM_PKG_MAINTAINER ("Name <email>", the packages' maintainer field).

em_src=$(cd "$(dirname "$0")/.." && pwd)
em_builddir="$em_src/build-package"
em_outdir="$em_src/dist"
em_deps=yes
em_reuse_stage=no
em_release="${EM_PKG_RELEASE:-1}"
em_maintainer="${EM_PKG_MAINTAINER:-enginemux maintainers <maintainers@enginemux.invalid>}"

em_die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

em_say() {
  echo "$(basename "$0"): $*" >&2
}

# Parses the options above into em_builddir, em_outdir and em_deps.
em_parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --builddir) [ $# -ge 2 ] || em_die "--builddir needs a directory"; em_builddir="$2"; shift 2 ;;
      --outdir) [ $# -ge 2 ] || em_die "--outdir needs a directory"; em_outdir="$2"; shift 2 ;;
      --no-deps) em_deps=no; shift ;;
      --reuse-stage) em_reuse_stage=yes; shift ;;
      -h|--help) sed -n '5,13p' "$em_src/packaging/common.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) em_die "unknown argument '$1' (see --help)" ;;
    esac
  done
  case "$em_builddir" in /*) ;; *) em_builddir="$PWD/$em_builddir" ;; esac
  case "$em_outdir" in /*) ;; *) em_outdir="$PWD/$em_outdir" ;; esac
  case "$em_release" in
    [0-9]*) ;;
    *) em_die "EM_PKG_RELEASE='$em_release' must start with a digit" ;;
  esac
  case "$em_release" in
    *[!A-Za-z0-9.+~]*) em_die "EM_PKG_RELEASE='$em_release' may hold only letters, digits and . + ~" ;;
  esac
}

# Maps a version from tools/version.sh (what `enginemux --version` prints) to a package
# version valid for both dpkg and rpm (no '-'; starts with a digit):
#   1.2.3                      -> 1.2.3
#   1.2.3-rc1                  -> 1.2.3~rc1           (pre-release: sorts before 1.2.3)
#   1.2.3-5-gabc1234           -> 1.2.3+5.gabc1234    (5 commits after the tag)
#   1.2.3-5-gabc1234-dirty     -> 1.2.3+5.gabc1234.dirty
#   0.1.0+gabc1234-dirty       -> 0.1.0+gabc1234.dirty  (no tag yet)
# Prints nothing and fails when the input cannot be mapped.
em_version_map() {
  printf '%s\n' "$1" | sed -E \
    -e 's/^([0-9][0-9.]*)-(rc|alpha|beta|pre)([0-9]*)/\1~\2\3/' \
    -e 's/^([0-9][0-9.~a-z]*)-([0-9]+-g[0-9a-f]+)/\1+\2/' \
    -e 's/-/./g' |
    grep -E '^[0-9][A-Za-z0-9.+~]*$'
}

# The release build: configures (or re-configures, so the version and commit compiled in are
# the tree's current ones) em_builddir, builds the installed programs and installs them with
# the data files into em_stage. Sets em_version (as compiled in) and em_pkg_version (mapped).
em_build_stage() {
  if [ "$em_deps" = yes ]; then
    "$em_src/tools/deps.sh" package || em_die "tools/deps.sh package failed"
  fi
  em_stage="$em_builddir/stage"
  if [ "$em_reuse_stage" = yes ]; then
    [ -f "$em_stage.version" ] && [ -d "$em_stage" ] ||
      em_die "--reuse-stage: no staging tree in $em_builddir (run without it first)"
    em_version=$(cat "$em_stage.version")
    em_pkg_version=$(em_version_map "$em_version") || em_die "bad version '$em_version' in $em_stage.version"
    SOURCE_DATE_EPOCH=$(cat "$em_stage.epoch")
    export SOURCE_DATE_EPOCH
    em_say "packaging the staged build of $em_version (package version $em_pkg_version)"
    return 0
  fi
  # Package timestamps from the commit (dpkg takes its own from the changelog, dated likewise).
  if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$em_src" log -1 --format=%ct 2>/dev/null || date +%s)
    export SOURCE_DATE_EPOCH
  fi
  em_configure
  em_version=$(meson introspect "$em_builddir" --projectinfo |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])') ||
    em_die "cannot read the project version from $em_builddir"
  em_pkg_version=$(em_version_map "$em_version") ||
    em_die "version '$em_version' cannot be mapped to a package version (see docs/PACKAGING.md)"
  targets=$(meson introspect "$em_builddir" --targets | python3 -c '
import json, os, sys
root = sys.argv[1]
for t in json.load(sys.stdin):
    if t.get("installed") and t["type"] != "custom":
        for f in t["filename"]:
            print(os.path.relpath(f, root))' "$em_builddir") ||
    em_die "cannot list the installed targets of $em_builddir"
  em_say "building $em_version (package version $em_pkg_version) in $em_builddir"
  # shellcheck disable=SC2086
  ninja -C "$em_builddir" -j"$(nproc)" $targets >"$em_builddir/package-build.log" 2>&1 ||
    { tail -n 40 "$em_builddir/package-build.log" >&2; em_die "build failed (log: $em_builddir/package-build.log)"; }
  rm -rf "$em_stage" "$em_stage.version"
  meson install -C "$em_builddir" --no-rebuild --quiet --destdir "$em_stage" >&2 ||
    em_die "meson install into $em_stage failed"
  echo "$em_version" >"$em_stage.version"
  echo "$SOURCE_DATE_EPOCH" >"$em_stage.epoch"
  [ -x "$em_stage/usr/bin/enginemux-load" ] ||
    em_say "warning: enginemux-load was not built (bench/load missing?): the package lacks it"
}

# Hardening flags for every object, the same in both package formats (dpkg-buildflags'
# hardening=+all, spelled out so the .rpm gets them too).
em_cpp_args="-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fcf-protection"
em_link_args="-Wl,-z,relro -Wl,-z,now"

em_configure() {
  set -- --buildtype=release --prefix=/usr -Db_pie=true -Dtests=disabled \
    "-Dcpp_args=$em_cpp_args" "-Dcpp_link_args=$em_link_args"
  log=$(mktemp)  # moved into the build directory once that exists
  mkdir -p "$(dirname "$em_builddir")"
  if [ -f "$em_builddir/meson-private/coredata.dat" ]; then
    set -- --reconfigure "$@"
  fi
  # enginemux-load lives in bench/load; when that cannot be configured without Google
  # Benchmark, configure with the benchmarks (only the installed programs are built).
  if ! meson setup "$@" -Dbenchmarks=disabled "$em_builddir" "$em_src" >"$log" 2>&1; then
    em_say "configuring without benchmarks failed ($(grep -m1 ERROR "$log")); retrying with them"
    meson setup "$@" -Dbenchmarks=auto "$em_builddir" "$em_src" >"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; em_die "meson setup failed (log: $log)"; }
  fi
  mv "$log" "$em_builddir/package-setup.log"
}

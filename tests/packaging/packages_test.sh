#!/bin/sh
# Builds the .deb and the .rpm with packaging/build-deb and packaging/build-rpm --reuse-stage (one
# release build in $EM_BUILD_ROOT/packaging-release, reused between runs), then checks:
#   - both list the expected paths (programs, conffile, units, sysctl profiles, docs, man pages);
#   - the conffile is marked as one in both; the .rpm owns /var/lib/enginemux 0750 enginemux;
#     the .deb's maintainer scripts create the user and state directory and remove them on purge;
#   - the .deb's package version is the mapping of what the packaged `enginemux --version`
#     prints, and --version names the commit, a release build and the detected features;
#   - `enginemux check-config` from the extracted .deb accepts the packaged config;
#   - as root: dpkg -i/-r/-P and rpm -i/-e for real, maintainer scripts included, inside
#     overlays in a private mount namespace (install_sandbox.sh): user, state dir, purge;
#   - lintian finds no error in the .deb, and each warning it reports is justified in
#     docs/PACKAGING.md.
# Exit 77 (skip) when a packaging tool is missing (tools/deps.sh package installs them).
set -eu
src=${EM_SOURCE_ROOT:?set by meson}
root=${EM_BUILD_ROOT:?set by meson}
for tool in dpkg-deb dpkg-buildpackage dh rpmbuild rpm lintian python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is missing (tools/deps.sh package installs the packaging tools)"
    exit 77
  fi
done

builddir="$root/packaging-release"
out="$root/packaging-dist"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

rm -rf "$out"
start=$(date +%s)
head_before=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo none)
deb=$("$src/packaging/build-deb" --no-deps --builddir "$builddir" --outdir "$out" | tail -n 1)
rpm=$("$src/packaging/build-rpm" --no-deps --reuse-stage --builddir "$builddir" --outdir "$out" |
  tail -n 1)
echo "built $deb and $rpm in $(($(date +%s) - start)) s"
# The .rpm packages the .deb's staged build (--reuse-stage). In a checkout where others commit
# meanwhile, git may have moved on: compare with git only when HEAD stayed put.
head_after=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo none)
[ "$head_before" = "$head_after" ] || echo "note: HEAD moved during the builds; version-vs-git checks skipped"
[ -f "$deb" ] || { echo "FAIL: no .deb"; exit 1; }
[ -f "$rpm" ] || { echo "FAIL: no .rpm"; exit 1; }

# --- contents -------------------------------------------------------------------------------
dpkg-deb --contents "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' >"$tmp/deb.list"
rpm -qlp "$rpm" >"$tmp/rpm.list"
has_load=no
grep -qx /usr/bin/enginemux-load "$tmp/deb.list" && has_load=yes
[ -f "$src/bench/load/meson.build" ] && [ $has_load = no ] && fail "bench/load exists but enginemux-load is not packaged"
common="/usr/bin/enginemux /usr/bin/enginemux-mock-el /etc/enginemux/enginemux.toml
  /usr/share/enginemux/sysctl/latency.conf /usr/share/enginemux/sysctl/throughput.conf
  /usr/share/enginemux/grafana/enginemux.json /usr/share/enginemux/prometheus/enginemux-rules.yml
  /usr/share/doc/enginemux/PACKAGING.md /usr/share/doc/enginemux/OPERATIONS.md
  /usr/share/doc/enginemux/kernel-tuning.md
  /usr/share/doc/enginemux/copyright /usr/share/doc/enginemux/enginemux.txt
  /usr/share/doc/enginemux/enginemux-mock-el.txt
  /usr/share/man/man1/enginemux.1.gz /usr/share/man/man1/enginemux-mock-el.1.gz"
[ $has_load = yes ] && common="$common /usr/bin/enginemux-load /usr/share/man/man1/enginemux-load.1.gz"
for path in $common /lib/systemd/system/enginemux.service /lib/systemd/system/enginemux-validator.service \
  /usr/share/doc/enginemux/changelog.Debian.gz; do
  grep -qx "$path" "$tmp/deb.list" || fail ".deb lacks $path"
done
for path in $common /usr/lib/systemd/system/enginemux.service \
  /usr/lib/systemd/system/enginemux-validator.service /var/lib/enginemux; do
  grep -qx "$path" "$tmp/rpm.list" || fail ".rpm lacks $path"
done
if grep -v -E -e '^/?$' -e '^/usr(/.*)?$' -e '^/etc(/enginemux(/.*)?)?$' \
  -e '^/lib(/systemd(/system(/.*)?)?)?$' -e '^/var(/lib(/enginemux)?)?$' \
  "$tmp/deb.list" "$tmp/rpm.list"; then
  fail "files outside the expected directories (above)"
fi

# --- conffile, state directory, user --------------------------------------------------------
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$tmp" ./conffiles ./postinst ./postrm
grep -qx /etc/enginemux/enginemux.toml "$tmp/conffiles" || fail ".deb: enginemux.toml is no conffile"
rpm -qcp "$rpm" | grep -qx /etc/enginemux/enginemux.toml || fail ".rpm: enginemux.toml is no %config"
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$rpm" |
  grep -qx 'drwxr-x--- enginemux:enginemux /var/lib/enginemux' ||
  fail ".rpm: /var/lib/enginemux is not drwxr-x--- enginemux:enginemux"
rpm -qp --scripts "$rpm" | grep -q 'useradd -r -g enginemux' || fail ".rpm: no user is created"
grep -q 'adduser --system' "$tmp/postinst" || fail ".deb postinst creates no system user"
grep -q 'chmod 0750 /var/lib/enginemux' "$tmp/postinst" || fail ".deb postinst: no 0750 state directory"
awk '/"\$1" = purge/,/^fi/' "$tmp/postrm" | grep -q 'deluser --system' ||
  fail ".deb postrm removes the user outside purge, or never"
grep -q 'deb-systemd-helper' "$tmp/postinst" || fail ".deb postinst lacks dh_installsystemd's part"

# --- the extracted .deb: --version and check-config ------------------------------------------
dpkg-deb -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/enginemux" --version >"$tmp/version.txt" 2>&1 || fail "enginemux --version failed"
cat "$tmp/version.txt"
program_version=$(sed -n '1s/^enginemux //p' "$tmp/version.txt")
deb_version=$(dpkg-deb --field "$deb" Version)
mapped=$(sh -c '. "$1/packaging/common.sh"; em_version_map "$2"' sh "$src" "$program_version")
[ "$deb_version" = "$mapped-${EM_PKG_RELEASE:-1}" ] ||
  fail "package version $deb_version is not the mapping of --version's '$program_version' ($mapped)"
rpm_version=$(rpm -qp --qf '%{VERSION}' "$rpm")
[ "$rpm_version" = "$mapped" ] || fail ".rpm version $rpm_version differs from $mapped"
if [ "$head_before" = "$head_after" ] && commit=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null); then
  grep -qx "commit: *$commit" "$tmp/version.txt" || fail "--version does not name commit $commit"
  described=$("$src/tools/version.sh")
  [ "$program_version" = "$described" ] || fail "--version says $program_version, tools/version.sh $described"
fi
grep -q '^build: *release' "$tmp/version.txt" || fail "--version does not say it is a release build"
for line in cpu keccak simdjson json io_uring; do
  grep -q "^$line: " "$tmp/version.txt" || fail "--version lacks its '$line:' line"
done
"$tmp/root/usr/bin/enginemux" check-config "$tmp/root/etc/enginemux/enginemux.toml" ||
  fail "check-config rejects the packaged config"
"$tmp/root/usr/bin/enginemux-mock-el" --help >/dev/null || fail "the packaged enginemux-mock-el does not run"

# --- install, remove, purge for real, in a throw-away mount namespace --------------------------
# (A chroot whose / is not a mount point cannot make one: unshare fails on the propagation.)
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null && grep -qw overlay /proc/filesystems &&
   unshare --mount --fork true 2>/dev/null; then
  unshare --mount --fork "$src/tests/packaging/install_sandbox.sh" "$deb" "$rpm" ||
    fail "installing, removing or purging the packages (above)"
else
  echo "note: not root, no unshare/overlayfs, or no mount namespace possible here: install/purge check not run"
fi

# --- lintian --------------------------------------------------------------------------------
lintian --tag-display-limit 0 "$deb" >"$tmp/lintian.txt" 2>&1 || true
cat "$tmp/lintian.txt"
grep -q '^E: ' "$tmp/lintian.txt" && fail "lintian reports errors"
for tag in $(sed -n 's/^W: [^ ]* \([a-z0-9-]*\).*/\1/p' "$tmp/lintian.txt" | sort -u); do
  grep -q "\`$tag\`" "$src/docs/PACKAGING.md" || fail "lintian warning $tag is not justified in docs/PACKAGING.md"
done

echo "packaging: $failures failures"
[ $failures -eq 0 ]

#!/bin/sh
# Installs, removes and purges the packages for real, maintainer scripts included, without
# touching the host: run as `unshare --mount --fork install_sandbox.sh DEB RPM` (root), it
# mounts overlays with tmpfs upper layers on /etc, /usr and /var in its own mount namespace,
# so everything dpkg, rpm, adduser and useradd write vanishes when it exits.
# Prints "FAIL: ..." per failed check; exit 0 when all passed.
set -eu
deb="$1" rpm="$2"
t=$(mktemp -d)
mount -t tmpfs tmpfs "$t"
for d in etc usr var; do
  mkdir -p "$t/$d.up" "$t/$d.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$t/$d.up,workdir=$t/$d.work" "/$d"
done
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
mode() {
  stat -c '%A %U:%G' "$1" 2>/dev/null || echo missing
}
getent passwd enginemux >/dev/null && fail "user enginemux exists before the install"

# .deb: install, remove (keeps user, state, config), purge (removes them).
dpkg -i "$deb" >"$t/dpkg.log" 2>&1 || { cat "$t/dpkg.log"; fail "dpkg -i failed"; }
getent passwd enginemux >/dev/null || fail ".deb: no user enginemux after install"
[ "$(mode /var/lib/enginemux)" = "drwxr-x--- enginemux:enginemux" ] ||
  fail ".deb: /var/lib/enginemux is $(mode /var/lib/enginemux)"
/usr/bin/enginemux check-config /etc/enginemux/enginemux.toml >/dev/null ||
  fail ".deb: installed config fails check-config"
deb_says=$(/usr/bin/enginemux --version | head -n 1)
dpkg -r enginemux >"$t/dpkg.log" 2>&1 || { cat "$t/dpkg.log"; fail "dpkg -r failed"; }
getent passwd enginemux >/dev/null || fail ".deb: remove deleted the user"
[ -d /var/lib/enginemux ] || fail ".deb: remove deleted /var/lib/enginemux"
[ -f /etc/enginemux/enginemux.toml ] || fail ".deb: remove deleted the conffile"
dpkg -P enginemux >"$t/dpkg.log" 2>&1 || { cat "$t/dpkg.log"; fail "dpkg -P failed"; }
getent passwd enginemux >/dev/null && fail ".deb: purge kept the user"
[ -e /var/lib/enginemux ] && fail ".deb: purge kept /var/lib/enginemux"
[ -e /etc/enginemux ] && fail ".deb: purge kept /etc/enginemux"

# .rpm (dependencies are Debian's libraries, unknown to rpm's database: --nodeps).
rpm -i --nodeps "$rpm" >"$t/rpm.log" 2>&1 || { cat "$t/rpm.log"; fail "rpm -i failed"; }
getent passwd enginemux >/dev/null || fail ".rpm: no user enginemux after install"
[ "$(mode /var/lib/enginemux)" = "drwxr-x--- enginemux:enginemux" ] ||
  fail ".rpm: /var/lib/enginemux is $(mode /var/lib/enginemux)"
[ -f /usr/lib/systemd/system/enginemux.service ] || fail ".rpm: no unit in /usr/lib/systemd/system"
/usr/bin/enginemux check-config /etc/enginemux/enginemux.toml >/dev/null ||
  fail ".rpm: installed config fails check-config"
rpm_says=$(/usr/bin/enginemux --version | head -n 1)
[ "$rpm_says" = "$deb_says" ] || fail "the .rpm's program says '$rpm_says', the .deb's '$deb_says'"
rpm -e --nodeps enginemux >"$t/rpm.log" 2>&1 || { cat "$t/rpm.log"; fail "rpm -e failed"; }
[ -e /usr/bin/enginemux ] && fail ".rpm: erase left /usr/bin/enginemux"

echo "install sandbox: $failures failures"
[ $failures -eq 0 ]

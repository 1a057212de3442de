#!/usr/bin/env python3
"""The systemd units in packaging/systemd, checked without a running systemd (PID 1 here is not
systemd, so `systemctl start` cannot run them):

  1. `systemd-analyze verify` accepts both units (ExecStart pointed at the built daemon);
  2. `systemd-analyze security --offline` rates enginemux.service at or below EXPOSURE_MAX;
  3. the sandbox lets the daemon work: the daemon runs (against enginemux-mock-el, proxying
     real requests, then a graceful SIGTERM shutdown) under strace as an unprivileged user
     with no capabilities and no_new_privs, and every system call it made must be allowed by
     the unit's SystemCallFilter (expanded with `systemd-analyze syscall-filter`). io_uring
     must be available to it, and its socket families must be ones RestrictAddressFamilies
     allows.
Exits 77 when systemd-analyze is missing; part 3 needs strace and setpriv (else 77 too).
Environment (meson): EM_SOURCE_ROOT, EM_ENGINEMUX, EM_MOCK_EL.
"""
import hashlib
import hmac
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.environ["EM_SOURCE_ROOT"]
UNITS = os.path.join(SRC, "packaging/systemd")
DAEMON = os.environ["EM_ENGINEMUX"]
MOCK_EL = os.environ["EM_MOCK_EL"]
# The score recorded in docs/PACKAGING.md; a unit change that raises it must update the docs.
EXPOSURE_MAX = 1.2

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)


def unit_settings(name):
    """Setting -> list of values (in order) of one unit file."""
    settings = {}
    for line in open(os.path.join(UNITS, name), encoding="utf-8"):
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            settings.setdefault(m.group(1), []).append(m.group(2))
    return settings


def check_verify(tmp):
    """verify needs the ExecStart program to exist: point it at the built one."""
    for unit in ("enginemux.service", "enginemux-validator.service"):
        text = open(os.path.join(UNITS, unit), encoding="utf-8").read()
        path = os.path.join(tmp, unit)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace("ExecStart=/usr/bin/enginemux", "ExecStart=" + DAEMON))
        r = run(["systemd-analyze", "verify", "--man=no", path])
        if r.returncode != 0 or r.stderr.strip():
            fail("systemd-analyze verify %s: exit %d: %s" % (unit, r.returncode, r.stderr.strip()))


def check_security():
    r = run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
             os.path.join(UNITS, "enginemux.service")])
    m = re.search(r"Overall exposure level for enginemux.service: (\d+\.\d+)", r.stdout)
    if not m:
        fail("systemd-analyze security printed no exposure level: %s %s" % (r.stdout[-500:], r.stderr))
        return
    exposure = float(m.group(1))
    print("systemd-analyze security: enginemux.service exposure %.1f" % exposure)
    if exposure > EXPOSURE_MAX:
        fail("exposure %.1f is above %.1f" % (exposure, EXPOSURE_MAX))
    docs = open(os.path.join(SRC, "docs/PACKAGING.md"), encoding="utf-8").read()
    if ("exposure level %.1f" % exposure) not in docs:
        fail("docs/PACKAGING.md does not record the exposure level %.1f" % exposure)


def expand(group, cache={}):
    """System calls of a systemd syscall-filter group (nested groups expanded)."""
    if group in cache:
        return cache[group]
    r = run(["systemd-analyze", "syscall-filter", "--no-pager", group])
    names = set()
    for line in r.stdout.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        names |= expand(word) if word.startswith("@") else {word}
    cache[group] = names
    return names


def allowed_syscalls():
    """The allow list that the unit's SystemCallFilter lines leave, in order."""
    allowed = None
    for value in unit_settings("enginemux.service")["SystemCallFilter"]:
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word) if word.startswith("@") else {word}
        if allowed is None and not deny:
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    return allowed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def jwt(secret_hex):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    head = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(json.dumps({"iat": int(time.time())}).encode())
    mac = hmac.new(bytes.fromhex(secret_hex), head, hashlib.sha256).digest()
    return (head + b"." + b64(mac)).decode()


def call(port, secret_hex, method):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer " + jwt(secret_hex)})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def traced_children(pid):
    children = []
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, task)) as f:
            children += [int(c) for c in f.read().split()]
    return children


def run_daemon_traced(tmp):
    """Runs the daemon as nobody, without capabilities, under strace; returns the trace text."""
    secret_hex = os.urandom(32).hex()
    secret = os.path.join(tmp, "jwt.hex")
    with open(secret, "w") as f:
        f.write(secret_hex)
    os.chmod(secret, 0o644)
    os.chmod(tmp, 0o755)
    el_port, mux_port, admin_port = free_port(), free_port(), free_port()
    el = subprocess.Popen([MOCK_EL, "--port", str(el_port), "--jwt-secret", secret],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trace = os.path.join(tmp, "strace.txt")
    unprivileged = ["setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    if os.geteuid() == 0:  # as the unit's User= would: an unprivileged user
        unprivileged[1:1] = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    daemon = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", trace] + unprivileged +
        [DAEMON, "--nodes", "http://127.0.0.1:%d" % el_port, "--jwt-secret", secret,
         "--port", str(mux_port), "--admin-listen", "127.0.0.1:%d" % admin_port, "--shards", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if not wait_port(el_port) or not wait_port(mux_port):
            fail("the daemon or the mock EL did not start listening")
            return None
        for method in ("eth_chainId", "engine_exchangeCapabilities"):
            answer = call(mux_port, secret_hex, method)
            if "result" not in answer:
                fail("%s through the sandboxed daemon: %s" % (method, answer))
        with urllib.request.urlopen("http://127.0.0.1:%d/status" % admin_port, timeout=10) as r:
            json.loads(r.read())
    finally:
        # SIGTERM to the daemon itself (strace's child; setpriv exec'd it): graceful shutdown.
        for pid in traced_children(daemon.pid):
            os.kill(pid, signal.SIGTERM)
        try:
            out, _ = daemon.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
            out, _ = daemon.communicate()
            fail("the daemon did not exit within 60 s of SIGTERM")
        el.terminate()
        el.wait(timeout=30)
    if daemon.returncode != 0:
        fail("the daemon exited %d after SIGTERM: %s" % (daemon.returncode, out[-2000:]))
    return open(trace, encoding="utf-8", errors="replace").read()


def check_sandbox(tmp):
    if not shutil.which("strace") or not shutil.which("setpriv"):
        return False
    text = run_daemon_traced(tmp)
    if text is None:
        return True
    # The part after setpriv's execve of the daemon.
    start = text.find('execve("%s"' % DAEMON)
    used = set(re.findall(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)\(", text[start:], re.M))
    # Feature probes may fail (EINVAL on older kernels); a ring must have been created.
    if not re.search(r"^\d+\s+io_uring_setup\(.*\) = \d+$", text[start:], re.M):
        fail("the daemon did not set up io_uring as an unprivileged user")
    blocked = sorted(used - allowed_syscalls() - {"execve", "exit", "exit_group"})
    if blocked:
        fail("system calls the daemon made that SystemCallFilter blocks: %s" % " ".join(blocked))
    families = set(re.findall(r"socket\((AF_[A-Z0-9]+)", text[start:]))
    allowed = set(unit_settings("enginemux.service")["RestrictAddressFamilies"][0].split())
    if families - allowed:
        fail("socket families the daemon used that the unit forbids: %s" % (families - allowed))
    print("sandbox: %d distinct system calls, all allowed; socket families %s"
          % (len(used), " ".join(sorted(families))))
    return True


def main():
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze is missing (Debian package systemd)")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # the unprivileged daemon reads its secret below it
        check_verify(tmp)
        check_security()
        sandbox_tmp = os.path.join(tmp, "sandbox")
        os.mkdir(sandbox_tmp)
        if not check_sandbox(sandbox_tmp) and not failures:
            skip("strace or setpriv is missing: the sandbox check did not run")
    sys.exit(1 if failures else 0)


main()

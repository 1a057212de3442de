#!/usr/bin/env python3
"""`enginemux top`'s live view in a real terminal: Debian's tmux runs it in an 80x32 pane
against an enginemux in front of three mock ELs (el3 answers INVALID), and capture-pane reads
the screen while things happen.

Checked on the screen: the header with the primary, the three nodes synced, the primary
marked; after a few Engine API rounds, the recent votes with el3 disagreeing and the last
disagreements; after el3 is killed, el3 dead with its reason, without a restart of top; every
line within 80 columns (nothing wrapped); `q` ends top with exit status 0 and gives the
terminal back. One captured frame is printed (README "Monitoring" shows one).
Exit 77 when tmux is not installed (tools/deps.sh test installs it).
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import monitoring as m


class Tmux:
    def __init__(self, tmp, command):
        self.tmux = shutil.which("tmux")
        self.socket = os.path.join(tmp, "tmux.sock")  # a server of our own, not the user's
        env = dict(os.environ, LANG="C.UTF-8", TERM="xterm-256color")
        subprocess.run([self.tmux, "-S", self.socket, "-u", "new-session", "-d", "-s", "top", "-x", "80", "-y", "32",
                        command], check=True, env=env)

    def run(self, *args):
        return subprocess.run([self.tmux, "-S", self.socket, *args], capture_output=True, text=True)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "top").stdout

    def wait_screen(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        return None

    def alive(self):
        return self.run("has-session", "-t", "top").returncode == 0

    def kill(self):
        self.run("kill-server")


def node_line(screen, name):
    for line in screen.splitlines():
        if line[2:2 + len(name) + 1] == name + " ":
            return line
    return ""


def main():
    m.need_binaries()
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed (Debian package tmux; tools/deps.sh test)")
        return 77
    tmp = tempfile.mkdtemp(prefix="em-top-")
    tmux = None
    try:
        els = [m.MockEl(tmp, "el1"), m.MockEl(tmp, "el2"),
               m.MockEl(tmp, "el3", ["engine_newPayload*:status=INVALID,lvh=parent,validation_error=bad"])]
        mux = m.Mux(tmp, els)
        status = mux.synced()
        m.check(status is not None, "three nodes synced, a primary")
        primary = status["primary"]
        done = os.path.join(tmp, "exit")
        tmux = Tmux(tmp, f"{m.ENGINEMUX} top --admin 127.0.0.1:{mux.admin}; echo $? > {done}")
        screen = tmux.wait_screen(lambda s: "primary " + primary in s and all(node_line(s, n) for n in ("el1", "el2", "el3")))
        m.check(screen is not None, "the live view shows the header, the primary and three nodes", tmux.screen())
        if screen:
            m.check(node_line(screen, primary).startswith("* "), "the primary is marked", node_line(screen, primary))
            m.check(all(" synced " in node_line(screen, n) for n in ("el1", "el2", "el3")), "the nodes are synced")

        payloads = m.payload_requests(2)
        for i in range(3):
            mux.call(payloads[i % 2])
            time.sleep(0.4)
        screen = tmux.wait_screen(lambda s: "el3=INVALID" in s and "el3 disagreed" in s)
        m.check(screen is not None, "recent votes show el3's INVALID and the disagreements name el3, refreshed without a key", tmux.screen())
        if screen:
            m.check(any(": SYNCING |" in l and "el1=VALID" in l for l in screen.splitlines()),
                    "a recent vote says what the CL was told and each node's answer", screen)

        els[2].proc.stop(signal.SIGKILL)
        screen = tmux.wait_screen(lambda s: " dead " in node_line(s, "el3"))
        m.check(screen is not None, "el3 turns dead on the screen", tmux.screen())
        if screen:
            lines = screen.splitlines()
            at = lines.index(node_line(screen, "el3"))
            m.check(at + 1 < len(lines) and lines[at + 1].startswith("    \u2514 "),
                    "its reason is under it (a UTF-8 terminal gets box characters)", lines[at + 1] if at + 1 < len(lines) else "")
            m.check(all(len(line) <= 80 for line in lines), "every line within 80 columns")
            m.check("\u2581" in screen or "\u2582" in screen or "\u2588" in screen, "sparklines in block characters")
            print("---- a frame (80x32) ----")
            print("\n".join(line.rstrip() for line in lines).rstrip())
            print("-------------------------")

        tmux.run("send-keys", "-t", "top", "q")
        gone = tmux.wait_screen(lambda s: os.path.exists(done), 10)
        code = open(done).read().strip() if os.path.exists(done) else "none"
        m.check(gone is not None and code == "0", "q ends top with exit status 0", code)
    finally:
        if tmux:
            tmux.kill()
        m.Proc.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return m.finish()


if __name__ == "__main__":
    sys.exit(main())

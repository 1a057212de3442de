#!/usr/bin/env python3
"""What goes through enginemux is not altered: the execution-apis conformance cases, replayed.

Every `>> request` / `<< response` pair of ../shared/testdata/rpc/execution-apis/tests (236 of
them: eth_*, debug_*, txpool_*; recorded from real ELs) is sent through a real enginemux process
to a replay EL (a Python HTTP server in this process) that answers with the recorded response.
Checked for each pair:
  - the replay EL received the client's request byte for byte (enginemux forwards it unchanged),
    or, through the rpc listener, nothing, when the same request came before and its answer can
    never change (the rpc role's cache); through the rpc listener, an id some ELs refuse (1e0,
    18446744073709551617, -3: anvil and reth answer -32600) arrives as id 4, the only change;
  - the client got the recorded response byte for byte, except the id, which is the one the
    client wrote, exactly as written: the pairs are sent under rotating ids (a string, a string
    with escapes, 1e0, 18446744073709551617, a negative number, a plain number), which the replay
    EL echoes as real ELs do (geth keeps the id's raw bytes).
Targets: the mux role's engine listener (eth_* passthrough to the primary, with the CL's JWT),
and the rpc role's listener (no JWT, every method allowed) when the binary has one.
Exit 77 when ../shared/testdata is missing (EM_TESTDATA).
Environment (set by meson): EM_ENGINEMUX, EM_TESTDATA.
"""
import http.client
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from monitoring import b64url, jwt  # the tokens a CL sends

ENGINEMUX = os.environ.get("EM_ENGINEMUX", "")
TESTDATA = os.environ.get("EM_TESTDATA", "")
# Ids the pairs are sent under, in rotation. Never 1, 2, 3 or 5: those are the health probe's
# ids, and a probe must not be mistaken for a replayed request (nor is the rpc role's own id 4).
IDS = ['"conf"', '"a\\u0041\\"b\\\\"', "1e0", "18446744073709551617", "-3", "7"]
# Those some ELs refuse (jsonrpsee: an id is a u64, a string or null), and the id the rpc role
# sends nodes instead (jsonrpc::upstream_id).
NODE_REFUSED = {b"1e0", b"18446744073709551617", b"-3"}
UPSTREAM_ID = b"4"
LEAD = re.compile(rb'^\{"jsonrpc":"2\.0","id":(\d+),')
failures = []


def check(ok, what, detail=""):
    if not ok:
        print(f"not ok - {what}" + (f" ({detail})" if detail else ""), flush=True)
        failures.append(what)
    return ok


def load_pairs(root):
    """(case name, request bytes, response bytes) for every >> / << pair, in file order."""
    pairs = []
    for method in sorted(os.listdir(root)):
        folder = os.path.join(root, method)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".io"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                lines = [l.rstrip(b"\n") for l in f]
            pending = None
            for line in lines:
                if line.startswith(b">> "):
                    pending = line[3:]
                elif line.startswith(b"<< ") and pending is not None:
                    pairs.append((f"{method}/{name}", pending, line[3:]))
                    pending = None
    return pairs


def with_id(text, new_id):
    """The pair's text with its leading id replaced by new_id (bytes), or None."""
    m = LEAD.match(text)
    if not m:
        return None
    return text[:m.start(1)] + new_id + text[m.end(1):]


class Replay(http.server.BaseHTTPRequestHandler):
    """Answers the health probe, and the one replayed pair the test expects next."""
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    expected = None  # (request bytes, response bytes)
    received = []    # what arrived for the expected pair

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Replay.lock:
            exp = Replay.expected
            if exp is not None and body == exp[0]:
                Replay.received.append(body)
                return self.reply(exp[1])
        try:
            req = json.loads(body)
        except ValueError:
            req = {}
        method = req.get("method") if isinstance(req, dict) else None
        if method == "web3_clientVersion" and req.get("id") == 5:
            # The probe's once-per-node question (beside an rpc listener): which client.
            return self.reply(b'{"jsonrpc":"2.0","id":5,"result":"Replay/v1.0.0/test"}')
        if method in ("eth_syncing", "eth_getBlockByNumber") and req.get("id") in (1, 2, 3):
            # The probe: eth_syncing, the latest block, and (beside an rpc listener) the
            # finalized one.
            number = "0x20" if (req.get("params") or [None])[0] == "finalized" else "0x2d"
            result = False if method == "eth_syncing" else {
                "number": number, "hash": "0x" + "ab" * 32, "timestamp": hex(int(time.time()))}
            return self.reply(json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result}).encode())
        with Replay.lock:
            Replay.received.append(body)  # a replayed request that arrived altered
        self.reply(b'{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"replay: unexpected request"}}')

    def reply(self, data):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Daemon:
    def __init__(self, tmp, name, argv, pattern):
        self.log = os.path.join(tmp, f"{name}.log")
        self.proc = subprocess.Popen([ENGINEMUX, *argv], stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        m = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(pattern, self.text())
            if m:
                break
            time.sleep(0.05)
        if not m:
            self.stop()
            raise RuntimeError(f"{name} did not start:\n{self.text()[-3000:]}")
        self.port, self.admin = int(m.group(1)), int(m.group(2))

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_synced(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            c = http.client.HTTPConnection("127.0.0.1", self.admin, timeout=5)
            c.request("GET", "/status")
            nodes = json.loads(c.getresponse().read())["nodes"]
            c.close()
            if nodes and all(n["state"] == "synced" for n in nodes):
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def replay_all(target, port, pairs, headers):
    """Sends every pair through `port` on one keep-alive connection; returns pairs checked."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    checked = 0
    seen = set()  # requests sent before, without their id: the rpc role may answer from cache
    for i, (case, request, response) in enumerate(pairs):
        new_id = IDS[i % len(IDS)].encode()
        req, resp = with_id(request, new_id), with_id(response, new_id)
        if not check(req is not None and resp is not None, f"{case}: the pair starts with a numeric id"):
            continue
        # The rpc role answers under the client's id bytes whatever id the node saw, so it sends
        # the node id 4 in place of one some ELs refuse (the node answers under id 4).
        upstream = UPSTREAM_ID if target == "rpc" and new_id in NODE_REFUSED else new_id
        node_req, node_resp = with_id(request, upstream), with_id(response, upstream)
        with Replay.lock:
            Replay.expected = (node_req, node_resp)
            Replay.received = []
        conn.request("POST", "/", body=req, headers=headers)
        r = conn.getresponse()
        got = r.read()
        with Replay.lock:
            received = list(Replay.received)
            Replay.expected = None
        key = with_id(request, b"0")
        cached = target == "rpc" and received == [] and key in seen
        seen.add(key)
        check(received == [node_req] or cached, f"{target}: {case}: the EL got the request unaltered",
              f"got {[b[:120] for b in received]}")
        check(r.status == 200 and got == resp, f"{target}: {case}: the answer is the EL's bytes under the client's id",
              f"HTTP {r.status}: {got[:200]!r} want {resp[:200]!r}")
        checked += 1
    conn.close()
    return checked


def main():
    if not ENGINEMUX or not os.access(ENGINEMUX, os.X_OK):
        print(f"EM_ENGINEMUX ({ENGINEMUX!r}) is not a built enginemux (run through meson test)")
        return 1
    root = os.path.join(TESTDATA, "rpc", "execution-apis", "tests")
    if not TESTDATA or not os.path.isdir(root):
        print(f"SKIP: test data folder '{root}' not found (it is ../shared/testdata in the team's "
              "checkout; a user's clone has none)")
        return 77
    pairs = load_pairs(root)
    if not check(len(pairs) >= 200, "the conformance cases load", f"{len(pairs)} pairs"):
        return 1
    tmp = tempfile.mkdtemp(prefix="em-conformance-")
    secret = os.urandom(32).hex()
    secret_file = os.path.join(tmp, "jwt.hex")
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    node = f"http://127.0.0.1:{server.server_address[1]}#name=replay"
    targets = [("mux", ["--nodes", node, "--jwt-secret", secret_file, "--port", "0",
                        "--admin-listen", "127.0.0.1:0"],
                r"listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)", True)]
    helptext = subprocess.run([ENGINEMUX, "--help"], capture_output=True, text=True).stdout
    if "--rpc-listen" in helptext:
        conf = os.path.join(tmp, "rpc.toml")
        with open(conf, "w") as f:
            f.write('[rpc]\nallow_methods = ["*"]\n')
        targets.append(("rpc", ["--role", "rpc", "--nodes", node, "--jwt-secret", secret_file,
                                "--rpc-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                "--config", conf],
                        r"listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)", False))
    else:
        print("# this enginemux has no rpc listener (--rpc-listen): the mux role's passthrough only")
    for name, argv, pattern, needs_jwt in targets:
        daemon = Daemon(tmp, name, argv, pattern)
        try:
            if not check(daemon.wait_synced(), f"{name}: the replay EL is probed synced"):
                continue
            headers = {"Content-Type": "application/json"}
            if needs_jwt:
                headers["Authorization"] = f"Bearer {jwt(secret)}"
            n = replay_all(name, daemon.port, pairs, headers)
            print(f"# {name}: {n} pairs replayed, {len(failures)} failures so far", flush=True)
        finally:
            daemon.stop()
    server.shutdown()
    if failures:
        print(f"FAILED: {len(failures)} checks")
        return 1
    print(f"ok - every pair came back byte-identical apart from the id ({len(pairs)} pairs per target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""enginemux in front of an https:// execution client (OpenSSL through the io_uring client).

A small HTTPS JSON-RPC server (Python's ssl over a certificate made here with the openssl tool,
SAN localhost and 127.0.0.1) answers the health probes (eth_syncing, eth_getBlockByNumber) and
eth_blockNumber, and checks each call's JWT. Checked, each through a real enginemux process:
  1. with --tls-ca-file naming that certificate, by host name (SNI + name check) and by IP
     literal (IP check, no SNI: RFC 6066 allows only host names there): the node is probed
     synced and eth_blockNumber passes through;
  2. without it (the system store does not trust the certificate): the node is dead, /status and
     the CL's error name the certificate problem, nothing passes through;
  3. a tls_ca_file that is not a certificate stops start-up with a message naming the file.
Exit 77 when the openssl tool is missing.
Environment (set by meson): EM_ENGINEMUX.
"""
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from monitoring import b64url, jwt  # the tokens a CL sends

ENGINEMUX = os.environ.get("EM_ENGINEMUX", "")
failures = []
SNI_SEEN = []  # server_name of every TLS handshake (None: the client sent no SNI)


def check(ok, what, detail=""):
    print(f"{'ok' if ok else 'not ok'} - {what}" + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def jwt_valid(token, secret_hex):
    try:
        header, claims, mac = token.split(".")
        want = hmac.new(bytes.fromhex(secret_hex), f"{header}.{claims}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(b64url(want), mac)
    except ValueError:
        return False


class ElHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    secret = ""
    calls = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not jwt_valid(auth[7:], self.secret):
            self.reply(401, b'{"error":"bad jwt"}')
            return
        req = json.loads(body)
        ElHandler.calls.append(req["method"])
        result = {
            "eth_syncing": False,
            "eth_blockNumber": "0x2a",
            "eth_getBlockByNumber": {"number": "0x2a", "hash": "0x" + "ab" * 32,
                                     "timestamp": hex(int(time.time()))},
        }.get(req["method"])
        if result is None:
            answer = {"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "not here"}}
        else:
            answer = {"jsonrpc": "2.0", "id": req["id"], "result": result}
        self.reply(200, json.dumps(answer).encode())

    def reply(self, code, data):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def https_server(cert, key, secret):
    ElHandler.secret = secret
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ElHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.sni_callback = lambda _sock, name, _ctx: SNI_SEEN.append(name)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def http_call(port, path, body=None, token=None, timeout=5.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        head = f"{'POST' if body else 'GET'} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        s.sendall((head + "\r\n").encode() + (body or b""))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    _, _, payload = data.partition(b"\r\n\r\n")
    return payload.decode(errors="replace")


class Mux:
    def __init__(self, tmp, name, nodes, cl_secret_file, extra=()):
        self.log = os.path.join(tmp, f"{name}.log")
        self.proc = subprocess.Popen(
            [ENGINEMUX, "--nodes", nodes, "--jwt-secret", cl_secret_file, "--port", "0",
             "--admin-listen", "127.0.0.1:0", "--config", os.path.join(tmp, "fast.toml"), *extra],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        m = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)", self.text())
            if m:
                break
            time.sleep(0.05)
        if not m:
            raise RuntimeError(f"{name} did not start:\n{self.text()}")
        self.port, self.admin = int(m.group(1)), int(m.group(2))

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def node(self):
        return json.loads(http_call(self.admin, "/status"))["nodes"][0]

    def wait_state(self, state, timeout=10):
        deadline = time.monotonic() + timeout
        n = self.node()
        while n["state"] != state and time.monotonic() < deadline:
            time.sleep(0.1)
            n = self.node()
        return n

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    if not ENGINEMUX or not os.access(ENGINEMUX, os.X_OK):
        print(f"EM_ENGINEMUX ({ENGINEMUX!r}) is not a built enginemux (run through meson test)")
        return 1
    openssl = shutil.which("openssl")
    if not openssl:
        print("SKIP: the openssl tool is not installed (Debian package openssl) to make a test certificate")
        return 77
    tmp = tempfile.mkdtemp(prefix="em-tls-")
    cert, key = os.path.join(tmp, "el.pem"), os.path.join(tmp, "el.key")
    made = subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                           "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        print(f"openssl req failed: {made.stderr}")
        return 1
    el_secret, cl_secret = os.urandom(32).hex(), os.urandom(32).hex()
    el_file, cl_file = os.path.join(tmp, "el.jwt"), os.path.join(tmp, "cl.jwt")
    for path, value in ((el_file, el_secret), (cl_file, cl_secret)):
        with open(path, "w") as f:
            f.write(value + "\n")
    with open(os.path.join(tmp, "fast.toml"), "w") as f:
        f.write("[health]\ninterval_ms = 300\n")
    server = https_server(cert, key, el_secret)
    port = server.server_address[1]
    request = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []}).encode()
    muxes = []
    try:
        for host in ("localhost", "127.0.0.1"):
            del SNI_SEEN[:]
            mux = Mux(tmp, f"trusted-{host}", f"https://{host}:{port}#jwt-secret={el_file}#name=el",
                      cl_file, ["--tls-ca-file", cert])
            muxes.append(mux)
            n = mux.wait_state("synced")
            check(n["state"] == "synced", f"https://{host}: the health probes over TLS find the node synced",
                  f"{n['state']}: {n.get('reason', '')}")
            answer = http_call(mux.port, "/", request, jwt(cl_secret))
            check('"result":"0x2a"' in answer.replace(" ", ""), f"https://{host}: eth_blockNumber passes through", answer)
            want = None if host[0].isdigit() else host
            check(SNI_SEEN and all(n == want for n in SNI_SEEN),
                  f"https://{host}: SNI is {want!r} in every handshake", f"seen {sorted(set(map(str, SNI_SEEN)))}")

        # The trusted muxes above still probe the EL every 300 ms: stop them, or their probes
        # count as calls that reached it.
        for mux in muxes:
            mux.stop()
        time.sleep(0.1)
        calls_before = len(ElHandler.calls)
        mux = Mux(tmp, "untrusted", f"https://localhost:{port}#jwt-secret={el_file}#name=el", cl_file)
        muxes.append(mux)
        n = mux.wait_state("dead")
        check(n["state"] == "dead" and "certificate" in n.get("reason", ""),
              "without the CA the node is dead and /status names the certificate problem",
              f"{n['state']}: {n.get('reason', '')}")
        answer = http_call(mux.port, "/", request, jwt(cl_secret))
        check('"error"' in answer and "0x2a" not in answer, "without the CA nothing passes through", answer)
        check(len(ElHandler.calls) == calls_before, "without the CA no call reached the EL",
              f"{len(ElHandler.calls) - calls_before} calls")

        bad = os.path.join(tmp, "not-a-cert.pem")
        with open(bad, "w") as f:
            f.write("hello\n")
        out = subprocess.run([ENGINEMUX, "--nodes", f"https://localhost:{port}#jwt-secret={el_file}",
                              "--jwt-secret", cl_file, "--port", "0", "--admin-listen", "", "--tls-ca-file", bad],
                             capture_output=True, text=True, timeout=15)
        check(out.returncode != 0 and bad in out.stdout + out.stderr,
              "a tls_ca_file that is not a certificate stops start-up naming the file",
              (out.stdout + out.stderr).strip().splitlines()[-1] if (out.stdout + out.stderr).strip() else "")
    finally:
        for m in muxes:
            m.stop()
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'FAIL' if failures else 'PASS'}: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

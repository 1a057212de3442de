"""Shared pieces of the monitoring tests (dashboard_test.py, prometheus_test.py,
top_tmux_test.py): real processes on 127.0.0.1 — enginemux-mock-el nodes, the enginemux daemon,
a validator guard (`enginemux validator` with the fake CometBFT of tests/validator as its
validator) — a small Engine API load with JWTs, scrapes, and the PromQL of the shipped dashboard
and rules. Every process is stopped by PID (SIGTERM, then SIGKILL) when the test ends.
Environment (set by meson): EM_ENGINEMUX, EM_MOCK_EL, EM_FAKE_COMETBFT, EM_SOURCE_ROOT.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

ENGINEMUX = os.environ.get("EM_ENGINEMUX", "")
MOCK_EL = os.environ.get("EM_MOCK_EL", "")
FAKE_COMETBFT = os.environ.get("EM_FAKE_COMETBFT", "")
SRC = os.environ.get("EM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD = os.path.join(SRC, "packaging/grafana/enginemux.json")
RULES = os.path.join(SRC, "packaging/prometheus/enginemux-rules.yml")
OPERATIONS = os.path.join(SRC, "docs/OPERATIONS.md")

failures = []


def check(ok, what, detail=""):
    print(f"{'ok' if ok else 'not ok'} - {what}" + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def finish():
    print(f"{'FAIL' if failures else 'PASS'}: {len(failures)} failed")
    return 1 if failures else 0


def need_binaries():
    for name, path in (("EM_ENGINEMUX", ENGINEMUX), ("EM_MOCK_EL", MOCK_EL)):
        if not path or not os.access(path, os.X_OK):
            raise SystemExit(f"{name} ({path!r}) is not a built program (run through meson test)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process with stdout and stderr in one log file."""

    all = []

    def __init__(self, argv, log, env=None):
        self.log = log
        self.proc = subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        Proc.all.append(self)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_for(self, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.log}: no /{pattern}/ (exit {self.proc.poll()}):\n{self.text()[-3000:]}")

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)  # the guard's validator and supervisor too
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    @classmethod
    def stop_all(cls):
        for p in reversed(cls.all):
            p.stop()


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(secret_hex):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"iat": int(time.time())}).encode())
    mac = hmac.new(bytes.fromhex(secret_hex), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64url(mac)}"


def http(port, path, body=None, token=None, timeout=10.0):
    """One request on a new connection; returns (status, body text)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        head = f"{'POST' if body is not None else 'GET'} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        s.sendall((head + "\r\n").encode() + (body or b""))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, payload.decode(errors="replace")


class MockEl:
    def __init__(self, tmp, name, rules=()):
        self.name = name
        self.secret_file = write(os.path.join(tmp, f"{name}.jwt"), os.urandom(32).hex() + "\n")
        argv = [MOCK_EL, "--port", "0", "--jwt-secret", self.secret_file, "--name", name]
        for r in rules:
            argv += ["--rule", r]
        self.proc = Proc(argv, os.path.join(tmp, f"{name}.log"))
        self.port = int(self.proc.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))

    def node_spec(self):
        return f"http://127.0.0.1:{self.port}#jwt-secret={self.secret_file}#name={self.name}"


class Mux:
    """The enginemux daemon in front of `els`, probing every 200 ms; `name` keeps the files of
    several daemons in one temp dir apart, `config` is added to the TOML file."""

    def __init__(self, tmp, els, extra=(), name="enginemux", config=""):
        self.cl_secret = os.urandom(32).hex()
        cl_file = write(os.path.join(tmp, f"{name}-cl.jwt"), self.cl_secret + "\n")
        toml = write(os.path.join(tmp, f"{name}.toml"), "[health]\ninterval_ms = 200\n" + config)
        self.proc = Proc([ENGINEMUX, "--nodes", ",".join(e.node_spec() for e in els), "--jwt-secret", cl_file,
                          "--port", "0", "--admin-listen", "127.0.0.1:0", "--config", toml, *extra],
                         os.path.join(tmp, f"{name}.log"))
        m = self.proc.wait_for(r"listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)")
        self.port, self.admin = int(m.group(1)), int(m.group(2))

    def call(self, request):
        status, body = http(self.port, "/", json.dumps(request).encode() if not isinstance(request, bytes) else request,
                            jwt(self.cl_secret))
        return json.loads(body) if status == 200 else {"http": status, "body": body}

    def status(self):
        return json.loads(http(self.admin, "/status")[1])

    def wait(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.status()
            if predicate(s):
                return s
            time.sleep(0.1)
        return None

    def synced(self):
        return self.wait(lambda s: s["primary"] and all(n["state"] == "synced" for n in s["nodes"]))


VALIDATOR_KEY = "Z+8kntVegi1sQiWLYwFSVLNWqdAUGEy7lskL78gxLZI="  # the fake CometBFT's (tests/validator)


class Guard:
    """One validator guard (peer back-end, its peer never answering) running the fake CometBFT as
    its validator in child mode; it takes the lease on the peer's silence."""

    def __init__(self, tmp, name="g1", log_format="json"):
        if not FAKE_COMETBFT or not os.access(FAKE_COMETBFT, os.X_OK):
            raise SystemExit(f"EM_FAKE_COMETBFT ({FAKE_COMETBFT!r}) is not built")
        d = os.path.join(tmp, name)
        home = os.path.join(d, "home")
        os.makedirs(home, exist_ok=True)
        os.makedirs(os.path.join(d, "guard"), exist_ok=True)
        state = write(os.path.join(home, "priv_validator_state.json"), '{"height":"0","round":0,"step":0}\n')
        secret = write(os.path.join(d, "peer.secret"), "0123456789abcdef" * 3 + "\n")
        self.control = free_port()
        rpc = free_port()
        fake = (f"exec {FAKE_COMETBFT} --rpc 127.0.0.1:{rpc} --home {home} --name {name} "
                f"--genesis-ms {int(time.time() * 1000) - 60000} --block-ms 200")
        config = f"""[validator]
name = "{name}"
data_dir = "{d}/guard"
state_file = "{state}"
rpc_url = "http://127.0.0.1:{rpc}"
validator_pub_key = "{VALIDATOR_KEY}"
control_listen = "127.0.0.1:{self.control}"
tick_ms = 20
log_format = "{log_format}"
[validator.health]
interval_ms = 100
timeout_ms = 90
failures_before_failover = 3
min_peers = 1
block_time_ms = 200
stale_blocks = 5
start_grace_ms = 600
[validator.process]
mode = "child"
run_command = "{fake} --pub-key {VALIDATOR_KEY} --sign --sign-log {d}/sign.log --role validator"
follower_command = "{fake} --pub-key Rk9MTE9XRVJGT0xMT1dFUkZPTExPV0VSRk9MTE9XRVI= --role follower"
stop_timeout_ms = 400
[validator.lease]
backend = "peer"
ttl_ms = 2000
renew_interval_ms = 250
fence_margin_ms = 700
takeover_margin_ms = 300
request_timeout_ms = 200
failback_grace_ms = 3000
retry_ms = 500
acquire_defer_ms = 600
[validator.peer]
name = "{name}-peer"
listen = "127.0.0.1:{free_port()}"
address = "127.0.0.1:{free_port()}"
secret_file = "{secret}"
replay_window_ms = 1500
"""
        path = write(os.path.join(d, "guard.toml"), config, 0o644)
        self.proc = Proc([ENGINEMUX, "validator", "--config", path], os.path.join(d, "guard.log"))
        self.proc.wait_for(r"guard started")

    def status(self):
        return json.loads(http(self.control, "/status")[1])

    def metrics(self):
        return http(self.control, "/metrics")[1]


FCU_ATTRS = {"jsonrpc": "2.0", "id": 1, "method": "engine_forkchoiceUpdatedV3", "params": [
    {"headBlockHash": "0x" + "22" * 32, "safeBlockHash": "0x" + "22" * 32, "finalizedBlockHash": "0x" + "00" * 32},
    {"timestamp": "0x6553f100", "prevRandao": "0x" + "00" * 32, "suggestedFeeRecipient": "0x" + "00" * 20,
     "withdrawals": [], "parentBeaconBlockRoot": "0x" + "00" * 32}]}


def sync_daemon(tmp, els):
    """enginemux in the sync role in front of `els`, mirroring to a proxy that is not there,
    after one CL (told apart by its address) sent a newPayload: it is followed, its calls are
    counted, and the copy to the proxy fails. Beside it, an rpc listener (--rpc-listen) that
    served reads (one twice: a cache hit) and refused a method it does not allow."""
    gone = free_port()
    sync = Mux(tmp, els, ["--role", "sync", "--rpc-listen", "127.0.0.1:0"], name="sync",
               config=f'[sync]\nproxies = ["http://127.0.0.1:{gone}#name=gone"]\n')
    check(sync.synced() is not None, "the sync role's nodes synced")
    answer = sync.call(payload_requests(1)[0])
    check("result" in answer, "the sync role answers a CL's newPayload", json.dumps(answer)[:300])
    rpc_port = int(sync.proc.wait_for(r"rpc listener on 127\.0\.0\.1:(\d+)").group(1))
    answers = [http(rpc_port, "/", json.dumps({"jsonrpc": "2.0", "id": i, "method": method,
                                               "params": []}).encode())
               for i, method in enumerate(["eth_blockNumber", "eth_chainId", "eth_chainId", "debug_x"])]
    check([a[0] for a in answers] == [200] * 4 and '"result"' in answers[2][1] and "-32601" in answers[3][1],
          "the rpc listener beside the sync role serves reads and refuses a method not allowed",
          str(answers)[:400])
    return sync


def payload_requests(count=4):
    out = []
    for seed in range(1, count + 1):
        text = subprocess.run([ENGINEMUX, "payload-example", "--version", "3", "--txs", "2", "--seed", str(seed)],
                              capture_output=True, text=True, check=True).stdout.strip()
        out.append(json.loads(text))
    return out


def tampered(request):
    """The same newPayload with one digit of its blockHash changed (a block-hash mismatch)."""
    r = json.loads(json.dumps(request))
    h = r["params"][0]["blockHash"]
    r["params"][0]["blockHash"] = h[:-1] + ("1" if h[-1] == "0" else "0")
    return r


class Load(threading.Thread):
    """What a CL sends, in a loop until stop(): newPayload (some with a wrong block hash),
    forkchoiceUpdated with attributes and getPayload with the minted id, a getPayload with an
    unknown id, eth_blockNumber. About `rate` rounds per second."""

    def __init__(self, mux, rate=10):
        super().__init__(daemon=True)
        self.mux, self.rate = mux, rate
        self.payloads = payload_requests()
        self.stopping = threading.Event()
        self.rounds = 0
        self.errors = []

    def one_round(self, i):
        m = self.mux
        p = self.payloads[i % len(self.payloads)]
        m.call(tampered(p) if i % 5 == 4 else p)
        fcu = m.call(FCU_ATTRS)
        pid = (fcu.get("result") or {}).get("payloadId")
        if pid:
            m.call({"jsonrpc": "2.0", "id": 2, "method": "engine_getPayloadV3", "params": [pid]})
        if i % 3 == 0:
            m.call({"jsonrpc": "2.0", "id": 3, "method": "engine_getPayloadV3", "params": ["0x0102030405060708"]})
        m.call({"jsonrpc": "2.0", "id": 4, "method": "eth_blockNumber", "params": []})

    def run(self):
        i = 0
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                self.one_round(i)
            except (OSError, ValueError) as e:
                self.errors.append(repr(e))
            i += 1
            self.rounds = i
            self.stopping.wait(max(0.0, 1.0 / self.rate - (time.monotonic() - start)))

    def stop(self):
        self.stopping.set()
        self.join(10)


def metric_names(scrape):
    """The sample names in a Prometheus text scrape."""
    names = set()
    for line in scrape.splitlines():
        if line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, 1)[0])
    return names


PROMQL_METRIC = re.compile(r"\b(enginemux_[a-z0-9_]+)\b")


def dashboard_queries(dashboard):
    """(where, PromQL) for every panel target and every variable query of the dashboard."""
    out = []
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            out.append((f"panel '{p['title']}' {t['refId']}", t["expr"]))
    for v in dashboard["templating"]["list"]:
        if v["type"] == "query":
            out.append((f"variable {v['name']}", v["definition"]))
    return out


def rules_of(path):
    import yaml  # python3-yaml (tools/deps.sh test)
    with open(path) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"]]


def concrete(expr, window="20s"):
    """A dashboard query with Grafana's variables replaced, to run on Prometheus itself."""
    for var in ("instance", "node", "guard"):
        expr = expr.replace(f"${var}", ".*").replace(f"${{{var}}}", ".*")
    return expr.replace("$__rate_interval", window)

"""Shared pieces of tokens_service_test.py and nginx_sync_test.py: enginemux in the sync role and
`enginemux tokens-service` as real processes on 127.0.0.1, built on monitoring.py's Proc and
MockEl (every process stopped by PID when the test ends), plus the Engine API calls they send.
Environment (set by meson): EM_ENGINEMUX, EM_MOCK_EL.
"""
import http.client
import json
import os
import subprocess
import time

import monitoring as m


def request(port, path, method="GET", body=None, headers=None, timeout=10.0):
    """One request on a new connection; returns (status, {lowercase name: value}, body text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode(errors="replace")
    finally:
        conn.close()


def rpc(port, call, authorization=None):
    """A JSON-RPC call (dict) with an Authorization header value; returns (status, parsed or text)."""
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    status, _, body = request(port, "/", "POST", json.dumps(call).encode(), headers)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def new_payload(number):
    """An engine_newPayloadV4 with a correct block hash (`enginemux payload-example`)."""
    out = subprocess.run([m.ENGINEMUX, "payload-example", "--txs", "2", "--withdrawals", "1",
                          "--number", str(number)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def forkchoice(call_id, head, timestamp):
    """An engine_forkchoiceUpdatedV3 to `head` with payload attributes at `timestamp`."""
    zero = "0x" + "00" * 32
    return {"jsonrpc": "2.0", "id": call_id, "method": "engine_forkchoiceUpdatedV3",
            "params": [{"headBlockHash": head, "safeBlockHash": head, "finalizedBlockHash": zero},
                       {"timestamp": hex(timestamp), "prevRandao": zero,
                        "suggestedFeeRecipient": "0x" + "00" * 20, "withdrawals": [],
                        "parentBeaconBlockRoot": zero}]}


def el_log(el):
    """What `el` (a monitoring.MockEl) has logged of the engine calls it received."""
    return request(el.port, "/mock/log")[2]


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class SyncMux:
    """enginemux --role sync in front of `els` (probing every 200 ms), the CLs' secret in
    `secret_file`."""

    def __init__(self, tmp, name, els, secret_file):
        config = m.write(os.path.join(tmp, f"{name}.toml"), "[health]\ninterval_ms = 200\n")
        self.proc = m.Proc([m.ENGINEMUX, "--role", "sync", "--builders", ",".join(e.node_spec() for e in els),
                            "--jwt-secret", secret_file, "--listen-addr", "127.0.0.1", "--port", "0",
                            "--admin-listen", "127.0.0.1:0", "--config", config],
                           os.path.join(tmp, f"{name}.log"))
        found = self.proc.wait_for(r"listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)")
        self.port, self.admin = int(found.group(1)), int(found.group(2))
        wait_until(lambda: all(n["state"] == "synced" for n in self.status()["nodes"]))

    def status(self):
        return json.loads(request(self.admin, "/status")[2])

    def metrics(self):
        return request(self.admin, "/metrics")[2]

    def client(self, name):
        """The /status sync entry of the CL called `name`, or None."""
        return next((c for c in self.status()["sync"]["clients"] if c["name"] == name), None)


class TokensService:
    """`enginemux tokens-service` over `secrets` (name -> hex) for the CL `client_id`."""

    def __init__(self, tmp, secrets, client_id):
        self.config = m.write(os.path.join(tmp, "secrets.json"), json.dumps(secrets))
        self.proc = m.Proc([m.ENGINEMUX, "tokens-service", "--addr", "127.0.0.1:0", "--config", self.config,
                            "--client-id", client_id], os.path.join(tmp, "tokens-service.log"))
        self.port = int(self.proc.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))

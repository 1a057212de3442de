#!/usr/bin/env python3
"""Writes the seed corpora of the validator fuzz targets (small, hand-made; run from this dir)."""
import base64
import json
import os

def put(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# priv_validator_state.json
put("validator_sign_state", "minimal", '{"height":"0","round":0,"step":0}')
put("validator_sign_state", "full", json.dumps({
    "height": "1353000", "round": 2, "step": 3,
    "signature": base64.b64encode(bytes(range(64))).decode(),
    "signbytes": "76080211284A140000000000224A0A20"}, indent=2))
put("validator_sign_state", "lowercase_hex", '{"height":"7","round":0,"step":2,"signbytes":"0a0b"}')
put("validator_sign_state", "hwm", '{"height":"123","round":2147483647,"step":3}')
put("validator_sign_state", "numeric_height", '{"height":5,"round":0,"step":0}')
put("validator_sign_state", "string_round", '{"height":"5","round":"1","step":0}')
put("validator_sign_state", "duplicate", '{"height":"5","height":"6","round":0,"step":0}')

# CometBFT RPC answers (shapes of rpc/core/types, our own values)
status = {"jsonrpc": "2.0", "id": -1, "result": {
    "node_info": {"network": "test-chain", "moniker": "a"},
    "sync_info": {"latest_block_height": "4200", "latest_block_time": "2024-05-01T10:00:00.123456789Z",
                  "catching_up": False},
    "validator_info": {"address": "38FB765D0092470989360ECA1C89CD06C2C1583C",
                       "pub_key": {"type": "tendermint/PubKeyEd25519",
                                   "value": base64.b64encode(bytes(32)).decode()},
                       "voting_power": "10"}}}
put("validator_rpc", "status", json.dumps(status))
put("validator_rpc", "net_info", '{"jsonrpc":"2.0","id":-1,"result":{"listening":true,"listeners":[],"n_peers":"3","peers":[]}}')
put("validator_rpc", "rpc_error", '{"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"internal"}}')
put("validator_rpc", "offset_time", json.dumps(status).replace("Z\"", "+02:00\""))

# Peer messages, replies, the guard record
peer_status = {"role": "active", "fenced": False, "holding": True, "bounded": True, "healthy": True,
               "eligible": False, "preferred": True, "hold": False, "promote": False,
               "healthy_for_ms": "5000", "chain_height": "4200"}
def compact(o): return json.dumps(o, separators=(",", ":"))
put("validator_peer_message", "beat", compact({"type": "beat", "from": "host-a", "epoch": "7", "status": peer_status}))
put("validator_peer_message", "acquire", compact({"type": "acquire", "from": "host-b", "epoch": "8",
    "status": dict(peer_status, role="passive", holding=False, fenced=True, eligible=True)}))
put("validator_peer_message", "release", compact({"type": "release", "from": "host-a", "epoch": "7",
    "status": dict(peer_status, role="releasing", holding=False, fenced=True),
    "state": {"height": "4201", "round": 0, "step": 3}}))
put("validator_peer_message", "state", compact({"type": "state", "from": "host-a", "epoch": "7",
    "status": peer_status, "state": {"height": "4201", "round": 0, "step": 2, "signbytes": "0A"}}))
put("validator_peer_message", "reply", compact({"ok": True, "reason": "", "epoch": "7", "holder": "you",
    "granted": True, "ttl_ms": "10000", "status": dict(peer_status, role="passive", holding=False)}))
put("validator_peer_message", "refusal", compact({"ok": False, "reason": "stale epoch", "epoch": "9",
    "holder": "me", "granted": False, "ttl_ms": "0", "status": peer_status}))
put("validator_peer_message", "record", '{"epoch":"7","holder":"self"}\n')
put("validator_peer_message", "token", "v1.1700000000000.00000000000000ab.7." + "0" * 64)

# etcd answers, separated by 0xff (the first byte of each: even = HTTP 200)
def b64(s): return base64.b64encode(s.encode()).decode()
header = {"cluster_id": "1", "member_id": "2", "revision": "5", "raft_term": "2"}
grant = compact({"header": header, "ID": "7587", "TTL": "10"})
put_ok = compact({"header": header})
host = compact({"name": "host-b", "status": dict(peer_status, role="passive", holding=False, eligible=True)})
poll = compact({"header": header, "kvs": [
    {"key": b64("/fuzz/hosts/host-b"), "create_revision": "3", "mod_revision": "4", "version": "2",
     "value": b64(host), "lease": "99"},
    {"key": b64("/fuzz/state"), "create_revision": "2", "mod_revision": "4", "version": "3",
     "value": b64(compact({"epoch": "2", "state": {"height": "4201", "round": 0, "step": 3}}))}], "count": "2"})
txn = compact({"header": dict(header, revision="6"), "succeeded": True, "responses": []})
keepalive = compact({"result": {"header": header, "ID": "7587", "TTL": "10"}})
seq = [grant, put_ok, poll, grant, txn, poll, keepalive, txn]
put("validator_etcd", "acquire", b"\xff".join(b"0" + s.encode() for s in seq))
put("validator_etcd", "refused", b"\xff".join(b"0" + s.encode() for s in [grant, put_ok, poll, grant,
    compact({"header": header, "responses": []})]))
put("validator_etcd", "errors", b"\xff".join([b"1" + b'{"error":"etcdserver: requested lease not found","code":5,"message":"etcdserver: requested lease not found"}', b"0" + keepalive.encode().replace(b',"TTL":"10"', b"")]))

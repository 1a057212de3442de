#!/usr/bin/env python3
"""`enginemux tokens-service` as a real process on 127.0.0.1 (flashbots' jwt-tokens-service):
  1. GET /tokens/ (and /tokens, and POST as nginx's auth subrequest sends it) answers one
     Authorization-<name> header per secrets.json entry: an HS256 JWT checked here with Python's
     hmac against that entry's secret (not the other's), with a fresh iat and id = --client-id;
     another path is 404 without tokens;
  2. an enginemux sync instance whose --jwt-secret is the entry's secret accepts that token and
     knows the CL by its id; the other entry's token, and no token, are 401;
  3. a bad secrets file, a missing --config and --help: exit 2 naming what is wrong, exit 0.
Environment (set by meson): EM_ENGINEMUX, EM_MOCK_EL.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

import monitoring as m
import sync_procs as s

check = m.check


def b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def token_claims(token, secret_hex):
    """The claims of `token` if its HS256 signature is right for `secret_hex`, else None."""
    header, claims, mac = token.split(".")
    want = hmac.new(bytes.fromhex(secret_hex), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(m.b64url(want), mac) or json.loads(b64decode(header))["alg"] != "HS256":
        return None
    return json.loads(b64decode(claims))


def bearer(headers, name):
    value = headers.get(f"authorization-{name}", "")
    return value[len("Bearer "):] if value.startswith("Bearer ") else ""


def check_answers(tokens, secrets):
    status, headers, body = s.request(tokens.port, "/tokens/")
    check(status == 200 and body == "", "GET /tokens/ is 200 with no body", f"{status} {body!r}")
    for name, other in (("em-sync", "other_2"), ("other_2", "em-sync")):
        token = bearer(headers, name)
        claims = token_claims(token, secrets[name]) if token else None
        check(claims is not None, f"Authorization-{name} is signed with its own secret", repr(headers))
        check(token and token_claims(token, secrets[other]) is None, f"and not with {other}'s")
        if claims:
            check(claims.get("id") == "cl-1", f"{name}: id is the client id", repr(claims))
            check(abs(claims.get("iat", 0) - time.time()) <= 5, f"{name}: iat is now", repr(claims))
    for method, path in (("GET", "/tokens"), ("POST", "/tokens/"), ("GET", "/tokens/?x=1")):
        status, headers, _ = s.request(tokens.port, path, method)
        check(status == 200 and bearer(headers, "em-sync"), f"{method} {path} answers the tokens", str(status))
    status, headers, _ = s.request(tokens.port, "/other")
    check(status == 404 and not bearer(headers, "em-sync"), "GET /other is 404 without tokens", str(status))
    first = token_claims(bearer(headers_of(tokens), "em-sync"), secrets["em-sync"])
    time.sleep(1.1)
    later = token_claims(bearer(headers_of(tokens), "em-sync"), secrets["em-sync"])
    check(first and later and later["iat"] > first["iat"], "each answer has a fresh iat", f"{first} {later}")


def headers_of(tokens):
    return s.request(tokens.port, "/tokens/")[1]


def check_sync_instance_accepts(tmp, tokens, secrets):
    el = m.MockEl(tmp, "el1")
    secret_file = m.write(os.path.join(tmp, "em-sync.jwt"), secrets["em-sync"] + "\n")
    mux = s.SyncMux(tmp, "em-sync", [el], secret_file)
    headers = headers_of(tokens)
    head = "0x" + "5a" * 32
    status, answer = s.rpc(mux.port, s.forkchoice(1, head, int(time.time())),
                           headers["authorization-em-sync"])
    check(status == 200 and "result" in answer, "the sync instance accepts its token", f"{status} {answer}")
    check(head in s.el_log(el), "and its EL got the forkchoiceUpdated")
    client = mux.client("cl-1")
    check(client is not None and client["calls"] == 1, "the CL is known by the token's id", repr(mux.status()["sync"]))
    status, answer = s.rpc(mux.port, s.forkchoice(2, head, int(time.time())), headers["authorization-other_2"])
    check(status == 401, "another entry's token is 401", f"{status} {answer}")
    status, answer = s.rpc(mux.port, s.forkchoice(3, head, int(time.time())))
    check(status == 401, "no token is 401", f"{status} {answer}")


def run_and_fail(args, what, needle):
    out = subprocess.run([m.ENGINEMUX, "tokens-service", *args], capture_output=True, text=True, timeout=10)
    check(out.returncode == 2 and needle in out.stderr, what, f"exit {out.returncode}: {out.stderr.strip()}")


def check_start_up_errors(tmp):
    bad = m.write(os.path.join(tmp, "bad.json"), json.dumps({"el-1": "zz" + "00" * 31}))
    run_and_fail(["--config", bad], "a bad secret: exit 2 naming the file and the entry",
                 f"--config {bad}: entry \"el-1\": ")
    run_and_fail([], "no --config: exit 2 naming it", "--config FILE is required")
    run_and_fail(["--config", bad, "--client-id", "a b"], "a bad --client-id: exit 2 naming it", "--client-id: ")
    out = subprocess.run([m.ENGINEMUX, "tokens-service", "--help"], capture_output=True, text=True, timeout=10)
    check(out.returncode == 0 and "Authorization-<name>" in out.stdout, "--help explains the answer")


def main():
    m.need_binaries()
    secrets = {"em-sync": os.urandom(32).hex(), "other_2": os.urandom(32).hex()}
    with tempfile.TemporaryDirectory(prefix="em-tokens-") as tmp:
        try:
            tokens = s.TokensService(tmp, secrets, "cl-1")
            check_answers(tokens, secrets)
            check_sync_instance_accepts(tmp, tokens, secrets)
            check_start_up_errors(tmp)
        finally:
            m.Proc.stop_all()
    return m.finish()


if __name__ == "__main__":
    sys.exit(main())

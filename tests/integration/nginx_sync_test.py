#!/usr/bin/env python3
"""Real nginx (Debian's package) in front of enginemux in the sync role, with the flashbots
sync-proxy README's two set-ups, everything on 127.0.0.1. nginx runs in the foreground with its
own prefix, temp dirs and generated config (never the system's), one server block per set-up:
  A. proxy_pass to the CL's "local EL" (a mock EL) plus `mirror` to enginemux (sync role, two
     spare mock ELs): the CL's answers come from the local EL (it answers newPayload ACCEPTED,
     which enginemux would not, and its own name to getClientVersionV1), and the mirrored
     newPayload and forkchoiceUpdated reach enginemux (its per-client call counters) and its
     ELs (their /mock/log);
  B. the auth_request variant: nginx asks `enginemux tokens-service` for tokens and passes the
     one named after the sync instance on with the mirrored call; that instance (whose secret is
     not the CL's) accepts it and knows the CL by the token's id, and its ELs get the block;
  C. as B without the token: the instance refuses the CL's own token (401, counted) and its ELs
     never see the block, while the CL is still answered by its local EL.
Exit 77 when nginx is not installed (tools/deps.sh test installs it).
Environment (set by meson): EM_ENGINEMUX, EM_MOCK_EL.
"""
import json
import os
import pwd
import re
import shutil
import socket
import sys
import tempfile
import time

import monitoring as m
import sync_procs as s

check = m.check
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)

MIRROR = """
        location = /sync_proxy_1 {{
            internal;
            proxy_pass http://127.0.0.1:{port}$request_uri;
            proxy_connect_timeout 100ms;
            proxy_read_timeout 100ms;{extra}
        }}"""

SERVER = """
    server {{
        listen 127.0.0.1:{listen};
        server_name _;
        location / {{
            mirror /sync_proxy_1;{auth}
            proxy_pass http://127.0.0.1:{local_el};
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}{tokens}{mirror}
    }}"""

AUTH = """
            auth_request /_tokens;
            auth_request_set $auth_header_em_sync $upstream_http_authorization_em_sync;"""

TOKENS = """
        location = /_tokens {{
            internal;
            proxy_pass http://127.0.0.1:{port}/tokens/;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}"""


def nginx_config(prefix, servers):
    temp = "".join(f"    {kind}_temp_path {prefix}/temp/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = f"user {pwd.getpwuid(0).pw_name};\n" if os.geteuid() == 0 else ""
    return (f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log info;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    access_log {prefix}/access.log;\n{temp}{''.join(servers)}\n}}\n")


class Nginx:
    def __init__(self, tmp, servers):
        prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(prefix, "temp"))
        self.error_log = os.path.join(prefix, "error.log")
        conf = m.write(os.path.join(prefix, "nginx.conf"), nginx_config(prefix, servers), 0o644)
        self.proc = m.Proc([NGINX, "-p", prefix, "-c", conf, "-e", self.error_log],
                           os.path.join(prefix, "stdout.log"))

    def wait_listening(self, ports):
        ok = s.wait_until(lambda: all(port_open(p) for p in ports), 10)
        if not ok:
            raise RuntimeError(f"nginx did not start:\n{self.proc.text()}\n{read(self.error_log)}")


def port_open(port):
    """A TCP connect only: a request would be mirrored to the sync instances."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def metric(text, series):
    found = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def calls(mux, client, method):
    series = f'enginemux_sync_client_calls_total{{client="{client}",method="{method}"}}'
    return metric(mux.metrics(), series)


class Fleet:
    """The processes: the local EL, two sync instances with two spare ELs each, the tokens
    service, and nginx with set-ups A, B and C on three ports."""

    def __init__(self, tmp):
        self.local = m.MockEl(tmp, "el-local", ["engine_newPayload*:status=ACCEPTED"])
        self.cl_secret = read(self.local.secret_file).strip()
        self.spares_a = [m.MockEl(tmp, "el-a1"), m.MockEl(tmp, "el-a2")]
        self.spares_b = [m.MockEl(tmp, "el-b1"), m.MockEl(tmp, "el-b2")]
        self.em_a = s.SyncMux(tmp, "em-a", self.spares_a, self.local.secret_file)
        em_sync_secret = os.urandom(32).hex()
        self.em_b = s.SyncMux(tmp, "em-b", self.spares_b,
                              m.write(os.path.join(tmp, "em-sync.jwt"), em_sync_secret + "\n"))
        self.tokens = s.TokensService(tmp, {"em-sync": em_sync_secret, "other-proxy": os.urandom(32).hex()},
                                      "cl-1")
        self.ports = [m.free_port() for _ in range(3)]
        set_token = "\n            proxy_set_header Authorization $auth_header_em_sync;"
        servers = [
            SERVER.format(listen=self.ports[0], local_el=self.local.port, auth="", tokens="",
                          mirror=MIRROR.format(port=self.em_a.port, extra="")),
            SERVER.format(listen=self.ports[1], local_el=self.local.port, auth=AUTH,
                          tokens=TOKENS.format(port=self.tokens.port),
                          mirror=MIRROR.format(port=self.em_b.port, extra=set_token)),
            SERVER.format(listen=self.ports[2], local_el=self.local.port, auth="", tokens="",
                          mirror=MIRROR.format(port=self.em_b.port, extra="")),
        ]
        self.nginx = Nginx(tmp, servers)
        self.nginx.wait_listening(self.ports)

    def cl_call(self, port, call):
        """A call from the CL through nginx, with the CL's token (its local EL's secret)."""
        return s.rpc(port, call, "Bearer " + m.jwt(self.cl_secret))

    def cl_block(self, port, number, label):
        """A newPayload of block `number` from the CL through nginx (port), which the local EL
        must answer (ACCEPTED); returns the block hash."""
        payload = s.new_payload(number)
        status, answer = self.cl_call(port, payload)
        check(status == 200 and answer.get("result", {}).get("status") == "ACCEPTED",
              f"{label}: the CL's newPayload is answered by its local EL (ACCEPTED)", f"{status} {answer}")
        return payload["params"][0]["blockHash"]


def seen_by(els, needle, timeout=5.0):
    return s.wait_until(lambda: all(needle in s.el_log(el) for el in els), timeout)


def check_mirror(fleet):
    port = fleet.ports[0]
    block = fleet.cl_block(port, 2000, "A")
    check(block in s.el_log(fleet.local), "A: the local EL got the block")
    check(seen_by(fleet.spares_a, block), "A: the mirrored newPayload reached both spare ELs")
    status, answer = fleet.cl_call(port, s.forkchoice(2, block, int(time.time())))
    check(status == 200 and answer.get("result", {}).get("payloadStatus", {}).get("status") == "VALID",
          "A: the CL's forkchoiceUpdated is answered VALID", f"{status} {answer}")
    check(seen_by(fleet.spares_a, f'"headBlockHash":"{block}"'), "A: the mirrored forkchoiceUpdated reached them")
    status, answer = fleet.cl_call(port, {"jsonrpc": "2.0", "id": 3, "method": "engine_getClientVersionV1",
                                          "params": [{"code": "LS", "name": "cl", "version": "1", "commit": "0x00000000"}]})
    check(status == 200 and "el-local" in json.dumps(answer) and "el-a1" not in json.dumps(answer),
          "A: getClientVersionV1 names the local EL only", f"{status} {answer}")
    for method in ("engine_newPayloadV4", "engine_forkchoiceUpdatedV3"):
        n = calls(fleet.em_a, "127.0.0.1", method)
        check(n == 1, f"A: enginemux counted one mirrored {method} from nginx's address", str(n))
    best = fleet.em_a.status()["sync"]["best"]
    check(best == "127.0.0.1", "A: the mirrored CL is enginemux's best", str(best))


def check_auth_request(fleet):
    block = fleet.cl_block(fleet.ports[1], 3000, "B")
    check(seen_by(fleet.spares_b, block), "B: the sync instance accepted the minted token: its ELs got the block")
    client = fleet.em_b.client("cl-1")
    check(client is not None and client["calls"] >= 1, "B: it knows the CL by the token's id (cl-1)",
          repr(fleet.em_b.status()["sync"]))
    check(calls(fleet.em_b, "cl-1", "engine_newPayloadV4") == 1, "B: one newPayload from cl-1")


def check_no_token(fleet):
    refused_before = metric(fleet.em_b.metrics(), "enginemux_http_unauthorized_total") or 0
    block = fleet.cl_block(fleet.ports[2], 4000, "C")
    refused = s.wait_until(lambda: (metric(fleet.em_b.metrics(), "enginemux_http_unauthorized_total") or 0)
                           > refused_before, 5)
    check(refused, "C: the sync instance refused the mirrored call with the CL's own token (401)")
    time.sleep(0.3)
    check(all(block not in s.el_log(el) for el in fleet.spares_b), "C: its ELs never saw the block")
    check(fleet.em_b.client("127.0.0.1") is None, "C: the refused call recorded no client")
    status, _ = fleet.cl_call(fleet.em_b.port, s.new_payload(5000))
    check(status == 401, "C: the CL's own token straight to the instance is 401", str(status))


def main():
    if not NGINX:
        print("SKIP: nginx is not installed (Debian package nginx; tools/deps.sh test installs it)")
        return 77
    m.need_binaries()
    with tempfile.TemporaryDirectory(prefix="em-nginx-") as tmp:
        try:
            fleet = Fleet(tmp)
            check_mirror(fleet)
            check_auth_request(fleet)
            check_no_token(fleet)
            if m.failures:
                print(read(os.path.join(tmp, "nginx", "error.log"))[-4000:])
        finally:
            m.Proc.stop_all()
    return m.finish()


if __name__ == "__main__":
    sys.exit(main())

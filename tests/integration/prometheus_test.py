#!/usr/bin/env python3
"""Debian's Prometheus against a running enginemux and validator guard, with the shipped rules
and dashboard.

1. `promtool check rules` passes on packaging/prometheus/enginemux-rules.yml, and `promtool
   test rules` runs tests/integration/enginemux-rules_test.yml (each alert on synthetic series).
2. Prometheus on 127.0.0.1 scrapes every second an enginemux in front of three mock ELs (el3
   answers INVALID, so votes disagree) under an Engine API load (some block hashes wrong), one in
   the sync role (a CL followed, a mirror to a proxy that is not there), and a validator guard. It loads a copy of the shipped rules whose `for:` durations are 1 s (the
   expressions are the shipped ones).
3. Every query of every dashboard panel and variable, with Grafana's variables filled in, is
   valid PromQL to Prometheus's HTTP API and returns data; every rule evaluates without error.
4. The disagreement and block-hash alerts fire from the load; then every voter is killed and
   EnginemuxNoUsableVoter fires, seen in /api/v1/alerts (and the CL is answered SYNCING).
Exit 77 when prometheus or promtool is not installed (tools/deps.sh test installs Debian's
prometheus package). About 40 s.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import monitoring as m


def api(port, path, **params):
    """GET /api/v1/PATH on Prometheus; returns (HTTP status, decoded JSON)."""
    query = urllib.parse.urlencode(params)
    url = f"http://127.0.0.1:{port}/api/v1/{path}" + (f"?{query}" if query else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:  # 400/422 for bad PromQL: the body says why
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            return e.code, {"status": "error", "error": str(e)}
    except (OSError, ValueError) as e:  # not listening yet
        return 0, {"status": "error", "error": repr(e)}


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.5)
    return None


def firing(port, name):
    _, r = api(port, "alerts")
    return [a for a in r.get("data", {}).get("alerts", []) if a["labels"].get("alertname") == name
            and a["state"] == "firing"]


def promtool_checks(promtool):
    run = subprocess.run([promtool, "check", "rules", m.RULES], capture_output=True, text=True)
    m.check(run.returncode == 0, "promtool check rules: the shipped rules", (run.stdout + run.stderr).strip()[-300:])
    tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), "enginemux-rules_test.yml")
    run = subprocess.run([promtool, "test", "rules", tests], capture_output=True, text=True,
                         cwd=os.path.dirname(tests))
    m.check(run.returncode == 0, "promtool test rules: every alert fires on its series, with its annotations",
            (run.stdout + run.stderr).strip()[-1500:])


def start_prometheus(prometheus, tmp, mux, sync, guard):
    with open(m.RULES) as f:
        rules = re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 1s", f.read())
    rules_copy = m.write(os.path.join(tmp, "rules.yml"), rules, 0o644)
    config = m.write(os.path.join(tmp, "prometheus.yml"), f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{rules_copy}"]
scrape_configs:
  - job_name: enginemux
    static_configs: [{{targets: ["127.0.0.1:{mux.admin}", "127.0.0.1:{sync.admin}"]}}]
  - job_name: enginemux-validator
    static_configs: [{{targets: ["127.0.0.1:{guard.control}"]}}]
""", 0o644)
    port = m.free_port()
    proc = m.Proc([prometheus, f"--config.file={config}", f"--storage.tsdb.path={tmp}/tsdb",
                   f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                  os.path.join(tmp, "prometheus.log"))
    up = wait_until(lambda: api(port, "targets")[1].get("data", {}).get("activeTargets") and all(
        t["health"] == "up" for t in api(port, "targets")[1]["data"]["activeTargets"]), 30)
    m.check(bool(up), "Prometheus scrapes enginemux and the guard", proc.text()[-500:])
    return port


def check_panels(port, dashboard):
    empty, invalid = [], []
    queries = m.dashboard_queries(dashboard)
    for where, expr in queries:
        if expr.startswith("label_values("):
            metric = re.match(r"label_values\((.*), *(\w+)\)$", expr)
            status, r = api(port, "series", **{"match[]": m.concrete(metric.group(1))})
            ok = status == 200 and r.get("status") == "success"
            values = {s.get(metric.group(2)) for s in r.get("data", [])} - {None}
        else:
            status, r = api(port, "query", query=m.concrete(expr))
            ok = status == 200 and r.get("status") == "success"
            values = r.get("data", {}).get("result", [])
        if not ok:
            invalid.append(f"{where}: {r.get('error', status)}")
        elif not values:
            empty.append(f"{where}: {m.concrete(expr)}")
    m.check(len(queries) >= 55, "the dashboard has its queries", str(len(queries)))
    m.check(not invalid, "every dashboard query is valid PromQL", "; ".join(invalid))
    m.check(not empty, "every dashboard query returns data", "; ".join(empty))


def main():
    m.need_binaries()
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        print("SKIP: prometheus/promtool not installed (Debian package prometheus; tools/deps.sh test)")
        return 77
    promtool_checks(promtool)
    dashboard = json.load(open(m.DASHBOARD, encoding="utf-8"))
    tmp = tempfile.mkdtemp(prefix="em-prom-")
    started = time.monotonic()
    load = None
    try:
        els = [m.MockEl(tmp, "el1"), m.MockEl(tmp, "el2"),
               m.MockEl(tmp, "el3", ["engine_newPayload*:status=INVALID,lvh=parent,validation_error=bad"])]
        mux = m.Mux(tmp, els)
        m.check(mux.synced() is not None, "three nodes synced, a primary")
        sync = m.sync_daemon(tmp, els)
        guard = m.Guard(tmp)
        port = start_prometheus(prometheus, tmp, mux, sync, guard)
        load = m.Load(mux, rate=10)
        load.start()
        time.sleep(20)  # enough samples for every rate window (20 s) in the queries
        check_panels(port, dashboard)
        _, r = api(port, "rules")
        rules = [x for g in r.get("data", {}).get("groups", []) for x in g["rules"]]
        unhealthy = [f"{x['name']}: {x.get('lastError')}" for x in rules if x.get("health") != "ok"]
        m.check(len(rules) == len(m.rules_of(m.RULES)) and not unhealthy,
                "Prometheus evaluates every alert rule without an error", f"{len(rules)} rules; {unhealthy}")
        for name in ("EnginemuxElDisagrees", "EnginemuxBlockHashMismatch"):
            got = wait_until(lambda: firing(port, name), 15)
            m.check(bool(got), f"{name} fires from the load", json.dumps(got[:1] if got else []))
        load.stop()
        m.check(not load.errors, "the load ran without transport errors", str(load.errors[:2]))
        m.check(not firing(port, "EnginemuxNoUsableVoter"), "EnginemuxNoUsableVoter is quiet while voters live")
        for el in els:
            el.proc.stop(signal.SIGKILL)
        got = wait_until(lambda: firing(port, "EnginemuxNoUsableVoter"), 30)
        m.check(bool(got), "EnginemuxNoUsableVoter fires once every voter is killed (/api/v1/alerts)",
                json.dumps(got[:1] if got else api(port, "alerts")[1])[:600])
        if got:
            a = got[0]
            m.check(a["labels"].get("severity") == "critical" and "OPERATIONS.md#enginemuxnousablevoter"
                    in a["annotations"].get("runbook", ""), "it carries its severity and runbook", json.dumps(a))
        answer = mux.call(m.payload_requests(1)[0])
        m.check((answer.get("result") or {}).get("status") == "SYNCING", "the CL is answered SYNCING",
                json.dumps(answer)[:300])
    finally:
        if load:
            load.stop()
        m.Proc.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"took {time.monotonic() - started:.1f} s")
    return m.finish()


if __name__ == "__main__":
    sys.exit(main())

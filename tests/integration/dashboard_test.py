#!/usr/bin/env python3
"""The shipped Grafana dashboard and alert rules name only metrics that enginemux exports.

1. packaging/grafana/enginemux.json is what packaging/grafana/dashboard.py generates, and is a
   well-formed dashboard: unique panel ids, every panel on the 24-column grid with the
   `datasource` variable, every query scoped by `$instance` or `$guard`, the instance, node and
   guard variables.
2. A real enginemux in front of three mock ELs (one answering INVALID, so votes disagree) under a
   short Engine API load, one in the sync role (a CL followed, a mirror failing), and a real
   validator guard (`enginemux validator`, the fake CometBFT as
   its validator): every metric that a dashboard query, a variable or an alert rule names
   appears in their /metrics scrapes.
3. Every alert rule has a summary and a runbook pointing to a heading of docs/OPERATIONS.md.
4. The guard runs with `log_format = "json"`: every line of its log is a JSON object with ts,
   level and msg, and its start-up line carries its fields.
Prometheus itself evaluating the queries is prometheus_test.py.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import monitoring as m


def check_generated():
    run = subprocess.run([sys.executable, os.path.join(m.SRC, "packaging/grafana/dashboard.py"), "--check"],
                         capture_output=True, text=True)
    m.check(run.returncode == 0, "enginemux.json is what dashboard.py generates", run.stdout.strip())


def check_shape(d):
    ids = [p["id"] for p in d["panels"]]
    m.check(len(ids) == len(set(ids)), "panel ids are unique")
    variables = {v["name"] for v in d["templating"]["list"]}
    m.check({"datasource", "instance", "node", "guard"} <= variables, "variables: datasource, instance, node, guard",
            str(sorted(variables)))
    panels = [p for p in d["panels"] if p["type"] != "row"]
    m.check(len(panels) >= 25, "at least 25 panels", str(len(panels)))
    bad = []
    for p in panels:
        g = p["gridPos"]
        if g["x"] + g["w"] > 24 or p["datasource"]["uid"] != "${datasource}" or not p["targets"]:
            bad.append(p["title"])
        for t in p["targets"]:
            if "$instance" not in t["expr"] and "$guard" not in t["expr"]:
                bad.append(f"{p['title']}: {t['expr']}")
    m.check(not bad, "every panel is on the grid, uses $datasource and scopes its queries", "; ".join(bad))
    titles = " ".join(p["title"] for p in d["panels"]).lower()
    for word in ("latency p99", "own time", "node state", "lane depth", "disagreements", "votes by reason",
                 "block-hash", "payloadids", "failovers", "listener", "validator guard", "lease epoch",
                 "heights", "fenc", "permit", "log lines dropped"):
        m.check(word in titles, f"a panel or row about '{word}'")


def check_runbooks(rules):
    headings = set()
    for line in open(m.OPERATIONS, encoding="utf-8"):
        if line.startswith("#"):
            slug = re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
            headings.add(slug)
    for r in rules:
        a = r.get("annotations", {})
        anchor = a.get("runbook", "").partition("#")[2]
        m.check(bool(a.get("summary")) and a.get("runbook", "").startswith("/usr/share/doc/enginemux/OPERATIONS.md#")
                and anchor in headings, f"{r['alert']}: summary and a runbook paragraph in OPERATIONS.md",
                a.get("runbook", "no runbook"))


def check_guard_log(text):
    events, bad = [], []
    for line in text.splitlines():
        try:
            o = json.loads(line)
            keys = list(o)
            if keys[:3] != ["ts", "level", "msg"] or o["level"] not in ("error", "warn", "info", "debug"):
                bad.append(line)
            events.append(o)
        except ValueError:
            bad.append(line)
    m.check(events and not bad, "every line of the guard's JSON log is an object with ts, level, msg",
            f"{len(events)} lines; bad: {bad[:3]}")
    started = [e for e in events if "guard started" in e.get("msg", "")]
    m.check(started and started[0].get("validator") == "g1" and started[0].get("backend") == "peer"
            and "epoch" in started[0], "the guard's start-up line carries validator, backend, epoch",
            json.dumps(started[:1]))


def main():
    m.need_binaries()
    d = json.load(open(m.DASHBOARD, encoding="utf-8"))
    check_generated()
    check_shape(d)
    rules = m.rules_of(m.RULES)
    check_runbooks(rules)
    tmp = tempfile.mkdtemp(prefix="em-dash-")
    try:
        els = [m.MockEl(tmp, "el1"), m.MockEl(tmp, "el2"),
               m.MockEl(tmp, "el3", ["engine_newPayload*:status=INVALID,lvh=parent,validation_error=bad"])]
        mux = m.Mux(tmp, els)
        m.check(mux.synced() is not None, "three nodes synced, a primary")
        sync = m.sync_daemon(tmp, els)
        guard = m.Guard(tmp)
        load = m.Load(mux, rate=20)
        load.start()
        time.sleep(3)
        load.stop()
        m.check(load.rounds >= 10 and not load.errors, "load ran", f"{load.rounds} rounds, errors {load.errors[:2]}")
        exported = (m.metric_names(m.http(mux.admin, "/metrics")[1]) | m.metric_names(guard.metrics())
                    | m.metric_names(m.http(sync.admin, "/metrics")[1]))
        wanted = {}
        for where, expr in m.dashboard_queries(d):
            for name in m.PROMQL_METRIC.findall(expr):
                wanted.setdefault(name, where)
        for r in rules:
            for name in m.PROMQL_METRIC.findall(r["expr"]):
                wanted.setdefault(name, f"alert {r['alert']}")
        missing = {n: w for n, w in wanted.items() if n not in exported}
        m.check(len(wanted) >= 45, "the dashboard and rules name many metrics", str(len(wanted)))
        m.check(not missing, "every metric the dashboard and rules name is exported",
                "; ".join(f"{n} ({w})" for n, w in sorted(missing.items())))
        guard.proc.stop()
        check_guard_log(guard.proc.text())
    finally:
        m.Proc.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return m.finish()


if __name__ == "__main__":
    sys.exit(main())

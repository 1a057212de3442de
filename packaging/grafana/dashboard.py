#!/usr/bin/env python3
"""Writes packaging/grafana/enginemux.json, the Grafana dashboard shipped in the packages.

The dashboard is generated so that each role can add its row in a few lines and every query
follows the same conventions: a `datasource` variable, `$instance` and `$node` (and `$guard`
for the validator guards) on every selector, `$__rate_interval` for every rate. Run it after
an edit and commit both files; tests/integration/dashboard_test.py fails when they differ, and
checks every metric a query names against real /metrics scrapes of the daemon and the guard.

usage: packaging/grafana/dashboard.py [--check]   (--check: exit 1 if enginemux.json is stale)
"""
import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
MUX = 'instance=~"$instance"'
NODE = 'instance=~"$instance", node=~"$node"'
GUARD = 'instance=~"$guard"'
RATE = "$__rate_interval"


class Layout:
    """Places panels left to right, 24 columns wide, and numbers them."""

    def __init__(self):
        self.panels, self.next_id, self.x, self.y, self.row_h = [], 1, 0, 0, 0

    def row(self, title):
        self.newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "id": self.take_id(),
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.y += 1

    def newline(self):
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0

    def take_id(self):
        self.next_id += 1
        return self.next_id - 1

    def add(self, panel, w=8, h=8):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self.take_id()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)


def targets(queries):
    out = []
    for i, (expr, legend) in enumerate(queries):
        out.append({"refId": chr(ord("A") + i), "datasource": DS, "expr": expr,
                    "legendFormat": legend, "range": True})
    return out


def series(title, description, queries, unit="short", stack=False):
    """A time series panel; queries are (PromQL, legend) pairs."""
    custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never",
              "spanNulls": False}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    return {"type": "timeseries", "title": title, "description": description, "datasource": DS,
            "targets": targets(queries),
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}}


def stat(title, description, queries, text_mode="name", mappings=None, unit="short"):
    """A stat panel (one tile per series)."""
    return {"type": "stat", "title": title, "description": description, "datasource": DS,
            "targets": targets(queries),
            "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                         "color": {"mode": "thresholds"},
                                         "thresholds": {"mode": "absolute",
                                                        "steps": [{"color": "green", "value": None}]}},
                            "overrides": []},
            "options": {"textMode": text_mode, "colorMode": "background", "graphMode": "none",
                        "justifyMode": "auto", "orientation": "auto",
                        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}}


def quantile(q, metric, by, selector):
    return (f"histogram_quantile({q}, sum by ({by}, le) "
            f"(rate({metric}_bucket{{{selector}}}[{RATE}])))")


def mux_rows(d):
    d.row("Consensus client's view")
    d.add(series("Requests by method", "JSON-RPC requests from the CL (and other clients) per second.",
                 [(f"sum by (method) (rate(enginemux_requests_total{{{MUX}}}[{RATE}]))", "{{method}}")],
                 unit="reqps", stack=True))
    d.add(series("Answered with an error, by method",
                 "Requests answered with a JSON-RPC error (relayed EL errors, -32602 for a malformed "
                 "payload, -38001 for an unknown payloadId ...).",
                 [(f"sum by (method) (rate(enginemux_request_errors_total{{{MUX}}}[{RATE}]))", "{{method}}")],
                 unit="reqps"))
    d.add(series("What the CL was told (votes), by status",
                 "The status of each newPayload/forkchoiceUpdated answer the vote produced.",
                 [(f"sum by (status) (rate(enginemux_vote_answers_total{{{MUX}}}[{RATE}]))", "{{status}}")],
                 unit="reqps", stack=True))
    d.add(series("Latency p50 per method", "From a complete request to its answer (enginemux_request_seconds).",
                 [(quantile(0.5, "enginemux_request_seconds", "method", MUX), "{{method}}")], unit="s"))
    d.add(series("Latency p99 per method",
                 "Spec timeouts: newPayload and forkchoiceUpdated 8 s (newPayloadV5+: 6 s), getPayload 1 s.",
                 [(quantile(0.99, "enginemux_request_seconds", "method", MUX), "{{method}}")], unit="s"))
    d.add(series("enginemux's own time p99 per method",
                 "Time a request spent in enginemux not waiting for an EL: parsing, block-hash check, "
                 "vote, queueing, wake-ups (enginemux_own_seconds).",
                 [(quantile(0.99, "enginemux_own_seconds", "method", MUX), "{{method}}")], unit="s"))
    d.add(series("Refused requests",
                 "Requests refused before any EL saw them.",
                 [(f"sum(rate(enginemux_http_unauthorized_total{{{MUX}}}[{RATE}]))", "bad or missing JWT (401)"),
                  (f"sum(rate(enginemux_http_bad_requests_total{{{MUX}}}[{RATE}]))", "other 4xx"),
                  (f"sum(rate(enginemux_jsonrpc_parse_errors_total{{{MUX}}}[{RATE}]))", "not JSON-RPC"),
                  (f"sum(rate(enginemux_payload_decode_errors_total{{{MUX}}}[{RATE}]))", "malformed payload (-32602)")],
                 unit="reqps"), w=24, h=6)

    d.row("Execution clients")
    d.add(stat("Node state", "Each node's health-probe state: synced, syncing, dead (unknown before the first probe).",
               [(f"max by (node, state) (enginemux_node_state{{{NODE}}}) == 1", "{{node}}: {{state}}")]), w=8, h=5)
    d.add(stat("Primary", "1 for the node forwarded calls go to first; no tile at 1 means no usable voter.",
               [(f"max by (node) (enginemux_node_primary{{{NODE}}})", "{{node}}")], text_mode="value_and_name",
               mappings=[{"type": "value", "options": {"0": {"text": "-"}, "1": {"text": "primary"}}}]), w=8, h=5)
    d.add(series("Lane depth", "Engine calls waiting in each node's ordered lane (newPayload, forkchoiceUpdated).",
                 [(f"max by (node) (enginemux_lane_queue_depth{{{NODE}}})", "{{node}}")]), w=8, h=5)
    d.add(series("Health-probe latency (EWMA)", "The prober's round trip to each node.",
                 [(f"max by (node) (enginemux_node_latency_seconds{{{NODE}}})", "{{node}}")], unit="s"))
    d.add(series("Call latency p50 / p99 per node", "Round trip of calls to each EL, all methods.",
                 [(quantile(0.5, "enginemux_upstream_seconds", "node", NODE), "{{node}} p50"),
                  (quantile(0.99, "enginemux_upstream_seconds", "node", NODE), "{{node}} p99")], unit="s"))
    d.add(series("Calls per node and method", "Calls sent to each EL.",
                 [(f"sum by (node, method) (rate(enginemux_upstream_calls_total{{{NODE}}}[{RATE}]))",
                   "{{node}} {{method}}")], unit="reqps"))
    d.add(series("Call errors per node", "Transport errors, HTTP errors and malformed answers.",
                 [(f"sum by (node) (rate(enginemux_upstream_errors_total{{{NODE}}}[{RATE}]))", "{{node}}")],
                 unit="reqps"))
    d.add(series("Call timeouts per node", "Calls that hit their deadline (the method's spec timeout or --timeout).",
                 [(f"sum by (node) (rate(enginemux_upstream_timeouts_total{{{NODE}}}[{RATE}]))", "{{node}}")],
                 unit="reqps"))
    d.add(series("Disagreements per node", "Votes in which this voter's answer left the plurality (see the "
                 "'disagreement' log lines for each node's answer).",
                 [(f"sum by (node) (increase(enginemux_node_disagreements_total{{{NODE}}}[{RATE}]))", "{{node}}")]))

    d.row("The vote")
    d.add(series("Votes by reason", "How each vote was decided (quorum, early INVALID, conflict, ...).",
                 [(f"sum by (reason) (rate(enginemux_votes_total{{{MUX}}}[{RATE}]))", "{{reason}}")],
                 unit="reqps", stack=True))
    d.add(series("Early answers and disagreements",
                 "Votes answered before every voter had answered; votes where the ELs disagreed.",
                 [(f"sum(rate(enginemux_votes_early_total{{{MUX}}}[{RATE}]))", "answered early"),
                  (f"sum(rate(enginemux_disagreements_total{{{MUX}}}[{RATE}]))", "disagreements")], unit="reqps"))
    d.add(series("Block-hash checks and mismatches",
                 "newPayload block hashes rebuilt and checked; a mismatch is answered INVALID at once.",
                 [(f"sum(rate(enginemux_block_hash_checked_total{{{MUX}}}[{RATE}]))", "checked /s"),
                  (f"sum(increase(enginemux_block_hash_mismatch_total{{{MUX}}}[{RATE}]))", "mismatches")]))

    d.row("payloadIds, failovers, the CL's connections")
    d.add(series("payloadIds", "payloadIds minted for forkchoiceUpdated with attributes; getPayload "
                 "calls with an id enginemux does not know (-38001).",
                 [(f"sum(rate(enginemux_payload_ids_minted_total{{{MUX}}}[{RATE}]))", "minted"),
                  (f"sum(rate(enginemux_payload_ids_unknown_total{{{MUX}}}[{RATE}]))", "unknown")], unit="reqps"))
    d.add(series("Failovers and retries", "Failovers: times the primary moved off a node. Retries: "
                 "calls asked of another node after the first one failed.",
                 [(f"sum(increase(enginemux_failovers_total{{{MUX}}}[{RATE}]))", "failovers"),
                  (f"sum(increase(enginemux_retries_total{{{MUX}}}[{RATE}]))", "retries")]))
    d.add(series("Log lines dropped", "Lines the daemon's log writer dropped because stderr did not keep up.",
                 [(f"sum by (instance) (increase(enginemux_log_lines_dropped_total{{{MUX}}}[{RATE}]))",
                   "{{instance}}")]))
    d.add(series("Listener connections", "The CL-facing listener: accepted, refused at connections_max, "
                 "evicted to admit a new one.",
                 [(f"sum(rate(enginemux_http_connections_accepted_total{{{MUX}}}[{RATE}]))", "accepted"),
                  (f"sum(rate(enginemux_http_connections_refused_total{{{MUX}}}[{RATE}]))", "refused"),
                  (f"sum by (waiting) (rate(enginemux_http_connections_evicted_total{{{MUX}}}[{RATE}]))",
                   "evicted ({{waiting}})")], unit="cps"), w=12)
    d.add(series("Listener deadline cuts and idle closes",
                 "Connections cut by a deadline (header, body, body_rate, send) or closed idle.",
                 [(f"sum by (deadline) (rate(enginemux_http_deadline_cuts_total{{{MUX}}}[{RATE}]))", "{{deadline}}"),
                  (f"sum(rate(enginemux_http_idle_closed_total{{{MUX}}}[{RATE}]))", "idle closed")], unit="cps"), w=12)


def validator_rows(d):
    d.row("Validator guard")
    d.add(stat("Role", "Each guard's role; exactly one host should be active.",
               [(f"max by (instance, role) (enginemux_validator_role{{{GUARD}}}) == 1", "{{instance}}: {{role}}")]),
          w=8, h=5)
    d.add(stat("Last fence reason", "Why each guard last stopped its validator (none: never since start).",
               [(f"max by (instance, reason) (enginemux_validator_last_fence_reason{{{GUARD}}}) == 1",
                 "{{instance}}: {{reason}}")]), w=8, h=5)
    d.add(stat("Health", "1 while the local CometBFT passes every health check; the reason otherwise.",
               [(f"max by (instance) (enginemux_validator_healthy{{{GUARD}}})", "{{instance}} healthy"),
                (f"max by (instance, reason) (enginemux_validator_health_reason{{{GUARD}}}) == 1",
                 "{{instance}}: {{reason}}")], text_mode="value_and_name"), w=8, h=5)
    d.add(series("Lease epoch", "The lease epoch each guard knows; it grows at every takeover.",
                 [(f"max by (instance) (enginemux_validator_epoch{{{GUARD}}})", "{{instance}} epoch"),
                  (f"max by (instance) (enginemux_validator_lease_held{{{GUARD}}})", "{{instance}} held"),
                  (f"max by (instance) (enginemux_validator_lease_valid{{{GUARD}}})", "{{instance}} valid")]))
    d.add(series("Heights", "The chain height seen by the health probe and the signed height in the "
                 "validator's state file.",
                 [(f"max by (instance) (enginemux_validator_chain_height{{{GUARD}}})", "{{instance}} chain"),
                  (f"max by (instance) (enginemux_validator_state_height{{{GUARD}}})", "{{instance}} signed")]))
    d.add(series("Permit remaining", "Time until the supervisor kills the validator unless the guard renews "
                 "the permit (0 while it is not running here).",
                 [(f"max by (instance) (enginemux_validator_permit_remaining_ms{{{GUARD}}})", "{{instance}}")],
                 unit="ms"))
    d.add(series("Fencing events and activations",
                 "Fences (the validator stopped here), activations, failed activations, conflicts.",
                 [(f"sum by (instance) (increase(enginemux_validator_fences_total{{{GUARD}}}[{RATE}]))", "{{instance}} fences"),
                  (f"sum by (instance) (increase(enginemux_validator_activations_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} activations"),
                  (f"sum by (instance) (increase(enginemux_validator_activation_failures_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} activation failures"),
                  (f"sum by (instance) (increase(enginemux_validator_conflicts_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} conflicts")]))
    d.add(series("State-file write errors and log lines dropped",
                 "Failed writes of the high-watermark state; log lines the guard's writer dropped.",
                 [(f"sum by (instance) (increase(enginemux_validator_state_write_errors_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} state write errors"),
                  (f"sum by (instance) (increase(enginemux_validator_log_lines_dropped_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} log lines dropped")]))
    d.add(series("Peer link (peer back-end)", "Authentication failures, clock-skew rejects, send errors and "
                 "takeovers on the peer's silence.",
                 [(f"sum by (instance) (increase(enginemux_validator_peer_auth_failures_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} auth failures"),
                  (f"sum by (instance) (increase(enginemux_validator_peer_skew_rejects_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} skew rejects"),
                  (f"sum by (instance) (increase(enginemux_validator_peer_send_errors_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} send errors"),
                  (f"sum by (instance) (increase(enginemux_validator_peer_takeovers_on_silence_total{{{GUARD}}}[{RATE}]))",
                   "{{instance}} takeovers on silence")]))


def sync_rows(d):
    d.row("Sync role: several consensus clients")
    d.add(stat("Followed consensus client",
               "The CL whose forkchoiceUpdated the ELs get (the highest recent timestamp; "
               "enginemux_sync_best). Empty: no CL is followed (EnginemuxSyncNoBestClient).",
               [(f"enginemux_sync_best{{{MUX}}} == 1", "{{client}}")]))
    d.add(series("Requests per consensus client",
                 "Requests from each CL, by method (enginemux_sync_client_calls_total). A lagging CL's "
                 "forkchoiceUpdated is answered SYNCING and never forwarded.",
                 [(f"sum by (client, method) (rate(enginemux_sync_client_calls_total{{{MUX}}}[{RATE}]))",
                   "{{client}} {{method}}")], unit="reqps"))
    d.add(series("Engine calls mirrored to other proxies",
                 "Copies of every engine call sent to each of [sync] proxies, and those that failed or "
                 "were dropped; the CLs never wait for them.",
                 [(f"sum by (proxy) (rate(enginemux_sync_mirrored_total{{{MUX}}}[{RATE}]))", "{{proxy}} sent"),
                  (f"sum by (proxy) (rate(enginemux_sync_mirror_failures_total{{{MUX}}}[{RATE}]))",
                   "{{proxy}} failed")], unit="reqps"))


def rpc_rows(d):
    d.row("RPC role: eth_* for wallets, indexers and dapps")
    d.add(series("RPC requests by method",
                 "Requests to the rpc listener (each batch entry), by method "
                 "(enginemux_rpc_requests_total; methods outside a fixed list are 'other').",
                 [(f"sum by (method) (rate(enginemux_rpc_requests_total{{{MUX}}}[{RATE}]))",
                   "{{method}}")], unit="reqps", stack=True))
    d.add(series("RPC errors, retries and refusals",
                 "Requests answered with a JSON-RPC error (EnginemuxRpcErrors), reads asked of "
                 "another node after one failed, 429s over a budget, 401s (API key) and -32601s "
                 "(allow_methods).",
                 [(f"sum(rate(enginemux_rpc_errors_total{{{MUX}}}[{RATE}]))", "errors"),
                  (f"sum(rate(enginemux_rpc_retries_total{{{MUX}}}[{RATE}]))", "retries"),
                  (f"sum(rate(enginemux_rpc_rate_limited_total{{{MUX}}}[{RATE}]))", "429 over a budget"),
                  (f"sum(rate(enginemux_rpc_unauthorized_total{{{MUX}}}[{RATE}]))", "401 API key"),
                  (f"sum(rate(enginemux_rpc_not_allowed_total{{{MUX}}}[{RATE}]))", "-32601 not allowed")],
                 unit="reqps"))
    d.add(series("RPC answer cache",
                 "Share of requests answered from the cache of answers that cannot change "
                 "(blocks at or below finalized, by hash, chainId), and the cache's size.",
                 [(f"sum(rate(enginemux_rpc_cache_hits_total{{{MUX}}}[{RATE}])) / "
                   f"sum(rate(enginemux_rpc_requests_total{{{MUX}}}[{RATE}]))", "hit ratio")],
                 unit="percentunit"))
    d.add(series("RPC cache size", "Bytes held by the answer cache ([rpc] cache_bytes_max bounds it).",
                 [(f"sum by (instance) (enginemux_rpc_cache_bytes{{{MUX}}})", "{{instance}}")],
                 unit="bytes"))
    d.add(series("Node head lag (blocks)",
                 "How far each node's head (health probe) is behind the best head this enginemux "
                 "sees; the rpc role sends reads of the head only to nodes within "
                 "max_head_lag_blocks (EnginemuxNodeBehind past 8 for 5 min).",
                 [(f"max by (instance) (enginemux_node_head_block{{{MUX}}}) - on (instance) "
                   f"group_right enginemux_node_head_block{{{NODE}}}",
                   "{{instance}} {{node}}")]))


def variable(name, label, query):
    return {"type": "query", "name": name, "label": label, "datasource": DS,
            "definition": query, "query": {"query": query, "refId": name},
            "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "options": [],
            "hide": 0}


def dashboard():
    d = Layout()
    mux_rows(d)
    sync_rows(d)
    rpc_rows(d)
    validator_rows(d)
    templating = [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
         "current": {}, "hide": 0, "options": [], "refresh": 1},
        variable("instance", "enginemux", "label_values(enginemux_node_state, instance)"),
        variable("node", "Execution client", 'label_values(enginemux_node_state{instance=~"$instance"}, node)'),
        variable("guard", "Validator guard", "label_values(enginemux_validator_role, instance)"),
    ]
    return {
        "title": "enginemux", "uid": "enginemux", "version": 1, "schemaVersion": 38,
        "description": "enginemux (mux and sync roles) and its validator guards: what the CL asked and was told, "
                       "each EL, the vote, failovers, the listener, the guards. Shipped in "
                       "/usr/share/enginemux/grafana/; alerts in /usr/share/enginemux/prometheus/.",
        "tags": ["enginemux", "ethereum"], "editable": True, "graphTooltip": 1, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"}, "timepicker": {}, "timezone": "",
        "annotations": {"list": []}, "links": [],
        "templating": {"list": templating},
        "panels": d.panels,
    }


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "enginemux.json")
    text = json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"
    if sys.argv[1:] == ["--check"]:
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        if current != text:
            print(f"{path} is stale: run packaging/grafana/dashboard.py and commit it")
            return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

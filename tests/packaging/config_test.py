#!/usr/bin/env python3
"""The packaged /etc/enginemux/enginemux.toml against the daemon's own config code.

Checks, without any packaging tool:
  1. every TOML key that src/app/config.cpp accepts is in packaging/enginemux.toml, in the same
     table, with a comment line above it (the "why");
  2. each commented default ("# key = value") equals the default in src/app/config.h;
  3. `enginemux check-config` accepts the file as shipped and with every default uncommented,
     and rejects it with an unknown key (so the check is not a no-op).
Environment (set by meson): EM_SOURCE_ROOT, EM_ENGINEMUX (the built daemon).
"""
import os
import re
import subprocess
import sys
import tempfile

SRC = os.environ["EM_SOURCE_ROOT"]
CONFIG_CPP = os.path.join(SRC, "src/app/config.cpp")
CONFIG_H = os.path.join(SRC, "src/app/config.h")
TOML = os.path.join(SRC, "packaging/enginemux.toml")

# config.cpp's loader function -> TOML table ("" = top level, "nodes" = [[nodes]]).
# load_sync_client ([[sync.clients]]) is left out: its keys are shown in an indented comment,
# since an uncommented example client would name a secret file that does not exist; so are
# load_rpc_limits, load_rpc_timeouts, load_rpc_agree, load_rpc_redis and load_rpc_ws
# ([rpc.limits], [rpc.method_timeouts_ms], [rpc.agree], [rpc.redis]: an uncommented url would
# turn Redis on; [rpc.ws]).
LOADER_TABLES = {"load_limits": "limits", "load_health": "health", "load_engine": "engine",
                 "load_admin": "admin", "load_node": "nodes", "load_sync": "sync",
                 "load_rpc": "rpc", "load_toml": ""}
# Keys that name a table inside a table, not a setting.
SUBTABLES = {("sync", "clients"), ("rpc", "method_timeouts_ms"), ("rpc", "limits"),
             ("rpc", "agree"), ("rpc", "redis"), ("rpc", "ws")}
# config.h struct -> TOML table, and field names that differ from their TOML key.
STRUCT_TABLES = {"LimitsConfig": "limits", "HealthConfig": "health", "EngineConfig": "engine",
                 "AdminConfig": "admin", "NodeConfig": "nodes", "SyncConfig": "sync",
                 "RpcConfig": "rpc", "Config": ""}
FIELD_KEYS = {"jwt_secret_path": "jwt_secret"}
# Defaults computed at run time, documented by what they become.
COMPUTED = {("nodes", "name")}
# Keys the packaged file sets on purpose (an example a fresh install needs to pass check-config).
SET_ON_PURPOSE = {("", "jwt_secret"), ("nodes", "url")}

failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


def accepted_keys():
    """(table, key) pairs that config.cpp's TOML loaders compare keys with."""
    keys, table = set(), None
    for line in open(CONFIG_CPP, encoding="utf-8"):
        m = re.match(r"^Result<\w+> (load_\w+)\(", line)
        if m:
            table = LOADER_TABLES.get(m.group(1))
            continue
        if line.startswith("}"):
            table = None
        if table is not None:
            for key in re.findall(r'key == "([a-z_]+)"', line):
                if (table or key not in LOADER_TABLES.values()) and (table, key) not in SUBTABLES:
                    keys.add((table, key))  # not a [table] itself
    return keys


def cpp_value(text):
    """A config.h default initialiser as a comparable Python value (None if unknown)."""
    text = text.strip().replace("'", "")
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text.strip('"')
    m = re.fullmatch(r"(?:LogLevel|LogFormat|NodeRole)::(\w+)", text)
    if m:
        return m.group(1)
    m = re.fullmatch(r"(\d+)u? << (\d+)", text)
    if m:
        return int(m.group(1)) << int(m.group(2))
    if re.fullmatch(r"\d+", text):
        return int(text)
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    return None


def header_defaults():
    """(table, key) -> default from config.h's struct field initialisers."""
    defaults, table = {}, None
    for line in open(CONFIG_H, encoding="utf-8"):
        m = re.match(r"^struct (\w+) \{", line)
        if m:
            table = STRUCT_TABLES.get(m.group(1))
            continue
        if line.startswith("};"):
            table = None
        m = re.match(r"^\s+([\w:<>]+) (\w+)\s*(?:=\s*([^;]+))?;", line)
        if table is not None and m:
            key = FIELD_KEYS.get(m.group(2), m.group(2))
            if m.group(3) is not None:
                defaults[(table, key)] = cpp_value(m.group(3))
            elif m.group(1) == "std::string":
                defaults[(table, key)] = ""
            elif m.group(1) == "std::vector<std::string>":
                defaults[(table, key)] = []
    return defaults


def toml_value(text):
    text = text.strip()
    if text == "[]":
        return []
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text.strip('"')
    return float(text) if "." in text else int(text.replace("_", ""))


def packaged_entries():
    """(table, key) -> (value text, commented?, has a comment line above)."""
    entries, table, previous = {}, "", ""
    for line in open(TOML, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r"^\[\[?([a-z_]+)\]\]?$", line)
        if m:
            table = m.group(1)
        m = re.match(r"^(# )?([a-z_]+) = (.+)$", line)
        if m:
            where = (table, m.group(2))
            if where in entries:
                fail("%s.%s appears twice in enginemux.toml" % where)
            why = previous.startswith("# ") and not re.match(r"^# [a-z_]+ = ", previous)
            entries[where] = (m.group(3), m.group(1) is not None, why)
        previous = line
    return entries


def check_keys():
    keys, entries, defaults = accepted_keys(), packaged_entries(), header_defaults()
    if len(keys) < 30:
        fail("found only %d keys in config.cpp: has its structure changed?" % len(keys))
    compared = 0
    for where in sorted(keys):
        name = ".".join(p for p in where if p)
        if where not in entries:
            fail("%s (accepted by config.cpp) is missing from enginemux.toml" % name)
            continue
        value, commented, why = entries[where]
        if not why:
            fail("%s has no comment line above it saying why" % name)
        if not commented and where not in SET_ON_PURPOSE:
            fail("%s is set in enginemux.toml: settings are shipped commented" % name)
        if where in COMPUTED or where in SET_ON_PURPOSE:
            continue
        if where not in defaults or defaults[where] is None:
            fail("%s: no default found in config.h to compare with" % name)
            continue
        if toml_value(value) != defaults[where]:
            fail("%s: enginemux.toml says %s, config.h's default is %r"
                 % (name, value, defaults[where]))
        compared += 1
    for where in sorted(set(entries) - keys):
        fail("%s is in enginemux.toml but config.cpp does not accept it" % ".".join(where))
    print("%d keys accepted by config.cpp, %d defaults compared" % (len(keys), compared))


def check_config(path, want_ok):
    run = subprocess.run([os.environ["EM_ENGINEMUX"], "check-config", path],
                         capture_output=True, text=True, timeout=30)
    if (run.returncode == 0) != want_ok:
        fail("check-config %s: exit %d, wanted %s: %s%s" % (
            os.path.basename(path), run.returncode, "0" if want_ok else "non-zero",
            run.stdout, run.stderr))


def check_with_daemon():
    text = open(TOML, encoding="utf-8").read()
    uncommented = re.sub(r"(?m)^# ([a-z_]+ = .+)$", r"\1", text)
    with tempfile.TemporaryDirectory() as tmp:
        for name, body, ok in (("shipped.toml", text, True),
                               ("uncommented.toml", uncommented, True),
                               ("unknown-key.toml", text.replace("[admin]", "[admin]\nlisten_port = 1"), False),
                               ("bad-value.toml", text.replace("[limits]", "[limits]\nconnections_max = 0"), False)):
            path = os.path.join(tmp, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            check_config(path, ok)


check_keys()
check_with_daemon()
sys.exit(1 if failures else 0)

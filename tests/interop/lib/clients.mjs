// Starting the real clients and enginemux on 127.0.0.1, each on free ports, each with its own
// data directory and JWT secret under the run directory. Every start waits until the process
// answers (or throws with its log tail), so scenarios can use the returned URLs at once.
import fs from 'node:fs';
import path from 'node:path';
import {
  KIT, call, freePort, getJson, log, post, rpc, runDir, start, tail, waitFor, writeSecret,
} from './harness.mjs';

export const FEE_RECIPIENT = '0xcccccccccccccccccccccccccccccccccccccccc';

/// EthereumJS 0.10.5 (EL). opts: {name, clients (install dir), genesis (kit file name),
/// dataDir?, secret?, ports?, p2p? (accept devp2p peers; off by default), peers? (enode URLs to
/// dial)}.
/// Returns {name, proc, rpcUrl, engineUrl, secret, dataDir, ports, restart()}.
export async function startEthereumJS(opts) {
  const name = opts.name;
  const dataDir = opts.dataDir || path.join(runDir, `${name}-data`);
  const secret = opts.secret || writeSecret(name);
  const ports = opts.ports || { rpc: await freePort(), engine: await freePort(), p2p: await freePort() };
  const peers = opts.peers || [];
  const args = [
    path.join(opts.clients, 'node_modules/@ethereumjs/client/dist/esm/bin/cli.js'),
    '--gethGenesis', path.join(KIT, opts.genesis), '--dataDir', dataDir,
    '--rpc', '--rpcAddr', '127.0.0.1', '--rpcPort', String(ports.rpc),
    '--rpcEngine', '--rpcEngineAddr', '127.0.0.1', '--rpcEnginePort', String(ports.engine),
    '--rpcEngineAuth', 'true', '--jwtSecret', secret,
    '--isSingleNode', '--extIP', '127.0.0.1', '--port', String(ports.p2p),
    '--discDns', 'false', '--discV4', 'false', '--logLevel', 'info',
    ...(opts.p2p ? ['--maxPeers', '5'] : ['--maxPeers', '0']),
    ...(peers.length ? ['--bootnodes', peers.join(',')] : []),
  ];
  const proc = start(name, process.execPath, args);
  const rpcUrl = `http://127.0.0.1:${ports.rpc}`;
  await waitFor(`${name} to answer eth_blockNumber`, async () => (await call(rpcUrl, 'eth_blockNumber')).result,
    { timeoutMs: 60000 });
  const el = { name, proc, rpcUrl, engineUrl: `http://127.0.0.1:${ports.engine}`, secret, dataDir, ports, opts };
  /// Starts it again on the same data dir, secret and ports (more: options to change).
  el.restart = async (more = {}) => startEthereumJS({ ...opts, dataDir, secret, ports, ...more });
  return el;
}

/// enginemux in front of `nodes` (ELs from startEthereumJS or {name, engineUrl, secret}; null
/// when extraArgs name the ELs, as the builder role's --l2-url/--builder-url do).
/// toml: extra config text; secret: the CL's secret file (default: a new one). Returns {proc,
/// url, adminUrl, secret, logFile}.
export async function startEnginemux({ nodes, toml = '', name = 'enginemux', extraArgs = [], secret = null }) {
  const exe = process.env.EM_ENGINEMUX;
  if (!exe || !fs.existsSync(exe)) throw new Error(`EM_ENGINEMUX (${exe}) is not a built enginemux`);
  secret = secret || writeSecret(`${name}-cl`);
  const config = path.join(runDir, `${name}.toml`);
  fs.writeFileSync(config, toml);
  const spec = nodes && nodes.map((n) => `${n.engineUrl}#jwt-secret=${n.secret}#name=${n.name}`).join(',');
  const proc = start(name, exe, ['--config', config, ...(spec ? ['--nodes', spec] : []), '--jwt-secret', secret,
    '--port', '0', '--admin-listen', '127.0.0.1:0', ...extraArgs]);
  const line = await waitFor(`${name} to log its listening ports`, () => {
    const m = /listening on 127\.0\.0\.1:(\d+), admin API on 127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(proc.logFile, 'utf8'));
    return m;
  }, { timeoutMs: 15000, intervalMs: 100 });
  const mux = {
    proc, secret, logFile: proc.logFile,
    url: `http://127.0.0.1:${line[1]}`, adminUrl: `http://127.0.0.1:${line[2]}`,
  };
  log(`${name} on ${mux.url}, admin ${mux.adminUrl}${nodes ? ', nodes ' + nodes.map((n) => n.name).join(',') : ''}`);
  return mux;
}

/// Lodestar 1.5.1 `dev`: a beacon node with 8 in-process validators, Capella from genesis,
/// 2-s slots, its Engine API calls to engineUrl signed with secret. Returns {proc, restUrl}.
export async function startLodestar({ clients, engineUrl, secret, genesisHash, name = 'lodestar' }) {
  const rest = await freePort();
  const p2p = await freePort();
  const dir = path.join(runDir, name);
  fs.mkdirSync(dir, { recursive: true });
  const args = [
    path.join(clients, 'node_modules/@chainsafe/lodestar/lib/index.js'), 'dev',
    '--dataDir', path.join(dir, 'data'), '--reset', '--genesisValidators', '8', '--startValidators', '0..7',
    '--genesisEth1Hash', genesisHash,
    '--params.ALTAIR_FORK_EPOCH', '0', '--params.BELLATRIX_FORK_EPOCH', '0', '--params.CAPELLA_FORK_EPOCH', '0',
    '--params.TERMINAL_TOTAL_DIFFICULTY', '0', '--params.SECONDS_PER_SLOT', '2',
    '--execution.urls', engineUrl, '--jwt-secret', secret, '--suggestedFeeRecipient', FEE_RECIPIENT,
    '--listenAddress', '127.0.0.1', '--port', String(p2p), '--discv5', 'false',
    '--rest.address', '127.0.0.1', '--rest.port', String(rest), '--server', `http://127.0.0.1:${rest}`,
    '--logLevel', 'info',
  ];
  // Lodestar writes genesis.ssz into its working directory.
  const proc = start(name, process.execPath, args, { cwd: dir });
  const restUrl = `http://127.0.0.1:${rest}`;
  await waitFor(`${name} REST API`, async () => (await getJson(restUrl + '/eth/v1/node/syncing')).data,
    { timeoutMs: 90000, intervalMs: 500 });
  return { proc, restUrl };
}

/// anvil 1.7.1 (eth_* only). Returns {proc, url}.
export async function startAnvil({ clients, name = 'anvil', extraArgs = [] }) {
  const port = await freePort();
  const exe = path.join(clients, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
  const proc = start(name, exe, ['--host', '127.0.0.1', '--port', String(port),
    '--config-out', path.join(runDir, `${name}-config.json`), ...extraArgs]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to answer eth_chainId`, async () => (await call(url, 'eth_chainId')).result,
    { timeoutMs: 30000, intervalMs: 100 });
  return { proc, url, name };
}

/// Head block {number, hash} of an EL (eth_ port).
export async function head(el) {
  const b = await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['latest', false], { timeoutMs: 5000 });
  return { number: Number(b.number), hash: b.hash };
}

export async function genesisHash(el) {
  return (await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])).hash;
}

/// enginemux's /status as JSON.
export const status = (mux) => getJson(mux.adminUrl + '/status');

/// The enode URL EthereumJS listens on, from its log (the last start's: the node key is not kept
/// in the data dir, so a restarted node has a new one).
export function enodeOf(el) {
  const all = [...fs.readFileSync(el.proc.logFile, 'utf8').matchAll(/enode:\/\/[0-9a-f]{128}@[^\s]+/g)];
  if (!all.length) throw new Error(`${el.name} logged no enode URL`);
  return all[all.length - 1][0];
}

export { post, tail };

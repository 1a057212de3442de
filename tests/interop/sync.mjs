// Scenario "sync" (issue 14): the flashbots sync-proxy topology with real clients and a real
// nginx. Lodestar 1.5.1 drives EthereumJS ejs1 through nginx (`proxy_pass`); nginx `mirror`s
// every request to enginemux in the sync role, whose nodes are two spare EthereumJS nodes (ejs2,
// ejs3) that no CL talks to. The ELs peer over devp2p on loopback (a restarted spare fetches
// the blocks it missed from ejs1; Engine API calls carry only the new head).
//
// Passes when the chain advances >= 20 blocks and both spares follow it (same head hash as ejs1
// once the CL stops), enginemux followed the one CL (nginx's address) and sent every mirrored
// newPayload to both spares, and one spare killed (SIGKILL) and restarted catches up with the
// head again. Skips (77) without nginx (Debian package nginx; tools/deps.sh test installs it).
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import {
  check, freePort, getJson, install, log, main, metric, metrics, prepareRunDir, requireNode, rpc, runDir,
  skip, sleep, start, stop, waitFor, writeSecret,
} from './lib/harness.mjs';
import { enodeOf, genesisHash, head, startEnginemux, startEthereumJS, startLodestar, status } from './lib/clients.mjs';

const BLOCKS_MIN = 20;

function nginxBinary() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (fs.existsSync(p)) return p;
  return null;
}

/// nginx on 127.0.0.1 with sync-proxy's README setup: answer from the local EL, mirror to the
/// sync proxy with short timeouts (a slow mirror never holds the CL; enginemux finishes its EL
/// calls even when nginx gives up on the mirror connection).
async function startNginx(nginx, elPort, syncPort) {
  const prefix = path.join(runDir, 'nginx');
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(prefix, d), { recursive: true });
  const port = await freePort();
  const user = process.getuid && process.getuid() === 0 ? `user ${os.userInfo().username};` : '';
  const conf = path.join(runDir, 'nginx.conf');
  fs.writeFileSync(conf, `${user}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${runDir}/nginx-error.log info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_body_buffer_size 1m;
  upstream el { server 127.0.0.1:${elPort}; }
  upstream sync_proxy { server 127.0.0.1:${syncPort}; }
  server {
    listen 127.0.0.1:${port};
    location / {
      mirror /sync;
      mirror_request_body on;
      proxy_pass http://el;
    }
    location = /sync {
      internal;
      proxy_pass http://sync_proxy$request_uri;
      proxy_connect_timeout 100ms;
      proxy_read_timeout 100ms;
    }
  }
}
`);
  const proc = start('nginx', nginx, ['-p', prefix, '-c', conf]);
  await waitFor('nginx to listen', async () => {
    try { await fetch(`http://127.0.0.1:${port}/`, { method: 'GET' }); return true; } catch { return false; }
  }, { timeoutMs: 10000, intervalMs: 100 });
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function headAt(el, number) {
  const b = await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['0x' + number.toString(16), false]);
  return b && b.hash;
}

await main(async () => {
  prepareRunDir();
  await requireNode();
  const nginx = nginxBinary();
  if (!nginx) await skip('nginx is not installed (Debian package nginx; tools/deps.sh test installs it)');
  const ejsDir = await install('ethereumjs');
  const lodeDir = await install('lodestar');

  // ejs1 is the CL's EL: it must accept the CL's token, which nginx passes on unchanged.
  const clSecret = writeSecret('cl');
  const ejs1 = await startEthereumJS({ name: 'ejs1', clients: ejsDir, genesis: 'genesis-shanghai.json', p2p: true,
    secret: clSecret });
  const spares = await Promise.all(['ejs2', 'ejs3'].map((name) => startEthereumJS({
    name, clients: ejsDir, genesis: 'genesis-shanghai.json', p2p: true, peers: [enodeOf(ejs1)] })));
  await waitFor('ejs1 to have two peers', async () => Number(await rpc(ejs1.rpcUrl, 'net_peerCount')) >= 2,
    { timeoutMs: 20000, intervalMs: 250 });
  const genesis = await genesisHash(ejs1);

  const mux = await startEnginemux({ nodes: spares, secret: clSecret, name: 'enginemux-sync',
    toml: '[health]\ninterval_ms = 1000\n', extraArgs: ['--role', 'sync'] });
  const proxy = await startNginx(nginx, ejs1.ports.engine, new URL(mux.url).port);
  const lode = await startLodestar({ clients: lodeDir, engineUrl: proxy.url, secret: clSecret, genesisHash: genesis });
  await waitFor('block 4 on ejs1 and both spares', async () =>
    (await Promise.all([ejs1, ...spares].map(head))).every((h) => h.number >= 4), { timeoutMs: 120000, intervalMs: 250 });
  const st = await status(mux);
  check(st.sync && st.sync.best === '127.0.0.1' && st.sync.clients.length === 1,
    'enginemux follows the one CL, known by nginx\'s address', JSON.stringify(st.sync));

  // A spare dies and comes back: enginemux keeps the other in step meanwhile, and the restarted
  // one catches up (its missed blocks by devp2p, the new heads from enginemux).
  const victim = spares[1];
  const before = await head(ejs1);
  log(`killing ${victim.name} at block ${before.number}`);
  await stop(victim.proc, { signal: 'SIGKILL' });
  await waitFor('two blocks while it is down', async () => (await head(ejs1)).number >= before.number + 2,
    { timeoutMs: 15000, intervalMs: 200 });
  const back = await victim.restart({ peers: [enodeOf(ejs1)] });
  spares[1] = back;
  const caught = await waitFor(`${back.name} to reach ejs1's head`, async () => {
    const [a, b] = await Promise.all([head(ejs1), head(back)]);
    return b.number >= a.number - 1 && b.hash === (await headAt(ejs1, b.number)) && b;
  }, { timeoutMs: 90000, intervalMs: 500 });
  check(true, `${back.name} caught up after its restart`, `head ${caught.number}`);

  await waitFor(`${BLOCKS_MIN} blocks on ejs1 and both spares`, async () =>
    (await Promise.all([ejs1, ...spares].map(head))).every((h) => h.number >= BLOCKS_MIN),
  { timeoutMs: 120000, intervalMs: 500 });
  const sync = (await getJson(lode.restUrl + '/eth/v1/node/syncing')).data;
  check(sync.is_syncing === false && sync.is_optimistic === false && sync.el_offline !== true,
    'Lodestar (through nginx to ejs1) is not syncing, not optimistic, EL online', JSON.stringify(sync));

  // Freeze the picture: stop the CL, let the last mirrored calls finish, then compare.
  await stop(lode.proc);
  const final = await waitFor('both spares at ejs1\'s head', async () => {
    const h = await Promise.all([ejs1, ...spares].map(head));
    return h.every((x) => x.hash === h[0].hash) && h;
  }, { timeoutMs: 15000, intervalMs: 250 });
  check(final[0].number >= BLOCKS_MIN, 'the spares, which no CL talks to, have ejs1\'s head',
    final.map((h, i) => `${['ejs1', 'ejs2', 'ejs3'][i]} ${h.number}:${h.hash.slice(0, 10)}`).join(' '));

  const m = await metrics(mux.adminUrl);
  const mirrored = metric(m, 'enginemux_requests_total', { method: 'engine_newPayloadV2' });
  const toSpare = metric(m, 'enginemux_upstream_calls_total', { node: spares[0].name, method: 'engine_newPayloadV2' });
  check(mirrored >= BLOCKS_MIN && toSpare >= mirrored - 1, 'every mirrored newPayload reached the spare that stayed up',
    `${toSpare} of ${mirrored}`);
  check(metric(m, 'enginemux_block_hash_mismatch_total') === 0, 'no block-hash mismatch');
  check(metric(m, 'enginemux_sync_best', { client: '127.0.0.1' }) === 1, '/metrics: the CL behind nginx is followed');
  await sleep(0);
});

// Scenario "builder" (issue 15): enginemux in the builder role between a real CL and two real
// ELs. Lodestar 1.5.1 → enginemux `--role builder` (rollup-boost's flags) → EthereumJS ejs1 as
// the local EL (`--l2-url`) and EthereumJS ejs2 as the one external builder (`--builder-url`).
// The two ELs do not peer: ejs2 follows the chain only through enginemux's boost-sync copies of
// newPayload and forkchoiceUpdated, and builds a block whenever enginemux forks the CL's
// attributes to it.
//
// A transaction sent only to ejs2's pool can reach the chain only in ejs2's block: its landing on
// ejs1 proves that enginemux took the builder's block, checked its hash, had ejs1 validate it
// (newPayload VALID) and gave it to the CL. Then, with the mode switched to dry-run through the
// admin API, a second ejs2-only transaction stays out of the chain while ejs2's blocks are still
// validated and counted; back in enabled mode it lands. Finally ejs2 is killed (SIGKILL): the
// chain keeps advancing on ejs1's own blocks, the CL never goes optimistic, and /healthz on the
// rpc port (op-conductor's check) goes from 200 to 206.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  check, getJson, install, log, main, metric, metrics, prepareRunDir, requireNode, rpc, runDir, stop,
  waitFor,
} from './lib/harness.mjs';
import { genesisHash, head, startEnginemux, startEthereumJS, startLodestar, status } from './lib/clients.mjs';

const ADMIN_TOKEN = 'interop-builder-admin-token-0123456789';

/// Sends 1 wei from the kit's dev key to `el` only; returns the transaction hash.
function sendOnlyTo(ejsDir, el) {
  const sent = spawnSync(process.execPath, [path.join(ejsDir, 'sendtx.mjs'), el.rpcUrl], { encoding: 'utf8' });
  const hash = (/"result":"(0x[0-9a-f]{64})"/.exec(sent.stdout || '') || [])[1];
  check(hash, `sendtx.mjs to ${el.name} only`, (sent.stdout || sent.stderr || '').trim());
  return hash;
}

const receipt = (el, hash) => rpc(el.rpcUrl, 'eth_getTransactionReceipt', [hash]);

async function setMode(mux, mode) {
  const r = await fetch(mux.adminUrl + '/execution-mode', {
    method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ execution_mode: mode }),
  });
  const text = await r.text();
  check(r.status === 200, `POST /execution-mode ${mode}`, `${r.status} ${text.trim()}`);
  const st = await status(mux);
  check(st.builder && st.builder.execution_mode === mode.replace('_', '-'),
    `/status says execution mode ${mode}`, st.builder && st.builder.execution_mode);
}

const blocksFrom = (m, source) => metric(m, 'enginemux_builder_blocks_total', { source });

await main(async () => {
  prepareRunDir();
  await requireNode();
  const ejsDir = await install('ethereumjs', ['sendtx.mjs']);
  const lodeDir = await install('lodestar');

  const [ejs1, ejs2] = await Promise.all(['ejs1', 'ejs2'].map((name) =>
    startEthereumJS({ name, clients: ejsDir, genesis: 'genesis-shanghai.json' })));
  const genesis = await genesisHash(ejs1);
  check(genesis === await genesisHash(ejs2), 'both EthereumJS nodes share one genesis', genesis);

  const tokenFile = path.join(runDir, 'admin.token');
  fs.writeFileSync(tokenFile, ADMIN_TOKEN + '\n', { mode: 0o600 });
  const mux = await startEnginemux({
    nodes: null, name: 'enginemux-builder', extraArgs: [
      '--role', 'builder', '--l2-url', ejs1.engineUrl, '--l2-jwt-path', ejs1.secret,
      '--builder-url', `${ejs2.engineUrl}#name=ejs2`, '--builder-jwt-path', ejs2.secret,
      '--health-check-interval', '1', '--admin-token-file', tokenFile, '--debug-server-port', '0',
    ],
  });
  const lode = await startLodestar({ clients: lodeDir, engineUrl: mux.url, secret: mux.secret, genesisHash: genesis });
  await waitFor('block 2 on ejs1 and, through boost sync, on ejs2', async () =>
    (await Promise.all([ejs1, ejs2].map(head))).every((h) => h.number >= 2), { timeoutMs: 120000, intervalMs: 250 });

  // 1. enabled: the builder's block, with the ejs2-only transaction, is proposed.
  const tx1 = sendOnlyTo(ejsDir, ejs2);
  const r1 = await waitFor('the ejs2-only transaction in a block on ejs1', async () => receipt(ejs1, tx1),
    { timeoutMs: 40000, intervalMs: 500 });
  check(r1.status === '0x1', 'enabled: the builder\'s block carried its transaction into the chain',
    `block ${Number(r1.blockNumber)} ${r1.blockHash}`);
  let m = await metrics(mux.adminUrl);
  check(blocksFrom(m, 'ejs2') >= 1, 'enginemux_builder_blocks_total{source="ejs2"} counts it', blocksFrom(m, 'ejs2'));
  check(metric(m, 'enginemux_builder_fallbacks_total', { reason: 'hash_mismatch' }) === 0 &&
    metric(m, 'enginemux_builder_fallbacks_total', { reason: 'invalid' }) === 0,
  'no builder block failed the hash check or ejs1\'s validation');

  // 2. dry-run: builder blocks are still built and validated, never proposed.
  await setMode(mux, 'dry_run');
  const before = (await head(ejs1)).number;
  const dryBefore = metric(await metrics(mux.adminUrl), 'enginemux_builder_fallbacks_total', { reason: 'dry_run' });
  const tx2 = sendOnlyTo(ejsDir, ejs2);
  await waitFor('six blocks in dry-run', async () => (await head(ejs1)).number >= before + 6,
    { timeoutMs: 60000, intervalMs: 500 });
  check(!(await receipt(ejs1, tx2)), 'dry-run: the ejs2-only transaction stayed out of the chain');
  m = await metrics(mux.adminUrl);
  const dry = metric(m, 'enginemux_builder_fallbacks_total', { reason: 'dry_run' }) - dryBefore;
  check(dry >= 4, 'dry-run: the builder\'s blocks were validated and counted as dry_run fallbacks', dry);

  // 3. enabled again: the waiting transaction lands through the builder.
  await setMode(mux, 'enabled');
  const r2 = await waitFor('the second ejs2-only transaction on ejs1', async () => receipt(ejs1, tx2),
    { timeoutMs: 40000, intervalMs: 500 });
  check(r2.status === '0x1', 'enabled again: the builder\'s block is proposed', `block ${Number(r2.blockNumber)}`);

  // op-conductor's view: both fresh.
  const healthz = async () => { const r = await fetch(mux.url + '/healthz'); return { code: r.status, body: await r.text() }; };
  const fine = await healthz();
  check(fine.code === 200, '/healthz on the rpc port: 200 while the local EL and the builder are fresh', fine.body.slice(0, 160));

  // 4. the builder dies: local blocks keep the chain going, the CL never notices.
  const killedAt = (await head(ejs1)).number;
  log(`killing ejs2 at block ${killedAt}`);
  await stop(ejs2.proc, { signal: 'SIGKILL' });
  const localBefore = blocksFrom(await metrics(mux.adminUrl), 'local');
  await waitFor('six blocks after the builder died', async () => (await head(ejs1)).number >= killedAt + 6,
    { timeoutMs: 60000, intervalMs: 500 });
  const partial = await waitFor('/healthz to say no builder is usable', async () => {
    const h = await healthz();
    return h.code === 206 && h;
  }, { timeoutMs: 15000, intervalMs: 250 });
  check(partial.code === 206, '/healthz: 206 with the builder dead (the local EL fine)', partial.body.slice(0, 160));
  m = await metrics(mux.adminUrl);
  check(blocksFrom(m, 'local') - localBefore >= 5, 'the builder dead: ejs1\'s own blocks were proposed',
    blocksFrom(m, 'local') - localBefore);
  const sync = (await getJson(lode.restUrl + '/eth/v1/node/syncing')).data;
  check(sync.is_syncing === false && sync.is_optimistic === false && sync.el_offline !== true,
    'Lodestar is not syncing, not optimistic, EL online', JSON.stringify(sync));
  const beacon = (await getJson(lode.restUrl + '/eth/v2/beacon/blocks/head')).data.message;
  const slot = Number(beacon.slot), number = Number(beacon.body.execution_payload.block_number);
  check(slot === number, 'no slot missed: the head block of slot N carries execution block N',
    `slot ${slot}, block ${number}`);
  check(metric(m, 'enginemux_request_errors_total', { method: 'engine_getPayloadV2' }) === 0,
    'every getPayloadV2 answered');
  await stop(lode.proc);
});

// Scenario "mux": Lodestar 1.5.1 (real CL, 8 validators, 2-s slots) → enginemux → three
// EthereumJS 0.10.5 nodes (same genesis, own data dirs, own JWT secrets, no p2p between them).
//
// Passes when the chain advances >= 20 blocks, all three ELs agree on the head hash, Lodestar
// is neither syncing nor optimistic, and /metrics shows that every newPayload/forkchoiceUpdated
// was voted on with three VALID answers (no early vote, no disagreement, no upstream error).
//
// The transaction goes to ONE EL only, a voter that is not the primary: ELs driven only through
// the Engine API do not gossip transactions, so it can reach a block only if enginemux's
// getPayload best-of picks that EL's payload (the only one with a non-zero blockValue). Once in
// a block, newPayload carries it to the other two ELs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  check, finish, install, log, main, metric, metrics, prepareRunDir, requireNode, rpc, stop, waitFor,
  getJson, sleep,
} from './lib/harness.mjs';
import { genesisHash, head, startEnginemux, startEthereumJS, startLodestar, status } from './lib/clients.mjs';

const BLOCKS_MIN = 20;

await main(async () => {
  prepareRunDir();
  await requireNode();
  const ejsDir = await install('ethereumjs', ['sendtx.mjs']);
  const lodeDir = await install('lodestar');

  const els = await Promise.all(['ejs1', 'ejs2', 'ejs3'].map((name) =>
    startEthereumJS({ name, clients: ejsDir, genesis: 'genesis-shanghai.json' })));
  const genesis = await Promise.all(els.map(genesisHash));
  check(genesis.every((h) => h === genesis[0]), 'three EthereumJS nodes share one genesis', genesis[0]);

  const mux = await startEnginemux({ nodes: els, toml: '[health]\ninterval_ms = 1000\n' });
  const lode = await startLodestar({ clients: lodeDir, engineUrl: mux.url, secret: mux.secret, genesisHash: genesis[0] });
  const first = await waitFor('the first block on ejs1', async () => (await head(els[0])).number >= 1 && Date.now(),
    { timeoutMs: 120000, intervalMs: 250 });
  log('first block');

  // The transaction: to one non-primary EL only.
  const st = await waitFor('a primary', async () => { const s = await status(mux); return s.primary && s; });
  const target = els.find((e) => e.name !== st.primary);
  const sent = spawnSync(process.execPath, [path.join(ejsDir, 'sendtx.mjs'), target.rpcUrl], { encoding: 'utf8' });
  const txHash = (/"result":"(0x[0-9a-f]{64})"/.exec(sent.stdout || '') || [])[1];
  check(txHash, `sendtx.mjs to ${target.name} (primary is ${st.primary})`, (sent.stdout || sent.stderr || '').trim());
  if (txHash) {
    const receipts = await waitFor('the transaction in a block on all three ELs', async () => {
      const r = await Promise.all(els.map((e) => rpc(e.rpcUrl, 'eth_getTransactionReceipt', [txHash])));
      return r.every((x) => x && x.blockHash === r[0].blockHash) && r;
    }, { timeoutMs: 40000, intervalMs: 500 });
    check(receipts.every((r) => r.status === '0x1'), 'the transaction is in the same block on all three ELs',
      `block ${Number(receipts[0].blockNumber)} ${receipts[0].blockHash}`);
  }

  await waitFor(`${BLOCKS_MIN} blocks on every EL`, async () =>
    (await Promise.all(els.map(head))).every((h) => h.number >= BLOCKS_MIN), { timeoutMs: 90000, intervalMs: 500 });
  const secs = (Date.now() - first) / 1000;
  const heads = await Promise.all(els.map(head));
  check(heads.every((h) => h.number >= BLOCKS_MIN), `the chain advanced >= ${BLOCKS_MIN} blocks`,
    `${heads[0].number} blocks, ${secs.toFixed(0)} s after the first`);

  const sync = (await getJson(lode.restUrl + '/eth/v1/node/syncing')).data;
  check(sync.is_syncing === false && sync.is_optimistic === false && sync.el_offline !== true,
    'Lodestar is not syncing, not optimistic, EL online', JSON.stringify(sync));
  // Lodestar opens a connection per Engine API call; a proxy that drops one makes it miss a slot.
  const beacon = (await getJson(lode.restUrl + '/eth/v2/beacon/blocks/head')).data.message;
  const slot = Number(beacon.slot), number = Number(beacon.body.execution_payload.block_number);
  check(slot === number, 'no slot missed: the head block of slot N carries execution block N', `slot ${slot}, block ${number}`);
  const s = await status(mux);
  check(s.nodes.every((n) => n.state === 'synced'), '/status: all three nodes synced',
    s.nodes.map((n) => `${n.name}=${n.state}`).join(' '));

  // Freeze the picture: stop the CL, let the last calls finish, then compare.
  await stop(lode.proc);
  await sleep(500);
  const final = await Promise.all(els.map(head));
  check(final.every((h) => h.hash === final[0].hash), 'all three ELs report the same head',
    final.map((h) => `${h.number}:${h.hash.slice(0, 10)}`).join(' '));

  const m = await metrics(mux.adminUrl);
  const votes = metric(m, 'enginemux_votes_total');
  const valid = metric(m, 'enginemux_votes_total', { reason: 'quorum_valid' });
  check(votes > 2 * BLOCKS_MIN && valid === votes, 'every vote reached a VALID quorum', `${valid}/${votes}`);
  check(metric(m, 'enginemux_vote_answers_total', { status: 'VALID' }) === votes,
    'the CL was told VALID every time', `${metric(m, 'enginemux_vote_answers_total', { status: 'VALID' })}/${votes}`);
  check(metric(m, 'enginemux_disagreements_total') === 0, 'no disagreements');
  check(metric(m, 'enginemux_votes_early_total') === 0, 'no vote decided before all three answered');
  for (const method of ['engine_newPayloadV2', 'engine_forkchoiceUpdatedV2']) {
    const requests = metric(m, 'enginemux_requests_total', { method });
    const per = els.map((e) => metric(m, 'enginemux_upstream_calls_total', { node: e.name, method }));
    const errs = els.map((e) => metric(m, 'enginemux_upstream_errors_total', { node: e.name, method }));
    check(requests > 0 && per.every((c) => c === requests) && errs.every((e) => e === 0),
      `${method}: each of the ${requests} calls answered by all three ELs`, `calls ${per} errors ${errs}`);
  }
  // Lodestar sends exchangeTransitionConfigurationV1 once; EthereumJS answers "Method not found".
  // enginemux relays that answer and does not hold it against the node.
  const etc = 'engine_exchangeTransitionConfigurationV1';
  check(metric(m, 'enginemux_requests_total', { method: etc }) >= 1 &&
    metric(m, 'enginemux_upstream_errors_total', { method: etc }) === 0 &&
    metric(m, 'enginemux_request_errors_total', { method: etc }) === 0,
  `${etc} relayed (EthereumJS's "Method not found" is an answer, not a node failure)`);
  const checked = metric(m, 'enginemux_block_hash_checked_total');
  check(checked >= BLOCKS_MIN && metric(m, 'enginemux_block_hash_mismatch_total') === 0,
    'every newPayload passed the block-hash check', `${checked} checked`);
  check(metric(m, 'enginemux_payload_ids_unknown_total') === 0 && metric(m, 'enginemux_request_errors_total',
    { method: 'engine_getPayloadV2' }) === 0, 'every getPayloadV2 answered');
});

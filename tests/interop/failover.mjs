// Scenario "failover": the mux setup of mux.mjs, then one EthereumJS node is killed (SIGKILL)
// mid-run and restarted on its data dir.
//
// Passes when the chain keeps advancing while it is down (2 of 3 voters still make the default
// quorum), /status shows it dead, and after the restart it catches up and votes again: it
// reaches the others' head, /status shows it synced, it stops disagreeing (while it executes the
// fetched blocks it answers SYNCING/ACCEPTED, outvoted by the other two), and then every vote
// counts its answer (its upstream calls grow without errors, it is in no minority, no vote is
// decided without it) and the CL was told VALID throughout.
import {
  check, log, main, metric, metrics, prepareRunDir, requireNode, install, stop, waitFor, sleep, getJson, rpc,
} from './lib/harness.mjs';
import {
  enodeOf, genesisHash, head, startEnginemux, startEthereumJS, startLodestar, status,
} from './lib/clients.mjs';

const nodeState = async (mux, name) => (await status(mux)).nodes.find((n) => n.name === name);

await main(async () => {
  prepareRunDir();
  await requireNode();
  const ejsDir = await install('ethereumjs');
  const lodeDir = await install('lodestar');

  // The ELs peer over devp2p on loopback (a restarted EL fetches the blocks it missed from its
  // peers: Engine API calls only tell it the new head, they do not carry the gap).
  const els = [await startEthereumJS({ name: 'ejs1', clients: ejsDir, genesis: 'genesis-shanghai.json', p2p: true })];
  els.push(...await Promise.all(['ejs2', 'ejs3'].map((name) =>
    startEthereumJS({ name, clients: ejsDir, genesis: 'genesis-shanghai.json', p2p: true, peers: [enodeOf(els[0])] }))));
  await waitFor('ejs1 to have two peers', async () => Number(await rpc(els[0].rpcUrl, 'net_peerCount')) >= 2,
    { timeoutMs: 20000, intervalMs: 250 });
  const genesis = await genesisHash(els[0]);
  const mux = await startEnginemux({ nodes: els, toml: '[health]\ninterval_ms = 1000\n' });
  const lode = await startLodestar({ clients: lodeDir, engineUrl: mux.url, secret: mux.secret, genesisHash: genesis });
  await waitFor('block 4 on every EL', async () => (await Promise.all(els.map(head))).every((h) => h.number >= 4),
    { timeoutMs: 120000, intervalMs: 250 });

  // Kill the node the CL is not relying on for eth_* (any voter would do; not the primary keeps
  // the test about the vote, not about passthrough failover).
  const st = await status(mux);
  const victim = els.find((e) => e.name !== st.primary);
  const before = await head(els[0]);
  log(`killing ${victim.name} at block ${before.number}`);
  await stop(victim.proc, { signal: 'SIGKILL' });
  const dead = await waitFor(`/status to show ${victim.name} dead`, async () => {
    const n = await nodeState(mux, victim.name);
    return n.state === 'dead' && n;
  }, { timeoutMs: 10000, intervalMs: 200 });
  check(true, `/status shows ${victim.name} dead`, dead.reason);
  const survivors = els.filter((e) => e !== victim);
  const during = await waitFor('two blocks while it is down', async () => {
    const h = await head(survivors[0]);
    return h.number >= before.number + 2 && h;
  }, { timeoutMs: 12000, intervalMs: 200 });
  check(true, 'the chain advanced while one of three ELs was down', `${before.number} -> ${during.number}`);

  log(`restarting ${victim.name}`);
  const back = await victim.restart({ peers: survivors.map(enodeOf) });
  els[els.indexOf(victim)] = back;
  const caught = await waitFor(`${back.name} to reach the others' head`, async () => {
    const [a, b] = await Promise.all([head(survivors[0]), head(back)]);
    return b.number >= a.number && b.hash === (await headAt(survivors[0], b.number)) && b;
  }, { timeoutMs: 60000, intervalMs: 500 });
  check(true, `${back.name} caught up after its restart`, `head ${caught.number}`);
  await waitFor(`/status to show ${back.name} synced`, async () => (await nodeState(mux, back.name)).state === 'synced',
    { timeoutMs: 15000, intervalMs: 250 });
  check(true, `/status shows ${back.name} synced again`);

  // Its chain has the blocks now, but it may still be executing them (answering SYNCING or
  // ACCEPTED, a minority the vote outweighs): wait until two blocks pass without it disagreeing.
  const restartedAt = Date.now();
  await waitFor(`${back.name} to agree with the others`, async () => {
    const before = metric(await metrics(mux.adminUrl), 'enginemux_node_disagreements_total', { node: back.name });
    const h = await head(survivors[0]);
    await waitFor('two blocks', async () => (await head(survivors[0])).number >= h.number + 2, { timeoutMs: 10000 });
    return metric(await metrics(mux.adminUrl), 'enginemux_node_disagreements_total', { node: back.name }) === before;
  }, { timeoutMs: 40000, intervalMs: 0 });
  check(true, `${back.name} votes with the others again`, `${((Date.now() - restartedAt) / 1000).toFixed(1)} s after catching up`);

  // Voting again: over the next blocks its answers count and agree.
  const m0 = await metrics(mux.adminUrl);
  const h0 = await head(survivors[0]);
  await waitFor('four more blocks', async () => (await head(survivors[0])).number >= h0.number + 4,
    { timeoutMs: 20000, intervalMs: 250 });
  await sleep(300);
  const m1 = await metrics(mux.adminUrl);
  const d = (name, labels) => metric(m1, name, labels) - metric(m0, name, labels);
  for (const method of ['engine_newPayloadV2', 'engine_forkchoiceUpdatedV2']) {
    const calls = d('enginemux_upstream_calls_total', { node: back.name, method });
    const errors = d('enginemux_upstream_errors_total', { node: back.name, method });
    const requests = d('enginemux_requests_total', { method });
    check(calls >= 4 && calls === requests && errors === 0, `${back.name} answers ${method} again`,
      `${calls} calls of ${requests}, ${errors} errors`);
  }
  check(d('enginemux_node_disagreements_total', { node: back.name }) === 0 && d('enginemux_disagreements_total') === 0,
    `${back.name} agrees with the others in every later vote`);
  check(d('enginemux_votes_total') === d('enginemux_votes_total', { reason: 'quorum_valid' }) && d('enginemux_votes_early_total') === 0,
    'every later vote waited for all three and reached a VALID quorum',
    `${d('enginemux_votes_total', { reason: 'quorum_valid' })}/${d('enginemux_votes_total')}`);

  const sync = (await getJson(lode.restUrl + '/eth/v1/node/syncing')).data;
  check(sync.is_syncing === false && sync.is_optimistic === false, 'Lodestar is not syncing after the outage', JSON.stringify(sync));
  await stop(lode.proc);
  await sleep(500);
  const final = await Promise.all(els.map(head));
  check(final.every((h) => h.hash === final[0].hash), 'all three ELs report the same head',
    final.map((h) => `${h.number}:${h.hash.slice(0, 10)}`).join(' '));
  const m = await metrics(mux.adminUrl);
  const reasons = ['quorum_valid', 'no_quorum', 'invalid_minority', 'no_answers', 'conflicting_quorums']
    .map((r) => `${r}=${metric(m, 'enginemux_votes_total', { reason: r })}`).join(' ');
  log(`votes: ${reasons}; ${back.name}: ${metric(m, 'enginemux_node_disagreements_total', { node: back.name })} times in a ` +
    `minority, ${metric(m, 'enginemux_upstream_errors_total', { node: back.name })} failed calls`);
  // Down: 2 answers, need ceil(0.6 x 2) = 2 VALID. Catching up: 2 VALID + 1 SYNCING -> VALID.
  check(metric(m, 'enginemux_vote_answers_total', { status: 'VALID' }) === metric(m, 'enginemux_votes_total'),
    'the CL was told VALID for every call, through the outage and the catch-up');
  check(metric(m, 'enginemux_block_hash_mismatch_total') === 0, 'no block-hash mismatch');
});

async function headAt(el, number) {
  const b = await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['0x' + number.toString(16), false]);
  return b && b.hash;
}

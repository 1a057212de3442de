// The real-client demo (`./demo.sh --real-clients`, not a meson test): Lodestar 1.5.1 (a real
// CL, 8 validators, 2-s slots) → enginemux → three EthereumJS 0.10.5 nodes, all on 127.0.0.1,
// for --seconds S (default 60). Every few seconds it prints the beacon head slot, each EL's
// head, and what enginemux did (votes, block hashes checked, the primary, node states). Halfway
// through, unless --no-kill, one EL is killed (SIGKILL): two of three still make the quorum and
// the chain keeps advancing; /status shows the dead node and why.
//
// Exit status: 0 when the chain advanced and enginemux never told the CL anything but VALID for
// a healthy quorum; 1 otherwise; 77 when node/npm/the registry is missing (the reason printed).
import {
  check, getJson, install, log, main, metric, metrics, prepareRunDir, requireNode, sleep, stop, waitFor,
} from './lib/harness.mjs';
import { genesisHash, head, startEnginemux, startEthereumJS, startLodestar, status } from './lib/clients.mjs';

const args = process.argv.slice(3);
let seconds = 60;
let kill = true;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds' && /^\d+$/.test(args[i + 1] || '')) seconds = Number(args[++i]);
  else if (args[i] === '--no-kill') kill = false;
  else { console.error(`devnet: unknown option ${args[i]} (use --seconds N, --no-kill)`); process.exit(2); }
}
if (seconds < 20) { console.error('devnet: --seconds must be at least 20 (the first block takes ~10 s)'); process.exit(2); }

const short = (h) => (h ? h.slice(0, 10) : '-');

async function report(els, mux, lode) {
  const [beacon, heads, st, m] = await Promise.all([
    getJson(lode.restUrl + '/eth/v1/beacon/headers/head').catch(() => null),
    Promise.all(els.map((e) => (e.dead ? null : head(e).catch(() => null)))),
    status(mux).catch(() => null),
    metrics(mux.adminUrl).catch(() => null),
  ]);
  const slot = beacon ? beacon.data.header.message.slot : '?';
  const elText = els.map((e, i) => `${e.name} ${heads[i] ? `#${heads[i].number} ${short(heads[i].hash)}` : 'down'}`).join('  ');
  log(`slot ${slot}  ${elText}`);
  if (m) {
    const told = ['VALID', 'SYNCING', 'INVALID'].map((s) => `${s} ${metric(m, 'enginemux_vote_answers_total', { status: s })}`).join(', ');
    log(`  enginemux: votes ${metric(m, 'enginemux_votes_total')} (told the CL ${told}); block hashes checked ` +
      `${metric(m, 'enginemux_block_hash_checked_total')}, mismatches ${metric(m, 'enginemux_block_hash_mismatch_total')}; ` +
      `disagreements ${metric(m, 'enginemux_disagreements_total')}`);
  }
  if (st) {
    log(`  nodes: primary ${st.primary}; ` + st.nodes.map((n) => `${n.name} ${n.state}${n.reason ? ` (${n.reason})` : ''}`).join(', '));
  }
  return heads;
}

await main(async () => {
  prepareRunDir();
  await requireNode();
  const ejsDir = await install('ethereumjs');
  const lodeDir = await install('lodestar');

  log('starting three EthereumJS execution clients (same genesis, own data dirs, own JWT secrets)');
  const els = await Promise.all(['ejs1', 'ejs2', 'ejs3'].map((name) =>
    startEthereumJS({ name, clients: ejsDir, genesis: 'genesis-shanghai.json' })));
  const genesis = await genesisHash(els[0]);
  log('starting enginemux in front of them (quorum 0.6, block-hash checks on)');
  const mux = await startEnginemux({ nodes: els, toml: '[health]\ninterval_ms = 1000\n' });
  log('starting Lodestar (dev mode, 8 validators, 2-s slots) with enginemux as its execution endpoint');
  const lode = await startLodestar({ clients: lodeDir, engineUrl: mux.url, secret: mux.secret, genesisHash: genesis });
  await waitFor('the first block', async () => (await head(els[0])).number >= 1, { timeoutMs: 120000, intervalMs: 250 });
  log('first block: the CL is building through enginemux');

  const began = Date.now();
  let victim = null;
  let killedAt = null;
  let before = null;
  while (Date.now() - began < seconds * 1000) {
    await sleep(4000);
    const heads = await report(els, mux, lode);
    if (kill && !killedAt && Date.now() - began >= (seconds * 1000) / 2) {
      // Not the primary: the CL's eth_* calls keep their node; the vote loses one of three.
      const st = await status(mux);
      victim = els.find((e) => e.name !== st.primary);
      before = Math.max(0, ...heads.filter((h) => h).map((h) => h.number));
      log(`killing ${victim.name} (SIGKILL): two of three ELs must still reach the quorum`);
      victim.dead = true;
      await stop(victim.proc, { signal: 'SIGKILL' });
      killedAt = Date.now();
    }
  }

  const heads = await report(els, mux, lode);
  const m = await metrics(mux.adminUrl);
  const votes = metric(m, 'enginemux_votes_total');
  const alive = heads.find((h) => h);
  check(alive && alive.number >= 5, 'the chain advanced', alive ? `head #${alive.number}` : 'no head');
  check(metric(m, 'enginemux_vote_answers_total', { status: 'INVALID' }) === 0 &&
    metric(m, 'enginemux_block_hash_mismatch_total') === 0,
  'no INVALID answer and no block-hash mismatch', `${votes} votes, ${metric(m, 'enginemux_block_hash_checked_total')} hashes checked`);
  if (killedAt) {
    check(alive && alive.number > before, `the chain kept advancing after ${victim.name} died`,
      `#${before} → #${alive ? alive.number : '?'}`);
    const st = await status(mux);
    const v = st.nodes.find((n) => n.name === victim.name);
    check(v && v.state === 'dead', `/status shows ${victim.name} dead`, v ? `${v.state}: ${v.reason}` : 'missing');
  }
});

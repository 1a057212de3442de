// Scenario "prague": the kit's scripted CL (kit/drive-engine.mjs) drives forkchoiceUpdatedV3 /
// getPayloadV4 / newPayloadV4 through enginemux to EthereumJS 0.10.5 on genesis-prague.json,
// with transactions and a withdrawal in the blocks.
//
//  - Default (lenient) config: every block enginemux receives passes its own block-hash check
//    (checked_total = newPayloads, mismatch_total = 0), even though EthereumJS puts a non-spec
//    `requestsHash` inside executionPayload; the captured newPayloadV4 requests pass
//    `enginemux blockhash` (and a tampered copy fails it, so the tool is not vacuous).
//  - [engine] strict_payload_fields = true: the same EthereumJS payload is rejected with -32602
//    naming executionPayload.requestsHash, before any EL sees it; without the extra field the
//    same block is accepted (VALID) — strict mode rejects unknown fields, nothing else.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  check, install, log, main, metric, metrics, prepareRunDir, requireNode, runDir, rpc,
} from './lib/harness.mjs';
import { startEnginemux, startEthereumJS } from './lib/clients.mjs';
import { buildBlock, drive, engineClient } from './kit/drive-engine.mjs';

const BLOCKS = 8;

function sendTxs(ejsDir, el, count) {
  const out = spawnSync(process.execPath, [path.join(ejsDir, 'sendtx.mjs'), el.rpcUrl, String(count)], { encoding: 'utf8' });
  const hashes = [...(out.stdout || '').matchAll(/"result":"(0x[0-9a-f]{64})"/g)].map((m) => m[1]);
  check(hashes.length === count, `${count} transactions into ${el.name}'s pool`, (out.stdout + out.stderr).trim().split('\n').slice(-1)[0]);
  return hashes;
}

function blockhashTool(file) {
  const out = spawnSync(process.env.EM_ENGINEMUX, ['blockhash', file], { encoding: 'utf8' });
  return { code: out.status, lines: (out.stdout || '').trim().split('\n').filter(Boolean), stderr: out.stderr || '' };
}

await main(async () => {
  prepareRunDir();
  await requireNode();
  const ejsDir = await install('ethereumjs', ['sendtx.mjs']);
  const el = await startEthereumJS({ name: 'ejs', clients: ejsDir, genesis: 'genesis-prague.json' });

  // --- lenient (the default) -----------------------------------------------------------------
  const mux = await startEnginemux({ nodes: [el], name: 'enginemux-lenient' });
  const capture = [];
  const quiet = (...a) => log(...a);
  sendTxs(ejsDir, el, 3);
  const rows = await drive({ engineUrl: mux.url, jwtFile: mux.secret, rpcUrl: el.rpcUrl, blocks: BLOCKS / 2, capture, log: quiet });
  sendTxs(ejsDir, el, 2);
  rows.push(...await drive({ engineUrl: mux.url, jwtFile: mux.secret, rpcUrl: el.rpcUrl, blocks: BLOCKS / 2, capture, log: quiet }));
  check(rows.every((r) => r.newPayload === 'VALID' && r.fcu === 'VALID'), `${BLOCKS} Prague blocks built and accepted through enginemux`,
    rows.map((r) => `${r.number}:${r.newPayload}/${r.fcu}`).join(' '));
  const txs = rows.reduce((n, r) => n + r.txs, 0);
  check(txs === 5, 'the five transactions are in the blocks', `${txs} transactions`);
  const extra = capture.filter((q) => 'requestsHash' in q.params[0]).length;
  log(`${extra} of ${capture.length} payloads carry EthereumJS's non-spec executionPayload.requestsHash`);
  check(extra === capture.length, 'EthereumJS still adds requestsHash inside executionPayload (what the strict test relies on)');

  const m = await metrics(mux.adminUrl);
  const checked = metric(m, 'enginemux_block_hash_checked_total');
  check(checked === BLOCKS && metric(m, 'enginemux_requests_total', { method: 'engine_newPayloadV4' }) === BLOCKS,
    'enginemux checked the block hash of every newPayloadV4', `${checked} checked`);
  check(metric(m, 'enginemux_block_hash_mismatch_total') === 0, 'every block matched its hash');
  check(metric(m, 'enginemux_payload_decode_errors_total') === 0, 'lenient mode accepted the extra field');

  const file = path.join(runDir, 'newPayloadV4-captured.json');
  fs.writeFileSync(file, JSON.stringify(capture));
  const tool = blockhashTool(file);
  const expected = capture.map((q) => `${q.id} ${q.params[0].blockHash} match`);
  check(tool.code === 0 && tool.lines.join('\n') === expected.join('\n'), '`enginemux blockhash` matches every captured newPayloadV4',
    `exit ${tool.code}, ${tool.lines.length} lines ${tool.stderr.trim()}`);
  const tampered = JSON.parse(JSON.stringify(capture));
  const victim = tampered.find((q) => q.params[0].transactions.length > 0);
  victim.params[0].transactions.pop();
  fs.writeFileSync(path.join(runDir, 'newPayloadV4-tampered.json'), JSON.stringify(tampered));
  const bad = blockhashTool(path.join(runDir, 'newPayloadV4-tampered.json'));
  check(bad.code === 1 && bad.lines.filter((l) => l.endsWith(' mismatch')).length === 1 &&
    bad.lines.some((l) => l.startsWith(`${victim.id} `) && l.endsWith(' mismatch')),
  '`enginemux blockhash` flags a payload with a transaction removed', `exit ${bad.code}`);

  // --- strict --------------------------------------------------------------------------------
  const strict = await startEnginemux({ nodes: [el], name: 'enginemux-strict', toml: '[engine]\nstrict_payload_fields = true\n' });
  const engine = engineClient(strict.url, strict.secret);
  const latest = await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['latest', false]);
  const { newPayload } = await buildBlock(engine, latest, BLOCKS);
  const rejected = await engine.send(newPayload);
  const err = rejected.error || {};
  check(err.code === -32602 && /requestsHash/.test(err.message || ''),
    'strict: newPayloadV4 with executionPayload.requestsHash is rejected with -32602 naming the field', JSON.stringify(rejected));
  const sm = await metrics(strict.adminUrl);
  check(metric(sm, 'enginemux_upstream_calls_total', { method: 'engine_newPayloadV4' }) === 0 &&
    metric(sm, 'enginemux_payload_decode_errors_total') === 1, 'strict: the rejected payload never reached the EL');
  const cleaned = { ...newPayload, params: [{ ...newPayload.params[0] }, ...newPayload.params.slice(1)] };
  delete cleaned.params[0].requestsHash;
  const accepted = await engine.send(cleaned);
  check(accepted.result && accepted.result.status === 'VALID', 'strict: the same block without the extra field is VALID', JSON.stringify(accepted.result || accepted.error));
  const p = cleaned.params[0];
  const fcu = await engine.call('engine_forkchoiceUpdatedV3', [{ headBlockHash: p.blockHash, safeBlockHash: p.blockHash, finalizedBlockHash: latest.hash }, null]);
  check(fcu.payloadStatus.status === 'VALID', 'strict: forkchoiceUpdatedV3 to it is VALID');
  const head = await rpc(el.rpcUrl, 'eth_getBlockByNumber', ['latest', false]);
  check(head.hash === p.blockHash && Number(head.number) === BLOCKS + 1, 'the EL head is the block accepted in strict mode', `${Number(head.number)} ${head.hash}`);
  const sm2 = await metrics(strict.adminUrl);
  // The rejected payload never decoded, so only the accepted one had its hash rebuilt.
  check(metric(sm2, 'enginemux_block_hash_checked_total') === 1 &&
        metric(sm2, 'enginemux_payload_decode_errors_total') === 1 &&
        metric(sm2, 'enginemux_block_hash_mismatch_total') === 0,
    'strict: the accepted newPayload was hash-checked, the rejected one counted as a decode error, no mismatch');
});

// Scenario "rpc_anvil": the rpc role (`enginemux --role rpc`) in front of three anvil 1.7.1
// nodes that hold the same chain (issue 16, "Real ELs"). A recorded mix of eth_* calls —
// blocks by number, tag and hash with and without full transactions, transactions, receipts,
// logs with address/topic filters and ranges, eth_call, estimateGas, balances, code, proofs,
// batches, odd ids, eth_sendRawTransaction — is sent through enginemux and straight to the
// anvils; every answer must be the same after a JSON parse (result and error), the id must come
// back exactly as the client wrote it (1e0 and 18446744073709551617 included), and the traffic
// must have been spread over all three nodes. Then one anvil is killed with SIGKILL while reads
// are in flight: every read still gets its answer (retried on another node), none an error.
//
// Keeping three anvils identical: each starts from the same genesis (same mnemonic, chain id
// and genesis timestamp) with mining off (`--no-mining`); every transaction reaches every pool
// (sent to each directly, or through enginemux, which broadcasts eth_sendRawTransaction to every
// node), and each block is mined on each node by `evm_mine` with the same explicit timestamp.
// Before any answers are compared, the three nodes must report the same head hash.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  KIT, check, install, log, main, metric, metrics, post, prepareRunDir, requireNode, rpc, runDir,
  skip, sleep, stop, waitFor, writeSecret,
} from './lib/harness.mjs';
import { startAnvil, startEnginemux, status } from './lib/clients.mjs';

// anvil's default dev mnemonic: accounts 0 and 1 (unlocked: eth_signTransaction signs for them).
const MNEMONIC = 'test test test test test test test test test test test junk';
const CHAIN_ID = 31337;
const ALICE = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
const BOB = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

// The log contract, assembled by hand (no solc here). Runtime: LOG1 whose topic is the first
// 32-byte word of the calldata and whose data is the whole calldata; returns the calldata.
//   36        CALLDATASIZE                 [n]
//   6000      PUSH1 0                      [0 n]
//   6000      PUSH1 0                      [0 0 n]
//   37        CALLDATACOPY (mem[0..n] = calldata[0..n])   []
//   6000      PUSH1 0                      [0]
//   35        CALLDATALOAD (word 0)        [w]
//   36        CALLDATASIZE                 [n w]
//   6000      PUSH1 0                      [0 n w]
//   a1        LOG1 (offset 0, size n, topic w)             []
//   36        CALLDATASIZE                 [n]
//   6000      PUSH1 0                      [0 n]
//   f3        RETURN (mem[0..n])
const LOG_RUNTIME = '36600060003760003536' + '6000a1' + '366000f3';
// Runtime: revert with the 32-byte word 42 (PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 REVERT).
const REVERT_RUNTIME = '602a60005260206000fd';
/// Init code that deploys `runtime` (it follows the 11 bytes of init code):
///   60 len   PUSH1 len          [len]
///   80       DUP1               [len len]
///   60 0b    PUSH1 11           [11 len len]
///   6000     PUSH1 0            [0 11 len len]
///   39       CODECOPY (mem[0..len] = code[11..11+len])    [len]
///   6000     PUSH1 0            [0 len]
///   f3       RETURN (mem[0..len]: the runtime)
const deployCode = (runtime) => {
  const len = (runtime.length / 2).toString(16).padStart(2, '0');
  return '0x60' + len + '80600b6000396000f3' + runtime;
};
// Topics: the calldata's first word.
const TOPIC_A = '0x' + 'a1'.repeat(32);
const TOPIC_B = '0x' + 'b2'.repeat(32);
const TOPIC_C = '0x' + 'c3'.repeat(32);
const hex = (n) => '0x' + n.toString(16);

/// The raw text of the "id" member of each top-level object of a JSON-RPC answer (a single
/// object or a batch), in order: what enginemux wrote, not what JSON.parse makes of it.
function rawIds(text) {
  const ids = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const objectDepth = text[0] === '[' ? 2 : 1;
      if (depth === objectDepth && text.slice(start, i + 1) === '"id"') {
        let j = i + 1;
        while (text[j] === ' ' || text[j] === ':') j++;
        let k = j;
        if (text[k] === '"') { for (k++; text[k] !== '"'; k++) if (text[k] === '\\') k++; k++; }
        else while (k < text.length && !',}] \n'.includes(text[k])) k++;
        ids.push(text.slice(j, k));
        i = k - 1;
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return ids;
}

/// The answer without its ids (result/error only), each entry as JSON text: what must match.
function payloads(text) {
  const strip = (o) => JSON.stringify({ result: o.result, error: o.error });
  const j = JSON.parse(text);
  return Array.isArray(j) ? j.map(strip) : [strip(j)];
}

await main(async () => {
  prepareRunDir();
  await requireNode();
  // Skipped (77) with the reason, never passed, when the anvil kit or anvil itself is missing.
  const kit = path.join(KIT, 'anvil');
  if (!['package.json', 'package-lock.json'].every((f) => fs.existsSync(path.join(kit, f)))) {
    await skip(`the anvil kit is missing (${kit}/package.json and package-lock.json: a copy of /work/shared/interop/anvil)`);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    await skip(`the anvil kit is @foundry-rs/anvil-linux-amd64; this machine is ${process.platform}-${process.arch}`);
  }
  const clients = await install('anvil');
  const anvilExe = path.join(clients, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
  const version = spawnSync(anvilExe, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) {
    await skip(`anvil does not run (${anvilExe}): ${version.error ? version.error.message : (version.stderr || '').trim()}`);
  }
  log(`anvil: ${version.stdout.trim().split('\n')[0]}`);

  // --- three anvils with one genesis ------------------------------------------------------------
  const t0 = Math.floor(Date.now() / 1000) - 60;
  const anvils = [];
  for (const name of ['anvil1', 'anvil2', 'anvil3']) {
    anvils.push(await startAnvil({
      clients, name,
      extraArgs: ['--mnemonic', MNEMONIC, '--chain-id', String(CHAIN_ID), '--timestamp', String(t0),
        '--no-mining'],
    }));
  }
  const a0 = (method, params = []) => rpc(anvils[0].url, method, params);
  const each = (method, params = []) => Promise.all(anvils.filter((n) => !n.killed).map((n) => rpc(n.url, method, params)));
  /// The same head on every live node (number and hash): checked before any comparison.
  const sameHead = async (what) => {
    const heads = await each('eth_getBlockByNumber', ['latest', false]);
    const ok = heads.every((h) => h.hash === heads[0].hash);
    check(ok, `${what}: the anvils hold the same chain`,
      `head ${Number(heads[0].number)} ${heads.map((h) => h.hash.slice(0, 10)).join(' ')}`);
    if (!ok) throw new Error('the anvils diverged: comparing their answers would prove nothing');
    return heads[0];
  };
  let blockTime = t0;
  /// Mines one block on every live node with the same timestamp.
  const mineAll = async () => {
    blockTime += 12;
    for (const n of anvils.filter((x) => !x.killed)) await rpc(n.url, 'evm_mine', [{ timestamp: blockTime }]);
  };
  /// Waits until every live node's pool (or chain) holds each of `hashes`.
  const inEveryPool = (hashes) => waitFor(`${hashes.length} transactions in every anvil's pool`, async () => {
    for (const n of anvils.filter((x) => !x.killed)) {
      for (const h of hashes) if (!(await rpc(n.url, 'eth_getTransactionByHash', [h]))) return false;
    }
    return true;
  }, { timeoutMs: 20000, intervalMs: 50 });
  const genesis = await sameHead('genesis');

  // --- enginemux --role rpc in front of the three ------------------------------------------------
  // anvil has no authrpc: enginemux signs each call with the node's JWT secret (every node needs
  // one), and anvil ignores the Authorization header. The health probe runs once at start and
  // then every 60 s: within this test it never notices the killed node before a read does, so
  // the read's retry on another node is what is tested (not the probe's verdict). The head it
  // saw at start (block 0 on all three) leaves every node "at the head" for `latest` reads.
  const mux = await startEnginemux({
    nodes: anvils.map((n) => ({ name: n.name, engineUrl: n.url, secret: writeSecret(n.name) })),
    toml: '[rpc]\nallow_methods = ["eth_*", "net_*", "web3_*"]\n' +
      '[health]\ninterval_ms = 60000\nblock_age_max_s = 0\n',
    extraArgs: ['--role', 'rpc'],
  });
  await waitFor('enginemux to see the three anvils synced', async () => {
    const s = await status(mux);
    return s.rpc && s.rpc.nodes.length === 3 && s.rpc.nodes.every((n) => n.state === 'synced');
  }, { timeoutMs: 15000, intervalMs: 100 });
  const viaMux = (body) => post(mux.url, typeof body === 'string' ? body : JSON.stringify(body));

  // --- chain activity ----------------------------------------------------------------------------
  const sign = (tx) => a0('eth_signTransaction', [{ gas: '0x100000', ...tx }]);
  let aliceNonce = 0, bobNonce = 0;
  // Block 1 (set-up, straight to every anvil): the log contract and the reverting one.
  const deploys = [await sign({ from: ALICE, nonce: hex(aliceNonce++), data: deployCode(LOG_RUNTIME) }),
    await sign({ from: ALICE, nonce: hex(aliceNonce++), data: deployCode(REVERT_RUNTIME) })];
  const deployHashes = [];
  for (const raw of deploys) {
    const hashes = await Promise.all(anvils.map((n) => rpc(n.url, 'eth_sendRawTransaction', [raw])));
    deployHashes.push(hashes[0]);
  }
  await mineAll();
  const [logAddr, revertAddr] = (await Promise.all(deployHashes.map((h) => a0('eth_getTransactionReceipt', [h]))))
    .map((r) => r.contractAddress);
  check(logAddr && revertAddr && (await a0('eth_getCode', [logAddr, 'latest'])) === '0x' + LOG_RUNTIME,
    'block 1: the hand-assembled log contract is deployed with the runtime we wrote', `${logAddr}, reverter ${revertAddr}`);

  // Blocks 2 and 3: transactions sent only through enginemux, which broadcasts each to the three.
  let broadcastOk = 0;
  const sendViaMux = async (raws) => {
    const hashes = [];
    for (const raw of raws) {
      const r = await viaMux({ jsonrpc: '2.0', id: hashes.length + 1, method: 'eth_sendRawTransaction', params: [raw] });
      const j = JSON.parse(r.text);
      if (r.status === 200 && j.result && j.result === (await a0('web3_sha3', [raw]))) broadcastOk++;
      else check(false, 'eth_sendRawTransaction through enginemux answers the transaction hash', r.text.slice(0, 200));
      hashes.push(j.result);
    }
    await inEveryPool(hashes);
    return hashes;
  };
  const echoData = (topic, i) => topic + i.toString(16).padStart(64, '0') + 'ee'.repeat(i * 7);
  const block2 = [];
  for (let i = 0; i < 8; i++) {
    block2.push(await sign({ from: ALICE, nonce: hex(aliceNonce++), to: logAddr, data: echoData(i % 2 ? TOPIC_B : TOPIC_A, i) }));
  }
  block2.push(await sign({ from: ALICE, nonce: hex(aliceNonce++), to: BOB, value: '0x1234', gas: '0x5208' }));
  const txs2 = await sendViaMux(block2);
  await mineAll();
  const block3 = [];
  for (let i = 0; i < 4; i++) block3.push(await sign({ from: BOB, nonce: hex(bobNonce++), to: logAddr, data: echoData(TOPIC_C, i) }));
  const txs3 = await sendViaMux(block3);
  await mineAll();
  check(broadcastOk === block2.length + block3.length,
    `${broadcastOk} eth_sendRawTransaction through enginemux: each answered its hash (keccak of the raw bytes) and reached all three pools`);
  const head = await sameHead('after blocks 1-3');
  const [b2, b3] = await Promise.all([a0('eth_getBlockByNumber', ['0x2', false]), a0('eth_getBlockByNumber', ['0x3', false])]);
  check(b2.transactions.length === 9 && b3.transactions.length === 4 && Number(head.number) === 3,
    'blocks 2 and 3 hold the 9 and 4 transactions sent through enginemux', `head ${Number(head.number)}`);
  const r2 = await a0('eth_getTransactionReceipt', [txs2[3]]);
  check(r2.status === '0x1' && r2.logs.length === 1 && r2.logs[0].topics[0] === TOPIC_B, 'a receipt of block 2 carries its LOG1');

  // --- the recorded mix ---------------------------------------------------------------------------
  const mix = [
    ['eth_chainId'], ['net_version'], ['web3_clientVersion'], ['eth_blockNumber'], ['eth_gasPrice'],
    ['eth_maxPriorityFeePerGas'], ['eth_syncing'], ['eth_accounts'],
    ['eth_feeHistory', ['0x3', 'latest', [10, 50, 90]]],
    ['eth_getBlockByNumber', ['latest', false]], ['eth_getBlockByNumber', ['latest', true]],
    ['eth_getBlockByNumber', ['0x0', false]], ['eth_getBlockByNumber', ['0x1', true]],
    ['eth_getBlockByNumber', ['0x2', true]], ['eth_getBlockByNumber', ['0x2', false]],
    ['eth_getBlockByNumber', ['earliest', false]], ['eth_getBlockByNumber', ['finalized', false]],
    ['eth_getBlockByNumber', ['safe', true]], ['eth_getBlockByNumber', ['0x99', false]],
    ['eth_getBlockByHash', [b2.hash, true]], ['eth_getBlockByHash', [b3.hash, false]],
    ['eth_getBlockByHash', [genesis.hash, false]], ['eth_getBlockByHash', ['0x' + '00'.repeat(32), false]],
    ['eth_getBlockTransactionCountByNumber', ['0x2']], ['eth_getBlockTransactionCountByHash', [b3.hash]],
    ['eth_getBlockReceipts', ['0x2']],
    ['eth_getTransactionByHash', [txs2[0]]], ['eth_getTransactionByHash', [txs3[3]]],
    ['eth_getTransactionByHash', [deployHashes[0]]], ['eth_getTransactionByHash', ['0x' + '11'.repeat(32)]],
    ['eth_getTransactionByBlockNumberAndIndex', ['0x2', '0x8']],
    ['eth_getTransactionByBlockHashAndIndex', [b3.hash, '0x1']],
    ['eth_getTransactionReceipt', [txs2[1]]], ['eth_getTransactionReceipt', [txs2[8]]],
    ['eth_getTransactionReceipt', [txs3[2]]], ['eth_getTransactionReceipt', [deployHashes[1]]],
    ['eth_getTransactionReceipt', ['0x' + '22'.repeat(32)]],
    ['eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]],
    ['eth_getLogs', [{ fromBlock: '0x2', toBlock: '0x2', address: logAddr }]],
    ['eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest', topics: [TOPIC_A] }]],
    ['eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x3', address: [logAddr, revertAddr], topics: [[TOPIC_B, TOPIC_C]] }]],
    ['eth_getLogs', [{ fromBlock: '0x3', toBlock: '0x3', topics: [TOPIC_A] }]],
    ['eth_getLogs', [{ blockHash: b3.hash }]],
    ['eth_getLogs', [{ fromBlock: 'earliest', toBlock: 'latest', address: revertAddr }]],
    ['eth_getLogs', [{ fromBlock: '0x3', toBlock: '0x1' }]],
    ['eth_call', [{ to: logAddr, data: TOPIC_A + 'ff' }, 'latest']],
    ['eth_call', [{ from: BOB, to: logAddr, data: '0x1234' }, '0x2']],
    ['eth_call', [{ to: logAddr, data: '0x1234' }, '0x0']],
    ['eth_call', [{ to: logAddr, data: '0xabcd' }, { blockHash: b2.hash }]],
    ['eth_call', [{ to: revertAddr }, 'latest']],
    ['eth_estimateGas', [{ from: ALICE, to: logAddr, data: echoData(TOPIC_A, 9) }]],
    ['eth_estimateGas', [{ from: BOB, to: ALICE, value: '0x1' }, 'latest']],
    ['eth_estimateGas', [{ from: ALICE, to: revertAddr }]],
    ['eth_getBalance', [ALICE, 'latest']], ['eth_getBalance', [BOB, '0x2']], ['eth_getBalance', [BOB, '0x1']],
    ['eth_getTransactionCount', [ALICE, 'latest']], ['eth_getTransactionCount', [BOB, '0x2']],
    ['eth_getCode', [logAddr, 'latest']], ['eth_getCode', [revertAddr, '0x0']],
    ['eth_getStorageAt', [logAddr, '0x0', 'latest']],
    ['eth_getProof', [logAddr, ['0x0'], 'latest']],
    ['eth_createAccessList', [{ from: ALICE, to: logAddr, data: '0x01' }, 'latest']],
    ['eth_getBalance', ['not-an-address', 'latest']], ['eth_noSuchMethod', []],
  ];
  const byMethod = new Map();
  let nextId = 1000;
  const compared = [];
  /// Sends one body through enginemux and to each live anvil; checks the anvils agree with each
  /// other byte for byte and enginemux's answer has the same result/error and the ids as sent.
  /// directBody: what the anvils are sent instead (anvil refuses ids such as 1e0 with -32600).
  const same = async (what, body, sentIds, directBody = body) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const mm = await viaMux(text);
    const directText = typeof directBody === 'string' ? directBody : JSON.stringify(directBody);
    const direct = await Promise.all(anvils.filter((n) => !n.killed).map((n) => post(n.url, directText)));
    const agree = direct.every((d) => d.status === direct[0].status && d.text === direct[0].text);
    let ok = agree && mm.status === direct[0].status;
    let why = agree ? '' : 'the anvils answered differently';
    if (ok) {
      const [pm, pd] = [payloads(mm.text), payloads(direct[0].text)];
      ok = pm.length === pd.length && pm.every((p, i) => p === pd[i]);
      if (!ok) why = `result/error differ: mux ${mm.text.slice(0, 300)} | anvil ${direct[0].text.slice(0, 300)}`;
      const ids = rawIds(mm.text);
      if (ok && JSON.stringify(ids) !== JSON.stringify(sentIds)) {
        ok = false;
        why = `ids ${JSON.stringify(ids)} instead of ${JSON.stringify(sentIds)}`;
      }
    } else if (!why) why = `HTTP ${mm.status} vs ${direct[0].status}: ${mm.text.slice(0, 200)}`;
    if (!ok) check(false, `${what}: the same through enginemux as directly`, why);
    compared.push({ what, ok, bytes: direct[0].text.length, identicalBytes: mm.text === direct[0].text });
    return { ok, text: direct[0].text };
  };
  const req = (method, params = [], id = nextId++) => ({ jsonrpc: '2.0', id, method, params });
  const label = (method, params) => `${method}(${JSON.stringify(params || []).slice(0, 70)})`;

  const before = await metrics(mux.adminUrl);
  // 1. One by one (ids: numbers, every fifth a string).
  const recorded = [];
  for (const [i, [method, params = []]] of mix.entries()) {
    const id = i % 5 === 4 ? `mix-${i}` : nextId++;
    const r = await same(label(method, params), req(method, params, id), [JSON.stringify(id)]);
    recorded.push(r.text);
    byMethod.set(method, (byMethod.get(method) || 0) + 1);
  }
  log(`the mix: ${[...byMethod].map(([m, n]) => `${m}×${n}`).join(' ')}`);
  const oneByOne = compared.filter((c) => c.ok).length;
  check(oneByOne === mix.length, `${oneByOne} of ${mix.length} calls one by one: the same result/error and id through enginemux as from each anvil`);
  // 2. All at once through enginemux (so the nodes share them), against the recorded answers.
  const concurrent = await Promise.all(mix.map(([method, params = []], i) => viaMux(req(method, params, 5000 + i))));
  let concurrentOk = 0;
  for (const [i, r] of concurrent.entries()) {
    const good = r.status === 200 && payloads(r.text)[0] === payloads(recorded[i])[0] &&
      rawIds(r.text)[0] === String(5000 + i);
    if (good) concurrentOk++;
    else check(false, `${label(...mix[i])} sent concurrently: the recorded answer`, r.text.slice(0, 200));
  }
  check(concurrentOk === mix.length, `${concurrentOk} of ${mix.length} calls sent all at once through enginemux: the recorded answers`);

  // 3. Batches (each entry is routed on its own) and ids as clients write them.
  const batchOf = (entries) => entries.map(([method, params]) => req(method, params));
  const batches = [
    ['batch of 12 mixed reads', batchOf(mix.slice(9, 21))],
    ['batch of every receipt and log query', batchOf([...txs2, ...txs3].map((h) => ['eth_getTransactionReceipt', [h]])
      .concat(mix.filter(([m]) => m === 'eth_getLogs')))],
    ['batch with errors in it', batchOf([['eth_noSuchMethod', []], ['eth_call', [{ to: revertAddr }, 'latest']], ['eth_blockNumber', []]])],
    ['the whole mix as one batch', batchOf(mix)],
  ];
  for (const [what, batch] of batches) await same(what, batch, batch.map((e) => JSON.stringify(e.id)));
  const batchOk = compared.slice(-batches.length).filter((c) => c.ok).length;
  check(batchOk === batches.length, `${batchOk} of ${batches.length} batches (${batches.map(([, b]) => b.length).join(', ')} entries, each routed on its own): the same, in order, ids as sent`);
  // Ids as clients write them; anvil itself refuses 1e0, 2^64+1 and -0.5e-3 (-32600), so the
  // anvils are sent the same request with a plain id (only the result is compared with theirs).
  const withId = (id, method, params) => `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${JSON.stringify(params)}}`;
  const rawBodies = [
    ['id 1e0 (a number written with an exponent)', '1e0', 'eth_getBalance', [BOB, 'latest']],
    ['id 18446744073709551617 (past 2^64)', '18446744073709551617', 'eth_blockNumber', []],
    ['id -0.5e-3', '-0.5e-3', 'eth_getBlockByNumber', ['0x2', true]],
    ['string id with an escape', '"a\\u0062c"', 'eth_getTransactionReceipt', [txs3[0]]],
    ['id 2^53-1', '9007199254740991', 'eth_chainId', []],
    ['id null', 'null', 'eth_getLogs', [{ fromBlock: '0x2', toBlock: '0x3', topics: [TOPIC_A] }]],
  ];
  for (const [what, id, method, params] of rawBodies) await same(what, withId(id, method, params), [id], withId(1, method, params));
  const oddBatch = [['1e0', 'eth_getCode', [logAddr, 'latest']], ['"x"', 'net_version', []],
    ['18446744073709551617', 'eth_getBlockByNumber', ['0x3', false]], ['null', 'eth_getStorageAt', [logAddr, '0x1', '0x2']]];
  await same('batch with ids 1e0, "x", 2^64+1 and null', `[${oddBatch.map(([id, m, p]) => withId(id, m, p)).join(',')}]`,
    oddBatch.map(([id]) => id), `[${oddBatch.map(([, m, p], i) => withId(i + 1, m, p)).join(',')}]`);
  const idOk = compared.slice(-(rawBodies.length + 1)).filter((c) => c.ok).length;
  check(idOk === rawBodies.length + 1, `${idOk} of ${rawBodies.length + 1} requests with ids ${rawBodies.map(([, id]) => id).join(' ')} (one a batch): ` +
    'the answer anvil gives a plain id, under the id exactly as sent');

  // --- the reads were spread over the three nodes -----------------------------------------------------
  // Counted before the writes: a broadcast goes to every node and would prove nothing here.
  const after = await metrics(mux.adminUrl);
  const share = anvils.map((n) => metric(after, 'enginemux_upstream_calls_total', { node: n.name }) -
    metric(before, 'enginemux_upstream_calls_total', { node: n.name }));
  const hits = metric(after, 'enginemux_rpc_cache_hits_total') - metric(before, 'enginemux_rpc_cache_hits_total');
  check(share.every((c) => c > 0), 'every anvil answered part of the reads (the mix, at once, batches, ids)',
    `upstream calls ${anvils.map((n, i) => `${n.name}=${share[i]}`).join(' ')}, answered from the cache ${hits}`);

  // --- writes: eth_sendRawTransaction through enginemux vs directly -------------------------------
  // A transaction cannot be sent twice to one chain. Each is sent through enginemux (a
  // broadcast to the three), read back, then every anvil is reverted to a snapshot taken before
  // it and the same transaction is sent to each directly; the blocks are mined with the same
  // timestamp and base fee, so both branches must produce the same block.
  const writes = [
    ['transfer', { from: BOB, to: ALICE, value: '0x99', gas: '0x5208' }],
    ['contract call with a log', { from: ALICE, to: logAddr, data: echoData(TOPIC_C, 77) }],
  ];
  const mineAt = async (time, baseFee) => {
    for (const n of anvils) {
      await rpc(n.url, 'anvil_setNextBlockBaseFeePerGas', [baseFee]);
      await rpc(n.url, 'evm_mine', [{ timestamp: time }]);
    }
  };
  for (const [what, tx] of writes) {
    const raw = await sign({ ...tx, nonce: hex(tx.from === ALICE ? aliceNonce++ : bobNonce++) });
    const snapshots = await each('evm_snapshot');
    const time = blockTime + 12;
    const branch = {};
    for (const via of ['mux', 'direct']) {
      if (via === 'direct') for (const [i, n] of anvils.entries()) await rpc(n.url, 'evm_revert', [snapshots[i]]);
      const send = async (body) => {
        if (via === 'mux') return (await viaMux(body)).text;
        const answers = await Promise.all(anvils.map((n) => post(n.url, body)));
        if (!answers.every((x) => x.text === answers[0].text)) return `anvils differ: ${answers.map((x) => x.text).join(' | ')}`;
        return answers[0].text;
      };
      const read = async (body) => (via === 'mux' ? viaMux(body) : post(anvils[0].url, body)).then((x) => x.text);
      const sent = await send(JSON.stringify(req('eth_sendRawTransaction', [raw], 1)));
      const hash = JSON.parse(sent).result;
      if (hash) await inEveryPool([hash]);
      // Sent again while it waits in the pools: every anvil says it has it.
      const pending = await send(JSON.stringify(req('eth_sendRawTransaction', [raw], 2)));
      await mineAt(time, '0x3b9aca00');
      const back = await read(JSON.stringify([req('eth_getTransactionReceipt', [hash], 3), req('eth_getBlockByNumber', ['latest', true], 4),
        req('eth_getLogs', [{ fromBlock: 'latest', toBlock: 'latest' }], 5), req('eth_getTransactionByHash', [hash], 6)]));
      const again = await send(JSON.stringify(req('eth_sendRawTransaction', [raw], 7)));  // mined already
      branch[via] = { sent, pending, back, again };
    }
    blockTime = time;
    const [m, d] = [branch.mux, branch.direct];
    check(m.sent === d.sent && JSON.parse(m.sent).result, `eth_sendRawTransaction (${what}): the same answer through enginemux as from the anvils`, m.sent.slice(0, 120));
    // Sent again while pending: each anvil says "transaction already imported" (-32003); enginemux
    // folds that into success with the transaction's hash, as it does geth's "already known".
    const pendingHash = JSON.parse(m.pending).result;
    check(JSON.parse(d.pending).error && /already imported/.test(d.pending) && pendingHash === JSON.parse(m.sent).result,
      `${what} sent again while pending: anvil's "already imported" answered as success with the hash`,
      `${m.pending.slice(0, 100)} (direct: ${d.pending.slice(0, 100)})`);
    check(m.back === d.back && m.back.includes('"status":"0x1"'), `${what}: receipt, block, logs and transaction read back identically`, `${m.back.length} bytes`);
    if (m.back !== d.back) { fs.writeFileSync(`${runDir}/diff-${what}-mux.json`, m.back); fs.writeFileSync(`${runDir}/diff-${what}-direct.json`, d.back); }
    check(m.again === d.again && JSON.parse(m.again).error, `${what} sent once mined: the same error`, m.again.slice(0, 140));
    await sameHead(`after the ${what}`);
    for (const k of ['sent', 'back', 'again']) compared.push({ what: `${what}: ${k}`, ok: m[k] === d[k], bytes: d[k].length, identicalBytes: m[k] === d[k] });
  }

  const afterWrites = await metrics(mux.adminUrl);
  const errors = anvils.map((n) => metric(afterWrites, 'enginemux_upstream_errors_total', { node: n.name }));
  check(errors.every((e) => e === 0), 'no upstream errors while all three ran', errors.join(' '));
  let identical = compared.filter((c) => c.identicalBytes).length;
  log(`compared ${compared.length} requests with the anvils' answers (${mix.length} calls one by one over ${byMethod.size} methods, ` +
    `${batches.length} batches, ${rawBodies.length + 1} bodies with odd ids, ${writes.length} writes × 3; ` +
    `${identical} byte-identical including the id), and the ${mix.length} calls at once with the recorded answers`);

  // --- one anvil killed while reads are in flight ------------------------------------------------------
  const victim = anvils[1];
  const survivor = anvils[0];
  const reads = mix;
  const expected = [];
  for (const [method, params = []] of reads) expected.push((await post(survivor.url, JSON.stringify(req(method, params, 1)))).text);
  const retriesBefore = metric(await metrics(mux.adminUrl), 'enginemux_rpc_retries_total');
  const round = (base) => Promise.all(reads.map(([method, params = []], i) => viaMux(req(method, params, base + i))));
  const inFlight = round(20000);
  await sleep(0);
  await stop(victim.proc, { signal: 'SIGKILL' });
  victim.killed = true;
  const rounds = [await inFlight, await round(30000), await round(40000)];
  let readsOk = 0, readsBad = 0;
  for (const [k, answers] of rounds.entries()) {
    for (const [i, r] of answers.entries()) {
      const base = [20000, 30000, 40000][k];
      if (r.status === 200 && payloads(r.text)[0] === payloads(expected[i])[0] && rawIds(r.text)[0] === String(base + i)) readsOk++;
      else if (readsBad++ < 5) check(false, `after the kill: ${label(...reads[i])} answered as before`, r.text.slice(0, 240));
    }
  }
  const m2 = await metrics(mux.adminUrl);
  const victimErrors = metric(m2, 'enginemux_upstream_errors_total', { node: victim.name });
  const retries = metric(m2, 'enginemux_rpc_retries_total') - retriesBefore;
  check(readsBad === 0, `${readsOk} reads in three rounds of ${reads.length} (the first in flight when ${victim.name} was killed): every one answered, none an error`);
  check(victimErrors > 0 && retries > 0, `reads that reached the killed ${victim.name} were retried on another node`,
    `${victimErrors} calls to it failed, ${retries} retries`);
  const s = await status(mux);
  const v = s.rpc.nodes.find((n) => n.name === victim.name);
  check(v && v.state === 'dead', `/status shows ${victim.name} dead`, v && v.state);
  let afterKill = 0;
  for (const [method, params = []] of mix.slice(0, 30)) if ((await same(`after the kill: ${label(method, params)}`, req(method, params, 77), ['77'])).ok) afterKill++;
  check(afterKill === 30, `${afterKill} of 30 calls one by one after the kill: the same as the two live anvils`);

  const total = compared.length;
  const okCount = compared.filter((c) => c.ok).length;
  identical = compared.filter((c) => c.identicalBytes).length;
  const summary = compared.map((c) => `${c.ok ? 'same' : 'DIFF'} ${c.identicalBytes ? 'bytes' : 'parsed'} ${c.bytes} B  ${c.what}`);
  fs.writeFileSync(`${runDir}/compared.txt`, summary.join('\n') + '\n');
  check(okCount === total && total >= 100,
    `${total} requests compared through enginemux and directly, all the same (results and errors; ids as sent); ` +
    `${identical} byte-identical as a whole; list in ${runDir}/compared.txt`);
});

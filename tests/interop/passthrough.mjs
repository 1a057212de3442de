// Scenario "passthrough": eth_* JSON-RPC through enginemux, with anvil 1.7.1 as its only node
// (anvil has no Engine API and ignores the JWT enginemux signs its calls with). Scenario "rpc"
// (rpc.mjs) runs it through the rpc role's listener instead of the mux's passthrough.
//
// Every request is sent twice — through enginemux and straight to anvil — and the two response
// bodies must be byte-identical: reads (blocks with full transactions, receipts, logs, call,
// estimateGas, fee history), errors (reverts with data, unknown methods, bad params), batches
// (mixed, with notifications, with errors, large), and writes. A write cannot be sent twice to
// one chain, so each one is sent through enginemux, its effects are read back, anvil is reverted
// to a snapshot taken before it, and it is sent again directly (the next block's timestamp and
// base fee are pinned, so both branches mine the same block).
import fs from 'node:fs';
import {
  check, install, log, main, post, prepareRunDir, requireNode, rpc, sleep,
} from './lib/harness.mjs';
import { startAnvil, startEnginemux } from './lib/clients.mjs';
import { runDir, writeSecret } from './lib/harness.mjs';

// Dev accounts of anvil's default mnemonic (unlocked: eth_signTransaction signs for them).
const ALICE = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';
const BOB = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const TOPIC = '0x' + 'e7'.repeat(32);
// Runtime: copy calldata to memory, LOG1(calldata, TOPIC), return calldata.
const ECHO_RUNTIME = '3660006000377f' + TOPIC.slice(2) + '366000a1366000f3';
// Runtime: revert with the 32-byte word 42.
const REVERT_RUNTIME = '602a60005260206000fd';
/// Init code that deploys `runtime` (PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN).
const deployCode = (runtime) => {
  const len = (runtime.length / 2).toString(16).padStart(2, '0');
  return '0x60' + len + '80600b6000396000f3' + runtime;
};

await main(async () => {
  prepareRunDir();
  await requireNode();
  const anvilDir = await install('anvil');
  const anvil = await startAnvil({ clients: anvilDir });
  const unusedSecret = writeSecret('anvil');  // enginemux signs its calls; anvil ignores the JWT
  // Scenario "rpc" (rpc.mjs) runs the same through the rpc role's listener: no JWT from the
  // client, every method allowed, the answer cache on.
  const viaRpc = process.env.EM_PASSTHROUGH_LISTENER === 'rpc';
  const mux = await startEnginemux({
    nodes: [{ name: 'anvil', engineUrl: anvil.url, secret: unusedSecret }],
    ...(viaRpc ? { toml: '[rpc]\nallow_methods = ["*"]\n', extraArgs: ['--role', 'rpc'] } : {}),
  });
  const direct = (body) => post(anvil.url, body);
  const proxied = (body) => post(mux.url, body, viaRpc ? {} : { jwt: mux.secret });
  const a = (method, params = []) => rpc(anvil.url, method, params);

  let compared = 0;
  const identical = [];
  /// Sends the same body both ways; checks the bodies are byte-identical. Returns the body.
  const same = async (what, request, { order = 'mux-first' } = {}) => {
    const body = typeof request === 'string' ? request : JSON.stringify(request);
    const viaMux = order === 'mux-first' ? await proxied(body) : null;
    const viaAnvil = await direct(body);
    const m = viaMux || await proxied(body);
    compared++;
    const ok = m.status === viaAnvil.status && m.text === viaAnvil.text;
    if (ok) identical.push(what);
    else {
      let i = 0;
      while (i < m.text.length && m.text[i] === viaAnvil.text[i]) i++;
      check(false, `${what}: byte-identical through enginemux`,
        `HTTP ${m.status}/${viaAnvil.status}, first difference at byte ${i}: mux …${m.text.slice(Math.max(0, i - 40), i + 80)}… anvil …${viaAnvil.text.slice(Math.max(0, i - 40), i + 80)}…`);
    }
    return viaAnvil.text;
  };
  let nextId = 100;
  const req = (method, params = [], id = nextId++) => ({ jsonrpc: '2.0', id, method, params });

  // --- state: contracts, a block of many transactions, a pinned timestamp ---------------------
  const signed = async (tx) => a('eth_signTransaction', [{ from: ALICE, gas: '0x100000', ...tx }]);
  const send = async (raw) => a('eth_sendRawTransaction', [raw]);
  // anvil mines right after eth_sendRawTransaction answers, not always before: wait for it.
  const receipt = async (hash) => {
    for (let i = 0; i < 100; i++) {
      const r = await a('eth_getTransactionReceipt', [hash]);
      if (r) return r;
      await sleep(20);
    }
    throw new Error(`no receipt for ${hash} after 2 s`);
  };
  const echo = (await receipt(await send(await signed({ data: deployCode(ECHO_RUNTIME) })))).contractAddress;
  const reverter = (await receipt(await send(await signed({ data: deployCode(REVERT_RUNTIME) })))).contractAddress;
  await a('evm_setAutomine', [false]);
  const hashes = [];
  const nonce0 = Number(await a('eth_getTransactionCount', [ALICE, 'latest']));
  for (let i = 0; i < 120; i++) {
    const data = '0x' + i.toString(16).padStart(64, '0') + 'ab'.repeat(200);
    hashes.push(await send(await signed({ to: echo, data, nonce: '0x' + (nonce0 + i).toString(16) })));
  }
  await a('evm_mine', []);
  await a('evm_setAutomine', [true]);
  const big = await a('eth_getBlockByNumber', ['latest', false]);
  check(big.transactions.length === 120, 'anvil mined 120 log-emitting transactions into one block', `block ${Number(big.number)}`);
  log(`state ready: echo ${echo}, reverter ${reverter}, big block ${Number(big.number)}`);

  // --- reads ------------------------------------------------------------------------------------
  const calls = [
    ['web3_clientVersion'], ['eth_chainId'], ['net_version'], ['eth_blockNumber'], ['eth_gasPrice'],
    ['eth_accounts'], ['eth_syncing'], ['eth_maxPriorityFeePerGas'],
    ['eth_feeHistory', ['0x4', 'latest', [25, 75]]],
    ['eth_getBlockByNumber', ['latest', true]], ['eth_getBlockByNumber', ['0x0', false]],
    ['eth_getBlockByNumber', ['0x1', true]], ['eth_getBlockByNumber', ['0xffff', false]],
    ['eth_getBlockByHash', [big.hash, true]], ['eth_getBlockTransactionCountByHash', [big.hash]],
    ['eth_getTransactionByHash', [hashes[7]]], ['eth_getTransactionReceipt', [hashes[119]]],
    ['eth_getTransactionByBlockNumberAndIndex', [big.number, '0x3']],
    ['eth_getBalance', [ALICE, 'latest']], ['eth_getTransactionCount', [ALICE, 'latest']],
    ['eth_getCode', [echo, 'latest']], ['eth_getStorageAt', [echo, '0x0', 'latest']],
    ['eth_call', [{ to: echo, data: '0x1234' }, 'latest']],
    ['eth_call', [{ to: reverter, data: '0x' }, 'latest']],
    ['eth_estimateGas', [{ from: ALICE, to: echo, data: '0x' + 'cd'.repeat(100) }]],
    ['eth_estimateGas', [{ from: ALICE, to: reverter }]],
    ['eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]],
    ['eth_getLogs', [{ fromBlock: big.number, toBlock: big.number, address: echo, topics: [TOPIC] }]],
    ['eth_getLogs', [{ blockHash: big.hash, topics: [['0x' + '00'.repeat(32)]] }]],
    ['eth_getLogs', [{ fromBlock: '0x5', toBlock: '0x1' }]],
    ['eth_noSuchMethod', []], ['eth_getBalance', ['not-an-address', 'latest']],
  ];
  for (const [method, params] of calls) await same(`${method}(${JSON.stringify(params || []).slice(0, 60)})`, req(method, params));
  await same('string id', req('eth_blockNumber', [], 'an id'));
  await same('large numeric id', req('eth_chainId', [], 9007199254740991));
  await same('no params member', '{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}');
  // JSON-RPC answers nothing to a notification; anvil says so with an empty 204.
  await same('a notification (no id)', '{"jsonrpc":"2.0","method":"eth_chainId","params":[]}');

  // --- batches ----------------------------------------------------------------------------------
  await same('batch of reads', [req('eth_blockNumber'), req('eth_chainId'), req('eth_getBalance', [BOB, 'latest'])]);
  await same('batch with a notification', [req('eth_blockNumber'), { jsonrpc: '2.0', method: 'eth_chainId', params: [] }, req('eth_gasPrice')]);
  await same('batch of notifications only', [{ jsonrpc: '2.0', method: 'eth_chainId', params: [] }, { jsonrpc: '2.0', method: 'eth_blockNumber', params: [] }]);
  await same('batch with errors', [req('eth_noSuchMethod'), req('eth_call', [{ to: reverter }, 'latest']), req('eth_blockNumber')]);
  await same('large batch (blocks with full transactions, logs)', [req('eth_getBlockByNumber', [big.number, true]),
    req('eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]), ...hashes.slice(0, 40).map((h) => req('eth_getTransactionReceipt', [h]))]);

  // --- writes: through enginemux, read back, revert, again directly -----------------------------
  const ts = Math.floor(Date.now() / 1000) + 100;
  const writes = [
    ['transfer', { to: BOB, value: '0x1234', gas: '0x5208' }],
    ['contract call with a log', { to: echo, data: '0xfeedface' }],
  ];
  for (const [what, tx] of writes) {
    const raw = await signed(tx);
    const snapshot = await a('evm_snapshot');
    const results = {};
    for (const path of ['mux', 'anvil']) {
      if (path === 'anvil') await a('evm_revert', [snapshot]);
      await a('evm_setNextBlockTimestamp', [ts]);
      await a('anvil_setNextBlockBaseFeePerGas', ['0x3b9aca00']);  // evm_revert keeps anvil's fee state
      const via = path === 'mux' ? proxied : direct;
      const sent = await via(JSON.stringify(req('eth_sendRawTransaction', [raw], 1)));
      const hash = JSON.parse(sent.text).result;
      // anvil may answer before its automine has sealed the block (seen after evm_revert).
      for (let i = 0; i < 100 && hash && !(await a('eth_getTransactionReceipt', [hash])); i++) await sleep(20);
      const back = await via(JSON.stringify([req('eth_getTransactionReceipt', [hash], 2), req('eth_getBlockByNumber', ['latest', true], 3),
        req('eth_getLogs', [{ fromBlock: 'latest', toBlock: 'latest' }], 4)]));
      const again = await via(JSON.stringify(req('eth_sendRawTransaction', [raw], 5)));  // already mined
      results[path] = [sent.text, back.text, again.text];
    }
    const [m, d] = [results.mux, results.anvil];
    check(m[0] === d[0] && JSON.parse(m[0]).result, `eth_sendRawTransaction (${what}): same answer`, m[0].slice(0, 120));
    check(m[1] === d[1] && m[1].includes('"status":"0x1"'), `${what}: receipt, block and logs read back identically`, `${m[1].length} bytes`);
    if (m[1] !== d[1]) { fs.writeFileSync(`${runDir}/diff-mux.json`, m[1]); fs.writeFileSync(`${runDir}/diff-anvil.json`, d[1]); }
    check(m[2] === d[2] && JSON.parse(m[2]).error, `${what}: the repeated send is the same error`, m[2].slice(0, 120));
    compared += 3;
  }

  check(compared >= 40 && identical.length + 3 * writes.length === compared,
    `${compared} requests answered byte-identically through enginemux and directly`);
  fs.writeFileSync(`${runDir}/identical.txt`, identical.join('\n') + '\n');
});

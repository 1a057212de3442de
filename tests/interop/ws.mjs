// Scenario "ws": a real WebSocket client library the ecosystem uses — npm `ws` 8.18.0 (what
// ethers' WebSocketProvider and web3.js run on in node), pinned in kit/ws — talks JSON-RPC to
// enginemux's rpc listener (`--role rpc`) in front of anvil (issue 17 item 2): eth_blockNumber
// and a batch over one connection, the answers matched by id and equal to anvil's own; the
// library's ping is answered; its close handshake ends with the code it sent. Exits 77 (SKIP)
// with the reason when node, npm or the registry is missing.
import { createRequire } from 'node:module';
import path from 'node:path';

import {
  check, install, log, main, prepareRunDir, requireNode, rpc, waitFor, writeSecret,
} from './lib/harness.mjs';
import { startAnvil, startEnginemux } from './lib/clients.mjs';

await main(async () => {
  prepareRunDir();
  await requireNode();
  const wsDir = await install('ws');
  const WebSocket = createRequire(path.join(wsDir, 'package.json'))('ws');
  const anvilDir = await install('anvil');
  const anvil = await startAnvil({ clients: anvilDir });
  const mux = await startEnginemux({
    nodes: [{ name: 'anvil', engineUrl: anvil.url, secret: writeSecret('anvil') }],
    extraArgs: ['--role', 'rpc'],
  });
  // The rpc listener's routing needs the node's probed head first.
  await waitFor('the rpc listener to route', async () => {
    try { return await rpc(mux.url, 'eth_blockNumber'); } catch { return null; }
  }, { timeoutMs: 30000 });
  const wsUrl = mux.url.replace('http://', 'ws://') + '/';
  const socket = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  check(true, `npm ws connected to ${wsUrl} (101)`);
  const waiting = new Map();
  socket.on('message', (data) => {
    const answer = JSON.parse(data.toString());
    const key = JSON.stringify(Array.isArray(answer) ? answer.map((a) => a.id).sort() : answer.id);
    const w = waiting.get(key);
    if (w) { waiting.delete(key); w(answer); }
  });
  const ask = (request, key) => new Promise((resolve) => {
    waiting.set(key, resolve);
    socket.send(JSON.stringify(request));
  });
  const want = await rpc(anvil.url, 'eth_blockNumber');
  const one = await ask({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }, '1');
  check(one.result === want, 'eth_blockNumber over WebSocket is anvil\'s', JSON.stringify(one));
  const chainId = await rpc(anvil.url, 'eth_chainId');
  const batch = await ask([
    { jsonrpc: '2.0', id: 'b', method: 'eth_chainId', params: [] },
    { jsonrpc: '2.0', id: 'a', method: 'eth_blockNumber', params: [] },
  ], JSON.stringify(['a', 'b']));
  check(Array.isArray(batch) && batch.length === 2 && batch[0].id === 'b' &&
        batch[0].result === chainId && batch[1].id === 'a' && batch[1].result === want,
  'a batch over WebSocket keeps its order and ids', JSON.stringify(batch));
  const pong = await new Promise((resolve) => { socket.once('pong', (d) => resolve(d.toString())); socket.ping('hello'); });
  check(pong === 'hello', 'the library\'s ping is answered with its payload', pong);
  const closed = await new Promise((resolve) => {
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    socket.close(4001, 'done');
  });
  check(closed.code === 4001, 'the close handshake echoes the library\'s code', JSON.stringify(closed));
  log('ws scenario done');
});

// Minimal scripted "CL" (adapted from the team's interop kit): drives an EL — or enginemux in
// front of ELs — through the Engine API as Prague does: forkchoiceUpdatedV3 with payload
// attributes, getPayloadV4, newPayloadV4, forkchoiceUpdatedV3 to the new head.
//
//   node drive-engine.mjs ENGINE_URL JWT_FILE RPC_URL NUM_BLOCKS [CAPTURE_FILE]
//
// As a module: drive({engineUrl, jwtFile, rpcUrl, blocks, capture, onNewPayload}) returns one
// {number, txs, newPayload, fcu} per block; every newPayloadV4 request is appended to `capture`
// (an array, for `enginemux blockhash`). onNewPayload(request) may replace the request sent.
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const FEE_RECIPIENT = '0xcccccccccccccccccccccccccccccccccccccccc';

export function engineClient(engineUrl, jwtFile) {
  const secret = Buffer.from(readFileSync(jwtFile, 'utf8').trim().replace(/^0x/, ''), 'hex');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = () => {
    const u = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ iat: Math.floor(Date.now() / 1000) });
    return u + '.' + createHmac('sha256', secret).update(u).digest('base64url');
  };
  let id = 0;
  /// Sends one request object (or builds one) and returns the whole JSON-RPC response.
  const send = async (request) => {
    const r = await fetch(engineUrl, {
      method: 'POST', signal: AbortSignal.timeout(15000),
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + jwt() },
      body: JSON.stringify(request),
    });
    if (r.status !== 200) throw new Error(`${request.method}: HTTP ${r.status}`);
    return r.json();
  };
  const request = (method, params) => ({ jsonrpc: '2.0', id: ++id, method, params });
  const call = async (method, params) => {
    const j = await send(request(method, params));
    if (j.error) throw new Error(method + ': ' + JSON.stringify(j.error));
    return j.result;
  };
  return { send, request, call };
}

export async function rpcCall(url, method, params) {
  const r = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(15000),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const j = await r.json();
  if (j.error) throw new Error(method + ': ' + JSON.stringify(j.error));
  return j.result;
}

const hex = (n) => '0x' + n.toString(16);
const rnd = () => '0x' + randomBytes(32).toString('hex');

/// Builds one block on top of `head` ({hash, timestamp}); returns the pieces for the caller to
/// send (so a test can send a modified newPayload itself).
export async function buildBlock(engine, head, index) {
  const ts = Math.max(Number(head.timestamp) + 1, Math.floor(Date.now() / 1000));
  const pbr = rnd();
  const fcu = await engine.call('engine_forkchoiceUpdatedV3', [
    { headBlockHash: head.hash, safeBlockHash: head.hash, finalizedBlockHash: head.hash },
    {
      timestamp: hex(ts), prevRandao: rnd(), suggestedFeeRecipient: FEE_RECIPIENT, parentBeaconBlockRoot: pbr,
      withdrawals: [{ index: hex(index), validatorIndex: '0x1', address: '0x00000000000000000000000000000000000000aa', amount: '0x3b9aca00' }],
    }]);
  if (!fcu.payloadId) throw new Error(`forkchoiceUpdatedV3 returned no payloadId: ${JSON.stringify(fcu)}`);
  await new Promise((r) => setTimeout(r, 500));
  const env = await engine.call('engine_getPayloadV4', [fcu.payloadId]);
  const newPayload = engine.request('engine_newPayloadV4', [env.executionPayload, [], pbr, env.executionRequests]);
  return { env, newPayload };
}

export async function drive({ engineUrl, jwtFile, rpcUrl, blocks = 5, capture = null, log = console.log }) {
  const engine = engineClient(engineUrl, jwtFile);
  let head = await rpcCall(rpcUrl, 'eth_getBlockByNumber', ['latest', false]);
  const caps = await engine.call('engine_exchangeCapabilities', [['engine_forkchoiceUpdatedV3', 'engine_getPayloadV4', 'engine_newPayloadV4']]);
  log('capabilities', caps.join(','));
  const out = [];
  for (let i = 0; i < blocks; i++) {
    const { env, newPayload } = await buildBlock(engine, head, i);
    if (capture) capture.push(newPayload);
    const j = await engine.send(newPayload);
    if (j.error) throw new Error('engine_newPayloadV4: ' + JSON.stringify(j.error));
    const p = env.executionPayload;
    const fcu2 = await engine.call('engine_forkchoiceUpdatedV3', [
      { headBlockHash: p.blockHash, safeBlockHash: p.blockHash, finalizedBlockHash: head.hash }, null]);
    const row = { number: Number(p.blockNumber), hash: p.blockHash, txs: p.transactions.length, newPayload: j.result.status, fcu: fcu2.payloadStatus.status, requests: env.executionRequests };
    log(`block ${row.number} txs=${row.txs} newPayload=${row.newPayload} fcu=${row.fcu} requests=${JSON.stringify(row.requests)}`);
    out.push(row);
    head = { hash: p.blockHash, timestamp: p.timestamp };
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [engineUrl, jwtFile, rpcUrl, blocks = '5', captureFile] = process.argv.slice(2);
  const capture = captureFile ? [] : null;
  await drive({ engineUrl, jwtFile, rpcUrl, blocks: Number(blocks), capture });
  if (captureFile) (await import('node:fs')).writeFileSync(captureFile, JSON.stringify(capture));
  console.log('eth_blockNumber', await rpcCall(rpcUrl, 'eth_blockNumber', []));
}

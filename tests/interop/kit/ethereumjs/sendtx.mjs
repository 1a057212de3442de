// node sendtx.mjs RPC_URL [COUNT] : sends COUNT (default 1) transfers of 1 wei from the
// well-known dev key 0xac09...ff80 (address 0xf39F...2266) as raw EIP-1559 transactions with
// consecutive nonces; prints one JSON-RPC answer per line. Runs from the ethereumjs install
// directory (it imports @ethereumjs/tx from there).
import { createFeeMarket1559Tx } from '@ethereumjs/tx';
import { createCustomCommon, Mainnet } from '@ethereumjs/common';
import { hexToBytes, bytesToHex } from '@ethereumjs/util';
const url = process.argv[2];
const count = Number(process.argv[3] || 1);
const rpc = async (method, params) => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })).json());
const from = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const chainId = Number((await rpc('eth_chainId', [])).result);
const nonce = Number((await rpc('eth_getTransactionCount', [from, 'pending'])).result);
const common = createCustomCommon({ chainId }, Mainnet, { hardfork: 'shanghai' });
const key = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
for (let i = 0; i < count; i++) {
  const tx = createFeeMarket1559Tx({ chainId, nonce: nonce + i, maxFeePerGas: '0x77359400', maxPriorityFeePerGas: '0x3b9aca00', gasLimit: '0x5208', to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', value: '0x1' }, { common }).sign(key);
  console.log(JSON.stringify(await rpc('eth_sendRawTransaction', [bytesToHex(tx.serialize())])));
}

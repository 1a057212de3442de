#!/usr/bin/env python3
"""Writes the seed corpora of the eth fuzz targets (deterministic; re-run to regenerate).

Seeds are small and synthetic: RLP items (canonical and a few near-misses), newPayload requests
of every version (block hashes are random, so most seeds exercise the mismatch path; the fuzzer
and the unit tests cover matching ones), and trie inputs. Nothing is copied from testdata."""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(2026)


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def rb(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def header(n, short, long_):
    if n <= 55:
        return bytes([short + n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([long_ + len(b)]) + b


def rlp_str(s):
    return s if len(s) == 1 and s[0] < 0x80 else header(len(s), 0x80, 0xb7) + s


def rlp_list(items):
    p = b''.join(items)
    return header(len(p), 0xc0, 0xf7) + p


def rlp_int(v):
    return rlp_str(v.to_bytes((v.bit_length() + 7) // 8, 'big') if v else b'')


# ---- rlp_decode ----
rlp_seeds = {
    'empty_string': rlp_str(b''), 'byte_7f': b'\x7f', 'dog': rlp_str(b'dog'),
    'cat_dog': rlp_list([rlp_str(b'cat'), rlp_str(b'dog')]), 'empty_list': rlp_list([]),
    'three': rlp_list([rlp_list([]), rlp_list([rlp_list([])]), rlp_list([rlp_list([]), rlp_list([rlp_list([])])])]),
    'int_1024': rlp_int(1024), 'int_max': rlp_int(2**64 - 1), 'string_55': rlp_str(rb(55)),
    'string_56': rlp_str(rb(56)), 'string_1024': rlp_str(rb(1024)),
    'list_long': rlp_list([rlp_str(rb(30)), rlp_str(rb(40))]),
    'withdrawal': rlp_list([rlp_int(5), rlp_int(300000), rlp_str(rb(20)), rlp_int(32000000000)]),
    'nested_deep': rlp_list([rlp_list([rlp_list([rlp_list([rlp_str(b'x')])])])]),
    'bad_single_prefixed': b'\x81\x05', 'bad_long_short': b'\xb8\x05abcde',
    'bad_zero_length': b'\xb9\x00\x40' + rb(64), 'bad_trailing': b'\x80\x80',
    'bad_child_overrun': b'\xc4\xc1\x82ab', 'bad_truncated': b'\x83do',
}
for name, data in rlp_seeds.items():
    write('rlp_decode', name, data)


# ---- payload_decode ----
def h(n):
    return '0x' + rb(n).hex()


def qty(v):
    return hex(v)


def payload(version, txs, withdrawals, isthmus=False):
    p = {'parentHash': h(32), 'feeRecipient': h(20), 'stateRoot': h(32), 'receiptsRoot': h(32),
         'logsBloom': h(256), 'prevRandao': h(32), 'blockNumber': qty(rng.randrange(1, 1 << 24)),
         'gasLimit': qty(30000000), 'gasUsed': qty(rng.randrange(0, 30000000)),
         'timestamp': qty(rng.randrange(1 << 31)), 'extraData': h(rng.randrange(0, 33)),
         'baseFeePerGas': qty(rng.randrange(1, 1 << 40)), 'blockHash': h(32),
         'transactions': [h(rng.randrange(1, 300)) for _ in range(txs)]}
    if withdrawals is not None:
        p['withdrawals'] = [{'index': qty(i), 'validatorIndex': qty(rng.randrange(1 << 20)),
                             'address': h(20), 'amount': qty(rng.randrange(1 << 35))}
                            for i in range(withdrawals)]
    if version >= 3:
        p['blobGasUsed'] = qty(131072)
        p['excessBlobGas'] = qty(0)
    if isthmus:
        p['withdrawalsRoot'] = h(32)
    if version >= 5:
        p['blockAccessList'] = '0xc0'
        p['slotNumber'] = qty(rng.randrange(1 << 24))
    return p


def request(version, rid, txs=3, withdrawals=2, isthmus=False, requests=None):
    params = [payload(version, txs, withdrawals if version >= 2 else None, isthmus)]
    if version >= 3:
        params += [[h(32)], h(32)]
    if version >= 4:
        params.append(requests if requests is not None else ['0x00' + rb(192).hex(), '0x01' + rb(76).hex()])
    return {'jsonrpc': '2.0', 'id': rid, 'method': 'engine_newPayloadV%d' % version, 'params': params}


seeds = {
    'v1': request(1, 1), 'v2': request(2, 'a'), 'v2_no_withdrawals': request(2, 2, withdrawals=None),
    'v3': request(3, 3), 'v4': request(4, 4), 'v4_no_requests': request(4, 5, requests=[]),
    'v4_isthmus': request(4, 6, withdrawals=0, isthmus=True, requests=[]), 'v5': request(5, 7),
    'v3_many_txs': request(3, 8, txs=40, withdrawals=16),
}
for name, req in seeds.items():
    write('payload_decode', name + '.json', json.dumps(req))
write('payload_decode', 'array.json', json.dumps([request(2, 10), request(3, 11)]))
bad = request(3, 12)
bad['params'][0]['gasUsed'] = '0x0a'
write('payload_decode', 'bad_quantity.json', json.dumps(bad))
bad = request(4, 13)
bad['params'][3] = ['AXQ17TCotK6wh3zvDG6M']
write('payload_decode', 'bad_base64_request.json', json.dumps(bad))
write('payload_decode', 'broken.json', json.dumps(request(1, 14))[:300])

# ---- trie_root ----
for i, (flags, count, n) in enumerate([(0, 0, 1), (0, 0, 3), (1, 0, 20), (2, 0, 40), (0x40, 26, 4),
                                         (0x41, 100, 6), (0x42, 220, 3), (0x80, 0, 10), (0xc0, 51, 8),
                                         (0x40, 200, 2), (0, 0, 130), (1, 0, 260)]):
    body = b''.join(bytes([ln]) + rb(ln) for ln in (rng.choice([1, 5, 30, 33, 100, 200]) for _ in range(n)))
    write('trie_root', 'seed_%02d' % i, bytes([flags, count]) + body)


# ---- payload_decode, issue 13: upper-case hex and EIP-55 checksummed addresses ----
# (appended last so that the seeds above keep their bytes). The addresses are the EIP's own
# checksummed examples; every other hex value is upper-cased; the 0x prefix stays lower case.
EIP55 = ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
         '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb']


def upper_hex(v):
    if isinstance(v, str):
        return '0x' + v[2:].upper() if v.startswith('0x') else v
    if isinstance(v, list):
        return [upper_hex(x) for x in v]
    if isinstance(v, dict):
        return {k: upper_hex(x) for k, x in v.items()}
    return v


def checksummed(req):
    p = req['params'][0]
    p['feeRecipient'] = EIP55[0]
    for i, w in enumerate(p.get('withdrawals') or []):
        w['address'] = EIP55[1 + i % 3]
    return req


write('payload_decode', 'v3_checksummed.json', json.dumps(checksummed(request(3, 15))))
write('payload_decode', 'v4_upper_checksummed.json',
      json.dumps(checksummed(upper_hex(request(4, 16)))))
write('payload_decode', 'v5_upper.json', json.dumps(upper_hex(request(5, 17))))
bad = upper_hex(request(3, 18))
bad['params'][0]['baseFeePerGas'] = '0x0A'
write('payload_decode', 'bad_upper_leading_zero.json', json.dumps(bad))
bad = upper_hex(request(4, 19))
bad['params'][0]['feeRecipient'] = '0X' + EIP55[0][2:]
write('payload_decode', 'bad_capital_x_prefix.json', json.dumps(bad))

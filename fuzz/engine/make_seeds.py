#!/usr/bin/env python3
"""Writes the seed corpora of the engine fuzzers (fuzz/engine/corpus/<target>/). Re-run after
changing it; the files are committed. Byte layouts match engine_answer_fuzz.cpp and
engine_vote_fuzz.cpp."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
H = "0x" + "3559e851470f6e7bbed1db474980683e8c315bfce99b2a6ef47c057c04de7858"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# engine_answer: mode byte (bit0 fcU, bit1 schema V2) + JSON.
PS, FCU, PS2, FCU2 = b"\x00", b"\x01", b"\x02", b"\x03"
answers = {
    "valid": PS + ('{"status":"VALID","latestValidHash":"%s","validationError":null}' % H).encode(),
    "invalid_error": PS + b'{"status":"INVALID","latestValidHash":null,"validationError":"bad \\"x\\" \\u00e9"}',
    "syncing_min": PS + b'{"status":"SYNCING"}',
    "accepted": PS + b'{"status":"ACCEPTED","latestValidHash":null,"validationError":null}',
    "ibh": PS + b'{"status":"INVALID_BLOCK_HASH","latestValidHash":null,"validationError":"hash"}',
    "whitespace": PS + b' \n{ "status" : "SYNCING" , "validationError" : null }\t',
    "duplicate": PS + b'{"status":"SYNCING","status":"VALID"}',
    "unknown_field": PS + b'{"status":"SYNCING","x":[1,{"y":null}]}',
    "trailing": PS + b'{"status":"SYNCING"}{}',
    "bad_hash": PS + b'{"status":"INVALID","latestValidHash":"0x12"}',
    "control_char": PS + b'{"status":"INVALID","validationError":"a\x01b"}',
    "v2_valid": PS2 + ('{"status":"VALID","latestValidHash":"%s","validationError":null,'
                       '"inclusionListSatisfied":true}' % H).encode(),
    "v2_syncing": PS2 + b'{"status":"SYNCING","inclusionListSatisfied":null}',
    "fcu_valid_id": FCU + ('{"payloadStatus":{"status":"VALID","latestValidHash":"%s",'
                           '"validationError":null},"payloadId":"0x0065bd195a9b3bfb"}' % H).encode(),
    "fcu_syncing_null": FCU + b'{"payloadStatus":{"status":"SYNCING","latestValidHash":null,'
                              b'"validationError":null},"payloadId":null}',
    "fcu_accepted": FCU + b'{"payloadStatus":{"status":"ACCEPTED"}}',
    "fcu_outside": FCU + b'{"payloadStatus":{"status":"SYNCING"}},"payloadId":null',
    "fcu_v2": FCU2 + ('{"payloadStatus":{"status":"VALID","latestValidHash":"%s",'
                      '"inclusionListSatisfied":false},"payloadId":"0x0102030405060708"}' % H).encode(),
    "not_json": PS + b"SYNCING",
    "null": FCU + b"null",
}
for name, data in answers.items():
    write("engine_answer", name, data)

# engine_vote: voters, ppm hi, ppm lo, method, slot bytes..., completion bytes...
# slot byte: kind = b % 8 (0 pending, 1 dead, 2 S, 3 A, 4 V, 5 I, 6 IBH, 7 V), label = (b>>3)%4.
def slot(kind, label=1, ils=0, err=0):
    return kind | (label << 3) | (ils << 5) | (err << 6)

P, D, S, A, V, I, B = 0, 1, 2, 3, 4, 5, 6
q60 = [0x99, 0x99]  # ~0.6
q30 = [0x4c, 0xcc]
q100 = [0xff, 0xff]
votes = {
    "vvv": [3] + q60 + [1, slot(V), slot(V), slot(V)],
    "vvi": [3] + q60 + [1, slot(V), slot(V), slot(I)],
    "iis": [3] + q60 + [1, slot(I, err=1), slot(I), slot(S)],
    "vss_q30": [3] + q30 + [1, slot(V), slot(S), slot(S)],
    "vss_q100": [3] + q100 + [1, slot(V), slot(S), slot(S)],
    "dead": [3] + q60 + [0, slot(D), slot(D), slot(D)],
    "pending_ii": [3] + q60 + [1, slot(I), slot(I), slot(P), slot(V), slot(S), slot(I, 2)],
    "pending_all": [5] + q60 + [2, slot(P)] * 5 + [slot(V)] * 10,
    "v1_ibh": [3] + q60 + [0, slot(B, 0), slot(B, 0), slot(P), slot(I, 0)],
    "accepted": [3] + q60 + [1, slot(A), slot(A), slot(P), slot(A)],
    "fcu_mixed": [4] + q60 + [2, slot(V), slot(V, 2), slot(V), slot(P), slot(I), slot(S)],
    "sixteen": [15] + q60 + [1] + [slot(V)] * 10 + [slot(S)] * 3 + [slot(P)] * 3 + [slot(I)] * 3,
    "ils_split": [3] + q60 + [1, slot(V, ils=1), slot(V, ils=0), slot(V, ils=1)],
}
for name, data in votes.items():
    write("engine_vote", name, bytes(data))

# json_kernel: whole request bodies (json_kernel_fuzz.cpp), the last byte's low bit picks whether
# unknown payload fields are rejected. Small requests of every shape the pipeline reads, plus
# newPayload V1..V5 from the eth corpus.
bodies = {
    "block_number": '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}',
    "fcu_attrs": '{"jsonrpc":"2.0","id":"x","method":"engine_forkchoiceUpdatedV3","params":[{'
                 '"headBlockHash":"%s","safeBlockHash":"%s","finalizedBlockHash":"%s"},'
                 '{"timestamp":"0x6553f100","prevRandao":"%s"}]}' % (H, H, H, H),
    "fcu_no_attrs": '{"jsonrpc":"2.0","id":2,"method":"engine_forkchoiceUpdatedV2","params":[{'
                    '"headBlockHash":"%s"},null]}' % H,
    "get_payload": '{"jsonrpc":"2.0","id":3,"method":"engine_getPayloadV4",'
                   '"params":["0x0065bd195a9b3bfb"]}',
    "escaped": '{"jsonrpc":"2\\u002e0","\\u0069d":4,"m\\u0065thod":"engine_getPayload\\u0056\\u0034",'
               '"params":["0x\\u0030065bd195a9b3bfb"]}',
    "batch": '[{"jsonrpc":"2.0","id":1,"method":"a","params":{}},7,{"id":null},[],'
             '{"jsonrpc":"2.0","method":"n"}]',
    "duplicate": '{"jsonrpc":"2.0","id":1,"id":2,"method":"m","x":1,"x":2}',
    "numbers": '{"jsonrpc":"2.0","id":-12345678901234567890.5e-7,"method":"m","params":[1E400,-0]}',
    "deep": '{"jsonrpc":"2.0","id":1,"method":"m","params":' + "[" * 70 + "]" * 70 + "}",
    "broken": '{"jsonrpc":"2.0","id":1,"method":"m","params":[1,2}',
    "trailing": '{"jsonrpc":"2.0","id":1,"method":"m"} {}',
    "scalar": '"just a string"',
}
for name, data in bodies.items():
    write("json_kernel", name, data)
eth_corpus = os.path.join(HERE, "..", "eth", "corpus", "payload_decode")
for name in ["v1.json", "v2.json", "v3_many_txs.json", "v4.json", "v4_isthmus.json", "v5.json",
             "array.json", "bad_quantity.json"]:
    with open(os.path.join(eth_corpus, name), "rb") as f:
        write("json_kernel", "new_payload_" + name.removesuffix(".json"), f.read())

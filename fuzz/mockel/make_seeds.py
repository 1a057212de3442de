#!/usr/bin/env python3
"""Writes the seed corpora of the mock EL fuzzers (fuzz/mockel/corpus/<target>/). Re-run after
changing it; the files are committed."""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w") as f:
        f.write(data)


rules = {
    "status": "engine_newPayload*:status=INVALID,validation_error=bad tx\\, 2,lvh=parent",
    "error": "engine_forkchoiceUpdatedV1:error=-38002:bad state,times=1",
    "transport": "eth_chainId:close\neth_blockNumber:reset\nnet_version:hang\neth_call:garbage",
    "http_huge": "*:http=503,huge=4096,delay=5,wrong_id",
    "after_times": "# comment\n\nengine_*:after=2,times=3,status=SYNCING,lvh=0x" + "ab" * 32,
    "misc": "engine_forkchoiceUpdated*:no_payload_id\neth_syncing:syncing\nengine_getPayload*:block_value=0x3e8",
    "bad_line": "eth_chainId:close\nengine_*:status=BOGUS",
    "glob_diff": "a*b*c|aXXbYYbZZc",
    "escapes": "x:validation_error=\\\\\\,\\",
}
for name, text in rules.items():
    write("mockel_rules", name, text)

H = lambda c: "0x" + c * 64


def payload(block, number="0x1"):
    return {"parentHash": H("b"), "feeRecipient": "0x" + "0" * 40, "stateRoot": H("1"),
            "receiptsRoot": H("2"), "logsBloom": "0x" + "0" * 512, "prevRandao": H("0"),
            "blockNumber": number, "gasLimit": "0x1c9c380", "gasUsed": "0x0", "timestamp": "0x5",
            "extraData": "0x", "baseFeePerGas": "0x7", "blockHash": block, "transactions": []}


def rpc(method, params, id=1):
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params},
                      separators=(",", ":"))


state = {"headBlockHash": H("c"), "safeBlockHash": H("c"), "finalizedBlockHash": H("c")}
bodies = {
    "np1": rpc("engine_newPayloadV1", [payload(H("a"))]),
    "np3": rpc("engine_newPayloadV3", [dict(payload(H("a")), withdrawals=[], blobGasUsed="0x0",
                                            excessBlobGas="0x0"), [], H("0")]),
    "fcu_attrs": rpc("engine_forkchoiceUpdatedV3", [state, {"timestamp": "0x1"}]),
    "fcu_null": rpc("engine_forkchoiceUpdatedV1", [state, None]),
    "get_payload": rpc("engine_getPayloadV4", ["0x0000000000000001"]),
    "blobs": rpc("engine_getBlobsV1", [[H("1"), H("2")]]),
    "bodies": rpc("engine_getPayloadBodiesByHashV2", [[H("1")]]),
    "range": rpc("engine_getPayloadBodiesByRangeV1", ["0x1", "0x2"]),
    "block": rpc("eth_getBlockByNumber", ["0x10", False]),
    "transition": rpc("engine_exchangeTransitionConfigurationV1", [{"terminalTotalDifficulty": "0x0"}]),
    "batch": "[" + rpc("eth_chainId", []) + ',{"jsonrpc":"2.0","method":"eth_blockNumber"},'
             + rpc("nope", [], "\"x\"") + "]",
    "parse_error": '{"jsonrpc":"2.0","id":1,',
}
for name, body in bodies.items():
    write("mockel_responder", name, body)
# Verified (odd first byte picks the verifying responder: '[' is 0x5b, odd).
write("mockel_responder", "verify_batch", "[" + bodies["np1"] + "," + bodies["fcu_attrs"] + "]")
for name, r in [("rules_np", "engine_newPayload*:status=INVALID,lvh=parent"),
                ("rules_transport", "eth_chainId:hang\n*:delay=5,http=500"),
                ("rules_fcu", "engine_forkchoiceUpdated*:status=SYNCING,no_payload_id")]:
    body = bodies["np1"] if "np" in name else bodies["fcu_attrs"] if "fcu" in name else bodies["batch"]
    write("mockel_responder", name, r + "\n\n" + body)

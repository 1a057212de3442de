// `enginemux payload-example`: synthetic engine_newPayloadV1..V4 requests with correct block
// hashes (computed by src/eth), for the demo, benchmarks and anyone who wants to poke a node.
// Transactions are random opaque bytes (type-2 prefix): the block hash only covers their trie
// root, so they need not be executable. Deterministic for a given seed.
//
// Any thread; start-up/tool code (allocates freely).
#pragma once

#include <cstdint>

#include "base/buffer.h"
#include "base/result.h"

namespace em::commands {

struct ExampleOptions {
    uint8_t version = 4;        ///< engine_newPayloadV<version>, 1..4
    uint32_t txs = 200;         ///< transactions per payload
    uint32_t tx_bytes = 200;    ///< bytes per transaction
    uint32_t withdrawals = 16;  ///< per payload (V2+)
    uint32_t count = 1;         ///< payloads, chained by parentHash; >1 writes a JSON array
    uint64_t first_number = 1000;
    uint64_t seed = 1;
};

/// Appends the request(s) as JSON to out.
Result<void> write_payload_examples(const ExampleOptions& options, ByteBuffer& out);

/// The subcommand: argv[0] = "payload-example"; prints to stdout. Exit 0 or 2 (bad flags).
int payload_example_main(int argc, char** argv);

}  // namespace em::commands

#include "commands/payload_example.h"

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/arena.h"
#include "base/hex.h"
#include "eth/header.h"
#include "eth/payload.h"

namespace em::commands {

namespace {

// A DATA / QUANTITY value as a JSON string (the hex codec writes the value, in lower case).
void quoted_data(ByteBuffer& out, std::span<const uint8_t> bytes) {
    out.push_back('"');
    append_data(out, bytes);
    out.push_back('"');
}

template <typename Number>
void quoted_quantity(ByteBuffer& out, const Number& v) {
    out.push_back('"');
    append_quantity(out, v);
    out.push_back('"');
}

template <size_t N>
void random_bytes(std::mt19937_64& rng, std::array<uint8_t, N>& out) {
    for (auto& b : out) b = static_cast<uint8_t>(rng());
}

struct Example {
    std::vector<std::vector<uint8_t>> tx_storage;
    std::vector<eth::Bytes> txs;
    std::vector<eth::Withdrawal> withdrawals;
    std::vector<uint8_t> extra;
    eth::NewPayload np;
};

void fill(const ExampleOptions& o, std::mt19937_64& rng, uint64_t number, const eth::Hash32& parent,
          Example& ex) {
    eth::ExecutionPayload& p = ex.np.payload;
    ex.np.version = o.version;
    ex.np.fork = o.version == 1   ? eth::Fork::paris
                 : o.version == 2 ? eth::Fork::shanghai
                 : o.version == 3 ? eth::Fork::cancun
                                  : eth::Fork::prague;
    p.parent_hash = parent;
    random_bytes(rng, p.fee_recipient);
    random_bytes(rng, p.state_root);
    random_bytes(rng, p.receipts_root);
    random_bytes(rng, p.prev_randao);
    p.block_number = number;
    p.gas_limit = 30'000'000;
    p.gas_used = std::min<uint64_t>(30'000'000, 21'000ull * o.txs);
    p.timestamp = 1'746'612'311ull + 12 * number;
    const char tag[] = "enginemux example";
    ex.extra.assign(tag, tag + sizeof tag - 1);
    p.extra_data = eth::Bytes(ex.extra.data(), ex.extra.size());
    p.base_fee_per_gas = U256::from_u64(7);
    ex.tx_storage.assign(o.txs, std::vector<uint8_t>(o.tx_bytes));
    ex.txs.clear();
    for (auto& tx : ex.tx_storage) {
        for (auto& b : tx) b = static_cast<uint8_t>(rng());
        if (!tx.empty()) tx[0] = 0x02;
        ex.txs.emplace_back(tx.data(), tx.size());
    }
    p.transactions = ex.txs;
    p.has_withdrawals = o.version >= 2;
    ex.withdrawals.clear();
    if (p.has_withdrawals) {
        for (uint32_t i = 0; i < o.withdrawals; i++) {
            eth::Withdrawal w;
            w.index = number * 16 + i;
            w.validator_index = rng() % 1'000'000;
            random_bytes(rng, w.address);
            w.amount_gwei = rng() % 40'000'000'000ull;
            ex.withdrawals.push_back(w);
        }
    }
    p.withdrawals = ex.withdrawals;
    p.has_blob_gas = o.version >= 3;
    p.blob_gas_used = 0;
    p.excess_blob_gas = 0;
    if (o.version >= 3) random_bytes(rng, ex.np.parent_beacon_block_root);
}

void write_request(const ExampleOptions& o, const Example& ex, uint64_t id, ByteBuffer& out) {
    const eth::ExecutionPayload& p = ex.np.payload;
    char head[96];
    std::snprintf(
        head, sizeof head,
        "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"engine_newPayloadV%u\",\"params\":[{",
        static_cast<unsigned long long>(id), o.version);
    out.append(head);
    out.append("\"parentHash\":");
    quoted_data(out, p.parent_hash);
    out.append(",\"feeRecipient\":");
    quoted_data(out, p.fee_recipient);
    out.append(",\"stateRoot\":");
    quoted_data(out, p.state_root);
    out.append(",\"receiptsRoot\":");
    quoted_data(out, p.receipts_root);
    out.append(",\"logsBloom\":");
    quoted_data(out, p.logs_bloom);
    out.append(",\"prevRandao\":");
    quoted_data(out, p.prev_randao);
    out.append(",\"blockNumber\":");
    quoted_quantity(out, p.block_number);
    out.append(",\"gasLimit\":");
    quoted_quantity(out, p.gas_limit);
    out.append(",\"gasUsed\":");
    quoted_quantity(out, p.gas_used);
    out.append(",\"timestamp\":");
    quoted_quantity(out, p.timestamp);
    out.append(",\"extraData\":");
    quoted_data(out, p.extra_data);
    out.append(",\"baseFeePerGas\":");
    quoted_quantity(out, p.base_fee_per_gas);
    out.append(",\"blockHash\":");
    quoted_data(out, p.block_hash);
    out.append(",\"transactions\":[");
    for (size_t i = 0; i < p.transactions.size(); i++) {
        if (i) out.push_back(',');
        quoted_data(out, p.transactions[i]);
    }
    out.push_back(']');
    if (p.has_withdrawals) {
        out.append(",\"withdrawals\":[");
        for (size_t i = 0; i < p.withdrawals.size(); i++) {
            const eth::Withdrawal& w = p.withdrawals[i];
            if (i) out.push_back(',');
            out.append("{\"index\":");
            quoted_quantity(out, w.index);
            out.append(",\"validatorIndex\":");
            quoted_quantity(out, w.validator_index);
            out.append(",\"address\":");
            quoted_data(out, w.address);
            out.append(",\"amount\":");
            quoted_quantity(out, w.amount_gwei);
            out.push_back('}');
        }
        out.push_back(']');
    }
    if (p.has_blob_gas) {
        out.append(",\"blobGasUsed\":\"0x0\",\"excessBlobGas\":\"0x0\"");
    }
    out.push_back('}');
    if (o.version >= 3) {
        out.append(",[],");
        quoted_data(out, ex.np.parent_beacon_block_root);
    }
    if (o.version >= 4) out.append(",[]");
    out.append("]}");
}

}  // namespace

Result<void> write_payload_examples(const ExampleOptions& o, ByteBuffer& out) {
    if (o.version < 1 || o.version > 4) return fail(Errc::invalid_input, "--version must be 1..4");
    if (o.count == 0) return fail(Errc::invalid_input, "--count must be at least 1");
    std::mt19937_64 rng(o.seed);
    Arena arena(size_t{64} << 20);
    eth::Hash32 parent{};
    random_bytes(rng, parent);
    if (o.count > 1) out.push_back('[');
    for (uint32_t k = 0; k < o.count; k++) {
        Example ex;
        fill(o, rng, o.first_number + k, parent, ex);
        arena.reset();
        auto hash = eth::compute_block_hash(ex.np, arena);
        if (!hash) return Unexpected(hash.error());
        ex.np.payload.block_hash = *hash;
        if (k) out.push_back(',');
        write_request(o, ex, k + 1, out);
        parent = *hash;
    }
    if (o.count > 1) out.push_back(']');
    out.push_back('\n');
    if (out.overflowed()) return fail(Errc::too_large, "output exceeds the buffer limit");
    return {};
}

int payload_example_main(int argc, char** argv) {
    CLI::App cli("synthetic engine_newPayload requests with correct block hashes",
                 "enginemux payload-example");
    ExampleOptions o;
    unsigned version = o.version;
    cli.add_option("--version", version, "engine_newPayload version 1..4")->check(CLI::Range(1, 4));
    cli.add_option("--txs", o.txs, "transactions per payload")->check(CLI::Range(0, 100000));
    cli.add_option("--tx-bytes", o.tx_bytes, "bytes per transaction")->check(CLI::Range(1, 131072));
    cli.add_option("--withdrawals", o.withdrawals, "withdrawals per payload (V2+)")
        ->check(CLI::Range(0, 16));
    cli.add_option("--count", o.count, "chained payloads (more than 1: a JSON array)")
        ->check(CLI::Range(1, 100000));
    cli.add_option("--number", o.first_number, "block number of the first payload");
    cli.add_option("--seed", o.seed, "random seed");
    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e) == 0 ? 0 : 2;
    }
    o.version = static_cast<uint8_t>(version);
    ByteBuffer out(size_t{4} << 30, 1u << 20);
    if (auto ok = write_payload_examples(o, out); !ok) {
        std::fprintf(stderr, "enginemux payload-example: %s\n", ok.error().c_str());
        return 2;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace em::commands

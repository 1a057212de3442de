// Independent reference implementation for the eth tests (see reference.h).
#include "reference.h"

#include <cryptopp/keccak.h>
#include <cryptopp/sha.h>

#include <algorithm>
#include <map>

namespace em::eth::ref {

B keccak(const B& data) {
    CryptoPP::Keccak_256 h;
    B out(32);
    h.CalculateDigest(out.data(), data.data(), data.size());
    return out;
}

B sha256(const B& data) {
    CryptoPP::SHA256 h;
    B out(32);
    h.CalculateDigest(out.data(), data.data(), data.size());
    return out;
}

static B be_bytes(uint64_t v) {
    B out;
    while (v) {
        out.insert(out.begin(), static_cast<uint8_t>(v & 0xff));
        v >>= 8;
    }
    return out;
}

static B with_prefix(size_t len, uint8_t short_base, uint8_t long_base, const B& payload) {
    B out;
    if (len <= 55) {
        out.push_back(static_cast<uint8_t>(short_base + len));
    } else {
        B l = be_bytes(len);
        out.push_back(static_cast<uint8_t>(long_base + l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

B rlp_string(const B& s) {
    if (s.size() == 1 && s[0] < 0x80) return s;
    return with_prefix(s.size(), 0x80, 0xb7, s);
}

B rlp_uint(uint64_t v) {
    return rlp_string(be_bytes(v));
}

B rlp_uint_be(const B& be) {
    auto it = std::find_if(be.begin(), be.end(), [](uint8_t b) { return b != 0; });
    return rlp_string(B(it, be.end()));
}

B rlp_list(const std::vector<B>& items) {
    B payload;
    for (const auto& i : items) payload.insert(payload.end(), i.begin(), i.end());
    return with_prefix(payload.size(), 0xc0, 0xf7, payload);
}

// ---- trie -----------------------------------------------------------------------------------

using Nibbles = std::vector<uint8_t>;
using Items = std::vector<std::pair<Nibbles, B>>;

static B hex_prefix(const Nibbles& path, size_t from, size_t to, bool leaf) {
    B out;
    size_t len = to - from;
    uint8_t flag = leaf ? 2 : 0;
    size_t i = from;
    if (len % 2) {
        out.push_back(static_cast<uint8_t>((flag + 1) * 16 + path[i]));
        i++;
    } else {
        out.push_back(static_cast<uint8_t>(flag * 16));
    }
    for (; i < to; i += 2) out.push_back(static_cast<uint8_t>(path[i] * 16 + path[i + 1]));
    return out;
}

static B node(const Items& items, size_t depth);

static B reference_to(const B& encoded) {
    if (encoded.size() < 32) return encoded;
    return rlp_string(keccak(encoded));
}

static B node(const Items& items, size_t depth) {
    if (items.size() == 1) {
        const auto& [key, value] = items[0];
        return rlp_list({rlp_string(hex_prefix(key, depth, key.size(), true)), rlp_string(value)});
    }
    // Longest common prefix of all keys beyond depth.
    size_t common = 0;
    for (;;) {
        size_t at = depth + common;
        bool same = true;
        for (const auto& it : items)
            if (at >= it.first.size() || it.first[at] != items[0].first[at]) same = false;
        if (!same) break;
        common++;
    }
    if (common > 0) {
        const Nibbles& k = items[0].first;
        return rlp_list({rlp_string(hex_prefix(k, depth, depth + common, false)),
                         reference_to(node(items, depth + common))});
    }
    std::vector<B> slots(17, B{0x80});
    for (int n = 0; n < 16; n++) {
        Items sub;
        for (const auto& it : items)
            if (it.first.size() > depth && it.first[depth] == n) sub.push_back(it);
        if (!sub.empty()) slots[n] = reference_to(node(sub, depth + 1));
    }
    for (const auto& it : items)
        if (it.first.size() == depth) slots[16] = rlp_string(it.second);
    return rlp_list(slots);
}

B trie_root(const std::vector<B>& values) {
    if (values.empty()) return keccak(B{0x80});
    std::map<Nibbles, B> sorted;
    for (size_t i = 0; i < values.size(); i++) {
        B key = rlp_uint(i);
        Nibbles n;
        for (uint8_t b : key) {
            n.push_back(b >> 4);
            n.push_back(b & 15);
        }
        sorted[n] = values[i];
    }
    Items items(sorted.begin(), sorted.end());
    return keccak(node(items, 0));
}

// ---- header ---------------------------------------------------------------------------------

B block_hash(const Payload& p) {
    int fork;  // 0 paris, 1 shanghai, 2 cancun, 3 prague, 4 amsterdam
    switch (p.version) {
        case 1:
            fork = 0;
            break;
        case 2:
            fork = p.has_withdrawals ? 1 : 0;
            break;
        default:
            fork = p.version - 1;
            break;
    }
    std::vector<B> f;
    f.push_back(rlp_string(p.parent_hash));
    f.push_back(rlp_string(keccak(rlp_list({}))));
    f.push_back(rlp_string(p.fee_recipient));
    f.push_back(rlp_string(p.state_root));
    f.push_back(rlp_string(trie_root(p.transactions)));
    f.push_back(rlp_string(p.receipts_root));
    f.push_back(rlp_string(p.logs_bloom));
    f.push_back(rlp_uint(0));
    f.push_back(rlp_uint(p.block_number));
    f.push_back(rlp_uint(p.gas_limit));
    f.push_back(rlp_uint(p.gas_used));
    f.push_back(rlp_uint(p.timestamp));
    f.push_back(rlp_string(p.extra_data));
    f.push_back(rlp_string(p.prev_randao));
    f.push_back(rlp_string(B(8, 0)));
    f.push_back(rlp_uint_be(p.base_fee));
    if (fork >= 1) {
        if (p.has_withdrawals_root) {
            f.push_back(rlp_string(p.withdrawals_root));
        } else {
            std::vector<B> ws;
            for (const auto& w : p.withdrawals)
                ws.push_back(rlp_list({rlp_uint(w.index), rlp_uint(w.validator_index),
                                       rlp_string(w.address), rlp_uint(w.amount)}));
            f.push_back(rlp_string(trie_root(ws)));
        }
    }
    if (fork >= 2) {
        f.push_back(rlp_uint(p.blob_gas_used));
        f.push_back(rlp_uint(p.excess_blob_gas));
        f.push_back(rlp_string(p.parent_beacon_block_root));
    }
    if (fork >= 3) {
        B cat;
        for (const auto& r : p.requests) {
            if (r.size() <= 1) continue;
            B h = sha256(r);
            cat.insert(cat.end(), h.begin(), h.end());
        }
        f.push_back(rlp_string(sha256(cat)));
    }
    if (fork >= 4) {
        f.push_back(rlp_string(keccak(p.block_access_list)));
        f.push_back(rlp_uint(p.slot_number));
    }
    return keccak(rlp_list(f));
}

// ---- JSON and random payloads -----------------------------------------------------------------

std::string hex(const B& b) {
    static const char* d = "0123456789abcdef";
    std::string s = "0x";
    for (uint8_t x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

static std::string qty(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

static std::string qty_be(const B& be) {
    std::string h = hex(be).substr(2);
    size_t i = h.find_first_not_of('0');
    return i == std::string::npos ? "0x0" : "0x" + h.substr(i);
}

B from_hex(const std::string& s) {
    size_t at = s.rfind("0x", 0) == 0 ? 2 : 0;
    B out;
    for (size_t i = at; i + 1 < s.size(); i += 2)
        out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    return out;
}

static std::string str(const std::string& s) {
    return "\"" + s + "\"";
}

std::string to_request_json(const Payload& p, const std::string& id_json) {
    std::string o = "{";
    auto field = [&](const char* name, const std::string& v) {
        if (o.size() > 1) o += ",";
        o += str(name) + ":" + v;
    };
    field("parentHash", str(hex(p.parent_hash)));
    field("feeRecipient", str(hex(p.fee_recipient)));
    field("stateRoot", str(hex(p.state_root)));
    field("receiptsRoot", str(hex(p.receipts_root)));
    field("logsBloom", str(hex(p.logs_bloom)));
    field("prevRandao", str(hex(p.prev_randao)));
    field("blockNumber", str(qty(p.block_number)));
    field("gasLimit", str(qty(p.gas_limit)));
    field("gasUsed", str(qty(p.gas_used)));
    field("timestamp", str(qty(p.timestamp)));
    field("extraData", str(hex(p.extra_data)));
    field("baseFeePerGas", str(qty_be(p.base_fee)));
    field("blockHash", str(hex(p.block_hash)));
    std::string txs = "[";
    for (size_t i = 0; i < p.transactions.size(); i++)
        txs += (i ? "," : "") + str(hex(p.transactions[i]));
    field("transactions", txs + "]");
    if (p.has_withdrawals) {
        std::string ws = "[";
        for (size_t i = 0; i < p.withdrawals.size(); i++) {
            const auto& w = p.withdrawals[i];
            ws += std::string(i ? "," : "") + "{\"index\":" + str(qty(w.index)) +
                  ",\"validatorIndex\":" + str(qty(w.validator_index)) +
                  ",\"address\":" + str(hex(w.address)) + ",\"amount\":" + str(qty(w.amount)) + "}";
        }
        field("withdrawals", ws + "]");
    }
    if (p.version >= 3) {
        field("blobGasUsed", str(qty(p.blob_gas_used)));
        field("excessBlobGas", str(qty(p.excess_blob_gas)));
    }
    if (p.has_withdrawals_root) field("withdrawalsRoot", str(hex(p.withdrawals_root)));
    if (p.version >= 5) {
        field("blockAccessList", str(hex(p.block_access_list)));
        field("slotNumber", str(qty(p.slot_number)));
    }
    std::string params = "[" + o + "}";
    if (p.version >= 3) {
        std::string vh = "[";
        for (size_t i = 0; i < p.versioned_hashes.size(); i++)
            vh += (i ? "," : "") + str(hex(p.versioned_hashes[i]));
        params += "," + vh + "]," + str(hex(p.parent_beacon_block_root));
    }
    if (p.version >= 4) {
        std::string rq = "[";
        for (size_t i = 0; i < p.requests.size(); i++)
            rq += (i ? "," : "") + str(hex(p.requests[i]));
        params += "," + rq + "]";
    }
    params += "]";
    return "{\"jsonrpc\":\"2.0\",\"id\":" + id_json + ",\"method\":\"engine_newPayloadV" +
           std::to_string(p.version) + "\",\"params\":" + params + "}";
}

B random_bytes(std::mt19937_64& rng, size_t n) {
    B b(n);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
}

static uint64_t random_u64(std::mt19937_64& rng) {
    // Mix small and large values so that every RLP integer width appears.
    switch (rng() % 4) {
        case 0:
            return rng() % 0x80;
        case 1:
            return rng() % 0x10000;
        case 2:
            return rng() >> (rng() % 64);
        default:
            return rng();
    }
}

static B random_tx(std::mt19937_64& rng) {
    // Short ones exercise inlined trie nodes; long ones span several Keccak blocks.
    size_t len = rng() % 8 == 0 ? 1 + rng() % 30 : 1 + rng() % 600;
    return random_bytes(rng, len);
}

Payload random_payload(std::mt19937_64& rng, int version, bool with_withdrawals, bool isthmus,
                       size_t tx_count_max) {
    Payload p;
    p.version = version;
    p.parent_hash = random_bytes(rng, 32);
    p.fee_recipient = random_bytes(rng, 20);
    p.state_root = random_bytes(rng, 32);
    p.receipts_root = random_bytes(rng, 32);
    p.logs_bloom = random_bytes(rng, 256);
    p.prev_randao = random_bytes(rng, 32);
    p.block_number = random_u64(rng);
    p.gas_limit = random_u64(rng);
    p.gas_used = random_u64(rng);
    p.timestamp = random_u64(rng);
    p.extra_data = random_bytes(rng, rng() % 33);
    p.base_fee = B(32, 0);
    size_t fee_bytes = rng() % 33;
    for (size_t i = 32 - fee_bytes; i < 32; i++) p.base_fee[i] = static_cast<uint8_t>(rng());
    p.block_hash = random_bytes(rng, 32);
    size_t txs = rng() % (tx_count_max + 1);
    for (size_t i = 0; i < txs; i++) p.transactions.push_back(random_tx(rng));
    p.has_withdrawals = version >= 3 || (version == 2 && with_withdrawals);
    if (p.has_withdrawals && !(version == 4 && isthmus)) {
        size_t n = rng() % 20;
        for (size_t i = 0; i < n; i++)
            p.withdrawals.push_back(
                {random_u64(rng), random_u64(rng), random_bytes(rng, 20), random_u64(rng)});
    }
    if (version >= 3) {
        p.blob_gas_used = random_u64(rng);
        p.excess_blob_gas = random_u64(rng);
        size_t n = rng() % 7;
        for (size_t i = 0; i < n; i++) p.versioned_hashes.push_back(random_bytes(rng, 32));
        p.parent_beacon_block_root = random_bytes(rng, 32);
    }
    if (version == 4 && isthmus) {
        p.has_withdrawals_root = true;
        p.withdrawals_root = random_bytes(rng, 32);
    }
    if (version >= 4 && !(version == 4 && isthmus)) {
        for (int type = 0; type < 4; type++) {
            if (rng() % 2) continue;
            B r = random_bytes(rng, 2 + rng() % 300);
            r[0] = static_cast<uint8_t>(type);
            p.requests.push_back(r);
        }
    }
    if (version >= 5) {
        p.block_access_list =
            rng() % 4 == 0 ? B{0xc0} : rlp_list({rlp_string(random_bytes(rng, rng() % 2000))});
        p.slot_number = random_u64(rng);
    }
    return p;
}

}  // namespace em::eth::ref

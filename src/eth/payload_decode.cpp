// engine_newPayloadV1..V5 params decoder over simdjson On-Demand (see payload_decode.h).
//
// Hex strings are read through value::raw_json_token(): a view of the JSON text itself, so the
// digits go straight from the request buffer into the arena (no unescape copy). A backslash in
// a hex string is therefore reported as an invalid digit, which is what we want. The values
// themselves are read by the one hex codec (base/hex.h); its errors say what is wrong and this
// file prefixes the field path.
#include "eth/payload_decode.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "base/assert.h"
#include "base/hex.h"
#include "eth/trie.h"

namespace em::eth {
inline namespace EM_JSON_KERNEL_NS {

namespace ond = simdjson::ondemand;

namespace {

// ---- error paths ------------------------------------------------------------------------

// Where a value sits: params[param].field[index].sub  (each part optional).
struct Path {
    int param = -1;
    std::string_view field;
    int64_t index = -1;
    std::string_view sub;

    Path with_field(std::string_view f) const {
        Path p = *this;
        p.field = f;
        return p;
    }
    Path with_index(size_t i) const {
        Path p = *this;
        p.index = static_cast<int64_t>(i);
        return p;
    }
    Path with_sub(std::string_view s) const {
        Path p = *this;
        p.sub = s;
        return p;
    }
};

size_t format_path(const Path& p, char* buf, size_t size) {
    int n = std::snprintf(buf, size, "params");
    auto add = [&](const char* fmt, auto... args) {
        if (n >= 0 && static_cast<size_t>(n) < size)
            n += std::snprintf(buf + n, size - n, fmt, args...);
    };
    if (p.param >= 0) add("[%d]", p.param);
    if (!p.field.empty()) add(".%.*s", static_cast<int>(p.field.size()), p.field.data());
    if (p.index >= 0) add("[%lld]", static_cast<long long>(p.index));
    if (!p.sub.empty()) add(".%.*s", static_cast<int>(p.sub.size()), p.sub.data());
    return n < 0 ? 0 : (static_cast<size_t>(n) < size ? static_cast<size_t>(n) : size - 1);
}

[[gnu::format(printf, 3, 4)]] Unexpected path_fail(Errc code, const Path& p, const char* fmt, ...) {
    char path[96];
    format_path(p, path, sizeof path);
    char reason[Error::message_bytes_max + 1];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    return failf(code, "%s: %s", path, reason);
}

Unexpected fail_params_count(size_t expected, uint8_t version, size_t got) {
    return failf(Errc::invalid_input, "params: engine_newPayloadV%u takes %zu, got %s%zu", version,
                 expected, got > expected ? "at least " : "", got);
}

Unexpected json_fail(const Path& p, simdjson::error_code e) {
    return path_fail(Errc::invalid_input, p, "invalid JSON (%s)", simdjson::error_message(e));
}

// ---- JSON kinds and hex strings ---------------------------------------------------------

enum class Kind : uint8_t { string, number, object, array, boolean, null };

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::string:
            return "a string";
        case Kind::number:
            return "a number";
        case Kind::object:
            return "an object";
        case Kind::array:
            return "an array";
        case Kind::boolean:
            return "a boolean";
        case Kind::null:
            return "null";
    }
    return "?";
}

// The raw token of v without trailing whitespace, and its kind (from the first character;
// stage 1 has already checked strings and structure).
Result<Kind> kind_of(ond::value& v, std::string_view& token, const Path& p) {
    token = v.raw_json_token();
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                              token.back() == '\t'))
        token.remove_suffix(1);
    if (token.empty()) return path_fail(Errc::invalid_input, p, "missing value");
    switch (token[0]) {
        case '"':
            return Kind::string;
        case '{':
            return Kind::object;
        case '[':
            return Kind::array;
        case 't':
        case 'f':
            return Kind::boolean;
        case 'n': {
            bool is_null = false;
            if (v.is_null().get(is_null) || !is_null)
                return path_fail(Errc::invalid_input, p, "invalid JSON atom");
            return Kind::null;
        }
        default:
            return Kind::number;
    }
}

Unexpected type_fail(const Path& p, const char* expected, Kind got) {
    return path_fail(Errc::invalid_input, p, "expected %s, got %s", expected, kind_name(got));
}

// The text between the quotes of a hex string value ("0x" included; the codec checks it).
Result<std::string_view> hex_text(ond::value& v, const Path& p, const char* expected) {
    std::string_view token;
    Kind k = EM_TRY(kind_of(v, token, p));
    if (k != Kind::string) return type_fail(p, expected, k);
    if (token.size() < 2 || token.back() != '"')
        return path_fail(Errc::invalid_input, p, "unterminated string");
    return token.substr(1, token.size() - 2);
}

// The codec's error ("odd number of hex digits") prefixed with where it happened.
Unexpected at_path(const Path& p, Error e) {
    char path[96];
    format_path(p, path, sizeof path);
    e.prefix(path);
    return Unexpected(std::move(e));
}

// DATA of exactly n bytes.
Result<void> decode_fixed(ond::value& v, const Path& p, uint8_t* out, size_t n) {
    std::string_view text = EM_TRY(hex_text(v, p, "a hex string"));
    auto r = parse_data(text, {out, n});
    if (!r) return at_path(p, std::move(r.error()));
    return {};
}

// DATA of 0..bytes_max bytes, copied into the arena after `headroom` scratch bytes. Longer is
// `over` (a spec violation is invalid_input, a configured limit too_large).
Result<Bytes> decode_var(ond::value& v, const Path& p, Arena& arena, size_t bytes_max,
                         Errc over = Errc::too_large, size_t headroom = 0) {
    std::string_view text = EM_TRY(hex_text(v, p, "a hex string"));
    auto bytes = data_bytes(text);
    if (!bytes) return at_path(p, std::move(bytes.error()));
    size_t n = *bytes;
    if (n > bytes_max) return path_fail(over, p, "%zu bytes exceed the limit of %zu", n, bytes_max);
    if (n == 0) return Bytes();
    auto* out = static_cast<uint8_t*>(arena.alloc(headroom + n, 1));
    if (!out) return path_fail(Errc::too_large, p, "decode arena full");
    out += headroom;
    auto r = parse_data(text, {out, n});
    if (!r) return at_path(p, std::move(r.error()));
    return Bytes(out, n);
}

Result<uint64_t> decode_u64(ond::value& v, const Path& p) {
    std::string_view text = EM_TRY(hex_text(v, p, "a hex quantity"));
    auto r = parse_quantity(text);
    if (!r) return at_path(p, std::move(r.error()));
    return *r;
}

Result<void> decode_u256(ond::value& v, const Path& p, U256& out) {
    std::string_view text = EM_TRY(hex_text(v, p, "a hex quantity"));
    auto r = parse_quantity_u256(text);
    if (!r) return at_path(p, std::move(r.error()));
    out = *r;
    return {};
}

// Opens v as an array of at most items_max items and returns the item count.
Result<size_t> open_array(ond::value& v, const Path& p, ond::array& arr, size_t items_max) {
    std::string_view token;
    Kind k = EM_TRY(kind_of(v, token, p));
    if (k != Kind::array) return type_fail(p, "an array", k);
    if (auto e = v.get_array().get(arr)) return json_fail(p, e);
    size_t n = 0;
    if (auto e = arr.count_elements().get(n)) return json_fail(p, e);
    if (n > items_max)
        return path_fail(Errc::too_large, p, "%zu items exceed the limit of %zu", n, items_max);
    return n;
}

// The key of f as written in the text: no copy unless it contains escapes (then unescaped
// into the parser's string buffer). Stage 1 has checked that the string is terminated.
Result<std::string_view> field_key(ond::field& f, const Path& p) {
    const char* begin = f.key().raw();
    const char* end = begin;
    while (*end != '"' && *end != '\\') end++;
    if (*end == '"') return std::string_view(begin, static_cast<size_t>(end - begin));
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) return json_fail(p, e);
    return key;
}

// Cheap checks first: most candidate names differ in length or first character.
inline bool same_key(std::string_view name, std::string_view key) {
    return name.size() == key.size() && name[0] == key[0] &&
           std::memcmp(name.data(), key.data(), key.size()) == 0;
}

Result<void> unknown_field(const Path& p, std::string_view key, const DecodeOptions& options,
                           DecodeCounters* counters) {
    if (options.unknown_fields == UnknownFields::reject)
        return path_fail(Errc::invalid_input, p.with_field(key), "unknown field");
    if (counters) counters->unknown_fields_ignored++;
    return {};
}

// ---- the payload object -------------------------------------------------------------------

enum Field : uint8_t {
    f_parent_hash,
    f_fee_recipient,
    f_state_root,
    f_receipts_root,
    f_logs_bloom,
    f_prev_randao,
    f_block_number,
    f_gas_limit,
    f_gas_used,
    f_timestamp,
    f_extra_data,
    f_base_fee,
    f_block_hash,
    f_transactions,
    f_withdrawals,
    f_blob_gas_used,
    f_excess_blob_gas,
    f_withdrawals_root,
    f_block_access_list,
    f_slot_number,
    f_count
};

struct FieldSpec {
    std::string_view name;
    uint8_t first_version;  // allowed in engine_newPayloadV<first..last>
    uint8_t last_version;
    uint8_t required_from;  // required from this version on (0: optional where allowed)
    const char* expected;   // for type errors
};

constexpr const char* hex_string = "a hex string";
constexpr const char* hex_quantity = "a hex quantity";
constexpr FieldSpec field_specs[f_count] = {
    {"parentHash", 1, 5, 1, hex_string},      {"feeRecipient", 1, 5, 1, hex_string},
    {"stateRoot", 1, 5, 1, hex_string},       {"receiptsRoot", 1, 5, 1, hex_string},
    {"logsBloom", 1, 5, 1, hex_string},       {"prevRandao", 1, 5, 1, hex_string},
    {"blockNumber", 1, 5, 1, hex_quantity},   {"gasLimit", 1, 5, 1, hex_quantity},
    {"gasUsed", 1, 5, 1, hex_quantity},       {"timestamp", 1, 5, 1, hex_quantity},
    {"extraData", 1, 5, 1, hex_string},       {"baseFeePerGas", 1, 5, 1, hex_quantity},
    {"blockHash", 1, 5, 1, hex_string},       {"transactions", 1, 5, 1, "an array"},
    {"withdrawals", 2, 5, 3, "an array"},     {"blobGasUsed", 3, 5, 3, hex_quantity},
    {"excessBlobGas", 3, 5, 3, hex_quantity}, {"withdrawalsRoot", 4, 4, 0, hex_string},
    {"blockAccessList", 5, 5, 5, hex_string}, {"slotNumber", 5, 5, 5, hex_quantity},
};

int find_field(std::string_view key) {
    for (int i = 0; i < f_count; i++)
        if (same_key(field_specs[i].name, key)) return i;
    return -1;
}

Result<void> decode_transactions(ond::value& v, const Path& p, Arena& arena,
                                 const PayloadLimits& limits, ExecutionPayload& e) {
    ond::array arr;
    size_t n = EM_TRY(open_array(v, p, arr, limits.transactions_max));
    auto txs = arena.alloc_array<Bytes>(n);
    if (n && !txs.data()) return path_fail(Errc::too_large, p, "decode arena full");
    size_t i = 0;
    for (auto item : arr) {
        ond::value tv;
        if (auto err = item.get(tv)) return json_fail(p.with_index(i), err);
        txs[i] = EM_TRY(decode_var(tv, p.with_index(i), arena, limits.transaction_bytes_max,
                                   Errc::too_large, trie_leaf_headroom_bytes));
        i++;
    }
    EM_ASSERT(i == n);
    e.transactions = std::span<const Bytes>(txs.data(), n);
    e.transactions_headroom_bytes = trie_leaf_headroom_bytes;
    return {};
}

enum WithdrawalField : uint8_t { w_index, w_validator_index, w_address, w_amount, w_count };
constexpr std::string_view withdrawal_names[w_count] = {"index", "validatorIndex", "address",
                                                        "amount"};

Result<void> decode_withdrawal_field(int id, ond::value& v, const Path& p, Withdrawal& w) {
    switch (id) {
        case w_index:
            w.index = EM_TRY(decode_u64(v, p));
            break;
        case w_validator_index:
            w.validator_index = EM_TRY(decode_u64(v, p));
            break;
        case w_address:
            EM_TRY_VOID(decode_fixed(v, p, w.address.data(), w.address.size()));
            break;
        default:
            w.amount_gwei = EM_TRY(decode_u64(v, p));
            break;
    }
    return {};
}

Result<void> decode_withdrawal(ond::value& v, const Path& p, const DecodeOptions& options,
                               DecodeCounters* counters, Withdrawal& w) {
    std::string_view token;
    Kind k = EM_TRY(kind_of(v, token, p));
    if (k != Kind::object) return type_fail(p, "an object", k);
    ond::object obj;
    if (auto e = v.get_object().get(obj)) return json_fail(p, e);
    uint32_t seen = 0;
    for (auto item : obj) {
        if (item.error()) return json_fail(p, item.error());
        ond::field& f = item.value_unsafe();  // no copy of the field (checked just above)
        std::string_view key = EM_TRY(field_key(f, p));
        int id = -1;
        for (int i = 0; i < w_count; i++)
            if (same_key(withdrawal_names[i], key)) id = i;
        if (id < 0) {
            if (options.unknown_fields == UnknownFields::reject)
                return path_fail(Errc::invalid_input, p.with_sub(key), "unknown field");
            if (counters) counters->unknown_fields_ignored++;
            continue;
        }
        Path fp = p.with_sub(withdrawal_names[id]);
        if (seen & (1u << id)) return path_fail(Errc::invalid_input, fp, "duplicate field");
        seen |= 1u << id;
        EM_TRY_VOID(decode_withdrawal_field(id, f.value(), fp, w));
    }
    for (int i = 0; i < w_count; i++)
        if (!(seen & (1u << i)))
            return path_fail(Errc::invalid_input, p.with_sub(withdrawal_names[i]), "missing");
    return {};
}

Result<void> decode_withdrawals(ond::value& v, const Path& p, Arena& arena,
                                const DecodeOptions& options, DecodeCounters* counters,
                                ExecutionPayload& e) {
    ond::array arr;
    size_t n = EM_TRY(open_array(v, p, arr, options.limits.withdrawals_max));
    auto ws = arena.alloc_array<Withdrawal>(n);
    if (n && !ws.data()) return path_fail(Errc::too_large, p, "decode arena full");
    size_t i = 0;
    for (auto item : arr) {
        ond::value wv;
        if (auto err = item.get(wv)) return json_fail(p.with_index(i), err);
        ws[i] = Withdrawal{};
        EM_TRY_VOID(decode_withdrawal(wv, p.with_index(i), options, counters, ws[i]));
        i++;
    }
    e.withdrawals = std::span<const Withdrawal>(ws.data(), n);
    e.has_withdrawals = true;
    return {};
}

struct PayloadContext {
    Arena& arena;
    const DecodeOptions& options;
    DecodeCounters* counters;
};

Result<void> decode_field(int id, ond::value& v, const Path& p, PayloadContext& c,
                          ExecutionPayload& e) {
    switch (id) {
        case f_parent_hash:
            return decode_fixed(v, p, e.parent_hash.data(), 32);
        case f_fee_recipient:
            return decode_fixed(v, p, e.fee_recipient.data(), 20);
        case f_state_root:
            return decode_fixed(v, p, e.state_root.data(), 32);
        case f_receipts_root:
            return decode_fixed(v, p, e.receipts_root.data(), 32);
        case f_logs_bloom:
            return decode_fixed(v, p, e.logs_bloom.data(), 256);
        case f_prev_randao:
            return decode_fixed(v, p, e.prev_randao.data(), 32);
        case f_block_number:
            e.block_number = EM_TRY(decode_u64(v, p));
            return {};
        case f_gas_limit:
            e.gas_limit = EM_TRY(decode_u64(v, p));
            return {};
        case f_gas_used:
            e.gas_used = EM_TRY(decode_u64(v, p));
            return {};
        case f_timestamp:
            e.timestamp = EM_TRY(decode_u64(v, p));
            return {};
        case f_extra_data:
            e.extra_data =
                EM_TRY(decode_var(v, p, c.arena, extra_data_bytes_max, Errc::invalid_input));
            return {};
        case f_base_fee:
            return decode_u256(v, p, e.base_fee_per_gas);
        case f_block_hash:
            return decode_fixed(v, p, e.block_hash.data(), 32);
        case f_transactions:
            return decode_transactions(v, p, c.arena, c.options.limits, e);
        case f_withdrawals:
            return decode_withdrawals(v, p, c.arena, c.options, c.counters, e);
        case f_blob_gas_used:
            e.blob_gas_used = EM_TRY(decode_u64(v, p));
            e.has_blob_gas = true;
            return {};
        case f_excess_blob_gas:
            e.excess_blob_gas = EM_TRY(decode_u64(v, p));
            return {};
        case f_withdrawals_root:
            e.has_withdrawals_root = true;
            return decode_fixed(v, p, e.withdrawals_root.data(), 32);
        case f_block_access_list:
            e.block_access_list =
                EM_TRY(decode_var(v, p, c.arena, c.options.limits.block_access_list_bytes_max));
            e.has_block_access_list = true;
            return {};
        default:
            e.slot_number = EM_TRY(decode_u64(v, p));
            return {};
    }
}

bool allowed_in(const FieldSpec& f, uint8_t version) {
    return version >= f.first_version && version <= f.last_version;
}
bool required_in(const FieldSpec& f, uint8_t version) {
    return allowed_in(f, version) && f.required_from != 0 && version >= f.required_from;
}

Result<void> decode_payload_object(ond::value& v, uint8_t version, PayloadContext& c,
                                   ExecutionPayload& e) {
    Path p;
    p.param = 0;
    std::string_view token;
    Kind k = EM_TRY(kind_of(v, token, p));
    if (k != Kind::object) return type_fail(p, "an object", k);
    ond::object obj;
    if (auto err = v.get_object().get(obj)) return json_fail(p, err);
    uint32_t seen = 0;
    uint32_t present = 0;
    for (auto item : obj) {
        if (item.error()) return json_fail(p, item.error());
        ond::field& f = item.value_unsafe();  // no copy of the field (checked just above)
        std::string_view key = EM_TRY(field_key(f, p));
        int id = find_field(key);
        if (id < 0) {
            EM_TRY_VOID(unknown_field(p, key, c.options, c.counters));
            continue;
        }
        const FieldSpec& spec = field_specs[id];
        Path fp = p.with_field(spec.name);
        if (seen & (1u << id)) return path_fail(Errc::invalid_input, fp, "duplicate field");
        seen |= 1u << id;
        Kind fk = EM_TRY(kind_of(f.value(), token, fp));
        if (fk == Kind::null) {
            if (required_in(spec, version)) return type_fail(fp, spec.expected, fk);
            continue;  // null stands for an absent optional or later-version field
        }
        if (!allowed_in(spec, version))
            return path_fail(Errc::invalid_input, fp, "not part of engine_newPayloadV%u", version);
        EM_TRY_VOID(decode_field(id, f.value(), fp, c, e));
        present |= 1u << id;
    }
    for (int i = 0; i < f_count; i++)
        if (required_in(field_specs[i], version) && !(present & (1u << i)))
            return path_fail(Errc::invalid_input, p.with_field(field_specs[i].name), "missing");
    if (e.has_withdrawals_root && !e.withdrawals.empty())
        return path_fail(Errc::invalid_input, p.with_field("withdrawals"),
                         "must be empty when withdrawalsRoot is given (OP Stack Isthmus)");
    return {};
}

// ---- params[1..3] -------------------------------------------------------------------------

Result<void> decode_versioned_hashes(ond::value& v, PayloadContext& c, NewPayload& out) {
    Path p;
    p.param = 1;
    ond::array arr;
    size_t n = EM_TRY(open_array(v, p, arr, c.options.limits.versioned_hashes_max));
    auto hashes = c.arena.alloc_array<Hash32>(n);
    if (n && !hashes.data()) return path_fail(Errc::too_large, p, "decode arena full");
    size_t i = 0;
    for (auto item : arr) {
        ond::value hv;
        if (auto err = item.get(hv)) return json_fail(p.with_index(i), err);
        EM_TRY_VOID(decode_fixed(hv, p.with_index(i), hashes[i].data(), 32));
        i++;
    }
    out.versioned_hashes = std::span<const Hash32>(hashes.data(), n);
    return {};
}

Result<void> decode_requests(ond::value& v, PayloadContext& c, NewPayload& out) {
    Path p;
    p.param = 3;
    ond::array arr;
    const PayloadLimits& limits = c.options.limits;
    size_t n = EM_TRY(open_array(v, p, arr, limits.execution_requests_max));
    auto requests = c.arena.alloc_array<Bytes>(n);
    if (n && !requests.data()) return path_fail(Errc::too_large, p, "decode arena full");
    size_t i = 0;
    for (auto item : arr) {
        ond::value rv;
        Path ip = p.with_index(i);
        if (auto err = item.get(rv)) return json_fail(ip, err);
        Bytes r = EM_TRY(decode_var(rv, ip, c.arena, limits.request_bytes_max));
        if (r.size() < 2) return path_fail(Errc::invalid_input, ip, "request without data");
        if (i > 0 && r[0] <= requests[i - 1][0])
            return path_fail(Errc::invalid_input, ip, "request type 0x%02x not above 0x%02x", r[0],
                             requests[i - 1][0]);
        requests[i++] = r;
    }
    out.execution_requests = std::span<const Bytes>(requests.data(), n);
    return {};
}

Result<void> decode_param(size_t index, ond::value& v, uint8_t version, PayloadContext& c,
                          NewPayload& out) {
    switch (index) {
        case 0:
            return decode_payload_object(v, version, c, out.payload);
        case 1:
            return decode_versioned_hashes(v, c, out);
        case 2: {
            Path p;
            p.param = 2;
            return decode_fixed(v, p, out.parent_beacon_block_root.data(), 32);
        }
        default:
            return decode_requests(v, c, out);
    }
}

Fork fork_of(const NewPayload& p) {
    switch (p.version) {
        case 1:
            return Fork::paris;
        case 2:
            return p.payload.has_withdrawals ? Fork::shanghai : Fork::paris;
        case 3:
            return Fork::cancun;
        case 4:
            return Fork::prague;
        default:
            return Fork::amsterdam;
    }
}

}  // namespace

uint8_t new_payload_version(std::string_view method) {
    constexpr std::string_view prefix = "engine_newPayloadV";
    if (method.size() != prefix.size() + 1 || method.substr(0, prefix.size()) != prefix) return 0;
    char d = method.back();
    if (d < '1' || d > '0' + new_payload_version_max) return 0;
    return static_cast<uint8_t>(d - '0');
}

size_t new_payload_param_count(uint8_t version) {
    EM_ASSERT(version >= 1 && version <= new_payload_version_max);
    return version <= 2 ? 1 : (version == 3 ? 3 : 4);
}

Result<void> decode_new_payload(ond::array params, uint8_t version, Arena& arena, NewPayload& out,
                                const DecodeOptions& options, DecodeCounters* counters) {
    size_t expected = new_payload_param_count(version);
    out = NewPayload{};
    out.version = version;
    PayloadContext c{arena, options, counters};
    size_t i = 0;
    for (auto item : params) {
        Path p;
        p.param = static_cast<int>(i);
        ond::value v;
        if (auto err = item.get(v)) return json_fail(p, err);
        if (i == expected) return fail_params_count(expected, version, i + 1);
        EM_TRY_VOID(decode_param(i, v, version, c, out));
        i++;
    }
    if (i != expected) return fail_params_count(expected, version, i);
    out.fork = fork_of(out);
    out.op_isthmus = out.payload.has_withdrawals_root;
    return {};
}

Result<void> decode_new_payload(ond::value params, uint8_t version, Arena& arena, NewPayload& out,
                                const DecodeOptions& options, DecodeCounters* counters) {
    Path p;
    std::string_view token;
    Kind k = EM_TRY(kind_of(params, token, p));
    if (k != Kind::array) return type_fail(p, "an array", k);
    ond::array arr;
    if (auto err = params.get_array().get(arr)) return json_fail(p, err);
    return decode_new_payload(arr, version, arena, out, options, counters);
}

}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::eth

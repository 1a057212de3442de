#include "validator/rpc.h"

#include <cstring>

#include "validator/base64.h"

namespace em::validator {

namespace {

/// The JSON-RPC envelope's "result" object (an "error" member becomes an error).
Result<JsonObject> rpc_result(std::string_view body, JsonParser& parser) {
    JsonValue root = EM_TRY(parser.parse(body));
    JsonObject envelope = EM_TRY(json_object(root, "response"));
    JsonValue result;
    if (!envelope.at_key("result").get(result)) return json_object(result, "result");
    JsonValue error;
    if (!envelope.at_key("error").get(error)) {
        std::string_view message;
        JsonObject e;
        if (!error.get(e) && !e.at_key("message").get(message)) {
            return failf(Errc::invalid_input, "RPC error: %.*s",
                         static_cast<int>(message.size() > 80 ? 80 : message.size()),
                         message.data());
        }
        return fail(Errc::invalid_input, "RPC error without a message");
    }
    return fail(Errc::invalid_input, "response has neither result nor error");
}

Result<int> digits(std::string_view s, size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; i++) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') {
            return failf(Errc::invalid_input, "time: expected a digit at offset %zu", i);
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

Result<void> parse_sync_info(JsonValue v, NodeStatus& s) {
    static constexpr std::string_view names[] = {"latest_block_height", "latest_block_time",
                                                 "catching_up"};
    JsonObject o = EM_TRY(json_object(v, "sync_info"));
    FieldSet fields(names, true);
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) {
            s.latest_block_height =
                EM_TRY(json_int_string(f.value, "sync_info.latest_block_height", 0, INT64_MAX));
        } else if (i == 1) {
            std::string_view t = EM_TRY(json_string(f.value, "sync_info.latest_block_time"));
            auto ns = parse_rfc3339_ns(t);
            if (!ns) return Unexpected(std::move(ns.error().prefix("sync_info.latest_block_time")));
            s.latest_block_time_ns = *ns;
        } else if (i == 2) {
            s.catching_up = EM_TRY(json_bool(f.value, "sync_info.catching_up"));
        }
    }
    auto missing = fields.require({0, 1, 2});
    if (!missing) return Unexpected(std::move(missing.error().prefix("sync_info")));
    return {};
}

Result<void> parse_pub_key(JsonValue v, NodeStatus& s) {
    static constexpr std::string_view names[] = {"type", "value"};
    JsonObject o = EM_TRY(json_object(v, "validator_info.pub_key"));
    FieldSet fields(names, true);
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        if (i < 0) continue;
        std::string_view text =
            EM_TRY(json_string(f.value, i == 0 ? "pub_key.type" : "pub_key.value"));
        if (i == 0) {
            if (text.size() > NodeStatus::type_chars_max) {
                return fail(Errc::too_large, "validator_info.pub_key.type: too long");
            }
            std::memcpy(s.pub_key_type, text.data(), text.size());
            s.pub_key_type_chars = static_cast<uint8_t>(text.size());
        } else {
            if (text.size() > NodeStatus::key_chars_max) {
                return fail(Errc::too_large, "validator_info.pub_key.value: too long");
            }
            auto valid = base64_validate(text);
            if (!valid)
                return Unexpected(std::move(valid.error().prefix("validator_info.pub_key.value")));
            std::memcpy(s.pub_key, text.data(), text.size());
            s.pub_key_chars = static_cast<uint8_t>(text.size());
        }
    }
    auto missing = fields.require({0, 1});
    if (!missing) return Unexpected(std::move(missing.error().prefix("validator_info.pub_key")));
    return {};
}

Result<void> parse_validator_info(JsonValue v, NodeStatus& s) {
    static constexpr std::string_view names[] = {"pub_key", "voting_power"};
    JsonObject o = EM_TRY(json_object(v, "validator_info"));
    FieldSet fields(names, true);
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) EM_TRY_VOID(parse_pub_key(f.value, s));
        if (i == 1) {
            s.voting_power =
                EM_TRY(json_int_string(f.value, "validator_info.voting_power", 0, INT64_MAX));
        }
    }
    auto missing = fields.require({0, 1});
    if (!missing) return Unexpected(std::move(missing.error().prefix("validator_info")));
    return {};
}

}  // namespace

Result<int64_t> parse_rfc3339_ns(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
    if (t.size() < 20) return fail(Errc::invalid_input, "time: too short for RFC 3339");
    int year = EM_TRY(digits(t, 0, 4));
    int month = EM_TRY(digits(t, 5, 2));
    int day = EM_TRY(digits(t, 8, 2));
    int hour = EM_TRY(digits(t, 11, 2));
    int minute = EM_TRY(digits(t, 14, 2));
    int second = EM_TRY(digits(t, 17, 2));
    if (t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' ||
        t[16] != ':') {
        return fail(Errc::invalid_input, "time: not in RFC 3339 form YYYY-MM-DDTHH:MM:SS");
    }
    static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 ||
        minute > 59 || second > 60) {
        return fail(Errc::invalid_input, "time: field out of range");
    }
    // Nanoseconds since 1970 in an int64 end in 2262: refuse years we cannot represent.
    if (year < 1970 || year > 2200)
        return fail(Errc::invalid_input, "time: year outside 1970..2200");
    size_t i = 19;
    int64_t fraction_ns = 0;
    if (i < t.size() && t[i] == '.') {
        i++;
        size_t n = 0;
        int64_t scale = 100'000'000;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            if (n == 9) return fail(Errc::invalid_input, "time: more than 9 fraction digits");
            fraction_ns += (t[i] - '0') * scale;
            scale /= 10;
            i++;
            n++;
        }
        if (n == 0) return fail(Errc::invalid_input, "time: empty fraction");
    }
    int64_t offset_s = 0;
    if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
        i++;
    } else if (i + 6 == t.size() && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
        int oh = EM_TRY(digits(t, i + 1, 2));
        int om = EM_TRY(digits(t, i + 4, 2));
        if (oh > 23 || om > 59) return fail(Errc::invalid_input, "time: offset out of range");
        offset_s = (oh * 3600 + om * 60) * (t[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return fail(Errc::invalid_input, "time: missing zone (Z or +HH:MM)");
    }
    if (i != t.size()) return fail(Errc::invalid_input, "time: trailing characters");
    int64_t days = days_from_civil(year, month, day);
    int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    return seconds * 1'000'000'000 + fraction_ns;
}

Result<NodeStatus> parse_status(std::string_view body, JsonParser& parser) {
    static constexpr std::string_view names[] = {"sync_info", "validator_info"};
    JsonObject result = EM_TRY(rpc_result(body, parser));
    FieldSet fields(names, true);
    NodeStatus s;
    for (auto f : result) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) EM_TRY_VOID(parse_sync_info(f.value, s));
        if (i == 1) EM_TRY_VOID(parse_validator_info(f.value, s));
    }
    auto missing = fields.require({0, 1});
    if (!missing) return Unexpected(std::move(missing.error().prefix("result")));
    return s;
}

Result<int64_t> parse_net_info(std::string_view body, JsonParser& parser) {
    static constexpr std::string_view names[] = {"n_peers"};
    JsonObject result = EM_TRY(rpc_result(body, parser));
    FieldSet fields(names, true);
    int64_t peers = 0;
    for (auto f : result) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) peers = EM_TRY(json_int_string(f.value, "result.n_peers", 0, 1'000'000));
    }
    auto missing = fields.require({0});
    if (!missing) return Unexpected(std::move(missing.error().prefix("result")));
    return peers;
}

}  // namespace em::validator

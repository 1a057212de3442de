#include "validator/sign_state.h"

#include <cstring>

#include "base/hex.h"
#include "validator/base64.h"

namespace em::validator {

SignState& SignState::operator=(const SignState& o) {
    if (this == &o) return *this;
    hrs = o.hrs;
    signature_chars = o.signature_chars;
    signbytes_chars = o.signbytes_chars;
    std::memcpy(signature, o.signature, signature_chars);
    std::memcpy(signbytes, o.signbytes, signbytes_chars);
    return *this;
}

Result<void> SignState::set_signature(std::string_view b64) {
    if (b64.size() > signature_chars_max) {
        return failf(Errc::too_large, "signature: longer than %zu base64 characters",
                     signature_chars_max);
    }
    auto valid = base64_validate(b64);
    if (!valid) return Unexpected(std::move(valid.error().prefix("signature")));
    std::memcpy(signature, b64.data(), b64.size());
    signature_chars = static_cast<uint16_t>(b64.size());
    return {};
}

Result<void> SignState::set_signbytes(std::string_view hex) {
    if (hex.size() > signbytes_chars_max) {
        return failf(Errc::too_large, "signbytes: longer than %zu hex digits", signbytes_chars_max);
    }
    if (hex.size() % 2 != 0)
        return fail(Errc::invalid_input, "signbytes: odd number of hex digits");
    for (size_t i = 0; i < hex.size(); i++) {
        if (hex_digit_value(hex[i]) < 0) {
            return failf(Errc::invalid_input, "signbytes: invalid hex digit at offset %zu", i);
        }
    }
    std::memcpy(signbytes, hex.data(), hex.size());
    signbytes_chars = static_cast<uint16_t>(hex.size());
    return {};
}

bool SignState::same_as(const SignState& o) const {
    if (hrs != o.hrs || signature_b64() != o.signature_b64()) return false;
    if (signbytes_chars != o.signbytes_chars) return false;
    for (size_t i = 0; i < signbytes_chars; i++) {
        if (hex_digit_value(signbytes[i]) != hex_digit_value(o.signbytes[i])) return false;
    }
    return true;
}

Result<SignState> sign_state_from_json(JsonValue value) {
    static constexpr std::string_view names[] = {"height", "round", "step", "signature",
                                                 "signbytes"};
    JsonObject object = EM_TRY(json_object(value, "state"));
    FieldSet fields(names, false);
    SignState s;
    for (auto field : object) {
        int i = EM_TRY(fields.index(field.key));
        switch (i) {
            case 0:
                s.hrs.height = EM_TRY(json_int_string(field.value, "height", 0, INT64_MAX));
                break;
            case 1:
                s.hrs.round =
                    static_cast<int32_t>(EM_TRY(json_int(field.value, "round", 0, round_max)));
                break;
            case 2:
                s.hrs.step =
                    static_cast<int8_t>(EM_TRY(json_int(field.value, "step", 0, step_max)));
                break;
            case 3:
                EM_TRY_VOID(s.set_signature(EM_TRY(json_string(field.value, "signature"))));
                break;
            case 4:
                EM_TRY_VOID(s.set_signbytes(EM_TRY(json_string(field.value, "signbytes"))));
                break;
            default:
                break;
        }
    }
    EM_TRY_VOID(fields.require({0, 1, 2}));
    return s;
}

Result<SignState> parse_sign_state(std::string_view json, JsonParser& parser) {
    JsonValue root = EM_TRY(parser.parse(json));
    return sign_state_from_json(root);
}

void write_sign_state(const SignState& state, ByteBuffer& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("height").number_string(state.hrs.height);
    w.key("round").number(state.hrs.round);
    w.key("step").number(state.hrs.step);
    if (state.signature_chars) w.key("signature").string(state.signature_b64());
    if (state.signbytes_chars) w.key("signbytes").string(state.signbytes_hex());
    w.end_object();
}

SignState high_watermark(const SignState& local, const SignState* peer, int64_t chain_height,
                         uint32_t margin_heights) {
    int64_t height = chain_height;
    int64_t add = 1 + static_cast<int64_t>(margin_heights);
    height = height > INT64_MAX - add ? INT64_MAX : height + add;
    SignState best(Hrs{height, round_max, step_max});
    if (local.hrs > best.hrs) best = local;
    if (peer && peer->hrs > best.hrs) best = *peer;
    return best;
}

}  // namespace em::validator

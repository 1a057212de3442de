#include "validator/messages.h"

#include <cstring>

namespace em::validator {

namespace {

constexpr const char* type_names[] = {"beat", "acquire", "release", "state"};
constexpr const char* type_paths[] = {"/v1/peer/beat", "/v1/peer/acquire", "/v1/peer/release",
                                      "/v1/peer/state"};
constexpr const char* holder_names[] = {"none", "self", "peer"};
constexpr const char* view_names[] = {"none", "you", "me"};
constexpr int64_t epoch_max = INT64_MAX;

Result<MessageType> parse_type(std::string_view text) {
    for (int i = 0; i < 4; i++) {
        if (text == type_names[i]) return static_cast<MessageType>(i);
    }
    return fail(Errc::invalid_input, "type: unknown message type");
}

Result<uint64_t> epoch_field(JsonValue v) {
    return static_cast<uint64_t>(EM_TRY(json_int_string(v, "epoch", 0, epoch_max)));
}

Result<bool> status_bool(JsonValue v, int i, bool* const fields[]) {
    static constexpr const char* names[] = {"status.fenced",  "status.holding",  "status.bounded",
                                            "status.healthy", "status.eligible", "status.preferred",
                                            "status.hold",    "status.promote"};
    bool b = EM_TRY(json_bool(v, names[i]));
    *fields[i] = b;
    return b;
}

}  // namespace

const char* message_type_name(MessageType type) {
    return type_names[static_cast<int>(type)];
}
const char* message_path(MessageType type) {
    return type_paths[static_cast<int>(type)];
}

Result<MessageType> parse_message_path(std::string_view path) {
    for (int i = 0; i < 4; i++) {
        if (path == type_paths[i]) return static_cast<MessageType>(i);
    }
    return failf(Errc::not_found, "unknown path '%.*s'",
                 static_cast<int>(path.size() > 60 ? 60 : path.size()), path.data());
}

const char* holder_name(Holder h) {
    return holder_names[static_cast<int>(h)];
}

void PeerMessage::set_from(std::string_view name) {
    size_t n = name.size() > name_chars_max ? name_chars_max : name.size();
    std::memcpy(from, name.data(), n);
    from_chars = static_cast<uint8_t>(n);
}

void PeerReply::set_reason(std::string_view text) {
    size_t n = text.size() > reason_chars_max ? reason_chars_max : text.size();
    std::memcpy(reason, text.data(), n);
    reason_chars = static_cast<uint8_t>(n);
}

void write_status(JsonWriter& w, const PeerStatus& s) {
    w.begin_object();
    w.key("role").string(role_name(s.role));
    w.key("fenced").boolean(s.fenced);
    w.key("holding").boolean(s.holding);
    w.key("bounded").boolean(s.bounded);
    w.key("healthy").boolean(s.healthy);
    w.key("eligible").boolean(s.eligible);
    w.key("preferred").boolean(s.preferred);
    w.key("hold").boolean(s.hold);
    w.key("promote").boolean(s.promote);
    w.key("healthy_for_ms").unsigned_string(s.healthy_for_ms);
    w.key("chain_height").number_string(s.chain_height);
    w.end_object();
}

Result<PeerStatus> parse_status_object(JsonValue v) {
    static constexpr std::string_view names[] = {
        "fenced", "holding", "bounded", "healthy",        "eligible",    "preferred",
        "hold",   "promote", "role",    "healthy_for_ms", "chain_height"};
    JsonObject o = EM_TRY(json_object(v, "status"));
    PeerStatus s;
    bool* const flags[] = {&s.fenced,   &s.holding,   &s.bounded, &s.healthy,
                           &s.eligible, &s.preferred, &s.hold,    &s.promote};
    FieldSet fields(names, false);
    for (auto f : o) {
        auto index = fields.index(f.key);
        if (!index) return Unexpected(std::move(index.error().prefix("status")));
        int i = *index;
        if (i < 8) {
            EM_TRY(status_bool(f.value, i, flags));
        } else if (i == 8) {
            s.role = EM_TRY(parse_role(EM_TRY(json_string(f.value, "status.role"))));
        } else if (i == 9) {
            s.healthy_for_ms = static_cast<uint64_t>(
                EM_TRY(json_int_string(f.value, "status.healthy_for_ms", 0, INT64_MAX)));
        } else {
            s.chain_height = EM_TRY(json_int_string(f.value, "status.chain_height", 0, INT64_MAX));
        }
    }
    auto missing = fields.require({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    if (!missing) return Unexpected(std::move(missing.error().prefix("status")));
    return s;
}

void write_message(const PeerMessage& m, ByteBuffer& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("type").string(message_type_name(m.type));
    w.key("from").string(m.from_name());
    w.key("epoch").unsigned_string(m.epoch);
    w.key("status");
    write_status(w, m.status);
    if (m.has_state) {
        w.key("state");
        ByteBuffer& o = w.out();
        write_sign_state(m.state, o);
        w.raw("");
    }
    w.end_object();
}

Result<PeerMessage> parse_message(std::string_view body, JsonParser& parser) {
    static constexpr std::string_view names[] = {"type", "from", "epoch", "status", "state"};
    JsonValue root = EM_TRY(parser.parse(body));
    JsonObject o = EM_TRY(json_object(root, "message"));
    FieldSet fields(names, false);
    PeerMessage m;
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) {
            m.type = EM_TRY(parse_type(EM_TRY(json_string(f.value, "type"))));
        } else if (i == 1) {
            std::string_view from = EM_TRY(json_string(f.value, "from"));
            auto ok = check_name(from);
            if (!ok) return Unexpected(std::move(ok.error().prefix("from")));
            m.set_from(from);
        } else if (i == 2) {
            m.epoch = EM_TRY(epoch_field(f.value));
        } else if (i == 3) {
            m.status = EM_TRY(parse_status_object(f.value));
        } else {
            auto state = sign_state_from_json(f.value);
            if (!state) return Unexpected(std::move(state.error().prefix("state")));
            m.state = *state;
            m.has_state = true;
        }
    }
    EM_TRY_VOID(fields.require({0, 1, 2, 3}));
    if ((m.type == MessageType::state) != m.has_state && m.type != MessageType::release) {
        return fail(Errc::invalid_input,
                    "state: required in (and only in) state and release messages");
    }
    return m;
}

void write_reply(const PeerReply& r, ByteBuffer& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("ok").boolean(r.ok);
    w.key("reason").string(r.reason_text());
    w.key("epoch").unsigned_string(r.epoch);
    w.key("holder").string(view_names[static_cast<int>(r.holder)]);
    w.key("granted").boolean(r.granted);
    w.key("ttl_ms").unsigned_string(r.ttl_ms);
    w.key("status");
    write_status(w, r.status);
    w.end_object();
}

Result<PeerReply> parse_reply(std::string_view body, JsonParser& parser) {
    static constexpr std::string_view names[] = {"ok",      "reason", "epoch", "holder",
                                                 "granted", "ttl_ms", "status"};
    JsonValue root = EM_TRY(parser.parse(body));
    JsonObject o = EM_TRY(json_object(root, "reply"));
    FieldSet fields(names, false);
    PeerReply r;
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        switch (i) {
            case 0:
                r.ok = EM_TRY(json_bool(f.value, "ok"));
                break;
            case 1: {
                std::string_view reason = EM_TRY(json_string(f.value, "reason"));
                if (reason.size() > PeerReply::reason_chars_max) {
                    return fail(Errc::too_large, "reason: too long");
                }
                r.set_reason(reason);
                break;
            }
            case 2:
                r.epoch = EM_TRY(epoch_field(f.value));
                break;
            case 3: {
                std::string_view v = EM_TRY(json_string(f.value, "holder"));
                if (v == "none")
                    r.holder = HolderView::none;
                else if (v == "you")
                    r.holder = HolderView::you;
                else if (v == "me")
                    r.holder = HolderView::me;
                else
                    return fail(Errc::invalid_input, "holder: expected none, you or me");
                break;
            }
            case 4:
                r.granted = EM_TRY(json_bool(f.value, "granted"));
                break;
            case 5:
                r.ttl_ms =
                    static_cast<uint32_t>(EM_TRY(json_int_string(f.value, "ttl_ms", 0, 3'600'000)));
                break;
            case 6:
                r.status = EM_TRY(parse_status_object(f.value));
                break;
            default:
                break;
        }
    }
    EM_TRY_VOID(fields.require({0, 1, 2, 3, 4, 5, 6}));
    if (r.granted && (!r.ok || r.ttl_ms == 0)) {
        return fail(Errc::invalid_input, "granted: needs ok and a positive ttl_ms");
    }
    return r;
}

void write_record(const GuardRecord& r, ByteBuffer& out) {
    JsonWriter w(out);
    w.begin_object();
    w.key("epoch").unsigned_string(r.epoch);
    w.key("holder").string(holder_name(r.holder));
    w.end_object();
    out.push_back('\n');
}

Result<GuardRecord> parse_record(std::string_view json, JsonParser& parser) {
    static constexpr std::string_view names[] = {"epoch", "holder"};
    JsonValue root = EM_TRY(parser.parse(json));
    JsonObject o = EM_TRY(json_object(root, "record"));
    FieldSet fields(names, false);
    GuardRecord r;
    for (auto f : o) {
        int i = EM_TRY(fields.index(f.key));
        if (i == 0) {
            r.epoch = EM_TRY(epoch_field(f.value));
        } else {
            std::string_view h = EM_TRY(json_string(f.value, "holder"));
            if (h == "none")
                r.holder = Holder::none;
            else if (h == "self")
                r.holder = Holder::self;
            else if (h == "peer")
                r.holder = Holder::peer;
            else
                return fail(Errc::invalid_input, "holder: expected none, self or peer");
        }
    }
    EM_TRY_VOID(fields.require({0, 1}));
    return r;
}

}  // namespace em::validator

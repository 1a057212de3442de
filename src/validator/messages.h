// The guards' wire format (peer back-end) and the guard's own durable record, as JSON, with
// strict parsers (unknown or duplicate fields, wrong types and out-of-range values are errors
// naming the field) and writers.
//
// Request: POST /v1/peer/<type>, body
//   {"type":"beat","from":"a","epoch":"7","status":{...},"state":{...}?}
// Answer: 200 with {"ok":true,"reason":"","epoch":"7","holder":"you","granted":true,
//   "ttl_ms":"10000","status":{...}}
// Record (data_dir/guard_state.json): {"epoch":"7","holder":"self"}
//
// Any thread; plain values, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/buffer.h"
#include "base/name.h"
#include "base/result.h"
#include "validator/json.h"
#include "validator/lease.h"
#include "validator/sign_state.h"

namespace em::validator {

// Host names follow the one name rule of base/name.h (em::check_name, em::name_chars_max):
// [A-Za-z0-9._-], 1..63 characters, the same as enginemux's node names.

enum class MessageType : uint8_t { beat, acquire, release, state };
const char* message_type_name(MessageType type);
/// "/v1/peer/beat" ...
const char* message_path(MessageType type);
/// Inverse of message_path; errors name the path.
Result<MessageType> parse_message_path(std::string_view path);

struct PeerMessage {
    MessageType type = MessageType::beat;
    uint8_t from_chars = 0;
    char from[name_chars_max + 1] = {};
    /// beat: the sender's epoch; acquire: the epoch asked for; release/state: the epoch they are
    /// about.
    uint64_t epoch = 0;
    PeerStatus status;
    bool has_state = false;
    SignState state;

    std::string_view from_name() const { return {from, from_chars}; }
    void set_from(std::string_view name);
};

/// Who the answering guard thinks holds the epoch in its answer.
enum class HolderView : uint8_t { none, you, me };

struct PeerReply {
    static constexpr size_t reason_chars_max = 118;
    bool ok = false;
    uint8_t reason_chars = 0;
    char reason[reason_chars_max + 1] = {};
    uint64_t epoch = 0;  ///< the answering guard's epoch
    HolderView holder = HolderView::none;
    bool granted = false;  ///< the lease is granted / renewed for ttl_ms from the request
    uint32_t ttl_ms = 0;
    PeerStatus status;

    std::string_view reason_text() const { return {reason, reason_chars}; }
    void set_reason(std::string_view text);
};

void write_message(const PeerMessage& m, ByteBuffer& out);
Result<PeerMessage> parse_message(std::string_view body, JsonParser& parser);
void write_reply(const PeerReply& r, ByteBuffer& out);
Result<PeerReply> parse_reply(std::string_view body, JsonParser& parser);

/// Who holds the lease according to this guard's durable record.
enum class Holder : uint8_t { none, self, peer };
const char* holder_name(Holder h);

/// The guard's durable record: the highest epoch it acted on and who held it then. Written
/// (atomically, fsynced) before the guard grants or takes an epoch.
struct GuardRecord {
    uint64_t epoch = 0;
    Holder holder = Holder::none;
    bool operator==(const GuardRecord&) const = default;
};

void write_record(const GuardRecord& r, ByteBuffer& out);
Result<GuardRecord> parse_record(std::string_view json, JsonParser& parser);

/// Appends a PeerStatus as a JSON object value (used by messages and the status API).
void write_status(JsonWriter& w, const PeerStatus& s);
Result<PeerStatus> parse_status_object(JsonValue v);

}  // namespace em::validator

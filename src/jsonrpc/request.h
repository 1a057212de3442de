// RequestParser: zero-copy JSON-RPC 2.0 request envelopes (single or batch) over a received body.
//
// One parser per shard thread; it is not thread-safe. It owns a simdjson On-Demand parser and
// entry storage sized at construction (both reused, so steady-state parsing allocates nothing;
// the simdjson index grows, at most to body_bytes_max, when a larger body than ever before
// arrives). The caller owns the body: every string_view in a parse result points into it (or,
// for an escaped method name, into the parser's scratch) and stays valid until the body is
// released or the next parse() - whichever comes first.
//
// Rules enforced (jsonrpc.org/specification, geth rpc/testdata/invalid-*.js):
//  - "jsonrpc" must be the string "2.0"; a missing member is -32600 like geth, unless
//    Limits::jsonrpc_member_optional.
//  - "method" must be a non-empty string of at most method_bytes_max bytes. Escapes are allowed:
//    the unescaped name is copied into parser-owned scratch (a name with an unpaired surrogate
//    escape is -32600).
//  - "params", when present, must be an array or object; "id" a string, number (any size, kept as
//    written) or null. No "id" member = a notification ("id": null is not one).
//  - Duplicate members (compared after unescaping) and more than request_members_max members
//    are -32600; other unknown members are ignored (but must be valid JSON).
//  - The whole body must be one JSON value (RFC 8259, fully validated, including parts the
//    parser does not read) nested at most depth_max deep.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "base/arena.h"
#include "base/json_kernel_ns.h"
#include "base/result.h"
#include "jsonrpc/codes.h"
#include "jsonrpc/walk.h"

namespace em::jsonrpc {

/// Configured maxima of the request parser (every one has a name and a default).
struct Limits {
    static constexpr size_t batch_entries_default = 1024;
    static constexpr size_t body_bytes_default = size_t{32} << 20;
    static constexpr size_t depth_default = 64;
    static constexpr size_t method_bytes_default = 128;
    static constexpr size_t request_members_default = 16;

    size_t batch_entries_max = batch_entries_default;      ///< elements per batch
    size_t body_bytes_max = body_bytes_default;            ///< bytes per body
    size_t depth_max = depth_default;                      ///< nesting of arrays/objects (root = 1)
    size_t method_bytes_max = method_bytes_default;        ///< bytes of one method name (unescaped)
    size_t request_members_max = request_members_default;  ///< members of one request object
    bool jsonrpc_member_optional = false;  ///< accept a request without "jsonrpc" (as "2.0")
};

/// One request's parts, as views into the body.
struct Request {
    std::string_view
        method;           ///< the method name, unescaped (into parser scratch if it had escapes)
    std::string_view id;  ///< raw JSON text of the id (7, "abc", null); empty = notification
    std::string_view params;  ///< raw JSON text of params (array or object); empty = absent
    std::string_view raw;     ///< the whole request object's text (for forwarding)
};

/// One element of an envelope: a valid request, or the error to answer it with.
struct Entry {
    bool ok = false;                      ///< request is valid; otherwise answer error_code
    Request request;                      ///< as far as it could be read; id "null" if unreadable
    int error_code = 0;                   ///< code::invalid_request when !ok, 0 when ok
    const char* error_message = nullptr;  ///< static text naming what was wrong when !ok
    /// True if the client expects an answer for this entry (errors always; requests with an id).
    bool wants_response() const { return !ok || !request.id.empty(); }
};

/// The parsed body: a single request (batch = false, one entry) or a batch (one entry each).
struct Envelope {
    bool batch = false;              ///< the body was a JSON array
    std::span<const Entry> entries;  ///< valid until the next parse()
};

// RequestParser and error_code_of are compiled once per JSON kernel (base/json_kernel_ns.h); the
// plain types above are shared by all of them.
inline namespace EM_JSON_KERNEL_NS {

namespace detail {
enum class MemberKey : uint8_t;
}  // namespace detail

class RequestParser {
  public:
    /// Allocates entry storage for batch_entries_max and scratch for escaped method names.
    explicit RequestParser(const Limits& limits);
    /// Same with default limits except batch_entries_max and body_bytes_max.
    RequestParser(size_t batch_entries_max, size_t body_bytes_max);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    /// Parses data[0, len) in place; capacity_bytes >= len + 64 readable bytes (simdjson padding).
    /// Whole-body failures (error_code_of): not JSON, empty, truncated or trailing bytes -> -32700;
    /// a scalar top level, an empty batch, more than batch_entries_max elements, too deep a
    /// nesting, or len > body_bytes_max -> -32600. Per-element problems are Entry errors.
    [[nodiscard]] Result<Envelope> parse(const char* data, size_t len, size_t capacity_bytes);

    /// After a successful parse: rewinds the document and returns the value of entry
    /// `entry_index`'s "params" member (not yet consumed), for decoders that walk it (e.g. the
    /// block-hash decoder for engine_newPayload). Valid until the next parse() or rewind.
    /// NO_SUCH_FIELD if that entry is not ok or has no params; INDEX_OUT_OF_BOUNDS if there was
    /// no successful parse or no such entry. Walking a batch element costs a skip over the
    /// elements before it. The Envelope's views stay valid (they point into the body).
    simdjson::simdjson_result<simdjson::ondemand::value> rewind_to_params(size_t entry_index = 0);

    const Limits& limits() const { return limits_; }

  private:
    struct Members;
    Result<void> parse_single(const char* data, size_t len);
    Result<void> parse_batch(const char* data, size_t len);
    Result<void> parse_scalar(const char* data, size_t len);
    bool parse_request(simdjson::ondemand::object& object, size_t depth, Entry& entry,
                       detail::Walker& w);
    bool parse_member(Members& m, simdjson::ondemand::field& field, size_t depth, Entry& entry,
                      detail::Walker& w);
    bool parse_known(detail::MemberKey kind, Members& m, simdjson::ondemand::value& v, size_t depth,
                     Entry& entry, detail::Walker& w);
    void set_method(std::string_view content, Entry& entry);
    simdjson::ondemand::document& doc() { return document_.doc(); }

    Limits limits_;
    detail::Document document_;
    std::unique_ptr<Entry[]> entries_;
    std::unique_ptr<std::string_view[]> unknown_keys_;  // request_members_max, per object
    Arena method_scratch_;
    size_t entry_count_ = 0;
    bool batch_ = false;
    bool parsed_ = false;
};

/// Maps a whole-body parse failure to its JSON-RPC code: Errc::invalid_input -> -32700,
/// too_large / unsupported -> -32600, anything else -> -32603.
int error_code_of(const Error& error);

}  // namespace EM_JSON_KERNEL_NS
}  // namespace em::jsonrpc

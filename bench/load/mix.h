// Request mix: the kinds of JSON-RPC call enginemux-load sends and their weights, each pre-built
// once as compact JSON bytes with a fixed-width id slot that is patched per call.
//
// Built on the main thread at start-up (allocates, reads files); afterwards immutable and read by
// every worker thread without locks. Mix file format (one kind per line, '#' starts a comment):
//   <weight> <method> [<params-json>]          e.g.  70 eth_blockNumber
//                                                     20 eth_getBalance ["0xab..",  "latest"]
//   <weight> @<path>[#<index>|#<first>-<last>] a whole request from a file (path relative to the
//                                               mix file): a JSON-RPC request object, an array of
//                                               them (pick by index; a range adds one kind per
//                                               element, sharing the weight), an object with a
//                                               "request" member (besu test cases, captures), or
//                                               an execution-apis .io file (">> " lines).
// Weights are positive numbers (relative). Ids in files are replaced by ours.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace em::load {

/// Bytes of the id slot: "id": followed by this many bytes, a right-aligned decimal number
/// padded with leading spaces (valid JSON whitespace). 16 digits hold every id below 2^53.
inline constexpr size_t id_slot_bytes = 16;

/// Limits of mix loading.
struct MixLimits {
    static constexpr size_t kinds_max = 100'000;            ///< request kinds in one mix
    static constexpr size_t file_bytes_max = 256u << 20;    ///< one @file
    static constexpr size_t mix_file_bytes_max = 1u << 20;  ///< the mix file itself
    static constexpr size_t request_bytes_max = 32u << 20;  ///< one request's JSON
    /// Methods reported one by one (by_method); the 64th and later share "(other methods)".
    static constexpr size_t methods_max = 64;
};

/// One kind of call: compact JSON of a request object whose id is the slot at id_offset.
struct Kind {
    std::string name;      ///< the method (for the report)
    double weight = 0;     ///< relative weight (> 0)
    std::string body;      ///< {"jsonrpc":"2.0","id":<slot>,...} without insignificant whitespace
    size_t id_offset = 0;  ///< first byte of the id slot in body
    size_t method = 0;     ///< index of its method in Mix::methods() (set by the Mix)
    /// engine_newPayload* / engine_forkchoiceUpdated*: answers carry a payload status that the
    /// report counts (set by the Mix).
    bool payload_status = false;
};

/// Writes `id` right-aligned into the id_slot_bytes at slot (leading spaces). Any thread.
void patch_id(char* slot, uint64_t id);

class Mix {
  public:
    /// A one-kind mix: method with params (raw JSON array or object).
    [[nodiscard]] static Result<Mix> from_method(std::string_view method, std::string_view params);
    /// Reads a mix file; errors name the file and line ("mix.txt:3: ...").
    [[nodiscard]] static Result<Mix> from_file(const std::string& path);
    /// Parses mix text; `base_dir` resolves relative @paths; `name` prefixes errors.
    [[nodiscard]] static Result<Mix> from_text(std::string_view text, const std::string& base_dir,
                                               std::string_view name);

    const std::vector<Kind>& kinds() const { return kinds_; }
    /// Distinct method names in order of first appearance, at most MixLimits::methods_max
    /// (the last one "(other methods)" when there are more). Kind::method indexes this.
    const std::vector<std::string>& methods() const { return methods_; }
    /// The kind for a uniform random number r in [0, 1) (weighted). Any thread.
    size_t pick(double r) const;
    /// Largest body of any kind (to size buffers).
    size_t body_bytes_max() const { return body_bytes_max_; }

  private:
    Result<void> add(Kind kind);
    void finish();

    std::vector<Kind> kinds_;
    std::vector<std::string> methods_;
    std::vector<double> cumulative_;  ///< cumulative weight / total, last = 1
    size_t body_bytes_max_ = 0;
};

/// Turns one request object's JSON text into a Kind (validates it as a JSON-RPC request,
/// strips whitespace, replaces or inserts the id). `where` prefixes errors.
[[nodiscard]] Result<Kind> make_kind(std::string_view request_json, double weight,
                                     std::string_view where);

/// JSON text without insignificant whitespace (input must be valid JSON).
std::string minify_json(std::string_view json);

}  // namespace em::load

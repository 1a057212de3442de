// JSON kernels: the request parser (envelope walk and full JSON validation) and the newPayload
// decoder, both simdjson On-Demand code, compiled once per x86-64 level and picked at start-up by
// CPUID, as the Keccak kernels are.
//
// simdjson's stage 1 (the structural index) is already chosen at run time inside libsimdjson;
// On-Demand, which walks that index, is header code compiled into ours, so for the baseline x86-64
// build it is simdjson's `fallback`. Each kernel here is the same source (jsonrpc/walk.cpp,
// jsonrpc/request.cpp, eth/payload_decode.cpp, json_kernel_level.cpp) compiled as its own static
// library with its own -m flags, simdjson's matching implementation namespace and names of its own
// (base/json_kernel_ns.h), with -fno-weak so that none of its inline copies can stand in for the
// baseline ones. Results never differ between kernels (tests/engine/json_kernel_test.cpp,
// fuzz/engine/json_kernel_fuzz.cpp).
//
// Threads: the choice (json_kernel_selected) is process-wide and any thread may read it; a
// RequestKernel belongs to one thread (one per shard), like the RequestParser it wraps. A
// RequestKernel allocates its parser at construction; parsing and decoding allocate nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/arena.h"
#include "base/result.h"
#include "eth/payload.h"
#include "eth/payload_decode.h"
#include "jsonrpc/request.h"

namespace em::engine {

/// The levels, baseline first. simdjson's names: fallback (plain x86-64), westmere (SSE4.2 and
/// PCLMULQDQ, x86-64-v2), haswell (AVX2, BMI, LZCNT), icelake (AVX-512 with VBMI2).
enum class JsonKernel : uint8_t { fallback = 0, westmere = 1, haswell = 2, icelake = 3 };
inline constexpr size_t json_kernel_count = 4;
/// Every kernel, best first (the selection order).
inline constexpr std::array<JsonKernel, json_kernel_count> json_kernels_best_first = {
    JsonKernel::icelake, JsonKernel::haswell, JsonKernel::westmere, JsonKernel::fallback};

/// Environment variable that forces a kernel at start-up (tests, benchmarks, a suspected kernel
/// bug): one of the names below. Ignored, with a note from json_kernel_note(), when unknown or
/// not supported here.
inline constexpr const char* json_kernel_env = "ENGINEMUX_JSON_KERNEL";

/// "fallback", "westmere", "haswell" or "icelake".
const char* json_kernel_name(JsonKernel kernel);
/// The kernel named `name`, or false.
bool json_kernel_from_name(std::string_view name, JsonKernel* kernel);
/// True if the kernel was built (x86_64 with g++ or clang) and this CPU and OS can run it.
bool json_kernel_supported(JsonKernel kernel);
/// The kernel in use: ENGINEMUX_JSON_KERNEL if set and supported, else the best supported one
/// (chosen on first call).
JsonKernel json_kernel_selected();
/// Uses `kernel` from now on (must be supported; asserts). For tests and benchmarks, before any
/// RequestKernel is made with the default kernel.
void json_kernel_force(JsonKernel kernel);
/// Why ENGINEMUX_JSON_KERNEL was ignored, "forced by ENGINEMUX_JSON_KERNEL", or "" (for
/// `enginemux --version`).
const char* json_kernel_note();
/// The simdjson implementation whose On-Demand code the kernel runs (its name when the build is
/// right; the test checks). The kernel must be supported.
const char* json_kernel_simdjson_name(JsonKernel kernel);

/// One shard's JSON-RPC request parser plus newPayload decoder, in one kernel. The envelope views
/// point into the caller's body as with jsonrpc::RequestParser (same rules, same results).
class RequestKernel {
  public:
    virtual ~RequestKernel() = default;

    /// The kernel this object runs.
    virtual JsonKernel kernel() const = 0;
    /// jsonrpc::RequestParser::parse (capacity_bytes >= len + 64).
    [[nodiscard]] virtual Result<jsonrpc::Envelope> parse(const char* data, size_t len,
                                                          size_t capacity_bytes) = 0;
    /// After a successful parse: decodes entry `entry`'s params as engine_newPayloadV<version>
    /// (eth::decode_new_payload); params missing or not an array is invalid_input.
    [[nodiscard]] virtual Result<void> decode_new_payload(size_t entry, uint8_t version,
                                                          Arena& arena, eth::NewPayload& out,
                                                          const eth::DecodeOptions& options,
                                                          eth::DecodeCounters* counters) = 0;
    /// After a successful parse: the string params[index] of entry `entry` (unescaped; valid
    /// until the next parse) and the number of params. False when params is not an array, or
    /// params[index] is missing or not a string (*count is then unspecified).
    virtual bool param_string(size_t entry, size_t index, std::string_view* text,
                              size_t* count) = 0;
    /// After a successful parse: the string member `key` of the object params[index] (unescaped;
    /// valid until the next parse). False when any of that is missing or of another type.
    virtual bool param_member_string(size_t entry, size_t index, std::string_view key,
                                     std::string_view* text) = 0;
    /// After a successful parse: whether params[index] of entry `entry` is an object.
    virtual bool param_is_object(size_t entry, size_t index) = 0;
    /// After a successful parse: the boolean member `key` of the object params[index]. False
    /// when any of that is missing or of another type.
    virtual bool param_member_bool(size_t entry, size_t index, std::string_view key,
                                   bool* value) = 0;
};

/// A RequestKernel of `kernel` (must be supported; asserts) with the request parser's limits.
std::unique_ptr<RequestKernel> make_request_kernel(JsonKernel kernel,
                                                   const jsonrpc::Limits& limits);
/// The same with json_kernel_selected().
std::unique_ptr<RequestKernel> make_request_kernel(const jsonrpc::Limits& limits);

}  // namespace em::engine

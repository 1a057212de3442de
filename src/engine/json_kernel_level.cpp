// One level of the JSON kernels (see json_kernel.h): the RequestKernel over this build's
// jsonrpc::RequestParser and eth::decode_new_payload. Compiled once with the baseline flags (in
// em_engine, namespace k_baseline) and once per other level with that level's flags, beside its
// own copies of jsonrpc/walk.cpp, jsonrpc/request.cpp and eth/payload_decode.cpp.
#include <simdjson.h>

#include <memory>

#include "base/json_kernel_ns.h"
#include "engine/json_kernel.h"
#include "engine/json_kernel_internal.h"
#include "eth/payload_decode.h"
#include "jsonrpc/request.h"

namespace em::engine::EM_JSON_KERNEL_NS {

namespace {

namespace od = simdjson::ondemand;

class LevelKernel final : public RequestKernel {
  public:
    LevelKernel(JsonKernel kernel, const jsonrpc::Limits& limits)
        : kernel_(kernel), parser_(limits) {}

    JsonKernel kernel() const override { return kernel_; }

    Result<jsonrpc::Envelope> parse(const char* data, size_t len, size_t capacity_bytes) override {
        return parser_.parse(data, len, capacity_bytes);
    }

    Result<void> decode_new_payload(size_t entry, uint8_t version, Arena& arena,
                                    eth::NewPayload& out, const eth::DecodeOptions& options,
                                    eth::DecodeCounters* counters) override {
        auto params = parser_.rewind_to_params(entry);
        if (params.error()) return fail(Errc::invalid_input, "params: missing or not an array");
        return eth::decode_new_payload(params.value_unsafe(), version, arena, out, options,
                                       counters);
    }

    bool param_string(size_t entry, size_t index, std::string_view* text, size_t* count) override {
        od::array array;
        if (!params_array(entry, array)) return false;
        size_t n = 0;
        bool found = false;
        for (auto element : array) {
            if (n++ == index) found = element.get_string().get(*text) == simdjson::SUCCESS;
        }
        *count = n;
        return found;
    }

    bool param_member_string(size_t entry, size_t index, std::string_view key,
                             std::string_view* text) override {
        od::object object;
        return param_object(entry, index, object) &&
               object.find_field_unordered(key).get_string().get(*text) == simdjson::SUCCESS;
    }

    bool param_is_object(size_t entry, size_t index) override {
        od::object object;
        return param_object(entry, index, object);
    }

    bool param_member_bool(size_t entry, size_t index, std::string_view key, bool* value) override {
        od::object object;
        return param_object(entry, index, object) &&
               object.find_field_unordered(key).get_bool().get(*value) == simdjson::SUCCESS;
    }

  private:
    /// params[index] of entry `entry` as an object.
    bool param_object(size_t entry, size_t index, od::object& object) {
        od::array array;
        if (!params_array(entry, array)) return false;
        size_t n = 0;
        for (auto element : array) {
            if (n++ != index) continue;
            return element.get_object().get(object) == simdjson::SUCCESS;
        }
        return false;
    }

    bool params_array(size_t entry, od::array& array) {
        auto params = parser_.rewind_to_params(entry);
        if (params.error()) return false;
        return params.value_unsafe().get_array().get(array) == simdjson::SUCCESS;
    }

    JsonKernel kernel_;
    jsonrpc::RequestParser parser_;
};

}  // namespace

std::unique_ptr<RequestKernel> make_level_kernel(JsonKernel kernel, const jsonrpc::Limits& limits) {
    return std::make_unique<LevelKernel>(kernel, limits);
}

const char* level_simdjson_name() {
    return SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION);
}

}  // namespace em::engine::EM_JSON_KERNEL_NS

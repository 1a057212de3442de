// Fuzz target: every JSON kernel this CPU runs (engine/json_kernel.h) makes the same of each input:
// the same parse (error or envelope), the same answers to the pipeline's params questions and
// the same newPayload decode, field by field (tests/common/json_kernel_outcome.h). Aborts with the
// first differing line. With one kernel only (a CPU without SSE4.2) it still runs that kernel.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../../tests/common/json_kernel_outcome.h"
#include "../fuzz_check.h"
#include "engine/json_kernel.h"

namespace {

constexpr size_t input_bytes_max = 1 << 20;
constexpr size_t padding_bytes = 64;

struct State {
    std::vector<std::unique_ptr<em::engine::RequestKernel>> kernels;  // fallback first
    em::Arena arena{16 << 20};
    std::vector<char> body;

    State() {
        em::jsonrpc::Limits limits;
        limits.body_bytes_max = input_bytes_max;
        for (size_t i = em::engine::json_kernel_count; i-- > 0;) {
            em::engine::JsonKernel k = em::engine::json_kernels_best_first[i];
            if (em::engine::json_kernel_supported(k))
                kernels.push_back(em::engine::make_request_kernel(k, limits));
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > input_bytes_max) return 0;
    static State s;
    s.body.assign(size + padding_bytes, '\0');
    if (size) std::memcpy(s.body.data(), data, size);
    // Half the inputs decode with unknown fields rejected (the last byte picks), so both paths run.
    em::eth::DecodeOptions options;
    if (size && (data[size - 1] & 1)) options.unknown_fields = em::eth::UnknownFields::reject;
    std::string oracle = em::test::kernel_outcome(*s.kernels[0], s.body.data(), size, s.body.size(),
                                                  s.arena, options);
    for (size_t i = 1; i < s.kernels.size(); i++) {
        std::string got = em::test::kernel_outcome(*s.kernels[i], s.body.data(), size,
                                                   s.body.size(), s.arena, options);
        if (got != oracle) {
            std::fprintf(stderr, "kernel %s differs from %s: %s\n",
                         em::engine::json_kernel_name(s.kernels[i]->kernel()),
                         em::engine::json_kernel_name(s.kernels[0]->kernel()),
                         em::test::first_difference(oracle, got).c_str());
        }
        FUZZ_CHECK(got == oracle);
    }
    return 0;
}

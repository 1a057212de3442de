// JSON kernel dispatcher (see json_kernel.h): names, CPUID checks, the process-wide choice and
// the factory. Compiled with baseline flags only: it runs before the CPUID check and reaches a
// level's code only through make_level_kernel, after json_kernel_supported() said yes.
#include "engine/json_kernel.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "base/assert.h"
#include "base/cpu.h"
#include "base/kernel_choice.h"
#include "engine/json_kernel_internal.h"

namespace em::engine {

namespace {

// Which levels src/engine/meson.build built (it defines EM_JSON_KERNEL_<LEVEL>).
#if defined(EM_JSON_KERNEL_WESTMERE)
constexpr bool westmere_built = true;
#else
constexpr bool westmere_built = false;
#endif
#if defined(EM_JSON_KERNEL_HASWELL)
constexpr bool haswell_built = true;
#else
constexpr bool haswell_built = false;
#endif
#if defined(EM_JSON_KERNEL_ICELAKE)
constexpr bool icelake_built = true;
#else
constexpr bool icelake_built = false;
#endif

bool built(JsonKernel kernel) {
    switch (kernel) {
        case JsonKernel::fallback:
            return true;
        case JsonKernel::westmere:
            return westmere_built;
        case JsonKernel::haswell:
            return haswell_built;
        case JsonKernel::icelake:
            return icelake_built;
    }
    return false;
}

// What each level's -m flags (src/engine/meson.build) let the compiler use.
bool cpu_runs(JsonKernel kernel) {
    const CpuFeatures& f = cpu_features();
    bool westmere = f.sse42 && f.pclmulqdq && f.popcnt;
    bool haswell = westmere && f.avx2 && f.bmi1 && f.lzcnt;
    bool icelake = haswell && f.avx512f && f.avx512dq && f.avx512cd && f.avx512bw && f.avx512vl &&
                   f.avx512vbmi && f.avx512vbmi2;
    switch (kernel) {
        case JsonKernel::fallback:
            return true;
        case JsonKernel::westmere:
            return westmere;
        case JsonKernel::haswell:
            return haswell;
        case JsonKernel::icelake:
            return icelake;
    }
    return false;
}

KernelChoice<JsonKernel, json_kernel_count> g_json_kernel{json_kernel_supported,
                                                          json_kernels_best_first};
char g_note[160];
std::once_flag g_env_once;

// Applies ENGINEMUX_JSON_KERNEL once, before the first choice or force.
void apply_env() {
    std::call_once(g_env_once, [] {
        const char* name = std::getenv(json_kernel_env);
        if (!name || !*name) return;
        JsonKernel kernel;
        if (!json_kernel_from_name(name, &kernel)) {
            std::snprintf(g_note, sizeof g_note,
                          "%s=%.32s ignored: not one of fallback, westmere, haswell, icelake",
                          json_kernel_env, name);
        } else if (!json_kernel_supported(kernel)) {
            std::snprintf(g_note, sizeof g_note, "%s=%s ignored: %s", json_kernel_env,
                          json_kernel_name(kernel),
                          built(kernel) ? "this CPU cannot run it" : "not built");
        } else {
            std::snprintf(g_note, sizeof g_note, "forced by %s", json_kernel_env);
            g_json_kernel.force(kernel);
        }
    });
}

}  // namespace

const char* json_kernel_name(JsonKernel kernel) {
    switch (kernel) {
        case JsonKernel::fallback:
            return "fallback";
        case JsonKernel::westmere:
            return "westmere";
        case JsonKernel::haswell:
            return "haswell";
        case JsonKernel::icelake:
            return "icelake";
    }
    return "unknown";
}

bool json_kernel_from_name(std::string_view name, JsonKernel* kernel) {
    for (JsonKernel k : json_kernels_best_first) {
        if (name == json_kernel_name(k)) {
            *kernel = k;
            return true;
        }
    }
    return false;
}

bool json_kernel_supported(JsonKernel kernel) {
    return built(kernel) && cpu_runs(kernel);
}

JsonKernel json_kernel_selected() {
    apply_env();
    return g_json_kernel.selected();
}

void json_kernel_force(JsonKernel kernel) {
    apply_env();
    g_json_kernel.force(kernel);
}

const char* json_kernel_note() {
    apply_env();
    return g_note;
}

const char* json_kernel_simdjson_name(JsonKernel kernel) {
    EM_ASSERT(built(kernel));
    switch (kernel) {
        case JsonKernel::fallback:
            return k_baseline::level_simdjson_name();
#if defined(EM_JSON_KERNEL_WESTMERE)
        case JsonKernel::westmere:
            return k_westmere::level_simdjson_name();
#endif
#if defined(EM_JSON_KERNEL_HASWELL)
        case JsonKernel::haswell:
            return k_haswell::level_simdjson_name();
#endif
#if defined(EM_JSON_KERNEL_ICELAKE)
        case JsonKernel::icelake:
            return k_icelake::level_simdjson_name();
#endif
        default:
            return "unknown";
    }
}

std::unique_ptr<RequestKernel> make_request_kernel(JsonKernel kernel,
                                                   const jsonrpc::Limits& limits) {
    EM_ASSERT(json_kernel_supported(kernel));
    switch (kernel) {
        case JsonKernel::fallback:
            return k_baseline::make_level_kernel(kernel, limits);
#if defined(EM_JSON_KERNEL_WESTMERE)
        case JsonKernel::westmere:
            return k_westmere::make_level_kernel(kernel, limits);
#endif
#if defined(EM_JSON_KERNEL_HASWELL)
        case JsonKernel::haswell:
            return k_haswell::make_level_kernel(kernel, limits);
#endif
#if defined(EM_JSON_KERNEL_ICELAKE)
        case JsonKernel::icelake:
            return k_icelake::make_level_kernel(kernel, limits);
#endif
        default:
            break;
    }
    EM_ASSERT(false && "JSON kernel not built");
    return nullptr;
}

std::unique_ptr<RequestKernel> make_request_kernel(const jsonrpc::Limits& limits) {
    return make_request_kernel(json_kernel_selected(), limits);
}

}  // namespace em::engine

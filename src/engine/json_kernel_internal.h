// Internal to the JSON kernels (src/engine/json_kernel*.cpp, their tests and benchmarks): the
// entry points of each level's library, in the namespace base/json_kernel_ns.h gives that level.
//
// Any thread. Only call a level's functions after json_kernel_supported() said this CPU runs it:
// their code is compiled with that level's instruction set.
#pragma once

#include <memory>

#include "engine/json_kernel.h"

namespace em::engine {

// Each level defines, in json_kernel_level.cpp compiled with its flags:
//   make_level_kernel: a RequestKernel of that level's code, reporting `kernel` as its kind;
//   level_simdjson_name: the simdjson implementation its On-Demand code is ("fallback", ...).
#define EM_JSON_KERNEL_LEVEL_API(ns)                                                 \
    namespace ns {                                                                   \
    std::unique_ptr<RequestKernel> make_level_kernel(JsonKernel kernel,              \
                                                     const jsonrpc::Limits& limits); \
    const char* level_simdjson_name();                                               \
    }
EM_JSON_KERNEL_LEVEL_API(k_baseline)
EM_JSON_KERNEL_LEVEL_API(k_westmere)
EM_JSON_KERNEL_LEVEL_API(k_haswell)
EM_JSON_KERNEL_LEVEL_API(k_icelake)
#undef EM_JSON_KERNEL_LEVEL_API

}  // namespace em::engine

// EM_JSON_KERNEL_NS: the inline namespace that holds every class and function built on simdjson
// On-Demand which the JSON kernels compile once per x86-64 level (the walker, the request parser,
// the newPayload decoder; see engine/json_kernel.h and docs/ARCHITECTURE.md "JSON kernels").
//
// Any thread; a macro only. The baseline build leaves it at k_baseline, so the code keeps its
// plain names (em::jsonrpc::RequestParser is em::jsonrpc::k_baseline::RequestParser). Each
// kernel library compiles the same sources with -DEM_JSON_KERNEL_NS=k_<level>, its own -m flags
// and SIMDJSON_BUILTIN_IMPLEMENTATION=<level>: its copies get names of their own (no ODR clash
// with the baseline ones) and simdjson's On-Demand types are simdjson::<level>::ondemand there.
#pragma once

#ifndef EM_JSON_KERNEL_NS
#define EM_JSON_KERNEL_NS k_baseline
#endif

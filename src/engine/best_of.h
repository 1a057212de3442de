// getPayload best-of: which EL's built payload to relay to the CL.
//
// Any thread; pure function over caller-owned answers, no allocation (the caller's simdjson
// parser is reused). The proxy relays the chosen answer's result bytes unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <simdjson.h>

#include "base/result.h"

namespace em::engine {

/// One EL's getPayload result (the `result` JSON, >= 64 readable bytes after it).
struct BuiltPayloadAnswer {
    simdjson::padded_string_view result;
    /// True for the current primary (wins ties; getPayloadV1's only criterion).
    bool is_primary = false;
};

struct BestPayload {
    /// Index into the answers of the payload to relay.
    size_t index = 0;
    /// Answers skipped as malformed (a metric).
    uint32_t malformed = 0;
};

/// getPayloadV2+: the well-formed answer with the highest blockValue (compared exactly, 256
/// bits); ties go to the primary, else to the earliest answer (the caller lists nodes in its
/// preference order). getPayloadV1 (no blockValue): the primary's if well-formed, else the
/// earliest well-formed one. Well-formed: V1 a JSON object; V2+ an object with an object
/// `executionPayload` and a QUANTITY `blockValue`, each once. Errc::not_found when none is.
[[nodiscard]] Result<BestPayload> choose_best_payload(simdjson::ondemand::parser& parser,
                                                      std::span<const BuiltPayloadAnswer> answers,
                                                      uint8_t get_payload_version);

}  // namespace em::engine

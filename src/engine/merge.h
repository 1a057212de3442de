// Merging several ELs' answers into one: getClientVersionV1 (one flat array of every EL's
// entries) and exchangeCapabilities (the methods every voting EL supports).
//
// Any thread; pure functions over caller-owned answers (each the `result` JSON with >= 64
// readable bytes after it), writing a JSON fragment (the `result` value) into a ByteBuffer. No
// allocation beyond the buffer's own growth. A malformed answer is skipped as a whole and
// counted; the other ELs' answers still make the merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <simdjson.h>

#include "base/buffer.h"
#include "base/result.h"

namespace em::engine {

/// Most method names per exchangeCapabilities answer; a longer list is malformed.
inline constexpr size_t capabilities_max = 256;

struct MergeStats {
    /// Answers that went into the merge.
    uint32_t used = 0;
    /// Answers skipped as malformed (a metric).
    uint32_t malformed = 0;
};

/// getClientVersionV1: appends `[e1,e2,...]`, every well-formed answer's ClientVersionV1 objects
/// in answer order, copied byte for byte. Well-formed: an array of objects whose fields `code`,
/// `name`, `version`, `commit` are all present and strings (no other fields). Errc::not_found
/// when no answer is well-formed; Errc::too_large (out unchanged) past the buffer's bytes_max.
[[nodiscard]] Result<MergeStats> merge_client_versions(
    simdjson::ondemand::parser& parser, std::span<const simdjson::padded_string_view> answers,
    ByteBuffer& out);

/// exchangeCapabilities: appends a JSON array of the names present in every well-formed answer,
/// in the first well-formed answer's order, without duplicates and without
/// "engine_exchangeCapabilities" itself (the spec forbids listing it). Well-formed: an array of
/// at most capabilities_max strings without escapes or control characters. Errc::not_found when
/// no answer is well-formed; Errc::too_large (out unchanged) past the buffer's bytes_max.
[[nodiscard]] Result<MergeStats> intersect_capabilities(
    simdjson::ondemand::parser& parser, std::span<const simdjson::padded_string_view> answers,
    ByteBuffer& out);

}  // namespace em::engine

// Incremental UTF-8 validation (RFC 3629) for WebSocket text messages, whose bytes arrive in
// pieces split anywhere, a code point's bytes included: the validator carries the state of a
// sequence cut at the end of one piece into the next.
//
// Owned by one thread (one per connection's parser); a plain value, no allocation. Rejects what
// RFC 3629 forbids: overlong encodings (C0, C1, E0 80..9F, F0 80..8F), surrogates (ED A0..BF),
// code points above U+10FFFF (F4 90.., F5..FF), stray continuation bytes, and (at complete())
// a sequence cut off at the end.
#pragma once

#include <cstddef>
#include <cstdint>

namespace em::http {

class Utf8Validator {
  public:
    /// Validates the next piece; false once any byte so far is invalid (the state then stays
    /// failed until reset()). Runs 8 bytes at a time over ASCII.
    bool feed(const uint8_t* p, size_t n);
    /// True if everything fed so far is valid and no code point is cut off at the end.
    bool complete() const { return state_ == State::accept; }
    /// True once an invalid byte was seen.
    bool failed() const { return state_ == State::reject; }
    /// Ready for a new text.
    void reset() { state_ = State::accept; }

  private:
    // What the next byte must be: accept (a new code point or ASCII), one of the continuation
    // ranges, or reject (failed).
    enum class State : uint8_t {
        accept,
        cont1,     // 1 more 80..BF
        cont2,     // 2 more 80..BF
        cont3,     // 3 more 80..BF
        after_e0,  // A0..BF, then 1 more (no overlong 3-byte forms)
        after_ed,  // 80..9F, then 1 more (no surrogates)
        after_f0,  // 90..BF, then 2 more (no overlong 4-byte forms)
        after_f4,  // 80..8F, then 2 more (nothing above U+10FFFF)
        reject,
    };
    static State lead(uint8_t b);
    static State next(State s, uint8_t b);

    State state_ = State::accept;
};

/// True if [p, p+n) is a whole valid UTF-8 text.
bool utf8_valid(const uint8_t* p, size_t n);

}  // namespace em::http

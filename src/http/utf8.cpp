#include "http/utf8.h"

#include <bit>
#include <cstring>

namespace em::http {

static_assert(std::endian::native == std::endian::little, "the ASCII fast path reads words LE");

Utf8Validator::State Utf8Validator::lead(uint8_t b) {
    if (b < 0x80) return State::accept;
    if (b < 0xC2) return State::reject;  // a continuation byte, or C0/C1 (overlong 2-byte)
    if (b < 0xE0) return State::cont1;
    if (b == 0xE0) return State::after_e0;
    if (b == 0xED) return State::after_ed;
    if (b < 0xF0) return State::cont2;
    if (b == 0xF0) return State::after_f0;
    if (b < 0xF4) return State::cont3;
    if (b == 0xF4) return State::after_f4;
    return State::reject;  // F5..FF: above U+10FFFF or never valid
}

Utf8Validator::State Utf8Validator::next(State s, uint8_t b) {
    bool cont = (b & 0xC0) == 0x80;
    switch (s) {
        case State::accept:
            return lead(b);
        case State::cont1:
            return cont ? State::accept : State::reject;
        case State::cont2:
            return cont ? State::cont1 : State::reject;
        case State::cont3:
            return cont ? State::cont2 : State::reject;
        case State::after_e0:
            return b >= 0xA0 && b <= 0xBF ? State::cont1 : State::reject;
        case State::after_ed:
            return b >= 0x80 && b <= 0x9F ? State::cont1 : State::reject;
        case State::after_f0:
            return b >= 0x90 && b <= 0xBF ? State::cont2 : State::reject;
        case State::after_f4:
            return b >= 0x80 && b <= 0x8F ? State::cont2 : State::reject;
        case State::reject:
            return State::reject;
    }
    return State::reject;
}

bool Utf8Validator::feed(const uint8_t* p, size_t n) {
    State s = state_;
    size_t i = 0;
    while (i < n && s != State::reject) {
        if (s == State::accept) {
            // ASCII fast path: 8 bytes at a time while no high bit is set, then straight to the
            // first byte that has one (the lowest set bit is the first byte: little-endian).
            while (i + 8 <= n) {
                uint64_t w;
                std::memcpy(&w, p + i, 8);
                uint64_t high = w & 0x8080808080808080ull;
                if (high) {
                    i += static_cast<size_t>(std::countr_zero(high)) / 8;
                    break;
                }
                i += 8;
            }
            if (i == n) break;
        }
        s = next(s, p[i++]);
    }
    state_ = s;
    return s != State::reject;
}

bool utf8_valid(const uint8_t* p, size_t n) {
    Utf8Validator v;
    return v.feed(p, n) && v.complete();
}

}  // namespace em::http

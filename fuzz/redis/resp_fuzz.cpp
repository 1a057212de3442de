// Fuzz: the RESP2 reply reader reads whatever a Redis server (or anything listening where one
// should be) sends (redis/resp.h). Never crashes or reads out of bounds; a stream parsed whole
// and the same stream fed in pieces give the same replies, the same consumed counts and the
// same error; every reply it accepts is canonical: written back as RESP it is exactly the bytes
// it was read from (so the reader accepts one spelling of each reply, no more).
//
// Input: byte 0: bit 0 picks small limits (to reach every limit's error), bits 1..7 the piece
// size of the incremental feed (1..128 bytes); the rest is the stream, read reply by reply.
#include <cstdint>
#include <string>
#include <string_view>

#include "../fuzz_check.h"
#include "redis/resp.h"

using namespace em;
using namespace em::redis;

namespace {

void write_back(const Reply& r, std::string& out) {
    switch (r.kind()) {
        case Kind::simple:
            out += '+';
            out += r.str();
            out += "\r\n";
            break;
        case Kind::error:
            out += '-';
            out += r.str();
            out += "\r\n";
            break;
        case Kind::integer:
            out += ':';
            out += std::to_string(r.integer());
            out += "\r\n";
            break;
        case Kind::bulk:
            out += '$';
            out += std::to_string(r.str().size());
            out += "\r\n";
            out += r.str();
            out += "\r\n";
            break;
        case Kind::null_bulk:
            out += "$-1\r\n";
            break;
        case Kind::null_array:
            out += "*-1\r\n";
            break;
        case Kind::array:
            out += '*';
            out += std::to_string(r.size());
            out += "\r\n";
            for (size_t i = 0; i < r.size(); i++) write_back(r[i], out);
            break;
    }
}

struct Outcome {
    bool error = false;
    Errc code = Errc::ok;
    size_t consumed = 0;
    std::string canonical;  ///< the reply written back
};

/// The reply at the start of `input`, parsed from all of it at once.
Outcome whole(Reader& reader, std::string_view input, bool* complete) {
    Outcome o;
    reader.reset();
    auto r = reader.parse(input);
    *complete = r && *r;
    if (!r) {
        o.error = true;
        o.code = r.error().code();
        FUZZ_CHECK(!r.error().message().empty());
        return o;
    }
    if (*r) {
        o.consumed = reader.consumed();
        FUZZ_CHECK(o.consumed > 0 && o.consumed <= input.size());
        write_back(reader.reply(input), o.canonical);
    }
    return o;
}

/// The same, fed `piece` bytes more at a time (each call sees a fresh copy, as a buffer that
/// moved between two receives would).
Outcome in_pieces(Reader& reader, std::string_view input, size_t piece) {
    Outcome o;
    reader.reset();
    std::string copy;
    for (size_t n = piece < input.size() ? piece : input.size();; n += piece) {
        if (n > input.size()) n = input.size();
        copy.assign(input.substr(0, n));
        auto r = reader.parse(copy);
        if (!r) {
            o.error = true;
            o.code = r.error().code();
            return o;
        }
        if (*r) {
            o.consumed = reader.consumed();
            write_back(reader.reply(copy), o.canonical);
            return o;
        }
        if (n == input.size()) return o;  // needs more than there is
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    ReaderLimits limits;
    if (data[0] & 1) {
        limits.line_bytes_max = 16;
        limits.bulk_bytes_max = 32;
        limits.reply_bytes_max = 256;
        limits.elements_max = 8;
        limits.depth_max = 3;
    }
    size_t piece = 1 + (data[0] >> 1);
    std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
    Reader a(limits);
    Reader b(limits);
    for (int replies = 0; replies < 64 && !stream.empty(); replies++) {
        bool complete = false;
        Outcome all = whole(a, stream, &complete);
        Outcome pieces = in_pieces(b, stream, piece);
        FUZZ_CHECK(all.error == pieces.error);
        FUZZ_CHECK(all.code == pieces.code);
        FUZZ_CHECK(all.consumed == pieces.consumed);
        FUZZ_CHECK(all.canonical == pieces.canonical);
        if (!complete) break;
        FUZZ_CHECK(all.canonical == stream.substr(0, all.consumed));
        stream.remove_prefix(all.consumed);
    }
    return 0;
}

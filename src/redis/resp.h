// RESP2, the Redis wire protocol, without I/O: a writer of commands (arrays of bulk strings,
// appended to a ByteBuffer) and a strict, bounded, incremental reader of replies (simple
// string, error, integer, bulk string and null bulk, arrays nested and null). The client
// (redis/client.h) drives it on a socket; tests and the fuzzer drive it with spans.
//
// Why not hiredis (DESIGN.md asks for a reason): Debian 12 ships libhiredis 0.14.1, whose
// redisReader takes no limit on an array's element count or a bulk string's length from its
// caller (`maxelements` came with hiredis 1.0; a 13-byte `*2147483647\r\n` makes its default
// reply functions calloc a 16-GiB pointer array before one element arrives), copies every byte
// it is fed into a growing buffer of its own, allocates an object per reply element, and its
// errors name no offset. This reader is a few hundred lines, allocates only at construction,
// and every error names what was wrong and where.
//
// Threads: none of its own; a Reader belongs to its owner's thread. Ownership: a Reply views
// the bytes the caller passed to Reader::parse() and the Reader's node table: it is valid until
// either changes (the next parse() or reset(), or the caller's buffer moving).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

#include "base/buffer.h"
#include "base/result.h"

namespace em::redis {

/// Writes one command, `*N` and N bulk strings, to the end of a ByteBuffer. Arguments are
/// binary-safe. If the buffer refuses to grow (its bytes_max) the command is taken back whole:
/// the buffer ends where it ended before, and finish() says Errc::too_large.
class CommandWriter {
  public:
    /// Starts a command of exactly `args` arguments (at least 1: the command's name).
    CommandWriter(ByteBuffer& out, uint32_t args);
    /// One argument.
    CommandWriter& arg(std::string_view bytes);
    /// One argument made of pieces written one after another ("enginemux:" "rl:" key).
    CommandWriter& arg(std::initializer_list<std::string_view> pieces);
    /// One argument: the decimal text of v.
    CommandWriter& arg_u64(uint64_t v);
    /// Ends the command: asserts that `args` arguments were written; too_large if the buffer
    /// was full (the partial command is gone).
    Result<void> finish();

  private:
    ByteBuffer& out_;
    size_t start_;
    uint32_t args_;
    uint32_t written_ = 0;
    bool ok_ = true;
};

/// The command `args` (name first) appended to out; too_large (and nothing appended) if it does
/// not fit.
Result<void> write_command(ByteBuffer& out, std::span<const std::string_view> args);

/// What a reply (or an element of an array reply) is.
enum class Kind : uint8_t {
    simple,      ///< +OK
    error,       ///< -ERR message
    integer,     ///< :42
    bulk,        ///< $3\r\nabc
    null_bulk,   ///< $-1 (GET of a missing key)
    array,       ///< *2 ... (elements follow)
    null_array,  ///< *-1
};

/// Name of a Kind ("bulk").
const char* kind_name(Kind kind);

/// One parsed element: offsets are from the reply's first byte, so the node table stays valid
/// when the caller's buffer moves between two parse() calls.
struct ReplyNode {
    Kind kind = Kind::null_bulk;
    uint32_t end = 0;     ///< index one past this element's last descendant (its own index + 1
                          ///< for all but a non-empty array)
    uint32_t count = 0;   ///< array: elements
    uint32_t offset = 0;  ///< simple, error, bulk: where the bytes start
    uint32_t length = 0;  ///< simple, error, bulk: how many
    int64_t integer = 0;  ///< integer: the value
};

/// A view of a complete reply or one of its elements (see the file comment for lifetime).
class Reply {
  public:
    Reply() = default;
    Reply(const ReplyNode* nodes, uint32_t index, const char* base)
        : nodes_(nodes), index_(index), base_(base) {}

    Kind kind() const { return node().kind; }
    bool is_null() const { return kind() == Kind::null_bulk || kind() == Kind::null_array; }
    bool is_error() const { return kind() == Kind::error; }
    /// The bytes of a simple string, error or bulk string ("" for the other kinds).
    std::string_view str() const;
    /// The value of an integer (0 for the other kinds).
    int64_t integer() const { return node().integer; }
    /// Elements of an array (0 for the other kinds).
    size_t size() const { return kind() == Kind::array ? node().count : 0; }
    /// Element i of an array (asserts i < size()); O(i).
    Reply operator[](size_t i) const;

  private:
    const ReplyNode& node() const { return nodes_[index_]; }
    const ReplyNode* nodes_ = nullptr;
    uint32_t index_ = 0;
    const char* base_ = nullptr;
};

/// The reader's maximums, each a named limit (a peer that exceeds one is an error, never a
/// bigger allocation).
struct ReaderLimits {
    size_t line_bytes_max = 4096;              ///< a simple string, error, integer or header line
    size_t bulk_bytes_max = 16u << 20;         ///< one bulk string
    size_t reply_bytes_max = 32u << 20;        ///< one whole reply, all its elements included
    uint32_t elements_max = 1024;              ///< elements of one reply, nested ones included
    uint32_t depth_max = 8;                    ///< arrays inside arrays (a flat array is depth 1)
    static constexpr uint32_t depth_cap = 64;  ///< the most depth_max may be
};

/// Parses one reply at a time, incrementally: parse() is given the bytes from the reply's first
/// byte on, as many as have arrived; it resumes where the previous call stopped (the bytes it
/// already read must be passed again, unchanged, possibly at another address).
class Reader {
  public:
    explicit Reader(const ReaderLimits& limits = {});

    /// true: a reply is complete (reply(), consumed()); false: the input ends inside it (call
    /// again with more). An error (Errc::invalid_input for malformed bytes, Errc::too_large for
    /// a limit) names what was wrong and its offset; the reader must then be reset() and the
    /// stream abandoned (a RESP stream cannot be resynchronised).
    Result<bool> parse(std::string_view input);
    /// The complete reply, viewing `input` (the same bytes parse() completed on).
    Reply reply(std::string_view input) const;
    /// Bytes of the complete reply (the next reply starts there).
    size_t consumed() const { return pos_; }
    /// Forgets the current reply (complete or not) for the next one.
    void reset();
    const ReaderLimits& limits() const { return limits_; }

  private:
    struct Open {
        uint32_t node;
        uint32_t remaining;
    };
    struct Line {
        size_t begin;  ///< first byte after the type byte
        size_t end;    ///< the CR
    };
    /// The line starting after the type byte at pos_: its bounds, or nullopt-like false when the
    /// input ends first.
    Result<bool> find_line(std::string_view input, Line& line) const;
    Result<bool> parse_element(std::string_view input);
    Result<bool> parse_bulk(std::string_view input, const Line& line);
    Result<void> open_array(const Line& line, int64_t count);
    Result<void> add_node(const ReplyNode& node);
    void element_done();

    ReaderLimits limits_;
    std::unique_ptr<ReplyNode[]> nodes_;
    uint32_t node_count_ = 0;
    Open open_[ReaderLimits::depth_cap] = {};
    uint32_t depth_ = 0;
    size_t pos_ = 0;
    bool complete_ = false;
};

}  // namespace em::redis

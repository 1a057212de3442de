#include "redis/resp.h"

#include <charconv>
#include <cstdio>

#include "base/assert.h"

namespace em::redis {

// ---- writer ----

CommandWriter::CommandWriter(ByteBuffer& out, uint32_t args)
    : out_(out), start_(out.size()), args_(args) {
    EM_ASSERT(args >= 1);
    ok_ = out_.push_back('*') && out_.append_u64(args) && out_.append("\r\n");
}

CommandWriter& CommandWriter::arg(std::string_view bytes) {
    return arg({bytes});
}

CommandWriter& CommandWriter::arg(std::initializer_list<std::string_view> pieces) {
    written_++;
    if (!ok_) return *this;
    size_t bytes = 0;
    for (std::string_view piece : pieces) bytes += piece.size();
    ok_ = out_.push_back('$') && out_.append_u64(bytes) && out_.append("\r\n");
    for (std::string_view piece : pieces) ok_ = ok_ && out_.append(piece);
    ok_ = ok_ && out_.append("\r\n");
    return *this;
}

CommandWriter& CommandWriter::arg_u64(uint64_t v) {
    char text[20];
    auto [end, ec] = std::to_chars(text, text + sizeof text, v);
    (void)ec;  // 20 digits hold every uint64_t
    return arg(std::string_view(text, static_cast<size_t>(end - text)));
}

Result<void> CommandWriter::finish() {
    EM_ASSERT(written_ == args_);
    if (!ok_) {
        out_.resize(start_);  // take the partial command back
        return failf(Errc::too_large, "redis command does not fit in %zu bytes", out_.bytes_max());
    }
    return {};
}

Result<void> write_command(ByteBuffer& out, std::span<const std::string_view> args) {
    CommandWriter writer(out, static_cast<uint32_t>(args.size()));
    for (std::string_view a : args) writer.arg(a);
    return writer.finish();
}

// ---- reply views ----

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::simple:
            return "simple string";
        case Kind::error:
            return "error";
        case Kind::integer:
            return "integer";
        case Kind::bulk:
            return "bulk string";
        case Kind::null_bulk:
            return "null bulk string";
        case Kind::array:
            return "array";
        case Kind::null_array:
            return "null array";
    }
    return "?";
}

std::string_view Reply::str() const {
    const ReplyNode& n = node();
    if (n.kind != Kind::simple && n.kind != Kind::error && n.kind != Kind::bulk) return {};
    return {base_ + n.offset, n.length};
}

Reply Reply::operator[](size_t i) const {
    EM_ASSERT(i < size());
    uint32_t child = index_ + 1;
    for (size_t k = 0; k < i; k++) child = nodes_[child].end;
    return {nodes_, child, base_};
}

// ---- reader ----

namespace {

/// Why `text` is not a strict RESP integer ("-?(0|[1-9][0-9]*)", no "-0", within int64), or
/// nullptr when it is one (then *out holds it).
const char* parse_integer(std::string_view text, int64_t* out) {
    if (text.empty()) return "empty number";
    bool negative = text[0] == '-';
    std::string_view digits = negative ? text.substr(1) : text;
    if (digits.empty()) return "a minus sign without digits";
    for (char c : digits)
        if (c < '0' || c > '9') return "a character that is not a digit";
    if (digits.size() > 1 && digits[0] == '0') return "a leading zero";
    if (negative && digits == "0") return "minus zero";
    uint64_t magnitude = 0;
    for (char c : digits) {
        auto digit = static_cast<uint64_t>(c - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) return "a number out of range";
        magnitude = magnitude * 10 + digit;
    }
    uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
    if (magnitude > limit) return "a number out of range";
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return nullptr;
}

bool is_resp3_type(char c) {
    switch (c) {
        case '_':
        case ',':
        case '#':
        case '!':
        case '=':
        case '(':
        case '%':
        case '~':
        case '|':
        case '>':
            return true;
        default:
            return false;
    }
}

Unexpected type_error(char c, size_t offset) {
    if (is_resp3_type(c))
        return failf(Errc::invalid_input, "RESP3 type byte '%c' at offset %zu (we speak RESP2)", c,
                     offset);
    if (c > ' ' && c < 0x7f)
        return failf(Errc::invalid_input, "unknown reply type byte '%c' at offset %zu", c, offset);
    return failf(Errc::invalid_input, "unknown reply type byte 0x%02x at offset %zu",
                 static_cast<unsigned>(static_cast<unsigned char>(c)), offset);
}

}  // namespace

Reader::Reader(const ReaderLimits& limits)
    : limits_(limits), nodes_(new ReplyNode[limits.elements_max + size_t{1}]) {
    EM_ASSERT(limits_.depth_max >= 1 && limits_.depth_max <= ReaderLimits::depth_cap);
    EM_ASSERT(limits_.elements_max >= 1 && limits_.elements_max < UINT32_MAX);
    // Offsets are 32-bit: a reply (and so every offset in it) stays under 4 GiB.
    EM_ASSERT(limits_.reply_bytes_max <= UINT32_MAX - 2);
    EM_ASSERT(limits_.line_bytes_max >= 1);
}

void Reader::reset() {
    node_count_ = 0;
    depth_ = 0;
    pos_ = 0;
    complete_ = false;
}

Reply Reader::reply(std::string_view input) const {
    EM_ASSERT(complete_);
    return {nodes_.get(), 0, input.data()};
}

Result<bool> Reader::parse(std::string_view input) {
    while (!complete_) {
        bool progressed = EM_TRY(parse_element(input));
        if (!progressed) return false;
    }
    return true;
}

Result<bool> Reader::find_line(std::string_view input, Line& line) const {
    size_t begin = pos_ + 1;
    // A line of line_bytes_max bytes has its CR at begin + line_bytes_max: look that far.
    size_t window_end = begin + limits_.line_bytes_max + 1;
    size_t scan_end = input.size() < window_end ? input.size() : window_end;
    for (size_t i = begin; i < scan_end; i++) {
        char c = input[i];
        if (c == '\n') return failf(Errc::invalid_input, "LF without CR at offset %zu", i);
        if (c != '\r') continue;
        if (i + 1 >= input.size()) return false;
        if (input[i + 1] != '\n')
            return failf(Errc::invalid_input, "CR not followed by LF at offset %zu", i);
        if (i + 2 > limits_.reply_bytes_max)
            return failf(Errc::too_large, "reply longer than %zu bytes", limits_.reply_bytes_max);
        line = {begin, i};
        return true;
    }
    if (input.size() >= window_end)
        return failf(Errc::too_large, "line at offset %zu longer than %zu bytes", pos_,
                     limits_.line_bytes_max);
    return false;
}

Result<void> Reader::add_node(const ReplyNode& node) {
    if (node_count_ > limits_.elements_max)
        return failf(Errc::too_large, "reply of more than %u elements", limits_.elements_max);
    ReplyNode& n = nodes_[node_count_];
    n = node;
    n.end = node_count_ + 1;
    node_count_++;
    return {};
}

void Reader::element_done() {
    while (depth_ > 0) {
        Open& top = open_[depth_ - 1];
        if (--top.remaining > 0) return;
        nodes_[top.node].end = node_count_;
        depth_--;
    }
    complete_ = true;
}

Result<bool> Reader::parse_element(std::string_view input) {
    if (pos_ >= input.size()) return false;
    char type = input[pos_];
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*')
        return type_error(type, pos_);
    Line line{};
    if (!EM_TRY(find_line(input, line))) return false;
    std::string_view text = input.substr(line.begin, line.end - line.begin);
    if (type == '$') return parse_bulk(input, line);
    if (type == '+' || type == '-') {
        ReplyNode node;
        node.kind = type == '+' ? Kind::simple : Kind::error;
        node.offset = static_cast<uint32_t>(line.begin);
        node.length = static_cast<uint32_t>(text.size());
        EM_TRY_VOID(add_node(node));
    } else {
        int64_t value = 0;
        if (const char* why = parse_integer(text, &value))
            return failf(Errc::invalid_input, "%s %s at offset %zu",
                         type == ':' ? "integer reply:" : "array length:", why, line.begin);
        if (type == ':') {
            ReplyNode node;
            node.kind = Kind::integer;
            node.integer = value;
            EM_TRY_VOID(add_node(node));
        } else {
            pos_ = line.end + 2;
            EM_TRY_VOID(open_array(line, value));
            return true;
        }
    }
    pos_ = line.end + 2;
    element_done();
    return true;
}

Result<void> Reader::open_array(const Line& line, int64_t count) {
    if (count < -1)
        return failf(Errc::invalid_input, "array length %lld at offset %zu",
                     static_cast<long long>(count), line.begin);
    ReplyNode node;
    if (count == -1) {
        node.kind = Kind::null_array;
        EM_TRY_VOID(add_node(node));
        element_done();
        return {};
    }
    if (depth_ == limits_.depth_max)
        return failf(Errc::too_large, "arrays nested deeper than %u at offset %zu",
                     limits_.depth_max, line.begin);
    // The node table holds the root plus elements_max elements; refuse before reading them.
    if (static_cast<uint64_t>(count) + node_count_ + 1 > uint64_t{limits_.elements_max} + 1)
        return failf(Errc::too_large, "array of %lld elements at offset %zu: more than %u",
                     static_cast<long long>(count), line.begin, limits_.elements_max);
    node.kind = Kind::array;
    node.count = static_cast<uint32_t>(count);
    uint32_t index = node_count_;
    EM_TRY_VOID(add_node(node));
    if (count == 0) {
        element_done();
        return {};
    }
    open_[depth_++] = {index, static_cast<uint32_t>(count)};
    return {};
}

Result<bool> Reader::parse_bulk(std::string_view input, const Line& line) {
    std::string_view text = input.substr(line.begin, line.end - line.begin);
    ReplyNode node;
    if (text == "-1") {
        node.kind = Kind::null_bulk;
        EM_TRY_VOID(add_node(node));
        pos_ = line.end + 2;
        element_done();
        return true;
    }
    int64_t length = 0;
    if (const char* why = parse_integer(text, &length))
        return failf(Errc::invalid_input, "bulk string length: %s at offset %zu", why, line.begin);
    if (length < 0)
        return failf(Errc::invalid_input, "bulk string length %lld at offset %zu",
                     static_cast<long long>(length), line.begin);
    if (static_cast<uint64_t>(length) > limits_.bulk_bytes_max)
        return failf(Errc::too_large, "bulk string of %lld bytes at offset %zu: more than %zu",
                     static_cast<long long>(length), line.begin, limits_.bulk_bytes_max);
    size_t data = line.end + 2;
    size_t end = data + static_cast<size_t>(length);  // where its CRLF must be
    if (end + 2 > limits_.reply_bytes_max)
        return failf(Errc::too_large, "reply longer than %zu bytes", limits_.reply_bytes_max);
    if (input.size() < end + 2) return false;
    if (input[end] != '\r' || input[end + 1] != '\n')
        return failf(Errc::invalid_input, "bulk string at offset %zu not followed by CRLF", data);
    node.kind = Kind::bulk;
    node.offset = static_cast<uint32_t>(data);
    node.length = static_cast<uint32_t>(length);
    EM_TRY_VOID(add_node(node));
    pos_ = end + 2;
    element_done();
    return true;
}

}  // namespace em::redis

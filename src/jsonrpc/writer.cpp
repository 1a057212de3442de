// JSON-RPC writers (see writer.h).
#include "jsonrpc/writer.h"

#include <cstdint>

namespace em::jsonrpc {

namespace {

constexpr std::string_view null_text = "null";
constexpr char hex_digits[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0 if invalid
// (RFC 3629 table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
    unsigned char c = p[0];
    size_t left = static_cast<size_t>(end - p);
    auto cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(p[1]) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || !cont(p[1]) || !cont(p[2])) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;   // overlong
        if (c == 0xED && p[1] >= 0xA0) return 0;  // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || !cont(p[1]) || !cont(p[2]) || !cont(p[3])) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;   // overlong
        if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

bool write_escape(ByteBuffer& out, unsigned char c) {
    switch (c) {
        case '"':
            return out.append("\\\"");
        case '\\':
            return out.append("\\\\");
        case '\b':
            return out.append("\\b");
        case '\f':
            return out.append("\\f");
        case '\n':
            return out.append("\\n");
        case '\r':
            return out.append("\\r");
        case '\t':
            return out.append("\\t");
        default:
            break;
    }
    if (c >= 0x80) return out.append("\\ufffd");
    char u[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 15]};
    return out.append(u, sizeof u);
}

bool write_id(ByteBuffer& out, std::string_view id) {
    return out.append(id.empty() ? null_text : id);
}

}  // namespace

bool write_json_string(ByteBuffer& out, std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    const auto* run = p;
    bool ok = out.push_back('"');
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = utf8_sequence_length(p, end);
            if (n) {
                p += n;
                continue;
            }
        }
        ok = ok && out.append(run, static_cast<size_t>(p - run)) && write_escape(out, c);
        run = ++p;
    }
    return ok && out.append(run, static_cast<size_t>(end - run)) && out.push_back('"');
}

bool id_needs_replacing(std::string_view id) {
    if (id.empty() || id[0] == '"' || id == "null") return false;
    if (id.size() > 15 || (id[0] == '0' && id.size() > 1)) return true;
    for (char c : id)
        if (c < '0' || c > '9') return true;
    return false;
}

bool write_with_id(ByteBuffer& out, std::string_view request, std::string_view id,
                   std::string_view with) {
    if (id.empty() || id.data() < request.data() ||
        id.data() + id.size() > request.data() + request.size())
        return false;
    size_t before = static_cast<size_t>(id.data() - request.data());
    size_t mark = out.size();
    bool ok = out.append(request.substr(0, before)) && out.append(with) &&
              out.append(request.substr(before + id.size()));
    if (!ok) out.resize(mark);
    return ok;
}

bool write_result(ByteBuffer& out, std::string_view id, std::string_view result_json) {
    return out.append(R"({"jsonrpc":"2.0","id":)") && write_id(out, id) &&
           out.append(R"(,"result":)") && out.append(result_json) && out.push_back('}');
}

bool write_error(ByteBuffer& out, std::string_view id, int code, std::string_view message,
                 std::string_view data_json) {
    bool ok = out.append(R"({"jsonrpc":"2.0","id":)") && write_id(out, id) &&
              out.append(R"(,"error":{"code":)") && out.append_i64(code) &&
              out.append(R"(,"message":)") && write_json_string(out, message);
    if (ok && !data_json.empty()) ok = out.append(R"(,"data":)") && out.append(data_json);
    return ok && out.append("}}");
}

bool write_error_object(ByteBuffer& out, std::string_view id, std::string_view error_json) {
    return out.append(R"({"jsonrpc":"2.0","id":)") && write_id(out, id) &&
           out.append(R"(,"error":)") && out.append(error_json) && out.push_back('}');
}

bool begin_batch(ByteBuffer& out) {
    return out.push_back('[');
}
bool batch_separator(ByteBuffer& out) {
    return out.push_back(',');
}
bool end_batch(ByteBuffer& out) {
    return out.push_back(']');
}

}  // namespace em::jsonrpc

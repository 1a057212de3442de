#include "admin/exposition.h"

#include <cstdarg>
#include <cstdio>

#include <cstring>

namespace em::admin {

void appendf(ByteBuffer& out, const char* format, ...) {
    va_list args;
    va_start(args, format);
    va_list again;
    va_copy(again, args);
    char line[256];  // most lines fit: one pass
    int n = std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    if (n > 0 && static_cast<size_t>(n) < sizeof line) {
        out.append(line, static_cast<size_t>(n));
    } else if (n > 0) {
        char* at = out.prepare(static_cast<size_t>(n) + 1);  // vsnprintf writes the NUL too
        if (at) {
            std::vsnprintf(at, static_cast<size_t>(n) + 1, format, again);
            out.commit(static_cast<size_t>(n));
        }
    }
    va_end(again);
}

size_t escaped_label_value_bytes(std::string_view value) {
    size_t n = value.size();
    for (char c : value) n += c == '\\' || c == '"' || c == '\n';
    return n;
}

LabelSet& LabelSet::add(std::string_view name, std::string_view value) {
    size_t need = (size_ ? 1 : 0) + name.size() + 2 + escaped_label_value_bytes(value) + 1;
    if (need > bytes_max - size_) {
        ok_ = false;
        return *this;
    }
    char* p = text_ + size_;
    if (size_) *p++ = ',';
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = '=';
    *p++ = '"';
    for (char c : value) {
        if (c == '\\' || c == '"' || c == '\n') {
            *p++ = '\\';
            *p++ = c == '\n' ? 'n' : c;
        } else {
            *p++ = c;
        }
    }
    *p++ = '"';
    size_ = static_cast<size_t>(p - text_);
    return *this;
}

}  // namespace em::admin

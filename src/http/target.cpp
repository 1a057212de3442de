#include "http/target.h"

#include "base/hex.h"

namespace em::http {

Result<std::string_view> percent_decode(std::string_view segment, std::span<char> out) {
    size_t n = 0;
    for (size_t i = 0; i < segment.size(); i++) {
        if (n == out.size())
            return failf(Errc::too_large, "path segment longer than %zu bytes", out.size());
        char c = segment[i];
        if (c != '%') {
            out[n++] = c;
            continue;
        }
        int high = i + 1 < segment.size() ? hex_digit_value(segment[i + 1]) : -1;
        int low = i + 2 < segment.size() ? hex_digit_value(segment[i + 2]) : -1;
        if (high < 0 || low < 0)
            return failf(Errc::invalid_input,
                         "bad percent escape at offset %zu of the path segment (want %%XX, two "
                         "hex digits)",
                         i);
        out[n++] = static_cast<char>(high * 16 + low);
        i += 2;
    }
    return std::string_view(out.data(), n);
}

}  // namespace em::http

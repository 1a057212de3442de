#include "base/name.h"

namespace em {

Result<void> check_name(std::string_view name) {
    if (name.empty() || name.size() > name_chars_max)
        return failf(Errc::invalid_input, "a name must have 1..%zu characters (has %zu)",
                     name_chars_max, name.size());
    for (size_t i = 0; i < name.size(); i++) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (name_char_allowed(name[i])) continue;
        if (c > 0x20 && c < 0x7f)
            return failf(
                Errc::invalid_input,
                "character '%c' at offset %zu is not allowed in a name (use A-Z a-z 0-9 . _ -)", c,
                i);
        return failf(
            Errc::invalid_input,
            "character 0x%02x at offset %zu is not allowed in a name (use A-Z a-z 0-9 . _ -)", c,
            i);
    }
    return {};
}

}  // namespace em

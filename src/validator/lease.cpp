#include "validator/lease.h"

namespace em::validator {

namespace {
constexpr const char* role_names[] = {"init",     "passive", "acquiring", "preparing",
                                      "starting", "active",  "fencing",   "releasing"};
}

const char* role_name(Role role) {
    return role_names[static_cast<int>(role)];
}

Result<Role> parse_role(std::string_view text) {
    for (int i = 0; i < 8; i++) {
        if (text == role_names[i]) return static_cast<Role>(i);
    }
    return failf(Errc::invalid_input, "unknown role '%.*s'",
                 static_cast<int>(text.size() > 20 ? 20 : text.size()), text.data());
}

bool outranks(const PeerStatus& a, std::string_view a_name, const PeerStatus& b,
              std::string_view b_name) {
    if (a.promote != b.promote) return a.promote;
    if (a.preferred != b.preferred) return a.preferred;
    return a_name < b_name;
}

}  // namespace em::validator

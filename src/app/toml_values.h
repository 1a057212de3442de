// Typed reads of TOML values for the config loaders (app/config.cpp, app/builder_config.cpp):
// each checks the type and range and, on error, names the key ("[limits] body_bytes_max ...").
//
// Threads: any (pure). Start-up and reload only: these allocate.
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <toml++/toml.h>

#include "base/result.h"

namespace em::app {

/// A number in lo..hi into `out` (an integer when T is one); errors name `key`.
template <typename T>
Result<void> toml_number(const toml::node& node, std::string_view key, T& out, double lo,
                         double hi) {
    double v;
    if (auto i = node.value<int64_t>(); i && node.is_integer())
        v = static_cast<double>(*i);
    else if (auto d = node.value<double>(); d && node.is_floating_point())
        v = *d;
    else
        return failf(Errc::invalid_input, "%.*s: expected a number", static_cast<int>(key.size()),
                     key.data());
    if (std::isnan(v) || v < lo || v > hi)
        return failf(Errc::invalid_input, "%.*s: %.15g is outside %.15g..%.15g",
                     static_cast<int>(key.size()), key.data(), v, lo, hi);
    if constexpr (std::is_integral_v<T>) {
        if (!node.is_integer())
            return failf(Errc::invalid_input, "%.*s: expected an integer",
                         static_cast<int>(key.size()), key.data());
    }
    out = static_cast<T>(v);
    return {};
}

/// A string into `out`; errors name `key`.
Result<void> toml_string(const toml::node& node, std::string_view key, std::string& out);
/// true or false into `out`; errors name `key`.
Result<void> toml_bool(const toml::node& node, std::string_view key, bool& out);
/// An array of strings into `out` (replaced); errors name `key[i]`.
Result<void> toml_strings(const toml::node& node, std::string_view key,
                          std::vector<std::string>& out);
/// The error for a key a table does not have: "unknown setting 'table.key'".
Result<void> unknown_key(std::string_view table, std::string_view key);

}  // namespace em::app

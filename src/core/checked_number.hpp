#pragma once
// Numbers read from JSON that came from outside, checked before use: the one place that says what a field may
// hold. nlohmann's get<int>() would wrap 99999999999, cut 3.99 to 3 and read true as 1; these refuse each
// with an error that names the field and its range.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/result.hpp"

namespace inferix {

/// A whole number within [min, max]: a JSON integer, or a number with no fraction (3.0). A boolean, a string,
/// a fraction (3.99) or a number out of range is kInvalidArgument naming `field` and the range.
Result<int64_t> CheckedInteger(const nlohmann::json& value, std::string_view field, int64_t min, int64_t max);

/// A finite number within [min, max] (an integer or a fraction); a boolean, a string or a number out of
/// range (an overflow such as 1e999 included) is kInvalidArgument naming `field` and the range.
Result<double> CheckedNumber(const nlohmann::json& value, std::string_view field, double min, double max);

}  // namespace inferix

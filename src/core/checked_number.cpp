#include "core/checked_number.hpp"

#include <cmath>
#include <sstream>

#include "core/text.hpp"

namespace inferix {
namespace {

// What was sent, short and printable, for the error message: a scalar as written, anything else by its type.
std::string Shown(const nlohmann::json& value) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) return "a number out of range";
  if (value.is_number() || value.is_boolean()) return SafeText(value.dump(), 40);
  if (value.is_string()) return "a string";
  if (value.is_null()) return "null";
  return std::string("an ") + value.type_name();
}

std::string Plain(double d) {
  if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
  std::ostringstream out;
  out << d;
  return out.str();
}

}  // namespace

Result<int64_t> CheckedInteger(const nlohmann::json& value, std::string_view field, int64_t min,
                               int64_t max) {
  auto refuse = [&] {
    return MakeError(Errc::kInvalidArgument, "field \"" + std::string(field) +
                                                 "\" must be a whole number from " + std::to_string(min) +
                                                 " to " + std::to_string(max) + ", not " + Shown(value));
  };
  if (value.is_number_unsigned()) {
    const auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX) || static_cast<int64_t>(u) > max ||
        static_cast<int64_t>(u) < min)
      return refuse();
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) {
    const auto i = value.get<int64_t>();
    if (i < min || i > max) return refuse();
    return i;
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    // Out of int64's range (or not finite) is refused before the cast, which would be undefined there.
    if (!std::isfinite(d) || std::floor(d) != d || d < -9.0e18 || d > 9.0e18) return refuse();
    const auto i = static_cast<int64_t>(d);
    if (i < min || i > max) return refuse();
    return i;
  }
  return refuse();
}

Result<double> CheckedNumber(const nlohmann::json& value, std::string_view field, double min, double max) {
  if (value.is_number() && std::isfinite(value.get<double>())) {
    const double d = value.get<double>();
    if (d >= min && d <= max) return d;
  }
  return MakeError(Errc::kInvalidArgument, "field \"" + std::string(field) + "\" must be a number from " +
                                               Plain(min) + " to " + Plain(max) + ", not " + Shown(value));
}

}  // namespace inferix

#include "model/duration.h"

#include <cctype>
#include <cstdint>

#include "model/flow.h"

namespace stockade {

std::optional<int64_t> parse_duration(std::string_view text) {
  if (text == "0") return 0;
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == i || digits - i > 9) return std::nullopt;
    int64_t n = 0;
    for (size_t k = i; k < digits; ++k) n = n * 10 + (text[k] - '0');
    size_t unit_end = digits;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end])))
      ++unit_end;
    const std::string_view unit = text.substr(digits, unit_end - digits);
    const int64_t scale = unit == "ms"  ? 1'000'000LL
                          : unit == "s" ? 1'000'000'000LL
                          : unit == "m" ? 60'000'000'000LL
                          : unit == "h" ? 3'600'000'000'000LL
                          : unit == "d" ? 86'400'000'000'000LL
                                        : 0;
    if (!scale || n > INT64_MAX / scale || total > INT64_MAX - n * scale) return std::nullopt;
    total += n * scale;
    i = unit_end;
  }
  return total;
}

Result<int64_t> parse_duration_setting(std::string_view text, std::string_view name) {
  if (auto d = parse_duration(text)) return *d;
  return make_error(ErrorCode::Usage,
                    std::string(name) +
                        ": expected a duration such as 24h, 1h30m, 90s or 7d, got \"" +
                        std::string(text) + "\"");
}

std::optional<int64_t> parse_time_or_age(std::string_view text, int64_t now_ns,
                                         std::string* error) {
  if (text.empty()) return 0;
  if (auto t = parse_rfc3339(text)) return *t == 0 ? 1 : *t;
  if (std::isdigit(static_cast<unsigned char>(text.front())) &&
      std::isalpha(static_cast<unsigned char>(text.back()))) {
    if (auto d = parse_duration(text)) return now_ns - *d > 0 ? now_ns - *d : 1;
    if (error)
      *error =
          "expected a duration such as 24h, 1h30m, 90s or 7d, got \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  if (error)
    *error = "invalid time \"" + std::string(text) +
             "\" (RFC 3339, e.g. 2026-01-01T00:00:00Z, or a duration before now, e.g. 24h)";
  return std::nullopt;
}

}  // namespace stockade

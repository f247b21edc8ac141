// Durations and times as users write them on the command line and in API queries: Go's
// time.ParseDuration units (as `hubble observe --since` takes them) plus d for days, and
// "RFC 3339 or a duration before now" for --since/--until and ?since=/&until=.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace stockade {

// "24h", "1h30m", "90s", "500ms", "7d" or "0" in nanoseconds; nullopt when malformed or too
// large for int64.
std::optional<int64_t> parse_duration(std::string_view text);

// A duration setting (--window, --min-window): parse_duration, or an error (ErrorCode::Usage)
// naming the setting and the units it takes.
Result<int64_t> parse_duration_setting(std::string_view text, std::string_view name);

// An RFC 3339 time, or a duration before `now_ns`; nanoseconds since the epoch, never 0 (0
// means "not given" to callers). Empty text gives 0. On malformed text, nullopt and `error`
// (when given) says what was expected.
std::optional<int64_t> parse_time_or_age(std::string_view text, int64_t now_ns,
                                         std::string* error = nullptr);

}  // namespace stockade

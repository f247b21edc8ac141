// The project's logger: one callback that receives each message with its level, and one
// threshold checked before a message is formatted. The command line prints to stderr; a server
// hands messages to its own log; a library function never writes to stderr itself.
#pragma once

#include <atomic>
#include <functional>
#include <string_view>

namespace stockade {

enum class LogLevel { Error = 0, Warning = 1, Info = 2, Debug = 3 };

std::string_view to_string(LogLevel l);

using LogSink = std::function<void(LogLevel, std::string_view)>;

// Replaces the callback (none at start: messages go nowhere) and the threshold (messages above
// it are neither formatted nor passed on). Set once at start-up, before other threads log.
void set_logger(LogSink sink, LogLevel threshold);

namespace log_detail {
extern std::atomic<int> threshold;  // -1 while no callback is set
void write(LogLevel level, std::string_view message);
}  // namespace log_detail

// Whether a message of `level` would reach the callback: ask before building an expensive one.
inline bool log_enabled(LogLevel level) {
  return static_cast<int>(level) <= log_detail::threshold.load(std::memory_order_relaxed);
}

}  // namespace stockade

// STOCKADE_LOG(LogLevel::Info, "read " + std::to_string(n) + " records"): the message
// expression is evaluated only when the level is enabled.
#define STOCKADE_LOG(level, ...)                                                               \
  do {                                                                                         \
    if (::stockade::log_enabled(level)) ::stockade::log_detail::write((level), (__VA_ARGS__)); \
  } while (0)

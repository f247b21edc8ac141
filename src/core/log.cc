#include "core/log.h"

#include <utility>

namespace stockade {

namespace {
LogSink& sink() {
  static LogSink s;
  return s;
}
}  // namespace

std::atomic<int> log_detail::threshold{-1};

std::string_view to_string(LogLevel l) {
  switch (l) {
    case LogLevel::Error:
      return "error";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Info:
      return "info";
    case LogLevel::Debug:
      return "debug";
  }
  return "debug";
}

void set_logger(LogSink s, LogLevel threshold) {
  bool on = static_cast<bool>(s);
  sink() = std::move(s);
  log_detail::threshold.store(on ? static_cast<int>(threshold) : -1, std::memory_order_relaxed);
}

void log_detail::write(LogLevel level, std::string_view message) {
  if (const LogSink& s = sink()) s(level, message);
}

}  // namespace stockade

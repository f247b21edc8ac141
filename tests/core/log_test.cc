// core/log: one callback, a threshold checked before the message is built; and the error codes
// of core/error.
#include "core/log.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace {

using stockade::LogLevel;

TEST(Log, ThresholdCheckedBeforeFormatting) {
  std::vector<std::pair<LogLevel, std::string>> got;
  stockade::set_logger([&](LogLevel l, std::string_view m) { got.emplace_back(l, std::string(m)); },
                       LogLevel::Warning);
  int built = 0;
  auto message = [&](const char* s) {
    ++built;
    return std::string(s);
  };
  STOCKADE_LOG(LogLevel::Error, message("e"));
  STOCKADE_LOG(LogLevel::Warning, message("w"));
  STOCKADE_LOG(LogLevel::Info, message("i"));  // above the threshold: never built
  STOCKADE_LOG(LogLevel::Debug, message("d"));
  EXPECT_EQ(built, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(LogLevel::Error, std::string("e")));
  EXPECT_EQ(got[1], std::make_pair(LogLevel::Warning, std::string("w")));
  EXPECT_TRUE(stockade::log_enabled(LogLevel::Warning));
  EXPECT_FALSE(stockade::log_enabled(LogLevel::Info));

  // Without a callback nothing is enabled, whatever the threshold.
  stockade::set_logger(nullptr, LogLevel::Debug);
  EXPECT_FALSE(stockade::log_enabled(LogLevel::Error));
  STOCKADE_LOG(LogLevel::Error, message("x"));
  EXPECT_EQ(built, 2);
}

TEST(ErrorCode, DefaultsAndStatus) {
  using stockade::ErrorCode;
  EXPECT_EQ(stockade::make_error("f", 3, "bad").value().code, ErrorCode::Input);
  auto e = stockade::make_error(ErrorCode::NotFound, "f", 0, "cannot open");
  EXPECT_EQ(e.value().code, ErrorCode::NotFound);
  EXPECT_EQ(e.value().str(), "f: cannot open");
  EXPECT_EQ(stockade::to_string(ErrorCode::Unavailable), "unavailable");
  EXPECT_EQ(stockade::to_string(ErrorCode::NotFound), "not-found");
  EXPECT_EQ(stockade::error_code_for_status(404), ErrorCode::NotFound);
  EXPECT_EQ(stockade::error_code_for_status(409), ErrorCode::Conflict);
  EXPECT_EQ(stockade::error_code_for_status(422), ErrorCode::Input);
  EXPECT_EQ(stockade::error_code_for_status(503), ErrorCode::Unavailable);
  EXPECT_EQ(stockade::error_code_for_status(403), ErrorCode::Forbidden);
  EXPECT_EQ(stockade::error_code_for_status(401), ErrorCode::Forbidden);
  EXPECT_EQ(stockade::to_string(ErrorCode::Forbidden), "forbidden");
}

}  // namespace

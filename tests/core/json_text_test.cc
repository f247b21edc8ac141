#include "core/json_text.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/flow.h"

namespace stockade {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonText, EscapesAsNlohmannDoes) {
  for (std::string s : {std::string("plain"), std::string("q\"b\\s/"), std::string("\b\f\n\r\t"),
                        std::string("\x01\x1f\x7f", 3), std::string("caf\xC3\xA9 \xF0\x9F\x98\x80"),
                        std::string("nul\0in", 6)}) {
    EXPECT_EQ(as_json(s), nlohmann::json(s).dump()) << s;
    EXPECT_EQ(nlohmann::json::parse(as_json(s)).get<std::string>(), s);
  }
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(as_json("a\xFF"
                    "b"),
            "\"a\xEF\xBF\xBD"
            "b\"");
  EXPECT_EQ(as_json("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // overlong '/'
  EXPECT_EQ(as_json("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
  EXPECT_EQ(as_json("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // cut short
  EXPECT_TRUE(nlohmann::json::accept(as_json("x\xF5\x80\x80\x80y")));
}

TEST(JsonText, Numbers) {
  std::string out;
  append_json_number(out, uint64_t{18446744073709551615ULL});
  out += ',';
  append_json_number(out, int64_t{-9223372036854775807LL - 1});
  EXPECT_EQ(out, "18446744073709551615,-9223372036854775808");
}

TEST(JsonText, Rfc3339Formatting) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1767225600123456789), "2026-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(INT64_MAX), "2262-04-11T23:47:16Z");
  EXPECT_EQ(format_rfc3339(951782400LL * 1000000000), "2000-02-29T00:00:00Z");
}

}  // namespace
}  // namespace stockade

// core/sarif.h: the one SARIF 2.1.0 writer (scan and verify both use it). The shape checked
// here is what the SARIF 2.1.0 schema requires of a log (version, runs[].tool.driver.name,
// results[].message.text, ruleIndex into the driver's rules, startLine >= 1) and what the
// writer promises (optional parts left out when empty, keys in the order written, paths as
// URI references, text that is not UTF-8 replaced).
#include "core/sarif.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace stockade::sarif {
namespace {

TEST(Sarif, LogShape) {
  const Tool tool{"stockade", "1.2.3", "https://example.org/stockade"};
  const std::vector<Rule> rules = {
      {.id = "A",
       .name = "RuleA",
       .short_description = "short",
       .full_description = "full",
       .help_text = "help",
       .help_markdown = "**help**",
       .level = "error",
       .properties = {{"tags", std::vector<std::string>{"security", "x"}},
                      {"security-severity", "8.0"}}},
      {.id = "B",
       .name = "RuleB",
       .short_description = "s",
       .full_description = "f",
       .level = "note"}};
  std::vector<Result> results;
  results.push_back(
      {.rule_id = "B",
       .rule_index = 1,
       .level = "note",
       .message = "m1",
       .locations = {{.file = "dir/a b.yaml", .line = 7, .logical = {{"n", "ns/n", "resource"}}}},
       .properties = {{"port", int64_t{443}}},
       .suppressions = {{"external", "why"}}});
  results.push_back({.rule_id = "A", .level = "error", .message = "m2"});
  results.push_back({.rule_id = "A",
                     .level = "error",
                     .message = "m3",
                     .locations = {{.file = "/abs/p.yaml"}, {.logical = {{"x", "x", "module"}}}}});
  const std::string text = write_log(tool, rules, results);
  EXPECT_TRUE(
      text.starts_with("{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n"
                       "  \"version\": \"2.1.0\",\n  \"runs\": ["))
      << text;
  EXPECT_TRUE(text.ends_with("}\n"));
  const auto j = nlohmann::json::parse(text);
  ASSERT_EQ(j["runs"].size(), 1u);
  const auto& run = j["runs"][0];
  const auto& driver = run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "stockade");
  EXPECT_EQ(driver["version"], "1.2.3");
  EXPECT_EQ(driver["informationUri"], "https://example.org/stockade");
  ASSERT_EQ(driver["rules"].size(), 2u);
  EXPECT_EQ(driver["rules"][0]["help"],
            (nlohmann::json{{"text", "help"}, {"markdown", "**help**"}}));
  EXPECT_EQ(driver["rules"][0]["properties"]["tags"], (nlohmann::json{"security", "x"}));
  EXPECT_EQ(driver["rules"][0]["defaultConfiguration"]["level"], "error");
  EXPECT_FALSE(driver["rules"][1].contains("help"));
  EXPECT_FALSE(driver["rules"][1].contains("properties"));
  EXPECT_EQ(driver["rules"][1]["shortDescription"]["text"], "s");
  EXPECT_EQ(driver["rules"][1]["fullDescription"]["text"], "f");

  const auto& res = run["results"];
  ASSERT_EQ(res.size(), 3u);
  EXPECT_EQ(driver["rules"][res[0]["ruleIndex"].get<size_t>()]["id"], res[0]["ruleId"]);
  EXPECT_EQ(res[0]["message"]["text"], "m1");
  const auto& phys = res[0]["locations"][0]["physicalLocation"];
  EXPECT_EQ(phys["artifactLocation"]["uri"], "dir/a%20b.yaml");
  EXPECT_EQ(phys["region"]["startLine"], 7);
  EXPECT_EQ(res[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "ns/n");
  EXPECT_EQ(res[0]["properties"]["port"], 443);
  EXPECT_EQ(res[0]["suppressions"][0]["kind"], "external");
  // Nothing optional is written empty.
  for (const char* k : {"ruleIndex", "locations", "properties", "suppressions"})
    EXPECT_FALSE(res[1].contains(k)) << k;
  EXPECT_EQ(res[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///abs/p.yaml");
  EXPECT_FALSE(res[2]["locations"][0]["physicalLocation"].contains("region"));  // no line
  EXPECT_FALSE(res[2]["locations"][1].contains("physicalLocation"));
  EXPECT_TRUE(res[2]["locations"][1].contains("logicalLocations"));
  // A result's keys in the writer's order (searched from the first result on: the rules
  // come before it and have levels too).
  const size_t first = text.find("\"ruleId\": \"B\"");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(first, text.find("\"ruleIndex\": 1", first));
  EXPECT_LT(text.find("\"ruleIndex\": 1", first), text.find("\"level\": \"note\"", first));
  EXPECT_LT(text.find("\"level\": \"note\"", first), text.find("\"message\"", first));
  EXPECT_LT(text.find("\"message\"", first), text.find("\"locations\"", first));
  EXPECT_LT(text.find("\"locations\"", first), text.find("\"properties\"", first));
  EXPECT_LT(text.find("\"properties\"", first), text.find("\"suppressions\"", first));
}

TEST(Sarif, NoInformationUriNoRulesNoResults) {
  const auto j = nlohmann::json::parse(write_log({"t", "0", ""}, {}, {}));
  const auto& run = j["runs"][0];
  EXPECT_FALSE(run["tool"]["driver"].contains("informationUri"));
  EXPECT_TRUE(run["tool"]["driver"]["rules"].is_array());
  EXPECT_TRUE(run["results"].is_array());  // an empty array: the run found nothing
  EXPECT_TRUE(run["results"].empty());
}

TEST(Sarif, TextFromTheInputThatIsNotUtf8IsReplaced) {
  const std::string text = write_log({"t", "0", ""}, {},
                                     {{.rule_id = "r",
                                       .level = "error",
                                       .message = "a\xff"
                                                  "b"}});
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["runs"][0]["results"][0]["message"]["text"],
            "a\xEF\xBF\xBD"
            "b");
}

TEST(Sarif, PathUri) {
  EXPECT_EQ(path_uri("demo/policies/data.yaml"), "demo/policies/data.yaml");
  EXPECT_EQ(path_uri("a b/c#d%.yaml"), "a%20b/c%23d%25.yaml");
  EXPECT_EQ(path_uri("/tmp/x~y_z-1.json"), "file:///tmp/x~y_z-1.json");
}

}  // namespace
}  // namespace stockade::sarif

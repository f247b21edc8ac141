// The settings each module describes (core/settings.h): the server's, the agent's, recommend's,
// the detectors', the map's and the flow reader's --max-gzip-ratio. The command line registers
// these tables as they are (its --help is checked by the CLI tests); here, that each table is
// consistent and that the functions turning settings into a module's options do what the
// flags promise.
#include "core/settings.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>

#include "agent/agent_settings.h"
#include "detect/detect_settings.h"
#include "input/flow_read_settings.h"
#include "map/map_flows.h"
#include "model/duration.h"
#include "recommend/observe_settings.h"
#include "recommend/recommend_settings.h"
#include "server/serve_settings.h"

namespace stockade {
namespace {

// The field's value as text, as --help shows a default ("" for a list).
std::string value_text(const Setting& s) {
  return std::visit(
      [](auto* f) -> std::string {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_same_v<T, std::string>)
          return *f;
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          return "";
        else
          return std::to_string(*f);
      },
      s.field);
}

double value_number(const Setting& s) {
  return std::visit(
      [](auto* f) -> double {
        using T = std::remove_pointer_t<decltype(f)>;
        if constexpr (std::is_arithmetic_v<T>)
          return static_cast<double>(*f);
        else
          return 0;
      },
      s.field);
}

// What every table must hold: names that are flags, given once (`seen` across the tables of
// one command), help text, and defaults among the values the setting allows.
void check_table(const std::vector<Setting>& table, std::set<std::string>& seen) {
  for (const Setting& s : table) {
    const std::string name(s.name);
    SCOPED_TRACE(name);
    EXPECT_TRUE(name.starts_with("--") || name.starts_with("!--") || name.starts_with("-"));
    EXPECT_TRUE(seen.insert(name).second) << "given twice";
    EXPECT_FALSE(s.help.empty());
    const bool is_switch = std::holds_alternative<bool*>(s.field);
    if (is_switch) {
      EXPECT_FALSE(s.show_default) << "a switch has no value to show";
      EXPECT_TRUE(s.choices.empty());
      EXPECT_EQ(s.bound, Setting::Bound::None);
    }
    if (name.starts_with("!")) {
      EXPECT_TRUE(is_switch && *std::get<bool*>(s.field));
    }
    if (s.show_default) {
      EXPECT_FALSE(value_text(s).empty()) << "an empty default is shown";
    }
    if (!s.choices.empty() && !value_text(s).empty()) {
      std::set<std::string> allowed(s.choices.begin(), s.choices.end());
      EXPECT_TRUE(allowed.count(value_text(s))) << "default \"" << value_text(s) << "\"";
    }
    if (s.bound == Setting::Bound::Positive) {
      EXPECT_GT(value_number(s), 0);
    }
    if (s.bound == Setting::Bound::Range) {
      EXPECT_LE(s.min, s.max);
      EXPECT_GE(value_number(s), s.min);
      EXPECT_LE(value_number(s), s.max);
    }
  }
}

TEST(Settings, EveryTableIsConsistent) {
  {
    server::ServeSettings s;
    std::set<std::string> seen;
    check_table(server::settings(s), seen);
    EXPECT_EQ(seen.size(), 23u);
  }
  {
    agent::AgentSettings s;
    std::set<std::string> seen;
    check_table(agent::delivery_settings(s), seen);
    check_table(agent::watch_settings(s), seen);
    check_table(agent::probe_settings(s), seen);
    EXPECT_EQ(seen.size(), 11u);
  }
  {
    RecommendSettings s;
    std::set<std::string> seen;
    check_table(settings(s), seen);
    EXPECT_EQ(seen.size(), 14u);
  }
  {
    detect::DetectSettings s;
    std::set<std::string> seen;
    check_table(detect::settings(s), seen);
    EXPECT_EQ(seen.size(), 7u);
  }
  {
    MapSettings s;
    std::set<std::string> seen;
    check_table(settings(s), seen);
    EXPECT_EQ(seen.size(), 5u);
  }
  for (bool required : {false, true}) {
    ObserveSettings s;
    std::set<std::string> seen;
    const std::vector<Setting> table = settings(s, required);
    check_table(table, seen);
    EXPECT_EQ(seen.size(), 6u);
    EXPECT_EQ(table[0].name, "--flows");
    EXPECT_EQ(table[0].required, required);
  }
}

TEST(Settings, FieldsAreTheStructsOwn) {
  // A table fills the struct it was made from: setting through it changes that struct.
  server::ServeSettings s;
  for (const Setting& st : server::settings(s))
    if (st.name == "--listen")
      *std::get<std::string*>(st.field) = "0.0.0.0:9000";
    else if (st.name == "!--no-admission-lint")
      *std::get<bool*>(st.field) = false;
    else if (st.name == "--max-gzip-ratio")
      *std::get<uint32_t*>(st.field) = 7;
  EXPECT_EQ(s.listen, "0.0.0.0:9000");
  EXPECT_FALSE(s.admission_lint);
  EXPECT_EQ(s.max_gzip_ratio, 7u);

  uint32_t ratio = kDefaultMaxGzipRatio;
  const Setting g = gzip_ratio_setting(ratio);
  EXPECT_EQ(g.name, "--max-gzip-ratio");
  EXPECT_TRUE(g.show_default);
  EXPECT_EQ(std::get<uint32_t*>(g.field), &ratio);
}

TEST(RecommendSettings, OptionsFromTheSettings) {
  RecommendSettings s;
  // The settings' defaults are the synthesis' own.
  const RecommendOptions defaults, ro = recommend_options(s);
  EXPECT_EQ(ro.min_prefix_v4, defaults.min_prefix_v4);
  EXPECT_EQ(ro.min_prefix_v6, defaults.min_prefix_v6);
  EXPECT_EQ(ro.default_deny, defaults.default_deny);
  EXPECT_EQ(ro.guardrail_api, defaults.guardrail_api);

  s.widest_prefix = 20;  // IPv6: 32 more
  s.no_default_deny = true;
  s.guardrail_api = "v1alpha1";
  s.options.min_count = 3;
  s.options.replace = true;
  RecommendOptions o = recommend_options(s);
  EXPECT_EQ(o.min_prefix_v4, 20);
  EXPECT_EQ(o.min_prefix_v6, 52);
  EXPECT_FALSE(o.default_deny);
  EXPECT_EQ(o.guardrail_api, kAnpV1alpha1);
  EXPECT_EQ(o.min_count, 3u);
  EXPECT_TRUE(o.replace);

  s.widest_prefix = 0;  // every address, both families
  o = recommend_options(s);
  EXPECT_EQ(o.min_prefix_v4, 0);
  EXPECT_EQ(o.min_prefix_v6, 0);
}

TEST(RecommendSettings, L7Options) {
  RecommendSettings s;
  EXPECT_EQ(l7_options(s).kind, L7Kind::Cilium);
  EXPECT_FALSE(l7_options(s).include_system);
  s.l7 = "istio";
  s.options.include_system = true;
  EXPECT_EQ(l7_options(s).kind, L7Kind::Istio);
  EXPECT_TRUE(l7_options(s).include_system);
}

TEST(DetectSettings, TheWindowIsAPositiveDuration) {
  detect::DetectSettings s;
  s.thresholds.scan_ports = 7;
  auto t = detect::thresholds(s);
  ASSERT_TRUE(t) << t.error().str();
  EXPECT_EQ(t->window_ns, int64_t{10} * 1'000'000'000);
  EXPECT_EQ(t->scan_ports, 7u);
  s.window = "1m30s";
  EXPECT_EQ(detect::thresholds(s)->window_ns, int64_t{90} * 1'000'000'000);

  s.window = "0s";
  auto zero = detect::thresholds(s);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::Usage);
  EXPECT_EQ(zero.error().str(), "--window: expected a positive duration");
  s.window = "soon";
  auto bad = detect::thresholds(s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().str(),
            "--window: expected a duration such as 24h, 1h30m, 90s or 7d, got \"soon\"");
}

TEST(MapSettings, GraphOptions) {
  MapSettings s;
  s.by = "namespace";
  s.external_cidrs = {"10.0.0.0/8", "10.1.0.0/16"};
  s.max_external_nodes = 3;
  auto go = graph_options(s);
  ASSERT_TRUE(go) << go.error().str();
  EXPECT_EQ(go->by, Granularity::Namespace);
  ASSERT_EQ(go->external_groups.size(), 2u);
  EXPECT_EQ(go->external_groups[0].str(), "10.1.0.0/16");  // the most specific first
  EXPECT_EQ(go->max_external_nodes, 3u);

  s.external_cidrs = {"10.0.0.1"};
  auto bad = graph_options(s);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().str(), "--external-cidr: invalid CIDR \"10.0.0.1\"");
  s.external_cidrs.clear();
  s.by = "node";
  EXPECT_FALSE(graph_options(s));
}

TEST(ObserveSettings, TheWindowAgainstOneNow) {
  const int64_t now = int64_t{1'767'225'600} * 1'000'000'000;  // 2026-01-01T00:00:00Z
  const int64_t hour = int64_t{3600} * 1'000'000'000;
  ObserveSettings s;
  s.options.max_external_nodes = 9;
  auto none = observe_options(s, now);
  ASSERT_TRUE(none) << none.error().str();
  EXPECT_EQ(none->since_ns, 0);  // not given
  EXPECT_EQ(none->until_ns, 0);
  EXPECT_EQ(none->max_external_nodes, 9u);

  s.since = "24h";
  s.until = "2026-01-01T00:00:00Z";
  auto both = observe_options(s, now);
  ASSERT_TRUE(both) << both.error().str();
  EXPECT_EQ(both->since_ns, now - 24 * hour);
  EXPECT_EQ(both->until_ns, now);

  s.until = "48h";  // before --since
  auto reversed = observe_options(s, now);
  ASSERT_FALSE(reversed);
  EXPECT_EQ(reversed.error().code, ErrorCode::Usage);
  EXPECT_EQ(reversed.error().str(), "--until must be after --since");

  s.until.clear();
  s.since = "yesterday";
  auto bad = observe_options(s, now);
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().str().starts_with("--since: invalid time \"yesterday\""))
      << bad.error().str();
  s.since = "3x";
  EXPECT_EQ(observe_options(s, now).error().str(),
            "--since: expected a duration such as 24h, 1h30m, 90s or 7d, got \"3x\"");
}

TEST(DurationSetting, NamesTheSetting) {
  EXPECT_EQ(*parse_duration_setting("1h30m", "--min-window"), 90 * int64_t{60} * 1'000'000'000);
  auto bad = parse_duration_setting("a day", "--min-window");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::Usage);
  EXPECT_EQ(bad.error().str(),
            "--min-window: expected a duration such as 24h, 1h30m, 90s or 7d, got \"a day\"");
}

TEST(AgentSettings, EventsFromAFileInsteadOfTheKernel) {
  agent::AgentSettings s;
  s.node = "node-a";
  auto kernel = agent::agent_options(s);
  ASSERT_TRUE(kernel) << kernel.error().str();
  EXPECT_FALSE(kernel->events);
  s.events = "events.ndjson";  // read when the agent runs, not here
  auto file = agent::agent_options(s);
  ASSERT_TRUE(file) << file.error().str();
  EXPECT_TRUE(file->events);
}

}  // namespace
}  // namespace stockade

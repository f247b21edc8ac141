// Flow files read into the map's graph (map/map_flows.h), the map rendered in each format
// (map/map_view.h) and --external-cidr's groups (flow/edge_graph.h), on the demo's cluster and
// its real-shaped Hubble records.
#include "map/map_flows.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "input/loader.h"
#include "map/map_view.h"

namespace stockade {
namespace {

const std::string kDemo = STOCKADE_SOURCE_DIR "/demo";

struct Demo {
  ClusterState state;
  std::vector<Endpoint> eps;
  Demo() {
    ClusterLoader l;
    auto r = l.add_path(kDemo + "/cluster");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    eps = build_endpoints(state);
  }
};

TEST(MapFlows, FilesAreReadOneAfterAnotherUntilStopped) {
  Demo d;
  const std::string flows = kDemo + "/flows/hubble.json.gz";
  EdgeGraph once(d.state, d.eps, GraphOptions{});
  auto one = read_into_graph(once, {flows}, FlowReadOptions{}, false);
  ASSERT_TRUE(one) << one.error().str();
  ASSERT_GT(one->records, 0u);
  EXPECT_GT(once.nodes().size(), 1u);

  EdgeGraph twice(d.state, d.eps, GraphOptions{});
  auto two = read_into_graph(twice, {flows, flows}, FlowReadOptions{}, false);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->records, 2 * one->records);
  EXPECT_EQ(twice.nodes().size(), once.nodes().size());

  StopFlag stop{true};
  FlowReadOptions stopped;
  stopped.stop = &stop;
  EdgeGraph none(d.state, d.eps, GraphOptions{});
  auto zero = read_into_graph(none, {flows}, stopped, false);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->records, 0u);

  auto missing = read_into_graph(none, {kDemo + "/flows/absent.json"}, FlowReadOptions{}, false);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().str().find("absent.json"), std::string::npos);
}

TEST(MapFlows, RenderedInEachFormat) {
  Demo d;
  EdgeGraph g(d.state, d.eps, GraphOptions{});
  auto stats = read_into_graph(g, {kDemo + "/flows/hubble.json.gz"}, FlowReadOptions{}, false);
  ASSERT_TRUE(stats);
  auto engine = PolicyEngine::compile(d.state, d.eps);
  const MapSummary summary = map_summary(g, *stats);
  EXPECT_EQ(summary.flows, stats->records);
  EXPECT_TRUE(summary.isolation_known);  // the demo has pods
  const std::string json = render_map(g, *engine, summary, "json");
  EXPECT_EQ(json, render_map_json(g, *engine, summary) + "\n");
  EXPECT_EQ(nlohmann::json::parse(json)["summary"]["flows"], stats->records);
  EXPECT_EQ(render_map(g, *engine, summary, "dot"), render_map_dot(g, *engine));
  const std::string html = render_map(g, *engine, summary, "html");
  EXPECT_EQ(html, render_map_html(render_map_json(g, *engine, summary)) + "\n");
}

TEST(MapFlows, ExternalGroupsMostSpecificFirst) {
  auto groups =
      parse_external_groups({"10.0.0.0/8", "10.1.2.0/24", "2001:db8::/32", "10.1.0.0/16"});
  ASSERT_TRUE(groups);
  std::vector<int> prefixes;
  for (const Cidr& c : *groups) prefixes.push_back(c.prefix);
  EXPECT_EQ(prefixes, (std::vector<int>{32, 24, 16, 8}));
  auto bad = parse_external_groups({"10.0.0.0/8", "ten/8"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::Usage);
  EXPECT_EQ(bad.error().str(), "--external-cidr: invalid CIDR \"ten/8\"");
}

}  // namespace
}  // namespace stockade

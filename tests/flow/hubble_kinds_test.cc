// One Hubble record of each kind (tests/flow/fixtures/hubble_kinds.jsonl, written from the
// Hubble format notes in HUBBLE_FORMAT.md) with what each must count as: a connection on a
// named workload edge, or nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "flow/edge_graph.h"
#include "input/flow_reader.h"

namespace stockade {
namespace {

TEST(HubbleKinds, EachRecordCountsAsDocumented) {
  std::string dir = std::string(STOCKADE_SOURCE_DIR) + "/tests/flow/fixtures/";
  std::ifstream records(dir + "hubble_kinds.jsonl");
  std::ifstream expected(dir + "hubble_kinds.expected.jsonl");
  ASSERT_TRUE(records && expected);
  ClusterState empty;  // no cluster objects: names come from the records
  std::vector<Endpoint> eps;
  std::string line, want_text;
  int checked = 0;
  while (std::getline(records, line) && std::getline(expected, want_text)) {
    auto want = nlohmann::json::parse(want_text);
    SCOPED_TRACE("line " + std::to_string(want["line"].get<int>()) + ": " +
                 want["what"].get<std::string>());
    EdgeGraph g(empty, eps, GraphOptions{});
    FlowReadStats st;
    ASSERT_TRUE(read_flows_text(line + "\n", "kinds", {}, st, [&](const Flow& f) { g.add(f); }));
    uint64_t counted = 0;
    // Without Node objects a node's address does not name it: any node/… will do.
    auto same_peer = [](const std::string& got, const std::string& expect) {
      if (expect.starts_with("node/")) return got.starts_with("node/");
      return got == expect;
    };
    for (const auto& [k, s] : g.edges()) {
      if (!s.count) continue;
      counted += s.count;
      EXPECT_TRUE(same_peer(g.nodes()[k.src].id, want.value("src", "")))
          << g.nodes()[k.src].id << " vs " << want.value("src", "");
      EXPECT_TRUE(same_peer(g.nodes()[k.dst].id, want.value("dst", "")))
          << g.nodes()[k.dst].id << " vs " << want.value("dst", "");
      EXPECT_EQ(std::string(to_string(k.protocol)), want.value("protocol", ""));
      EXPECT_EQ(k.port, want.value("port", 0));
    }
    EXPECT_EQ(counted, want["counted"].get<bool>() ? 1u : 0u);
    ++checked;
  }
  EXPECT_EQ(checked, 41);
}

}  // namespace
}  // namespace stockade

// Fuzzes the flow readers (Hubble JSON, agent events) and the edge graph they feed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flow/edge_graph.h"
#include "input/flow_reader.h"
#include "input/loader.h"

namespace {

const stockade::ClusterState& cluster() {
  static const stockade::ClusterState state = [] {
    stockade::ClusterLoader l;
    (void)l.add_text(R"(
apiVersion: v1
kind: Pod
metadata: {name: a-7d9f8c6b5d-aaaaa, namespace: x, labels: {app: a}}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: x}
spec: {selector: {app: a}, clusterIP: 10.96.0.1}
)",
                     "cluster.yaml");
    return std::move(l).finish();
  }();
  return state;
}

std::vector<std::string> read_all(std::string_view text, const stockade::FlowReadOptions& o,
                                  stockade::FlowReadStats& stats) {
  std::vector<std::string> out;
  (void)stockade::read_flows_text(text, "fuzz.json", o, stats, [&](const stockade::Flow& f) {
    out.push_back(stockade::describe(f));
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<stockade::Endpoint> eps = stockade::build_endpoints(cluster());
  std::string_view text(reinterpret_cast<const char*>(data), size);
  stockade::EdgeGraph graph(cluster(), eps, stockade::GraphOptions{});
  stockade::FlowReadStats stats;
  auto r = stockade::read_flows_text(text, "fuzz.json", {}, stats,
                                     [&](const stockade::Flow& f) { graph.add(f); });
  if (!r && r.error().file != "fuzz.json") __builtin_trap();
  uint64_t total = 0;
  for (const auto& [k, s] : graph.edges()) {
    if (s.count != s.established + s.failed + s.dropped) __builtin_trap();
    total += s.count;
  }
  if (total > stats.records) __builtin_trap();

  // Read twice in a row, the text gives the same records the second time, when the parser
  // remembers its endpoints (and their hints) from the first and reads lines of the common
  // shape directly; and the same records as the walk alone (FlowReadOptions::direct off).
  stockade::FlowReadOptions o;
  o.threads = 1;
  o.peer_hint = [&](const stockade::FlowPeer& p) { return graph.hint(p); };
  o.max_reported = SIZE_MAX;
  stockade::FlowReadOptions walk = o;
  walk.direct = false;
  stockade::FlowReadStats once_stats, twice_stats;
  std::vector<std::string> once = read_all(text, walk, once_stats);
  std::string doubled(text);
  doubled += '\n';
  doubled += text;
  std::vector<std::string> twice = read_all(doubled, o, twice_stats);
  if (once.size() != stats.records || twice.size() != 2 * once.size()) __builtin_trap();
  if (twice_stats.malformed != 2 * once_stats.malformed ||
      twice_stats.ignored != 2 * once_stats.ignored)
    __builtin_trap();
  for (size_t i = 0; i < once_stats.problems.size(); ++i)
    if (once_stats.problems[i].message != twice_stats.problems[i].message) __builtin_trap();
  for (size_t i = 0; i < once.size(); ++i)
    if (once[i] != twice[i] || once[i] != twice[once.size() + i]) __builtin_trap();
  return 0;
}

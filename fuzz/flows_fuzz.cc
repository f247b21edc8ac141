// Fuzzes the flow readers (Hubble JSON, agent events) and the edge graph they feed.
#include <cstddef>
#include <cstdint>
#include <string_view>

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
  return 0;
}

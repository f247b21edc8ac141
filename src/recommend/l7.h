// `recommend --l7 cilium|istio`: per destination workload and port, the client workloads that
// sent HTTP requests and the method and path patterns they used (l7_paths.h), written as
// CiliumNetworkPolicies (toPorts[].rules.http, with an egress allowance on each client's side
// that isolates nothing) or Istio AuthorizationPolicies (ALLOW, principals of the clients'
// service accounts). Proved like the rest: loaded back and every observed request evaluated.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/engine.h"
#include "model/cluster_state.h"
#include "recommend/l7_observed.h"
#include "recommend/l7_paths.h"

namespace stockade {

enum class L7Kind : uint8_t { Cilium, Istio };

struct L7Options {
  L7Kind kind = L7Kind::Cilium;
  l7::GeneraliseOptions paths;
  bool include_system = false;                 // destinations in the system namespaces too
  std::string trust_domain = "cluster.local";  // Istio principals
};

struct L7Policy {
  std::string kind;  // CiliumNetworkPolicy or AuthorizationPolicy
  std::string ns, name;
  std::string yaml;  // one document, without "---"
  std::string json;  // the same object as JSON
};

struct L7Recommendation {
  L7Kind kind = L7Kind::Cilium;
  std::vector<L7Policy> policies;  // sorted by (namespace, name)
  // Connections (client endpoint, server endpoint, port) the L7 rules speak for. With Cilium
  // the L4 policies leave them out (an L4 allow of the same peer and port would let every
  // request through); Istio is a layer above the L4 policies, which stay whole.
  std::set<std::tuple<uint32_t, uint32_t, uint16_t>> carried;
  uint64_t http_rules = 0;         // rules.http entries (Cilium) / operations (Istio)
  uint64_t distinct_paths = 0;     // distinct observed paths (without query) they stand for
  uint64_t requests = 0;           // observed requests they stand for
  uint64_t destinations = 0;       // (workload, port) with rules
  std::vector<std::string> notes;  // what was left out, and why
};

L7Recommendation recommend_l7(const ClusterState& state, const PolicyEngine& engine,
                              const ObservedL7& observed, const L7Options& options);

// Every observed request evaluated by `engine` (the cluster with the policies in force): the
// ones refused, as "src -> dst:port METHOD path" lines (at most `limit`).
std::vector<std::string> refused_requests(const PolicyEngine& engine, const ObservedL7& observed,
                                          size_t limit);

// ---- around the L4 recommendation (l7_pipeline.cc) ----

struct Observed;
struct RenderedOutput;

// The observed edges without the connections the L7 policies carry (for the L4 synthesis).
Observed without_carried(const Observed& observed, const L7Recommendation& l7);

// The L7 policies as written (their text loaded back with the loader) added to `after` (the
// cluster with the L4 recommendation in force) and judged by the engine: every observed edge
// that `after_engine` allows stays allowed, every carried established edge is allowed, and with
// Cilium every observed request is. "" when all hold, else what does not (a bug).
std::string prove_l7(const ClusterState& after, const PolicyEngine& after_engine,
                     const Observed& observed, const L7Recommendation& l7);

// The L7 policies added to the output: one file each (NS.NAME.yaml|json) with `out_dir`,
// else appended to the one text (YAML documents, or items of the JSON List).
void add_l7_output(RenderedOutput& out, const L7Recommendation& l7, const std::string& out_dir,
                   bool json);

// "L7: …" lines for the summary on stderr.
std::string l7_summary(const L7Recommendation& l7, L7Kind kind);

}  // namespace stockade

// recommend --l7 around the L4 recommendation: which edges the L7 policies carry, their proof
// by the engine, and their place in the output.
#include <nlohmann/json.hpp>

#include <set>

#include "input/loader.h"
#include "recommend/l7.h"
#include "recommend/observed.h"
#include "recommend/pipeline.h"

namespace stockade {

Observed without_carried(const Observed& observed, const L7Recommendation& l7) {
  Observed out = observed;
  if (l7.kind == L7Kind::Istio) return out;  // another layer: the L4 policies stay whole
  std::erase_if(out.edges, [&](const ObservedEdge& e) {
    return e.protocol == Protocol::TCP && e.src.kind == ObservedPeer::Kind::Endpoint &&
           e.dst.kind == ObservedPeer::Kind::Endpoint &&
           l7.carried.count({e.src.endpoint, e.dst.endpoint, e.port}) > 0;
  });
  return out;
}

std::string prove_l7(const ClusterState& after, const PolicyEngine& after_engine,
                     const Observed& observed, const L7Recommendation& l7) {
  ClusterLoader loader;
  for (const L7Policy& p : l7.policies)
    if (auto r = loader.add_text(p.yaml, p.ns + "." + p.name + ".yaml"); !r)
      return "cannot read back " + p.ns + "/" + p.name + ": " + r.error().str();
  ClusterState written = std::move(loader).finish();
  ClusterState both = after;
  for (CiliumPolicy& c : written.cilium_policies) both.cilium_policies.push_back(std::move(c));
  for (IstioAuthorizationPolicy& a : written.istio_policies)
    both.istio_policies.push_back(std::move(a));
  auto engine = PolicyEngine::compile(both, after_engine.endpoints());
  engine->learn_dns(observed.l7.names());
  for (const ObservedEdge& e : observed.edges) {
    bool carried = l7.kind == L7Kind::Cilium && e.protocol == Protocol::TCP &&
                   e.src.kind == ObservedPeer::Kind::Endpoint &&
                   e.dst.kind == ObservedPeer::Kind::Endpoint &&
                   l7.carried.count({e.src.endpoint, e.dst.endpoint, e.port}) > 0;
    bool must = carried ? e.stats.established > 0 : edge_allowed(after_engine, e);
    if (must && !edge_allowed(*engine, e))
      return "observed edge " + e.src.id + " -> " + e.dst.id + " " +
             std::string(to_string(e.protocol)) + "/" + std::to_string(e.port) +
             " is denied with the L7 policies";
  }
  // Every observed request the L7 policies speak for (their clients, servers and ports) passes.
  ObservedL7 covered;
  for (const ObservedHttp& h : observed.l7.http)
    if (h.src.endpoint && h.dst.endpoint &&
        l7.carried.count({*h.src.endpoint, *h.dst.endpoint, h.port}))
      covered.http.push_back(h);
  if (auto refused = refused_requests(*engine, covered, 1); !refused.empty())
    return "observed request " + refused.front() + " is refused by the L7 policies";
  return {};
}

void add_l7_output(RenderedOutput& out, const L7Recommendation& l7, const std::string& out_dir,
                   bool json) {
  if (l7.policies.empty()) return;
  if (!out_dir.empty()) {
    for (const L7Policy& p : l7.policies)
      out.files.push_back(
          {std::filesystem::path(out_dir) / (p.ns + "." + p.name + (json ? ".json" : ".yaml")),
           json ? p.json + "\n" : p.yaml,
           {},
           {},
           {},
           {}});
    return;
  }
  std::string& text = out.files.front().text;
  if (!json) {
    for (const L7Policy& p : l7.policies) text += "---\n" + p.yaml;
    return;
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::parse(text);
  for (const L7Policy& p : l7.policies)
    list["items"].push_back(nlohmann::ordered_json::parse(p.json));
  text = list.dump(2) + "\n";
}

std::string l7_summary(const L7Recommendation& l7, L7Kind kind) {
  std::string s = "stockade: L7 (" + std::string(kind == L7Kind::Cilium ? "cilium" : "istio") +
                  "): " + std::to_string(l7.policies.size()) + " policies, " +
                  std::to_string(l7.http_rules) + " HTTP rules for " +
                  std::to_string(l7.destinations) + " destination ports, from " +
                  std::to_string(l7.distinct_paths) + " distinct paths in " +
                  std::to_string(l7.requests) + " requests\n";
  for (const std::string& n : l7.notes) s += "stockade: L7: " + n + "\n";
  return s;
}

}  // namespace stockade

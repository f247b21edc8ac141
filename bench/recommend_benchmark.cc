// Google Benchmark cases for policy synthesis (src/recommend): 10,000 workloads and 1,000,000
// observed edges, built in memory (flow parsing and aggregation are measured by
// flow_benchmark.cc). Deterministic: a fixed-seed std::mt19937_64.
//
//   BM_RecommendSynthesis  recommend(): units, peers, rules, names, evidence (the engine is
//                          asked for each edge's current verdict)
//   BM_RecommendSelfCheck  compiling the recommended policies and checking every edge
//   BM_RecommendRender     YAML of every policy
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "recommend/recommend.h"

namespace {

using namespace stockade;

constexpr int kWorkloads = 10000;
constexpr int kNamespaces = 50;
constexpr int kEdges = 1000000;

struct Data {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Observed observed;
};

const Data& data() {
  static const Data d = [] {
    Data out;
    for (int n = 0; n < kNamespaces; ++n) {
      Namespace ns;
      ns.name = "ns-" + std::to_string(n);
      ns.labels = {{"kubernetes.io/metadata.name", ns.name}, {"team", "t" + std::to_string(n % 7)}};
      out.state.namespaces.push_back(ns);
    }
    for (int w = 0; w < kWorkloads; ++w) {
      Workload wl;
      wl.kind = WorkloadKind::Deployment;
      wl.ns = "ns-" + std::to_string(w % kNamespaces);
      wl.name = "app-" + std::to_string(w);
      LabelSelector sel;
      sel.requirements.push_back({"app", SelectorOp::In, {wl.name}});
      wl.selector = sel;
      wl.pod.labels = {{"app", wl.name}, {"tier", w % 3 ? "backend" : "web"}};
      wl.pod.ports = {{"http", 8080, Protocol::TCP}, {"metrics", 9090, Protocol::TCP}};
      if (w == 0) {  // the cluster DNS
        wl.ns = "kube-system";
        wl.name = "coredns";
        wl.pod.labels = {{"k8s-app", "kube-dns"}};
        wl.selector->requirements = {{"k8s-app", SelectorOp::In, {"kube-dns"}}};
        wl.pod.ports = {{"dns", 53, Protocol::UDP}, {"dns-tcp", 53, Protocol::TCP}};
      }
      out.state.workloads.push_back(wl);
    }
    out.engine = PolicyEngine::compile(out.state, build_endpoints(out.state));
    const auto& eps = out.engine->endpoints();
    uint32_t dns = *out.engine->find_endpoint("kube-system", "coredns");
    std::mt19937_64 rng(42);
    auto peer = [&](uint32_t e) {
      ObservedPeer p;
      p.kind = ObservedPeer::Kind::Endpoint;
      p.endpoint = e;
      p.id = eps[e].id();
      return p;
    };
    std::vector<ObservedPeer> peers;
    for (uint32_t e = 0; e < eps.size(); ++e) peers.push_back(peer(e));
    EdgeStats stats{3, 1767225600000000000, 1767229200000000000, 3, 0, 0};
    out.observed.edges.reserve(kEdges);
    for (uint32_t s = 0; s < eps.size() && out.observed.edges.size() < kEdges; ++s) {
      // DNS, a few external peers, then calls to other workloads.
      out.observed.edges.push_back({peers[s], peers[dns], Protocol::UDP, 53, stats});
      if (s % 10 == 0) {
        ObservedPeer ext;
        ext.kind = ObservedPeer::Kind::External;
        ext.addresses = {
            *IpAddr::parse("203.0." + std::to_string(s % 256) + "." + std::to_string(rng() % 256))};
        ext.id = "world/" + ext.addresses.front().str();
        out.observed.edges.push_back({peers[s], ext, Protocol::TCP, 443, stats});
      }
      for (int k = 0; k < kEdges / kWorkloads - 2; ++k) {
        uint32_t d = static_cast<uint32_t>(rng() % eps.size());
        if (d == s || d == dns) continue;
        out.observed.edges.push_back(
            {peers[s], peers[d], Protocol::TCP, static_cast<uint16_t>(k % 4 ? 8080 : 9090), stats});
      }
    }
    out.observed.first_ns = stats.first_seen;
    out.observed.last_ns = stats.last_seen;
    return out;
  }();
  return d;
}

void BM_RecommendSynthesis(benchmark::State& st) {
  const Data& d = data();
  size_t policies = 0;
  for (auto _ : st) {
    Recommendation r = recommend(d.state, *d.engine, d.observed, {});
    policies = r.policies.size();
    benchmark::DoNotOptimize(r);
  }
  st.counters["edges"] = static_cast<double>(d.observed.edges.size());
  st.counters["policies"] = static_cast<double>(policies);
  st.counters["edges/s"] = benchmark::Counter(
      static_cast<double>(d.observed.edges.size() * st.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RecommendSynthesis)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_RecommendSelfCheck(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, {});
  ClusterState after = with_recommendation(d.state, r, false);
  size_t denied = 0;
  for (auto _ : st) {
    auto engine = PolicyEngine::compile(after, build_endpoints(after));
    denied = 0;
    for (size_t i : r.must_allow) denied += !evaluate_edge(*engine, d.observed.edges[i]).allowed;
  }
  if (denied) st.SkipWithError("self-check found denied edges");
}
BENCHMARK(BM_RecommendSelfCheck)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_RecommendRender(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, {});
  size_t bytes = 0;
  for (auto _ : st) {
    std::string y = render_yaml(r);
    bytes = y.size();
    benchmark::DoNotOptimize(y);
  }
  st.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RecommendRender)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

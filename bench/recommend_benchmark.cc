// Google Benchmark cases for policy synthesis (src/recommend): 10,000 workloads and 1,000,000
// observed edges, built in memory (flow parsing and aggregation are measured by
// flow_benchmark.cc). Deterministic: a fixed-seed std::mt19937_64.
//
//   BM_RecommendSynthesis  recommend(): units, peers, rules, names, evidence (the engine is
//                          asked for each edge's current verdict); 30,000 pods, ~1M edges
//   BM_RecommendSynthesisDistinctPairs  the same when every edge is another workload pair
//   BM_RecommendSelfCheck  compiling the recommended policies and checking every edge
//   BM_RecommendRender     YAML of every policy
//   BM_RecommendCilium     the same policies translated to CiliumNetworkPolicies and written
//   BM_RecommendCiliumSelfCheck  compiling those (Cilium semantics) and checking every edge
//   BM_RecommendCalico     the same policies translated to Calico NetworkPolicies and written
//   BM_RecommendCalicoSelfCheck  compiling those (Calico semantics) and checking every edge
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <string>

#include "recommend/calico_emit.h"
#include "recommend/cilium_emit.h"
#include "recommend/recommend.h"

namespace {

using namespace stockade;

constexpr int kWorkloads = 10000;
constexpr int kNamespaces = 50;

struct Data {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Observed observed;
};

// 10,000 Deployments in 50 namespaces, `pods` pods each (0: the workloads stand for their
// pods), two CoreDNS pods. Every pod resolves names; each workload calls `callees` others
// (a third of them in its own namespace), every pod of the caller each pod of the callee.
Data make_data(int pods, int callees) {
  Data out;
  for (int n = 0; n < kNamespaces; ++n) {
    Namespace ns;
    ns.name = "ns-" + std::to_string(n);
    ns.labels = {{"kubernetes.io/metadata.name", ns.name}, {"team", "t" + std::to_string(n % 7)}};
    out.state.namespaces.push_back(ns);
  }
  uint32_t ip = 0x0a000001;
  auto add_workload = [&](const std::string& ns, const std::string& name, Labels labels,
                          std::vector<ContainerPort> ports, int n_pods) {
    Workload wl;
    wl.kind = WorkloadKind::Deployment;
    wl.ns = ns;
    wl.name = name;
    wl.uid = ns + "/" + name;
    LabelSelector sel;
    for (const auto& [k, v] : labels)
      if (k != "tier") sel.requirements.push_back({k, SelectorOp::In, {v}});
    wl.selector = sel;
    wl.pod.labels = labels;
    wl.pod.ports = ports;
    out.state.workloads.push_back(wl);
    for (int p = 0; p < n_pods; ++p) {
      Pod pod;
      pod.ns = ns;
      pod.name = name + "-5d8f7c9b6d-" + std::to_string(10000 + p);
      pod.spec = wl.pod;
      pod.spec.labels["pod-template-hash"] = "5d8f7c9b6d";
      IpAddr a;
      a.lo = ip++;
      pod.ips = {a};
      pod.phase = "Running";
      pod.owners = {{"Deployment", name, wl.uid, true}};
      out.state.pods.push_back(pod);
    }
  };
  add_workload("kube-system", "coredns", {{"k8s-app", "kube-dns"}},
               {{"dns", 53, Protocol::UDP}, {"dns-tcp", 53, Protocol::TCP}}, 2);
  for (int w = 0; w < kWorkloads; ++w)
    add_workload("ns-" + std::to_string(w % kNamespaces), "app-" + std::to_string(w),
                 {{"app", "app-" + std::to_string(w)}, {"tier", w % 3 ? "backend" : "web"}},
                 {{"http", 8080, Protocol::TCP}, {"metrics", 9090, Protocol::TCP}}, pods);
  out.engine = PolicyEngine::compile(out.state, build_endpoints(out.state));
  const auto& eps = out.engine->endpoints();
  // Endpoints of each workload.
  std::map<std::string, std::vector<uint32_t>> of;
  for (uint32_t e = 0; e < eps.size(); ++e)
    of[eps[e].ns + "/" + (eps[e].workload_name.empty() ? eps[e].name : eps[e].workload_name)]
        .push_back(e);
  std::vector<ObservedPeer> peers;
  for (uint32_t e = 0; e < eps.size(); ++e) {
    ObservedPeer p;
    p.kind = ObservedPeer::Kind::Endpoint;
    p.endpoint = e;
    p.id = eps[e].id();
    peers.push_back(p);
  }
  const auto& dns = of["kube-system/coredns"];
  std::mt19937_64 rng(42);
  EdgeStats stats{3, 1767225600000000000, 1767229200000000000, 3, 0, 0};
  for (int w = 0; w < kWorkloads; ++w) {
    const auto& src = of["ns-" + std::to_string(w % kNamespaces) + "/app-" + std::to_string(w)];
    for (uint32_t s : src) {
      out.observed.edges.push_back(
          {peers[s], peers[dns[rng() % dns.size()]], Protocol::UDP, 53, stats});
      if (s % 10 == 0) {
        ObservedPeer ext;
        ext.kind = ObservedPeer::Kind::External;
        ext.addresses = {
            *IpAddr::parse("203.0." + std::to_string(s % 256) + "." + std::to_string(rng() % 256))};
        ext.id = "world/" + ext.addresses.front().str();
        out.observed.edges.push_back({peers[s], ext, Protocol::TCP, 443, stats});
      }
    }
    for (int k = 0; k < callees; ++k) {
      int d = k % 3 == 0 ? (w + kNamespaces * (1 + static_cast<int>(rng() % 50))) % kWorkloads
                         : static_cast<int>(rng() % kWorkloads);
      if (d == w) continue;
      const auto& dst = of["ns-" + std::to_string(d % kNamespaces) + "/app-" + std::to_string(d)];
      uint16_t port = k % 4 ? 8080 : 9090;
      for (uint32_t s : src)
        for (uint32_t t : dst)
          out.observed.edges.push_back({peers[s], peers[t], Protocol::TCP, port, stats});
    }
  }
  out.observed.first_ns = stats.first_seen;
  out.observed.last_ns = stats.last_seen;
  return out;
}

// 30,000 pods; ~1,000,000 pod-level edges between ~110,000 workload pairs.
const Data& data() {
  static const Data d = make_data(3, 11);
  return d;
}
// The worst case: every observed edge is a different workload pair (10,000 workloads standing
// for their pods, 100 callees each).
const Data& distinct_pairs() {
  static const Data d = make_data(0, 100);
  return d;
}

void run_synthesis(benchmark::State& st, const Data& d) {
  size_t policies = 0;
  // The command never frees its result (it exits): freeing stays out of the measurement.
  std::vector<Recommendation> done;
  for (auto _ : st) {
    done.push_back(recommend(d.state, *d.engine, d.observed, {}));
    policies = done.back().policies.size();
    benchmark::DoNotOptimize(done.back());
  }
  st.counters["edges"] = static_cast<double>(d.observed.edges.size());
  st.counters["policies"] = static_cast<double>(policies);
}

void BM_RecommendSynthesis(benchmark::State& st) {
  run_synthesis(st, data());
}
BENCHMARK(BM_RecommendSynthesis)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_RecommendSynthesisDistinctPairs(benchmark::State& st) {
  run_synthesis(st, distinct_pairs());
}
BENCHMARK(BM_RecommendSynthesisDistinctPairs)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_RecommendSelfCheck(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, {});
  ClusterState after = with_recommendation(d.state, r, false);
  size_t denied = 0;
  for (auto _ : st) {
    auto engine = PolicyEngine::compile(after, build_endpoints(after));
    denied = 0;
    for (size_t i : r.must_allow) denied += !edge_allowed(*engine, d.observed.edges[i]);
  }
  if (denied) st.SkipWithError("self-check found denied edges");
}
BENCHMARK(BM_RecommendSelfCheck)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

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
BENCHMARK(BM_RecommendRender)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

RecommendOptions cilium_options() {
  RecommendOptions o;
  o.own_node_egress = true;  // as `recommend --output-kind cilium`
  return o;
}

void BM_RecommendCilium(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, cilium_options());
  size_t bytes = 0;
  std::vector<CiliumRecommendation> done;  // not freed in the loop, as the command
  for (auto _ : st) {
    done.push_back(to_cilium(r, d.state, d.engine->endpoints()));
    std::string y = render_cilium_yaml(done.back());
    bytes = y.size();
    benchmark::DoNotOptimize(y);
  }
  st.counters["policies"] = static_cast<double>(r.policies.size());
  st.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RecommendCilium)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_RecommendCiliumSelfCheck(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, cilium_options());
  ClusterState after =
      with_cilium_recommendation(d.state, to_cilium(r, d.state, d.engine->endpoints()), false);
  size_t denied = 0;
  for (auto _ : st) {
    auto engine = PolicyEngine::compile(after, build_endpoints(after));
    denied = 0;
    for (size_t i : r.must_allow) denied += !edge_allowed(*engine, d.observed.edges[i]);
  }
  if (denied) st.SkipWithError("self-check found denied edges");
}
BENCHMARK(BM_RecommendCiliumSelfCheck)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

RecommendOptions calico_options() {
  RecommendOptions o;
  o.own_node_egress = true;  // as `recommend --output-kind calico`
  o.own_node_ingress = true;
  return o;
}

void BM_RecommendCalico(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, calico_options());
  size_t bytes = 0;
  std::vector<CalicoRecommendation> done;  // not freed in the loop, as the command
  for (auto _ : st) {
    done.push_back(to_calico(r));
    std::string y = render_calico_yaml(done.back());
    bytes = y.size();
    benchmark::DoNotOptimize(y);
  }
  st.counters["policies"] = static_cast<double>(r.policies.size());
  st.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RecommendCalico)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_RecommendCalicoSelfCheck(benchmark::State& st) {
  const Data& d = data();
  Recommendation r = recommend(d.state, *d.engine, d.observed, calico_options());
  ClusterState after = with_calico_recommendation(d.state, to_calico(r), false);
  size_t denied = 0;
  for (auto _ : st) {
    auto engine = PolicyEngine::compile(after, build_endpoints(after));
    denied = 0;
    for (size_t i : r.must_allow) denied += !edge_allowed(*engine, d.observed.edges[i]);
  }
  if (denied) st.SkipWithError("self-check found denied edges");
}
BENCHMARK(BM_RecommendCalicoSelfCheck)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

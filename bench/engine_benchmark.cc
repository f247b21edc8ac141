// Google Benchmark cases for the foundation: loading a cluster dump, compiling policies,
// whole-cluster reachability, and single verdicts. The clusters come from bench/gen_cluster
// (same seed every run), generated once per process into the temp directory.
//
//   build/release/bench/stockade_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "engine/engine.h"
#include "input/loader.h"

namespace {

namespace fs = std::filesystem;

// Path of a generated cluster with `pods` pods and `policies` NetworkPolicies.
std::string cluster_file(int pods, int policies, bool admin) {
  fs::path p =
      fs::temp_directory_path() / ("stockade-bench-" + std::to_string(pods) + "-" +
                                   std::to_string(policies) + (admin ? "-admin" : "") + ".json");
  if (!fs::exists(p)) {
    std::string cmd = std::string(STOCKADE_GEN_CLUSTER) + " --pods " + std::to_string(pods) +
                      " --policies " + std::to_string(policies) + (admin ? " --admin" : "") +
                      " --out " + p.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  return p.string();
}

struct Loaded {
  stockade::ClusterState state;
  std::unique_ptr<stockade::PolicyEngine> engine;
};

const Loaded& loaded(int pods, int policies, bool admin) {
  static std::map<std::tuple<int, int, bool>, Loaded> cache;
  auto key = std::make_tuple(pods, policies, admin);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  stockade::ClusterLoader loader;
  if (!loader.add_path(cluster_file(pods, policies, admin))) std::abort();
  Loaded l;
  l.state = std::move(loader).finish();
  l.engine = stockade::PolicyEngine::compile(l.state, stockade::build_endpoints(l.state));
  return cache.emplace(key, std::move(l)).first->second;
}

void BM_LoadJson(benchmark::State& st) {
  std::string file =
      cluster_file(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)), false);
  for (auto _ : st) {
    stockade::ClusterLoader loader;
    if (!loader.add_path(file)) st.SkipWithError("load failed");
    auto s = std::move(loader).finish();
    benchmark::DoNotOptimize(s.pods.size());
  }
  st.counters["MB"] = static_cast<double>(fs::file_size(file)) / 1e6;
}
BENCHMARK(BM_LoadJson)->Args({10000, 3000})->Unit(benchmark::kMillisecond);

void BM_Compile(benchmark::State& st) {
  const Loaded& l =
      loaded(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)), st.range(2) != 0);
  for (auto _ : st) {
    auto e = stockade::PolicyEngine::compile(l.state, stockade::build_endpoints(l.state));
    benchmark::DoNotOptimize(e.get());
  }
  st.counters["identities"] = static_cast<double>(l.engine->identity_count());
}
BENCHMARK(BM_Compile)
    ->Args({10000, 3000, 0})
    ->Args({10000, 3000, 1})
    ->Unit(benchmark::kMillisecond);

void BM_ReachSummary(benchmark::State& st) {
  const Loaded& l =
      loaded(static_cast<int>(st.range(0)), static_cast<int>(st.range(1)), st.range(2) != 0);
  for (auto _ : st) {
    auto m = l.engine->reach({});
    auto c = m->counts({}, {});
    benchmark::DoNotOptimize(c.allowed);
  }
}
// 50k and 150k pods (gen_cluster's default 0.3 NetworkPolicies per pod; the 150k dump is about
// 0.9 GB in the temp directory and takes minutes to generate and load): select them with
// --benchmark_filter=BM_ReachSummary/50000 or /150000. Whole-process time and peak memory, side
// by side with another binary: bench/reach_scale.sh.
BENCHMARK(BM_ReachSummary)
    ->Args({10000, 3000, 0})
    ->Args({10000, 3000, 1})
    ->Args({50000, 15000, 0})
    ->Args({150000, 45000, 0})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);

// reach --by workload|namespace: the rows of the whole matrix under their groups (the listing's
// own cost; the matrix is computed once, outside the loop). Arg: 1 workload, 2 namespace.
void BM_ReachGrouped(benchmark::State& st) {
  const Loaded& l = loaded(2000, 600, false);
  auto m = l.engine->reach({});
  const auto by = static_cast<stockade::Granularity>(st.range(0));
  size_t rows = 0;
  for (auto _ : st) {
    auto g = stockade::group_connections(l.engine->endpoints(), *m, {}, {}, by);
    rows = g.rows.size();
    benchmark::DoNotOptimize(rows);
  }
  st.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_ReachGrouped)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// One verdict (egress of the source, ingress of the destination) on random endpoint pairs and
// declared ports. Reported per verdict; "p50_ns" is the median over batches of 1000 verdicts.
void BM_SingleVerdict(benchmark::State& st) {
  const Loaded& l = loaded(10000, 3000, st.range(0) != 0);
  const auto& eps = l.engine->endpoints();
  std::mt19937_64 rng(42);
  struct Q {
    uint32_t s, d;
    stockade::Protocol p;
    uint16_t port;
  };
  std::vector<Q> qs;
  while (qs.size() < 100000) {
    uint32_t s = rng() % eps.size(), d = rng() % eps.size();
    const auto& ports = eps[d].pod.ports;
    if (ports.empty()) continue;
    const auto& cp = ports[rng() % ports.size()];
    qs.push_back({s, d, cp.protocol, cp.port});
  }
  std::vector<double> batch_ns;
  size_t i = 0;
  uint64_t allowed = 0;
  for (auto _ : st) {
    auto t0 = std::chrono::steady_clock::now();
    for (int k = 0; k < 1000; ++k, ++i) {
      const Q& q = qs[i % qs.size()];
      allowed += l.engine->allowed(q.s, q.d, q.p, q.port);
    }
    auto t1 = std::chrono::steady_clock::now();
    batch_ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / 1000);
  }
  benchmark::DoNotOptimize(allowed);
  std::sort(batch_ns.begin(), batch_ns.end());
  st.counters["p50_ns"] = batch_ns.empty() ? 0 : batch_ns[batch_ns.size() / 2];
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 1000);
}
BENCHMARK(BM_SingleVerdict)->Arg(0)->Arg(1);

// The explained verdict (`stockade explain`): policy references and isolation lists included.
void BM_ExplainVerdict(benchmark::State& st) {
  const Loaded& l = loaded(10000, 3000, true);
  const auto& eps = l.engine->endpoints();
  std::mt19937_64 rng(7);
  for (auto _ : st) {
    uint32_t s = rng() % eps.size(), d = rng() % eps.size();
    auto v = l.engine->evaluate(stockade::Peer::of_endpoint(s), stockade::Peer::of_endpoint(d),
                                stockade::Protocol::TCP, 8080);
    benchmark::DoNotOptimize(v.allowed);
  }
}
BENCHMARK(BM_ExplainVerdict);

// The same generated cluster with each NetworkPolicy rewritten as a CiliumNetworkPolicy of the
// same shape (selectors, namespace labels, CIDRs, ports; not the same verdicts everywhere:
// Cilium's CIDRs never match pods): the Cilium compiler's cost and its verdicts' speed beside
// the NetworkPolicy path above.
stockade::ClusterState as_cilium(const stockade::ClusterState& in) {
  using namespace stockade;
  ClusterState s = in;
  auto peer_selector = [](const NetworkPolicyPeer& peer) {
    LabelSelector sel = peer.pod_selector.value_or(LabelSelector{});
    if (peer.namespace_selector) {
      for (SelectorRequirement r : peer.namespace_selector->requirements) {
        r.key = "io.cilium.k8s.namespace.labels." + r.key;
        sel.requirements.push_back(std::move(r));
      }
      // An empty namespaceSelector: every namespace.
      if (peer.namespace_selector->empty())
        sel.requirements.push_back({"io.kubernetes.pod.namespace", SelectorOp::Exists, {}});
    }
    return sel;
  };
  for (const NetworkPolicy& np : in.network_policies) {
    CiliumPolicy cp;
    cp.ns = np.ns;
    cp.name = np.name;
    CiliumSpec spec;
    spec.endpoint_selector = np.pod_selector;
    for (auto [rules, out, affects] : {std::tuple{&np.ingress, &spec.ingress, np.affects_ingress},
                                       std::tuple{&np.egress, &spec.egress, np.affects_egress}}) {
      if (!affects) continue;
      out->emplace();
      for (const NetworkPolicyRule& r : *rules) {
        CiliumRule cr;
        if (!r.peers.empty()) {
          cr.endpoints.emplace();
          for (const NetworkPolicyPeer& peer : r.peers) {
            if (peer.ip_block) {
              if (!cr.cidrs) cr.cidrs.emplace();
              cr.cidrs->push_back({peer.ip_block->cidr, peer.ip_block->except});
            } else {
              cr.endpoints->push_back(peer_selector(peer));
            }
          }
        } else {
          cr.entities = std::vector<std::string>{"all"};
        }
        if (!r.ports.empty()) {
          cr.to_ports.emplace(1);
          for (const NetworkPolicyPort& p : r.ports) {
            CiliumPort port;
            port.protocol = p.effective_protocol();
            if (p.kind == NetworkPolicyPort::Kind::Number) {
              port.kind = CiliumPort::Kind::Range;
              port.port = p.port;
              port.end_port = p.end_port ? p.end_port : p.port;
            } else if (p.kind == NetworkPolicyPort::Kind::Name) {
              port.kind = CiliumPort::Kind::Named;
              port.name = p.name;
            }
            cr.to_ports->front().ports.push_back(port);
          }
        }
        (*out)->push_back(std::move(cr));
      }
      if ((*out)->empty()) (*out)->emplace_back();  // `- {}`: isolates, allows nothing
    }
    cp.specs.push_back(std::move(spec));
    s.cilium_policies.push_back(std::move(cp));
  }
  s.network_policies.clear();
  return s;
}

const Loaded& loaded_cilium() {
  static Loaded l = [] {
    Loaded out;
    out.state = as_cilium(loaded(10000, 3000, false).state);
    out.engine = stockade::PolicyEngine::compile(out.state, stockade::build_endpoints(out.state));
    return out;
  }();
  return l;
}

void BM_CiliumCompile(benchmark::State& st) {
  const Loaded& l = loaded_cilium();
  for (auto _ : st) {
    auto e = stockade::PolicyEngine::compile(l.state, stockade::build_endpoints(l.state));
    benchmark::DoNotOptimize(e.get());
  }
  st.counters["identities"] = static_cast<double>(l.engine->identity_count());
}
BENCHMARK(BM_CiliumCompile)->Unit(benchmark::kMillisecond);

void BM_CiliumReachSummary(benchmark::State& st) {
  const Loaded& l = loaded_cilium();
  for (auto _ : st) {
    auto m = l.engine->reach({});
    auto c = m->counts({}, {});
    benchmark::DoNotOptimize(c.allowed);
  }
}
BENCHMARK(BM_CiliumReachSummary)->Unit(benchmark::kMillisecond);

void BM_CiliumSingleVerdict(benchmark::State& st) {
  const Loaded& l = loaded_cilium();
  const auto& eps = l.engine->endpoints();
  std::mt19937_64 rng(42);
  struct Q {
    uint32_t s, d;
    stockade::Protocol p;
    uint16_t port;
  };
  std::vector<Q> qs;
  while (qs.size() < 100000) {
    uint32_t s = rng() % eps.size(), d = rng() % eps.size();
    const auto& ports = eps[d].pod.ports;
    if (ports.empty()) continue;
    const auto& cp = ports[rng() % ports.size()];
    qs.push_back({s, d, cp.protocol, cp.port});
  }
  size_t i = 0;
  uint64_t allowed = 0;
  for (auto _ : st)
    for (int k = 0; k < 1000; ++k, ++i) {
      const Q& q = qs[i % qs.size()];
      allowed += l.engine->allowed(q.s, q.d, q.p, q.port);
    }
  benchmark::DoNotOptimize(allowed);
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 1000);
}
BENCHMARK(BM_CiliumSingleVerdict);

}  // namespace

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
BENCHMARK(BM_ReachSummary)
    ->Args({10000, 3000, 0})
    ->Args({10000, 3000, 1})
    ->Unit(benchmark::kMillisecond);

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

}  // namespace

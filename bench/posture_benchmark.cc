// Google Benchmark cases for `stockade scan` (posture): the checks alone on a loaded and
// compiled cluster, and the whole command path (load the dump, compile, scan). The clusters
// come from bench/gen_cluster (same seed every run); RBAC objects are added (gen_cluster has
// none): per namespace 4 Roles and 4 RoleBindings to its service accounts and groups, plus
// 40 ClusterRoles with ClusterRoleBindings, some of them risky.
//
//   build/release/bench/stockade_bench --benchmark_filter=Scan --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/engine.h"
#include "input/loader.h"
#include "posture/posture.h"

namespace {

namespace fs = std::filesystem;

std::string posture_cluster_file(int pods) {
  fs::path p =
      fs::temp_directory_path() / ("stockade-bench-posture-" + std::to_string(pods) + ".json");
  if (!fs::exists(p)) {
    std::string cmd = std::string(STOCKADE_GEN_CLUSTER) + " --pods " + std::to_string(pods) +
                      " --out " + p.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  return p.string();
}

std::string rbac_file(const stockade::ClusterState& s) {
  fs::path p = fs::temp_directory_path() / "stockade-bench-posture-rbac.yaml";
  std::ofstream out(p);
  const char* verbs[] = {"[get, list]", "[create, patch]", "[\"*\"]", "[get]"};
  const char* resources[] = {"[pods, services]", "[deployments]", "[configmaps]", "[secrets]"};
  const char* groups[] = {"[\"\"]", "[apps]", "[\"\"]", "[\"\"]"};
  for (const auto& ns : s.namespaces) {
    for (int i = 0; i < 4; ++i) {
      out << "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r" << i
          << ", namespace: " << ns.name << "}\nrules:\n- {apiGroups: " << groups[i]
          << ", resources: " << resources[i] << ", verbs: " << verbs[i] << "}\n";
      out << "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: "
             "b"
          << i << ", namespace: " << ns.name
          << "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r" << i
          << "}\nsubjects: [{kind: ServiceAccount, name: default}, {kind: Group, name: team" << i
          << "}]\n";
    }
  }
  for (int i = 0; i < 40; ++i) {
    out << "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr"
        << i << "}\nrules:\n- {apiGroups: " << groups[i % 4] << ", resources: " << resources[i % 4]
        << ", verbs: " << verbs[(i / 4) % 4] << "}\n";
    out << "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: "
           "{name: crb"
        << i << "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cr" << i
        << "}\nsubjects: [{kind: User, name: user" << i << "}]\n";
  }
  return p.string();
}

stockade::ClusterState load(int pods) {
  stockade::ClusterLoader first;
  if (!first.add_path(posture_cluster_file(pods))) std::abort();
  stockade::ClusterState plain = std::move(first).finish();
  std::string rbac = rbac_file(plain);
  stockade::ClusterLoader loader;
  if (!loader.add_path(posture_cluster_file(pods)) || !loader.add_path(rbac)) std::abort();
  return std::move(loader).finish();
}

void BM_Scan(benchmark::State& st) {
  static stockade::ClusterState state = load(static_cast<int>(st.range(0)));
  static auto engine = stockade::PolicyEngine::compile(state, stockade::build_endpoints(state));
  size_t findings = 0;
  for (auto _ : st) {
    auto r = stockade::posture::scan(state, *engine, {});
    if (!r) std::abort();
    findings = r->findings.size();
    benchmark::DoNotOptimize(r);
  }
  st.counters["pods"] = static_cast<double>(state.pods.size());
  st.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_Scan)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

// What `stockade scan -f dump.json -o json` spends before printing: load, compile, scan,
// render.
void BM_ScanEndToEnd(benchmark::State& st) {
  int pods = static_cast<int>(st.range(0));
  load(pods);  // generate the files outside the timing
  std::string rbac = (fs::temp_directory_path() / "stockade-bench-posture-rbac.yaml").string();
  for (auto _ : st) {
    stockade::ClusterLoader loader;
    if (!loader.add_path(posture_cluster_file(pods)) || !loader.add_path(rbac)) std::abort();
    stockade::ClusterState s = std::move(loader).finish();
    auto engine = stockade::PolicyEngine::compile(s, stockade::build_endpoints(s));
    auto r = stockade::posture::scan(s, *engine, {});
    if (!r) std::abort();
    std::string json = stockade::posture::render_json(*r);
    benchmark::DoNotOptimize(json);
  }
}
BENCHMARK(BM_ScanEndToEnd)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

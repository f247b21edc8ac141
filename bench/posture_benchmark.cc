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

// `admin`: with the generator's AdminNetworkPolicies, BaselineAdminNetworkPolicy and
// ClusterNetworkPolicies (the policy lint's shadowed-rule search runs on their rules).
std::string posture_cluster_file(int pods, bool admin = false) {
  fs::path p = fs::temp_directory_path() / ("stockade-bench-posture-" + std::to_string(pods) +
                                            (admin ? "-admin" : "") + ".json");
  if (!fs::exists(p)) {
    std::string cmd = std::string(STOCKADE_GEN_CLUSTER) + " --pods " + std::to_string(pods) +
                      (admin ? " --admin" : "") + " --out " + p.string() + " 2>/dev/null";
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

stockade::ClusterState load(int pods, bool admin = false) {
  stockade::ClusterLoader first;
  if (!first.add_path(posture_cluster_file(pods, admin))) std::abort();
  stockade::ClusterState plain = std::move(first).finish();
  std::string rbac = rbac_file(plain);
  stockade::ClusterLoader loader;
  if (!loader.add_path(posture_cluster_file(pods, admin)) || !loader.add_path(rbac)) std::abort();
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

void BM_ScanWithAdminPolicies(benchmark::State& st) {
  static stockade::ClusterState state = load(static_cast<int>(st.range(0)), true);
  static auto engine = stockade::PolicyEngine::compile(state, stockade::build_endpoints(state));
  size_t findings = 0;
  for (auto _ : st) {
    auto r = stockade::posture::scan(state, *engine, {});
    if (!r) std::abort();
    findings = r->findings.size();
    benchmark::DoNotOptimize(r);
  }
  st.counters["pods"] = static_cast<double>(state.pods.size());
  st.counters["cluster_policies"] = static_cast<double>(state.cluster_policies.size());
  st.counters["findings"] = static_cast<double>(findings);
}
BENCHMARK(BM_ScanWithAdminPolicies)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

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

// The hostile RBAC shapes of issue 25 (docs/notes/hostile-output.md): st.range(0) ClusterRoles
// that all aggregate each other (220: the tester's 50 KB file), and one ClusterRole of
// st.range(0) rules bound st.range(0) times (10000: 2.7 MB). Load and scan.
std::string rbac_mesh(int n) {
  std::string y;
  for (int i = 0; i < n; ++i)
    y += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: m" +
         std::to_string(i) +
         ", labels: {mesh: 'yes'}}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {mesh: "
         "'yes'}}]}\nrules:\n- {apiGroups: [''], resources: [r" +
         std::to_string(i) + "], verbs: [get]}\n";
  return y;
}

std::string rbac_bound(int n) {
  std::string y =
      "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: "
      "big}\nrules:\n";
  for (int i = 0; i < n; ++i)
    y += "- {apiGroups: [''], resources: [res" + std::to_string(i) + "], verbs: [get, list]}\n";
  for (int i = 0; i < n; ++i)
    y += "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b" +
         std::to_string(i) + ", namespace: ns" + std::to_string(i % 100) +
         "}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: big}\n"
         "subjects: [{kind: ServiceAccount, name: sa" +
         std::to_string(i) + ", namespace: ns" + std::to_string(i % 100) + "}]\n";
  return y;
}

void scan_text(benchmark::State& st, const std::string& yaml) {
  for (auto _ : st) {
    stockade::ClusterLoader loader;
    if (!loader.add_text(yaml, "rbac.yaml")) std::abort();
    stockade::ClusterState s = std::move(loader).finish();
    auto engine = stockade::PolicyEngine::compile(s, stockade::build_endpoints(s));
    auto r = stockade::posture::scan(s, *engine, {});
    if (!r) std::abort();
    benchmark::DoNotOptimize(r);
  }
  st.counters["bytes"] = static_cast<double>(yaml.size());
}

void BM_ScanRbacMesh(benchmark::State& st) {
  scan_text(st, rbac_mesh(static_cast<int>(st.range(0))));
}
BENCHMARK(BM_ScanRbacMesh)->Arg(220)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ScanRbacBoundManyTimes(benchmark::State& st) {
  scan_text(st, rbac_bound(static_cast<int>(st.range(0))));
}
BENCHMARK(BM_ScanRbacBoundManyTimes)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

// Google Benchmark case for the admission webhook's handler alone (server/admission.h): an
// AdmissionReview judged on a served state of gen_cluster's cluster (--admin: with
// AdminNetworkPolicies, the BaselineAdminNetworkPolicy and ClusterNetworkPolicies) and
// gen_flows' traffic posted to it, as `stockade serve` holds them. The reviews cycle through
// NetworkPolicy creates (a deny-all, an allow), updates and deletes of policies in force, in
// every namespace, with the lint on; every answer's time is kept and the median and p99 are
// reported as counters (ms). bench/webhook_apiserver.py measures the same through a real
// kube-apiserver.
//
//   build/release/bench/stockade_bench --benchmark_filter=AdmissionReview
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "input/loader.h"
#include "server/admission.h"
#include "server/flow_journal.h"
#include "server/state.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string generated(int pods, const std::string& what) {
  const std::string base = "stockade-bench-admission-" + std::to_string(pods);
  fs::path cluster = fs::temp_directory_path() / (base + ".json");
  fs::path flows = fs::temp_directory_path() / (base + "-flows.json");
  if (!fs::exists(cluster)) {
    std::string cmd = std::string(STOCKADE_GEN_CLUSTER) + " --pods " + std::to_string(pods) +
                      " --admin --out " + cluster.string() + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  if (!fs::exists(flows)) {
    std::string cmd = std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster.string() +
                      " --records " + std::to_string(pods * 4) + " --out " + flows.string() +
                      " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) std::abort();
  }
  return (what == "cluster" ? cluster : flows).string();
}

std::string review(const std::string& op, const std::string& ns, const std::string& name,
                   const json& object) {
  json r = {
      {"uid", "bench"},
      {"kind", {{"group", "networking.k8s.io"}, {"version", "v1"}, {"kind", "NetworkPolicy"}}},
      {"operation", op},
      {"namespace", ns},
      {"name", name}};
  if (!object.is_null()) r["object"] = object;
  return json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", r}}
      .dump();
}

// Creates of a deny-all and of an allow, an update and a delete of a policy in force, in each
// application namespace that has policies.
std::vector<std::string> reviews(const stockade::ClusterState& s) {
  std::vector<std::string> out;
  for (const stockade::NetworkPolicy& p : s.network_policies) {
    if (out.size() >= 400) break;
    if (!out.empty() && p.ns == s.network_policies[&p - s.network_policies.data() - 1].ns) continue;
    auto np = [&](const std::string& name, const json& spec) {
      return json{{"apiVersion", "networking.k8s.io/v1"},
                  {"kind", "NetworkPolicy"},
                  {"metadata", {{"name", name}, {"namespace", p.ns}}},
                  {"spec", spec}};
    };
    out.push_back(review("CREATE", p.ns, "bench-deny",
                         np("bench-deny", {{"podSelector", json::object()},
                                           {"policyTypes", {"Ingress", "Egress"}}})));
    out.push_back(review(
        "CREATE", p.ns, "bench-allow",
        np("bench-allow", {{"podSelector", json::object()},
                           {"ingress", {{{"from", {{{"podSelector", json::object()}}}}}}}})));
    out.push_back(review("UPDATE", p.ns, p.name,
                         np(p.name, {{"podSelector", {{"matchLabels", {{"app", "nothing"}}}}},
                                     {"policyTypes", {"Ingress"}}})));
    out.push_back(review("DELETE", p.ns, p.name, nullptr));
  }
  return out;
}

struct Served {
  fs::path dir;
  stockade::server::FlowJournal journal;
  std::unique_ptr<stockade::store::Store> db;  // where serve keeps the traffic
  std::unique_ptr<stockade::audit::LiveAudit> audit;
  std::unique_ptr<stockade::server::ServerState> state;
  std::unique_ptr<stockade::server::Admission> admission, without_lint;
  std::vector<std::string> bodies;
  // The journal (hundreds of MB) is the run's own: removed at exit.
  ~Served() {
    admission.reset();
    without_lint.reset();
    state.reset();
    audit.reset();
    db.reset();
    if (!dir.empty()) fs::remove_all(dir);
  }
};

Served& served(int pods) {
  static Served s;
  if (s.state) return s;
  s.dir = fs::temp_directory_path() / ("stockade-bench-admission-" + std::to_string(::getpid()));
  fs::create_directories(s.dir);
  if (!s.journal.open((s.dir / "flows").string())) std::abort();
  auto db = stockade::store::open_store("sqlite:" + (s.dir / "store.db").string());
  if (!db) std::abort();
  s.db = std::move(*db);
  s.audit = std::make_unique<stockade::audit::LiveAudit>(*s.db, stockade::audit::AuditOptions{});
  if (!s.audit->load()) std::abort();
  const std::string cluster = generated(pods, "cluster");
  s.state = std::make_unique<stockade::server::ServerState>(
      [cluster]() -> stockade::Result<stockade::ClusterState> {
        stockade::ClusterLoader loader;
        if (auto r = loader.add_path(cluster); !r) return tl::unexpected(r.error());
        return std::move(loader).finish();
      },
      s.journal, stockade::server::StateOptions{}, s.audit.get());
  if (!s.state->rebuild()) std::abort();
  std::ifstream in(generated(pods, "flows"));
  std::string records((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!s.state->ingest(records)) std::abort();
  stockade::server::AdmissionOptions o;
  o.mode = "enforce";
  o.guard_default_deny = o.guard_public_ingress = true;
  s.admission = std::make_unique<stockade::server::Admission>(*s.state, o);
  o.lint = false;
  s.without_lint = std::make_unique<stockade::server::Admission>(*s.state, o);
  s.bodies = reviews(s.state->snapshot()->state);
  // The traffic read once, as a running server has.
  s.admission->review(s.bodies.front());
  s.without_lint->review(s.bodies.front());
  return s;
}

void BM_AdmissionReview(benchmark::State& st) {
  Served& s = served(static_cast<int>(st.range(0)));
  // Wall time, and the thread's CPU time: on a shared machine the wall time is mostly waiting
  // for a core, the CPU time is what an idle core would take.
  std::vector<double> ms, cpu_ms;
  size_t i = 0;
  auto cpu_now = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
  };
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    auto a = (st.range(1) ? s.admission : s.without_lint)->review(s.bodies[i++ % s.bodies.size()]);
    benchmark::DoNotOptimize(a);
    cpu_ms.push_back(cpu_now() - c0);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  auto pct = [](std::vector<double>& v, size_t p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, v.size() * p / 100)];
  };
  st.counters["p50_ms"] = pct(ms, 50);
  st.counters["p99_ms"] = pct(ms, 99);
  st.counters["max_ms"] = ms.back();
  st.counters["cpu_p50_ms"] = pct(cpu_ms, 50);
  st.counters["cpu_p99_ms"] = pct(cpu_ms, 99);
  st.counters["reviews"] = static_cast<double>(s.bodies.size());
}
// Args: pods, lint (1: on, as by default).
BENCHMARK(BM_AdmissionReview)
    ->Args({50000, 1})
    ->Args({50000, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(400);

// For comparison, main's way (before src/server/admission.cc) of judging a change: the whole
// changed cluster compiled again (main also read the journals again on every review, which is
// not counted here).
void BM_AdmissionImpactWholeCluster(benchmark::State& st) {
  Served& s = served(static_cast<int>(st.range(0)));
  auto snap = s.state->snapshot();
  auto kept = s.state->observe_kept(0, 0, 0);
  if (!kept) std::abort();
  const stockade::NetworkPolicy& p = snap->state.network_policies.front();
  const stockade::server::PolicyChange change{
      "DELETE", "networking.k8s.io", "NetworkPolicy", p.ns, p.name, ""};
  for (auto _ : st) {
    auto whole = stockade::server::change_impact(*kept->first, kept->second, change, 10, true);
    benchmark::DoNotOptimize(whole);
  }
}
// An AdminNetworkPolicy change concerns the edges of the pods its subject selects: a create that
// denies one namespace's ingress from another (arg 0: the subject is that namespace) or every
// namespace's ingress from it (arg 1: every pod, the worst case: every allowed edge is judged
// again with every policy).
void BM_AdmissionReviewAdminPolicy(benchmark::State& st) {
  Served& s = served(static_cast<int>(st.range(0)));
  const auto& nss = s.state->snapshot()->state.namespaces;
  const json subject =
      st.range(1)
          ? json{{"namespaces", json::object()}}
          : json{{"namespaces", {{"matchLabels", {{"kubernetes.io/metadata.name", nss[1].name}}}}}};
  const json anp = {
      {"apiVersion", "policy.networking.k8s.io/v1alpha1"},
      {"kind", "AdminNetworkPolicy"},
      {"metadata", {{"name", "bench"}}},
      {"spec",
       {{"priority", 3},
        {"subject", subject},
        {"ingress",
         {{{"name", "deny"},
           {"action", "Deny"},
           {"from",
            {{{"namespaces",
               {{"matchLabels", {{"kubernetes.io/metadata.name", nss[2].name}}}}}}}}}}}}}};
  json r = {{"uid", "bench"},
            {"kind",
             {{"group", "policy.networking.k8s.io"},
              {"version", "v1alpha1"},
              {"kind", "AdminNetworkPolicy"}}},
            {"operation", "CREATE"},
            {"name", "bench"},
            {"object", anp}};
  const std::string body = json{
      {"apiVersion", "admission.k8s.io/v1"},
      {"kind", "AdmissionReview"},
      {"request", r}}.dump();
  auto& admission = st.range(2) ? s.admission : s.without_lint;
  for (auto _ : st) benchmark::DoNotOptimize(admission->review(body));
}
// Args: pods, subject (0: one namespace, 1: every namespace), lint (1: on, as by default).
BENCHMARK(BM_AdmissionReviewAdminPolicy)
    ->Args({50000, 0, 1})
    ->Args({50000, 0, 0})
    ->Args({50000, 1, 1})
    ->Args({50000, 1, 0})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

BENCHMARK(BM_AdmissionImpactWholeCluster)->Arg(50000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

// Google Benchmark cases for `recommend --l7` (src/recommend/l7*.cc): Hubble HTTP records of
// a REST application (the shape of tests/data/l7: a SYN, a REQUEST and a RESPONSE record per
// request, ~1,000,000 records over ~1,000 distinct paths), built in memory with a fixed seed.
//
//   BM_L7Observe    reading the records (parse, resolve, aggregate the edges and the requests)
//   BM_L7Recommend  the HTTP rules from the aggregated requests (generalise, group, write)
//   BM_L7Verify     every distinct observed request judged by the engine with those rules
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "input/loader.h"
#include "recommend/l7.h"
#include "recommend/observed.h"

namespace {

using namespace stockade;

constexpr int kRequests = 333334;  // x3 records

std::string cluster_yaml() {
  std::string y;
  const char* apps[] = {"web", "api", "orders", "worker"};
  int n = 10;
  for (const char* a : apps)
    for (int i = 0; i < 2; ++i)
      y += "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + std::string(a) + "-" +
           std::to_string(i) + ", namespace: shop, labels: {app: " + a +
           "}}\nspec: {containers: [{name: c, image: i}]}\nstatus: {podIP: 10.0.0." +
           std::to_string(n++) + "}\n";
  return y;
}

std::string peer(const std::string& app, int i) {
  return "{\"namespace\":\"shop\",\"pod_name\":\"" + app + "-" + std::to_string(i) +
         "\",\"labels\":[\"k8s:app=" + app + "\"],\"workloads\":[{\"name\":\"" + app +
         "\",\"kind\":\"Deployment\"}]}";
}

std::string records() {
  std::mt19937_64 rng(23);
  std::string out;
  out.reserve(size_t{kRequests} * 3 * 420);
  char hex[9];
  for (int r = 0; r < kRequests; ++r) {
    int k = static_cast<int>(rng() % 100);
    std::string client = k < 80 ? "web" : "worker";
    std::string server = k < 50 ? "api" : "orders";
    std::string method = k % 3 == 0 ? "PUT" : "GET";
    std::string path;
    if (k < 30)
      path = "/api/v1/users/" + std::to_string(rng() % 400);
    else if (k < 50)
      path = "/api/v1/products/" + std::to_string(rng() % 300) + "/reviews";
    else {
      std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rng() % 300));
      path = std::string("/orders/") + hex + "-7f6d-4c1e-9a8b-112233445566/items";
    }
    int cp = static_cast<int>(rng() % 2), sp = static_cast<int>(rng() % 2);
    std::string port = server == "api" ? "8080" : "8081";
    std::string ts = "\"time\":\"2026-01-01T00:" + std::to_string(10 + r / 10000 % 50) + ":00." +
                     std::to_string(100000000 + r) + "Z\"";
    std::string src = "\"source\":" + peer(client, cp), dst = "\"destination\":" + peer(server, sp);
    std::string l4 = "\"l4\":{\"TCP\":{\"source_port\":40000,\"destination_port\":" + port + "}}";
    out += "{\"flow\":{" + ts + ",\"verdict\":\"FORWARDED\"," + l4.substr(0, l4.size() - 2) +
           ",\"flags\":{\"SYN\":true}}}," + src + "," + dst + ",\"Type\":\"L3_L4\"}}\n";
    std::string http = "\"http\":{\"method\":\"" + method + "\",\"url\":\"http://" + server + ":" +
                       port + path + "\",\"protocol\":\"HTTP/1.1\"";
    out += "{\"flow\":{" + ts + ",\"verdict\":\"FORWARDED\"," + l4 + "," + src + "," + dst +
           ",\"Type\":\"L7\",\"l7\":{\"type\":\"REQUEST\"," + http + "}}}}\n";
    out += "{\"flow\":{" + ts +
           ",\"verdict\":\"FORWARDED\",\"l4\":{\"TCP\":{\"source_port\":" + port +
           ",\"destination_port\":40000}},\"source\":" + peer(server, sp) +
           ",\"destination\":" + peer(client, cp) +
           ",\"Type\":\"L7\",\"is_reply\":true,\"l7\":{\"type\":\"RESPONSE\",\"latency_ns\":"
           "\"1200000\"," +
           http + ",\"code\":200}}}}\n";
  }
  return out;
}

struct Data {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  std::string text;
  Observed observed;
};

Data& data() {
  static Data* d = [] {
    auto* x = new Data;
    ClusterLoader l;
    (void)l.add_text(cluster_yaml(), "cluster.yaml");
    x->state = std::move(l).finish();
    x->engine = PolicyEngine::compile(x->state, build_endpoints(x->state));
    x->text = records();
    x->observed = *observe_flows_text(x->state, *x->engine, x->text, {});
    return x;
  }();
  return *d;
}

void BM_L7Observe(benchmark::State& st) {
  Data& d = data();
  for (auto _ : st) {
    auto o = observe_flows_text(d.state, *d.engine, d.text, {});
    benchmark::DoNotOptimize(o->l7.http.size());
  }
  st.counters["records"] = static_cast<double>(d.observed.records);
  st.counters["records/s"] =
      benchmark::Counter(static_cast<double>(d.observed.records), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_L7Observe)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_L7Recommend(benchmark::State& st) {
  Data& d = data();
  L7Recommendation r;
  for (auto _ : st) {
    r = recommend_l7(d.state, *d.engine, d.observed.l7, {});
    benchmark::DoNotOptimize(r.policies.size());
  }
  st.counters["distinct_requests"] = static_cast<double>(d.observed.l7.http.size());
  st.counters["http_rules"] = static_cast<double>(r.http_rules);
}
BENCHMARK(BM_L7Recommend)->Unit(benchmark::kMillisecond);

void BM_L7Verify(benchmark::State& st) {
  Data& d = data();
  L7Recommendation r = recommend_l7(d.state, *d.engine, d.observed.l7, {});
  ClusterLoader l;
  for (const L7Policy& p : r.policies) (void)l.add_text(p.yaml, p.name);
  ClusterState s = d.state;
  for (CiliumPolicy& c : std::move(l).finish().cilium_policies) s.cilium_policies.push_back(c);
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  for (auto _ : st) {
    auto refused = refused_requests(*engine, d.observed.l7, 1);
    if (!refused.empty()) st.SkipWithError(refused.front().c_str());
  }
  st.counters["requests"] = static_cast<double>(d.observed.l7.http.size());
}
BENCHMARK(BM_L7Verify)->Unit(benchmark::kMillisecond);

}  // namespace

// `stockade serve` with the threat detectors (signals as audit events and metrics, from flow
// records and from agent batches) and shadow (staged) policies, as the process users run.
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/event.h"
#include "flow/agent_batch.h"
#include "support/run_command.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::test::gunzip;
using stockade::test::ServeProcess;
using stockade::test::slurp;

namespace {

const fs::path kSource = STOCKADE_SOURCE_DIR;
const int64_t kStart = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z, the demo's

// Agent events of a port scan (refused) from shop/cart's address to data/postgres-0's.
std::string scan_events() {
  std::string out;
  for (int p = 1; p <= 50; ++p)
    out += R"({"time":")" + stockade::agent::format_rfc3339_nano(kStart + p * 1000000LL) +
           R"(","type":"connect","protocol":"TCP","direction":"outbound","outcome":"refused",)" +
           R"("src":{"ip":"10.244.2.99","port":40000},"dst":{"ip":"10.244.1.60","port":)" +
           std::to_string(p) + R"(},"node":"n1"})" + "\n";
  return out;
}

nlohmann::json get_json(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path.c_str());
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  EXPECT_EQ(r->status, 200) << path << ": " << r->body;
  return nlohmann::json::parse(r->body, nullptr, false);
}

}  // namespace

// Ordinary traffic (the demo's) raises nothing; a port scan in records and a host sweep in an
// agent batch each become one audit event naming source and target, counted in /metrics (which
// promtool accepts).
TEST(ServeDetect, SignalsBecomeAuditEventsAndMetrics) {
  const fs::path dir = stockade::test::fresh_dir("stockade-serve", "detect");
  ServeProcess serve({"-f", (kSource / "demo/cluster").string(), "--store",
                      "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
                     dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  auto r = c.Post("/api/v1/flows", gunzip(kSource / "demo/flows/hubble.json.gz"),
                  "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto kinds = [&] {
    std::map<std::string, std::vector<nlohmann::json>> out;
    const nlohmann::json page =
        get_json(c, "/api/v1/audit?limit=10000");  // named: outlives the loop
    for (const auto& e : page["events"]) out[e["kind"].get<std::string>()].push_back(e);
    return out;
  };
  EXPECT_FALSE(kinds().contains("port-scan"));
  // The demo's times are long past: their windows are closed as soon as they are read.
  r = c.Post("/api/v1/flows", scan_events(), "application/x-ndjson");
  ASSERT_EQ(r->status, 200) << r->body;
  auto k = kinds();
  ASSERT_EQ(k["port-scan"].size(), 1u) << get_json(c, "/api/v1/audit?limit=10000").dump();
  EXPECT_EQ(k["port-scan"][0]["src"], "10.244.2.99");
  EXPECT_EQ(k["port-scan"][0]["dst"], "data/postgres-0");  // named by the demo's records
  EXPECT_EQ(k["port-scan"][0]["detail"]["ports"], 50);

  // An agent's batch: 30 unanswered edges to 30 addresses on TCP/6379.
  stockade::batch::AgentBatch b;
  b.node = "n1", b.boot_id = "boot", b.seq = 1;
  b.window_start = kStart + 5000000000LL, b.window_end = kStart + 6000000000LL;
  for (int h = 1; h <= 30; ++h) {
    stockade::batch::Edge e;
    e.src.ip = *stockade::IpAddr::parse("10.244.2.80");
    e.dst.ip = *stockade::IpAddr::parse("10.244.9." + std::to_string(h));
    e.protocol = stockade::L4Protocol::TCP;
    e.port = 6379;
    e.stats = {1, b.window_start, b.window_end, 0, 1, 0};
    b.edges.push_back(e);
  }
  r = c.Post("/api/v1/agent/batches", stockade::batch::encode_json(b), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  k = kinds();
  ASSERT_EQ(k["host-sweep"].size(), 1u);
  EXPECT_EQ(k["host-sweep"][0]["dst"], "10.244.9.0/27");
  EXPECT_EQ(k["host-sweep"][0]["port"], 6379);
  EXPECT_EQ(k["host-sweep"][0]["detail"]["targets"], 30);

  const std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("stockade_detect_signals_total{type=\"port-scan\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("stockade_detect_signals_total{type=\"host-sweep\"} 1\n"),
            std::string::npos);
  EXPECT_NE(metrics.find("stockade_detect_signals_total{type=\"syn-flood\"} 0\n"),
            std::string::npos);
  if (::access("/usr/bin/promtool", X_OK) == 0) {
    std::ofstream(dir / "metrics.txt") << metrics;
    auto p = stockade::test::run_command("promtool check metrics < " +
                                         (dir / "metrics.txt").string() + " 2>&1");
    EXPECT_EQ(p.status, 0) << p.out;
  }
  fs::remove_all(dir);
}

// A staged set changes nothing in force; its report counts, per policy and rule, the observed
// edges it would allow and block with examples, and agrees with simulate on what breaks; it is
// listed, replaced, deleted; promoting needs a cluster (409 from files, as apply).
TEST(ServeShadow, StagedPoliciesCountWhatTheyWouldAllowAndBlock) {
  const fs::path dir = stockade::test::fresh_dir("stockade-serve", "shadow");
  ServeProcess serve(
      {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
       "--store", "sqlite:" + (dir / "db").string(), "--listen", "127.0.0.1:0"},
      dir / "log");
  ASSERT_GT(serve.port, 0) << slurp(dir / "log");
  auto c = serve.client();
  ASSERT_EQ(
      c.Post("/api/v1/flows", gunzip(kSource / "demo/flows/hubble.json.gz"), "application/x-ndjson")
          ->status,
      200);
  const std::string body = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-prometheus-scrape, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
    ports: [{protocol: TCP, port: 9999}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate, namespace: monitoring}
spec: {podSelector: {}, policyTypes: [Egress]}
)";
  const std::string map_before = c.Get("/api/v1/map")->body;
  auto r = c.Post("/api/v1/shadow/tighten", body, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(c.Get("/api/v1/map")->body, map_before);  // nothing applied

  // The demo's records are older than the staging: ask for every record kept.
  auto rep = get_json(c, "/api/v1/shadow/tighten?since=2020-01-01T00:00:00Z");
  ASSERT_EQ(rep["policies"].size(), 2u) << rep.dump();
  auto simulate = c.Post("/api/v1/simulate?by=pod", body, "application/yaml");
  ASSERT_EQ(simulate->status, 200);
  const auto sim = nlohmann::json::parse(simulate->body);
  EXPECT_EQ(rep["summary"]["newly_blocked"], sim["flows"]["summary"]["broken"]) << rep.dump();
  EXPECT_GT(rep["summary"]["newly_blocked"].get<int>(), 0);
  for (const auto& p : rep["policies"]) {
    EXPECT_GT(p["blocked"].get<int>(), 0) << p.dump();
    ASSERT_FALSE(p["rules"].empty()) << p.dump();
    const auto& rule = p["rules"][0];
    EXPECT_EQ(rule["rule"], -1) << "blocked by isolation, no rule allows: " << p.dump();
    ASSERT_FALSE(rule["examples"].empty());
    EXPECT_EQ(rule["examples"][0]["verdict"], "block");
    if (p["name"] == "isolate") {
      EXPECT_EQ(rule["direction"], "egress");
      EXPECT_EQ(rule["examples"][0]["src"].get<std::string>().rfind("monitoring/", 0), 0u);
    } else {
      EXPECT_EQ(rule["direction"], "ingress");
      EXPECT_EQ(rule["examples"][0]["dst"].get<std::string>().rfind("shop/", 0), 0u);
    }
  }
  // A rule that allows: the scrape back on its port, counted as allowed by rule 0.
  std::string allow = body.substr(0, body.find("---"));
  allow.replace(allow.find("9999"), 4, "metrics");
  ASSERT_EQ(c.Post("/api/v1/shadow/tighten", allow, "application/yaml")->status, 200);
  rep = get_json(c, "/api/v1/shadow/tighten?since=2020-01-01T00:00:00Z");
  ASSERT_EQ(rep["policies"].size(), 1u);
  bool allowed_by_rule0 = false;
  for (const auto& rule : rep["policies"][0]["rules"])
    if (rule["rule"] == 0 && rule["allowed"].get<int>() > 0) allowed_by_rule0 = true;
  EXPECT_TRUE(allowed_by_rule0) << rep.dump();

  // Since staging (the default), the old records are not counted.
  EXPECT_EQ(get_json(c, "/api/v1/shadow/tighten")["summary"]["edges"], 0);
  auto list = get_json(c, "/api/v1/shadow");
  ASSERT_EQ(list["staged"].size(), 1u);
  EXPECT_EQ(list["staged"][0]["name"], "tighten");
  EXPECT_EQ(c.Post("/api/v1/shadow/bad", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
                   "application/yaml")
                ->status,
            400);
  EXPECT_EQ(c.Post("/api/v1/shadow/tighten/promote", "", "application/json")->status, 409);
  EXPECT_EQ(c.Delete("/api/v1/shadow/tighten")->status, 200);
  EXPECT_EQ(c.Get("/api/v1/shadow/tighten")->status, 404);
  EXPECT_EQ(c.Delete("/api/v1/shadow/tighten")->status, 404);
  EXPECT_NE(c.Get("/metrics")->body.find("stockade_shadow_staged_sets 0\n"), std::string::npos);
  fs::remove_all(dir);
}

// stockade serve under concurrent agents (group commit of agent batches): every batch the server
// acknowledged is in the store after a kill -9 of the server, whole and once; the agents then
// send again what was not acknowledged, and the store and the map count each batch once.
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flow/agent_batch.h"
#include "input/loader.h"
#include "store/store.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::test::ServeProcess;
using stockade::test::slurp;

namespace {

constexpr int kAgents = 12;
constexpr uint64_t kBatches = 40;  // per agent
constexpr int64_t kT0 = 1'790'000'000LL * 1'000'000'000LL;

std::string boot_of(int agent) {
  char b[33];
  std::snprintf(b, sizeof b, "%032x", agent + 1);
  return b;
}

// The demo's pod addresses.
const std::vector<stockade::IpAddr>& pod_ips() {
  static const std::vector<stockade::IpAddr> ips = [] {
    stockade::ClusterLoader loader;
    (void)loader.add_path((fs::path(STOCKADE_SOURCE_DIR) / "demo/cluster").string());
    const stockade::ClusterState cluster = std::move(loader).finish();
    std::vector<stockade::IpAddr> out;
    for (const auto& pod : cluster.pods)
      if (!pod.spec.host_network && !pod.ips.empty()) out.push_back(pod.ips.front());
    return out;
  }();
  return ips;
}

// Agent `a`'s batch `seq`: two edges between demo pods on a port of its own, each counted once
// per batch, so the store's totals say how many of its batches it holds.
std::string batch_body(int agent, uint64_t seq) {
  const auto& ips = pod_ips();
  stockade::batch::AgentBatch b;
  b.node = "load-node-" + std::to_string(agent);
  b.boot_id = boot_of(agent);
  b.seq = seq;
  b.window_start = kT0 + static_cast<int64_t>(seq) * 1'000'000'000LL;
  b.window_end = b.window_start + 1'000'000'000LL;
  for (int k = 0; k < 2; ++k) {
    stockade::batch::Edge e;
    e.src.ip = ips[static_cast<size_t>(agent) % ips.size()];
    e.dst.ip = ips[static_cast<size_t>(agent + 1 + k) % ips.size()];
    e.protocol = stockade::L4Protocol::TCP;
    e.port = static_cast<uint16_t>(20000 + agent);
    e.stats.count = e.stats.established = 1;
    e.stats.first_seen = b.window_start;
    e.stats.last_seen = b.window_start + 1;
    b.edges.push_back(e);
  }
  return stockade::batch::gzip(stockade::batch::encode_json(b));
}

// Each agent sends its batches in order, one at a time, from `next[a]`, until it has sent
// kBatches or the server stops answering; next[a] ends as its first batch not acknowledged.
void run_agents(int port, std::vector<uint64_t>& next, std::atomic<uint64_t>& acked,
                std::atomic<bool>& stop) {
  std::vector<std::thread> threads;
  for (int a = 0; a < kAgents; ++a)
    threads.emplace_back([&, a] {
      httplib::Client c("127.0.0.1", port);
      c.set_connection_timeout(5, 0);
      c.set_read_timeout(60, 0);
      httplib::Headers gz = {{"Content-Encoding", "gzip"}};
      while (next[a] <= kBatches && !stop) {
        auto r = c.Post("/api/v1/agent/batches", gz, batch_body(a, next[a]), "application/json");
        if (!r) return;  // the server is gone: the batch was not acknowledged
        if (r->status == 429 || r->status == 503) {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
        ASSERT_EQ(r->status, 200) << r->body;
        ++next[a];
        ++acked;
      }
    });
  for (auto& t : threads) t.join();
}

// Lifetime count of each agent's edges in the store (both edges carry the same count).
std::vector<uint64_t> stored_counts(const fs::path& db) {
  std::vector<uint64_t> counts(kAgents, 0);
  auto store = stockade::store::open_store("sqlite:" + db.string(), {});
  EXPECT_TRUE(store) << store.error().str();
  if (!store) return counts;
  auto edges = (*store)->lifetime_edges();
  EXPECT_TRUE(edges);
  for (const auto& e : *edges) {
    const int a = e.port - 20000;
    if (a >= 0 && a < kAgents) counts[a] += e.stats.count;
  }
  return counts;
}

}  // namespace

TEST(ServeLoad, AcknowledgedBatchesSurviveAKill9AndResentOnesCountOnce) {
  const fs::path dir = stockade::test::fresh_dir("stockade-serve-load", "kill9");
  const fs::path src = STOCKADE_SOURCE_DIR;
  const std::vector<std::string> args = {"-f",       (src / "demo/cluster").string(),
                                         "--store",  "sqlite:" + (dir / "db").string(),
                                         "--listen", "127.0.0.1:0"};
  ASSERT_GE(pod_ips().size(), 4u);
  std::vector<uint64_t> next(kAgents, 1);
  std::atomic<uint64_t> acked{0};
  {
    ServeProcess serve(args, dir / "log");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log");
    std::atomic<bool> stop{false};
    std::thread agents([&] { run_agents(serve.port, next, acked, stop); });
    // Kill -9 while the agents are sending: once a third of the batches are acknowledged
    // (a generous wait; if every batch is through first, the kill comes after them all).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (acked < kAgents * kBatches / 3 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    serve.kill(SIGKILL);
    agents.join();
  }
  ASSERT_GE(acked.load(), kAgents * kBatches / 3);
  // Every acknowledged batch is in the store, whole; at most the one in flight per agent more.
  std::vector<uint64_t> counts = stored_counts(dir / "db");
  uint64_t total_acked = 0;
  for (int a = 0; a < kAgents; ++a) {
    const uint64_t acknowledged = next[a] - 1;
    total_acked += acknowledged;
    EXPECT_EQ(counts[a] % 2, 0u) << "agent " << a << ": half a batch stored";
    EXPECT_GE(counts[a] / 2, acknowledged) << "agent " << a << ": an acknowledged batch is lost";
    EXPECT_LE(counts[a] / 2, acknowledged + 1) << "agent " << a;
  }
  EXPECT_EQ(total_acked, acked.load());

  // The agents send again what was not acknowledged; the server restarted on the same store
  // takes each batch once.
  {
    ServeProcess serve(args, dir / "log2");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log2");
    std::atomic<bool> stop{false};
    run_agents(serve.port, next, acked, stop);
    for (int a = 0; a < kAgents; ++a) EXPECT_EQ(next[a], kBatches + 1) << "agent " << a;
    auto c = serve.client();
    auto map = nlohmann::json::parse(c.Get("/api/v1/map?by=pod")->body);
    std::vector<uint64_t> in_map(kAgents, 0);
    for (const auto& e : map["edges"]) {
      const int a = e["port"].get<int>() - 20000;
      if (a >= 0 && a < kAgents) in_map[a] += e["count"].get<uint64_t>();
    }
    for (int a = 0; a < kAgents; ++a) EXPECT_EQ(in_map[a], 2 * kBatches) << "agent " << a;
    serve.kill(SIGTERM);
  }
  counts = stored_counts(dir / "db");
  for (int a = 0; a < kAgents; ++a) EXPECT_EQ(counts[a], 2 * kBatches) << "agent " << a;
  fs::remove_all(dir);
}

// The store's write path: batches of 1,000 aggregated edges per write_batch (one agent batch,
// one transaction, durable when it returns), on SQLite (a file in /tmp) and on a PostgreSQL 15
// server started for the run (tests/store/temp_postgres.h). Reported: writes/s, edges/s and
// the p50/p99 latency of one write. "steady": the same 1,000 edges every batch (updates of
// existing rows, the common case once a cluster's edges are known); "new": 1,000 edges never
// seen before in every batch (inserts, endpoints included).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/temp_postgres.h"

namespace {
using namespace stockade;
using namespace stockade::store;

constexpr int kEdgesPerBatch = 1000;
constexpr int64_t kT0 = 1'800'000'000LL * kSecondNs;

testing::TempPostgres* postgres() {
  static auto pg = testing::TempPostgres::start();
  return pg ? pg->get() : nullptr;
}

EdgeBatch make_batch(uint64_t seq, bool fresh) {
  EdgeBatch b;
  b.agent = AgentSequence{"node-bench", "boot", seq};
  int64_t t = kT0 + static_cast<int64_t>(seq) * kSecondNs;
  for (int i = 0; i < kEdgesPerBatch; ++i) {
    StoredEdge e;
    std::string tag = fresh ? std::to_string(seq) + "-" : "";
    e.src = "ns-" + std::to_string(i % 20) + "/client-" + tag + std::to_string(i);
    e.dst = "ns-" + std::to_string(i % 7) + "/server-" + std::to_string(i % 50);
    e.protocol = L4Protocol::TCP;
    e.port = static_cast<uint16_t>(8000 + i % 10);
    e.stats.count = 3;
    e.stats.established = 2;
    e.stats.failed = 1;
    e.stats.first_seen = t - kSecondNs;
    e.stats.last_seen = t;
    e.processes = {"proc-" + std::to_string(i % 5)};
    b.edges.push_back(std::move(e));
  }
  return b;
}

void BM_StoreWrite(benchmark::State& state, bool pg, bool fresh) {
  static int run = 0;
  std::string url;
  std::filesystem::path dir;
  std::string name = "bench_" + std::to_string(getpid()) + "_" + std::to_string(++run);
  if (pg) {
    auto* server = postgres();
    if (!server) {
      state.SkipWithError("PostgreSQL could not be started (postgresql-15 installed?)");
      return;
    }
    auto u = server->create_database(name);
    if (!u) {
      state.SkipWithError(u.error().str().c_str());
      return;
    }
    url = *u;
  } else {
    dir = std::filesystem::temp_directory_path() / ("stockade-store-" + name);
    std::filesystem::create_directories(dir);
    url = "sqlite:" + (dir / "store.db").string();
  }
  auto s = open_store(url);
  if (!s) {
    state.SkipWithError(s.error().str().c_str());
    return;
  }
  std::vector<double> ms;
  uint64_t seq = 0;
  for (auto _ : state) {
    state.PauseTiming();
    EdgeBatch batch = make_batch(++seq, fresh);
    state.ResumeTiming();
    auto start = std::chrono::steady_clock::now();
    auto w = (*s)->write_batch(batch);
    auto end = std::chrono::steady_clock::now();
    if (!w || !w->stored) {
      state.SkipWithError(w ? "batch not stored" : w.error().str().c_str());
      break;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  if (!ms.empty()) {
    std::sort(ms.begin(), ms.end());
    state.counters["p50_ms"] = ms[ms.size() / 2];
    state.counters["p99_ms"] = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    state.counters["writes/s"] =
        benchmark::Counter(static_cast<double>(ms.size()), benchmark::Counter::kIsRate);
    state.SetItemsProcessed(static_cast<int64_t>(ms.size()) * kEdgesPerBatch);
    if (auto size = (*s)->size_bytes())
      state.counters["store_MB"] = static_cast<double>(*size) / 1e6;
  }
  s->reset();
  if (!dir.empty()) std::filesystem::remove_all(dir);
}

BENCHMARK_CAPTURE(BM_StoreWrite, sqlite_steady, false, false)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StoreWrite, sqlite_new, false, true)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StoreWrite, postgres_steady, true, false)
    ->Iterations(300)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_StoreWrite, postgres_new, true, true)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

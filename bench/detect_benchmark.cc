// Google Benchmark cases for the threat detectors (src/detect): counting alone, over records
// parsed beforehand, and reading plus counting, as `stockade detect` does. Records come from
// bench/gen_flows over a bench/gen_cluster cluster (same seeds every run), generated once into
// the temp directory.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "detect/detect.h"
#include "input/flow_reader.h"

namespace {

namespace fs = std::filesystem;

const std::string& flows_text() {
  static const std::string text = [] {
    fs::path cluster = fs::temp_directory_path() / "stockade-bench-detect-cluster-2000.json";
    fs::path flows = fs::temp_directory_path() / "stockade-bench-detect-200000.json";
    if (!fs::exists(cluster) &&
        std::system((std::string(STOCKADE_GEN_CLUSTER) + " --pods 2000 --out " + cluster.string() +
                     " 2>/dev/null")
                        .c_str()) != 0)
      std::abort();
    if (!fs::exists(flows) &&
        std::system((std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster.string() +
                     " --records 200000 --out " + flows.string() + " 2>/dev/null")
                        .c_str()) != 0)
      std::abort();
    std::ifstream in(flows);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return text;
}

// The records parsed once; their strings dropped (they live only during the reader's call).
const std::vector<stockade::Flow>& parsed() {
  static const std::vector<stockade::Flow> flows = [] {
    std::vector<stockade::Flow> out;
    stockade::FlowReadStats stats;
    stockade::FlowReadOptions ro;
    (void)stockade::read_flows_text(flows_text(), "bench", ro, stats,
                                    [&out](const stockade::Flow& f) {
                                      stockade::Flow c;
                                      c.time_ns = f.time_ns;
                                      c.src.ip = f.src.ip, c.dst.ip = f.dst.ip;
                                      c.src.port = f.src.port, c.dst.port = f.dst.port;
                                      c.l4 = f.l4, c.tcp = f.tcp, c.verdict = f.verdict;
                                      c.is_reply = f.is_reply, c.direction = f.direction;
                                      c.l7 = f.l7, c.policy_verdict = f.policy_verdict;
                                      c.sock = f.sock;
                                      out.push_back(c);
                                    });
    return out;
  }();
  return flows;
}

void BM_DetectCount(benchmark::State& st) {
  const auto& flows = parsed();
  for (auto _ : st) {
    stockade::detect::Detector d;
    for (const stockade::Flow& f : flows) d.add(f);
    auto signals = d.finish();
    benchmark::DoNotOptimize(signals);
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * flows.size()));
}
BENCHMARK(BM_DetectCount)->Unit(benchmark::kMillisecond);

// Reading and counting; range(0) = parsing threads (1: per core; 0: one per core, wall clock).
void BM_ReadAndDetect(benchmark::State& st) {
  const std::string& text = flows_text();
  uint64_t records = 0;
  for (auto _ : st) {
    stockade::detect::Detector d;
    stockade::FlowReadStats stats;
    stockade::FlowReadOptions ro;
    ro.threads = static_cast<unsigned>(st.range(0));
    (void)stockade::read_flows_text(text, "bench", ro, stats,
                                    [&d](const stockade::Flow& f) { d.add(f); });
    auto signals = d.finish();
    benchmark::DoNotOptimize(signals);
    records += stats.records;
  }
  st.SetItemsProcessed(static_cast<int64_t>(records));
}
BENCHMARK(BM_ReadAndDetect)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

// End to end: a generated cluster and generated Hubble records whose exact workload-level
// traffic is known (gen_flows --truth); `stockade map` must report exactly that traffic.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace stockade {
namespace {

namespace fs = std::filesystem;

using EdgeCounts = std::map<std::tuple<std::string, std::string, std::string, int>, uint64_t>;

int run(const std::string& cmd) {
  return std::system(cmd.c_str());
}

TEST(MapTruth, WorkloadEdgesAreExactlyTheTrafficInTheRecords) {
  fs::path dir =
      fs::temp_directory_path() / ("stockade_map_truth_test_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string cluster = (dir / "cluster.json").string();
  std::string flows = (dir / "flows.json.gz").string();
  std::string truth = (dir / "truth.jsonl").string();
  std::string out = (dir / "map.json").string();
  ASSERT_EQ(run(std::string(STOCKADE_GEN_CLUSTER) + " --pods 300 --admin --out " + cluster +
                " 2>/dev/null"),
            0);
  ASSERT_EQ(run(std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster +
                " --records 20000 --gzip --out " + flows + " --truth " + truth + " 2>/dev/null"),
            0);
  ASSERT_EQ(run(std::string(STOCKADE_BINARY) + " map -f " + cluster + " --flows " + flows +
                " --by workload -o json > " + out),
            0);

  EdgeCounts want;
  std::ifstream t(truth);
  for (std::string line; std::getline(t, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    want[{j["src"], j["dst"], j["protocol"], j["port"]}] += j["count"].get<uint64_t>();
  }
  ASSERT_GT(want.size(), 50u);

  std::ifstream m(out);
  std::stringstream ss;
  ss << m.rdbuf();
  auto map = nlohmann::json::parse(ss.str());
  EdgeCounts got;
  for (const auto& e : map["edges"])
    if (e["count"].get<uint64_t>() > 0)
      got[{e["src"], e["dst"], e["protocol"], e["port"]}] += e["count"].get<uint64_t>();

  std::string diff;
  for (const auto& [k, n] : want) {
    auto it = got.find(k);
    if (it == got.end() || it->second != n)
      diff += "  " + std::get<0>(k) + " -> " + std::get<1>(k) + " " + std::get<2>(k) + "/" +
              std::to_string(std::get<3>(k)) + ": want " + std::to_string(n) + ", got " +
              (it == got.end() ? std::string("none") : std::to_string(it->second)) + "\n";
  }
  for (const auto& [k, n] : got)
    if (!want.count(k))
      diff += "  unexpected " + std::get<0>(k) + " -> " + std::get<1>(k) + " " + std::get<2>(k) +
              "/" + std::to_string(std::get<3>(k)) + " x" + std::to_string(n) + "\n";
  EXPECT_TRUE(diff.empty()) << diff.substr(0, 4000);
  EXPECT_EQ(map["summary"]["flows"].get<uint64_t>(), 20000u);
  EXPECT_EQ(map["summary"]["skipped"].get<uint64_t>(), 0u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stockade

// The deliberately vulnerable manifests in demo/vulnerable: every planted weakness
// (demo/vulnerable/expected-findings.txt: "CHECK_ID KIND/NS/NAME" per line) must be reported
// with that check ID on that object, and the riskiest workloads must rank first. Also the
// `scan` command's exit codes and output formats through the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/engine.h"
#include "input/loader.h"
#include "posture/posture.h"

namespace stockade::posture {
namespace {

const std::filesystem::path kSource = STOCKADE_SOURCE_DIR;

ScanReport scan_dir(const std::string& dir) {
  ClusterLoader l;
  auto r = l.add_path((kSource / dir).string());
  EXPECT_TRUE(r) << r.error().str();
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto rep = scan(s, *engine, {});
  EXPECT_TRUE(rep);
  return *rep;
}

TEST(PostureVulnerableSet, EveryPlantedWeaknessIsReported) {
  ScanReport r = scan_dir("demo/vulnerable");
  std::set<std::pair<std::string, std::string>> active, suppressed;
  for (const Finding& f : r.findings)
    (f.suppressed ? suppressed : active).insert({f.id, f.resource.text()});
  std::ifstream in(kSource / "demo/vulnerable/expected-findings.txt");
  ASSERT_TRUE(in);
  std::string line;
  int expected = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string id, res, state;
    ls >> id >> res >> state;
    ASSERT_NE(find_check(id), nullptr) << "unknown check in expected-findings.txt: " << id;
    ++expected;
    if (state == "suppressed")
      EXPECT_TRUE(suppressed.count({id, res})) << "not suppressed: " << id << " " << res;
    else
      EXPECT_TRUE(active.count({id, res})) << "not reported: " << id << " " << res;
  }
  EXPECT_GE(expected, 40);
  // The internet-facing privileged web tier with a cluster-admin token first, then the agent
  // that owns its nodes.
  ASSERT_GE(r.risk.size(), 3u);
  EXPECT_EQ(r.risk[0].resource.text(), "Deployment/prod/web");
  EXPECT_EQ(r.risk[1].resource.text(), "DaemonSet/prod/node-agent");
  // The hardened API is the least risky of the workloads.
  EXPECT_EQ(r.risk.back().resource.text(), "Deployment/prod/api");
}

struct CmdResult {
  int code;
  std::string out;
  std::string err;
};

CmdResult run(const std::string& args) {
  auto dir = std::filesystem::temp_directory_path();
  // Per process: ctest runs the tests that call this in parallel.
  const std::string id = std::to_string(::getpid());
  std::string out = (dir / ("stockade_scan_out_" + id)).string(),
              err = (dir / ("stockade_scan_err_" + id)).string();
  std::string cmd =
      "cd '" + kSource.string() + "' && '" STOCKADE_BINARY "' " + args + " >" + out + " 2>" + err;
  int status = std::system(cmd.c_str());
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CmdResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

TEST(PostureCli, ExitCodesAndFormats) {
  CmdResult j = run("scan -f demo/vulnerable -o json");
  EXPECT_EQ(j.code, 1);  // default --fail-on high
  auto doc = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << j.out.substr(0, 200);
  EXPECT_GT(doc["summary"]["critical"].get<int>(), 0);
  EXPECT_EQ(run("scan -f demo/vulnerable -o json --fail-on none").code, 0);
  // The demo shop has no critical finding.
  EXPECT_EQ(run("scan -f demo/cluster -f demo/policies --fail-on critical -q").code, 0);
  CmdResult s = run("scan -f demo/vulnerable -o sarif --fail-on none");
  EXPECT_EQ(s.code, 0);
  auto sarif = nlohmann::json::parse(s.out, nullptr, false);
  ASSERT_FALSE(sarif.is_discarded());
  EXPECT_EQ(sarif["version"], "2.1.0");
  CmdResult t = run("scan -f demo/vulnerable --fail-on none");
  EXPECT_NE(t.out.find("RISK (highest first)"), std::string::npos);
  EXPECT_NE(t.out.find("SUPPRESSED"), std::string::npos);
}

// The JSON and table of the vulnerable set, byte for byte (tests/cli/golden/scan_*;
// STOCKADE_UPDATE_GOLDEN=1 rewrites them: review the diff).
TEST(PostureCli, GoldenOutputs) {
  const char* update = std::getenv("STOCKADE_UPDATE_GOLDEN");
  for (auto [args, name] :
       {std::pair{"scan -f demo/vulnerable -o json --fail-on none", "scan_vulnerable.json"},
        std::pair{"scan -f demo/vulnerable --fail-on none", "scan_vulnerable.txt"}}) {
    CmdResult r = run(args);
    ASSERT_EQ(r.code, 0) << args << ": " << r.err;
    auto path = kSource / "tests/cli/golden" / name;
    if (update && std::string(update) == "1") {
      std::ofstream(path, std::ios::binary | std::ios::trunc) << r.out;
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    ASSERT_TRUE(in) << "missing golden " << path << " (STOCKADE_UPDATE_GOLDEN=1 writes it)";
    std::stringstream want;
    want << in.rdbuf();
    EXPECT_EQ(r.out, want.str()) << args << " differs from " << path;
  }
}

TEST(PostureCli, BadInputIsOneLineAndExit2) {
  for (const char* args :
       {"scan -f demo/vulnerable --fail-on severe", "scan -f demo/vulnerable --k8s-version banana",
        "scan -f demo/vulnerable --accept /nonexistent.yaml", "scan -f demo/vulnerable -o yaml",
        "scan -f /nonexistent"}) {
    CmdResult r = run(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(r.err.rfind("stockade: error: ", 0), 0u) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace stockade::posture

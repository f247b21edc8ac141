// `stockade serve` judges the HTTP requests it keeps (Hubble L7 records) as the command line
// does: GET /api/v1/verify lists and counts them like `stockade verify`, POST /api/v1/simulate
// reports the requests a policy set would break like `stockade diff --flows`. The traffic is
// tests/data/l7's REST application (observed requests, and 20 the application was never seen
// making); the policies are what `recommend --l7 cilium` learns from the observed ones.
#include <httplib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_command.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::test::gunzip;
using stockade::test::ServeProcess;
using stockade::test::slurp;

namespace {

const fs::path kSource = STOCKADE_SOURCE_DIR;

// Runs the command line; its standard output.
std::string cli(const std::string& args, int expect_exit) {
  auto r = stockade::test::run_command("cd '" + kSource.string() + "' && '" STOCKADE_BINARY "' " +
                                       args + " 2>/dev/null");
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == expect_exit) << args << "\n" << r.out;
  return r.out;
}

}  // namespace

TEST(ServeL7, VerifyAndSimulateJudgeHttpRequestsAsTheCommandLineDoes) {
  const fs::path dir = stockade::test::fresh_dir("stockade-serve", "l7");
  const std::string cluster = (kSource / "tests/data/l7/cluster.yaml").string();
  const fs::path observed = dir / "observed.json";
  std::ofstream(observed) << gunzip(kSource / "tests/data/l7/observed.json.gz");
  const fs::path unobserved = kSource / "tests/data/l7/unobserved.json";
  const fs::path policies = dir / "policies";
  cli("recommend -f '" + cluster + "' --flows '" + observed.string() +
          "' --l7 cilium --min-window 1m -q --out-dir '" + policies.string() + "'",
      0);
  ASSERT_TRUE(fs::exists(policies));
  auto post_flows = [&](httplib::Client& c) {
    for (const fs::path& f : {observed, unobserved}) {
      auto r = c.Post("/api/v1/flows", slurp(f), "application/x-ndjson");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
    }
  };
  const std::string flows =
      "--flows '" + observed.string() + "' --flows '" + unobserved.string() + "'";

  // verify, with the L7 policies in force: the same requests, counts and verdicts.
  {
    ServeProcess serve({"-f", cluster, "-f", policies.string(), "--store",
                        "sqlite:" + (dir / "db1").string(), "--listen", "127.0.0.1:0"},
                       dir / "log1");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log1");
    auto c = serve.client();
    post_flows(c);
    auto r = c.Get("/api/v1/verify");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto served = nlohmann::json::parse(r->body);
    auto want = nlohmann::json::parse(
        cli("verify -f '" + cluster + "' -f '" + policies.string() + "' " + flows + " -o json", 1));
    ASSERT_TRUE(want.contains("requests"));
    EXPECT_EQ(served["requests"], want["requests"]);
    for (const char* k : {"requests", "requests_allowed", "requests_denied"})
      EXPECT_EQ(served["summary"][k], want["summary"][k]) << k;
    // All 20 held-out requests are refused; some observed ones are allowed.
    EXPECT_GE(want["summary"]["requests_denied"].get<int>(), 1);
    EXPECT_GT(want["summary"]["requests_allowed"].get<int>(), 100);
  }

  // simulate the same policies over the kept traffic of a server without them: the requests
  // they would break, as `diff --flows` reports them.
  {
    ServeProcess serve(
        {"-f", cluster, "--store", "sqlite:" + (dir / "db2").string(), "--listen", "127.0.0.1:0"},
        dir / "log2");
    ASSERT_GT(serve.port, 0) << slurp(dir / "log2");
    auto c = serve.client();
    post_flows(c);
    std::string body;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(policies)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) body += "---\n" + slurp(f);
    auto r = c.Post("/api/v1/simulate", body, "application/yaml");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto served = nlohmann::json::parse(r->body);
    const fs::path empty = dir / "empty";
    fs::create_directories(empty);
    auto want =
        nlohmann::json::parse(cli("diff -f '" + cluster + "' --before '" + empty.string() +
                                      "' --after '" + policies.string() + "' " + flows + " -o json",
                                  1));
    ASSERT_TRUE(want["flows"].contains("requests"));
    EXPECT_EQ(served["flows"]["requests"], want["flows"]["requests"]);
    for (const char* k : {"requests", "requests_broken", "requests_newly_allowed"})
      EXPECT_EQ(served["flows"]["summary"][k], want["flows"]["summary"][k]) << k;
    EXPECT_GE(want["flows"]["summary"]["requests_broken"].get<int>(), 1);
  }
  fs::remove_all(dir);
}

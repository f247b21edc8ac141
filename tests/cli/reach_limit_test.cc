// `reach -o json|table|csv` refuses to list more than 10,000,000 connections unless --from,
// --to or --port narrow it or --force is given; `-o summary` always answers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/run_command.h"

namespace stockade {
namespace {

namespace fs = std::filesystem;

// 3,163 pods declaring one port each: 3,163 × 3,163 = 10,004,569 connections, just past the
// limit.
constexpr int kPods = 3163;

// Files named per test and process: ctest runs the two tests of this file at once.
fs::path scratch(const std::string& what) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return fs::temp_directory_path() / ("stockade-reach-limit-" + std::string(test->name()) + "-" +
                                      std::to_string(getpid()) + "-" + what);
}

fs::path write_cluster() {
  fs::path p = scratch("cluster.json");
  std::ofstream out(p, std::ios::trunc);
  out << R"({"apiVersion":"v1","kind":"List","items":[)";
  for (int i = 0; i < kPods; ++i) {
    if (i) out << ",";
    out << R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p)" << i
        << R"(","namespace":"big","labels":{"app":"a"}},"spec":{"containers":[{"name":"c",)"
        << R"("image":"x","ports":[{"containerPort":80}]}]},"status":{"phase":"Running",)"
        << R"("podIP":"10.1.)" << i / 250 << "." << i % 250 + 1 << R"("}})";
  }
  out << "]}\n";
  return p;
}

struct Result {
  int code = -1;
  std::string out, err;
};

Result reach(const fs::path& cluster, const std::string& args) {
  fs::path err = scratch("stderr");
  auto r = test::run_command(std::string(STOCKADE_BINARY) + " reach -f " + cluster.string() + " " +
                             args + " 2>" + err.string());
  Result out;
  out.code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
  out.out = std::move(r.out);
  std::ifstream in(err);
  std::getline(in, out.err, '\0');
  fs::remove(err);
  return out;
}

TEST(CliReachLimit, ListingPastTheLimitIsRefusedWithOneLine) {
  fs::path cluster = write_cluster();
  for (const char* fmt : {"json", "csv", "table"}) {
    Result r = reach(cluster, std::string("-o ") + fmt);
    EXPECT_EQ(r.code, 2) << fmt;
    EXPECT_TRUE(r.out.empty()) << fmt;
    EXPECT_EQ(r.err, std::string("stockade: error: -o ") + fmt +
                         " would list 10004569 connections (more than 10000000): narrow it with "
                         "--from, --to or --port, use -o summary, or pass --force\n");
  }
  fs::remove(cluster);
}

TEST(CliReachLimit, SummaryAndNarrowedListingsStillAnswer) {
  fs::path cluster = write_cluster();
  Result summary = reach(cluster, "-o summary");
  EXPECT_EQ(summary.code, 0) << summary.err;
  EXPECT_EQ(summary.out,
            "{\"endpoints\":3163,\"pairs\":10004569,\"allowed\":10004569,\"denied\":0}\n");
  Result narrowed = reach(cluster, "--from big/p7 -o csv");
  EXPECT_EQ(narrowed.code, 0) << narrowed.err;
  EXPECT_EQ(std::count(narrowed.out.begin(), narrowed.out.end(), '\n'), kPods + 1);  // + header
  // A port no pod declares: nothing to list.
  Result ports = reach(cluster, "--port tcp/http -o json");
  EXPECT_EQ(ports.code, 0) << ports.err;
  EXPECT_NE(ports.out.find("\"pairs\":0"), std::string::npos);
  // --force lifts the limit (here on a listing under it, which it does not change).
  Result forced = reach(cluster, "--from big/p7 -o csv --force");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(forced.out, narrowed.out);
  fs::remove(cluster);
}

}  // namespace
}  // namespace stockade

// `stockade recommend --output-kind cilium` on the command line: the demo (golden), the loop
// recommend -> verify with the written CiliumNetworkPolicies on the demo and on a generated
// cluster, validity against Cilium's CRD schema, and what is refused.
//
// Refresh the golden with
//   STOCKADE_UPDATE_GOLDEN=1 ./build/release/tests/stockade_tests
//   --gtest_filter='CliRecommendCilium*'
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const fs::path kGoldenDir = kSourceDir / "tests" / "cli" / "golden";
const fs::path kCiliumSchema =
    kSourceDir / "tests" / "data" / "schemas" / "cilium.io_ciliumnetworkpolicy_v2.json";
const char* const kDemoFlows = "demo/flows/hubble.json.gz";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  explicit TempDir(const std::string& test) {
    std::string tmpl =
        (fs::temp_directory_path() / ("stockade-cilium-" + test + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

using Proc = stockade::test::ProgramRun;

Proc run(const std::string& program, const std::vector<std::string>& args) {
  return stockade::test::run_program(program, args, kSourceDir);
}

Proc stockade(const std::vector<std::string>& args) {
  return run(STOCKADE_BINARY, args);
}

void expect_golden(const std::string& name, const std::string& actual) {
  fs::path p = kGoldenDir / name;
  const char* up = std::getenv("STOCKADE_UPDATE_GOLDEN");
  if (up && std::string(up) == "1") {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(p)) << "missing golden " << p << " (STOCKADE_UPDATE_GOLDEN=1)";
  EXPECT_EQ(slurp(p), actual) << "stdout differs from " << p;
}

// Every document of every file in `dir` against the CiliumNetworkPolicy schema (Cilium's CRD,
// tests/data/schemas) with python3-jsonschema; false (skipped) where it is missing.
bool validate_cilium(const fs::path& dir, std::string& problems) {
  if (std::system("python3 -c 'import yaml, jsonschema' >/dev/null 2>&1") != 0) return false;
  TempDir tmp("schema");
  fs::path script = tmp.path() / "validate.py";
  std::ofstream(script) << R"(import sys, os, json, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
bad = docs = 0
for name in sorted(os.listdir(sys.argv[2])):
    for doc in yaml.safe_load_all(open(os.path.join(sys.argv[2], name))):
        if doc is None: continue
        docs += 1
        if (doc.get('apiVersion'), doc.get('kind')) != ('cilium.io/v2', 'CiliumNetworkPolicy'):
            bad += 1
            print(name, 'not a CiliumNetworkPolicy:', doc.get('apiVersion'), doc.get('kind'))
            continue
        for e in jsonschema.Draft7Validator(schema).iter_errors(doc):
            bad += 1
            print(name, list(e.path), e.message)
sys.exit(1 if bad or not docs else 0)
)";
  Proc r = run("python3", {script.string(), kCiliumSchema.string(), dir.string()});
  if (r.code != 0) problems = "exit " + std::to_string(r.code) + ": " + r.out + r.err;
  return true;
}

std::string dir_text(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string all;
  for (const fs::path& f : files) all += "### " + f.filename().string() + "\n" + slurp(f);
  return all;
}

TEST(CliRecommendCilium, DemoGoldenVerifyAndSchema) {
  Proc r = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind", "cilium"});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_golden("recommend_demo_cilium.yaml", r.out);
  EXPECT_NE(r.err.find("CiliumNetworkPolicies written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("self-check passed"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("kind: \"NetworkPolicy\""), std::string::npos);

  // The same units as the NetworkPolicy output: one file per unit, with the same names.
  TempDir tmp("demo");
  const fs::path np = tmp.path() / "np", cnp = tmp.path() / "cnp";
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      np.string(), "-q"})
                .code,
            0);
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      cnp.string(), "-q", "--output-kind", "cilium"})
                .code,
            0);
  std::vector<std::string> a, b;
  for (const auto& e : fs::directory_iterator(np)) a.push_back(e.path().filename());
  for (const auto& e : fs::directory_iterator(cnp)) b.push_back(e.path().filename());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  for (const auto& e : fs::directory_iterator(cnp))
    EXPECT_NE(slurp(e.path()).find("kind: \"CiliumNetworkPolicy\""), std::string::npos);

  // verify with the written files: every observed edge allowed, decided by Cilium policies.
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", cnp.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 50);
  // Something is denied that was allowed before: the recommendation isolates.
  Proc x =
      stockade({"explain", "-f", "demo/cluster", "-f", cnp.string(), "--from",
                "shop/frontend-7d9f8c6b5d-x2k9p", "--to", "data/postgres-0", "--port", "tcp/5432"});
  EXPECT_NE(x.out.find("DENIED"), std::string::npos) << x.out << x.err;
  EXPECT_NE(x.out.find("CiliumNetworkPolicy"), std::string::npos) << x.out;

  std::string problems;
  if (validate_cilium(cnp, problems))
    EXPECT_EQ(problems, "");
  else
    GTEST_LOG_(INFO) << "python3 jsonschema/yaml not available: schema validation skipped";

  // -o json: one List of CiliumNetworkPolicies, the same policies.
  Proc j = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "cilium", "-o", "json", "-q"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto list = nlohmann::json::parse(j.out);
  EXPECT_EQ(list["items"].size(), b.size());
  for (const auto& item : list["items"]) EXPECT_EQ(item["kind"], "CiliumNetworkPolicy");
}

TEST(CliRecommendCilium, GeneratedClusterLoop) {
  TempDir tmp("generated");
  fs::path cluster = tmp.path() / "cluster.json", flows = tmp.path() / "flows.json.gz";
  ASSERT_EQ(run(STOCKADE_GEN_CLUSTER, {"--pods", "300", "--namespaces", "4", "--policies", "0",
                                       "--out", cluster.string()})
                .code,
            0);
  ASSERT_EQ(run(STOCKADE_GEN_FLOWS, {"--cluster", cluster.string(), "--records", "20000", "--gzip",
                                     "--out", flows.string()})
                .code,
            0);
  fs::path a = tmp.path() / "a", b = tmp.path() / "b";
  Proc r = stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                     a.string(), "--include-system", "--output-kind", "cilium"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                      b.string(), "-q", "--include-system", "--output-kind", "cilium"})
                .code,
            0);
  EXPECT_EQ(dir_text(a), dir_text(b)) << "two runs must give identical files";
  EXPECT_NE(r.err.find("and 0 beyond"), std::string::npos) << r.err;
  Proc v = stockade({"verify", "-f", cluster.string(), "-f", a.string(), "--flows", flows.string(),
                     "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.err;
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 1000);
  std::string problems;
  if (validate_cilium(a, problems)) {
    EXPECT_EQ(problems, "");
  }
}

TEST(CliRecommendCilium, BesideThePoliciesInForceAndAsJsonFiles) {
  // With the demo's policies in force (NetworkPolicies and the admin tiers): the Cilium
  // policies, enforced together with them, allow exactly what the NetworkPolicy recommendation
  // allows of the observed traffic (what existing policies deny stays denied, in both).
  TempDir tmp("mixed");
  const fs::path np = tmp.path() / "np", cnp = tmp.path() / "cnp", js = tmp.path() / "json";
  for (const auto& [dir, kind] : {std::pair{np, "networkpolicy"}, std::pair{cnp, "cilium"}})
    ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "-f", "demo/policies", "--flows",
                        kDemoFlows, "--out-dir", dir.string(), "-q", "--output-kind", kind})
                  .code,
              0)
        << kind;
  auto summary = [&](const fs::path& dir) {
    Proc v = stockade({"verify", "-f", "demo/cluster", "-f", "demo/policies", "-f", dir.string(),
                       "--flows", kDemoFlows, "-o", "json"});
    return nlohmann::json::parse(v.out)["summary"];
  };
  auto a = summary(np), b = summary(cnp);
  EXPECT_EQ(a["allowed"], b["allowed"]);
  EXPECT_EQ(a["denied"], b["denied"]);
  EXPECT_GT(b["allowed"].get<int>(), 50);
  // -o json with --out-dir: one JSON object per file, read by verify like the YAML.
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      js.string(), "-q", "--output-kind", "cilium", "-o", "json"})
                .code,
            0);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(js)) {
    ++files;
    EXPECT_EQ(e.path().extension(), ".json");
    EXPECT_EQ(nlohmann::json::parse(slurp(e.path()))["kind"], "CiliumNetworkPolicy");
  }
  EXPECT_GT(files, 10u);
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", js.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(nlohmann::json::parse(v.out)["summary"]["denied"], 0);
}

TEST(CliRecommendCilium, HostileFlowNamesCannotInject) {
  // A Hubble record whose pod name carries a rule: dropped as malformed, the policies the same.
  Proc base = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind", "cilium", "-q"});
  ASSERT_EQ(base.code, 0) << base.err;
  Proc r = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--flows",
                     "tests/hostile/injection-flows-pod-newline.json", "--output-kind", "cilium"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, base.out);
  EXPECT_EQ(r.out.find("0.0.0.0/0"), std::string::npos);
  EXPECT_EQ(r.out.find("\"world\""), std::string::npos);
  EXPECT_EQ(r.out.find("\"all\""), std::string::npos);
  EXPECT_NE(r.err.find("not a valid Kubernetes name"), std::string::npos) << r.err;
}

TEST(CliRecommendCilium, DeclaredExposureKeptAsWorld) {
  // The storefront's Service made a LoadBalancer: the internet keeps reaching it, from the
  // entity world (and through other nodes, remote-node), whether observed or not.
  TempDir tmp("lb");
  const fs::path cluster = tmp.path() / "cluster";
  fs::create_directories(cluster);
  for (const auto& e : fs::directory_iterator(kSourceDir / "demo" / "cluster"))
    fs::copy_file(e.path(), cluster / e.path().filename());
  {
    std::string shop = slurp(cluster / "shop.yaml");
    size_t at =
        shop.find("    name: frontend\n    namespace: shop\n    resourceVersion: \"187351\"");
    ASSERT_NE(at, std::string::npos);
    at = shop.find("    type: ClusterIP\n", at);
    ASSERT_NE(at, std::string::npos);
    shop.replace(at, 20, "    type: LoadBalancer\n");
    std::ofstream(cluster / "shop.yaml", std::ios::binary | std::ios::trunc) << shop;
  }
  const fs::path out = tmp.path() / "cnp";
  Proc r = stockade({"recommend", "-f", cluster.string(), "--flows", kDemoFlows, "--out-dir",
                     out.string(), "--output-kind", "cilium", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string frontend = slurp(out / "shop.stockade-ingress-frontend.yaml");
  EXPECT_NE(frontend.find("  - fromEntities:\n    - \"world\"\n    - \"remote-node\"\n"),
            std::string::npos)
      << frontend;
  EXPECT_NE(frontend.find("kept whether observed or not"), std::string::npos) << frontend;
  Proc lb =
      stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from", "198.51.100.7",
                "--to", "shop/frontend-7d9f8c6b5d-x2k9p", "--port", "tcp/http"});
  EXPECT_NE(lb.out.find("ALLOWED"), std::string::npos) << lb.out << lb.err;
  Proc db = stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from",
                      "198.51.100.7", "--to", "data/postgres-0", "--port", "tcp/5432"});
  EXPECT_NE(db.out.find("DENIED"), std::string::npos) << db.out << db.err;
  Proc dns = stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from",
                       "shop/nightly-report", "--to", "kube-system/coredns-5dd5756b68-8xq2l",
                       "--port", "udp/53"});
  EXPECT_NE(dns.out.find("ALLOWED"), std::string::npos) << dns.out << dns.err;
  std::string problems;
  if (validate_cilium(out, problems)) {
    EXPECT_EQ(problems, "");
  }
}

TEST(CliRecommendCilium, WhatIsNotThereYetIsSaid) {
  Proc g = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "cilium", "--guardrails"});
  EXPECT_EQ(g.code, 2);
  EXPECT_NE(g.err.find("not yet"), std::string::npos) << g.err;
  Proc bad = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind", "istio"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(bad.out, "");
}

}  // namespace

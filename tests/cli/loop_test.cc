// The closed loop on the command line: recommend -> verify -> diff --flows, on the demo data
// (goldens) and on generated clusters and flows (bench/gen_cluster, bench/gen_flows).
//
// Goldens live in tests/cli/golden/ like the other CLI tests; refresh them with
//   STOCKADE_UPDATE_GOLDEN=1 ./build/release/tests/stockade_tests --gtest_filter='Cli*'
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const fs::path kGoldenDir = kSourceDir / "tests" / "cli" / "golden";
const fs::path kSchemaDir = STOCKADE_SOURCE_DIR "/tests/data/schemas";
const char* const kDemoFlows = "demo/flows/hubble.json.gz";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stockade-loop-test-XXXXXX").string();
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

// Runs PROGRAM ARGS... in the repository root.
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

std::string dir_text(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string all;
  for (const fs::path& f : files) all += "### " + f.filename().string() + "\n" + slurp(f);
  return all;
}

// Validates every file of `dir` against the NetworkPolicy schema with python3-jsonschema;
// skipped (returns false) where python3, PyYAML or jsonschema is missing.
bool validate_schemas(const fs::path& dir, std::string& problems) {
  if (std::system("python3 -c 'import yaml, jsonschema' >/dev/null 2>&1") != 0) return false;
  TempDir tmp;
  fs::path script = tmp.path() / "validate.py";
  std::ofstream(script) << R"(import sys, os, json, yaml, jsonschema
d = sys.argv[1]
def crd(name):
    doc = yaml.safe_load(open(os.path.join(d, name)))
    return {v['name']: v['schema']['openAPIV3Schema'] for v in doc['spec']['versions']}
schemas = {('networking.k8s.io/v1', 'NetworkPolicy'):
           json.load(open(os.path.join(d, 'networkpolicy-networking-v1.json')))}
for kind, f in [('AdminNetworkPolicy', 'policy.networking.k8s.io_adminnetworkpolicies.yaml'),
                ('ClusterNetworkPolicy', 'policy.networking.k8s.io_clusternetworkpolicies.yaml')]:
    for version, schema in crd(f).items():
        schemas[('policy.networking.k8s.io/' + version, kind)] = schema
# The vendored CRD predates v1beta1. network-policy-api v0.3.0 serves v1beta1 with the schema of
# v1alpha2 (its release note; its CRD lists both versions with the same schema).
schemas[('policy.networking.k8s.io/v1beta1', 'ClusterNetworkPolicy')] = \
    schemas[('policy.networking.k8s.io/v1alpha2', 'ClusterNetworkPolicy')]
bad = 0
for name in sorted(os.listdir(sys.argv[2])):
    for doc in yaml.safe_load_all(open(os.path.join(sys.argv[2], name))):
        if doc is None: continue
        schema = schemas.get((doc.get('apiVersion'), doc.get('kind')))
        if schema is None:
            bad += 1
            print(name, 'no schema for', doc.get('apiVersion'), doc.get('kind'))
            continue
        for e in jsonschema.Draft7Validator(schema).iter_errors(doc):
            bad += 1
            print(name, list(e.path), e.message)
sys.exit(1 if bad else 0)
)";
  Proc r = run("python3", {script.string(), kSchemaDir.string(), dir.string()});
  if (r.code != 0) problems = r.out + r.err;
  return true;
}

TEST(CliLoop, RecommendDemoGolden) {
  Proc r = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_golden("recommend_demo.yaml", r.out);
  // The summary names policies, observed edges and exposure before -> after.
  EXPECT_NE(r.err.find("policies written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("self-check passed"), std::string::npos) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex(R"(exposure \(allowed endpoint pairs on declared ports\): \d+ -> \d+)")))
      << r.err;
  Proc j = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "-o", "json", "-q"});
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.err, "");
  auto list = nlohmann::json::parse(j.out);
  EXPECT_EQ(list["kind"], "List");
  EXPECT_GT(list["items"].size(), 4u);
}

TEST(CliLoop, VerifyDemoPoliciesGoldens) {
  std::vector<std::string> base = {"verify",        "-f",      "demo/cluster", "-f",
                                   "demo/policies", "--flows", kDemoFlows};
  Proc t = stockade(base);
  EXPECT_EQ(t.code, 1) << t.err;  // the demo policies deny some observed traffic
  expect_golden("verify_demo.txt", t.out);
  auto args = base;
  args.insert(args.end(), {"-o", "json"});
  Proc j = stockade(args);
  EXPECT_EQ(j.code, 1);
  auto doc = nlohmann::json::parse(j.out);
  // Rows by workload (the default); the summary counts the pod-level edges they stand for.
  uint64_t denied = 0, denied_rows = 0, pod_edges = 0;
  for (const auto& e : doc["edges"]) {
    for (const char* k : {"src", "dst", "protocol", "port", "count", "verdict", "pod_edges"})
      EXPECT_TRUE(e.contains(k)) << k;
    pod_edges += e["pod_edges"].get<uint64_t>();
    if (e["verdict"] == "denied") denied += e["pod_edges"].get<uint64_t>(), ++denied_rows;
  }
  EXPECT_EQ(doc["summary"]["denied"], denied);
  EXPECT_GT(denied, 0u);
  EXPECT_EQ(doc["summary"]["edges"], pod_edges);
  args = base;
  args.insert(args.end(), {"-o", "sarif"});
  Proc s = stockade(args);
  EXPECT_EQ(s.code, 1);
  expect_golden("verify_demo.sarif", s.out);
  auto sarif = nlohmann::json::parse(s.out);
  EXPECT_EQ(sarif["version"], "2.1.0");
  const auto& results = sarif["runs"][0]["results"];
  EXPECT_EQ(results.size(), denied_rows);  // one result per denied row
  for (const auto& res : results) {
    const auto& loc = res["locations"][0]["physicalLocation"];
    EXPECT_TRUE(loc["artifactLocation"]["uri"].get<std::string>().starts_with("demo/policies/"));
    EXPECT_GT(loc["region"]["startLine"].get<int>(), 0);
  }
  args = base;
  args.insert(args.end(), {"--fail-on", "none"});
  EXPECT_EQ(stockade(args).code, 0);
}

TEST(CliLoop, DiffFlowsDemoGolden) {
  Proc r = stockade({"diff", "-f", "demo/cluster", "--before", "demo/policies", "--after",
                     "demo/policies-change", "--flows", kDemoFlows, "-o", "json"});
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_TRUE(doc.contains("flows"));
  // The pull request drops the rule checkout still uses to read the cart over gRPC: the four
  // observed checkout -> cart TCP/9090 edges would break.
  EXPECT_EQ(doc["flows"]["summary"]["broken"], 4);
  EXPECT_EQ(r.code, 1) << r.err;
  expect_golden("diff_flows_demo.json", r.out);
  Proc t = stockade({"diff", "-f", "demo/cluster", "--before", "demo/policies", "--after",
                     "demo/policies-change", "--flows", kDemoFlows});
  EXPECT_EQ(t.code, r.code);
  expect_golden("diff_flows_demo.txt", t.out);
}

// --by for verify, reach and diff: the same pod-level facts, grouped under workloads (the
// default of verify and diff) or namespaces; reach stays per pod unless asked.
TEST(CliLoop, ByGroupsVerifyReachAndDiff) {
  const std::vector<std::string> verify = {
      "verify", "-f", "demo/cluster", "-f", "demo/policies", "--flows", kDemoFlows, "-o", "json"};
  auto with = [](std::vector<std::string> args, std::initializer_list<std::string> more) {
    args.insert(args.end(), more);
    return args;
  };
  Proc p = stockade(with(verify, {"--by", "pod"})), w = stockade(verify),
       n = stockade(with(verify, {"--by", "namespace"}));
  ASSERT_EQ(p.code, 1) << p.err;
  ASSERT_EQ(w.code, 1) << w.err;
  ASSERT_EQ(n.code, 1) << n.err;
  auto pj = nlohmann::json::parse(p.out), wj = nlohmann::json::parse(w.out),
       nj = nlohmann::json::parse(n.out);
  auto sum = [](const nlohmann::json& rows, const char* key) {
    uint64_t t = 0;
    for (const auto& r : rows) t += r.value(key, uint64_t{1});
    return t;
  };
  EXPECT_EQ(sum(wj["edges"], "pod_edges"), pj["edges"].size());
  EXPECT_EQ(sum(nj["edges"], "pod_edges"), pj["edges"].size());
  EXPECT_EQ(sum(wj["edges"], "established"), sum(pj["edges"], "established"));
  EXPECT_LT(wj["edges"].size(), pj["edges"].size());
  EXPECT_LT(nj["edges"].size(), wj["edges"].size());
  // The summary counts pod-level edges whatever the rows.
  EXPECT_EQ(wj["summary"], pj["summary"]);
  EXPECT_EQ(nj["summary"], pj["summary"]);
  EXPECT_FALSE(pj["edges"][0].contains("pod_edges"));
  std::set<std::string> names;
  for (const auto& e : wj["edges"]) names.insert(e["src"].get<std::string>());
  EXPECT_TRUE(names.count("shop/checkout")) << w.out;
  EXPECT_FALSE(names.count("shop/checkout-6f8d7c9b54-h4d8s")) << w.out;
  for (const auto& e : nj["edges"])
    for (const char* side : {"src", "dst"}) {
      const std::string id = e[side].get<std::string>();
      if (!id.starts_with("world/") && !id.starts_with("node/")) {
        EXPECT_EQ(id.find('/'), std::string::npos) << id;
      }
    }
  // The denied rows hold the denied pod-level edges, no more, no less.
  uint64_t pod_denied = 0, grouped_denied = 0;
  for (const auto& e : pj["edges"]) pod_denied += e["verdict"] == "denied";
  for (const auto& e : wj["edges"])
    if (e["verdict"] == "denied") grouped_denied += e["pod_edges"].get<uint64_t>();
  EXPECT_EQ(grouped_denied, pod_denied);

  // reach: pod rows by default; --by workload rows carry the pod pairs they stand for.
  Proc rp = stockade({"reach", "-f", "demo/cluster", "-f", "demo/policies", "-o", "json"});
  Proc rw = stockade(
      {"reach", "-f", "demo/cluster", "-f", "demo/policies", "-o", "json", "--by", "workload"});
  ASSERT_EQ(rw.code, 0) << rw.err;
  auto rpj = nlohmann::json::parse(rp.out), rwj = nlohmann::json::parse(rw.out);
  EXPECT_FALSE(rpj["connections"][0].contains("pairs"));
  EXPECT_EQ(sum(rwj["connections"], "pairs"), rpj["summary"]["pairs"].get<uint64_t>());
  EXPECT_EQ(rwj["summary"], rpj["summary"]);
  EXPECT_LT(rwj["connections"].size(), rpj["connections"].size());
  Proc rc = stockade({"reach", "-f", "demo/cluster", "-f", "demo/policies", "-o", "csv", "--by",
                      "namespace", "--verdict", "denied"});
  EXPECT_EQ(rc.out.substr(0, rc.out.find('\n')), "src,dst,protocol,port,allowed,pairs");
  EXPECT_EQ(rc.out.find(",true,"), std::string::npos) << rc.out;

  // diff: workload rows by default, with their pod pairs; --by pod as before.
  const std::vector<std::string> diff = {
      "diff", "-f",  "demo/cluster", "--before", "demo/policies", "--after", "demo/policies-change",
      "-o",   "json"};
  Proc dp = stockade(with(diff, {"--by", "pod"})), dw = stockade(diff);
  auto dpj = nlohmann::json::parse(dp.out), dwj = nlohmann::json::parse(dw.out);
  EXPECT_EQ(sum(dwj["changes"], "pairs"), dpj["changes"].size());
  EXPECT_LE(dwj["changes"].size(), dpj["changes"].size());
  EXPECT_EQ(dwj["summary"], dpj["summary"]);
  for (const auto& c : dwj["changes"])
    EXPECT_EQ(c["src"].get<std::string>().find("shop/checkout-"), std::string::npos) << c;
}

// diff --flows names an outside address by the part of the outside holding it, as diff's
// connections do: two addresses of one part are one row, their counts added.
TEST(CliLoop, DiffFlowsNamesTheOutsideByPart) {
  TempDir tmp;
  const fs::path cluster = tmp.path() / "cluster.yaml", before = tmp.path() / "before.yaml",
                 after = tmp.path() / "after.yaml", flows = tmp.path() / "flows.json";
  std::ofstream(cluster) << R"(apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
)";
  auto policy = [](const char* cidr) {
    return std::string(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{ipBlock: {cidr: )") +
           cidr + "}}]\n    ports: [{port: 8080}]\n";
  };
  std::ofstream(before) << policy("0.0.0.0/0");
  std::ofstream(after) << policy("198.51.100.0/24");
  std::string records;
  int sport = 40000;
  for (const char* src : {"203.0.113.5", "203.0.113.6", "203.0.113.6", "198.51.100.7"})
    records +=
        std::string(
            R"({"flow":{"time":"2026-01-01T00:00:00Z","verdict":"FORWARDED","IP":{"source":")") +
        src + R"(","destination":"10.0.0.1"},"l4":{"TCP":{"source_port":)" +
        std::to_string(++sport) +
        R"(,"destination_port":8080,"flags":{"SYN":true}}},"is_reply":false}})" + "\n";
  std::ofstream(flows) << records;
  Proc d = stockade({"diff", "-f", cluster.string(), "--before", before.string(), "--after",
                     after.string(), "--flows", flows.string(), "-o", "json"});
  EXPECT_EQ(d.code, 1) << d.err;
  auto j = nlohmann::json::parse(d.out);
  const auto& rows = j["flows"]["changes"];
  ASSERT_EQ(rows.size(), 1u) << d.out;
  EXPECT_EQ(rows[0]["src"], "world/0.0.0.0/0 except 198.51.100.0/24");
  EXPECT_EQ(rows[0]["dst"], "shop/web-0");
  EXPECT_EQ(rows[0]["established"], 3);
  EXPECT_EQ(rows[0]["after"], "denied");
  EXPECT_EQ(j["flows"]["summary"]["broken"], 2);  // two observed edges (two addresses)
  // The same part names the connection in the diff itself.
  bool listed = false;
  for (const auto& c : j["changes"]) listed = listed || c["src"] == rows[0]["src"];
  EXPECT_TRUE(listed) << d.out;
}

TEST(CliLoop, DemoLoopRecommendVerifyDiff) {
  TempDir tmp;
  fs::path out = tmp.path() / "recommended";
  Proc r = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir", out.string(), "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", out.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_EQ(nlohmann::json::parse(v.out)["summary"]["denied"], 0);
  // Moving from the demo's policies to the recommended ones breaks no observed flow.
  Proc d = stockade({"diff", "-f", "demo/cluster", "--before", "demo/policies", "--after",
                     out.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["flows"]["summary"]["broken"], 0);
}

TEST(CliLoop, GeneratedClusterLoopMeetsTheBar) {
  TempDir tmp;
  fs::path cluster = tmp.path() / "cluster.json", flows = tmp.path() / "flows.json.gz";
  ASSERT_EQ(run(STOCKADE_GEN_CLUSTER, {"--pods", "400", "--namespaces", "4", "--policies", "0",
                                       "--out", cluster.string()})
                .code,
            0);
  ASSERT_EQ(run(STOCKADE_GEN_FLOWS, {"--cluster", cluster.string(), "--records", "40000", "--gzip",
                                     "--out", flows.string()})
                .code,
            0);
  fs::path a = tmp.path() / "a", b = tmp.path() / "b";
  // --include-system: the tightness bar was set over every namespace with traffic.
  Proc r = stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                     a.string(), "--include-system"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                      b.string(), "-q", "--include-system"})
                .code,
            0);
  EXPECT_EQ(dir_text(a), dir_text(b)) << "two runs must give identical files";
  // Tightness: allowed pod pairs <= 1.25 x the observed ones (DNS twins counted as required).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"(tightness: .*\((\d+\.\d+)x;)"))) << r.err;
  EXPECT_LE(std::stod(m[1]), 1.25) << r.err;
  // And nothing beyond what workload selectors cannot avoid.
  EXPECT_NE(r.err.find("and 0 beyond"), std::string::npos) << r.err;
  // Every observed established edge is allowed by the written files.
  Proc v = stockade({"verify", "-f", cluster.string(), "-f", a.string(), "--flows", flows.string(),
                     "-o", "json"});
  EXPECT_EQ(v.code, 0);
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 1000);
  std::string problems;
  if (validate_schemas(a, problems))
    EXPECT_EQ(problems, "");
  else
    GTEST_LOG_(INFO) << "python3 jsonschema/yaml not available: schema validation skipped";

  // With guardrails, in every API version: still every observed edge allowed, and valid.
  for (const char* api : {"v1beta1", "v1alpha2", "v1alpha1"}) {
    fs::path g = tmp.path() / (std::string("guard-") + api);
    Proc rg = stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(),
                        "--guardrails", "--guardrail-api", api, "--out-dir", g.string(), "-q"});
    ASSERT_EQ(rg.code, 0) << rg.err;
    Proc vg = stockade({"verify", "-f", cluster.string(), "-f", g.string(), "--flows",
                        flows.string(), "-o", "json"});
    EXPECT_EQ(vg.code, 0) << api;
    EXPECT_EQ(nlohmann::json::parse(vg.out)["summary"]["denied"], 0) << api;
    std::string gp;
    if (validate_schemas(g, gp)) {
      EXPECT_EQ(gp, "") << api;
    }
  }

  // Learning from the first part only: later traffic shows up as denied in verify (exit 1)
  // and as breakage in diff --flows.
  // recommend itself refuses (exit 1, nothing written) unless --accept-blocked.
  fs::path early = tmp.path() / "early";
  Proc blocked = stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(),
                           "--until", "2026-01-01T00:00:01Z", "--out-dir", early.string()});
  EXPECT_EQ(blocked.code, 1) << blocked.err;
  EXPECT_NE(blocked.err.find("outside --since/--until"), std::string::npos) << blocked.err;
  EXPECT_FALSE(fs::exists(early));
  ASSERT_EQ(
      stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--until",
                "2026-01-01T00:00:01Z", "--out-dir", early.string(), "-q", "--accept-blocked"})
          .code,
      0);
  Proc ve = stockade({"verify", "-f", cluster.string(), "-f", early.string(), "--flows",
                      flows.string(), "-o", "json"});
  EXPECT_EQ(ve.code, 1);
  EXPECT_GT(nlohmann::json::parse(ve.out)["summary"]["denied"].get<int>(), 0);
  Proc d = stockade({"diff", "-f", cluster.string(), "--before", a.string(), "--after",
                     early.string(), "--flows", flows.string(), "-o", "json"});
  EXPECT_EQ(d.code, 1);
  EXPECT_GT(nlohmann::json::parse(d.out)["flows"]["summary"]["broken"].get<int>(), 0);
}

// The shape `kubectl get pods,deployments,services -A -o yaml` gives: pods name ReplicaSets the
// input lacks. The loop must give the very policies it gives with the ReplicaSets (one per
// workload, by its selector), and so meet the same bar.
TEST(CliLoop, PodsWithoutReplicaSetsGiveTheSamePolicies) {
  TempDir tmp;
  fs::path full = tmp.path() / "full.json", norep = tmp.path() / "norep.json",
           flows = tmp.path() / "flows.json.gz";
  ASSERT_EQ(run(STOCKADE_GEN_CLUSTER,
                {"--pods", "400", "--namespaces", "4", "--policies", "0", "--out", full.string()})
                .code,
            0);
  ASSERT_EQ(run(STOCKADE_GEN_FLOWS, {"--cluster", full.string(), "--records", "40000", "--gzip",
                                     "--out", flows.string()})
                .code,
            0);
  {
    auto doc = nlohmann::json::parse(slurp(full));
    auto& items = doc["items"];
    size_t before = items.size();
    items.erase(std::remove_if(items.begin(), items.end(),
                               [](const nlohmann::json& i) { return i["kind"] == "ReplicaSet"; }),
                items.end());
    ASSERT_LT(items.size(), before);
    std::ofstream(norep) << doc.dump();
  }
  fs::path a = tmp.path() / "a", b = tmp.path() / "b";
  ASSERT_EQ(stockade({"recommend", "-f", full.string(), "--flows", flows.string(), "--out-dir",
                      a.string(), "-q"})
                .code,
            0);
  Proc r = stockade(
      {"recommend", "-f", norep.string(), "--flows", flows.string(), "--out-dir", b.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(dir_text(a), dir_text(b));
  EXPECT_EQ(dir_text(b).find("pod-template-hash"), std::string::npos);
  // The same tightness as with the ReplicaSets (GeneratedClusterLoopMeetsTheBar holds the bar).
  Proc ra_rec =
      stockade({"recommend", "-f", full.string(), "--flows", flows.string(), "-o", "json"});
  std::smatch m, mf;
  const std::regex tight(R"(tightness: .*\((\d+\.\d+)x;)");
  ASSERT_TRUE(std::regex_search(r.err, m, tight)) << r.err;
  ASSERT_TRUE(std::regex_search(ra_rec.err, mf, tight)) << ra_rec.err;
  EXPECT_EQ(m[1].str(), mf[1].str()) << r.err;
  EXPECT_NE(r.err.find("and 0 beyond"), std::string::npos) << r.err;
  Proc v = stockade(
      {"verify", "-f", norep.string(), "-f", b.string(), "--flows", flows.string(), "-o", "json"});
  EXPECT_EQ(v.code, 0);
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_EQ(doc["summary"]["unresolved"], 0);
  // And reach counts one endpoint per pod, as with the ReplicaSets (no ghost Deployments).
  Proc ra = stockade({"reach", "-f", full.string(), "-o", "summary"});
  Proc rb = stockade({"reach", "-f", norep.string(), "-o", "summary"});
  EXPECT_EQ(nlohmann::json::parse(rb.out)["endpoints"], nlohmann::json::parse(ra.out)["endpoints"]);
}

// The GitOps shape: workloads without Pods or ReplicaSets, records naming the live pods (with
// Hubble's `workloads` and labels). map draws exactly the generator's workload call graph, and
// recommend -> verify evaluates every observed edge.
TEST(CliLoop, GitOpsShapeResolvesEveryRecordPod) {
  TempDir tmp;
  fs::path full = tmp.path() / "full.json", gitops = tmp.path() / "gitops.json",
           flows = tmp.path() / "flows.json", truth = tmp.path() / "truth.json";
  ASSERT_EQ(run(STOCKADE_GEN_CLUSTER,
                {"--pods", "400", "--namespaces", "4", "--policies", "0", "--out", full.string()})
                .code,
            0);
  ASSERT_EQ(run(STOCKADE_GEN_FLOWS, {"--cluster", full.string(), "--records", "40000", "--out",
                                     flows.string(), "--truth", truth.string()})
                .code,
            0);
  {
    auto doc = nlohmann::json::parse(slurp(full));
    auto& items = doc["items"];
    items.erase(std::remove_if(items.begin(), items.end(),
                               [](const nlohmann::json& i) {
                                 return i["kind"] == "ReplicaSet" || i["kind"] == "Pod";
                               }),
                items.end());
    std::ofstream(gitops) << doc.dump();
  }
  std::set<std::string> want, got;
  std::istringstream lines(slurp(truth));
  for (std::string line; std::getline(lines, line);) {
    auto t = nlohmann::json::parse(line);
    want.insert(t["src"].get<std::string>() + " " + t["dst"].get<std::string>() + " " +
                t["protocol"].get<std::string>() + "/" + std::to_string(t["port"].get<int>()));
  }
  Proc m = stockade({"map", "-f", gitops.string(), "--flows", flows.string(), "-o", "json", "-v"});
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_EQ(m.err.find("not in the input"), std::string::npos) << m.err;
  const auto map = nlohmann::json::parse(m.out);
  for (const auto& e : map["edges"])
    got.insert(e["src"].get<std::string>() + " " + e["dst"].get<std::string>() + " " +
               e["protocol"].get<std::string>() + "/" + std::to_string(e["port"].get<int>()));
  EXPECT_EQ(got, want);

  fs::path rec = tmp.path() / "rec";
  Proc r = stockade(
      {"recommend", "-f", gitops.string(), "--flows", flows.string(), "--out-dir", rec.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(" 0 with an endpoint outside the objects"), std::string::npos) << r.err;
  Proc v = stockade({"verify", "-f", gitops.string(), "-f", rec.string(), "--flows", flows.string(),
                     "-o", "json"});
  EXPECT_EQ(v.code, 0);
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_EQ(doc["summary"]["unresolved"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 1000);
}

TEST(CliLoop, BadInputIsOneLineAndExit2) {
  TempDir tmp;
  fs::path empty = tmp.path() / "empty.json", bad = tmp.path() / "bad.json";
  std::ofstream(empty) << "";
  std::ofstream(bad) << "{\"flow\":{\"time\":\"2026-01-01T00:00:00Z\"}}\nnot json\n";
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  } cases[] = {
      {{"recommend", "-f", "demo/cluster", "--flows", empty.string()}, "no flow records"},
      {{"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--since", "yesterday"},
       "--since: invalid time"},
      {{"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--since",
        "2030-01-01T00:00:00Z"},
       "no flow records inside --since/--until"},
      {{"verify", "-f", "demo/cluster", "--flows", bad.string(), "--strict"}, "bad.json:2:"},
      {{"recommend", "-f", "demo/cluster", "--flows", (tmp.path() / "missing").string()},
       "missing"},
      {{"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--min-count", "0"},
       "--min-count"},
  };
  for (const Case& c : cases) {
    Proc r = stockade(c.args);
    EXPECT_EQ(r.code, 2) << c.needle << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.needle;
    EXPECT_TRUE(r.err.starts_with("stockade: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
  }
}

}  // namespace

namespace {

// Issue 27's bar, on the demo with the storefront's Service made a LoadBalancer.
TEST(CliLoop, SafeRecommendOnTheDemoWithALoadBalancer) {
  TempDir tmp;
  const fs::path cluster = tmp.path() / "cluster";
  fs::create_directories(cluster);
  for (const auto& e : fs::directory_iterator(kSourceDir / "demo" / "cluster"))
    fs::copy_file(e.path(), cluster / e.path().filename());
  {
    std::string shop = slurp(cluster / "shop.yaml");
    const std::string svc =
        "    name: frontend\n    namespace: shop\n    resourceVersion: \"187351\"";
    size_t at = shop.find(svc);
    ASSERT_NE(at, std::string::npos);
    // The Service's own `type` replaced: a second `type` key is refused (strict YAML).
    at = shop.find("    type: ClusterIP\n", at);
    ASSERT_NE(at, std::string::npos);
    shop.replace(at, 20, "    type: LoadBalancer\n");
    std::ofstream(cluster / "shop.yaml", std::ios::binary | std::ios::trunc) << shop;
  }
  const fs::path out = tmp.path() / "recommended";
  Proc r = stockade(
      {"recommend", "-f", cluster.string(), "--flows", kDemoFlows, "--out-dir", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  // The short window: a warning, and every policy says so.
  EXPECT_NE(r.err.find("warning: the learning window (2.6s) is shorter than --min-window 24h"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("shop/nightly-report (CronJob)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not observed: NOT COVERED"), std::string::npos) << r.err;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    ++files;
    EXPECT_FALSE(e.path().filename().string().starts_with("kube-system."))
        << "nothing in kube-system by default: " << e.path();
    EXPECT_NE(slurp(e.path()).find("\"stockade.io/confidence\": \"low\""), std::string::npos)
        << e.path();
  }
  EXPECT_GT(files, 5u);
  // The engine over the written files: the internet still reaches the storefront; the CronJob
  // that never ran still resolves names.
  Proc lb =
      stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from", "198.51.100.7",
                "--to", "shop/frontend-7d9f8c6b5d-x2k9p", "--port", "tcp/http"});
  EXPECT_NE(lb.out.find("ALLOWED"), std::string::npos) << lb.out << lb.err;
  EXPECT_NE(lb.out.find("stockade-ingress-frontend"), std::string::npos) << lb.out;
  Proc dns = stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from",
                       "shop/nightly-report", "--to", "kube-system/coredns-5dd5756b68-8xq2l",
                       "--port", "udp/53"});
  EXPECT_NE(dns.out.find("ALLOWED"), std::string::npos) << dns.out << dns.err;

  // --min-count 10 leaves observed edges denied: exit 1, named, nothing written.
  const fs::path strict = tmp.path() / "strict";
  Proc m = stockade({"recommend", "-f", cluster.string(), "--flows", kDemoFlows, "--min-count",
                     "10", "--out-dir", strict.string()});
  EXPECT_EQ(m.code, 1) << m.err;
  EXPECT_TRUE(std::regex_search(
      m.err,
      std::regex(R"(\d+ observed edge\(s\) that the policies in force allow would be denied)")))
      << m.err;
  EXPECT_NE(m.err.find("below --min-count"), std::string::npos) << m.err;
  EXPECT_FALSE(fs::exists(strict));
  Proc accepted = stockade({"recommend", "-f", cluster.string(), "--flows", kDemoFlows,
                            "--min-count", "10", "--accept-blocked", "-q"});
  EXPECT_EQ(accepted.code, 0) << accepted.err;

  // diff sees the outside: from the demo's policies to the recommended ones, the storefront's
  // public port is kept (no world line for it), payments' gateway parts are listed.
  Proc d = stockade({"diff", "-f", cluster.string(), "--before", "demo/policies", "--after",
                     out.string(), "-o", "json"});
  ASSERT_EQ(d.code, 0) << d.err;
  auto doc = nlohmann::json::parse(d.out);
  size_t world = 0;
  for (const auto& c : doc["changes"]) {
    const std::string src = c["src"], dst = c["dst"];
    if (!src.starts_with("world/") && !dst.starts_with("world/")) continue;
    ++world;
    if (src.starts_with("world/0.0.0.0/0")) {
      EXPECT_FALSE(dst.starts_with("shop/frontend")) << "internet -> storefront lost: " << c;
    }
  }
  EXPECT_GT(world, 0u) << d.out;

  // With the demo's policies in force, the summary counts what the recommendation removes,
  // outside the cluster included.
  Proc inforce = stockade({"recommend", "-f", cluster.string(), "-f", "demo/policies", "--flows",
                           kDemoFlows, "-o", "json"});
  EXPECT_EQ(inforce.code, 0) << inforce.err;
  std::smatch rm;
  ASSERT_TRUE(std::regex_search(
      inforce.err, rm,
      std::regex(
          R"(removed compared with the policies in force: (\d+) connection\(s\) \((\d+) to or from outside)")))
      << inforce.err;
  EXPECT_GT(std::stoi(rm[1]), 0);
  EXPECT_GT(std::stoi(rm[2]), 0);

  // Without the LoadBalancer nothing declares the storefront public: losing it is a diff line.
  const fs::path plain = tmp.path() / "plain";
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      plain.string(), "-q"})
                .code,
            0);
  Proc dp = stockade(
      {"diff", "-f", "demo/cluster", "--before", "demo/policies", "--after", plain.string()});
  EXPECT_TRUE(std::regex_search(
      dp.out,
      std::regex(
          R"(world/0\.0\.0\.0/0 except [^\n]*shop/frontend +TCP/8080 +allowed -> denied \(2 pod pairs\))")))
      << dp.out;
}

}  // namespace

namespace {

TEST(CliLoop, CommandLineAsKubectlAndHubbleUsersExpect) {
  const std::vector<std::string> base = {"-f", "demo/cluster", "-f", "demo/policies"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.begin() + 1, base.begin(), base.end());
    return stockade(args);
  };
  // explain --exit-code: 1 when denied, 0 when allowed; a bare port is TCP.
  Proc denied = with({"explain", "--from", "shop/nightly-report", "--to", "data/postgres-0",
                      "--port", "5432", "--exit-code"});
  EXPECT_EQ(denied.code, 1) << denied.err;
  EXPECT_NE(denied.out.find("TCP/5432: DENIED"), std::string::npos) << denied.out;
  EXPECT_EQ(with({"explain", "--from", "shop/nightly-report", "--to", "data/postgres-0", "--port",
                  "5432"})
                .code,
            0);
  EXPECT_EQ(with({"explain", "--from", "198.51.100.7", "--to", "shop/frontend-7d9f8c6b5d-x2k9p",
                  "--port", "http", "--exit-code"})
                .code,
            0);
  // reach --verdict denied lists the denied rows only; the summary still counts all.
  Proc r = with({"reach", "--from", "shop/frontend-7d9f8c6b5d-x2k9p", "--to", "shop/*", "--verdict",
                 "denied"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find(" allowed\n"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + 10 + 2) << r.out;
  EXPECT_NE(r.out.find("16 connections: 6 allowed, 10 denied"), std::string::npos) << r.out;
  // "did you mean" for namespaces and workloads.
  Proc typo_ns = with({"reach", "--from", "shpo/frontend"});
  EXPECT_EQ(typo_ns.code, 2);
  EXPECT_NE(typo_ns.err.find("did you mean \"shop/frontend\"?"), std::string::npos) << typo_ns.err;
  Proc typo = with({"explain", "--from", "shop/frontnd", "--to", "shop/cart", "--port", "8080"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("did you mean \"shop/frontend\"?"), std::string::npos) << typo.err;
  // --since as a duration before now: the demo's flows (2026-01-01) are older than 24h.
  Proc old = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--since", "24h"});
  EXPECT_EQ(old.code, 2);
  EXPECT_NE(old.err.find("no flow records inside --since/--until"), std::string::npos) << old.err;
  Proc all = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--since", "876000h", "-q"});
  EXPECT_EQ(all.code, 0) << all.err;
  // --min-window: a window at least this long gives no warning and no low confidence.
  Proc longer =
      stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--min-window", "2s"});
  EXPECT_EQ(longer.code, 0) << longer.err;
  EXPECT_EQ(longer.err.find("--min-window"), std::string::npos) << longer.err;
  EXPECT_EQ(longer.out.find("stockade.io/confidence"), std::string::npos);
  Proc bad =
      stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--min-window", "soon"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--min-window: expected a duration"), std::string::npos) << bad.err;
}

}  // namespace

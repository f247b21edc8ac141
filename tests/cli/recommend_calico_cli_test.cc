// `stockade recommend --output-kind calico` on the command line: the demo (golden), the loop
// recommend -> verify with the written Calico policies on the demo and on a generated cluster,
// the same verdicts as the NetworkPolicy output between pods, beside the policies in force, the
// declared exposure, and what is refused.
//
// Refresh the golden with
//   STOCKADE_UPDATE_GOLDEN=1 ./build/release/tests/stockade_tests
//   --gtest_filter='CliRecommendCalico*'
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const fs::path kGoldenDir = kSourceDir / "tests" / "cli" / "golden";
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
        (fs::temp_directory_path() / ("stockade-calico-" + test + "-XXXXXX")).string();
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

std::string dir_text(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string all;
  for (const fs::path& f : files) all += "### " + f.filename().string() + "\n" + slurp(f);
  return all;
}

// Every document of every file in `dir`: a projectcalico.org/v3 NetworkPolicy in the default
// tier at order 1000, with only the fields a recommendation writes.
void expect_calico_shapes(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string text = slurp(e.path());
    EXPECT_EQ(text.rfind("apiVersion: \"projectcalico.org/v3\"\nkind: \"NetworkPolicy\"\n", 0), 0u)
        << e.path();
    EXPECT_NE(text.find("  tier: \"default\"\n  order: 1000\n  selector: \""), std::string::npos)
        << e.path();
    EXPECT_EQ(text.find("action: \"Deny\""), std::string::npos) << e.path();
  }
}

// Host-network pods of a generated cluster (gen_cluster's JSON List): their node's traffic.
std::set<std::string> host_network_pods(const fs::path& cluster) {
  std::set<std::string> out;
  auto doc = nlohmann::json::parse(slurp(cluster));
  for (const auto& o : doc["items"])
    if (o.value("kind", "") == "Pod" && o["spec"].value("hostNetwork", false))
      out.insert(o["metadata"]["namespace"].get<std::string>() + "/" +
                 o["metadata"]["name"].get<std::string>());
  return out;
}

TEST(CliRecommendCalico, DemoGoldenVerifyAndExplain) {
  Proc r = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind", "calico"});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_golden("recommend_demo_calico.yaml", r.out);
  EXPECT_NE(r.err.find("Calico NetworkPolicies (projectcalico.org/v3) written"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("self-check passed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("note: 6 observed edge(s) between a pod and its own node became rules"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("networking.k8s.io"), std::string::npos);

  // The same units as the NetworkPolicy output, with the same file names; one more where a
  // workload is reached from its own node (Calico decides that traffic too).
  TempDir tmp("demo");
  const fs::path np = tmp.path() / "np", cal = tmp.path() / "calico";
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      np.string(), "-q"})
                .code,
            0);
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--out-dir",
                      cal.string(), "-q", "--output-kind", "calico"})
                .code,
            0);
  std::vector<std::string> a, b;
  for (const auto& e : fs::directory_iterator(np)) a.push_back(e.path().filename());
  for (const auto& e : fs::directory_iterator(cal)) b.push_back(e.path().filename());
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> extra;
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(extra));
  EXPECT_TRUE(std::includes(b.begin(), b.end(), a.begin(), a.end()));
  EXPECT_EQ(extra, std::vector<std::string>{"monitoring.stockade-ingress-grafana.yaml"});
  expect_calico_shapes(cal);

  // verify with the written files: every observed edge allowed.
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", cal.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 50);
  // Something is denied that was allowed before, and explain names the Calico policies.
  Proc x =
      stockade({"explain", "-f", "demo/cluster", "-f", cal.string(), "--from",
                "shop/frontend-7d9f8c6b5d-x2k9p", "--to", "data/postgres-0", "--port", "tcp/5432"});
  EXPECT_NE(x.out.find("DENIED"), std::string::npos) << x.out << x.err;
  EXPECT_NE(x.out.find("NetworkPolicy (projectcalico.org) data/stockade-ingress-postgres"),
            std::string::npos)
      << x.out;
  EXPECT_NE(x.out.find("the end-of-tier deny"), std::string::npos) << x.out;

  // Between pods, the same verdicts as the NetworkPolicy output: every change `diff` lists
  // has a host-network pod (node-exporter) on one side.
  Proc d = stockade({"diff", "-f", "demo/cluster", "--before", np.string(), "--after", cal.string(),
                     "-o", "json", "--by", "pod"});
  auto changes = nlohmann::json::parse(d.out)["changes"];
  EXPECT_GT(changes.size(), 0u);
  for (const auto& c : changes)
    EXPECT_TRUE(c["src"].get<std::string>().starts_with("kube-system/node-exporter-") ||
                c["dst"].get<std::string>().starts_with("kube-system/node-exporter-"))
        << c.dump();

  // -o json: one List, the same policies.
  Proc j = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "calico", "-o", "json", "-q"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto list = nlohmann::json::parse(j.out);
  EXPECT_EQ(list["items"].size(), b.size());
  for (const auto& item : list["items"]) {
    EXPECT_EQ(item["apiVersion"], "projectcalico.org/v3");
    EXPECT_EQ(item["kind"], "NetworkPolicy");
    EXPECT_EQ(item["spec"]["order"], 1000);
  }
}

TEST(CliRecommendCalico, GeneratedClusterLoop) {
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
  fs::path a = tmp.path() / "a", b = tmp.path() / "b", np = tmp.path() / "np";
  Proc r = stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                     a.string(), "--include-system", "--output-kind", "calico"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                      b.string(), "-q", "--include-system", "--output-kind", "calico"})
                .code,
            0);
  EXPECT_EQ(dir_text(a), dir_text(b)) << "two runs must give identical files";
  EXPECT_NE(r.err.find("and 0 beyond"), std::string::npos) << r.err;
  expect_calico_shapes(a);
  Proc v = stockade({"verify", "-f", cluster.string(), "-f", a.string(), "--flows", flows.string(),
                     "-o", "json"});
  EXPECT_EQ(v.code, 0) << v.err;
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);
  EXPECT_GT(doc["summary"]["allowed"].get<int>(), 1000);
  // Against the NetworkPolicy output: no pod-to-pod verdict differs; what differs is between
  // pods and host-network pods (their nodes), which Calico's tiers decide and Kubernetes lets
  // through on the pod's own node.
  ASSERT_EQ(stockade({"recommend", "-f", cluster.string(), "--flows", flows.string(), "--out-dir",
                      np.string(), "-q", "--include-system"})
                .code,
            0);
  Proc d = stockade({"diff", "-f", cluster.string(), "--before", np.string(), "--after", a.string(),
                     "-o", "json", "--by", "pod"});
  const std::set<std::string> host = host_network_pods(cluster);
  ASSERT_FALSE(host.empty());
  size_t between_pods = 0, total = 0;
  const auto doc_changes = nlohmann::json::parse(d.out);
  for (const auto& c : doc_changes["changes"]) {
    ++total;
    between_pods +=
        !host.count(c["src"].get<std::string>()) && !host.count(c["dst"].get<std::string>());
  }
  EXPECT_GT(total, 0u);  // own-node traffic: there are differences, all with a node
  EXPECT_EQ(between_pods, 0u) << total << " changes";
}

TEST(CliRecommendCalico, BesideThePoliciesInForce) {
  // With the demo's policies in force (NetworkPolicies and the admin tiers, which Calico puts
  // in its kube-admin tier before the default one): the Calico policies allow exactly what the
  // NetworkPolicy recommendation allows of the observed traffic.
  TempDir tmp("mixed");
  const fs::path np = tmp.path() / "np", cal = tmp.path() / "calico";
  for (const auto& [dir, kind] : {std::pair{np, "networkpolicy"}, std::pair{cal, "calico"}})
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
  auto a = summary(np), b = summary(cal);
  EXPECT_EQ(a["allowed"], b["allowed"]);
  EXPECT_EQ(a["denied"], b["denied"]);
  EXPECT_GT(b["allowed"].get<int>(), 50);
  EXPECT_GT(b["denied"].get<int>(), 0);
}

TEST(CliRecommendCalico, DeclaredExposureKeptAsNets) {
  // The storefront's Service made a LoadBalancer: the internet keeps reaching it, as
  // `nets: [0.0.0.0/0]` with the pods' prefixes in `notNets`, whether observed or not.
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
  const fs::path out = tmp.path() / "calico";
  Proc r = stockade({"recommend", "-f", cluster.string(), "--flows", kDemoFlows, "--out-dir",
                     out.string(), "--output-kind", "calico", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string frontend = slurp(out / "shop.stockade-ingress-frontend.yaml");
  EXPECT_NE(frontend.find("    source:\n      nets:\n      - \"0.0.0.0/0\"\n      notNets:\n"),
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
  // The never-run CronJob is left out of the default-deny and still resolves names.
  Proc dns = stockade({"explain", "-f", cluster.string(), "-f", out.string(), "--from",
                       "shop/nightly-report", "--to", "kube-system/coredns-5dd5756b68-8xq2l",
                       "--port", "udp/53"});
  EXPECT_NE(dns.out.find("ALLOWED"), std::string::npos) << dns.out << dns.err;
}

TEST(CliRecommendCalico, HostileFlowNamesCannotInject) {
  // A Hubble record whose pod name carries a rule: dropped as malformed, the policies the same.
  Proc base = stockade(
      {"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind", "calico", "-q"});
  ASSERT_EQ(base.code, 0) << base.err;
  Proc r = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--flows",
                     "tests/hostile/injection-flows-pod-newline.json", "--output-kind", "calico"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, base.out);
  EXPECT_EQ(r.out.find("all()\" ||"), std::string::npos);
  EXPECT_NE(r.err.find("not a valid Kubernetes name"), std::string::npos) << r.err;
}

TEST(CliRecommendCalico, GuardrailsStayClusterNetworkPolicies) {
  // Calico enforces ClusterNetworkPolicies (and AdminNetworkPolicies) itself, in its
  // kube-admin tier before the default one: the guardrails are written in their own kind beside
  // the Calico policies and proved with them, in Calico's tiers.
  TempDir tmp("guardrails");
  const fs::path out = tmp.path() / "calico";
  Proc r = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "calico", "--guardrails", "--out-dir", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("cluster guardrail(s) suggested (ClusterNetworkPolicy v1beta1)"),
            std::string::npos)
      << r.err;
  size_t guardrails = 0, calico = 0;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string text = slurp(e.path());
    if (e.path().filename().string().starts_with("cluster.")) {
      ++guardrails;
      EXPECT_NE(text.find("kind: \"ClusterNetworkPolicy\""), std::string::npos) << e.path();
    } else {
      ++calico;
      EXPECT_NE(text.find("apiVersion: \"projectcalico.org/v3\""), std::string::npos);
    }
  }
  EXPECT_GT(guardrails, 2u);
  EXPECT_EQ(calico, 17u);
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", out.string(), "--flows", kDemoFlows, "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(v.out)["summary"]["denied"], 0) << v.out;
  Proc x =
      stockade({"explain", "-f", "demo/cluster", "-f", out.string(), "--from",
                "shop/frontend-7d9f8c6b5d-x2k9p", "--to", "169.254.169.254", "--port", "tcp/80"});
  EXPECT_NE(x.out.find("DENIED"), std::string::npos) << x.out;
  EXPECT_NE(x.out.find("ClusterNetworkPolicy stockade-deny-cloud-metadata"), std::string::npos)
      << x.out;
  EXPECT_NE(x.out.find("in Calico tier kube-admin"), std::string::npos) << x.out;
  // On stdout, one List of both kinds; AdminNetworkPolicies with --guardrail-api v1alpha1.
  Proc j = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "calico", "--guardrails", "--guardrail-api", "v1alpha1", "-o", "json", "-q"});
  ASSERT_EQ(j.code, 0) << j.err;
  std::set<std::string> kinds;
  const auto list = nlohmann::json::parse(j.out);
  for (const auto& item : list["items"]) kinds.insert(item["kind"].get<std::string>());
  EXPECT_EQ(kinds, (std::set<std::string>{"AdminNetworkPolicy", "NetworkPolicy"}));
  Proc y = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--output-kind",
                     "calico", "--guardrails", "-q"});
  ASSERT_EQ(y.code, 0) << y.err;
  EXPECT_NE(y.out.find("---\napiVersion: \"policy.networking.k8s.io/v1beta1\""), std::string::npos);
}

}  // namespace

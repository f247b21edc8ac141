// Golden tests of the stockade command line (docs/cli.md documents it).
//
// Every test runs the real binary (STOCKADE_BINARY) through the shell, with the repository
// root (STOCKADE_SOURCE_DIR) as the working directory, on the demo data in demo/, and captures
// stdout, stderr and the exit code. Paths on the command line are relative to the repository
// root, so file names in the output ("demo/policies/shop.yaml:62") are stable.
//
// stdout is compared byte for byte with a golden file in tests/cli/golden/. When an output
// changes on purpose, regenerate the goldens and review the diff before committing it:
//
//   STOCKADE_UPDATE_GOLDEN=1 ./build/release/tests/stockade_tests --gtest_filter='Cli*'
//   git diff tests/cli/golden/
//
// With STOCKADE_UPDATE_GOLDEN=1 the golden tests rewrite their files and pass (the other
// checks still run). A missing golden file fails with a message naming it.
//
// The error-contract tests write their bad inputs to a temporary directory and check the
// shape of stderr (one line, "stockade: error: [FILE:LINE: ]message") and the exit code 2.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const fs::path kGoldenDir = kSourceDir / "tests" / "cli" / "golden";

// The demo data, relative to the repository root.
const char* const kCluster = "demo/cluster";
const char* const kPolicies = "demo/policies";
const char* const kPoliciesChange = "demo/policies-change";

// Pod names in demo/cluster.
const char* const kFrontend = "shop/frontend-7d9f8c6b5d-x2k9p";
const char* const kCart = "shop/cart-5c6b9f7d48-m5r7t";
const char* const kCheckout = "shop/checkout-6f8d7c9b54-h4d8s";
const char* const kPayments = "shop/payments-84b7f6d9c5-p9l2b";
const char* const kNightlyReport = "shop/nightly-report";  // a CronJob with no pods
const char* const kPostgres0 = "data/postgres-0";
const char* const kPrometheus = "monitoring/prometheus-6d4b9c8f7f-c4j9m";
const char* const kCoredns = "kube-system/coredns-5dd5756b68-8xq2l";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out.append("'\\''");
    else
      out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// A directory under the system temp dir, removed with everything in it at the end of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stockade-cli-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << tmpl;
      return;
    }
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `stockade ARGS...` in the repository root and captures stdout, stderr and exit code.
RunResult run(const std::vector<std::string>& args) {
  TempDir tmp;
  fs::path out = tmp.path() / "stdout", err = tmp.path() / "stderr";
  std::string cmd = "cd ";
  cmd.append(shell_quote(kSourceDir.string()));
  cmd.append(" && ");
  cmd.append(shell_quote(STOCKADE_BINARY));
  for (const std::string& a : args) {
    cmd.push_back(' ');
    cmd.append(shell_quote(a));
  }
  cmd.append(" </dev/null >");
  cmd.append(shell_quote(out.string()));
  cmd.append(" 2>");
  cmd.append(shell_quote(err.string()));
  int status = std::system(cmd.c_str());
  RunResult r;
  if (status != -1 && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string describe(const std::vector<std::string>& args, const RunResult& r) {
  std::string s = "stockade";
  for (const std::string& a : args) {
    s.push_back(' ');
    s.append(a);
  }
  s.append("\nexit code: ");
  s.append(std::to_string(r.exit_code));
  s.append("\nstderr: ");
  s.append(r.err);
  return s;
}

bool update_goldens() {
  const char* v = std::getenv("STOCKADE_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

// Compares `actual` with tests/cli/golden/NAME, or rewrites it under STOCKADE_UPDATE_GOLDEN=1.
void expect_golden(const std::string& name, const std::string& actual) {
  fs::path p = kGoldenDir / name;
  if (update_goldens()) {
    fs::create_directories(kGoldenDir);
    write_file(p, actual);
    return;
  }
  if (!fs::exists(p)) {
    ADD_FAILURE() << "missing golden file " << p
                  << "; create it with STOCKADE_UPDATE_GOLDEN=1 (see the top of cli_test.cc)";
    return;
  }
  std::string expected = read_file(p);
  EXPECT_EQ(expected, actual) << "stdout differs from " << p
                              << "; if the change is intended, regenerate with "
                                 "STOCKADE_UPDATE_GOLDEN=1 (see the top of cli_test.cc)";
}

// Runs a command that must succeed and compares its stdout with a golden file.
RunResult golden(const std::string& name, const std::vector<std::string>& args,
                 int expected_exit = 0) {
  RunResult r = run(args);
  EXPECT_EQ(r.exit_code, expected_exit) << describe(args, r);
  EXPECT_EQ(r.err, "") << describe(args, r);
  expect_golden(name, r.out);
  return r;
}

std::vector<std::string> with_demo(std::initializer_list<std::string> args) {
  std::vector<std::string> v(args);
  v.insert(v.begin() + 1, {"-f", kCluster, "-f", kPolicies});
  return v;
}

std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  return keys;
}

// The error contract: exit 2, nothing on stdout, exactly one line on stderr.
void expect_usage_error(const std::vector<std::string>& args, const RunResult& r) {
  EXPECT_EQ(r.exit_code, 2) << describe(args, r);
  EXPECT_EQ(r.out, "") << describe(args, r);
  EXPECT_EQ(r.err.rfind("stockade: error: ", 0), 0u) << describe(args, r);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n') << describe(args, r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << describe(args, r);
}

// ---- reach ----------------------------------------------------------------------------------

TEST(CliReach, SummaryOfWholeCluster) {
  RunResult r = golden("reach_summary.json", with_demo({"reach", "-o", "summary"}));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(keys_of(j), (std::set<std::string>{"endpoints", "pairs", "allowed", "denied"}));
}

TEST(CliReach, JsonOfWholeCluster) {
  golden("reach_all.json", with_demo({"reach", "-o", "json"}));
}

TEST(CliReach, JsonFromOnePod) {
  golden("reach_from_frontend.json", with_demo({"reach", "--from", kFrontend, "-o", "json"}));
}

TEST(CliReach, TableFromOnePod) {
  golden("reach_from_frontend.txt", with_demo({"reach", "--from", kFrontend}));
}

TEST(CliReach, CsvNamespaceToNamespace) {
  golden("reach_shop_to_data_csv.txt",
         with_demo({"reach", "--from", "shop/*", "--to", "data/*", "-o", "csv"}));
}

TEST(CliReach, TableNamedPortResolvedOnEachDestination) {
  // "metrics" is 9102 on the shop pods, 9153 on coredns and 9100 on node-exporter.
  golden("reach_to_shop_named_port_metrics.txt",
         with_demo({"reach", "--to", "shop/*", "--port", "tcp/metrics", "-o", "table"}));
}

TEST(CliReach, TableRepeatedPortsUdpAndTcp) {
  golden("reach_from_data_dns.txt", with_demo({"reach", "--from", "data/*", "--to", "kube-system/*",
                                               "--port", "udp/53", "--port", "tcp/53"}));
}

TEST(CliReach, SummaryWithSelectors) {
  golden("reach_summary_monitoring_to_kube_system.json",
         with_demo({"reach", "--from", "monitoring/*", "--to", "kube-system/*", "-o", "summary"}));
}

TEST(CliReach, WorkloadWithoutPodsIsAnEndpoint) {
  // The CronJob shop/nightly-report has no pods in the input: it stands for its pods.
  golden("reach_from_nightly_report_csv.txt",
         with_demo({"reach", "--from", kNightlyReport, "--to", "data/*", "-o", "csv"}));
}

TEST(CliReach, JsonHasExactlyTheContractKeys) {
  auto args = with_demo({"reach", "-o", "json"});
  RunResult r = run(args);
  ASSERT_EQ(r.exit_code, 0) << describe(args, r);
  // Exactly one object, on one line.
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1);
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(keys_of(j), (std::set<std::string>{"connections", "summary"}));
  ASSERT_TRUE(j["connections"].is_array());
  ASSERT_FALSE(j["connections"].empty());
  uint64_t allowed = 0, denied = 0;
  std::set<std::string> endpoints;
  for (const auto& c : j["connections"]) {
    ASSERT_TRUE(c.is_object());
    EXPECT_EQ(keys_of(c), (std::set<std::string>{"src", "dst", "protocol", "port", "allowed"}));
    ASSERT_TRUE(c["src"].is_string());
    ASSERT_TRUE(c["dst"].is_string());
    ASSERT_TRUE(c["protocol"].is_string());
    ASSERT_TRUE(c["port"].is_number_unsigned());
    ASSERT_TRUE(c["allowed"].is_boolean());
    EXPECT_TRUE(c["protocol"] == "TCP" || c["protocol"] == "UDP" || c["protocol"] == "SCTP");
    EXPECT_GE(c["port"].get<int>(), 1);
    EXPECT_LE(c["port"].get<int>(), 65535);
    // A pod's traffic to itself is included and always allowed.
    if (c["src"] == c["dst"]) {
      EXPECT_TRUE(c["allowed"].get<bool>()) << c.dump();
    }
    (c["allowed"].get<bool>() ? allowed : denied)++;
    endpoints.insert(c["src"].get<std::string>());
  }
  const auto& s = j["summary"];
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(keys_of(s), (std::set<std::string>{"endpoints", "pairs", "allowed", "denied"}));
  EXPECT_EQ(s["allowed"].get<uint64_t>(), allowed);
  EXPECT_EQ(s["denied"].get<uint64_t>(), denied);
  EXPECT_EQ(s["pairs"].get<uint64_t>(), allowed + denied);
  EXPECT_EQ(s["endpoints"].get<uint64_t>(), endpoints.size());
  // 16 pods and the CronJob that has none.
  EXPECT_EQ(s["endpoints"].get<uint64_t>(), 17u);

  // -o summary prints the same summary object.
  RunResult sum = run(with_demo({"reach", "-o", "summary"}));
  ASSERT_EQ(sum.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(sum.out), s);
}

TEST(CliReach, CsvAndTableAgreeWithJson) {
  RunResult js = run(with_demo({"reach", "--from", "shop/*", "-o", "json"}));
  RunResult csv = run(with_demo({"reach", "--from", "shop/*", "-o", "csv"}));
  ASSERT_EQ(js.exit_code, 0);
  ASSERT_EQ(csv.exit_code, 0);
  std::string expected = "src,dst,protocol,port,allowed\n";
  const nlohmann::json j = nlohmann::json::parse(js.out);
  for (const auto& c : j["connections"]) {
    expected.append(c["src"].get<std::string>());
    expected.push_back(',');
    expected.append(c["dst"].get<std::string>());
    expected.push_back(',');
    expected.append(c["protocol"].get<std::string>());
    expected.push_back(',');
    expected.append(std::to_string(c["port"].get<int>()));
    expected.push_back(',');
    expected.append(c["allowed"].get<bool>() ? "true" : "false");
    expected.push_back('\n');
  }
  EXPECT_EQ(csv.out, expected);
}

// ---- explain --------------------------------------------------------------------------------

struct ExplainCase {
  const char* golden;  // file name without extension
  const char* from;
  const char* to;
  const char* port;
  bool allowed;
  const char* egress_tier;
  const char* ingress_tier;
};

const ExplainCase kExplainCases[] = {
    // frontend -> cart on the named port http: both NetworkPolicies allow it.
    {"explain_allowed_frontend_to_cart", kFrontend, kCart, "tcp/http", true, "networkpolicy",
     "networkpolicy"},
    // The CronJob may leave shop for postgres, but data's policies do not admit it.
    {"explain_denied_networkpolicy_nightly_report_to_postgres", kNightlyReport, kPostgres0,
     "tcp/5432", false, "networkpolicy", "networkpolicy"},
    // kube-system accepts only DNS: the AdminNetworkPolicy denies the coredns metrics port.
    {"explain_denied_admin_prometheus_to_coredns_metrics", kPrometheus, kCoredns, "tcp/metrics",
     false, "default", "admin"},
    // DNS is passed on by the AdminNetworkPolicy; nothing below decides: allowed by default.
    {"explain_allowed_admin_pass_checkout_to_dns", kCheckout, kCoredns, "udp/dns", true,
     "networkpolicy", "default"},
    // monitoring (env=prod) has no NetworkPolicy: the baseline denies non-prod namespaces.
    {"explain_denied_baseline_coredns_to_prometheus", kCoredns, kPrometheus, "tcp/web", false,
     "default", "baseline"},
    // From the internet to the storefront: only the pod side is evaluated.
    {"explain_allowed_external_to_frontend", "198.51.100.7", kFrontend, "tcp/http", true,
     "external", "networkpolicy"},
    // From the internet to the database.
    {"explain_denied_external_to_postgres", "203.0.113.5", kPostgres0, "tcp/postgres", false,
     "external", "networkpolicy"},
    // payments -> the payment gateway (ipBlock 203.0.113.0/24 on 443).
    {"explain_allowed_payments_to_gateway", kPayments, "203.0.113.10", "tcp/443", true,
     "networkpolicy", "external"},
    // A pod's traffic to itself.
    {"explain_loopback_cart", kCart, kCart, "tcp/grpc", true, "loopback", "loopback"},
};

class CliExplain : public ::testing::TestWithParam<ExplainCase> {};

TEST_P(CliExplain, Table) {
  const ExplainCase& c = GetParam();
  std::string name = c.golden;
  golden(name.append(".txt"),
         with_demo({"explain", "--from", c.from, "--to", c.to, "--port", c.port}));
}

TEST_P(CliExplain, Json) {
  const ExplainCase& c = GetParam();
  std::string name = c.golden;
  RunResult r = golden(name.append(".json"), with_demo({"explain", "--from", c.from, "--to", c.to,
                                                        "--port", c.port, "-o", "json"}));
  nlohmann::json j;
  ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
  ASSERT_TRUE(j.is_object());
  ASSERT_TRUE(j.contains("allowed"));
  ASSERT_TRUE(j.contains("egress"));
  ASSERT_TRUE(j.contains("ingress"));
  EXPECT_EQ(j["allowed"].get<bool>(), c.allowed);
  ASSERT_TRUE(j["egress"].is_object());
  ASSERT_TRUE(j["ingress"].is_object());
  EXPECT_EQ(j["egress"]["tier"], c.egress_tier);
  EXPECT_EQ(j["ingress"]["tier"], c.ingress_tier);
  EXPECT_EQ(j["allowed"].get<bool>(),
            j["egress"]["allowed"].get<bool>() && j["ingress"]["allowed"].get<bool>());
}

INSTANTIATE_TEST_SUITE_P(Cli, CliExplain, ::testing::ValuesIn(kExplainCases),
                         [](const ::testing::TestParamInfo<ExplainCase>& info) {
                           std::string n;
                           for (const char* p = info.param.golden; *p; ++p)
                             n.push_back(std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_');
                           return n;
                         });

TEST(CliExplainDetails, AdminDecisionNamesPolicyAndRule) {
  RunResult r = run(with_demo(
      {"explain", "--from", kPrometheus, "--to", kCoredns, "--port", "tcp/9153", "-o", "json"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& in = j["ingress"];
  EXPECT_EQ(in["policy"]["kind"], "AdminNetworkPolicy");
  EXPECT_EQ(in["policy"]["name"], "protect-kube-system");
  EXPECT_EQ(in["rule"], 1);
  EXPECT_EQ(in["rule_name"], "deny-everything-else");
  EXPECT_EQ(in["action"], "Deny");
}

TEST(CliExplainDetails, PodIpStandsForThePod) {
  // 10.244.1.21 is the IP of shop/frontend-7d9f8c6b5d-x2k9p, 10.244.1.34 that of the cart pod.
  RunResult by_ip = run(
      with_demo({"explain", "--from", "10.244.1.21", "--to", "10.244.1.34", "--port", "tcp/8080"}));
  RunResult by_name =
      run(with_demo({"explain", "--from", kFrontend, "--to", kCart, "--port", "tcp/8080"}));
  ASSERT_EQ(by_ip.exit_code, 0) << by_ip.err;
  EXPECT_EQ(by_ip.out, by_name.out);
}

// ---- ClusterNetworkPolicy v1beta1 and v1alpha2 ----------------------------------------------

// Two ClusterNetworkPolicies on the demo cluster, at `version`: an Admin-tier guard of the data
// namespace (the checkout pods to the postgres port by name, every other namespace denied) and
// a Baseline-tier egress deny to a documentation network.
std::string demo_cnps(const std::string& version, const std::string& network = "203.0.113.0/24") {
  std::string api = "apiVersion: policy.networking.k8s.io/" + version + "\n";
  return api +
         "kind: ClusterNetworkPolicy\n"
         "metadata: {name: guard-data}\n"
         "spec:\n"
         "  tier: Admin\n"
         "  priority: 10\n"
         "  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: data}}}\n"
         "  ingress:\n"
         "  - name: checkout\n"
         "    action: Accept\n"
         "    from: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "
         "shop}}, podSelector: {matchLabels: {app: checkout}}}}]\n"
         "    protocols: [{destinationNamedPort: postgres}]\n"
         "  - name: others\n"
         "    action: Deny\n"
         "    from: [{namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, "
         "operator: NotIn, values: [data]}]}}]\n"
         "---\n" +
         api +
         "kind: ClusterNetworkPolicy\n"
         "metadata: {name: no-documentation-net}\n"
         "spec:\n"
         "  tier: Baseline\n"
         "  priority: 5\n"
         "  subject: {namespaces: {}}\n"
         "  egress:\n"
         "  - action: Deny\n"
         "    to: [{networks: [\"" +
         network + "\"]}]\n";
}

TEST(CliClusterNetworkPolicy, V1beta1AndV1alpha2GiveTheSameAnswersInEveryCommand) {
  TempDir tmp;
  fs::path beta = tmp.path() / "beta", alpha = tmp.path() / "alpha";
  fs::create_directories(beta);
  fs::create_directories(alpha);
  write_file(beta / "cnp.yaml", demo_cnps("v1beta1"));
  write_file(alpha / "cnp.yaml", demo_cnps("v1alpha2"));
  auto both = [&](std::vector<std::string> args) {
    std::vector<RunResult> out;
    for (const fs::path& d : {beta, alpha}) {
      std::vector<std::string> a = args;
      a.insert(a.begin() + 1, {"-f", kCluster, "-f", kPolicies, "-f", d.string()});
      out.push_back(run(a));
      EXPECT_EQ(out.back().exit_code, 0) << describe(a, out.back());
      // explain names the file of the deciding policy: the two directories differ.
      for (size_t at; (at = out.back().out.find(d.string())) != std::string::npos;)
        out.back().out.replace(at, d.string().size(), "DIR");
    }
    EXPECT_EQ(out[0].out, out[1].out);
    return out[0];
  };
  // reach: the policies change verdicts (else this proves nothing).
  RunResult with = both({"reach", "-o", "json"});
  RunResult without = run(with_demo({"reach", "-o", "json"}));
  EXPECT_NE(with.out, without.out);
  // explain: the Admin tier decides, named by kind, name and rule.
  RunResult e = both(
      {"explain", "--from", kCheckout, "--to", kPostgres0, "--port", "tcp/5432", "-o", "json"});
  auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["allowed"], true);
  EXPECT_EQ(j["ingress"]["policy"]["kind"], "ClusterNetworkPolicy");
  EXPECT_EQ(j["ingress"]["policy"]["name"], "guard-data");
  EXPECT_EQ(j["ingress"]["rule_name"], "checkout");
  RunResult denied = both(
      {"explain", "--from", kPrometheus, "--to", kPostgres0, "--port", "tcp/5432", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(denied.out)["ingress"]["rule_name"], "others");
  // Prometheus: no NetworkPolicy selects its egress, so the Baseline tier decides.
  RunResult outside = both(
      {"explain", "--from", kPrometheus, "--to", "203.0.113.9", "--port", "tcp/443", "-o", "json"});
  EXPECT_EQ(nlohmann::json::parse(outside.out)["egress"]["policy"]["name"], "no-documentation-net");
  // diff: the same policies at the other version change nothing.
  RunResult d = run({"diff", "-f", kCluster, "--before", kPolicies, "--before", alpha.string(),
                     "--after", kPolicies, "--after", beta.string(), "-o", "json"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(nlohmann::json::parse(d.out)["summary"]["changed"], 0) << d.out;
}

TEST(CliClusterNetworkPolicy, EachVersionIsValidatedByItsOwnRules) {
  TempDir tmp;
  // A CIDR with host bits: v1beta1 refuses it (line 26: the networks entry), v1alpha2 (as
  // v0.2.0's CRD did) takes it.
  fs::path host_bits = tmp.path() / "host-bits.yaml";
  write_file(host_bits, demo_cnps("v1beta1", "203.0.113.7/24"));
  std::vector<std::string> args{"reach", "-f", kCluster, "-f", host_bits.string(), "-o", "summary"};
  RunResult r = run(args);
  expect_usage_error(args, r);
  EXPECT_EQ(r.err.rfind("stockade: error: " + host_bits.string() + ":26: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("Invalid CIDR format provided"), std::string::npos) << r.err;
  write_file(host_bits, demo_cnps("v1alpha2", "203.0.113.7/24"));
  EXPECT_EQ(run(args).exit_code, 0);
  // destinationNamedPort is in the experimental channel only (v1beta1).
  fs::path named = tmp.path() / "named.yaml";
  write_file(named, demo_cnps("v1beta1"));
  std::vector<std::string> standard{"reach",        "-f", kCluster,  "-f",
                                    named.string(), "-o", "summary", "--policy-api-channel",
                                    "standard"};
  RunResult s = run(standard);
  expect_usage_error(standard, s);
  EXPECT_NE(s.err.find(named.string() + ":12: "), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("destinationNamedPort: only the experimental channel"), std::string::npos)
      << s.err;
  standard.back() = "experimental";
  EXPECT_EQ(run(standard).exit_code, 0);
}

// ---- diff -----------------------------------------------------------------------------------

TEST(CliDiff, Table) {
  golden("diff.txt", {"diff", "-f", kCluster, "--before", kPolicies, "--after", kPoliciesChange});
}

TEST(CliDiff, Json) {
  RunResult r = golden("diff.json", {"diff", "-f", kCluster, "--before", kPolicies, "--after",
                                     kPoliciesChange, "-o", "json"});
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("changes"));
  uint64_t newly_allowed = 0, newly_denied = 0;
  for (const auto& c : j["changes"]) {
    EXPECT_NE(c["before"], c["after"]);
    // By workload (the default): each row counts the pod pairs it stands for, as the
    // summary does.
    (c["after"] == "allowed" ? newly_allowed : newly_denied) += c["pairs"].get<uint64_t>();
  }
  // The change tightens cart (checkout loses grpc) and opens postgres to the nightly report.
  EXPECT_GT(newly_allowed, 0u);
  EXPECT_GT(newly_denied, 0u);
  EXPECT_EQ(j["summary"]["newly_allowed"].get<uint64_t>(), newly_allowed);
  EXPECT_EQ(j["summary"]["newly_denied"].get<uint64_t>(), newly_denied);
}

TEST(CliDiff, NoChangeAgainstItself) {
  RunResult r = run({"diff", "-f", kCluster, "--before", kPolicies, "--after", kPolicies});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 connections change: 0 newly allowed, 0 newly denied\n");
}

// ---- help -----------------------------------------------------------------------------------

TEST(CliHelp, EveryCommandHasHelp) {
  for (const char* cmd : {"reach", "explain", "diff"}) {
    std::vector<std::string> args{cmd, "--help"};
    RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 0) << describe(args, r);
    std::string usage = "Usage: stockade ";
    usage.append(cmd);
    EXPECT_NE(r.out.find(usage), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--filename"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--output"), std::string::npos) << r.out;
  }
  RunResult top = run({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* cmd : {"reach", "explain", "diff"})
    EXPECT_NE(top.out.find(cmd), std::string::npos) << top.out;
}

// ---- the error contract ---------------------------------------------------------------------

TEST(CliErrors, UnknownFlag) {
  for (const char* cmd : {"reach", "explain", "diff"}) {
    std::vector<std::string> args{cmd, "-f", kCluster, "--no-such-flag"};
    expect_usage_error(args, run(args));
  }
}

// A misspelt flag is named with the closest flag of its command, also when CLI11 would first
// complain about the required flag it was meant to be (verify --flow).
TEST(CliErrors, UnknownFlagSuggestsTheClosest) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"reach", "-f", kCluster, "--fromm", kFrontend},
       "unknown flag \"--fromm\" for stockade reach; did you mean \"--from\"?"},
      {{"verify", "-f", kCluster, "--flow", "demo/flows/hubble.json.gz"},
       "unknown flag \"--flow\" for stockade verify; did you mean \"--flows\"?"},
      {{"diff", "-f", kCluster, "--befor=demo/policies", "--after", kPolicies},
       "unknown flag \"--befor\" for stockade diff; did you mean \"--before\"?"},
      {{"explain", "-f", kCluster, "--no-such-flag"},
       "unknown flag \"--no-such-flag\" for stockade explain (see stockade explain --help)"},
  };
  for (const auto& [args, want] : cases) {
    RunResult r = run(args);
    expect_usage_error(args, r);
    EXPECT_NE(r.err.find(want), std::string::npos) << describe(args, r);
  }
  // Values are not flags: "-f -" reads stdin, a negative number is a value.
  std::vector<std::string> args{"reach", "-f", "-", "--from", "x"};
  EXPECT_EQ(run(args).err.find("unknown flag"), std::string::npos);
}

TEST(CliErrors, UnsupportedOutputFormat) {
  auto args = with_demo({"reach", "-o", "dot"});
  expect_usage_error(args, run(args));
}

TEST(CliErrors, MissingRequiredFlags) {
  const std::vector<std::vector<std::string>> cases = {
      {"reach"},
      {"explain", "-f", kCluster, "--from", kFrontend},
      {"diff", "-f", kCluster, "--before", kPolicies},
  };
  for (const auto& args : cases) expect_usage_error(args, run(args));
}

TEST(CliErrors, NoCommand) {
  std::vector<std::string> args{};
  expect_usage_error(args, run(args));
}

TEST(CliErrors, MissingFileNamesThePath) {
  const std::string path = "demo/no-such-dir/cluster.yaml";
  for (const char* cmd : {"reach", "explain", "diff"}) {
    std::vector<std::string> args{cmd, "-f", path};
    if (std::string(cmd) == "explain")
      args.insert(args.end(), {"--from", kFrontend, "--to", kCart, "--port", "tcp/80"});
    if (std::string(cmd) == "diff") args.insert(args.end(), {"--before", "x", "--after", "y"});
    RunResult r = run(args);
    expect_usage_error(args, r);
    EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  }
}

TEST(CliErrors, MalformedYamlGivesFileAndLine) {
  TempDir tmp;
  fs::path bad = tmp.path() / "broken.yaml";
  write_file(bad,
             "apiVersion: v1\n"
             "kind: Namespace\n"
             "metadata:\n"
             "  name: broken\n"
             "  labels: {team: [shop\n"
             "---\n"
             "apiVersion: v1\n"
             "kind: Namespace\n"
             "metadata: {name: fine}\n");
  std::vector<std::string> args{"reach", "-f", kCluster, "-f", bad.string()};
  RunResult r = run(args);
  expect_usage_error(args, r);
  std::smatch m;
  const std::regex re("^stockade: error: (.+):([0-9]+): (.+)\n$");
  ASSERT_TRUE(std::regex_match(r.err, m, re)) << r.err;
  EXPECT_EQ(m[1].str(), bad.string());
  int line = std::stoi(m[2].str());
  EXPECT_GE(line, 5);
  EXPECT_LE(line, 6);
}

TEST(CliErrors, InvalidPolicyEndPortBelowPortGivesFileAndLine) {
  TempDir tmp;
  fs::path bad = tmp.path() / "range.yaml";
  write_file(bad,
             "apiVersion: networking.k8s.io/v1\n"  // 1
             "kind: NetworkPolicy\n"               // 2
             "metadata:\n"                         // 3
             "  name: bad-range\n"                 // 4
             "  namespace: shop\n"                 // 5
             "spec:\n"                             // 6
             "  podSelector: {}\n"                 // 7
             "  ingress:\n"                        // 8
             "  - ports:\n"                        // 9
             "    - protocol: TCP\n"               // 10
             "      port: 9000\n"                  // 11
             "      endPort: 8000\n");             // 12
  std::vector<std::string> args{"reach", "-f", kCluster, "-f", bad.string()};
  RunResult r = run(args);
  expect_usage_error(args, r);
  std::smatch m;
  const std::regex re("^stockade: error: (.+):([0-9]+): (.+)\n$");
  ASSERT_TRUE(std::regex_match(r.err, m, re)) << r.err;
  EXPECT_EQ(m[1].str(), bad.string());
  int line = std::stoi(m[2].str());
  EXPECT_GE(line, 9);
  EXPECT_LE(line, 12);
  EXPECT_NE(m[3].str().find("endPort"), std::string::npos) << r.err;
}

TEST(CliErrors, UnknownEndpoint) {
  std::vector<std::vector<std::string>> cases = {
      with_demo({"reach", "--from", "shop/no-such-pod"}),
      with_demo({"reach", "--to", "nowhere/*"}),
      with_demo({"explain", "--from", "shop/no-such-pod", "--to", kCart, "--port", "tcp/80"}),
      with_demo({"explain", "--from", kFrontend, "--to", "shop/no-such-pod", "--port", "tcp/80"}),
  };
  for (const auto& args : cases) {
    RunResult r = run(args);
    expect_usage_error(args, r);
    EXPECT_NE(r.err.find("--"), std::string::npos) << r.err;  // names the flag
  }
}

TEST(CliErrors, BadPort) {
  const std::vector<std::vector<std::string>> cases = {
      with_demo({"reach", "--port", "tcp/99999"}),
      with_demo({"reach", "--port", "icmp/80"}),  // a bare "http" is tcp/http (issue 27)
      with_demo({"reach", "--port", "99999"}),
      with_demo({"explain", "--from", kFrontend, "--to", kCart, "--port", "tcp/no-such-name"}),
  };
  for (const auto& args : cases) expect_usage_error(args, run(args));
}

}  // namespace

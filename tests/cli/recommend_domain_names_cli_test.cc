// `stockade recommend --guardrails` (ClusterNetworkPolicy) names external peers by DNS: on the
// demo's Hubble records (DNS answers from Cilium's proxy, bench/gen_flows), the addresses that
// an answer named leave the NetworkPolicies and become `domainNames` of an Admin-tier
// ClusterNetworkPolicy; `verify` allows every observed edge with them, and without the DNS
// answers (nothing names the addresses) the same connections are denied: the names, not the
// addresses, allow them. v1alpha1 (AdminNetworkPolicy) and the standard channel keep the
// addresses.
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
#include "support/test_files.h"

namespace {

using stockade::test::gunzip;
using stockade::test::slurp;

namespace fs = std::filesystem;

const fs::path kSourceDir = STOCKADE_SOURCE_DIR;
const char* const kDemoFlows = "demo/flows/hubble.json.gz";

class TempDir {
 public:
  explicit TempDir(const std::string& test) {
    std::string tmpl =
        (fs::temp_directory_path() / ("stockade-domains-" + test + "-XXXXXX")).string();
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

Proc stockade(const std::vector<std::string>& args) {
  return stockade::test::run_program(STOCKADE_BINARY, args, kSourceDir);
}

// The files of a directory: name -> text.
std::vector<std::pair<std::string, std::string>> files(const fs::path& dir) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back({e.path().filename().string(), slurp(e.path())});
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CliRecommendDomainNames, GuardrailsNameExternalPeersByTheirDnsNames) {
  TempDir tmp("demo");
  ASSERT_FALSE(tmp.path().empty());
  const fs::path out = tmp.path() / "out";
  Proc r = stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--guardrails",
                     "--out-dir", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("self-check passed"), std::string::npos) << r.err;

  // The external service the demo's pods resolved and connected to (payments' gateway,
  // 203.0.113.10) is a name in an Admin-tier ClusterNetworkPolicy; no NetworkPolicy names its
  // address. 203.0.113.11, which no DNS answer named, stays an address.
  int domain_policies = 0;
  std::string names;
  for (const auto& [name, text] : files(out)) {
    if (name.starts_with("cluster.stockade-egress-domains-")) {
      ++domain_policies;
      EXPECT_NE(text.find("apiVersion: \"policy.networking.k8s.io/v1beta1\""), std::string::npos)
          << text;
      EXPECT_NE(text.find("tier: \"Admin\""), std::string::npos) << text;
      EXPECT_NE(text.find("domainNames:"), std::string::npos) << text;
      EXPECT_EQ(text.find("203.0.113."), std::string::npos) << text;
      names += text;
    } else {
      EXPECT_EQ(text.find("203.0.113.10/32"), std::string::npos) << name;
    }
  }
  EXPECT_GE(domain_policies, 1);
  EXPECT_NE(names.find("\"api.payments.example\""), std::string::npos) << names;
  std::string all;
  for (const auto& [name, text] : files(out)) all += text;
  EXPECT_NE(all.find("203.0.113.11/32"), std::string::npos);

  // verify (which learns the same DNS answers) allows every observed edge.
  Proc v = stockade(
      {"verify", "-f", "demo/cluster", "-f", out.string(), "--flows", kDemoFlows, "-o", "json"});
  ASSERT_EQ(v.code, 0) << v.out << v.err;
  auto doc = nlohmann::json::parse(v.out);
  EXPECT_EQ(doc["summary"]["denied"], 0);

  // Without the DNS answers nothing names the address: exactly the connections to it are
  // denied (by the NetworkPolicies' default deny), which shows the names allowed them.
  std::string no_dns;
  std::istringstream lines(gunzip(kSourceDir / kDemoFlows));
  for (std::string line; std::getline(lines, line);)
    if (line.find("\"dns\":") == std::string::npos) no_dns += line + "\n";
  const fs::path flows = tmp.path() / "no-dns.json";
  std::ofstream(flows) << no_dns;
  Proc nv = stockade({"verify", "-f", "demo/cluster", "-f", out.string(), "--flows", flows.string(),
                      "-o", "json"});
  EXPECT_EQ(nv.code, 1) << nv.out << nv.err;
  auto nd = nlohmann::json::parse(nv.out);
  EXPECT_GT(nd["summary"]["denied"].get<int>(), 0);
  int denied = 0;
  for (const auto& e : nd["edges"]) {
    if (e.value("verdict", "") != "denied") continue;
    ++denied;
    std::string dst = e["dst"].dump();
    EXPECT_NE(dst.find("203.0.113.10"), std::string::npos) << e.dump();
  }
  EXPECT_GT(denied, 0) << nv.out;

  // v1alpha2 gives the same names; AdminNetworkPolicy v1alpha1 and the standard channel keep
  // the addresses (neither has domainNames).
  const fs::path a2 = tmp.path() / "v1alpha2";
  ASSERT_EQ(stockade({"recommend", "-f", "demo/cluster", "--flows", kDemoFlows, "--guardrails",
                      "--guardrail-api", "v1alpha2", "--out-dir", a2.string(), "-q"})
                .code,
            0);
  bool alpha2 = false;
  for (const auto& [name, text] : files(a2))
    alpha2 = alpha2 || (name.starts_with("cluster.stockade-egress-domains-") &&
                        text.find("policy.networking.k8s.io/v1alpha2") != std::string::npos &&
                        text.find("\"api.payments.example\"") != std::string::npos);
  EXPECT_TRUE(alpha2);
  for (std::vector<std::string> extra :
       {std::vector<std::string>{"--guardrail-api", "v1alpha1"},
        std::vector<std::string>{"--policy-api-channel", "standard"}}) {
    const fs::path d = tmp.path() / ("keep" + extra[1]);
    std::vector<std::string> args = {"recommend", "-f",       "demo/cluster",
                                     "--flows",   kDemoFlows, "--guardrails",
                                     "--out-dir", d.string(), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    Proc k = stockade(args);
    ASSERT_EQ(k.code, 0) << k.err;
    std::string all;
    for (const auto& [name, text] : files(d)) all += text;
    EXPECT_EQ(all.find("domainNames"), std::string::npos) << extra[1];
    EXPECT_NE(all.find("203.0.113.10/32"), std::string::npos) << extra[1];
  }
}

}  // namespace

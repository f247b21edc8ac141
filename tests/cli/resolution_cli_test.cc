// The one endpoint resolution seen from the command line: ambiguity stated (explain by an
// address two pods hold), no phantom pods (a record naming a pod the objects lack), and map and
// verify without objects (what the records carry, isolation unknown).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/run_command.h"

namespace {

using stockade::test::run_command;
const std::string kBin = STOCKADE_BINARY;

const char* kTwoPodsOneIp = R"(apiVersion: v1
kind: Pod
metadata: {name: old, namespace: shop, labels: {app: web}}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: new, namespace: shop, labels: {app: web}}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
status: {podIP: 10.0.0.9}
)";

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

TEST(ResolutionCli, ExplainByAnAddressTwoPodsHoldRefuses) {
  auto r = run_command("printf '%s' " + sh_quote(kTwoPodsOneIp) + " | " + kBin +
                       " explain -f - --from 10.0.0.5 --to shop/db --port tcp/80 2>&1");
  EXPECT_EQ(WEXITSTATUS(r.status), 2) << r.out;
  EXPECT_NE(r.out.find("stockade: error: --from: 10.0.0.5 is the address of more than one pod"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("shop/new, shop/old"), std::string::npos) << r.out;
  // One holder: the pod.
  auto one = run_command("printf '%s' " + sh_quote(kTwoPodsOneIp) + " | " + kBin +
                         " explain -f - --from 10.0.0.9 --to shop/new --port tcp/80 -o json");
  EXPECT_EQ(one.status, 0) << one.out;
  EXPECT_EQ(nlohmann::json::parse(one.out)["src"], "shop/db");
}

const std::string kRecord =
    R"({"flow":{"verdict":"FORWARDED","IP":{"source":"10.0.0.9","destination":"203.0.113.9"},)"
    R"("l4":{"TCP":{"source_port":4000,"destination_port":443,"flags":{"SYN":true}}},)"
    R"("is_reply":false,"source":{"namespace":"shop","pod_name":"db","labels":["k8s:app=db"]},)"
    R"("destination":{"namespace":"ghost","pod_name":"phantom-0","labels":["k8s:app=x"]}}})";

TEST(ResolutionCli, APodTheObjectsLackFallsBackToItsAddress) {
  auto r = run_command("printf '%s\\n' " + sh_quote(kRecord) + " > /tmp/stockade-rc-$$.json && " +
                       "printf '%s' " + sh_quote(kTwoPodsOneIp) + " | " + kBin +
                       " map -f - --flows /tmp/stockade-rc-$$.json --by pod -o json; "
                       "rm -f /tmp/stockade-rc-$$.json");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["edges"].size(), 1u) << r.out;
  EXPECT_EQ(j["edges"][0]["dst"], "world/203.0.113.9");
  for (const auto& n : j["nodes"]) EXPECT_NE(n["namespace"], "ghost") << n.dump();
}

TEST(ResolutionCli, MapAndVerifyWithoutObjects) {
  auto m = run_command("printf '%s\\n' " + sh_quote(kRecord) + " | " + kBin +
                       " map --flows - --by pod -o json 2>&1 >/dev/null");
  EXPECT_EQ(m.status, 0) << m.out;
  EXPECT_NE(m.out.find("isolation is unknown"), std::string::npos) << m.out;
  auto mj = run_command("printf '%s\\n' " + sh_quote(kRecord) + " | " + kBin +
                        " map --flows - --by pod -o json 2>/dev/null");
  auto j = nlohmann::json::parse(mj.out);
  EXPECT_EQ(j["summary"]["isolation"], "unknown");
  ASSERT_EQ(j["nodes"].size(), 2u);
  EXPECT_EQ(j["nodes"][0]["id"], "ghost/phantom-0");  // the record's own names
  EXPECT_TRUE(j["nodes"][0]["isolated"].is_null());

  auto v = run_command("printf '%s\\n' " + sh_quote(kRecord) + " | " + kBin +
                       " verify --flows - -o json 2>/dev/null");
  EXPECT_EQ(v.status, 0) << v.out;
  auto vj = nlohmann::json::parse(v.out);
  EXPECT_EQ(vj["summary"]["unknown"], 1);
  EXPECT_EQ(vj["summary"]["denied"], 0);
  EXPECT_EQ(vj["edges"][0]["src"], "shop/db");
  EXPECT_EQ(vj["edges"][0]["dst"], "ghost/phantom-0");
  EXPECT_EQ(vj["edges"][0]["verdict"], "unknown");
  auto sarif = run_command("printf '%s\\n' " + sh_quote(kRecord) + " | " + kBin +
                           " verify --flows - -o sarif 2>&1");
  EXPECT_EQ(WEXITSTATUS(sarif.status), 2) << sarif.out;
}

TEST(ResolutionCli, PoliciesAloneAreNoObjectsToEvaluateRecordsWith) {
  // Policies but no pods or workloads: the records' pods are not the input's, so nothing is
  // evaluated and nothing is drawn as "not isolated".
  const std::string policy =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: "
      "shop}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
  auto v = run_command("printf '%s\\n' " + sh_quote(kRecord) + " > /tmp/stockade-rp-$$.json && " +
                       "printf '%s' " + sh_quote(policy) + " | " + kBin +
                       " verify -f - --flows /tmp/stockade-rp-$$.json -o json 2>/dev/null; "
                       "rm -f /tmp/stockade-rp-$$.json");
  ASSERT_EQ(v.status, 0) << v.out;
  EXPECT_EQ(nlohmann::json::parse(v.out)["summary"]["unknown"], 1) << v.out;
  auto m = run_command("printf '%s\\n' " + sh_quote(kRecord) + " > /tmp/stockade-rp-$$.json && " +
                       "printf '%s' " + sh_quote(policy) + " | " + kBin +
                       " map -f - --flows /tmp/stockade-rp-$$.json --by pod -o json 2>/dev/null; "
                       "rm -f /tmp/stockade-rp-$$.json");
  ASSERT_EQ(m.status, 0) << m.out;
  const auto map = nlohmann::json::parse(m.out);
  ASSERT_EQ(map["nodes"].size(), 2u) << m.out;
  for (const auto& n : map["nodes"]) EXPECT_TRUE(n["isolated"].is_null()) << n.dump();
}

}  // namespace

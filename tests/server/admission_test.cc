// The admission webhook's judgement of a policy change (src/server/admission.h): the observed
// edges it would break, computed on the policies that can decide them, must equal the answer
// of the whole changed cluster compiled again.
#include "server/admission.h"

#include <httplib.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "input/loader.h"
#include "recommend/observed.h"
#include "support/serve_process.h"
#include "support/test_files.h"

namespace fs = std::filesystem;
using stockade::server::change_impact;
using stockade::server::ChangeImpact;
using stockade::server::PolicyChange;
using stockade::server::Snapshot;
using stockade::test::ServeProcess;

namespace {

const fs::path kSource = STOCKADE_SOURCE_DIR;

struct Demo {
  Snapshot snap;
  stockade::Observed observed;
};

Demo load_demo() {
  Demo d;
  stockade::ClusterLoader loader;
  EXPECT_TRUE(loader.add_path((kSource / "demo/cluster").string()));
  EXPECT_TRUE(loader.add_path((kSource / "demo/policies").string()));
  d.snap.state = std::move(loader).finish();
  d.snap.engine = stockade::PolicyEngine::compile(d.snap.state, build_endpoints(d.snap.state));
  stockade::ObserveOptions oo;
  oo.max_external_nodes = 0;
  auto obs = stockade::observe_flows(d.snap.state, *d.snap.engine,
                                     {(kSource / "demo/flows/hubble.json.gz").string()}, oo);
  EXPECT_TRUE(obs) << obs.error().str();
  if (obs) d.observed = std::move(*obs);
  return d;
}

void expect_same(const Demo& d, const PolicyChange& c, uint64_t* broken = nullptr) {
  auto fast = change_impact(d.snap, d.observed, c, 1000);
  auto whole = change_impact(d.snap, d.observed, c, 1000, true);
  ASSERT_TRUE(fast && whole);
  SCOPED_TRACE(c.operation + " " + c.kind + " " + c.ns + "/" + c.name);
  EXPECT_EQ(fast->broken, whole->broken);
  EXPECT_EQ(fast->examples, whole->examples);
  if (broken) *broken = fast->broken;
}

}  // namespace

// Deleting each policy of the demo, and creating a deny-all in each namespace and as an
// AdminNetworkPolicy: the fast judgement names exactly the edges the whole cluster does, and
// some of these changes do break observed edges (the comparison is not between two zeros).
TEST(Admission, ImpactOnThePoliciesThatDecideEqualsTheWholeCluster) {
  const Demo d = load_demo();
  ASSERT_FALSE(d.observed.edges.empty());
  uint64_t total = 0;
  for (const stockade::NetworkPolicy& p : d.snap.state.network_policies) {
    uint64_t broken = 0;
    expect_same(d, {"DELETE", "networking.k8s.io", "NetworkPolicy", p.ns, p.name, ""}, &broken);
    total += broken;
  }
  for (const stockade::ClusterPolicy& p : d.snap.state.cluster_policies)
    expect_same(
        d, {"DELETE", "policy.networking.k8s.io", std::string(to_string(p.kind)), "", p.name, ""});
  for (const std::string ns : {"shop", "data", "monitoring", "kube-system"}) {
    uint64_t broken = 0;
    expect_same(d,
                {"CREATE", "networking.k8s.io", "NetworkPolicy", ns, "deny-all",
                 R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":)"
                 R"({"name":"deny-all","namespace":")" +
                     ns + R"("},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}})"},
                &broken);
    total += broken;
  }
  uint64_t anp = 0;
  expect_same(
      d,
      {"CREATE", "policy.networking.k8s.io", "AdminNetworkPolicy", "", "deny-monitoring",
       R"({"apiVersion":"policy.networking.k8s.io/v1alpha1","kind":"AdminNetworkPolicy",)"
       R"("metadata":{"name":"deny-monitoring"},"spec":{"priority":5,"subject":)"
       R"({"namespaces":{}},"ingress":[{"name":"no-monitoring","action":"Deny","from":)"
       R"([{"namespaces":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]}]}})"},
      &anp);
  EXPECT_GT(total, 0u);
  EXPECT_GT(anp, 0u);
  // An object that does not decode is an error, not a judgement.
  EXPECT_FALSE(change_impact(d.snap, d.observed,
                             {"CREATE", "networking.k8s.io", "NetworkPolicy", "shop", "x",
                              R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",)"
                              R"("metadata":{"name":"x"},"spec":{"podSelector":7}})"}));
}

namespace {

Demo load_generated(const fs::path& dir) {
  const std::string cluster = (dir / "cluster.json").string();
  const std::string flows = (dir / "flows.json").string();
  Demo d;
  EXPECT_EQ(std::system((std::string(STOCKADE_GEN_CLUSTER) + " --pods 600 --admin --out " +
                         cluster + " 2>/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(std::system((std::string(STOCKADE_GEN_FLOWS) + " --cluster " + cluster +
                         " --records 6000 --out " + flows + " 2>/dev/null")
                            .c_str()),
            0);
  stockade::ClusterLoader loader;
  EXPECT_TRUE(loader.add_path(cluster));
  d.snap.state = std::move(loader).finish();
  d.snap.engine = stockade::PolicyEngine::compile(d.snap.state, build_endpoints(d.snap.state));
  stockade::ObserveOptions oo;
  oo.max_external_nodes = 0;
  auto obs = stockade::observe_flows(d.snap.state, *d.snap.engine, {flows}, oo);
  EXPECT_TRUE(obs) << obs.error().str();
  if (obs) d.observed = std::move(*obs);
  return d;
}

// The cluster policy as a request carries it (the loader's view written back as JSON is not
// at hand, so each change is a policy of its own: a subject and one rule).
std::string cluster_policy(const std::string& kind, const std::string& name, int priority,
                           const nlohmann::json& subject, const std::string& direction,
                           const std::string& action, const nlohmann::json& peer) {
  const bool cnp = kind == "ClusterNetworkPolicy";
  nlohmann::json rule = {{"name", "r"}, {"action", cnp && action == "Allow" ? "Accept" : action}};
  rule[direction == "ingress" ? "from" : "to"] = nlohmann::json::array({peer});
  nlohmann::json spec = {{"subject", subject}, {direction, nlohmann::json::array({rule})}};
  if (cnp) spec["tier"] = "Admin";
  if (kind != "BaselineAdminNetworkPolicy") spec["priority"] = priority;
  return nlohmann::json{{"apiVersion", cnp ? "policy.networking.k8s.io/v1alpha2"
                                           : "policy.networking.k8s.io/v1alpha1"},
                        {"kind", kind},
                        {"metadata", {{"name", name}}},
                        {"spec", spec}}
      .dump();
}

// Every cluster policy of `d` deleted, and changes of every kind with narrow and broad
// subjects, in both directions, with each action: the judgement on the subjects' edges equals
// the whole cluster's. Returns the edges broken in all, and checks that a narrow subject is
// judged on fewer edges than all of them (the fast path is taken, not only equal).
uint64_t compare_cluster_changes(const Demo& d) {
  uint64_t total = 0;
  auto same = [&](const PolicyChange& c) {
    uint64_t broken = 0;
    expect_same(d, c, &broken);
    total += broken;
  };
  for (const stockade::ClusterPolicy& p : d.snap.state.cluster_policies)
    same({"DELETE", "policy.networking.k8s.io", std::string(to_string(p.kind)), "", p.name, ""});
  std::vector<std::string> nss;
  for (const stockade::Namespace& n : d.snap.state.namespaces) nss.push_back(n.name);
  const auto ns_sel = [](const std::string& ns) {
    return nlohmann::json{{"matchLabels", {{"kubernetes.io/metadata.name", ns}}}};
  };
  const std::vector<nlohmann::json> subjects = {
      {{"namespaces", nlohmann::json::object()}},
      {{"namespaces", ns_sel(nss[nss.size() / 2])}},
      {{"pods",
        {{"namespaceSelector", nlohmann::json::object()},
         {"podSelector", {{"matchLabels", {{"tier", "db"}}}}}}}},
      {{"pods",
        {{"namespaceSelector", ns_sel(nss[1])},
         {"podSelector", {{"matchLabels", {{"app", "nothing-here"}}}}}}}}};
  const std::vector<nlohmann::json> peers = {{{"namespaces", nlohmann::json::object()}},
                                             {{"namespaces", ns_sel(nss[0])}}};
  int i = 0;
  for (const char* kind :
       {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy"})
    for (const nlohmann::json& subject : subjects)
      for (const char* dir : {"ingress", "egress"})
        for (const nlohmann::json& peer : peers) {
          const std::string action = i % 3 == 0 ? "Deny" : (i % 3 == 1 ? "Pass" : "Allow");
          const std::string a = std::string(kind) == "BaselineAdminNetworkPolicy"
                                    ? (action == "Pass" ? "Deny" : action)
                                    : action;
          const std::string name = std::string(kind) == "BaselineAdminNetworkPolicy"
                                       ? "default"
                                       : "change-" + std::to_string(i);
          same({"CREATE", "policy.networking.k8s.io", kind, "", name,
                cluster_policy(kind, name, 1 + i % 50, subject, dir, a, peer)});
          ++i;
        }
  // A narrow subject concerns fewer edges than all those allowed.
  const PolicyChange narrow{
      "CREATE",
      "policy.networking.k8s.io",
      "AdminNetworkPolicy",
      "",
      "narrow",
      cluster_policy("AdminNetworkPolicy", "narrow", 3, subjects[1], "ingress", "Deny", peers[0])};
  auto fast = change_impact(d.snap, d.observed, narrow, 10);
  auto whole = change_impact(d.snap, d.observed, narrow, 10, true);
  EXPECT_TRUE(fast && whole);
  if (fast && whole) {
    EXPECT_LT(fast->checked, whole->checked);
  }
  return total;
}

}  // namespace

// AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy changes are judged on
// the edges of the pods their subject selects (before or after): the same broken edges and
// examples as the whole changed cluster, on the demo (real-shaped policies and recorded
// traffic) and on gen_cluster's state with its admin policies and gen_flows' traffic.
TEST(Admission, ClusterPolicyImpactOnItsSubjectsEqualsTheWholeCluster) {
  const Demo demo = load_demo();
  ASSERT_FALSE(demo.snap.state.cluster_policies.empty());
  EXPECT_GT(compare_cluster_changes(demo), 0u);
  const fs::path dir = stockade::test::fresh_dir("stockade-admission", "cluster-policies");
  const Demo gen = load_generated(dir);
  ASSERT_FALSE(gen.observed.edges.empty());
  ASSERT_GT(gen.snap.state.cluster_policies.size(), 3u);
  EXPECT_GT(compare_cluster_changes(gen), 0u);
  fs::remove_all(dir);
}

// ---- the webhook through `stockade serve` ------------------------------------------------------

namespace {

using stockade::test::gunzip;
using stockade::test::slurp;

fs::path temp_dir(const std::string& name) {
  return stockade::test::fresh_dir("stockade-admission", name);
}

// An AdmissionReview v1 for `object` (JSON; empty for a delete).
std::string review(const std::string& op, const std::string& group, const std::string& kind,
                   const std::string& ns, const std::string& name, const std::string& object) {
  nlohmann::json r = {{"uid", "u-" + name},
                      {"kind", {{"group", group}, {"version", "v1"}, {"kind", kind}}},
                      {"operation", op},
                      {"namespace", ns},
                      {"name", name}};
  if (!object.empty()) r["object"] = nlohmann::json::parse(object);
  return nlohmann::json{
      {"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"request", r}}
      .dump();
}

std::string np(const std::string& ns, const std::string& name, const std::string& spec) {
  return R"({"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":")" +
         name + R"(","namespace":")" + ns + R"("},"spec":)" + spec + "}";
}

nlohmann::json post(httplib::Client& c, const std::string& body) {
  auto r = c.Post("/admission/validate", body, "application/json");
  if (!r || r->status != 200) return nlohmann::json{{"http", r ? r->status : 0}};
  return nlohmann::json::parse(r->body)["response"];
}

std::string all_text(const nlohmann::json& response) {
  std::string t = response.contains("status") ? response["status"].dump() : "";
  if (response.contains("warnings")) t += response["warnings"].dump();
  return t;
}

}  // namespace

// Each guardrail refuses what it should and admits what it should, in enforce mode; in warn mode
// the same findings come back as warnings on an admitted object.
TEST(Admission, GuardrailsRefuseAndAdmit) {
  const fs::path dir = temp_dir("guardrails");
  const std::string records = gunzip(kSource / "demo/flows/hubble.json.gz");
  const std::string deny_all = R"({"podSelector":{},"policyTypes":["Ingress","Egress"]})";
  const std::string opened =
      R"({"podSelector":{},"policyTypes":["Ingress","Egress"],"ingress":[{"from":[{"namespaceSelector":)"
      R"({"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]}]})";
  const std::string privileged =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"shop"},"spec":)"
      R"({"containers":[{"name":"sh","image":"registry.example.com/debug:1.0","securityContext":)"
      R"({"privileged":true}}]}})";
  const std::string hardened =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"calm","namespace":"shop"},"spec":)"
      R"({"automountServiceAccountToken":false,"securityContext":{"runAsNonRoot":true,)"
      R"("runAsUser":10001,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":)"
      R"("app","image":"registry.example.com/app:1.0","resources":{"limits":{"cpu":"1",)"
      R"("memory":"64Mi"}},"securityContext":{"allowPrivilegeEscalation":false,)"
      R"("readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}}}]}})";
  for (const std::string mode : {"enforce", "warn"}) {
    ServeProcess serve(
        {"-f", (kSource / "demo/cluster").string(), "-f", (kSource / "demo/policies").string(),
         "--store", "sqlite:" + (dir / (mode + ".db")).string(), "--listen", "127.0.0.1:0",
         "--admission", mode, "--guard-default-deny", "--guard-public-ingress",
         "--guard-block-severity", "high", "--exempt-label",
         "kubernetes.io/metadata.name=monitoring"},
        dir / ("log-" + mode));
    ASSERT_GT(serve.port, 0) << slurp(dir / ("log-" + mode));
    auto c = serve.client();
    ASSERT_EQ(c.Post("/api/v1/flows", records, "application/x-ndjson")->status, 200);
    ASSERT_EQ(c.Post("/api/v1/baselines/shop/lock", "", "application/json")->status, 200);
    const bool enforce = mode == "enforce";
    auto refused = [&](const std::string& body, const std::string& why) {
      auto r = post(c, body);
      EXPECT_EQ(r["allowed"], !enforce) << r.dump();
      EXPECT_NE(all_text(r).find(why), std::string::npos) << r.dump();
    };
    auto admitted = [&](const std::string& body) {
      auto r = post(c, body);
      EXPECT_EQ(r["allowed"], true) << r.dump();
      EXPECT_EQ(all_text(r).find("guardrail"), std::string::npos) << r.dump();
    };
    // default-deny: shop's baseline is locked through the API; data's is not.
    refused(review("DELETE", "networking.k8s.io", "NetworkPolicy", "shop", "default-deny", ""),
            "without a default-deny NetworkPolicy");
    refused(review("UPDATE", "networking.k8s.io", "NetworkPolicy", "shop", "default-deny",
                   np("shop", "default-deny", opened)),
            "guardrail default-deny");
    admitted(review("CREATE", "networking.k8s.io", "NetworkPolicy", "shop", "deny-more",
                    np("shop", "deny-more", deny_all)));
    admitted(review("DELETE", "networking.k8s.io", "NetworkPolicy", "data", "default-deny", ""));
    // public-ingress: /0 and a rule without `from`, not a /24 nor the exempt namespace.
    refused(review("CREATE", "networking.k8s.io", "NetworkPolicy", "data", "open",
                   np("data", "open",
                      R"({"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"0.0.0.0/0",)"
                      R"("except":["10.0.0.0/8"]}}]}]})")),
            "allows ipBlock 0.0.0.0/0");
    refused(review("CREATE", "networking.k8s.io", "NetworkPolicy", "data", "open",
                   np("data", "open", R"({"podSelector":{},"ingress":[{"ports":[{"port":80}]}]})")),
            "has no `from`");
    admitted(review("CREATE", "networking.k8s.io", "NetworkPolicy", "data", "partner",
                    np("data", "partner",
                       R"({"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":)"
                       R"("203.0.113.0/24"}}]}]})")));
    admitted(review("CREATE", "networking.k8s.io", "NetworkPolicy", "monitoring", "open",
                    np("monitoring", "open", R"({"podSelector":{},"ingress":[{}]})")));
    // block-severity high: a privileged Pod (and a Deployment of it), not a hardened one.
    refused(review("CREATE", "", "Pod", "shop", "debug", privileged), "PRIVILEGED (critical)");
    refused(review("CREATE", "apps", "Deployment", "shop", "debug",
                   R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"debug"},)"
                   R"("spec":{"selector":{"matchLabels":{"app":"debug"}},"template":{"metadata":)"
                   R"({"labels":{"app":"debug"}},"spec":)" +
                       nlohmann::json::parse(privileged)["spec"].dump() + "}}}"),
            "guardrail block-severity");
    admitted(review("CREATE", "", "Pod", "shop", "calm", hardened));
  }
  fs::remove_all(dir);
}

// The policy lint's findings (scan's `policy` checks) come back as warnings on the object
// admitted: the sock-shop-shaped fixture's cart policy selecting `name: cart` (the pods are
// `name: carts`) with its "did you mean", rules of a direction not in policyTypes, the
// namespace's deprecated default-deny annotation; the fixed policy and a clean namespace get
// none; --no-admission-lint turns them off.
TEST(Admission, PolicyLintFindingsAreWarnings) {
  const fs::path dir = temp_dir("lint");
  const std::string fixture = (kSource / "tests/data/policy_lint/sock-shop.yaml").string();
  const std::string cart = R"({"podSelector":{"matchLabels":{"name":"cart"}},"ingress":[{"from":)"
                           R"([{"podSelector":{"matchLabels":{"name":"front-end"}}}]}]})";
  const std::string carts = R"({"podSelector":{"matchLabels":{"name":"carts"}},"ingress":[{"from":)"
                            R"([{"podSelector":{"matchLabels":{"name":"front-end"}}}]}]})";
  const std::string ignored = R"({"podSelector":{"matchLabels":{"name":"carts"}},"policyTypes":)"
                              R"(["Ingress"],"egress":[{"to":[{"podSelector":{}}]}]})";
  auto ns = [](const std::string& annotations) {
    return R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"sock-shop","annotations":)" +
           annotations + "}}";
  };
  for (const bool lint : {true, false}) {
    std::vector<std::string> args = {
        "-f",          fixture,
        "--store",     "sqlite:" + (dir / (lint ? "a.db" : "b.db")).string(),
        "--listen",    "127.0.0.1:0",
        "--admission", "enforce"};
    if (!lint) args.push_back("--no-admission-lint");
    ServeProcess serve(args, dir / (lint ? "log-a" : "log-b"));
    ASSERT_GT(serve.port, 0) << slurp(dir / (lint ? "log-a" : "log-b"));
    auto c = serve.client();
    auto warned = [&](const std::string& body) {
      auto r = post(c, body);
      EXPECT_EQ(r["allowed"], true) << r.dump();
      return r.contains("warnings") ? r["warnings"].dump() : std::string();
    };
    const std::string dead =
        warned(review("CREATE", "networking.k8s.io", "NetworkPolicy", "sock-shop", "cart-access",
                      np("sock-shop", "cart-access", cart)));
    const std::string fixed =
        warned(review("UPDATE", "networking.k8s.io", "NetworkPolicy", "sock-shop", "cart-access",
                      np("sock-shop", "cart-access", carts)));
    const std::string egress =
        warned(review("CREATE", "networking.k8s.io", "NetworkPolicy", "sock-shop", "carts-out",
                      np("sock-shop", "carts-out", ignored)));
    const std::string deprecated = warned(review(
        "UPDATE", "", "Namespace", "", "sock-shop",
        ns(R"({"net.beta.kubernetes.io/network-policy":"{\"ingress\":{\"isolation\":\"DefaultDeny\"}}"})")));
    const std::string clean = warned(review("UPDATE", "", "Namespace", "", "sock-shop", ns("{}")));
    if (!lint) {
      for (const std::string* w : {&dead, &fixed, &egress, &deprecated, &clean})
        EXPECT_EQ(w->find("POLICY_"), std::string::npos) << *w;
      continue;
    }
    EXPECT_NE(dead.find("POLICY_SELECTS_NOTHING (medium)"), std::string::npos) << dead;
    EXPECT_NE(dead.find("did you mean name=carts?"), std::string::npos) << dead;
    // The namespace of the fixture carries the deprecated annotation: said on its policies too.
    EXPECT_NE(dead.find("POLICY_DEPRECATED_ANNOTATION"), std::string::npos) << dead;
    EXPECT_EQ(fixed.find("POLICY_SELECTS_NOTHING"), std::string::npos) << fixed;
    EXPECT_NE(egress.find("POLICY_RULES_IGNORED"), std::string::npos) << egress;
    EXPECT_NE(deprecated.find("POLICY_DEPRECATED_ANNOTATION"), std::string::npos) << deprecated;
    EXPECT_EQ(clean.find("POLICY_"), std::string::npos) << clean;
  }
  fs::remove_all(dir);
}

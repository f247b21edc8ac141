// Policy lint (`scan`, category "policy"): each check with a failing and a passing case, the
// "did you mean" suggestions, suppressions and SARIF, and no policy finding on the demo shop.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/engine.h"
#include "input/loader.h"
#include "posture/posture.h"

namespace stockade::posture {
namespace {

const std::filesystem::path kSource = STOCKADE_SOURCE_DIR;

ScanReport scan_text(const std::string& yaml) {
  ClusterLoader l;
  auto r = l.add_text(yaml, "in.yaml");
  EXPECT_TRUE(r) << r.error().str();
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto rep = scan(s, *engine, {});
  EXPECT_TRUE(rep) << rep.error().str();
  return rep ? *rep : ScanReport{};
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<const Finding*> policy_findings(const ScanReport& r, std::string_view id = {}) {
  std::vector<const Finding*> out;
  for (const Finding& f : r.findings) {
    const CheckInfo* c = find_check(f.id);
    if (c && c->category == "policy" && !f.suppressed && (id.empty() || f.id == id))
      out.push_back(&f);
  }
  return out;
}

std::string all(const ScanReport& r) {
  std::string t;
  for (const Finding* f : policy_findings(r))
    t += f->id + " " + f->resource.text() + ": " + f->message + "\n";
  return t;
}

// A pod in `ns` with labels, an IP and optional declared ports (a YAML flow list).
std::string pod(const std::string& ns, const std::string& name, const std::string& labels,
                const std::string& ip, const std::string& ports = "[]") {
  return "---\napiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns +
         ", labels: " + labels +
         "}\nspec:\n  containers:\n  - name: c\n    image: x\n    ports: " + ports +
         "\nstatus: {phase: Running, podIP: " + ip + "}\n";
}

std::string ns_obj(const std::string& name, const std::string& labels = "{}") {
  return "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

std::string np(const std::string& ns, const std::string& name, const std::string& spec) {
  return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec;
}

const std::string kShop =
    ns_obj("shop", "{team: frontend}") + ns_obj("db", "{team: data}") +
    pod("shop", "carts-0", "{name: carts}", "10.1.0.5", "[{name: http, containerPort: 80}]") +
    pod("db", "carts-db-0", "{name: carts-db}", "10.1.0.6",
        "[{name: mongo, containerPort: 27017}]");

TEST(PolicyLint, SockShopDeadSelectorsWithSuggestionsAndDeprecatedAnnotation) {
  std::string text = slurp(kSource / "tests/data/policy_lint/sock-shop.yaml");
  ScanReport r = scan_text(text);
  auto subject = policy_findings(r, "POLICY_SELECTS_NOTHING");
  ASSERT_EQ(subject.size(), 1u) << all(r);
  EXPECT_EQ(subject[0]->resource.text(), "NetworkPolicy/sock-shop/cart-access");
  EXPECT_NE(subject[0]->message.find("did you mean name=carts?"), std::string::npos)
      << subject[0]->message;
  EXPECT_NE(subject[0]->message.find("(it would select 1 endpoint: sock-shop/carts)"),
            std::string::npos)
      << subject[0]->message;
  EXPECT_GT(subject[0]->line, 0);
  auto peer = policy_findings(r, "POLICY_PEER_SELECTS_NOTHING");
  ASSERT_EQ(peer.size(), 1u) << all(r);
  EXPECT_EQ(peer[0]->resource.text(), "NetworkPolicy/sock-shop/carts-db-access");
  EXPECT_NE(peer[0]->message.find("ingress rule 0 peer 0"), std::string::npos);
  EXPECT_NE(peer[0]->message.find("did you mean name=carts?"), std::string::npos)
      << peer[0]->message;
  auto ann = policy_findings(r, "POLICY_DEPRECATED_ANNOTATION");
  ASSERT_EQ(ann.size(), 1u) << all(r);
  EXPECT_EQ(ann[0]->resource.text(), "Namespace/sock-shop");
  EXPECT_NE(ann[0]->message.find("1 of 3 endpoints"), std::string::npos) << ann[0]->message;
  EXPECT_EQ(policy_findings(r).size(), 3u) << all(r);

  // Fixed: the right labels and no annotation. Nothing left.
  std::string fixed = text;
  for (size_t p; (p = fixed.find("{name: cart}")) != std::string::npos;)
    fixed.replace(p, 12, "{name: carts}");
  fixed.erase(fixed.find("  annotations:"),
              fixed.find("---", fixed.find("  annotations:")) - fixed.find("  annotations:"));
  ScanReport ok = scan_text(fixed);
  EXPECT_TRUE(policy_findings(ok).empty()) << all(ok);
}

TEST(PolicyLint, NamespaceSelectorPeerSuggestsTheNearestNamespaceLabel) {
  auto rule = [](const std::string& team) {
    return "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: "
           "{team: " +
           team + "}}\n";
  };
  ScanReport bad = scan_text(kShop + np("db", "from-frontend", rule("fronted")));
  auto f = policy_findings(bad, "POLICY_PEER_SELECTS_NOTHING");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_NE(f[0]->message.find("did you mean team=frontend? (it would select 1 endpoint: "
                               "shop/carts-0)"),
            std::string::npos)
      << f[0]->message;
  // Nothing near: reported without a suggestion.
  ScanReport far = scan_text(kShop + np("db", "from-frontend", rule("zzzzzzzzzz")));
  f = policy_findings(far, "POLICY_PEER_SELECTS_NOTHING");
  ASSERT_EQ(f.size(), 1u) << all(far);
  EXPECT_EQ(f[0]->message.find("did you mean"), std::string::npos) << f[0]->message;
  EXPECT_TRUE(
      policy_findings(scan_text(kShop + np("db", "from-frontend", rule("frontend")))).empty());
}

TEST(PolicyLint, AdminNetworkPolicySubjectAndPeers) {
  auto anp = [](const std::string& subject_ns, const std::string& peer_name) {
    return "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
           "metadata: {name: protect-db}\nspec:\n  priority: 10\n  subject:\n    namespaces: "
           "{matchLabels: {kubernetes.io/metadata.name: " +
           subject_ns +
           "}}\n  ingress:\n  - name: carts-only\n    action: Allow\n    from:\n    - pods:\n"
           "        namespaceSelector: {}\n        podSelector: {matchLabels: {name: " +
           peer_name + "}}\n";
  };
  ScanReport bad = scan_text(kShop + anp("dbs", "cart"));
  ASSERT_EQ(policy_findings(bad, "POLICY_SELECTS_NOTHING").size(), 1u) << all(bad);
  EXPECT_NE(policy_findings(bad, "POLICY_SELECTS_NOTHING")[0]->message.find(
                "did you mean kubernetes.io/metadata.name=db?"),
            std::string::npos)
      << all(bad);
  auto peer = policy_findings(bad, "POLICY_PEER_SELECTS_NOTHING");
  ASSERT_EQ(peer.size(), 1u) << all(bad);
  EXPECT_EQ(peer[0]->resource.text(), "AdminNetworkPolicy/protect-db");
  EXPECT_NE(peer[0]->message.find("(carts-only)"), std::string::npos);
  EXPECT_NE(peer[0]->message.find("did you mean name=carts?"), std::string::npos) << all(bad);
  EXPECT_TRUE(policy_findings(scan_text(kShop + anp("db", "carts"))).empty());
}

TEST(PolicyLint, NoEndpointsInTheInputNoSelectorFindings) {
  // Policies alone (a repository of manifests without workloads): nothing to compare with.
  ScanReport r = scan_text(np("shop", "p", "  podSelector: {matchLabels: {name: cart}}\n"));
  EXPECT_TRUE(policy_findings(r).empty()) << all(r);
}

TEST(PolicyLint, PolicyInAMissingNamespace) {
  const std::string spec = "  podSelector: {}\n  policyTypes: [Ingress]\n";
  ScanReport bad = scan_text(kShop + np("shopp", "deny", spec));
  auto f = policy_findings(bad, "POLICY_NAMESPACE_MISSING");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_EQ(f[0]->resource.text(), "NetworkPolicy/shopp/deny");
  EXPECT_TRUE(policy_findings(scan_text(kShop + np("shop", "deny", spec))).empty());
  // Without Namespace objects in the input, nothing can be said.
  EXPECT_TRUE(policy_findings(scan_text(np("shopp", "deny", spec))).empty());
}

TEST(PolicyLint, CidrWithHostBitsAndIpBlocksOverPods) {
  auto egress = [](const std::string& block) {
    return "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - ipBlock: " +
           block + "\n";
  };
  ScanReport host = scan_text(kShop + np("shop", "out", egress("{cidr: 192.168.7.1/16}")));
  auto f = policy_findings(host, "POLICY_CIDR_HOST_BITS");
  ASSERT_EQ(f.size(), 1u) << all(host);
  EXPECT_NE(f[0]->message.find("it means 192.168.0.0/16"), std::string::npos) << f[0]->message;
  EXPECT_TRUE(
      policy_findings(scan_text(kShop + np("shop", "out", egress("{cidr: 192.168.0.0/16}"))))
          .empty());

  ScanReport pods = scan_text(kShop + np("shop", "out", egress("{cidr: 10.1.0.0/24}")));
  f = policy_findings(pods, "POLICY_IPBLOCK_PODS");
  ASSERT_EQ(f.size(), 1u) << all(pods);
  EXPECT_NE(f[0]->message.find("2 endpoints: db/carts-db-0, shop/carts-0"), std::string::npos)
      << f[0]->message;
  // The pods excepted, or "any address": no finding.
  EXPECT_TRUE(policy_findings(scan_text(kShop + np("shop", "out",
                                                   egress("{cidr: 10.0.0.0/8, except: "
                                                          "[10.1.0.0/16]}"))))
                  .empty());
  EXPECT_TRUE(
      policy_findings(scan_text(kShop + np("shop", "out", egress("{cidr: 0.0.0.0/0}")))).empty());
}

TEST(PolicyLint, RulesOfADirectionNotInPolicyTypesAreIgnored) {
  const std::string rules =
      "  ingress:\n  - from: [{podSelector: {}}]\n  egress:\n  - to: [{podSelector: {}}]\n";
  ScanReport bad = scan_text(kShop + np("shop", "p",
                                        "  podSelector: {}\n  policyTypes: "
                                        "[Ingress]\n" +
                                            rules));
  auto f = policy_findings(bad, "POLICY_RULES_IGNORED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_NE(f[0]->message.find("1 egress rule but spec.policyTypes is [Ingress]"),
            std::string::npos)
      << f[0]->message;
  ScanReport rev = scan_text(kShop + np("shop", "p",
                                        "  podSelector: {}\n  policyTypes: "
                                        "[Egress]\n" +
                                            rules));
  f = policy_findings(rev, "POLICY_RULES_IGNORED");
  ASSERT_EQ(f.size(), 1u) << all(rev);
  EXPECT_NE(f[0]->message.find("1 ingress rule but spec.policyTypes is [Egress]"),
            std::string::npos);
  EXPECT_TRUE(policy_findings(scan_text(kShop + np("shop", "p",
                                                   "  podSelector: {}\n  "
                                                   "policyTypes: [Ingress, Egress]\n" +
                                                       rules)))
                  .empty());
  // policyTypes absent: egress rules make it an egress policy too.
  EXPECT_TRUE(
      policy_findings(scan_text(kShop + np("shop", "p", "  podSelector: {}\n" + rules))).empty());
}

TEST(PolicyLint, NamedPortsNoSelectedPodDeclares) {
  auto ingress = [](const std::string& port) {
    return "  podSelector: {matchLabels: {name: carts-db}}\n  ingress:\n  - ports: [{port: " +
           port + "}]\n";
  };
  ScanReport bad = scan_text(kShop + np("db", "p", ingress("mongodb")));
  auto f = policy_findings(bad, "POLICY_NAMED_PORT_UNDECLARED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_NE(f[0]->message.find("port \"mongodb\"/TCP"), std::string::npos) << f[0]->message;
  EXPECT_TRUE(policy_findings(scan_text(kShop + np("db", "p", ingress("mongo")))).empty());
  // Declared, but for another protocol.
  EXPECT_EQ(policy_findings(scan_text(kShop + np("db", "p",
                                                 "  podSelector: {matchLabels: {name: "
                                                 "carts-db}}\n  ingress:\n  - ports: [{port: "
                                                 "mongo, protocol: UDP}]\n")),
                            "POLICY_NAMED_PORT_UNDECLARED")
                .size(),
            1u);
  // Egress: resolved on the peers, not on the subject.
  auto egress = [](const std::string& port) {
    return "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - "
           "namespaceSelector: {matchLabels: {team: data}}\n    ports: [{port: " +
           port + "}]\n";
  };
  EXPECT_EQ(policy_findings(scan_text(kShop + np("shop", "p", egress("http"))),
                            "POLICY_NAMED_PORT_UNDECLARED")
                .size(),
            1u);
  EXPECT_TRUE(policy_findings(scan_text(kShop + np("shop", "p", egress("mongo")))).empty());
}

TEST(PolicyLint, SuppressedByAnnotationAndInSarif) {
  std::string policy =
      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\n"
      "  namespace: shop\n  annotations: {stockade.io/suppress: 'POLICY_SELECTS_NOTHING: kept "
      "for the migration'}\nspec:\n  podSelector: {matchLabels: {name: cart}}\n";
  ScanReport r = scan_text(kShop + policy);
  EXPECT_TRUE(policy_findings(r).empty()) << all(r);
  auto it = std::find_if(r.findings.begin(), r.findings.end(),
                         [](const Finding& f) { return f.id == "POLICY_SELECTS_NOTHING"; });
  ASSERT_NE(it, r.findings.end());
  ASSERT_TRUE(it->suppressed);
  EXPECT_EQ(it->suppressed->reason, "kept for the migration");
  std::string sarif = render_sarif(r);
  EXPECT_NE(sarif.find("POLICY_SELECTS_NOTHING"), std::string::npos);
  EXPECT_NE(sarif.find("\"policy\""), std::string::npos);
}

// ---- rules that can never decide (item 3) ----------------------------------------------------

// An AdminNetworkPolicy on the db namespace with the given ingress/egress rules (YAML lines).
std::string anp(const std::string& name, int priority, const std::string& rules,
                const std::string& annotations = "{}") {
  return "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
         "metadata: {name: " +
         name + ", annotations: " + annotations +
         "}\nspec:\n  priority: " + std::to_string(priority) +
         "\n  subject:\n    namespaces: {matchLabels: {kubernetes.io/metadata.name: db}}\n" + rules;
}

const std::string kDenyAll =
    "  - name: deny-all\n    action: Deny\n    from:\n    - namespaces: {}\n";
const std::string kAllowCarts =
    "  - name: carts\n    action: Allow\n    from:\n    - pods:\n        namespaceSelector: {}\n"
    "        podSelector: {matchLabels: {name: carts}}\n    ports:\n"
    "    - portNumber: {protocol: TCP, port: 27017}\n";

TEST(PolicyLint, AdminRuleShadowedByAnEarlierRuleOfItsPolicy) {
  ScanReport bad =
      scan_text(kShop + anp("protect-db", 10, "  ingress:\n" + kDenyAll + kAllowCarts));
  auto f = policy_findings(bad, "POLICY_RULE_SHADOWED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_EQ(f[0]->resource.text(), "AdminNetworkPolicy/protect-db");
  EXPECT_NE(f[0]->message.find("ingress rule 1 (carts) [Allow] never decides"), std::string::npos)
      << f[0]->message;
  EXPECT_NE(f[0]->message.find("decided first by AdminNetworkPolicy protect-db ingress rule 0 "
                               "(deny-all) [Deny]"),
            std::string::npos)
      << f[0]->message;
  EXPECT_GT(f[0]->line, 0);
  EXPECT_EQ(policy_findings(bad).size(), 1u) << all(bad);
  // The allow first, as meant: each rule decides something.
  ScanReport ok = scan_text(kShop + anp("protect-db", 10, "  ingress:\n" + kAllowCarts + kDenyAll));
  EXPECT_TRUE(policy_findings(ok).empty()) << all(ok);
}

TEST(PolicyLint, AdminRuleShadowedByAHigherPriorityPolicyButNotByAnEqualOne) {
  const std::string everyone =
      "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
      "metadata: {name: allow-internal}\nspec:\n  priority: 5\n  subject: {namespaces: {}}\n"
      "  ingress:\n  - name: internal\n    action: Allow\n    from:\n    - namespaces: {}\n";
  const std::string deny_carts =
      "  ingress:\n  - name: no-carts\n    action: Deny\n    from:\n    - pods:\n"
      "        namespaceSelector: {}\n        podSelector: {matchLabels: {name: carts}}\n";
  ScanReport bad = scan_text(kShop + everyone + anp("protect-db", 20, deny_carts));
  auto f = policy_findings(bad, "POLICY_RULE_SHADOWED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_EQ(f[0]->resource.text(), "AdminNetworkPolicy/protect-db");
  EXPECT_NE(f[0]->message.find("decided first by AdminNetworkPolicy allow-internal ingress rule 0 "
                               "(internal) [Allow]"),
            std::string::npos)
      << f[0]->message;
  // Higher priority (a lower number) than the allow: it decides.
  EXPECT_TRUE(
      policy_findings(scan_text(kShop + everyone + anp("protect-db", 1, deny_carts))).empty());
  // Equal priority: the API leaves the order undefined, so nothing is claimed.
  ScanReport tie = scan_text(kShop + everyone + anp("protect-db", 5, deny_carts));
  EXPECT_TRUE(policy_findings(tie, "POLICY_RULE_SHADOWED").empty()) << all(tie);
}

TEST(PolicyLint, AdminNetworksRuleShadowedOnTheAddressSpaceOutside) {
  auto egress = [](const std::string& first, const std::string& second) {
    return "  egress:\n  - name: first\n    action: Deny\n    to:\n    - networks: [" + first +
           "]\n  - name: second\n    action: Allow\n    to:\n    - networks: [" + second + "]\n";
  };
  ScanReport bad = scan_text(kShop + anp("egress", 10, egress("0.0.0.0/0", "203.0.113.0/24")));
  auto f = policy_findings(bad, "POLICY_RULE_SHADOWED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_NE(f[0]->message.find("egress rule 1 (second)"), std::string::npos) << f[0]->message;
  EXPECT_NE(f[0]->message.find("egress rule 0 (first) [Deny]"), std::string::npos) << f[0]->message;
  // The deny covers only part of what the allow matches: both decide.
  ScanReport ok = scan_text(kShop + anp("egress", 10, egress("203.0.113.0/25", "203.0.113.0/24")));
  EXPECT_TRUE(policy_findings(ok, "POLICY_RULE_SHADOWED").empty()) << all(ok);
}

TEST(PolicyLint, NetworkPolicyRuleRedundantWithAnotherPolicysRule) {
  const std::string from_everyone =
      np("shop", "from-cluster",
         "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {}\n");
  const std::string from_db =
      np("shop", "carts-from-db",
         "  podSelector: {matchLabels: {name: carts}}\n  ingress:\n  - from:\n"
         "    - namespaceSelector: {matchLabels: {team: data}}\n      podSelector: {}\n"
         "    ports:\n    - {port: http}\n");
  ScanReport bad = scan_text(kShop + from_everyone + from_db);
  auto f = policy_findings(bad, "POLICY_RULE_REDUNDANT");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_EQ(f[0]->resource.text(), "NetworkPolicy/shop/carts-from-db");
  EXPECT_NE(f[0]->message.find("ingress rule 0 allows nothing that other rules do not"),
            std::string::npos)
      << f[0]->message;
  EXPECT_NE(f[0]->message.find("also allowed by NetworkPolicy shop/from-cluster ingress rule 0"),
            std::string::npos)
      << f[0]->message;
  EXPECT_EQ(policy_findings(bad).size(), 1u) << all(bad);
  // Alone, it is the only rule allowing that traffic.
  ScanReport ok = scan_text(kShop + from_db);
  EXPECT_TRUE(policy_findings(ok).empty()) << all(ok);
}

TEST(PolicyLint, TwoEqualRulesAreOneRedundantRule) {
  const std::string rule =
      "  - to:\n    - ipBlock: {cidr: 203.0.113.0/24}\n    ports:\n"
      "    - {protocol: TCP, port: 443}\n";
  ScanReport bad =
      scan_text(kShop + np("shop", "out", "  podSelector: {}\n  egress:\n" + rule + rule));
  auto f = policy_findings(bad, "POLICY_RULE_REDUNDANT");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_NE(f[0]->message.find("egress rule 1 allows nothing"), std::string::npos) << f[0]->message;
  EXPECT_NE(f[0]->message.find("NetworkPolicy shop/out egress rule 0"), std::string::npos)
      << f[0]->message;
  // A wider rule covers the narrower one, on the address space outside the pods.
  ScanReport wide = scan_text(kShop + np("shop", "out",
                                         "  podSelector: {}\n  egress:\n" + rule +
                                             "  - to:\n    - ipBlock: {cidr: 0.0.0.0/0}\n"));
  f = policy_findings(wide, "POLICY_RULE_REDUNDANT");
  ASSERT_EQ(f.size(), 1u) << all(wide);
  EXPECT_NE(f[0]->message.find("egress rule 0 allows nothing"), std::string::npos) << f[0]->message;
  // Not when the wide block leaves the narrow one out.
  ScanReport ok = scan_text(
      kShop + np("shop", "out",
                 "  podSelector: {}\n  egress:\n" + rule +
                     "  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [203.0.113.0/24]}\n"));
  EXPECT_TRUE(policy_findings(ok, "POLICY_RULE_REDUNDANT").empty()) << all(ok);
}

TEST(PolicyLint, RulesOfPoliciesThatSelectNothingAreNotAlsoReportedAsCovered) {
  // Two equal rules in a policy whose subject selects nothing: the dead selector is the finding.
  const std::string rule = "  - from:\n    - podSelector: {}\n";
  ScanReport r = scan_text(
      kShop +
      np("shop", "p", "  podSelector: {matchLabels: {name: cart}}\n  ingress:\n" + rule + rule));
  EXPECT_EQ(policy_findings(r, "POLICY_SELECTS_NOTHING").size(), 1u) << all(r);
  EXPECT_TRUE(policy_findings(r, "POLICY_RULE_REDUNDANT").empty()) << all(r);
}

TEST(PolicyLint, ShadowedRuleSuppressedByAnnotationAndInSarif) {
  ScanReport r =
      scan_text(kShop + anp("protect-db", 10, "  ingress:\n" + kDenyAll + kAllowCarts,
                            "{stockade.io/suppress: 'POLICY_RULE_SHADOWED: on purpose'}"));
  EXPECT_TRUE(policy_findings(r).empty()) << all(r);
  auto it = std::find_if(r.findings.begin(), r.findings.end(),
                         [](const Finding& f) { return f.id == "POLICY_RULE_SHADOWED"; });
  ASSERT_NE(it, r.findings.end());
  ASSERT_TRUE(it->suppressed);
  EXPECT_EQ(it->suppressed->reason, "on purpose");
  EXPECT_NE(render_sarif(r).find("POLICY_RULE_SHADOWED"), std::string::npos);
}

TEST(PolicyLint, RulesOverTheSearchLimitAreSkippedNotJudged) {
  ClusterLoader l;
  ASSERT_TRUE(l.add_text(kShop + anp("protect-db", 10, "  ingress:\n" + kDenyAll + kAllowCarts),
                         "in.yaml"));
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  UnusedRules all_in = engine->unused_rules({}, {1000, 1000});
  ASSERT_EQ(all_in.rules.size(), 1u);
  EXPECT_TRUE(all_in.skipped.empty());
  EXPECT_EQ(all_in.rules[0].covered_by.size(), 1u);
  // A budget of 0 classes per rule: nothing is judged, everything is said to be skipped.
  UnusedRules none = engine->unused_rules({}, {0, 1000});
  EXPECT_TRUE(none.rules.empty());
  EXPECT_EQ(none.skipped.size(), 2u);
}

TEST(PolicyLint, OnlineBoutiquePoliciesHaveNoCoveredRules) {
  ClusterLoader l;
  for (const char* d : {"tests/data/online-boutique/everything.yaml",
                        "tests/data/online-boutique/gitops/network-policies"}) {
    auto r = l.add_path((kSource / d).string());
    ASSERT_TRUE(r) << r.error().str();
  }
  ClusterState s = std::move(l).finish();
  ASSERT_GT(s.network_policies.size(), 10u);
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  ASSERT_GT(engine->endpoints().size(), 10u);  // the rules are judged on the demo's pods
  EXPECT_TRUE(engine->unused_rules({}, {100'000, 4'000'000}).skipped.empty());
  auto rep = scan(s, *engine, {});
  ASSERT_TRUE(rep);
  EXPECT_TRUE(policy_findings(*rep, "POLICY_RULE_SHADOWED").empty()) << all(*rep);
  EXPECT_TRUE(policy_findings(*rep, "POLICY_RULE_REDUNDANT").empty()) << all(*rep);
}

TEST(PolicyLint, AdminNamedPortsNoSelectedPodDeclares) {
  auto rules = [](const std::string& name) {
    return "  ingress:\n  - name: from-carts\n    action: Allow\n    from:\n    - pods:\n"
           "        namespaceSelector: {}\n        podSelector: {matchLabels: {name: carts}}\n"
           "    ports:\n    - namedPort: " +
           name +
           "\n  egress:\n  - name: to-carts\n    action: Allow\n    to:\n    - pods:\n"
           "        namespaceSelector: {}\n        podSelector: {matchLabels: {name: carts}}\n"
           "    ports:\n    - namedPort: http\n";
  };
  ScanReport bad = scan_text(kShop + anp("named", 10, rules("mongoo")));
  auto f = policy_findings(bad, "POLICY_NAMED_PORT_UNDECLARED");
  ASSERT_EQ(f.size(), 1u) << all(bad);
  EXPECT_EQ(f[0]->resource.text(), "AdminNetworkPolicy/named");
  EXPECT_NE(f[0]->message.find("ingress rule 0 (from-carts) names port \"mongoo\", which none of "
                               "the 1 selected endpoints declares"),
            std::string::npos)
      << f[0]->message;
  // carts-db declares mongo (ingress, on the subject); carts declares http (egress, on the peer).
  ScanReport ok = scan_text(kShop + anp("named", 10, rules("mongo")));
  EXPECT_TRUE(policy_findings(ok).empty()) << all(ok);
}

TEST(PolicyLint, DemoShopHasNoPolicyFindings) {
  ClusterLoader l;
  for (const char* d : {"demo/cluster", "demo/policies"}) {
    auto r = l.add_path((kSource / d).string());
    ASSERT_TRUE(r) << r.error().str();
  }
  ClusterState s = std::move(l).finish();
  auto engine = PolicyEngine::compile(s, build_endpoints(s));
  auto rep = scan(s, *engine, {});
  ASSERT_TRUE(rep);
  EXPECT_TRUE(policy_findings(*rep).empty()) << all(*rep);
}

}  // namespace
}  // namespace stockade::posture

// The engine's ClusterNetworkPolicy `domainNames` peers (src/engine/domain_names.cc): an
// external address matches when a DNS answer the engine learnt gave it a name the peer names;
// names compare without case and trailing dot; `*.` is one or more labels, never the parent;
// pods are not matched by name; explanations name the DNS name, and say that upstream supports
// domainNames in Accept rules only. The conformance cases (tests/conformance/cases/cnp/
// doc-*domain-names*.yaml) hold the API documentation's examples.
#include <gtest/gtest.h>

#include <string>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* const kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, image: i}]}
status: {podIP: 10.0.0.2}
---
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: egress-allowlist}
spec:
  tier: Admin
  priority: 10
  subject: {pods: {podSelector: {matchLabels: {app: web}}}}
  egress:
  - name: names
    action: Accept
    to:
    - domainNames: ["*.Storage.Example.COM.", api.example.org]
    - domainNames: [pod.internal.example]
  - name: not-these
    action: Deny
    to: [{domainNames: [blocked.example.net]}]
  - name: rest
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
)";

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Fixture() {
    ClusterLoader l;
    auto r = l.add_text(kCluster, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
  }
  Peer web() const { return Peer::of_endpoint(*engine->find_endpoint("shop", "web-1")); }
  Verdict to(const char* ip) const {
    return engine->evaluate(web(), Peer::of_ip(*IpAddr::parse(ip)), Protocol::TCP, 443);
  }
};

TEST(CnpDomainNames, AddressesMatchByTheNamesDnsGaveThem) {
  Fixture f;
  EXPECT_FALSE(f.to("192.0.2.1").allowed);  // nothing learnt yet: the names match nothing
  f.engine->learn_dns({{*IpAddr::parse("192.0.2.1"), "a.storage.example.com"},
                       {*IpAddr::parse("192.0.2.2"), "x.y.storage.example.com"},
                       {*IpAddr::parse("192.0.2.3"), "storage.example.com"},
                       {*IpAddr::parse("192.0.2.4"), "api.example.org"},
                       {*IpAddr::parse("192.0.2.5"), "www.api.example.org"},
                       {*IpAddr::parse("192.0.2.6"), "evilstorage.example.com"},
                       {*IpAddr::parse("192.0.2.7"), "blocked.example.net"},
                       {*IpAddr::parse("192.0.2.8"), "pod.internal.example"},
                       {*IpAddr::parse("10.0.0.2"), "api.example.org"}});
  EXPECT_TRUE(f.to("192.0.2.1").allowed);   // one label under the wildcard (case, dot ignored)
  EXPECT_TRUE(f.to("192.0.2.2").allowed);   // two labels: "one or more"
  EXPECT_FALSE(f.to("192.0.2.3").allowed);  // the parent itself is not a subdomain
  EXPECT_TRUE(f.to("192.0.2.4").allowed);   // exact name
  EXPECT_FALSE(f.to("192.0.2.5").allowed);  // an exact name matches no subdomain
  EXPECT_FALSE(f.to("192.0.2.6").allowed);  // whole labels only
  EXPECT_TRUE(f.to("192.0.2.8").allowed);   // the rule's second domainNames peer
  EXPECT_FALSE(f.to("192.0.2.9").allowed);  // never named
  // A pod is decided by what it is, not by a name: the Deny of 0.0.0.0/0 matches its address.
  EXPECT_FALSE(f.engine
                   ->evaluate(f.web(), Peer::of_endpoint(*f.engine->find_endpoint("shop", "api-1")),
                              Protocol::TCP, 443)
                   .allowed);

  Verdict v = f.to("192.0.2.2");
  EXPECT_EQ(v.egress.tier, DecisionTier::Admin);
  EXPECT_EQ(v.egress.rule_name, "names");
  EXPECT_EQ(v.egress.action, "Accept");
  ASSERT_FALSE(v.egress.notes.empty());
  EXPECT_NE(v.egress.notes[0].find("\"x.y.storage.example.com\""), std::string::npos);

  Verdict d = f.to("192.0.2.7");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.egress.rule_name, "not-these");
  bool accept_only = false;
  for (const std::string& n : d.egress.notes)
    accept_only = accept_only || n.find("Accept rules only") != std::string::npos;
  EXPECT_TRUE(accept_only);
  // Other tiers and directions do not see the names: ingress to the pod is not decided by them.
  EXPECT_TRUE(
      f.engine->evaluate(Peer::of_ip(*IpAddr::parse("192.0.2.4")), f.web(), Protocol::TCP, 80)
          .allowed);
}

}  // namespace
}  // namespace stockade

// The recommendation written as CiliumNetworkPolicies (src/recommend/cilium_emit.cc): what each
// NetworkPolicy peer becomes in Cilium, proved through the engine's Cilium semantics, and an
// emitter nothing can be injected through.
#include "recommend/cilium_emit.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "input/loader.h"
#include "recommend/selfcheck.h"

namespace stockade {
namespace {

const char* kCluster = R"(
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: data}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
status: {addresses: [{type: InternalIP, address: 192.168.0.12}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: d1}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-a
  namespace: shop
  labels: {app: web}
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-b
  namespace: shop
  labels: {app: web}
  ownerReferences: [{kind: Deployment, name: web, uid: d1, controller: true}]
spec: {nodeName: n2, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {app: report}}
        spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
spec: {nodeName: n2, containers: [{name: c, ports: [{containerPort: 5432, name: postgres}]}]}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports:
    - {containerPort: 53, name: dns, protocol: UDP}
    - {containerPort: 53, name: dns-tcp, protocol: TCP}
status: {podIP: 10.0.2.1}
)";

int g_port = 40000;

std::string flow(const std::string& proto, const std::string& src, const std::string& dst,
                 int dport) {
  std::string l4 = proto == "TCP" ? "{\"TCP\":{\"source_port\":" + std::to_string(++g_port) +
                                        ",\"destination_port\":" + std::to_string(dport) +
                                        ",\"flags\":{\"SYN\":true}}}"
                                  : "{\"UDP\":{\"source_port\":" + std::to_string(++g_port) +
                                        ",\"destination_port\":" + std::to_string(dport) + "}}";
  return "{\"flow\":{\"time\":\"2026-01-01T00:00:00Z\",\"verdict\":\"FORWARDED\",\"IP\":{"
         "\"source\":\"" +
         src + "\",\"destination\":\"" + dst + "\"},\"l4\":" + l4 + ",\"is_reply\":false}}\n";
}

std::string flows() {
  std::string f;
  f += flow("TCP", "10.0.0.1", "10.0.1.1", 5432);       // web -> db (another namespace)
  f += flow("TCP", "10.0.0.2", "10.0.0.3", 8080);       // web -> api
  f += flow("UDP", "10.0.0.1", "10.0.2.1", 53);         // web -> the cluster DNS
  f += flow("TCP", "10.0.0.2", "203.0.113.7", 443);     // web -> outside
  f += flow("TCP", "192.168.0.11", "10.0.0.3", 8080);   // node n2 -> api (on n1)
  f += flow("TCP", "10.0.0.3", "192.168.0.10", 10250);  // api -> its own node
  return f;
}

struct Fixture {
  ClusterState state;
  std::unique_ptr<PolicyEngine> engine;
  Observed obs;
  Fixture() {
    ClusterLoader l;
    auto r = l.add_text(kCluster, "cluster.yaml");
    EXPECT_TRUE(r) << r.error().str();
    state = std::move(l).finish();
    engine = PolicyEngine::compile(state, build_endpoints(state));
    auto o = observe_flows_text(state, *engine, flows(), {});
    EXPECT_TRUE(o) << o.error().str();
    if (o) obs = std::move(*o);
  }
};

const RecommendedCiliumPolicy* find(const CiliumRecommendation& r, const std::string& ns,
                                    const std::string& name) {
  for (const RecommendedCiliumPolicy& p : r.policies)
    if (p.policy.ns == ns && p.policy.name == name) return &p;
  return nullptr;
}

RecommendOptions cilium_options() {
  RecommendOptions o;
  o.own_node_egress = true;  // what `recommend --output-kind cilium` sets
  return o;
}

TEST(RecommendCilium, PeersBecomeWhatCiliumEnforcesAndTheEngineProvesThem) {
  Fixture fx;
  Recommendation rec = recommend(fx.state, *fx.engine, fx.obs, cilium_options());
  CiliumRecommendation cil = to_cilium(rec, fx.state, fx.engine->endpoints());
  ASSERT_EQ(cil.error, "");
  ASSERT_EQ(cil.policies.size(), rec.policies.size());
  const std::string yaml = render_cilium_yaml(cil);

  // Another namespace: named by Cilium's namespace label; the cluster DNS likewise.
  const auto* web = find(cil, "shop", "stockade-egress-web");
  ASSERT_NE(web, nullptr) << yaml;
  const CiliumSpec& ws = web->policy.specs.at(0);
  EXPECT_EQ(ws.endpoint_selector->canonical(), "app in (web)");
  EXPECT_FALSE(ws.ingress.has_value());
  ASSERT_TRUE(ws.egress.has_value());
  bool db = false, dns = false, outside = false;
  for (const CiliumRule& r : *ws.egress) {
    // One kind of peer per rule (Cilium refuses "Combining ToEndpoints and ToCIDRSet").
    EXPECT_EQ(int(r.endpoints.has_value()) + int(r.cidrs.has_value()) + int(r.entities.has_value()),
              1);
    if (r.endpoints)
      for (const LabelSelector& s : *r.endpoints) {
        db |= s.canonical() == "app in (db),k8s:io.kubernetes.pod.namespace in (data)";
        dns |= s.canonical() ==
               "k8s-app in (kube-dns),k8s:io.kubernetes.pod.namespace in "
               "(kube-system)";
      }
    if (r.cidrs)
      for (const CiliumCidr& c : *r.cidrs) outside |= c.cidr.str() == "203.0.113.7/32";
  }
  EXPECT_TRUE(db) << yaml;
  EXPECT_TRUE(dns) << yaml;
  EXPECT_TRUE(outside) << yaml;

  // A pod's own node is `host` on egress (Cilium isolates it); another node is `remote-node`.
  auto entities = [&](const char* name, bool ingress) {
    std::vector<std::string> all;
    const auto* p = find(cil, "shop", name);
    if (!p) return all;
    const auto& rules = ingress ? p->policy.specs[0].ingress : p->policy.specs[0].egress;
    if (rules)
      for (const CiliumRule& r : *rules)
        if (r.entities) all.insert(all.end(), r.entities->begin(), r.entities->end());
    return all;
  };
  EXPECT_EQ(entities("stockade-egress-api", false), std::vector<std::string>{"host"}) << yaml;
  EXPECT_EQ(entities("stockade-ingress-api", true), std::vector<std::string>{"remote-node"})
      << yaml;
  // remote-node is every other node: n3 too, which the NetworkPolicy did not name (said).
  EXPECT_EQ(cil.node_rules_widened, 1u);

  // The default-deny: `- {}` in both directions (an empty list would isolate nothing), and the
  // CronJob no flow showed left out by its selector.
  const auto* dd = find(cil, "shop", "stockade-default-deny");
  ASSERT_NE(dd, nullptr);
  EXPECT_EQ(dd->policy.specs[0].endpoint_selector->canonical(), "app notin (report)");
  ASSERT_TRUE(dd->policy.specs[0].ingress && dd->policy.specs[0].egress);
  ASSERT_EQ(dd->policy.specs[0].ingress->size(), 1u);
  EXPECT_FALSE(dd->policy.specs[0].ingress->at(0).endpoints.has_value());
  EXPECT_NE(yaml.find("  ingress:\n  - {}\n  egress:\n  - {}\n"), std::string::npos) << yaml;

  // The engine, with Cilium's semantics, over the written policies: every observed edge
  // allowed, declared connections kept, the CronJob not isolated.
  ClusterState after_state = with_cilium_recommendation(fx.state, cil, false);
  auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
  SelfCheck check = self_check(*fx.engine, *after, fx.obs, rec, cilium_options());
  EXPECT_FALSE(check.failed()) << (check.observed_denied.empty() ? "" : check.observed_denied[0]);
  EXPECT_EQ(check.blocked, 0u);
  EXPECT_GT(check.declared_checked, 0u);
  for (const ObservedEdge& e : fx.obs.edges)
    EXPECT_TRUE(edge_allowed(*after, e)) << e.src.id << " -> " << e.dst.id << " " << e.port;
  // And something is denied: web may not reach db on another port, nor api reach db at all.
  const auto& eps = after->endpoints();
  auto id = [&](const std::string& name) {
    for (uint32_t i = 0; i < eps.size(); ++i)
      if (eps[i].id() == name) return i;
    return uint32_t(UINT32_MAX);
  };
  EXPECT_FALSE(after->allowed(id("shop/api"), id("data/db"), Protocol::TCP, 5432));
  EXPECT_TRUE(after->allowed(id("shop/web-a"), id("data/db"), Protocol::TCP, 5432));

  // What is written loads back as exactly these policies, YAML and JSON.
  std::vector<const CiliumPolicy*> proved;
  for (const auto& p : cil.policies) proved.push_back(&p.policy);
  EXPECT_EQ(check_written(yaml, "out.yaml", {}, {}, proved), "");
  EXPECT_EQ(check_written(render_cilium_json(cil), "out.json", {}, {}, proved), "");
  // Evidence comments as in the NetworkPolicy output.
  EXPECT_NE(yaml.find("    # data/db (Pod): 1 connection"), std::string::npos) << yaml;
}

TEST(RecommendCilium, OwnNodeEgressNeedsARuleInCilium) {
  // Without own_node_egress (the NetworkPolicy recommendation as it is), api's traffic to its
  // own node gets no rule: Kubernetes lets it through, Cilium does not once egress is isolated.
  Fixture fx;
  Recommendation rec = recommend(fx.state, *fx.engine, fx.obs, {});
  CiliumRecommendation cil = to_cilium(rec, fx.state, fx.engine->endpoints());
  ClusterState s = with_cilium_recommendation(fx.state, cil, false);
  auto after = PolicyEngine::compile(s, build_endpoints(s));
  SelfCheck check = self_check(*fx.engine, *after, fx.obs, rec, {});
  ASSERT_EQ(check.observed_denied.size(), 1u);
  EXPECT_NE(check.observed_denied[0].find("10250"), std::string::npos) << check.observed_denied[0];
  // With it, the NetworkPolicy form still proves (an ipBlock of the node's address).
  Recommendation rec2 = recommend(fx.state, *fx.engine, fx.obs, cilium_options());
  ClusterState np = with_recommendation(fx.state, rec2, false);
  auto np_after = PolicyEngine::compile(np, build_endpoints(np));
  EXPECT_FALSE(self_check(*fx.engine, *np_after, fx.obs, rec2, cilium_options()).failed());
}

constexpr std::string_view kEvil =
    "shop/web\n    - ipBlock: {cidr: 0.0.0.0/0}\n\xc2\x85\xe2\x80\xa8  - toEntities: [all]";

RecommendedPolicy evil_policy() {
  RecommendedPolicy rp;
  rp.policy.ns = "shop";
  rp.policy.name = "stockade-ingress-db";
  rp.policy.source.file = "<recommended>";
  rp.policy.pod_selector.requirements.push_back({"app", SelectorOp::In, {"db"}});
  rp.policy.affects_ingress = true;
  NetworkPolicyRule rule;
  NetworkPolicyPeer peer;
  peer.pod_selector = LabelSelector{};
  peer.pod_selector->requirements.push_back({"app", SelectorOp::In, {"web"}});
  peer.pod_selector->requirements.push_back({"on", SelectorOp::In, {"yes"}});
  rule.peers.push_back(peer);
  NetworkPolicyPeer block;
  block.ip_block = IpBlock{*Cidr::parse("198.51.100.0/24"), {}};
  rule.peers.push_back(block);
  for (int i = 0; i < 45; ++i) {  // past Cilium's 40 ports per toPorts entry
    NetworkPolicyPort port;
    port.kind = NetworkPolicyPort::Kind::Number;
    port.port = static_cast<uint16_t>(5000 + i);
    port.protocol = Protocol::TCP;
    rule.ports.push_back(port);
  }
  rp.policy.ingress.push_back(rule);
  rp.annotations.push_back({"stockade.io/workload", std::string(kEvil)});
  PeerEvidence ev;
  ev.name = 0;
  ev.connections = 3;
  PeerEvidence ext;
  ext.cidr = block.ip_block->cidr;
  ext.external = true;
  ext.addresses = 3;
  rp.ingress_evidence = {{ev, ext}};
  rp.names = std::make_shared<std::vector<std::string>>(
      std::vector<std::string>{std::string(kEvil) + " (Deployment)"});
  return rp;
}

TEST(RecommendCilium, EmitterCannotBeBrokenOutOf) {
  Recommendation rec;
  rec.policies.push_back(evil_policy());
  ClusterState empty;
  CiliumRecommendation cil = to_cilium(rec, empty, {});
  ASSERT_EQ(cil.error, "");
  const std::string yaml = render_cilium_yaml(cil);
  // The evidence is one comment line, escaped; the annotation a quoted scalar.
  EXPECT_NE(yaml.find("# shop/web\\x0a    - ipBlock: {cidr: 0.0.0.0/0}\\x0a\\xc2\\x85"),
            std::string::npos)
      << yaml;
  EXPECT_EQ(yaml.find("\n  - toEntities: [all]"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("\"on\": \"yes\""), std::string::npos) << yaml;
  auto back = [&](const std::string& text) {
    ClusterLoader l;
    auto r = l.add_text(text, "out.yaml");
    EXPECT_TRUE(r) << r.error().str() << "\n" << text;
    return std::move(l).finish();
  };
  ClusterState b = back(yaml);
  ASSERT_EQ(b.cilium_policies.size(), 1u);
  const auto& in = *b.cilium_policies[0].specs.at(0).ingress;
  ASSERT_EQ(in.size(), 2u);  // endpoints, CIDRs: nothing else
  EXPECT_FALSE(in[0].entities.has_value());
  EXPECT_FALSE(in[1].entities.has_value());
  ASSERT_TRUE(in[0].to_ports.has_value());
  ASSERT_EQ(in[0].to_ports->size(), 2u);  // 45 ports: 40 + 5
  EXPECT_EQ(in[0].to_ports->at(0).ports.size(), 40u);
  std::vector<const CiliumPolicy*> proved = {&cil.policies[0].policy};
  EXPECT_EQ(check_written(yaml, "out.yaml", {}, {}, proved), "");
  // What an emitter that could be broken out of would have written is seen by the self-check:
  // a peer more, a document more.
  std::string widened = yaml;
  size_t at = widened.find("  - fromCIDRSet:");
  ASSERT_NE(at, std::string::npos);
  widened.insert(at, "  - fromEntities: [all]\n");
  EXPECT_NE(check_written(widened, "out.yaml", {}, {}, proved), "");
  std::string other = yaml;
  other.replace(other.find("stockade-ingress-db"), 19, "stockade-ingress-xx");
  EXPECT_NE(check_written(yaml + other, "out.yaml", {}, {}, proved), "");
  // Nor may a NetworkPolicy stand in for the Cilium policy.
  EXPECT_NE(check_written(render_policy_yaml(rec.policies[0]), "out.yaml", {}, {}, proved), "");
}

TEST(RecommendCilium, SelectorKeysCiliumReservesAreRefused) {
  // A pod label spelt like Cilium's namespace label would change what the selector means
  // (namespace scoping): refused rather than written.
  for (const char* key : {"io.kubernetes.pod.namespace", "io.cilium.k8s.policy.serviceaccount"}) {
    Recommendation rec;
    rec.policies.push_back(evil_policy());
    rec.policies[0].policy.ingress[0].peers[0].pod_selector->requirements.push_back(
        {key, SelectorOp::In, {"data"}});
    ClusterState empty;
    CiliumRecommendation cil = to_cilium(rec, empty, {});
    EXPECT_NE(cil.error.find(key), std::string::npos) << cil.error;
  }
}

}  // namespace
}  // namespace stockade

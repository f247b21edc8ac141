// The recommendation written as Calico policies (src/recommend/calico_emit.cc): what each
// NetworkPolicy rule becomes in Calico, proved through the engine's Calico semantics to decide
// as the NetworkPolicies do, selectors no label value can break out of, and an emitter nothing
// can be injected through.
#include "recommend/calico_emit.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "input/loader.h"
#include "recommend/selfcheck.h"
#include "support/random_calico.h"
#include "support/random_cluster.h"

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
  f += flow("TCP", "192.168.0.10", "10.0.0.3", 8080);   // its own node -> api (a probe)
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

const RecommendedCalicoPolicy* find(const CalicoRecommendation& r, const std::string& ns,
                                    const std::string& name) {
  for (const RecommendedCalicoPolicy& p : r.policies)
    if (p.policy.ns == ns && p.policy.name == name) return &p;
  return nullptr;
}

RecommendOptions calico_options() {
  RecommendOptions o;
  o.own_node_egress = true;  // what `recommend --output-kind calico` sets
  o.own_node_ingress = true;
  return o;
}

std::string text_of(const std::optional<CalicoSelector>& s) {
  return s ? s->text() : std::string("-");
}

// Every pod pair (pods only: traffic to and from nodes is where Calico and Kubernetes differ
// by design, see below) on every port the destination declares, both ways, and an address
// outside the cluster to and from every pod: the two engines decide alike.
void expect_same_verdicts(const PolicyEngine& a, const PolicyEngine& b, size_t* checked) {
  const auto& eps = a.endpoints();
  const IpAddr outside = *IpAddr::parse("203.0.113.7");
  for (uint32_t d = 0; d < eps.size(); ++d) {
    if (eps[d].pod.host_network) continue;
    std::vector<std::pair<Protocol, uint16_t>> ports;
    for (const ContainerPort& cp : eps[d].pod.ports) ports.push_back({cp.protocol, cp.port});
    ports.push_back({Protocol::TCP, 443});
    for (auto [proto, port] : ports) {
      for (uint32_t s = 0; s < eps.size(); ++s) {
        if (s == d || eps[s].pod.host_network) continue;
        ++*checked;
        EXPECT_EQ(a.allowed(s, d, proto, port), b.allowed(s, d, proto, port))
            << eps[s].id() << " -> " << eps[d].id() << " " << to_string(proto) << "/" << port;
      }
      ++*checked;
      EXPECT_EQ(a.evaluate(Peer::of_ip(outside), Peer::of_endpoint(d), proto, port).allowed,
                b.evaluate(Peer::of_ip(outside), Peer::of_endpoint(d), proto, port).allowed)
          << "outside -> " << eps[d].id() << " " << port;
      ++*checked;
      EXPECT_EQ(a.evaluate(Peer::of_endpoint(d), Peer::of_ip(outside), proto, port).allowed,
                b.evaluate(Peer::of_endpoint(d), Peer::of_ip(outside), proto, port).allowed)
          << eps[d].id() << " -> outside " << port;
    }
  }
}

TEST(RecommendCalico, RulesBecomeCalicoRulesAndTheEngineProvesThem) {
  Fixture fx;
  Recommendation rec = recommend(fx.state, *fx.engine, fx.obs, calico_options());
  CalicoRecommendation cal = to_calico(rec);
  ASSERT_EQ(cal.error, "");
  ASSERT_EQ(cal.policies.size(), rec.policies.size());
  const std::string yaml = render_calico_yaml(cal);

  const auto* web = find(cal, "shop", "stockade-egress-web");
  ASSERT_NE(web, nullptr) << yaml;
  EXPECT_EQ(web->policy.selector.text(), "app == 'web'");
  EXPECT_EQ(web->policy.tier, "default");
  EXPECT_EQ(web->policy.order, 1000.0);
  EXPECT_TRUE(web->policy.types_egress);
  EXPECT_FALSE(web->policy.types_ingress);
  EXPECT_TRUE(web->policy.ingress.empty());
  bool db = false, dns_udp = false, dns_tcp = false, outside = false;
  for (const CalicoRule& r : web->policy.egress) {
    EXPECT_EQ(r.action, CalicoAction::Allow);
    EXPECT_TRUE(r.source.empty());
    const CalicoEntity& d = r.destination;
    // Another namespace: by Calico's own label for the namespace's name.
    if (text_of(d.namespace_selector) == "projectcalico.org/name == 'data'" &&
        text_of(d.selector) == "app == 'db'" && r.protocol && r.protocol->written == "TCP" &&
        d.ports.size() == 1 && d.ports[0].name == "postgres")
      db = true;
    // The cluster DNS: one rule per protocol, the named ports.
    if (text_of(d.namespace_selector) == "projectcalico.org/name == 'kube-system'" &&
        text_of(d.selector) == "k8s-app == 'kube-dns'" && r.protocol) {
      for (const CalicoPort& p : d.ports) {
        dns_udp |= r.protocol->written == "UDP" && p.name == "dns";
        dns_tcp |= r.protocol->written == "TCP" && p.name == "dns-tcp";
      }
    }
    if (d.nets.size() == 1 && d.nets[0].str() == "203.0.113.7/32") outside = true;
  }
  EXPECT_TRUE(db) << yaml;
  EXPECT_TRUE(dns_udp && dns_tcp) << yaml;
  EXPECT_TRUE(outside) << yaml;

  // Nodes stay addresses (Calico's nets match host addresses); the pod's own node gets rules
  // both ways (Calico's tiers decide that traffic too).
  auto nets = [&](const char* name, bool ingress) {
    std::vector<std::string> all;
    const auto* p = find(cal, "shop", name);
    if (!p) return all;
    for (const CalicoRule& r : ingress ? p->policy.ingress : p->policy.egress)
      for (const Cidr& c : (ingress ? r.source : r.destination).nets) all.push_back(c.str());
    std::sort(all.begin(), all.end());
    return all;
  };
  EXPECT_EQ(nets("stockade-egress-api", false), std::vector<std::string>{"192.168.0.10/32"})
      << yaml;
  EXPECT_EQ(nets("stockade-ingress-api", true),
            (std::vector<std::string>{"192.168.0.10/32", "192.168.0.11/32"}))
      << yaml;

  // The default-deny: both types, no rules, the never-run CronJob left out by its selector.
  const auto* dd = find(cal, "shop", "stockade-default-deny");
  ASSERT_NE(dd, nullptr);
  EXPECT_EQ(dd->policy.selector.text(), "app not in {'report'}");
  EXPECT_TRUE(dd->policy.types_ingress && dd->policy.types_egress);
  EXPECT_TRUE(dd->policy.ingress.empty() && dd->policy.egress.empty());
  EXPECT_NE(yaml.find("  selector: \"app not in {'report'}\"\n  types:\n  - \"Ingress\"\n  - "
                      "\"Egress\"\n"),
            std::string::npos)
      << yaml;

  // The engine, with Calico's semantics: every observed edge allowed, declared connections
  // kept, the CronJob not isolated.
  ClusterState after_state = with_calico_recommendation(fx.state, cal, false);
  auto after = PolicyEngine::compile(after_state, build_endpoints(after_state));
  SelfCheck check = self_check(*fx.engine, *after, fx.obs, rec, calico_options());
  EXPECT_FALSE(check.failed()) << (check.observed_denied.empty() ? "" : check.observed_denied[0]);
  EXPECT_EQ(check.blocked, 0u);
  EXPECT_GT(check.declared_checked, 0u);
  for (const ObservedEdge& e : fx.obs.edges)
    EXPECT_TRUE(edge_allowed(*after, e)) << e.src.id << " -> " << e.dst.id << " " << e.port;

  // The same verdicts as the NetworkPolicy recommendation, pod to pod and outside.
  ClusterState np_state = with_recommendation(fx.state, rec, false);
  auto np_after = PolicyEngine::compile(np_state, build_endpoints(np_state));
  size_t checked = 0;
  expect_same_verdicts(*np_after, *after, &checked);
  EXPECT_GT(checked, 20u);
  const auto& eps = after->endpoints();
  auto id = [&](const std::string& name) {
    for (uint32_t i = 0; i < eps.size(); ++i)
      if (eps[i].id() == name) return i;
    return uint32_t(UINT32_MAX);
  };
  EXPECT_FALSE(after->allowed(id("shop/api"), id("data/db"), Protocol::TCP, 5432));
  EXPECT_TRUE(after->allowed(id("shop/web-a"), id("data/db"), Protocol::TCP, 5432));
  // explain names the Calico policy that decided.
  Decision d = after
                   ->evaluate(Peer::of_endpoint(id("shop/web-a")), Peer::of_endpoint(id("data/db")),
                              Protocol::TCP, 5432)
                   .egress;
  ASSERT_TRUE(d.policy.has_value());
  EXPECT_EQ(d.policy->kind, "NetworkPolicy (projectcalico.org)");
  EXPECT_EQ(d.policy->name, "stockade-egress-web");

  // What is written loads back as exactly these policies, YAML and JSON.
  std::vector<const CalicoPolicy*> proved;
  for (const auto& p : cal.policies) proved.push_back(&p.policy);
  EXPECT_EQ(check_written(yaml, "out.yaml", {}, {}, {}, proved), "");
  EXPECT_EQ(check_written(render_calico_json(cal), "out.json", {}, {}, {}, proved), "");
  // Evidence comments as in the NetworkPolicy output.
  EXPECT_NE(yaml.find("  # data/db (Pod): 1 connection"), std::string::npos) << yaml;
}

TEST(RecommendCalico, NetworkSetsLabelledLikePodsAreNotPeers) {
  // Calico's rule selectors also select NetworkSets by their labels (their nets): a set
  // labelled app=web in shop would be allowed wherever web is. Where the input holds such a
  // set, peers are restricted to workload endpoints (has(projectcalico.org/orchestrator)), and
  // the outside stays where the NetworkPolicies put it.
  ClusterLoader l;
  auto r = l.add_text(std::string(kCluster) + R"(
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: lookalike, namespace: shop, labels: {app: web}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: dns-lookalike, namespace: data, labels: {k8s-app: kube-dns}}
spec: {nets: [192.0.2.0/24]}
)",
                      "cluster.yaml");
  ASSERT_TRUE(r) << r.error().str();
  ClusterState state = std::move(l).finish();
  ASSERT_EQ(state.calico_network_sets.size(), 2u);
  auto engine = PolicyEngine::compile(state, build_endpoints(state));
  auto o = observe_flows_text(state, *engine, flows(), {});
  ASSERT_TRUE(o) << o.error().str();
  Recommendation rec = recommend(state, *engine, *o, calico_options());
  CalicoRecommendation cal = to_calico(rec, state.calico_network_sets);
  ASSERT_EQ(cal.error, "");
  const std::string yaml = render_calico_yaml(cal);
  EXPECT_NE(yaml.find("selector: \"app == 'web' && has(projectcalico.org/orchestrator)\""),
            std::string::npos)
      << yaml;
  // Peers no set looks like are written as before.
  EXPECT_NE(yaml.find("selector: \"app == 'db'\""), std::string::npos) << yaml;
  ClusterState np_state = with_recommendation(state, rec, false);
  auto np_after = PolicyEngine::compile(np_state, build_endpoints(np_state));
  ClusterState cal_state = with_calico_recommendation(state, cal, false);
  auto cal_after = PolicyEngine::compile(cal_state, build_endpoints(cal_state));
  EXPECT_FALSE(self_check(*engine, *cal_after, *o, rec, calico_options()).failed());
  size_t checked = 0;
  expect_same_verdicts(*np_after, *cal_after, &checked);
  auto api = cal_after->find_endpoint("shop", "api");
  ASSERT_TRUE(api.has_value());
  const Peer set_address = Peer::of_ip(*IpAddr::parse("198.51.100.9"));
  EXPECT_FALSE(
      cal_after->evaluate(set_address, Peer::of_endpoint(*api), Protocol::TCP, 8080).allowed);
  // Without the sets, the translation would have let the set's addresses in.
  CalicoRecommendation naive = to_calico(rec);
  ClusterState naive_state = with_calico_recommendation(state, naive, false);
  auto naive_after = PolicyEngine::compile(naive_state, build_endpoints(naive_state));
  EXPECT_TRUE(
      naive_after->evaluate(set_address, Peer::of_endpoint(*api), Protocol::TCP, 8080).allowed);
}

TEST(RecommendCalico, OwnNodeNeedsRulesInCalico) {
  // Without the own-node options (the NetworkPolicy recommendation as it is), api's traffic to
  // and from its own node gets no rule: Kubernetes lets it through, Calico's tiers do not.
  Fixture fx;
  Recommendation rec = recommend(fx.state, *fx.engine, fx.obs, {});
  CalicoRecommendation cal = to_calico(rec);
  ASSERT_EQ(cal.error, "");
  ClusterState s = with_calico_recommendation(fx.state, cal, false);
  auto after = PolicyEngine::compile(s, build_endpoints(s));
  SelfCheck check = self_check(*fx.engine, *after, fx.obs, rec, {});
  ASSERT_EQ(check.observed_denied.size(), 2u);
  std::string both = check.observed_denied[0] + " " + check.observed_denied[1];
  EXPECT_NE(both.find("10250"), std::string::npos) << both;
  EXPECT_NE(both.find("node/n1 -> shop/api TCP/8080"), std::string::npos) << both;
  // With them, both are rules, and counted (the summary says they name the node for the
  // whole workload).
  EXPECT_EQ(rec.edges_own_node, 0u);
  EXPECT_EQ(recommend(fx.state, *fx.engine, fx.obs, calico_options()).edges_own_node, 2u);
}

TEST(RecommendCalico, HostileLabelValuesStayOneString) {
  // Label values (and keys) are written inside the selector expression: none may add an
  // operator, close the quote or open a set. The loader validates labels of real objects, so
  // these come only through a broken input path; the emitter must not trust that.
  const std::vector<std::string> values = {
      "x' || all() || a == 'b",  // closes a single quote
      "x\" || all() || a == \"b",
      "a} || has(b",
      "a', 'b",         // a second set member
      "x') || (all()",  // parentheses
      "\n&& all()",
      "",
  };
  for (const std::string& v : values) {
    for (SelectorOp op : {SelectorOp::In, SelectorOp::NotIn}) {
      LabelSelector s;
      s.requirements.push_back({"app", op, {v}});
      if (op == SelectorOp::In) {
        std::vector<std::string> two = {"a", v};
        std::sort(two.begin(), two.end());  // as the loader keeps them
        s.requirements.push_back({"tier", SelectorOp::In, two});
      }
      std::string err;
      auto sel = calico_selector(s, &err);
      ASSERT_TRUE(sel.has_value()) << v << ": " << err;
      // It reads back as exactly these requirements, and matches as the label selector does.
      auto again = CalicoSelector::parse(sel->text(), &err);
      ASSERT_TRUE(again.has_value()) << sel->text();
      for (const Labels& l : std::vector<Labels>{{{"app", v}, {"tier", v}},
                                                 {{"app", v}, {"tier", "a"}},
                                                 {{"app", "b"}, {"tier", "a"}},
                                                 {{"a", "b"}},
                                                 {{"tier", "x"}},
                                                 {}})
        EXPECT_EQ(again->matches(l), s.matches(l)) << sel->text();
    }
  }
  // A value with both quote characters cannot be written (Calico's strings have no escapes);
  // nor can a key outside the key characters.
  std::string err;
  LabelSelector both;
  both.requirements.push_back({"app", SelectorOp::In, {"a'\"b"}});
  EXPECT_FALSE(calico_selector(both, &err).has_value());
  EXPECT_NE(err.find("both quote"), std::string::npos) << err;
  for (const char* key : {"app == 'x' || all() || a", "a b", "app)", "", "k'"}) {
    LabelSelector bad;
    bad.requirements.push_back({key, SelectorOp::Exists, {}});
    EXPECT_FALSE(calico_selector(bad, &err).has_value()) << key;
  }
  // Through the translation: refused with one line naming the policy, nothing written.
  Recommendation rec;
  rec.policies.push_back(evil_policy());
  rec.policies[0].policy.ingress[0].peers[0].pod_selector->requirements[0].values = {"a'\"b"};
  CalicoRecommendation cal = to_calico(rec);
  EXPECT_NE(cal.error.find("NetworkPolicy shop/stockade-ingress-db"), std::string::npos)
      << cal.error;
  EXPECT_TRUE(cal.policies.empty());
}

TEST(RecommendCalico, SelectorKeysCalicoReservesAreRefused) {
  // Calico gives endpoints projectcalico.org/* labels and their namespace's labels as pcns.*:
  // a pod label spelt so is not what the selector would read.
  for (const char* key : {"projectcalico.org/namespace", "pcns.team", "pcsa.role"}) {
    Recommendation rec;
    rec.policies.push_back(evil_policy());
    rec.policies[0].policy.ingress[0].peers[0].pod_selector->requirements.push_back(
        {key, SelectorOp::In, {"data"}});
    CalicoRecommendation cal = to_calico(rec);
    EXPECT_NE(cal.error.find(key), std::string::npos) << cal.error;
  }
}

TEST(RecommendCalico, EmitterCannotBeBrokenOutOf) {
  Recommendation rec;
  rec.policies.push_back(evil_policy());
  CalicoRecommendation cal = to_calico(rec);
  ASSERT_EQ(cal.error, "");
  const std::string yaml = render_calico_yaml(cal);
  // The evidence is one comment line, escaped; the annotation a quoted scalar.
  EXPECT_NE(yaml.find("# shop/web\\x0a    - ipBlock: {cidr: 0.0.0.0/0}\\x0a\\xc2\\x85"),
            std::string::npos)
      << yaml;
  EXPECT_EQ(yaml.find("\n  - toEntities: [all]"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("selector: \"app == 'web' && on == 'yes'\""), std::string::npos) << yaml;
  ClusterLoader l;
  auto r = l.add_text(yaml, "out.yaml");
  ASSERT_TRUE(r) << r.error().str() << "\n" << yaml;
  ClusterState b = std::move(l).finish();
  ASSERT_EQ(b.calico_policies.size(), 1u);
  const auto& in = b.calico_policies[0].ingress;
  ASSERT_EQ(in.size(), 2u);  // one rule per peer: nothing else
  EXPECT_EQ(in[0].destination.ports.size(), 45u);
  EXPECT_EQ(in[1].source.nets.at(0).str(), "198.51.100.0/24");
  std::vector<const CalicoPolicy*> proved = {&cal.policies[0].policy};
  EXPECT_EQ(check_written(yaml, "out.yaml", {}, {}, {}, proved), "");
  // What an emitter that could be broken out of would have written is seen by the self-check:
  // a rule more, a widened selector, a document more, a NetworkPolicy in its place.
  std::string widened = yaml;
  size_t at = widened.find("  - action: \"Allow\"");
  ASSERT_NE(at, std::string::npos);
  widened.insert(at, "  - action: \"Allow\"\n");
  EXPECT_NE(check_written(widened, "out.yaml", {}, {}, {}, proved), "");
  std::string wider = yaml;
  at = wider.find("app == 'web' && on == 'yes'");
  wider.replace(at, 27, "app == 'web' || on == 'yes'");
  EXPECT_NE(check_written(wider, "out.yaml", {}, {}, {}, proved), "");
  std::string other = yaml;
  other.replace(other.find("stockade-ingress-db"), 19, "stockade-ingress-xx");
  EXPECT_NE(check_written(yaml + other, "out.yaml", {}, {}, {}, proved), "");
  EXPECT_NE(check_written(render_policy_yaml(rec.policies[0]), "out.yaml", {}, {}, {}, proved), "");
}

void random_clusters(bool with_calico) {
  // Random clusters (tests/support/random_cluster.h: their own NetworkPolicies and admin
  // tiers stay in force), random observed traffic between pods and to and from outside; the
  // recommendation as NetworkPolicies and as Calico policies must give the same verdicts on
  // every pod pair and port, and to and from addresses outside.
  size_t checked = 0, clusters = 0, policies = 0;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    ClusterState state = testing::random_cluster(seed);
    if (with_calico) testing::add_random_calico_policies(state, seed);
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    const auto& eps = engine->endpoints();
    std::mt19937_64 rng(seed);
    std::vector<uint32_t> pods;
    for (uint32_t i = 0; i < eps.size(); ++i)
      if (!eps[i].pod.host_network && !eps[i].ips.empty() && !eps[i].ips[0].v6) pods.push_back(i);
    if (pods.size() < 2) continue;
    std::string f;
    const char* outside[] = {"203.0.113.7", "198.51.100.20", "192.0.2.1"};
    for (int k = 0; k < 12; ++k) {
      uint32_t s = pods[rng() % pods.size()], d = pods[rng() % pods.size()];
      uint16_t port = 80;
      std::string proto = "TCP";
      if (!eps[d].pod.ports.empty()) {
        const ContainerPort& cp = eps[d].pod.ports[rng() % eps[d].pod.ports.size()];
        port = cp.port;
        proto = cp.protocol == Protocol::UDP ? "UDP" : "TCP";
        if (cp.protocol == Protocol::SCTP) continue;
      }
      std::string src = eps[s].ips[0].str(), dst = eps[d].ips[0].str();
      if (k % 4 == 1) dst = outside[rng() % 3], port = 443, proto = "TCP";
      if (k % 4 == 2) src = outside[rng() % 3];
      f += flow(proto, src, dst, port);
    }
    auto o = observe_flows_text(state, *engine, f, {});
    ASSERT_TRUE(o) << o.error().str();
    if (o->edges.empty()) continue;
    Recommendation rec = recommend(state, *engine, *o, calico_options());
    CalicoRecommendation cal = to_calico(rec, state.calico_network_sets);
    ASSERT_EQ(cal.error, "") << "seed " << seed;
    ClusterState np_state = with_recommendation(state, rec, false);
    auto np_after = PolicyEngine::compile(np_state, build_endpoints(np_state));
    ClusterState cal_state = with_calico_recommendation(state, cal, false);
    auto cal_after = PolicyEngine::compile(cal_state, build_endpoints(cal_state));
    SelfCheck check = self_check(*engine, *cal_after, *o, rec, calico_options());
    EXPECT_FALSE(check.failed()) << "seed " << seed << ": "
                                 << (check.observed_denied.empty() ? "" : check.observed_denied[0]);
    const size_t before = checked;
    expect_same_verdicts(*np_after, *cal_after, &checked);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "seed " << seed << "\n"
                    << testing::dump_cluster(state) << "\n"
                    << testing::dump_calico(state) << "\n"
                    << render_calico_yaml(cal);
      return;
    }
    clusters += checked > before;
    policies += cal.policies.size();
  }
  EXPECT_GT(clusters, 50u);
  EXPECT_GT(policies, 100u);
  EXPECT_GT(checked, 5000u);
}

TEST(RecommendCalico, RandomClustersDecideAsTheNetworkPolicies) {
  random_clusters(false);
}

TEST(RecommendCalico, RandomClustersWithCalicoPoliciesDecideAsTheNetworkPolicies) {
  random_clusters(true);
}

}  // namespace
}  // namespace stockade

// Hand-written cases for the reference evaluator, so that it cannot silently be wrong.
#include "support/reference_evaluator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace stockade::testing {
namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}
Cidr cidr(const char* text) {
  return *Cidr::parse(text);
}

// matchLabels as the loader stores them: one In requirement per label.
LabelSelector match_labels(std::vector<std::pair<std::string, std::string>> kv) {
  LabelSelector s;
  for (auto& [k, v] : kv) s.requirements.push_back({k, SelectorOp::In, {v}});
  return s;
}

class Cluster {
 public:
  void add_namespace(const std::string& name, Labels labels = {}) {
    labels["kubernetes.io/metadata.name"] = name;
    s.namespaces.push_back(Namespace{name, labels, {}});
    std::sort(s.namespaces.begin(), s.namespaces.end(),
              [](const Namespace& a, const Namespace& b) { return a.name < b.name; });
  }
  Pod& add_pod(const std::string& ns, const std::string& name, Labels labels, const char* addr,
               std::vector<ContainerPort> ports = {}) {
    Pod p;
    p.ns = ns;
    p.name = name;
    p.spec.labels = std::move(labels);
    p.spec.ports = std::move(ports);
    if (addr) p.ips.push_back(ip(addr));
    p.phase = "Running";
    s.pods.push_back(std::move(p));
    return s.pods.back();
  }
  NetworkPolicy& add_np(const std::string& ns, const std::string& name, LabelSelector sel,
                        bool ingress, bool egress) {
    NetworkPolicy np;
    np.ns = ns;
    np.name = name;
    np.pod_selector = std::move(sel);
    np.affects_ingress = ingress;
    np.affects_egress = egress;
    s.network_policies.push_back(std::move(np));
    return s.network_policies.back();
  }
  ClusterPolicy& add_cp(ClusterPolicyKind kind, const std::string& name, int32_t priority,
                        PolicyTier tier = PolicyTier::Admin) {
    ClusterPolicy cp;
    cp.kind = kind;
    cp.name = name;
    cp.priority = priority;
    cp.tier = kind == ClusterPolicyKind::BaselineAdminNetworkPolicy ? PolicyTier::Baseline : tier;
    s.cluster_policies.push_back(std::move(cp));
    return s.cluster_policies.back();
  }
  void finish() { eps = build_endpoints(s); }

  RefPeer ep(const std::string& id) const {
    for (size_t i = 0; i < eps.size(); ++i)
      if (eps[i].id() == id) return RefPeer::of_endpoint(i);
    ADD_FAILURE() << "no endpoint " << id;
    return RefPeer::of_ip(ip("0.0.0.0"));
  }
  bool allowed(const RefPeer& a, const RefPeer& b, Protocol proto = Protocol::TCP,
               uint16_t port = 80) const {
    return reference_allowed(s, eps, a, b, proto, port);
  }
  bool allowed(const std::string& a, const std::string& b, Protocol proto = Protocol::TCP,
               uint16_t port = 80) const {
    return allowed(ep(a), ep(b), proto, port);
  }

  ClusterState s;
  std::vector<Endpoint> eps;
};

ClusterPeer all_namespaces() {
  ClusterPeer p;
  p.kind = ClusterPeer::Kind::Namespaces;
  return p;
}

ClusterPolicyRule rule(RuleAction action, std::vector<ClusterPeer> peers) {
  ClusterPolicyRule r;
  r.action = action;
  r.peers = std::move(peers);
  return r;
}

// Two namespaces, two pods in each.
Cluster basic() {
  Cluster c;
  c.add_namespace("a", {{"team", "red"}});
  c.add_namespace("b", {{"team", "blue"}});
  c.add_pod("a", "web", {{"app", "web"}}, "10.0.0.1",
            {{"http", 8080, Protocol::TCP}, {"dns", 53, Protocol::UDP}});
  c.add_pod("a", "db", {{"app", "db"}}, "10.0.0.2");
  c.add_pod("b", "web", {{"app", "web"}}, "10.0.0.3");
  c.add_pod("b", "cli", {{"app", "cli"}}, "10.0.0.200");
  return c;
}

TEST(ReferenceEvaluator, NoPoliciesAllowsEverything) {
  Cluster c = basic();
  c.finish();
  EXPECT_TRUE(c.allowed("a/web", "b/web"));
  EXPECT_TRUE(c.allowed(RefPeer::of_ip(ip("192.0.2.1")), c.ep("a/db"), Protocol::SCTP, 9));
  EXPECT_TRUE(c.allowed(c.ep("a/db"), RefPeer::of_ip(ip("192.0.2.1")), Protocol::UDP, 53));
}

TEST(ReferenceEvaluator, DefaultDenyIngress) {
  Cluster c = basic();
  c.add_np("a", "deny", LabelSelector{}, true, false);
  c.finish();
  EXPECT_FALSE(c.allowed("b/web", "a/web"));
  EXPECT_FALSE(c.allowed("a/db", "a/web"));
  EXPECT_FALSE(c.allowed(RefPeer::of_ip(ip("192.0.2.1")), c.ep("a/web")));
  EXPECT_TRUE(c.allowed("a/web", "a/web")) << "self traffic is always allowed";
  EXPECT_TRUE(c.allowed("a/web", "b/web")) << "egress not isolated, b not isolated";
  EXPECT_TRUE(c.allowed("b/web", "b/cli"));
  EXPECT_TRUE(reference_np_isolated_ingress(c.s, c.eps, c.ep("a/web").endpoint.value()));
  EXPECT_FALSE(reference_np_isolated_egress(c.s, c.eps, c.ep("a/web").endpoint.value()));
  EXPECT_FALSE(reference_np_isolated_ingress(c.s, c.eps, c.ep("b/web").endpoint.value()));
}

TEST(ReferenceEvaluator, DefaultDenyEgress) {
  Cluster c = basic();
  c.add_np("b", "deny", LabelSelector{}, false, true);
  c.finish();
  EXPECT_FALSE(c.allowed("b/web", "a/web"));
  EXPECT_FALSE(c.allowed(c.ep("b/cli"), RefPeer::of_ip(ip("192.0.2.1"))));
  EXPECT_TRUE(c.allowed("a/web", "b/web"));
}

TEST(ReferenceEvaluator, NamedPortIsTheDestinationsPort) {
  Cluster c = basic();
  NetworkPolicy& in = c.add_np("a", "http-in", match_labels({{"app", "web"}}), true, false);
  NetworkPolicyRule r;
  r.ports.push_back({Protocol::TCP, NetworkPolicyPort::Kind::Name, 0, 0, "http"});
  in.ingress.push_back(r);
  NetworkPolicy& out = c.add_np("b", "http-out", LabelSelector{}, false, true);
  out.egress.push_back(r);
  c.finish();
  EXPECT_TRUE(c.allowed("a/db", "a/web", Protocol::TCP, 8080));
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::TCP, 80));
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::UDP, 8080));
  // Egress from b: "http" is looked up on the destination, not on the source.
  EXPECT_TRUE(c.allowed("b/cli", "a/web", Protocol::TCP, 8080));
  EXPECT_FALSE(c.allowed("b/cli", "b/web", Protocol::TCP, 8080)) << "b/web declares no http";
  EXPECT_FALSE(c.allowed(c.ep("b/cli"), RefPeer::of_ip(ip("192.0.2.1")), Protocol::TCP, 8080))
      << "an external destination never matches a named port";
  // The protocol must match the declared one too: "dns" is UDP/53 on a/web.
  NetworkPolicyRule dns;
  dns.ports.push_back({Protocol::TCP, NetworkPolicyPort::Kind::Name, 0, 0, "dns"});
  c.s.network_policies[0].ingress = {dns};
  c.finish();
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::TCP, 53));
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::UDP, 53));
  c.s.network_policies[0].ingress[0].ports[0].protocol = Protocol::UDP;
  EXPECT_TRUE(c.allowed("a/db", "a/web", Protocol::UDP, 53));
}

TEST(ReferenceEvaluator, PortRangesAndProtocolDefault) {
  Cluster c = basic();
  NetworkPolicy& np = c.add_np("a", "range", LabelSelector{}, true, false);
  NetworkPolicyRule r;
  r.ports.push_back({std::nullopt, NetworkPolicyPort::Kind::Number, 80, 443, ""});
  r.ports.push_back({Protocol::UDP, NetworkPolicyPort::Kind::Any, 0, 0, ""});
  np.ingress.push_back(r);
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/web", Protocol::TCP, 80));
  EXPECT_TRUE(c.allowed("b/web", "a/web", Protocol::TCP, 443));
  EXPECT_FALSE(c.allowed("b/web", "a/web", Protocol::TCP, 444));
  EXPECT_FALSE(c.allowed("b/web", "a/web", Protocol::SCTP, 80));
  EXPECT_TRUE(c.allowed("b/web", "a/web", Protocol::UDP, 9999));
}

TEST(ReferenceEvaluator, IpBlockWithExcept) {
  Cluster c = basic();
  NetworkPolicy& np = c.add_np("a", "cidr", match_labels({{"app", "db"}}), false, true);
  NetworkPolicyRule r;
  NetworkPolicyPeer peer;
  peer.ip_block = IpBlock{cidr("10.0.0.0/24"), {cidr("10.0.0.128/25"), cidr("10.0.0.3/32")}};
  r.peers.push_back(peer);
  np.egress.push_back(r);
  c.finish();
  EXPECT_TRUE(c.allowed("a/db", "a/web")) << "pod IPs match ipBlock";
  EXPECT_FALSE(c.allowed("a/db", "b/web")) << "10.0.0.3 is excepted";
  EXPECT_FALSE(c.allowed("a/db", "b/cli")) << "10.0.0.200 is excepted";
  EXPECT_TRUE(c.allowed(c.ep("a/db"), RefPeer::of_ip(ip("10.0.0.77"))));
  EXPECT_FALSE(c.allowed(c.ep("a/db"), RefPeer::of_ip(ip("10.0.0.130"))));
  EXPECT_FALSE(c.allowed(c.ep("a/db"), RefPeer::of_ip(ip("10.0.1.1"))));
  EXPECT_FALSE(c.allowed(c.ep("a/db"), RefPeer::of_ip(ip("fd00::1"))));
}

TEST(ReferenceEvaluator, SelectorPeers) {
  Cluster c = basic();
  NetworkPolicy& np = c.add_np("a", "sel", match_labels({{"app", "db"}}), true, false);
  NetworkPolicyRule pods_here;  // podSelector only: the policy's namespace
  pods_here.peers.push_back({match_labels({{"app", "web"}}), std::nullopt, std::nullopt});
  np.ingress.push_back(pods_here);
  c.finish();
  EXPECT_TRUE(c.allowed("a/web", "a/db"));
  EXPECT_FALSE(c.allowed("b/web", "a/db")) << "podSelector alone means the policy's namespace";
  EXPECT_FALSE(c.allowed(RefPeer::of_ip(ip("10.0.0.1")), c.ep("a/db")))
      << "selectors never match external IPs, even a pod's";
  // namespaceSelector + podSelector: web pods in blue namespaces.
  c.s.network_policies[0].ingress[0].peers[0].namespace_selector = match_labels({{"team", "blue"}});
  EXPECT_FALSE(c.allowed("a/web", "a/db"));
  EXPECT_TRUE(c.allowed("b/web", "a/db"));
  EXPECT_FALSE(c.allowed("b/cli", "a/db"));
  // namespaceSelector alone: every pod of the blue namespaces.
  c.s.network_policies[0].ingress[0].peers[0].pod_selector.reset();
  EXPECT_TRUE(c.allowed("b/cli", "a/db"));
  EXPECT_FALSE(c.allowed("a/web", "a/db"));
  // An empty rule (no peers, no ports) allows everything.
  c.s.network_policies[0].ingress.push_back(NetworkPolicyRule{});
  EXPECT_TRUE(c.allowed("a/web", "a/db"));
  EXPECT_TRUE(c.allowed(RefPeer::of_ip(ip("192.0.2.1")), c.ep("a/db")));
}

TEST(ReferenceEvaluator, AnpPassGoesToNetworkPolicies) {
  Cluster c = basic();
  ClusterPolicy& pass = c.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "pass", 1);
  pass.subject.namespace_selector = match_labels({{"team", "red"}});
  pass.ingress.push_back(rule(RuleAction::Pass, {all_namespaces()}));
  ClusterPolicy& deny = c.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "deny", 2);
  deny.ingress.push_back(rule(RuleAction::Deny, {all_namespaces()}));
  c.finish();
  // a: Pass skips the later Deny; no NP selects a/* and no BANP: default allow.
  EXPECT_TRUE(c.allowed("b/web", "a/web"));
  // b: the Deny applies.
  EXPECT_FALSE(c.allowed("a/web", "b/web"));
  // An NP in a that allows only app=web.
  NetworkPolicy& np = c.add_np("a", "np", LabelSelector{}, true, false);
  NetworkPolicyRule r;
  r.peers.push_back({match_labels({{"app", "web"}}), LabelSelector{}, std::nullopt});
  np.ingress.push_back(r);
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/db"));
  EXPECT_FALSE(c.allowed("b/cli", "a/db"));
  // Without the NP, a BANP decides after Pass.
  c.s.network_policies.clear();
  ClusterPolicy& banp = c.add_cp(ClusterPolicyKind::BaselineAdminNetworkPolicy, "default", 0);
  banp.ingress.push_back(rule(RuleAction::Deny, {all_namespaces()}));
  c.finish();
  EXPECT_FALSE(c.allowed("b/web", "a/web"));
}

TEST(ReferenceEvaluator, AdminAllowOverridesNetworkPolicy) {
  Cluster c = basic();
  c.add_np("a", "deny", LabelSelector{}, true, false);
  ClusterPolicy& anp = c.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "allow", 5);
  ClusterPeer blue = all_namespaces();
  blue.pods.namespace_selector = match_labels({{"team", "blue"}});
  anp.ingress.push_back(rule(RuleAction::Allow, {blue}));
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/web"));
  EXPECT_FALSE(c.allowed("a/db", "a/web"));
}

TEST(ReferenceEvaluator, BaselineAppliesOnlyWhenNoNetworkPolicySelects) {
  Cluster c = basic();
  ClusterPolicy& banp = c.add_cp(ClusterPolicyKind::BaselineAdminNetworkPolicy, "default", 0);
  banp.ingress.push_back(rule(RuleAction::Deny, {all_namespaces()}));
  NetworkPolicy& np = c.add_np("a", "allow-all", match_labels({{"app", "web"}}), true, false);
  np.ingress.push_back(NetworkPolicyRule{});
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/web")) << "NP selects a/web: the BANP is not consulted";
  EXPECT_FALSE(c.allowed("b/web", "a/db")) << "no NP selects a/db: the BANP denies";
  EXPECT_TRUE(c.allowed(RefPeer::of_ip(ip("192.0.2.1")), c.ep("a/db")))
      << "a namespaces peer does not match an external IP";
  // An NP that selects a/db only for egress does not shield it from the ingress BANP.
  c.add_np("a", "egress-only", match_labels({{"app", "db"}}), false, true);
  c.finish();
  EXPECT_FALSE(c.allowed("b/web", "a/db"));
}

TEST(ReferenceEvaluator, AdminTierOrder) {
  Cluster c = basic();
  ClusterPolicy& anp = c.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "zzz", 1);
  anp.ingress.push_back(rule(RuleAction::Allow, {all_namespaces()}));
  ClusterPolicy& cnp = c.add_cp(ClusterPolicyKind::ClusterNetworkPolicy, "aaa", 1);
  cnp.ingress.push_back(rule(RuleAction::Deny, {all_namespaces()}));
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/web")) << "same priority: ANP before CNP";
  c.s.cluster_policies[1].priority = 0;
  EXPECT_FALSE(c.allowed("b/web", "a/web")) << "lower priority value first";
  // Same kind and priority: by name.
  c.s.cluster_policies[1].kind = ClusterPolicyKind::AdminNetworkPolicy;
  c.s.cluster_policies[1].priority = 1;
  EXPECT_FALSE(c.allowed("b/web", "a/web")) << "aaa (Deny) before zzz (Allow)";
  // Rules in order within a policy.
  c.s.cluster_policies[1].ingress.insert(c.s.cluster_policies[1].ingress.begin(),
                                         rule(RuleAction::Allow, {all_namespaces()}));
  EXPECT_TRUE(c.allowed("b/web", "a/web"));
}

TEST(ReferenceEvaluator, BaselineTierOrder) {
  Cluster c = basic();
  ClusterPolicy& banp = c.add_cp(ClusterPolicyKind::BaselineAdminNetworkPolicy, "default", 0);
  banp.egress.push_back(rule(RuleAction::Deny, {all_namespaces()}));
  ClusterPolicy& cnp =
      c.add_cp(ClusterPolicyKind::ClusterNetworkPolicy, "cnp", 7, PolicyTier::Baseline);
  cnp.egress.push_back(rule(RuleAction::Allow, {all_namespaces()}));
  c.finish();
  EXPECT_TRUE(c.allowed("a/web", "b/web")) << "baseline CNPs come before the BANP";
  c.s.cluster_policies[1].egress[0].action = RuleAction::Pass;
  EXPECT_TRUE(c.allowed("a/web", "b/web")) << "baseline Pass goes to the default";
  c.s.cluster_policies[1].egress.clear();
  EXPECT_FALSE(c.allowed("a/web", "b/web"));
}

TEST(ReferenceEvaluator, ClusterPolicyPortsAndSubjects) {
  Cluster c = basic();
  ClusterPolicy& anp = c.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "ports", 1);
  anp.subject.pod_selector = match_labels({{"app", "web"}});
  ClusterPolicyRule r = rule(RuleAction::Deny, {all_namespaces()});
  r.ports.emplace();
  r.ports->push_back({ClusterPolicyPort::Kind::Number, Protocol::TCP, 80, 80, ""});
  r.ports->push_back({ClusterPolicyPort::Kind::Range, Protocol::UDP, 100, 200, ""});
  r.ports->push_back({ClusterPolicyPort::Kind::Named, Protocol::TCP, 0, 0, "dns"});
  anp.ingress.push_back(r);
  c.finish();
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::TCP, 80));
  EXPECT_TRUE(c.allowed("a/db", "a/web", Protocol::TCP, 81));
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::UDP, 150));
  EXPECT_TRUE(c.allowed("a/db", "a/web", Protocol::TCP, 150));
  EXPECT_FALSE(c.allowed("a/db", "a/web", Protocol::UDP, 53)) << "named dns = UDP/53 on a/web";
  EXPECT_TRUE(c.allowed("a/db", "a/web", Protocol::TCP, 53));
  EXPECT_TRUE(c.allowed("a/web", "a/db", Protocol::TCP, 80)) << "a/db is not a subject";
}

TEST(ReferenceEvaluator, HostNetworkPods) {
  Cluster c = basic();
  c.s.nodes.push_back(Node{"n1", {{"role", "infra"}}, {ip("10.0.0.250")}, {}});
  c.s.nodes.push_back(Node{"n2", {{"role", "worker"}}, {ip("10.0.0.251")}, {}});
  Pod& host = c.add_pod("a", "agent", {{"app", "web"}}, "10.0.0.250");
  host.spec.host_network = true;
  host.node = "n1";
  c.add_np("a", "deny-all", LabelSelector{}, true, true);
  c.finish();
  EXPECT_TRUE(c.allowed("b/web", "a/agent")) << "a host-network pod is never isolated";
  EXPECT_TRUE(c.allowed("a/agent", "b/web"));
  EXPECT_FALSE(reference_np_isolated_ingress(c.s, c.eps, c.ep("a/agent").endpoint.value()));

  // Selector peers do not match it; ipBlock does.
  Cluster d = basic();
  d.s.nodes = c.s.nodes;
  Pod& h = d.add_pod("a", "agent", {{"app", "web"}}, "10.0.0.250");
  h.spec.host_network = true;
  h.node = "n1";
  NetworkPolicy& np = d.add_np("b", "in", LabelSelector{}, true, false);
  NetworkPolicyRule sel;
  sel.peers.push_back({LabelSelector{}, LabelSelector{}, std::nullopt});
  np.ingress.push_back(sel);
  d.finish();
  EXPECT_TRUE(d.allowed("a/web", "b/web"));
  EXPECT_FALSE(d.allowed("a/agent", "b/web"));
  NetworkPolicyRule block;
  block.peers.push_back({std::nullopt, std::nullopt, IpBlock{cidr("10.0.0.248/29"), {}}});
  d.s.network_policies[0].ingress.push_back(block);
  EXPECT_TRUE(d.allowed("a/agent", "b/web"));

  // ANP: namespaces peers skip it, nodes peers match it (and the node's IP).
  Cluster e = basic();
  e.s.nodes = c.s.nodes;
  Pod& h2 = e.add_pod("a", "agent", {{"app", "web"}}, "10.0.0.250");
  h2.spec.host_network = true;
  h2.node = "n1";
  ClusterPolicy& anp = e.add_cp(ClusterPolicyKind::AdminNetworkPolicy, "nodes", 1);
  ClusterPeer infra;
  infra.kind = ClusterPeer::Kind::Nodes;
  infra.node_selector = match_labels({{"role", "infra"}});
  anp.egress.push_back(rule(RuleAction::Deny, {infra}));
  anp.egress.push_back(rule(RuleAction::Allow, {all_namespaces()}));
  anp.egress.push_back(rule(RuleAction::Deny, {[] {
                              ClusterPeer p;
                              p.kind = ClusterPeer::Kind::Networks;
                              p.networks = {cidr("0.0.0.0/0")};
                              return p;
                            }()}));
  e.finish();
  EXPECT_FALSE(e.allowed("b/web", "a/agent")) << "nodes peer matches the host-network pod";
  EXPECT_FALSE(e.allowed(e.ep("b/web"), RefPeer::of_ip(ip("10.0.0.250")))) << "node IP";
  EXPECT_FALSE(e.allowed(e.ep("b/web"), RefPeer::of_ip(ip("10.0.0.251"))))
      << "n2 is not infra; falls to the networks Deny";
  EXPECT_TRUE(e.allowed("b/web", "a/web")) << "namespaces peer";
  EXPECT_TRUE(e.allowed("a/agent", "b/web")) << "a host-network pod is not a subject";
}

TEST(ReferenceEvaluator, WorkloadWithoutPodsHasNoIps) {
  Cluster c = basic();
  Workload w;
  w.ns = "a";
  w.name = "lonely";
  w.pod.labels = {{"app", "web"}};
  c.s.workloads.push_back(w);
  NetworkPolicy& np = c.add_np("a", "cidr", LabelSelector{}, true, false);
  NetworkPolicyRule r;
  r.peers.push_back({std::nullopt, std::nullopt, IpBlock{cidr("0.0.0.0/0"), {}}});
  np.ingress.push_back(r);
  c.finish();
  EXPECT_FALSE(c.allowed("a/lonely", "a/web")) << "no IP to match an ipBlock";
  EXPECT_TRUE(c.allowed("b/web", "a/web"));
  EXPECT_TRUE(c.allowed("b/web", "a/lonely")) << "its ingress is evaluated like a pod's";
  EXPECT_FALSE(c.allowed("a/lonely", "a/db"));
}

}  // namespace
}  // namespace stockade::testing

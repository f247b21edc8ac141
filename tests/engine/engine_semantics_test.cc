// One test per semantic point of the four policy kinds (see issue "Foundation"), each written so
// that it fails when the point is implemented wrongly.
#include <gtest/gtest.h>

#include "engine/engine.h"
#include "input/loader.h"

namespace stockade {
namespace {

const char* kBase = R"(
apiVersion: v1
kind: Namespace
metadata: {name: a, labels: {team: x}}
---
apiVersion: v1
kind: Namespace
metadata: {name: b, labels: {team: 'y'}}
---
apiVersion: v1
kind: Node
metadata: {name: n1, labels: {role: worker}}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a, labels: {app: web, tier: front}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports:
    - {containerPort: 80, name: http}
    - {containerPort: 53, name: dns, protocol: UDP}
status: {podIP: 10.0.1.1}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: a, labels: {app: api, tier: back}}
spec:
  nodeName: n1
  containers:
  - name: c
    ports:
    - {containerPort: 8080, name: http}
    - {containerPort: 9000, protocol: SCTP, name: sig}
status: {podIP: 10.0.1.2}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: b, labels: {app: db}}
spec:
  nodeName: n2
  containers:
  - name: c
    ports: [{containerPort: 5432, name: pg}]
status: {podIPs: [{ip: 10.0.2.1}, {ip: "fd00::2:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: a, labels: {app: agent}}
spec:
  nodeName: n1
  hostNetwork: true
  containers:
  - name: c
    ports: [{containerPort: 9100, name: metrics}]
status: {podIP: 192.168.0.10}
)";

class Engine {
 public:
  explicit Engine(const std::string& policies) {
    ClusterLoader l;
    auto r = l.add_text(kBase, "base.yaml");
    EXPECT_TRUE(r) << r.error().str();
    if (!policies.empty()) {
      r = l.add_text(policies, "policies.yaml");
      EXPECT_TRUE(r) << r.error().str();
    }
    state_ = std::move(l).finish();
    engine_ = PolicyEngine::compile(state_, build_endpoints(state_));
  }
  Peer peer(const std::string& s) const {
    if (auto ip = IpAddr::parse(s)) return Peer::of_ip(*ip);
    auto slash = s.find('/');
    auto ep = engine_->find_endpoint(s.substr(0, slash), s.substr(slash + 1));
    EXPECT_TRUE(ep) << s;
    return Peer::of_endpoint(ep.value_or(0));
  }
  Verdict verdict(const std::string& from, const std::string& to, const std::string& port) const {
    auto q = parse_port_query(port);
    EXPECT_TRUE(q) << port;
    return engine_->evaluate(peer(from), peer(to), q->protocol, q->number);
  }
  // Checks the explained verdict, the fast path and the reach matrix agree, and returns it.
  bool allows(const std::string& from, const std::string& to, const std::string& port) const {
    Verdict v = verdict(from, to, port);
    Peer s = peer(from), d = peer(to);
    auto q = parse_port_query(port);
    if (s.endpoint && d.endpoint) {
      EXPECT_EQ(engine_->allowed(*s.endpoint, *d.endpoint, q->protocol, q->number), v.allowed)
          << from << " -> " << to << " " << port << " (fast path)";
      auto m = engine_->reach({*q});
      const auto& ports = m->ports(*d.endpoint);
      if (!ports.empty()) {
        EXPECT_EQ(m->allowed(*s.endpoint, *d.endpoint, 0), v.allowed)
            << from << " -> " << to << " " << port << " (matrix)";
      }
    }
    return v.allowed;
  }
  const PolicyEngine& engine() const { return *engine_; }

 private:
  ClusterState state_;
  std::unique_ptr<PolicyEngine> engine_;
};

std::string np(const std::string& ns, const std::string& name, const std::string& spec) {
  return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec + "\n";
}

std::string anp(const std::string& name, int priority, const std::string& body);

// ---- NetworkPolicy ------------------------------------------------------------------------

TEST(NetworkPolicySemantics, NoPolicyAllowsEverything) {
  Engine e("");
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_TRUE(e.allows("b/db", "a/api", "tcp/1"));
  EXPECT_TRUE(e.allows("203.0.113.1", "a/web", "tcp/80"));
}

TEST(NetworkPolicySemantics, IsolationIsPerDirection) {
  Engine e(np("a", "deny-in", "  podSelector: {}"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));   // ingress isolated
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));  // egress untouched
  Verdict v = e.verdict("b/db", "a/web", "tcp/80");
  EXPECT_EQ(v.ingress.tier, DecisionTier::NetworkPolicy);
  ASSERT_EQ(v.ingress.isolated_by.size(), 1u);
  EXPECT_EQ(v.ingress.isolated_by[0].name, "deny-in");
  EXPECT_EQ(v.egress.tier, DecisionTier::Default);
}

TEST(NetworkPolicySemantics, EgressOnlyPolicy) {
  Engine e(np("a", "deny-out", "  podSelector: {}\n  policyTypes: [Egress]"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_TRUE(e.allows("b/db", "a/web", "tcp/80"));
}

TEST(NetworkPolicySemantics, SelfTrafficAlwaysAllowed) {
  Engine e(np("a", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"));
  EXPECT_TRUE(e.allows("a/web", "a/web", "tcp/80"));
  EXPECT_EQ(e.verdict("a/web", "a/web", "tcp/80").egress.tier, DecisionTier::Loopback);
  EXPECT_FALSE(e.allows("a/web", "a/api", "tcp/8080"));
}

TEST(NetworkPolicySemantics, BothSidesMustAllow) {
  Engine e(np("a", "out", "  podSelector: {matchLabels: {app: web}}\n  egress:\n  - {}") +
           np("b", "in", "  podSelector: {}"));
  // web's egress allows everything, but db's ingress is isolated with no rules.
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  Verdict v = e.verdict("a/web", "b/db", "tcp/5432");
  EXPECT_TRUE(v.egress.allowed);
  EXPECT_FALSE(v.ingress.allowed);
}

TEST(NetworkPolicySemantics, UnionOfPolicies) {
  Engine e(np("a", "p1",
              "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from: [{podSelector: "
              "{matchLabels: {app: web}}}]") +
           np("a", "p2",
              "  podSelector: {matchLabels: {tier: back}}\n  ingress:\n  - from: "
              "[{namespaceSelector: {matchLabels: {team: 'y'}}}]"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "tcp/8080"));  // via p1
  EXPECT_TRUE(e.allows("b/db", "a/api", "tcp/8080"));   // via p2
  EXPECT_FALSE(e.allows("203.0.113.1", "a/api", "tcp/8080"));
}

TEST(NetworkPolicySemantics, PodSelectorAloneIsTheSameNamespace) {
  Engine e(np("b", "p", "  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));  // other namespace
}

TEST(NetworkPolicySemantics, NamespaceAndPodSelectorInOnePeerAreAnded) {
  Engine e(np("b", "p",
              "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: "
              "{team: x}}\n      podSelector: {matchLabels: {app: web}}"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("a/api", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, SeparatePeersAreOred) {
  Engine e(np("b", "p",
              "  podSelector: {}\n  ingress:\n  - from:\n    - namespaceSelector: {matchLabels: "
              "{team: x}}\n    - podSelector: {matchLabels: {app: web}}"));
  // The namespace peer alone admits every pod of namespace a.
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_TRUE(e.allows("a/api", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, EmptyNamespaceSelectorIsEveryNamespaceButNoExternal) {
  Engine e(np("b", "p", "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}}]"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("203.0.113.1", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, AbsentFromIsEveryPeerIncludingExternal) {
  Engine e(np("b", "p", "  podSelector: {}\n  ingress:\n  - ports: [{port: 5432}]"));
  EXPECT_TRUE(e.allows("203.0.113.1", "b/db", "tcp/5432"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5433"));
}

TEST(NetworkPolicySemantics, EmptyIngressListDeniesAll) {
  Engine e(np("b", "p", "  podSelector: {}\n  ingress: []"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, MatchExpressions) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n    - "
              "podSelector:\n        matchExpressions:\n        - {key: tier, operator: NotIn, "
              "values: [back]}\n        - {key: app, operator: Exists}\n    - "
              "namespaceSelector:\n        matchExpressions: [{key: team, operator: In, values: "
              "['y', z]}]\n      podSelector:\n        matchExpressions: [{key: tier, operator: "
              "DoesNotExist}]"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "tcp/8080"));  // tier=front NotIn [back]
  EXPECT_TRUE(e.allows("b/db", "a/api", "tcp/8080"));   // team=y and no tier label
}

TEST(NetworkPolicySemantics, IpBlockExceptAndPodIps) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from:\n    - ipBlock: "
              "{cidr: 10.0.0.0/8, except: [10.0.2.0/24]}\n    - ipBlock: {cidr: "
              "203.0.113.7/24}"));
  EXPECT_TRUE(e.allows("a/api", "a/web", "tcp/80"));     // pod IP 10.0.1.2 inside the block
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));     // 10.0.2.1 excepted
  EXPECT_TRUE(e.allows("10.9.9.9", "a/web", "tcp/80"));  // external inside
  // Host bits set: 203.0.113.7/24 means 203.0.113.0/24.
  EXPECT_TRUE(e.allows("203.0.113.200", "a/web", "tcp/80"));
  EXPECT_FALSE(e.allows("198.51.100.1", "a/web", "tcp/80"));
}

TEST(NetworkPolicySemantics, IpBlockIpv6) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from:\n    - ipBlock: "
              "{cidr: \"fd00::/16\", except: [\"fd00:0:0:1::/64\"]}"));
  EXPECT_TRUE(e.allows("b/db", "a/web", "tcp/80"));  // db's second IP fd00::2:1
  EXPECT_TRUE(e.allows("fd00::9", "a/web", "tcp/80"));
  EXPECT_FALSE(e.allows("fd00:0:0:1::9", "a/web", "tcp/80"));
  EXPECT_FALSE(e.allows("10.0.1.2", "a/web", "tcp/80"));  // v4 never in a v6 block
}

TEST(NetworkPolicySemantics, NumericPortsProtocolsAndRanges) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n    - {port: "
              "8000, endPort: 8080}\n    - {protocol: SCTP, port: 9000}\n    - {protocol: UDP}"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "tcp/8000"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "tcp/8080"));  // endPort inclusive
  EXPECT_FALSE(e.allows("a/web", "a/api", "tcp/8081"));
  EXPECT_FALSE(e.allows("a/web", "a/api", "sctp/8080"));  // protocol defaults to TCP
  EXPECT_TRUE(e.allows("a/web", "a/api", "sctp/9000"));
  EXPECT_FALSE(e.allows("a/web", "a/api", "tcp/9000"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "udp/12345"));  // protocol-only entry
}

TEST(NetworkPolicySemantics, NamedPortsResolveOnTheDestination) {
  // Ingress: "http" is 80 on web.
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: "
              "http}]\n    from: [{podSelector: {}}]"));
  EXPECT_TRUE(e.allows("a/api", "a/web", "tcp/80"));
  EXPECT_FALSE(e.allows("a/api", "a/web", "tcp/8080"));
  // Egress: the name resolves on each destination, not on the source.
  Engine g(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress:\n  - "
              "ports: [{port: http}]"));
  EXPECT_TRUE(g.allows("a/web", "a/api", "tcp/8080"));  // api's http is 8080
  EXPECT_FALSE(g.allows("a/web", "a/api", "tcp/80"));
  EXPECT_FALSE(g.allows("a/web", "203.0.113.1", "tcp/80"));  // no name outside the cluster
  EXPECT_FALSE(g.allows("a/web", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, NamedPortNeedsTheSameProtocol) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: "
              "dns}]"));
  // web declares dns as UDP/53; the rule's protocol defaults to TCP.
  EXPECT_FALSE(e.allows("a/api", "a/web", "udp/53"));
  EXPECT_FALSE(e.allows("a/api", "a/web", "tcp/53"));
  Engine u(np("a", "p",
              "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: dns, "
              "protocol: UDP}]"));
  EXPECT_TRUE(u.allows("a/api", "a/web", "udp/53"));
}

TEST(NetworkPolicySemantics, HostNetworkPodsAreNeitherSubjectsNorSelectorPeers) {
  Engine e(np("a", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]") +
           np("b", "from-a",
              "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: "
              "{matchLabels: {team: x}}}]"));
  // a/agent runs in the host network: the namespace-wide policy does not isolate it...
  EXPECT_TRUE(e.allows("b/db", "a/agent", "tcp/9100"));
  EXPECT_FALSE(e.engine().np_isolation(*e.engine().find_endpoint("a", "agent")).ingress);
  // ...and a namespace selector does not match it as a peer.
  EXPECT_FALSE(e.allows("a/agent", "b/db", "tcp/5432"));
  // An ipBlock covering the node address does.
  Engine g(np("b", "from-node",
              "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 192.168.0.0/24}}]"));
  EXPECT_TRUE(g.allows("a/agent", "b/db", "tcp/5432"));
  EXPECT_FALSE(g.allows("a/web", "b/db", "tcp/5432"));
}

TEST(NetworkPolicySemantics, TrafficBetweenAPodAndItsOwnNodeIsAlwaysAllowed) {
  Engine e(np("a", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]") +
           np("b", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"));
  // web runs on n1, as does the host-network pod a/agent; db runs on n2.
  EXPECT_TRUE(e.allows("a/agent", "a/web", "tcp/80"));
  EXPECT_TRUE(e.allows("a/web", "a/agent", "tcp/9100"));
  EXPECT_TRUE(e.allows("192.168.0.10", "a/web", "tcp/80"));  // n1's address
  EXPECT_TRUE(e.allows("a/web", "192.168.0.10", "tcp/10250"));
  EXPECT_TRUE(e.verdict("a/agent", "a/web", "tcp/80").ingress.own_node);
  EXPECT_FALSE(e.allows("a/agent", "b/db", "tcp/5432"));  // another node
  EXPECT_FALSE(e.allows("b/db", "a/agent", "tcp/9100"));
  EXPECT_FALSE(e.allows("192.168.0.10", "b/db", "tcp/5432"));
  // Not an exemption from admin policies.
  Engine f(anp("deny", 1,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: "
               "{}}]\n  egress:\n  - action: Deny\n    to: [{networks: [192.168.0.0/16]}]"));
  EXPECT_FALSE(f.allows("a/web", "a/agent", "tcp/9100"));
  // The reach matrix and its counts see the exemption too.
  const PolicyEngine& eng = e.engine();
  auto m = eng.reach({});
  uint64_t allowed = 0;
  for (uint32_t s = 0; s < eng.endpoints().size(); ++s)
    for (uint32_t d = 0; d < eng.endpoints().size(); ++d)
      for (size_t k = 0; k < m->ports(d).size(); ++k) {
        bool a = eng.allowed(s, d, m->ports(d)[k].protocol, m->ports(d)[k].port);
        EXPECT_EQ(m->allowed(s, d, k), a);
        allowed += a;
      }
  EXPECT_EQ(m->counts({}, {}).allowed, allowed);
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy -----------------------------------------

std::string anp(const std::string& name, int priority, const std::string& body) {
  return "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
         "metadata: {name: " +
         name + "}\nspec:\n  priority: " + std::to_string(priority) + "\n" + body + "\n";
}
std::string banp(const std::string& body) {
  return "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
         "metadata: {name: default}\nspec:\n" +
         body + "\n";
}
std::string cnp(const std::string& name, const std::string& tier, int priority,
                const std::string& body) {
  return "---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
         "metadata: {name: " +
         name + "}\nspec:\n  tier: " + tier + "\n  priority: " + std::to_string(priority) + "\n" +
         body + "\n";
}

TEST(AdminPolicySemantics, DenyOverridesNetworkPolicyAllow) {
  Engine e(anp("deny-db", 10,
               "  subject: {namespaces: {matchLabels: {team: 'y'}}}\n  ingress:\n  - action: Deny\n "
               "   from: [{namespaces: {matchLabels: {team: x}}}]") +
           np("b", "allow-all", "  podSelector: {}\n  ingress:\n  - {}"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  Verdict v = e.verdict("a/web", "b/db", "tcp/5432");
  EXPECT_EQ(v.ingress.tier, DecisionTier::Admin);
  EXPECT_EQ(v.ingress.policy->name, "deny-db");
  EXPECT_EQ(v.ingress.rule_index, 0);
}

TEST(AdminPolicySemantics, AllowOverridesNetworkPolicyDeny) {
  Engine e(
      anp("allow", 10,
          "  subject: {namespaces: {matchLabels: {team: 'y'}}}\n  ingress:\n  - action: Allow\n"
          "    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}]") +
      np("b", "deny", "  podSelector: {}"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("a/api", "b/db", "tcp/5432"));  // not matched: NP denies
}

TEST(AdminPolicySemantics, LowerPriorityNumberWins) {
  std::string body_allow =
      "  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: [{namespaces: {}}]";
  std::string body_deny =
      "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]";
  Engine e1(anp("z-allow", 1, body_allow) + anp("a-deny", 2, body_deny));
  EXPECT_TRUE(e1.allows("a/web", "b/db", "tcp/5432"));
  Engine e2(anp("z-allow", 3, body_allow) + anp("a-deny", 2, body_deny));
  EXPECT_FALSE(e2.allows("a/web", "b/db", "tcp/5432"));
}

TEST(AdminPolicySemantics, FirstMatchingRuleWins) {
  Engine e(anp("p", 1,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{pods: "
               "{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}]\n  - action: "
               "Allow\n    from: [{namespaces: {}}]") +
           np("b", "deny", "  podSelector: {}"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_TRUE(e.allows("a/api", "b/db", "tcp/5432"));
  EXPECT_EQ(e.verdict("a/api", "b/db", "tcp/5432").ingress.rule_index, 1);
}

TEST(AdminPolicySemantics, PassDelegatesToNetworkPolicyThenBaseline) {
  std::string pass =
      anp("pass", 1,
          "  subject: {namespaces: {}}\n  ingress:\n  - action: Pass\n    from: [{namespaces: "
          "{}}]") +
      anp("deny", 2,
          "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: "
          "{}}]");
  // Pass skips the later Deny; no NetworkPolicy: the baseline decides.
  Engine e(pass + banp("  subject: {namespaces: {matchLabels: {team: 'y'}}}\n  ingress:\n  - "
                       "action: Deny\n    from: [{namespaces: {matchLabels: {team: x}}}]"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_EQ(e.verdict("a/web", "b/db", "tcp/5432").ingress.tier, DecisionTier::Baseline);
  EXPECT_TRUE(e.allows("b/db", "a/web", "tcp/80"));  // baseline does not apply to a: default
  // With a NetworkPolicy selecting db, the baseline is not consulted.
  Engine f(pass +
           banp("  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: "
                "[{namespaces: {}}]") +
           np("b", "allow", "  podSelector: {}\n  ingress:\n  - {}"));
  EXPECT_TRUE(f.allows("a/web", "b/db", "tcp/5432"));
}

TEST(AdminPolicySemantics, BaselineOnlyWhenNoNetworkPolicySelects) {
  std::string base = banp(
      "  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: [{namespaces: "
      "{matchLabels: {team: x}}}]\n  - action: Deny\n    from: [{namespaces: {}}]");
  Engine e(base);
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));
  Engine f(base + np("a", "allow-in", "  podSelector: {}\n  ingress:\n  - {}"));
  EXPECT_TRUE(f.allows("b/db", "a/web", "tcp/80"));  // NP selects web: baseline skipped
}

TEST(AdminPolicySemantics, NetworksMatchPodIps) {
  Engine e(anp("p", 1,
               "  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: "
               "web}}}}\n  egress:\n  - action: Deny\n    to: [{networks: [10.0.2.0/24]}]"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
  EXPECT_FALSE(e.allows("a/web", "10.0.2.99", "tcp/5432"));
  EXPECT_TRUE(e.allows("a/web", "a/api", "tcp/8080"));
  EXPECT_TRUE(e.allows("a/api", "b/db", "tcp/5432"));  // not the subject
}

TEST(AdminPolicySemantics, NodesPeer) {
  Engine e(anp("p", 1,
               "  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n    to: [{nodes: "
               "{matchLabels: {role: worker}}}]"));
  EXPECT_FALSE(e.allows("b/db", "a/agent", "tcp/9100"));        // host-network pod on n1
  EXPECT_FALSE(e.allows("b/db", "192.168.0.10", "tcp/10250"));  // the node address
  EXPECT_TRUE(e.allows("b/db", "192.168.0.11", "tcp/10250"));
  EXPECT_TRUE(e.allows("b/db", "a/web", "tcp/80"));
}

TEST(AdminPolicySemantics, Ports) {
  Engine e(anp("p", 1,
               "  subject: {namespaces: {matchLabels: {team: x}}}\n  ingress:\n  - action: Deny\n"
               "    from: [{namespaces: {}}]\n    ports:\n    - portNumber: {protocol: TCP, port: "
               "80}\n    - namedPort: sig\n    - portRange: {protocol: UDP, start: 50, end: 60}"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));
  EXPECT_TRUE(e.allows("b/db", "a/web", "udp/80"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "udp/53"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "udp/60"));  // range inclusive
  EXPECT_TRUE(e.allows("b/db", "a/web", "udp/61"));
  // namedPort: api declares sig as SCTP/9000; the protocol comes from the declaration.
  EXPECT_FALSE(e.allows("b/db", "a/api", "sctp/9000"));
  EXPECT_TRUE(e.allows("b/db", "a/api", "tcp/9000"));
}

TEST(AdminPolicySemantics, IngressAllowDoesNotOverrideSourceEgress) {
  Engine e(anp("p", 1,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: "
               "[{namespaces: {}}]") +
           np("a", "deny-out", "  podSelector: {}\n  policyTypes: [Egress]"));
  EXPECT_FALSE(e.allows("a/web", "b/db", "tcp/5432"));
}

// ---- ClusterNetworkPolicy ---------------------------------------------------------------------

TEST(ClusterNetworkPolicySemantics, TiersAndActions) {
  Engine e(cnp("admin-deny", "Admin", 5,
               "  subject: {namespaces: {matchLabels: {team: 'y'}}}\n  ingress:\n  - action: Deny\n"
               "    from: [{pods: {podSelector: {matchLabels: {app: api}}}}]\n    protocols: "
               "[{tcp: {destinationPort: {number: 5432}}}]") +
           cnp("base-accept", "Baseline", 5,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Accept\n    from: "
               "[{namespaces: {matchLabels: {team: x}}}]\n  - action: Deny\n    from: "
               "[{namespaces: {}}]"));
  EXPECT_FALSE(e.allows("a/api", "b/db", "tcp/5432"));  // admin deny
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));   // baseline accept
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));    // baseline deny
  Verdict v = e.verdict("a/web", "b/db", "tcp/5432");
  EXPECT_EQ(v.ingress.tier, DecisionTier::Baseline);
  EXPECT_EQ(v.ingress.action, "Accept");
}

TEST(ClusterNetworkPolicySemantics, PassInBaselineMeansDefaultAllow) {
  Engine e(cnp("b1", "Baseline", 1,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Pass\n    from: "
               "[{namespaces: {}}]") +
           cnp("b2", "Baseline", 2,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: "
               "[{namespaces: {}}]"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
}

TEST(ClusterNetworkPolicySemantics, ProtocolsAndNamedPorts) {
  Engine e(cnp("c", "Admin", 1,
               "  subject: {namespaces: {matchLabels: {team: x}}}\n  ingress:\n  - action: Deny\n"
               "    from: [{namespaces: {}}]\n    protocols:\n    - udp: {destinationPort: "
               "{range: {start: 50, end: 60}}}\n    - destinationNamedPort: http"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "udp/53"));
  EXPECT_FALSE(e.allows("b/db", "a/web", "tcp/80"));    // web's http
  EXPECT_FALSE(e.allows("b/db", "a/api", "tcp/8080"));  // api's http
  EXPECT_TRUE(e.allows("b/db", "a/api", "tcp/80"));
}

TEST(ClusterNetworkPolicySemantics, SideBySideWithAdminNetworkPolicy) {
  // Same priority: AdminNetworkPolicy is evaluated before ClusterNetworkPolicy.
  Engine e(anp("anp", 5,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: "
               "[{namespaces: {}}]") +
           cnp("cnp", "Admin", 5,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: "
               "[{namespaces: {}}]"));
  EXPECT_TRUE(e.allows("a/web", "b/db", "tcp/5432"));
  Engine f(anp("anp", 6,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Allow\n    from: "
               "[{namespaces: {}}]") +
           cnp("cnp", "Admin", 5,
               "  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: "
               "[{namespaces: {}}]"));
  EXPECT_FALSE(f.allows("a/web", "b/db", "tcp/5432"));
}

// ---- reach matrix ------------------------------------------------------------------------------

TEST(Reach, CountsMatchPairwiseVerdicts) {
  Engine e(np("a", "p",
              "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from: [{podSelector: "
              "{matchLabels: {app: web}}}]\n    ports: [{port: http}]") +
           np("b", "deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]"));
  const PolicyEngine& eng = e.engine();
  auto m = eng.reach({});
  uint64_t pairs = 0, allowed = 0;
  for (uint32_t s = 0; s < eng.endpoints().size(); ++s)
    for (uint32_t d = 0; d < eng.endpoints().size(); ++d)
      for (size_t k = 0; k < m->ports(d).size(); ++k) {
        ++pairs;
        bool a = eng.allowed(s, d, m->ports(d)[k].protocol, m->ports(d)[k].port);
        EXPECT_EQ(m->allowed(s, d, k), a);
        allowed += a;
      }
  ReachCounts c = m->counts({}, {});
  EXPECT_EQ(c.endpoints, eng.endpoints().size());
  EXPECT_EQ(c.pairs, pairs);
  EXPECT_EQ(c.allowed, allowed);
  EXPECT_EQ(c.denied, pairs - allowed);
  EXPECT_GT(c.denied, 0u);
}

}  // namespace
}  // namespace stockade

#include "support/reference_evaluator.h"

#include "support/reference_calico.h"
#include "support/reference_cilium.h"

#include <algorithm>
#include <tuple>

namespace stockade::testing {

namespace {

enum class Direction { Ingress, Egress };

const char* direction_name(Direction d) {
  return d == Direction::Ingress ? "ingress" : "egress";
}

// Callers test `trace` first so that the line is only built when a trace is kept.
void note(std::string* trace, const std::string& line) {
  *trace += line + "\n";
}

// Whether `sel` matches the labels of namespace `ns` as ClusterState::namespace_labels defines
// them (the Namespace object's labels, else only kubernetes.io/metadata.name), without copying
// the label map on every call.
bool namespace_matches(const ClusterState& s, const LabelSelector& sel, const std::string& ns) {
  for (const Namespace& n : s.namespaces)
    if (n.name == ns) return sel.matches(n.labels);
  return sel.matches(Labels{{"kubernetes.io/metadata.name", ns}});
}

const Endpoint* endpoint_of(const std::vector<Endpoint>& eps, const RefPeer& p) {
  if (!p.endpoint) return nullptr;
  return &eps.at(*p.endpoint);
}

// Whether the peer's address is in `block`: for an endpoint, any of its IPs; for an external
// peer, its IP.
bool peer_in_ip_block(const std::vector<Endpoint>& eps, const RefPeer& p, const IpBlock& block) {
  const Endpoint* e = endpoint_of(eps, p);
  if (e == nullptr) return block.contains(p.ip);
  for (const IpAddr& ip : e->ips)
    if (block.contains(ip)) return true;
  return false;
}

bool peer_in_cidr(const std::vector<Endpoint>& eps, const RefPeer& p, const Cidr& cidr) {
  const Endpoint* e = endpoint_of(eps, p);
  if (e == nullptr) return cidr.contains(p.ip);
  for (const IpAddr& ip : e->ips)
    if (cidr.contains(ip)) return true;
  return false;
}

// Whether the destination declares a container port named `name` with this protocol and number.
// An external destination declares nothing.
bool destination_declares(const Endpoint* dst, const std::string& name, Protocol proto,
                          uint16_t port) {
  if (dst == nullptr) return false;
  for (const ContainerPort& cp : dst->pod.ports)
    if (!cp.name.empty() && cp.name == name && cp.protocol == proto && cp.port == port) return true;
  return false;
}

// ---- NetworkPolicy ------------------------------------------------------------------------

bool np_selects(const NetworkPolicy& np, const Endpoint& e, Direction d) {
  if (e.pod.host_network) return false;
  if (np.ns != e.ns) return false;
  if (!np.pod_selector.matches(e.pod.labels)) return false;
  return d == Direction::Ingress ? np.affects_ingress : np.affects_egress;
}

bool np_peer_matches(const ClusterState& s, const std::vector<Endpoint>& eps,
                     const NetworkPolicy& np, const NetworkPolicyPeer& peer, const RefPeer& other) {
  if (peer.ip_block) return peer_in_ip_block(eps, other, *peer.ip_block);
  const Endpoint* e = endpoint_of(eps, other);
  if (e == nullptr) return false;  // selectors never match external IPs
  if (e->pod.host_network) return false;
  if (peer.pod_selector && !peer.namespace_selector)
    return e->ns == np.ns && peer.pod_selector->matches(e->pod.labels);
  if (!peer.pod_selector && peer.namespace_selector)
    return namespace_matches(s, *peer.namespace_selector, e->ns);
  if (peer.pod_selector && peer.namespace_selector)
    return namespace_matches(s, *peer.namespace_selector, e->ns) &&
           peer.pod_selector->matches(e->pod.labels);
  return false;  // a peer with no field set is rejected by the loader
}

bool np_port_matches(const NetworkPolicyPort& p, const Endpoint* dst, Protocol proto,
                     uint16_t port) {
  if (p.effective_protocol() != proto) return false;
  switch (p.kind) {
    case NetworkPolicyPort::Kind::Any:
      return true;
    case NetworkPolicyPort::Kind::Number:
      if (p.end_port != 0) return p.port <= port && port <= p.end_port;
      return port == p.port;
    case NetworkPolicyPort::Kind::Name:
      return destination_declares(dst, p.name, proto, port);
  }
  return false;
}

bool np_rule_matches(const ClusterState& s, const std::vector<Endpoint>& eps,
                     const NetworkPolicy& np, const NetworkPolicyRule& rule, const RefPeer& other,
                     const Endpoint* dst, Protocol proto, uint16_t port) {
  bool peer_ok = rule.peers.empty();
  for (const NetworkPolicyPeer& peer : rule.peers)
    if (np_peer_matches(s, eps, np, peer, other)) peer_ok = true;
  bool port_ok = rule.ports.empty();
  for (const NetworkPolicyPort& p : rule.ports)
    if (np_port_matches(p, dst, proto, port)) port_ok = true;
  return peer_ok && port_ok;
}

// ---- AdminNetworkPolicy / BaselineAdminNetworkPolicy / ClusterNetworkPolicy ---------------

bool subject_selects(const ClusterState& s, const ClusterPolicy& cp, const Endpoint& e) {
  if (e.pod.host_network) return false;
  if (!namespace_matches(s, cp.subject.namespace_selector, e.ns)) return false;
  if (cp.subject.pod_selector && !cp.subject.pod_selector->matches(e.pod.labels)) return false;
  return true;
}

bool cluster_peer_matches(const ClusterState& s, const std::vector<Endpoint>& eps,
                          const ClusterPeer& peer, const RefPeer& other) {
  const Endpoint* e = endpoint_of(eps, other);
  switch (peer.kind) {
    case ClusterPeer::Kind::Namespaces:
      if (e == nullptr || e->pod.host_network) return false;
      return namespace_matches(s, peer.pods.namespace_selector, e->ns);
    case ClusterPeer::Kind::Pods:
      if (e == nullptr || e->pod.host_network) return false;
      if (!namespace_matches(s, peer.pods.namespace_selector, e->ns)) return false;
      return !peer.pods.pod_selector || peer.pods.pod_selector->matches(e->pod.labels);
    case ClusterPeer::Kind::Networks:
      for (const Cidr& c : peer.networks)
        if (peer_in_cidr(eps, other, c)) return true;
      return false;
    case ClusterPeer::Kind::Nodes:
      if (e != nullptr) {
        if (!e->pod.host_network) return false;
        for (const Node& n : s.nodes)
          if (n.name == e->node && peer.node_selector.matches(n.labels)) return true;
        return false;
      }
      for (const Node& n : s.nodes) {
        if (!peer.node_selector.matches(n.labels)) continue;
        for (const IpAddr& a : n.addresses)
          if (a == other.ip) return true;
      }
      return false;
    case ClusterPeer::Kind::DomainNames:
      // The reference knows no DNS answers (the random clusters have none): a name matches
      // nothing, as in the engine before it learns any.
      return false;
  }
  return false;
}

bool cluster_port_matches(const ClusterPolicyPort& p, const Endpoint* dst, Protocol proto,
                          uint16_t port) {
  switch (p.kind) {
    case ClusterPolicyPort::Kind::Number:
      return p.protocol == proto && port == p.start;
    case ClusterPolicyPort::Kind::Range:
      return p.protocol == proto && p.start <= port && port <= p.end;
    case ClusterPolicyPort::Kind::Named:
      return destination_declares(dst, p.name, proto, port);
  }
  return false;
}

bool cluster_rule_matches(const ClusterState& s, const std::vector<Endpoint>& eps,
                          const ClusterPolicyRule& rule, const RefPeer& other, const Endpoint* dst,
                          Protocol proto, uint16_t port) {
  bool peer_ok = false;
  for (const ClusterPeer& peer : rule.peers)
    if (cluster_peer_matches(s, eps, peer, other)) peer_ok = true;
  bool port_ok = !rule.ports.has_value();
  if (rule.ports)
    for (const ClusterPolicyPort& p : *rule.ports)
      if (cluster_port_matches(p, dst, proto, port)) port_ok = true;
  return peer_ok && port_ok;
}

// Admin tier: AdminNetworkPolicies and ClusterNetworkPolicies tier Admin, by priority, then
// AdminNetworkPolicy before ClusterNetworkPolicy, then name. (Names are unique per kind, so the
// order is total.)
std::vector<const ClusterPolicy*> admin_tier(const ClusterState& s) {
  std::vector<const ClusterPolicy*> out;
  out.reserve(s.cluster_policies.size());
  for (const ClusterPolicy& cp : s.cluster_policies) {
    if (cp.kind == ClusterPolicyKind::AdminNetworkPolicy) out.push_back(&cp);
    if (cp.kind == ClusterPolicyKind::ClusterNetworkPolicy && cp.tier == PolicyTier::Admin)
      out.push_back(&cp);
  }
  auto kind_rank = [](const ClusterPolicy* p) {
    return p->kind == ClusterPolicyKind::AdminNetworkPolicy ? 0 : 1;
  };
  std::sort(out.begin(), out.end(), [&](const ClusterPolicy* a, const ClusterPolicy* b) {
    int ka = kind_rank(a), kb = kind_rank(b);
    return std::tie(a->priority, ka, a->name) < std::tie(b->priority, kb, b->name);
  });
  return out;
}

// Baseline tier: ClusterNetworkPolicies tier Baseline by (priority, name), then the
// BaselineAdminNetworkPolicy (by name; there is at most one, "default").
std::vector<const ClusterPolicy*> baseline_tier(const ClusterState& s) {
  std::vector<const ClusterPolicy*> cnps;
  std::vector<const ClusterPolicy*> banps;
  for (const ClusterPolicy& cp : s.cluster_policies) {
    if (cp.kind == ClusterPolicyKind::ClusterNetworkPolicy && cp.tier == PolicyTier::Baseline)
      cnps.push_back(&cp);
    if (cp.kind == ClusterPolicyKind::BaselineAdminNetworkPolicy) banps.push_back(&cp);
  }
  std::sort(cnps.begin(), cnps.end(), [](const ClusterPolicy* a, const ClusterPolicy* b) {
    return std::tie(a->priority, a->name) < std::tie(b->priority, b->name);
  });
  std::sort(banps.begin(), banps.end(),
            [](const ClusterPolicy* a, const ClusterPolicy* b) { return a->name < b->name; });
  cnps.insert(cnps.end(), banps.begin(), banps.end());
  return cnps;
}

// The action of the first matching rule of the first policy (in tier order) that selects
// `self` and has a matching rule in direction `d`; nullopt when no rule matches.
std::optional<RuleAction> first_matching_action(const ClusterState& s,
                                                const std::vector<Endpoint>& eps,
                                                const std::vector<const ClusterPolicy*>& tier,
                                                const Endpoint& self, Direction d,
                                                const RefPeer& other, const Endpoint* dst,
                                                Protocol proto, uint16_t port, std::string* trace) {
  for (const ClusterPolicy* cp : tier) {
    if (!subject_selects(s, *cp, self)) continue;
    const std::vector<ClusterPolicyRule>& rules =
        d == Direction::Ingress ? cp->ingress : cp->egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (cluster_rule_matches(s, eps, rules[i], other, dst, proto, port)) {
        if (trace)
          note(trace, std::string("  ") + std::string(to_string(cp->kind)) + " " + cp->name + " " +
                          direction_name(d) + "[" + std::to_string(i) + "] " +
                          std::string(to_string(rules[i].action)));
        return rules[i].action;
      }
    }
  }
  return std::nullopt;
}

// "Traffic to and from the node where a Pod is running is always allowed" (NetworkPolicy
// concepts page; the API text says so for ingress from the pod's node): `other` is `self`'s
// node when it is a host-network pod on that node, or one of that node's addresses.
bool is_own_node(const ClusterState& s, const std::vector<Endpoint>& eps, const Endpoint& self,
                 const RefPeer& other) {
  if (self.node.empty()) return false;
  if (const Endpoint* e = endpoint_of(eps, other))
    return e->pod.host_network && e->node == self.node;
  for (const Node& n : s.nodes)
    if (n.name == self.node)
      for (const IpAddr& a : n.addresses)
        if (a == other.ip) return true;
  for (const Endpoint& e : eps)
    if (e.pod.host_network && e.node == self.node)
      for (const IpAddr& a : e.ips)
        if (a == other.ip) return true;
  return false;
}

// One side: the egress of `self` towards `other` (d == Egress), or the ingress of `self` from
// `other` (d == Ingress). `dst` is the connection's destination endpoint (nullptr if external).
bool side_allowed(const ClusterState& s, const std::vector<Endpoint>& eps, size_t self_index,
                  Direction d, const RefPeer& other, const Endpoint* dst, Protocol proto,
                  uint16_t port, std::string* trace) {
  const Endpoint& self = eps.at(self_index);
  if (trace) note(trace, std::string(direction_name(d)) + " of " + self.id() + ":");

  // Calico's tiers, with the admin, Kubernetes and baseline kinds inside them.
  if (reference_calico_mode(s))
    return reference_calico_side(s, eps, self, d == Direction::Ingress, other, dst, proto, port,
                                 trace);

  // 1. Admin tier.
  std::optional<RuleAction> admin =
      first_matching_action(s, eps, admin_tier(s), self, d, other, dst, proto, port, trace);
  if (admin == RuleAction::Allow) return true;
  if (admin == RuleAction::Deny) return false;

  // 2. NetworkPolicy tier, with the Cilium policies: their deny rules first (they win over
  // every allow), then isolation and allows of both kinds together.
  CiliumSide cilium =
      reference_cilium_side(s, eps, self, d == Direction::Ingress, other, dst, proto, port, trace);
  if (cilium.denied) return false;
  bool isolated = cilium.isolated;
  bool allowed = cilium.allowed;
  for (const NetworkPolicy& np : s.network_policies) {
    if (!np_selects(np, self, d)) continue;
    isolated = true;
    const std::vector<NetworkPolicyRule>& rules = d == Direction::Ingress ? np.ingress : np.egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      if (np_rule_matches(s, eps, np, rules[i], other, dst, proto, port)) {
        if (trace)
          note(trace, "  NetworkPolicy " + np.ns + "/" + np.name + " " + direction_name(d) + "[" +
                          std::to_string(i) + "] matches");
        allowed = true;
      }
    }
  }
  if (isolated) {
    // Cilium: from the own node always (allow-localhost); to it only when a rule allows.
    if (!allowed && (d == Direction::Ingress || !cilium.isolated) &&
        is_own_node(s, eps, self, other)) {
      if (trace) note(trace, "  isolated, but the peer is the pod's own node: allowed");
      return true;
    }
    if (trace) note(trace, std::string("  isolated: ") + (allowed ? "allowed" : "denied"));
    return allowed;
  }

  // 3. Baseline tier.
  std::optional<RuleAction> baseline =
      first_matching_action(s, eps, baseline_tier(s), self, d, other, dst, proto, port, trace);
  if (baseline == RuleAction::Deny) return false;
  if (trace && baseline != RuleAction::Allow) note(trace, "  default: allowed");
  return true;
}

}  // namespace

bool reference_egress_allowed(const ClusterState& s, const std::vector<Endpoint>& eps,
                              const RefPeer& src, const RefPeer& dst, Protocol proto, uint16_t port,
                              std::string* trace) {
  if (!src.endpoint) return true;
  return side_allowed(s, eps, *src.endpoint, Direction::Egress, dst, endpoint_of(eps, dst), proto,
                      port, trace);
}

bool reference_ingress_allowed(const ClusterState& s, const std::vector<Endpoint>& eps,
                               const RefPeer& src, const RefPeer& dst, Protocol proto,
                               uint16_t port, std::string* trace) {
  if (!dst.endpoint) return true;
  return side_allowed(s, eps, *dst.endpoint, Direction::Ingress, src, endpoint_of(eps, dst), proto,
                      port, trace);
}

bool reference_allowed(const ClusterState& s, const std::vector<Endpoint>& eps, const RefPeer& src,
                       const RefPeer& dst, Protocol proto, uint16_t port, std::string* trace) {
  if (src.endpoint && dst.endpoint && *src.endpoint == *dst.endpoint) {
    if (trace) note(trace, "self traffic: allowed");
    return true;
  }
  bool egress = reference_egress_allowed(s, eps, src, dst, proto, port, trace);
  bool ingress = reference_ingress_allowed(s, eps, src, dst, proto, port, trace);
  return egress && ingress;
}

bool reference_np_selects(const NetworkPolicy& np, const Endpoint& self, bool ingress) {
  return np_selects(np, self, ingress ? Direction::Ingress : Direction::Egress);
}

bool reference_np_allows(const ClusterState& s, const std::vector<Endpoint>& eps,
                         const NetworkPolicy& np, bool ingress, const RefPeer& other,
                         const Endpoint* dst, Protocol proto, uint16_t port) {
  for (const NetworkPolicyRule& r : ingress ? np.ingress : np.egress)
    if (np_rule_matches(s, eps, np, r, other, dst, proto, port)) return true;
  return false;
}

std::optional<RuleAction> reference_cluster_tier_action(
    const ClusterState& s, const std::vector<Endpoint>& eps, bool admin, const Endpoint& self,
    bool ingress, const RefPeer& other, const Endpoint* dst, Protocol proto, uint16_t port) {
  return first_matching_action(s, eps, admin ? admin_tier(s) : baseline_tier(s), self,
                               ingress ? Direction::Ingress : Direction::Egress, other, dst, proto,
                               port, nullptr);
}

bool reference_np_isolated_ingress(const ClusterState& s, const std::vector<Endpoint>& eps,
                                   size_t index) {
  if (reference_calico_mode(s)) return reference_calico_isolated(s, eps.at(index), true);
  for (const NetworkPolicy& np : s.network_policies)
    if (np_selects(np, eps.at(index), Direction::Ingress)) return true;
  return reference_cilium_isolated(s, eps.at(index), true);
}

bool reference_np_isolated_egress(const ClusterState& s, const std::vector<Endpoint>& eps,
                                  size_t index) {
  if (reference_calico_mode(s)) return reference_calico_isolated(s, eps.at(index), false);
  for (const NetworkPolicy& np : s.network_policies)
    if (np_selects(np, eps.at(index), Direction::Egress)) return true;
  return reference_cilium_isolated(s, eps.at(index), false);
}

}  // namespace stockade::testing

#include "support/reference_cilium.h"

#include <algorithm>

namespace stockade::testing {

namespace {

// The labels Cilium gives a pod: its own, io.kubernetes.pod.namespace, its namespace's labels
// under io.cilium.k8s.namespace.labels., its service account and cluster.
Labels cilium_labels(const ClusterState& s, const Endpoint& e) {
  Labels l = e.pod.labels;
  l["io.kubernetes.pod.namespace"] = e.ns;
  for (const auto& [k, v] : s.namespace_labels(e.ns)) l["io.cilium.k8s.namespace.labels." + k] = v;
  l["io.cilium.k8s.policy.cluster"] = "default";
  std::string sa;
  for (const Pod& p : s.pods)
    if (e.kind == "Pod" && p.ns == e.ns && p.name == e.name) sa = p.security.service_account;
  for (const Workload& w : s.workloads)
    if (e.kind == to_string(w.kind) && w.ns == e.ns && w.name == e.name)
      sa = w.security.service_account;
  l["io.cilium.k8s.policy.serviceaccount"] = sa.empty() ? "default" : sa;
  return l;
}

std::string strip_source(const std::string& key) {
  if (key.starts_with("k8s:")) return key.substr(4);
  if (key.starts_with("any:")) return key.substr(4);
  return key;
}

const Endpoint* endpoint_of(const std::vector<Endpoint>& eps, const RefPeer& p) {
  return p.endpoint ? &eps.at(*p.endpoint) : nullptr;
}

// The node an address belongs to (a Node's address, or a host-network pod's), or "".
std::string node_of_ip(const ClusterState& s, const std::vector<Endpoint>& eps, const IpAddr& ip) {
  for (const Node& n : s.nodes)
    for (const IpAddr& a : n.addresses)
      if (a == ip) return n.name;
  for (const Endpoint& e : eps)
    if (e.pod.host_network)
      for (const IpAddr& a : e.ips)
        if (a == ip) return e.node;
  return "";
}

bool is_apiserver(const ClusterState& s, const IpAddr& ip) {
  for (const EndpointSlice& es : s.endpoint_slices)
    if (es.ns == "default" && es.service == "kubernetes")
      for (const IpAddr& a : es.addresses)
        if (a == ip) return true;
  return false;
}

// Entity `name` seen from `self`: does `other` belong to it?
bool entity_matches(const ClusterState& s, const std::vector<Endpoint>& eps, const Endpoint& self,
                    const std::string& name, const RefPeer& other) {
  const Endpoint* e = endpoint_of(eps, other);
  if (name == "all") return true;
  // Where the peer is: a pod, a node (host-network pod or node address), or the world.
  std::string node;
  if (e && e->pod.host_network) node = e->node.empty() ? "?" : e->node;
  if (!e) node = node_of_ip(s, eps, other.ip);
  bool pod = e && !e->pod.host_network;
  if (name == "cluster") return pod || !node.empty();
  if (name == "host") return !node.empty() && node == self.node;
  if (name == "remote-node") return !node.empty() && node != self.node;
  if (name == "kube-apiserver") {
    if (e) {
      if (!e->pod.host_network) return false;
      for (const IpAddr& a : e->ips)
        if (is_apiserver(s, a)) return true;
      return false;
    }
    return is_apiserver(s, other.ip);
  }
  bool world = !e && node.empty();
  if (name == "world") return world;
  if (name == "world-ipv4") return world && !other.ip.v6;
  if (name == "world-ipv6") return world && other.ip.v6;
  return false;  // health, init, unmanaged, ingress: not in the input
}

// An endpoint selector of a rule, as Cilium scopes it for `p`.
bool selector_matches(const ClusterState& s, const CiliumPolicy& p, const LabelSelector& written,
                      const Endpoint& self, const RefPeer& other,
                      const std::vector<Endpoint>& eps) {
  // reserved:NAME is the entity NAME, whose identity's only label is reserved:NAME.
  for (const SelectorRequirement& r : written.requirements)
    if (r.key.starts_with("reserved:")) {
      const std::string name = r.key.substr(9);
      if (!entity_matches(s, eps, self, name, other)) continue;
      LabelSelector sel = written;
      for (SelectorRequirement& q : sel.requirements) q.key = strip_source(q.key);
      if (sel.matches(Labels{{r.key, ""}})) return true;
    }
  for (const SelectorRequirement& r : written.requirements)
    if (r.key.starts_with("reserved:")) return false;  // never a pod
  const Endpoint* e = endpoint_of(eps, other);
  if (!e || e->pod.host_network) return false;  // selectors select pods only
  LabelSelector sel;
  bool names_ns = false;
  for (SelectorRequirement r : written.requirements) {
    std::string key = strip_source(r.key);
    if (key.find(':') != std::string::npos) {
      if (r.op == SelectorOp::In || r.op == SelectorOp::Exists) return false;  // cidr:, fqdn:
      continue;
    }
    r.key = key;
    if (key == "io.kubernetes.pod.namespace" || key.starts_with("io.cilium.k8s.namespace.labels."))
      names_ns = true;
    sel.requirements.push_back(r);
  }
  if (!p.clusterwide && !names_ns && e->ns != p.ns) return false;
  return sel.matches(cilium_labels(s, *e));
}

bool port_matches(const CiliumPort& cp, const Endpoint* dst, Protocol proto, uint16_t port) {
  if (cp.kind == CiliumPort::Kind::NotL4) return false;
  if (cp.protocol && *cp.protocol != proto) return false;
  switch (cp.kind) {
    case CiliumPort::Kind::All:
      return true;
    case CiliumPort::Kind::Range:
      return cp.port <= port && port <= cp.end_port;
    case CiliumPort::Kind::Named:
      if (!dst) return false;
      for (const ContainerPort& c : dst->pod.ports)
        if (c.name == cp.name && c.port == port && c.protocol == proto) return true;
      return false;
    case CiliumPort::Kind::NotL4:
      return false;
  }
  return false;
}

bool rule_matches(const ClusterState& s, const std::vector<Endpoint>& eps, const CiliumPolicy& p,
                  const CiliumRule& r, const Endpoint& self, const RefPeer& other,
                  const Endpoint* dst, Protocol proto, uint16_t port) {
  if (r.icmp_only) return false;
  // L4: toPorts entries are alternatives; none (or an empty list) is every port.
  bool has_ports = r.to_ports && !r.to_ports->empty();
  bool port_ok = !has_ports;
  if (has_ports)
    for (const CiliumPortRule& pr : *r.to_ports) {
      if (pr.ports.empty()) port_ok = true;
      for (const CiliumPort& cp : pr.ports) port_ok = port_ok || port_matches(cp, dst, proto, port);
    }
  if (!port_ok) return false;
  // L3.
  bool has_l3 = r.endpoints || r.nodes || r.entities || r.cidrs || r.services || !r.fqdns.empty() ||
                !r.unevaluated.empty();
  if (!has_l3) return has_ports;  // ports alone: every peer; `{}`: none
  const Endpoint* e = endpoint_of(eps, other);
  if (r.endpoints)
    for (const LabelSelector& sel : *r.endpoints)
      if (selector_matches(s, p, sel, self, other, eps)) return true;
  if (r.entities)
    for (const std::string& name : *r.entities)
      if (entity_matches(s, eps, self, name, other)) return true;
  if (r.nodes)
    for (const LabelSelector& sel : *r.nodes) {
      std::string node = e ? (e->pod.host_network ? e->node : "") : node_of_ip(s, eps, other.ip);
      for (const Node& n : s.nodes)
        if (!node.empty() && n.name == node && sel.matches(n.labels)) return true;
    }
  // CIDRs (and Services' endpoints) match only what is outside the cluster.
  bool world = !e && node_of_ip(s, eps, other.ip).empty();
  if (world && r.cidrs)
    for (const CiliumCidr& c : *r.cidrs) {
      if (c.cidr.prefix > c.cidr.network.bits()) continue;  // a CIDR group
      bool in = c.cidr.contains(other.ip);
      for (const Cidr& x : c.except) in = in && !x.contains(other.ip);
      if (in) return true;
    }
  if (world && r.services)
    for (const CiliumRule::ServiceRef& ref : *r.services) {
      if (ref.selector) continue;
      std::string ns = ref.ns.empty() ? (p.ns.empty() ? "default" : p.ns) : ref.ns;
      bool selectorless = false;
      for (const Service& svc : s.services)
        if (svc.ns == ns && svc.name == ref.name && (!svc.selector || svc.selector->empty()))
          selectorless = true;
      if (!selectorless) continue;
      for (const EndpointSlice& es : s.endpoint_slices)
        if (es.ns == ns && es.service == ref.name)
          for (const IpAddr& a : es.addresses)
            if (a == other.ip) return true;
    }
  return false;
}

bool spec_selects(const ClusterState& s, const CiliumPolicy& p, const CiliumSpec& spec,
                  const Endpoint& self) {
  if (!spec.endpoint_selector || self.pod.host_network) return false;
  if (!p.clusterwide && self.ns != p.ns) return false;
  LabelSelector sel;
  for (SelectorRequirement r : spec.endpoint_selector->requirements) {
    // Cilium's own k8s:io.kubernetes.pod.namespace=NS replaces the user's match of that key.
    if (!p.clusterwide && r.key == "k8s:io.kubernetes.pod.namespace" && r.op == SelectorOp::In &&
        r.values.size() == 1)
      continue;
    r.key = strip_source(r.key);
    if (r.key.find(':') != std::string::npos) {
      if (r.op == SelectorOp::In || r.op == SelectorOp::Exists) return false;
      continue;
    }
    sel.requirements.push_back(r);
  }
  return sel.matches(cilium_labels(s, self));
}

bool spec_isolates(const CiliumSpec& spec, bool ingress) {
  const auto& allow = ingress ? spec.ingress : spec.egress;
  const auto& deny = ingress ? spec.ingress_deny : spec.egress_deny;
  bool has_rules = (allow && !allow->empty()) || (deny && !deny->empty());
  return (ingress ? spec.default_deny_ingress : spec.default_deny_egress).value_or(has_rules);
}

}  // namespace

bool reference_cilium_isolated(const ClusterState& s, const Endpoint& self, bool ingress) {
  for (const CiliumPolicy& p : s.cilium_policies)
    for (const CiliumSpec& spec : p.specs)
      if (spec_selects(s, p, spec, self) && spec_isolates(spec, ingress)) return true;
  return false;
}

CiliumSide reference_cilium_side(const ClusterState& s, const std::vector<Endpoint>& eps,
                                 const Endpoint& self, bool ingress, const RefPeer& other,
                                 const Endpoint* dst, Protocol proto, uint16_t port,
                                 std::string* trace) {
  CiliumSide out;
  for (const CiliumPolicy& p : s.cilium_policies)
    for (const CiliumSpec& spec : p.specs) {
      if (!spec_selects(s, p, spec, self)) continue;
      const auto& allow = ingress ? spec.ingress : spec.egress;
      const auto& deny = ingress ? spec.ingress_deny : spec.egress_deny;
      if (spec_isolates(spec, ingress)) out.isolated = true;
      if (allow)
        for (const CiliumRule& r : *allow)
          if (rule_matches(s, eps, p, r, self, other, dst, proto, port)) {
            if (trace) *trace += "  Cilium allow " + p.name + "\n";
            out.allowed = true;
          }
      if (deny)
        for (const CiliumRule& r : *deny)
          if (rule_matches(s, eps, p, r, self, other, dst, proto, port)) {
            if (trace) *trace += "  Cilium deny " + p.name + "\n";
            out.denied = true;
          }
    }
  return out;
}

}  // namespace stockade::testing

#include "support/reference_calico.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

namespace stockade::testing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// What one side of a rule is: an endpoint, or an address outside the pods.
struct Thing {
  const Endpoint* ep = nullptr;
  IpAddr ip;
  std::vector<IpAddr> addrs() const { return ep ? ep->ips : std::vector<IpAddr>{ip}; }
};

std::string service_account(const ClusterState& s, const Endpoint& e) {
  for (const Pod& p : s.pods)
    if (e.kind == "Pod" && p.ns == e.ns && p.name == e.name)
      return p.security.service_account.empty() ? "default" : p.security.service_account;
  for (const Workload& w : s.workloads)
    if (e.kind == to_string(w.kind) && w.ns == e.ns && w.name == e.name)
      return w.security.service_account.empty() ? "default" : w.security.service_account;
  return "default";
}

Labels sa_labels(const ClusterState& s, const Endpoint& e) {
  std::string sa = service_account(s, e);
  Labels l;
  for (const ServiceAccount& a : s.service_accounts)
    if (a.ns == e.ns && a.name == sa) l = a.labels;
  l["projectcalico.org/name"] = sa;
  return l;
}

Labels ns_labels(const ClusterState& s, const std::string& ns) {
  Labels l = s.namespace_labels(ns);
  l["projectcalico.org/name"] = ns;
  return l;
}

// An endpoint's labels as Calico's selectors see them: its profile's (pcns.*, pcsa.*), the
// service account, its own labels over those, then namespace and orchestrator.
Labels endpoint_labels(const ClusterState& s, const Endpoint& e) {
  Labels l;
  for (const auto& [k, v] : s.namespace_labels(e.ns)) l["pcns." + k] = v;
  std::string sa = service_account(s, e);
  l["projectcalico.org/serviceaccount"] = sa;
  for (const ServiceAccount& a : s.service_accounts)
    if (a.ns == e.ns && a.name == sa)
      for (const auto& [k, v] : a.labels) l["pcsa." + k] = v;
  for (const auto& [k, v] : e.pod.labels) l[k] = v;
  l["projectcalico.org/namespace"] = e.ns;
  l["projectcalico.org/orchestrator"] = "k8s";
  return l;
}

bool in_any(const std::vector<Cidr>& nets, const std::vector<IpAddr>& addrs) {
  for (const IpAddr& a : addrs)
    for (const Cidr& c : nets)
      if (c.contains(a)) return true;
  return false;
}

// Whether `sel` (null: every one) with the entity's namespaceSelector and service accounts
// selects `t`: a workload endpoint in scope, or an address in a network set in scope.
bool selects(const ClusterState& s, const CalicoPolicy& p, const CalicoSelector* sel,
             const CalicoSelector* ns_sel, const CalicoEntity::ServiceAccounts* sa,
             const Thing& t) {
  if (t.ep && !t.ep->pod.host_network) {
    bool ns_ok = ns_sel ? ns_sel->matches_namespace(ns_labels(s, t.ep->ns), true)
                        : p.global() || t.ep->ns == p.ns;
    bool sa_ok = true;
    if (sa) {
      std::string name = service_account(s, *t.ep);
      if (!sa->names.empty() &&
          std::find(sa->names.begin(), sa->names.end(), name) == sa->names.end())
        sa_ok = false;
      if (sa->selector && !sa->selector->matches(sa_labels(s, *t.ep))) sa_ok = false;
    }
    if (ns_ok && sa_ok && (!sel || sel->matches(endpoint_labels(s, *t.ep)))) return true;
  }
  // A network set has no service account: no name matches it; a selector sees no label.
  if (sa && (!sa->names.empty() || (sa->selector && !sa->selector->matches({})))) return false;
  for (const CalicoNetworkSet& set : s.calico_network_sets) {
    bool ns_ok = ns_sel ? (set.global ? ns_sel->matches_namespace(Labels{}, false)
                                      : ns_sel->matches_namespace(ns_labels(s, set.ns), true))
                        : p.global() || (!set.global && set.ns == p.ns);
    Labels l = set.labels;
    if (!set.global) l["projectcalico.org/namespace"] = set.ns;
    if (ns_ok && (!sel || sel->matches(l, set.global)) && in_any(set.nets, t.addrs())) return true;
  }
  return false;
}

bool entity_matches(const ClusterState& s, const CalicoPolicy& p, const CalicoEntity& e,
                    const Thing& t) {
  const CalicoSelector* ns_sel = e.namespace_selector ? &*e.namespace_selector : nullptr;
  // In a namespaced policy any selector field, notSelector too, limits the entity to the
  // policy's namespace (or the namespaceSelector's).
  if ((e.selector || e.namespace_selector || e.service_accounts ||
       (!p.global() && e.not_selector)) &&
      !selects(s, p, e.selector ? &*e.selector : nullptr, ns_sel,
               e.service_accounts ? &*e.service_accounts : nullptr, t))
    return false;
  if (!e.nets.empty() && !in_any(e.nets, t.addrs())) return false;
  if (in_any(e.not_nets, t.addrs())) return false;
  if (e.not_selector && selects(s, p, &*e.not_selector, ns_sel, nullptr, t)) return false;
  return true;
}

uint8_t number(Protocol p) {
  return p == Protocol::TCP ? 6 : p == Protocol::UDP ? 17 : 132;
}

bool port_listed(const std::vector<CalicoPort>& ports, const Endpoint* dst, Protocol proto,
                 uint16_t port) {
  for (const CalicoPort& p : ports) {
    if (p.name.empty() && port >= p.lo && port <= p.hi) return true;
    if (!p.name.empty() && dst)
      for (const ContainerPort& cp : dst->pod.ports)
        if (cp.name == p.name && cp.port == port && cp.protocol == proto) return true;
  }
  return false;
}

bool rule_matches(const ClusterState& s, const CalicoPolicy& p, const CalicoRule& r,
                  const Thing& src, const Thing& dst, Protocol proto, uint16_t port) {
  if (r.source.service || r.destination.service || !r.source.ports.empty()) return false;
  if (r.protocol && r.protocol->number != number(proto)) return false;
  if (r.not_protocol && r.not_protocol->number == number(proto)) return false;
  if (!r.destination.ports.empty() && !port_listed(r.destination.ports, dst.ep, proto, port))
    return false;
  if (port_listed(r.destination.not_ports, dst.ep, proto, port)) return false;
  if (!r.ip_version.empty())
    for (const Thing* t : {&src, &dst})
      if (!t->ep && t->ip.v6 != (r.ip_version == "6")) return false;
  return entity_matches(s, p, r.source, src) && entity_matches(s, p, r.destination, dst);
}

bool applies(const ClusterState& s, const CalicoPolicy& p, const Endpoint& self, bool ingress) {
  if (p.staged() || p.host_only || self.pod.host_network) return false;
  if (!(ingress ? p.types_ingress : p.types_egress)) return false;
  if (p.global()) {
    if (p.namespace_selector &&
        !p.namespace_selector->matches_namespace(ns_labels(s, self.ns), true))
      return false;
  } else if (self.ns != p.ns) {
    return false;
  }
  if (!p.selector.matches(endpoint_labels(s, self))) return false;
  return !p.service_account_selector || p.service_account_selector->matches(sa_labels(s, self));
}

struct Tier {
  std::string name;
  double order;
  bool pass;
};

std::vector<Tier> tiers(const ClusterState& s) {
  std::vector<Tier> out;
  auto add = [&](const std::string& name, double order, bool pass) {
    for (const Tier& t : out)
      if (t.name == name) return;
    out.push_back({name, order, pass});
  };
  for (const CalicoTier& t : s.calico_tiers)
    add(t.name, t.order.value_or(kInf), t.default_action == CalicoAction::Pass);
  add("default", 1000000, false);
  add("kube-admin", 1000, true);
  add("kube-baseline", 10000000, true);
  for (const CalicoPolicy& p : s.calico_policies) add(p.tier, kInf, false);
  std::sort(out.begin(), out.end(), [](const Tier& a, const Tier& b) {
    return std::tie(a.order, a.name) < std::tie(b.order, b.name);
  });
  return out;
}

// The kube-admin / kube-baseline tiers: the first matching rule of the tier's policies.
std::optional<RuleAction> cluster_tier(const ClusterState& s, const std::vector<Endpoint>& eps,
                                       bool admin, const Endpoint& self, bool ingress,
                                       const RefPeer& other, const Endpoint* dst, Protocol proto,
                                       uint16_t port) {
  return reference_cluster_tier_action(s, eps, admin, self, ingress, other, dst, proto, port);
}

}  // namespace

bool reference_calico_mode(const ClusterState& s) {
  return !s.calico_policies.empty() || !s.calico_tiers.empty();
}

bool reference_calico_side(const ClusterState& s, const std::vector<Endpoint>& eps,
                           const Endpoint& self, bool ingress, const RefPeer& other,
                           const Endpoint* dst, Protocol proto, uint16_t port, std::string* trace) {
  Thing me{&self, {}};
  Thing peer{other.endpoint ? &eps.at(*other.endpoint) : nullptr, other.ip};
  const Thing& src = ingress ? peer : me;
  const Thing& dthing = ingress ? me : peer;
  for (const Tier& t : tiers(s)) {
    if (t.name == "kube-admin" || t.name == "kube-baseline") {
      auto a = cluster_tier(s, eps, t.name == "kube-admin", self, ingress, other, dst, proto, port);
      if (a == RuleAction::Allow || a == RuleAction::Deny) {
        if (trace) *trace += "  tier " + t.name + " decides\n";
        return a == RuleAction::Allow;
      }
      continue;
    }
    // The tier's policies that apply: Calico's, and in default the Kubernetes ones.
    struct Item {
      double order;
      std::string name;
      const CalicoPolicy* calico;
      const NetworkPolicy* np;
    };
    std::vector<Item> items;
    for (const CalicoPolicy& p : s.calico_policies)
      if (p.tier == t.name && applies(s, p, self, ingress))
        items.push_back({p.order.value_or(kInf),
                         p.name + "/" + p.ns + "/" + std::string(to_string(p.kind)), &p, nullptr});
    if (t.name == "default")
      for (const NetworkPolicy& np : s.network_policies)
        if (reference_np_selects(np, self, ingress))
          items.push_back({1000, np.name + "/" + np.ns + "/KubernetesNetworkPolicy", nullptr, &np});
    if (items.empty()) continue;
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
      return std::tie(a.order, a.name) < std::tie(b.order, b.name);
    });
    bool passed = false;
    for (const Item& it : items) {
      if (it.np) {
        if (reference_np_allows(s, eps, *it.np, ingress, other, dst, proto, port)) {
          if (trace) *trace += "  " + it.name + " allows\n";
          return true;
        }
        continue;
      }
      const auto& rules = ingress ? it.calico->ingress : it.calico->egress;
      for (const CalicoRule& r : rules) {
        if (!rule_matches(s, *it.calico, r, src, dthing, proto, port)) continue;
        if (r.action == CalicoAction::Log) continue;
        if (trace) *trace += "  " + it.name + " " + std::string(to_string(r.action)) + "\n";
        if (r.action == CalicoAction::Allow) return true;
        if (r.action == CalicoAction::Deny) return false;
        passed = true;
        break;
      }
      if (passed) break;
    }
    if (passed || t.pass) continue;
    if (trace) *trace += "  end of tier " + t.name + ": denied\n";
    return false;
  }
  if (trace) *trace += "  profile: allowed\n";
  return true;
}

bool reference_calico_isolated(const ClusterState& s, const Endpoint& self, bool ingress) {
  std::vector<Tier> ts = tiers(s);
  for (const CalicoPolicy& p : s.calico_policies) {
    if (!applies(s, p, self, ingress)) continue;
    for (const Tier& t : ts)
      if (t.name == p.tier && !t.pass) return true;
  }
  for (const NetworkPolicy& np : s.network_policies)
    if (reference_np_selects(np, self, ingress)) return true;
  return false;
}

}  // namespace stockade::testing

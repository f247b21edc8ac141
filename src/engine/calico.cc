// Calico's policies (projectcalico.org/v3): tiers, order, first match, Pass, the end-of-tier
// deny, and Kubernetes' policy kinds placed in Calico's tiers as Calico enforces them.
// Semantics as Calico documents them (docs.tigera.io reference/resources networkpolicy,
// globalnetworkpolicy, tier, networkset, globalnetworkset; network-policy/policy-tiers):
//  - tiers are evaluated by `order` (lower first; no order: after every ordered tier; ties by
//    name); only tiers holding a policy that applies to the endpoint (its selector,
//    namespaceSelector and serviceAccountSelector match, its `types` include the direction);
//  - within a tier, policies by `order` (absent: last), then by name; within a policy, rules
//    in order; the first rule that matches decides: Allow, Deny, or Pass (on to the next
//    tier); Log records and goes on;
//  - a tier whose policies apply but where no rule decided denies (the end-of-tier deny),
//    unless the Tier's defaultAction is Pass;
//  - every tier passed (or none applies): the endpoint's profile decides, and Kubernetes
//    namespaces' profiles allow everything;
//  - Kubernetes NetworkPolicies are policies of the default tier (order 1,000,000) at order
//    1000, named knp.default.NAME; AdminNetworkPolicies (and ClusterNetworkPolicies of tier
//    Admin) form the kube-admin tier (order 1000, defaultAction Pass), BaselineAdmin ones (and
//    tier Baseline) kube-baseline (order 10,000,000, defaultAction Pass);
//  - a rule matches when its protocol / notProtocol hold, its source entity matches the
//    source and its destination entity the destination (for an ingress rule, the destination
//    is the endpoint itself), and the destination port is in `ports` and not in `notPorts`;
//  - an entity's `selector` selects workload endpoints (and network sets, by their nets): in a
//    namespaced policy those of its namespace unless `namespaceSelector` is given; in a global
//    one, everywhere; `namespaceSelector: global()` selects non-namespaced resources only
//    (GlobalNetworkSets); `nets` / `notNets` match addresses, pods' included.
// Endpoints carry, besides their labels, projectcalico.org/namespace,
// projectcalico.org/orchestrator=k8s, projectcalico.org/serviceaccount, and their namespace's
// labels as pcns.KEY (and their service account's as pcsa.KEY), as Calico's profiles give them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "engine/calico_match.h"

namespace stockade::engine_internal {

namespace {

constexpr double kNoOrder = std::numeric_limits<double>::infinity();

uint8_t ip_protocol(Protocol p) {
  switch (p) {
    case Protocol::TCP:
      return 6;
    case Protocol::UDP:
      return 17;
    case Protocol::SCTP:
      return 132;
  }
  return 0;
}

bool ends_match_external(const CalicoEnd& e, const IpAddr& ip) {
  if (e.any) return true;
  auto in = [&](const std::vector<IpMatcher>& v) {
    return std::any_of(v.begin(), v.end(), [&](const IpMatcher& m) { return m.contains(ip); });
  };
  if (e.by_sets && !in(e.sets)) return false;
  if (!e.nets.empty() && !in(e.nets)) return false;
  return !in(e.not_nets) && !in(e.not_sets);
}

}  // namespace

// Felix orders policies of equal order by "name/namespace/kind" (felix/calc policy_sorter.go,
// PolKVLess; Kubernetes' NetworkPolicies are of kind KubernetesNetworkPolicy there): the name
// first, as the API documents ("alphanumerical order based on the Policy Name").
std::string calico_sort_name(std::string_view name, std::string_view ns, std::string_view kind) {
  std::string out;
  out.reserve(name.size() + ns.size() + kind.size() + 2);
  out.append(name).append("/").append(ns).append("/").append(kind);
  return out;
}

// Endpoints' labels include their service account's (projectcalico.org/serviceaccount,
// pcsa.*), which any selector may read: with Calico policies, identities keep it.
bool EngineImpl::calico_needs_service_accounts(const ClusterState& state) const {
  return !state.calico_policies.empty();
}

void EngineImpl::calico_ip_matchers(const ClusterState& state) {
  for (const CalicoPolicy& p : state.calico_policies)
    for (const auto* rules : {&p.ingress, &p.egress})
      for (const CalicoRule& r : *rules)
        for (const CalicoEntity* e : {&r.source, &r.destination}) {
          for (const Cidr& c : e->nets) ip_matcher(IpMatcher{{c}, {}});
          for (const Cidr& c : e->not_nets) ip_matcher(IpMatcher{{c}, {}});
        }
  for (const CalicoNetworkSet& s : state.calico_network_sets)
    for (const Cidr& c : s.nets) ip_matcher(IpMatcher{{c}, {}});
}

// Compiles every policy into Calico's tiers (EngineImpl::compile_calico): Calico's labels of
// endpoints and network sets, what each rule's ends select, and each side's ordered list.
class CalicoCompiler {
 public:
  CalicoCompiler(EngineImpl& e, const ClusterState& state)
      : e_(e), state_(state), n_(e.identities_.size()) {}

  void run() {
    build_tiers();
    build_labels();
    place_kubernetes_kinds();
    place_calico_policies();
    sort_sides();
  }

 private:
  // Endpoints (and network sets) that a selector / namespaceSelector / serviceAccounts triple
  // names, scoped as the policy's kind says. `own_ns`: the namespaced policy's namespace.
  struct Scope {
    const std::string* own_ns = nullptr;  // null: global policy
    const CalicoSelector* selector = nullptr;
    const CalicoSelector* ns_selector = nullptr;
    const CalicoEntity::ServiceAccounts* sa = nullptr;
  };

  uint32_t add_tier(const std::string& name, double order, bool pass) {
    auto [it, inserted] = tier_index_.emplace(name, static_cast<uint32_t>(e_.calico_tiers_.size()));
    if (inserted) e_.calico_tiers_.push_back(CalicoTierInfo{name, order, pass});
    return it->second;
  }
  void build_tiers();
  void build_labels();
  // The namespaces a scope covers: its own, those its namespaceSelector matches, or all.
  template <class F>
  void for_each_ns(const Scope& s, F&& f) const {
    if (s.ns_selector) {
      for (uint32_t ns = 0; ns < e_.namespaces_.size(); ++ns)
        if (s.ns_selector->matches_namespace(ns_labels_[ns], true)) f(ns);
    } else if (s.own_ns) {
      if (auto it = ns_index_.find(*s.own_ns); it != ns_index_.end()) f(it->second);
    } else {
      for (uint32_t ns = 0; ns < e_.namespaces_.size(); ++ns) f(ns);
    }
  }
  bool sa_ok(const Scope& s, uint32_t id) const;
  Bits endpoints_of(const Scope& s) const;
  std::vector<IpMatcher> sets_of(const Scope& s) const;
  Bits ids_in(const std::vector<IpMatcher>& ms);
  void compile_end(const CalicoEntity& e, const std::string* own_ns, CalicoMatch& m,
                   CalicoEnd& out);
  static void compile_ports(const std::vector<CalicoPort>& ports, Protocol proto_hint,
                            std::vector<CompiledPort>& out);
  CompiledRule compile_rule(const CalicoRule& r, Direction d, size_t i, const std::string* own_ns);
  std::pair<CompiledPolicy, Bits> compile_policy(const CalicoPolicy& p);
  void place_kubernetes_kinds();
  void place_calico_policies();
  void sort_sides();

  EngineImpl& e_;
  const ClusterState& state_;
  const size_t n_;
  std::map<std::string, uint32_t> tier_index_;
  uint32_t default_tier_ = 0, admin_tier_ = 0, baseline_tier_ = 0;
  // Calico's labels: per identity (endpoint, service account), per namespace, per network set.
  std::vector<Labels> ep_labels_, ns_labels_, sa_labels_, set_labels_;
  std::vector<std::string> ep_sa_;
  // Identities by namespace: a scope's namespaces are found once (its own, or those its
  // namespaceSelector matches), and only their identities are tested (a recommendation writes
  // tens of thousands of entities, each scoped to one namespace).
  std::vector<std::vector<uint32_t>> ids_by_ns_;
  std::map<std::string_view, uint32_t> ns_index_;
};

void CalicoCompiler::build_tiers() {
  for (const CalicoTier& t : state_.calico_tiers)
    add_tier(t.name, t.order.value_or(kNoOrder), t.default_action == CalicoAction::Pass);
  default_tier_ = add_tier("default", kCalicoDefaultTierOrder, false);
  admin_tier_ = add_tier("kube-admin", kCalicoAdminTierOrder, true);
  baseline_tier_ = add_tier("kube-baseline", kCalicoBaselineTierOrder, true);
}

void CalicoCompiler::build_labels() {
  std::map<std::pair<std::string, std::string>, const ServiceAccount*> sa_by_name;
  for (const ServiceAccount& sa : state_.service_accounts) sa_by_name[{sa.ns, sa.name}] = &sa;
  ep_labels_.resize(n_);
  sa_labels_.resize(n_);
  ep_sa_.resize(n_);
  ns_labels_.resize(e_.namespaces_.size());
  for (size_t i = 0; i < e_.namespaces_.size(); ++i) {
    ns_labels_[i] = e_.namespace_labels_[i];
    ns_labels_[i]["projectcalico.org/name"] = e_.namespaces_[i];
  }
  for (uint32_t id = 0; id < n_; ++id) {
    const Identity& ident = e_.identities_[id];
    const Endpoint& rep = e_.endpoints_[ident.representative];
    Labels& l = ep_labels_[id];
    for (const auto& [k, v] : e_.namespace_labels_[ident.ns]) l["pcns." + k] = v;
    if (!e_.cilium_keys_.empty()) {
      ep_sa_[id] = e_.cilium_keys_[ident.representative];
      l["projectcalico.org/serviceaccount"] = ep_sa_[id];
      sa_labels_[id]["projectcalico.org/name"] = ep_sa_[id];
      auto it = sa_by_name.find({rep.ns, ep_sa_[id]});
      if (it != sa_by_name.end())
        for (const auto& [k, v] : it->second->labels) {
          l["pcsa." + k] = v;
          sa_labels_[id][k] = v;
        }
    }
    for (const auto& [k, v] : rep.pod.labels) l[k] = v;
    l["projectcalico.org/namespace"] = rep.ns;
    l["projectcalico.org/orchestrator"] = "k8s";
  }
  set_labels_.resize(state_.calico_network_sets.size());
  for (size_t i = 0; i < set_labels_.size(); ++i) {
    const CalicoNetworkSet& s = state_.calico_network_sets[i];
    set_labels_[i] = s.labels;
    if (!s.global) set_labels_[i]["projectcalico.org/namespace"] = s.ns;
  }
  ids_by_ns_.resize(e_.namespaces_.size());
  for (uint32_t id = 0; id < n_; ++id) ids_by_ns_[e_.identities_[id].ns].push_back(id);
  for (uint32_t i = 0; i < e_.namespaces_.size(); ++i) ns_index_.emplace(e_.namespaces_[i], i);
}

bool CalicoCompiler::sa_ok(const Scope& s, uint32_t id) const {
  if (!s.sa) return true;
  if (!s.sa->names.empty() &&
      std::find(s.sa->names.begin(), s.sa->names.end(), ep_sa_[id]) == s.sa->names.end())
    return false;
  return !s.sa->selector || s.sa->selector->matches(sa_labels_[id]);
}

Bits CalicoCompiler::endpoints_of(const Scope& s) const {
  Bits b(n_);
  for_each_ns(s, [&](uint32_t ns) {
    for (uint32_t id : ids_by_ns_[ns])
      if (!e_.host_network_.test(id) && sa_ok(s, id) &&
          (!s.selector || s.selector->matches(ep_labels_[id])))
        b.set(id);
  });
  return b;
}

std::vector<IpMatcher> CalicoCompiler::sets_of(const Scope& s) const {
  std::vector<IpMatcher> out;
  // A network set has no service account: names never match it, and a selector sees none
  // of the pcsa. labels it reads.
  if (s.sa && (!s.sa->names.empty() || (s.sa->selector && !s.sa->selector->matches({}))))
    return out;
  for (size_t i = 0; i < state_.calico_network_sets.size(); ++i) {
    const CalicoNetworkSet& set = state_.calico_network_sets[i];
    bool ns_ok;
    if (s.ns_selector) {
      if (set.global) {
        ns_ok = s.ns_selector->matches_namespace(Labels{}, false);
      } else {
        // A network set's namespace as namespace selectors see it (it may hold no pod).
        Labels l = state_.namespace_labels(set.ns);
        l["projectcalico.org/name"] = set.ns;
        ns_ok = s.ns_selector->matches_namespace(l, true);
      }
    } else {
      ns_ok = s.own_ns ? !set.global && set.ns == *s.own_ns : true;
    }
    if (ns_ok && (!s.selector || s.selector->matches(set_labels_[i], set.global)))
      out.push_back(IpMatcher{set.nets, {}});
  }
  return out;
}

Bits CalicoCompiler::ids_in(const std::vector<IpMatcher>& ms) {
  Bits b(n_);
  for (const IpMatcher& m : ms)
    for (const Cidr& c : m.include) {
      // Registered by calico_ip_matchers before identities were built.
      uint32_t idx = e_.ip_matcher(IpMatcher{{c}, {}});
      if (idx < e_.ip_matcher_identities_.size()) b |= e_.ip_matcher_identities_[idx];
    }
  return b;
}

void CalicoCompiler::compile_end(const CalicoEntity& e, const std::string* own_ns, CalicoMatch& m,
                                 CalicoEnd& out) {
  out = CalicoEnd{};
  // A namespaced policy's entity is limited to its namespace as soon as any selector field
  // is used, notSelector included (libcalico-go rules.go, getEndpointSelector).
  bool selects =
      e.selector || e.namespace_selector || e.service_accounts || (own_ns && e.not_selector);
  if (!selects && !e.not_selector && e.nets.empty() && e.not_nets.empty()) return;
  out.any = false;
  out.ids = Bits(n_, true);
  if (selects) {
    Scope s{own_ns, e.selector ? &*e.selector : nullptr,
            e.namespace_selector ? &*e.namespace_selector : nullptr,
            e.service_accounts ? &*e.service_accounts : nullptr};
    out.by_sets = true;
    out.sets = sets_of(s);
    out.ids = endpoints_of(s);
    out.ids |= ids_in(out.sets);
  }
  if (!e.nets.empty()) {
    for (const Cidr& c : e.nets) out.nets.push_back(IpMatcher{{c}, {}});
    out.ids &= ids_in(out.nets);
  }
  for (const Cidr& c : e.not_nets) out.not_nets.push_back(IpMatcher{{c}, {}});
  out.ids.and_not(ids_in(out.not_nets));
  if (e.not_selector) {
    Scope s{own_ns, &*e.not_selector, e.namespace_selector ? &*e.namespace_selector : nullptr,
            nullptr};
    out.not_sets = sets_of(s);
    out.ids.and_not(endpoints_of(s));
    out.ids.and_not(ids_in(out.not_sets));
  }
  if (e.service) {
    m.never = true;
    m.notes.push_back("services " + (e.service->ns.empty() ? "" : e.service->ns + "/") +
                      e.service->name + " is not evaluated: the rule matches nothing here");
  }
}

void CalicoCompiler::compile_ports(const std::vector<CalicoPort>& ports, Protocol proto_hint,
                                   std::vector<CompiledPort>& out) {
  for (const CalicoPort& p : ports) {
    CompiledPort c;
    c.protocol = proto_hint;
    if (!p.name.empty()) {
      c.kind = CompiledPort::Kind::Named;
      c.name = p.name;
    } else {
      c.kind = CompiledPort::Kind::Range;
      c.lo = p.lo;
      c.hi = p.hi;
    }
    out.push_back(std::move(c));
  }
}

CompiledRule CalicoCompiler::compile_rule(const CalicoRule& r, Direction d, size_t i,
                                          const std::string* own_ns) {
  auto m = std::make_unique<CalicoMatch>();
  if (r.protocol) m->protocol = r.protocol->number;
  if (r.not_protocol) m->not_protocol = r.not_protocol->number;
  compile_end(r.source, own_ns, *m, m->source);
  compile_end(r.destination, own_ns, *m, m->destination);
  Protocol hint = Protocol::TCP;
  if (r.protocol && r.protocol->number == 17) hint = Protocol::UDP;
  if (r.protocol && r.protocol->number == 132) hint = Protocol::SCTP;
  compile_ports(r.destination.ports, hint, m->ports);
  compile_ports(r.destination.not_ports, hint, m->not_ports);
  if (!r.source.ports.empty()) {
    m->never = true;
    m->notes.push_back(
        "source ports are not evaluated (connections carry no source "
        "port here): the rule matches nothing");
  }
  if (r.http)
    m->notes.push_back(
        "http match is not evaluated (L7): the rule is treated "
        "as matching the whole port");
  m->ip_version = r.ip_version;
  m->log = r.action == CalicoAction::Log;
  CompiledRule cr;
  switch (r.action) {
    case CalicoAction::Allow:
      cr.action = RuleAction::Allow;
      break;
    case CalicoAction::Deny:
      cr.action = RuleAction::Deny;
      break;
    case CalicoAction::Pass:
    case CalicoAction::Log:  // Log: calico_rule_matches never decides with it
      cr.action = RuleAction::Pass;
      break;
  }
  cr.index = static_cast<int>(i);
  cr.line = r.line;
  cr.name = std::string(d == kIngress ? "ingress" : "egress") + "[" + std::to_string(i) + "]" +
            (r.action == CalicoAction::Log ? " (Log)" : "");
  cr.all_ports = true;
  cr.peer_set = SparseBits(Bits(n_));
  cr.calico = m.get();
  e_.calico_matches_.push_back(std::move(m));
  return cr;
}

std::pair<CompiledPolicy, Bits> CalicoCompiler::compile_policy(const CalicoPolicy& p) {
  CompiledPolicy cp;
  // Calico's NetworkPolicy shares its kind with Kubernetes': the group tells them apart.
  std::string kind(to_string(p.kind));
  if (p.kind == CalicoPolicyKind::NetworkPolicy) kind += " (projectcalico.org)";
  cp.ref = PolicyRef{kind, p.ns, p.name, SourceRef{p.file, p.line}};
  cp.tier = DecisionTier::NetworkPolicy;
  auto it = tier_index_.find(p.tier);
  cp.calico_tier =
      static_cast<int>(it != tier_index_.end() ? it->second : add_tier(p.tier, kNoOrder, false));
  cp.calico_order = p.order.value_or(kNoOrder);
  cp.calico_name = calico_sort_name(p.name, p.ns, to_string(p.kind));
  const std::string* own_ns = p.global() ? nullptr : &p.ns;
  for (size_t i = 0; i < p.ingress.size(); ++i)
    cp.ingress.push_back(compile_rule(p.ingress[i], kIngress, i, own_ns));
  for (size_t i = 0; i < p.egress.size(); ++i)
    cp.egress.push_back(compile_rule(p.egress[i], kEgress, i, own_ns));
  Scope subj{own_ns, &p.selector, p.namespace_selector ? &*p.namespace_selector : nullptr, nullptr};
  Bits subjects = endpoints_of(subj);
  if (p.service_account_selector) {
    for (uint32_t id = 0; id < n_; ++id)
      if (subjects.test(id) && !p.service_account_selector->matches(sa_labels_[id]))
        subjects.reset(id);
  }
  return {std::move(cp), std::move(subjects)};
}

// Kinds already compiled: ANP / CNP Admin -> kube-admin, NetworkPolicy -> default at 1000,
// BANP / CNP Baseline -> kube-baseline; their rules keep their own matching.
void CalicoCompiler::place_kubernetes_kinds() {
  auto& policies = e_.policies_;
  for (uint32_t pi = 0; pi < policies.size(); ++pi) {
    CompiledPolicy& p = policies[pi];
    if (p.tier == DecisionTier::Admin) {
      p.calico_tier = static_cast<int>(admin_tier_);
      p.calico_order = pi;  // policies_ holds them sorted by priority already
    } else if (p.tier == DecisionTier::Baseline) {
      p.calico_tier = static_cast<int>(baseline_tier_);
      p.calico_order = pi;
    } else if (p.ref.kind == "NetworkPolicy") {
      p.calico_tier = static_cast<int>(default_tier_);
      p.calico_order = kCalicoKubernetesPolicyOrder;
      p.calico_name = calico_sort_name(p.ref.name, p.ref.ns, "KubernetesNetworkPolicy");
    }
  }
  for (uint32_t id = 0; id < n_; ++id)
    for (Direction d : {kIngress, kEgress}) {
      SideLists& s = e_.sides_[d][id];
      for (const auto* v : {&s.admin, &s.np, &s.baseline})
        for (uint32_t pi : *v)
          if (policies[pi].calico_tier >= 0) s.calico.push_back(pi);
      s.admin.clear();
      s.baseline.clear();
      std::erase_if(s.np, [&](uint32_t pi) { return policies[pi].calico_tier >= 0; });
      s.isolated = std::any_of(s.np.begin(), s.np.end(),
                               [&](uint32_t pi) { return policies[pi].isolates[d]; });
    }
}

void CalicoCompiler::place_calico_policies() {
  for (const CalicoPolicy& p : state_.calico_policies) {
    if (p.kind == CalicoPolicyKind::StagedKubernetesNetworkPolicy || p.host_only) continue;
    auto [cp, subjects] = compile_policy(p);
    uint32_t idx = static_cast<uint32_t>(e_.policies_.size());
    e_.policies_.push_back(std::move(cp));
    if (p.staged()) {
      EngineImpl::Staged st{idx, {Bits(n_), Bits(n_)}};
      if (p.types_ingress) st.subjects[kIngress] = subjects;
      if (p.types_egress) st.subjects[kEgress] = subjects;
      e_.calico_staged_.push_back(std::move(st));
      continue;
    }
    subjects.for_each([&](size_t id) {
      if (p.types_ingress) e_.sides_[kIngress][id].calico.push_back(idx);
      if (p.types_egress) e_.sides_[kEgress][id].calico.push_back(idx);
    });
  }
}

// Each side's list in evaluation order: tiers by order then name, policies by order then
// Felix's name key.
void CalicoCompiler::sort_sides() {
  auto key = [&](uint32_t pi) {
    const CompiledPolicy& p = e_.policies_[pi];
    const CalicoTierInfo& t = e_.calico_tiers_[p.calico_tier];
    return std::tie(t.order, t.name, p.calico_order, p.calico_name);
  };
  for (uint32_t id = 0; id < n_; ++id)
    for (Direction d : {kIngress, kEgress}) {
      SideLists& s = e_.sides_[d][id];
      std::stable_sort(s.calico.begin(), s.calico.end(),
                       [&](uint32_t a, uint32_t b) { return key(a) < key(b); });
      s.calico_isolated = std::any_of(s.calico.begin(), s.calico.end(), [&](uint32_t pi) {
        return !e_.calico_tiers_[e_.policies_[pi].calico_tier].pass_by_default;
      });
    }
}

void EngineImpl::compile_calico(const ClusterState& state) {
  calico_mode_ = !state.calico_policies.empty() || !state.calico_tiers.empty();
  if (!calico_mode_) return;
  CalicoCompiler(*this, state).run();
}

bool EngineImpl::calico_rule_matches(const CompiledRule& r, uint32_t subject, Direction d,
                                     const Other& o, Protocol proto, uint16_t port,
                                     const std::vector<ContainerPort>* dst_ports) const {
  if (!r.calico) {  // a Kubernetes kind's rule in a Calico tier
    return port_matches(r, proto, port, dst_ports) && peer_matches(r, o, nullptr);
  }
  const CalicoMatch& m = *r.calico;
  if (m.never) return false;
  const uint8_t pn = ip_protocol(proto);
  if (m.protocol && *m.protocol != pn) return false;
  if (m.not_protocol && *m.not_protocol == pn) return false;
  auto port_in = [&](const std::vector<CompiledPort>& ports) {
    for (const CompiledPort& p : ports) {
      if (p.kind == CompiledPort::Kind::Range) {
        if (port >= p.lo && port <= p.hi) return true;
      } else if (dst_ports) {
        for (const ContainerPort& cp : *dst_ports)
          if (cp.port == port && cp.protocol == proto && cp.name == p.name) return true;
      }
    }
    return false;
  };
  if (!m.ports.empty() && !port_in(m.ports)) return false;
  if (port_in(m.not_ports)) return false;
  // The subject is always an endpoint; the other end an endpoint or an address.
  const CalicoEnd& own = d == kIngress ? m.destination : m.source;
  const CalicoEnd& peer = d == kIngress ? m.source : m.destination;
  if (!own.any && !own.ids.test(subject)) return false;
  if (o.identity >= 0) return peer.any || peer.ids.test(static_cast<size_t>(o.identity));
  if (!m.ip_version.empty() && (m.ip_version == "6") != o.ip.v6) return false;
  return ends_match_external(peer, o.ip);
}

namespace {
// Tiers are ordered by (order, name): whether `t` comes after the default tier.
bool after_default(const CalicoTierInfo& t) {
  return t.order > kCalicoDefaultTierOrder ||
         (t.order == kCalicoDefaultTierOrder && t.name > "default");
}
}  // namespace

bool EngineImpl::decide_calico(uint32_t subject, const Endpoint* subject_endpoint, Direction d,
                               const Other& other, Protocol proto, uint16_t port, bool explain,
                               Decision& out) const {
  (void)subject_endpoint;
  const std::vector<uint32_t>& list = sides_[d][subject].calico;
  const std::vector<ContainerPort>* dst_ports =
      d == kIngress ? &identity_ports(subject) : other.dst_ports;
  size_t i = 0;
  while (i < list.size()) {
    const int tier = policies_[list[i]].calico_tier;
    const CalicoTierInfo& t = calico_tiers_[tier];
    const size_t tier_begin = i;
    bool passed = false;
    for (; i < list.size() && policies_[list[i]].calico_tier == tier && !passed; ++i) {
      const CompiledPolicy& p = policies_[list[i]];
      for (const CompiledRule& r : d == kIngress ? p.ingress : p.egress) {
        if (!calico_rule_matches(r, subject, d, other, proto, port, dst_ports)) continue;
        if (r.calico && r.calico->log) continue;  // Log: recorded, evaluation goes on
        if (r.action == RuleAction::Pass) {
          if (explain) out.passed_by.push_back(p.ref);
          passed = true;
          break;
        }
        out.tier = p.tier;
        out.allowed = r.action == RuleAction::Allow;
        out.rule_index = r.index;
        out.calico_after_default = after_default(t);
        if (explain) {
          out.policy = p.ref;
          out.rule_name = r.name;
          out.rule_line = r.line;
          out.action = r.action == RuleAction::Allow && p.cnp ? "Accept" : to_string(r.action);
          out.calico_tier = t.name;
          if (r.calico)
            for (const std::string& note : r.calico->notes) out.notes.push_back(note);
        }
        return true;
      }
    }
    while (i < list.size() && policies_[list[i]].calico_tier == tier) ++i;
    if (passed || t.pass_by_default) continue;
    // The end-of-tier deny: policies of this tier apply, none decided.
    out.tier = DecisionTier::NetworkPolicy;
    out.allowed = false;
    out.calico_after_default = after_default(t);
    if (explain) {
      out.calico_tier = t.name;
      for (size_t j = tier_begin; j < i; ++j) {
        const CompiledPolicy& p = policies_[list[j]];
        out.isolated_by.push_back(p.ref);
        for (const CompiledRule& r : d == kIngress ? p.ingress : p.egress)
          if (r.calico)
            for (const std::string& note : r.calico->notes)
              out.notes.push_back(p.ref.name + " " + r.name + ": " + note);
      }
    }
    return true;
  }
  return false;
}

void EngineImpl::calico_staged_notes(uint32_t subject, Direction d, const Other& o, Protocol proto,
                                     uint16_t port, const std::vector<ContainerPort>* dst_ports,
                                     Decision& out) const {
  for (const Staged& s : calico_staged_) {
    if (!s.subjects[d].test(subject)) continue;
    const CompiledPolicy& p = policies_[s.policy];
    std::string what =
        "no rule of it matches (its tier would end in a deny unless another "
        "policy decides)";
    for (const CompiledRule& r : d == kIngress ? p.ingress : p.egress) {
      if (!calico_rule_matches(r, subject, d, o, proto, port, dst_ports)) continue;
      if (r.calico && r.calico->log) continue;
      what = "its rule " + r.name + " would " + std::string(to_string(r.action));
      break;
    }
    out.notes.push_back("staged " + p.ref.kind + " " + (p.ref.ns.empty() ? "" : p.ref.ns + "/") +
                        p.ref.name + " (tier " + calico_tiers_[p.calico_tier].name +
                        ", not enforced) selects it: " + what);
  }
}

void EngineImpl::calico_subject_key(uint32_t subject, Direction d,
                                    std::vector<uint64_t>& key) const {
  uint64_t word = 0;
  int bits = 0;
  auto put = [&](bool b) {
    word |= uint64_t{b} << bits;
    if (++bits == 64) key.push_back(word), word = 0, bits = 0;
  };
  for (uint32_t pi : sides_[d][subject].calico)
    for (const CompiledRule& r : d == kIngress ? policies_[pi].ingress : policies_[pi].egress) {
      if (!r.calico) continue;  // Kubernetes' kinds: no condition on the subject
      const CalicoEnd& own = d == kIngress ? r.calico->destination : r.calico->source;
      put(own.any || own.ids.test(subject));
    }
  key.push_back(word);
}

bool EngineImpl::side_allowed(uint32_t subject, Direction d, uint32_t other, Protocol proto,
                              uint16_t port) const {
  const Endpoint* se = &endpoints_[identities_[subject].representative];
  const Endpoint* oe = &endpoints_[identities_[other].representative];
  Other o{static_cast<int64_t>(other), {}, d == kEgress ? &identity_ports(other) : nullptr, oe};
  return decide(subject, se, d, o, proto, port, false).allowed;
}

}  // namespace stockade::engine_internal

// CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, compiled into the NetworkPolicy
// tier's identity bitsets. Semantics as Cilium defines them (docs.cilium.io "Policy Language",
// "Deny Policies", "Policy Enforcement Modes"; pkg/policy/api and
// pkg/k8s/apis/cilium.io/utils of cilium/cilium):
//  - a pod's Cilium labels are its labels, io.kubernetes.pod.namespace, its namespace's labels
//    as io.cilium.k8s.namespace.labels.KEY, io.cilium.k8s.policy.serviceaccount and
//    io.cilium.k8s.policy.cluster; selector keys may carry a source ("k8s:", "any:");
//  - a namespaced policy's endpointSelector selects in its namespace only; its
//    fromEndpoints/toEndpoints select in its namespace unless they name
//    io.kubernetes.pod.namespace or a namespace label; "reserved:" selectors are entities;
//  - a direction goes into default deny when a rule selecting the pod has rules (allow or
//    deny) in that direction, unless enableDefaultDeny says otherwise; allows of every policy
//    (Cilium's and Kubernetes NetworkPolicies alike) add up; a deny rule wins over every allow;
//  - a rule with ports but no peer field matches every peer; one with neither matches none; an
//    empty peer list matches none;
//  - CIDR rules (and toServices, whose endpoints Cilium turns into CIDRs) match addresses
//    outside the cluster only, never pods or nodes; toServices covers Services without a
//    selector; entities: world, cluster, host / remote-node (relative to the pod's node: the
//    node's addresses and host-network pods), kube-apiserver (the kubernetes Service's
//    endpoints), all;
//  - traffic from the pod's own node is allowed (allow-localhost), to it only when allowed;
//  - toFQDNs matches the external addresses that DNS answers gave a matching name
//    (matchPattern: `*` is any run of DNS characters within a label, `*` alone every name);
//  - L7 rules (toPorts[].rules): a port with rules is redirected to the proxy, which passes
//    a request when one allow rule that matches the connection either has no L7 rules on that
//    port or has an http rule whose method, path and host expressions all match in full (a
//    rule with header conditions is not judged: records carry no headers).
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "engine/cilium_match.h"

namespace stockade::engine_internal {

namespace {

constexpr std::string_view kNsKey = "io.kubernetes.pod.namespace";
constexpr std::string_view kNsLabelPrefix = "io.cilium.k8s.namespace.labels.";
constexpr std::string_view kServiceAccountKey = "io.cilium.k8s.policy.serviceaccount";

// A selector with its keys' sources resolved: pod labels (k8s:, any: or none), a reserved
// entity (reserved:NAME), or a source no pod carries (cidr:, fqdn:, ...): matches nothing.
struct Resolved {
  LabelSelector pods;
  std::vector<std::string> reserved;
  bool nothing = false;
};

Resolved resolve(const LabelSelector& in) {
  Resolved out;
  LabelSelector norm;  // keys without the k8s: / any: source
  std::vector<std::string> reserved;
  for (SelectorRequirement r : in.requirements) {
    if (r.key.starts_with("k8s:") || r.key.starts_with("any:")) r.key = r.key.substr(4);
    if (r.key.starts_with("reserved:")) reserved.push_back(r.key.substr(9));
    norm.requirements.push_back(std::move(r));
  }
  if (!reserved.empty()) {
    // A reserved identity's only label is reserved:NAME: the selector selects the entities
    // whose label satisfies all of it, and no pod.
    std::sort(reserved.begin(), reserved.end());
    reserved.erase(std::unique(reserved.begin(), reserved.end()), reserved.end());
    for (const std::string& name : reserved)
      if (norm.matches(Labels{{"reserved:" + name, ""}})) out.reserved.push_back(name);
    out.nothing = out.reserved.empty();
    return out;
  }
  for (SelectorRequirement& r : norm.requirements) {
    if (r.key.find(':') == std::string::npos) {
      out.pods.requirements.push_back(std::move(r));
    } else if (r.op == SelectorOp::In || r.op == SelectorOp::Exists) {
      out.nothing = true;  // cidr:, fqdn:, ...: a label no pod carries
    }
  }
  return out;
}

bool names_namespace(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements)
    if (r.key == kNsKey || r.key.starts_with(kNsLabelPrefix)) return true;
  return false;
}

bool mentions_service_account(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements) {
    std::string_view k = r.key;
    if (size_t c = k.find(':'); c != std::string_view::npos) k = k.substr(c + 1);
    if (k == kServiceAccountKey) return true;
  }
  return false;
}

std::string rule_label(size_t spec, size_t specs, std::string_view list, size_t index) {
  std::string s = specs > 1 ? "specs[" + std::to_string(spec) + "]." : "";
  return s + std::string(list) + "[" + std::to_string(index) + "]";
}

}  // namespace

std::vector<std::string> EngineImpl::cilium_identity_keys(const ClusterState& state) const {
  bool needed = false;
  for (const CiliumPolicy& p : state.cilium_policies)
    for (const CiliumSpec& s : p.specs) {
      if (s.endpoint_selector && mentions_service_account(*s.endpoint_selector)) needed = true;
      for (const auto* rules : {&s.ingress, &s.ingress_deny, &s.egress, &s.egress_deny})
        if (*rules)
          for (const CiliumRule& r : **rules)
            if (r.endpoints)
              for (const LabelSelector& sel : *r.endpoints) needed |= mentions_service_account(sel);
    }
  // Calico selects by service account too (serviceAccountSelector, serviceAccounts).
  if (!needed && !calico_needs_service_accounts(state)) return {};
  std::map<std::pair<std::string, std::string>, const std::string*> pod_sa;
  for (const Pod& p : state.pods) pod_sa[{p.ns, p.name}] = &p.security.service_account;
  std::map<std::tuple<std::string, std::string, std::string>, const std::string*> workload_sa;
  for (const Workload& w : state.workloads)
    workload_sa[{w.ns, w.name, std::string(to_string(w.kind))}] = &w.security.service_account;
  std::vector<std::string> out(endpoints_.size());
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const Endpoint& e = endpoints_[i];
    const std::string* sa = nullptr;
    if (e.kind == "Pod") {
      auto it = pod_sa.find({e.ns, e.name});
      if (it != pod_sa.end()) sa = it->second;
    } else {
      auto it = workload_sa.find({e.ns, e.name, e.kind});
      if (it != workload_sa.end()) sa = it->second;
    }
    out[i] = sa && !sa->empty() ? *sa : "default";
  }
  return out;
}

// Compiles the Cilium policies into the NetworkPolicy tier (EngineImpl::compile_cilium).
class CiliumCompiler {
 public:
  CiliumCompiler(EngineImpl& e, const ClusterState& state)
      : e_(e), state_(state), n_(e.identities_.size()), apiserver_ids_(n_) {}

  void run() {
    collect_addresses();
    for (const CiliumPolicy& p : state_.cilium_policies) {
      PolicyRef ref{p.clusterwide ? "CiliumClusterwideNetworkPolicy" : "CiliumNetworkPolicy", p.ns,
                    p.name, SourceRef{p.file, p.line}};
      for (size_t si = 0; si < p.specs.size(); ++si)
        if (p.specs[si].endpoint_selector)  // host policies: see decode (not evaluated)
          add_spec(p, si, ref);
    }
  }

 private:
  const Bits& pods_matching(const LabelSelector& sel);
  void collect_addresses();
  void entity(std::string_view name, CiliumMatch& m, bool& all) const;
  void add_peers(const CiliumPolicy& p, const CiliumRule& rule, CiliumMatch& m, bool& all);
  void add_services(const CiliumPolicy& p, const CiliumRule& rule, CiliumMatch& m) const;
  static void add_ports(const CiliumRule& rule, CompiledRule& cr, CiliumMatch& m);
  CompiledRule compile_rule(const CiliumPolicy& p, const CiliumRule& rule, RuleAction action,
                            std::string name);
  Bits subjects(const CiliumPolicy& p, const CiliumSpec& spec);
  void add_spec(const CiliumPolicy& p, size_t si, const PolicyRef& ref);

  EngineImpl& e_;
  const ClusterState& state_;
  const size_t n_;
  std::vector<Labels> extra_;  // per identity, built on first use
  std::unordered_map<std::string, Bits> cache_;
  Bits apiserver_ids_;  // host-network identities at the API server's addresses
};

// A selector over Cilium's labels, through the engine's label indexes: pod labels by the
// pod index; io.kubernetes.pod.namespace and io.cilium.k8s.namespace.labels.* by the
// namespace index (every namespace carries kubernetes.io/metadata.name=NAME); the service
// account and cluster labels, which no index holds, pod by pod.
const Bits& CiliumCompiler::pods_matching(const LabelSelector& sel) {
  std::string key = sel.canonical();
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  LabelSelector pod_part, ns_part, rest;
  for (SelectorRequirement r : sel.requirements) {
    if (r.key == kNsKey) {
      r.key = "kubernetes.io/metadata.name";
      ns_part.requirements.push_back(std::move(r));
    } else if (r.key.starts_with(kNsLabelPrefix)) {
      r.key = r.key.substr(kNsLabelPrefix.size());
      ns_part.requirements.push_back(std::move(r));
    } else if (r.key == kServiceAccountKey || r.key == "io.cilium.k8s.policy.cluster") {
      rest.requirements.push_back(std::move(r));
    } else {
      pod_part.requirements.push_back(std::move(r));
    }
  }
  Bits b = e_.pod_selector_bits(pod_part);
  if (!ns_part.empty()) b &= e_.namespace_selector_bits(ns_part);
  b.and_not(e_.host_network_);
  if (!rest.empty()) {
    if (extra_.empty()) {
      extra_.resize(n_);
      for (uint32_t id = 0; id < n_; ++id) {
        extra_[id]["io.cilium.k8s.policy.cluster"] = "default";
        if (!e_.cilium_keys_.empty())
          extra_[id][std::string(kServiceAccountKey)] =
              e_.cilium_keys_[e_.identities_[id].representative];
      }
    }
    Bits copy = b;
    copy.for_each([&](size_t id) {
      if (!rest.matches(extra_[id])) b.reset(id);
    });
  }
  return cache_.emplace(std::move(key), std::move(b)).first->second;
}

// Node addresses (Node objects and host-network pods), and the API server's.
void CiliumCompiler::collect_addresses() {
  auto& by_ip = e_.node_by_ip_;
  for (const Node& node : e_.nodes_)
    for (const IpAddr& ip : node.addresses) by_ip.emplace_back(ip, node.name);
  for (const Endpoint& ep : e_.endpoints_)
    if (ep.pod.host_network && !ep.node.empty())
      for (const IpAddr& ip : ep.ips) by_ip.emplace_back(ip, ep.node);
  std::sort(by_ip.begin(), by_ip.end());
  by_ip.erase(std::unique(by_ip.begin(), by_ip.end()), by_ip.end());
  auto& api = e_.apiserver_ips_;
  for (const EndpointSlice& s : state_.endpoint_slices)
    if (s.ns == "default" && s.service == "kubernetes")
      api.insert(api.end(), s.addresses.begin(), s.addresses.end());
  for (uint32_t id = 0; id < n_; ++id)
    if (e_.host_network_.test(id))
      for (const IpAddr& ip : e_.endpoints_[e_.identities_[id].representative].ips)
        if (std::find(api.begin(), api.end(), ip) != api.end()) apiserver_ids_.set(id);
}

void CiliumCompiler::entity(std::string_view e, CiliumMatch& m, bool& all) const {
  if (e == "all") all = true;
  if (e == "world" || e == "world-ipv4") m.world4 = true;
  if (e == "world" || e == "world-ipv6") m.world6 = true;
  if (e == "cluster") {
    m.cluster = true;
    m.fixed = Bits(n_, true);
  }
  if (e == "host") m.host = true;
  if (e == "remote-node") m.remote_node = true;
  if (e == "kube-apiserver") {
    m.apiserver = true;
    m.fixed |= apiserver_ids_;
  }
  // health, init, unmanaged, ingress: Cilium's own endpoints, none in the input.
}

// Endpoints, nodes, entities and CIDRs of one rule.
void CiliumCompiler::add_peers(const CiliumPolicy& p, const CiliumRule& rule, CiliumMatch& m,
                               bool& all) {
  if (rule.endpoints)
    for (const LabelSelector& written : *rule.endpoints) {
      Resolved r = resolve(written);
      for (const std::string& e : r.reserved) entity(e, m, all);
      if (r.nothing || !r.reserved.empty()) continue;
      if (!p.clusterwide && !names_namespace(r.pods))
        r.pods.requirements.push_back({std::string(kNsKey), SelectorOp::In, {p.ns}});
      m.fixed |= pods_matching(r.pods);
    }
  if (rule.nodes)
    for (const LabelSelector& sel : *rule.nodes) {
      m.nodes.push_back(&sel);
      for (uint32_t id = 0; id < n_; ++id)
        if (e_.identity_node_[id] && sel.matches(e_.identity_node_[id]->labels)) m.fixed.set(id);
    }
  if (rule.entities)
    for (const std::string& e : *rule.entities) entity(e, m, all);
  if (rule.cidrs)
    for (const CiliumCidr& c : *rule.cidrs)
      if (c.cidr.prefix <= c.cidr.network.bits()) m.cidrs.push_back(IpMatcher{{c.cidr}, c.except});
}

void CiliumCompiler::add_services(const CiliumPolicy& p, const CiliumRule& rule,
                                  CiliumMatch& m) const {
  if (!rule.services) return;
  for (const CiliumRule::ServiceRef& ref : *rule.services) {
    if (ref.selector) {
      m.notes.push_back(
          "toServices k8sServiceSelector is not evaluated (Service labels are "
          "not read)");
      continue;
    }
    std::string ns = ref.ns.empty() ? (p.ns.empty() ? "default" : p.ns) : ref.ns;
    for (const Service& svc : state_.services) {
      if (svc.ns != ns || svc.name != ref.name) continue;
      if (svc.selector && !svc.selector->empty()) {
        m.notes.push_back("toServices " + ns + "/" + ref.name +
                          ": Cilium applies toServices to Services without a selector only");
        continue;
      }
      for (const EndpointSlice& s : state_.endpoint_slices)
        if (s.ns == ns && s.service == ref.name)
          for (const IpAddr& ip : s.addresses)
            m.cidrs.push_back(IpMatcher{{Cidr{ip, static_cast<uint8_t>(ip.bits())}}, {}});
    }
  }
}

namespace {

std::shared_ptr<const re2::RE2> http_expression(const std::string& text, bool& invalid) {
  if (text.empty()) return nullptr;
  re2::RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(text, o);
  if (!re->ok()) invalid = true;
  return re;
}

CiliumHttpMatch compile_http(const CiliumHttpRule& h) {
  CiliumHttpMatch m;
  m.method = http_expression(h.method, m.invalid);
  m.path = http_expression(h.path, m.invalid);
  m.host = http_expression(h.host, m.invalid);
  m.header_conditions = h.header_conditions;
  m.line = h.line;
  return m;
}

bool full_match(const std::shared_ptr<const re2::RE2>& re, std::string_view text) {
  return !re || re2::RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re);
}

// Cilium's matchPattern: `*` alone is every name; elsewhere any run of DNS characters.
bool fqdn_matches(std::string_view pattern, std::string_view name) {
  if (pattern == "*") return true;
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == name;
  if (!name.starts_with(pattern.substr(0, star))) return false;
  name.remove_prefix(star);
  pattern.remove_prefix(star + 1);
  for (size_t i = 0;; ++i) {
    if (fqdn_matches(pattern, name.substr(i))) return true;
    if (i >= name.size() || name[i] == '.') return false;
  }
}

}  // namespace

// Ports. toPorts entries are alternatives; an entry without ports is every port.
void CiliumCompiler::add_ports(const CiliumRule& rule, CompiledRule& cr, CiliumMatch& m) {
  for (const CiliumPortRule& pr : *rule.to_ports)
    if (!pr.l7.empty()) m.l7 = true;
  for (const CiliumPortRule& pr : *rule.to_ports) {
    CompiledRule entry;  // this entry's ports alone, for the L7 filter
    entry.all_ports = pr.ports.empty();
    if (pr.ports.empty()) cr.all_ports = true;
    size_t first = cr.ports.size();
    for (const CiliumPort& port : pr.ports) {
      if (port.kind == CiliumPort::Kind::NotL4) continue;
      std::vector<Protocol> protos;
      if (port.protocol)
        protos = {*port.protocol};
      else
        protos = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};
      if (port.kind == CiliumPort::Kind::Named) {
        CompiledPort c;
        c.kind = CompiledPort::Kind::Named;
        c.name = port.name;
        c.protocol = protos.front();
        c.named_any_protocol = !port.protocol;
        cr.ports.push_back(std::move(c));
        continue;
      }
      for (Protocol proto : protos) {
        CompiledPort c;
        c.protocol = proto;
        c.kind = port.kind == CiliumPort::Kind::All ? CompiledPort::Kind::Any
                                                    : CompiledPort::Kind::Range;
        c.lo = port.port;
        c.hi = port.end_port;
        cr.ports.push_back(std::move(c));
      }
    }
    if (!m.l7) continue;
    CiliumL7Entry e;
    e.all_ports = entry.all_ports;
    e.ports.assign(cr.ports.begin() + static_cast<std::ptrdiff_t>(first), cr.ports.end());
    e.l7 = !pr.l7.empty();
    for (const CiliumL7& l7 : pr.l7)
      for (const CiliumHttpRule& h : l7.http) e.http.push_back(compile_http(h));
    m.l7_entries.push_back(std::move(e));
  }
}

CompiledRule CiliumCompiler::compile_rule(const CiliumPolicy& p, const CiliumRule& rule,
                                          RuleAction action, std::string name) {
  CompiledRule cr;
  cr.action = action;
  cr.line = rule.line;
  cr.name = std::move(name);
  cr.peers = Bits(n_);
  auto m = std::make_unique<CiliumMatch>();
  m->fixed = Bits(n_);
  bool all = false;
  add_peers(p, rule, *m, all);
  add_services(p, rule, *m);
  for (const std::string& f : rule.fqdns) {
    std::string lower = f;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!lower.empty() && lower.back() == '.' && lower != ".") lower.pop_back();
    m->fqdns.push_back(std::move(lower));
  }
  for (const std::string& u : rule.unevaluated) m->notes.push_back(u + " is not evaluated");
  bool l3 = rule.endpoints || rule.nodes || rule.entities || rule.cidrs || rule.services ||
            !rule.fqdns.empty() || !rule.unevaluated.empty();
  bool l4 = rule.to_ports && !rule.to_ports->empty();
  cr.all_ports = !l4;
  if (l4) add_ports(rule, cr, *m);
  if (m->l7) m->notes.push_back("L7 rules apply on this port: the proxy filters requests");
  // Ports without peers: every peer. Neither peers nor ports (`- {}`): no peer, yet the
  // section isolates. ICMP only: no TCP/UDP/SCTP connection.
  if (!l3 && l4) all = true;
  if (rule.icmp_only) {
    *m = CiliumMatch{};
    m->fixed = Bits(n_);
    cr.peers = Bits(n_);
    cr.cilium = m.get();
    e_.cilium_matches_.push_back(std::move(m));
  } else if (all) {
    cr.all_peers = true;
    cr.peers = Bits(n_, true);
  } else {
    cr.peers = m->fixed;
    if (m->remote_node) cr.peers |= e_.host_network_;  // same-node cells: see peer_matches
    cr.cilium = m.get();
    cr.cilium_relative = m->host != m->remote_node;
    e_.cilium_matches_.push_back(std::move(m));
  }
  return cr;
}

// Subjects: pods (not host-network: those are the host) matching the endpointSelector, in
// the policy's namespace for a namespaced policy. Cilium sets the match
// k8s:io.kubernetes.pod.namespace=NS, replacing a user's match of that exact key; a namespace
// requirement spelt otherwise stays beside it.
Bits CiliumCompiler::subjects(const CiliumPolicy& p, const CiliumSpec& spec) {
  LabelSelector written = *spec.endpoint_selector;
  if (!p.clusterwide)
    std::erase_if(written.requirements, [](const SelectorRequirement& r) {
      return r.key == "k8s:io.kubernetes.pod.namespace" && r.op == SelectorOp::In &&
             r.values.size() == 1;
    });
  Resolved sel = resolve(written);
  if (sel.nothing || !sel.reserved.empty()) return Bits(n_);
  LabelSelector s = sel.pods;
  if (!p.clusterwide) s.requirements.push_back({std::string(kNsKey), SelectorOp::In, {p.ns}});
  return pods_matching(s);
}

void CiliumCompiler::add_spec(const CiliumPolicy& p, size_t si, const PolicyRef& ref) {
  const CiliumSpec& spec = p.specs[si];
  Bits subject = subjects(p, spec);
  bool isolates[2] = {
      spec.default_deny_ingress.value_or((spec.ingress && !spec.ingress->empty()) ||
                                         (spec.ingress_deny && !spec.ingress_deny->empty())),
      spec.default_deny_egress.value_or((spec.egress && !spec.egress->empty()) ||
                                        (spec.egress_deny && !spec.egress_deny->empty()))};
  CompiledPolicy allow, deny;
  allow.ref = deny.ref = ref;
  allow.tier = deny.tier = DecisionTier::NetworkPolicy;
  allow.isolates[kIngress] = isolates[kIngress];
  allow.isolates[kEgress] = isolates[kEgress];
  deny.isolates[kIngress] = deny.isolates[kEgress] = false;
  auto add = [&](const std::optional<std::vector<CiliumRule>>& rules, std::string_view list,
                 RuleAction action, std::vector<CompiledRule>& out) {
    if (!rules) return;
    for (size_t i = 0; i < rules->size(); ++i) {
      CompiledRule cr =
          compile_rule(p, (*rules)[i], action, rule_label(si, p.specs.size(), list, i));
      cr.index = static_cast<int>(i);
      out.push_back(std::move(cr));
    }
  };
  add(spec.ingress, "ingress", RuleAction::Allow, allow.ingress);
  add(spec.egress, "egress", RuleAction::Allow, allow.egress);
  add(spec.ingress_deny, "ingressDeny", RuleAction::Deny, deny.ingress);
  add(spec.egress_deny, "egressDeny", RuleAction::Deny, deny.egress);
  auto& policies = e_.policies_;
  uint32_t allow_idx = static_cast<uint32_t>(policies.size());
  bool has_allow[2] = {!allow.ingress.empty() || isolates[kIngress],
                       !allow.egress.empty() || isolates[kEgress]};
  bool has_deny[2] = {!deny.ingress.empty(), !deny.egress.empty()};
  policies.push_back(std::move(allow));
  uint32_t deny_idx = static_cast<uint32_t>(policies.size());
  if (has_deny[kIngress] || has_deny[kEgress]) policies.push_back(std::move(deny));
  subject.for_each([&](size_t id) {
    for (Direction d : {kIngress, kEgress}) {
      SideLists& lists = e_.sides_[d][id];
      if (has_allow[d]) lists.np.push_back(allow_idx);
      if (isolates[d]) lists.isolated = lists.cilium_isolated = true;
      if (has_deny[d]) lists.deny.push_back(deny_idx);
    }
  });
}

void EngineImpl::compile_cilium(const ClusterState& state) {
  if (state.cilium_policies.empty()) return;
  CiliumCompiler(*this, state).run();
}

bool EngineImpl::cilium_peer_matches(const CompiledRule& r, const Other& o,
                                     const Endpoint* subject) const {
  const CiliumMatch& m = *r.cilium;
  if (o.identity >= 0) {
    size_t id = static_cast<size_t>(o.identity);
    // A host-network peer is the host (the subject's node) or a remote node.
    if (m.host != m.remote_node && host_network_.test(id) && subject && o.endpoint) {
      bool same = !subject->node.empty() && o.endpoint->node == subject->node;
      return (same ? m.host : m.remote_node) || m.fixed.test(id);
    }
    return r.peer_set.test(id);
  }
  auto it = std::lower_bound(node_by_ip_.begin(), node_by_ip_.end(), o.ip,
                             [](const auto& e, const IpAddr& v) { return e.first < v; });
  const std::string* node = it != node_by_ip_.end() && it->first == o.ip ? &it->second : nullptr;
  if (m.apiserver &&
      std::find(apiserver_ips_.begin(), apiserver_ips_.end(), o.ip) != apiserver_ips_.end())
    return true;
  if (node) {
    if (m.cluster) return true;
    bool same = subject && subject->node == *node;
    if (same ? m.host : m.remote_node) return true;
    for (const LabelSelector* sel : m.nodes)
      for (const Node& n : nodes_)
        if (n.name == *node && sel->matches(n.labels)) return true;
    return false;
  }
  if (o.ip.v6 ? m.world6 : m.world4) return true;
  for (const IpMatcher& c : m.cidrs)
    if (c.contains(o.ip)) return true;
  if (!m.fqdns.empty()) {
    auto n = std::lower_bound(dns_names_.begin(), dns_names_.end(), o.ip,
                              [](const DnsName& e, const IpAddr& v) { return e.ip < v; });
    for (; n != dns_names_.end() && n->ip == o.ip; ++n)
      for (const std::string& f : m.fqdns)
        if (fqdn_matches(f, n->name)) return true;
  }
  return false;
}

void EngineImpl::learn_dns(std::vector<DnsName> names) const {
  for (DnsName& n : names) dns_names_.push_back(std::move(n));
  std::sort(dns_names_.begin(), dns_names_.end());
  dns_names_.erase(std::unique(dns_names_.begin(), dns_names_.end()), dns_names_.end());
}

// One side's L7 filter: the allow rules of the NetworkPolicy tier that match the connection.
// Without L7 rules among them the proxy is not in the way; otherwise one of them must let the
// request through (no L7 rules on the port, or a matching http rule).
bool EngineImpl::cilium_http_allowed(uint32_t subject, const Endpoint* subject_endpoint,
                                     Direction d, const Other& other, uint16_t port,
                                     const HttpRequest& req, Decision& out) const {
  const std::vector<ContainerPort>* dst_ports =
      d == kIngress && subject_endpoint ? &subject_endpoint->pod.ports : other.dst_ports;
  bool filtered = false;
  for (uint32_t pi : sides_[d][subject].np) {
    const CompiledPolicy& p = policies_[pi];
    for (const CompiledRule& r : d == kIngress ? p.ingress : p.egress) {
      if (r.action != RuleAction::Allow || !port_matches(r, Protocol::TCP, port, dst_ports) ||
          !peer_matches(r, other, subject_endpoint))
        continue;
      if (!r.cilium || !r.cilium->l7) return true;  // an L4 allow: every request
      for (const CiliumL7Entry& e : r.cilium->l7_entries) {
        CompiledRule ports;
        ports.all_ports = e.all_ports;
        ports.ports = e.ports;
        if (!port_matches(ports, Protocol::TCP, port, dst_ports)) continue;
        if (!e.l7) return true;
        filtered = true;
        for (const CiliumHttpMatch& h : e.http) {
          if (h.invalid || h.header_conditions) continue;
          if (full_match(h.method, req.method) && full_match(h.path, req.path) &&
              full_match(h.host, req.host)) {
            out.policy = p.ref;
            out.rule_index = r.index;
            out.rule_name = r.name;
            out.rule_line = h.line ? h.line : r.line;
            return true;
          }
        }
      }
    }
  }
  if (!filtered) return true;
  out.allowed = false;
  out.notes.push_back("no L7 http rule allows " + std::string(req.method) + " " +
                      std::string(req.path) + " on port " + std::to_string(port));
  return false;
}

Verdict EngineImpl::evaluate_http(const Peer& src, const Peer& dst, uint16_t port,
                                  const HttpRequest& req) const {
  Verdict v = evaluate(src, dst, Protocol::TCP, port);
  if (!v.allowed || v.egress.tier == DecisionTier::Loopback) return v;
  Other to, from;
  const Endpoint* src_ep = src.endpoint ? &endpoints_[*src.endpoint] : nullptr;
  const Endpoint* dst_ep = dst.endpoint ? &endpoints_[*dst.endpoint] : nullptr;
  if (dst_ep) {
    to.identity = endpoint_identity_[*dst.endpoint];
    to.dst_ports = &dst_ep->pod.ports;
    to.endpoint = dst_ep;
  } else {
    to.ip = dst.ip;
  }
  if (src_ep) {
    from.identity = endpoint_identity_[*src.endpoint];
    from.endpoint = src_ep;
  } else {
    from.ip = src.ip;
  }
  if (src_ep && v.egress.tier == DecisionTier::NetworkPolicy &&
      !cilium_http_allowed(endpoint_identity_[*src.endpoint], src_ep, kEgress, to, port, req,
                           v.egress))
    v.allowed = false;
  if (dst_ep && v.ingress.tier == DecisionTier::NetworkPolicy &&
      !cilium_http_allowed(endpoint_identity_[*dst.endpoint], dst_ep, kIngress, from, port, req,
                           v.ingress))
    v.allowed = false;
  // Istio's sidecar (or ztunnel) of the destination decides after the network has let the
  // connection through.
  if (v.allowed && dst_ep && !istio_policies_.empty() &&
      !istio_http_allowed(src, *dst.endpoint, port, req, v.ingress))
    v.allowed = false;
  return v;
}

}  // namespace stockade::engine_internal

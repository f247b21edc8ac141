#include <algorithm>
#include <cstdint>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "core/side_by_side.h"
#include "engine/calico_match.h"
#include "engine/cilium_match.h"
#include "engine/engine_impl.h"

namespace stockade {

std::string_view to_string(DecisionTier t) {
  switch (t) {
    case DecisionTier::Loopback:
      return "loopback";
    case DecisionTier::NotEvaluated:
      return "not evaluated";
    case DecisionTier::Admin:
      return "admin";
    case DecisionTier::NetworkPolicy:
      return "network policy";
    case DecisionTier::Baseline:
      return "baseline";
    case DecisionTier::Default:
      return "default";
  }
  return "?";
}

std::unique_ptr<PolicyEngine> PolicyEngine::compile(const ClusterState& state,
                                                    std::vector<Endpoint> endpoints) {
  return std::make_unique<engine_internal::EngineImpl>(state, std::move(endpoints));
}

namespace engine_internal {

namespace {

// Orders addresses by family then value, so that a CIDR is one contiguous range.
bool ip_less(const IpAddr& a, const IpAddr& b) {
  return std::tie(a.v6, a.hi, a.lo) < std::tie(b.v6, b.hi, b.lo);
}

IpAddr last_address(const Cidr& c) {
  IpAddr ip = c.network;
  int host_bits = ip.bits() - c.prefix;
  if (!ip.v6) {
    if (host_bits > 0) ip.lo |= (host_bits >= 32 ? 0xffffffffULL : ((1ULL << host_bits) - 1));
  } else if (host_bits >= 64) {
    ip.lo = ~uint64_t{0};
    ip.hi |= host_bits >= 128 ? ~uint64_t{0} : ((1ULL << (host_bits - 64)) - 1);
  } else if (host_bits > 0) {
    ip.lo |= (1ULL << host_bits) - 1;
  }
  return ip;
}

std::string matcher_key(const IpMatcher& m) {
  std::string k;
  for (const Cidr& c : m.include) k += c.str() + ",";
  k += "-";
  for (const Cidr& c : m.except) k += c.str() + ",";
  return k;
}

PolicyRef ref_of(const NetworkPolicy& p) {
  return PolicyRef{"NetworkPolicy", p.ns, p.name, p.source};
}
PolicyRef ref_of(const ClusterPolicy& p) {
  return PolicyRef{std::string(to_string(p.kind)), "", p.name, p.source};
}

}  // namespace

EngineImpl::EngineImpl(const ClusterState& state, std::vector<Endpoint> endpoints)
    : endpoints_(std::move(endpoints)), nodes_(state.nodes) {
  cilium_keys_ = cilium_identity_keys(state);
  build_identities(state);
  compile_policies(state);
}

// The look-ups by node, name and address. They read only the endpoints and the nodes, and
// nothing reads them while the policies compile: build_identities runs this beside the
// address classes.
void EngineImpl::index_endpoints() {
  for (const Node& n : nodes_) {
    auto& a = node_addresses_[n.name];
    a.insert(a.end(), n.addresses.begin(), n.addresses.end());
  }
  for (const Endpoint& e : endpoints_)
    if (e.pod.host_network && !e.node.empty()) {
      auto& a = node_addresses_[e.node];
      a.insert(a.end(), e.ips.begin(), e.ips.end());
    }
  endpoint_by_name_.reserve(endpoints_.size());
  for (uint32_t i = 0; i < endpoints_.size(); ++i) {
    endpoint_by_name_.emplace(endpoints_[i].id(), i);
    if (!endpoints_[i].pod.host_network)
      for (const IpAddr& ip : endpoints_[i].ips) endpoint_by_ip_.emplace_back(ip, i);
  }
  std::stable_sort(endpoint_by_ip_.begin(), endpoint_by_ip_.end(),
                   [](const auto& a, const auto& b) { return ip_less(a.first, b.first); });
}

uint32_t EngineImpl::ip_matcher(IpMatcher m) {
  std::string key = matcher_key(m);
  auto it = ip_matcher_index_.find(key);
  if (it != ip_matcher_index_.end()) return it->second;
  uint32_t idx = static_cast<uint32_t>(ip_matchers_.size());
  ip_matchers_.push_back(std::move(m));
  ip_matcher_index_.emplace(std::move(key), idx);
  return idx;
}

// Endpoint addresses sorted, for the address matchers' range searches.
struct EngineImpl::AddressIndex {
  std::vector<std::pair<IpAddr, uint32_t>> by_ip;  // (address, endpoint)
  std::vector<uint32_t> no_address;                // endpoints without one: in no matcher
  // Calls f(endpoint) for each endpoint with an address in `m` (once per address).
  template <class F>
  void for_each_member(const IpMatcher& m, F&& f) const {
    for (const Cidr& c : m.include) {
      IpAddr first = c.network, last = last_address(c);
      auto lo =
          std::lower_bound(by_ip.begin(), by_ip.end(), first,
                           [](const auto& e, const IpAddr& v) { return ip_less(e.first, v); });
      for (auto it = lo; it != by_ip.end() && !ip_less(last, it->first); ++it)
        if (m.contains(it->first)) f(it->second);
    }
  }
  // The [begin, end) of by_ip within a CIDR.
  std::pair<size_t, size_t> range(const Cidr& c) const {
    auto less = [](const auto& e, const IpAddr& v) { return ip_less(e.first, v); };
    auto lo = std::lower_bound(by_ip.begin(), by_ip.end(), c.network, less);
    const IpAddr last = last_address(c);
    auto hi = std::upper_bound(lo, by_ip.end(), last,
                               [](const IpAddr& v, const auto& e) { return ip_less(v, e.first); });
    return {static_cast<size_t>(lo - by_ip.begin()), static_cast<size_t>(hi - by_ip.begin())};
  }
  // Calls f(endpoint) for each endpoint with no address in `m`, when that is cheaper than
  // visiting its members (a matcher that holds most addresses: the pod CIDR less one node's
  // range); returns false, having called nothing, when it is not. An endpoint is a candidate
  // when one of its addresses is outside the include ranges or inside an except range; it is
  // outside `m` when none of its addresses is in it (a dual-stack pod's other address may be).
  // Endpoints without an address are outside every matcher.
  template <class F>
  bool for_each_outside(const IpMatcher& m, const std::vector<Endpoint>& endpoints,
                        std::vector<uint32_t>& seen, uint32_t mark, F&& f) const {
    std::vector<std::pair<size_t, size_t>> inside;
    for (const Cidr& c : m.include) inside.push_back(range(c));
    std::sort(inside.begin(), inside.end());
    size_t covered = 0, end = 0;  // the union of the include ranges
    for (const auto& [b, e] : inside) {
      covered += e > std::max(b, end) ? e - std::max(b, end) : 0;
      end = std::max(end, e);
    }
    if (covered * 2 <= by_ip.size()) return false;
    auto visit = [&](size_t i) {
      const uint32_t e = by_ip[i].second;
      if (seen[e] == mark) return;
      seen[e] = mark;
      for (const IpAddr& ip : endpoints[e].ips)
        if (m.contains(ip)) return;
      f(e);
    };
    size_t at = 0;
    for (const auto& [b, e] : inside) {
      for (; at < b; ++at) visit(at);
      at = std::max(at, e);
    }
    for (; at < by_ip.size(); ++at) visit(at);
    for (const Cidr& c : m.except) {
      auto [b, e] = range(c);
      for (size_t i = b; i < e; ++i) visit(i);
    }
    for (uint32_t e : no_address) f(e);
    return true;
  }
};

void EngineImpl::build_identities(const ClusterState& state) {
  // 1. Every address matcher the policies use, so endpoints can be classed by them.
  for (const NetworkPolicy& p : state.network_policies)
    for (const auto* rules : {&p.ingress, &p.egress})
      for (const NetworkPolicyRule& r : *rules)
        for (const NetworkPolicyPeer& peer : r.peers)
          if (peer.ip_block) ip_matcher(IpMatcher{{peer.ip_block->cidr}, peer.ip_block->except});
  for (const ClusterPolicy& p : state.cluster_policies)
    for (const auto* rules : {&p.ingress, &p.egress})
      for (const ClusterPolicyRule& r : *rules)
        for (const ClusterPeer& peer : r.peers)
          if (peer.kind == ClusterPeer::Kind::Networks) ip_matcher(IpMatcher{peer.networks, {}});
  calico_ip_matchers(state);
  AddressIndex addresses;
  for (uint32_t i = 0; i < endpoints_.size(); ++i) {
    for (const IpAddr& ip : endpoints_[i].ips) addresses.by_ip.emplace_back(ip, i);
    if (endpoints_[i].ips.empty()) addresses.no_address.push_back(i);
  }
  std::sort(addresses.by_ip.begin(), addresses.by_ip.end(),
            [](const auto& a, const auto& b) { return ip_less(a.first, b.first); });
  // 2. Endpoints classed by the matchers their addresses fall in; beside it, the endpoints'
  // look-ups (independent of identities and policies).
  std::vector<uint32_t> ip_class;
  side_by_side_if(
      endpoints_.size() >= kTwoThreadsFrom, [&] { ip_class = address_classes(addresses); },
      [&] { index_endpoints(); });
  // 3. Namespaces: those of the input, then any that only endpoints or policies name.
  std::map<std::string, uint32_t> ns_index;
  // Looked up before inserting (an emplace allocates its node first), and once per run of
  // endpoints or policies of one namespace (they come sorted by namespace).
  const std::string* last = nullptr;
  auto add_ns = [&](const std::string& name) {
    if (last && *last == name) return;
    last = &name;
    if (ns_index.count(name)) return;
    ns_index.emplace(name, static_cast<uint32_t>(namespaces_.size()));
    namespaces_.push_back(name);
    namespace_labels_.push_back(state.namespace_labels(name));
  };
  for (const Namespace& n : state.namespaces) add_ns(n.name);
  for (const Endpoint& e : endpoints_) add_ns(e.ns);
  for (const NetworkPolicy& p : state.network_policies) add_ns(p.ns);
  // 4. Identities: endpoints no policy can tell apart share one.
  assign_identities(ns_index, ip_class);
  index_identities(addresses);
}

// Partition refinement: each matcher splits the classes it cuts, so that two endpoints share a
// class exactly when they are in the same matchers. A class number per endpoint, not a list of
// matchers: a wide ipBlock (the pod CIDR minus a node's range) holds nearly every pod, and
// hundreds of them made those lists quadratic.
std::vector<uint32_t> EngineImpl::address_classes(const AddressIndex& addresses) const {
  std::vector<uint32_t> ip_class(endpoints_.size(), 0);
  // Per class: its size, and for the matcher at hand how many of its endpoints it holds and
  // the class they move to. Each real split adds one class, so there are at most as many
  // classes as endpoints (plus the first).
  std::vector<uint32_t> size(endpoints_.size() + 1, 0), held(size.size(), 0),
      moved_to(size.size(), 0), seen_in(size.size(), UINT32_MAX);
  std::vector<uint32_t> endpoint_seen(endpoints_.size(), UINT32_MAX), members;
  size[0] = static_cast<uint32_t>(endpoints_.size());
  uint32_t classes = 1;
  for (uint32_t m = 0; m < ip_matchers_.size(); ++m) {
    members.clear();
    auto add = [&](uint32_t e) {
      members.push_back(e);
      uint32_t c = ip_class[e];
      if (seen_in[c] != m) seen_in[c] = m, held[c] = 0;
      ++held[c];
    };
    // A matcher splits the classes as its complement does: whichever is smaller is visited.
    if (!addresses.for_each_outside(ip_matchers_[m], endpoints_, endpoint_seen, m, add))
      addresses.for_each_member(ip_matchers_[m], [&](uint32_t e) {
        if (endpoint_seen[e] == m) return;
        endpoint_seen[e] = m;
        add(e);
      });
    constexpr uint32_t kKeep = UINT32_MAX - 2, kSplit = UINT32_MAX - 1;
    for (uint32_t e : members) {
      uint32_t c = ip_class[e];
      if (seen_in[c] == m) {  // first member of c: split it, unless it is all in m
        seen_in[c] = held[c] == size[c] ? kKeep : kSplit;
        if (seen_in[c] == kSplit) moved_to[c] = classes++;
      }
      if (seen_in[c] == kKeep) continue;
      --size[c];
      ++size[moved_to[c]];
      ip_class[e] = moved_to[c];
    }
  }
  return ip_class;
}

// Identities: endpoints no policy can tell apart share one, numbered in the order of their
// first endpoint. A key never spans two namespaces (it starts with the namespace), so when the
// endpoints' namespaces are contiguous (they come sorted by namespace) two halves cut at a
// namespace's boundary are numbered on two threads, the second's after the first's: the same
// numbers as one pass.
void EngineImpl::assign_identities(const std::map<std::string, uint32_t>& ns_index,
                                   const std::vector<uint32_t>& ip_class) {
  const size_t n = endpoints_.size();
  std::vector<uint32_t> ns(n);
  for (size_t i = 0; i < n; ++i)
    ns[i] = i > 0 && endpoints_[i].ns == endpoints_[i - 1].ns ? ns[i - 1]
                                                              : ns_index.at(endpoints_[i].ns);
  size_t cut = n;
  if (n >= kTwoThreadsFrom) {
    cut = n / 2;
    while (cut < n && ns[cut] == ns[cut - 1]) ++cut;
    std::vector<uint8_t> in_first(ns_index.size());
    for (size_t i = 0; i < cut; ++i) in_first[ns[i]] = 1;
    for (size_t i = cut; i < n && cut < n; ++i)
      if (in_first[ns[i]]) cut = n;  // not contiguous: one pass
  }
  IdentityPart first, second;
  side_by_side_if(
      cut < n, [&] { first = identity_part(ns, ip_class, 0, cut); },
      [&] { second = identity_part(ns, ip_class, cut, n); });
  identities_ = std::move(first.identities);
  endpoint_identity_ = std::move(first.of);
  const uint32_t offset = static_cast<uint32_t>(identities_.size());
  identities_.insert(identities_.end(), second.identities.begin(), second.identities.end());
  for (uint32_t id : second.of) endpoint_identity_.push_back(offset + id);
}

EngineImpl::IdentityPart EngineImpl::identity_part(const std::vector<uint32_t>& ns_of,
                                                   const std::vector<uint32_t>& ip_class,
                                                   size_t begin, size_t end) const {
  IdentityPart out;
  std::unordered_map<std::string, uint32_t> by_key;
  out.of.resize(end - begin);
  std::string key;
  for (size_t i = begin; i < end; ++i) {
    const Endpoint& e = endpoints_[i];
    const uint32_t ns = ns_of[i];
    // Length-prefixed fields: no two different endpoints can produce the same key.
    auto put = [&key](const void* p, size_t n) { key.append(static_cast<const char*>(p), n); };
    auto put_str = [&](const std::string& v) {
      uint32_t n = static_cast<uint32_t>(v.size());
      put(&n, sizeof n);
      key += v;
    };
    key.clear();
    put(&ns, sizeof ns);
    uint32_t count = static_cast<uint32_t>(e.pod.labels.size());
    put(&count, sizeof count);
    for (const auto& [k, v] : e.pod.labels) {
      put_str(k);
      put_str(v);
    }
    count = static_cast<uint32_t>(e.pod.ports.size());
    put(&count, sizeof count);
    for (const ContainerPort& p : e.pod.ports) {
      put_str(p.name);
      put(&p.port, sizeof p.port);
      put(&p.protocol, sizeof p.protocol);
    }
    key += e.pod.host_network ? 'H' : 'P';
    if (e.pod.host_network) put_str(e.node);
    put(&ip_class[i], sizeof ip_class[i]);
    if (!cilium_keys_.empty()) put_str(cilium_keys_[i]);
    auto [it, inserted] = by_key.emplace(key, static_cast<uint32_t>(out.identities.size()));
    if (inserted)
      out.identities.push_back(Identity{ns, static_cast<uint32_t>(i), 0, e.pod.host_network});
    out.of[i - begin] = it->second;
    out.identities[it->second].size++;
  }
  return out;
}

// The indexes over identities: per namespace, host network and their nodes, labels, address
// matchers; and the label index over namespaces.
void EngineImpl::index_identities(const AddressIndex& addresses) {
  const size_t n = identities_.size();
  identities_in_namespace_.assign(namespaces_.size(), Bits(n));
  namespace_identities_.assign(namespaces_.size(), {});
  host_network_ = Bits(n);
  identity_node_.assign(n, nullptr);
  ip_matcher_identities_.assign(ip_matchers_.size(), Bits(n));
  // The label indexes and the address matchers' identities write nothing in common.
  side_by_side_if(
      endpoints_.size() >= kTwoThreadsFrom, [&] { index_labels(); },
      [&] { index_ip_matchers(addresses); });
}

// Per identity: its namespace, host network and node, labels; and the namespaces' labels.
void EngineImpl::index_labels() {
  const size_t n = identities_.size();
  // The last Node of a name wins, as the linear search it replaces did.
  std::unordered_map<std::string_view, const Node*> node_by_name;
  for (const Node& node : nodes_) node_by_name[node.name] = &node;
  for (uint32_t id = 0; id < n; ++id) {
    const Identity& ident = identities_[id];
    const Endpoint& rep = endpoints_[ident.representative];
    identities_in_namespace_[ident.ns].set(id);
    namespace_identities_[ident.ns].push_back(id);
    if (ident.host_network) {
      host_network_.set(id);
      auto it = node_by_name.find(rep.node);
      if (it != node_by_name.end()) identity_node_[id] = it->second;
    }
    for (const auto& [k, v] : rep.pod.labels) {
      pod_index_.key[k].push_back(id);
      pod_index_.value[k][v].push_back(id);
    }
  }
  namespace_words_.assign(namespaces_.size(), {0, 0});
  for (size_t i = 0; i < namespaces_.size(); ++i)
    if (const auto& ids = namespace_identities_[i]; !ids.empty())
      namespace_words_[i] = {ids.front() / 64, ids.back() / 64 - ids.front() / 64 + 1};
  const size_t nn = namespaces_.size();
  for (uint32_t i = 0; i < nn; ++i) {
    for (const auto& [k, v] : namespace_labels_[i]) {
      ns_index_.key[k].push_back(i);
      ns_index_.value[k][v].push_back(i);
    }
  }
}

// Per address matcher, the identities it holds.
void EngineImpl::index_ip_matchers(const AddressIndex& addresses) {
  const size_t n = identities_.size();
  // Endpoints of an identity share their address class: a matcher holds all of them or none.
  std::vector<uint32_t> seen(endpoints_.size(), UINT32_MAX);
  for (uint32_t m = 0; m < ip_matchers_.size(); ++m) {
    Bits& ids = ip_matcher_identities_[m];
    auto outside = [&](uint32_t e) { ids.reset(endpoint_identity_[e]); };
    ids = Bits(n, true);
    if (!addresses.for_each_outside(ip_matchers_[m], endpoints_, seen, m, outside)) {
      ids = Bits(n);
      addresses.for_each_member(ip_matchers_[m],
                                [&](uint32_t e) { ids.set(endpoint_identity_[e]); });
    }
  }
}

Bits EngineImpl::selected_identities(const SelectorQuery& q) const {
  Bits b(identities_.size());
  if (q.ip_block) {
    // Pod addresses only: a host-network endpoint's address is its node's.
    const Cidr& c = q.ip_block->cidr;
    IpAddr last = last_address(c);
    auto it = std::lower_bound(endpoint_by_ip_.begin(), endpoint_by_ip_.end(), c.network,
                               [](const auto& e, const IpAddr& v) { return ip_less(e.first, v); });
    for (; it != endpoint_by_ip_.end() && !ip_less(last, it->first); ++it)
      if (q.ip_block->contains(it->first)) b.set(endpoint_identity_[it->second]);
  } else {
    Bits own(identities_.size());
    if (!q.namespace_selector) {
      auto it = std::find(namespaces_.begin(), namespaces_.end(), q.ns);
      if (it != namespaces_.end()) own = identities_in_namespace_[it - namespaces_.begin()];
    }
    b = pod_set(
        q.namespace_selector, &own, q.pod_selector,
        [&](const LabelSelector& s) { return namespace_identities(s); },
        [&](const LabelSelector& s) { return label_bits(s, false); });
  }
  return b;
}

Selection EngineImpl::select(const SelectorQuery& q) const {
  const Bits b = selected_identities(q);
  Selection out;
  b.for_each([&](size_t id) {
    out.endpoints += identities_[id].size;
    out.representatives.push_back(identities_[id].representative);
  });
  std::sort(out.representatives.begin(), out.representatives.end());
  return out;
}

std::vector<uint8_t> EngineImpl::selected_endpoints(const SelectorQuery& q) const {
  const Bits b = selected_identities(q);
  std::vector<uint8_t> out(endpoints_.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = b.test(endpoint_identity_[i]);
  return out;
}

void EngineImpl::compile_policies(const ClusterState& state) {
  const size_t n = identities_.size();
  std::map<std::string, uint32_t> ns_of;
  for (uint32_t i = 0; i < namespaces_.size(); ++i) ns_of[namespaces_[i]] = i;

  // Evaluation order: admin tier by (priority, ANP before CNP, name); NetworkPolicies;
  // baseline tier: CNP Baseline by (priority, name), then the BANP.
  std::vector<const ClusterPolicy*> admin, baseline;
  for (const ClusterPolicy& p : state.cluster_policies)
    (p.tier == PolicyTier::Admin ? admin : baseline).push_back(&p);
  auto order = [](const ClusterPolicy* a, const ClusterPolicy* b) {
    bool a_banp = a->kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
    bool b_banp = b->kind == ClusterPolicyKind::BaselineAdminNetworkPolicy;
    return std::make_tuple(a_banp, a->priority, a->kind, a->name) <
           std::make_tuple(b_banp, b->priority, b->kind, b->name);
  };
  std::sort(admin.begin(), admin.end(), order);
  std::sort(baseline.begin(), baseline.end(), order);

  for (Direction d : {kIngress, kEgress}) sides_[d].assign(n, SideLists{});
  for (const ClusterPolicy* p : admin) compile_cluster_policy(*p);
  compile_network_policies(state.network_policies, ns_of);
  compile_cilium(state);
  compile_istio(state);
  for (const ClusterPolicy* p : baseline) compile_cluster_policy(*p);
  // Policies added without compact() (a compiler that does not call it) are compacted here.
  for (CompiledPolicy& p : policies_) compact(p);
  compile_calico(state);
}

Bits EngineImpl::cluster_pod_set(const ClusterPodSet& s) {
  return pod_set(
      &s.namespace_selector, nullptr, s.pod_selector ? &*s.pod_selector : nullptr,
      [&](const LabelSelector& x) -> const Bits& { return namespace_selector_bits(x); },
      [&](const LabelSelector& x) -> const Bits& { return pod_selector_bits(x); });
}

void EngineImpl::compile_cluster_policy(const ClusterPolicy& p) {
  const size_t n = identities_.size();
  CompiledPolicy cp;
  cp.ref = ref_of(p);
  cp.tier = p.tier == PolicyTier::Admin ? DecisionTier::Admin : DecisionTier::Baseline;
  cp.priority = p.priority;
  cp.cnp = p.kind == ClusterPolicyKind::ClusterNetworkPolicy;
  for (Direction d : {kIngress, kEgress}) {
    const auto& rules = d == kIngress ? p.ingress : p.egress;
    auto& out = d == kIngress ? cp.ingress : cp.egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      const ClusterPolicyRule& r = rules[i];
      CompiledRule cr;
      cr.action = r.action;
      cr.index = static_cast<int>(i);
      cr.line = r.line;
      cr.name = r.name;
      cr.peers = Bits(n);
      for (const ClusterPeer& peer : r.peers) {
        switch (peer.kind) {
          case ClusterPeer::Kind::Namespaces:
          case ClusterPeer::Kind::Pods:
            cr.peers |= cluster_pod_set(peer.pods);
            break;
          case ClusterPeer::Kind::Nodes:
            cr.node_selectors.push_back(&peer.node_selector);
            for (uint32_t id = 0; id < n; ++id)
              if (identity_node_[id] && peer.node_selector.matches(identity_node_[id]->labels))
                cr.peers.set(id);
            break;
          case ClusterPeer::Kind::Networks: {
            uint32_t m = ip_matcher(IpMatcher{peer.networks, {}});
            cr.ip_matchers.push_back(m);
            cr.peers |= ip_matcher_identities_[m];
            break;
          }
          case ClusterPeer::Kind::DomainNames:
            add_domain_names(cr, peer.domain_names);
            break;
        }
      }
      compile_ports(r.ports, cr);
      out.push_back(std::move(cr));
    }
  }
  uint32_t idx = static_cast<uint32_t>(policies_.size());
  Bits subject = cluster_pod_set(p.subject);
  subject.for_each([&](size_t id) {
    auto& lists_in = sides_[kIngress][id];
    auto& lists_eg = sides_[kEgress][id];
    auto& in = cp.tier == DecisionTier::Admin ? lists_in.admin : lists_in.baseline;
    auto& eg = cp.tier == DecisionTier::Admin ? lists_eg.admin : lists_eg.baseline;
    if (!cp.ingress.empty()) in.push_back(idx);
    if (!cp.egress.empty()) eg.push_back(idx);
  });
  compact(cp);
  policies_.push_back(std::move(cp));
}

// NetworkPolicies compile independently of each other: two halves on two threads, each with
// its own selector caches, then added in their order (the policies' numbers and every side's
// lists are what one pass gives).
void EngineImpl::compile_network_policies(const std::vector<NetworkPolicy>& policies,
                                          const std::map<std::string, uint32_t>& ns_of) {
  const size_t n = policies.size();
  const size_t half = n >= kPoliciesOnTwoThreadsFrom ? n / 2 : n;
  NetworkPolicyPart first, second;
  auto compile_range = [&](size_t begin, size_t end, NetworkPolicyPart& part) {
    part.policies.reserve(end - begin);
    for (size_t i = begin; i < end; ++i)
      part.policies.push_back(compile_network_policy(policies[i], ns_of.at(policies[i].ns), part));
  };
  side_by_side_if(
      half < n, [&] { compile_range(0, half, first); }, [&] { compile_range(half, n, second); });
  policies_.reserve(policies_.size() + n);
  for (auto [part, begin] : {std::pair{&first, size_t{0}}, std::pair{&second, half}})
    for (size_t j = 0; j < part->policies.size(); ++j) {
      const NetworkPolicy& p = policies[begin + j];
      const uint32_t idx = static_cast<uint32_t>(policies_.size());
      for (uint32_t k = part->subjects_begin[j]; k < part->subjects_begin[j + 1]; ++k)
        for (auto [d, affects] :
             {std::pair{kIngress, p.affects_ingress}, std::pair{kEgress, p.affects_egress}})
          if (affects) {
            sides_[d][part->subjects[k]].np.push_back(idx);
            sides_[d][part->subjects[k]].isolated = true;
          }
      policies_.push_back(std::move(part->policies[j]));
    }
}

// One NetworkPolicy, compiled; the identities it selects are appended to `part.subjects`.
// Reads the engine only (its selector caches are the part's), so that two threads can compile
// two parts.
CompiledPolicy EngineImpl::compile_network_policy(const NetworkPolicy& p, uint32_t ns,
                                                  NetworkPolicyPart& part) const {
  const size_t n = identities_.size();
  auto ns_cached = [&](const LabelSelector& s) -> const Bits& {
    std::string key = s.canonical();
    auto it = part.ns_cache.find(key);
    if (it != part.ns_cache.end()) return it->second;
    return part.ns_cache.emplace(std::move(key), namespace_identities(s)).first->second;
  };
  auto pod_cached = [&](const LabelSelector& s) -> const Bits& {
    std::string key = s.canonical();
    auto it = part.pod_cache.find(key);
    if (it != part.pod_cache.end()) return it->second;
    return part.pod_cache.emplace(std::move(key), label_bits(s, false)).first->second;
  };
  CompiledPolicy cp;
  cp.ref = ref_of(p);
  cp.tier = DecisionTier::NetworkPolicy;
  for (Direction d : {kIngress, kEgress}) {
    const auto& rules = d == kIngress ? p.ingress : p.egress;
    auto& out = d == kIngress ? cp.ingress : cp.egress;
    for (size_t i = 0; i < rules.size(); ++i) {
      const NetworkPolicyRule& r = rules[i];
      CompiledRule cr;
      cr.action = RuleAction::Allow;
      cr.index = static_cast<int>(i);
      cr.line = r.line;
      const bool local = std::all_of(r.peers.begin(), r.peers.end(), [](const auto& peer) {
        return !peer.ip_block && !peer.namespace_selector;
      });
      if (r.peers.empty()) {
        cr.all_peers = true;
        cr.peers = Bits(n, true);
      } else if (local) {  // pods of its own namespace only
        Bits acc(size_t{namespace_words_[ns].second} * 64);
        for (const NetworkPolicyPeer& peer : r.peers)
          acc |= local_pod_set(peer.pod_selector ? &*peer.pod_selector : nullptr, ns);
        cr.peer_set = SparseBits(n, namespace_words_[ns].first, acc.data(), acc.word_count());
      } else {
        cr.peers = Bits(n);
        for (const NetworkPolicyPeer& peer : r.peers) {
          if (peer.ip_block) {
            // Registered by build_identities (every NetworkPolicy's ipBlocks): a look-up.
            const uint32_t m = ip_matcher_index_.at(
                matcher_key(IpMatcher{{peer.ip_block->cidr}, peer.ip_block->except}));
            cr.ip_matchers.push_back(m);
            cr.peers |= ip_matcher_identities_[m];
            continue;
          }
          cr.peers |=
              pod_set(peer.namespace_selector ? &*peer.namespace_selector : nullptr,
                      &identities_in_namespace_[ns],
                      peer.pod_selector ? &*peer.pod_selector : nullptr, ns_cached, pod_cached);
        }
      }
      compile_ports(r.ports, cr);
      out.push_back(std::move(cr));
    }
  }
  const uint32_t offset = namespace_words_[ns].first * 64;
  local_pod_set(&p.pod_selector, ns).for_each([&](size_t local_id) {
    part.subjects.push_back(offset + static_cast<uint32_t>(local_id));
  });
  part.subjects_begin.push_back(static_cast<uint32_t>(part.subjects.size()));
  compact(cp);
  return cp;
}

void EngineImpl::compact(CompiledPolicy& p) {
  for (auto* rules : {&p.ingress, &p.egress})
    for (CompiledRule& r : *rules)
      if (r.peers.size() != 0 || r.peer_set.size() == 0) {
        r.peer_set = SparseBits(r.peers);
        r.peers = Bits();
      }
}

bool EngineImpl::peer_matches(const CompiledRule& r, const Other& o,
                              const Endpoint* subject) const {
  if (r.all_peers) return true;
  if (r.cilium) [[unlikely]] {
    if (o.identity >= 0 && !r.cilium_relative)
      return r.peer_set.test(static_cast<size_t>(o.identity));
    return cilium_peer_matches(r, o, subject);
  }
  if (o.identity >= 0) return r.peer_set.test(static_cast<size_t>(o.identity));
  for (uint32_t m : r.ip_matchers)
    if (ip_matchers_[m].contains(o.ip)) return true;
  for (const LabelSelector* sel : r.node_selectors)
    for (const Node& node : nodes_)
      if (std::find(node.addresses.begin(), node.addresses.end(), o.ip) != node.addresses.end() &&
          sel->matches(node.labels))
        return true;
  return r.domain_names >= 0 && domain_name_match(r, o.ip);
}

bool EngineImpl::is_own_node(const Endpoint& subject, const Other& other) const {
  if (subject.node.empty()) return false;
  if (other.endpoint)
    return other.endpoint->pod.host_network && other.endpoint->node == subject.node;
  if (other.identity >= 0) return false;
  auto it = node_addresses_.find(subject.node);
  return it != node_addresses_.end() &&
         std::find(it->second.begin(), it->second.end(), other.ip) != it->second.end();
}

Decision EngineImpl::decide(uint32_t subject, const Endpoint* subject_endpoint, Direction d,
                            const Other& other, Protocol proto, uint16_t port, bool explain) const {
  const SideLists& lists = sides_[d][subject];
  const std::vector<ContainerPort>* dst_ports =
      d == kIngress ? &identity_ports(subject) : other.dst_ports;
  Decision out;
  // Calico's tiers (ANPs, NetworkPolicies and BANPs among them) decide first when the input
  // holds Calico policies; when every tier passes, Cilium's rules and the default follow.
  if (!lists.calico.empty()) {
    if (decide_calico(subject, subject_endpoint, d, other, proto, port, explain, out)) return out;
    if (explain)
      out.notes.push_back("every Calico tier that applies passed it on: the profile allows");
  }
  auto rule_decides = [&](const CompiledPolicy& p, const CompiledRule& r, DecisionTier tier) {
    out.tier = tier;
    out.allowed = r.action == RuleAction::Allow;
    out.rule_index = r.index;
    if (explain) {
      out.policy = p.ref;
      out.rule_name = r.name;
      out.rule_line = r.line;
      // As written: ClusterNetworkPolicy spells Allow "Accept".
      out.action = r.action == RuleAction::Allow && p.cnp ? "Accept" : to_string(r.action);
      if (r.cilium && r.cilium->l7 && r.action == RuleAction::Allow)
        out.notes.push_back("L7 rules apply on this port: the proxy filters requests");
      if (r.domain_names >= 0 && other.identity < 0) domain_name_notes(r, other.ip, out);
    }
  };

  auto any = [](uint32_t, const CompiledRule&) { return false; };
  auto first = [&](const std::vector<uint32_t>& list) {
    return first_match(list, d, other, proto, port, dst_ports, subject_endpoint, any);
  };

  // Admin tier: first matching rule by priority wins; Pass leaves the tier.
  if (Match m = first(lists.admin); m.rule) {
    if (m.rule->action != RuleAction::Pass) {
      rule_decides(policies_[m.policy], *m.rule, DecisionTier::Admin);
      return out;
    }
    if (explain) out.passed_by.push_back(policies_[m.policy].ref);
  }

  // Cilium deny rules: after the admin tier, before every allow of the NetworkPolicy tier.
  if (Match m = first(lists.deny); m.rule) {
    rule_decides(policies_[m.policy], *m.rule, DecisionTier::NetworkPolicy);
    return out;
  }

  // NetworkPolicy tier: isolated endpoints are allowed only what some rule allows (the rules
  // of every policy selecting them, isolating or not: Cilium's allows add up the same way).
  if (lists.isolated) {
    auto isolated_by = [&] {
      for (uint32_t pj : lists.np)
        if (policies_[pj].isolates[d]) out.isolated_by.push_back(policies_[pj].ref);
    };
    if (Match m = first(lists.np); m.rule) {
      rule_decides(policies_[m.policy], *m.rule, DecisionTier::NetworkPolicy);
      if (explain) isolated_by();
      return out;
    }
    out.tier = DecisionTier::NetworkPolicy;
    // Kubernetes: traffic to and from the pod's own node is always allowed. Cilium: from the
    // node (allow-localhost); to it only as a rule allows.
    out.own_node = subject_endpoint && (d == kIngress || !lists.cilium_isolated) &&
                   is_own_node(*subject_endpoint, other);
    out.allowed = out.own_node;
    if (explain) {
      isolated_by();
      // Rules whose match the engine could not evaluate might have allowed it.
      for (uint32_t pi : lists.np)
        for (const CompiledRule& r : d == kIngress ? policies_[pi].ingress : policies_[pi].egress)
          if (r.cilium)
            for (const std::string& note : r.cilium->notes)
              if (!note.starts_with("L7"))
                out.notes.push_back(policies_[pi].ref.name + " " + r.name + ": " + note);
    }
    return out;
  }

  // Baseline tier, only for endpoints no NetworkPolicy selects.
  if (Match m = first(lists.baseline); m.rule) {
    if (m.rule->action == RuleAction::Pass) {
      if (explain) out.passed_by.push_back(policies_[m.policy].ref);
      out.tier = DecisionTier::Default;
      out.allowed = true;
      return out;
    }
    rule_decides(policies_[m.policy], *m.rule, DecisionTier::Baseline);
    return out;
  }
  out.tier = DecisionTier::Default;
  out.allowed = true;
  return out;
}

Verdict EngineImpl::evaluate(const Peer& src, const Peer& dst, Protocol protocol,
                             uint16_t port) const {
  Verdict v;
  if (src.endpoint && dst.endpoint && *src.endpoint == *dst.endpoint) {
    v.egress.tier = v.ingress.tier = DecisionTier::Loopback;
    return v;
  }
  Other dst_other, src_other;
  const Endpoint* src_ep = src.endpoint ? &endpoints_[*src.endpoint] : nullptr;
  const Endpoint* dst_ep = dst.endpoint ? &endpoints_[*dst.endpoint] : nullptr;
  if (dst.endpoint) {
    dst_other.identity = endpoint_identity_[*dst.endpoint];
    dst_other.dst_ports = &dst_ep->pod.ports;
    dst_other.endpoint = dst_ep;
  } else {
    dst_other.ip = dst.ip;
  }
  if (src.endpoint) {
    src_other.identity = endpoint_identity_[*src.endpoint];
    src_other.endpoint = src_ep;
  } else {
    src_other.ip = src.ip;
  }

  if (src.endpoint)
    v.egress =
        decide(endpoint_identity_[*src.endpoint], src_ep, kEgress, dst_other, protocol, port, true);
  else
    v.egress.tier = DecisionTier::NotEvaluated;
  if (dst.endpoint)
    v.ingress = decide(endpoint_identity_[*dst.endpoint], dst_ep, kIngress, src_other, protocol,
                       port, true);
  else
    v.ingress.tier = DecisionTier::NotEvaluated;
  v.allowed = v.egress.allowed && v.ingress.allowed;
  if (!calico_staged_.empty()) {
    if (src.endpoint)
      calico_staged_notes(endpoint_identity_[*src.endpoint], kEgress, dst_other, protocol, port,
                          dst_other.dst_ports, v.egress);
    if (dst.endpoint)
      calico_staged_notes(endpoint_identity_[*dst.endpoint], kIngress, src_other, protocol, port,
                          &dst_ep->pod.ports, v.ingress);
  }
  return v;
}

bool EngineImpl::allowed(uint32_t src, uint32_t dst, Protocol protocol, uint16_t port) const {
  if (src == dst) return true;
  uint32_t a = endpoint_identity_[src], b = endpoint_identity_[dst];
  Other to{static_cast<int64_t>(b), {}, &identity_ports(b), &endpoints_[dst]};
  if (!decide(a, &endpoints_[src], kEgress, to, protocol, port, false).allowed) return false;
  Other from{static_cast<int64_t>(a), {}, nullptr, &endpoints_[src]};
  return decide(b, &endpoints_[dst], kIngress, from, protocol, port, false).allowed;
}

Isolation EngineImpl::isolation(uint32_t endpoint) const {
  uint32_t id = endpoint_identity_[endpoint];
  auto any = [](const SideLists& s) {
    return !s.admin.empty() || s.isolated || !s.deny.empty() || !s.baseline.empty() ||
           !s.calico.empty();
  };
  return Isolation{any(sides_[kIngress][id]), any(sides_[kEgress][id])};
}

Isolation EngineImpl::np_isolation(uint32_t endpoint) const {
  uint32_t id = endpoint_identity_[endpoint];
  return Isolation{sides_[kIngress][id].isolated || sides_[kIngress][id].calico_isolated,
                   sides_[kEgress][id].isolated || sides_[kEgress][id].calico_isolated};
}

std::optional<uint32_t> EngineImpl::find_endpoint(std::string_view ns,
                                                  std::string_view name) const {
  std::string key = std::string(ns) + "/" + std::string(name);
  auto it = endpoint_by_name_.find(key);
  if (it == endpoint_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> EngineImpl::find_endpoint_by_ip(const IpAddr& ip) const {
  auto it = std::lower_bound(endpoint_by_ip_.begin(), endpoint_by_ip_.end(), ip,
                             [](const auto& e, const IpAddr& v) { return ip_less(e.first, v); });
  if (it != endpoint_by_ip_.end() && it->first == ip) return it->second;
  return std::nullopt;
}

std::optional<uint16_t> EngineImpl::resolve_port(uint32_t dst, const PortQuery& q) const {
  if (q.name.empty()) return q.number;
  for (const ContainerPort& p : endpoints_[dst].pod.ports)
    if (p.name == q.name && p.protocol == q.protocol) return p.port;
  return std::nullopt;
}

}  // namespace engine_internal
}  // namespace stockade

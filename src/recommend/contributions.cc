#include "recommend/contributions.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace stockade::rec {

namespace {

// A Calico tier ordered after `default`, where the recommendation's policies go, decides only
// what `default` passes on: once the recommended default-deny isolates the pod there, that
// tier's verdict no longer reaches it, so the side still needs its own rule.
bool decided_by_policy(const Decision& d) {
  return d.tier == DecisionTier::Admin ||
         (d.tier == DecisionTier::NetworkPolicy && !d.calico_after_default) ||
         d.tier == DecisionTier::Loopback || d.tier == DecisionTier::NotEvaluated;
}

// Named by kind: a Cilium policy's deny rule or isolation decides here as a NetworkPolicy's
// would, and the user must know which object to look at.
std::string named(const PolicyRef& r) {
  return r.kind + " " + (r.ns.empty() ? r.name : r.ns + "/" + r.name);
}

class Collector {
 public:
  Collector(const PolicyEngine& existing, const Observed& observed, const Units& units,
            const RecommendOptions& options, Recommendation& out)
      : existing_(existing),
        eps_(existing.endpoints()),
        observed_(observed),
        units_(units.units),
        unit_of_(units.unit_of),
        options_(options),
        out_(out) {}

  Contributions run() {
    r_.contribs.reserve(observed_.edges.size() * 2);
    r_.side_evidence.resize(units_.size() * 2);
    r_.edge_stats.resize(observed_.edges.size());
    r_.unit_covered.resize(units_.size());
    for (uint32_t u = 0; u < units_.size(); ++u)
      r_.unit_covered[u] = options_.include_system || !is_system_namespace(units_[u].ns);
    r_.unit_seen.resize(units_.size());
    r_.unit_evidence.resize(units_.size());
    r_.unit_attempts.resize(units_.size());
    for (size_t i = 0; i < observed_.edges.size(); ++i) {
      const ObservedEdge& e = observed_.edges[i];
      see(e);
      if (left_out(e)) continue;
      const Verdict v = verdict_of(e);
      if (denied_existing(e, v)) continue;
      out_.must_allow.push_back(i);
      contribute(i, e, v);
    }
    rank_and_sort();
    return std::move(r_);
  }

 private:
  const PolicyEngine& existing_;
  const std::vector<Endpoint>& eps_;
  const Observed& observed_;
  const std::vector<Unit>& units_;
  const std::vector<uint32_t>& unit_of_;
  const RecommendOptions& options_;
  Recommendation& out_;
  Contributions r_;
  // Port specs are interned: rules compare and group small integer lists.
  std::vector<PortSpec> spec_table_;
  std::unordered_map<uint64_t, uint32_t> spec_cache_;
  std::vector<std::pair<IpAddr, bool>> address_table_;
  std::map<std::pair<IpAddr, bool>, uint32_t> address_ids_;

  // Which units the window saw (any attempt, whatever its outcome).
  void see(const ObservedEdge& e) {
    for (const ObservedPeer* p : {&e.src, &e.dst})
      if (p->kind == ObservedPeer::Kind::Endpoint) {
        const uint32_t u = unit_of_[p->endpoint];
        r_.unit_seen[u] = 1;
        r_.unit_attempts[u] += e.stats.count;
        if (e.stats.established) r_.unit_evidence[u].add(e.stats);
      }
  }

  // Edges that never become allowances, counted by why.
  bool left_out(const ObservedEdge& e) {
    if (e.stats.established == 0) {
      ++out_.edges_failed_only;
      return true;
    }
    ++out_.edges_established;
    if (e.stats.established < options_.min_count) {
      ++out_.edges_below_min_count;
      return true;
    }
    if (e.src.kind == ObservedPeer::Kind::Unresolved ||
        e.dst.kind == ObservedPeer::Kind::Unresolved) {
      ++out_.edges_unresolved;
      const std::string& who = e.src.kind == ObservedPeer::Kind::Unresolved ? e.src.id : e.dst.id;
      auto& ex = r_.unresolved_examples;
      if (ex.size() < 3 && std::find(ex.begin(), ex.end(), who) == ex.end()) ex.push_back(who);
      return true;
    }
    return false;
  }

  // Most edges meet no policy at all (nothing selects either side): no need to ask for an
  // explained verdict.
  Verdict verdict_of(const ObservedEdge& e) const {
    auto undecided = [&](const ObservedPeer& p, bool egress_side) {
      if (p.kind != ObservedPeer::Kind::Endpoint) return true;
      Isolation iso = existing_.isolation(p.endpoint);
      return egress_side ? !iso.egress : !iso.ingress;
    };
    Verdict v;
    if (undecided(e.src, true) && undecided(e.dst, false)) {
      if (e.src.kind != ObservedPeer::Kind::Endpoint) v.egress.tier = DecisionTier::NotEvaluated;
      if (e.dst.kind != ObservedPeer::Kind::Endpoint) v.ingress.tier = DecisionTier::NotEvaluated;
    } else {
      v = evaluate_edge(existing_, e);
    }
    return v;
  }

  // A side that an admin policy or an existing NetworkPolicy denies stays denied: nothing
  // is emitted against it (NetworkPolicies cannot override the admin tier, and existing
  // NetworkPolicies win unless --replace).
  bool denied_existing(const ObservedEdge& e, const Verdict& v) {
    const Decision* denied_by = nullptr;
    for (const Decision* d : {&v.egress, &v.ingress})
      if (!d->allowed && !denied_by &&
          (d->tier == DecisionTier::Admin || d->tier == DecisionTier::NetworkPolicy))
        denied_by = d;
    if (!denied_by) return false;
    ++out_.edges_denied_existing;
    std::string who = denied_by->policy ? named(*denied_by->policy)
                      : !denied_by->isolated_by.empty()
                          ? "the isolation of " + named(denied_by->isolated_by.front())
                          : std::string("an existing policy");
    if (r_.denied_examples.size() < 3)
      r_.denied_examples.push_back(e.src.id + " -> " + e.dst.id + " " +
                                   std::string(to_string(e.protocol)) + "/" +
                                   std::to_string(e.port) + " (denied by " + who + ")");
    return true;
  }

  // How a port is written for a destination unit: its name when every pod of the unit declares
  // the number under one name for that protocol, else the number.
  PortSpec port_spec(const Unit* dst, Protocol proto, uint16_t port) const {
    PortSpec s{proto, {}, port};
    if (!dst) return s;
    std::string name;
    for (uint32_t e : dst->endpoints) {
      std::string found;
      for (const ContainerPort& cp : eps_[e].pod.ports)
        if (cp.port == port && cp.protocol == proto && !cp.name.empty()) found = cp.name;
      if (found.empty() || (!name.empty() && found != name)) return s;
      name = found;
    }
    s.name = name;
    return s;
  }

  uint32_t spec_id(uint32_t dst_unit, Protocol proto, uint16_t port) {
    uint64_t key =
        (uint64_t{dst_unit} << 24) | (uint64_t{static_cast<uint8_t>(proto)} << 16) | port;
    auto [it, inserted] = spec_cache_.try_emplace(key, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(spec_table_.size());
      spec_table_.push_back(
          port_spec(dst_unit == UINT32_MAX ? nullptr : &units_[dst_unit], proto, port));
    }
    return it->second;
  }

  bool on_node(const ObservedPeer& pod_side, const ObservedPeer& other) const {
    const std::string& node = eps_[pod_side.endpoint].node;
    if (node.empty()) return false;
    if (other.kind == ObservedPeer::Kind::Node) return other.node_name == node;
    return other.kind == ObservedPeer::Kind::Endpoint && eps_[other.endpoint].pod.host_network &&
           eps_[other.endpoint].node == node;
  }

  void contribute(size_t i, const ObservedEdge& e, const Verdict& v);
  void add_peer(uint32_t side, const ObservedPeer& p, const uint32_t* ids, size_t n_specs, size_t i,
                const EdgeStats& stats);
  void rank_and_sort();
};

void Collector::contribute(size_t i, const ObservedEdge& e, const Verdict& v) {
  const bool src_pod =
      e.src.kind == ObservedPeer::Kind::Endpoint && !eps_[e.src.endpoint].pod.host_network;
  const bool dst_pod =
      e.dst.kind == ObservedPeer::Kind::Endpoint && !eps_[e.dst.endpoint].pod.host_network;
  if (e.src.kind == ObservedPeer::Kind::Endpoint && e.dst.kind == ObservedPeer::Kind::Endpoint &&
      e.src.endpoint == e.dst.endpoint) {
    ++out_.edges_already_allowed;
    return;
  }
  // Allowed today only as the pod's own node (an existing NetworkPolicy isolates it): where
  // the output kind's CNI isolates that traffic too, it needs a rule like any other.
  bool need_egress =
      src_pod && r_.unit_covered[unit_of_[e.src.endpoint]] &&
      (!decided_by_policy(v.egress) || (options_.own_node_egress && v.egress.own_node)) &&
      (options_.own_node_egress || !on_node(e.src, e.dst));
  bool need_ingress =
      dst_pod && r_.unit_covered[unit_of_[e.dst.endpoint]] &&
      (!decided_by_policy(v.ingress) || (options_.own_node_ingress && v.ingress.own_node)) &&
      (options_.own_node_ingress || !on_node(e.dst, e.src));
  if (!need_egress && !need_ingress) {
    ++out_.edges_already_allowed;
    return;
  }
  out_.edges_own_node +=
      (need_egress && on_node(e.src, e.dst)) || (need_ingress && on_node(e.dst, e.src));
  const uint32_t dst_unit = dst_pod ? unit_of_[e.dst.endpoint] : UINT32_MAX;
  uint32_t specs[2] = {spec_id(dst_unit, e.protocol, e.port), 0};
  uint32_t numeric[2] = {spec_id(UINT32_MAX, e.protocol, e.port), 0};
  size_t n_specs = 1;
  if (e.dst.kind == ObservedPeer::Kind::Endpoint &&
      is_dns_port(eps_[e.dst.endpoint], e.protocol, e.port)) {
    Protocol twin = e.protocol == Protocol::UDP ? Protocol::TCP : Protocol::UDP;
    specs[1] = spec_id(dst_unit, twin, e.port);
    numeric[1] = spec_id(UINT32_MAX, twin, e.port);
    n_specs = 2;
  }
  r_.edge_stats[i] = e.stats;
  // Ports towards an address are numbers: a name resolves only on a destination pod.
  if (need_egress)
    add_peer(unit_of_[e.src.endpoint] * 2 + 1, e.dst, dst_pod ? specs : numeric, n_specs, i,
             e.stats);
  if (need_ingress) add_peer(unit_of_[e.dst.endpoint] * 2, e.src, specs, n_specs, i, e.stats);
}

// The other side of the edge: a unit for a pod, addresses for the rest (a host-network pod is
// its node).
void Collector::add_peer(uint32_t side, const ObservedPeer& p, const uint32_t* ids, size_t n_specs,
                         size_t i, const EdgeStats& stats) {
  r_.side_evidence[side].add(stats);
  auto add = [&](uint32_t peer) {
    for (size_t k = 0; k < n_specs; ++k)
      r_.contribs.push_back({side, peer, ids[k], static_cast<uint32_t>(i) | (k ? kHigh : 0u)});
  };
  auto address = [&](const IpAddr& ip, bool external) {
    auto [it, inserted] = address_ids_.try_emplace({ip, external}, 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(address_table_.size());
      address_table_.push_back({ip, external});
    }
    add(kHigh | it->second);
  };
  if (p.kind == ObservedPeer::Kind::Endpoint && !eps_[p.endpoint].pod.host_network) {
    add(unit_of_[p.endpoint]);
  } else if (p.kind == ObservedPeer::Kind::Endpoint) {
    for (const IpAddr& ip : eps_[p.endpoint].ips) address(ip, false);
  } else {
    for (const IpAddr& ip : p.addresses) address(ip, p.kind == ObservedPeer::Kind::External);
  }
}

// Port ids ranked by the specs' order and addresses after the units in (address, external)
// order, then one sort: rules sort and group deterministically.
void Collector::rank_and_sort() {
  std::vector<uint32_t> rank(spec_table_.size());
  {
    std::vector<uint32_t> order(spec_table_.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return spec_table_[a] < spec_table_[b]; });
    // Equal specs (a numeric port interned for two destinations) share a rank.
    for (uint32_t i = 0, r = 0; i < order.size(); ++i) {
      if (i > 0 && spec_table_[order[i]] != spec_table_[order[i - 1]]) ++r;
      rank[order[i]] = r;
    }
  }
  r_.by_rank.resize(spec_table_.size());
  for (uint32_t i = 0; i < spec_table_.size(); ++i) r_.by_rank[rank[i]] = spec_table_[i];
  for (const auto& [key, id] : address_ids_) r_.sorted_addresses.push_back(key);
  std::vector<uint32_t> addr_rank(address_table_.size());
  uint32_t r = static_cast<uint32_t>(units_.size());
  for (const auto& [key, id] : address_ids_) addr_rank[id] = r++;
  for (Contrib& c : r_.contribs) {
    c.spec = rank[c.spec];
    if (c.peer & kHigh) c.peer = addr_rank[c.peer & ~kHigh];
  }
  std::sort(r_.contribs.begin(), r_.contribs.end(), [](const Contrib& a, const Contrib& b) {
    uint64_t ka = uint64_t{a.side} << 32 | a.peer, kb = uint64_t{b.side} << 32 | b.peer;
    if (ka != kb) return ka < kb;
    return (uint64_t{a.spec} << 32 | a.edge) < (uint64_t{b.spec} << 32 | b.edge);
  });
}

}  // namespace

Contributions collect_contributions(const PolicyEngine& existing, const Observed& observed,
                                    const Units& units, const RecommendOptions& options,
                                    Recommendation& out) {
  return Collector(existing, observed, units, options, out).run();
}

}  // namespace stockade::rec

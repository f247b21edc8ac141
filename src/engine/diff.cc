#include "engine/diff.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace stockade {

namespace {

using u128 = unsigned __int128;

u128 value(const IpAddr& ip) {
  return ip.v6 ? (u128{ip.hi} << 64 | ip.lo) : u128{ip.lo};
}

IpAddr address(u128 v, bool v6) {
  IpAddr ip;
  ip.v6 = v6;
  ip.hi = v6 ? static_cast<uint64_t>(v >> 64) : 0;
  ip.lo = static_cast<uint64_t>(v);
  return ip;
}

// The first address after the CIDR (may wrap to 0 for /0, which is never a child).
u128 end_of(const Cidr& c) {
  const int host = c.network.bits() - c.prefix;
  return value(c.network) + (u128{1} << host);
}

void add_cidrs(const ClusterState& s, std::set<Cidr>& out) {
  auto peers = [&](const std::vector<NetworkPolicyRule>& rules) {
    for (const NetworkPolicyRule& r : rules)
      for (const NetworkPolicyPeer& p : r.peers)
        if (p.ip_block) {
          out.insert(p.ip_block->cidr);
          out.insert(p.ip_block->except.begin(), p.ip_block->except.end());
        }
  };
  for (const NetworkPolicy& np : s.network_policies) {
    peers(np.ingress);
    peers(np.egress);
  }
  for (const ClusterPolicy& cp : s.cluster_policies)
    for (const auto* rules : {&cp.ingress, &cp.egress})
      for (const ClusterPolicyRule& r : *rules)
        for (const ClusterPeer& p : r.peers)
          if (p.kind == ClusterPeer::Kind::Networks)
            out.insert(p.networks.begin(), p.networks.end());
}

// The (protocol, port) an egress rule towards addresses names, in either set.
void add_egress_ports(const ClusterState& s, std::set<std::pair<Protocol, uint16_t>>& out) {
  for (const NetworkPolicy& np : s.network_policies)
    for (const NetworkPolicyRule& r : np.egress) {
      bool addresses = r.peers.empty();
      for (const NetworkPolicyPeer& p : r.peers) addresses = addresses || p.ip_block.has_value();
      if (!addresses) continue;
      for (const NetworkPolicyPort& p : r.ports)
        if (p.kind == NetworkPolicyPort::Kind::Number) out.insert({p.effective_protocol(), p.port});
    }
  for (const ClusterPolicy& cp : s.cluster_policies)
    for (const ClusterPolicyRule& r : cp.egress) {
      bool addresses = false;
      for (const ClusterPeer& p : r.peers)
        addresses = addresses || p.kind == ClusterPeer::Kind::Networks;
      if (!addresses || !r.ports) continue;
      for (const ClusterPolicyPort& p : *r.ports)
        if (p.kind != ClusterPolicyPort::Kind::Named) out.insert({p.protocol, p.start});
    }
}

}  // namespace

std::vector<WorldPart> world_parts(const ClusterState& a, const ClusterState& b,
                                   const std::vector<Endpoint>& eps) {
  std::set<Cidr> cidrs;
  add_cidrs(a, cidrs);
  add_cidrs(b, cidrs);
  bool v6 = false;
  for (const Cidr& c : cidrs) v6 = v6 || c.network.v6;
  cidrs.insert(*Cidr::parse("0.0.0.0/0"));
  if (v6) cidrs.insert(*Cidr::parse("::/0"));
  std::set<IpAddr> cluster;
  for (const Endpoint& ep : eps) cluster.insert(ep.ips.begin(), ep.ips.end());
  for (const Node& n : a.nodes) cluster.insert(n.addresses.begin(), n.addresses.end());

  std::vector<Cidr> all(cidrs.begin(), cidrs.end());  // by (address, prefix): parents first
  std::vector<WorldPart> out;
  for (size_t i = 0; i < all.size(); ++i) {
    const Cidr& c = all[i];
    // Maximal CIDRs strictly inside c, in address order (sorted: a child's children follow it).
    std::vector<Cidr> children;
    for (size_t k = i + 1; k < all.size() && c.contains(all[k]); ++k)
      if (children.empty() || !children.back().contains(all[k])) children.push_back(all[k]);
    // An address of c outside every child: c's first, or the first after a child.
    std::vector<u128> candidates = {value(c.network)};
    for (const Cidr& ch : children) candidates.push_back(end_of(ch));
    const u128 last = c.prefix == 0 ? ~u128{0} >> (c.network.v6 ? 0 : 96) : end_of(c) - 1;
    bool found = false;
    IpAddr probe;
    for (u128 v : candidates) {
      for (int tries = 0; tries < 64 && v <= last && v >= value(c.network); ++tries, ++v) {
        IpAddr ip = address(v, c.network.v6);
        bool inside = false;
        for (const Cidr& ch : children) inside = inside || ch.contains(ip);
        if (inside) break;
        if (cluster.count(ip)) continue;
        probe = ip;
        found = true;
        break;
      }
      if (found) break;
    }
    if (!found) continue;  // children cover it (or only cluster addresses are left)
    WorldPart part;
    part.id = "world/" + c.str();
    for (size_t k = 0; k < children.size(); ++k) {
      if (k == 4) {
        part.id += ", … (" + std::to_string(children.size()) + " in all)";
        break;
      }
      part.id += (k ? ", " : " except ") + children[k].str();
    }
    part.probe = probe;
    part.cidr = c;
    out.push_back(std::move(part));
  }
  return out;
}

namespace {

// Both diffs: `scope` null compares every connection.
PolicyDiff diff_in(const ClusterState& before_state, const PolicyEngine& before,
                   const ReachMatrix& before_matrix, const ClusterState& after_state,
                   const PolicyEngine& after, const std::vector<PortQuery>& queries,
                   const std::vector<uint8_t>* scope) {
  PolicyDiff out;
  const std::vector<Endpoint>& eps = before.endpoints();
  const ReachMatrix* mb = &before_matrix;
  auto in = [&](uint32_t e) { return !scope || (*scope)[e]; };
  // The destinations in scope, in order: a source out of scope is compared with them only.
  std::vector<uint32_t> scoped;
  // Every connection: the whole matrix after the change. Within a scope, only the connections
  // with an end in it are asked of the engine (the same verdicts: reach_differential_test).
  std::unique_ptr<ReachMatrix> ma;
  if (scope) {
    for (uint32_t d = 0; d < eps.size(); ++d)
      if ((*scope)[d]) scoped.push_back(d);
  } else {
    ma = after.reach(queries);
    for (uint32_t d = 0; d < eps.size(); ++d)
      if (mb->ports(d) != ma->ports(d)) {
        out.ports_differ = eps[d].id();
        return out;
      }
  }
  auto record = [&](std::string src, std::string dst, Protocol proto, uint16_t port, bool b, bool a,
                    uint32_t se = UINT32_MAX, uint32_t de = UINT32_MAX) {
    (a ? out.newly_allowed : out.newly_denied)++;
    out.changes.push_back({std::move(src), std::move(dst), proto, port, b, a, se, de});
  };
  auto pair = [&](uint32_t s, uint32_t d) {
    const auto& ports = mb->ports(d);
    for (size_t k = 0; k < ports.size(); ++k) {
      const bool b = mb->allowed(s, d, k);
      const bool a =
          ma ? ma->allowed(s, d, k) : after.allowed(s, d, ports[k].protocol, ports[k].port);
      if (a != b) record(eps[s].id(), eps[d].id(), ports[k].protocol, ports[k].port, b, a, s, d);
    }
  };
  // In (source, destination) order, as without a scope.
  for (uint32_t s = 0; s < eps.size(); ++s)
    if (in(s))
      for (uint32_t d = 0; d < eps.size(); ++d) pair(s, d);
    else
      for (uint32_t d : scoped) pair(s, d);

  // The outside: from each part to every pod's compared ports, and from every pod to each part
  // on the ports egress rules towards addresses name.
  std::vector<WorldPart> parts = world_parts(before_state, after_state, eps);
  out.world_parts = parts.size();
  std::set<std::pair<Protocol, uint16_t>> egress_ports;
  add_egress_ports(before_state, egress_ports);
  add_egress_ports(after_state, egress_ports);
  for (const WorldPart& w : parts) {
    const Peer from = Peer::of_ip(w.probe);
    for (uint32_t d = 0; d < eps.size(); ++d) {
      if (eps[d].pod.host_network || !in(d)) continue;  // the node's: not what policies decide
      const Peer to = Peer::of_endpoint(d);
      for (const ReachMatrix::Port& p : mb->ports(d)) {
        bool b = before.evaluate(from, to, p.protocol, p.port).allowed;
        bool a = after.evaluate(from, to, p.protocol, p.port).allowed;
        if (a != b) record(w.id, eps[d].id(), p.protocol, p.port, b, a, UINT32_MAX, d);
      }
    }
  }
  for (uint32_t s = 0; s < eps.size(); ++s) {
    if (eps[s].pod.host_network || !in(s)) continue;
    const Peer from = Peer::of_endpoint(s);
    for (const WorldPart& w : parts)
      for (const auto& [proto, port] : egress_ports) {
        const Peer to = Peer::of_ip(w.probe);
        bool b = before.evaluate(from, to, proto, port).allowed;
        bool a = after.evaluate(from, to, proto, port).allowed;
        if (a != b) record(eps[s].id(), w.id, proto, port, b, a, s);
      }
  }
  return out;
}

}  // namespace

PolicyDiff diff_policies(const ClusterState& before_state, const PolicyEngine& before,
                         const ClusterState& after_state, const PolicyEngine& after,
                         const std::vector<PortQuery>& queries) {
  auto mb = before.reach(queries);
  return diff_in(before_state, before, *mb, after_state, after, queries, nullptr);
}

PolicyDiff diff_policies_within(const ClusterState& before_state, const PolicyEngine& before,
                                const ReachMatrix& mb, const ClusterState& after_state,
                                const PolicyEngine& after, const std::vector<PortQuery>& queries,
                                const std::vector<uint8_t>* scope) {
  return diff_in(before_state, before, mb, after_state, after, queries, scope);
}

const WorldPart* world_part_of(const std::vector<WorldPart>& parts, const IpAddr& ip) {
  const WorldPart* best = nullptr;
  for (const WorldPart& w : parts)
    if (w.cidr.contains(ip) && (!best || w.cidr.prefix > best->cidr.prefix)) best = &w;
  return best;
}

std::vector<DiffChange> group_changes(const std::vector<DiffChange>& changes,
                                      const std::vector<Endpoint>& eps, Granularity by) {
  if (by == Granularity::Pod) return changes;
  auto name = [&](uint32_t e, const std::string& own) {
    return e < eps.size() ? group_id(eps[e], by) : own;
  };
  std::vector<DiffChange> out;
  std::map<std::tuple<std::string, std::string, Protocol, uint16_t, bool, bool>, size_t> at;
  for (const DiffChange& c : changes) {
    DiffChange g = c;
    g.src = name(c.src_endpoint, c.src);
    g.dst = name(c.dst_endpoint, c.dst);
    auto [it, fresh] =
        at.try_emplace({g.src, g.dst, g.protocol, g.port, g.before, g.after}, out.size());
    if (fresh) {
      g.pairs = 1;
      out.push_back(std::move(g));
    } else {
      ++out[it->second].pairs;
    }
  }
  return out;
}

}  // namespace stockade

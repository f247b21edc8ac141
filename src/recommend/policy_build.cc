#include "recommend/policy_build.h"

#include <algorithm>
#include <thread>

#include "recommend/aggregate.h"

namespace stockade::rec {

namespace {

// The peers of one rule (they share its ports), with the evidence of each.
struct Members {
  std::vector<uint32_t> units;
  std::vector<std::pair<const std::pair<IpAddr, bool>*, Evidence>> addresses;
  std::vector<Evidence> unit_evidence;
};
using Rules = std::vector<std::pair<std::vector<uint32_t>, Members>>;  // (port ranks, peers)

// One run per peer: its distinct ports (sorted) and its evidence; peers with the same ports
// share a rule; rules ordered by their ports, peers by id.
Rules group_rules(const PolicyBuild& in, const Contrib* begin, const Contrib* end) {
  struct PeerRun {
    uint32_t peer;
    uint32_t ports_begin, ports_end;  // into `ports`
    Evidence evidence;
  };
  std::vector<uint32_t> ports;
  std::vector<PeerRun> runs;
  for (const Contrib* c = begin; c != end;) {
    PeerRun run{c->peer, static_cast<uint32_t>(ports.size()), 0, {}};
    for (; c != end && c->peer == run.peer; ++c) {
      if (ports.size() == run.ports_begin || ports.back() != c->spec) ports.push_back(c->spec);
      if (!(c->edge & kHigh)) run.evidence.add(in.contributions.edge_stats[c->edge]);
    }
    run.ports_end = static_cast<uint32_t>(ports.size());
    runs.push_back(run);
  }
  auto ports_less = [&](const PeerRun& a, const PeerRun& b) {
    return std::lexicographical_compare(ports.begin() + a.ports_begin, ports.begin() + a.ports_end,
                                        ports.begin() + b.ports_begin, ports.begin() + b.ports_end);
  };
  std::stable_sort(runs.begin(), runs.end(), ports_less);
  Rules rules;
  for (size_t r = 0; r < runs.size(); ++r) {
    if (r == 0 || ports_less(runs[r - 1], runs[r]))
      rules.push_back({std::vector<uint32_t>(ports.begin() + runs[r].ports_begin,
                                             ports.begin() + runs[r].ports_end),
                       {}});
    Members& m = rules.back().second;
    if (runs[r].peer < in.units.size()) {
      m.units.push_back(runs[r].peer);
      m.unit_evidence.push_back(runs[r].evidence);
    } else {
      m.addresses.push_back(
          {&in.contributions.address_of(runs[r].peer, in.units.size()), runs[r].evidence});
    }
  }
  return rules;
}

PeerEvidence pe_of(const Evidence& ev) {
  PeerEvidence pe;
  pe.connections = ev.connections;
  pe.first = ev.first;
  pe.last = ev.last;
  return pe;
}

// External addresses of one family merged into prefixes past the options' limit.
void add_external(const PolicyBuild& in, bool v6, const std::vector<IpAddr>& ips,
                  const std::vector<const Evidence*>& accs, NetworkPolicyRule& rule,
                  std::vector<PeerEvidence>& ev) {
  for (const auto& [cidr, merged] :
       aggregate_prefixes(ips, in.options.aggregate_after,
                          v6 ? in.options.min_prefix_v6 : in.options.min_prefix_v4)) {
    rule.peers.emplace_back().ip_block = IpBlock{cidr, {}};
    Evidence total;
    for (size_t m : merged) total.add(*accs[m]);
    PeerEvidence pe = pe_of(total);
    pe.cidr = cidr;
    pe.external = true;
    pe.addresses = static_cast<uint32_t>(merged.size());
    ev.push_back(pe);
  }
}

// The peers of one rule: units (a namespace selector when in another namespace), node
// addresses one by one, external addresses aggregated.
void add_peers(const PolicyBuild& in, const Unit& unit, const Members& members,
               NetworkPolicyRule& rule, std::vector<PeerEvidence>& ev) {
  rule.peers.reserve(members.units.size() + members.addresses.size());
  ev.reserve(members.units.size() + members.addresses.size());
  for (size_t j = 0; j < members.units.size(); ++j) {
    const uint32_t k = members.units[j];
    const Unit& pu = in.units[k];
    NetworkPolicyPeer peer;
    peer.pod_selector = pu.selector;
    if (pu.ns != unit.ns) {
      LabelSelector ns;
      ns.requirements.push_back({kMetadataName, SelectorOp::In, {pu.ns}});
      peer.namespace_selector = std::move(ns);
    }
    rule.peers.push_back(std::move(peer));
    PeerEvidence pe = pe_of(members.unit_evidence[j]);
    pe.name = k;
    ev.push_back(pe);
  }
  std::vector<IpAddr> ext4, ext6;
  std::vector<const Evidence*> ext4_acc, ext6_acc;
  for (const auto& [addr, acc] : members.addresses) {
    const IpAddr& ip = addr->first;
    if (addr->second) {
      (ip.v6 ? ext6 : ext4).push_back(ip);
      (ip.v6 ? ext6_acc : ext4_acc).push_back(&acc);
      continue;
    }
    Cidr host{ip, static_cast<uint8_t>(ip.bits())};
    rule.peers.emplace_back().ip_block = IpBlock{host, {}};
    PeerEvidence pe = pe_of(acc);
    pe.cidr = host;
    ev.push_back(pe);
  }
  add_external(in, false, ext4, ext4_acc, rule, ev);
  add_external(in, true, ext6, ext6_acc, rule, ev);
}

std::vector<std::pair<std::string, std::string>> annotations(const PolicyBuild& in,
                                                             const Unit& unit,
                                                             const Evidence& side_ev) {
  std::vector<std::pair<std::string, std::string>> a = {
      {"stockade.io/first-seen", side_ev.first ? format_rfc3339(side_ev.first) : std::string()},
      {"stockade.io/generated-by", "stockade recommend"},
      {"stockade.io/last-seen", side_ev.last ? format_rfc3339(side_ev.last) : std::string()},
      {"stockade.io/learning-window", in.window},
      {"stockade.io/observed-connections", std::to_string(side_ev.connections)},
      {"stockade.io/observed-edges", std::to_string(side_ev.edges)},
      {"stockade.io/workload", unit.kind + "/" + unit.name},
  };
  std::erase_if(a, [](const auto& x) { return x.second.empty(); });
  return a;
}

}  // namespace

RecommendedPolicy build_side_policy(const PolicyBuild& in, uint32_t u, bool is_ingress,
                                    const Contrib* begin, const Contrib* end) {
  const Unit& unit = in.units[u];
  RecommendedPolicy rp;
  NetworkPolicy& p = rp.policy;
  p.ns = unit.ns;
  p.name = policy_name("stockade-" + std::string(is_ingress ? "ingress-" : "egress-") + unit.base);
  p.pod_selector = unit.selector;
  p.affects_ingress = is_ingress;
  p.affects_egress = !is_ingress;
  p.source.file = "<recommended>";
  rp.names = in.names;
  auto& evidence = is_ingress ? rp.ingress_evidence : rp.egress_evidence;
  auto& rule_list = is_ingress ? p.ingress : p.egress;
  for (auto& [ports, members] : group_rules(in, begin, end)) {
    NetworkPolicyRule rule;
    std::vector<PeerEvidence> ev;
    add_peers(in, unit, members, rule, ev);
    for (uint32_t r : ports) {
      const PortSpec& s = in.contributions.by_rank[r];
      NetworkPolicyPort np;
      np.protocol = s.protocol;
      if (!s.name.empty()) {
        np.kind = NetworkPolicyPort::Kind::Name;
        np.name = s.name;
      } else {
        np.kind = NetworkPolicyPort::Kind::Number;
        np.port = s.number;
      }
      rule.ports.push_back(std::move(np));
    }
    rule_list.push_back(std::move(rule));
    evidence.push_back(std::move(ev));
  }
  rp.annotations =
      annotations(in, unit, in.contributions.side_evidence[u * 2 + (is_ingress ? 0 : 1)]);
  return rp;
}

std::vector<RecommendedPolicy> build_policies(const PolicyBuild& in,
                                              std::vector<std::pair<size_t, size_t>>& side_ranges) {
  const std::vector<Contrib>& contribs = in.contributions.contribs;
  for (size_t a = 0; a < contribs.size();) {
    size_t b = a;
    while (b < contribs.size() && contribs[b].side == contribs[a].side) ++b;
    if (!in.units[contribs[a].side / 2].host_network) side_ranges.push_back({a, b});
    a = b;
  }
  auto build_ranges = [&](size_t from, size_t to, std::vector<RecommendedPolicy>& sink) {
    for (size_t r = from; r < to; ++r) {
      const auto [a, b] = side_ranges[r];
      sink.push_back(build_side_policy(in, contribs[a].side / 2, contribs[a].side % 2 == 0,
                                       contribs.data() + a, contribs.data() + b));
    }
  };
  // Policies are independent of each other: built on two threads, each over a contiguous
  // half of the contributions, then concatenated (the order is fixed by the final sort).
  size_t split = 0;
  while (split < side_ranges.size() && side_ranges[split].first < contribs.size() / 2) ++split;
  std::vector<RecommendedPolicy> first_half, out;
  if (contribs.size() >= in.options.parallel_from) {
    std::thread worker([&] { build_ranges(0, split, first_half); });
    build_ranges(split, side_ranges.size(), out);
    worker.join();
  } else {
    build_ranges(0, split, first_half);
    build_ranges(split, side_ranges.size(), out);
  }
  out.insert(out.end(), std::make_move_iterator(first_half.begin()),
             std::make_move_iterator(first_half.end()));
  return out;
}

}  // namespace stockade::rec

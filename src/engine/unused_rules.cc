// Rules that can never decide (scan's policy lint): every connection a rule matches is put to
// the same first-match search that `decide` runs for its tier (EngineImpl::first_match), over
// the cluster's identities, the parts of the outside the policies' CIDRs split, the nodes'
// addresses, and the port ranges the tier's rules and the destination's declared ports split.
#include <algorithm>
#include <array>
#include <set>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {
namespace {

constexpr std::array<Protocol, 3> kProtocols = {Protocol::TCP, Protocol::UDP, Protocol::SCTP};

using Point = std::pair<Protocol, uint16_t>;

// Where port ranges start: each returned point stands for the ports up to the next one.
void add_range(std::vector<Point>& pts, Protocol p, uint32_t lo, uint32_t hi) {
  pts.push_back({p, static_cast<uint16_t>(lo)});
  if (hi < 65535) pts.push_back({p, static_cast<uint16_t>(hi + 1)});
}

void normalize(std::vector<Point>& pts) {
  std::sort(pts.begin(), pts.end());
  pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
}

}  // namespace

UnusedRules EngineImpl::unused_rules(const std::vector<IpAddr>& outside,
                                     const UnusedRuleLimits& limits) const {
  UnusedRules out;
  const uint32_t n = static_cast<uint32_t>(identities_.size());
  if (n == 0) return out;

  // The subjects of each policy per direction: the identities whose lists hold it.
  std::vector<std::vector<uint32_t>> subjects[2];
  for (Direction d : {kIngress, kEgress}) {
    subjects[d].resize(policies_.size());
    for (uint32_t s = 0; s < n; ++s) {
      const SideLists& l = sides_[d][s];
      for (const auto* list : {&l.admin, &l.np, &l.baseline})
        for (uint32_t pi : *list) subjects[d][pi].push_back(s);
    }
  }
  // Addresses outside the pods: one per part of the outside, one per node.
  std::vector<IpAddr> addresses = outside;
  for (const Node& node : nodes_)
    if (!node.addresses.empty()) addresses.push_back(node.addresses.front());

  // The tier's list a policy sits in, on one side of one identity.
  auto tier_list = [&](const CompiledPolicy& p, Direction d, uint32_t s) -> const auto& {
    const SideLists& l = sides_[d][s];
    return p.tier == DecisionTier::Admin      ? l.admin
           : p.tier == DecisionTier::Baseline ? l.baseline
                                              : l.np;
  };
  // Port boundaries of every rule in a list (the ranges every rule of the tier splits).
  auto list_points = [&](const std::vector<uint32_t>& list, Direction d) {
    std::vector<Point> pts;
    for (Protocol pr : kProtocols) pts.push_back({pr, 0});
    for (uint32_t pi : list)
      for (const CompiledRule& r : d == kIngress ? policies_[pi].ingress : policies_[pi].egress)
        for (const CompiledPort& cp : r.ports)
          if (cp.kind == CompiledPort::Kind::Range) add_range(pts, cp.protocol, cp.lo, cp.hi);
    normalize(pts);
    return pts;
  };
  // A declared port is a range of its own: named ports match it and nothing beside it.
  auto declared_points = [](std::vector<Point>& pts, const std::vector<ContainerPort>* ports) {
    if (!ports) return;
    for (const ContainerPort& cp : *ports) add_range(pts, cp.protocol, cp.port, cp.port);
  };

  auto ref = [&](uint32_t pi, Direction d, const CompiledRule& r) {
    const CompiledPolicy& p = policies_[pi];
    RuleRef rr;
    rr.policy = p.ref;
    rr.egress = d == kEgress;
    rr.index = r.index;
    rr.name = r.name;
    rr.action =
        r.action == RuleAction::Allow && p.cnp ? "Accept" : std::string(to_string(r.action));
    rr.line = r.line;
    return rr;
  };
  auto is_np = [&](uint32_t pi) { return policies_[pi].ref.kind == "NetworkPolicy"; };

  uint64_t spent = 0;
  // NetworkPolicy rules already reported redundant do not cover others: two equal rules are one
  // redundant rule, not two (the later one is reported: rules are judged last first). Removing
  // every reported rule at once leaves every connection allowed.
  std::set<const CompiledRule*> redundant;

  // Judges rule `r` of policy `pi`: nullopt when some connection it matches is decided by it
  // (or allowed only by it); otherwise the covering rules and the number of classes.
  enum class Outcome { Used, Covered, Nothing, Skipped };
  auto judge = [&](uint32_t pi, Direction d, const CompiledRule& r,
                   std::vector<std::pair<uint32_t, const CompiledRule*>>& covers,
                   uint64_t& classes) {
    uint64_t work = 0;  // (subject, peer) pairs and classes evaluated for this rule
    const CompiledPolicy& p = policies_[pi];
    const bool np = p.tier == DecisionTier::NetworkPolicy;
    auto skip = [&](uint32_t qi, const CompiledRule& q) {
      if (!np) return false;  // admin/baseline: the first match decides, whatever it is
      return &q == &r || !is_np(qi) || redundant.contains(&q);
    };
    std::vector<Point> base, pts;
    const std::vector<uint32_t>* base_list = nullptr;  // the subjects of a policy mostly share one
    for (uint32_t s : subjects[d][pi]) {
      const Endpoint* subject_ep = &endpoints_[identities_[s].representative];
      const std::vector<uint32_t>& list = tier_list(p, d, s);
      if (!base_list || *base_list != list) {
        base = list_points(list, d);
        base_list = &list;
      }
      auto check = [&](const Other& o) -> Outcome {
        const std::vector<ContainerPort>* dst_ports =
            d == kIngress ? &identity_ports(s) : o.dst_ports;
        if (++spent > limits.total || ++work > limits.per_rule) return Outcome::Skipped;
        pts = base;
        declared_points(pts, dst_ports);
        normalize(pts);
        for (const auto& [proto, port] : pts) {
          if (!port_matches(r, proto, port, dst_ports)) continue;
          if (++spent > limits.total || ++work > limits.per_rule) return Outcome::Skipped;
          ++classes;
          Match m = first_match(list, d, o, proto, port, dst_ports, subject_ep, skip);
          if (!m.rule || m.rule == &r) return Outcome::Used;
          // Policies of equal priority in one tier have no defined order between them (the
          // engine's, by name, is its own choice): not a cover to report.
          if (!np && m.policy != pi && policies_[m.policy].priority == p.priority &&
              policies_[m.policy].cnp == p.cnp)
            return Outcome::Used;
          auto c = std::make_pair(m.policy, m.rule);
          if (std::find(covers.begin(), covers.end(), c) == covers.end()) covers.push_back(c);
        }
        return Outcome::Covered;
      };
      const uint32_t si = s;
      auto each_identity = [&](auto&& f) {
        if (r.all_peers) {
          for (uint32_t o = 0; o < n; ++o)
            if (Outcome x = f(o); x != Outcome::Covered) return x;
          return Outcome::Covered;
        }
        Outcome res = Outcome::Covered;
        r.peer_set.for_each([&](size_t o) {
          if (res == Outcome::Covered) res = f(static_cast<uint32_t>(o));
        });
        return res;
      };
      Outcome x = each_identity([&](uint32_t o) {
        // A pod's traffic to itself is never evaluated.
        if (o == si && identities_[si].size == 1) return Outcome::Covered;
        const Endpoint* ep = &endpoints_[identities_[o].representative];
        Other other{static_cast<int64_t>(o), {}, d == kEgress ? &identity_ports(o) : nullptr, ep};
        return check(other);
      });
      if (x != Outcome::Covered) return x;
      if (r.all_peers || !r.ip_matchers.empty() || !r.node_selectors.empty())
        for (const IpAddr& ip : addresses) {
          Other other{-1, ip, nullptr, nullptr};
          if (!peer_matches(r, other, subject_ep)) continue;
          if (Outcome y = check(other); y != Outcome::Covered) return y;
        }
    }
    return classes == 0 ? Outcome::Nothing : Outcome::Covered;
  };

  // NetworkPolicies last first (see `redundant`); the admin and baseline tiers in order.
  std::vector<uint32_t> order;
  for (uint32_t pi = 0; pi < policies_.size(); ++pi)
    if (policies_[pi].tier != DecisionTier::NetworkPolicy) order.push_back(pi);
  for (uint32_t pi = static_cast<uint32_t>(policies_.size()); pi-- > 0;)
    if (is_np(pi)) order.push_back(pi);

  std::vector<std::pair<uint32_t, UnusedRule>> found;
  for (uint32_t pi : order) {
    const CompiledPolicy& p = policies_[pi];
    const bool np = p.tier == DecisionTier::NetworkPolicy;
    for (Direction d : {kIngress, kEgress}) {
      const auto& rules = d == kIngress ? p.ingress : p.egress;
      for (size_t k = 0; k < rules.size(); ++k) {
        const CompiledRule& r = np ? rules[rules.size() - 1 - k] : rules[k];
        if (np && r.action != RuleAction::Allow) continue;
        if (spent > limits.total) {
          out.skipped.push_back(ref(pi, d, r));
          continue;
        }
        std::vector<std::pair<uint32_t, const CompiledRule*>> covers;
        uint64_t classes = 0;
        switch (judge(pi, d, r, covers, classes)) {
          case Outcome::Used:
          case Outcome::Nothing:
            break;
          case Outcome::Skipped:
            out.skipped.push_back(ref(pi, d, r));
            break;
          case Outcome::Covered: {
            if (np) redundant.insert(&r);
            UnusedRule u;
            u.kind = np ? UnusedRule::Kind::Redundant : UnusedRule::Kind::Shadowed;
            u.rule = ref(pi, d, r);
            u.connections = classes;
            std::sort(covers.begin(), covers.end(), [](const auto& a, const auto& b) {
              return std::tie(a.first, a.second->index) < std::tie(b.first, b.second->index);
            });
            for (const auto& [ci, cr] : covers) u.covered_by.push_back(ref(ci, d, *cr));
            found.emplace_back(pi, std::move(u));
            break;
          }
        }
      }
    }
  }
  // Policy evaluation order, then direction and rule.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.first, a.second.rule.egress, a.second.rule.index) <
           std::make_tuple(b.first, b.second.rule.egress, b.second.rule.index);
  });
  for (auto& [pi, u] : found) out.rules.push_back(std::move(u));
  return out;
}

}  // namespace stockade::engine_internal

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

// One run of EngineImpl::unused_rules: the policies' subjects, the addresses to try, the work
// spent, and the rules found redundant so far.
class UnusedRuleSearch {
 public:
  using Other = EngineImpl::Other;
  using Match = EngineImpl::Match;
  enum class Outcome { Used, Covered, Nothing, Skipped };
  using Covers = std::vector<std::pair<uint32_t, const CompiledRule*>>;

  UnusedRuleSearch(const EngineImpl& e, const std::vector<IpAddr>& outside,
                   const UnusedRuleLimits& limits)
      : e_(e), limits_(limits), n_(static_cast<uint32_t>(e.identities_.size())) {
    // The subjects of each policy per direction: the identities whose lists hold it.
    for (Direction d : {kIngress, kEgress}) {
      subjects_[d].resize(e_.policies_.size());
      for (uint32_t s = 0; s < n_; ++s) {
        const SideLists& l = e_.sides_[d][s];
        for (const auto* list : {&l.admin, &l.np, &l.baseline})
          for (uint32_t pi : *list) subjects_[d][pi].push_back(s);
      }
    }
    // Addresses outside the pods: one per part of the outside, one per node.
    addresses_ = outside;
    for (const Node& node : e_.nodes_)
      if (!node.addresses.empty()) addresses_.push_back(node.addresses.front());
  }

  UnusedRules run();

 private:
  // The tier's list a policy sits in, on one side of one identity.
  const std::vector<uint32_t>& tier_list(const CompiledPolicy& p, Direction d, uint32_t s) const {
    const SideLists& l = e_.sides_[d][s];
    return p.tier == DecisionTier::Admin      ? l.admin
           : p.tier == DecisionTier::Baseline ? l.baseline
                                              : l.np;
  }
  // Port boundaries of every rule in a list (the ranges every rule of the tier splits).
  std::vector<Point> list_points(const std::vector<uint32_t>& list, Direction d) const {
    std::vector<Point> pts;
    for (Protocol pr : kProtocols) pts.push_back({pr, 0});
    for (uint32_t pi : list)
      for (const CompiledRule& r :
           d == kIngress ? e_.policies_[pi].ingress : e_.policies_[pi].egress)
        for (const CompiledPort& cp : r.ports)
          if (cp.kind == CompiledPort::Kind::Range) add_range(pts, cp.protocol, cp.lo, cp.hi);
    normalize(pts);
    return pts;
  }
  // A declared port is a range of its own: named ports match it and nothing beside it.
  static void declared_points(std::vector<Point>& pts, const std::vector<ContainerPort>* ports) {
    if (!ports) return;
    for (const ContainerPort& cp : *ports) add_range(pts, cp.protocol, cp.port, cp.port);
  }
  RuleRef ref(uint32_t pi, Direction d, const CompiledRule& r) const {
    const CompiledPolicy& p = e_.policies_[pi];
    RuleRef rr;
    rr.policy = p.ref;
    rr.egress = d == kEgress;
    rr.index = r.index;
    rr.name = r.name;
    rr.action =
        r.action == RuleAction::Allow && p.cnp ? "Accept" : std::string(to_string(r.action));
    rr.line = r.line;
    return rr;
  }
  bool is_np(uint32_t pi) const { return e_.policies_[pi].ref.kind == "NetworkPolicy"; }
  bool over_budget(uint64_t& work) { return ++spent_ > limits_.total || ++work > limits_.per_rule; }

  // One subject's side: which rule first matches each class of connection with `o`.
  struct Trial {
    uint32_t pi;
    Direction d;
    const CompiledRule& r;
    uint32_t subject;
    const std::vector<uint32_t>& list;
    const std::vector<Point>& base;
    Covers& covers;
    uint64_t& classes;
    uint64_t& work;
  };
  Outcome check(const Trial& t, const Other& o);
  Outcome judge_subject(const Trial& t);
  Outcome judge(uint32_t pi, Direction d, const CompiledRule& r, Covers& covers, uint64_t& classes);
  void judge_policy(uint32_t pi, UnusedRules& out,
                    std::vector<std::pair<uint32_t, UnusedRule>>& found);

  const EngineImpl& e_;
  const UnusedRuleLimits& limits_;
  const uint32_t n_;
  std::vector<std::vector<uint32_t>> subjects_[2];
  std::vector<IpAddr> addresses_;
  uint64_t spent_ = 0;
  // NetworkPolicy rules already reported redundant do not cover others: two equal rules are one
  // redundant rule, not two (the later one is reported: rules are judged last first). Removing
  // every reported rule at once leaves every connection allowed.
  std::set<const CompiledRule*> redundant_;
};

UnusedRuleSearch::Outcome UnusedRuleSearch::check(const Trial& t, const Other& o) {
  const CompiledPolicy& p = e_.policies_[t.pi];
  const bool np = p.tier == DecisionTier::NetworkPolicy;
  auto skip = [&](uint32_t qi, const CompiledRule& q) {
    if (!np) return false;  // admin/baseline: the first match decides, whatever it is
    return &q == &t.r || !is_np(qi) || redundant_.contains(&q);
  };
  const std::vector<ContainerPort>* dst_ports =
      t.d == kIngress ? &e_.identity_ports(t.subject) : o.dst_ports;
  if (over_budget(t.work)) return Outcome::Skipped;
  std::vector<Point> pts = t.base;
  declared_points(pts, dst_ports);
  normalize(pts);
  const Endpoint* subject_ep = &e_.endpoints_[e_.identities_[t.subject].representative];
  for (const auto& [proto, port] : pts) {
    if (!EngineImpl::port_matches(t.r, proto, port, dst_ports)) continue;
    if (over_budget(t.work)) return Outcome::Skipped;
    ++t.classes;
    Match m = e_.first_match(t.list, t.d, o, proto, port, dst_ports, subject_ep, skip);
    if (!m.rule || m.rule == &t.r) return Outcome::Used;
    // Policies of equal priority in one tier have no defined order between them (the
    // engine's, by name, is its own choice): not a cover to report.
    if (!np && m.policy != t.pi && e_.policies_[m.policy].priority == p.priority &&
        e_.policies_[m.policy].cnp == p.cnp)
      return Outcome::Used;
    auto c = std::make_pair(m.policy, m.rule);
    if (std::find(t.covers.begin(), t.covers.end(), c) == t.covers.end()) t.covers.push_back(c);
  }
  return Outcome::Covered;
}

UnusedRuleSearch::Outcome UnusedRuleSearch::judge_subject(const Trial& t) {
  const uint32_t s = t.subject;
  auto identity = [&](uint32_t o) {
    // A pod's traffic to itself is never evaluated.
    if (o == s && e_.identities_[s].size == 1) return Outcome::Covered;
    const Endpoint* ep = &e_.endpoints_[e_.identities_[o].representative];
    Other other{static_cast<int64_t>(o), {}, t.d == kEgress ? &e_.identity_ports(o) : nullptr, ep};
    return check(t, other);
  };
  Outcome res = Outcome::Covered;
  if (t.r.all_peers) {
    for (uint32_t o = 0; o < n_ && res == Outcome::Covered; ++o) res = identity(o);
  } else {
    t.r.peer_set.for_each([&](size_t o) {
      if (res == Outcome::Covered) res = identity(static_cast<uint32_t>(o));
    });
  }
  if (res != Outcome::Covered) return res;
  if (t.r.all_peers || !t.r.ip_matchers.empty() || !t.r.node_selectors.empty()) {
    const Endpoint* subject_ep = &e_.endpoints_[e_.identities_[s].representative];
    for (const IpAddr& ip : addresses_) {
      Other other{-1, ip, nullptr, nullptr};
      if (!e_.peer_matches(t.r, other, subject_ep)) continue;
      if (Outcome y = check(t, other); y != Outcome::Covered) return y;
    }
  }
  return Outcome::Covered;
}

// Judges rule `r` of policy `pi`: Used when some connection it matches is decided by it (or
// allowed only by it); Covered with the covering rules and the number of classes otherwise.
UnusedRuleSearch::Outcome UnusedRuleSearch::judge(uint32_t pi, Direction d, const CompiledRule& r,
                                                  Covers& covers, uint64_t& classes) {
  uint64_t work = 0;  // (subject, peer) pairs and classes evaluated for this rule
  const CompiledPolicy& p = e_.policies_[pi];
  std::vector<Point> base;
  const std::vector<uint32_t>* base_list = nullptr;  // the subjects of a policy mostly share one
  for (uint32_t s : subjects_[d][pi]) {
    const std::vector<uint32_t>& list = tier_list(p, d, s);
    if (!base_list || *base_list != list) {
      base = list_points(list, d);
      base_list = &list;
    }
    Outcome x = judge_subject(Trial{pi, d, r, s, list, base, covers, classes, work});
    if (x != Outcome::Covered) return x;
  }
  return classes == 0 ? Outcome::Nothing : Outcome::Covered;
}

void UnusedRuleSearch::judge_policy(uint32_t pi, UnusedRules& out,
                                    std::vector<std::pair<uint32_t, UnusedRule>>& found) {
  const CompiledPolicy& p = e_.policies_[pi];
  const bool np = p.tier == DecisionTier::NetworkPolicy;
  for (Direction d : {kIngress, kEgress}) {
    const auto& rules = d == kIngress ? p.ingress : p.egress;
    for (size_t k = 0; k < rules.size(); ++k) {
      const CompiledRule& r = np ? rules[rules.size() - 1 - k] : rules[k];
      if (np && r.action != RuleAction::Allow) continue;
      if (spent_ > limits_.total) {
        out.skipped.push_back(ref(pi, d, r));
        continue;
      }
      Covers covers;
      uint64_t classes = 0;
      Outcome x = judge(pi, d, r, covers, classes);
      if (x == Outcome::Skipped) out.skipped.push_back(ref(pi, d, r));
      if (x != Outcome::Covered) continue;
      if (np) redundant_.insert(&r);
      UnusedRule u;
      u.kind = np ? UnusedRule::Kind::Redundant : UnusedRule::Kind::Shadowed;
      u.rule = ref(pi, d, r);
      u.connections = classes;
      std::sort(covers.begin(), covers.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first, a.second->index) < std::tie(b.first, b.second->index);
      });
      for (const auto& [ci, cr] : covers) u.covered_by.push_back(ref(ci, d, *cr));
      found.emplace_back(pi, std::move(u));
    }
  }
}

UnusedRules UnusedRuleSearch::run() {
  UnusedRules out;
  // NetworkPolicies last first (see `redundant_`); the admin and baseline tiers in order.
  std::vector<uint32_t> order;
  const uint32_t np_count = static_cast<uint32_t>(e_.policies_.size());
  for (uint32_t pi = 0; pi < np_count; ++pi)
    if (e_.policies_[pi].tier != DecisionTier::NetworkPolicy) order.push_back(pi);
  for (uint32_t pi = np_count; pi-- > 0;)
    if (is_np(pi)) order.push_back(pi);

  std::vector<std::pair<uint32_t, UnusedRule>> found;
  for (uint32_t pi : order) judge_policy(pi, out, found);
  // Policy evaluation order, then direction and rule.
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.first, a.second.rule.egress, a.second.rule.index) <
           std::make_tuple(b.first, b.second.rule.egress, b.second.rule.index);
  });
  for (auto& [pi, u] : found) out.rules.push_back(std::move(u));
  return out;
}

UnusedRules EngineImpl::unused_rules(const std::vector<IpAddr>& outside,
                                     const UnusedRuleLimits& limits) const {
  if (identities_.empty()) return {};
  return UnusedRuleSearch(*this, outside, limits).run();
}

}  // namespace stockade::engine_internal

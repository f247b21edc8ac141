// Whole-cluster reachability, identity by identity.
//
// The destination side is a list of (identity, port) pairs, "targets". Two bit matrices:
//  - ingress: for each target, the source identities its ingress side admits;
//  - egress:  for each egress profile (identities with the same policy lists behave alike),
//             the targets its egress side admits.
// The ingress matrix is transposed (64×64 blocks) so that a source's row is a plain AND of two
// bit rows. Counting weighs targets by how many endpoints they stand for, with bit planes of
// the weights so that no bit is visited one by one.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "engine/engine_impl.h"

namespace stockade::engine_internal {
namespace {

// Transposes a 64×64 bit matrix in place: bit c of a[r] becomes bit r of a[c].
void transpose64(uint64_t a[64]) {
  uint64_t m = 0x00000000FFFFFFFFULL;
  for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

class ReachMatrixImpl final : public ReachMatrix {
 public:
  ReachMatrixImpl(const EngineImpl& e, const std::vector<PortQuery>& queries) : e_(e) {
    const size_t ni = e.identity_count();
    ports_.resize(ni);
    offset_.resize(ni + 1);
    for (uint32_t id = 0; id < ni; ++id) {
      auto& out = ports_[id];
      const auto& declared = e.identity_ports(id);
      if (queries.empty()) {
        for (const ContainerPort& p : declared) out.push_back({p.protocol, p.port});
      } else {
        for (const PortQuery& q : queries) {
          if (q.name.empty()) {
            out.push_back({q.protocol, q.number});
            continue;
          }
          for (const ContainerPort& p : declared)
            if (p.name == q.name && p.protocol == q.protocol) {
              out.push_back({p.protocol, p.port});
              break;
            }
        }
      }
      std::sort(out.begin(), out.end(), [](const Port& a, const Port& b) {
        return std::tie(a.protocol, a.port) < std::tie(b.protocol, b.port);
      });
      out.erase(std::unique(out.begin(), out.end()), out.end());
      offset_[id + 1] = offset_[id] + out.size();
    }
    targets_ = offset_[ni];
    target_identity_.resize(targets_);
    target_port_.resize(targets_);
    std::map<std::pair<Protocol, uint16_t>, uint32_t> port_index;
    for (uint32_t id = 0; id < ni; ++id)
      for (size_t k = offset_[id]; k < offset_[id + 1]; ++k) {
        target_identity_[k] = id;
        const Port& p = ports_[id][k - offset_[id]];
        auto [it, inserted] = port_index.emplace(std::pair{p.protocol, p.port},
                                                 static_cast<uint32_t>(distinct_ports_.size()));
        if (inserted) distinct_ports_.push_back(p);
        target_port_[k] = it->second;
      }
    build_ingress();
    build_egress();
    build_node_overrides();
  }

  std::string describe() const override {
    return std::to_string(targets_) + " targets, " + std::to_string(egress_rows_.size()) +
           " egress profiles, " + std::to_string(overrides_.size()) + " node cells";
  }

  const std::vector<Port>& ports(uint32_t dst) const override {
    return ports_[e_.identity_of(dst)];
  }

  bool allowed(uint32_t src, uint32_t dst, size_t port_index) const override {
    if (src == dst) return true;
    if (!overrides_.empty() && (host_[src] || host_[dst])) {
      auto it = overrides_.find(cell_key(src, dst, port_index));
      if (it != overrides_.end()) return it->second;
    }
    return identity_allowed(src, dst, port_index);
  }

  ReachCounts counts(const std::vector<uint8_t>& from,
                     const std::vector<uint8_t>& to) const override {
    const size_t ni = e_.identity_count();
    const auto& eps = e_.endpoints();
    std::vector<uint64_t> f(ni), t(ni), s(ni);
    ReachCounts c;
    for (uint32_t i = 0; i < eps.size(); ++i) {
      bool in_from = from.empty() || from[i];
      bool in_to = to.empty() || to[i];
      uint32_t id = e_.identity_of(i);
      f[id] += in_from;
      t[id] += in_to;
      s[id] += in_from && in_to;
      c.endpoints += in_from || in_to;
    }
    // Bit planes of target weights.
    uint64_t max_w = 0;
    for (uint32_t id = 0; id < ni; ++id) max_w = std::max(max_w, t[id]);
    int planes = 0;
    while ((max_w >> planes) != 0) ++planes;
    std::vector<Bits> plane(planes, Bits(targets_));
    uint64_t target_weight = 0;
    for (size_t k = 0; k < targets_; ++k) {
      uint64_t w = t[target_identity_[k]];
      target_weight += w;
      for (int j = 0; j < planes; ++j)
        if ((w >> j) & 1) plane[j].set(k);
    }
    const size_t words = (targets_ + 63) / 64;
    for (uint32_t a = 0; a < ni; ++a) {
      if (f[a] == 0) continue;
      c.pairs += f[a] * target_weight;
      const uint64_t* eg = egress_rows_[profile_[a]].data();
      const uint64_t* in = ingress_t_[a].data();
      uint64_t sum = 0;
      for (int j = 0; j < planes; ++j) {
        const uint64_t* p = plane[j].data();
        uint64_t n = 0;
        for (size_t w = 0; w < words; ++w) n += std::popcount(eg[w] & in[w] & p[w]);
        sum += n << j;
      }
      uint64_t allowed = f[a] * sum;
      // A pod's traffic to itself is always allowed.
      if (s[a])
        for (size_t k = offset_[a]; k < offset_[a + 1]; ++k)
          if (!(egress_rows_[profile_[a]].test(k) && ingress_t_[a].test(k))) allowed += s[a];
      c.allowed += allowed;
    }
    // Cells where a pod and its own node's host-network pods meet.
    for (const auto& [key, value] : overrides_) {
      uint32_t src = static_cast<uint32_t>(key >> 40);
      uint32_t dst = static_cast<uint32_t>((key >> 16) & 0xffffff);
      size_t k = key & 0xffff;
      if ((from.empty() || from[src]) && (to.empty() || to[dst]))
        c.allowed += static_cast<uint64_t>(value) - identity_allowed(src, dst, k);
    }
    c.denied = c.pairs - c.allowed;
    return c;
  }

 private:
  bool identity_allowed(uint32_t src, uint32_t dst, size_t port_index) const {
    uint32_t a = e_.identity_of(src), b = e_.identity_of(dst);
    size_t t = offset_[b] + port_index;
    return egress_rows_[profile_[a]].test(t) && ingress_t_[a].test(t);
  }
  static uint64_t cell_key(uint32_t src, uint32_t dst, size_t k) {
    return (uint64_t{src} << 40) | (uint64_t{dst} << 16) | k;
  }

  // NetworkPolicies always allow traffic between a pod and its own node (and Cilium's host /
  // remote-node entities depend on it), so cells where one side is a host-network pod on the
  // other's node can differ from their identities' cell: those few cells are evaluated one by
  // one.
  void build_node_overrides() {
    const auto& eps = e_.endpoints();
    host_.assign(eps.size(), 0);
    std::unordered_map<std::string, std::vector<uint32_t>> by_node;
    bool any_host = false;
    for (uint32_t i = 0; i < eps.size(); ++i) {
      host_[i] = eps[i].pod.host_network;
      any_host |= host_[i];
      if (!eps[i].node.empty()) by_node[eps[i].node].push_back(i);
    }
    if (!any_host) return;
    for (const auto& [node, members] : by_node) {
      for (uint32_t h : members) {
        if (!host_[h]) continue;
        for (uint32_t o : members) {
          if (o == h) continue;
          for (auto [s, d] : {std::pair{h, o}, std::pair{o, h}}) {
            if (host_[s] && host_[d] && s > d) continue;  // both host-network: once
            const auto& ports = ports_[e_.identity_of(d)];
            for (size_t k = 0; k < ports.size(); ++k) {
              bool v = e_.allowed(s, d, ports[k].protocol, ports[k].port);
              if (v != identity_allowed(s, d, k)) overrides_[cell_key(s, d, k)] = v;
            }
          }
        }
      }
    }
  }
  // Ingress side of each target, over source identities; then transposed.
  void build_ingress() {
    const size_t ni = e_.identity_count();
    // Targets whose ingress side matches the same rules in the same tiers share one row.
    std::vector<Bits> rows;
    std::vector<uint32_t> row_of(targets_);
    std::map<std::vector<uint64_t>, uint32_t> row_index;
    const Bits all(ni, true);
    std::vector<uint64_t> sig;
    for (uint32_t b = 0; b < ni; ++b) {
      const SideLists& lists = e_.side(b, kIngress);
      const auto* dst_ports = &e_.identity_ports(b);
      for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) {
        const Port& port = ports_[b][k - offset_[b]];
        sig.clear();
        auto add_matching = [&](const std::vector<uint32_t>& policies) {
          for (uint32_t pi : policies) {
            const auto& rules = e_.policy(pi).ingress;
            for (size_t ri = 0; ri < rules.size(); ++ri)
              if (EngineImpl::port_matches(rules[ri], port.protocol, port.port, dst_ports))
                sig.push_back((uint64_t{pi} << 32) | ri);
          }
          sig.push_back(~uint64_t{0});  // tier separator
        };
        add_matching(lists.admin);
        add_matching(lists.deny);
        add_matching(lists.np);
        sig.push_back(!lists.isolated);
        add_matching(lists.baseline);
        auto [it, inserted] = row_index.emplace(sig, static_cast<uint32_t>(rows.size()));
        row_of[k] = it->second;
        if (inserted) rows.push_back(ingress_row(sig, lists, all));
      }
    }
    // Transpose: ingress_t_[a] has bit k when target k admits source identity a.
    ingress_t_.assign(ni, Bits(targets_));
    const size_t src_words = (ni + 63) / 64;
    // Eight source words (one cache line of each row) at a time, targets inside: reads use whole
    // cache lines and each pass writes 512 destination rows sequentially.
    constexpr size_t kGroup = 8;
    uint64_t blocks[kGroup][64];
    for (size_t w0 = 0; w0 < src_words; w0 += kGroup) {
      const size_t g = std::min(kGroup, src_words - w0);
      for (size_t k0 = 0; k0 < targets_; k0 += 64) {
        for (size_t r = 0; r < 64; ++r) {
          const uint64_t* row = k0 + r < targets_ ? rows[row_of[k0 + r]].data() + w0 : nullptr;
          for (size_t j = 0; j < g; ++j) blocks[j][r] = row ? row[j] : 0;
        }
        for (size_t j = 0; j < g; ++j) {
          transpose64(blocks[j]);
          const size_t base = (w0 + j) * 64;
          for (size_t c = 0; c < 64 && base + c < ni; ++c)
            ingress_t_[base + c].data()[k0 / 64] = blocks[j][c];
        }
      }
    }
  }

  // The ingress row of a target from its signature: the rules (policy << 32 | rule) whose
  // ports match, per tier (admin, Cilium deny, NetworkPolicy), each ended by ~0, whether the
  // NetworkPolicy tier isolates it, then the baseline tier's rules.
  Bits ingress_row(const std::vector<uint64_t>& sig, const SideLists& lists,
                   const Bits& all) const {
    const size_t ni = all.size();
    constexpr uint64_t kEnd = ~uint64_t{0};
    auto rule = [&](uint64_t id) -> const CompiledRule& {
      return e_.policy(static_cast<uint32_t>(id >> 32)).ingress[id & 0xffffffff];
    };
    size_t i = 0;
    Bits allowed(ni), remaining = all, np_set(ni);
    for (; sig[i] != kEnd; ++i) {  // admin tier
      if (remaining.any()) apply_rule(rule(sig[i]), rule(sig[i]).peers, remaining, allowed, np_set);
    }
    ++i;
    np_set |= remaining;
    for (; sig[i] != kEnd; ++i) np_set.and_not(rule(sig[i]).peers);  // deny rules win
    ++i;
    const size_t np_begin = i;
    while (sig[i] != kEnd) ++i;
    const size_t np_end = i++;
    if (lists.isolated) {
      Bits acc(ni);
      for (size_t j = np_begin; j < np_end; ++j) acc |= rule(sig[j]).peers;
      allowed.or_and(np_set, acc);
      return allowed;
    }
    ++i;  // the isolation flag
    Bits rem = np_set;
    for (; sig[i] != kEnd; ++i) apply_rule(rule(sig[i]), rule(sig[i]).peers, rem, allowed, allowed);
    allowed |= rem;
    return allowed;
  }

  // First-match semantics over a set: traffic still `remaining` that the rule matches is
  // decided by its action and leaves `remaining`.
  static void apply_rule(const CompiledRule& r, const Bits& match, Bits& remaining, Bits& allowed,
                         Bits& passed) {
    if (r.action == RuleAction::Allow) allowed.or_and(match, remaining);
    if (r.action == RuleAction::Pass) passed.or_and(match, remaining);
    remaining.and_not(match);
  }

  const Bits& targets_of(uint32_t policy, Direction d, size_t rule) {
    uint64_t key = (uint64_t{policy} << 32) | rule;
    auto it = target_cache_.find(key);
    if (it != target_cache_.end()) return it->second;
    const CompiledRule& r =
        (d == kIngress ? e_.policy(policy).ingress : e_.policy(policy).egress)[rule];
    Bits t(targets_);
    bool named = false;
    for (const CompiledPort& p : r.ports) named |= p.kind == CompiledPort::Kind::Named;
    if (r.all_ports) {
      r.peers.for_each([&](size_t b) {
        for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) t.set(k);
      });
    } else if (!named) {
      // Without named ports the answer depends on (protocol, port) only: decide each distinct
      // one once.
      std::vector<uint8_t> match(distinct_ports_.size());
      for (size_t i = 0; i < distinct_ports_.size(); ++i)
        match[i] = EngineImpl::port_matches(r, distinct_ports_[i].protocol, distinct_ports_[i].port,
                                            nullptr);
      r.peers.for_each([&](size_t b) {
        for (size_t k = offset_[b]; k < offset_[b + 1]; ++k)
          if (match[target_port_[k]]) t.set(k);
      });
    } else {
      r.peers.for_each([&](size_t b) {
        const auto* dst_ports = &e_.identity_ports(static_cast<uint32_t>(b));
        for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) {
          const Port& p = ports_[b][k - offset_[b]];
          if (EngineImpl::port_matches(r, p.protocol, p.port, dst_ports)) t.set(k);
        }
      });
    }
    return target_cache_.emplace(key, std::move(t)).first->second;
  }

  // Egress side of each distinct egress profile, over targets.
  void build_egress() {
    const size_t ni = e_.identity_count();
    profile_.resize(ni);
    std::map<std::tuple<std::vector<uint32_t>, std::vector<uint32_t>, std::vector<uint32_t>,
                        std::vector<uint32_t>, bool>,
             uint32_t>
        profiles;
    const Bits all(targets_, true);
    for (uint32_t a = 0; a < ni; ++a) {
      const SideLists& lists = e_.side(a, kEgress);
      auto key = std::make_tuple(lists.admin, lists.np, lists.baseline, lists.deny, lists.isolated);
      auto it = profiles.find(key);
      if (it != profiles.end()) {
        profile_[a] = it->second;
        continue;
      }
      Bits allowed(targets_), remaining = all, np_set(targets_);
      for (uint32_t pi : lists.admin) {
        const auto& rules = e_.policy(pi).egress;
        bool done = false;
        for (size_t ri = 0; ri < rules.size() && !done; ++ri) {
          apply_rule(rules[ri], targets_of(pi, kEgress, ri), remaining, allowed, np_set);
          done = !remaining.any();
        }
        if (done) break;
      }
      np_set |= remaining;
      for (uint32_t pi : lists.deny)  // deny rules win
        for (size_t ri = 0; ri < e_.policy(pi).egress.size(); ++ri)
          np_set.and_not(targets_of(pi, kEgress, ri));
      if (lists.isolated) {
        Bits acc(targets_);
        for (uint32_t pi : lists.np)
          for (size_t ri = 0; ri < e_.policy(pi).egress.size(); ++ri)
            acc |= targets_of(pi, kEgress, ri);
        allowed.or_and(np_set, acc);
      } else {
        Bits rem = np_set;
        for (uint32_t pi : lists.baseline) {
          const auto& rules = e_.policy(pi).egress;
          for (size_t ri = 0; ri < rules.size(); ++ri)
            apply_rule(rules[ri], targets_of(pi, kEgress, ri), rem, allowed, allowed);
        }
        allowed |= rem;
      }
      uint32_t idx = static_cast<uint32_t>(egress_rows_.size());
      egress_rows_.push_back(std::move(allowed));
      profiles.emplace(std::move(key), idx);
      profile_[a] = idx;
    }
    target_cache_.clear();
  }

  const EngineImpl& e_;
  std::vector<std::vector<Port>> ports_;  // per identity
  std::vector<size_t> offset_;            // per identity, into targets
  size_t targets_ = 0;
  std::vector<uint32_t> target_identity_;
  std::vector<uint32_t> target_port_;  // per target, into distinct_ports_
  std::vector<Port> distinct_ports_;
  std::vector<Bits> ingress_t_;    // per source identity, over targets
  std::vector<uint32_t> profile_;  // per identity, into egress_rows_
  std::vector<Bits> egress_rows_;  // per egress profile, over targets
  std::unordered_map<uint64_t, Bits> target_cache_;
  std::vector<uint8_t> host_;                     // per endpoint: host network
  std::unordered_map<uint64_t, bool> overrides_;  // cell_key -> verdict
};

}  // namespace

std::unique_ptr<ReachMatrix> EngineImpl::reach(const std::vector<PortQuery>& ports) const {
  return std::make_unique<ReachMatrixImpl>(*this, ports);
}

}  // namespace stockade::engine_internal

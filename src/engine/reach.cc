// Whole-cluster reachability, identity by identity, without identity × identity matrices.
//
// The destination side is a list of (identity, port) pairs, "targets". Two families of rows:
//  - ingress: for each distinct ingress side (targets whose ingress matches the same rules in
//             the same tiers share one), the source identities it admits;
//  - egress:  for each egress profile (identities with the same policy lists behave alike),
//             the targets its egress side admits.
// Both are kept sparse (the nonzero 64-bit words, or those of the complement when the row is
// mostly ones): NetworkPolicies are namespaced, so a row is a few namespaces' words or almost
// everything, and memory stays linear in the cluster instead of growing with the square of the
// identities.
//
// Counting streams over ingress rows and never materialises the matrix: a row's sources are
// visited word by word, grouped by egress profile (identities of one word mostly share a few
// profiles) and weighed by how many --from endpoints they stand for (bit planes of the
// weights); then each target of the row adds the weights of the profiles whose egress admits
// it. A row that admits almost everyone starts from the column sum of the egress profiles and
// subtracts its few missing words.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>

#include "core/side_by_side.h"
#include "engine/engine_impl.h"

namespace stockade::engine_internal {
namespace {

// Dense bits combined with sparse ones.
void or_sparse(Bits& dst, const SparseBits& s) {
  uint64_t* d = dst.data();
  s.for_each_word([&](size_t wi, uint64_t w) { d[wi] |= w; });
}
void and_not_sparse(Bits& dst, const SparseBits& s) {
  uint64_t* d = dst.data();
  s.for_each_word([&](size_t wi, uint64_t w) { d[wi] &= ~w; });
}
// The union of sets of `size` bits, built over the span of their stored words: a row that is
// the union of its rules' peers (a namespace's pods, mostly) without a dense bitset over all
// of them. Nothing when one of them is stored as its complement (then the dense way serves).
std::optional<SparseBits> sparse_union(const std::vector<const SparseBits*>& sets, size_t size) {
  size_t lo = SIZE_MAX, hi = 0;
  for (const SparseBits* s : sets) {
    if (s->inverted()) return std::nullopt;
    if (s->stored() == 0) continue;
    lo = std::min(lo, size_t{s->stored_index(0)});
    hi = std::max(hi, size_t{s->stored_index(s->stored() - 1)});
  }
  if (lo > hi) return SparseBits(size, 0, nullptr, 0);
  std::vector<uint64_t> words(hi - lo + 1);
  for (const SparseBits* s : sets)
    for (size_t i = 0; i < s->stored(); ++i) words[s->stored_index(i) - lo] |= s->stored_word(i);
  return SparseBits(size, lo, words.data(), words.size());
}

// dst |= s & mask
void or_and_sparse(Bits& dst, const SparseBits& s, const Bits& mask) {
  uint64_t* d = dst.data();
  const uint64_t* m = mask.data();
  s.for_each_word([&](size_t wi, uint64_t w) { d[wi] |= w & m[wi]; });
}

// Runs `work` (which takes shares of a job from a common counter and returns its part of a
// sum) on two threads when `worth_it`; the parts are added.
template <class Work>
uint64_t on_two_threads(bool worth_it, Work& work) {
  if (!worth_it) return work();
  uint64_t first = 0, second = 0;
  side_by_side([&] { first = work(); }, [&] { second = work(); });
  return first + second;
}

struct WordsHash {
  size_t operator()(const std::vector<uint64_t>& v) const {
    uint64_t h = v.size() * 0x9e3779b97f4a7c15ULL;
    for (uint64_t w : v) h = (h ^ (w * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

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
    // The two families of rows read the engine and the targets and write nothing in common:
    // the ingress rows are built beside the first egress profiles, and the rest of these are
    // shared by both threads.
    const std::vector<uint32_t> first_identity = assign_profiles();
    std::atomic<size_t> next_profile{0};
    side_by_side([&] { build_egress_rows(first_identity, next_profile); },
                 [&] {
                   build_ingress();
                   build_egress_rows(first_identity, next_profile);
                 });
    build_node_overrides();
  }

  std::string describe() const override {
    size_t bytes = 0;
    for (const SparseBits& r : ingress_rows_) bytes += r.bytes();
    for (const SparseBits& r : egress_rows_) bytes += r.bytes();
    return std::to_string(targets_) + " targets, " + std::to_string(ingress_rows_.size()) +
           " ingress rows, " + std::to_string(egress_rows_.size()) + " egress profiles (" +
           std::to_string((bytes + 512 * 1024) / (1024 * 1024)) + " MiB of rows), " +
           std::to_string(overrides_.size()) + " node cells";
  }

  const std::vector<Port>& ports(uint32_t dst) const override {
    return ports_[e_.identity_of(dst)];
  }

  bool allowed(uint32_t src, uint32_t dst, size_t port_index) const override {
    if (src == dst) return true;
    if (!overrides_.empty() && (host_[src] || host_[dst])) {
      const uint64_t key = cell_key(src, dst, port_index);
      auto it = std::lower_bound(overrides_.begin(), overrides_.end(), key,
                                 [](const auto& cell, uint64_t k) { return cell.first < k; });
      if (it != overrides_.end() && it->first == key) return it->second;
    }
    return identity_allowed(src, dst, port_index);
  }

  ReachCounts counts(const std::vector<uint8_t>& from,
                     const std::vector<uint8_t>& to) const override {
    ReachCounts c;
    const Weights w = weigh(from, to, c);
    SourceGroups g;
    std::vector<int64_t> column;
    uint64_t corrections = 0;
    // The sources' groups and the column sums beside the corrections of single cells.
    side_by_side(
        [&] {
          g = group_sources(w);
          column = column_sums(g);
        },
        [&] { corrections = self_and_node_cells(w, from, to); });
    int64_t base = 0;  // sources of the profiles whose egress admits everything but a few
    for (uint32_t p = 0; p < egress_rows_.size(); ++p)
      if (egress_rows_[p].inverted()) base += static_cast<int64_t>(g.profile_weight[p]);
    // Sums modulo 2^64: the corrections may be negative and are added in any order.
    c.allowed = count_rows(w, g, column, base) + corrections;
    c.denied = c.pairs - c.allowed;
    return c;
  }

 private:
  // Per identity, how many --from (f) and --to (t) endpoints it stands for, and how many are in
  // both (self); the bit planes of f, so that a word of sources is weighed by popcounts.
  struct Weights {
    std::vector<uint64_t> f, t, self;
    int planes = 0;
    size_t src_words = 0;
    std::vector<uint64_t> plane;
    uint64_t of(size_t wi, uint64_t bits) const {
      uint64_t sum = 0;
      for (int j = 0; j < planes; ++j)
        sum += static_cast<uint64_t>(std::popcount(bits & plane[j * src_words + wi])) << j;
      return sum;
    }
  };
  Weights weigh(const std::vector<uint8_t>& from, const std::vector<uint8_t>& to,
                ReachCounts& c) const {
    const size_t ni = e_.identity_count();
    const auto& eps = e_.endpoints();
    Weights w;
    w.f.assign(ni, 0);
    w.t.assign(ni, 0);
    w.self.assign(ni, 0);
    for (uint32_t i = 0; i < eps.size(); ++i) {
      bool in_from = from.empty() || from[i];
      bool in_to = to.empty() || to[i];
      uint32_t id = e_.identity_of(i);
      w.f[id] += in_from;
      w.t[id] += in_to;
      w.self[id] += in_from && in_to;
      c.endpoints += in_from || in_to;
    }
    uint64_t target_weight = 0, source_weight = 0, max_f = 0;
    for (size_t k = 0; k < targets_; ++k) target_weight += w.t[target_identity_[k]];
    for (uint32_t a = 0; a < ni; ++a) source_weight += w.f[a], max_f = std::max(max_f, w.f[a]);
    c.pairs = source_weight * target_weight;
    while ((max_f >> w.planes) != 0) ++w.planes;
    w.src_words = (ni + 63) / 64;
    w.plane.assign(static_cast<size_t>(w.planes) * w.src_words, 0);
    for (uint32_t a = 0; a < ni; ++a)
      for (int j = 0; j < w.planes; ++j)
        if ((w.f[a] >> j) & 1) w.plane[j * w.src_words + a / 64] |= uint64_t{1} << (a % 64);
    return w;
  }

  // What single cells add to the identities' count: a pod's traffic to itself is always
  // allowed, and cells where a pod and its own node's host-network pods meet have their own
  // verdicts (overrides_).
  uint64_t self_and_node_cells(const Weights& w, const std::vector<uint8_t>& from,
                               const std::vector<uint8_t>& to) const {
    uint64_t added = 0;
    const size_t ni = e_.identity_count();
    for (uint32_t a = 0; a < ni; ++a)
      if (w.self[a])
        for (size_t k = offset_[a]; k < offset_[a + 1]; ++k)
          if (!target_allowed(a, k)) added += w.self[a];
    for (const auto& [key, value] : overrides_) {
      uint32_t src = static_cast<uint32_t>(key >> 40);
      uint32_t dst = static_cast<uint32_t>((key >> 16) & 0xffffff);
      size_t k = key & 0xffff;
      if ((from.empty() || from[src]) && (to.empty() || to[dst]))
        added += static_cast<uint64_t>(value) - identity_allowed(src, dst, k);
    }
    return added;
  }

  // Sources of each word grouped by egress profile (only those with a weight). Profiles whose
  // egress admits every target (no egress policy) need no test: their sources form one mask
  // per word; profiles that admit no target are left out.
  struct SourceGroups {
    std::vector<uint32_t> begin;                        // per word, into `groups`
    std::vector<std::pair<uint32_t, uint64_t>> groups;  // (profile, sources in the word)
    std::vector<uint64_t> open;                         // per word: sources admitted everywhere
    std::vector<uint64_t> profile_weight;               // per profile: its sources' weight
  };
  SourceGroups group_sources(const Weights& w) const {
    const size_t ni = e_.identity_count();
    SourceGroups g;
    g.begin.resize(w.src_words + 1);
    g.open.assign(w.src_words, 0);
    g.profile_weight.assign(egress_rows_.size(), 0);
    for (uint32_t a = 0; a < ni; ++a) g.profile_weight[profile_[a]] += w.f[a];
    for (size_t wi = 0; wi < w.src_words; ++wi) {
      g.begin[wi] = static_cast<uint32_t>(g.groups.size());
      for (size_t a = wi * 64; a < std::min(ni, wi * 64 + 64); ++a) {
        if (w.f[a] == 0) continue;
        const uint32_t p = profile_[a];
        const SparseBits& eg = egress_rows_[p];
        const uint64_t bit = uint64_t{1} << (a % 64);
        if (eg.stored() == 0) {
          if (eg.inverted()) g.open[wi] |= bit;
          continue;
        }
        auto it = std::find_if(g.groups.begin() + g.begin[wi], g.groups.end(),
                               [p](const auto& e) { return e.first == p; });
        if (it == g.groups.end())
          g.groups.emplace_back(p, bit);
        else
          it->second |= bit;
      }
    }
    g.begin[w.src_words] = static_cast<uint32_t>(g.groups.size());
    return g;
  }

  // Column sums: for each target, the weighted sources whose egress admits it (less the
  // profiles' `base` for those stored as their complement).
  std::vector<int64_t> column_sums(const SourceGroups& g) const {
    std::vector<int64_t> column(targets_);
    for (uint32_t p = 0; p < egress_rows_.size(); ++p) {
      const int64_t wp = static_cast<int64_t>(g.profile_weight[p]);
      if (wp == 0) continue;
      const SparseBits& row = egress_rows_[p];
      const int64_t sign = row.inverted() ? -1 : 1;
      for (size_t i = 0; i < row.stored(); ++i)
        for (uint64_t bits = row.stored_word(i); bits; bits &= bits - 1)
          column[size_t{row.stored_index(i)} * 64 + static_cast<size_t>(std::countr_zero(bits))] +=
              sign * wp;
    }
    return column;
  }

  // Row by row: the weights of a row's sources are summed once (per profile to test, and once
  // for the sources admitted everywhere), then each target of the row tests its profiles.
  uint64_t count_rows(const Weights& w, const SourceGroups& g, const std::vector<int64_t>& column,
                      int64_t base) const {
    std::vector<uint32_t> row_begin(ingress_rows_.size() + 1), row_targets(targets_);
    for (size_t k = 0; k < targets_; ++k) ++row_begin[row_of_[k] + 1];
    for (size_t r = 0; r < ingress_rows_.size(); ++r) row_begin[r + 1] += row_begin[r];
    {
      std::vector<uint32_t> next(row_begin.begin(), row_begin.end() - 1);
      for (size_t k = 0; k < targets_; ++k)
        row_targets[next[row_of_[k]]++] = static_cast<uint32_t>(k);
    }
    // Rows are independent: blocks of them are taken in turn by two threads, each with its
    // own scratch. The total is a sum of integers, so it does not depend on which thread
    // counted which block.
    std::atomic<size_t> next_block{0};
    auto count_blocks = [&] {
      RowScratch scratch(egress_rows_.size());
      uint64_t allowed = 0;
      for (;;) {
        const size_t begin = next_block.fetch_add(kRowBlock);
        if (begin >= ingress_rows_.size()) break;
        const size_t end = std::min(ingress_rows_.size(), begin + kRowBlock);
        for (size_t r = begin; r < end; ++r) {
          const uint32_t first = row_begin[r], last = row_begin[r + 1];
          bool any = false;
          for (uint32_t i = first; i < last && !any; ++i)
            any = w.t[target_identity_[row_targets[i]]] != 0;
          if (!any) continue;
          const SparseBits& row = ingress_rows_[r];
          const uint64_t everywhere = weigh_row(row, w, g, scratch);
          allowed += count_row_targets(row, &row_targets[first], &row_targets[last], everywhere, w,
                                       column, base, scratch);
        }
      }
      return allowed;
    };
    return on_two_threads(ingress_rows_.size() >= 2 * kRowBlock, count_blocks);
  }
  static constexpr size_t kRowBlock = 16;  // rows taken at a time by a counting thread

  struct RowScratch {
    explicit RowScratch(size_t profiles) : slot_of(profiles, kNoSlot) {}
    static constexpr uint32_t kNoSlot = UINT32_MAX;
    std::vector<std::pair<uint32_t, uint64_t>> tested;  // (profile, weighed sources)
    std::vector<uint64_t> here, sums;  // a row's targets over their span, and their sums
    std::vector<uint32_t> slot_of;     // per profile: its place in `tested`, while a row is summed
  };

  // A row's sources, weighed: those admitted everywhere (returned) and, per profile to test,
  // those of that profile (scratch.tested).
  uint64_t weigh_row(const SparseBits& row, const Weights& w, const SourceGroups& g,
                     RowScratch& scratch) const {
    uint64_t everywhere = 0;
    auto& tested = scratch.tested;
    tested.clear();
    for (size_t i = 0; i < row.stored(); ++i) {
      const size_t wi = row.stored_index(i);
      const uint64_t bits = row.stored_word(i);
      everywhere += w.of(wi, bits & g.open[wi]);
      for (uint32_t j = g.begin[wi]; j < g.begin[wi + 1]; ++j)
        if (uint64_t m = bits & g.groups[j].second) {
          const uint32_t p = g.groups[j].first;
          if (scratch.slot_of[p] == RowScratch::kNoSlot) {
            scratch.slot_of[p] = static_cast<uint32_t>(tested.size());
            tested.emplace_back(p, 0);
          }
          tested[scratch.slot_of[p]].second += w.of(wi, m);
        }
    }
    for (const auto& entry : tested) scratch.slot_of[entry.first] = RowScratch::kNoSlot;
    return everywhere;
  }

  // The allowed pairs of one row's targets [first, last) (ascending target numbers).
  uint64_t count_row_targets(const SparseBits& row, const uint32_t* first, const uint32_t* last,
                             uint64_t everywhere, const Weights& w,
                             const std::vector<int64_t>& column, int64_t base,
                             RowScratch& scratch) const {
    const auto& tested = scratch.tested;
    const size_t lo_word = first[0] / 64, hi_word = last[-1] / 64;
    const size_t span_words = hi_word - lo_word + 1;
    const bool spanned = !tested.empty() && span_words < static_cast<size_t>(last - first);
    if (spanned) {
      // The row's targets are close together (a namespace's): each profile's egress words
      // over their span are read once for all of them.
      scratch.here.assign(span_words, 0);
      for (const uint32_t* k = first; k != last; ++k)
        scratch.here[*k / 64 - lo_word] |= uint64_t{1} << (*k % 64);
      scratch.sums.assign(span_words * 64, 0);
      for (const auto& [p, weight] : tested) {
        // A copy: clang 14 cannot capture a structured binding.
        const auto wp = weight;
        egress_rows_[p].for_each_word_in(lo_word, hi_word, [&](size_t wi, uint64_t word) {
          for (uint64_t bits = word & scratch.here[wi - lo_word]; bits; bits &= bits - 1)
            scratch.sums[(wi - lo_word) * 64 + static_cast<size_t>(std::countr_zero(bits))] += wp;
        });
      }
    }
    if (!spanned && !tested.empty()) {
      // Targets far apart: each profile's egress is searched along them (ascending).
      scratch.sums.assign(static_cast<size_t>(last - first), 0);
      for (const auto& [p, wp] : tested) {
        SparseBits::Cursor eg(egress_rows_[p]);
        for (const uint32_t* it = first; it != last; ++it)
          if (eg.test(*it)) scratch.sums[static_cast<size_t>(it - first)] += wp;
      }
    }
    uint64_t allowed = 0;
    for (const uint32_t* it = first; it != last; ++it) {
      const uint32_t k = *it;
      const uint64_t tk = w.t[target_identity_[k]];
      if (tk == 0) continue;
      uint64_t v = everywhere;
      if (spanned)
        v += scratch.sums[k - lo_word * 64];
      else if (!tested.empty())
        v += scratch.sums[static_cast<size_t>(it - first)];
      if (row.inverted()) v = static_cast<uint64_t>(base + column[k]) - v;
      allowed += tk * v;
    }
    return allowed;
  }

  bool target_allowed(uint32_t a, size_t k) const {
    return egress_rows_[profile_[a]].test(k) && ingress_rows_[row_of_[k]].test(a);
  }
  bool identity_allowed(uint32_t src, uint32_t dst, size_t port_index) const {
    return target_allowed(e_.identity_of(src), offset_[e_.identity_of(dst)] + port_index);
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
    // Per identity and direction: whether a Cilium rule or deny list applies to it.
    for (Direction dir : {kIngress, kEgress}) {
      cilium_[dir].assign(e_.identity_count(), 0);
      for (uint32_t id = 0; id < e_.identity_count(); ++id) {
        const SideLists& l = e_.side(id, dir);
        bool c = !l.deny.empty() || l.cilium_isolated || !l.calico.empty();
        for (uint32_t pi : l.np)
          for (const CompiledRule& r :
               dir == kIngress ? e_.policy(pi).ingress : e_.policy(pi).egress)
            c |= r.cilium != nullptr;
        cilium_[dir][id] = c;
      }
    }
    // Nodes are independent: each half of them on a thread, each half's cells sorted; the two
    // sorted lists are merged (the same list however the nodes are split).
    std::vector<const std::vector<uint32_t>*> nodes;
    nodes.reserve(by_node.size());
    for (const auto& entry : by_node) nodes.push_back(&entry.second);
    auto cells = [&](size_t begin, size_t end) {
      std::vector<std::pair<uint64_t, bool>> out;
      for (size_t i = begin; i < end; ++i) node_cells(*nodes[i], out);
      std::sort(out.begin(), out.end());
      return out;
    };
    std::vector<std::pair<uint64_t, bool>> first, second;
    const size_t half = eps.size() >= kTwoThreadsFrom ? nodes.size() / 2 : nodes.size();
    side_by_side_if(
        half < nodes.size(), [&] { first = cells(0, half); },
        [&] { second = cells(half, nodes.size()); });
    overrides_.resize(first.size() + second.size());
    std::merge(first.begin(), first.end(), second.begin(), second.end(), overrides_.begin());
    // Two host-network pods of a node meet from each one's loop: the same cell, twice.
    overrides_.erase(std::unique(overrides_.begin(), overrides_.end(),
                                 [](const auto& x, const auto& y) { return x.first == y.first; }),
                     overrides_.end());
  }

  // The cells of one node's endpoints (`members`) whose verdict differs from their
  // identities' cell, appended to `out`.
  void node_cells(const std::vector<uint32_t>& members,
                  std::vector<std::pair<uint64_t, bool>>& out) const {
    for (uint32_t h : members) {
      if (!host_[h]) continue;
      for (uint32_t o : members) {
        if (o == h) continue;
        for (auto [s, d] : {std::pair{h, o}, std::pair{o, h}}) {
          if (host_[s] && host_[d] && s > d) continue;  // both host-network: once
          const uint32_t a = e_.identity_of(s), b = e_.identity_of(d);
          const auto& ports = ports_[b];
          for (size_t k = 0; k < ports.size(); ++k) {
            const size_t target = offset_[b] + k;
            const bool eg = egress_rows_[profile_[a]].test(target);
            const bool in = ingress_rows_[row_of_[target]].test(a);
            // A side whose peer is a host-network pod on its node: without admin policies,
            // NetworkPolicies decide it, and they allow their own node whatever their rules
            // say; with none, baseline and default decide as for any peer. With admin
            // policies (which can deny before), the verdict is evaluated in full.
            auto own = [&](uint32_t subject, Direction dir, bool side) -> int {
              const SideLists& l = e_.side(subject, dir);
              if (!l.admin.empty()) return -1;
              return l.isolated ? 1 : side;
            };
            const int eg_own = host_[d] ? own(a, kEgress, eg) : eg;
            const int in_own = host_[s] ? own(b, kIngress, in) : in;
            // Cilium rules (deny, entities relative to the node, isolation that does not
            // allow the node) are evaluated in full.
            const bool plain = !cilium_[kEgress][a] && !cilium_[kIngress][b];
            const bool v = !plain || eg_own < 0 || in_own < 0
                               ? e_.allowed(s, d, ports[k].protocol, ports[k].port)
                               : eg_own && in_own;
            if (v != (eg && in)) out.emplace_back(cell_key(s, d, k), v);
          }
        }
      }
    }
  }

  // Ingress side of each target, over source identities.
  void build_ingress() {
    const size_t ni = e_.identity_count();
    // Targets whose ingress side matches the same rules in the same tiers share one row.
    row_of_.resize(targets_);
    // Hashed, not ordered: ~200,000 look-ups of keys that share long prefixes (the same
    // policies) made the ordered map's comparisons a notable share of the run.
    std::unordered_map<std::vector<uint64_t>, uint32_t, WordsHash> row_index;
    const Bits all(ni, true);
    std::vector<uint64_t> sig;
    for (uint32_t b = 0; b < ni; ++b) {
      const SideLists& lists = e_.side(b, kIngress);
      const auto* dst_ports = &e_.identity_ports(b);
      for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) {
        const Port& port = ports_[b][k - offset_[b]];
        sig.clear();
        if (!lists.calico.empty()) {
          // Calico's tiers: the row is evaluated source by source through the engine, once
          // per signature: the policy list, which rules' own ends match the target, the port
          // and the names it has on the target (named ports), or the target itself when
          // Cilium's lists are beside.
          sig.assign(lists.calico.begin(), lists.calico.end());
          sig.push_back(~uint64_t{0});
          const bool cilium = !lists.np.empty() || !lists.deny.empty();
          sig.push_back(cilium ? b : ~uint64_t{0});
          sig.push_back((uint64_t{static_cast<uint8_t>(port.protocol)} << 16) | port.port);
          for (const ContainerPort& cp : *dst_ports)
            if (cp.port == port.port && cp.protocol == port.protocol) {
              // The name, length first then 8 bytes a word: no two lists encode alike.
              sig.push_back(cp.name.size());
              for (size_t i = 0; i < cp.name.size(); i += 8) {
                uint64_t w = 0;
                for (size_t j = i; j < std::min(cp.name.size(), i + 8); ++j)
                  w |= uint64_t{static_cast<uint8_t>(cp.name[j])} << (8 * (j - i));
                sig.push_back(w);
              }
            }
          sig.push_back(~uint64_t{0});
          e_.calico_subject_key(b, kIngress, sig);
          auto [it, inserted] = row_index.emplace(sig, static_cast<uint32_t>(ingress_rows_.size()));
          row_of_[k] = it->second;
          if (!inserted) continue;
          Bits row(ni);
          for (uint32_t a = 0; a < ni; ++a)
            if (e_.side_allowed(b, kIngress, a, port.protocol, port.port)) row.set(a);
          ingress_rows_.emplace_back(row);
          continue;
        }
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
        auto [it, inserted] = row_index.emplace(sig, static_cast<uint32_t>(ingress_rows_.size()));
        row_of_[k] = it->second;
        if (!inserted) continue;
        if (auto row = isolated_row(sig, lists))
          ingress_rows_.push_back(std::move(*row));
        else
          ingress_rows_.emplace_back(ingress_row(sig, lists, all));
      }
    }
  }

  // The common row: no admin or deny tier, isolated by NetworkPolicies; its rules' peers,
  // united sparsely (see sparse_union). Nothing when the row is not of this kind.
  std::optional<SparseBits> isolated_row(const std::vector<uint64_t>& sig,
                                         const SideLists& lists) const {
    constexpr uint64_t kEnd = ~uint64_t{0};
    if (sig[0] != kEnd || sig[1] != kEnd || !lists.isolated) return std::nullopt;
    std::vector<const SparseBits*> sets;
    for (size_t j = 2; sig[j] != kEnd; ++j)
      sets.push_back(
          &e_.policy(static_cast<uint32_t>(sig[j] >> 32)).ingress[sig[j] & 0xffffffff].peer_set);
    return sparse_union(sets, e_.identity_count());
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
    for (; sig[i] != ~uint64_t{0}; ++i) {  // admin tier
      if (remaining.any())
        apply_rule(rule(sig[i]), rule(sig[i]).peer_set, remaining, allowed, np_set);
    }
    ++i;
    np_set |= remaining;
    for (; sig[i] != kEnd; ++i) and_not_sparse(np_set, rule(sig[i]).peer_set);  // deny wins
    ++i;
    const size_t np_begin = i;
    while (sig[i] != kEnd) ++i;
    const size_t np_end = i++;
    if (lists.isolated) {
      Bits acc(ni);
      for (size_t j = np_begin; j < np_end; ++j) or_sparse(acc, rule(sig[j]).peer_set);
      allowed.or_and(np_set, acc);
      return allowed;
    }
    ++i;  // the isolation flag
    Bits rem = np_set;
    for (; sig[i] != ~uint64_t{0}; ++i)
      apply_rule(rule(sig[i]), rule(sig[i]).peer_set, rem, allowed, allowed);
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
  static void apply_rule(const CompiledRule& r, const SparseBits& match, Bits& remaining,
                         Bits& allowed, Bits& passed) {
    if (r.action == RuleAction::Allow) or_and_sparse(allowed, match, remaining);
    if (r.action == RuleAction::Pass) or_and_sparse(passed, match, remaining);
    and_not_sparse(remaining, match);
  }

  // One egress-building thread's caches and scratch bitsets (over targets).
  struct EgressWork {
    explicit EgressWork(size_t targets)
        : scratch(targets),
          scratch2(targets),
          allowed(targets),
          remaining(targets),
          np_set(targets),
          acc(targets) {}
    std::unordered_map<uint64_t, SparseBits> target_cache;  // (policy, rule) -> targets
    std::unordered_map<SparseBits, SparseBits, SparseBits::Hash>
        peer_cache;                                          // identities -> targets
    std::unordered_map<std::string, SparseBits> port_cache;  // a rule's ports -> targets
    Bits scratch, scratch2, allowed, remaining, np_set, acc;
  };

  // The targets a rule's peers and ports match (kept sparse: one per egress rule). Rules of
  // different policies often share their peers (every pod, a namespace) or their ports: both
  // halves are cached by content, and a rule's targets are their intersection.
  const SparseBits& targets_of(uint32_t policy, Direction d, size_t rule, EgressWork& w) const {
    uint64_t key = (uint64_t{policy} << 32) | rule;
    auto it = w.target_cache.find(key);
    if (it != w.target_cache.end()) return it->second;
    const CompiledRule& r =
        (d == kIngress ? e_.policy(policy).ingress : e_.policy(policy).egress)[rule];
    const SparseBits& peers = peer_targets(r.peer_set, w);
    if (r.all_ports) return w.target_cache.emplace(key, peers).first->second;
    const SparseBits& ports = port_targets(r, w);
    clear(w.scratch);
    or_sparse(w.scratch, peers);
    clear(w.scratch2);
    or_sparse(w.scratch2, ports);
    w.scratch &= w.scratch2;
    return w.target_cache.emplace(key, SparseBits(w.scratch)).first->second;
  }

  // The targets of a set of identities: each identity's ports.
  const SparseBits& peer_targets(const SparseBits& ids, EgressWork& w) const {
    auto it = w.peer_cache.find(ids);
    if (it != w.peer_cache.end()) return it->second;
    clear(w.scratch);
    ids.for_each([&](size_t b) {
      for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) w.scratch.set(k);
    });
    return w.peer_cache.emplace(ids, SparseBits(w.scratch)).first->second;
  }

  // The targets whose (protocol, port) a rule's ports match.
  const SparseBits& port_targets(const CompiledRule& r, EgressWork& w) const {
    std::string key;
    bool named = false;
    for (const CompiledPort& p : r.ports) {
      named |= p.kind == CompiledPort::Kind::Named;
      key += std::to_string(static_cast<int>(p.kind)) + ":" +
             std::to_string(static_cast<int>(p.protocol)) + ":" +
             std::to_string(p.named_any_protocol) + ":" + std::to_string(p.lo) + ":" +
             std::to_string(p.hi) + ":" + std::to_string(p.name.size()) + ":" + p.name + ";";
    }
    auto it = w.port_cache.find(key);
    if (it != w.port_cache.end()) return it->second;
    clear(w.scratch2);
    if (!named) {
      // Without named ports the answer depends on (protocol, port) only: decide each distinct
      // one once.
      std::vector<uint8_t> match(distinct_ports_.size());
      for (size_t i = 0; i < distinct_ports_.size(); ++i)
        match[i] = EngineImpl::port_matches(r, distinct_ports_[i].protocol, distinct_ports_[i].port,
                                            nullptr);
      for (size_t k = 0; k < targets_; ++k)
        if (match[target_port_[k]]) w.scratch2.set(k);
    } else {
      for (size_t b = 0; b < ports_.size(); ++b) {
        const auto* dst_ports = &e_.identity_ports(static_cast<uint32_t>(b));
        for (size_t k = offset_[b]; k < offset_[b + 1]; ++k) {
          const Port& p = ports_[b][k - offset_[b]];
          if (EngineImpl::port_matches(r, p.protocol, p.port, dst_ports)) w.scratch2.set(k);
        }
      }
    }
    return w.port_cache.emplace(std::move(key), SparseBits(w.scratch2)).first->second;
  }

  static void clear(Bits& b) { std::fill(b.data(), b.data() + b.word_count(), 0); }

  // Egress profiles: identities with the same policy lists share one, numbered in the order
  // of their first identity; returns each profile's first identity. The rows are built after
  // (build_egress_rows), on two threads.
  std::vector<uint32_t> assign_profiles() {
    const size_t ni = e_.identity_count();
    profile_.resize(ni);
    std::vector<uint32_t> first_identity;
    // The key: the lists, each ended by ~0 (never a policy index), then the isolation flag.
    // Calico-decided sides: the policy list and which rules' own ends match the identity (with
    // Cilium's lists beside, the identity itself: their entities depend on its node).
    std::unordered_map<std::vector<uint64_t>, uint32_t, WordsHash> profiles;
    std::map<std::vector<uint64_t>, uint32_t> calico_profiles;
    std::vector<uint64_t> key;
    for (uint32_t a = 0; a < ni; ++a) {
      const SideLists& lists = e_.side(a, kEgress);
      key.clear();
      const uint32_t next = static_cast<uint32_t>(first_identity.size());
      bool fresh = false;
      if (!lists.calico.empty()) {
        key.assign(lists.calico.begin(), lists.calico.end());
        key.push_back(~uint64_t{0});
        const bool cilium = !lists.np.empty() || !lists.deny.empty();
        key.push_back(cilium ? a : ~uint64_t{0});
        e_.calico_subject_key(a, kEgress, key);
        auto [it, inserted] = calico_profiles.emplace(key, next);
        profile_[a] = it->second;
        fresh = inserted;
      } else {
        for (const auto* l : {&lists.admin, &lists.np, &lists.baseline, &lists.deny}) {
          key.insert(key.end(), l->begin(), l->end());
          key.push_back(~uint64_t{0});
        }
        key.push_back(lists.isolated);
        auto [it, inserted] = profiles.emplace(key, next);
        profile_[a] = it->second;
        fresh = inserted;
      }
      if (fresh) first_identity.push_back(a);
    }
    egress_rows_.resize(first_identity.size());
    return first_identity;
  }

  // The egress rows of the profiles taken from `next` (blocks of kProfileBlock), each written
  // in its own place: two threads fill egress_rows_ together, each with its own caches.
  void build_egress_rows(const std::vector<uint32_t>& first_identity, std::atomic<size_t>& next) {
    EgressWork w(targets_);
    for (size_t begin = next.fetch_add(kProfileBlock); begin < first_identity.size();
         begin = next.fetch_add(kProfileBlock))
      for (size_t p = begin; p < std::min(first_identity.size(), begin + kProfileBlock); ++p)
        egress_rows_[p] = egress_row(first_identity[p], w);
  }
  static constexpr size_t kProfileBlock = 16;

  // The egress side of identity `a` (its profile's row), over targets.
  SparseBits egress_row(uint32_t a, EgressWork& w) const {
    const SideLists& lists = e_.side(a, kEgress);
    if (!lists.calico.empty()) {
      // Calico's tiers: first match across tiers, with conditions on both ends of a rule:
      // evaluated target by target through the engine.
      Bits row(targets_);
      for (size_t k = 0; k < targets_; ++k) {
        const Port& p = distinct_ports_[target_port_[k]];
        if (e_.side_allowed(a, kEgress, target_identity_[k], p.protocol, p.port)) row.set(k);
      }
      return SparseBits(row);
    }
    if (lists.admin.empty() && lists.deny.empty() && lists.isolated) {
      // The common profile: its NetworkPolicies' rules' targets, united sparsely.
      std::vector<const SparseBits*> sets;
      for (uint32_t pi : lists.np)
        for (size_t ri = 0; ri < e_.policy(pi).egress.size(); ++ri)
          sets.push_back(&targets_of(pi, kEgress, ri, w));
      if (auto row = sparse_union(sets, targets_)) return std::move(*row);
    }
    Bits &allowed = w.allowed, &np_set = w.np_set, &remaining = w.remaining;
    clear(allowed);
    clear(np_set);
    clear(remaining);
    remaining.flip();  // every target
    for (uint32_t pi : lists.admin) {
      const auto& rules = e_.policy(pi).egress;
      bool done = false;
      for (size_t ri = 0; ri < rules.size() && !done; ++ri) {
        apply_rule(rules[ri], targets_of(pi, kEgress, ri, w), remaining, allowed, np_set);
        done = !remaining.any();
      }
      if (done) break;
    }
    np_set |= remaining;
    for (uint32_t pi : lists.deny)  // deny rules win
      for (size_t ri = 0; ri < e_.policy(pi).egress.size(); ++ri)
        and_not_sparse(np_set, targets_of(pi, kEgress, ri, w));
    if (lists.isolated) {
      clear(w.acc);
      for (uint32_t pi : lists.np)
        for (size_t ri = 0; ri < e_.policy(pi).egress.size(); ++ri)
          or_sparse(w.acc, targets_of(pi, kEgress, ri, w));
      allowed.or_and(np_set, w.acc);
    } else {
      Bits& rem = np_set;
      for (uint32_t pi : lists.baseline) {
        const auto& rules = e_.policy(pi).egress;
        for (size_t ri = 0; ri < rules.size(); ++ri)
          apply_rule(rules[ri], targets_of(pi, kEgress, ri, w), rem, allowed, allowed);
      }
      allowed |= rem;
    }
    return SparseBits(allowed);
  }

  const EngineImpl& e_;
  std::vector<std::vector<Port>> ports_;  // per identity
  std::vector<size_t> offset_;            // per identity, into targets
  size_t targets_ = 0;
  std::vector<uint32_t> target_identity_;
  std::vector<uint32_t> target_port_;  // per target, into distinct_ports_
  std::vector<Port> distinct_ports_;
  std::vector<SparseBits> ingress_rows_;  // per distinct ingress side, over source identities
  std::vector<uint32_t> row_of_;          // per target, into ingress_rows_
  std::vector<uint32_t> profile_;         // per identity, into egress_rows_
  std::vector<SparseBits> egress_rows_;   // per egress profile, over targets
  std::vector<uint8_t> host_;             // per endpoint: host network
  std::vector<uint8_t> cilium_[2];        // per direction and identity: Cilium applies
  std::vector<std::pair<uint64_t, bool>> overrides_;  // (cell_key, verdict), by key
};

}  // namespace

std::unique_ptr<ReachMatrix> EngineImpl::reach(const std::vector<PortQuery>& ports) const {
  return std::make_unique<ReachMatrixImpl>(*this, ports);
}

}  // namespace stockade::engine_internal

// Recommend's second phase (private to src/recommend/): each observed edge judged against the
// policies in force, and what it asks of the recommended policies as flat records, sorted once.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "recommend/units.h"

namespace stockade::rec {

// One peer and port that one side of an edge needs allowed: side = unit * 2 + direction
// (0 ingress, 1 egress); peer = a unit, or an address (after the units once sorted).
struct Contrib {
  uint32_t side, peer, spec, edge;  // edge | kHigh: a DNS twin port, no evidence of its own
};
// The one marker bit: on `peer` before sorting, an interned address; on `edge`, a DNS twin.
inline constexpr uint32_t kHigh = 0x80000000u;

struct Contributions {
  // Sorted by (side, peer, spec, edge); `spec` is a rank into `by_rank`, `peer` a unit or
  // units.size() + an index into `sorted_addresses`.
  std::vector<Contrib> contribs;
  std::vector<PortSpec> by_rank;
  std::vector<std::pair<IpAddr, bool>> sorted_addresses;  // (address, external)
  std::vector<Evidence> side_evidence;                    // per side
  std::vector<EdgeStats> edge_stats;                      // of the edges that contribute
  // Per unit: may receive policies (the system namespaces only with include_system), seen by
  // the window (any attempt), its established evidence and every attempt.
  std::vector<uint8_t> unit_covered, unit_seen;
  std::vector<Evidence> unit_evidence;
  std::vector<uint64_t> unit_attempts;
  std::vector<std::string> denied_examples, unresolved_examples;  // three at most

  const std::pair<IpAddr, bool>& address_of(uint32_t peer, size_t n_units) const {
    static const std::pair<IpAddr, bool> none{};
    uint32_t k = peer - static_cast<uint32_t>(n_units);
    return k < sorted_addresses.size() ? sorted_addresses[k] : none;
  }
};

// Counts every edge into `out` (edges_*, must_allow) and returns what the allowed ones ask for.
Contributions collect_contributions(const PolicyEngine& existing, const Observed& observed,
                                    const Units& units, const RecommendOptions& options,
                                    Recommendation& out);

}  // namespace stockade::rec

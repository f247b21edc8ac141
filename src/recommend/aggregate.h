// External addresses merged into covering prefixes: how a rule names many addresses outside
// the cluster, and how "from outside the cluster" leaves the pods' own prefixes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/ip.h"

namespace stockade {

// Merges external addresses into covering prefixes, narrowest first, until at most `limit`
// remain or the widest allowed prefix is reached.
// Each prefix comes with the indices into `ips` it covers; `ips` are of one family, in address
// order (as both callers hold them).
std::vector<std::pair<Cidr, std::vector<size_t>>> aggregate_prefixes(const std::vector<IpAddr>& ips,
                                                                     size_t limit,
                                                                     uint8_t min_prefix);

}  // namespace stockade

// Recommend's first phase (private to src/recommend/): the units, the pods one policy selects
// each (a top-level workload's pods, or a pod without an owner), and how each is selected.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "recommend/recommend_impl.h"

namespace stockade::rec {

struct Units {
  std::vector<Unit> units;        // sorted by (namespace, name, kind)
  std::vector<uint32_t> unit_of;  // endpoint -> its unit
};

// The workload's own selector when it has a stable one, else the labels every pod of the unit
// carries (per-pod labels left out); the policy name stem, with the kind when two units of a
// namespace share a name.
Units build_units(const ClusterState& state, const std::vector<Endpoint>& eps);

// A requirement that selects every pod of unit `u` and no pod of another unit of its namespace,
// negated (NotIn / DoesNotExist): added to a policy's selector it leaves exactly `u` out.
std::optional<SelectorRequirement> exclusion_for(const Units& units, uint32_t u,
                                                 const std::vector<Endpoint>& eps);

}  // namespace stockade::rec

// Random Calico policies, tiers and network sets over a random cluster (random_cluster.h), for
// differential tests of clusters that mix them with Kubernetes' policy kinds.
#pragma once

#include <cstdint>
#include <string>

#include "model/cluster_state.h"

namespace stockade::testing {

// Adds 0-2 Tiers, 1-4 Calico (Global)NetworkPolicies (sometimes staged), 0-2 network sets and
// service accounts (with labels) on some pods to `s`. A pure function of (`s`, `seed`).
void add_random_calico_policies(ClusterState& s, uint64_t seed);

// A readable dump of the Calico objects of `s`.
std::string dump_calico(const ClusterState& s);

}  // namespace stockade::testing

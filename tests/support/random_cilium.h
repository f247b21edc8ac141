// Random CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies over a random cluster
// (random_cluster.h), for differential tests of clusters that mix them with NetworkPolicies.
#pragma once

#include <cstdint>
#include <string>

#include "model/cluster_state.h"

namespace stockade::testing {

// Adds 1-4 Cilium policies (every peer, port and default-deny shape the loader produces),
// service accounts on some pods and, sometimes, the kubernetes Service's endpoint (the
// kube-apiserver entity) to `s`. A pure function of (`s`, `seed`).
void add_random_cilium_policies(ClusterState& s, uint64_t seed);

// A readable dump of the Cilium policies of `s`.
std::string dump_cilium(const ClusterState& s);

}  // namespace stockade::testing

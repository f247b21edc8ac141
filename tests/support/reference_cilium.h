// The naive reference for CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy, used by the
// reference evaluator (reference_evaluator.cc) for its NetworkPolicy tier. Written straight
// from Cilium's documentation, pod by pod and rule by rule, with nothing precomputed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "support/reference_evaluator.h"

namespace stockade::testing {

struct CiliumSide {
  bool isolated = false;  // some spec selecting the pod puts this direction in default deny
  bool allowed = false;   // some allow rule of a spec selecting the pod matches
  bool denied = false;    // some deny rule of a spec selecting the pod matches
};

// The Cilium policies' say on one side: the egress of `self` towards `other` (ingress false) or
// the ingress of `self` from `other`. `dst` is the connection's destination endpoint.
CiliumSide reference_cilium_side(const ClusterState& s, const std::vector<Endpoint>& eps,
                                 const Endpoint& self, bool ingress, const RefPeer& other,
                                 const Endpoint* dst, Protocol proto, uint16_t port,
                                 std::string* trace);

// Whether some Cilium policy selecting `self` puts this direction in default deny.
bool reference_cilium_isolated(const ClusterState& s, const Endpoint& self, bool ingress);

}  // namespace stockade::testing

// The naive reference for Calico's policies (tiers, order, Pass, the end-of-tier deny, and
// Kubernetes' kinds in Calico's tiers), used by the reference evaluator when the cluster holds
// Calico policies. Written from Calico's documentation, endpoint by endpoint and rule by rule,
// with nothing precomputed; only the selector expressions are shared with the engine
// (CalicoSelector, unit-tested on its own in tests/model/calico_selector_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/cluster_state.h"
#include "support/reference_evaluator.h"

namespace stockade::testing {

// Whether the cluster is evaluated as Calico evaluates it (it holds Calico policies or tiers).
bool reference_calico_mode(const ClusterState& s);

// One side under Calico: the egress of `self` towards `other` (ingress false) or the ingress
// of `self` from `other`. `dst` is the connection's destination endpoint (null: external).
bool reference_calico_side(const ClusterState& s, const std::vector<Endpoint>& eps,
                           const Endpoint& self, bool ingress, const RefPeer& other,
                           const Endpoint* dst, Protocol proto, uint16_t port, std::string* trace);

// Whether a policy of a tier that ends in a deny applies to `self` in this direction.
bool reference_calico_isolated(const ClusterState& s, const Endpoint& self, bool ingress);

}  // namespace stockade::testing

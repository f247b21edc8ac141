// Policy synthesis: least-privilege NetworkPolicies from observed traffic, checked by the
// policy engine before anything is printed.
//
// Per workload (a Deployment's, StatefulSet's, DaemonSet's, Job's pods, or a pod without an
// owner): an ingress policy allowing exactly the observed sources on the observed ports, and an
// egress policy allowing exactly the observed destinations; a default-deny policy per namespace
// that received recommendations. Existing policies are respected (see contributions.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/cluster_state.h"
#include "recommend/check_written.h"
#include "recommend/declared.h"
#include "recommend/observed.h"
#include "recommend/recommendation.h"
#include "recommend/render.h"

namespace stockade {

// `existing` is the engine compiled over the input policies (without the NetworkPolicies when
// options.replace).
Recommendation recommend(const ClusterState& state, const PolicyEngine& existing,
                         const Observed& observed, const RecommendOptions& options);

// Cluster-scoped suggestions from the edges that must stay allowed (see guardrails.cc).
std::vector<ClusterPolicy> suggest_guardrails(
    const ClusterState& state, const std::vector<Endpoint>& eps, const Observed& observed,
    const std::vector<size_t>& must_allow, const std::string& api_version,
    const std::vector<DeclaredIngress>& declared = {}, bool include_system = true);

// The cluster with the recommended policies added (existing NetworkPolicies removed when
// `replace`).
ClusterState with_recommendation(const ClusterState& state, const Recommendation& r, bool replace);

// Whether traffic to `dst` on this port is DNS (port 53, a port named dns*, or the cluster DNS
// pods over UDP): recommended on UDP and TCP both.
bool is_dns_port(const Endpoint& dst, Protocol protocol, uint16_t port);

}  // namespace stockade

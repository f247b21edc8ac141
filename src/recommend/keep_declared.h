// Recommend's declared-ingress phase (private to src/recommend/): what the objects declare
// (declared.h) added to the recommended policies, observed or not.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "recommend/contributions.h"

namespace stockade::rec {

// A rule per (reason, peers) in the destination's ingress policy and, for pod sources, in the
// sources' egress policies; the cluster DNS keeps its upstream resolvers. A unit gets a policy
// of its own for it only when the default-deny will isolate it. Sets out.declared.
void keep_declared(Recommendation& out, const ClusterState& state, const std::vector<Endpoint>& eps,
                   const Units& units, const Contributions& seen,
                   const std::shared_ptr<const std::vector<std::string>>& names,
                   const std::string& window, const RecommendOptions& options,
                   std::set<std::string>& notes);

// "From outside the cluster" excepts the pods' addresses (ipBlock matches pod IPs too): the
// prefixes covering them, /16 (/48) at the widest, or their own addresses where such a prefix
// holds a node address (traffic a load balancer sends through another node comes from that
// node).
std::vector<Cidr> pod_prefixes(const ClusterState& state, const std::vector<Endpoint>& eps);

}  // namespace stockade::rec

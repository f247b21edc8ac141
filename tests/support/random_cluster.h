// Small random clusters for differential testing of the PolicyEngine against the reference
// evaluator. Vocabularies are tiny so that selectors, CIDRs, ports and priorities collide often.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/ip.h"
#include "model/cluster_state.h"

namespace stockade::testing {

// A random cluster, a pure function of `seed`. Objects respect what a validated loader
// guarantees (sorted unique selector values, masked CIDRs, end_port >= port, ...), and vectors are
// sorted by (namespace, name) as ClusterLoader::finish() leaves them.
//
//  * 2-4 namespaces (sometimes one without a Namespace object), 1-3 labelled nodes;
//  * 3-12 pods: IPv4 in 10.0.0.1-199, sometimes IPv6 in fd00::/120, declared ports from
//    {80, 81, 443, 53} x {http, dns, metrics, unnamed} x {TCP, UDP, SCTP}; some hostNetwork
//    (IPs = their node's addresses, 10.0.0.200-254; rarely on a node missing from the input),
//    some finished (Succeeded), some Pending without IPs;
//  * sometimes a workload with no pods (an endpoint of its own, without IPs);
//  * 0-5 NetworkPolicies and 0-3 cluster policies (ANP, the BANP "default", CNP Admin/Baseline)
//    with every peer, port and action shape.
ClusterState random_cluster(uint64_t seed);

// External addresses worth testing against `s`: node addresses, free addresses inside the pod
// ranges (10.0.0.0/24, fd00::/120) that are no pod's IP, and addresses outside everything.
std::vector<IpAddr> interesting_external_ips(const ClusterState& s, std::mt19937_64& rng);

// A readable dump of the cluster: namespaces, nodes, pods, workloads and all policies.
std::string dump_cluster(const ClusterState& s);

// A readable dump of the endpoints with their index.
std::string dump_endpoints(const std::vector<Endpoint>& eps);

}  // namespace stockade::testing

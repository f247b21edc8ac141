// ClusterState: the only model of the cluster. Every source fills it; every view reads it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/calico.h"
#include "model/cilium.h"
#include "model/istio.h"
#include "model/objects.h"

namespace stockade {

struct ClusterState {
  std::vector<Namespace> namespaces;
  std::vector<Node> nodes;
  std::vector<Pod> pods;
  std::vector<Workload> workloads;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<NetworkPolicy> network_policies;
  std::vector<ClusterPolicy> cluster_policies;
  std::vector<CiliumPolicy> cilium_policies;  // CiliumNetworkPolicy, CiliumClusterwide…
  std::vector<CalicoPolicy> calico_policies;  // Calico's (Global)NetworkPolicy, staged too
  std::vector<CalicoTier> calico_tiers;
  // Istio's AuthorizationPolicies: HTTP request verdicts only (also counted, for connections,
  // in unevaluated_policies).
  std::vector<IstioAuthorizationPolicy> istio_policies;
  std::vector<CalicoNetworkSet> calico_network_sets;  // NetworkSet, GlobalNetworkSet
  std::vector<Ingress> ingresses;
  std::vector<GatewayRoute> routes;     // Gateway API routes
  std::vector<ScrapeMonitor> monitors;  // ServiceMonitors and PodMonitors
  std::vector<ServiceAccount> service_accounts;
  std::vector<Secret> secrets;
  std::vector<RbacRole> roles;        // Roles and ClusterRoles
  std::vector<RbacBinding> bindings;  // RoleBindings and ClusterRoleBindings
  std::string server_version;         // the API server's gitVersion when known (live cluster)
  std::map<std::string, uint64_t> skipped_kinds;  // kinds read but not modelled, with counts
  // Policies of a CNI's own kinds that the engine does not evaluate (Cilium host policies,
  // Calico host-endpoint policies), by kind as "Kind (group)": the verdicts ignore them, and
  // the commands say so.
  std::map<std::string, uint64_t> unevaluated_policies;
  // Fields of Pods and workloads that the API does not define ("Pod spec.containers[].foo"),
  // with counts; filled only with LoadOptions::report_unknown_fields.
  std::map<std::string, uint64_t> unknown_fields;

  // Labels of a namespace as policies see them: the Namespace object's labels, or only
  // kubernetes.io/metadata.name=NAME when the input has no such Namespace.
  Labels namespace_labels(const std::string& name) const;
};

// Something that has pods: a Pod, or a workload that stands for its pods because the input
// holds none of them (see CLI.md "Endpoints").
struct Endpoint {
  std::string ns;
  std::string name;
  std::string kind;  // "Pod" or the workload kind
  PodTemplate pod;   // labels, declared ports, hostNetwork
  std::vector<IpAddr> ips;
  std::string node;
  // The top-level workload in the input that owns the pod (a ReplicaSet's pods: its
  // Deployment), or the workload itself; empty for pods without a known owner.
  std::string workload_kind;
  std::string workload_name;
  int64_t created_ns = 0;  // when the pod was created/deleted, 0 when unknown: pod IPs are
  int64_t deleted_ns = 0;  // reused over time, so flows resolve by their own time

  std::string id() const { return ns + "/" + name; }
};

// How endpoints are grouped in a listing (`--by pod|workload|namespace`): one home for the
// name of an endpoint's group, for map's nodes and for the rows of reach, verify and diff.
enum class Granularity : uint8_t { Pod, Workload, Namespace };

// "ns/pod", "ns/workload" (a pod without a known owner stays itself), or "ns".
std::string group_id(const Endpoint& ep, Granularity by);
// "pod", "workload", "namespace" -> Granularity; nullopt for anything else.
std::optional<Granularity> parse_granularity(std::string_view text);

// The endpoints of a cluster, sorted by (namespace, name). Pods that have finished
// (phase Succeeded or Failed) are left out: they hold no IP and run no process. Each pod's
// workload comes from WorkloadResolver (model/resolution.h); `notes`, when given, receives one
// line per pod whose workload was inferred or could not be established, and why (-v).
std::vector<Endpoint> build_endpoints(const ClusterState& state,
                                      std::vector<std::string>* notes = nullptr);

}  // namespace stockade

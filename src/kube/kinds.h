// The kinds Stockade reads from a live cluster, with where they are listed: one table for the
// one-shot snapshot and the live informers.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace stockade::kube {

// KindPath::flags.
inline constexpr unsigned kClusterScoped = 1;  // not in a namespace
inline constexpr unsigned kApplied = 2;        // `stockade apply` writes it (and prunes it)

struct KindPath {
  const char* group_version;  // "v1" for the core group
  const char* resource;
  const char* kind;
  bool required;  // the policy model needs it: an error when it cannot be read
  unsigned flags = 0;
};

inline constexpr KindPath kKinds[] = {
    {"v1", "namespaces", "Namespace", true, kClusterScoped},
    {"v1", "pods", "Pod", true},
    {"v1", "services", "Service", true},
    {"v1", "replicationcontrollers", "ReplicationController", true},
    {"v1", "nodes", "Node", false, kClusterScoped},
    {"v1", "serviceaccounts", "ServiceAccount", false},
    {"apps/v1", "deployments", "Deployment", true},
    {"apps/v1", "replicasets", "ReplicaSet", true},
    {"apps/v1", "statefulsets", "StatefulSet", true},
    {"apps/v1", "daemonsets", "DaemonSet", true},
    {"batch/v1", "jobs", "Job", true},
    {"batch/v1", "cronjobs", "CronJob", true},
    {"discovery.k8s.io/v1", "endpointslices", "EndpointSlice", false},
    {"networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", true, kApplied},
    {"networking.k8s.io/v1", "ingresses", "Ingress", false},
    {"rbac.authorization.k8s.io/v1", "roles", "Role", false},
    {"rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", false, kClusterScoped},
    {"rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", false},
    {"rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", false,
     kClusterScoped},
    {"policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", true,
     kClusterScoped | kApplied},
    {"policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies",
     "BaselineAdminNetworkPolicy", true, kClusterScoped | kApplied},
    // One kind served at two versions (network-policy-api v0.3.0 on: v1beta1, the storage
    // version, and v1alpha2; v0.2.x: v1alpha2 only): read at the first one served.
    // Both versions are accepted by apply (one schema); it writes the one the server reads at.
    {"policy.networking.k8s.io/v1beta1", "clusternetworkpolicies", "ClusterNetworkPolicy", true,
     kClusterScoped | kApplied},
    {"policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies", "ClusterNetworkPolicy", true,
     kClusterScoped | kApplied},
    {"cilium.io/v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", true},
    {"cilium.io/v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", true,
     kClusterScoped},
    // Declared scrape targets `recommend` keeps (Prometheus Operator).
    {"monitoring.coreos.com/v1", "servicemonitors", "ServiceMonitor", false},
    {"monitoring.coreos.com/v1", "podmonitors", "PodMonitor", false},
};

// The first entry of kKinds for `kind` that `stockade apply` writes; null for any other kind.
inline const KindPath* applied_kind(std::string_view kind) {
  for (const KindPath& k : kKinds)
    if ((k.flags & kApplied) && kind == k.kind) return &k;
  return nullptr;
}

// Whether `stockade apply` accepts `kind` at `api_version`.
inline bool applied_at(std::string_view kind, std::string_view api_version) {
  for (const KindPath& k : kKinds)
    if ((k.flags & kApplied) && kind == k.kind && api_version == k.group_version) return true;
  return false;
}

// Whether `k` is to be read from a server that serves `served`: its group/version is served and
// no entry before it in kKinds (a newer version of the same resource) is.
inline bool read_at(const KindPath& k, const std::set<std::string>& served) {
  if (!served.count(k.group_version)) return false;
  for (const KindPath& other : kKinds) {
    if (&other == &k) return true;
    if (std::string_view(other.resource) == k.resource && served.count(other.group_version))
      return false;
  }
  return true;
}

// Whether some version of `k`'s resource is served (else it is noted as not served).
inline bool any_version_served(const KindPath& k, const std::set<std::string>& served) {
  for (const KindPath& other : kKinds)
    if (std::string_view(other.resource) == k.resource && served.count(other.group_version))
      return true;
  return false;
}

// "/api/v1/pods", "/apis/apps/v1/deployments": the cluster-wide list of a kind.
inline std::string list_path(const KindPath& k) {
  std::string gv = k.group_version;
  return (gv == "v1" ? "/api/v1/" : "/apis/" + gv + "/") + k.resource;
}

}  // namespace stockade::kube

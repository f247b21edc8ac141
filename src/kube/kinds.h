// The kinds Stockade reads from a live cluster, with where they are listed: one table for the
// one-shot snapshot and the live informers.
#pragma once

#include <string>

namespace stockade::kube {

struct KindPath {
  const char* group_version;  // "v1" for the core group
  const char* resource;
  const char* kind;
  bool required;  // the policy model needs it: an error when it cannot be read
};

inline constexpr KindPath kKinds[] = {
    {"v1", "namespaces", "Namespace", true},
    {"v1", "pods", "Pod", true},
    {"v1", "services", "Service", true},
    {"v1", "replicationcontrollers", "ReplicationController", true},
    {"v1", "nodes", "Node", false},
    {"v1", "serviceaccounts", "ServiceAccount", false},
    {"apps/v1", "deployments", "Deployment", true},
    {"apps/v1", "replicasets", "ReplicaSet", true},
    {"apps/v1", "statefulsets", "StatefulSet", true},
    {"apps/v1", "daemonsets", "DaemonSet", true},
    {"batch/v1", "jobs", "Job", true},
    {"batch/v1", "cronjobs", "CronJob", true},
    {"discovery.k8s.io/v1", "endpointslices", "EndpointSlice", false},
    {"networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", true},
    {"networking.k8s.io/v1", "ingresses", "Ingress", false},
    {"rbac.authorization.k8s.io/v1", "roles", "Role", false},
    {"rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", false},
    {"rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", false},
    {"rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", false},
    {"policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", true},
    {"policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies",
     "BaselineAdminNetworkPolicy", true},
    {"policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies", "ClusterNetworkPolicy", true},
    {"cilium.io/v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", true},
    {"cilium.io/v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", true},
};

// "/api/v1/pods", "/apis/apps/v1/deployments": the cluster-wide list of a kind.
inline std::string list_path(const KindPath& k) {
  std::string gv = k.group_version;
  return (gv == "v1" ? "/api/v1/" : "/apis/" + gv + "/") + k.resource;
}

}  // namespace stockade::kube

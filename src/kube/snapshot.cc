#include "kube/snapshot.h"

namespace stockade::kube {

namespace {

struct KindPath {
  const char* group_version;  // "v1" for the core group
  const char* resource;
  bool required;
};

constexpr KindPath kKinds[] = {
    {"v1", "namespaces", true},
    {"v1", "pods", true},
    {"v1", "services", true},
    {"v1", "replicationcontrollers", true},
    {"v1", "nodes", false},
    {"v1", "serviceaccounts", false},
    {"apps/v1", "deployments", true},
    {"apps/v1", "replicasets", true},
    {"apps/v1", "statefulsets", true},
    {"apps/v1", "daemonsets", true},
    {"batch/v1", "jobs", true},
    {"batch/v1", "cronjobs", true},
    {"discovery.k8s.io/v1", "endpointslices", false},
    {"networking.k8s.io/v1", "networkpolicies", true},
    {"networking.k8s.io/v1", "ingresses", false},
    {"rbac.authorization.k8s.io/v1", "roles", false},
    {"rbac.authorization.k8s.io/v1", "clusterroles", false},
    {"rbac.authorization.k8s.io/v1", "rolebindings", false},
    {"rbac.authorization.k8s.io/v1", "clusterrolebindings", false},
    {"policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies", true},
    {"policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies", true},
    {"policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies", true},
};

}  // namespace

Result<void> load_snapshot(Client& client, ClusterLoader& loader, SnapshotReport& report) {
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  for (const KindPath& k : kKinds) {
    std::string gv = k.group_version;
    if (!served->count(gv)) {
      // The network-policy-api kinds are optional CRDs; a core kind missing is odd but not
      // fatal (an old server without batch/v1 CronJobs, say).
      report.notes.push_back(gv + " " + k.resource + ": not served");
      continue;
    }
    std::string path = (gv == "v1" ? "/api/v1/" : "/apis/" + gv + "/") + k.resource;
    auto list = client.list(path);
    if (!list) {
      bool forbidden = list.error().message.find("HTTP 403") != std::string::npos;
      if (forbidden && !k.required) {
        report.notes.push_back(path + ": forbidden, skipped");
        continue;
      }
      return tl::unexpected(list.error());
    }
    size_t page_no = 0;
    for (const std::string& page : list->pages) {
      std::string name =
          client.config().server + path +
          (list->pages.size() > 1 ? " (page " + std::to_string(++page_no) + ")" : "");
      if (auto r = loader.add_text(page, name); !r) return tl::unexpected(r.error());
    }
  }
  return {};
}

}  // namespace stockade::kube

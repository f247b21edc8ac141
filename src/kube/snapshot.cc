#include "kube/snapshot.h"

#include "kube/kinds.h"

namespace stockade::kube {

Result<void> load_snapshot(Client& client, ClusterLoader& loader, SnapshotReport& report) {
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  for (const KindPath& k : kKinds) {
    std::string gv = k.group_version;
    if (!read_at(k, *served)) {
      // The network-policy-api kinds are optional CRDs; a core kind missing is odd but not
      // fatal (an old server without batch/v1 CronJobs, say). A kind read at another version
      // is not missing.
      if (!any_version_served(k, *served))
        report.notes.push_back(gv + " " + k.resource + ": not served");
      continue;
    }
    std::string path = list_path(k);
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

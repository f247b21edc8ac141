#include "kube/snapshot.h"

#include <functional>

#include "core/progress.h"
#include "kube/kinds.h"

namespace stockade::kube {

Result<void> load_snapshot(Client& client, ClusterLoader& loader, SnapshotReport& report,
                           bool progress) {
  auto served = client.group_versions();
  if (!served) return tl::unexpected(served.error());
  ProgressMeter meter(client.config().server, progress);
  ListTally tally;
  for (const KindPath& k : kKinds) tally.kinds_total += read_at(k, *served) ? 1 : 0;
  // Without progress the client does not count a page's objects.
  std::function<void(const Client::ListPage&)> on_page;
  if (meter.enabled())
    on_page = [&](const Client::ListPage& page) {
      if (page.number == 1) {  // the list (re)starts: what an expired one received is dropped
        tally.objects -= tally.kind_objects;
        tally.kind_objects = 0;
      }
      tally.kind_objects += page.objects;
      tally.objects += page.objects;
      tally.pages += 1;
      tally.bytes += page.bytes;
      if (page.remaining >= 0)
        tally.kind_expected = tally.kind_objects + static_cast<uint64_t>(page.remaining);
      meter.update_with([&](const std::string& what, double s) {
        return ProgressMeter::list_line(what, tally, s);
      });
    };
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
    tally.kind = k.resource;
    tally.kind_objects = tally.kind_expected = 0;
    auto list = client.list(path, Client::kListLimit, on_page);
    if (!list) {
      bool forbidden = list.error().message.find("HTTP 403") != std::string::npos;
      if (forbidden && !k.required) {
        report.notes.push_back(path + ": forbidden, skipped");
        ++tally.kinds_done;
        continue;
      }
      return tl::unexpected(list.error());
    }
    ++tally.kinds_done;
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

// One consistent read of the objects Stockade understands from a live cluster, fed to the
// same loader that reads files (so live and file mode give the same model).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "input/loader.h"
#include "kube/client.h"

namespace stockade::kube {

struct SnapshotReport {
  std::vector<std::string> notes;  // kinds not served or not readable (optional ones), counts
};

// Lists every kind (paged) and adds the pages to `loader`. Kinds the policy model needs
// (namespaces, pods, workloads, services, network policies, and the cluster policy kinds when
// the server serves them) must be readable; the others (nodes, RBAC, ...) are noted when
// forbidden. With `progress` (a terminal, no -q) one line on stderr counts the kinds listed,
// the objects and pages received and the rate (core/progress.h), erased at the end.
Result<void> load_snapshot(Client& client, ClusterLoader& loader, SnapshotReport& report,
                           bool progress = false);

}  // namespace stockade::kube

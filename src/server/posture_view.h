// GET /api/v1/posture: what `stockade scan -o json` prints for the objects in force (its
// default options: no accepted-findings files, no --k8s-version, no --allowed-registry), so
// that the console's posture and policy sections show the CLI's findings and ranking, never a
// second reading of them. Computed once per snapshot and day (expiries depend on the date).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"
#include "server/state.h"

namespace stockade::server {

class PostureView {
 public:
  // The scan of `snap` as JSON (with its trailing newline, as the CLI prints it). Errors: the
  // scan failed (its message).
  Result<std::shared_ptr<const std::string>> json(const Snapshot& snap);

 private:
  std::mutex mu_;  // one scan at a time; the others wait for its answer
  uint64_t generation_ = 0;
  std::string day_;
  std::shared_ptr<const std::string> body_;
};

}  // namespace stockade::server

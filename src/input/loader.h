// Loading Kubernetes objects from manifests: files, directories (recursive: .yaml, .yml,
// .json), stdin; multi-document YAML, JSON, `kind: List` and everything `kubectl get -o
// yaml|json` prints. JSON input takes a fast path (simdjson); YAML goes through yaml-cpp.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/error.h"
#include "model/cluster_state.h"

namespace stockade {

struct LoadOptions {
  std::string default_namespace = "default";  // for namespaced objects that name none
  // The security side of pods and pod templates (PodSecuritySpec: containers, volumes,
  // security contexts, service account), which only the posture checks read. Without it they
  // are neither decoded nor checked, and Pod::security stays empty: the flow commands load
  // large clusters about a quarter faster that way.
  bool workload_security = true;
};

class ClusterLoader {
 public:
  explicit ClusterLoader(LoadOptions options = {});

  // A file, a directory (recursive) or "-" for stdin.
  Result<void> add_path(const std::string& path);
  // In-memory YAML or JSON text; `name` stands for the file name in errors.
  Result<void> add_text(std::string_view text, const std::string& name);

  // The objects read so far as one ClusterState: an object read twice (same kind,
  // namespace, name) keeps its last version; objects are sorted by namespace and name.
  ClusterState finish() &&;

 private:
  Result<void> add_padded(const simdjson::padded_string& text, const std::string& name);

  LoadOptions options_;
  ClusterState state_;
};

}  // namespace stockade

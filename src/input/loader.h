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

// Which CRDs of the policy API (network-policy-api) the cluster has: the standard channel, or
// the experimental one, whose extra fields (ClusterNetworkPolicy `nodes` peers; in v1beta1
// also `destinationNamedPort`) the standard CRDs do not declare. Experimental accepts every
// object either channel accepts: a reader must not refuse what a cluster can hold.
enum class PolicyApiChannel : uint8_t { Experimental, Standard };

struct LoadOptions {
  std::string default_namespace = "default";  // for namespaced objects that name none
  PolicyApiChannel policy_api_channel = PolicyApiChannel::Experimental;
  // The security side of pods and pod templates (PodSecuritySpec: containers, volumes,
  // security contexts, service account), which only the posture checks read. Without it they
  // are neither decoded nor checked, and Pod::security stays empty: the flow commands load
  // large clusters faster that way (docs/notes/seams.md).
  bool workload_security = true;
  // A JSON List of at least this many bytes and items (a cluster dump) is parsed one item at
  // a time, on two threads, instead of as one document: half the memory, less serial time.
  // The result is the same either way (tests lower these to compare).
  size_t split_list_bytes = size_t{4} << 20;
  // Counts the fields of Pods, workloads and their pod templates that the API does not
  // define (ClusterState::unknown_fields): the API server's strict field validation refuses
  // them, a lenient one drops them (a misspelt `privileged` is not privileged). Off: no cost.
  bool report_unknown_fields = false;
  size_t split_list_items = 2048;
  // Such a List's items are found a window of this many bytes at a time (cut after a
  // newline), so that the structural index is a window's, not the whole file's. Tests lower it.
  size_t list_window_bytes = size_t{8} << 20;
  // A progress line on stderr (core/progress.h) while such a List's items are decoded: bytes
  // and items so far of the file. The command sets it (a terminal, no -q).
  bool progress = false;
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

  // How many items of large Lists were parsed one at a time (LoadOptions::split_list_bytes).
  size_t split_items() const { return split_items_; }

 private:
  // `mapped`: the text is a file's private mapping (pages that can be dropped and read again).
  Result<void> add_padded(simdjson::padded_string_view text, const std::string& name,
                          bool mapped = false);
  // A file that is not regular (stdin, a pipe): read as it comes (takes `fd`).
  Result<void> add_stream(int fd, const std::string& name);

  LoadOptions options_;
  ClusterState state_;
  size_t split_items_ = 0;
};

}  // namespace stockade

// Endpoint resolution: the one place where an observed pod becomes the top-level workload it
// belongs to. Every command reaches it through build_endpoints() (pods of the input) and
// EdgeGraph (pods that only a flow record names); nothing else decides which workload a pod
// is part of.
//
// Rules (CLI.md "Endpoints"):
// - A pod of the input follows its controller ownerReferences through the input to the top.
// - An owner in between that the input lacks is inferred the way Kubernetes names things and
//   kept only when the objects confirm it: a ReplicaSet `<deployment>-<pod-template-hash>` is
//   the Deployment of that name in the pod's namespace whose selector matches the pod's labels
//   (and whose name suffix is the pod's pod-template-hash label when it has one); a Job
//   `<cronjob>-<scheduled time>` is the CronJob of that name whose job template's pod labels
//   the pod carries.
// - A pod absent from the input but named by a record (namespace, pod name, Hubble
//   `workloads`, labels) is the declared workload the record names (or, without `workloads`,
//   the one its name says it was created from), after the record's labels are checked against
//   the workload's selector.
// - Nothing is invented: what cannot be established stays a pod (or, for a record, an address),
//   and `why` says what was missing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/cluster_state.h"

namespace stockade {

struct WorkloadResolution {
  std::optional<uint32_t> workload;  // index into ClusterState::workloads, the top-level one
  bool inferred = false;             // an owner in between was absent and inferred by name
  std::string why;  // when `workload` is empty or inferred: what was found or missing (-v)
};

class WorkloadResolver {
 public:
  explicit WorkloadResolver(const ClusterState& state);

  // A Pod of the input.
  WorkloadResolution of_pod(const Pod& pod) const;
  // A pod the input lacks, as a flow record names it. `workload`/`workload_kind` are Hubble's
  // `workloads[0]` (empty when absent); `labels` the record's pod labels (null when the record
  // carries none: then nothing can be checked and nothing is resolved).
  WorkloadResolution of_record(std::string_view ns, std::string_view pod, std::string_view workload,
                               std::string_view workload_kind, const Labels* labels) const;
  // The top-level workload above workload `w` through the owners the input holds.
  uint32_t top(uint32_t w) const;

  const ClusterState& state() const { return state_; }

 private:
  std::optional<uint32_t> find(std::string_view ns, std::string_view kind,
                               std::string_view name) const;
  std::optional<uint32_t> find_owner(const std::string& ns, const OwnerRef& o) const;
  // Whether pod labels fit workload `w`: its spec.selector, else its pod template's labels.
  bool fits(uint32_t w, const Labels& labels) const;

  const ClusterState& state_;
  std::unordered_map<std::string, uint32_t> by_uid_;
  std::unordered_map<std::string, uint32_t> by_key_;  // "ns\0kind\0name"
};

// Labels that differ between the pods of one workload (hashes, ordinals, job uids): never part
// of what identifies a workload.
bool is_per_pod_label(std::string_view key);

}  // namespace stockade

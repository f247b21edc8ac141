// The last check before recommended policies are written: the exact bytes, loaded back.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/cluster_state.h"

namespace stockade {

// The self-check of what is written: loads `text` (the exact bytes about to be written, YAML
// or JSON; `name` stands for the file in messages) with the manifest loader and compares what
// it holds with the policies the engine proved, in any order. "" when they are the same
// policies, else what differs.
std::string check_written(std::string_view text, const std::string& name,
                          const std::vector<const NetworkPolicy*>& policies,
                          const std::vector<const ClusterPolicy*>& guardrails,
                          const std::vector<const CiliumPolicy*>& cilium = {},
                          const std::vector<const CalicoPolicy*>& calico = {});

}  // namespace stockade

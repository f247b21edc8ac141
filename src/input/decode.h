// Turning one parsed Kubernetes object (YAML or JSON view) into model objects, with the
// validation the API server applies to the policy kinds.
#pragma once

#include <string>

#include "core/error.h"
#include "input/loader.h"
#include "model/cluster_state.h"

namespace stockade::input {

struct DecodeContext {
  std::string file;
  const LoadOptions* options = nullptr;
  ClusterState* state = nullptr;
};

// Decodes one document (an object, a `kind: List`, or null for an empty YAML document).
// On error nothing of the document is guaranteed to have been added.
template <class N>
Result<void> decode_document(const N& doc, DecodeContext& ctx);

}  // namespace stockade::input

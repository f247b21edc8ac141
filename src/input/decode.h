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
  size_t split_items = 0;  // items of Lists parsed one at a time (LoadOptions::split_list_bytes)
};

// Decodes one document (an object, a `kind: List`, or null for an empty YAML document).
// On error nothing of the document is guaranteed to have been added. `list_depth`: how many
// Lists hold the document (an item of a List that is decoded item by item).
template <class N>
Result<void> decode_document(const N& doc, DecodeContext& ctx, int list_depth = 0);

}  // namespace stockade::input

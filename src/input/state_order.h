// The order of a loaded cluster's objects: each kind sorted by its key (namespace and name,
// and kind where two kinds share a list), and of objects with one key the last read kept, as
// `kubectl apply` of the files in that order would leave them. Commands and goldens rely on
// this order; the loader applies it once all input is read (ClusterLoader::finish).
#pragma once

#include <vector>

#include "model/cluster_state.h"

namespace stockade::input {

// Every kind but pods: ClusterLoader::finish sorts the pods beside, on a second thread.
void sort_all_but_pods(ClusterState& state);
void sort_pods(std::vector<Pod>& pods);

}  // namespace stockade::input

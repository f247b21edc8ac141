// What a loaded ClusterState holds and leaves out, as lines a person reads: its contents, the
// kinds skipped and fields ignored, the policies no verdict takes into account. Every command
// (and the server) says these the same way.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "model/cluster_state.h"

namespace stockade {

// "loaded 3 namespaces, 12 pods, ...", then "skipped N KIND" and the unknown fields ignored.
std::vector<std::string> describe_contents(const ClusterState& s);

// One warning per kind of policy object held but not evaluated ("2 Foo objects are not
// evaluated: ..."); staged Calico policies are said to be never enforced.
std::vector<std::string> unevaluated_warnings(const ClusterState& s);

// The enforced policy objects the verdicts over `states` ignore, per kind: the most any one
// state holds (a comparison loads the same cluster twice). Staged policies are not counted.
std::map<std::string, uint64_t> ignored_policies(std::initializer_list<const ClusterState*> states);

// "1 Foo object, 3 Bar objects"
std::string ignored_list(const std::map<std::string, uint64_t>& ignored);

// build_endpoints' notes (pods whose workload was inferred or could not be established) as
// lines to show: the first 20 as "pod NOTE", then how many more.
std::vector<std::string> resolution_lines(const std::vector<std::string>& notes);

}  // namespace stockade

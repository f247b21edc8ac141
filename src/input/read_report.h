// What reading flow records skipped, as the lines a person reads (every command that reads
// flows says it the same way).
#pragma once

#include <string>

#include "input/flow_reader.h"

namespace stockade {

// "stockade: warning: skipped N malformed line(s); the first:" and the first problems, one per
// line (escaped); "" when none was skipped.
std::string malformed_warning(const FlowReadStats& stats);

}  // namespace stockade

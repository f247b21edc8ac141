#include "input/read_report.h"

#include "core/display.h"

namespace stockade {

std::string malformed_warning(const FlowReadStats& stats) {
  if (!stats.malformed) return {};
  std::string text = "stockade: warning: skipped " + std::to_string(stats.malformed) +
                     " malformed line(s)" + (stats.problems.empty() ? "" : "; the first:") + "\n";
  for (const Error& e : stats.problems) text += "  " + display_text(e.str()) + "\n";
  return text;
}

}  // namespace stockade

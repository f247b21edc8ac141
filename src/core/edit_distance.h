// Levenshtein distance for "did you mean" suggestions (endpoints on the command line, label
// values in the policy lint).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace stockade {

// The edit distance between `a` and `b`, or `bound + 1` as soon as it is known to exceed
// `bound` (a candidate farther than the best one so far needs no exact distance).
inline size_t edit_distance(std::string_view a, std::string_view b, size_t bound) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    size_t low = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
      low = std::min(low, row[j]);
    }
    if (low > bound) return bound + 1;
  }
  return row[b.size()];
}

// "Did you mean": the candidate closest to `want` within max(2, |want| / 3) edits (the first of
// equally close ones), or "" when none is that close. Candidates shorter than `min_size` are
// never suggested.
template <class Candidates>
std::string closest_name(std::string_view want, const Candidates& candidates, size_t min_size = 0) {
  std::string best;
  size_t best_d = std::max<size_t>(2, want.size() / 3) + 1;
  for (const auto& c : candidates) {
    if (std::string_view(c).size() < min_size) continue;
    size_t d = edit_distance(want, c, best_d);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

}  // namespace stockade

// What a proved recommendation changes, as figures: the exposure before and after, how tight
// the allowances are against what was observed, the connections it removes; and the summary
// `stockade recommend` writes on stderr (one text, so that every caller says the same).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/diff.h"
#include "engine/engine.h"
#include "recommend/pipeline.h"

namespace stockade {

// Allowed (source, destination, declared port) triples, a pod's traffic to itself left out:
// in all and into each of `namespaces` (by destination namespace).
struct Exposure {
  uint64_t total = 0;
  std::map<std::string, uint64_t> per_ns;
};
Exposure exposure(const PolicyEngine& engine, const std::set<std::string>& namespaces);

// Allowed pod pairs into `namespaces` after the recommendation, against the distinct pod pairs
// the recommendation had to keep there (both on the destinations' declared ports; pods only:
// host-network pods are their node). The DNS twin (TCP for an observed UDP lookup and the
// reverse) and what the objects declare are required too, counted apart.
struct Tightness {
  uint64_t observed_pairs = 0, dns_twins = 0, declared_pairs = 0;
  uint64_t allowed_in = 0;
  // Allowed pairs that workload selectors cannot avoid: every pod of an observed (source
  // workload, destination workload, port) with every pod of the other.
  uint64_t closure = 0;
};
Tightness tightness(const PolicyEngine& after, const Observed& observed, const Recommendation& rec,
                    const std::set<std::string>& namespaces);

// Connections the policies in force allow and the recommended set denies (`stockade diff`'s
// comparison), with up to five examples, those to or from outside first. Pairwise: nullopt
// past kRemovedListUpTo endpoints.
inline constexpr size_t kRemovedListUpTo = 3000;
struct Removed {
  uint64_t connections = 0, outside = 0;
  std::vector<DiffChange> examples;
};
std::optional<Removed> removed_connections(const ClusterState& state, const PolicyEngine& current,
                                           const ProvedRecommendation& proved);

// "12.5s", "14m", "3h05m", "2d4h".
std::string human_duration(int64_t ns);

// What reading the flows gave, for -v: the counts, then why records' pods could not be placed.
std::vector<std::string> observed_notes(const Observed& observed);

// The warning for a learning window shorter than `min_window` (as the user wrote it).
std::string low_confidence_warning(const LearningWindow& window, const std::string& min_window);

// The learning window and what it saw of each workload (every one with `all`, else up to 50,
// past that only the first 20 not observed).
std::string coverage_text(const Recommendation& rec, const LearningWindow& window, bool all);

// What the summary is about beyond the recommendation itself.
struct SummaryContext {
  std::string out_dir;        // "" for standard output
  std::string guardrail_api;  // v1beta1, v1alpha2 or v1alpha1
  LearningWindow window;
  bool list_all_coverage = false;  // -v
};

// The summary on stderr: what was written, the edges kept, exposure, tightness, coverage, what
// is removed, the declared connections kept, notes. Computes the figures above.
std::string summary_text(const ClusterState& state, const PolicyEngine& current,
                         const Observed& observed, const Recommendation& rec,
                         const ProvedRecommendation& proved, const SummaryContext& context);

}  // namespace stockade

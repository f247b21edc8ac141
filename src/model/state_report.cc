#include "model/state_report.h"

#include <algorithm>

namespace stockade {

namespace {
// Calico's staged policies are shadows: never enforced, so no verdict ignores them.
bool is_staged(const std::string& kind) {
  return kind.starts_with("Staged");
}
}  // namespace

std::vector<std::string> describe_contents(const ClusterState& s) {
  std::vector<std::string> lines;
  lines.push_back("loaded " + std::to_string(s.namespaces.size()) + " namespaces, " +
                  std::to_string(s.pods.size()) + " pods, " + std::to_string(s.workloads.size()) +
                  " workloads, " + std::to_string(s.network_policies.size()) +
                  " network policies, " + std::to_string(s.cluster_policies.size()) +
                  " cluster policies, " + std::to_string(s.cilium_policies.size()) +
                  " Cilium policies, " + std::to_string(s.calico_policies.size()) +
                  " Calico policies, " + std::to_string(s.calico_tiers.size()) + " Calico tiers, " +
                  std::to_string(s.calico_network_sets.size()) + " Calico network sets");
  for (const auto& [kind, n] : s.skipped_kinds)
    lines.push_back("skipped " + std::to_string(n) + " " + kind);
  for (const auto& [field, n] : s.unknown_fields)
    lines.push_back(
        "unknown field (ignored, as a lenient API server would; strict field validation refuses "
        "it): " +
        field + " in " + std::to_string(n) + " object(s)");
  return lines;
}

std::vector<std::string> unevaluated_warnings(const ClusterState& s) {
  std::vector<std::string> lines;
  for (const auto& [kind, n] : s.unevaluated_policies)
    lines.push_back(std::to_string(n) + " " + kind + (n == 1 ? " object is" : " objects are") +
                    " not evaluated: Stockade does not support this kind yet" +
                    (is_staged(kind) ? " (staged policies are not enforced)"
                                     : "; verdicts ignore what it allows or denies"));
  return lines;
}

std::map<std::string, uint64_t> ignored_policies(
    std::initializer_list<const ClusterState*> states) {
  std::map<std::string, uint64_t> ignored;
  for (const ClusterState* s : states)
    for (const auto& [kind, n] : s->unevaluated_policies)
      if (!is_staged(kind)) ignored[kind] = std::max(ignored[kind], n);
  return ignored;
}

std::string ignored_list(const std::map<std::string, uint64_t>& ignored) {
  std::string list;
  for (const auto& [kind, n] : ignored)
    list += (list.empty() ? "" : ", ") + std::to_string(n) + " " + kind +
            (n == 1 ? " object" : " objects");
  return list;
}

std::vector<std::string> resolution_lines(const std::vector<std::string>& notes) {
  constexpr size_t kShown = 20;
  std::vector<std::string> lines;
  for (size_t i = 0; i < notes.size() && i < kShown; ++i) lines.push_back("pod " + notes[i]);
  if (notes.size() > kShown)
    lines.push_back("... and " + std::to_string(notes.size() - kShown) + " more such pods");
  return lines;
}

}  // namespace stockade

#include "cli/observe_flags.h"

#include <cstdio>

namespace stockade::cli {

void add_observe_flags(CLI::App& cmd, ObserveFlags& f, bool flows_required) {
  auto* o = cmd.add_option("--flows", f.flows,
                           "Flow records: Hubble JSON (hubble observe -o json|jsonpb) or Stockade "
                           "agent events; file, gzip file or - for stdin; repeatable");
  if (flows_required) o->required();
  cmd.add_option("--since", f.since, "Only flows at or after this time (RFC 3339)");
  cmd.add_option("--until", f.until, "Only flows before this time (RFC 3339)");
  cmd.add_flag("--strict", f.strict, "A malformed flow line is an error (exit 2)");
}

Observed read_observed(const CommonOptions& common, const ObserveFlags& f,
                       const ClusterState& state, const PolicyEngine& engine) {
  ObserveOptions oo;
  oo.read.strict = f.strict;
  auto time_flag = [](const std::string& text, const char* flag) -> int64_t {
    if (text.empty()) return 0;
    auto t = parse_rfc3339(text);
    if (!t) throw UsageError{std::string(flag) + ": invalid RFC 3339 time \"" + text + "\""};
    return *t == 0 ? 1 : *t;
  };
  oo.since_ns = time_flag(f.since, "--since");
  oo.until_ns = time_flag(f.until, "--until");
  if (oo.since_ns && oo.until_ns && oo.until_ns <= oo.since_ns)
    throw UsageError{"--until must be after --since"};
  auto r = observe_flows(state, engine, f.flows, oo);
  if (!r) throw UsageError{r.error().str()};
  const FlowReadStats& stats = r->read_stats;
  if (stats.malformed && !common.quiet) {
    std::fprintf(stderr, "stockade: warning: skipped %llu malformed line(s)%s\n",
                 static_cast<unsigned long long>(stats.malformed),
                 stats.problems.empty() ? "" : "; the first:");
    for (const Error& e : stats.problems) std::fprintf(stderr, "  %s\n", e.str().c_str());
  }
  verbose_log(common, std::to_string(stats.records) + " flow records, " +
                          std::to_string(r->outside_window) + " outside --since/--until, " +
                          std::to_string(r->edges.size()) + " observed edges");
  return std::move(*r);
}

}  // namespace stockade::cli

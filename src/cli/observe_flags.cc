#include "cli/observe_flags.h"

#include <cstdint>
#include <cstdio>

#include "core/wall_clock.h"
#include "input/read_report.h"
#include "recommend/summary.h"

namespace stockade::cli {

ObserveOptions observe_options(const ObserveSettings& f) {
  static const int64_t now = wall_now_ns();
  return value_or_usage_error(stockade::observe_options(f, now));
}

Observed read_observed(const CommonOptions& common, const ObserveSettings& f,
                       const ClusterState& state, const PolicyEngine& engine) {
  ObserveOptions oo = observe_options(f);
  ProgressMeter meter(f.flows.size() == 1 && f.flows[0] != "-" ? f.flows[0] : "flows",
                      progress_wanted(common.quiet));
  oo.read.on_read = [&meter](uint64_t read, uint64_t total, uint64_t records, bool done) {
    meter.on_read(read, total, records, done);
  };
  Observed obs = value_or_usage_error(observe_flows(state, engine, f.flows, oo));
  if (!common.quiet) std::fputs(malformed_warning(obs.read_stats).c_str(), stderr);
  for (const std::string& note : observed_notes(obs)) verbose_log(common, note);
  return obs;
}

}  // namespace stockade::cli

#include "cli/observe_flags.h"

#include "input/read_report.h"
#include "model/duration.h"
#include "recommend/summary.h"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace stockade::cli {

int64_t parse_duration_ns(const std::string& text, const char* flag) {
  if (auto d = parse_duration(text)) return *d;
  throw UsageError{std::string(flag) +
                   ": expected a duration such as 24h, 1h30m, 90s or 7d, got \"" + text + "\""};
}

int64_t observe_time(const std::string& text, const char* flag) {
  // One "now" for the whole process: --since and --until, and every command reading them.
  static const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  std::string error;
  if (auto t = parse_time_or_age(text, now, &error)) return *t;
  throw UsageError{std::string(flag) + ": " + error};
}

void add_observe_flags(CLI::App& cmd, ObserveFlags& f, bool flows_required) {
  auto* o = cmd.add_option("--flows", f.flows,
                           "Flow records: Hubble JSON (hubble observe -o json|jsonpb) or Stockade "
                           "agent events; file, gzip file or - for stdin; repeatable");
  if (flows_required) o->required();
  cmd.add_option("--since", f.since,
                 "Only flows at or after this time: RFC 3339, or a duration before now (24h, "
                 "1h30m, 90s, 7d) as hubble observe takes it");
  cmd.add_option("--until", f.until,
                 "Only flows before this time: RFC 3339, or a duration before now");
  cmd.add_flag("--strict", f.options.read.strict, "A malformed flow line is an error (exit 2)");
  add_gzip_ratio_flag(cmd, f.options.read.max_gzip_ratio);
  cmd.add_option("--max-external-nodes", f.options.max_external_nodes,
                 "Refuse flows naming more than this many distinct external addresses (each is "
                 "a peer of its own; 0: no limit)")
      ->default_str(std::to_string(kDefaultMaxObservedExternal));
}

void add_gzip_ratio_flag(CLI::App& cmd, uint32_t& ratio) {
  cmd.add_option("--max-gzip-ratio", ratio,
                 "Refuse gzip input that inflates more than this many times once past 64 MiB "
                 "(a decompression bomb; 0: no limit)")
      ->default_str(std::to_string(kDefaultMaxGzipRatio));
}

Observed read_observed(const CommonOptions& common, const ObserveFlags& f,
                       const ClusterState& state, const PolicyEngine& engine) {
  ObserveOptions oo = f.options;
  oo.since_ns = observe_time(f.since, "--since");
  oo.until_ns = observe_time(f.until, "--until");
  if (oo.since_ns && oo.until_ns && oo.until_ns <= oo.since_ns)
    throw UsageError{"--until must be after --since"};
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

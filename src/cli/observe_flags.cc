#include "cli/observe_flags.h"

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>

namespace stockade::cli {

int64_t parse_duration_ns(const std::string& text, const char* flag) {
  // Go's time.ParseDuration units (as hubble observe --since takes them), plus d for days.
  auto bad = [&]() -> UsageError {
    return UsageError{std::string(flag) +
                      ": expected a duration such as 24h, 1h30m, 90s or 7d, got \"" + text + "\""};
  };
  if (text == "0") return 0;
  if (text.empty()) throw bad();
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == i || digits - i > 9) throw bad();
    const int64_t n = std::stoll(text.substr(i, digits - i));
    size_t unit_end = digits;
    while (unit_end < text.size() && std::isalpha(static_cast<unsigned char>(text[unit_end])))
      ++unit_end;
    const std::string unit = text.substr(digits, unit_end - digits);
    int64_t scale = unit == "ms"  ? 1'000'000LL
                    : unit == "s" ? 1'000'000'000LL
                    : unit == "m" ? 60'000'000'000LL
                    : unit == "h" ? 3'600'000'000'000LL
                    : unit == "d" ? 86'400'000'000'000LL
                                  : 0;
    if (!scale || n > INT64_MAX / scale || total > INT64_MAX - n * scale) throw bad();
    total += n * scale;
    i = unit_end;
  }
  return total;
}

int64_t observe_time(const std::string& text, const char* flag) {
  if (text.empty()) return 0;
  if (auto t = parse_rfc3339(text)) return *t == 0 ? 1 : *t;
  if (!text.empty() && std::isdigit(static_cast<unsigned char>(text.front())) &&
      std::isalpha(static_cast<unsigned char>(text.back()))) {
    // One "now" for the whole process: --since and --until, and every command reading them.
    static const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    const int64_t d = parse_duration_ns(text, flag);
    return now - d > 0 ? now - d : 1;
  }
  throw UsageError{std::string(flag) + ": invalid time \"" + text +
                   "\" (RFC 3339, e.g. 2026-01-01T00:00:00Z, or a duration before now, e.g. 24h)"};
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
  cmd.add_flag("--strict", f.strict, "A malformed flow line is an error (exit 2)");
  add_gzip_ratio_flag(cmd, f.max_gzip_ratio);
}

void add_gzip_ratio_flag(CLI::App& cmd, uint32_t& ratio) {
  cmd.add_option("--max-gzip-ratio", ratio,
                 "Refuse gzip input that inflates more than this many times once past 64 MiB "
                 "(a decompression bomb; 0: no limit)")
      ->default_str(std::to_string(kDefaultMaxGzipRatio));
}

Observed read_observed(const CommonOptions& common, const ObserveFlags& f,
                       const ClusterState& state, const PolicyEngine& engine) {
  ObserveOptions oo;
  oo.read.strict = f.strict;
  oo.read.max_gzip_ratio = f.max_gzip_ratio;
  oo.since_ns = observe_time(f.since, "--since");
  oo.until_ns = observe_time(f.until, "--until");
  if (oo.since_ns && oo.until_ns && oo.until_ns <= oo.since_ns)
    throw UsageError{"--until must be after --since"};
  ProgressMeter meter(f.flows.size() == 1 && f.flows[0] != "-" ? f.flows[0] : "flows",
                      progress_wanted(common.quiet));
  oo.read.on_read = [&meter](uint64_t read, uint64_t total, uint64_t records, bool done) {
    meter.on_read(read, total, records, done);
  };
  auto r = observe_flows(state, engine, f.flows, oo);
  if (!r) throw UsageError{r.error().str()};
  const FlowReadStats& stats = r->read_stats;
  if (stats.malformed && !common.quiet) {
    std::fprintf(stderr, "stockade: warning: skipped %llu malformed line(s)%s\n",
                 static_cast<unsigned long long>(stats.malformed),
                 stats.problems.empty() ? "" : "; the first:");
    for (const Error& e : stats.problems)
      std::fprintf(stderr, "  %s\n", display_text(e.str()).c_str());
  }
  verbose_log(common, std::to_string(stats.records) + " flow records, " +
                          std::to_string(r->outside_window) + " outside --since/--until, " +
                          std::to_string(r->edges.size()) + " observed edges");
  for (const std::string& note : r->resolution_notes) verbose_log(common, note);
  if (r->unresolved_pods > r->resolution_notes.size())
    verbose_log(common, "... " + std::to_string(r->unresolved_pods) +
                            " pods named by records are not in the input in all");
  return std::move(*r);
}

}  // namespace stockade::cli

// stockade detect: threat signals (scans, sweeps, floods) in observed traffic (src/detect).
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "detect/report.h"
#include "input/read_report.h"

namespace stockade::cli {

namespace {

struct DetectOptions {
  CommonOptions common;
  std::vector<std::string> flows;
  std::string window = "10s";
  detect::Thresholds t;
  bool strict = false;
  uint32_t max_gzip_ratio = kDefaultMaxGzipRatio;
};

int run(DetectOptions& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.flows}});
  o.t.window_ns = parse_duration_ns(o.window, "--window");
  if (o.t.window_ns <= 0) throw UsageError{"--window: expected a positive duration"};
  std::vector<std::pair<IpAddr, std::string>> names;
  if (has_object_source(o.common)) {
    ClusterState state = load_cluster(o.common);
    names = detect::endpoint_names(resolve_endpoints(state, o.common));
  }
  FlowReadOptions ro;
  ro.strict = o.strict;
  ro.max_gzip_ratio = o.max_gzip_ratio;
  auto run = value_or_usage_error(detect::detect_files(o.flows, ro, o.t, names));
  if (!o.common.quiet) std::fputs(malformed_warning(run.stats).c_str(), stderr);
  verbose_log(o.common, std::to_string(run.stats.records) + " records, " +
                            std::to_string(run.counted) + " counted, in " +
                            std::to_string(run.seconds) + " s");
  const std::string out = o.common.output == "json"
                              ? detect::detect_json(run).dump(
                                    -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                    "\n"
                              : detect::detect_table(run);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return run.signals.empty() ? kExitOk : kExitFound;
}

}  // namespace

Runner register_detect(CLI::App& app) {
  auto opts = std::make_shared<DetectOptions>();
  CLI::App* cmd = app.add_subcommand(
      "detect", "Threat signals in observed traffic: port scans, host sweeps, SYN/UDP/ICMP floods");
  add_common_flags(*cmd, opts->common, {"table", "json"}, "table");
  opts->common.workload_security = false;
  opts->common.objects_optional = true;  // -f only names addresses
  detect::Thresholds& t = opts->t;
  cmd->add_option(
         "--flows", opts->flows,
         "Flow records (Hubble JSON or Stockade agent events); file, gzip or -; repeatable")
      ->required();
  cmd->add_option("--window", opts->window, "Counting window (each judged with the one before)")
      ->default_str("10s");
  cmd->add_option("--scan-ports", t.scan_ports, "Port scan: unanswered ports of one target")
      ->default_val(t.scan_ports)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--sweep-hosts", t.sweep_hosts, "Host sweep: unanswered targets on one port")
      ->default_val(t.sweep_hosts)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--syn-flood", t.syn_flood, "SYN flood: unanswered TCP attempts, one target port")
      ->default_val(t.syn_flood)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--udp-flood", t.udp_flood, "UDP flood: unanswered datagrams, one target port")
      ->default_val(t.udp_flood)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--icmp-flood", t.icmp_flood, "ICMP flood: unanswered requests, one target")
      ->default_val(t.icmp_flood)
      ->check(CLI::PositiveNumber);
  cmd->add_option("--flood-unanswered", t.flood_unanswered,
                  "Floods: least share of the target port's attempts unanswered")
      ->default_val(t.flood_unanswered)
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--strict", opts->strict, "A malformed flow line is an error (exit 2)");
  add_gzip_ratio_flag(*cmd, opts->max_gzip_ratio);
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

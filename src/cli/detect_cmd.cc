// stockade detect: threat signals (scans, sweeps, floods) in observed traffic (src/detect).
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "detect/detect_settings.h"
#include "detect/report.h"
#include "input/flow_read_settings.h"
#include "input/read_report.h"

namespace stockade::cli {

namespace {

// The detectors' settings (detect/detect_settings.h) and the flows they read.
struct DetectOptions : detect::DetectSettings {
  CommonOptions common;
  std::vector<std::string> flows;
  FlowReadOptions read;  // --strict, --max-gzip-ratio
};

int run(const DetectOptions& o) {
  check_stdin_once({{"-f", &o.common.files}, {"--flows", &o.flows}});
  const detect::Thresholds t = value_or_usage_error(detect::thresholds(o));
  std::vector<std::pair<IpAddr, std::string>> names;
  if (has_object_source(o.common)) {
    ClusterState state = load_cluster(o.common);
    names = detect::endpoint_names(resolve_endpoints(state, o.common));
  }
  auto run = value_or_usage_error(
      detect::detect_files(o.flows, o.read, t, names, progress_wanted(o.common.quiet)));
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
  cmd->add_option(
         "--flows", opts->flows,
         "Flow records (Hubble JSON or Stockade agent events); file, gzip or -; repeatable")
      ->required();
  add_settings(*cmd, detect::settings(*opts));  // --window, the thresholds
  add_settings(*cmd,
               {strict_setting(opts->read.strict), gzip_ratio_setting(opts->read.max_gzip_ratio)});
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

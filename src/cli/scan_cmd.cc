// stockade scan: posture findings (configuration, RBAC, network isolation, version CVEs),
// ranked by context. Parsing and printing only; the checks live in src/posture.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "posture/posture.h"

namespace stockade::cli {

namespace {

struct ScanCliOptions {
  CommonOptions common;
  posture::ScanOptions scan;  // --k8s-version, --include-system, --allowed-registry
  std::string fail_on = "high";
  std::vector<std::string> accept_files;
};

int run(const ScanCliOptions& o) {
  posture::ScanOptions so = o.scan;
  so.today = posture::today_utc();
  for (const std::string& f : o.accept_files) {
    const auto accepted = value_or_usage_error(posture::load_accepted(f));
    so.accepted.insert(so.accepted.end(), accepted.begin(), accepted.end());
  }
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  verbose_log(o.common, "load: " + clock.lap());
  auto engine = PolicyEngine::compile(state, build_endpoints(state));
  verbose_log(o.common, "compile: " + clock.lap());
  const posture::ScanReport report = value_or_usage_error(posture::scan(state, *engine, so));
  verbose_log(o.common, "scan: " + clock.lap());
  if (!o.common.quiet)
    for (const std::string& w : report.warnings)
      std::fprintf(stderr, "stockade: warning: %s\n", display_text(w).c_str());
  const std::string out = o.common.output == "json"    ? posture::render_json(report)
                          : o.common.output == "sarif" ? posture::render_sarif(report)
                                                       : posture::render_table(report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  const bool fail =
      o.fail_on != "none" && posture::has_findings_at(report, *posture::parse_severity(o.fail_on));
  return fail ? kExitFound : kExitOk;
}

}  // namespace

Runner register_scan(CLI::App& app) {
  auto opts = std::make_shared<ScanCliOptions>();
  CLI::App* cmd =
      app.add_subcommand("scan",
                         "Posture: risky configuration, RBAC over-privilege, network isolation and "
                         "Kubernetes CVEs, ranked by context (table, json, sarif)");
  add_common_flags(*cmd, opts->common, {"table", "json", "sarif"}, "table");
  cmd->add_option("--fail-on", opts->fail_on,
                  "Exit 1 when an unsuppressed finding at or above this severity exists")
      ->check(CLI::IsMember({"critical", "high", "medium", "low", "none"}))
      ->default_str("high");
  cmd->add_option("--k8s-version", opts->scan.k8s_version,
                  "Check this Kubernetes version (e.g. v1.29.3) against the offline CVE table "
                  "instead of the nodes' kubelet versions");
  cmd->add_option("--accept", opts->accept_files,
                  "File of accepted findings (check, resource, reason, optional expiry); "
                  "repeatable");
  cmd->add_option("--allowed-registry", opts->scan.allowed_registries,
                  "Image prefix that is allowed (e.g. registry.example.com/ or "
                  "docker.io/library/); repeatable; when given, other images are reported "
                  "(UNTRUSTED_REGISTRY)");
  cmd->add_flag("--include-system", opts->scan.include_system,
                "Report RBAC findings on system roles and subjects (excluded by default, "
                "listed as suppressed)");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

// stockade scan: posture findings (configuration, RBAC, network isolation, version CVEs),
// ranked by context. Parsing and printing only; the checks live in src/posture.
#include <ctime>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "posture/posture.h"

namespace stockade::cli {

namespace {

struct ScanCliOptions {
  CommonOptions common;
  std::string fail_on = "high";
  std::string k8s_version;
  std::vector<std::string> accept_files;
  bool include_system = false;
  std::vector<std::string> allowed_registries;
};

std::string today_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

int run(const ScanCliOptions& o) {
  posture::ScanOptions so;
  so.k8s_version = o.k8s_version;
  so.include_system = o.include_system;
  so.allowed_registries = o.allowed_registries;
  so.today = today_utc();
  for (const std::string& f : o.accept_files) {
    auto a = posture::load_accepted(f);
    if (!a) throw UsageError{a.error().str()};
    so.accepted.insert(so.accepted.end(), a->begin(), a->end());
  }
  Stopwatch clock;
  ClusterState state = load_cluster(o.common);
  verbose_log(o.common, "load: " + clock.lap());
  auto engine = PolicyEngine::compile(state, build_endpoints(state));
  verbose_log(o.common, "compile: " + clock.lap());
  auto report = posture::scan(state, *engine, so);
  if (!report) throw UsageError{report.error().str()};
  verbose_log(o.common, "scan: " + clock.lap());
  if (!o.common.quiet)
    for (const std::string& w : report->warnings)
      std::fprintf(stderr, "stockade: warning: %s\n", display_text(w).c_str());
  const std::string out = o.common.output == "json"    ? posture::render_json(*report)
                          : o.common.output == "sarif" ? posture::render_sarif(*report)
                                                       : posture::render_table(*report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  int code = kExitOk;
  if (o.fail_on != "none") {
    posture::Severity threshold = *posture::parse_severity(o.fail_on);
    for (const posture::Finding& f : report->findings)
      if (!f.suppressed && f.severity >= threshold) code = kExitFound;
  }
  return code;
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
  cmd->add_option("--k8s-version", opts->k8s_version,
                  "Check this Kubernetes version (e.g. v1.29.3) against the offline CVE table "
                  "instead of the nodes' kubelet versions");
  cmd->add_option("--accept", opts->accept_files,
                  "File of accepted findings (check, resource, reason, optional expiry); "
                  "repeatable");
  cmd->add_option("--allowed-registry", opts->allowed_registries,
                  "Image prefix that is allowed (e.g. registry.example.com/ or "
                  "docker.io/library/); repeatable; when given, other images are reported "
                  "(UNTRUSTED_REGISTRY)");
  cmd->add_flag("--include-system", opts->include_system,
                "Report RBAC findings on system roles and subjects (excluded by default, "
                "listed as suppressed)");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

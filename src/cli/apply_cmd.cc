// stockade apply: policies into a live cluster by server-side apply, dry run first.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "input/loader.h"
#include "kube/apply.h"

namespace stockade::cli {

namespace {

struct ApplyOptions {
  CommonOptions common;
  kube::ApplyPlan plan;  // --dry-run, --force-conflicts, --prune-owned
};

int run(const ApplyOptions& o) {
  auto objects = value_or_usage_error(kube::read_apply_objects(o.common.files, o.common.ns));
  if (objects.empty()) throw UsageError{"no policies to apply in the files given"};
  // The same validation as every other command (the API server's rules).
  {
    ClusterLoader loader(load_options(o.common));
    for (const auto& f : o.common.files) value_or_usage_error(loader.add_path(f));
  }
  auto client = connect_cluster(o.common);
  const bool json_out = o.common.output == "json";
  kube::ApplyProgress progress;
  if (!json_out) {
    progress.outcome = [](const kube::ApplyObject& obj, const kube::ApplyOutcome& out,
                          const char* phase) {
      std::fputs(kube::outcome_text(obj, out, phase).c_str(), stdout);
    };
    progress.pruned = [](const kube::PruneCandidate& p, bool dry_run) {
      std::fputs(kube::pruned_text(p, dry_run).c_str(), stdout);
    };
  }
  auto report = value_or_usage_error(kube::apply_policies(*client, objects, o.plan, progress));
  if (!report.stopped.empty()) {
    print_error(report.stopped + ": a conflict appeared after the dry run: stopped");
    return kExitFound;
  }
  if (json_out)
    std::printf("%s\n", kube::apply_report_json(objects, report, o.plan.dry_run).dump(2).c_str());
  if (report.conflicts > 0) {
    print_error(std::to_string(report.conflicts) +
                " object(s) conflict with other field managers: nothing applied (take the "
                "fields over with --force-conflicts)");
    return kExitFound;
  }
  return kExitOk;
}

}  // namespace

Runner register_apply(CLI::App& app) {
  auto opts = std::make_shared<ApplyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "apply", "Apply policies to a live cluster (server-side apply, dry run first)");
  add_common_flags(*cmd, opts->common, {"table", "json"}, "table");
  cmd->add_flag("--dry-run", opts->plan.dry_run, "Show what would change; change nothing");
  cmd->add_flag("--force-conflicts", opts->plan.force_conflicts,
                "Take over fields another field manager owns");
  cmd->add_flag("--prune-owned", opts->plan.prune_owned,
                "Delete policies that stockade alone manages and the files no longer hold");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

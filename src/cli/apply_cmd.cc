// stockade apply: policies into a live cluster by server-side apply, dry run first.
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "input/loader.h"
#include "kube/apply.h"
#include "kube/apply_plan.h"
#include "kube/kinds.h"

namespace stockade::cli {

namespace {

struct ApplyOptions {
  CommonOptions common;
  bool dry_run = false;
  bool force_conflicts = false;
  bool prune_owned = false;
};

int run(const ApplyOptions& o) {
  auto objects = value_or_usage_error(kube::read_apply_objects(o.common.files, o.common.ns));
  if (objects.empty()) throw UsageError{"no policies to apply in the files given"};
  // The same validation as every other command (the API server's rules).
  {
    ClusterLoader loader(load_options(o.common));
    for (const auto& f : o.common.files)
      if (auto r = loader.add_path(f); !r) throw UsageError{r.error().str()};
  }
  auto client = connect_cluster(o.common);
  kube::use_served_versions(objects, value_or_usage_error(client->group_versions()));

  const bool json_out = o.common.output == "json";
  kube::ApplyObserver observer;
  if (!json_out) {
    observer.outcome = [](const kube::ApplyObject& obj, const kube::ApplyOutcome& out,
                          const char* phase) {
      // Names and values as the API server sent them: escaped for the terminal.
      std::printf("%s: %s (%s)\n", display_text(obj.label()).c_str(), kube::to_string(out.action),
                  phase);
      for (const auto& ch : out.changes) std::printf("    %s\n", display_text(ch).c_str());
      for (const auto& cf : out.conflicts)
        std::printf("    conflict: %s is managed by \"%s\"\n", display_text(cf.field).c_str(),
                    display_text(cf.manager).c_str());
    };
    observer.pruned = [](const kube::PruneCandidate& p, bool dry_run) {
      std::printf("%s: pruned%s\n", display_text(p.label).c_str(), dry_run ? " (dry run)" : "");
    };
  }
  const kube::ApplyResult result = value_or_usage_error(kube::apply_objects(
      *client, objects, {o.dry_run, o.force_conflicts, o.prune_owned}, observer));
  if (!result.stopped_at.empty()) {
    print_error(result.stopped_at + ": a conflict appeared after the dry run: stopped");
    return kExitFound;
  }
  if (json_out)
    std::printf("%s\n", kube::apply_report_json(objects, result, o.dry_run).dump(2).c_str());
  if (result.conflicts > 0) {
    print_error(std::to_string(result.conflicts) +
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
  cmd->add_flag("--dry-run", opts->dry_run, "Show what would change; change nothing");
  cmd->add_flag("--force-conflicts", opts->force_conflicts,
                "Take over fields another field manager owns");
  cmd->add_flag("--prune-owned", opts->prune_owned,
                "Delete policies that stockade alone manages and the files no longer hold");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

// stockade apply: policies into a live cluster by server-side apply, dry run first.
#include <cstdio>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "input/loader.h"
#include "kube/apply.h"
#include "kube/kinds.h"

namespace stockade::cli {

namespace {

struct ApplyOptions {
  CommonOptions common;
  bool dry_run = false;
  bool force_conflicts = false;
  bool prune_owned = false;
};

const char* action_name(kube::ApplyOutcome::Action a) {
  switch (a) {
    case kube::ApplyOutcome::Action::Created:
      return "created";
    case kube::ApplyOutcome::Action::Configured:
      return "configured";
    case kube::ApplyOutcome::Action::Unchanged:
      return "unchanged";
    case kube::ApplyOutcome::Action::Conflict:
      return "conflict";
  }
  return "";
}

// Deletes the policies to prune (only as a dry run with `dry_run`).
void prune(kube::Client& c, const std::vector<kube::PruneCandidate>& policies, bool dry_run,
           bool quiet) {
  for (const kube::PruneCandidate& p : policies) {
    if (auto r = kube::delete_object(c, p.path, dry_run); !r) throw UsageError{r.error().str()};
    if (!quiet)
      std::printf("%s: pruned%s\n", display_text(p.label).c_str(), dry_run ? " (dry run)" : "");
  }
}

int run(const ApplyOptions& o) {
  auto objects = kube::read_apply_objects(o.common.files, o.common.ns);
  if (!objects) throw UsageError{objects.error().str()};
  if (objects->empty()) throw UsageError{"no policies to apply in the files given"};
  // The same validation as every other command (the API server's rules).
  {
    ClusterLoader loader(load_options(o.common));
    for (const auto& f : o.common.files)
      if (auto r = loader.add_path(f); !r) throw UsageError{r.error().str()};
  }
  auto client = connect_cluster(o.common);
  kube::Client& c = *client;
  if (auto served = c.group_versions(); served)
    kube::use_served_versions(*objects, *served);
  else
    throw UsageError{served.error().str()};

  bool json_out = o.common.output == "json";
  nlohmann::ordered_json report = {{"dryRun", o.dry_run}, {"objects", nlohmann::json::array()}};
  auto print_outcome = [&](const kube::ApplyObject& obj, const kube::ApplyOutcome& out,
                           const char* phase) {
    if (json_out) return;
    // Names and values as the API server sent them: escaped for the terminal.
    std::printf("%s: %s (%s)\n", display_text(obj.label()).c_str(), action_name(out.action), phase);
    for (const auto& ch : out.changes) std::printf("    %s\n", display_text(ch).c_str());
    for (const auto& cf : out.conflicts)
      std::printf("    conflict: %s is managed by \"%s\"\n", display_text(cf.field).c_str(),
                  display_text(cf.manager).c_str());
  };

  // Dry run of everything first: nothing is applied unless every object would apply.
  std::vector<kube::ApplyOutcome> planned;
  size_t conflicts = 0;
  for (const auto& obj : *objects) {
    auto out = kube::server_side_apply(c, obj, true, o.force_conflicts);
    if (!out)
      throw UsageError{obj.file + ":" + std::to_string(obj.line) + ": " + obj.label() + ": " +
                       out.error().str()};
    if (out->action == kube::ApplyOutcome::Action::Conflict) ++conflicts;
    print_outcome(obj, *out, "dry run");
    planned.push_back(std::move(*out));
  }
  std::vector<kube::PruneCandidate> pruned;
  if (o.prune_owned) {
    auto found = kube::prune_candidates(c, *objects);
    if (!found) throw UsageError{found.error().str()};
    pruned = std::move(*found);
    prune(c, pruned, true, json_out);
  }
  auto record = [&](const kube::ApplyObject& obj, const kube::ApplyOutcome& out) {
    nlohmann::ordered_json conf = nlohmann::json::array();
    for (const auto& cf : out.conflicts)
      conf.push_back({{"field", cf.field}, {"manager", cf.manager}});
    report["objects"].push_back({{"kind", obj.kind},
                                 {"namespace", obj.ns},
                                 {"name", obj.name},
                                 {"action", action_name(out.action)},
                                 {"changes", out.changes},
                                 {"conflicts", conf}});
  };
  if (conflicts > 0) {
    for (size_t i = 0; i < objects->size(); ++i) record((*objects)[i], planned[i]);
    report["pruned"] = nlohmann::json::array();
    if (json_out) std::printf("%s\n", report.dump(2).c_str());
    print_error(std::to_string(conflicts) +
                " object(s) conflict with other field managers: nothing applied (take the "
                "fields over with --force-conflicts)");
    return kExitFound;
  }
  if (!o.dry_run) {
    for (size_t i = 0; i < objects->size(); ++i) {
      const auto& obj = (*objects)[i];
      auto out = kube::server_side_apply(c, obj, false, o.force_conflicts);
      if (!out) throw UsageError{obj.label() + ": " + out.error().str()};
      if (out->action == kube::ApplyOutcome::Action::Conflict) {
        print_outcome(obj, *out, "applied");
        print_error(obj.label() + ": a conflict appeared after the dry run: stopped");
        return kExitFound;
      }
      print_outcome(obj, *out, "applied");
      planned[i] = std::move(*out);
    }
    prune(c, pruned, false, json_out);
  }
  for (size_t i = 0; i < objects->size(); ++i) record((*objects)[i], planned[i]);
  report["pruned"] = nlohmann::json::array();
  for (const kube::PruneCandidate& p : pruned) report["pruned"].push_back(p.label);
  if (json_out) std::printf("%s\n", report.dump(2).c_str());
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

// stockade guardrails: the guardrails that need no observed state, for the API server to enforce.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/labels.h"
#include "core/write_files.h"
#include "recommend/vap_emit.h"

namespace stockade::cli {

namespace {

struct GuardrailsOptions {
  std::string emit;
  std::string action = "deny";
  std::string locked_label = "stockade.io/locked=true";
  std::string exempt_label = "stockade.io/public-ingress=true";
  std::string output = "-";
};

int run(const GuardrailsOptions& o) {
  recommend::VapOptions v;
  v.action = o.action == "deny" ? "Deny" : o.action == "warn" ? "Warn" : "Audit";
  std::tie(v.locked_key, v.locked_value) =
      value_or_usage_error(parse_label_pair(o.locked_label, "--locked-label"));
  std::tie(v.exempt_key, v.exempt_value) =
      value_or_usage_error(parse_label_pair(o.exempt_label, "--exempt-label"));
  const std::string text = recommend::emit_guardrail_vaps(v);
  if (o.output == "-") {
    std::cout << text;
    return 0;
  }
  // Written beside the target and renamed: never a half-written file.
  if (!write_files({{o.output, &text}})) throw UsageError{o.output + ": cannot write"};
  return 0;
}

}  // namespace

Runner register_guardrails(CLI::App& app) {
  auto opts = std::make_shared<GuardrailsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "guardrails", "Guardrails the API server enforces itself (ValidatingAdmissionPolicies)");
  cmd->add_option("--emit", opts->emit,
                  "What to write: vap (ValidatingAdmissionPolicies + bindings)")
      ->required()
      ->check(CLI::IsMember({"vap"}));
  cmd->add_option("--action", opts->action, "The bindings' validationActions: deny, warn or audit")
      ->check(CLI::IsMember({"deny", "warn", "audit"}));
  cmd->add_option("--locked-label", opts->locked_label,
                  "KEY=VALUE of the namespaces whose default-deny is locked");
  cmd->add_option("--exempt-label", opts->exempt_label,
                  "KEY=VALUE of the namespaces exempt from the ingress-from-anywhere guardrail");
  cmd->add_option("-o,--output", opts->output, "File to write (default -, stdout)");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

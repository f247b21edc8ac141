// Shared command-line plumbing: common flags, loading the cluster, errors and exit codes.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/display.h"
#include "core/error.h"
#include "core/ports.h"
#include "core/progress.h"
#include "core/settings.h"
#include "core/stopwatch.h"
#include "engine/engine.h"
#include "input/loader.h"
#include "kube/client.h"
#include "model/cluster_state.h"

namespace stockade::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFound = 1;  // the command ran and found a failure it reports
inline constexpr int kExitUsage = 2;  // usage error or bad input
// The verdicts ignore policies the input holds, of kinds the engine does not evaluate.
inline constexpr int kExitIgnoredPolicies = 3;
// A bug in stockade (an internal error, a failed self-check): never the input's fault, and kept
// apart from 3 so that scripts can tell untrustworthy verdicts from a crash of the tool.
inline constexpr int kExitInternal = 4;

// Thrown by commands to end with a one-line error and exit code 2.
struct UsageError {
  std::string message;
};

// Standard input can be read once: "-" given to two input flags (e.g. `-f - --flows -`), or
// twice to one, is a usage error naming them.
void check_stdin_once(
    std::initializer_list<std::pair<std::string_view, const std::vector<std::string>*>> inputs);

struct CommonOptions {
  std::vector<std::string> files;
  std::string output;
  std::string ns = "default";
  std::string kubeconfig;
  std::string context;
  std::string request_timeout = "0";  // --request-timeout, as kubectl: 0 (none), 30s, 2m
  int verbose = 0;
  bool quiet = false;
  bool files_required = true;  // -f (or --kubeconfig/--context) must be given
  // Without -f or a cluster, load_cluster returns no objects instead of an error (map and
  // verify then work from what the flow records carry).
  bool objects_optional = false;
  bool workload_security = true;  // LoadOptions::workload_security: the posture side of pods
  std::string policy_api_channel = "experimental";  // LoadOptions::policy_api_channel
};

// The LoadOptions the common flags ask for.
LoadOptions load_options(const CommonOptions& o);

// Adds -f, -n, -o (with the allowed formats), --kubeconfig, --context, -v, -q.
void add_common_flags(CLI::App& cmd, CommonOptions& o, const std::vector<std::string>& formats,
                      const std::string& default_format, bool files_required = true);

// Registers each setting (core/settings.h) as a flag of `cmd`, in order.
void add_settings(CLI::App& cmd, const std::vector<Setting>& settings);

// --request-timeout alone (commands that take --kubeconfig without the other common flags).
void add_request_timeout_flag(CLI::App& cmd, CommonOptions& o);

// A client for the cluster that --kubeconfig/--context (else $KUBECONFIG, ~/.kube/config, the
// in-cluster service account) name, with --request-timeout. Throws UsageError.
std::unique_ptr<kube::Client> connect_cluster(const CommonOptions& o, bool in_cluster_only = false);

// Loads every -f path (plus `extra` paths) into one ClusterState. Throws UsageError.
ClusterState load_cluster(const CommonOptions& o, const std::vector<std::string>& extra = {});
// The endpoints of `state` (build_endpoints: the one endpoint resolution); under -v, says which
// pods' workloads were inferred or could not be established, and why.
// Whether cluster objects were asked for (-f, --kubeconfig or --context).
bool has_object_source(const CommonOptions& o);

std::vector<Endpoint> resolve_endpoints(const ClusterState& state, const CommonOptions& o);

// For the commands whose output is verdicts (reach, explain, diff, verify): when the states
// hold enforced policies the engine does not evaluate, says so on stderr ("these verdicts
// ignore ...") and returns kExitIgnoredPolicies instead of `code` (0 or 1: neither "nothing
// found" nor "found" can be trusted); otherwise `code`.
int verdict_exit(const CommonOptions& o, std::initializer_list<const ClusterState*> states,
                 int code);

// Thrown where a command must stop at once, deep inside a printer (a write to stdout that
// failed): main closes stdout and exits with `code` (close_stdout turns it into the error).
struct EndCommand {
  int code;
};

// Flushes and closes stdout; `code`, or kExitUsage with one line on stderr when the output
// could not be written (full disk, closed descriptor). Every exit path goes through it.
int close_stdout(int code);

// Sends the project's log (core/log.h) to stderr at the level -q/-v ask for; set when a
// command's flags are parsed.
void log_to_stderr(const CommonOptions& o);

void print_error(const std::string& message);
void print_error(const Error& e);
void verbose_log(const CommonOptions& o, const std::string& message);

// The value of a library call, or its error as a UsageError (one line, exit 2).
template <class T>
T value_or_usage_error(Result<T> r) {
  if (!r) throw UsageError{r.error().str()};
  return std::move(*r);
}
inline void value_or_usage_error(Result<void> r) {
  if (!r) throw UsageError{r.error().str()};
}

PortQuery parse_port(const std::string& text, const std::string& flag);

// When the command line holds a flag that `cmd` (a subcommand) does not take: "unknown flag
// \"--fromm\" for stockade reach; did you mean \"--from\"?" (the closest of its flags, when
// one is close), else "". Checked before CLI11's own message, which can name a missing
// required flag instead of the misspelt one that was meant to be it.
std::string unknown_flag_message(const CLI::App& cmd, const std::vector<std::string>& args);

}  // namespace stockade::cli

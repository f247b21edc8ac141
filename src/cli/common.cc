#include "cli/common.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <type_traits>
#include <variant>

#include <fcntl.h>
#include <stdio_ext.h>
#include <unistd.h>

#include "core/edit_distance.h"
#include "core/log.h"
#include "input/loader.h"
#include "kube/connect.h"
#include "kube/snapshot.h"
#include "model/state_report.h"

namespace stockade::cli {

void add_request_timeout_flag(CLI::App& cmd, CommonOptions& o) {
  cmd.add_option("--request-timeout", o.request_timeout,
                 "Give up on a single API request after this long (30s, 2m; 0: no limit)")
      ->default_str("0");
}

void add_settings(CLI::App& cmd, const std::vector<Setting>& settings) {
  for (const Setting& s : settings)
    std::visit(
        [&](auto* field) {
          using T = std::remove_pointer_t<decltype(field)>;
          const std::string name(s.name), help(s.help);
          if constexpr (std::is_same_v<T, bool>) {
            cmd.add_flag(name, *field, help);
          } else {
            CLI::Option* opt = cmd.add_option(name, *field, help);
            if (!s.choices.empty()) opt->check(CLI::IsMember(s.choices));
            if (s.bound == Setting::Bound::Positive) opt->check(CLI::PositiveNumber);
            if (s.bound == Setting::Bound::Range && std::is_floating_point_v<T>)
              opt->check(CLI::Range(s.min, s.max));
            else if (s.bound == Setting::Bound::Range)
              opt->check(CLI::Range(static_cast<int>(s.min), static_cast<int>(s.max)));
            if (s.show_default) opt->default_val(*field);
            if (s.required) opt->required();
          }
        },
        s.field);
}

std::unique_ptr<kube::Client> connect_cluster(const CommonOptions& o, bool in_cluster_only) {
  return value_or_usage_error(
      kube::connect({o.kubeconfig, o.context, o.request_timeout, o.verbose > 0, in_cluster_only}));
}

void add_common_flags(CLI::App& cmd, CommonOptions& o, const std::vector<std::string>& formats,
                      const std::string& default_format, bool files_required) {
  cmd.add_option("-f,--filename", o.files,
                 "Kubernetes objects: file, directory (recursive) or - for stdin; "
                 "repeatable");
  // -f or --kubeconfig/--context: load_cluster checks that one of them is given.
  o.files_required = files_required;
  o.output = default_format;
  std::string list;
  for (const auto& fmt : formats) list += (list.empty() ? "" : "|") + fmt;
  cmd.add_option("-o,--output", o.output, "Output format: " + list)
      ->check(CLI::IsMember(formats))
      ->default_str(default_format);
  cmd.add_option("-n,--namespace", o.ns,
                 "Namespace for namespaced objects that name none (default \"default\")");
  cmd.add_option("--kubeconfig", o.kubeconfig, "Read state from a live cluster (kubeconfig)");
  cmd.add_option("--context", o.context, "kubeconfig context");
  add_request_timeout_flag(cmd, o);
  cmd.add_option("--policy-api-channel", o.policy_api_channel,
                 "Validate ClusterNetworkPolicies for the network-policy-api CRDs of this "
                 "channel: experimental (accepts both) or standard")
      ->check(CLI::IsMember({"experimental", "standard"}))
      ->default_str("experimental");
  cmd.add_flag("-v,--verbose", o.verbose, "More on stderr");
  cmd.add_flag("-q,--quiet", o.quiet, "Less on stderr");
  cmd.parse_complete_callback([&o] { log_to_stderr(o); });
}

void log_to_stderr(const CommonOptions& o) {
  // -q: errors only; -v: what each phase did; else warnings too.
  LogLevel threshold = o.quiet ? LogLevel::Error : o.verbose ? LogLevel::Info : LogLevel::Warning;
  set_logger(
      [](LogLevel level, std::string_view message) {
        // One line, whatever the message quotes from the input.
        std::string m = display_text(message);
        const char* tag = level == LogLevel::Error     ? "error: "
                          : level == LogLevel::Warning ? "warning: "
                                                       : "";
        std::fprintf(stderr, "stockade: %s%s\n", tag, m.c_str());
      },
      threshold);
}

LoadOptions load_options(const CommonOptions& o) {
  LoadOptions lo;
  lo.default_namespace = o.ns;
  lo.workload_security = o.workload_security;
  lo.policy_api_channel = o.policy_api_channel == "standard" ? PolicyApiChannel::Standard
                                                             : PolicyApiChannel::Experimental;
  lo.report_unknown_fields = o.verbose > 0;
  lo.progress = progress_wanted(o.quiet);
  return lo;
}

ClusterState load_cluster(const CommonOptions& o, const std::vector<std::string>& extra) {
  ClusterLoader loader(load_options(o));
  if (!o.kubeconfig.empty() || !o.context.empty()) {
    auto client = connect_cluster(o);
    kube::SnapshotReport report;
    value_or_usage_error(kube::load_snapshot(*client, loader, report, progress_wanted(o.quiet)));
    for (const auto& note : report.notes) verbose_log(o, note);
  } else if (o.files.empty() && extra.empty() && o.objects_optional) {
    verbose_log(o, "no cluster objects (-f): working from what the flow records carry");
    return ClusterState{};
  } else if (o.files.empty() && (o.files_required || extra.empty())) {
    throw UsageError{
        "no cluster objects: pass -f FILE (or --kubeconfig/--context for a live "
        "cluster)"};
  }
  std::vector<std::string> paths = o.files;
  paths.insert(paths.end(), extra.begin(), extra.end());
  for (const std::string& p : paths) value_or_usage_error(loader.add_path(p));
  ClusterState s = std::move(loader).finish();
  if (o.verbose)
    for (const std::string& line : describe_contents(s)) verbose_log(o, line);
  if (!o.quiet)
    for (const std::string& w : unevaluated_warnings(s))
      std::fprintf(stderr, "stockade: warning: %s\n", w.c_str());
  return s;
}

int verdict_exit(const CommonOptions& o, std::initializer_list<const ClusterState*> states,
                 int code) {
  const std::map<std::string, uint64_t> ignored = ignored_policies(states);
  if (ignored.empty() || code == kExitUsage) return code;
  if (!o.quiet)
    std::fprintf(stderr, "stockade: these verdicts ignore %s (exit %d)\n",
                 ignored_list(ignored).c_str(), kExitIgnoredPolicies);
  return kExitIgnoredPolicies;
}

bool has_object_source(const CommonOptions& o) {
  return !o.files.empty() || !o.kubeconfig.empty() || !o.context.empty();
}

std::vector<Endpoint> resolve_endpoints(const ClusterState& state, const CommonOptions& o) {
  std::vector<std::string> notes;
  std::vector<Endpoint> eps = build_endpoints(state, o.verbose ? &notes : nullptr);
  for (const std::string& line : resolution_lines(notes)) verbose_log(o, line);
  return eps;
}

int close_stdout(int code) {
  // Output that did not reach its file is an error (a full disk, a closed descriptor): the
  // buffered writes, the final flush and the close are all checked, as coreutils does. A
  // closed stdout that was never written to is not an error.
  bool pending = __fpending(stdout) != 0;
  errno = 0;
  bool failed = std::ferror(stdout) != 0;
  int err = errno;
  if (std::fflush(stdout) != 0) failed = true, err = errno;
  if (std::fclose(stdout) != 0 && !failed && (pending || errno != EBADF))
    failed = true, err = errno;
  if (!failed) return code;
  // The errno of a write that failed while a buffer was flushed is gone by now; a closed
  // descriptor can still be told.
  if (err == 0 && ::fcntl(STDOUT_FILENO, F_GETFD) < 0) err = errno;
  print_error(std::string("<stdout>: write failed") + (err ? ": " : "") +
              (err ? std::strerror(err) : "") + " (the output is incomplete)");
  std::fflush(stderr);
  return kExitUsage;
}

void print_error(const std::string& message) {
  // One line, whatever the message quotes from the input.
  std::string m = display_text(message);
  std::fprintf(stderr, "stockade: error: %s\n", m.c_str());
}

void print_error(const Error& e) {
  print_error(e.str());
}

void verbose_log(const CommonOptions& o, const std::string& message) {
  if (o.verbose && !o.quiet) STOCKADE_LOG(LogLevel::Info, message);
}

PortQuery parse_port(const std::string& text, const std::string& flag) {
  // A bare port (5432, http) is TCP, as kubectl and Hubble read one.
  auto q = parse_port_query(text.find('/') == std::string::npos ? "tcp/" + text : text);
  if (!q)
    throw UsageError{
        flag + ": expected PORT or PROTO/PORT such as 5432, tcp/80, udp/53 or tcp/http, got \"" +
        text + "\""};
  return *q;
}

void check_stdin_once(
    std::initializer_list<std::pair<std::string_view, const std::vector<std::string>*>> inputs) {
  std::vector<std::string_view> flags;
  for (const auto& [flag, paths] : inputs)
    for (const std::string& p : *paths)
      if (p == "-") flags.push_back(flag);
  if (flags.size() < 2) return;
  std::string names;
  for (size_t i = 0; i < flags.size(); ++i)
    names += (i == 0 ? "" : i + 1 == flags.size() ? " and " : ", ") + std::string(flags[i]) + " -";
  throw UsageError{names + ": standard input can be read only once; give all but one a file"};
}

std::string unknown_flag_message(const CLI::App& cmd, const std::vector<std::string>& args) {
  std::set<std::string> known;  // with their dashes
  for (const CLI::App* a = &cmd; a; a = a->get_parent())
    for (const CLI::Option* opt : a->get_options()) {
      for (const std::string& n : opt->get_lnames()) known.insert("--" + n);
      for (const std::string& n : opt->get_snames()) known.insert("-" + n);
    }
  for (const std::string& arg : args) {
    if (arg == "--") break;  // what follows is positional
    if (arg.size() < 2 || arg[0] != '-' || std::isdigit(static_cast<unsigned char>(arg[1])))
      continue;  // a value, "-" (stdin) or a negative number
    // --name=value, -fVALUE and -qv (short flags together): the flag is the part before.
    const std::string flag = arg[1] == '-' ? arg.substr(0, arg.find('='))
                                           : arg.substr(0, std::min<size_t>(2, arg.size()));
    if (flag.size() < 2 || flag == "--" || known.count(flag)) continue;
    // A one-letter flag ("-n") is no suggestion for a long one.
    const std::string best = closest_name(flag, known, 3);
    std::string msg = "unknown flag \"" + flag + "\" for stockade " + cmd.get_name();
    return msg + (best.empty() ? " (see stockade " + cmd.get_name() + " --help)"
                               : "; did you mean \"" + best + "\"?");
  }
  return {};
}

}  // namespace stockade::cli

#include "cli/common.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include <fcntl.h>
#include <stdio_ext.h>
#include <unistd.h>

#include "core/edit_distance.h"
#include "core/json_text.h"
#include "core/labels.h"
#include "core/log.h"
#include "input/loader.h"
#include "kube/snapshot.h"

namespace stockade::cli {

namespace {
// Calico's staged policies are shadows: never enforced, so no verdict ignores them.
bool is_staged(const std::string& kind) {
  return kind.starts_with("Staged");
}
}  // namespace

void add_request_timeout_flag(CLI::App& cmd, CommonOptions& o) {
  cmd.add_option("--request-timeout", o.request_timeout,
                 "Give up on a single API request after this long (30s, 2m; 0: no limit)")
      ->default_str("0");
}

std::unique_ptr<kube::Client> connect_cluster(const CommonOptions& o, bool in_cluster_only) {
  kube::KubeconfigOptions ko;
  ko.kubeconfig = o.kubeconfig;
  ko.context = o.context;
  ko = kube::with_environment(ko);
  if (in_cluster_only) {  // the service account only, whatever kubeconfig files exist
    ko.kubeconfig_env = "";
    ko.home.reset();
  }
  auto config = kube::load_config(ko);
  if (!config) throw UsageError{config.error().str()};
  kube::ClientOptions co;
  co.verbose = o.verbose > 0;
  // kubectl's duration syntax for the common cases: 0, N (seconds), Ns, Nm, Nh.
  const std::string& t = o.request_timeout;
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  std::string unit = t.substr(digits);
  if (digits == 0 || digits > 6 || !(unit.empty() || unit == "s" || unit == "m" || unit == "h"))
    throw UsageError{"--request-timeout: expected a duration such as 30s, 2m or 0, got \"" + t +
                     "\""};
  long seconds = std::stol(t.substr(0, digits)) * (unit == "m" ? 60 : unit == "h" ? 3600 : 1);
  if (seconds > 0) {
    co.request_timeout = std::chrono::seconds(seconds);
    co.stall_timeout = std::min(co.stall_timeout, co.request_timeout);
  }
  auto client = kube::Client::create(std::move(*config), co);
  if (!client) throw UsageError{client.error().str()};
  return std::move(*client);
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
  return lo;
}

ClusterState load_cluster(const CommonOptions& o, const std::vector<std::string>& extra) {
  ClusterLoader loader(load_options(o));
  if (!o.kubeconfig.empty() || !o.context.empty()) {
    auto client = connect_cluster(o);
    kube::SnapshotReport report;
    if (auto r = kube::load_snapshot(*client, loader, report); !r)
      throw UsageError{r.error().str()};
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
  for (const std::string& p : paths) {
    auto r = loader.add_path(p);
    if (!r) throw UsageError{r.error().str()};
  }
  ClusterState s = std::move(loader).finish();
  if (o.verbose) {
    verbose_log(o, "loaded " + std::to_string(s.namespaces.size()) + " namespaces, " +
                       std::to_string(s.pods.size()) + " pods, " +
                       std::to_string(s.workloads.size()) + " workloads, " +
                       std::to_string(s.network_policies.size()) + " network policies, " +
                       std::to_string(s.cluster_policies.size()) + " cluster policies, " +
                       std::to_string(s.cilium_policies.size()) + " Cilium policies, " +
                       std::to_string(s.calico_policies.size()) + " Calico policies, " +
                       std::to_string(s.calico_tiers.size()) + " Calico tiers, " +
                       std::to_string(s.calico_network_sets.size()) + " Calico network sets");
    for (const auto& [kind, n] : s.skipped_kinds)
      verbose_log(o, "skipped " + std::to_string(n) + " " + kind);
    for (const auto& [field, n] : s.unknown_fields)
      verbose_log(o,
                  "unknown field (ignored, as a lenient API server would; strict field "
                  "validation refuses it): " +
                      field + " in " + std::to_string(n) + " object(s)");
  }
  if (!o.quiet)
    for (const auto& [kind, n] : s.unevaluated_policies)
      std::fprintf(stderr,
                   "stockade: warning: %llu %s object%s not evaluated: Stockade does not "
                   "support this kind yet%s\n",
                   static_cast<unsigned long long>(n), kind.c_str(), n == 1 ? " is" : "s are",
                   is_staged(kind) ? " (staged policies are not enforced)"
                                   : "; verdicts ignore what it allows or denies");
  return s;
}

int verdict_exit(const CommonOptions& o, std::initializer_list<const ClusterState*> states,
                 int code) {
  // The most of each kind any one state holds (diff loads the same cluster twice).
  std::map<std::string, uint64_t> ignored;
  for (const ClusterState* s : states)
    for (const auto& [kind, n] : s->unevaluated_policies)
      if (!is_staged(kind)) ignored[kind] = std::max(ignored[kind], n);
  if (ignored.empty() || code == kExitUsage) return code;
  if (!o.quiet) {
    std::string list;
    for (const auto& [kind, n] : ignored)
      list += (list.empty() ? "" : ", ") + std::to_string(n) + " " + kind +
              (n == 1 ? " object" : " objects");
    std::fprintf(stderr, "stockade: these verdicts ignore %s (exit %d)\n", list.c_str(),
                 kExitIgnoredPolicies);
  }
  return kExitIgnoredPolicies;
}

bool has_object_source(const CommonOptions& o) {
  return !o.files.empty() || !o.kubeconfig.empty() || !o.context.empty();
}

std::vector<Endpoint> resolve_endpoints(const ClusterState& state, const CommonOptions& o) {
  std::vector<std::string> notes;
  std::vector<Endpoint> eps = build_endpoints(state, o.verbose ? &notes : nullptr);
  constexpr size_t kShown = 20;
  for (size_t i = 0; i < notes.size() && i < kShown; ++i) verbose_log(o, "pod " + notes[i]);
  if (notes.size() > kShown)
    verbose_log(o, "... and " + std::to_string(notes.size() - kShown) + " more such pods");
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

namespace {

// "; did you mean "shop/frontend"?" for the closest namespace, pod or workload, if one is close.
std::string did_you_mean(const std::vector<Endpoint>& eps, const std::string& sel) {
  size_t slash = sel.find('/');
  std::string ns = sel.substr(0, slash),
              name = slash == std::string::npos ? "" : sel.substr(slash + 1);
  std::set<std::string> namespaces;
  for (const Endpoint& e : eps) namespaces.insert(e.ns);
  auto closest = [](const std::string& want, const auto& candidates) {
    std::string best;
    size_t best_d = std::max<size_t>(2, want.size() / 3) + 1;
    for (const std::string& c : candidates) {
      size_t d = edit_distance(want, c, best_d);
      if (d < best_d) best_d = d, best = c;
    }
    return best;
  };
  if (!namespaces.count(ns)) {
    std::string n = closest(ns, namespaces);
    return n.empty() ? "" : "; did you mean \"" + n + (name.empty() ? "" : "/" + name) + "\"?";
  }
  if (name.empty() || name == "*") return "";
  std::set<std::string> names;
  for (const Endpoint& e : eps)
    if (e.ns == ns) {
      names.insert(e.name);
      if (!e.workload_name.empty()) names.insert(e.workload_name);
    }
  std::string n = closest(name, names);
  return n.empty() ? "" : "; did you mean \"" + ns + "/" + n + "\"?";
}

}  // namespace

std::vector<uint8_t> select_endpoints(const std::vector<Endpoint>& eps, const std::string& sel,
                                      const std::string& flag) {
  std::vector<uint8_t> mask(eps.size(), 0);
  if (sel == "*") {
    std::fill(mask.begin(), mask.end(), 1);
    return mask;
  }
  size_t slash = sel.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == sel.size())
    throw UsageError{flag + ": expected NS/NAME, NS/* or *, got \"" + sel + "\""};
  std::string ns = sel.substr(0, slash), name = sel.substr(slash + 1);
  bool any = false;
  for (size_t i = 0; i < eps.size(); ++i) {
    if (eps[i].ns == ns && (name == "*" || eps[i].name == name)) {
      mask[i] = 1;
      any = true;
    }
  }
  if (!any) {
    // NS/NAME of a workload: every pod it owns.
    for (size_t i = 0; i < eps.size(); ++i)
      if (eps[i].ns == ns && eps[i].workload_name == name) mask[i] = any = true;
  }
  if (!any)
    throw UsageError{flag + ": no pod or workload matches \"" + sel + "\"" +
                     did_you_mean(eps, sel)};
  return mask;
}

std::vector<Peer> parse_peers(const PolicyEngine& engine, const ClusterState& state,
                              const std::string& text, const std::string& flag) {
  if (auto ip = IpAddr::parse(text)) {
    // Two pods of the input may hold one address (a terminating pod and its successor, or a
    // dump taken across a restart): which one was meant is not for us to guess.
    std::vector<uint32_t> holders;
    const auto& all = engine.endpoints();
    for (uint32_t i = 0; i < all.size() && holders.size() < 6; ++i)
      if (!all[i].pod.host_network &&
          std::find(all[i].ips.begin(), all[i].ips.end(), *ip) != all[i].ips.end())
        holders.push_back(i);
    if (holders.size() > 1) {
      std::string list;
      for (size_t k = 0; k < holders.size() && k < 5; ++k)
        list += (k ? ", " : "") + all[holders[k]].id();
      throw UsageError{flag + ": " + text + " is the address of more than one pod in the input (" +
                       list + (holders.size() > 5 ? ", ..." : "") + "): name the pod instead"};
    }
    if (auto ep = engine.find_endpoint_by_ip(*ip)) return {Peer::of_endpoint(*ep)};
    // Policies act after a Service's address is translated to one of its pods.
    for (const Service& svc : state.services) {
      if (std::find(svc.cluster_ips.begin(), svc.cluster_ips.end(), *ip) == svc.cluster_ips.end())
        continue;
      std::string list;
      int n = 0;
      for (const Endpoint& e : engine.endpoints())
        if (service_selects(svc, e.ns, e.pod.labels) && n++ < 5)
          list += (list.empty() ? "" : ", ") + e.id();
      throw UsageError{flag + ": " + text + " is the cluster IP of Service " + svc.ns + "/" +
                       svc.name + "; policies see the pod behind it" +
                       (list.empty() ? std::string(" (it selects no pod in the input)")
                                     : ": use one of " + list + (n > 5 ? ", ..." : ""))};
    }
    return {Peer::of_ip(*ip)};
  }
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size())
    throw UsageError{flag + ": expected NS/NAME or an IP address, got \"" + text + "\""};
  std::string ns = text.substr(0, slash), name = text.substr(slash + 1);
  if (auto ep = engine.find_endpoint(ns, name)) return {Peer::of_endpoint(*ep)};
  // A workload that has pods: every one of them.
  std::vector<Peer> pods;
  const auto& eps = engine.endpoints();
  for (uint32_t i = 0; i < eps.size(); ++i)
    if (eps[i].ns == ns && eps[i].workload_name == name) pods.push_back(Peer::of_endpoint(i));
  if (pods.empty())
    throw UsageError{flag + ": no pod or workload \"" + text + "\" in the input" +
                     did_you_mean(eps, text)};
  return pods;
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

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s);
  return out;
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
    std::string best;
    size_t best_d = std::max<size_t>(2, flag.size() / 3) + 1;
    for (const std::string& k : known) {
      if (k.size() < 3) continue;  // a one-letter flag is no suggestion for a long one
      size_t d = edit_distance(flag, k, best_d);
      if (d < best_d) best_d = d, best = k;
    }
    std::string msg = "unknown flag \"" + flag + "\" for stockade " + cmd.get_name();
    return msg + (best.empty() ? " (see stockade " + cmd.get_name() + " --help)"
                               : "; did you mean \"" + best + "\"?");
  }
  return {};
}

// KEY=VALUE, validated as the API server validates labels.
std::pair<std::string, std::string> parse_label_flag(const std::string& flag,
                                                     const std::string& s) {
  auto eq = s.find('=');
  if (eq == std::string::npos) throw UsageError{flag + ": expected KEY=VALUE, got \"" + s + "\""};
  std::string key = s.substr(0, eq), value = s.substr(eq + 1);
  if (std::string why = validate_label_key(key); !why.empty()) throw UsageError{flag + ": " + why};
  if (std::string why = validate_label_value(value); !why.empty())
    throw UsageError{flag + ": " + why};
  return {key, value};
}

}  // namespace stockade::cli

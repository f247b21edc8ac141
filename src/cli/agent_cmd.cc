// stockade agent: the node agent (eBPF). Every TCP connection attempt and UDP flow, with the
// process and pod behind it, as NDJSON (and batches to a server with --server).
#include <signal.h>

#include <csignal>
#include <cstdio>

#include "agent/agent.h"
#include "agent/agent_settings.h"
#include "agent/pod_names.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/allocator.h"
#include "core/stop.h"

namespace stockade::cli {

namespace {

// The agent's settings (agent/agent_settings.h) and where pods are named from.
struct AgentCmdOptions : agent::AgentSettings {
  CommonOptions common;
  bool in_cluster = false;
};

int run(const AgentCmdOptions& o) {
  agent::AgentOptions ao = value_or_usage_error(agent::agent_options(o));
  no_transparent_huge_pages();  // the agent runs for as long as its node does

  // With cluster objects: pods by UID (from the cgroup path of the local process) and by IP,
  // from files once, or from a live pod informer that follows pods as they come and go.
  bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  if (live && !o.common.files.empty())
    throw UsageError{
        "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each "
        "other: pods are named from one source"};
  std::unique_ptr<kube::Client> client;
  agent::PodNames pods;
  if (live) {
    client = connect_cluster(o.common, o.in_cluster);
    value_or_usage_error(pods.follow(*client, ao.node, [](const Error& e) {
      std::fprintf(stderr,
                   "stockade: warning: pods are no longer followed (names may be stale): %s\n",
                   e.str().c_str());
    }));
    if (!o.common.quiet)
      std::fprintf(stderr,
                   "stockade: naming pods from %s (%zu pods on node %s; following changes)\n",
                   client->config().server.c_str(), pods.size(), ao.node.c_str());
  } else if (!o.common.files.empty()) {
    const ClusterState state = load_cluster(o.common);
    for (const Pod& p : state.pods) pods.add(p);
  }
  static StopFlag stop{false};
  ao.stop = &stop;
  if (!o.common.quiet)
    ao.log = [](const std::string& m) { std::fprintf(stderr, "stockade: %s\n", m.c_str()); };
  if (live || !pods.empty()) ao.enrich = [&pods](agent::AgentEvent& e) { pods.name(e); };

  stop_on_signals(stop);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, reported

  const agent::AgentSummary summary = value_or_usage_error(agent::run_agent(ao));
  for (const auto& [level, line] :
       agent::describe_summary(summary, !o.server.empty(), !o.spool.empty()))
    if (level == LogLevel::Warning)  // always said, -q or not
      std::fprintf(stderr, "stockade: warning: %s\n", line.c_str());
    else if (o.common.verbose)
      verbose_log(o.common, line);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

Runner register_agent(CLI::App& app) {
  auto opts = std::make_shared<AgentCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "agent", "Node agent (eBPF): every TCP connection attempt and UDP flow, by process");
  add_settings(*cmd, agent::delivery_settings(*opts));  // --output … --batch-window
  add_settings(*cmd, agent::watch_settings(*opts));     // --events, --duration, --node
  cmd->add_option("-f,--filename", opts->common.files,
                  "Kubernetes objects: attribute events to pods by UID and IP; repeatable");
  cmd->add_option("--kubeconfig", opts->common.kubeconfig,
                  "Name pods from a live cluster (kubeconfig), following them as they change");
  cmd->add_option("--context", opts->common.context, "kubeconfig context");
  cmd->add_flag("--in-cluster", opts->in_cluster,
                "Name pods from the cluster the agent runs in (its service account)");
  add_request_timeout_flag(*cmd, opts->common);
  cmd->add_option("-n,--namespace", opts->common.ns,
                  "Namespace for namespaced objects that name none (default \"default\")");
  add_settings(*cmd, agent::probe_settings(*opts));  // --udp-interval, --ring-size
  cmd->add_flag("-v,--verbose", opts->common.verbose, "More on stderr");
  cmd->add_flag("-q,--quiet", opts->common.quiet, "Less on stderr");
  cmd->parse_complete_callback([opts] { log_to_stderr(opts->common); });
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

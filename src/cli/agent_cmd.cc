// stockade agent: the node agent (eBPF). Every TCP connection attempt and UDP flow, with the
// process and pod behind it, as NDJSON (and batches to a server with --server).
#include <signal.h>

#include <csignal>
#include <cstdio>

#include "agent/agent.h"
#include "agent/agent_settings.h"
#include "agent/event_file.h"
#include "agent/pod_names.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/allocator.h"
#include "core/stop.h"

namespace stockade::cli {

namespace {

// The agent's settings (agent/agent_settings.h), where the events come from and how pods are
// named.
struct AgentCmdOptions : agent::AgentSettings {
  CommonOptions common;
  std::string events;
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
  if (!o.events.empty()) ao.events = agent::events_from_file(o.events);
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
  cmd->add_option("--output", opts->output, "Where events go: a file (appended) or - for stdout")
      ->default_str("-");
  cmd->add_option("--server", opts->server,
                  "Aggregate on the node and POST batches of edges to a Stockade server: "
                  "URL/api/v1/agent/batches");
  cmd->add_option("--server-token-file", opts->server_token_file,
                  "Send the bearer token in this file to --server, read again for every request "
                  "(a projected service-account token with the audience stockade)");
  cmd->add_option("--server-ca", opts->server_ca,
                  "PEM CA certificates that --server's certificate must chain to (default: the "
                  "system's)");
  cmd->add_option("--spool", opts->spool,
                  "Keep unacknowledged batches in this directory (written before they are "
                  "sent; replayed by the next run)");
  cmd->add_option("--batch-window", opts->batch_window,
                  "Aggregation window in seconds until the server asks for another (default 10)");
  cmd->add_option("--events", opts->events,
                  "Agent events (NDJSON, as --output writes them) from a file or - instead of "
                  "the kernel: no eBPF; stops at the end of the input");
  cmd->add_option("--duration", opts->duration, "Stop after S seconds (default: until SIGINT)");
  cmd->add_option("--node", opts->node, "Node name added to every event (default: hostname)");
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
  cmd->add_option("--udp-interval", opts->udp_interval,
                  "Report each UDP 5-tuple at most once per S seconds (default 10)");
  cmd->add_option("--ring-size", opts->ring_size,
                  "Kernel ring buffer in bytes, a power of two (default 8 MiB)");
  cmd->add_flag("-v,--verbose", opts->common.verbose, "More on stderr");
  cmd->add_flag("-q,--quiet", opts->common.quiet, "Less on stderr");
  cmd->parse_complete_callback([opts] { log_to_stderr(opts->common); });
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

// stockade agent: the node agent (eBPF). Every TCP connection attempt and UDP flow, with the
// process and pod behind it, as NDJSON (and batches to a server with --server).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "agent/agent.h"
#include "agent/event_file.h"
#include "agent/pod_names.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace stockade::cli {

namespace {

StopFlag g_stop{false};
void on_signal(int) {
  g_stop.store(true);
}

struct AgentCmdOptions {
  CommonOptions common;
  std::string output = "-";
  std::string server;
  std::string spool;
  std::string server_token_file;
  std::string server_ca;
  std::string events;
  double batch_window = 10;
  double duration = 0;
  std::string node;
  double udp_interval = 10;
  uint32_t ring_size = 8u << 20;
  bool in_cluster = false;
};

int run(const AgentCmdOptions& o) {
  // NaN passes every comparison, and infinity overflows the deadline: both refused.
  if (!std::isfinite(o.duration) || o.duration < 0)
    throw UsageError{"--duration: must be 0 (until stopped) or more seconds"};
  if (!std::isfinite(o.udp_interval) || o.udp_interval <= 0)
    throw UsageError{"--udp-interval: must be more than 0 seconds"};
  if (o.ring_size < 4096 || (o.ring_size & (o.ring_size - 1)) != 0)
    throw UsageError{"--ring-size: must be a power of two of at least 4096 bytes"};
  if (!o.server.empty() && !o.server.starts_with("http://") && !o.server.starts_with("https://"))
    throw UsageError{"--server: expected an http:// or https:// URL, got \"" + o.server + "\""};
  if (!std::isfinite(o.batch_window) || o.batch_window < 1 || o.batch_window > 300)
    throw UsageError{"--batch-window: must be 1 to 300 seconds"};
  if (!o.spool.empty() && o.server.empty())
    throw UsageError{"--spool: keeps batches for --server, which is not given"};
  if (!o.server_token_file.empty() && o.server.empty())
    throw UsageError{"--server-token-file: a token for --server, which is not given"};
  if (!o.server_ca.empty() && !o.server.starts_with("https://"))
    throw UsageError{"--server-ca: a CA for an https:// --server, which is not given"};
  if (!o.server_ca.empty() && !std::ifstream(o.server_ca))
    throw UsageError{"--server-ca: cannot read " + o.server_ca};
  // The agent runs on every node for as long as the node does: its footprint counts more than
  // its start-up. No transparent huge pages for it from here on (the allocator asks for them:
  // src/cli/allocator.cc), so that it grows 4 KiB at a time, not 2 MiB.
  ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

  // With cluster objects: pods by UID (from the cgroup path of the local process) and by IP,
  // from files once, or from a live pod informer that follows pods as they come and go.
  std::string node = o.node;
  if (node.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) node = host;
  }
  bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  if (live && !o.common.files.empty())
    throw UsageError{
        "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each "
        "other: pods are named from one source"};
  std::unique_ptr<kube::Client> client;
  agent::PodNames pods;
  if (live) {
    client = connect_cluster(o.common, o.in_cluster);
    auto followed = pods.follow(*client, node, [](const Error& e) {
      std::fprintf(stderr,
                   "stockade: warning: pods are no longer followed (names may be stale): %s\n",
                   e.str().c_str());
    });
    if (!followed) throw UsageError{followed.error().str()};
    if (!o.common.quiet)
      std::fprintf(stderr,
                   "stockade: naming pods from %s (%zu pods on node %s; following changes)\n",
                   client->config().server.c_str(), pods.size(), node.c_str());
  } else if (!o.common.files.empty()) {
    const ClusterState state = load_cluster(o.common);
    for (const Pod& p : state.pods) pods.add(p);
  }
  agent::AgentOptions ao;
  ao.output = o.output;
  ao.server = o.server;
  ao.spool = o.spool;
  ao.server_token_file = o.server_token_file;
  ao.server_ca = o.server_ca;
  ao.window_ns = static_cast<int64_t>(o.batch_window * 1e9);
  ao.duration_s = o.duration;
  ao.node = node;
  if (!o.events.empty()) ao.events = agent::events_from_file(o.events);
  ao.probe.udp_interval_ns = static_cast<uint64_t>(o.udp_interval * 1e9);
  ao.probe.ring_bytes = o.ring_size;
  ao.stop = &g_stop;
  if (!o.common.quiet)
    ao.log = [](const std::string& m) { std::fprintf(stderr, "stockade: %s\n", m.c_str()); };
  if (live || !pods.empty()) ao.enrich = [&pods](agent::AgentEvent& e) { pods.name(e); };

  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, reported

  auto r = agent::run_agent(ao);
  if (!r) throw UsageError{r.error().str()};
  for (const auto& [level, line] : agent::describe_summary(*r, !o.server.empty(), !o.spool.empty()))
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

// stockade agent: the node agent (eBPF). Every TCP connection attempt and UDP flow, with the
// process and pod behind it, as NDJSON (and batches to a server with --server).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "agent/agent.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/ip.h"
#include "input/flow_reader.h"
#include "kube/live_state.h"

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
  kube::PodDirectory pods;
  std::unique_ptr<kube::Client> client;
  std::unique_ptr<kube::LiveState> live_state;
  if (live) {
    client = connect_cluster(o.common, o.in_cluster);
    kube::LiveStateOptions lo;
    lo.resources = {"pods"};
    // Only this node's pods: thousands of agents each following every pod of the cluster
    // would load the API server with what the server side resolves anyway.
    lo.field_selectors["pods"] = "spec.nodeName=" + node;
    lo.on_stopped = [](const std::string&, const Error& e) {
      std::fprintf(stderr,
                   "stockade: warning: pods are no longer followed (names may be stale): %s\n",
                   e.str().c_str());
    };
    auto started = kube::LiveState::start(*client, lo, pods.handler(client->config().server));
    if (!started) throw UsageError{started.error().str()};
    live_state = std::move(*started);
    if (auto r = live_state->wait_synced(std::chrono::minutes(2)); !r)
      throw UsageError{r.error().str()};
    if (!o.common.quiet)
      std::fprintf(stderr,
                   "stockade: naming pods from %s (%zu pods on node %s; following changes)\n",
                   client->config().server.c_str(), pods.pods().size(), node.c_str());
  } else if (!o.common.files.empty()) {
    ClusterState state = load_cluster(o.common);
    for (const Pod& p : state.pods) pods.put(p);
  }
  agent::AgentOptions ao;
  ao.output = o.output;
  ao.server = o.server;
  ao.spool = o.spool;
  ao.server_token_file = o.server_token_file;
  ao.window_ns = static_cast<int64_t>(o.batch_window * 1e9);
  ao.duration_s = o.duration;
  ao.node = node;
  if (!o.events.empty()) {
    // Agent events from a file (or stdin) instead of the kernel: replays, and tests on
    // machines where eBPF cannot load.
    ao.events = [path = o.events](const std::function<void(agent::AgentEvent&)>& emit,
                                  const std::atomic<bool>& stop) -> Result<void> {
      // Line by line as it arrives (a pipe feeding a running agent), each through the flow
      // reader that `map` uses for agent events.
      int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return make_error(path, 0, std::string("cannot open: ") + std::strerror(errno));
      struct Closer {
        int fd;
        ~Closer() {
          if (fd > 0) ::close(fd);
        }
      } closer{fd};
      FlowReadOptions ro;
      ro.threads = 1;
      ro.strict = true;
      std::string buf;
      char chunk[65536];
      size_t line_no = 0;
      auto take = [&](std::string_view line) -> Result<void> {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) return {};
        FlowReadStats st;
        bool other = false;  // a flow record, but no agent event (a Hubble flow)
        auto r = read_flows_text(line, path == "-" ? "<stdin>" : path, ro, st, [&](const Flow& f) {
          if (auto e = agent::event_from_flow(f))
            emit(*e);
          else
            other = true;
        });
        if (!r)
          return make_error(path == "-" ? "<stdin>" : path, static_cast<int>(line_no),
                            r.error().message);
        if (other)  // dropping it quietly would send batches short of what the file holds
          return make_error(path == "-" ? "<stdin>" : path, static_cast<int>(line_no),
                            "not an agent event (--events reads what the agent writes)");
        return {};
      };
      while (!stop) {
        // Waits at most 100 ms at a time, so a stopped agent never hangs on a silent pipe.
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 100) == 0) continue;
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(path, 0, std::string("read error: ") + std::strerror(errno));
        if (n == 0) break;
        buf.append(chunk, static_cast<size_t>(n));
        size_t start = 0;
        for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1)
          if (auto r = take(std::string_view(buf).substr(start, nl - start)); !r) return r;
        buf.erase(0, start);
        if (buf.size() > (size_t{64} << 20))
          return make_error(path, static_cast<int>(line_no + 1), "a line longer than 64 MiB");
      }
      if (!buf.empty()) return take(buf);
      return {};
    };
  }
  ao.probe.udp_interval_ns = static_cast<uint64_t>(o.udp_interval * 1e9);
  ao.probe.ring_bytes = o.ring_size;
  ao.stop = &g_stop;
  if (!o.common.quiet)
    ao.log = [](const std::string& m) { std::fprintf(stderr, "stockade: %s\n", m.c_str()); };
  if (live || !pods.empty()) {
    ao.enrich = [&pods](agent::AgentEvent& e) {
      auto set = [](std::string& ns, std::string& pod, const kube::PodDirectory::Name& p) {
        ns = p.ns;
        pod = p.name;
      };
      // The local side is the process's pod (by UID), else whichever pod holds the address.
      std::string& local_ns = e.inbound ? e.dst_ns : e.src_ns;
      std::string& local_pod = e.inbound ? e.dst_pod : e.src_pod;
      if (!e.pod_uid.empty())
        if (auto p = pods.by_uid(e.pod_uid)) set(local_ns, local_pod, *p);
      if (e.src_pod.empty())
        if (auto p = pods.by_ip(e.src)) set(e.src_ns, e.src_pod, *p);
      if (e.dst_pod.empty())
        if (auto p = pods.by_ip(e.dst)) set(e.dst_ns, e.dst_pod, *p);
    };
  }

  struct sigaction sa = {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout is a write error, reported

  auto r = agent::run_agent(ao);
  if (!r) throw UsageError{r.error().str()};
  const agent::AgentSummary& s = *r;
  if (o.common.verbose)
    verbose_log(o.common,
                std::to_string(s.events) + " events; kernel: " + std::to_string(s.kernel.produced) +
                    " produced, " + std::to_string(s.kernel.udp_dedup) + " UDP datagrams folded, " +
                    std::to_string(s.kernel.no_process) + " TCP results without their connect()");
  if (o.common.verbose) {
    for (const agent::ProgramStats& p : s.programs)
      if (p.run_count)
        verbose_log(o.common, "program " + p.name + ": " + std::to_string(p.run_count) + " runs, " +
                                  std::to_string(p.run_time_ns) + " ns");
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu =
        ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f s (%.3f s after start-up)", cpu, s.loop_cpu_s);
    verbose_log(o.common, std::string("agent CPU time: ") + buf);
  }
  // Losses are always reported.
  if (s.kernel.lost)
    std::fprintf(stderr, "stockade: warning: %llu events lost in the kernel (ring buffer full)\n",
                 static_cast<unsigned long long>(s.kernel.lost));
  if (!o.server.empty() && o.common.verbose)
    verbose_log(o.common, std::to_string(s.batches) + " batches formed, " +
                              std::to_string(s.posted) + " acknowledged (" +
                              std::to_string(s.replayed) + " replayed from the spool)");
  if (!o.server.empty() && (s.post_failures || s.post_dropped || s.post_rejected || s.post_pending))
    std::fprintf(stderr,
                 "stockade: warning: --server: %llu failed attempts, %llu batches dropped, %llu "
                 "rejected, %llu not yet acknowledged%s (last error: %s)\n",
                 static_cast<unsigned long long>(s.post_failures),
                 static_cast<unsigned long long>(s.post_dropped),
                 static_cast<unsigned long long>(s.post_rejected),
                 static_cast<unsigned long long>(s.post_pending),
                 o.spool.empty() ? "" : " (kept in --spool)", s.post_error.c_str());
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

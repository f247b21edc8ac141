// stockade serve: the loop that keeps running (src/server/ does the work; this parses flags,
// wires signals and sources, and prints).
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "core/read_text.h"
#include "input/hubble_relay.h"
#include "kube/access_review.h"
#include "kube/live_state.h"
#include "model/duration.h"
#include "posture/posture.h"
#include "server/flow_journal.h"
#include "server/http.h"
#include "server/state.h"
#include "store/store.h"

namespace stockade::cli {

namespace {

struct ServeOptions {
  CommonOptions common;
  bool in_cluster = false;
  std::string listen = "127.0.0.1:7080";
  std::string store = "sqlite:stockade.db";
  std::string journal;
  std::string baseline_quiet = "24h";
  std::string agent_interval = "10s";
  std::string token_file;
  std::string tls_cert, tls_key;
  std::string admission = "warn";
  bool guard_default_deny = false, guard_public_ingress = false, admission_lint = true;
  std::string guard_block_severity;
  std::string locked_label = "stockade.io/locked=true";
  std::string exempt_label = "stockade.io/public-ingress=true";
  std::string hubble_relay, hubble_ca, hubble_cert, hubble_key;
  std::vector<std::string> external_cidrs;
  uint32_t max_external_nodes = 10000;
  uint32_t max_gzip_ratio = kDefaultMaxGzipRatio;
  size_t max_body_mb = 32;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Splits ADDR:PORT ("[::1]:7080" for IPv6).
std::pair<std::string, int> split_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw UsageError{"--listen: expected ADDR:PORT, got \"" + listen + "\""};
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      throw UsageError{"--listen: invalid port in \"" + listen + "\""};
    port = port * 10 + (c - '0');
  }
  if (port > 65535) throw UsageError{"--listen: invalid port in \"" + listen + "\""};
  return {host.empty() ? "0.0.0.0" : host, port};
}

// What the -f paths hold now: their files' names, sizes and modification times. A change of
// any of them is a reason to rebuild.
std::string fingerprint(const std::vector<std::string>& paths) {
  std::string out;
  auto add = [&](const std::filesystem::path& p) {
    struct stat st = {};
    if (::stat(p.c_str(), &st) != 0) return;
    out += p.string() + '\0' + std::to_string(st.st_size) + '\0' +
           std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + '\n';
  };
  for (const std::string& path : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      for (auto it = std::filesystem::recursive_directory_iterator(
               path, std::filesystem::directory_options::skip_permission_denied, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec)) add(it->path());
    } else {
      add(path);
    }
  }
  return out;
}

// Rebuilds on request (SIGHUP, a watch event, a changed file), one at a time; several requests
// close together give one rebuild.
class Rebuilder {
 public:
  explicit Rebuilder(server::ServerState& state, std::function<void(const std::string&)> log)
      : state_(state), log_(std::move(log)), thread_([this] { loop(); }) {}
  ~Rebuilder() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void request() {
    {
      std::lock_guard lock(mutex_);
      pending_ = true;
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || pending_; });
      if (stop_) return;
      // Changes come in bursts (an editor's save, a rollout's watch events): wait for a quiet
      // moment before rebuilding.
      while (pending_ && !stop_) {
        pending_ = false;
        cv_.wait_for(lock, std::chrono::milliseconds(300), [&] { return stop_; });
      }
      if (stop_) return;
      lock.unlock();
      auto r = state_.rebuild();
      log_(r ? "rebuilt the snapshot of the cluster objects"
             : "rebuild failed, the previous snapshot stays in use: " + r.error().str());
      lock.lock();
    }
  }

  server::ServerState& state_;
  std::function<void(const std::string&)> log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false, stop_ = false;
  std::thread thread_;
};

// The webhook's flags (server/admission.h).
server::AdmissionOptions admission_options(const ServeOptions& o) {
  server::AdmissionOptions a;
  a.mode = o.admission;
  a.guard_default_deny = o.guard_default_deny;
  a.guard_public_ingress = o.guard_public_ingress;
  a.lint = o.admission_lint;
  if (!o.guard_block_severity.empty())
    a.block_severity = posture::parse_severity(o.guard_block_severity);
  std::tie(a.locked_key, a.locked_value) = parse_label_flag("--locked-label", o.locked_label);
  std::tie(a.exempt_key, a.exempt_value) = parse_label_flag("--exempt-label", o.exempt_label);
  return a;
}

int run(const ServeOptions& o) {
  const bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  if (live && !o.common.files.empty())
    throw UsageError{
        "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each "
        "other"};
  if (!live && o.common.files.empty())
    throw UsageError{"no cluster objects: pass -f FILE (or --kubeconfig/--context/--in-cluster)"};
  for (const std::string& f : o.common.files)
    if (f == "-")
      throw UsageError{"-f -: the server reads its objects again when they change; give files"};
  if (o.hubble_relay.empty() &&
      !(o.hubble_ca.empty() && o.hubble_cert.empty() && o.hubble_key.empty()))
    throw UsageError{"--hubble-ca, --hubble-cert and --hubble-key go with --hubble-relay"};
  if (!o.hubble_relay.empty() && o.hubble_relay.find(':') == std::string::npos)
    throw UsageError{"--hubble-relay: expected HOST:PORT (hubble-relay.kube-system:80), got \"" +
                     o.hubble_relay + "\""};
  const bool postgres =
      o.store.rfind("postgres://", 0) == 0 || o.store.rfind("postgresql://", 0) == 0;
  if (!postgres && (o.store.rfind("sqlite:", 0) != 0 || o.store.size() == 7))
    throw UsageError{"--store: expected sqlite:PATH or postgres://…, got \"" + o.store + "\""};
  // The raw records are journaled on this host (docs/notes/serve.md): beside the SQLite file,
  // or where --journal says.
  std::string journal_path = o.journal;
  if (journal_path.empty()) {
    if (postgres)
      throw UsageError{
          "--store postgres://… needs --journal PATH: the flow records are journaled on this "
          "host"};
    journal_path = o.store.substr(7) + ".flows";
  }
  auto agent_ns = parse_duration(o.agent_interval);
  if (!agent_ns || *agent_ns < 1'000'000'000 || *agent_ns > 300'000'000'000)
    throw UsageError{"--agent-interval: expected a duration from 1s to 5m, got \"" +
                     o.agent_interval + "\""};
  auto quiet_ns = parse_duration(o.baseline_quiet);
  if (!quiet_ns || *quiet_ns <= 0)
    throw UsageError{"--baseline-quiet: expected a positive duration (24h, 30m, 7d), got \"" +
                     o.baseline_quiet + "\""};
  auto [host, port] = split_listen(o.listen);

  server::HttpOptions ho;
  ho.host = host;
  ho.port = port;
  ho.tls_cert = o.tls_cert;
  ho.tls_key = o.tls_key;
  ho.max_body = o.max_body_mb << 20;
  ho.admission = admission_options(o);
  ho.agent_interval_ms = *agent_ns / 1'000'000;
  if (!o.token_file.empty()) {
    auto token = read_text_file(o.token_file, 64 * 1024);
    if (!token) throw UsageError{token.error().str()};
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) throw UsageError{o.token_file + ": empty token"};
    ho.token = t;
  } else if (!live && !is_loopback(host)) {
    throw UsageError{"--listen " + o.listen +
                     ": without --token-file (or a cluster to check tokens with) the server "
                     "listens on loopback only (127.0.0.1, ::1): anyone who can reach it could "
                     "read the map and post flows"};
  }
  std::mutex log_mutex;
  const bool quiet = o.common.quiet;
  auto log_line = [&log_mutex, quiet](const std::string& line) {
    if (quiet) return;
    std::lock_guard lock(log_mutex);
    std::fprintf(stderr, "%s\n", line.c_str());
  };
  ho.log = log_line;
  auto log_msg = [&log_line](const std::string& msg) {
    log_line(nlohmann::json{{"level", "info"}, {"msg", msg}, {"time", server::log_time_now()}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  };

  // Signals are taken by one thread (sigwait), so they are blocked before any other starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  server::FlowJournal journal, batch_journal;
  if (auto r = journal.open(journal_path); !r) throw UsageError{r.error().str()};
  if (auto r = batch_journal.open(journal_path + ".batches"); !r) throw UsageError{r.error().str()};
  if (journal.torn_bytes())
    log_msg("the flow journal ended in a batch that was never acknowledged (" +
            std::to_string(journal.torn_bytes()) + " bytes): removed");

  std::unique_ptr<kube::Client> client;
  std::unique_ptr<kube::AccessReviewer> reviewer;
  std::unique_ptr<kube::LiveState> live_state;
  std::function<void()> on_change;  // set once the rebuilder exists
  std::mutex change_mutex;
  server::ObjectSource source;
  if (live) {
    client = connect_cluster(o.common, o.in_cluster);
    if (ho.token.empty()) {
      // In a cluster, tokens and actions are the cluster's to judge: TokenReview, then
      // SubjectAccessReview on stockade.io resources; agents' projected tokens carry the
      // audience "stockade".
      reviewer = std::make_unique<kube::AccessReviewer>(*client);
      ho.access = [&reviewer](const std::string& token, const std::string& verb,
                              const std::string& resource) {
        server::AccessDecision d;
        std::vector<std::string> audiences;
        if (resource == "agentbatches") audiences = {"stockade"};
        auto user = reviewer->authenticate(token, audiences);
        if (!user) {
          d.status = 503;
          d.message = "cannot check the token with the API server: " + user.error().str();
          return d;
        }
        if (!*user) {
          d.status = 401;
          d.message = "the API server does not accept this token (TokenReview)";
          return d;
        }
        std::string reason;
        auto allowed = reviewer->authorize(**user, verb, resource, &reason);
        if (!allowed) {
          d.status = 503;
          d.message = "cannot check the permission with the API server: " + allowed.error().str();
          return d;
        }
        if (!*allowed) {
          d.status = 403;
          d.message = "user \"" + (*user)->username + "\" cannot " + verb + " " + resource + "." +
                      std::string(kube::kAccessGroup) + (reason.empty() ? "" : ": " + reason);
          return d;
        }
        d.user = (*user)->username;
        return d;
      };
    }
    kube::LiveStateOptions lo;
    lo.load = load_options(o.common);
    lo.load.workload_security = true;  // GET /api/v1/posture scans them
    lo.on_stopped = [&log_msg](const std::string& resource, const Error& e) {
      log_msg("no longer following " + resource + ": " + e.str());
    };
    auto started = kube::LiveState::start(
        *client, lo,
        [&on_change, &change_mutex](kube::Informer::Change, const std::string&, const std::string&,
                                    const std::string&) {
          std::lock_guard lock(change_mutex);
          if (on_change) on_change();
        });
    if (!started) throw UsageError{started.error().str()};
    live_state = std::move(*started);
    if (auto r = live_state->wait_synced(std::chrono::minutes(2)); !r)
      throw UsageError{r.error().str()};
    source = [&live_state] { return live_state->state(); };
  } else {
    const std::vector<std::string> files = o.common.files;
    LoadOptions lo = load_options(o.common);
    lo.workload_security = true;  // GET /api/v1/posture (the scan) reads the posture fields
    source = [files, lo]() -> Result<ClusterState> {
      ClusterLoader loader(lo);
      for (const std::string& p : files)
        if (auto r = loader.add_path(p); !r) return tl::unexpected<Error>(r.error());
      return std::move(loader).finish();
    };
  }

  server::StateOptions so;
  for (const std::string& c : o.external_cidrs) {
    auto cidr = Cidr::parse(c);
    if (!cidr) throw UsageError{"--external-cidr: invalid CIDR \"" + c + "\""};
    so.external_groups.push_back(*cidr);
  }
  so.max_external_nodes = o.max_external_nodes;
  so.max_gzip_ratio = o.max_gzip_ratio;
  auto opened = store::open_store(o.store);
  if (!opened) throw UsageError{opened.error().str()};
  std::unique_ptr<store::Store> db = std::move(*opened);
  audit::AuditOptions ao;
  ao.quiet_period_ns = *quiet_ns;
  audit::LiveAudit live_audit(*db, ao);
  if (auto r = live_audit.load(); !r) throw UsageError{r.error().str()};
  server::ServerState state(source, journal, so, &live_audit, &batch_journal);
  if (auto r = state.rebuild(); !r) throw UsageError{r.error().str()};
  log_msg("loaded " + std::to_string(state.snapshot()->engine->endpoints().size()) +
          " endpoints; " + std::to_string(journal.batches()) + " journaled batches replayed");

  std::unique_ptr<input::RelayFollower> relay;
  if (!o.hubble_relay.empty()) {
    input::RelayOptions ro;
    ro.address = o.hubble_relay;
    ro.ca_file = o.hubble_ca;
    ro.cert_file = o.hubble_cert;
    ro.key_file = o.hubble_key;
    relay = std::make_unique<input::RelayFollower>(ro, [&state, &log_msg](std::string_view body) {
      if (auto r = state.ingest(body); !r)
        log_msg("flows from Hubble Relay not kept: " + r.error().str());
    });
    ho.relay = [&relay] { return relay->counters(); };
  }
  server::HttpServer http(state, ho);
  auto bound = http.bind();
  if (!bound) throw UsageError{bound.error().str()};

  Rebuilder rebuilder(state, log_msg);
  {
    std::lock_guard lock(change_mutex);
    on_change = [&rebuilder] { rebuilder.request(); };
  }
  std::atomic<bool> stopping = false;
  std::thread signal_thread([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        if (stopping) return;
        log_msg("SIGHUP: reloading the cluster objects");
        rebuilder.request();
        continue;
      }
      if (!stopping) log_msg("stopping: requests in flight finish");
      stopping = true;
      http.stop();
      return;
    }
  });
  // Baselines quiet long enough become stable; expired buckets and events go (on PostgreSQL,
  // one replica at a time: the store takes an advisory lock).
  std::thread housekeeping([&] {
    int64_t last_retention = 0;
    while (!stopping) {
      for (int i = 0; i < 100 && !stopping; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stopping) break;
      if (auto r = live_audit.settle(); !r) {
        log_msg("baselines: " + r.error().str());
      } else {
        for (const store::Baseline& b : *r) log_msg("baseline " + b.ns + " is stable");
      }
      const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (now - last_retention >= store::kHourNs) {
        last_retention = now;
        if (auto r = db->apply_retention(); !r) log_msg("retention: " + r.error().str());
      }
    }
  });
  if (relay) {
    relay->start();
    log_msg("following Hubble Relay at " + o.hubble_relay);
  }
  std::thread watcher;
  if (!live)
    watcher = std::thread([&] {
      std::string last = fingerprint(o.common.files);
      while (!stopping) {
        for (int i = 0; i < 20 && !stopping; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (stopping) break;
        std::string now = fingerprint(o.common.files);
        if (now != last) {
          last = std::move(now);
          log_msg("the cluster object files changed: reloading");
          rebuilder.request();
        }
      }
    });

  http.run();
  if (!stopping) {
    // The server ended on its own (not a signal): wake the signal thread so it can be joined.
    stopping = true;
    ::kill(::getpid(), SIGTERM);
  }
  signal_thread.join();
  if (watcher.joinable()) watcher.join();
  housekeeping.join();
  if (relay) relay->stop();
  {
    std::lock_guard lock(change_mutex);
    on_change = nullptr;
  }
  log_msg("stopped");
  return kExitOk;
}

}  // namespace

Runner register_serve(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "The loop that keeps running: ingest flows, keep the map, answer over HTTP");
  cmd->add_option("-f,--filename", opts->common.files,
                  "Kubernetes objects: file or directory (recursive); repeatable; read again "
                  "on SIGHUP and when they change");
  cmd->add_option("-n,--namespace", opts->common.ns,
                  "Namespace for namespaced objects that name none (default \"default\")");
  cmd->add_option("--kubeconfig", opts->common.kubeconfig,
                  "Follow a live cluster (kubeconfig): list and watch its objects");
  cmd->add_option("--context", opts->common.context, "kubeconfig context");
  cmd->add_flag("--in-cluster", opts->in_cluster,
                "Follow the cluster this pod runs in (its service account)");
  add_request_timeout_flag(*cmd, opts->common);
  cmd->add_option("--listen", opts->listen,
                  "ADDR:PORT to listen on; without --token-file only a loopback address")
      ->default_str("127.0.0.1:7080");
  cmd->add_option("--store", opts->store,
                  "sqlite:PATH (the flow journal is PATH.flows) or postgres://… (with --journal)")
      ->default_str("sqlite:stockade.db");
  cmd->add_option("--journal", opts->journal,
                  "Where the accepted flow records are journaled (default: the SQLite store's "
                  "PATH.flows)");
  cmd->add_option("--agent-interval", opts->agent_interval,
                  "The window node agents are told to aggregate over (next_interval_ms)")
      ->default_str("10s");
  cmd->add_option("--baseline-quiet", opts->baseline_quiet,
                  "A learning baseline with no new edge for this long becomes stable")
      ->default_str("24h");
  cmd->add_option("--token-file", opts->token_file,
                  "Every /api/ and console request needs Authorization: Bearer <this file's "
                  "token>");
  cmd->add_option("--tls-cert", opts->tls_cert, "Serve HTTPS with this PEM certificate");
  cmd->add_option("--tls-key", opts->tls_key, "The certificate's PEM private key");
  cmd->add_option("--admission", opts->admission, "Admission webhook mode: enforce, warn or off")
      ->check(CLI::IsMember({"enforce", "warn", "off"}))
      ->default_str("warn");
  cmd->add_flag("--guard-default-deny", opts->guard_default_deny,
                "Webhook guardrail: a locked namespace keeps its default-deny NetworkPolicy");
  cmd->add_flag("--guard-public-ingress", opts->guard_public_ingress,
                "Webhook guardrail: no NetworkPolicy rule allows ingress from every outside "
                "address");
  cmd->add_option("--guard-block-severity", opts->guard_block_severity,
                  "Webhook guardrail: Pods and workloads with posture findings at or above this "
                  "severity are refused")
      ->check(CLI::IsMember({"low", "medium", "high", "critical"}));
  cmd->add_option("--locked-label", opts->locked_label,
                  "KEY=VALUE of namespaces locked like a locked baseline (--guard-default-deny)")
      ->default_str("stockade.io/locked=true");
  cmd->add_option("--exempt-label", opts->exempt_label,
                  "KEY=VALUE of namespaces exempt from --guard-public-ingress")
      ->default_str("stockade.io/public-ingress=true");
  cmd->add_flag("!--no-admission-lint", opts->admission_lint,
                "No policy lint warnings from the webhook");
  cmd->add_option("--hubble-relay", opts->hubble_relay,
                  "Follow the flows of this Hubble Relay (HOST:PORT, gRPC Observer.GetFlows)");
  cmd->add_option("--hubble-ca", opts->hubble_ca,
                  "TLS to Hubble Relay: the CA that signed its certificate (PEM)");
  cmd->add_option("--hubble-cert", opts->hubble_cert, "TLS client certificate for Hubble Relay");
  cmd->add_option("--hubble-key", opts->hubble_key, "Its private key");
  cmd->add_option("--external-cidr", opts->external_cidrs,
                  "Group external addresses inside this CIDR into one map node; repeatable");
  cmd->add_option("--max-external-nodes", opts->max_external_nodes,
                  "At most this many external map nodes (as stockade map)")
      ->default_str("10000");
  cmd->add_option("--max-body", opts->max_body_mb,
                  "Largest request body in MiB, after decompression (larger: 413)")
      ->default_str("32")
      ->check(CLI::Range(1, 1024));
  add_gzip_ratio_flag(*cmd, opts->max_gzip_ratio);
  cmd->add_flag("-v,--verbose", opts->common.verbose, "More on stderr");
  cmd->add_flag("-q,--quiet", opts->common.quiet, "No log lines on stderr");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

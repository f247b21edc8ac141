#include "server/serve.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "kube/access_review.h"
#include "kube/live_state.h"
#include "server/cluster_apply.h"
#include "server/flow_journal.h"
#include "store/store.h"

namespace stockade::server {

namespace {

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
  explicit Rebuilder(ServerState& state, std::function<void(const std::string&)> log)
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

  ServerState& state_;
  std::function<void(const std::string&)> log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false, stop_ = false;
  std::thread thread_;
};

// In a cluster, tokens and actions are the cluster's to judge: TokenReview, then
// SubjectAccessReview on stockade.io resources; agents' projected tokens carry the audience
// "stockade".
AccessDecision review(kube::AccessReviewer& reviewer, const std::string& token,
                      const std::string& verb, const std::string& resource) {
  AccessDecision d;
  std::vector<std::string> audiences;
  if (resource == "agentbatches") audiences = {"stockade"};
  auto user = reviewer.authenticate(token, audiences);
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
  auto allowed = reviewer.authorize(**user, verb, resource, &reason);
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
  d.uid = (*user)->uid;
  d.groups = (*user)->groups;
  return d;
}

// The threads beside the HTTP server's: signals (one sigwait thread), housekeeping (baselines
// settling, retention), the -f files' watcher. They end once `stopping` is set.
struct Workers {
  std::atomic<bool> stopping = false;
  std::thread signals, housekeeping, watcher;

  void join() {
    if (signals.joinable()) signals.join();
    if (watcher.joinable()) watcher.join();
    if (housekeeping.joinable()) housekeeping.join();
  }
};

void start_workers(Workers& w, const sigset_t& signals, HttpServer& http, Rebuilder& rebuilder,
                   audit::LiveAudit& live_audit, store::Store& db,
                   const std::vector<std::string>& files,
                   const std::function<void(const std::string&)>& log_msg) {
  w.signals = std::thread([&w, signals, &http, &rebuilder, log_msg] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        if (w.stopping) return;
        log_msg("SIGHUP: reloading the cluster objects");
        rebuilder.request();
        continue;
      }
      if (!w.stopping) log_msg("stopping: requests in flight finish");
      w.stopping = true;
      http.stop();
      return;
    }
  });
  // Baselines quiet long enough become stable; expired buckets and events go (on PostgreSQL,
  // one replica at a time: the store takes an advisory lock).
  w.housekeeping = std::thread([&w, &live_audit, &db, log_msg] {
    int64_t last_retention = 0;
    while (!w.stopping) {
      for (int i = 0; i < 100 && !w.stopping; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (w.stopping) break;
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
        if (auto r = db.apply_retention(); !r) log_msg("retention: " + r.error().str());
      }
    }
  });
  if (files.empty()) return;
  w.watcher = std::thread([&w, files, &rebuilder, log_msg] {
    std::string last = fingerprint(files);
    while (!w.stopping) {
      for (int i = 0; i < 20 && !w.stopping; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (w.stopping) break;
      std::string now = fingerprint(files);
      if (now != last) {
        last = std::move(now);
        log_msg("the cluster object files changed: reloading");
        rebuilder.request();
      }
    }
  });
}

// The objects: read from the files again on each call, or the live cluster's informers (each
// change requests a rebuild through `on_change`).
Result<ObjectSource> object_source(ServeConfig& c, std::unique_ptr<kube::LiveState>& live_state,
                                   std::function<void()>& on_change, std::mutex& change_mutex,
                                   const std::function<void(const std::string&)>& log_msg) {
  if (!c.cluster) {
    return [files = c.files, lo = c.load]() -> Result<ClusterState> {
      ClusterLoader loader(lo);
      for (const std::string& p : files)
        if (auto r = loader.add_path(p); !r) return tl::unexpected<Error>(r.error());
      return std::move(loader).finish();
    };
  }
  kube::LiveStateOptions lo;
  lo.load = c.load;
  lo.on_stopped = [log_msg](const std::string& resource, const Error& e) {
    log_msg("no longer following " + resource + ": " + e.str());
  };
  auto started =
      kube::LiveState::start(*c.cluster, lo,
                             [&on_change, &change_mutex](kube::Informer::Change, const std::string&,
                                                         const std::string&, const std::string&) {
                               std::lock_guard lock(change_mutex);
                               if (on_change) on_change();
                             });
  if (!started) return tl::unexpected<Error>(started.error());
  live_state = std::move(*started);
  if (auto r = live_state->wait_synced(std::chrono::minutes(2)); !r)
    return tl::unexpected<Error>(r.error());
  return [&live_state] { return live_state->state(); };
}

}  // namespace

Result<void> serve(ServeConfig c) {
  auto log_msg = [log = c.log](const std::string& msg) {
    if (!log) return;
    log(nlohmann::json{{"level", "info"}, {"msg", msg}, {"time", log_time_now()}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  c.http.log = c.log;
  // Signals are taken by one thread (sigwait), so they are blocked before any other starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  FlowJournal journal;
  if (auto r = journal.open(c.journal_path); !r) return r;
  if (journal.torn_bytes())
    log_msg("the flow journal ended in a batch that was never acknowledged (" +
            std::to_string(journal.torn_bytes()) + " bytes): removed");

  std::unique_ptr<kube::AccessReviewer> reviewer;
  if (c.cluster) {
    if (c.http.token.empty()) {
      reviewer = std::make_unique<kube::AccessReviewer>(*c.cluster);
      c.http.access = [&reviewer](const std::string& token, const std::string& verb,
                                  const std::string& resource) {
        return review(*reviewer, token, verb, resource);
      };
    }
    // Policies are applied for the user who asked (each object authorized for them), or as the
    // server itself for a --token-file holder.
    c.http.apply = [client = c.cluster.get(), &reviewer](const std::string& body, bool dry_run,
                                                         bool force, const Requester& who) {
      return apply_as(*client, body, dry_run, force, who, reviewer.get());
    };
  }
  std::unique_ptr<kube::LiveState> live_state;
  std::function<void()> on_change;  // set once the rebuilder exists
  std::mutex change_mutex;
  auto source = object_source(c, live_state, on_change, change_mutex, log_msg);
  if (!source) return tl::unexpected<Error>(source.error());

  auto opened = store::open_store(c.store);
  if (!opened) return tl::unexpected<Error>(opened.error());
  std::unique_ptr<store::Store> db = std::move(*opened);
  audit::AuditOptions ao;
  ao.quiet_period_ns = c.baseline_quiet_ns;
  audit::LiveAudit live_audit(*db, ao);
  if (auto r = live_audit.load(); !r) return r;
  ServerState state(*source, journal, c.state, &live_audit);
  if (auto r = state.rebuild(); !r) return r;
  log_msg("loaded " + std::to_string(state.snapshot()->engine->endpoints().size()) +
          " endpoints; " + std::to_string(state.counters().records) + " records in the store");

  std::unique_ptr<input::RelayFollower> relay;
  HttpServer* detectors = nullptr;  // set before the follower starts
  if (!c.relay.address.empty()) {
    relay = std::make_unique<input::RelayFollower>(
        c.relay, [&state, &log_msg, &detectors](std::string_view body) {
          if (auto r = state.ingest(body); !r)
            log_msg("flows from Hubble Relay not kept: " + r.error().str());
          else if (detectors)
            detectors->detect_records(body);
        });
    c.http.relay = [&relay] { return relay->counters(); };
  }
  HttpServer http(state, c.http);
  detectors = &http;
  if (auto bound = http.bind(); !bound) return tl::unexpected<Error>(bound.error());

  Rebuilder rebuilder(state, log_msg);
  {
    std::lock_guard lock(change_mutex);
    on_change = [&rebuilder] { rebuilder.request(); };
  }
  Workers workers;
  start_workers(workers, signals, http, rebuilder, live_audit, *db,
                c.cluster ? std::vector<std::string>{} : c.files, log_msg);
  if (relay) {
    relay->start();
    log_msg("following Hubble Relay at " + c.relay.address);
  }
  http.run();
  if (!workers.stopping) {
    // The server ended on its own (not a signal): wake the signal thread so it can be joined.
    workers.stopping = true;
    ::kill(::getpid(), SIGTERM);
  }
  workers.join();
  if (relay) relay->stop();
  {
    std::lock_guard lock(change_mutex);
    on_change = nullptr;
  }
  log_msg("stopped");
  return {};
}

}  // namespace stockade::server

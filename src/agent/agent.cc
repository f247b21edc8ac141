#include "agent/agent.h"

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/aggregator.h"
#include "agent/batch_sender.h"
#include "core/allocator.h"
#include "core/wall_clock.h"
#include "stockade_agent.h"

namespace stockade::agent {

namespace {

// Events from a source other than the kernel (AgentOptions::events), handed over from its
// thread to the loop.
struct EventQueue {
  std::mutex mu;
  std::vector<AgentEvent> events;
  bool done = false;
  Result<void> result;
};

double cpu_now() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// One run of the agent: its output, its delivery, its source of events and the loop.
class AgentRun {
 public:
  explicit AgentRun(const AgentOptions& o) : o_(o) {}
  ~AgentRun() {
    source_stop_ = true;  // before the output closes: the source thread may still emit
    if (source_.joinable()) source_.join();
    if (close_out_ && out_) std::fclose(out_);
  }

  Result<AgentSummary> run() {
    if (auto r = open_output(); !r) return tl::unexpected(r.error());
    if (auto r = start_delivery(); !r) return tl::unexpected(r.error());
    if (auto r = start_source(); !r) return tl::unexpected(r.error());
    if (auto r = loop(); !r) return tl::unexpected(r.error());
    finish();
    return summary_;
  }

 private:
  void log(const std::string& m) const {
    if (o_.log) o_.log(m);
  }

  Result<void> open_output() {
    if (o_.output == "-") {
      out_ = stdout;
    } else if (!o_.output.empty()) {
      out_ = std::fopen(o_.output.c_str(), "a");
      if (!out_)
        return make_error(o_.output, 0, std::string("cannot open: ") + std::strerror(errno));
      close_out_ = true;
    }
    return {};
  }

  // Aggregation on the node, and delivery (the spool is read before any event).
  Result<void> start_delivery() {
    if (o_.server.empty()) return {};
    SenderOptions so;
    so.server = o_.server;
    so.spool = o_.spool;
    so.token_file = o_.server_token_file;
    so.ca_file = o_.server_ca;
    so.max_pending = o_.max_pending;
    so.log = o_.log;
    auto s = Sender::start(so);
    if (!s) return tl::unexpected(s.error());
    sender_ = std::move(*s);
    AggregatorOptions ag;
    ag.node = o_.node;
    ag.boot_id = new_boot_id();
    ag.window_ns = o_.window_ns;
    aggregator_ = std::make_unique<Aggregator>(ag, wall_now_ns());
    return {};
  }

  Result<void> start_source() {
    if (o_.events) {
      source_ = std::thread([queue = queue_, this] {
        auto r = o_.events(
            [&](AgentEvent& e) {
              std::lock_guard<std::mutex> lock(queue->mu);
              queue->events.push_back(std::move(e));
            },
            source_stop_);
        std::lock_guard<std::mutex> lock(queue->mu);
        queue->result = r;
        queue->done = true;
      });
      return {};
    }
    auto started = Probe::start(o_.probe, [this](const stk_event& raw) {
      AgentEvent e = decode_event(raw, offset_);
      if (e.cgroup_id) e.pod_uid = cgroups_.pod_uid(*e.cgroup_id, e.time_ns);
      process(e);
    });
    if (!started) return tl::unexpected(started.error());
    probe_ = std::move(*started);
    release_free_memory();  // what loading the programs freed (libbpf's copy of the kernel BTF)
    for (const std::string& d : probe_->degraded()) log("warning: " + d);
    log("agent: tracing TCP connections" +
        std::string(probe_->degraded().empty() ? " and UDP flows" : ""));
    return {};
  }

  void process(AgentEvent& e) {
    if (o_.enrich) o_.enrich(e);
    if (o_.on_event) o_.on_event(e);
    if (aggregator_) aggregator_->add(e, wall_now_ns());
    if (out_) {
      line_ = format_event_json(e, o_.node);
      line_.push_back('\n');
      if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size()) write_failed_ = true;
    }
    ++summary_.events;
  }

  // The events the source thread queued; true once it has ended (its error, if any, returned).
  Result<bool> take_queued() {
    bool done;
    {
      std::lock_guard<std::mutex> lock(queue_->mu);
      taken_.swap(queue_->events);
      done = queue_->done;
    }
    for (AgentEvent& e : taken_) process(e);
    taken_.clear();
    if (!done) return false;
    std::lock_guard<std::mutex> lock(queue_->mu);
    for (AgentEvent& e : queue_->events) process(e);
    queue_->events.clear();
    if (!queue_->result) return tl::unexpected(queue_->result.error());
    return true;
  }

  Result<void> loop();
  void report_lost(const ProbeCounters& c);
  void tend_batches();
  void submit(std::optional<batch::AgentBatch> b);
  void finish();

  const AgentOptions& o_;
  FILE* out_ = nullptr;
  bool close_out_ = false;
  bool write_failed_ = false;
  std::string line_;
  std::unique_ptr<Aggregator> aggregator_;
  std::unique_ptr<Sender> sender_;
  AgentSummary summary_;
  std::string spool_error_;
  CgroupPaths cgroups_{o_.probe.cgroup_root.empty()
                           ? find_cgroup2_mount().value_or("/sys/fs/cgroup")
                           : o_.probe.cgroup_root};
  int64_t offset_ = boot_to_realtime_ns();
  std::unique_ptr<Probe> probe_;
  std::shared_ptr<EventQueue> queue_ = std::make_shared<EventQueue>();
  std::atomic<bool> source_stop_{false};
  std::thread source_;
  std::vector<AgentEvent> taken_;
  uint64_t lost_reported_ = 0, dropped_reported_ = 0;
};

void AgentRun::submit(std::optional<batch::AgentBatch> b) {
  if (!b) return;
  ++summary_.batches;
  if (auto r = sender_->submit(*b); !r && spool_error_ != r.error().str()) {
    spool_error_ = r.error().str();
    log("warning: spool: " + spool_error_ + " (the batch is kept in memory only)");
  }
}

void AgentRun::report_lost(const ProbeCounters& c) {
  if (c.lost <= lost_reported_) return;
  uint64_t delta = c.lost - lost_reported_;
  lost_reported_ = c.lost;
  if (aggregator_) aggregator_->add_lost(delta);
  std::string l = format_lost_json(wall_now_ns(), delta, c.lost, o_.node) + "\n";
  if (out_) std::fwrite(l.data(), 1, l.size(), out_);
  log("warning: " + std::to_string(delta) + " events lost (ring buffer full), " +
      std::to_string(c.lost) + " in all");
}

void AgentRun::tend_batches() {
  if (!aggregator_) return;
  SenderStats st = sender_->stats();
  if (st.next_interval_ms) aggregator_->set_window(*st.next_interval_ms * 1000000);
  if (st.dropped != dropped_reported_) {
    dropped_reported_ = st.dropped;
    aggregator_->set_dropped_batches(st.dropped);
  }
  submit(aggregator_->poll(wall_now_ns()));
}

Result<void> AgentRun::loop() {
  using Clock = std::chrono::steady_clock;
  const double cpu_start = cpu_now();
  const auto start = Clock::now();
  auto next_tick = start + std::chrono::seconds(1);
  for (;;) {
    if (o_.stop && o_.stop->load()) break;
    auto now = Clock::now();
    if (o_.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= o_.duration_s)
      break;
    if (probe_) {
      auto r = probe_->poll(100);
      if (!r) return tl::unexpected(r.error());
    } else {
      auto done = take_queued();
      if (!done) return tl::unexpected(done.error());
      if (*done) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (write_failed_)
      return make_error(o_.output == "-" ? "<stdout>" : o_.output, 0,
                        std::string("write error: ") + std::strerror(errno));
    tend_batches();
    if (Clock::now() >= next_tick) {
      next_tick += std::chrono::seconds(1);
      offset_ = boot_to_realtime_ns();  // follow clock steps
      if (probe_) report_lost(probe_->counters());
      if (out_) std::fflush(out_);
    }
  }
  if (probe_) {
    while (true) {  // what the kernel has already written
      auto r = probe_->poll(0);
      if (!r || *r == 0) break;
    }
    summary_.kernel = probe_->counters();
    summary_.programs = probe_->program_stats();
    report_lost(summary_.kernel);
  }
  summary_.loop_cpu_s = cpu_now() - cpu_start;
  return {};
}

void AgentRun::finish() {
  if (out_) std::fflush(out_);
  if (!sender_) return;
  submit(aggregator_->flush(wall_now_ns()));
  // A few seconds to deliver what is queued; the rest stays in the spool for the next run.
  sender_->finish(5000);
  SenderStats b = sender_->stats();
  summary_.posted = b.sent;
  summary_.replayed = b.replayed;
  summary_.post_failures = b.failed_attempts;
  summary_.post_dropped = b.dropped;
  summary_.post_rejected = b.rejected;
  summary_.post_pending = b.pending;
  summary_.post_error = b.last_error;
}

}  // namespace

Result<AgentSummary> run_agent(const AgentOptions& o) {
  return AgentRun(o).run();
}

std::vector<std::pair<LogLevel, std::string>> describe_summary(const AgentSummary& s,
                                                               bool to_server, bool spool) {
  std::vector<std::pair<LogLevel, std::string>> out;
  out.emplace_back(
      LogLevel::Info,
      std::to_string(s.events) + " events; kernel: " + std::to_string(s.kernel.produced) +
          " produced, " + std::to_string(s.kernel.udp_dedup) + " UDP datagrams folded, " +
          std::to_string(s.kernel.no_process) + " TCP results without their connect()");
  for (const ProgramStats& p : s.programs)
    if (p.run_count)
      out.emplace_back(LogLevel::Info, "program " + p.name + ": " + std::to_string(p.run_count) +
                                           " runs, " + std::to_string(p.run_time_ns) + " ns");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f s (%.3f s after start-up)", cpu_now(), s.loop_cpu_s);
  out.emplace_back(LogLevel::Info, std::string("agent CPU time: ") + buf);
  // Losses are always reported.
  if (s.kernel.lost)
    out.emplace_back(LogLevel::Warning, std::to_string(s.kernel.lost) +
                                            " events lost in the kernel (ring buffer full)");
  if (to_server)
    out.emplace_back(LogLevel::Info, std::to_string(s.batches) + " batches formed, " +
                                         std::to_string(s.posted) + " acknowledged (" +
                                         std::to_string(s.replayed) + " replayed from the spool)");
  if (to_server && (s.post_failures || s.post_dropped || s.post_rejected || s.post_pending))
    out.emplace_back(LogLevel::Warning, "--server: " + std::to_string(s.post_failures) +
                                            " failed attempts, " + std::to_string(s.post_dropped) +
                                            " batches dropped, " + std::to_string(s.post_rejected) +
                                            " rejected, " + std::to_string(s.post_pending) +
                                            " not yet acknowledged" +
                                            (spool ? " (kept in --spool)" : "") +
                                            " (last error: " + s.post_error + ")");
  return out;
}

}  // namespace stockade::agent

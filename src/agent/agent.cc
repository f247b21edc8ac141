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
#include "stockade_agent.h"

namespace stockade::agent {

namespace {

int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Events from a source other than the kernel (AgentOptions::events), handed over from its
// thread to the loop.
struct EventQueue {
  std::mutex mu;
  std::vector<AgentEvent> events;
  bool done = false;
  Result<void> result;
};

}  // namespace

Result<AgentSummary> run_agent(const AgentOptions& o) {
  using Clock = std::chrono::steady_clock;
  auto log = [&](const std::string& m) {
    if (o.log) o.log(m);
  };
  FILE* out = nullptr;
  bool close_out = false;
  if (o.output == "-") {
    out = stdout;
  } else if (!o.output.empty()) {
    out = std::fopen(o.output.c_str(), "a");
    if (!out) return make_error(o.output, 0, std::string("cannot open: ") + std::strerror(errno));
    close_out = true;
  }
  struct Closer {
    FILE* f;
    bool close;
    ~Closer() {
      if (close && f) std::fclose(f);
    }
  } closer{out, close_out};

  // Aggregation on the node, and delivery (the spool is read before any event).
  std::unique_ptr<Aggregator> aggregator;
  std::unique_ptr<Sender> sender;
  if (!o.server.empty()) {
    SenderOptions so;
    so.server = o.server;
    so.spool = o.spool;
    so.token_file = o.server_token_file;
    so.max_pending = o.max_pending;
    so.log = o.log;
    auto s = Sender::start(so);
    if (!s) return tl::unexpected(s.error());
    sender = std::move(*s);
    AggregatorOptions ag;
    ag.node = o.node;
    ag.boot_id = new_boot_id();
    ag.window_ns = o.window_ns;
    aggregator = std::make_unique<Aggregator>(ag, wall_now_ns());
  }

  AgentSummary summary;
  std::string spool_error;
  auto submit = [&](std::optional<batch::AgentBatch> b) {
    if (!b) return;
    ++summary.batches;
    if (auto r = sender->submit(*b); !r && spool_error != r.error().str()) {
      spool_error = r.error().str();
      log("warning: spool: " + spool_error + " (the batch is kept in memory only)");
    }
  };
  CgroupPaths cgroups(o.probe.cgroup_root.empty() ? find_cgroup2_mount().value_or("/sys/fs/cgroup")
                                                  : o.probe.cgroup_root);
  int64_t offset = boot_to_realtime_ns();
  bool write_failed = false;
  std::string line;
  auto process = [&](AgentEvent& e) {
    if (o.enrich) o.enrich(e);
    if (o.on_event) o.on_event(e);
    if (aggregator) aggregator->add(e, wall_now_ns());
    if (out) {
      line = format_event_json(e, o.node);
      line.push_back('\n');
      if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) write_failed = true;
    }
    ++summary.events;
  };
  auto handle = [&](const stk_event& raw) {
    AgentEvent e = decode_event(raw, offset);
    if (e.cgroup_id) e.pod_uid = cgroups.pod_uid(*e.cgroup_id, e.time_ns);
    process(e);
  };

  std::unique_ptr<Probe> probe;
  auto queue = std::make_shared<EventQueue>();
  std::atomic<bool> source_stop{false};
  std::thread source;
  if (o.events) {
    source = std::thread([queue, &o, &source_stop] {
      auto r = o.events(
          [&](AgentEvent& e) {
            std::lock_guard<std::mutex> lock(queue->mu);
            queue->events.push_back(std::move(e));
          },
          source_stop);
      std::lock_guard<std::mutex> lock(queue->mu);
      queue->result = r;
      queue->done = true;
    });
  } else {
    auto started = Probe::start(o.probe, handle);
    if (!started) return tl::unexpected(started.error());
    probe = std::move(*started);
    release_free_memory();  // what loading the programs freed (libbpf's copy of the kernel BTF)
    for (const std::string& d : probe->degraded()) log("warning: " + d);
    log("agent: tracing TCP connections" +
        std::string(probe->degraded().empty() ? " and UDP flows" : ""));
  }
  struct Joiner {
    std::thread& t;
    std::atomic<bool>& stop;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{source, source_stop};

  auto cpu_now = [] {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  };
  double cpu_start = cpu_now();
  auto start = Clock::now();
  auto next_tick = start + std::chrono::seconds(1);
  uint64_t lost_reported = 0;
  auto report_lost = [&](const ProbeCounters& c) {
    if (c.lost <= lost_reported) return;
    uint64_t delta = c.lost - lost_reported;
    lost_reported = c.lost;
    if (aggregator) aggregator->add_lost(delta);
    std::string l = format_lost_json(wall_now_ns(), delta, c.lost, o.node) + "\n";
    if (out) std::fwrite(l.data(), 1, l.size(), out);
    log("warning: " + std::to_string(delta) + " events lost (ring buffer full), " +
        std::to_string(c.lost) + " in all");
  };
  uint64_t dropped_reported = 0;
  auto tend_batches = [&] {
    if (!aggregator) return;
    SenderStats st = sender->stats();
    if (st.next_interval_ms) aggregator->set_window(*st.next_interval_ms * 1000000);
    if (st.dropped != dropped_reported) {
      dropped_reported = st.dropped;
      aggregator->set_dropped_batches(st.dropped);
    }
    submit(aggregator->poll(wall_now_ns()));
  };
  std::vector<AgentEvent> taken;
  for (;;) {
    if (o.stop && o.stop->load()) break;
    auto now = Clock::now();
    if (o.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= o.duration_s)
      break;
    if (probe) {
      auto r = probe->poll(100);
      if (!r) return tl::unexpected(r.error());
    } else {
      bool done;
      {
        std::lock_guard<std::mutex> lock(queue->mu);
        taken.swap(queue->events);
        done = queue->done;
      }
      for (AgentEvent& e : taken) process(e);
      taken.clear();
      if (done) {
        std::lock_guard<std::mutex> lock(queue->mu);
        for (AgentEvent& e : queue->events) process(e);
        queue->events.clear();
        if (!queue->result) return tl::unexpected(queue->result.error());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (write_failed)
      return make_error(o.output == "-" ? "<stdout>" : o.output, 0,
                        std::string("write error: ") + std::strerror(errno));
    tend_batches();
    if (Clock::now() >= next_tick) {
      next_tick += std::chrono::seconds(1);
      offset = boot_to_realtime_ns();  // follow clock steps
      if (probe) report_lost(probe->counters());
      if (out) std::fflush(out);
    }
  }
  if (probe) {
    while (true) {  // what the kernel has already written
      auto r = probe->poll(0);
      if (!r || *r == 0) break;
    }
    summary.kernel = probe->counters();
    summary.programs = probe->program_stats();
    report_lost(summary.kernel);
  }
  summary.loop_cpu_s = cpu_now() - cpu_start;
  if (out) std::fflush(out);
  if (sender) {
    submit(aggregator->flush(wall_now_ns()));
    // A few seconds to deliver what is queued; the rest stays in the spool for the next run.
    sender->finish(5000);
    SenderStats b = sender->stats();
    summary.posted = b.sent;
    summary.replayed = b.replayed;
    summary.post_failures = b.failed_attempts;
    summary.post_dropped = b.dropped;
    summary.post_rejected = b.rejected;
    summary.post_pending = b.pending;
    summary.post_error = b.last_error;
  }
  return summary;
}

}  // namespace stockade::agent

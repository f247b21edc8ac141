#include "agent/agent.h"

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include "agent/http_batch.h"
#include "core/allocator.h"
#include "stockade_agent.h"

namespace stockade::agent {

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

  std::unique_ptr<BatchPoster> poster;
  if (!o.server.empty()) poster = std::make_unique<BatchPoster>(o.server, o.node);

  AgentSummary summary;
  CgroupPaths cgroups(o.probe.cgroup_root.empty() ? find_cgroup2_mount().value_or("/sys/fs/cgroup")
                                                  : o.probe.cgroup_root);
  int64_t offset = boot_to_realtime_ns();
  bool write_failed = false;
  std::string line;
  auto handle = [&](const stk_event& raw) {
    AgentEvent e = decode_event(raw, offset);
    if (e.cgroup_id) e.pod_uid = cgroups.pod_uid(*e.cgroup_id, e.time_ns);
    if (o.enrich) o.enrich(e);
    if (o.on_event) o.on_event(e);
    line = format_event_json(e, o.node);
    if (poster) poster->add(line);
    line.push_back('\n');
    if (out && std::fwrite(line.data(), 1, line.size(), out) != line.size()) write_failed = true;
    ++summary.events;
  };
  auto probe = Probe::start(o.probe, handle);
  if (!probe) return tl::unexpected(probe.error());
  release_free_memory();  // what loading the programs freed (libbpf's copy of the kernel BTF)
  for (const std::string& d : (*probe)->degraded()) log("warning: " + d);
  log("agent: tracing TCP connections" +
      std::string((*probe)->degraded().empty() ? " and UDP flows" : ""));

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
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string l = format_lost_json(now, delta, c.lost, o.node) + "\n";
    if (out) std::fwrite(l.data(), 1, l.size(), out);
    log("warning: " + std::to_string(delta) + " events lost (ring buffer full), " +
        std::to_string(c.lost) + " in all");
  };
  for (;;) {
    if (o.stop && o.stop->load()) break;
    auto now = Clock::now();
    if (o.duration_s > 0 && std::chrono::duration<double>(now - start).count() >= o.duration_s)
      break;
    auto r = (*probe)->poll(100);
    if (!r) return tl::unexpected(r.error());
    if (write_failed)
      return make_error(o.output == "-" ? "<stdout>" : o.output, 0,
                        std::string("write error: ") + std::strerror(errno));
    if (Clock::now() >= next_tick) {
      next_tick += std::chrono::seconds(1);
      offset = boot_to_realtime_ns();  // follow clock steps
      ProbeCounters c = (*probe)->counters();
      report_lost(c);
      if (out) std::fflush(out);
      if (poster) poster->flush(c.lost);
    }
  }
  while (true) {  // what the kernel has already written
    auto r = (*probe)->poll(0);
    if (!r || *r == 0) break;
  }
  summary.kernel = (*probe)->counters();
  summary.programs = (*probe)->program_stats();
  summary.loop_cpu_s = cpu_now() - cpu_start;
  report_lost(summary.kernel);
  if (out) std::fflush(out);
  if (poster) {
    poster->flush(summary.kernel.lost);
    poster->finish();  // one last attempt
    BatchStats b = poster->stats();
    summary.posted = b.posted_events;
    summary.post_failures = b.failed_posts;
    summary.post_dropped = b.dropped_events;
    summary.post_error = b.last_error;
  }
  return summary;
}

}  // namespace stockade::agent

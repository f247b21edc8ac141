// The kernel side of the agent, loaded: probes the kernel's features, loads the BPF programs
// (degrading where a feature is missing), and hands each ring-buffer record to a handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

struct stk_event;

namespace stockade::agent {

struct ProbeOptions {
  uint64_t udp_interval_ns = 10'000'000'000;  // one UDP event per 5-tuple per interval
  uint32_t ring_bytes = 8u << 20;             // ring buffer size (a power of two)
  bool udp = true;
  std::string cgroup_root;  // cgroup v2 mount, the UDP hook's attach point; "" finds it
};

struct ProbeCounters {
  uint64_t produced = 0;    // events written by the kernel programs
  uint64_t lost = 0;        // events dropped because the ring buffer was full
  uint64_t udp_dedup = 0;   // UDP datagrams folded into an already reported flow
  uint64_t no_process = 0;  // TCP results whose connect() predates the agent
};

struct ProgramStats {
  std::string name;
  uint64_t run_count = 0;  // with kernel.bpf_stats_enabled=1, else 0
  uint64_t run_time_ns = 0;
};

using EventHandler = std::function<void(const stk_event&)>;

class Probe {
 public:
  // Errors name the cause in one line: not privileged, no BTF, bpf() refused, ...
  static Result<std::unique_ptr<Probe>> start(const ProbeOptions& options, EventHandler handler);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Waits up to `timeout_ms` for the kernel to signal a filling ring, then delivers every
  // event there is; the number delivered.
  Result<int> poll(int timeout_ms);
  ProbeCounters counters() const;
  std::vector<ProgramStats> program_stats() const;
  // What was turned off at start-up and why ("UDP flows off: ...").
  const std::vector<std::string>& degraded() const { return degraded_; }

 private:
  struct Impl;
  explicit Probe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> degraded_;
};

// CLOCK_REALTIME - CLOCK_BOOTTIME now, in ns.
int64_t boot_to_realtime_ns();

}  // namespace stockade::agent

// Progress of long work on a terminal: one line on stderr, redrawn in place a few times a
// second ("flows.json: 512 MiB of 2.2 GiB (23%), 1.2M records, 180 MiB/s, 9 s left") and
// erased when the work ends. Disabled, it does nothing: commands enable it only when stderr is
// a terminal and -q was not given, so pipes, files and logs never see it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace stockade {

class ProgressMeter {
 public:
  // `what` names the work ("flows.json"). `out` is where the line goes (stderr);
  // `interval` the least time between two redraws (the first update draws at once).
  ProgressMeter(std::string what, bool enabled, std::FILE* out = stderr,
                std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  ~ProgressMeter() { finish(); }
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  bool enabled() const { return enabled_; }
  // `bytes` read so far of `total` (0: unknown, e.g. a pipe), and the `records` they held.
  void update(uint64_t bytes, uint64_t total, uint64_t records);
  // A callback for FlowReadOptions::on_read (and other readers of that shape): updates, and
  // erases the line when `done`.
  void on_read(uint64_t bytes, uint64_t total, uint64_t records, bool done) {
    if (done)
      finish();
    else
      update(bytes, total, records);
  }
  // Erases the line (once).
  void finish();

  // The line for a state, without drawing it (tests).
  static std::string line(const std::string& what, uint64_t bytes, uint64_t total, uint64_t records,
                          double seconds);

 private:
  std::string what_;
  bool enabled_;
  std::FILE* out_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

// Whether progress belongs on stderr: it is a terminal and the user did not ask for quiet.
bool progress_wanted(bool quiet);

}  // namespace stockade

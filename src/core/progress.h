// Progress of long work on a terminal: one line on stderr, redrawn in place a few times a
// second and erased when the work ends: "flows.json: 512 MiB of 2.2 GiB (23%), 1.2M records,
// 180 MiB/s, 9 s left", or for a live cluster's lists "https://10.0.0.1:6443: kind 3 of 21
// (pods, 1500 of 20k), 2k objects, 5 pages, 8 MiB, 2 MiB/s". Disabled, it does nothing:
// commands enable it only when stderr is a terminal and -q was not given, so pipes, files and
// logs never see it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

namespace stockade {

// What a live cluster's lists have received so far (ProgressMeter::list_line).
struct ListTally {
  size_t kinds_done = 0, kinds_total = 0;      // the kind being listed is number kinds_done + 1
  std::string kind;                            // the resource being listed ("pods")
  uint64_t kind_objects = 0;                   // of that kind so far
  uint64_t kind_expected = 0;                  // its objects in all (0: not known yet)
  uint64_t objects = 0, pages = 0, bytes = 0;  // of every kind so far
};

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
  // Work whose line is not the bytes of one input (ListTally): `line(what, seconds)` makes the
  // line, and is called only when one is due (never when disabled).
  template <class LineFn>
  void update_with(LineFn&& line) {
    if (due()) draw(std::forward<LineFn>(line)(what_, seconds()));
  }
  // What update counts: "records" (flow records, a dump's items) unless told ("documents").
  void count_as(std::string unit) { unit_ = std::move(unit); }
  // Erases the line (once).
  void finish();

  // The line for a state, without drawing it (tests).
  static std::string line(const std::string& what, uint64_t bytes, uint64_t total, uint64_t records,
                          double seconds, const std::string& unit = "records");
  static std::string list_line(const std::string& what, const ListTally& t, double seconds);

 private:
  bool due();  // enabled, and the interval since the last redraw has passed
  double seconds() const;
  void draw(const std::string& line);

  std::string what_, unit_ = "records";
  bool enabled_;
  std::FILE* out_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_, last_;
  bool drawn_ = false;
};

// Whether progress belongs on stderr: it is a terminal and the user did not ask for quiet.
bool progress_wanted(bool quiet);

}  // namespace stockade

// Phase timings ("12.3 ms" since the last lap), for -v and the server's logs.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace stockade {

class Stopwatch {
 public:
  Stopwatch() : last_(std::chrono::steady_clock::now()) {}
  std::string lap() {
    auto now = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(now - last_).count();
    last_ = now;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", ms);
    return buf;
  }

 private:
  std::chrono::steady_clock::time_point last_;
};

}  // namespace stockade

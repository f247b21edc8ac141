// The process's memory now and at its peak (Linux /proc/self/status) and its CPU time, for -v
// and the server's logs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/resource.h>

namespace stockade {

struct ProcessMemory {
  uint64_t resident_kib = 0, peak_kib = 0;  // VmRSS, VmHWM; 0 when unknown
};

inline ProcessMemory process_memory() {
  ProcessMemory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) m.resident_kib = std::strtoull(line + 6, nullptr, 10);
    if (std::strncmp(line, "VmHWM:", 6) == 0) m.peak_kib = std::strtoull(line + 6, nullptr, 10);
  }
  std::fclose(f);
  return m;
}

// "; 380 MB resident, peak 412 MB; cpu 2.10 s user, 0.40 s sys": the memory (when known) and
// the CPU time so far, to follow a phase's figures (on a shared machine CPU time is what a phase
// costs; wall time is also what the other processes take).
inline std::string resource_use_text() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  char cpu[96], mem[96];
  std::snprintf(cpu, sizeof cpu, "; cpu %.2f s user, %.2f s sys", secs(ru.ru_utime),
                secs(ru.ru_stime));
  const ProcessMemory m = process_memory();
  if (m.resident_kib == 0 && m.peak_kib == 0) return cpu;
  std::snprintf(mem, sizeof mem, "; %llu MB resident, peak %llu MB",
                static_cast<unsigned long long>(m.resident_kib / 1024),
                static_cast<unsigned long long>(m.peak_kib / 1024));
  return std::string(mem) + cpu;
}

}  // namespace stockade

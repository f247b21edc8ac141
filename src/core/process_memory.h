// The process's memory now and at its peak (Linux /proc/self/status), for -v and the server's
// logs.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

}  // namespace stockade

// The wall clock as nanoseconds since the Unix epoch: the unit of every timestamp in records,
// batches, the store and audit events.
#pragma once

#include <chrono>
#include <cstdint>

namespace stockade {

inline int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace stockade

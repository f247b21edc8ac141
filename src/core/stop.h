// The one cancellation type of the project: a flag that a signal handler, another thread or a
// server's request sets, and that long work polls (the flow readers, the agent, the API
// client's streams, the informers). Work that is stopped ends as if its input had ended, or
// returns; it never kills the process.
#pragma once

#include <atomic>

namespace stockade {

using StopFlag = std::atomic<bool>;

// A signal handler may set it: setting a lock-free atomic is async-signal-safe.
static_assert(StopFlag::is_always_lock_free);

// SIGINT and SIGTERM set `flag` from here on (one flag for the process: a later call replaces
// it). Without SA_RESTART, so that a blocked read returns and the reader sees the flag.
void stop_on_signals(StopFlag& flag);

}  // namespace stockade

// Files mapped into memory. When a mapped file shrinks while it is read (another process
// truncates it), touching its lost pages raises SIGBUS. While a mapping is registered here, a
// process-wide handler turns that into a one-line error naming the file and exit code 2
// instead of a crash. A SIGBUS anywhere else stays what it was.
#pragma once

#include <cstddef>
#include <string>

namespace stockade {

// Registers [p, p + len) as the mapping of `file` for its lifetime (up to 32 at once; more are
// not registered, and keep the default behaviour).
class MappedRegion {
 public:
  MappedRegion(const void* p, size_t len, const std::string& file);
  ~MappedRegion();
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

 private:
  int slot_ = -1;
};

}  // namespace stockade

namespace stockade {

// Opens `path` for reading (O_RDONLY | O_CLOEXEC). A FIFO is opened without blocking and then
// waited on for a writer: open(2) alone would block for ever when nothing writes to it. No
// writer within `fifo_timeout_s` seconds (STOCKADE_FIFO_TIMEOUT, in seconds, overrides it) is
// an error. Returns the descriptor, or -1 with `error` set (errno's text or the timeout).
int open_for_reading(const std::string& path, int fifo_timeout_s, std::string& error);

// Seconds `open_for_reading` waits for a FIFO's writer unless STOCKADE_FIFO_TIMEOUT says.
inline constexpr int kFifoWriterTimeoutS = 30;

}  // namespace stockade

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

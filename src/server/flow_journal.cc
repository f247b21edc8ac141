#include "server/flow_journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/read_text.h"

namespace stockade::server {

namespace {

constexpr char kMagic[4] = {'S', 'T', 'K', 'B'};
constexpr size_t kHeader = 12;
// A frame longer than this is damage, not a batch: the server refuses bodies far smaller.
constexpr uint32_t kMaxFrame = 1u << 30;

uint32_t checksum(std::string_view data) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  while (!data.empty()) {
    const uInt n = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

bool read_full(int fd, char* buf, size_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

bool write_full(int fd, const char* buf, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Walks the frames from the start; calls f for each valid one. Returns the offset where the
// valid frames end.
template <class F>
uint64_t walk(int fd, uint64_t size, uint64_t* frames, F&& f) {
  uint64_t off = 0;
  std::string body;
  while (off + kHeader <= size) {
    char h[kHeader];
    if (!read_full(fd, h, kHeader, off) || std::memcmp(h, kMagic, 4) != 0) break;
    const uint32_t len = get_u32(h + 4), crc = get_u32(h + 8);
    if (len > kMaxFrame || off + kHeader + len > size) break;
    body.resize(len);
    if (!read_full(fd, body.data(), len, off + kHeader) || checksum(body) != crc) break;
    f(std::string_view(body));
    off += kHeader + len;
    if (frames) ++*frames;
  }
  return off;
}

}  // namespace

FlowJournal::~FlowJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> FlowJournal::open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return make_error(path, 0, open_error(errno));
  struct stat st = {};
  if (::fstat(fd_, &st) != 0) return make_error(path, 0, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(path, 0, "not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  batches_ = 0;
  const uint64_t end = walk(fd_, size, &batches_, [](std::string_view) {});
  if (end < size) {
    // Never acknowledged: the answer to its request waits for the sync.
    if (::ftruncate(fd_, static_cast<off_t>(end)) != 0 || ::fdatasync(fd_) != 0)
      return make_error(path, 0,
                        std::string("cannot truncate a torn batch: ") + std::strerror(errno));
    torn_ = size - end;
  }
  size_ = end;
  before_last_ = end;
  if (::lseek(fd_, static_cast<off_t>(size_), SEEK_SET) < 0)
    return make_error(path, 0, std::strerror(errno));
  // The file's directory entry must survive a crash too.
  const std::string dir =
      path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/') + 1);
  if (int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return {};
}

Result<void> FlowJournal::append(std::string_view body) {
  return append_many({body});
}

Result<void> FlowJournal::append_many(const std::vector<std::string_view>& bodies) {
  if (fd_ < 0) return make_error(path_, 0, "journal not open");
  std::string frames;
  for (std::string_view body : bodies) {
    if (body.size() > kMaxFrame) return make_error(path_, 0, "batch too large for the journal");
    const size_t at = frames.size();
    frames.resize(at + kHeader);
    std::memcpy(frames.data() + at, kMagic, 4);
    put_u32(frames.data() + at + 4, static_cast<uint32_t>(body.size()));
    put_u32(frames.data() + at + 8, checksum(body));
    frames.append(body);
  }
  // One write and one sync for the whole group (group commit).
  if (!write_full(fd_, frames.data(), frames.size()) || ::fdatasync(fd_) != 0) {
    const int err = errno;
    // Nothing of a batch that failed may stay: a later open would replay it.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) == 0)
      (void)::lseek(fd_, static_cast<off_t>(size_), SEEK_SET);
    return make_error(path_, 0,
                      std::string("cannot write the flow journal: ") + std::strerror(err));
  }
  before_last_ = size_;
  last_count_ = bodies.size();
  size_ += frames.size();
  batches_ += bodies.size();
  return {};
}

Result<void> FlowJournal::drop_last() {
  if (fd_ < 0) return make_error(path_, 0, "journal not open");
  if (before_last_ >= size_) return make_error(path_, 0, "no batch to remove");
  if (::ftruncate(fd_, static_cast<off_t>(before_last_)) != 0 || ::fdatasync(fd_) != 0 ||
      ::lseek(fd_, static_cast<off_t>(before_last_), SEEK_SET) < 0)
    return make_error(
        path_, 0,
        std::string("cannot remove a batch from the flow journal: ") + std::strerror(errno));
  size_ = before_last_;
  batches_ -= last_count_;
  last_count_ = 0;
  return {};
}

Result<void> FlowJournal::replay(const std::function<void(std::string_view)>& f) const {
  if (fd_ < 0) return make_error(path_, 0, "journal not open");
  walk(fd_, size_, nullptr, f);
  return {};
}

}  // namespace stockade::server

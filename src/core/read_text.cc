#include "core/read_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stockade {

std::string open_error(int err) {
  if (err == ELOOP) return "a symbolic link loop (too many levels of symbolic links)";
  return std::strerror(err);
}

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? ErrorCode::NotFound : ErrorCode::Input, path, 0,
                      "cannot open: " + open_error(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(path, 0, "is a directory, expected a file");
  }
  std::string data;
  auto read =
      read_to_end(fd, path, max_bytes,
                  "larger than " + std::to_string(max_bytes >> 20) + " MiB: not read", data);
  ::close(fd);
  if (!read) return tl::unexpected(read.error());
  return data;
}

Result<void> read_to_end(int fd, const std::string& path, size_t max_bytes,
                         const std::string& too_large, std::string& data) {
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n == 0) return {};
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(path, 0, std::string("read error: ") + std::strerror(errno));
    }
    data.append(chunk, static_cast<size_t>(n));
    if (data.size() > max_bytes) return make_error(path, 0, too_large);
  }
}

}  // namespace stockade

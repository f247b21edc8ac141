#include "input/flow_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/mapped_file.h"
#include "input/byte_source.h"
#include "input/flow_pipeline.h"

// Reading a flow input: input/byte_source (the bytes, gzip or not), input/flow_pipeline
// (chunks of lines, parsed on several threads, records in input order), input/record_parser
// (a line into a record).

namespace stockade {

using input::ByteSource;
using input::Pipeline;

Result<void> read_flows(const std::string& path, const FlowReadOptions& options,
                        FlowReadStats& stats, const FlowSink& sink) {
  std::string name = path == "-" ? "<stdin>" : path;
  std::string why;
  int fd = path == "-" ? 0 : open_for_reading(path, kFifoWriterTimeoutS, why);
  if (fd < 0) return make_error(name, 0, "cannot open: " + why);
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) ::close(fd);
    }
  } closer{fd};
  Pipeline pipeline(name, options, stats, sink);
  // A regular file is read, not mapped: its text is copied into the chunks, whose pages are
  // the process's own and reused, where a mapping faults on every page of the file (in a
  // virtual machine, a trip out of the guest per 4 KiB: docs/notes/flows.md).
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  // What a regular file holds from where reading starts (stdin may be a file read partly).
  uint64_t expected = 0;
  if (regular) {
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at >= 0 && at < st.st_size) expected = static_cast<uint64_t>(st.st_size - at);
  }
  ByteSource source(fd, options.max_gzip_ratio);
  long failure = 0;
  int read_errno = 0;
  auto r = pipeline.run([&](char* dst, size_t max) -> long {
    long n = source.read(dst, max);
    if (n < 0) {
      failure = n;
      read_errno = errno;
    } else if (options.on_read) {
      options.on_read(source.consumed(), expected, stats.records, false);
    }
    return n;
  });
  if (options.on_read) options.on_read(source.consumed(), expected, stats.records, true);
  if (options.stop && *options.stop) return {};  // interrupted on purpose: what was read counts
  if (failure == -3)
    return make_error(name, 0, "truncated gzip file (unexpected end of compressed data)");
  if (failure == -2) return make_error(name, 0, "corrupt gzip data: " + source.error());
  if (failure == -4)
    return make_error(name, 0,
                      "gzip data inflates more than " + std::to_string(options.max_gzip_ratio) +
                          " times (" + std::to_string(source.inflated() >> 20) + " MiB from " +
                          std::to_string(source.consumed() >> 10) +
                          " KiB read): a decompression bomb? --max-gzip-ratio 0 reads it anyway");
  if (failure == -1)
    return make_error(name, 0, std::string("read error: ") + std::strerror(read_errno));
  // Another process cut the file short while it was read: what was read is not the file.
  if (r && source.consumed() < expected)
    return make_error(name, 0, "the file changed while it was read");
  return r;
}

Result<void> read_flows_text(std::string_view text, const std::string& name,
                             const FlowReadOptions& options, FlowReadStats& stats,
                             const FlowSink& sink) {
  Pipeline pipeline(name, options, stats, sink);
  size_t pos = 0;
  return pipeline.run([&](char* dst, size_t max) -> long {
    size_t n = std::min(max, text.size() - pos);
    std::memcpy(dst, text.data() + pos, n);
    pos += n;
    return static_cast<long>(n);
  });
}

}  // namespace stockade

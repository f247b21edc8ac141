// The bytes of a flow input: a file descriptor, inflated when it holds gzip.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace stockade::input {

// Bytes of a file descriptor, inflated when the stream starts with the gzip magic (several
// gzip members one after another too). read(2) returns whatever is available, so a live
// stream is parsed as it arrives and a signal loses nothing already read.
class ByteSource {
 public:
  // `max_ratio`: FlowReadOptions::max_gzip_ratio.
  ByteSource(int fd, uint32_t max_ratio);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // > 0 bytes, 0 at the end, -1 on a read error (errno set), -2 on corrupt gzip data,
  // -3 on gzip data cut short, -4 past FlowReadOptions::max_gzip_ratio (and past kGzipRatioFloor).
  long read(char* dst, size_t max);
  uint64_t inflated() const { return inflated_; }
  const std::string& error() const { return error_; }
  uint64_t consumed() const { return consumed_; }  // bytes read from the descriptor

 private:
  long fill();

  int fd_;
  uint32_t max_ratio_;
  uint64_t inflated_ = 0;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool started_ = false, gzip_ = false, member_done_ = true;
  uint64_t consumed_ = 0;
  z_stream z_{};
  std::string error_;
};

}  // namespace stockade::input

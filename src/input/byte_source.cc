#include "input/byte_source.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "input/flow_reader.h"

namespace stockade::input {

ByteSource::ByteSource(int fd, uint32_t max_ratio) : fd_(fd), max_ratio_(max_ratio), in_(1 << 20) {}

ByteSource::~ByteSource() {
  if (gzip_) inflateEnd(&z_);
}

long ByteSource::read(char* dst, size_t max) {
  if (!started_) {
    started_ = true;
    long n = fill();
    if (n < 0) return -1;
    gzip_ = in_len_ >= 2 && static_cast<uint8_t>(in_[0]) == 0x1f &&
            static_cast<uint8_t>(in_[1]) == 0x8b;
    if (gzip_ && inflateInit2(&z_, 15 + 32) != Z_OK) return -2;
  }
  if (!gzip_) {
    if (in_pos_ == in_len_) {  // plain text: straight into the caller's buffer
      ssize_t n = ::read(fd_, dst, max);
      if (n > 0) consumed_ += static_cast<uint64_t>(n);
      return n < 0 ? -1 : static_cast<long>(n);
    }
    size_t n = std::min(max, in_len_ - in_pos_);
    std::memcpy(dst, in_.data() + in_pos_, n);
    in_pos_ += n;
    return static_cast<long>(n);
  }
  for (;;) {
    if (in_pos_ == in_len_) {
      long n = fill();
      if (n < 0) return -1;
      if (n == 0) return member_done_ ? 0 : -3;
    }
    if (member_done_) {  // another gzip member follows
      inflateReset(&z_);
      member_done_ = false;
    }
    z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
    z_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
    z_.next_out = reinterpret_cast<Bytef*>(dst);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(max, 1u << 30));
    int rc = inflate(&z_, Z_NO_FLUSH);
    in_pos_ = in_len_ - z_.avail_in;
    long produced = static_cast<long>(std::min<size_t>(max, 1u << 30) - z_.avail_out);
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error_ = z_.msg ? z_.msg : "corrupt data";
      return -2;
    }
    if (produced > 0) {
      inflated_ += static_cast<uint64_t>(produced);
      if (max_ratio_ && inflated_ > kGzipRatioFloor && inflated_ / max_ratio_ > consumed_)
        return -4;
      return produced;
    }
  }
}

long ByteSource::fill() {
  in_pos_ = in_len_ = 0;
  for (;;) {
    ssize_t n = ::read(fd_, in_.data(), in_.size());
    if (n >= 0) {
      in_len_ = static_cast<size_t>(n);
      consumed_ += static_cast<uint64_t>(n);
      return n;
    }
    if (errno != EINTR) return -1;
    return -1;  // interrupted: the caller decides (a stop request ends the input)
  }
}

}  // namespace stockade::input

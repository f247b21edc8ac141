// Error type shared by every module: a message that names the input and position.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace stockade {

struct Error {
  std::string file;  // empty when no file is involved
  int line = 0;      // 1-based; 0 when unknown
  std::string message;

  // "FILE:LINE: message", "FILE: message" or "message".
  std::string str() const;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> make_error(std::string file, int line, std::string message) {
  return tl::unexpected<Error>(Error{std::move(file), line, std::move(message)});
}
inline tl::unexpected<Error> make_error(std::string message) {
  return tl::unexpected<Error>(Error{{}, 0, std::move(message)});
}

}  // namespace stockade

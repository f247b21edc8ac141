// Error type shared by every module: a message that names the input and position, and a code
// that says whose fault it is (what a server maps to an HTTP status).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace stockade {

// What kind of failure an Error is. The command line prints the message and exits 2 for all but
// Internal; a server answers with the status next to each.
enum class ErrorCode {
  Input,        // the input is malformed or refused (400/422); the default
  Usage,        // the request itself is wrong: flags, options, arguments (400)
  NotFound,     // a file, object or endpoint that was named does not exist (404)
  Conflict,     // the request collides with the current state: field ownership (409)
  Unavailable,  // a cluster, a server or a device did not answer or refused (503)
  Forbidden,    // the credentials in use may not do this: a cluster's 401/403 (403)
  Internal,     // a bug in stockade (500)
};

std::string_view to_string(ErrorCode c);

struct Error {
  std::string file;  // empty when no file is involved
  int line = 0;      // 1-based; 0 when unknown
  std::string message;
  ErrorCode code = ErrorCode::Input;

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
inline tl::unexpected<Error> make_error(ErrorCode code, std::string file, int line,
                                        std::string message) {
  return tl::unexpected<Error>(Error{std::move(file), line, std::move(message), code});
}
inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{{}, 0, std::move(message), code});
}

// The code for an HTTP answer that is not a success (a Kubernetes API server's, a collector's).
ErrorCode error_code_for_status(long status);

}  // namespace stockade

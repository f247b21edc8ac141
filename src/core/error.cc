#include "core/error.h"

namespace stockade {

std::string Error::str() const {
  if (file.empty()) return message;
  if (line > 0) return file + ":" + std::to_string(line) + ": " + message;
  return file + ": " + message;
}

std::string_view to_string(ErrorCode c) {
  switch (c) {
    case ErrorCode::Input:
      return "input";
    case ErrorCode::Usage:
      return "usage";
    case ErrorCode::NotFound:
      return "not-found";
    case ErrorCode::Conflict:
      return "conflict";
    case ErrorCode::Unavailable:
      return "unavailable";
    case ErrorCode::Forbidden:
      return "forbidden";
    case ErrorCode::Internal:
      return "internal";
  }
  return "internal";
}

ErrorCode error_code_for_status(long status) {
  if (status == 404 || status == 410) return ErrorCode::NotFound;
  if (status == 409) return ErrorCode::Conflict;
  if (status == 400 || status == 422) return ErrorCode::Input;
  // 401/403: the credentials do not reach the data (a server acting for a user answers 403);
  // 429 and 5xx: the server cannot answer now.
  if (status == 401 || status == 403) return ErrorCode::Forbidden;
  return ErrorCode::Unavailable;
}

}  // namespace stockade

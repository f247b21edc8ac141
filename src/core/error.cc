#include "core/error.h"

namespace stockade {

std::string Error::str() const {
  if (file.empty()) return message;
  if (line > 0) return file + ":" + std::to_string(line) + ": " + message;
  return file + ": " + message;
}

}  // namespace stockade

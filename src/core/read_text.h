// Reading a whole small file named on the command line (--accept, a kubeconfig): every
// failure is an error that says why, never an empty text.
#pragma once

#include <string>

#include "core/error.h"

namespace stockade {

// Why `path` cannot be opened, from errno: strerror's words, and "a symbolic link loop" for
// ELOOP (whose strerror text does not say loop).
std::string open_error(int err);

// The file's bytes; an error naming `path` when it cannot be opened (no such file, a symlink
// loop, permission), is a directory, cannot be read to its end, or is larger than
// `max_bytes`.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes = 64u << 20);

// Appends what is left to read from `fd` (not closed) to `data`, retrying interrupted reads;
// an error naming `path` on a read error, or `too_large` once `data` holds more than
// `max_bytes`.
Result<void> read_to_end(int fd, const std::string& path, size_t max_bytes,
                         const std::string& too_large, std::string& data);

}  // namespace stockade

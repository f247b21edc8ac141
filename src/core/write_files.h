// Writing a set of files all or nothing: each under a temporary name next to its destination,
// renamed into place only once all are written, so a full disk or an unwritable name leaves the
// destinations as they were, never half a set.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

namespace stockade {

struct FileText {
  std::filesystem::path path;
  const std::string* text = nullptr;
};

// The error names the file ("cannot write PATH: reason"). A destination that is a directory is
// refused before any rename. When a rename fails, the files already renamed stay (each whole).
Result<void> write_files(const std::vector<FileText>& files);

}  // namespace stockade

#include "core/write_files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

namespace stockade {

namespace {

// Writes `text` to a new file `tmp` (never an existing one); 0, or the errno.
int write_new(const std::filesystem::path& tmp, const std::string& text, bool& created) {
  std::FILE* f = std::fopen(tmp.c_str(), "wbx");
  if (!f) return errno;
  created = true;
  errno = 0;
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  int err = errno;
  if (std::fclose(f) != 0 && ok) ok = false, err = errno;
  return ok ? 0 : (err ? err : EIO);
}

}  // namespace

Result<void> write_files(const std::vector<FileText>& files) {
  std::vector<std::filesystem::path> staged;
  auto fail = [&](const std::filesystem::path& p, int err) {
    std::error_code ignored;
    for (const auto& t : staged) std::filesystem::remove(t, ignored);
    return make_error("cannot write " + p.string() + ": " + std::strerror(err));
  };
  for (const FileText& f : files) {
    std::filesystem::path tmp = f.path;
    tmp += ".stockade-tmp-" + std::to_string(::getpid());
    bool created = false;
    int err = write_new(tmp, *f.text, created);
    if (created) staged.push_back(tmp);
    if (err) return fail(f.path, err);
  }
  // rename(2) would replace a file but not a directory: look for one before renaming any.
  for (const FileText& f : files) {
    std::error_code ec;
    if (std::filesystem::is_directory(std::filesystem::symlink_status(f.path, ec)))
      return fail(f.path, EISDIR);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    std::filesystem::rename(staged[i], files[i].path, ec);
    if (ec) {
      staged.erase(staged.begin(), staged.begin() + long(i));
      return fail(files[i].path, ec.value());
    }
  }
  return {};
}

}  // namespace stockade

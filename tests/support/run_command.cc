#include "support/run_command.h"

#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "support/test_files.h"

namespace stockade::test {

CommandOutput run_command(const std::string& cmd) {
  CommandOutput r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  r.status = pclose(p);
  return r;
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

ProgramRun run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::filesystem::path& dir) {
  ProgramRun r;
  std::string tmpl = (std::filesystem::temp_directory_path() / "stockade-run-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return r;
  const std::filesystem::path tmp = tmpl;
  std::string cmd = "cd " + quote(dir.string()) + " && " + quote(program);
  for (const std::string& a : args) cmd += " " + quote(a);
  cmd += " </dev/null >" + quote((tmp / "out").string()) + " 2>" + quote((tmp / "err").string());
  const int status = std::system(cmd.c_str());
  if (status != -1 && WIFEXITED(status)) r.code = WEXITSTATUS(status);
  r.out = slurp(tmp / "out");
  r.err = slurp(tmp / "err");
  std::error_code ec;
  std::filesystem::remove_all(tmp, ec);
  return r;
}

}  // namespace stockade::test

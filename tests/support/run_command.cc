#include "support/run_command.h"

#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
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

ProgramRun run_program_on_terminal(const std::string& program, const std::vector<std::string>& args,
                                   const std::filesystem::path& dir) {
  ProgramRun r;
  std::string tmpl = (std::filesystem::temp_directory_path() / "stockade-run-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return r;
  const std::filesystem::path out = std::filesystem::path(tmpl) / "out";
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return r;
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    int in = ::open("/dev/null", O_RDONLY);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(slave, 2);
    ::close(master);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(slave);
  if (pid > 0) {
    char buf[4096];
    for (;;) {  // EIO once the child (and any child of its) has closed its side
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0)
        r.err.append(buf, static_cast<size_t>(n));
      else if (n < 0 && errno == EINTR)
        continue;
      else
        break;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) r.code = WEXITSTATUS(status);
  }
  ::close(master);
  r.out = slurp(out);
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return r;
}

}  // namespace stockade::test

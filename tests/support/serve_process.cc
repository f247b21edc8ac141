#include "support/serve_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <thread>

namespace stockade::test {

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

ServeProcess::ServeProcess(const std::vector<std::string>& args,
                           const std::filesystem::path& log_file, const std::filesystem::path& cwd)
    : log(log_file) {
  pid = ::fork();
  if (pid == 0) {
    FILE* f = std::freopen(log_file.c_str(), "a", stderr);
    (void)f;
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> argv;
    static std::string bin = STOCKADE_BINARY, serve = "serve";
    argv.push_back(bin.data());
    argv.push_back(serve.data());
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  const std::regex listening(R"re("address":"127\.0\.0\.1:(\d+)".*"msg":"listening")re");
  for (int i = 0; i < 600 && port == 0; ++i) {  // up to 30 s on a loaded machine
    std::smatch m;
    const std::string text = slurp(log);
    if (std::regex_search(text, m, listening)) port = std::stoi(m[1]);
    int status = 0;
    if (port == 0 && ::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

int ServeProcess::kill(int sig) {
  if (pid <= 0) return -1;
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
  return status;
}

}  // namespace stockade::test

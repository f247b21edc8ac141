// `stockade serve` as a child process for tests: its log (stderr) in a file, its port read from
// the log's "listening" line (start it with --listen 127.0.0.1:0).
#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace stockade::test {

struct ServeProcess {
  pid_t pid = -1;
  int port = 0;  // 0: it did not start (the log says why)
  std::filesystem::path log;

  // `args` after `stockade serve`; `cwd`, when given, is the child's working directory.
  ServeProcess(const std::vector<std::string>& args, const std::filesystem::path& log_file,
               const std::filesystem::path& cwd = {});
  ~ServeProcess() { kill(9); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Sends a signal and waits; returns the wait status (-1 when it is not running).
  int kill(int sig);

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(5, 0);  // a port bound but not listening would hang 300 s
    c.set_read_timeout(60, 0);
    return c;
  }
};

}  // namespace stockade::test

// Runs a shell command and collects what it prints, for tests that run the program.
#pragma once

#include <string>

namespace stockade::test {

struct CommandOutput {
  std::string out;  // its standard output (and what the command line sends there)
  int status = -1;  // the wait status (0: exited with 0)
};

CommandOutput run_command(const std::string& cmd);

}  // namespace stockade::test

// Runs a shell command and collects what it prints, for tests that run the program.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace stockade::test {

struct CommandOutput {
  std::string out;  // its standard output (and what the command line sends there)
  int status = -1;  // the wait status (0: exited with 0)
};

CommandOutput run_command(const std::string& cmd);

// A program run with its arguments as they are (no shell words), in `dir`, stdin empty: its exit
// code (-1 when it did not exit), standard output and standard error apart.
struct ProgramRun {
  int code = -1;
  std::string out, err;
};
ProgramRun run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::filesystem::path& dir);

// As run_program, with standard error a pseudo-terminal (openpty): `err` is what the program
// drew on it, control characters and all. Programs that draw progress only on a terminal
// (core/progress.h) draw it there.
ProgramRun run_program_on_terminal(const std::string& program, const std::vector<std::string>& args,
                                   const std::filesystem::path& dir);

}  // namespace stockade::test

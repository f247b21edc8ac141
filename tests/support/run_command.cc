#include "support/run_command.h"

#include <array>
#include <cstdio>

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

}  // namespace stockade::test

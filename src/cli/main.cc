// stockade: Kubernetes-native zero-trust network security.
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/version.h"

namespace {

// Out of memory anywhere (any thread, nothrow allocations included: both call the new
// handler, and simdjson's buffers are nothrow) is one line and exit 2, never a crash on a null
// buffer nor std::terminate on a worker thread. Nothing here allocates.
[[noreturn]] void out_of_memory() {
  static constexpr char kMessage[] =
      "stockade: error: out of memory (the input is too large for the memory available)\n";
  ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)n;
  ::_exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stockade::cli;
  std::set_new_handler(out_of_memory);
  CLI::App app{"stockade: see who can talk to whom in a Kubernetes cluster, and why"};
  app.name("stockade");
  app.require_subcommand(1);
  app.set_version_flag("--version", "stockade " + std::string(stockade::kVersion));
  // Every command, in the order `--help` lists them.
  const std::vector<std::pair<std::string, Runner>> commands = {
      {"reach", register_reach(app)},   {"explain", register_explain(app)},
      {"diff", register_diff(app)},     {"map", register_map(app)},
      {"verify", register_verify(app)}, {"recommend", register_recommend(app)},
      {"detect", register_detect(app)}, {"scan", register_scan(app)},
      {"apply", register_apply(app)},   {"agent", register_agent(app)},
      {"serve", register_serve(app)},   {"guardrails", register_guardrails(app)},
  };
  auto known = [&](const std::string& name) {
    for (const auto& [n, r] : commands)
      if (n == name) return true;
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !known(argv[1])) {
    std::string names;
    for (const auto& [n, r] : commands) names += (names.empty() ? "" : ", ") + n;
    print_error(std::string("unknown command \"") + argv[1] + "\" (commands: " + names +
                "; see stockade --help)");
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --help-all, --version: printed by exit()
    return close_stdout(app.exit(e));
  } catch (const CLI::ParseError& e) {
    // argv[1] is a command (checked above) or a flag of stockade itself.
    std::string unknown =
        argc > 1 && known(argv[1])
            ? unknown_flag_message(*app.get_subcommand(argv[1]),
                                   std::vector<std::string>(argv + 2, argv + argc))
            : std::string();
    print_error(unknown.empty() ? std::string(e.what()) : unknown);
    return kExitUsage;
  }
  try {
    CLI::App* cmd = app.get_subcommands().front();
    for (const auto& [n, r] : commands)
      if (cmd->get_name() == n) return close_stdout(r());
    print_error("unknown command");
    return kExitUsage;
  } catch (const EndCommand& e) {
    return close_stdout(e.code);
  } catch (const UsageError& e) {
    print_error(e.message);
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return kExitUsage;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return kExitInternal;
  }
}

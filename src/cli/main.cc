// stockade: Kubernetes-native zero-trust network security.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"

int main(int argc, char** argv) {
  using namespace stockade::cli;
  CLI::App app{"stockade: see who can talk to whom in a Kubernetes cluster, and why"};
  app.name("stockade");
  app.require_subcommand(1);
  app.set_version_flag("--version", "stockade 0.1.0");
  Runner reach = register_reach(app);
  Runner explain = register_explain(app);
  Runner diff = register_diff(app);
  Runner map = register_map(app);
  Runner scan = register_scan(app);
  if (argc > 1 && argv[1][0] != '-' && std::string(argv[1]) != "reach" &&
      std::string(argv[1]) != "explain" && std::string(argv[1]) != "diff" &&
      std::string(argv[1]) != "map" && std::string(argv[1]) != "scan") {
    print_error(std::string("unknown command \"") + argv[1] +
                "\" (commands: reach, explain, diff, map, scan; see stockade --help)");
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(e.what());
    return kExitUsage;
  }
  try {
    CLI::App* cmd = app.get_subcommands().front();
    if (cmd->get_name() == "reach") return reach();
    if (cmd->get_name() == "explain") return explain();
    if (cmd->get_name() == "diff") return diff();
    if (cmd->get_name() == "map") return map();
    if (cmd->get_name() == "scan") return scan();
    print_error("unknown command");
    return kExitUsage;
  } catch (const UsageError& e) {
    print_error(e.message);
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return kExitUsage;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return 3;
  }
}

// One function per subcommand: registers its flags and returns the code that runs it.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace stockade::cli {

using Runner = std::function<int()>;

Runner register_reach(CLI::App& app);
Runner register_explain(CLI::App& app);
Runner register_diff(CLI::App& app);
Runner register_map(CLI::App& app);
Runner register_apply(CLI::App& app);
Runner register_agent(CLI::App& app);
Runner register_verify(CLI::App& app);
Runner register_recommend(CLI::App& app);
Runner register_scan(CLI::App& app);
Runner register_serve(CLI::App& app);
Runner register_guardrails(CLI::App& app);
Runner register_detect(CLI::App& app);

}  // namespace stockade::cli

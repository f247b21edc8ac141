// Agent events from a file or standard input instead of the kernel (AgentOptions::events):
// replays, and tests on machines where eBPF cannot load. Read line by line as it arrives (a pipe
// feeding a running agent), each line through the flow reader that `map` uses for agent events.
#pragma once

#include <string>

#include "agent/agent.h"

namespace stockade::agent {

// The source for AgentOptions::events reading `path` ("-": standard input). A line that is not
// an agent event (a Hubble flow, malformed JSON) is an error naming the file and line.
EventSource events_from_file(const std::string& path);

}  // namespace stockade::agent

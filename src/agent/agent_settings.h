// What `stockade agent` is told, as numbers and text (its flags; a DaemonSet's arguments), checked
// and turned into AgentOptions. Errors are ErrorCode::Usage and name the setting as a flag
// ("--ring-size: ..."). How pods are named, the stop flag and the log are the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "core/error.h"
#include "core/settings.h"

namespace stockade::agent {

struct AgentSettings {
  std::string output = "-";
  std::string server;  // an http:// or https:// URL
  std::string spool;
  std::string server_token_file;
  std::string server_ca;     // PEM CA file for an https:// server; empty: the system's
  double batch_window = 10;  // seconds, 1 to 300
  std::string events;        // agent events from this file (- stdin) instead of the kernel
  double duration = 0;       // seconds; 0: until stopped
  std::string node;          // empty: this host's name
  double udp_interval = 10;  // seconds, more than 0
  uint32_t ring_size = 8u << 20;
};

Result<AgentOptions> agent_options(const AgentSettings& s);

// The settings (core/settings.h) as `stockade agent` takes them, in three groups in the order its
// --help lists them: where the events go (--output … --batch-window), what is watched
// (--events, --duration, --node) and the kernel probe's (--udp-interval, --ring-size).
std::vector<Setting> delivery_settings(AgentSettings& s);
std::vector<Setting> watch_settings(AgentSettings& s);
std::vector<Setting> probe_settings(AgentSettings& s);

}  // namespace stockade::agent

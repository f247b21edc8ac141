// `stockade serve` put together: the objects' source (files polled for changes and SIGHUP, or a
// live cluster's informers), the store and the live audit, the journals, the engine snapshots
// and their rebuilds, the Hubble Relay follower, the cluster's token and access reviews, apply
// as the requesting user, and the HTTP server; runs until SIGINT or SIGTERM. The command line
// parses and checks the flags into ServeConfig (src/cli/serve_cmd.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "input/hubble_relay.h"
#include "input/loader.h"
#include "kube/client.h"
#include "server/http.h"
#include "server/state.h"

namespace stockade::server {

struct ServeConfig {
  // The objects: these files and directories, or (when set) the cluster this client reaches.
  std::vector<std::string> files;
  LoadOptions load;
  std::unique_ptr<kube::Client> cluster;
  std::string store;         // sqlite:PATH or postgres://…
  std::string journal_path;  // the flow journal; agent batches go to PATH.batches
  int64_t baseline_quiet_ns = int64_t{24} * 3600 * 1000000000;
  StateOptions state;
  // Listening address, token, TLS, limits, admission mode, agent interval; `access`, `apply`
  // and `relay` are set by serve() itself.
  HttpOptions http;
  input::RelayOptions relay;  // address empty: no Hubble Relay
  // One line of structured log (JSON) at a time; null: none.
  std::function<void(const std::string&)> log;
};

// Runs the server until SIGINT or SIGTERM (blocked in every thread; taken by one). Errors:
// what prevents starting (the journal, the store, the objects, the address), one line.
Result<void> serve(ServeConfig config);

}  // namespace stockade::server

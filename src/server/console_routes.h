// The console's own read endpoints, beside the contract's routes in http.cc: GET
// /api/v1/events (server-sent events, src/server/events.h) and GET /api/v1/posture (the scan,
// src/server/posture_view.h). http.cc registers them with add() and tells them about writes.
#pragma once

#include <httplib.h>

#include <string>

#include "server/events.h"
#include "server/posture_view.h"
#include "server/state.h"

namespace stockade::server {

class ConsoleRoutes {
 public:
  // `threads`: the server's worker threads; event streams may hold at most half of them.
  ConsoleRoutes(ServerState& state, size_t threads);
  void add(httplib::Server& s);
  // A POST to `path` was answered 2xx: when it is a write (not a simulation or an admission
  // review, which change nothing), open event streams say so now.
  void changed(const std::string& path) {
    if (path != "/api/v1/simulate" && path != "/admission/validate") events_.poke();
  }
  // The server is stopping: event streams end.
  void stop() { events_.stop(); }

 private:
  void get_posture(const httplib::Request& req, httplib::Response& res);

  ServerState& state_;
  EventStreams events_;
  PostureView posture_;
};

}  // namespace stockade::server

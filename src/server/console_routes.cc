#include "server/console_routes.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace stockade::server {

namespace {

EventStreams::Options stream_options(size_t threads) {
  EventStreams::Options o;
  // Half the worker threads, at most the default (4): the threads beyond are for agents'
  // batches written together (group commit), not for more open streams.
  o.max_streams = std::clamp<size_t>(threads / 2, 1, o.max_streams);
  return o;
}

}  // namespace

ConsoleRoutes::ConsoleRoutes(ServerState& state, size_t threads)
    : state_(state), events_(state, stream_options(threads)) {}

void ConsoleRoutes::add(httplib::Server& s) {
  s.Get("/api/v1/events",
        [this](const httplib::Request& req, httplib::Response& res) { events_.handle(req, res); });
  s.Get("/api/v1/posture",
        [this](const httplib::Request& req, httplib::Response& res) { get_posture(req, res); });
}

void ConsoleRoutes::get_posture(const httplib::Request&, httplib::Response& res) {
  auto error = [&](int status, const std::string& message) {
    res.status = status;
    res.set_content(nlohmann::json{{"error", message}}.dump() + "\n", "application/json");
  };
  auto snap = state_.snapshot();
  if (!snap) return error(503, "not ready: the cluster objects are not loaded yet");
  auto body = posture_.json(*snap);
  if (!body) return error(503, body.error().str());
  res.set_content(**body, "application/json");
}

}  // namespace stockade::server

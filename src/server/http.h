// The HTTP interface of `stockade serve` (the contract is in docs/cli.md): health, metrics,
// flow ingestion and the map, with bearer-token authentication, request size and time limits
// and one JSON log line per request. Built on cpp-httplib (Debian's libcpp-httplib-dev), with
// TLS through its OpenSSL support.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "detect/detect.h"
#include "input/hubble_relay.h"
#include "server/admission.h"
#include "server/state.h"

namespace stockade::server {

// What a request may do, as the cluster says (TokenReview and SubjectAccessReview): 200 with
// the user's name, or the status to answer (401, 403, 503) and why.
struct AccessDecision {
  int status = 200;
  std::string user;
  std::string message;
  std::string uid;  // as TokenReview gave them: who an apply acts as
  std::vector<std::string> groups;
};

// Who asked for an apply: the user the cluster authenticated (empty without a cluster's
// reviews: a --token-file holder or the local user).
struct Requester {
  std::string user, uid;
  std::vector<std::string> groups;
};
// An answer the caller composed: a status and its JSON body.
struct JsonAnswer {
  int status = 200;
  std::string body;
};
// POST /api/v1/apply: the body's policies applied (dry_run: dryRun=All only), as `requester`.
using ApplyHandler = std::function<JsonAnswer(const std::string& body, bool dry_run,
                                              bool force_conflicts, const Requester& requester)>;
// The verb and resource (group stockade.io) a request asks for: ("get", "map"),
// ("create", "flows"), ("create", "agentbatches"), ("update", "baselines"), ("get", "console").
std::pair<std::string, std::string> access_attributes(std::string_view method,
                                                      std::string_view path);

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 7080;  // 0: any free port (tests)
  // Every /api/ and console request must carry `Authorization: Bearer <token>` when set.
  std::string token;
  // In a cluster (instead of `token`): every /api/ and console request's bearer token and
  // action are checked by this (src/kube/access_review.h).
  std::function<AccessDecision(const std::string& token, const std::string& verb,
                               const std::string& resource)>
      access;
  std::string tls_cert, tls_key;  // both or neither: HTTPS
  size_t max_body = 32u << 20;    // after decompression; larger requests get 413
  int read_timeout_s = 30;        // a client that stops sending is cut off
  int write_timeout_s = 30;
  // Requests served at once (one thread each, cpp-httplib): agent batches that arrive together
  // are written together (group commit), so the group can be as large as this allows.
  size_t threads = 64;
  // The window agents are told to use (next_interval_ms), and how many agent batches may be
  // taken in at once before the next gets 429 with Retry-After (back-pressure).
  int64_t agent_interval_ms = 10000;
  // POST /admission/validate (server/admission.h).
  AdmissionOptions admission;
  // GET /api/v1/recommendations: a learning window shorter than this is low confidence (as
  // `stockade recommend --min-window`).
  int64_t min_window_ns = int64_t{24} * 3600 * 1000000000;
  size_t max_agent_batches_in_flight = 48;  // the other threads stay for reads
  // Receives one JSON object per line (requests, errors); null: no logs.
  std::function<void(const std::string&)> log;
  // POST /api/v1/apply in a cluster (null: the objects come from files, nothing to apply to).
  ApplyHandler apply;
  // The threat detectors fed by the flows and agent batches taken in (server/detect_feed.h).
  detect::Thresholds detect;
  // The Hubble Relay follower's counters, for /metrics (null: none is followed).
  std::function<input::RelayCounters()> relay;
};

class HttpServer {
 public:
  HttpServer(ServerState& state, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port (the chosen one when options.port is 0).
  Result<int> bind();
  // Flow records taken in elsewhere (the Hubble Relay follower), after they are kept: fed to
  // the threat detectors as POST /api/v1/flows bodies are.
  void detect_records(std::string_view body);
  // Serves until stop() (from another thread or a signal thread); requests in flight finish.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The Prometheus text exposition of the server's counters (GET /metrics).
std::string render_metrics(const ServerState::Counters& c, bool ready,
                           const std::vector<std::pair<int, uint64_t>>& responses,
                           const input::RelayCounters* relay = nullptr);

// Now as the "time" of a log line: RFC 3339 UTC with milliseconds.
std::string log_time_now();

// Constant-time comparison of a presented bearer token with the expected one.
bool token_matches(std::string_view presented, std::string_view expected);

}  // namespace stockade::server

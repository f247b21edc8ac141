#include "server/http.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/wall_clock.h"
#include "map/map_view.h"
#include "model/duration.h"
#include "model/flow.h"
#include "server/console_html.h"
#include "server/console_routes.h"
#include "server/detect_feed.h"
#include "server/openapi.h"
#include "server/shadow.h"
#include "store/store.h"

namespace stockade::server {

namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point t_request_start;
thread_local size_t t_body_bytes = 0;  // read through a ContentReader: not in req.body
thread_local std::string t_user;       // who the cluster says is asking (empty: no cluster)
thread_local Requester t_requester;    // the same with the uid and groups (apply acts as them)

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump() + "\n";
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(error_body(message), "application/json");
}

// cpp-httplib compresses with brotli at its highest quality when the client accepts it, as
// every browser does: about a second of CPU for the console page and seconds per MB of map
// JSON (docs/notes/console.md). Without "br" in the request's Accept-Encoding it uses gzip.
// Whether the request's Accept-Encoding takes gzip (not "gzip;q=0").
bool accepts_gzip(const httplib::Request& req) {
  const std::string& v = req.get_header_value("Accept-Encoding");
  for (size_t start = 0; start < v.size();) {
    size_t end = std::min(v.find(',', start), v.size());
    std::string token = v.substr(start, end - start);
    token.erase(std::remove(token.begin(), token.end(), ' '), token.end());
    start = end + 1;
    const size_t semi = token.find(';');
    const std::string coding = token.substr(0, semi);
    if (coding != "gzip" && coding != "x-gzip" && coding != "*") continue;
    if (semi == std::string::npos) return true;
    const std::string params = token.substr(semi + 1);
    if (params.rfind("q=", 0) != 0) return true;
    return std::strtod(params.c_str() + 2, nullptr) > 0;
  }
  return false;
}

void drop_brotli(httplib::Request& req) {
  auto it = req.headers.find("Accept-Encoding");
  if (it == req.headers.end() || it->second.find("br") == std::string::npos) return;
  std::string kept;
  for (size_t start = 0; start <= it->second.size();) {
    size_t end = std::min(it->second.find(',', start), it->second.size());
    std::string token = it->second.substr(start, end - start);
    token.erase(0, token.find_first_not_of(' '));
    if (token.rfind("br", 0) != 0 && !token.empty()) kept += (kept.empty() ? "" : ", ") + token;
    start = end + 1;
  }
  it->second = kept;
}

}  // namespace

std::string log_time_now() {
  const auto t = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm = {};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::pair<std::string, std::string> access_attributes(std::string_view method,
                                                      std::string_view path) {
  constexpr std::string_view kApi = "/api/v1/";
  if (path.substr(0, kApi.size()) != kApi) return {"get", "console"};
  std::string_view rest = path.substr(kApi.size());
  std::string resource(rest.substr(0, rest.find('/')));
  if (resource == "agent") resource = "agentbatches";
  if (resource == "openapi.json") resource = "openapi";
  std::string verb = method == "GET" || method == "HEAD" ? "get"
                     : method == "DELETE"                ? "delete"
                                                         : "create";
  if (resource == "baselines" && method == "POST") verb = "update";
  return {verb, resource};
}

bool token_matches(std::string_view presented, std::string_view expected) {
  // Every byte of the expected token is compared whatever the presented one holds, so the time
  // taken says nothing about how much of it was right.
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < presented.size() ? presented[i] : 0);
  return diff == 0 && !expected.empty();
}

std::string render_metrics(const ServerState::Counters& c, bool ready,
                           const std::vector<std::pair<int, uint64_t>>& responses,
                           const input::RelayCounters* relay) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + nlohmann::json(value).dump() + "\n";
  };
  metric("stockade_ready", "gauge", "1 when the cluster objects are loaded and the store is open.",
         ready ? 1 : 0);
  metric("stockade_flow_records_total", "counter",
         "Flow records the store holds (taken in by any replica sharing it).", c.records);
  metric("stockade_flow_malformed_lines_total", "counter",
         "Lines of flow request bodies that are no flow record (skipped).", c.malformed);
  metric("stockade_flow_batches", "gauge", "Batches of flow records held in the journal.",
         c.batches);
  metric("stockade_journal_bytes", "gauge", "Size of the flow journal on disk.", c.journal_bytes);
  metric("stockade_agent_batches_total", "counter",
         "Node agents' batches taken in (stored, audited).", c.agent_batches);
  metric("stockade_agent_batch_replays_total", "counter",
         "Agent batches received again after they were stored (acknowledged, not counted).",
         c.agent_replays);
  metric("stockade_agent_edges_total", "counter", "Edges of the agents' batches taken in.",
         c.agent_edges);
  metric("stockade_map_edges", "gauge", "Workload-level edges of the observed traffic.", c.edges);
  metric("stockade_map_renders_total", "counter",
         "Map answers rendered (once per data version, granularity and form).", c.map_renders);
  metric("stockade_engine_generation", "gauge", "Snapshots of the cluster objects built so far.",
         c.generation);
  metric("stockade_engine_rebuilds_total", "counter",
         "Snapshots built (objects loaded, policies compiled, traffic re-aggregated).", c.rebuilds);
  metric("stockade_engine_rebuild_failures_total", "counter",
         "Rebuilds that failed (the previous snapshot stayed in use).", c.rebuild_failures);
  metric("stockade_engine_rebuild_seconds", "gauge", "Duration of the last successful rebuild.",
         c.last_rebuild_seconds);
  if (c.store_bytes)
    metric("stockade_store_size_bytes", "gauge", "Size of the store's database.", *c.store_bytes);
  if (c.audit) {
    const auto& a = *c.audit;
    metric("stockade_audit_edges_total", "counter",
           "Pod-level edges of accepted batches, classified by the live audit.", a.edges);
    metric("stockade_audit_known_edges", "gauge", "Distinct pod-level edges the store holds.",
           a.known_edges);
    out +=
        "# HELP stockade_audit_verdicts_total Classified edges by the verdict of the policies "
        "in force.\n# TYPE stockade_audit_verdicts_total counter\n";
    out += "stockade_audit_verdicts_total{verdict=\"allowed\"} " + std::to_string(a.allowed) + "\n";
    out += "stockade_audit_verdicts_total{verdict=\"denied\"} " + std::to_string(a.denied) + "\n";
    out +=
        "# HELP stockade_audit_events_total Audit events written, by kind.\n"
        "# TYPE stockade_audit_events_total counter\n";
    out += "stockade_audit_events_total{kind=\"denied\"} " + std::to_string(a.denied) + "\n";
    out += "stockade_audit_events_total{kind=\"outside-baseline\"} " +
           std::to_string(a.outside_baseline) + "\n";
    out +=
        "# HELP stockade_baselines Namespace baselines by state.\n"
        "# TYPE stockade_baselines gauge\n";
    const char* states[] = {"learning", "stable", "locked"};
    for (int i = 0; i < 3; ++i)
      out += std::string("stockade_baselines{state=\"") + states[i] + "\"} " +
             std::to_string(a.baselines[i]) + "\n";
  }
  if (relay) {
    metric("stockade_hubble_relay_connected", "gauge",
           "1 while the Hubble Relay's flow stream is open.", relay->connected ? 1 : 0);
    metric("stockade_hubble_relay_flows_total", "counter", "Flows received from Hubble Relay.",
           relay->flows);
    metric("stockade_hubble_relay_lost_events_total", "counter",
           "Events Hubble Relay reported lost before they reached it.", relay->lost_events);
    metric("stockade_hubble_relay_stream_failures_total", "counter",
           "Hubble Relay streams that failed or could not be opened (then retried).",
           relay->failures);
  }
  out +=
      "# HELP stockade_http_responses_total HTTP responses by status code.\n"
      "# TYPE stockade_http_responses_total counter\n";
  for (const auto& [code, n] : responses)
    out += "stockade_http_responses_total{code=\"" + std::to_string(code) + "\"} " +
           std::to_string(n) + "\n";
  return out;
}

struct HttpServer::Impl {
  ServerState& state;
  HttpOptions options;
  std::unique_ptr<httplib::Server> server;
  std::mutex responses_mutex;
  std::map<int, uint64_t> responses;
  Admission admission{state, options.admission, options.log};
  ConsoleRoutes console{state, options.threads};  // GET /api/v1/events, /api/v1/posture
  DetectFeed detect{state, options.detect};       // threat signals: audit events, metrics
  ShadowRoutes shadow{state, options.apply, [] { return t_requester; }};  // /api/v1/shadow

  Impl(ServerState& s, HttpOptions o) : state(s), options(std::move(o)) {}

  void log(nlohmann::json line) {
    if (!options.log) return;
    line["time"] = log_time_now();
    options.log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  static std::string bearer(const httplib::Request& req) {
    const std::string h = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0) return {};
    return h.substr(kBearer.size());
  }
  bool authorized(const httplib::Request& req) const {
    if (options.token.empty()) return true;
    const std::string presented = bearer(req);
    return !presented.empty() && token_matches(presented, options.token);
  }

  // The routes that need a token when one is set: the API. The console page at / holds no data
  // (it reads /api/) and must load without a token to ask the user for one.
  static bool protected_path(const std::string& path) { return path.rfind("/api/", 0) == 0; }

  void routes();
  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res);
  void log_request(const httplib::Request& req, const httplib::Response& res);
  void hooks();
  void post_flows(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  void get_map(const httplib::Request& req, httplib::Response& res);
  void get_audit(const httplib::Request& req, httplib::Response& res);
  void get_verify(const httplib::Request& req, httplib::Response& res);
  // ?by= (pod, workload, namespace; `fallback` when absent) and ?since=/&until=; false after
  // answering 400.
  bool query_window(const httplib::Request& req, httplib::Response& res, Granularity fallback,
                    Granularity& by, int64_t range[2]);
  void post_agent_batch(const httplib::Request& req, httplib::Response& res,
                        const httplib::ContentReader& reader);
  void post_simulate(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader);
  void post_apply(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  std::atomic<size_t> agent_batches_in_flight{0};
  // Reads a request body up to max_body (after decompression); false after answering 400/413.
  bool read_body(const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader, std::string& body);
  void get_baselines(const httplib::Request& req, httplib::Response& res);
  void post_baseline(const httplib::Request& req, httplib::Response& res);
  // Who asks, for the record of a user's action: the token's holder or the local user.
  std::string requester() const {
    if (!t_user.empty()) return t_user;
    return options.token.empty() ? "local" : "token";
  }
};

// Before every route: the request's clock and user, and the token (or the cluster's review)
// for /api/.
httplib::Server::HandlerResponse HttpServer::Impl::pre_route(const httplib::Request& req,
                                                             httplib::Response& res) {
  t_request_start = Clock::now();
  t_body_bytes = 0;
  t_user.clear();
  t_requester = {};
  // The request object is the library's own, not const: only its handlers see it as const.
  drop_brotli(const_cast<httplib::Request&>(req));
  if (!protected_path(req.path)) return httplib::Server::HandlerResponse::Unhandled;
  if (options.access) {
    const std::string presented = bearer(req);
    if (presented.empty()) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "a bearer token is required (Authorization: Bearer <token>)");
      return httplib::Server::HandlerResponse::Handled;
    }
    auto [verb, resource] = access_attributes(req.method, req.path);
    AccessDecision d = options.access(presented, verb, resource);
    if (d.status != 200) {
      if (d.status == 401) res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, d.status, d.message);
      return httplib::Server::HandlerResponse::Handled;
    }
    t_user = d.user;
    t_requester = {d.user, d.uid, d.groups};
    return httplib::Server::HandlerResponse::Unhandled;
  }
  if (!authorized(req)) {
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "a bearer token is required (Authorization: Bearer <token>)");
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

// After every answer: the response counters, the event streams, one log line.
void HttpServer::Impl::log_request(const httplib::Request& req, const httplib::Response& res) {
  {
    std::lock_guard lock(responses_mutex);
    ++responses[res.status];
  }
  if (req.method == "POST" && res.status / 100 == 2) console.changed(req.path);
  const double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
  log({{"level", res.status >= 500 ? "error" : "info"},
       {"msg", "request"},
       {"method", req.method},
       {"path", req.path},
       {"status", res.status},
       {"remote", req.remote_addr},
       {"user", t_user},
       {"bytes_in", req.body.empty() ? t_body_bytes : req.body.size()},
       {"ms", static_cast<int64_t>(ms * 1000) / 1000.0}});
}

// Limits, threads, and what every request passes through: authentication before routing, the
// log line after, JSON bodies for the library's own errors and for exceptions.
void HttpServer::Impl::hooks() {
  httplib::Server& s = *server;
  s.set_payload_max_length(options.max_body);
  s.set_read_timeout(options.read_timeout_s, 0);
  s.set_write_timeout(options.write_timeout_s, 0);
  // A connection is kept for many requests (httplib's default closes it after 5): the API
  // server calling the webhook would otherwise pay a TLS handshake every fifth review.
  s.set_keep_alive_max_count(1000);
  const size_t threads = std::max<size_t>(options.threads, 2);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  s.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return pre_route(req, res); });
  s.set_logger(
      [this](const httplib::Request& req, const httplib::Response& res) { log_request(req, res); });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    // Statuses httplib sets itself (413 for a declared length over the limit, 400 for a bad
    // request line, 404 when no route matched) get a JSON body like every other error.
    if (!res.body.empty()) return;
    const char* why = res.status == 404   ? "no such resource"
                      : res.status == 413 ? "request body too large"
                      : res.status == 415 ? "unsupported Content-Encoding"
                                          : "bad request";
    send_error(res, res.status, why);
  });
  s.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log({{"level", "error"}, {"msg", "internal error"}, {"path", req.path}, {"error", what}});
        send_error(res, 500, "internal error");
      });
}

void HttpServer::Impl::routes() {
  hooks();
  httplib::Server& s = *server;
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    if (state.ready()) {
      res.set_content("ok\n", "text/plain");
    } else {
      send_error(res, 503, "not ready: the cluster objects are not loaded yet");
    }
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::vector<std::pair<int, uint64_t>> by_code;
    {
      std::lock_guard lock(responses_mutex);
      by_code.assign(responses.begin(), responses.end());
    }
    const auto c = state.counters();
    std::optional<input::RelayCounters> relay;
    if (options.relay) relay = options.relay();
    res.set_content(render_metrics(c, state.ready(), by_code, relay ? &*relay : nullptr) +
                        detect.metrics() +
                        "# HELP stockade_shadow_staged_sets Policy sets staged (shadow mode).\n"
                        "# TYPE stockade_shadow_staged_sets gauge\nstockade_shadow_staged_sets " +
                        std::to_string(shadow.staged()) + "\n",
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Post("/api/v1/flows",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { post_flows(req, res, reader); });
  s.Get("/api/v1/map",
        [this](const httplib::Request& req, httplib::Response& res) { get_map(req, res); });
  console.add(s);
  shadow.add(s);
  s.Get("/api/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(openapi_document(), "application/json");
  });
  s.Get("/api/v1/audit",
        [this](const httplib::Request& req, httplib::Response& res) { get_audit(req, res); });
  s.Get("/api/v1/baselines",
        [this](const httplib::Request& req, httplib::Response& res) { get_baselines(req, res); });
  s.Post(R"(/api/v1/baselines/([^/]+)/(lock|unlock))",
         [this](const httplib::Request& req, httplib::Response& res) { post_baseline(req, res); });
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                   "connect-src 'self'; img-src data:");
    res.set_content(std::string(web::kConsoleHtml, web::kConsoleHtml_size),
                    "text/html; charset=utf-8");
  });
  s.Get("/api/v1/verify",
        [this](const httplib::Request& req, httplib::Response& res) { get_verify(req, res); });
  s.Get("/api/v1/recommendations", [this](const httplib::Request& req, httplib::Response& res) {
    if (!state.ready())
      return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
    const std::string ns = req.has_param("namespace") ? req.get_param_value("namespace") : "";
    const bool accept =
        req.has_param("acceptBlocked") && req.get_param_value("acceptBlocked") == "true";
    auto j = state.recommendations_json(ns, accept, options.min_window_ns);
    if (!j) {
      const ErrorCode c = j.error().code;
      return send_error(res,
                        c == ErrorCode::Conflict   ? 409
                        : c == ErrorCode::Internal ? 500
                                                   : 503,
                        j.error().str());
    }
    res.set_content(*j, "application/json");
  });
  s.Post("/api/v1/agent/batches",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { post_agent_batch(req, res, reader); });
  s.Post("/admission/validate", [this](const httplib::Request& req, httplib::Response& res) {
    auto [status, body] = admission.review(req.body);
    res.status = status, res.set_content(body, "application/json");
  });
  s.Post("/api/v1/simulate",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { post_simulate(req, res, reader); });
  s.Post("/api/v1/apply",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { post_apply(req, res, reader); });
}

bool HttpServer::Impl::read_body(const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader, std::string& body) {
  // The body arrives decompressed (Content-Encoding: gzip is inflated by the library); the
  // limit applies to what it inflates to, so a small bomb is refused like a large body.
  bool too_large = false;
  const bool ok = reader([&](const char* data, size_t len) {
    if (body.size() + len > options.max_body) {
      too_large = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (too_large) {
    send_error(res, 413,
               "request body larger than " + std::to_string(options.max_body) +
                   " bytes (after decompression): send smaller batches");
    return false;
  }
  if (!ok) {
    // The library refuses a declared length over the limit before reading any of it.
    const std::string declared = req.get_header_value("Content-Length");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(declared.c_str(), &end, 10);
    if (!declared.empty() && *end == '\0' && n > options.max_body) {
      send_error(res, 413,
                 "request body larger than " + std::to_string(options.max_body) +
                     " bytes: send smaller batches");
    } else {
      send_error(res, 400, "the request body could not be read (cut short?)");
    }
    return false;
  }
  t_body_bytes = body.size();
  return true;
}

void HttpServer::Impl::post_flows(const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  t_body_bytes = body.size();
  if (body.empty()) return send_error(res, 400, "empty body: expected flow records (NDJSON)");
  auto r = state.ingest(body);
  if (!r) {
    log({{"level", "error"}, {"msg", "ingest failed"}, {"error", r.error().str()}});
    return send_error(res, 503, r.error().str());
  }
  detect.records(body);
  nlohmann::json out = {{"accepted", r->accepted}, {"skipped", r->skipped}};
  if (!r->problems.empty()) {
    nlohmann::json problems = nlohmann::json::array();
    for (const Error& e : r->problems) problems.push_back(e.str());
    out["problems"] = std::move(problems);
  }
  res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void HttpServer::Impl::post_agent_batch(const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  // Back-pressure: past the batches being taken in at once, the agent waits and sends the
  // same batch again (docs/agent-batches.md).
  struct InFlight {
    std::atomic<size_t>& n;
    ~InFlight() { --n; }
  } in_flight{agent_batches_in_flight};
  if (++agent_batches_in_flight > options.max_agent_batches_in_flight) {
    res.set_header("Retry-After", "1");
    return send_error(res, 429, "busy: send this batch again after Retry-After");
  }
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  if (body.empty()) return send_error(res, 400, "empty body: expected an agent batch");
  auto r = state.ingest_batch(body);
  if (!r) {
    if (r.error().code == ErrorCode::Input) return send_error(res, 400, r.error().str());
    log({{"level", "error"}, {"msg", "agent batch not kept"}, {"error", r.error().str()}});
    return send_error(res, 503, r.error().str());
  }
  if (r->stored) detect.batch(body);
  nlohmann::json out = {
      {"stored", r->stored}, {"edges", r->edges}, {"next_interval_ms", options.agent_interval_ms}};
  res.set_content(dump(out), "application/json");
}

// What the body's policies would change, over the traffic kept (`stockade diff --flows`).
void HttpServer::Impl::post_simulate(const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  Granularity by;
  int64_t range[2];
  if (!query_window(req, res, Granularity::Workload, by, range)) return;
  if (range[0] || range[1])
    return send_error(res, 400, "since/until: simulate reads every record and batch kept");
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return send_error(res, 400, "empty body: expected policies (YAML or JSON)");
  auto j = state.simulate_json(body, by);
  if (!j) return send_error(res, j.error().code == ErrorCode::Input ? 400 : 503, j.error().str());
  res.set_content(*j + "\n", "application/json");
}

// Server-side apply of the body's policies, as `stockade apply` does it, as the requesting user
// (the command's ApplyHandler: each object authorized for the user, docs/notes/serve.md).
void HttpServer::Impl::post_apply(const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
  if (!options.apply)
    return send_error(res, 409,
                      "this server reads its objects from files (-f), not from a cluster: there "
                      "is nothing to apply to (write the policies into those files, or serve "
                      "with --kubeconfig, --context or --in-cluster)");
  bool dry_run = false, force = false;
  if (req.has_param("dryRun")) {
    if (req.get_param_value("dryRun") != "All")
      return send_error(res, 400,
                        "dryRun: expected All, got \"" + req.get_param_value("dryRun") + "\"");
    dry_run = true;
  }
  if (req.has_param("force")) {
    const std::string v = req.get_param_value("force");
    if (v != "true" && v != "false")
      return send_error(res, 400, "force: expected true or false, got \"" + v + "\"");
    force = v == "true";
  }
  std::string body;
  if (!read_body(req, res, reader, body)) return;
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return send_error(res, 400, "empty body: expected policies (YAML or JSON)");
  JsonAnswer a = options.apply(body, dry_run, force, t_requester);
  log({{"level", "info"},
       {"msg", dry_run ? "apply (dry run)" : "apply"},
       {"status", a.status},
       {"by", requester()}});
  // Policies written: an audit event (the console shows it); the apply stands if it fails.
  if (audit::LiveAudit* audit = state.audit(); audit && !dry_run && a.status == 200)
    if (auto e = audit::applied_event(requester(), a.body, wall_now_ns()))
      if (auto r = audit->append_events({*e}); !r)
        log({{"level", "error"},
             {"msg", "apply: audit event not kept"},
             {"error", r.error().str()}});
  res.status = a.status;
  res.set_content(a.body, "application/json");
}

bool HttpServer::Impl::query_window(const httplib::Request& req, httplib::Response& res,
                                    Granularity fallback, Granularity& by, int64_t range[2]) {
  by = fallback;
  if (req.has_param("by")) {
    const std::string v = req.get_param_value("by");
    auto g = parse_granularity(v);
    if (!g) {
      send_error(res, 400, "by: expected pod, workload or namespace, got \"" + v + "\"");
      return false;
    }
    by = *g;
  }
  range[0] = range[1] = 0;
  const char* names[2] = {"since", "until"};
  const int64_t now = wall_now_ns();
  for (int i = 0; i < 2; ++i) {
    if (!req.has_param(names[i])) continue;
    std::string error;
    auto t = parse_time_or_age(req.get_param_value(names[i]), now, &error);
    if (!t) {
      send_error(res, 400, std::string(names[i]) + ": " + error);
      return false;
    }
    range[i] = *t;
  }
  return true;
}

void HttpServer::Impl::get_verify(const httplib::Request& req, httplib::Response& res) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  Granularity by;
  int64_t range[2];
  if (!query_window(req, res, Granularity::Workload, by, range)) return;
  auto j = state.verify_json(by, range[0], range[1]);
  if (!j) return send_error(res, 503, j.error().str());
  res.set_content(*j + "\n", "application/json");
}

void HttpServer::Impl::get_map(const httplib::Request& req, httplib::Response& res) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  Granularity by;
  int64_t range[2];
  if (!query_window(req, res, Granularity::Workload, by, range)) return;
  const std::string format = req.has_param("format") ? req.get_param_value("format") : "objects";
  if (format != "objects" && format != "columns")
    return send_error(res, 400, "format: want objects or columns, not '" + format + "'");
  if (range[0] || range[1]) {
    auto map = state.map_json(by, range[0], range[1], format == "columns");
    if (!map) return send_error(res, 503, map.error().str());
    std::string body = std::move(*map) + "\n";
    const std::string etag = entity_tag(body);
    res.set_header("ETag", etag);
    if (req.get_header_value("If-None-Match") == etag) {
      res.status = 304;
      return;
    }
    return res.set_content(body, "application/json");
  }
  // The whole map: rendered and gzipped once per data version (ServerState::map_answer); an
  // unchanged map is a 304 to a client that sends its entity tag back.
  auto answer = state.map_answer(by, format == "columns");
  if (!answer) return send_error(res, 503, answer.error().str());
  const ServerState::MapAnswer& a = **answer;
  res.set_header("ETag", a.etag);
  res.set_header("Vary", "Accept-Encoding");
  if (req.get_header_value("If-None-Match") == a.etag) {
    res.status = 304;
    return;
  }
  if (accepts_gzip(req)) {
    // Already compressed: a content type httplib does not compress again (it compresses
    // exactly "application/json"), the same media type.
    res.set_header("Content-Encoding", "gzip");
    return res.set_content(a.gzip, "application/json; charset=utf-8");
  }
  res.set_content(a.body, "application/json");
}

namespace {

nlohmann::json baseline_json(const store::Baseline& b) {
  nlohmann::json j = {{"namespace", b.ns},
                      {"state", std::string(store::to_string(b.state))},
                      {"since", format_rfc3339(b.since)}};
  if (!b.locked_by.empty()) j["locked_by"] = b.locked_by;
  return j;
}

}  // namespace

void HttpServer::Impl::get_audit(const httplib::Request& req, httplib::Response& res) {
  audit::LiveAudit* audit = state.audit();
  if (!audit) return send_error(res, 501, "the live audit needs a store (--store)");
  store::AuditQuery q;
  const int64_t now = wall_now_ns();
  const char* names[2] = {"since", "until"};
  int64_t* bounds[2] = {&q.since, &q.until};
  for (int i = 0; i < 2; ++i) {
    if (!req.has_param(names[i])) continue;
    std::string error;
    auto t = parse_time_or_age(req.get_param_value(names[i]), now, &error);
    if (!t) return send_error(res, 400, std::string(names[i]) + ": " + error);
    *bounds[i] = *t;
  }
  if (req.has_param("limit")) {
    const std::string v = req.get_param_value("limit");
    char* end = nullptr;
    const unsigned long n = std::strtoul(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1 || n > 10000)
      return send_error(res, 400, "limit: expected an integer from 1 to 10000, got \"" + v + "\"");
    q.limit = n;
  }
  if (req.has_param("after")) {
    // The cursor of the previous page: "AT:ID" as its "next" gave it.
    const std::string v = req.get_param_value("after");
    long long at = 0, id = 0;
    char tail = 0;
    if (std::sscanf(v.c_str(), "%lld:%lld%c", &at, &id, &tail) != 2)
      return send_error(res, 400,
                        "after: expected the \"next\" of the previous page, got \"" + v + "\"");
    q.after_at = at;
    q.after_id = id;
  }
  auto page = audit->events(q);
  if (!page) return send_error(res, 503, page.error().str());
  nlohmann::json events = nlohmann::json::array();
  for (const store::AuditEvent& e : page->events) {
    nlohmann::json j = {{"id", e.id},     {"time", format_rfc3339(e.at)},
                        {"kind", e.kind}, {"src", e.src},
                        {"dst", e.dst},   {"protocol", std::string(to_string(e.protocol))},
                        {"port", e.port}};
    if (!e.process.empty()) j["process"] = e.process;
    auto detail = nlohmann::json::parse(e.detail, nullptr, false);
    if (!detail.is_discarded()) j["detail"] = std::move(detail);
    events.push_back(std::move(j));
  }
  nlohmann::json out = {{"events", std::move(events)}};
  if (page->more && !page->events.empty())
    out["next"] =
        std::to_string(page->events.back().at) + ":" + std::to_string(page->events.back().id);
  res.set_content(dump(out), "application/json");
}

void HttpServer::Impl::get_baselines(const httplib::Request&, httplib::Response& res) {
  audit::LiveAudit* audit = state.audit();
  if (!audit) return send_error(res, 501, "baselines need a store (--store)");
  auto snap = state.snapshot();
  if (!snap) return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  nlohmann::json list = nlohmann::json::array();
  for (const audit::BaselineView& v : audit->baselines(*snap->engine)) {
    nlohmann::json j = baseline_json(v.baseline);
    j["edges"] = v.edges;
    if (v.last_new_edge) j["last_new_edge"] = format_rfc3339(v.last_new_edge);
    j["silent_workloads"] = v.silent_workloads;
    nlohmann::json ws = nlohmann::json::array();
    for (const audit::WorkloadCoverage& w : v.workloads) {
      nlohmann::json wj = {{"workload", w.id},
                           {"kind", w.kind},
                           {"edges_in", w.edges_in},
                           {"edges_out", w.edges_out},
                           {"seen", w.edges_in + w.edges_out > 0},
                           {"ports_declared", w.ports_declared},
                           {"ports_unused", w.ports_unused}};
      if (w.first_seen) wj["first_seen"] = format_rfc3339(w.first_seen);
      if (w.last_seen) wj["last_seen"] = format_rfc3339(w.last_seen);
      ws.push_back(std::move(wj));
    }
    j["workloads"] = std::move(ws);
    list.push_back(std::move(j));
  }
  res.set_content(dump({{"baselines", std::move(list)}}), "application/json");
}

void HttpServer::Impl::post_baseline(const httplib::Request& req, httplib::Response& res) {
  audit::LiveAudit* audit = state.audit();
  if (!audit) return send_error(res, 501, "baselines need a store (--store)");
  const std::string ns = req.matches[1];
  const bool lock = req.matches[2] == "lock";
  auto b = lock ? audit->lock(ns, requester()) : audit->unlock(ns, requester());
  // The store refuses a transition that is not one (locking a locked baseline, a namespace
  // never seen): the request's fault, said in one line.
  if (!b)
    return send_error(res, b.error().code == ErrorCode::NotFound ? 404 : 409, b.error().message);
  log({{"level", "info"},
       {"msg", lock ? "baseline locked" : "baseline unlocked"},
       {"namespace", ns},
       {"by", requester()}});
  res.set_content(dump(baseline_json(*b)), "application/json");
}

HttpServer::HttpServer(ServerState& state, HttpOptions options)
    : impl_(std::make_unique<Impl>(state, std::move(options))) {}

HttpServer::~HttpServer() = default;

Result<int> HttpServer::bind() {
  Impl& i = *impl_;
  const bool tls = !i.options.tls_cert.empty() || !i.options.tls_key.empty();
  if (tls) {
    if (i.options.tls_cert.empty() || i.options.tls_key.empty())
      return make_error("--tls-cert and --tls-key go together");
    auto ssl =
        std::make_unique<httplib::SSLServer>(i.options.tls_cert.c_str(), i.options.tls_key.c_str());
    if (!ssl->is_valid())
      return make_error(i.options.tls_cert, 0,
                        "cannot use this certificate and key (" + i.options.tls_key +
                            "): unreadable, not PEM, or they do not match");
    i.server = std::move(ssl);
  } else {
    i.server = std::make_unique<httplib::Server>();
  }
  i.routes();
  int port = i.options.port;
  if (port == 0) {
    port = i.server->bind_to_any_port(i.options.host);
    if (port < 0) return make_error("cannot listen on " + i.options.host + ": no free port");
  } else if (!i.server->bind_to_port(i.options.host, port)) {
    return make_error("cannot listen on " + i.options.host + ":" + std::to_string(port) +
                      " (in use, or not an address of this host)");
  }
  i.log({{"level", "info"},
         {"msg", "listening"},
         {"address", i.options.host + ":" + std::to_string(port)},
         {"tls", tls},
         {"auth", i.options.token.empty() ? "none" : "bearer token"}});
  return port;
}

void HttpServer::detect_records(std::string_view body) {
  impl_->detect.records(body);
}

void HttpServer::run() {
  impl_->server->listen_after_bind();
}

void HttpServer::stop() {
  impl_->console.stop();
  if (impl_->server) impl_->server->stop();
}

}  // namespace stockade::server

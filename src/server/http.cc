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

#include "map/map_view.h"
#include "model/duration.h"

namespace stockade::server {

namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point t_request_start;
thread_local size_t t_body_bytes = 0;  // read through a ContentReader: not in req.body

std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump() + "\n";
}

void send_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(error_body(message), "application/json");
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
                           const std::vector<std::pair<int, uint64_t>>& responses) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + nlohmann::json(value).dump() + "\n";
  };
  metric("stockade_ready", "gauge", "1 when the cluster objects are loaded and the store is open.",
         ready ? 1 : 0);
  metric("stockade_flow_records_total", "counter",
         "Flow records accepted (journaled and aggregated).", c.records);
  metric("stockade_flow_malformed_lines_total", "counter",
         "Lines of flow request bodies that are no flow record (skipped).", c.malformed);
  metric("stockade_flow_batches", "gauge", "Batches of flow records held in the journal.",
         c.batches);
  metric("stockade_journal_bytes", "gauge", "Size of the flow journal on disk.", c.journal_bytes);
  metric("stockade_map_edges", "gauge", "Workload-level edges of the observed traffic.", c.edges);
  metric("stockade_engine_generation", "gauge", "Snapshots of the cluster objects built so far.",
         c.generation);
  metric("stockade_engine_rebuilds_total", "counter",
         "Snapshots built (objects loaded, policies compiled, traffic re-aggregated).", c.rebuilds);
  metric("stockade_engine_rebuild_failures_total", "counter",
         "Rebuilds that failed (the previous snapshot stayed in use).", c.rebuild_failures);
  metric("stockade_engine_rebuild_seconds", "gauge", "Duration of the last successful rebuild.",
         c.last_rebuild_seconds);
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

  Impl(ServerState& s, HttpOptions o) : state(s), options(std::move(o)) {}

  void log(nlohmann::json line) {
    if (!options.log) return;
    line["time"] = log_time_now();
    options.log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  bool authorized(const httplib::Request& req) const {
    if (options.token.empty()) return true;
    const std::string h = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0) return false;
    return token_matches(std::string_view(h).substr(kBearer.size()), options.token);
  }

  // The routes that need a token when one is set: the API and the console.
  static bool protected_path(const std::string& path) {
    return path == "/" || path.rfind("/api/", 0) == 0;
  }

  void routes();
  void post_flows(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  void get_map(const httplib::Request& req, httplib::Response& res);
};

void HttpServer::Impl::routes() {
  httplib::Server& s = *server;
  s.set_payload_max_length(options.max_body);
  s.set_read_timeout(options.read_timeout_s, 0);
  s.set_write_timeout(options.write_timeout_s, 0);
  const size_t threads = std::max<size_t>(options.threads, 2);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    t_request_start = Clock::now();
    t_body_bytes = 0;
    if (protected_path(req.path) && !authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "a bearer token is required (Authorization: Bearer <token>)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    {
      std::lock_guard lock(responses_mutex);
      ++responses[res.status];
    }
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t_request_start).count();
    log({{"level", res.status >= 500 ? "error" : "info"},
         {"msg", "request"},
         {"method", req.method},
         {"path", req.path},
         {"status", res.status},
         {"remote", req.remote_addr},
         {"bytes_in", req.body.empty() ? t_body_bytes : req.body.size()},
         {"ms", static_cast<int64_t>(ms * 1000) / 1000.0}});
  });
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
    res.set_content(render_metrics(c, state.ready(), by_code),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Post("/api/v1/flows",
         [this](const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader) { post_flows(req, res, reader); });
  s.Get("/api/v1/map",
        [this](const httplib::Request& req, httplib::Response& res) { get_map(req, res); });
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    if (!state.ready()) return send_error(res, 503, "not ready");
    res.set_content(render_map_html(state.map_json(Granularity::Workload)),
                    "text/html; charset=utf-8");
  });
  // In the contract, not built yet: an explicit answer rather than a 404 that looks like a
  // wrong URL.
  for (const char* path : {"/api/v1/verify", "/api/v1/recommendations"})
    s.Get(path, [](const httplib::Request& req, httplib::Response& res) {
      send_error(res, 501, req.path + " is not implemented in this version");
    });
  for (const char* path :
       {"/api/v1/agent/batches", "/api/v1/simulate", "/api/v1/apply", "/admission/validate"})
    s.Post(path, [](const httplib::Request& req, httplib::Response& res) {
      send_error(res, 501, req.path + " is not implemented in this version");
    });
}

void HttpServer::Impl::post_flows(const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  // The body arrives decompressed (Content-Encoding: gzip is inflated by the library); the
  // limit applies to what it inflates to, so a small bomb is refused like a large body.
  std::string body;
  bool too_large = false;
  const bool ok = reader([&](const char* data, size_t len) {
    if (body.size() + len > options.max_body) {
      too_large = true;
      return false;
    }
    body.append(data, len);
    return true;
  });
  if (too_large)
    return send_error(res, 413,
                      "request body larger than " + std::to_string(options.max_body) +
                          " bytes (after decompression): send smaller batches");
  if (!ok) {
    // The library refuses a declared length over the limit before reading any of it.
    const std::string declared = req.get_header_value("Content-Length");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(declared.c_str(), &end, 10);
    if (!declared.empty() && *end == '\0' && n > options.max_body)
      return send_error(res, 413,
                        "request body larger than " + std::to_string(options.max_body) +
                            " bytes: send smaller batches");
    return send_error(res, 400, "the request body could not be read (cut short?)");
  }
  t_body_bytes = body.size();
  if (body.empty()) return send_error(res, 400, "empty body: expected flow records (NDJSON)");
  auto r = state.ingest(body);
  if (!r) {
    log({{"level", "error"}, {"msg", "ingest failed"}, {"error", r.error().str()}});
    return send_error(res, 503, r.error().str());
  }
  nlohmann::json out = {{"accepted", r->accepted}, {"skipped", r->skipped}};
  if (!r->problems.empty()) {
    nlohmann::json problems = nlohmann::json::array();
    for (const Error& e : r->problems) problems.push_back(e.str());
    out["problems"] = std::move(problems);
  }
  res.set_content(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  "application/json");
}

void HttpServer::Impl::get_map(const httplib::Request& req, httplib::Response& res) {
  if (!state.ready())
    return send_error(res, 503, "not ready: the cluster objects are not loaded yet");
  Granularity by = Granularity::Workload;
  if (req.has_param("by")) {
    const std::string v = req.get_param_value("by");
    if (v == "pod") {
      by = Granularity::Pod;
    } else if (v == "namespace") {
      by = Granularity::Namespace;
    } else if (v != "workload") {
      return send_error(res, 400, "by: expected pod, workload or namespace, got \"" + v + "\"");
    }
  }
  int64_t range[2] = {0, 0};
  const char* names[2] = {"since", "until"};
  const int64_t now = now_ns();
  for (int i = 0; i < 2; ++i) {
    if (!req.has_param(names[i])) continue;
    std::string error;
    auto t = parse_time_or_age(req.get_param_value(names[i]), now, &error);
    if (!t) return send_error(res, 400, std::string(names[i]) + ": " + error);
    range[i] = *t;
  }
  res.set_content(state.map_json(by, range[0], range[1]) + "\n", "application/json");
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

void HttpServer::run() {
  impl_->server->listen_after_bind();
}

void HttpServer::stop() {
  if (impl_->server) impl_->server->stop();
}

}  // namespace stockade::server

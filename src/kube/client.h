// A Kubernetes API client over libcurl: TLS and every kubeconfig credential kind (client
// certificates, bearer tokens and token files, basic auth, exec plugins with their cache),
// discovery, and list with paging. Errors are one line that says what to do. A Client may be
// used by several threads at once (informers share one, and its credential cache).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/stop.h"
#include "kube/kubeconfig.h"

namespace stockade::kube {

struct Response {
  long status = 0;
  std::string body;
  std::string content_type;
  std::optional<int> retry_after;  // seconds, from a Retry-After header
};

struct ClientOptions {
  double qps = 50;  // client-side rate limit (token bucket)
  int burst = 100;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds request_timeout{120};  // whole request, not watches
  std::chrono::seconds stall_timeout{30};     // no byte for this long: the request is dead
  int max_retries = 5;                  // on 429/503 with Retry-After, and dropped connections
  int64_t max_body = int64_t{4} << 30;  // bytes
  bool verbose = false;
};

class Client {
 public:
  static Result<std::unique_ptr<Client>> create(RestConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const RestConfig& config() const { return config_; }

  // One request; `path` starts with "/" and may carry a query. Retries 429 (Retry-After),
  // re-runs an exec plugin once on 401. Transport failures (TLS, connect) are errors; HTTP
  // statuses are returned as they are.
  Result<Response> request(const std::string& method, const std::string& path,
                           const std::string& body = {}, const std::string& content_type = {},
                           const std::string& accept = "application/json");

  // A streaming GET (watch): `on_data` receives the body of a 200 answer as it arrives and
  // returns false to stop; `stop` (when set and true) ends the stream within about a second;
  // a stream silent for `idle` is dead. Other statuses come back with their body in the
  // Response. Transport failures are errors (the caller reconnects).
  Result<Response> stream(const std::string& path,
                          const std::function<bool(std::string_view)>& on_data,
                          const StopFlag* stop, std::chrono::seconds idle);

  // GET that must answer 200; other statuses become errors naming the path and the
  // Kubernetes Status message (401: credentials; 403: the missing permission).
  Result<std::string> get(const std::string& path);

  // The group/versions the server serves ("v1", "apps/v1", "policy.networking.k8s.io/v1alpha1").
  Result<std::set<std::string>> group_versions();

  // Every page of a list: `limit` per page, following `continue`; when a continue token has
  // expired (410 Gone) the list starts over (at most 3 times), so the pages are one
  // consistent list.
  struct ListResult {
    std::vector<std::string> pages;  // JSON text of each page, in order
    std::string resource_version;
  };
  // A page received, for progress (`on_page`, called after each page; without it the pages
  // are not counted): its number in the list (1 again when the list starts over), its bytes,
  // the objects it holds, and those the server says remain after it (-1: not said).
  struct ListPage {
    size_t number = 0;
    size_t bytes = 0;
    uint64_t objects = 0;
    int64_t remaining = -1;
  };
  static constexpr int kListLimit = 500;  // objects per page unless told
  Result<ListResult> list(const std::string& path, int limit = kListLimit,
                          const std::function<void(const ListPage&)>& on_page = {});

  // Describes a non-2xx response: "GET /api/v1/pods: 403 Forbidden: pods is forbidden: ...".
  static std::string describe(const std::string& method, const std::string& path,
                              const Response& r);
  // For a 2xx answer that is not JSON (an HTML page of a proxy, say): the one-line error.
  static std::optional<std::string> not_json(const std::string& method, const std::string& path,
                                             const Response& r);

  // How often the exec credential plugin has run (tests: cached until it expires).
  uint64_t exec_runs() const;

 private:
  Client(RestConfig config, ClientOptions options);
  struct Stream {
    const std::function<bool(std::string_view)>* on_data;
    const StopFlag* stop;
    std::chrono::seconds idle;
  };
  Result<Response> perform(const std::string& method, const std::string& path,
                           const std::string& body, const std::string& content_type,
                           const std::string& accept, const Stream* stream);
  struct Impl;
  RestConfig config_;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Runs an exec credential plugin as kubectl does (no shell; the plugin's env only for the
// child; KUBERNETES_EXEC_INFO set) and reads its ExecCredential.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem, client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;
};
Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, const RestConfig& cluster);

}  // namespace stockade::kube

#include "kube/client.h"

#include <fcntl.h>
#include <poll.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/curl_lib.h"
#include "model/flow.h"

extern char** environ;

namespace stockade::kube {

namespace {

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Url {
  std::string scheme, host, port, prefix;
};

std::optional<Url> split_url(const std::string& server) {
  Url u;
  auto sep = server.find("://");
  if (sep == std::string::npos) return std::nullopt;
  u.scheme = server.substr(0, sep);
  std::string rest = server.substr(sep + 3);
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(0, close + 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      u.port = authority.substr(close + 2);
  } else {
    auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.port.empty()) u.port = u.scheme == "http" ? "80" : "443";
  if (u.host.empty() || (u.scheme != "https" && u.scheme != "http")) return std::nullopt;
  return u;
}

struct BodySink {
  Response* resp;
  int64_t max;
  CURL* curl;
  const CurlLib* lib;
  const std::function<bool(std::string_view)>* on_data;  // streaming when set
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<BodySink*>(user);
  size_t bytes = size * n;
  if (r->on_data) {
    long code = 0;
    r->lib->easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 200) return (*r->on_data)(std::string_view(data, bytes)) ? bytes : 0;
  }
  if (static_cast<int64_t>(r->resp->body.size() + bytes) > r->max) return 0;  // too large
  r->resp->body.append(data, bytes);
  return bytes;
}

int stream_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* stop = static_cast<const StopFlag*>(user);
  return stop && stop->load() ? 1 : 0;
}

size_t read_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = trim(std::string(line.substr(colon + 1)));
    while (!value.empty() && value.front() == ' ') value.erase(value.begin());
    if (name == "retry-after") {
      int s = 0;
      if (std::sscanf(value.c_str(), "%d", &s) == 1 && s >= 0) r->retry_after = s;
    } else if (name == "content-type") {
      r->content_type = value;
    }
  }
  return size * n;
}

}  // namespace

Result<ExecCredential> run_exec_plugin(const ExecConfig& exec, const RestConfig& cluster) {
  nlohmann::json info = {{"apiVersion", exec.api_version},
                         {"kind", "ExecCredential"},
                         {"spec", {{"interactive", false}}}};
  if (exec.provide_cluster_info) {
    nlohmann::json c = {{"server", cluster.server}};
    if (!cluster.tls_server_name.empty()) c["tls-server-name"] = cluster.tls_server_name;
    if (cluster.insecure_skip_tls_verify) c["insecure-skip-tls-verify"] = true;
    std::string ca = cluster.ca_pem.empty() && !cluster.ca_file.empty()
                         ? read_text_file(cluster.ca_file).value_or("")
                         : cluster.ca_pem;
    if (!ca.empty()) c["certificate-authority-data"] = base64_encode(ca);
    if (!cluster.proxy_url.empty()) c["proxy-url"] = cluster.proxy_url;
    info["spec"]["cluster"] = c;
  }
  // The environment: ours, the plugin's own entries over it, and KUBERNETES_EXEC_INFO.
  std::vector<std::string> env_text;
  auto overridden = [&](std::string_view entry) {
    auto eq = entry.find('=');
    std::string_view name = entry.substr(0, eq);
    if (name == "KUBERNETES_EXEC_INFO") return true;
    for (const auto& [k, v] : exec.env)
      if (k == name) return true;
    return false;
  };
  for (char** e = environ; e && *e; ++e)
    if (!overridden(*e)) env_text.emplace_back(*e);
  for (const auto& [k, v] : exec.env) env_text.push_back(k + "=" + v);
  env_text.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_text{exec.command};
  argv_text.insert(argv_text.end(), exec.args.begin(), exec.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_text) argv.push_back(s.data());
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0)
    return make_error("exec plugin: pipe: " + std::string(std::strerror(errno)));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, exec.command.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    std::string msg = "exec plugin \"" + exec.command + "\": " + std::strerror(rc);
    if (!exec.install_hint.empty()) msg += " (" + trim(exec.install_hint) + ")";
    return make_error(msg);
  }
  std::string output;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < (size_t{1} << 20)) output.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error("exec plugin \"" + exec.command + "\" failed (" +
                      (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                         : std::string("killed by a signal")) +
                      ")");
  ExecCredential cred;
  try {
    auto j = nlohmann::json::parse(output);
    if (j.value("kind", "") != "ExecCredential")
      return make_error("exec plugin \"" + exec.command + "\": output is not an ExecCredential");
    if (j.value("apiVersion", "") != exec.api_version)
      return make_error("exec plugin \"" + exec.command + "\": apiVersion " +
                        j.value("apiVersion", "(none)") + " does not match " + exec.api_version);
    const auto& st = j.at("status");
    cred.token = st.value("token", "");
    cred.client_cert_pem = st.value("clientCertificateData", "");
    cred.client_key_pem = st.value("clientKeyData", "");
    if (cred.token.empty() && (cred.client_cert_pem.empty() || cred.client_key_pem.empty()))
      return make_error("exec plugin \"" + exec.command +
                        "\": the ExecCredential has neither a token nor a client certificate "
                        "and key");
    if (st.contains("expirationTimestamp") && st["expirationTimestamp"].is_string()) {
      auto ns = parse_rfc3339(st["expirationTimestamp"].get<std::string>());
      if (!ns) return make_error("exec plugin \"" + exec.command + "\": bad expirationTimestamp");
      cred.expiry = std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::nanoseconds(*ns)));
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error("exec plugin \"" + exec.command + "\": output is not valid JSON (" +
                      std::string(e.what()) + ")");
  }
  return cred;
}

// A Client is shared by threads (informers, one-shot requests): each request takes an easy
// handle from a pool (connections are reused per handle); the credential cache and the token
// bucket are shared under one lock, so an exec plugin runs once for all threads.
struct Client::Impl {
  const CurlLib* curl = nullptr;  // set by create()
  Url url;
  std::mutex mu;
  std::vector<CURL*> idle;  // handles not in use
  std::optional<ExecCredential> exec_cred;
  uint64_t exec_runs = 0;
  // Token bucket.
  double tokens = 0;
  std::chrono::steady_clock::time_point last_refill = std::chrono::steady_clock::now();

  ~Impl() {
    for (CURL* c : idle) curl->easy_cleanup(c);
  }
  CURL* take() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        CURL* c = idle.back();
        idle.pop_back();
        return c;
      }
    }
    return curl->easy_init();
  }
  void give_back(CURL* c) {
    std::lock_guard lock(mu);
    idle.push_back(c);
  }

  // What one attempt sends as who it is, and what the easy handle points to while it runs.
  struct Credentials {
    std::string token, cert_pem, key_pem;
  };
  struct Transfer {
    curl_slist* headers = nullptr;
    curl_slist* connect_to = nullptr;
    curl_blob ca_blob{}, cert_blob{}, key_blob{};
  };

  void wait_for_token(const ClientOptions& o);
  Result<Credentials> credentials(const RestConfig& config);
  void set_request(CURL* c, const RestConfig& config, const std::string& method,
                   const std::string& path, const std::string& body,
                   const std::string& content_type, const std::string& accept,
                   const Credentials& cred, Transfer& t) const;
  void set_tls(CURL* c, const RestConfig& config, Credentials& cred, Transfer& t) const;
  void set_limits(CURL* c, const RestConfig& config, const ClientOptions& o,
                  const Stream* stream) const;
};

// Rate limit: take a token (the bucket may go below zero: wait for it outside the lock).
void Client::Impl::wait_for_token(const ClientOptions& o) {
  double wait_s = 0;
  {
    std::lock_guard lock(mu);
    auto now = std::chrono::steady_clock::now();
    tokens = std::min<double>(
        o.burst, tokens + o.qps * std::chrono::duration<double>(now - last_refill).count());
    last_refill = now;
    tokens -= 1;
    if (tokens < 0) wait_s = -tokens / o.qps;
  }
  if (wait_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
}

// The kubeconfig's credentials, a token file read afresh, or the exec plugin's (run again when
// its credential expired).
Result<Client::Impl::Credentials> Client::Impl::credentials(const RestConfig& config) {
  Credentials cred{config.token, config.client_cert_pem, config.client_key_pem};
  if (!config.token_file.empty()) {
    cred.token = trim(read_text_file(config.token_file).value_or(""));
    if (cred.token.empty())
      return make_error(config.token_file, 0, "token file is missing or empty");
  }
  if (config.exec) {
    std::lock_guard lock(mu);  // one plugin run for every thread waiting on it
    bool expired =
        exec_cred && exec_cred->expiry && *exec_cred->expiry <= std::chrono::system_clock::now();
    if (!exec_cred || expired) {
      auto c = run_exec_plugin(*config.exec, config);
      if (!c) return tl::unexpected(c.error());
      exec_cred = std::move(*c);
      ++exec_runs;
    }
    if (!exec_cred->token.empty()) cred.token = exec_cred->token;
    if (!exec_cred->client_cert_pem.empty()) {
      cred.cert_pem = exec_cred->client_cert_pem;
      cred.key_pem = exec_cred->client_key_pem;
    }
  }
  return cred;
}

// The URL (the server's address under tls-server-name), the method, the body and the headers.
void Client::Impl::set_request(CURL* c, const RestConfig& config, const std::string& method,
                               const std::string& path, const std::string& body,
                               const std::string& content_type, const std::string& accept,
                               const Credentials& cred, Transfer& t) const {
  const CurlLib& cu = *curl;
  std::string host = config.tls_server_name.empty() ? url.host : config.tls_server_name;
  std::string full = url.scheme + "://" + host + ":" + url.port + url.prefix + path;
  cu.easy_setopt(c, CURLOPT_URL, full.c_str());
  if (!config.tls_server_name.empty()) {
    // Verify and send SNI for tls-server-name, but connect to the server's address.
    std::string rule = config.tls_server_name + ":" + url.port + ":" + url.host + ":" + url.port;
    t.connect_to = cu.slist_append(nullptr, rule.c_str());
    cu.easy_setopt(c, CURLOPT_CONNECT_TO, t.connect_to);
  }
  cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    cu.easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist*& headers = t.headers;
  headers = cu.slist_append(headers, ("Accept: " + accept).c_str());
  if (!content_type.empty())
    headers = cu.slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = cu.slist_append(headers, "User-Agent: stockade");
  if (!cred.token.empty())
    headers = cu.slist_append(headers, ("Authorization: Bearer " + cred.token).c_str());
  if (!config.impersonate_user.empty()) {
    headers = cu.slist_append(headers, ("Impersonate-User: " + config.impersonate_user).c_str());
    if (!config.impersonate_uid.empty())
      headers = cu.slist_append(headers, ("Impersonate-Uid: " + config.impersonate_uid).c_str());
    for (const std::string& g : config.impersonate_groups)
      headers = cu.slist_append(headers, ("Impersonate-Group: " + g).c_str());
  }
  cu.easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!config.username.empty() && cred.token.empty()) {
    cu.easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    cu.easy_setopt(c, CURLOPT_USERNAME, config.username.c_str());
    cu.easy_setopt(c, CURLOPT_PASSWORD, config.password.c_str());
  }
}

void Client::Impl::set_tls(CURL* c, const RestConfig& config, Credentials& cred,
                           Transfer& t) const {
  const CurlLib& cu = *curl;
  if (config.insecure_skip_tls_verify) {
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!config.ca_pem.empty()) {
    t.ca_blob = {const_cast<char*>(config.ca_pem.data()), config.ca_pem.size(), CURL_BLOB_NOCOPY};
    cu.easy_setopt(c, CURLOPT_CAINFO_BLOB, &t.ca_blob);
  } else if (!config.ca_file.empty()) {
    cu.easy_setopt(c, CURLOPT_CAINFO, config.ca_file.c_str());
  }
  if (!cred.cert_pem.empty()) {
    t.cert_blob = {cred.cert_pem.data(), cred.cert_pem.size(), CURL_BLOB_NOCOPY};
    t.key_blob = {cred.key_pem.data(), cred.key_pem.size(), CURL_BLOB_NOCOPY};
    cu.easy_setopt(c, CURLOPT_SSLCERT_BLOB, &t.cert_blob);
    cu.easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
    cu.easy_setopt(c, CURLOPT_SSLKEY_BLOB, &t.key_blob);
    cu.easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!config.client_cert_file.empty()) {
    cu.easy_setopt(c, CURLOPT_SSLCERT, config.client_cert_file.c_str());
    cu.easy_setopt(c, CURLOPT_SSLKEY, config.client_key_file.c_str());
  }
}

// The proxy and the time limits.
void Client::Impl::set_limits(CURL* c, const RestConfig& config, const ClientOptions& o,
                              const Stream* stream) const {
  const CurlLib& cu = *curl;
  if (!config.proxy_url.empty())
    cu.easy_setopt(c, CURLOPT_PROXY, config.proxy_url.c_str());
  else
    cu.easy_setopt(c, CURLOPT_NOPROXY, "*");  // kubeconfig's proxy-url only, as kubectl
  cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout.count()));
  if (stream) {
    // No overall limit; a stream silent for `idle` (no event, no bookmark) is dead.
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(stream->idle.count()));
    cu.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
    cu.easy_setopt(c, CURLOPT_XFERINFODATA, stream->stop);
  } else {
    cu.easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(o.request_timeout.count()));
    // A connection that stalls (under 1 byte/s for stall_timeout) is dead.
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.stall_timeout.count()));
  }
}

Client::Client(RestConfig config, ClientOptions options)
    : config_(std::move(config)), options_(options), impl_(std::make_unique<Impl>()) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(RestConfig config, ClientOptions options) {
  auto lib = curl_lib();
  if (!lib) return tl::unexpected(lib.error());
  auto url = split_url(config.server);
  if (!url)
    return make_error(config.origin, 0,
                      "cluster server \"" + config.server + "\" is not an http(s) URL");
  std::unique_ptr<Client> c(new Client(std::move(config), options));
  c->impl_->curl = *lib;
  c->impl_->url = *url;
  c->impl_->tokens = options.burst;
  CURL* handle = (*lib)->easy_init();
  if (!handle) return make_error("libcurl: cannot create a handle");
  c->impl_->idle.push_back(handle);
  return c;
}

Result<Response> Client::request(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type,
                                 const std::string& accept) {
  return perform(method, path, body, content_type, accept, nullptr);
}

Result<Response> Client::stream(const std::string& path,
                                const std::function<bool(std::string_view)>& on_data,
                                const StopFlag* stop, std::chrono::seconds idle) {
  Stream s{&on_data, stop, idle};
  return perform("GET", path, {}, {}, "application/json", &s);
}

Result<Response> Client::perform(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type,
                                 const std::string& accept, const Stream* stream) {
  Impl& im = *impl_;
  const CurlLib& cu = *im.curl;
  CURL* c = im.take();
  if (!c) return make_error("libcurl: cannot create a handle");
  struct GiveBack {
    Impl& im;
    CURL* c;
    ~GiveBack() { im.give_back(c); }
  } give_back{im, c};
  char error[CURL_ERROR_SIZE];
  bool reran_exec = false;
  int timeouts = 0;
  for (int attempt = 0;; ++attempt) {
    im.wait_for_token(options_);
    auto cred = im.credentials(config_);
    if (!cred) return tl::unexpected(cred.error());
    const std::string& token = cred->token;
    cu.easy_reset(c);
    Impl::Transfer t;
    im.set_request(c, config_, method, path, body, content_type, accept, *cred, t);
    im.set_tls(c, config_, *cred, t);
    im.set_limits(c, config_, options_, stream);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    Response resp;
    BodySink sink{&resp, options_.max_body, c, &cu, stream ? stream->on_data : nullptr};
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
    cu.easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    error[0] = 0;
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = cu.easy_perform(c);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    cu.slist_free_all(t.headers);
    cu.slist_free_all(t.connect_to);
    if (rc != CURLE_OK) {
      std::string detail = error[0] ? error : cu.easy_strerror(rc);
      bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                 rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
                 rc == CURLE_SSL_ISSUER_ERROR;
      if (tls)
        return make_error(ErrorCode::Unavailable,
                          "TLS with " + config_.server + " failed: " + detail +
                              " (check certificate-authority, tls-server-name and the client "
                              "certificate of context \"" +
                              config_.context + "\")");
      if (stream && (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_WRITE_ERROR)) {
        cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
        return resp;  // stopped by the caller
      }
      // A stalled or slow answer is tried once more (a dead connection); a server that
      // stalls again is an error, so a request ends within about twice the limits.
      bool timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      bool transient = rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                       rc == CURLE_GOT_NOTHING || rc == CURLE_COULDNT_CONNECT ||
                       rc == CURLE_PARTIAL_FILE || (timed_out && timeouts++ < 1);
      if (transient && !stream && attempt < options_.max_retries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt, 5)));
        continue;
      }
      if (rc == CURLE_WRITE_ERROR)
        return make_error(ErrorCode::Unavailable, method + " " + path + ": response larger than " +
                                                      std::to_string(options_.max_body >> 20) +
                                                      " MiB");
      if (timed_out)
        return make_error(ErrorCode::Unavailable,
                          method + " " + config_.server + path + ": timed out: " + detail);
      return make_error(ErrorCode::Unavailable,
                        method + " " + config_.server + path + ": " + detail);
    }
    cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    if (resp.status == 401 && config_.exec && !reran_exec) {
      reran_exec = true;  // the credential may have been revoked early: ask the plugin again
      std::lock_guard lock(im.mu);
      if (im.exec_cred && im.exec_cred->token == token) im.exec_cred.reset();
      continue;
    }
    if ((resp.status == 429 || (resp.status == 503 && resp.retry_after)) &&
        attempt < options_.max_retries) {
      int wait = std::min(resp.retry_after.value_or(1), 30);
      std::this_thread::sleep_for(std::chrono::seconds(wait));
      continue;
    }
    return resp;
  }
}

uint64_t Client::exec_runs() const {
  std::lock_guard lock(impl_->mu);
  return impl_->exec_runs;
}

namespace {

// What a body that is not a Kubernetes Status holds, in a few words on one line: an HTML
// page's title, else its first characters.
std::string body_hint(const Response& r) {
  std::string_view b = r.body;
  auto t1 = b.find("<title>");
  if (t1 != std::string_view::npos) {
    auto t2 = b.find("</title>", t1);
    if (t2 != std::string_view::npos) b = b.substr(t1 + 7, t2 - t1 - 7);
  }
  std::string out;
  for (char c : b.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (b.size() > 80) out += "...";
  std::string type = r.content_type.empty() ? "no content type" : r.content_type;
  return out.empty() ? "(" + type + ", empty body)" : "(" + type + ": \"" + out + "\")";
}

bool is_json(const Response& r) {
  // Kubernetes answers application/json; an empty type is accepted (old proxies drop it).
  return r.content_type.empty() || r.content_type.starts_with("application/json") ||
         r.content_type.find("+json") != std::string::npos;
}

}  // namespace

std::string Client::describe(const std::string& method, const std::string& path,
                             const Response& r) {
  std::string msg = method + " " + path + ": HTTP " + std::to_string(r.status);
  bool status = false;
  try {
    auto j = nlohmann::json::parse(r.body);
    if (j.is_object() && j.value("kind", "") == "Status") {
      status = true;
      if (j.contains("reason") && j["reason"].is_string())
        msg += " " + j["reason"].get<std::string>();
      if (j.contains("message") && j["message"].is_string())
        msg += ": " + j["message"].get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  if (!status) msg += " " + body_hint(r);
  if (r.status == 401)
    msg += " (the credentials were refused: check the user of the kubeconfig context)";
  if (r.status == 403) msg += " (grant the missing permission with a Role/ClusterRole binding)";
  return msg;
}

std::optional<std::string> Client::not_json(const std::string& method, const std::string& path,
                                            const Response& r) {
  if (is_json(r)) return std::nullopt;
  return method + " " + path + ": the answer is not JSON " + body_hint(r) +
         " (is the server of the kubeconfig an API server, and not a proxy's page?)";
}

Result<std::string> Client::get(const std::string& path) {
  auto r = request("GET", path);
  if (!r) return tl::unexpected(r.error());
  if (r->status != 200)
    return make_error(error_code_for_status(r->status), describe("GET", path, *r));
  if (auto e = not_json("GET", path, *r)) return make_error(ErrorCode::Unavailable, *e);
  return std::move(r->body);
}

Result<std::set<std::string>> Client::group_versions() {
  std::set<std::string> out;
  auto core = get("/api");
  if (!core) return tl::unexpected(core.error());
  auto apis = get("/apis");
  if (!apis) return tl::unexpected(apis.error());
  try {
    auto c = nlohmann::json::parse(*core);
    for (const auto& v : c.value("versions", nlohmann::json::array()))
      if (v.is_string()) out.insert(v.get<std::string>());
    auto a = nlohmann::json::parse(*apis);
    for (const auto& g : a.value("groups", nlohmann::json::array()))
      for (const auto& v : g.value("versions", nlohmann::json::array()))
        if (v.contains("groupVersion") && v["groupVersion"].is_string())
          out.insert(v["groupVersion"].get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    return make_error(
        ErrorCode::Unavailable,
        config_.server + ": discovery answer is not valid JSON (" + std::string(e.what()) + ")");
  }
  return out;
}

Result<Client::ListResult> Client::list(const std::string& path, int limit,
                                        const std::function<void(const ListPage&)>& on_page) {
  simdjson::ondemand::parser parser;
  const CurlLib& cu = *impl_->curl;
  for (int restart = 0;; ++restart) {
    std::string cont;
    ListResult out;
    bool expired = false;
    for (;;) {
      std::string q = path + (path.find('?') == std::string::npos ? "?" : "&") +
                      "limit=" + std::to_string(limit);
      if (!cont.empty()) {
        char* esc = cu.easy_escape(nullptr, cont.c_str(), static_cast<int>(cont.size()));
        q += std::string("&continue=") + (esc ? esc : "");
        cu.free(esc);
      }
      auto r = request("GET", q);
      if (!r) return tl::unexpected(r.error());
      if (r->status == 410 && !cont.empty()) {  // the continue token expired: list again
        expired = true;
        break;
      }
      if (r->status != 200)
        return make_error(error_code_for_status(r->status), describe("GET", q, *r));
      if (auto e = not_json("GET", q, *r)) return make_error(ErrorCode::Unavailable, *e);
      // The page's metadata: continue token and resourceVersion.
      simdjson::padded_string text(r->body);
      simdjson::ondemand::document doc;
      std::string_view next, rv;
      simdjson::ondemand::object meta;
      auto err = parser.iterate(text).get(doc);
      if (!err) err = doc.find_field_unordered("metadata").get_object().get(meta);
      if (err)
        return make_error("GET " + q + ": the answer is not a Kubernetes list (" +
                          (err == simdjson::NO_SUCH_FIELD || err == simdjson::INCORRECT_TYPE
                               ? "no metadata"
                               : "invalid JSON, or cut short") +
                          ")");
      if (meta.find_field_unordered("continue").get_string().get(next) != simdjson::SUCCESS)
        next = {};
      if (meta.find_field_unordered("resourceVersion").get_string().get(rv) != simdjson::SUCCESS)
        rv = {};
      out.resource_version = std::string(rv);
      std::string next_token(next);
      if (on_page) {
        ListPage page{out.pages.size() + 1, r->body.size(), 0, -1};
        if (meta.find_field_unordered("remainingItemCount").get_int64().get(page.remaining) !=
            simdjson::SUCCESS)
          page.remaining = -1;
        // The items are counted on the structural index the metadata was found with; a
        // page without a list of items (null) holds none.
        simdjson::ondemand::array items;
        size_t n = 0;
        if (doc.find_field_unordered("items").get_array().get(items) == simdjson::SUCCESS &&
            items.count_elements().get(n) == simdjson::SUCCESS)
          page.objects = n;
        on_page(page);
      }
      out.pages.push_back(std::move(r->body));
      if (next_token.empty()) return out;
      cont = std::move(next_token);
    }
    if (expired && restart >= 2)
      return make_error("GET " + path + ": the list kept expiring (410 Gone) while paging");
  }
}

}  // namespace stockade::kube

// Live mode against the test API server (tests/kube/fake_apiserver.py): kubeconfig
// credentials of every kind, paging with expired continue tokens, 429 Retry-After, 401/403
// messages, TLS failures, exec plugins; `kubectl` and `stockade` agree on what the server
// holds; live and file mode give identical `reach -o summary` and `map`.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "engine/engine.h"
#include "input/loader.h"
#include "kube/client.h"
#include "kube/informer.h"
#include "kube/kubeconfig.h"
#include "kube/live_state.h"
#include "support/run_command.h"
#include "support/serve_process.h"

namespace stockade::kube {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Shell {
  int code = -1;
  std::string out, err;
};

Shell run(const std::string& cmd) {
  static int n = 0;
  fs::path err = fs::temp_directory_path() /
                 ("stockade_live_err_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  Shell r;
  FILE* p = ::popen((cmd + " 2>" + err.string()).c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  fs::remove(err);
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string b64(const std::string& s) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int sh : {18, 12, 6, 0}) out += a[(v >> sh) & 63];
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += std::string{a[(v >> 18) & 63], a[(v >> 12) & 63]} + "==";
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += std::string{a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63]} + "=";
  }
  return out;
}

// Informers that reconnect soon (tests wait for them to converge).
InformerOptions quick_reconnects() {
  InformerOptions io;
  io.backoff_min = std::chrono::milliseconds(50);
  io.backoff_max = std::chrono::milliseconds(500);
  io.idle = std::chrono::seconds(5);
  return io;
}

// A pod for /_test/put.
std::string pod(const std::string& name, const std::string& app, const std::string& ns = "default",
                const std::string& ip = "") {
  json p{{"apiVersion", "v1"},
         {"kind", "Pod"},
         {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", app}}}}},
         {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "x"}}})}}}};
  if (!ip.empty()) p["status"] = {{"podIP", ip}, {"podIPs", json::array({{{"ip", ip}}})}};
  return p.dump();
}

class LiveCluster : public ::testing::Test {
 protected:
  static inline fs::path dir;
  static inline pid_t server = 0;
  static inline int port = 0;
  static inline std::string skip_reason;

  static void SetUpTestSuite() {
    if (run("command -v python3 && command -v openssl").code != 0) {
      skip_reason = "python3 or openssl missing";
      return;
    }
    dir = fs::temp_directory_path() / ("stockade_live_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::string d = dir.string();
    // A CA, a server certificate for localhost and kube.test (not for its IP address), a
    // client certificate.
    std::string ssl =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
        "-subj /CN=test-ca"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=kube-apiserver"
        " && printf 'subjectAltName=DNS:localhost,DNS:kube.test\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out server.crt -days 2 -extfile san.ext"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj /CN=alice"
        " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
        "-out client.crt -days 2"
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other-ca.crt "
        "-days 2 -subj /CN=other-ca";
    if (run("(" + ssl + ") >/dev/null").code != 0) {
      skip_reason = "openssl could not make test certificates";
      return;
    }
    // Objects: a generated cluster plus policies of every kind.
    Shell gen = run(std::string(STOCKADE_GEN_CLUSTER) + " --pods 300 --seed 7 --admin --out " + d +
                    "/objects.json");
    ASSERT_EQ(gen.code, 0) << gen.err;
    write(dir / "tokens.json",
          R"({"tok-admin": "admin", "tok-bob": "bob", "tok-exec": "exec-user"})");
    std::string cmd = "python3 " + std::string(STOCKADE_SOURCE_DIR) +
                      "/tests/kube/fake_apiserver.py --objects " + d + "/objects.json --cert " + d +
                      "/server.crt --key " + d + "/server.key --ca " + d + "/ca.crt --tokens " + d +
                      "/tokens.json --port-file " + d +
                      "/port --forbid bob:pods,bob:baselines --schemas " + STOCKADE_SOURCE_DIR +
                      "/tests/data/schemas";
    server = ::fork();
    if (server == 0) {
      ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(dir / "port"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(fs::exists(dir / "port")) << "the test API server did not start";
    port = std::stoi(slurp(dir / "port"));
    // kubeconfigs
    write(dir / "admin.kubeconfig", kubeconfig("user:\n    token: tok-admin"));
  }

  static void TearDownTestSuite() {
    if (server > 0) {
      ::kill(server, SIGTERM);
      ::waitpid(server, nullptr, 0);
    }
    if (!dir.empty()) fs::remove_all(dir);
  }

  void SetUp() override {
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
  }

  static std::string server_url(const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(port);
  }

  // A kubeconfig with one context "test" whose user block is `user`.
  static std::string kubeconfig(const std::string& user, const std::string& cluster_extra = "",
                                const std::string& server = "") {
    return "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  "
           "cluster:\n    server: " +
           (server.empty() ? server_url() : server) + "\n    certificate-authority: ca.crt\n" +
           cluster_extra +
           "contexts:\n- name: test\n  context:\n    cluster: c\n    user: u\nusers:\n- name: "
           "u\n  " +
           user + "\n";
  }

  static std::string stockade() { return STOCKADE_BINARY; }
  static std::string kc(const std::string& name) { return (dir / name).string(); }

  // The test server's address and CA, and a token when given ("tok-admin").
  static RestConfig config(const std::string& token = "") {
    RestConfig c;
    c.server = server_url();
    c.ca_file = kc("ca.crt");
    c.token = token;
    return c;
  }

  static json requests() {
    auto client = Client::create(config("tok-admin"));
    auto r = (*client)->request("GET", "/_test/requests");
    return json::parse(r->body);
  }
  static void control(const std::string& path_and_query) {
    auto client = Client::create(config());
    auto r = (*client)->request("POST", path_and_query);
    ASSERT_TRUE(r && r->status == 200);
  }

  // A test API server of a test's own, with a state file: it can be stopped, its objects
  // edited while it is down, and started again on the same port (objects kept, history not).
  struct OwnServer {
    std::string name;
    pid_t pid = 0;
    int port = 0;
    explicit OwnServer(std::string n) : name(std::move(n)) {
      fs::remove(dir / (name + ".state.json"));
    }
    ~OwnServer() { stop(); }
    fs::path port_file() const { return dir / (name + ".port"); }
    bool start(int fixed_port = 0, const std::string& extra_args = "") {
      std::string d = dir.string();
      fs::remove(port_file());
      std::string cmd =
          "exec python3 " + std::string(STOCKADE_SOURCE_DIR) +
          "/tests/kube/fake_apiserver.py --objects " + d + "/objects.json --cert " + d +
          "/server.crt --key " + d + "/server.key --ca " + d + "/ca.crt --tokens " + d +
          "/tokens.json --state-file " + d + "/" + name + ".state.json --port-file " +
          port_file().string() + " --schemas " + STOCKADE_SOURCE_DIR + "/tests/data/schemas" +
          (fixed_port ? " --port " + std::to_string(fixed_port) : "") + " " + extra_args;
      pid = ::fork();
      if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
      }
      for (int i = 0; i < 400 && !fs::exists(port_file()); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!fs::exists(port_file())) return false;
      port = std::stoi(slurp(port_file()));
      return true;
    }
    void stop() {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
      pid = 0;
    }
    // While stopped: change the saved objects (every kind, as one JSON array).
    template <typename F>
    void edit_state(F&& edit) {
      fs::path f = dir / (name + ".state.json");
      json state = json::parse(slurp(f));
      edit(state["items"]);
      for (auto& o : state["items"])
        if (!o["metadata"].contains("resourceVersion")) o["metadata"]["resourceVersion"] = "1";
      write(f, state.dump());
    }
    RestConfig config() const {
      RestConfig c;
      c.server = "https://localhost:" + std::to_string(port);
      c.ca_file = kc("ca.crt");
      c.token = "tok-admin";
      return c;
    }
    // The server's own view of a resource: "namespace/name" (or "name") -> resourceVersion.
    std::map<std::string, std::string> truth(const std::string& resource) const {
      std::map<std::string, std::string> out;
      auto client = Client::create(config());
      auto r = (*client)->request("POST", "/_test/list?resource=" + resource);
      if (!r || r->status != 200) return out;
      for (const auto& o : json::parse(r->body)) {
        std::string ns = o["metadata"].value("namespace", "");
        out[(ns.empty() ? "" : ns + "/") + o["metadata"]["name"].get<std::string>()] =
            o["metadata"]["resourceVersion"];
      }
      return out;
    }
  };
};

TEST_F(LiveCluster, LiveAndFileModeAgree) {
  std::string live = stockade() + " reach -o summary --kubeconfig " + kc("admin.kubeconfig");
  std::string file = stockade() + " reach -o summary -f " + kc("objects.json");
  Shell a = run(live), b = run(file);
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_GE(json::parse(b.out)["endpoints"].get<int>(), 300);

  // map over the same flows
  Shell flows = run(std::string(STOCKADE_GEN_FLOWS) + " --cluster " + kc("objects.json") +
                    " --records 3000 --out " + kc("flows.json"));
  ASSERT_EQ(flows.code, 0) << flows.err;
  Shell ma = run(stockade() + " map -o json --kubeconfig " + kc("admin.kubeconfig") + " --flows " +
                 kc("flows.json"));
  Shell mb =
      run(stockade() + " map -o json -f " + kc("objects.json") + " --flows " + kc("flows.json"));
  ASSERT_EQ(ma.code, 0) << ma.err;
  EXPECT_EQ(ma.out, mb.out);
}

// ClusterNetworkPolicy is read and applied at v1beta1 when the server serves it (a
// network-policy-api v0.3.0 CRD serves v1beta1 and v1alpha2), else at v1alpha2 (v0.2.x).
TEST_F(LiveCluster, ClusterNetworkPolicyAtTheServedVersion) {
  const std::string kBeta = "/apis/policy.networking.k8s.io/v1beta1/clusternetworkpolicies";
  const std::string kAlpha = "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies";
  // The objects hold ClusterNetworkPolicies (gen_cluster --admin writes them).
  ASSERT_NE(slurp(dir / "objects.json").find("\"ClusterNetworkPolicy\""), std::string::npos);
  write(dir / "cnp.yaml",
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
        "metadata: {name: served-version}\nspec:\n  tier: Baseline\n  priority: 7\n"
        "  subject: {namespaces: {}}\n  egress:\n  - action: Deny\n"
        "    to: [{networks: [\"198.51.100.0/24\"]}]\n");
  auto paths = [](const json& log, const std::string& method) {
    std::vector<std::string> out;
    for (const auto& r : log)
      if (r["method"] == method) out.push_back(r["path"].get<std::string>());
    return out;
  };
  auto uses = [](const std::vector<std::string>& ps, const std::string& prefix) {
    return std::any_of(ps.begin(), ps.end(),
                       [&](const std::string& p) { return p.rfind(prefix, 0) == 0; });
  };
  std::string file_summary;
  {
    Shell f = run(stockade() + " reach -o summary -f " + kc("objects.json"));
    ASSERT_EQ(f.code, 0) << f.err;
    file_summary = f.out;
  }
  for (bool v1beta1_served : {true, false}) {
    SCOPED_TRACE(v1beta1_served ? "v0.3.0 CRD (v1beta1 and v1alpha2)" : "v0.2 CRD (v1alpha2)");
    OwnServer srv(v1beta1_served ? "cnp-beta" : "cnp-alpha");
    ASSERT_TRUE(srv.start(0, v1beta1_served ? ""
                                            : "--served apps/v1,batch/v1,discovery.k8s.io/v1,"
                                              "networking.k8s.io/v1,rbac.authorization.k8s.io/v1,"
                                              "policy.networking.k8s.io/v1alpha1,"
                                              "policy.networking.k8s.io/v1alpha2"));
    write(dir / "own.kubeconfig",
          kubeconfig("user:\n    token: tok-admin", "", srv.config().server));
    std::string k = " --kubeconfig " + kc("own.kubeconfig");
    Shell live = run(stockade() + " reach -o summary" + k);
    ASSERT_EQ(live.code, 0) << live.err;
    EXPECT_EQ(live.out, file_summary);  // the same policies, whichever version carried them
    Shell ap = run(stockade() + " apply -f " + kc("cnp.yaml") + k);
    ASSERT_EQ(ap.code, 0) << ap.err;
    auto client = Client::create(srv.config());
    auto r = (*client)->request("GET", "/_test/requests");
    ASSERT_TRUE(r && r->status == 200);
    json log = json::parse(r->body);
    std::vector<std::string> gets = paths(log, "GET"), patches = paths(log, "PATCH");
    const std::string& want = v1beta1_served ? kBeta : kAlpha;
    const std::string& other = v1beta1_served ? kAlpha : kBeta;
    EXPECT_TRUE(uses(gets, want));
    EXPECT_FALSE(uses(gets, other));
    EXPECT_TRUE(uses(patches, want + "/served-version"));
    EXPECT_FALSE(uses(patches, other));
  }
}

// A ServiceMonitor read from a live cluster is a declared scrape target for `recommend` as it is
// in a file; a server without the Prometheus Operator's CRDs is no error.
TEST_F(LiveCluster, RecommendKeepsAServiceMonitorsScrapeTargetsFromALiveCluster) {
  const json objects = json::parse(R"([
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
     "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [
       {"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9102}]}]},
     "status": {"phase": "Running", "podIP": "10.0.0.1"}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "api-0", "namespace": "shop", "labels": {"app": "api"}},
     "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"containerPort": 9090}]}]},
     "status": {"phase": "Running", "podIP": "10.0.0.2"}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "prometheus-0", "namespace": "monitoring",
                  "labels": {"app.kubernetes.io/name": "prometheus"}},
     "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
     "status": {"phase": "Running", "podIP": "10.0.0.3"}},
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
     "spec": {"selector": {"app": "web"},
              "ports": [{"name": "metrics", "port": 9102, "targetPort": "metrics"}]}},
    {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
     "metadata": {"name": "web", "namespace": "monitoring"},
     "spec": {"namespaceSelector": {"matchNames": ["shop"]},
              "selector": {"matchLabels": {"app": "web"}},
              "endpoints": [{"port": "metrics", "interval": "30s"}]}}
  ])");
  write(dir / "monitors.json",
        json({{"apiVersion", "v1"}, {"kind", "List"}, {"items", objects}}).dump());
  std::string flows;
  int sport = 41000;
  for (const auto& [src, dst, port] :
       {std::tuple{"10.0.0.1", "10.0.0.2", 9090}, std::tuple{"10.0.0.2", "10.0.0.1", 8080}})
    flows += std::string(R"({"flow":{"time":"2026-01-01T00:00:00Z","verdict":"FORWARDED",)") +
             R"("IP":{"source":")" + src + R"(","destination":")" + dst +
             R"("},"l4":{"TCP":{"source_port":)" + std::to_string(++sport) +
             R"(,"destination_port":)" + std::to_string(port) +
             R"(,"flags":{"SYN":true}}},"is_reply":false}})" + "\n";
  write(dir / "monitors-flows.json", flows);
  const std::string rec = stockade() + " recommend -q --flows " + kc("monitors-flows.json");
  Shell file = run(rec + " -f " + kc("monitors.json"));
  ASSERT_EQ(file.code, 0) << file.err;
  const std::string kept =
      "declared by ServiceMonitor monitoring/web (Prometheus Operator scrapes it)";
  EXPECT_NE(file.out.find(kept), std::string::npos) << file.out;

  for (bool served : {true, false}) {
    SCOPED_TRACE(served ? "monitoring.coreos.com/v1 served" : "no Prometheus Operator");
    OwnServer srv(served ? "monitors" : "no-monitors");
    ASSERT_TRUE(srv.start(0, served ? "" : "--served apps/v1,batch/v1,networking.k8s.io/v1"));
    srv.stop();
    srv.edit_state([&](json& items) {
      items = json::array();
      for (const json& o : objects)
        if (served || o["kind"] != "ServiceMonitor") items.push_back(o);
    });
    ASSERT_TRUE(
        srv.start(srv.port, served ? "" : "--served apps/v1,batch/v1,networking.k8s.io/v1"));
    write(dir / "own.kubeconfig",
          kubeconfig("user:\n    token: tok-admin", "", srv.config().server));
    Shell live = run(rec + " --kubeconfig " + kc("own.kubeconfig"));
    ASSERT_EQ(live.code, 0) << live.err;
    if (served) {
      EXPECT_EQ(live.out, file.out);
    } else {
      EXPECT_EQ(live.out.find("ServiceMonitor"), std::string::npos) << live.out;
    }
  }
}

TEST_F(LiveCluster, KubectlAndStockadeSeeTheSameObjects) {
  if (run("command -v kubectl").code != 0) GTEST_SKIP() << "kubectl is not installed";
  Shell k = run("kubectl --kubeconfig " + kc("admin.kubeconfig") + " get pods -A -o json");
  ASSERT_EQ(k.code, 0) << k.err;
  std::set<std::string> kubectl_pods;
  json kubectl_list = json::parse(k.out);
  for (const auto& p : kubectl_list["items"])
    kubectl_pods.insert(p["metadata"]["namespace"].get<std::string>() + "/" +
                        p["metadata"]["name"].get<std::string>());
  std::set<std::string> file_pods;
  json objects = json::parse(slurp(dir / "objects.json"));
  for (const auto& o : objects["items"])
    if (o["kind"] == "Pod")
      file_pods.insert(o["metadata"].value("namespace", "default") + "/" +
                       o["metadata"]["name"].get<std::string>());
  EXPECT_EQ(kubectl_pods, file_pods);
  ASSERT_GT(file_pods.size(), 100u);
  // stockade's endpoints (pods by name) from the live server
  Shell s =
      run(stockade() + " reach -o json --kubeconfig " + kc("admin.kubeconfig") + " --port tcp/1");
  ASSERT_EQ(s.code, 0) << s.err;
  std::set<std::string> stockade_eps;
  json reach = json::parse(s.out);
  for (const auto& c : reach["connections"]) stockade_eps.insert(c["src"]);
  for (const auto& p : file_pods) EXPECT_TRUE(stockade_eps.count(p)) << p;

  // kubectl's table output (server-side printing) and single-object get work too.
  Shell t = run("kubectl --kubeconfig " + kc("admin.kubeconfig") + " get namespaces");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("NAME"), std::string::npos);
  std::string first = *file_pods.begin();
  Shell one =
      run("kubectl --kubeconfig " + kc("admin.kubeconfig") + " get pod -n " +
          first.substr(0, first.find('/')) + " " + first.substr(first.find('/') + 1) + " -o name");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(one.out, "pod/" + first.substr(first.find('/') + 1) + "\n");
}

TEST_F(LiveCluster, PagingSurvivesAnExpiredContinueToken) {
  auto client = Client::create(config("tok-admin"));
  ASSERT_TRUE(client);
  auto all = (*client)->list("/api/v1/pods", 1000000);
  ASSERT_TRUE(all) << all.error().str();
  size_t total = json::parse(all->pages.at(0))["items"].size();
  control("/_test/fail?path=/api/v1/pods&status=410&count=1&when=continue");
  auto paged = (*client)->list("/api/v1/pods", 40);
  ASSERT_TRUE(paged) << paged.error().str();
  size_t items = 0;
  for (const auto& p : paged->pages) items += json::parse(p)["items"].size();
  EXPECT_EQ(items, total);  // the list started over: nothing twice, nothing missing
  EXPECT_EQ(paged->pages.size(), (total + 39) / 40);
}

// Each page a list receives is reported (progress): its number, bytes, objects and what the
// server says remains; a list that starts over (an expired continue token) numbers from 1 again.
TEST_F(LiveCluster, ListReportsEachPage) {
  auto client = Client::create(config("tok-admin"));
  ASSERT_TRUE(client);
  std::vector<Client::ListPage> pages;
  auto on_page = [&](const Client::ListPage& p) { pages.push_back(p); };
  auto paged = (*client)->list("/api/v1/pods", 40, on_page);
  ASSERT_TRUE(paged) << paged.error().str();
  ASSERT_EQ(pages.size(), paged->pages.size());
  ASSERT_GE(pages.size(), 3u);
  uint64_t total = 0;
  for (const auto& p : paged->pages) total += json::parse(p)["items"].size();
  uint64_t seen = 0;
  for (size_t i = 0; i < pages.size(); ++i) {
    EXPECT_EQ(pages[i].number, i + 1);
    EXPECT_EQ(pages[i].bytes, paged->pages[i].size());
    EXPECT_EQ(pages[i].objects, json::parse(paged->pages[i])["items"].size());
    seen += pages[i].objects;
    // The server says how many remain after every page but the last.
    EXPECT_EQ(pages[i].remaining, i + 1 < pages.size() ? static_cast<int64_t>(total - seen) : -1)
        << i;
  }
  EXPECT_EQ(seen, total);

  pages.clear();
  control("/_test/fail?path=/api/v1/pods&status=410&count=1&when=continue");
  auto again = (*client)->list("/api/v1/pods", 40, on_page);
  ASSERT_TRUE(again) << again.error().str();
  // Page 1, then the 410 for page 2: the list starts over at page 1.
  ASSERT_EQ(pages.size(), again->pages.size() + 1);
  EXPECT_EQ(pages[0].number, 1u);
  EXPECT_EQ(pages[1].number, 1u);
  EXPECT_EQ(pages.back().number, again->pages.size());
  // Without a callback nothing is counted, and the list is the same.
  auto plain = (*client)->list("/api/v1/pods", 40);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->pages.size(), again->pages.size());
}

// Live mode's lists draw one progress line on a terminal (kinds, objects, pages, bytes), erased
// when the cluster is read; none in a file or with -q; the answer is the same either way.
TEST_F(LiveCluster, ProgressOfTheListsOnATerminal) {
  const std::vector<std::string> args = {"reach", "-o", "summary", "--kubeconfig",
                                         kc("admin.kubeconfig")};
  stockade::test::ProgramRun tty = stockade::test::run_program_on_terminal(stockade(), args, dir);
  ASSERT_EQ(tty.code, 0) << tty.err;
  EXPECT_NE(tty.err.find(server_url() + ": kind 1 of "), std::string::npos) << tty.err;
  EXPECT_NE(tty.err.find(" objects, "), std::string::npos) << tty.err;
  EXPECT_NE(tty.err.find(" page"), std::string::npos) << tty.err;
  EXPECT_TRUE(tty.err.ends_with("\r\033[K")) << tty.err;  // erased: the terminal is left clean
  stockade::test::ProgramRun file = stockade::test::run_program(stockade(), args, dir);
  ASSERT_EQ(file.code, 0) << file.err;
  EXPECT_EQ(file.err.find("kind 1 of"), std::string::npos) << file.err;
  EXPECT_EQ(file.err.find('\r'), std::string::npos) << file.err;
  EXPECT_EQ(tty.out, file.out);
  std::vector<std::string> quiet = args;
  quiet.push_back("-q");
  stockade::test::ProgramRun q = stockade::test::run_program_on_terminal(stockade(), quiet, dir);
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.err, "");
  EXPECT_EQ(q.out, file.out);
  // The same objects as the file they were served from.
  stockade::test::ProgramRun from_file = stockade::test::run_program(
      stockade(), {"reach", "-o", "summary", "-f", kc("objects.json")}, dir);
  EXPECT_EQ(from_file.out, file.out);
}

TEST_F(LiveCluster, TooManyRequestsIsRetriedAfterRetryAfter) {
  control("/_test/fail?path=/api/v1/namespaces&status=429&count=2&retry_after=1");
  Shell a = run(stockade() + " reach -o summary --kubeconfig " + kc("admin.kubeconfig"));
  EXPECT_EQ(a.code, 0) << a.err;
  int namespace_lists = 0;
  json log = requests();
  for (const auto& r : log)
    if (r["path"].get<std::string>().starts_with("/api/v1/namespaces?")) ++namespace_lists;
  EXPECT_GE(namespace_lists, 3);
}

TEST_F(LiveCluster, ForbiddenAndUnauthorizedAreExplained) {
  write(dir / "bob.kubeconfig", kubeconfig("user:\n    token: tok-bob"));
  Shell a = run(stockade() + " reach --kubeconfig " + kc("bob.kubeconfig"));
  EXPECT_EQ(a.code, 2);
  EXPECT_NE(a.err.find("403"), std::string::npos) << a.err;
  EXPECT_NE(a.err.find("cannot list resource \"pods\""), std::string::npos) << a.err;
  EXPECT_EQ(std::count(a.err.begin(), a.err.end(), '\n'), 1) << a.err;

  write(dir / "bad.kubeconfig", kubeconfig("user:\n    token: wrong"));
  Shell b = run(stockade() + " reach --kubeconfig " + kc("bad.kubeconfig"));
  EXPECT_EQ(b.code, 2);
  EXPECT_NE(b.err.find("401"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("credentials were refused"), std::string::npos) << b.err;
}

TEST_F(LiveCluster, TlsVerificationAndServerName) {
  // Another CA: the server's certificate is not trusted.
  std::string other = kubeconfig("user:\n    token: tok-admin");
  other.replace(other.find("ca.crt"), 6, "other-ca.crt");
  write(dir / "other.kubeconfig", other);
  Shell a = run(stockade() + " reach -o summary --kubeconfig " + kc("other.kubeconfig"));
  EXPECT_EQ(a.code, 2);
  EXPECT_NE(a.err.find("TLS"), std::string::npos) << a.err;
  // insecure-skip-tls-verify accepts it
  write(dir / "insecure.kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  "
        "cluster:\n    server: " +
            server_url() +
            "\n    insecure-skip-tls-verify: true\ncontexts:\n- name: test\n  context:\n    "
            "cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: tok-admin\n");
  EXPECT_EQ(run(stockade() + " reach -o summary --kubeconfig " + kc("insecure.kubeconfig")).code,
            0);
  // The certificate names localhost and kube.test, not 127.0.0.1: connecting by address
  // fails unless tls-server-name names what the certificate holds.
  write(dir / "ip.kubeconfig",
        kubeconfig("user:\n    token: tok-admin", "", "https://127.0.0.1:" + std::to_string(port)));
  Shell ip = run(stockade() + " reach -o summary --kubeconfig " + kc("ip.kubeconfig"));
  EXPECT_EQ(ip.code, 2);
  EXPECT_NE(ip.err.find("TLS"), std::string::npos) << ip.err;
  write(dir / "name.kubeconfig",
        kubeconfig("user:\n    token: tok-admin", "    tls-server-name: kube.test\n",
                   "https://127.0.0.1:" + std::to_string(port)));
  Shell n = run(stockade() + " reach -o summary --kubeconfig " + kc("name.kubeconfig"));
  EXPECT_EQ(n.code, 0) << n.err;
}

TEST_F(LiveCluster, ClientCertificateData) {
  std::string user = "user:\n    client-certificate-data: " + b64(slurp(dir / "client.crt")) +
                     "\n    client-key-data: " + b64(slurp(dir / "client.key"));
  write(dir / "cert.kubeconfig", kubeconfig(user));
  Shell a = run(stockade() + " reach -o summary --kubeconfig " + kc("cert.kubeconfig"));
  EXPECT_EQ(a.code, 0) << a.err;
  bool alice = false;
  json log = requests();
  for (const auto& r : log) alice = alice || r["user"] == "alice";
  EXPECT_TRUE(alice);
  // Files relative to the kubeconfig's directory.
  write(dir / "certfile.kubeconfig",
        kubeconfig("user:\n    client-certificate: client.crt\n    client-key: client.key"));
  EXPECT_EQ(run(stockade() + " reach -o summary --kubeconfig " + kc("certfile.kubeconfig")).code,
            0);
}

TEST_F(LiveCluster, ExecPluginIsCachedAndRerunOn401) {
  // The plugin counts its runs; it sees only its own env entry and KUBERNETES_EXEC_INFO.
  std::string plugin = (dir / "plugin.sh").string();
  write(plugin,
        "#!/bin/sh\n"
        "n=$(cat \"$COUNT_FILE\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$COUNT_FILE\"\n"
        "echo \"$KUBERNETES_EXEC_INFO\" > \"$COUNT_FILE.info\"\n"
        "tok=tok-exec; if [ \"$FIRST_BAD\" = 1 ] && [ $n = 1 ]; then tok=revoked; fi\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' $tok\n");
  fs::permissions(plugin, fs::perms::owner_all);
  auto config = [&](const std::string& count, bool first_bad) {
    return kubeconfig(
        "user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: "
        "./plugin.sh\n      interactiveMode: Never\n      provideClusterInfo: true\n      env:\n"
        "      - name: COUNT_FILE\n        value: " +
        count + "\n      - name: FIRST_BAD\n        value: \"" + (first_bad ? "1" : "0") + "\"\n");
  };
  write(dir / "exec.kubeconfig", config(kc("count1"), false));
  Shell a = run(stockade() + " reach -o summary --kubeconfig " + kc("exec.kubeconfig"));
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_EQ(slurp(dir / "count1"), "1\n");  // one run for every request of the snapshot
  json info = json::parse(slurp(dir / "count1.info"));
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["cluster"]["server"], server_url());
  EXPECT_FALSE(info["spec"]["cluster"]["certificate-authority-data"].get<std::string>().empty());

  write(dir / "exec2.kubeconfig", config(kc("count2"), true));
  Shell b = run(stockade() + " reach -o summary --kubeconfig " + kc("exec2.kubeconfig"));
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(slurp(dir / "count2"), "2\n");  // 401 with the first token: asked once more
}

// Server-side apply: dry run changes nothing; apply creates, re-apply is unchanged; a field
// kubectl owns is a conflict (exit 1, nothing applied) until --force-conflicts; kubectl then
// sees stockade as the owner; --prune-owned deletes what stockade applied before and the
// files no longer hold.
TEST_F(LiveCluster, ServerSideApply) {
  auto policy = [](const std::string& name, const std::string& app) {
    return "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: " + name +
           "\n  namespace: default\nspec:\n  podSelector:\n    matchLabels: {app: " + app +
           "}\n  policyTypes: [Ingress]\n";
  };
  std::string admin = " --kubeconfig " + kc("admin.kubeconfig");
  write(dir / "p1.yaml", policy("apply-one", "web") + "---\n" + policy("apply-two", "db"));
  Shell dry = run(stockade() + " apply --dry-run -f " + kc("p1.yaml") + admin);
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("NetworkPolicy default/apply-one: created (dry run)"), std::string::npos)
      << dry.out;
  EXPECT_NE(run("kubectl" + admin + " get networkpolicy apply-one -n default").code, 0);

  Shell ap = run(stockade() + " apply -f " + kc("p1.yaml") + admin);
  ASSERT_EQ(ap.code, 0) << ap.err;
  EXPECT_NE(ap.out.find("apply-one: created (applied)"), std::string::npos) << ap.out;
  Shell got = run("kubectl" + admin +
                  " get networkpolicy apply-one -n default -o json --show-managed-fields");
  ASSERT_EQ(got.code, 0) << got.err;
  json obj = json::parse(got.out);
  EXPECT_EQ(obj["spec"]["podSelector"]["matchLabels"]["app"], "web");
  EXPECT_EQ(obj["metadata"]["managedFields"][0]["manager"], "stockade");

  Shell again = run(stockade() + " apply -o json -f " + kc("p1.yaml") + admin);
  ASSERT_EQ(again.code, 0) << again.err;
  json rep = json::parse(again.out);
  EXPECT_EQ(rep["objects"][0]["action"], "unchanged");

  // kubectl owns a policy; stockade wants another selector.
  write(dir / "k.yaml", policy("by-kubectl", "web"));
  Shell k = run("kubectl" + admin + " apply --server-side -f " + kc("k.yaml"));
  ASSERT_EQ(k.code, 0) << k.err;
  write(dir / "s.yaml", policy("by-kubectl", "api"));
  Shell conflict = run(stockade() + " apply -f " + kc("s.yaml") + admin);
  EXPECT_EQ(conflict.code, 1) << conflict.err;
  EXPECT_NE(conflict.out.find(".spec.podSelector.matchLabels.app is managed by \"kubectl\""),
            std::string::npos)
      << conflict.out;
  got = run("kubectl" + admin + " get networkpolicy by-kubectl -n default -o json");
  EXPECT_EQ(json::parse(got.out)["spec"]["podSelector"]["matchLabels"]["app"], "web");
  Shell forced = run(stockade() + " apply --force-conflicts -f " + kc("s.yaml") + admin);
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.out.find("~ .spec.podSelector.matchLabels.app: \"web\" -> \"api\""),
            std::string::npos)
      << forced.out;
  // kubectl validates through the server (OpenAPI v3 names fieldValidation on PATCH): an
  // undeclared field is refused by the server, not by a client-side schema.
  write(dir / "unknown.yaml", policy("by-kubectl-2", "web") + "  bogus: 1\n");
  Shell unknown = run("kubectl" + admin + " apply --server-side -f " + kc("unknown.yaml"));
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("strict decoding error: unknown field \"spec.bogus\""),
            std::string::npos)
      << unknown.err;
  // Now kubectl's own apply conflicts with stockade.
  Shell back = run("kubectl" + admin + " apply --server-side -f " + kc("k.yaml"));
  EXPECT_NE(back.code, 0);
  EXPECT_NE(back.err.find("conflict with \"stockade\""), std::string::npos) << back.err;

  // Prune: apply-two is no longer in the files.
  write(dir / "p2.yaml", policy("apply-one", "web"));
  Shell prune = run(stockade() + " apply --prune-owned -f " + kc("p2.yaml") + admin);
  ASSERT_EQ(prune.code, 0) << prune.err;
  EXPECT_NE(prune.out.find("NetworkPolicy default/apply-two: pruned"), std::string::npos)
      << prune.out;
  EXPECT_NE(run("kubectl" + admin + " get networkpolicy apply-two -n default").code, 0);
  EXPECT_EQ(run("kubectl" + admin + " get networkpolicy apply-one -n default").code, 0);
  EXPECT_EQ(run("kubectl" + admin + " get networkpolicy by-kubectl -n default").code, 0);
}

TEST_F(LiveCluster, ApplyRefusesWhatItDoesNotManage) {
  write(dir / "pod.yaml",
        "apiVersion: v1\nkind: NetworkPolicy\nmetadata: {name: x}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
  Shell a =
      run(stockade() + " apply -f " + kc("pod.yaml") + " --kubeconfig " + kc("admin.kubeconfig"));
  EXPECT_EQ(a.code, 2);
  EXPECT_NE(a.err.find("pod.yaml:1: NetworkPolicy must have apiVersion networking.k8s.io/v1"),
            std::string::npos)
      << a.err;
  write(dir / "pod2.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
  Shell b =
      run(stockade() + " apply -f " + kc("pod2.yaml") + " --kubeconfig " + kc("admin.kubeconfig"));
  EXPECT_EQ(b.code, 2);
  EXPECT_NE(b.err.find("not Pod"), std::string::npos) << b.err;
}

// An informer against its own server (restartable, with a state file): every change reaches
// the store, through dropped watches, 410 Gone after compaction, and a restart during which
// objects changed; no lost and no phantom objects.
TEST_F(LiveCluster, InformerStaysEqualToTheServer) {
  OwnServer own("informer");
  ASSERT_TRUE(own.start());
  int wport = own.port;
  RestConfig c = own.config();
  auto control_client = Client::create(c);
  auto client = Client::create(c);
  ASSERT_TRUE(client && control_client);
  auto post = [&](const std::string& path, const std::string& body = "") {
    auto r = (*control_client)->request("POST", path, body, "application/json");
    return r && r->status == 200;
  };
  auto truth = [&] { return own.truth("pods"); };
  Informer informer(**client, "/api/v1/pods", quick_reconnects());
  std::atomic<bool> stop{false};
  Result<void> result;
  std::thread t([&] { result = informer.run(stop); });
  auto seen = [&] {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : informer.snapshot())
      out[k] = json::parse(v)["metadata"]["resourceVersion"];
    return out;
  };
  auto converges = [&] {  // a wait condition, not a timing assertion
    for (int i = 0; i < 400; ++i) {
      auto want = truth();
      if (!want.empty() && seen() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  EXPECT_TRUE(converges()) << "initial list";
  std::string victim = truth().begin()->first;
  ASSERT_TRUE(post("/_test/put", pod("informer-a", "a")));
  ASSERT_TRUE(post("/_test/put", pod("informer-a", "a2")));  // modified
  ASSERT_TRUE(post("/_test/delete?kind=Pod&namespace=" + victim.substr(0, victim.find('/')) +
                   "&name=" + victim.substr(victim.find('/') + 1)));
  EXPECT_TRUE(converges()) << "watch events";
  EXPECT_FALSE(informer.snapshot().count(victim));

  // Dropped watches: reconnect from the last version, nothing missed.
  ASSERT_TRUE(post("/_test/drop-watches"));
  ASSERT_TRUE(post("/_test/put", pod("informer-b", "b")));
  EXPECT_TRUE(converges()) << "after dropped watches";

  // Compaction: the next watch gets 410 and the informer lists again.
  ASSERT_TRUE(post("/_test/compact"));
  ASSERT_TRUE(post("/_test/drop-watches"));
  ASSERT_TRUE(post("/_test/put", pod("informer-c", "c")));
  EXPECT_TRUE(converges()) << "after 410";
  EXPECT_GE(informer.stats().expired, 1u);

  // Restart; while the server is down a pod disappears (and one appears).
  own.stop();
  own.edit_state([&](json& items) {
    json kept = json::array();
    for (auto& o : items)
      if (!(o["kind"] == "Pod" && o["metadata"]["name"] == "informer-b")) kept.push_back(o);
    kept.push_back(json::parse(pod("informer-d", "d")));
    items = kept;
  });
  ASSERT_TRUE(own.start(wport));
  EXPECT_TRUE(converges()) << "after restart";
  auto snap = informer.snapshot();
  EXPECT_FALSE(snap.count("default/informer-b"));  // no phantom
  EXPECT_TRUE(snap.count("default/informer-d"));   // nothing lost
  EXPECT_GE(informer.stats().synthesized_deletions, 1u);
  stop = true;
  t.join();
  EXPECT_TRUE(result) << result.error().str();
}

// scan reads a live cluster too: the same findings (check and resource) as from the file.
TEST_F(LiveCluster, ScanLiveAndFileFindTheSame) {
  auto findings = [&](const std::string& source) {
    Shell r = run(stockade() + " scan -o json --fail-on none " + source);
    EXPECT_EQ(r.code, 0) << r.err;
    std::set<std::string> out;
    json j = json::parse(r.out);
    for (const auto& f : j["findings"])
      out.insert(f["id"].get<std::string>() + " " + f["resource"].dump() +
                 f.value("container", ""));
    return out;
  };
  auto live = findings("--kubeconfig " + kc("admin.kubeconfig"));
  auto file = findings("-f " + kc("objects.json"));
  EXPECT_GT(file.size(), 10u);
  EXPECT_EQ(live, file);
}

// kubectl accepts the server's watch protocol: `kubectl get pods --watch` prints the ADDED,
// MODIFIED and DELETED events the server makes, with their resourceVersions.
TEST_F(LiveCluster, KubectlWatchSeesTheServersEvents) {
  if (run("command -v kubectl").code != 0) GTEST_SKIP() << "kubectl is not installed";
  fs::path out = dir / "kwatch.out", err = dir / "kwatch.err";
  pid_t k = ::fork();
  if (k == 0) {
    std::string cmd = "exec kubectl --kubeconfig " + kc("admin.kubeconfig") +
                      " get pods -n kwatch --watch -o json --output-watch-events >" + out.string() +
                      " 2>" + err.string();
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto wait_for = [](auto&& cond) {  // a condition wait, generous for a loaded machine
    for (int i = 0; i < 1200; ++i) {
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  // Changes are made once kubectl watches (else its list would fold them into one ADDED).
  bool watching = wait_for([] {
    for (const auto& r : requests()) {
      std::string p = r["path"];
      if (p.starts_with("/api/v1/namespaces/kwatch/pods?") &&
          p.find("watch=true") != std::string::npos)
        return true;
    }
    return false;
  });
  std::vector<std::string> rvs;
  auto change = [&](const std::string& path, const std::string& body) {
    RestConfig c = config();
    auto client = Client::create(c);
    auto r = (*client)->request("POST", path, body, "application/json");
    ASSERT_TRUE(r && r->status == 200);
    rvs.push_back(json::parse(r->body)["resourceVersion"]);
  };
  if (watching) {
    change("/_test/put", pod("w1", "one", "kwatch"));
    change("/_test/put", pod("w1", "two", "kwatch"));
    change("/_test/delete?kind=Pod&namespace=kwatch&name=w1", "");
  }
  std::vector<json> events;
  auto parse_events = [&] {
    events.clear();
    std::istringstream in(slurp(out));
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object()) events.push_back(j);
    }
    return events.size() >= 3;
  };
  bool printed = watching && wait_for(parse_events);
  ::kill(k, SIGTERM);
  ::waitpid(k, nullptr, 0);
  ASSERT_TRUE(watching) << "kubectl never watched: " << slurp(err);
  ASSERT_TRUE(printed) << "kubectl printed: " << slurp(out) << slurp(err);
  ASSERT_EQ(events.size(), 3u) << slurp(out);
  const char* types[] = {"ADDED", "MODIFIED", "DELETED"};
  const char* apps[] = {"one", "two", "two"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i]["type"], types[i]);
    EXPECT_EQ(events[i]["object"]["kind"], "Pod");
    EXPECT_EQ(events[i]["object"]["metadata"]["name"], "w1");
    EXPECT_EQ(events[i]["object"]["metadata"]["labels"]["app"], apps[i]);
    EXPECT_EQ(events[i]["object"]["metadata"]["resourceVersion"], rvs[i]);
  }
}

// Slow and broken answers to ordinary requests (list, discovery, apply): a trickling answer
// and a connection cut halfway are survived (retried); a stall ends with a timeout in bounded
// time; garbage, a truncated body, a wrong content type and a proxy's HTML page are one-line
// errors (exit 2) — never a hang or a crash.
TEST_F(LiveCluster, SlowAndGarbageAnswersToRequests) {
  std::string live =
      stockade() + " reach -o summary --request-timeout 3s --kubeconfig " + kc("admin.kubeconfig");
  Shell good = run(live);
  ASSERT_EQ(good.code, 0) << good.err;
  struct Case {
    std::string fault;  // the query of /_test/fail
    int code;           // stockade's exit code
    std::string message;
  };
  const Case cases[] = {
      {"path=/api/v1/namespaces&mode=trickle&chunk=64&delay=0.02&count=1", 0, ""},
      {"path=/api/v1/pods&mode=truncated&count=1", 0, ""},  // retried
      {"path=/api/v1/pods&mode=stall&count=2", 2, "timed out"},
      {"path=/api/v1/services&mode=garbage&count=1", 2,
       "GET /api/v1/services?limit=500: the answer is not a Kubernetes list (invalid JSON"},
      {"path=/api/v1/pods&mode=cut-json&count=1", 2,
       "GET /api/v1/pods?limit=500: the answer is not a Kubernetes list (invalid JSON"},
      {"path=/apis&mode=wrong-type&count=1", 2,
       "GET /apis: the answer is not JSON (text/plain; charset=utf-8: \"ok\")"},
      {"path=/api/v1/namespaces&mode=html&status=502&count=1", 2,
       "GET /api/v1/namespaces?limit=500: HTTP 502 (text/html: \"502 Bad Gateway\")"},
  };
  for (const Case& c : cases) {
    control("/_test/clear-failures");
    control("/_test/fail?" + c.fault);
    // `timeout` turns a hang into exit 124: the command must end by itself.
    Shell r = run("timeout 300 " + live);
    EXPECT_EQ(r.code, c.code) << c.fault << ": " << r.err;
    if (c.code == 0) {
      EXPECT_EQ(r.out, good.out) << c.fault;
      continue;
    }
    EXPECT_TRUE(r.err.starts_with("stockade: error: ")) << c.fault << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.fault << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.fault << ": " << r.err;
  }
  control("/_test/clear-failures");

  // apply: a garbled GET of the current object, a proxy's page instead of the PATCH answer.
  write(dir / "garbage-apply.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: garbled\n  "
        "namespace: default\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n");
  std::string apply = "timeout 300 " + stockade() + " apply --request-timeout 3s -f " +
                      kc("garbage-apply.yaml") + " --kubeconfig " + kc("admin.kubeconfig");
  const Case apply_cases[] = {
      {"path=/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/garbled&mode=garbage"
       "&count=1",
       2, "the answer is not a JSON object"},
      {"path=/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/garbled&mode=stall"
       "&count=2",
       2, "timed out"},
  };
  for (const Case& c : apply_cases) {
    control("/_test/clear-failures");
    control("/_test/fail?" + c.fault);
    Shell r = run(apply);
    EXPECT_EQ(r.code, c.code) << c.fault << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.fault << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.fault << ": " << r.err;
  }
  control("/_test/clear-failures");
  EXPECT_NE(run("kubectl --kubeconfig " + kc("admin.kubeconfig") +
                " get networkpolicy garbled -n default")
                .code,
            0);  // nothing was applied
}

// An exec credential that expires mid-command: the server refuses the old token after its
// expirationTimestamp; the client asks the plugin again when the credential expires (not
// before), and a long-running informer keeps working through several rotations.
TEST_F(LiveCluster, ExecCredentialExpiringMidCommand) {
  std::string plugin = (dir / "expiring.sh").string();
  write(plugin,
        "#!/bin/sh\n"
        "n=$(cat \"$COUNT_FILE\" 2>/dev/null || echo 0); echo $((n+1)) > \"$COUNT_FILE\"\n"
        "exp=$(( $(date +%s) + TTL ))\n"
        "echo exp.exec-user.$exp >> \"$COUNT_FILE.tokens\"\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
        "\"ExecCredential\",\"status\":{\"token\":\"exp.exec-user.%s\",\"expirationTimestamp\":"
        "\"%s\"}}' $exp \"$(date -u -d @$exp +%Y-%m-%dT%H:%M:%SZ)\"\n");
  fs::permissions(plugin, fs::perms::owner_all);
  fs::path count = dir / "expiring.count";
  RestConfig c = config();
  ExecConfig exec;
  exec.api_version = "client.authentication.k8s.io/v1beta1";
  exec.command = plugin;
  exec.env = {{"COUNT_FILE", count.string()}, {"TTL", "3"}};
  c.exec = exec;
  auto client = Client::create(c);
  ASSERT_TRUE(client);

  // While the credential is valid the plugin is not asked again.
  auto t0 = std::chrono::system_clock::now();
  for (int i = 0; i < 5; ++i) {
    auto r = (*client)->request("GET", "/api/v1/namespaces?limit=1");
    ASSERT_TRUE(r && r->status == 200) << (r ? r->body : r.error().str());
  }
  if (std::chrono::system_clock::now() - t0 < std::chrono::seconds(1)) {  // well inside 3 s
    EXPECT_EQ((*client)->exec_runs(), 1u);
  }

  // An informer over pods of one namespace, its watches renewed every second, while pods
  // come and go; it runs until the plugin has been asked at least four times.
  InformerOptions io = quick_reconnects();
  io.watch_timeout = std::chrono::seconds(1);
  Informer informer(**client, "/api/v1/namespaces/kexec/pods", io);
  std::atomic<bool> stop{false};
  Result<void> result;
  std::thread t([&] { result = informer.run(stop); });
  RestConfig admin = c;
  admin.exec.reset();
  admin.token = "tok-admin";
  auto control_client = Client::create(admin);
  int made = 0;
  for (int i = 0; i < 600 && (*client)->exec_runs() < 4; ++i) {
    auto r = (*control_client)
                 ->request("POST", "/_test/put", pod("p" + std::to_string(made++), "x", "kexec"),
                           "application/json");
    ASSERT_TRUE(r && r->status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE((*client)->exec_runs(), 4u);
  bool equal = false;
  for (int i = 0; i < 600 && !equal; ++i) {
    equal = informer.snapshot().size() == static_cast<size_t>(made);
    if (!equal) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(equal) << informer.snapshot().size() << " of " << made << " pods";
  stop = true;
  t.join();
  EXPECT_TRUE(result) << result.error().str();  // never ended by a refused credential

  // The server really refuses an expired token: the first one is refused now.
  std::string first = slurp(fs::path(count.string() + ".tokens"));
  first = first.substr(0, first.find('\n'));
  RestConfig old = admin;
  old.token = first;
  auto old_client = Client::create(old);
  auto refused = (*old_client)->request("GET", "/api/v1/namespaces?limit=1");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
}

// Informers for every kind feed a live ClusterState: through churn, dropped watches, 410 after
// compaction and a restart during which objects changed, it holds exactly the server's objects
// (no lost, no phantom) for every kind; the ClusterState built from it gives the same `reach`
// counts as file mode on the server's objects; the agent's pod directory follows the pods.
TEST_F(LiveCluster, LiveStateEqualsTheServer) {
  OwnServer own("livestate");
  ASSERT_TRUE(own.start());
  auto client = Client::create(own.config());
  auto control_client = Client::create(own.config());
  ASSERT_TRUE(client && control_client);
  auto post = [&](const std::string& path, const std::string& body = "") {
    auto r = (*control_client)->request("POST", path, body, "application/json");
    return r && r->status == 200;
  };
  LiveStateOptions lo;
  lo.informer = quick_reconnects();
  PodDirectory directory;
  auto started = LiveState::start(**client, lo, directory.handler("live"));
  ASSERT_TRUE(started) << started.error().str();
  LiveState& live = **started;
  auto synced = live.wait_synced(std::chrono::minutes(5));
  ASSERT_TRUE(synced) << synced.error().str();

  // Every kind's store against the server, by key and resourceVersion.
  auto differences = [&] {
    std::string diff;
    auto held = live.objects();
    for (const auto& [resource, objects] : held) {
      std::map<std::string, std::string> seen;
      for (const auto& [k, v] : objects) seen[k] = json::parse(v)["metadata"]["resourceVersion"];
      auto want = own.truth(resource);
      for (const auto& [k, rv] : want)
        if (!seen.count(k))
          diff += " lost " + resource + " " + k;
        else if (seen[k] != rv)
          diff += " stale " + resource + " " + k;
      for (const auto& [k, rv] : seen)
        if (!want.count(k)) diff += " phantom " + resource + " " + k;
    }
    return diff;
  };
  auto converges = [&] {  // a wait condition, not a timing assertion
    std::string diff;
    for (int i = 0; i < 600; ++i) {
      diff = differences();
      if (diff.empty()) return diff;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return diff;
  };
  EXPECT_EQ(converges(), "") << "initial lists";
  EXPECT_GE(live.objects().size(), 20u);  // every kind, the policy API kinds included

  // Churn across kinds.
  json np = {{"apiVersion", "networking.k8s.io/v1"},
             {"kind", "NetworkPolicy"},
             {"metadata", {{"name", "live-deny"}, {"namespace", "default"}}},
             {"spec", {{"podSelector", json::object()}, {"policyTypes", {"Ingress"}}}}};
  ASSERT_TRUE(post("/_test/put", pod("live-a", "a", "default", "10.250.0.1")));
  ASSERT_TRUE(post("/_test/put", pod("live-a", "a2", "default", "10.250.0.2")));
  ASSERT_TRUE(post("/_test/put", np.dump()));
  std::string svc = own.truth("services").begin()->first;
  ASSERT_TRUE(post("/_test/delete?kind=Service&namespace=" + svc.substr(0, svc.find('/')) +
                   "&name=" + svc.substr(svc.find('/') + 1)));
  ASSERT_TRUE(post("/_test/churn?count=300&rate=300"));
  EXPECT_EQ(converges(), "") << "churn";
  // Dropped watches, then 410 after compaction.
  ASSERT_TRUE(post("/_test/drop-watches"));
  ASSERT_TRUE(post("/_test/put", pod("live-b", "b")));
  EXPECT_EQ(converges(), "") << "dropped watches";
  ASSERT_TRUE(post("/_test/compact"));
  ASSERT_TRUE(post("/_test/drop-watches"));
  ASSERT_TRUE(post("/_test/put", pod("live-c", "c")));
  ASSERT_TRUE(post("/_test/delete?kind=NetworkPolicy&namespace=default&name=live-deny"));
  EXPECT_EQ(converges(), "") << "after 410";
  // A restart; while the server is down a pod and a policy vanish, a pod appears.
  own.stop();
  std::string gone_policy;
  own.edit_state([&](json& items) {
    json kept = json::array();
    for (auto& o : items) {
      if (o["kind"] == "Pod" && o["metadata"]["name"] == "live-b") continue;
      if (o["kind"] == "NetworkPolicy" && gone_policy.empty()) {
        gone_policy = o["metadata"]["namespace"].get<std::string>() + "/" +
                      o["metadata"]["name"].get<std::string>();
        continue;
      }
      kept.push_back(o);
    }
    kept.push_back(json::parse(pod("live-d", "d", "default", "10.250.0.4")));
    items = kept;
  });
  ASSERT_TRUE(own.start(own.port));
  EXPECT_EQ(converges(), "") << "after restart";
  auto held = live.objects();
  EXPECT_FALSE(held["pods"].count("default/live-b"));
  EXPECT_FALSE(held["networkpolicies"].count(gone_policy));
  EXPECT_TRUE(held["pods"].count("default/live-d"));
  uint64_t expired = 0, synthesized = 0;
  for (const auto& [r, st] : live.stats()) {
    expired += st.expired;
    synthesized += st.synthesized_deletions;
  }
  EXPECT_GE(expired, 1u);
  EXPECT_GE(synthesized, 2u);

  // The ClusterState built from the live stores and the one built from the server's objects
  // as a file give the same reach counts (and `stockade reach -f` agrees).
  json dump = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (const auto& [resource, objects] : held) {
    auto r = (*control_client)->request("POST", "/_test/list?resource=" + resource);
    ASSERT_TRUE(r && r->status == 200);
    for (auto& o : json::parse(r->body)) {
      dump["items"].push_back(o);
    }
  }
  write(dir / "livestate-dump.json", dump.dump());
  auto counts = [](const ClusterState& state) {
    auto engine = PolicyEngine::compile(state, build_endpoints(state));
    std::vector<uint8_t> all(engine->endpoints().size(), 1);
    ReachCounts c = engine->reach({})->counts(all, all);
    return std::to_string(c.endpoints) + " " + std::to_string(c.pairs) + " " +
           std::to_string(c.allowed) + " " + std::to_string(c.denied);
  };
  auto live_state = live.state();
  ASSERT_TRUE(live_state) << live_state.error().str();
  ClusterLoader file_loader;
  ASSERT_TRUE(file_loader.add_path((dir / "livestate-dump.json").string()));
  ClusterState file_state = std::move(file_loader).finish();
  EXPECT_EQ(live_state->pods.size(), file_state.pods.size());
  EXPECT_EQ(live_state->network_policies.size(), file_state.network_policies.size());
  EXPECT_EQ(live_state->cluster_policies.size(), file_state.cluster_policies.size());
  std::string live_counts = counts(*live_state);
  EXPECT_EQ(live_counts, counts(file_state));
  Shell cli = run(stockade() + " reach -o summary -f " + kc("livestate-dump.json"));
  ASSERT_EQ(cli.code, 0) << cli.err;
  json sum = json::parse(cli.out);
  EXPECT_EQ(live_counts, std::to_string(sum["endpoints"].get<uint64_t>()) + " " +
                             std::to_string(sum["pairs"].get<uint64_t>()) + " " +
                             std::to_string(sum["allowed"].get<uint64_t>()) + " " +
                             std::to_string(sum["denied"].get<uint64_t>()));

  // The pod directory (what `agent --kubeconfig` names pods with) holds every pod by UID,
  // and the addresses of the pods that have them.
  std::map<std::string, std::string> named;
  for (const auto& [uid, n] : directory.pods()) named[uid] = n.ns + "/" + n.name;
  std::map<std::string, std::string> running;
  for (const Pod& p : file_state.pods)
    if (p.phase != "Succeeded" && p.phase != "Failed") running[p.uid] = p.ns + "/" + p.name;
  EXPECT_EQ(named, running);
  EXPECT_EQ(directory.by_ip(*IpAddr::parse("10.250.0.4")),
            (PodDirectory::Name{"default", "live-d"}));
  EXPECT_FALSE(directory.by_ip(*IpAddr::parse("10.250.0.1")));  // live-a moved to .2
  EXPECT_EQ(directory.by_ip(*IpAddr::parse("10.250.0.2")),
            (PodDirectory::Name{"default", "live-a"}));
}

// A kind whose informer ends for good (here: the token expires and no plugin renews it) is
// reported, so a long-running process can say its view is no longer current.
TEST_F(LiveCluster, LiveStateReportsAKindNoLongerFollowed) {
  RestConfig c = config();
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  c.token = "exp.admin." + std::to_string(now + 3);
  auto client = Client::create(c);
  ASSERT_TRUE(client);
  LiveStateOptions lo;
  lo.resources = {"pods"};
  lo.informer = quick_reconnects();
  lo.informer.watch_timeout = std::chrono::seconds(1);
  std::mutex mu;
  std::string stopped;
  lo.on_stopped = [&](const std::string& resource, const Error& e) {
    std::lock_guard lock(mu);
    stopped = resource + ": " + e.str();
  };
  auto live = LiveState::start(**client, lo);
  ASSERT_TRUE(live) << live.error().str();
  ASSERT_TRUE((*live)->wait_synced(std::chrono::minutes(2)));
  for (int i = 0; i < 1200; ++i) {
    {
      std::lock_guard lock(mu);
      if (!stopped.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard lock(mu);
  EXPECT_TRUE(stopped.starts_with("pods: ")) << stopped;
  EXPECT_NE(stopped.find("401"), std::string::npos) << stopped;
  EXPECT_FALSE((*live)->objects()["pods"].empty());  // the last view is kept
}

// `stockade agent` takes a live cluster for naming pods: errors before any kernel work are
// one line (a refused credential, -f together with --kubeconfig, --in-cluster outside a pod).
TEST_F(LiveCluster, AgentLiveFlags) {
  write(dir / "agent-bad.kubeconfig", kubeconfig("user:\n    token: wrong"));
  Shell bad = run(stockade() + " agent --duration 1 --kubeconfig " + kc("agent-bad.kubeconfig"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("401"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  Shell both = run(stockade() + " agent --duration 1 -f " + kc("objects.json") + " --kubeconfig " +
                   kc("admin.kubeconfig"));
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("exclude each other"), std::string::npos) << both.err;
  // --in-cluster reads only the service account, never a kubeconfig file.
  Shell outside = run("env -u KUBERNETES_SERVICE_HOST KUBECONFIG=" + kc("admin.kubeconfig") + " " +
                      stockade() + " agent --duration 1 --in-cluster");
  EXPECT_EQ(outside.code, 2);
  EXPECT_NE(outside.err.find("no cluster configuration"), std::string::npos) << outside.err;
}

// The agent follows only its own node's pods (a fieldSelector on the list and the watch):
// thousands of agents each following every pod would load the API server. Kernel-free: events
// come from --events.
TEST_F(LiveCluster, AgentListsOnlyItsNodesPods) {
  const size_t before = requests().size();
  Shell r = run(stockade() + " agent --events /dev/null --output '' --node node-7 --kubeconfig " +
                kc("admin.kubeconfig"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("on node node-7"), std::string::npos) << r.err;
  int selected = 0, whole = 0;
  json log = requests();
  for (size_t i = before; i < log.size(); ++i) {
    std::string p = log[i]["path"];
    if (!p.starts_with("/api/v1/pods")) continue;
    if (p.find("fieldSelector=spec.nodeName%3Dnode-7") != std::string::npos)
      ++selected;
    else
      ++whole;
  }
  EXPECT_GT(selected, 0);
  EXPECT_EQ(whole, 0);
}

// `stockade agent --kubeconfig` names pods from a live pod informer as they come and go: a
// connection to an address is named by the pod that holds it only while that pod exists.
// Needs root and BPF (the kernel tests' conditions); skipped elsewhere.
TEST_F(LiveCluster, AgentNamesPodsFromTheLiveCluster) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  fs::path events = dir / "agent-live.ndjson", err = dir / "agent-live.err";
  pid_t agent = ::fork();
  if (agent == 0) {
    std::string cmd = "exec " + stockade() + " agent --node n1 --kubeconfig " +
                      kc("admin.kubeconfig") + " --output " + events.string() + " 2>" +
                      err.string();
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Stop {
    pid_t pid;
    ~Stop() {
      ::kill(pid, SIGINT);
      ::waitpid(pid, nullptr, 0);
    }
  } stop_agent{agent};
  for (int i = 0; i < 1200 && slurp(err).find("tracing") == std::string::npos &&
                  slurp(err).find("error") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string started = slurp(err);
  if (started.find("tracing") == std::string::npos) {
    if (std::getenv("STOCKADE_REQUIRE_BPF")) FAIL() << started;
    GTEST_SKIP() << "the agent cannot run here: " << started;
  }
  // A listener on every loopback address; 127.0.0.9 will be a pod's address.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  ASSERT_EQ(::listen(lfd, 64), 0);
  socklen_t len = sizeof any;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&any), &len);
  int port = ntohs(any.sin_port);
  auto connect_once = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.9", &to.sin_addr);
    ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to);
    ::close(fd);
    int a = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
    if (a >= 0) ::close(a);
  };
  // The newest outbound event to 127.0.0.9:port after `skip` lines, and the pod it names.
  auto newest = [&](size_t& skip) -> std::optional<std::string> {
    std::istringstream in(slurp(events));
    std::string line;
    std::optional<std::string> found;
    size_t n = 0;
    while (std::getline(in, line)) {
      if (n++ < skip) continue;
      json e = json::parse(line, nullptr, false);
      if (!e.is_object() || e.value("direction", "") != "outbound" || !e.contains("dst") ||
          e["dst"].value("ip", "") != "127.0.0.9" || e["dst"].value("port", 0) != port)
        continue;
      found = e["dst"].value("namespace", "") + "/" + e["dst"].value("pod", "");
    }
    skip = n;
    return found;
  };
  auto named_after_change = [&](const std::string& want) {
    size_t skip = 0;
    newest(skip);
    for (int i = 0; i < 600; ++i) {  // until the informer's change reaches the agent
      connect_once();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (auto got = newest(skip); got && *got == want) return true;
    }
    return false;
  };
  EXPECT_TRUE(named_after_change("/"));  // no pod holds the address yet
  RestConfig c = config();
  auto control_client = Client::create(c);
  auto put = (*control_client)
                 ->request("POST", "/_test/put", pod("agent-peer", "peer", "shop", "127.0.0.9"),
                           "application/json");
  ASSERT_TRUE(put && put->status == 200);
  EXPECT_TRUE(named_after_change("shop/agent-peer")) << slurp(err);
  auto del =
      (*control_client)->request("POST", "/_test/delete?kind=Pod&namespace=shop&name=agent-peer");
  ASSERT_TRUE(del && del->status == 200);
  EXPECT_TRUE(named_after_change("/")) << slurp(err);
  ::close(lfd);
}

// ---- kubeconfig resolution without a server ---------------------------------------------------

class Kubeconfig : public ::testing::Test {
 protected:
  fs::path d = fs::temp_directory_path() / ("stockade_kubeconfig_" + std::to_string(::getpid()));
  void SetUp() override { fs::create_directories(d / "sub"); }
  void TearDown() override { fs::remove_all(d); }
};

TEST_F(Kubeconfig, MergedListFirstFileWinsAndPathsAreRelativeToTheirFile) {
  write(d / "a.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: one\nclusters:\n- name: c1\n  cluster:\n"
        "    server: https://one.example:6443/\n    certificate-authority: ca.pem\n"
        "contexts:\n- name: one\n  context: {cluster: c1, user: u1, namespace: shop}\n"
        "users:\n- name: u1\n  user: {tokenFile: tok}\n");
  write(d / "sub" / "b.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: two\nclusters:\n- name: c1\n  cluster:\n"
        "    server: https://ignored.example\n- name: c2\n  cluster:\n    server: "
        "https://two.example\n    certificate-authority-data: " +
            b64("PEM") +
            "\n    proxy-url: http://proxy:3128\ncontexts:\n- name: two\n  context: {cluster: c2, "
            "user: u2}\nusers:\n- name: u2\n  user:\n    client-certificate: cert.pem\n"
            "    client-key: key.pem\n");
  KubeconfigOptions o;
  o.kubeconfig_env = (d / "missing.yaml").string() + ":" + (d / "a.yaml").string() + ":" +
                     (d / "sub" / "b.yaml").string();
  o.home = d.string();
  auto c = load_config(o);
  ASSERT_TRUE(c) << c.error().str();
  EXPECT_EQ(c->context, "one");  // current-context of the first file that sets it
  EXPECT_EQ(c->server, "https://one.example:6443");
  EXPECT_EQ(c->ca_file, (d / "ca.pem").string());
  EXPECT_EQ(c->token_file, (d / "tok").string());
  EXPECT_EQ(c->namespace_, "shop");
  o.context = "two";
  c = load_config(o);
  ASSERT_TRUE(c) << c.error().str();
  EXPECT_EQ(c->server, "https://two.example");
  EXPECT_EQ(c->ca_pem, "PEM");
  EXPECT_EQ(c->proxy_url, "http://proxy:3128");
  EXPECT_EQ(c->client_cert_file, (d / "sub" / "cert.pem").string());
  o.context = "three";
  c = load_config(o);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("context \"three\" not found"), std::string::npos);
}

TEST_F(Kubeconfig, ErrorsNameFileAndLine) {
  write(d / "bad.yaml", "apiVersion: v1\nkind: Config\nclusters:\n  name: x\n");
  KubeconfigOptions o;
  o.kubeconfig = (d / "bad.yaml").string();
  auto c = load_config(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, (d / "bad.yaml").string());
  EXPECT_EQ(c.error().line, 4);
  EXPECT_NE(c.error().message.find("clusters: expected a list"), std::string::npos);

  write(d / "exec.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: x\nclusters:\n- name: c\n  cluster:\n"
        "    server: https://h\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n"
        "- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n"
        "      command: x\n");
  o.kubeconfig = (d / "exec.yaml").string();
  c = load_config(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().line, 15);  // the apiVersion line
  EXPECT_NE(c.error().message.find("apiVersion must be"), std::string::npos);

  write(d / "garbage.yaml", "{{{{");
  o.kubeconfig = (d / "garbage.yaml").string();
  EXPECT_FALSE(load_config(o));
  o.kubeconfig = (d / "none.yaml").string();
  EXPECT_FALSE(load_config(o));
}

TEST_F(Kubeconfig, InClusterServiceAccount) {
  write(d / "token", "abc\n");
  write(d / "ca.crt", "PEM");
  write(d / "namespace", "stockade\n");
  KubeconfigOptions o;
  o.kubeconfig_env = "";
  o.home = (d / "nohome").string();
  o.in_cluster_dir = d.string();
  o.service_host = "fd00::1";
  o.service_port = "443";
  auto c = load_config(o);
  ASSERT_TRUE(c) << c.error().str();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->token_file, (d / "token").string());
  EXPECT_EQ(c->namespace_, "stockade");
  o.service_host.reset();
  EXPECT_FALSE(load_config(o));
}

TEST(Base64, DecodesStandardAlphabet) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVs\nbG8"), "hello");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("a$=="));
  EXPECT_FALSE(base64_decode("a"));
}

// `stockade serve` in a cluster without --token-file: every API request's bearer token is
// checked with a TokenReview and its action with a SubjectAccessReview on a stockade.io
// resource (cached), agents' batches ask for the audience "stockade", and a user's action is
// recorded under the name the cluster gives.
TEST_F(LiveCluster, ServeChecksTokensAndActionsWithTheCluster) {
  const fs::path sdir = dir / "serve-access";
  fs::create_directories(sdir);
  const fs::path log = sdir / "log";
  // The kubeconfig names ca.crt beside it: run from its directory.
  test::ServeProcess serve({"--kubeconfig", (dir / "admin.kubeconfig").string(), "--store",
                            "sqlite:" + (sdir / "db").string(), "--listen", "127.0.0.1:0"},
                           log, dir);
  const int sport = serve.port;
  ASSERT_GT(sport, 0) << slurp(log);
  auto get = [&](const std::string& path, const std::string& token,
                 const std::string& method = "GET") {
    std::string cmd = "curl -s -o /dev/null -w '%{http_code}' -X " + method + " ";
    if (!token.empty()) cmd += "-H 'Authorization: Bearer " + token + "' ";
    if (method == "POST") cmd += "-d '{}' ";
    return run(cmd + "http://127.0.0.1:" + std::to_string(sport) + path).out;
  };
  auto reviews = [&] {
    return json::parse(
        run("curl -sk https://localhost:" + std::to_string(port) + "/_test/reviews").out);
  };
  const size_t before = reviews().size();
  EXPECT_EQ(get("/api/v1/map", ""), "401");
  EXPECT_EQ(get("/api/v1/map", "tok-nobody"), "401");
  EXPECT_EQ(get("/api/v1/map", "tok-admin"), "200");
  EXPECT_EQ(get("/api/v1/map", "tok-admin"), "200");  // cached: no second review
  EXPECT_EQ(get("/healthz", ""), "200");              // open, as the probes need
  EXPECT_EQ(get("/api/v1/baselines", "tok-bob"), "403");
  EXPECT_EQ(get("/api/v1/baselines/default/lock", "tok-bob", "POST"), "403");
  EXPECT_EQ(get("/api/v1/map", "tok-bob"), "200");
  // An agent's projected token is only good with the audience "stockade".
  EXPECT_NE(get("/api/v1/agent/batches", "aud.stockade.agent-7", "POST"), "401");
  EXPECT_EQ(get("/api/v1/agent/batches", "aud.other.agent-7", "POST"), "401");
  const json r = reviews();
  std::vector<json> mine(r.begin() + static_cast<long>(before), r.end());
  int token_reviews_admin = 0, map_checks = 0;
  bool agent_audience = false, bob_refused = false;
  for (const json& x : mine) {
    if (x["kind"] == "TokenReview" && x["user"] == "admin") ++token_reviews_admin;
    if (x["kind"] == "TokenReview" && x["user"] == "agent-7")
      agent_audience = x["audiences"] == json::array({"stockade"});
    if (x["kind"] == "SubjectAccessReview") {
      EXPECT_EQ(x["group"], "stockade.io");
      if (x["user"] == "admin" && x["resource"] == "map") {
        ++map_checks;
        EXPECT_EQ(x["verb"], "get");
      }
      if (x["user"] == "bob" && x["resource"] == "baselines" && x["verb"] == "update")
        bob_refused = !x["allowed"].get<bool>();
    }
  }
  EXPECT_EQ(token_reviews_admin, 1);
  EXPECT_EQ(map_checks, 1);
  EXPECT_TRUE(agent_audience);
  EXPECT_TRUE(bob_refused);
  // The log names who asked.
  EXPECT_NE(slurp(log).find("\"user\":\"admin\""), std::string::npos);
  const int status = serve.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace stockade::kube

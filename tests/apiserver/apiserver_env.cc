#include "apiserver/apiserver_env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace stockade::testing_env {
namespace fs = std::filesystem;
using stockade::testing::RealApiServer;

namespace {

std::unique_ptr<RealApiServer> g_server;
std::unique_ptr<kube::Client> g_admin;
std::string g_skip;

bool required() {
  const char* r = std::getenv("STOCKADE_REQUIRE_APISERVER");
  return r && std::string(r) == "1";
}

// Installs one CRD (YAML as published) and waits until its group/version is served and its
// list answers.
void install_crd(kube::Client& c, const fs::path& file, const std::string& group_version,
                 const std::string& resource) {
  auto r = c.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", slurp(file),
                     "application/yaml");
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_EQ(r->status, 201) << file << ": " << r->body;
  for (int i = 0; i < 300; ++i) {
    auto l = c.request("GET", "/apis/" + group_version + "/" + resource);
    auto served = c.group_versions();
    if (l && l->status == 200 && served && served->count(group_version)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << resource << " (" << group_version << ") is not served after its CRD was created";
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!RealApiServer::bin_dir(STOCKADE_SOURCE_DIR)) {
      g_skip =
          "no kube-apiserver and etcd in build/apiserver/bin (or $STOCKADE_APISERVER_BIN): "
          "run scripts/test-apiserver.sh build";
      // Worded apart from the skip reason, which ctest reads as "skipped" (tests/CMakeLists.txt).
      if (required())
        FAIL() << "STOCKADE_REQUIRE_APISERVER=1, and the test API server is not built: run "
                  "scripts/test-apiserver.sh build";
      return;
    }
    auto s = RealApiServer::start(STOCKADE_SOURCE_DIR, "suite");
    if (!s) {
      g_skip = s.error().str();
      FAIL() << g_skip;  // binaries that do not start are a failure, never a skip
    }
    kube::RestConfig c;
    c.server = (*s)->url();
    c.ca_file = (*s)->ca_file();
    c.token = RealApiServer::kAdminToken;
    auto client = kube::Client::create(c);
    ASSERT_TRUE(client) << client.error().str();
    g_admin = std::move(*client);
    g_server = std::move(*s);
    const std::string schemas = std::string(STOCKADE_SOURCE_DIR) + "/tests/data/schemas/";
    install_crd(*g_admin, schemas + "policy.networking.k8s.io_adminnetworkpolicies.yaml",
                "policy.networking.k8s.io/v1alpha1", "adminnetworkpolicies");
    install_crd(*g_admin, schemas + "policy.networking.k8s.io_baselineadminnetworkpolicies.yaml",
                "policy.networking.k8s.io/v1alpha1", "baselineadminnetworkpolicies");
    install_crd(*g_admin, schemas + "policy.networking.k8s.io_clusternetworkpolicies.yaml",
                "policy.networking.k8s.io/v1alpha2", "clusternetworkpolicies");
  }
  void TearDown() override {
    g_admin.reset();
    g_server.reset();
  }
};

}  // namespace

RealApiServer* server() {
  return g_server.get();
}
const std::string& skip_reason() {
  return g_skip;
}
kube::Client& admin_client() {
  return *g_admin;
}

fs::path work_dir(const std::string& name) {
  fs::path p = fs::path(g_server->dir()) / "cases" / name;
  fs::create_directories(p);
  return p;
}

void create_namespace(const std::string& name) {
  auto r = g_admin->request(
      "POST", "/api/v1/namespaces",
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + name + "\"}}",
      "application/json");
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(r->status == 201 || r->status == 409) << r->body;
  // Its "default" service account, which the ServiceAccount admission plugin requires of
  // every pod (a controller-manager would make it; this cluster has none).
  r = g_admin->request(
      "POST", "/api/v1/namespaces/" + name + "/serviceaccounts",
      R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}})",
      "application/json");
  ASSERT_TRUE(r) << r.error().str();
  ASSERT_TRUE(r->status == 201 || r->status == 409) << r->body;
}

Shell run(const std::string& cmd) {
  static int n = 0;
  fs::path err =
      fs::temp_directory_path() /
      ("stockade_apiserver_err_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  Shell r;
  FILE* p = ::popen((cmd + " 2>" + err.string()).c_str(), "r");
  if (!p) return r;
  char buf[65536];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err);
  fs::remove(err);
  return r;
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace stockade::testing_env

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new stockade::testing_env::Environment());
  return RUN_ALL_TESTS();
}

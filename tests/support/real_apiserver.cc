#include "support/real_apiserver.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace stockade::testing {
namespace fs = std::filesystem;

std::optional<std::string> RealApiServer::bin_dir(const std::string& source_dir) {
  const char* env = std::getenv("STOCKADE_APISERVER_BIN");
  std::string dir = env && *env ? env : source_dir + "/build/apiserver/bin";
  if (::access((dir + "/kube-apiserver").c_str(), X_OK) != 0) return std::nullopt;
  if (::access((dir + "/etcd").c_str(), X_OK) != 0) return std::nullopt;
  return dir;
}

namespace {

// Servers of test programs killed before their end (the directory names a process that is
// gone): stopped and removed, so they do not pile up.
void reap_orphans(const std::string& script) {
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    std::string name = d.path().filename().string();
    if (name.rfind("stockade-apiserver-", 0) != 0 || !d.is_directory()) continue;
    long pid = std::atol(name.substr(name.rfind('-') + 1).c_str());
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::string cmd = "'" + script + "' stop '" + d.path().string() + "' >/dev/null 2>&1";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
}

}  // namespace

Result<std::unique_ptr<RealApiServer>> RealApiServer::start(const std::string& source_dir,
                                                            const std::string& name) {
  auto bin = bin_dir(source_dir);
  if (!bin)
    return make_error("no kube-apiserver and etcd built: run scripts/test-apiserver.sh build");
  std::unique_ptr<RealApiServer> s(new RealApiServer());
  s->script_ = source_dir + "/scripts/test-apiserver.sh";
  reap_orphans(s->script_);
  s->dir_ = (fs::temp_directory_path() /
             ("stockade-apiserver-" + name + "-" + std::to_string(::getpid())))
                .string();
  // The script finds the binaries where bin_dir() did.
  std::string cmd = "STOCKADE_APISERVER_BIN='" + *bin + "' '" + s->script_ + "' start '" + s->dir_ +
                    "' >'" + s->dir_ + ".start.log' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream log(s->dir_ + ".start.log");
  std::stringstream ss;
  ss << log.rdbuf();
  fs::remove(s->dir_ + ".start.log");
  if (rc != 0) {
    s->dir_.clear();  // the script removed it
    return make_error("the test API server did not start: " + ss.str());
  }
  std::ifstream port(s->dir_ + "/port");
  std::ifstream etcd(s->dir_ + "/etcd-url");
  if (!(port >> s->port_) || !(etcd >> s->etcd_url_))
    return make_error("the test API server started without a port file in " + s->dir_);
  return s;
}

RealApiServer::~RealApiServer() {
  if (dir_.empty()) return;
  std::string cmd = "'" + script_ + "' stop '" + dir_ + "' >/dev/null 2>&1";
  [[maybe_unused]] int rc = std::system(cmd.c_str());
}

}  // namespace stockade::testing

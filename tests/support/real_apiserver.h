// A real kube-apiserver with its etcd for tests, started on loopback by
// scripts/test-apiserver.sh (built from the upstream Go modules by `scripts/test-apiserver.sh
// build`, which scripts/test.sh runs): TLS with a throw-away CA, a static token file (an admin
// in system:masters and a user without any RBAC rights), a service-account signing key,
// Node,RBAC authorization and the default admission plugins. Stopped and removed by the
// destructor.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/error.h"

namespace stockade::testing {

class RealApiServer {
 public:
  // The directory holding kube-apiserver and etcd: $STOCKADE_APISERVER_BIN, else
  // <source_dir>/build/apiserver/bin; nullopt when either binary is missing there.
  static std::optional<std::string> bin_dir(const std::string& source_dir);
  // Starts both in a new directory named after `name` and returns once /readyz is ok.
  static Result<std::unique_ptr<RealApiServer>> start(const std::string& source_dir,
                                                      const std::string& name);
  ~RealApiServer();
  RealApiServer(const RealApiServer&) = delete;
  RealApiServer& operator=(const RealApiServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  // Kubeconfigs: "admin" (system:masters) and "nobody" (authenticated, no RBAC rights).
  std::string kubeconfig(const std::string& user) const {
    return dir_ + "/" + user + ".kubeconfig";
  }
  static constexpr const char* kAdminToken = "admin-token";
  static constexpr const char* kNobodyToken = "nobody-token";
  // etcd's client URL (its JSON gateway compacts history, for 410 tests).
  const std::string& etcd_url() const { return etcd_url_; }

 private:
  RealApiServer() = default;
  std::string script_, dir_, etcd_url_;
  int port_ = 0;
};

}  // namespace stockade::testing

// The one real API server the apiserver suite shares (started before the first case, stopped
// after the last; tests/support/real_apiserver.h), with the network-policy-api CRDs of
// tests/data/schemas installed, and small helpers for the cases.
#pragma once

#include <filesystem>
#include <string>

#include "kube/client.h"
#include "support/real_apiserver.h"

namespace stockade::testing_env {

// Null when the server could not be started; skip_reason() then says why.
stockade::testing::RealApiServer* server();
const std::string& skip_reason();
// A client with the admin token (system:masters).
kube::Client& admin_client();
// A new directory for one case's files, removed with the server's directory.
std::filesystem::path work_dir(const std::string& name);
// Creates a namespace (and waits until it is usable).
void create_namespace(const std::string& name);

struct Shell {
  int code = -1;
  std::string out, err;
};
Shell run(const std::string& cmd);
void write(const std::filesystem::path& p, const std::string& text);
std::string slurp(const std::filesystem::path& p);

}  // namespace stockade::testing_env

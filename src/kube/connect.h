// A client for the cluster that a kubeconfig and context name (else $KUBECONFIG,
// ~/.kube/config, the in-cluster service account), resolved as kubectl resolves them, with
// kubectl's --request-timeout.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/error.h"
#include "kube/client.h"

namespace stockade::kube {

struct ConnectOptions {
  std::string kubeconfig, context;
  std::string request_timeout = "0";  // as kubectl: 0 (none), N (seconds), Ns, Nm, Nh
  bool verbose = false;               // ClientOptions::verbose
  bool in_cluster_only = false;       // the service account only, whatever kubeconfig files exist
};

// kubectl's duration syntax for the common cases: 0, N (seconds), Ns, Nm, Nh. An error names
// `what`.
Result<std::chrono::seconds> parse_request_timeout(const std::string& text,
                                                   const std::string& what);

Result<std::unique_ptr<Client>> connect(const ConnectOptions& options);

}  // namespace stockade::kube

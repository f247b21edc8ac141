// Where a live cluster is and how to authenticate to it, read exactly as kubectl reads it:
// --kubeconfig, else the files listed in $KUBECONFIG (merged: the first file that sets a map
// entry or current-context wins), else ~/.kube/config, else the in-cluster service account.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace stockade::kube {

// A client.authentication.k8s.io exec credential plugin.
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // for the plugin only
  bool provide_cluster_info = false;
  std::string interactive_mode;  // Never, IfAvailable, Always
  std::string install_hint;
};

struct RestConfig {
  std::string server;  // https://host:port[/prefix]
  // TLS
  std::string ca_file;  // certificate-authority
  std::string ca_pem;   // certificate-authority-data, decoded
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
  // Credentials (at most one kind is used: client certificate, token, basic, exec)
  std::string token;
  std::string token_file;  // re-read on every request (rotated service-account tokens)
  std::string client_cert_file, client_key_file;
  std::string client_cert_pem, client_key_pem;  // -data, decoded
  std::string username, password;
  std::optional<ExecConfig> exec;
  // Impersonation (Impersonate-User/-Group/-Uid headers): `stockade serve` applying policies
  // as the user who asked it to, so the API server's RBAC and admission judge that user.
  std::string impersonate_user, impersonate_uid;
  std::vector<std::string> impersonate_groups;
  // Context
  std::string context;     // the context's name ("" for in-cluster)
  std::string cluster;     // the cluster's name
  std::string namespace_;  // the context's namespace ("" when it names none)
  std::string origin;      // the files it came from, for messages
};

struct KubeconfigOptions {
  std::string kubeconfig;  // --kubeconfig
  std::string context;     // --context
  // Where the environment is read from (tests override these).
  std::optional<std::string> kubeconfig_env;  // $KUBECONFIG
  std::optional<std::string> home;            // $HOME
  std::string in_cluster_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  std::optional<std::string> service_host, service_port;  // KUBERNETES_SERVICE_HOST/_PORT
};

// Resolves the configuration. Errors name the file and line (malformed kubeconfig) or say
// what is missing (no context, unknown context, cluster without server, ...).
Result<RestConfig> load_config(const KubeconfigOptions& options);

// Reads the environment into `options` ($KUBECONFIG, $HOME, KUBERNETES_SERVICE_HOST/_PORT).
KubeconfigOptions with_environment(KubeconfigOptions options);

// A whole file, or nullopt when it cannot be read ("-": standard input).
std::optional<std::string> read_text_file(const std::string& path);

// Base64 (standard alphabet, padding optional, whitespace ignored); nullopt when invalid.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace stockade::kube

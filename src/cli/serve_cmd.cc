// stockade serve: the loop that keeps running. This parses and checks the flags; the server
// itself is put together and run by src/server/serve.h.

#include <cstdio>
#include <mutex>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "server/serve.h"
#include "server/serve_settings.h"

namespace stockade::cli {

namespace {

// The server's settings (server/serve_settings.h) and the objects' source.
struct ServeOptions : server::ServeSettings {
  CommonOptions common;
  bool in_cluster = false;
};

int run(const ServeOptions& o) {
  const bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  value_or_usage_error(server::check_object_source(o.common.files, live));
  server::ServeConfig c;
  value_or_usage_error(server::apply_settings(o, live, c));
  c.files = o.common.files;
  c.load = load_options(o.common);
  c.load.workload_security = true;  // GET /api/v1/posture (the scan) reads the posture fields
  if (live) c.cluster = connect_cluster(o.common, o.in_cluster);
  if (!o.common.quiet) {
    auto log_mutex = std::make_shared<std::mutex>();
    c.log = [log_mutex](const std::string& line) {
      std::lock_guard lock(*log_mutex);
      std::fprintf(stderr, "%s\n", line.c_str());
    };
  }
  value_or_usage_error(server::serve(std::move(c)));
  return kExitOk;
}

}  // namespace

Runner register_serve(CLI::App& app) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "The loop that keeps running: ingest flows, keep the map, answer over HTTP");
  cmd->add_option("-f,--filename", opts->common.files,
                  "Kubernetes objects: file or directory (recursive); repeatable; read again "
                  "on SIGHUP and when they change");
  cmd->add_option("-n,--namespace", opts->common.ns,
                  "Namespace for namespaced objects that name none (default \"default\")");
  cmd->add_option("--kubeconfig", opts->common.kubeconfig,
                  "Follow a live cluster (kubeconfig): list and watch its objects");
  cmd->add_option("--context", opts->common.context, "kubeconfig context");
  cmd->add_flag("--in-cluster", opts->in_cluster,
                "Follow the cluster this pod runs in (its service account)");
  add_request_timeout_flag(*cmd, opts->common);
  cmd->add_option("--listen", opts->listen,
                  "ADDR:PORT to listen on; without --token-file only a loopback address")
      ->default_str("127.0.0.1:7080");
  cmd->add_option("--store", opts->store,
                  "sqlite:PATH (the flow journal is PATH.flows) or postgres://… (with --journal)")
      ->default_str("sqlite:stockade.db");
  cmd->add_option("--journal", opts->journal,
                  "Where the accepted flow records are journaled (default: the SQLite store's "
                  "PATH.flows)");
  cmd->add_option("--agent-interval", opts->agent_interval,
                  "The window node agents are told to aggregate over (next_interval_ms)")
      ->default_str("10s");
  cmd->add_option("--baseline-quiet", opts->baseline_quiet,
                  "A learning baseline with no new edge for this long becomes stable")
      ->default_str("24h");
  cmd->add_option("--token-file", opts->token_file,
                  "Every /api/ and console request needs Authorization: Bearer <this file's "
                  "token>");
  cmd->add_option("--tls-cert", opts->tls_cert, "Serve HTTPS with this PEM certificate");
  cmd->add_option("--tls-key", opts->tls_key, "The certificate's PEM private key");
  cmd->add_option("--admission", opts->admission, "Admission webhook mode: enforce, warn or off")
      ->check(CLI::IsMember({"enforce", "warn", "off"}))
      ->default_str("warn");
  cmd->add_flag("--guard-default-deny", opts->guard_default_deny,
                "Webhook guardrail: a locked namespace keeps its default-deny NetworkPolicy");
  cmd->add_flag("--guard-public-ingress", opts->guard_public_ingress,
                "Webhook guardrail: no NetworkPolicy rule allows ingress from every outside "
                "address");
  cmd->add_option("--guard-block-severity", opts->guard_block_severity,
                  "Webhook guardrail: Pods and workloads with posture findings at or above this "
                  "severity are refused")
      ->check(CLI::IsMember({"low", "medium", "high", "critical"}));
  cmd->add_option("--locked-label", opts->locked_label,
                  "KEY=VALUE of namespaces locked like a locked baseline (--guard-default-deny)")
      ->default_str("stockade.io/locked=true");
  cmd->add_option("--exempt-label", opts->exempt_label,
                  "KEY=VALUE of namespaces exempt from --guard-public-ingress")
      ->default_str("stockade.io/public-ingress=true");
  cmd->add_flag("!--no-admission-lint", opts->admission_lint,
                "No policy lint warnings from the webhook");
  cmd->add_option("--hubble-relay", opts->hubble_relay,
                  "Follow the flows of this Hubble Relay (HOST:PORT, gRPC Observer.GetFlows)");
  cmd->add_option("--hubble-ca", opts->hubble_ca,
                  "TLS to Hubble Relay: the CA that signed its certificate (PEM)");
  cmd->add_option("--hubble-cert", opts->hubble_cert, "TLS client certificate for Hubble Relay");
  cmd->add_option("--hubble-key", opts->hubble_key, "Its private key");
  cmd->add_option("--external-cidr", opts->external_cidrs,
                  "Group external addresses inside this CIDR into one map node; repeatable");
  cmd->add_option("--max-external-nodes", opts->max_external_nodes,
                  "At most this many external map nodes (as stockade map)")
      ->default_str("10000");
  cmd->add_option("--max-body", opts->max_body_mb,
                  "Largest request body in MiB, after decompression (larger: 413)")
      ->default_str("32")
      ->check(CLI::Range(1, 1024));
  add_gzip_ratio_flag(*cmd, opts->max_gzip_ratio);
  cmd->add_flag("-v,--verbose", opts->common.verbose, "More on stderr");
  cmd->add_flag("-q,--quiet", opts->common.quiet, "No log lines on stderr");
  return [opts] { return run(*opts); };
}

}  // namespace stockade::cli

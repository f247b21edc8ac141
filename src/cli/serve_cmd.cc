// stockade serve: the loop that keeps running. This parses and checks the flags; the server
// itself is put together and run by src/server/serve.h.

#include <cstdio>
#include <mutex>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/observe_flags.h"
#include "core/read_text.h"
#include "model/duration.h"
#include "posture/posture.h"
#include "server/serve.h"

namespace stockade::cli {

namespace {

struct ServeOptions {
  CommonOptions common;
  bool in_cluster = false;
  std::string listen = "127.0.0.1:7080";
  std::string store = "sqlite:stockade.db";
  std::string journal;
  std::string baseline_quiet = "24h";
  std::string agent_interval = "10s";
  std::string token_file;
  std::string tls_cert, tls_key;
  std::string admission = "warn";
  bool guard_default_deny = false, guard_public_ingress = false, admission_lint = true;
  std::string guard_block_severity;
  std::string locked_label = "stockade.io/locked=true";
  std::string exempt_label = "stockade.io/public-ingress=true";
  std::string hubble_relay, hubble_ca, hubble_cert, hubble_key;
  std::vector<std::string> external_cidrs;
  uint32_t max_external_nodes = 10000;
  uint32_t max_gzip_ratio = kDefaultMaxGzipRatio;
  size_t max_body_mb = 32;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Splits ADDR:PORT ("[::1]:7080" for IPv6).
std::pair<std::string, int> split_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    throw UsageError{"--listen: expected ADDR:PORT, got \"" + listen + "\""};
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      throw UsageError{"--listen: invalid port in \"" + listen + "\""};
    port = port * 10 + (c - '0');
  }
  if (port > 65535) throw UsageError{"--listen: invalid port in \"" + listen + "\""};
  return {host.empty() ? "0.0.0.0" : host, port};
}

// The HTTP server's options from the flags; without a token (or a cluster to review tokens with)
// only a loopback address.
// The webhook's flags (server/admission.h).
server::AdmissionOptions admission_options(const ServeOptions& o) {
  server::AdmissionOptions a;
  a.mode = o.admission;
  a.guard_default_deny = o.guard_default_deny;
  a.guard_public_ingress = o.guard_public_ingress;
  a.lint = o.admission_lint;
  if (!o.guard_block_severity.empty())
    a.block_severity = posture::parse_severity(o.guard_block_severity);
  std::tie(a.locked_key, a.locked_value) = parse_label_flag("--locked-label", o.locked_label);
  std::tie(a.exempt_key, a.exempt_value) = parse_label_flag("--exempt-label", o.exempt_label);
  return a;
}

server::HttpOptions http_options(const ServeOptions& o, bool live) {
  auto agent_ns = parse_duration(o.agent_interval);
  if (!agent_ns || *agent_ns < 1'000'000'000 || *agent_ns > 300'000'000'000)
    throw UsageError{"--agent-interval: expected a duration from 1s to 5m, got \"" +
                     o.agent_interval + "\""};
  auto [host, port] = split_listen(o.listen);
  server::HttpOptions ho;
  ho.host = host;
  ho.port = port;
  ho.tls_cert = o.tls_cert;
  ho.tls_key = o.tls_key;
  ho.max_body = o.max_body_mb << 20;
  ho.admission = admission_options(o);
  ho.agent_interval_ms = *agent_ns / 1'000'000;
  if (!o.token_file.empty()) {
    auto token = read_text_file(o.token_file, 64 * 1024);
    if (!token) throw UsageError{token.error().str()};
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) throw UsageError{o.token_file + ": empty token"};
    ho.token = t;
  } else if (!live && !is_loopback(host)) {
    throw UsageError{"--listen " + o.listen +
                     ": without --token-file (or a cluster to check tokens with) the server "
                     "listens on loopback only (127.0.0.1, ::1): anyone who can reach it could "
                     "read the map and post flows"};
  }
  return ho;
}

int run(const ServeOptions& o) {
  const bool live = !o.common.kubeconfig.empty() || !o.common.context.empty() || o.in_cluster;
  if (live && !o.common.files.empty())
    throw UsageError{
        "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each "
        "other"};
  if (!live && o.common.files.empty())
    throw UsageError{"no cluster objects: pass -f FILE (or --kubeconfig/--context/--in-cluster)"};
  for (const std::string& f : o.common.files)
    if (f == "-")
      throw UsageError{"-f -: the server reads its objects again when they change; give files"};
  if (o.hubble_relay.empty() &&
      !(o.hubble_ca.empty() && o.hubble_cert.empty() && o.hubble_key.empty()))
    throw UsageError{"--hubble-ca, --hubble-cert and --hubble-key go with --hubble-relay"};
  if (!o.hubble_relay.empty() && o.hubble_relay.find(':') == std::string::npos)
    throw UsageError{"--hubble-relay: expected HOST:PORT (hubble-relay.kube-system:80), got \"" +
                     o.hubble_relay + "\""};
  const bool postgres =
      o.store.rfind("postgres://", 0) == 0 || o.store.rfind("postgresql://", 0) == 0;
  if (!postgres && (o.store.rfind("sqlite:", 0) != 0 || o.store.size() == 7))
    throw UsageError{"--store: expected sqlite:PATH or postgres://…, got \"" + o.store + "\""};
  // The raw records are journaled on this host (docs/notes/serve.md): beside the SQLite file,
  // or where --journal says.
  std::string journal_path = o.journal;
  if (journal_path.empty()) {
    if (postgres)
      throw UsageError{
          "--store postgres://… needs --journal PATH: the flow records are journaled on this "
          "host"};
    journal_path = o.store.substr(7) + ".flows";
  }
  auto quiet_ns = parse_duration(o.baseline_quiet);
  if (!quiet_ns || *quiet_ns <= 0)
    throw UsageError{"--baseline-quiet: expected a positive duration (24h, 30m, 7d), got \"" +
                     o.baseline_quiet + "\""};
  server::ServeConfig c;
  c.http = http_options(o, live);
  c.files = o.common.files;
  c.load = load_options(o.common);
  c.load.workload_security = true;  // GET /api/v1/posture (the scan) reads the posture fields
  if (live) c.cluster = connect_cluster(o.common, o.in_cluster);
  c.store = o.store;
  c.journal_path = journal_path;
  c.baseline_quiet_ns = *quiet_ns;
  for (const std::string& cidr_text : o.external_cidrs) {
    auto cidr = Cidr::parse(cidr_text);
    if (!cidr) throw UsageError{"--external-cidr: invalid CIDR \"" + cidr_text + "\""};
    c.state.external_groups.push_back(*cidr);
  }
  c.state.max_external_nodes = o.max_external_nodes;
  c.state.max_gzip_ratio = o.max_gzip_ratio;
  c.relay.address = o.hubble_relay;
  c.relay.ca_file = o.hubble_ca;
  c.relay.cert_file = o.hubble_cert;
  c.relay.key_file = o.hubble_key;
  if (!o.common.quiet) {
    auto log_mutex = std::make_shared<std::mutex>();
    c.log = [log_mutex](const std::string& line) {
      std::lock_guard lock(*log_mutex);
      std::fprintf(stderr, "%s\n", line.c_str());
    };
  }
  if (auto r = server::serve(std::move(c)); !r) throw UsageError{r.error().str()};
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

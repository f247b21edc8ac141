#include "server/serve_settings.h"

#include "core/labels.h"
#include "core/read_text.h"
#include "flow/edge_graph.h"
#include "model/duration.h"
#include "posture/posture.h"

namespace stockade::server {

namespace {

tl::unexpected<Error> usage(std::string message) {
  return make_error(ErrorCode::Usage, std::move(message));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The webhook's settings (server/admission.h).
Result<AdmissionOptions> admission_options(const ServeSettings& s) {
  AdmissionOptions a;
  a.mode = s.admission;
  a.guard_default_deny = s.guard_default_deny;
  a.guard_public_ingress = s.guard_public_ingress;
  a.lint = s.admission_lint;
  if (!s.guard_block_severity.empty())
    a.block_severity = posture::parse_severity(s.guard_block_severity);
  auto locked = parse_label_pair(s.locked_label, "--locked-label");
  if (!locked) return usage(locked.error().str());
  auto exempt = parse_label_pair(s.exempt_label, "--exempt-label");
  if (!exempt) return usage(exempt.error().str());
  std::tie(a.locked_key, a.locked_value) = *locked;
  std::tie(a.exempt_key, a.exempt_value) = *exempt;
  return a;
}

Result<HttpOptions> http_options(const ServeSettings& s, bool live) {
  auto agent_ns = parse_duration(s.agent_interval);
  if (!agent_ns || *agent_ns < 1'000'000'000 || *agent_ns > 300'000'000'000)
    return usage("--agent-interval: expected a duration from 1s to 5m, got \"" + s.agent_interval +
                 "\"");
  auto listen = split_listen(s.listen);
  if (!listen) return tl::unexpected(listen.error());
  const auto& [host, port] = *listen;
  HttpOptions ho;
  ho.host = host;
  ho.port = port;
  ho.tls_cert = s.tls_cert;
  ho.tls_key = s.tls_key;
  ho.max_body = s.max_body_mb << 20;
  auto admission = admission_options(s);
  if (!admission) return tl::unexpected(admission.error());
  ho.admission = std::move(*admission);
  ho.agent_interval_ms = *agent_ns / 1'000'000;
  if (!s.token_file.empty()) {
    auto token = read_text_file(s.token_file, 64 * 1024);
    if (!token) return usage(token.error().str());
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    if (t.empty()) return usage(s.token_file + ": empty token");
    ho.token = t;
  } else if (!live && !is_loopback(host)) {
    return usage("--listen " + s.listen +
                 ": without --token-file (or a cluster to check tokens with) the server "
                 "listens on loopback only (127.0.0.1, ::1): anyone who can reach it could "
                 "read the map and post flows");
  }
  return ho;
}

// The store, and where the raw records are journaled on this host (docs/notes/serve.md):
// beside the SQLite file, or where `journal` says.
Result<void> store_settings(const ServeSettings& s, ServeConfig& c) {
  const bool postgres =
      s.store.rfind("postgres://", 0) == 0 || s.store.rfind("postgresql://", 0) == 0;
  if (!postgres && (s.store.rfind("sqlite:", 0) != 0 || s.store.size() == 7))
    return usage("--store: expected sqlite:PATH or postgres://…, got \"" + s.store + "\"");
  c.store = s.store;
  c.journal_path = s.journal;
  if (c.journal_path.empty()) {
    if (postgres)
      return usage(
          "--store postgres://… needs --journal PATH: the flow records are journaled on this "
          "host");
    c.journal_path = s.store.substr(7) + ".flows";
  }
  return {};
}

}  // namespace

std::vector<Setting> settings(ServeSettings& s) {
  using B = Setting::Bound;
  return {
      {.name = "--listen",
       .help = "ADDR:PORT to listen on; without --token-file only a loopback address",
       .field = &s.listen,
       .show_default = true},
      {.name = "--store",
       .help = "sqlite:PATH (the flow journal is PATH.flows) or postgres://… (with --journal)",
       .field = &s.store,
       .show_default = true},
      {.name = "--journal",
       .help = "Where the accepted flow records are journaled (default: the SQLite store's "
               "PATH.flows)",
       .field = &s.journal},
      {.name = "--agent-interval",
       .help = "The window node agents are told to aggregate over (next_interval_ms)",
       .field = &s.agent_interval,
       .show_default = true},
      {.name = "--baseline-quiet",
       .help = "A learning baseline with no new edge for this long becomes stable",
       .field = &s.baseline_quiet,
       .show_default = true},
      {.name = "--token-file",
       .help = "Every /api/ and console request needs Authorization: Bearer <this file's "
               "token>",
       .field = &s.token_file},
      {.name = "--tls-cert", .help = "Serve HTTPS with this PEM certificate", .field = &s.tls_cert},
      {.name = "--tls-key", .help = "The certificate's PEM private key", .field = &s.tls_key},
      {.name = "--admission",
       .help = "Admission webhook mode: enforce, warn or off",
       .field = &s.admission,
       .show_default = true,
       .choices = {"enforce", "warn", "off"}},
      {.name = "--guard-default-deny",
       .help = "Webhook guardrail: a locked namespace keeps its default-deny NetworkPolicy",
       .field = &s.guard_default_deny},
      {.name = "--guard-public-ingress",
       .help = "Webhook guardrail: no NetworkPolicy rule allows ingress from every outside "
               "address",
       .field = &s.guard_public_ingress},
      {.name = "--guard-block-severity",
       .help = "Webhook guardrail: Pods and workloads with posture findings at or above this "
               "severity are refused",
       .field = &s.guard_block_severity,
       .choices = {"low", "medium", "high", "critical"}},
      {.name = "--locked-label",
       .help = "KEY=VALUE of namespaces locked like a locked baseline (--guard-default-deny)",
       .field = &s.locked_label,
       .show_default = true},
      {.name = "--exempt-label",
       .help = "KEY=VALUE of namespaces exempt from --guard-public-ingress",
       .field = &s.exempt_label,
       .show_default = true},
      {.name = "!--no-admission-lint",
       .help = "No policy lint warnings from the webhook",
       .field = &s.admission_lint},
      {.name = "--hubble-relay",
       .help = "Follow the flows of this Hubble Relay (HOST:PORT, gRPC Observer.GetFlows)",
       .field = &s.hubble_relay},
      {.name = "--hubble-ca",
       .help = "TLS to Hubble Relay: the CA that signed its certificate (PEM)",
       .field = &s.hubble_ca},
      {.name = "--hubble-cert",
       .help = "TLS client certificate for Hubble Relay",
       .field = &s.hubble_cert},
      {.name = "--hubble-key", .help = "Its private key", .field = &s.hubble_key},
      {.name = "--external-cidr",
       .help = "Group external addresses inside this CIDR into one map node; repeatable",
       .field = &s.external_cidrs},
      {.name = "--max-external-nodes",
       .help = "At most this many external map nodes (as stockade map)",
       .field = &s.max_external_nodes,
       .show_default = true},
      {.name = "--max-body",
       .help = "Largest request body in MiB, after decompression (larger: 413)",
       .field = &s.max_body_mb,
       .show_default = true,
       .bound = B::Range,
       .min = 1,
       .max = 1024},
      gzip_ratio_setting(s.max_gzip_ratio),
  };
}

Result<std::pair<std::string, int>> split_listen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    return usage("--listen: expected ADDR:PORT, got \"" + listen + "\"");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  int port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535)
      return usage("--listen: invalid port in \"" + listen + "\"");
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return usage("--listen: invalid port in \"" + listen + "\"");
  return std::pair{host.empty() ? "0.0.0.0" : host, port};
}

Result<void> check_object_source(const std::vector<std::string>& files, bool live) {
  if (live && !files.empty())
    return usage(
        "-f and a live cluster (--kubeconfig, --context, --in-cluster) exclude each other");
  if (!live && files.empty())
    return usage("no cluster objects: pass -f FILE (or --kubeconfig/--context/--in-cluster)");
  for (const std::string& f : files)
    if (f == "-")
      return usage("-f -: the server reads its objects again when they change; give files");
  return {};
}

Result<void> apply_settings(const ServeSettings& s, bool live, ServeConfig& c) {
  if (s.hubble_relay.empty() &&
      !(s.hubble_ca.empty() && s.hubble_cert.empty() && s.hubble_key.empty()))
    return usage("--hubble-ca, --hubble-cert and --hubble-key go with --hubble-relay");
  if (!s.hubble_relay.empty() && s.hubble_relay.find(':') == std::string::npos)
    return usage("--hubble-relay: expected HOST:PORT (hubble-relay.kube-system:80), got \"" +
                 s.hubble_relay + "\"");
  if (auto r = store_settings(s, c); !r) return r;
  auto quiet_ns = parse_duration(s.baseline_quiet);
  if (!quiet_ns || *quiet_ns <= 0)
    return usage("--baseline-quiet: expected a positive duration (24h, 30m, 7d), got \"" +
                 s.baseline_quiet + "\"");
  c.baseline_quiet_ns = *quiet_ns;
  auto http = http_options(s, live);
  if (!http) return tl::unexpected(http.error());
  c.http = std::move(*http);
  auto groups = parse_external_groups(s.external_cidrs);
  if (!groups) return tl::unexpected(groups.error());
  c.state.external_groups = std::move(*groups);
  c.state.max_external_nodes = s.max_external_nodes;
  c.state.max_gzip_ratio = s.max_gzip_ratio;
  c.relay.address = s.hubble_relay;
  c.relay.ca_file = s.hubble_ca;
  c.relay.cert_file = s.hubble_cert;
  c.relay.key_file = s.hubble_key;
  return {};
}

}  // namespace stockade::server

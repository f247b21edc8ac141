// What `stockade serve` is told, as text (its flags; a configuration file or a chart's values
// would give the same), checked and turned into the parts of a ServeConfig: the listening
// address, the token, TLS, the admission webhook's guardrails, the store and the flow journal,
// the Hubble Relay follower, the map's grouping. The objects' source (files or a cluster) and
// the log are the caller's. Errors are ErrorCode::Usage and name the setting as a flag
// ("--listen: ...").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/settings.h"
#include "input/flow_read_settings.h"
#include "server/serve.h"

namespace stockade::server {

struct ServeSettings {
  std::string listen = "127.0.0.1:7080";  // ADDR:PORT ("[::1]:7080" for IPv6)
  std::string store = "sqlite:stockade.db";
  std::string journal;  // empty: beside the SQLite store (PATH.flows); needed with PostgreSQL
  std::string baseline_quiet = "24h";
  std::string agent_interval = "10s";  // from 1s to 5m
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

// Each setting (core/settings.h) as `stockade serve` takes it, in the order its --help lists
// them: the flag, what it means, its default and the values allowed.
std::vector<Setting> settings(ServeSettings& s);

// Splits ADDR:PORT ("[::1]:7080" for IPv6; an empty ADDR is 0.0.0.0).
Result<std::pair<std::string, int>> split_listen(const std::string& listen);

// The objects come from `files` or from a cluster (`live`), one of them; files, never standard
// input: the server reads them again when they change.
Result<void> check_object_source(const std::vector<std::string>& files, bool live);

// Fills `config`'s http, store, journal_path, baseline_quiet_ns, state and relay from `s`.
// `live`: a cluster will review the bearer tokens; without it (and without a token file) only a
// loopback address is accepted: anyone who could reach the server could read the map.
Result<void> apply_settings(const ServeSettings& s, bool live, ServeConfig& config);

}  // namespace stockade::server

#include "agent/agent_settings.h"

#include "agent/event_file.h"

#include <unistd.h>

#include <cmath>
#include <fstream>

namespace stockade::agent {

namespace {

// The checks, in the order a command line reports them; "" when all pass.
std::string invalid(const AgentSettings& s) {
  // NaN passes every comparison, and infinity overflows the deadline: both refused.
  if (!std::isfinite(s.duration) || s.duration < 0)
    return "--duration: must be 0 (until stopped) or more seconds";
  if (!std::isfinite(s.udp_interval) || s.udp_interval <= 0)
    return "--udp-interval: must be more than 0 seconds";
  if (s.ring_size < 4096 || (s.ring_size & (s.ring_size - 1)) != 0)
    return "--ring-size: must be a power of two of at least 4096 bytes";
  if (!s.server.empty() && !s.server.starts_with("http://") && !s.server.starts_with("https://"))
    return "--server: expected an http:// or https:// URL, got \"" + s.server + "\"";
  if (!std::isfinite(s.batch_window) || s.batch_window < 1 || s.batch_window > 300)
    return "--batch-window: must be 1 to 300 seconds";
  if (!s.spool.empty() && s.server.empty())
    return "--spool: keeps batches for --server, which is not given";
  if (!s.server_token_file.empty() && s.server.empty())
    return "--server-token-file: a token for --server, which is not given";
  if (!s.server_ca.empty() && !s.server.starts_with("https://"))
    return "--server-ca: a CA for an https:// --server, which is not given";
  if (!s.server_ca.empty() && !std::ifstream(s.server_ca))
    return "--server-ca: cannot read " + s.server_ca;
  return {};
}

}  // namespace

Result<AgentOptions> agent_options(const AgentSettings& s) {
  if (std::string why = invalid(s); !why.empty()) return make_error(ErrorCode::Usage, why);
  AgentOptions ao;
  ao.output = s.output;
  ao.server = s.server;
  ao.spool = s.spool;
  ao.server_token_file = s.server_token_file;
  ao.server_ca = s.server_ca;
  ao.window_ns = static_cast<int64_t>(s.batch_window * 1e9);
  if (!s.events.empty()) ao.events = events_from_file(s.events);
  ao.duration_s = s.duration;
  ao.node = s.node;
  if (ao.node.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) ao.node = host;
  }
  ao.probe.udp_interval_ns = static_cast<uint64_t>(s.udp_interval * 1e9);
  ao.probe.ring_bytes = s.ring_size;
  return ao;
}

std::vector<Setting> delivery_settings(AgentSettings& s) {
  return {
      {.name = "--output",
       .help = "Where events go: a file (appended) or - for stdout",
       .field = &s.output,
       .show_default = true},
      {.name = "--server",
       .help = "Aggregate on the node and POST batches of edges to a Stockade server: "
               "URL/api/v1/agent/batches",
       .field = &s.server},
      {.name = "--server-token-file",
       .help = "Send the bearer token in this file to --server, read again for every request "
               "(a projected service-account token with the audience stockade)",
       .field = &s.server_token_file},
      {.name = "--server-ca",
       .help = "PEM CA certificates that --server's certificate must chain to (default: the "
               "system's)",
       .field = &s.server_ca},
      {.name = "--spool",
       .help = "Keep unacknowledged batches in this directory (written before they are "
               "sent; replayed by the next run)",
       .field = &s.spool},
      {.name = "--batch-window",
       .help = "Aggregation window in seconds until the server asks for another (default 10)",
       .field = &s.batch_window},
  };
}

std::vector<Setting> watch_settings(AgentSettings& s) {
  return {
      {.name = "--events",
       .help = "Agent events (NDJSON, as --output writes them) from a file or - instead of "
               "the kernel: no eBPF; stops at the end of the input",
       .field = &s.events},
      {.name = "--duration",
       .help = "Stop after S seconds (default: until SIGINT)",
       .field = &s.duration},
      {.name = "--node",
       .help = "Node name added to every event (default: hostname)",
       .field = &s.node},
  };
}

std::vector<Setting> probe_settings(AgentSettings& s) {
  return {
      {.name = "--udp-interval",
       .help = "Report each UDP 5-tuple at most once per S seconds (default 10)",
       .field = &s.udp_interval},
      {.name = "--ring-size",
       .help = "Kernel ring buffer in bytes, a power of two (default 8 MiB)",
       .field = &s.ring_size},
  };
}

}  // namespace stockade::agent

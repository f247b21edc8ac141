// What L7 records say (Hubble `l7`: HTTP requests, DNS answers), aggregated as records are read
// beside the connection edges of observed.h: HTTP requests per (client, server, port, method,
// path, host), and the names DNS answers gave addresses (for toFQDNs rules and their verdicts).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ip.h"
#include "engine/engine.h"
#include "model/flow.h"

namespace stockade {

class EdgeGraph;

// One side of a request: a cluster endpoint, or an address outside the pods.
struct L7Peer {
  std::optional<uint32_t> endpoint;
  IpAddr ip;
  friend auto operator<=>(const L7Peer&, const L7Peer&) = default;
};

struct ObservedHttp {
  L7Peer src, dst;
  uint16_t port = 0;
  std::string method, path, host;  // path with its query, as the proxy matches it
  uint64_t count = 0;
  int64_t first = 0, last = 0;
};

// A DNS answer: a client asked for `name` and got `ip`.
struct ObservedDns {
  std::optional<uint32_t> client;  // the endpoint that asked, when known
  DnsName answer;
  uint64_t count = 0;
  friend bool operator<(const ObservedDns& a, const ObservedDns& b) {
    return std::tie(a.client, a.answer) < std::tie(b.client, b.answer);
  }
};

struct ObservedL7 {
  std::vector<ObservedHttp> http;  // sorted by (src, dst, port, method, path, host)
  std::vector<ObservedDns> dns;    // sorted, unique
  uint64_t http_records = 0;       // HTTP request records
  uint64_t dns_records = 0;        // DNS answers with addresses
  uint64_t unresolved = 0;         // HTTP requests whose sides named no endpoint or address
  // Every (address, name) of `dns`, for PolicyEngine::learn_dns.
  std::vector<DnsName> names() const;
};

// Aggregates the L7 records of a read (on the thread that calls add).
class L7Collector {
 public:
  L7Collector(const PolicyEngine& engine, const EdgeGraph& graph);
  ~L7Collector();
  void add(const Flow& f);
  ObservedL7 finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockade

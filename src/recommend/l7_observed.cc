#include "recommend/l7_observed.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "flow/edge_graph.h"
#include "recommend/l7_paths.h"

namespace stockade {

namespace {

using HttpKey = std::tuple<L7Peer, L7Peer, uint16_t, std::string, std::string, std::string>;

std::string lower_name(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

struct L7Collector::Impl {
  const PolicyEngine& engine;
  const EdgeGraph& graph;
  std::map<HttpKey, ObservedHttp> http;
  std::map<std::pair<std::optional<uint32_t>, DnsName>, uint64_t> dns;
  uint64_t http_records = 0, dns_records = 0, unresolved = 0;

  // The pod a record names (by UID or name, as the edges resolve it), else by address.
  std::optional<L7Peer> peer(const FlowPeer& p) const {
    uint32_t hint = p.hint ? p.hint : graph.hint(p);
    if (hint >= 2) return L7Peer{hint - 2, {}};
    if (!p.ip) return std::nullopt;
    if (auto e = engine.find_endpoint_by_ip(*p.ip)) return L7Peer{*e, {}};
    if (!p.pod.empty()) return std::nullopt;  // a pod the objects lack
    return L7Peer{std::nullopt, *p.ip};
  }
};

L7Collector::L7Collector(const PolicyEngine& engine, const EdgeGraph& graph)
    : impl_(new Impl{engine, graph, {}, {}, 0, 0, 0}) {}
L7Collector::~L7Collector() = default;

void L7Collector::add(const Flow& f) {
  const L7Info* l7 = f.l7_info;
  if (l7 == nullptr) return;
  Impl& m = *impl_;
  if (!l7->http_method.empty() && l7->type == L7Info::Type::Request) {
    ++m.http_records;
    auto src = m.peer(f.src), dst = m.peer(f.dst);
    if (!src || !dst || f.dst.port == 0) {
      ++m.unresolved;
      return;
    }
    l7::SplitUrl u = l7::split_url(l7->http_url);
    HttpKey key{*src,
                *dst,
                f.dst.port,
                std::string(l7->http_method),
                std::string(u.path),
                std::string(u.host)};
    auto [it, fresh] = m.http.try_emplace(std::move(key));
    ObservedHttp& h = it->second;
    if (fresh) {
      h.src = *src;
      h.dst = *dst;
      h.port = f.dst.port;
      h.method = l7->http_method;
      h.path = u.path;
      h.host = u.host;
      h.first = h.last = f.time_ns;
    }
    ++h.count;
    if (f.time_ns && (!h.first || f.time_ns < h.first)) h.first = f.time_ns;
    h.last = std::max(h.last, f.time_ns);
    return;
  }
  if (!l7->dns_query.empty() && l7->dns_ip_count > 0) {
    ++m.dns_records;
    // The answer goes to the client: the record's destination on a response.
    const FlowPeer& client = l7->type == L7Info::Type::Response ? f.dst : f.src;
    std::optional<uint32_t> who;
    if (auto p = m.peer(client); p && p->endpoint) who = p->endpoint;
    std::string name = lower_name(l7->dns_query);
    for (uint8_t i = 0; i < l7->dns_ip_count; ++i)
      if (auto ip = IpAddr::parse(l7->dns_ips[i])) ++m.dns[{who, DnsName{*ip, name}}];
  }
}

ObservedL7 L7Collector::finish() {
  ObservedL7 out;
  Impl& m = *impl_;
  out.http.reserve(m.http.size());
  for (auto& [k, v] : m.http) out.http.push_back(std::move(v));
  for (auto& [k, count] : m.dns) out.dns.push_back(ObservedDns{k.first, k.second, count});
  out.http_records = m.http_records;
  out.dns_records = m.dns_records;
  out.unresolved = m.unresolved;
  return out;
}

std::vector<DnsName> ObservedL7::names() const {
  std::vector<DnsName> out;
  for (const ObservedDns& d : dns) out.push_back(d.answer);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace stockade

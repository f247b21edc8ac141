#include "detect/detect.h"

#include <algorithm>
#include <bit>
#include <tuple>
#include <unordered_map>

namespace stockade::detect {

std::string_view to_string(SignalType t) {
  switch (t) {
    case SignalType::PortScan:
      return "port-scan";
    case SignalType::HostSweep:
      return "host-sweep";
    case SignalType::SynFlood:
      return "syn-flood";
    case SignalType::UdpFlood:
      return "udp-flood";
    case SignalType::IcmpFlood:
      return "icmp-flood";
  }
  return "unknown";
}

namespace {

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

uint64_t ip_hash(const IpAddr& ip) {
  return mix(ip.lo * 0x9E3779B97F4A7C15ULL ^ ip.hi ^ (ip.v6 ? 0x5bd1e995ULL : 0));
}

bool icmp(L4Protocol p) {
  return p == L4Protocol::ICMPv4 || p == L4Protocol::ICMPv6;
}

bool counted_protocol(L4Protocol p) {
  return p == L4Protocol::TCP || p == L4Protocol::UDP || icmp(p);
}

std::string proto_port(L4Protocol p, uint16_t port) {
  std::string s(to_string(p));
  if (!icmp(p)) s += "/" + std::to_string(port);
  return s;
}

// The aggregates one pair of windows is judged on.
struct ScanKey {
  IpAddr src, dst;
  L4Protocol protocol;
  bool operator==(const ScanKey&) const = default;
};
struct SweepKey {
  IpAddr src;
  L4Protocol protocol;
  uint16_t port;
  bool operator==(const SweepKey&) const = default;
};
struct TargetKey {
  IpAddr dst;
  L4Protocol protocol;
  uint16_t port;
  bool operator==(const TargetKey&) const = default;
};
struct AggHash {
  size_t operator()(const ScanKey& k) const {
    return ip_hash(k.src) ^ mix(ip_hash(k.dst) + static_cast<uint8_t>(k.protocol));
  }
  size_t operator()(const SweepKey& k) const {
    return ip_hash(k.src) ^ mix(uint64_t{k.port} << 8 | static_cast<uint8_t>(k.protocol));
  }
  size_t operator()(const TargetKey& k) const {
    return ip_hash(k.dst) ^ mix(uint64_t{k.port} << 8 | static_cast<uint8_t>(k.protocol));
  }
};

struct Span {
  uint64_t unanswered = 0;
  int64_t first = 0, last = 0;
  void add(uint64_t n, int64_t f, int64_t l) {
    unanswered += n;
    if (f && (!first || f < first)) first = f;
    if (l > last) last = l;
  }
};
struct ScanAgg : Span {
  uint64_t tried = 0, ports = 0;  // ports tried, ports never answered
  uint16_t low = UINT16_MAX, high = 0;
};
struct SweepAgg : Span {
  uint64_t tried = 0;
  std::vector<IpAddr> targets;  // never answered
};
struct TargetAgg : Span {
  uint64_t attempts = 0, sources = 0, top_count = 0;
  IpAddr top;
};

}  // namespace

size_t Detector::KeyHash::operator()(const Key& k) const {
  return ip_hash(k.src) ^
         mix(ip_hash(k.dst) + (uint64_t{k.port} << 8 | static_cast<uint8_t>(k.protocol)));
}

Detector::Detector(Thresholds t) : t_(t) {
  if (t_.window_ns <= 0) t_.window_ns = 1;
}

Detector::~Detector() = default;

Detector::Table& Detector::window(int64_t time_ns) {
  // Floor division: records before 1970 are no reason to misplace a window.
  int64_t index = time_ns / t_.window_ns;
  if (time_ns < 0 && index * t_.window_ns != time_ns) --index;
  if (index == last_index_ && last_window_) return last_window_->table;
  auto& slot = windows_[index];
  if (!slot) slot = std::make_unique<Window>();
  // A window judged before and counted into again (records arriving late) is judged again.
  slot->dirty = true;
  last_index_ = index;
  last_window_ = slot.get();
  return slot->table;
}

void Detector::count(const Key& k, int64_t time_ns, uint64_t attempts, uint64_t answered,
                     const FlowPeer* src, const FlowPeer* dst) {
  auto [c, inserted] = window(time_ns).try_emplace(k);
  c->attempts += attempts;
  c->answered += answered;
  if (time_ns && (!c->first || time_ns < c->first)) c->first = time_ns;
  if (time_ns > c->last) c->last = time_ns;
  if (!inserted) return;
  // Names are taken once per new key, not once per record.
  for (const FlowPeer* p : {src, dst})
    if (p && !p->pod.empty() && !p->ns.empty() && !names_.contains(*p->ip))
      names_.emplace(*p->ip, std::string(p->ns) + "/" + std::string(p->pod));
}

void Detector::add(const Flow& f) {
  if (!f.src.ip || !f.dst.ip || !counted_protocol(f.l4)) return;
  const FlowKind kind = classify(f);
  if (kind == FlowKind::Other) return;
  ++records_;
  const bool is_icmp = icmp(f.l4);
  if (kind == FlowKind::Reply) {
    // A SYN-ACK, a UDP or an ICMP reply answers the request it replies to; a reset does not
    // (a closed port).
    if (f.l4 == L4Protocol::TCP && !(f.tcp.syn && f.tcp.ack)) return;
    if (f.verdict == FlowVerdict::Dropped) return;
    count(Key{*f.dst.ip, *f.src.ip, f.l4, is_icmp ? uint16_t{0} : f.src.port}, f.time_ns, 0, 1,
          &f.dst, &f.src);
    return;
  }
  // An agent's TCP connect that established was answered; its UDP "established" only says a
  // datagram was sent.
  const uint64_t answered = f.l4 == L4Protocol::TCP && !f.agent_outcome.empty() &&
                            outcome_of(f) == FlowOutcome::Established;
  count(Key{*f.src.ip, *f.dst.ip, f.l4, is_icmp ? uint16_t{0} : f.dst.port}, f.time_ns, 1, answered,
        &f.src, &f.dst);
}

void Detector::add(const AggregatedEdge& e) {
  if (!counted_protocol(e.protocol) || e.stats.count == 0) return;
  ++records_;
  const int64_t t = e.stats.last_seen ? e.stats.last_seen : e.stats.first_seen;
  const uint64_t answered =
      e.protocol == L4Protocol::TCP ? std::min(e.stats.established, e.stats.count) : 0;
  auto [c, inserted] = window(t).try_emplace(Key{e.src, e.dst, e.protocol, e.port});
  c->attempts += e.stats.count;
  c->answered += answered;
  if (e.stats.first_seen && (!c->first || e.stats.first_seen < c->first))
    c->first = e.stats.first_seen;
  if (t > c->last) c->last = t;
  if (!inserted) return;
  if (!e.src_name.empty() && !names_.contains(e.src)) names_.emplace(e.src, e.src_name);
  if (!e.dst_name.empty() && !names_.contains(e.dst)) names_.emplace(e.dst, e.dst_name);
}

std::string Detector::name(const IpAddr& ip) const {
  auto it = names_.find(ip);
  return it == names_.end() ? ip.str() : it->second;
}

std::string covering_cidr(const std::vector<IpAddr>& ips) {
  if (ips.empty()) return {};
  const IpAddr& a = ips.front();
  uint64_t dhi = 0, dlo = 0;
  for (const IpAddr& ip : ips) {
    if (ip.v6 != a.v6) return a.v6 ? "::/0" : "0.0.0.0/0";
    dhi |= ip.hi ^ a.hi;
    dlo |= ip.lo ^ a.lo;
  }
  int prefix;
  if (a.v6) {
    prefix = dhi ? std::countl_zero(dhi) : 64 + std::countl_zero(dlo);
  } else {
    prefix = std::countl_zero(static_cast<uint32_t>(dlo));
  }
  Cidr c;
  c.network = a;
  c.prefix = static_cast<uint8_t>(prefix);
  const int bits = a.v6 ? 128 : 32;
  if (prefix < bits) {
    if (a.v6) {
      if (prefix <= 64) {
        c.network.lo = 0;
        c.network.hi = prefix == 0 ? 0 : c.network.hi & (~uint64_t{0} << (64 - prefix));
      } else {
        c.network.lo &= ~uint64_t{0} << (128 - prefix);
      }
    } else {
      c.network.lo =
          prefix == 0 ? 0 : c.network.lo & (0xFFFFFFFFULL << (32 - prefix) & 0xFFFFFFFFULL);
    }
  }
  return c.str();
}

void Detector::judge(const Table* before, const Table& w, std::vector<Signal>& out) const {
  // The pair as one table: a key in both windows is one key.
  Table pair;
  auto add_all = [&pair](const Table& src) {
    src.for_each([&pair](const Key& k, const Counts& c) {
      auto [p, inserted] = pair.try_emplace(k, c);
      if (inserted) return;
      p->attempts += c.attempts;
      p->answered += c.answered;
      if (c.first && (!p->first || c.first < p->first)) p->first = c.first;
      p->last = std::max(p->last, c.last);
    });
  };
  if (before) add_all(*before);
  add_all(w);

  std::unordered_map<ScanKey, ScanAgg, AggHash> scans;
  std::unordered_map<SweepKey, SweepAgg, AggHash> sweeps;
  std::unordered_map<TargetKey, TargetAgg, AggHash> targets;
  pair.for_each([&](const Key& k, const Counts& c) {
    const uint64_t unanswered = c.attempts > c.answered ? c.attempts - c.answered : 0;
    TargetAgg& t = targets[TargetKey{k.dst, k.protocol, k.port}];
    t.attempts += c.attempts;
    if (c.attempts) ++t.sources;
    if (unanswered > t.top_count) t.top_count = unanswered, t.top = k.src;
    t.add(unanswered, c.first, c.last);
    if (!c.attempts) return;
    // For scans and sweeps a port or host that answered once is there: a retry, a drop among
    // many answered scrapes, is no probe.
    const bool never = c.answered == 0;
    if (!icmp(k.protocol)) {
      ScanAgg& s = scans[ScanKey{k.src, k.dst, k.protocol}];
      ++s.tried;
      if (never) {
        ++s.ports;
        s.low = std::min(s.low, k.port);
        s.high = std::max(s.high, k.port);
        s.add(c.attempts, c.first, c.last);
      }
    }
    SweepAgg& s = sweeps[SweepKey{k.src, k.protocol, k.port}];
    ++s.tried;
    if (never) {
      s.targets.push_back(k.dst);
      s.add(c.attempts, c.first, c.last);
    }
  });

  for (const auto& [k, s] : scans) {
    // Most of what a prober tries is not there; a client that reaches most of its targets is
    // not probing.
    if (s.ports < t_.scan_ports || 2 * s.ports < s.tried) continue;
    Signal g{SignalType::PortScan, name(k.src), name(k.dst), k.protocol, 0, s.ports, 1,
             s.unanswered,         1,           s.first,     s.last,     {}};
    g.evidence = std::to_string(s.ports) + " " + std::string(to_string(k.protocol)) + " ports of " +
                 g.dst + " tried without an answer by " + g.src + " (ports " +
                 std::to_string(s.low) + "-" + std::to_string(s.high) + ", " +
                 std::to_string(s.unanswered) + " attempts)";
    out.push_back(std::move(g));
  }
  for (const auto& [k, s] : sweeps) {
    if (s.targets.size() < t_.sweep_hosts || 2 * s.targets.size() < s.tried) continue;
    const std::string cidr = covering_cidr(s.targets);
    Signal g{SignalType::HostSweep, name(k.src),  cidr, k.protocol, k.port, 1,
             s.targets.size(),      s.unanswered, 1,    s.first,    s.last, {}};
    g.evidence = std::to_string(s.targets.size()) + " hosts in " + cidr + " tried on " +
                 proto_port(k.protocol, k.port) + " without an answer by " + g.src;
    out.push_back(std::move(g));
  }
  for (const auto& [k, t] : targets) {
    const uint64_t threshold = k.protocol == L4Protocol::TCP   ? t_.syn_flood
                               : k.protocol == L4Protocol::UDP ? t_.udp_flood
                                                               : t_.icmp_flood;
    if (t.unanswered < threshold ||
        static_cast<double>(t.unanswered) < t_.flood_unanswered * static_cast<double>(t.attempts))
      continue;
    const SignalType type = k.protocol == L4Protocol::TCP   ? SignalType::SynFlood
                            : k.protocol == L4Protocol::UDP ? SignalType::UdpFlood
                                                            : SignalType::IcmpFlood;
    Signal g{type, name(t.top),  name(k.dst), k.protocol, k.port, 1,
             1,    t.unanswered, t.sources,   t.first,    t.last, {}};
    g.evidence = std::to_string(t.unanswered) + " of " + std::to_string(t.attempts) + " " +
                 proto_port(k.protocol, k.port) + " attempts to " + g.dst + " unanswered, from " +
                 std::to_string(t.sources) + " source(s); most from " + g.src + " (" +
                 std::to_string(t.top_count) + ")";
    out.push_back(std::move(g));
  }
}

std::vector<Signal> Detector::judge_until(int64_t last_index) {
  std::vector<Signal> out;
  for (const auto& [index, w] : windows_) {
    if (index > last_index) break;
    if (!w->dirty) continue;  // judged, and nothing came since
    auto prev = windows_.find(index - 1);
    judge(prev == windows_.end() ? nullptr : &prev->second->table, w->table, out);
    w->dirty = false;
    judged_ = std::max(judged_, index);
  }
  // Judged windows go but the last two: the next window is judged with the last, and late
  // records may still come for either.
  if (judged_ != INT64_MIN)
    std::erase_if(windows_, [this](const auto& kv) { return kv.first < judged_ - 1; });
  last_window_ = nullptr;
  last_index_ = INT64_MIN;
  return merge_signals(std::move(out), t_.window_ns);
}

std::vector<Signal> Detector::take_closed(int64_t now_ns) {
  // A window is closed once a whole window has passed after its end: records arrive late
  // (agents' batch windows, Hubble's buffers). Floor division, as window() does.
  int64_t last = now_ns / t_.window_ns - 2;
  if (now_ns < 0 && (now_ns / t_.window_ns) * t_.window_ns != now_ns) --last;
  return judge_until(last);
}

std::vector<Signal> Detector::finish() {
  std::vector<Signal> out = judge_until(INT64_MAX);
  windows_.clear();
  judged_ = INT64_MIN;
  return out;
}

std::string identity(const Signal& s) {
  const bool by_src = s.type == SignalType::PortScan || s.type == SignalType::HostSweep;
  const bool by_dst = s.type != SignalType::HostSweep;
  return std::string(to_string(s.type)) + " " + (by_src ? s.src : "") + " " +
         (by_dst ? s.dst : "") + " " + std::string(to_string(s.protocol)) + " " +
         std::to_string(s.port);
}

std::vector<Signal> merge_signals(std::vector<Signal> signals, int64_t gap_ns) {
  std::vector<std::pair<std::string, Signal>> keyed;
  for (Signal& s : signals) keyed.emplace_back(identity(s), std::move(s));
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.first_seen) < std::tie(b.first, b.second.first_seen);
  });
  std::vector<Signal> out;
  std::string last_key;
  for (auto& [key, s] : keyed) {
    if (!out.empty() && key == last_key) {
      Signal& o = out.back();
      if (s.first_seen <= o.last_seen + gap_ns) {
        // The same activity judged in two overlapping pairs of windows: the larger view wins
        // for what both counted, the later end extends it.
        const int64_t first = std::min(o.first_seen, s.first_seen);
        const int64_t last = std::max(o.last_seen, s.last_seen);
        if (s.count > o.count || s.ports > o.ports || s.targets > o.targets) o = std::move(s);
        o.first_seen = first, o.last_seen = last;
        continue;
      }
    }
    last_key = key;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const Signal& a, const Signal& b) {
    return std::tie(a.first_seen, a.type, a.src, a.dst) <
           std::tie(b.first_seen, b.type, b.src, b.dst);
  });
  return out;
}

}  // namespace stockade::detect

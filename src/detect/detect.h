// Threat signals in observed traffic (`stockade detect`, and the same detectors in `serve`):
// port scans, host sweeps, SYN, UDP and ICMP floods, from flow records (Hubble, agent events)
// and from the node agents' aggregated edges.
//
// Records are counted per (window, source address, target address, protocol, port): attempts
// and answered attempts. A window is `window_ns` long; each window is judged together with the
// one before it, so a burst shorter than a window is always judged whole. What counts as
// "answered" is what the record's source can show: an agent's TCP connect that established, a
// Hubble SYN-ACK, UDP or ICMP reply. Scans and sweeps count only what went unanswered (closed
// ports, absent hosts), so ordinary traffic that fans out — Prometheus scraping every pod, a job
// hitting every pod of a Service — stays quiet. Floods need many unanswered attempts on one
// target port and a majority of its attempts unanswered (docs/cli.md, "stockade detect").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/flat_map.h"
#include "core/ip.h"
#include "flow/edge_graph.h"
#include "model/flow.h"

namespace stockade::detect {

struct Thresholds {
  int64_t window_ns = int64_t{10} * 1000000000;
  uint32_t scan_ports = 20;       // distinct unanswered ports of one target, one source
  uint32_t sweep_hosts = 20;      // distinct unanswered targets on one port (or ICMP), one source
  uint64_t syn_flood = 1000;      // unanswered TCP attempts on one target port
  uint64_t udp_flood = 2000;      // unanswered UDP datagrams (flows) on one target port
  uint64_t icmp_flood = 1000;     // unanswered ICMP requests to one target
  double flood_unanswered = 0.5;  // and at least this share of the target port's attempts
};

enum class SignalType : uint8_t { PortScan, HostSweep, SynFlood, UdpFlood, IcmpFlood };
std::string_view to_string(SignalType t);

struct Signal {
  SignalType type = SignalType::PortScan;
  std::string src;  // NS/NAME or IP (a flood: the source of most attempts)
  std::string dst;  // NS/NAME, IP, or the CIDR holding a sweep's targets
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;     // a sweep's or a flood's port (0: a port scan, ICMP)
  uint64_t ports = 0;    // distinct ports tried (port scan), else 1
  uint64_t targets = 0;  // distinct targets tried (host sweep), else 1
  uint64_t count = 0;    // unanswered attempts
  uint64_t sources = 0;  // distinct sources (floods), else 1
  int64_t first_seen = 0, last_seen = 0;
  std::string evidence;  // one line a person reads
};

// One aggregated edge (a node agent's batch): `stats.count` attempts, `stats.established`
// answered (TCP only: an agent's UDP "established" is a datagram sent, not an answer).
struct AggregatedEdge {
  IpAddr src, dst;
  std::string_view src_name, dst_name;  // ns/pod when known
  L4Protocol protocol = L4Protocol::Unknown;
  uint16_t port = 0;
  EdgeStats stats;
};

class Detector {
 public:
  explicit Detector(Thresholds t = {});
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // One flow record (any record: replies mark their request answered).
  void add(const Flow& f);
  void add(const AggregatedEdge& e);
  // Names addresses the records do not name (`-f`: pod IPs to ns/pod).
  void name_address(const IpAddr& ip, std::string name) { names_[ip] = std::move(name); }

  // Signals of the windows that ended before `now_ns` - window (a stream: later records can
  // no longer change them), removed from the detector. Signals of consecutive windows with the
  // same type, source, target and port are one signal.
  std::vector<Signal> take_closed(int64_t now_ns);
  // Every window's signals, merged; the detector is empty after.
  std::vector<Signal> finish();

  uint64_t records() const { return records_; }  // records and edges counted
  size_t open_windows() const { return windows_.size(); }

 private:
  struct Key {
    IpAddr src, dst;
    L4Protocol protocol = L4Protocol::Unknown;
    uint16_t port = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct Counts {
    uint64_t attempts = 0, answered = 0;
    int64_t first = 0, last = 0;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  using Table = FlatMap<Key, Counts, KeyHash>;
  struct Window {
    Table table;
    bool dirty = true;  // counted into since it was last judged
  };
  struct IpHash {
    size_t operator()(const IpAddr& ip) const { return KeyHash{}(Key{ip, ip}); }
  };

  Table& window(int64_t time_ns);
  void count(const Key& k, int64_t time_ns, uint64_t attempts, uint64_t answered,
             const FlowPeer* src, const FlowPeer* dst);
  void judge(const Table* before, const Table& w, std::vector<Signal>& out) const;
  std::vector<Signal> judge_until(int64_t last_index);
  std::string name(const IpAddr& ip) const;

  Thresholds t_;
  std::map<int64_t, std::unique_ptr<Window>> windows_;  // by window index
  int64_t last_index_ = INT64_MIN;
  int64_t judged_ = INT64_MIN;  // windows up to this one are judged
  Window* last_window_ = nullptr;
  std::unordered_map<IpAddr, std::string, IpHash> names_;
  uint64_t records_ = 0;
};

// What makes two signals the same activity: the type, protocol and port, and the source of a
// scan or sweep, the target of a scan or flood (a sweep's CIDR and a flood's main source
// depend on how much of it a window saw).
std::string identity(const Signal& s);

// Signals of the same identity in overlapping or adjacent time are one: the larger view's
// counts, ports, targets and names, times the union.
std::vector<Signal> merge_signals(std::vector<Signal> signals, int64_t gap_ns);

// The smallest prefix holding every address (IPv4 or IPv6; mixed: "0.0.0.0/0").
std::string covering_cidr(const std::vector<IpAddr>& ips);

}  // namespace stockade::detect

// One normalized flow record, whatever its source (Hubble JSON, Stockade agent events).
// Records are handed to a sink as soon as they are parsed; string fields are views into the
// reader's buffer, valid only during the call (aggregate early, keep nothing raw).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ip.h"
#include "core/ports.h"

namespace stockade {

enum class L4Protocol : uint8_t { TCP, UDP, SCTP, ICMPv4, ICMPv6, Unknown };
std::string_view to_string(L4Protocol p);
std::optional<Protocol> to_protocol(L4Protocol p);  // TCP/UDP/SCTP only

// Hubble's verdicts; agent events map established/accepted to Forwarded and failures to Error.
enum class FlowVerdict : uint8_t {
  Forwarded,
  Dropped,
  Error,
  Audit,
  Redirected,
  Traced,
  Translated,
  Unknown,
};
std::string_view to_string(FlowVerdict v);

enum class TrafficDirection : uint8_t { Unknown, Ingress, Egress };

struct FlowPeer {
  std::string_view ns;        // empty when the record names no pod
  std::string_view pod;       // pod name
  std::string_view pod_uid;   // agent events: the pod of the process (from its cgroup path)
  std::string_view workload;  // Hubble `workloads[0].name` when present
  std::string_view workload_kind;
  std::string_view service_ns;  // Hubble source_service/destination_service
  std::string_view service_name;
  std::optional<IpAddr> ip;
  uint16_t port = 0;
  uint32_t identity = 0;      // Cilium security identity, 0 when unknown
  std::string_view reserved;  // "world", "host", "remote-node", ... from reserved:* labels
  // Hubble's `labels` array as it is in the record (JSON text: ["k8s:app=web", ...]). Only
  // pods the cluster objects do not hold need them, so they are decoded when needed.
  std::string_view labels_json;
  // Left to the sink: what FlowReadOptions::peer_hint found out about the peer on the parsing
  // threads (EdgeGraph: the pod it names). 0 until then.
  uint32_t hint = 0;
};

// The content of an L7 record (Hubble `l7`: DNS and HTTP), kept for the features that need
// names and requests (DNS-aware egress, HTTP rules); never counted as a connection.
struct L7Info {
  enum class Type : uint8_t { Unknown, Request, Response, Sample };
  Type type = Type::Unknown;
  uint64_t latency_ns = 0;
  std::string_view dns_query;                 // "api.example.com." as queried
  int32_t dns_rcode = -1;                     // 0 NOERROR, 3 NXDOMAIN, ...; -1 when absent
  std::array<std::string_view, 4> dns_ips{};  // the first answers
  uint8_t dns_ip_count = 0;
  std::string_view http_method, http_url, http_protocol;
  uint32_t http_code = 0;  // 0 on requests
};

struct TcpFlags {
  bool syn = false, ack = false, fin = false, rst = false;
};

struct Flow {
  int64_t time_ns = 0;  // since the Unix epoch, UTC; 0 when the record has no time
  FlowPeer src, dst;
  L4Protocol l4 = L4Protocol::Unknown;
  TcpFlags tcp;
  FlowVerdict verdict = FlowVerdict::Unknown;
  std::string_view drop_reason;  // drop_reason_desc, e.g. POLICY_DENIED
  std::optional<bool> is_reply;  // absent when the source could not tell
  TrafficDirection direction = TrafficDirection::Unknown;
  bool l7 = false;  // an L7 record (DNS, HTTP, Kafka): kept apart from connection counting
  // What the L7 record says, when it says it (null otherwise). It lives as long as the
  // record's strings do.
  const L7Info* l7_info = nullptr;
  // A Hubble policy-verdict event (event_type.type 5): it repeats the trace or drop event of
  // the same packet, so it is evidence of the edge but not another connection.
  bool policy_verdict = false;
  // A Hubble socket-layer event (Type SOCK: service translation at connect()): it precedes the
  // packet's own trace, so it is evidence of the edge but not another connection.
  bool sock = false;
  std::string_view node;
  // hash_bytes(node), when the reader set it (0: not set). The reader has the text in its
  // cache; the thread that aggregates would fetch it again.
  uint64_t node_hash = 0;
  // Agent events: the outcome the kernel saw, and the process.
  std::string_view agent_outcome;  // established, accepted, refused, timeout, ...
  int64_t pid = -1;
  std::string_view comm;
};

// What a record says about its connection, for aggregation.
enum class FlowKind : uint8_t {
  Start,  // a new connection attempt (TCP SYN, a UDP/SCTP/ICMP request, an agent connect)
  Reply,  // traffic of the responder: not a new connection
  Other,  // mid-connection traffic or an L7 record
};

enum class FlowOutcome : uint8_t { Established, Failed, Dropped };

// Classifies a record (see flow.cc for the rules).
FlowKind classify(const Flow& f);
FlowOutcome outcome_of(const Flow& f);

// Parses RFC 3339 (with optional fraction and zone) into nanoseconds since the epoch.
std::optional<int64_t> parse_rfc3339(std::string_view s);
// The same, faster for times that share their date and second with the one before (records
// of a flow file, in order): those are read from the fraction on.
class Rfc3339Parser {
 public:
  std::optional<int64_t> parse(std::string_view s);

 private:
  static constexpr size_t kPrefix = 19;  // "YYYY-MM-DDTHH:MM:SS"
  char prefix_[kPrefix] = {};
  int64_t secs_ = 0;
  bool valid_ = false;
};
// Formats nanoseconds since the epoch as RFC 3339 UTC with second precision ("…Z").
std::string format_rfc3339(int64_t ns);
// The same, appended to `out` (digits, '-', ':', 'T' and 'Z' only: nothing to escape in JSON).
void append_rfc3339(std::string& out, int64_t ns);

// Every field of a record (its peers' and its L7 content included) as one line of text: two
// records read in different ways are the same when their descriptions are (tests, fuzzing).
std::string describe(const Flow& f);

}  // namespace stockade

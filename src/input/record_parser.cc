#include "input/record_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <memory>

#include "core/hash.h"
#include "input/endpoint_cache.h"
#include "input/json_walker.h"

// One line of flow records into a Flow: the record's fields (input/json_walker reads the JSON,
// input/endpoint_cache the endpoint objects), then a chunk of lines into its records.

namespace stockade::input {

namespace {

using namespace flowjson;

template <class V>
error_code read_service(V v, FlowPeer& p) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    if (is(key, "name")) return get_str(val, p.service_name);
    if (is(key, "namespace")) return get_str(val, p.service_ns);
    return SUCCESS;
  });
}

template <class V>
error_code read_l4(V v, Flow& f) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    if (is(key, "ICMPv4") || is(key, "ICMPv6")) {
      f.l4 = is(key, "ICMPv4") ? L4Protocol::ICMPv4 : L4Protocol::ICMPv6;
      return SUCCESS;
    }
    if (!is(key, "TCP") && !is(key, "UDP") && !is(key, "SCTP")) return SUCCESS;
    f.l4 = is(key, "TCP") ? L4Protocol::TCP : is(key, "UDP") ? L4Protocol::UDP : L4Protocol::SCTP;
    return each_field(val, [&](std::string_view pk, V pv) -> error_code {
      if (is(pk, "source_port")) return read_port(pv, f.src.port);
      if (is(pk, "destination_port")) return read_port(pv, f.dst.port);
      if (!is(pk, "flags")) return SUCCESS;
      return each_field(pv, [&](std::string_view fk, V fv) -> error_code {
        bool b = false;
        TRY(fv.get_bool(b));
        if (is(fk, "SYN")) f.tcp.syn = b;
        if (is(fk, "ACK")) f.tcp.ack = b;
        if (is(fk, "FIN")) f.tcp.fin = b;
        if (is(fk, "RST")) f.tcp.rst = b;
        return SUCCESS;
      });
    });
  });
}

// Hubble `l7`: {"type", "latency_ns", "dns": {...}, "http": {...}} (Kafka and others are
// recognised as L7 and otherwise skipped).
template <class V>
error_code read_l7(V v, L7Info& l7) {
  return each_field(v, [&](std::string_view key, V val) -> error_code {
    std::string_view s;
    if (is(key, "type")) {
      TRY(get_str(val, s));
      l7.type = is(s, "REQUEST")    ? L7Info::Type::Request
                : is(s, "RESPONSE") ? L7Info::Type::Response
                : is(s, "SAMPLE")   ? L7Info::Type::Sample
                                    : L7Info::Type::Unknown;
    } else if (is(key, "latency_ns")) {  // a string in the protobuf JSON mapping
      if (val.is_string()) return val.get_uint64_in_string(l7.latency_ns);
      return val.get_uint64(l7.latency_ns);
    } else if (is(key, "dns")) {
      return each_field(val, [&](std::string_view dk, V dv) -> error_code {
        if (is(dk, "query")) return get_str(dv, l7.dns_query);
        if (is(dk, "rcode")) {
          int64_t rc;
          TRY(dv.get_int64(rc));
          l7.dns_rcode = static_cast<int32_t>(std::clamp<int64_t>(rc, 0, INT32_MAX));
        } else if (is(dk, "ips")) {
          return each_item(dv, [&](V ip) -> error_code {
            std::string_view a;
            TRY(get_str(ip, a));
            if (l7.dns_ip_count < l7.dns_ips.size()) l7.dns_ips[l7.dns_ip_count++] = a;
            return SUCCESS;
          });
        }
        return SUCCESS;
      });
    } else if (is(key, "http")) {
      return each_field(val, [&](std::string_view hk, V hv) -> error_code {
        if (is(hk, "method")) return get_str(hv, l7.http_method);
        if (is(hk, "url")) return get_str(hv, l7.http_url);
        if (is(hk, "protocol")) return get_str(hv, l7.http_protocol);
        if (is(hk, "code")) {
          uint64_t code;
          TRY(hv.get_uint64(code));
          l7.http_code = static_cast<uint32_t>(std::min<uint64_t>(code, UINT32_MAX));
        }
        return SUCCESS;
      });
    }
    return SUCCESS;
  });
}

FlowVerdict parse_verdict(std::string_view s) {
  if (is(s, "FORWARDED")) return FlowVerdict::Forwarded;
  if (is(s, "DROPPED")) return FlowVerdict::Dropped;
  if (is(s, "ERROR")) return FlowVerdict::Error;
  if (is(s, "AUDIT")) return FlowVerdict::Audit;
  if (is(s, "REDIRECTED")) return FlowVerdict::Redirected;
  if (is(s, "TRACED")) return FlowVerdict::Traced;
  if (is(s, "TRANSLATED")) return FlowVerdict::Translated;
  return FlowVerdict::Unknown;
}

// Agent `src` / `dst`: {"ip": "...", "port": N}.
error_code read_agent_peer(Value v, FlowPeer& p) {
  TRY(each_field(v, [&](std::string_view key, Value val) -> error_code {
    if (is(key, "ip")) return read_ip(val, p.ip);
    if (is(key, "port")) return read_port(val, p.port);
    if (is(key, "namespace")) return get_str(val, p.ns);  // set by `agent -f`
    if (is(key, "pod")) return get_str(val, p.pod);
    return SUCCESS;
  }));
  return check_names(p);
}

class KeyMemo;

struct Seen {
  bool flow = false;           // a Hubble flow (IP, l4, source/destination, verdict)
  bool agent = false;          // a Stockade agent event
  std::string_view pod_uid;    // agent: the pod of the process (the local side)
  std::string_view time_text;  // the last time read, and what it says
  int64_t time_ns = 0;
  EndpointCache* endpoints = nullptr;  // the parser's
  EndpointCache::Pending pending[2];   // source, destination: read at the end of the line
  const FlowReadOptions::PeerHint* hint = nullptr;
  Rfc3339Parser* times = nullptr;          // the parser's
  L7Info* l7 = nullptr;                    // the parser's: where the record's `l7` goes
  bool endpoint_read[2] = {false, false};  // source, destination (a repeated key is walked)
  KeyMemo* keys = nullptr;                 // the parser's: of the record, of the wrapped flow

  // Reads the pending endpoint of a side now (before something else writes that peer).
  error_code finish(Tokens& t, int side) {
    if (pending[side].peer == nullptr) return SUCCESS;
    return endpoints->finish(t, &pending[side], 1, hint);
  }
};

// The fields of a record we read, found by one switch on the key's length (a record has
// dozens of fields; most are skipped).
enum class Key : uint8_t {
  Other,
  Flow,
  Time,
  Verdict,
  DropReason,
  IP,
  L4,
  Source,
  Destination,
  SourceService,
  DestinationService,
  Type,
  L7,
  EventType,
  IsReply,
  TrafficDirection,
  NodeName,
  AgentType,
  Protocol,
  Direction,
  Outcome,
  Src,
  Dst,
  Process,
  PodUid
};

Key record_key(std::string_view k) {
  switch (k.size()) {
    case 2:
      return is(k, "IP") ? Key::IP : is(k, "l4") ? Key::L4 : is(k, "l7") ? Key::L7 : Key::Other;
    case 3:
      return is(k, "src") ? Key::Src : is(k, "dst") ? Key::Dst : Key::Other;
    case 4:
      return is(k, "time")   ? Key::Time
             : is(k, "flow") ? Key::Flow
             : is(k, "Type") ? Key::Type
             : is(k, "node") ? Key::NodeName
             : is(k, "type") ? Key::AgentType
                             : Key::Other;
    case 6:
      return is(k, "source") ? Key::Source : Key::Other;
    case 7:
      return is(k, "verdict")   ? Key::Verdict
             : is(k, "outcome") ? Key::Outcome
             : is(k, "process") ? Key::Process
             : is(k, "pod_uid") ? Key::PodUid
                                : Key::Other;
    case 8:
      return is(k, "is_reply") ? Key::IsReply : is(k, "protocol") ? Key::Protocol : Key::Other;
    case 9:
      return is(k, "node_name") ? Key::NodeName : is(k, "direction") ? Key::Direction : Key::Other;
    case 10:
      return is(k, "event_type") ? Key::EventType : Key::Other;
    case 11:
      return is(k, "destination") ? Key::Destination : Key::Other;
    case 14:
      return is(k, "source_service") ? Key::SourceService : Key::Other;
    case 16:
      return is(k, "drop_reason_desc") ? Key::DropReason : Key::Other;
    case 17:
      return is(k, "traffic_direction") ? Key::TrafficDirection : Key::Other;
    case 19:
      return is(k, "destination_service") ? Key::DestinationService : Key::Other;
    default:
      return Key::Other;
  }
}

// The keys of a record's objects as the lines before had them, for the direct path: a key
// written as it was before (`"verdict":`, byte for byte) is known without scanning it and
// finding what it is. Each key remembers the key that followed it last time, and the one
// before that: where records of two shapes differ (a dropped flow has `drop_reason`), both
// successors are known.
class KeyMemo {
 public:
  static constexpr size_t kKeys = 48;
  static constexpr size_t kText = 32;  // `"key":` at most this long
  static constexpr uint8_t kNone = 0xff;

  struct Known {
    alignas(16) char text[kText] = {};  // `"key":`, zeros after
    uint32_t mask = 0;                  // one bit per byte of the text
    uint8_t len = 0;
    Key key = Key::Other;
    uint8_t next[2] = {kNone, kNone};  // the keys that followed it (the latest first)
  };

  // The known key whose text is at p (p + 32 is readable), tried among the successors of
  // `prev` (kNone: the object's first key), or null.
  HOT const Known* match(uint8_t prev, const char* p, const char* end) const {
    const uint8_t* next = prev == kNone ? first_ : known_[prev].next;
    for (int i = 0; i < 2; ++i) {
      if (next[i] == kNone) return nullptr;
      const Known& k = known_[next[i]];
      if (k.len <= end - p && (bytes_equal(p, k.text) & k.mask) == k.mask) return &k;
    }
    return nullptr;
  }

  uint8_t index(const Known* k) const { return static_cast<uint8_t>(k - known_.data()); }

  // After the key `text` (record_key: `key`) was scanned, following `prev`: its index, known
  // from now on (kNone if it cannot be: too long, or no room).
  uint8_t learn(uint8_t prev, std::string_view text, Key key) {
    uint8_t at = kNone;
    for (size_t i = 0; i < count_; ++i)
      if (known_[i].len == text.size() &&
          std::memcmp(known_[i].text, text.data(), text.size()) == 0)
        at = static_cast<uint8_t>(i);
    if (at == kNone) {
      if (text.size() > kText || count_ == kKeys) return kNone;
      at = static_cast<uint8_t>(count_++);
      Known& k = known_[at];
      std::memcpy(k.text, text.data(), text.size());
      k.len = static_cast<uint8_t>(text.size());
      k.mask = text.size() == 32 ? ~uint32_t{0} : (uint32_t{1} << text.size()) - 1;
      k.key = key;
    }
    uint8_t* next = prev == kNone ? first_ : known_[prev].next;
    if (next[0] != at) {
      next[1] = next[0];
      next[0] = at;
    }
    return at;
  }

 private:
  // One bit per byte of the 32 at p and at `text`: set where they are equal.
  HOT static uint32_t bytes_equal(const char* p, const char* text) {
#if defined(__SSE2__)
    auto eq = [&](int off) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + off));
      __m128i b = _mm_load_si128(reinterpret_cast<const __m128i*>(text + off));
      return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)));
    };
    return eq(0) | eq(16) << 16;
#else
    uint32_t m = 0;
    for (size_t i = 0; i < kText; ++i) m |= uint32_t{p[i] == text[i]} << i;
    return m;
#endif
  }

  std::array<Known, kKeys> known_{};
  size_t count_ = 0;
  uint8_t first_[2] = {kNone, kNone};
};

// each_field on a line read directly, for the handler of a record's objects, which takes
// record_key(key) too: keys written as before are known from `memo`.
template <class H>
HOT inline error_code each_record_field(Direct v, KeyMemo& memo, H&& handle) {
  Cursor& c = v.cursor();
  if (c.peek() != '{') return simdjson::INCORRECT_TYPE;
  ++c.p;
  c.ws();
  if (c.peek() == '}') {
    ++c.p;
    c.ws();
    return SUCCESS;
  }
  uint8_t prev = KeyMemo::kNone;
  for (;;) {
    if (c.peek() != '"') return simdjson::TAPE_ERROR;
    std::string_view key;
    Key k;
    if (const KeyMemo::Known* known = memo.match(prev, c.p, c.end)) {
      key = {c.p + 1, known->len - 3u};
      k = known->key;
      prev = memo.index(known);
      c.p += known->len;
      c.ws();
    } else {
      const char* open = c.p;
      TRY(c.string(key));
      if (c.peek() != ':') return simdjson::TAPE_ERROR;
      k = record_key(key);
      // Only `"key":` without spaces is remembered.
      prev = c.p == key.data() + key.size() + 1
                 ? memo.learn(prev, std::string_view(open, key.size() + 3), k)
                 : KeyMemo::kNone;
      ++c.p;
      c.ws();
    }
    const char* start = c.p;
    if (start >= c.end) return simdjson::INCOMPLETE_ARRAY_OR_OBJECT;
    TRY(handle(k, key, Direct(c)));
    if (c.p == start) TRY(c.skip());
    char ch = c.peek();
    ++c.p;
    c.ws();
    if (ch == '}') return SUCCESS;
    if (ch != ',') return simdjson::TAPE_ERROR;
  }
}

// The pieces of read_object below, each one key's value: forced inline, so that the record
// loop compiles to what one function with them in place would.
#define STOCKADE_FIELD \
  template <class V>   \
  __attribute__((always_inline)) inline error_code

// "time": the wrapper repeats the flow's time: parsed once.
STOCKADE_FIELD read_time(V val, Flow& f, Seen& seen, int depth) {
  std::string_view s;
  TRY(get_str(val, s));
  if (s != seen.time_text) {
    auto ns = seen.times->parse(s);
    if (!ns) return simdjson::INCORRECT_TYPE;
    seen.time_text = s;
    seen.time_ns = *ns;
  }
  if (f.time_ns == 0 || depth > 0) f.time_ns = seen.time_ns;
  return SUCCESS;
}

STOCKADE_FIELD read_ips(V val, Flow& f) {
  return each_field(val, [&](std::string_view ik, V iv) -> error_code {
    if (is(ik, "source")) return read_ip(iv, f.src.ip);
    if (is(ik, "destination")) return read_ip(iv, f.dst.ip);
    return SUCCESS;
  });
}

// "source" / "destination": a Hubble endpoint object, through the endpoint cache.
STOCKADE_FIELD read_hubble_peer(V val, std::string_view key, Flow& f, Seen& seen) {
  const int side = key.size() == 6 ? 0 : 1;
  FlowPeer& p = side == 0 ? f.src : f.dst;
  const bool first = !seen.endpoint_read[side];
  seen.endpoint_read[side] = true;
  if constexpr (V::kDirect) {
    // Only a remembered endpoint, read into a pristine peer.
    if (seen.endpoints == nullptr || !first || !pristine(p)) return kGiveUp;
    return seen.endpoints->find(val.cursor(), p, seen.pending[side]);
  } else {
    if (seen.endpoints == nullptr || !first || !pristine(p)) {
      // A repeated key, or the peer named already (an agent's "src"): the peer is
      // what they say, in order; its hint is found later.
      TRY(seen.finish(val.tokens(), side));
      p.hint = 0;
      return read_endpoint(val, p);
    }
    return seen.endpoints->begin(val, p, seen.pending[side]);
  }
}

STOCKADE_FIELD read_event_type(V val, Flow& f) {
  return each_field(val, [&](std::string_view ek, V ev) -> error_code {
    uint64_t type;
    if (is(ek, "type") && ev.get_uint64(type) == SUCCESS && type == 5) f.policy_verdict = true;
    return SUCCESS;
  });
}

// An agent event's "src" / "dst", after a pending "source": in order.
STOCKADE_FIELD read_agent_side(V val, int side, Flow& f, Seen& seen) {
  if constexpr (V::kDirect) {
    return kGiveUp;
  } else {
    TRY(seen.finish(val.tokens(), side));
    return read_agent_peer(val, side == 0 ? f.src : f.dst);
  }
}

STOCKADE_FIELD read_process(V val, Flow& f) {
  if constexpr (V::kDirect) {
    return kGiveUp;
  } else {
    return each_field(val, [&](std::string_view pk, Value pv) -> error_code {
      if (is(pk, "pid")) return pv.get_int64(f.pid);
      if (is(pk, "comm")) return get_str(pv, f.comm);
      return SUCCESS;
    });
  }
}

#undef STOCKADE_FIELD

// One object: a Hubble flow, the {"flow": …} wrapper around one, or an agent event. The
// field sets do not overlap in meaning, so one pass handles all three.
template <class V>
error_code read_object(V o, Flow& f, Seen& seen, int depth) {
  auto handle = [&](Key which, std::string_view key, V val) __attribute__((always_inline))
                    ->error_code {
    std::string_view s;
    switch (which) {
      case Key::Other:
        return SUCCESS;
      case Key::Flow: {
        if (depth > 0) return simdjson::TAPE_ERROR;
        return read_object(val, f, seen, depth + 1);
      }
      case Key::Time:
        return read_time(val, f, seen, depth);
      case Key::Verdict:
        TRY(get_str(val, s));
        f.verdict = parse_verdict(s);
        seen.flow = true;
        return SUCCESS;
      case Key::DropReason:
        return get_str(val, f.drop_reason);
      case Key::IP:
        seen.flow = true;
        return read_ips(val, f);
      case Key::L4:
        seen.flow = true;
        return read_l4(val, f);
      case Key::Source:
      case Key::Destination:
        seen.flow = true;
        return read_hubble_peer(val, key, f, seen);
      case Key::SourceService:
        return read_service(val, f.src);
      case Key::DestinationService:
        return read_service(val, f.dst);
      case Key::Type:
        TRY(get_str(val, s));
        f.l7 = f.l7 || is(s, "L7");
        f.sock = is(s, "SOCK");
        return SUCCESS;
      case Key::L7:
        f.l7 = true;
        if (f.l7_info == nullptr) {  // the parser's, until the chunk keeps a copy
          *seen.l7 = L7Info{};
          f.l7_info = seen.l7;
        }
        return read_l7(val, *seen.l7);
      case Key::EventType:
        return read_event_type(val, f);
      case Key::IsReply: {
        bool b;
        if (val.get_bool(b) == SUCCESS) f.is_reply = b;
        return SUCCESS;
      }
      case Key::TrafficDirection:
        TRY(get_str(val, s));
        f.direction = is(s, "INGRESS")  ? TrafficDirection::Ingress
                      : is(s, "EGRESS") ? TrafficDirection::Egress
                                        : TrafficDirection::Unknown;
        return SUCCESS;
      case Key::NodeName:
        TRY(get_str(val, s));
        if (f.node.empty() || depth > 0) f.node = s;
        return SUCCESS;
      case Key::AgentType:
        TRY(get_str(val, s));
        if (is(s, "lost")) return SUCCESS;  // the agent's notice of lost events: no flow
        if (!is(s, "connect")) return simdjson::INCORRECT_TYPE;
        seen.agent = true;
        f.verdict = FlowVerdict::Forwarded;
        return SUCCESS;
      case Key::Protocol:
        TRY(get_str(val, s));
        f.l4 = is(s, "TCP")   ? L4Protocol::TCP
               : is(s, "UDP") ? L4Protocol::UDP
                              : L4Protocol::Unknown;
        return SUCCESS;
      case Key::Direction:
        TRY(get_str(val, s));
        f.direction = is(s, "inbound") ? TrafficDirection::Ingress : TrafficDirection::Egress;
        return SUCCESS;
      case Key::Outcome:
        return get_str(val, f.agent_outcome);
      case Key::Src:
        return read_agent_side(val, 0, f, seen);
      case Key::Dst:
        return read_agent_side(val, 1, f, seen);
      case Key::PodUid:
        return get_str(val, seen.pod_uid);
      case Key::Process:
        return read_process(val, f);
    }
    return SUCCESS;
  };
  if constexpr (V::kDirect) {
    return each_record_field(o, seen.keys[depth], handle);
  } else {
    return each_field(
        o, [&](std::string_view key, V val) __attribute__((always_inline))->error_code {
          return handle(record_key(key), key, val);
        });
  }
}

// One line → one record. Each thread that parses owns one (the parser's buffers are reused
// from line to line; the strings of a record point into them until the next line).
// Whether every backslash escape of a JSON line is one JSON allows: \" \\ \/ \b \f \n \r \t
// or \u with four hex digits, a high surrogate followed by a low one and no low one alone.
// (Outside strings a backslash is a syntax error, which the parse reports anyway.)
bool escapes_valid(const char* p, size_t len) {
  const char* end = p + len;
  auto hex4 = [&](const char* q, unsigned& v) {
    if (end - q < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = q[i];
      int d = c >= '0' && c <= '9'                     ? c - '0'
              : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                       : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<unsigned>(d);
    }
    return true;
  };
  while (const char* b =
             static_cast<const char*>(std::memchr(p, '\\', static_cast<size_t>(end - p)))) {
    if (b + 1 >= end) return false;
    char c = b[1];
    if (c == 'u') {
      unsigned v;
      if (!hex4(b + 2, v)) return false;
      p = b + 6;
      if (v >= 0xDC00 && v <= 0xDFFF) return false;
      if (v >= 0xD800 && v <= 0xDBFF) {
        unsigned lo;
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, lo) || lo < 0xDC00 ||
            lo > 0xDFFF)
          return false;
        p += 6;
      }
      continue;
    }
    if (c != '"' && c != '\\' && c != '/' && c != 'b' && c != 'f' && c != 'n' && c != 'r' &&
        c != 't')
      return false;
    p = b + 2;
  }
  return true;
}

class LineParser {
 public:
  enum class Kind { Blank, Record, Ignored, Malformed };

  // `strict`: every escape in the line is checked (--strict), not only those of the strings
  // a record needs (a skipped string's escapes are never decoded, so never checked).
  LineParser(bool direct, bool strict) : direct_(direct), strict_(strict) {}

  uint64_t direct_lines = 0;  // read by the direct path so far
  // Whether a string of the last record was unescaped into the parser's room (else they all
  // point into the line).
  bool unescaped() const { return unescaped_; }

  // `data` must be followed by at least SIMDJSON_PADDING readable bytes; `f` must be new.
  // `hint` (may be null) sets the hint of peers read from a remembered endpoint.
  Kind line(const char* data, size_t len, Flow& f, error_code& err,
            const FlowReadOptions::PeerHint* hint) {
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t'))
      --len;
    size_t start = 0;
    while (start < len && (data[start] == ' ' || data[start] == '\t')) ++start;
    unescaped_ = false;
    if (start == len) return Kind::Blank;
    if (strict_ && !escapes_valid(data + start, len - start)) {
      err = simdjson::STRING_ERROR;
      return Kind::Malformed;
    }
    Seen seen;
    auto reset = [&] {
      seen = Seen{};
      seen.endpoints = &endpoints_;
      seen.hint = hint;
      seen.times = &times_;
      seen.l7 = &l7_;
      seen.keys = keys_;
    };
    reset();
    err = direct_ ? parse_direct(data + start, data + len, f, seen) : kGiveUp;
    if (err == SUCCESS) {
      ++direct_lines;
    } else {  // the walk decides, from the start
      f = Flow{};
      reset();
      err = parse(data + start, len - start, f, seen);
    }
    if (err == SUCCESS && !seen.flow && !seen.agent)
      return Kind::Ignored;  // valid JSON without a flow (lost events, node status)
    if (err == SUCCESS && seen.agent && (!f.src.ip || !f.dst.ip)) err = simdjson::INCORRECT_TYPE;
    if (seen.agent && !seen.pod_uid.empty()) {  // the process runs on the connection's own side
      FlowPeer& local = f.direction == TrafficDirection::Ingress ? f.dst : f.src;
      local.pod_uid = seen.pod_uid;
      local.hint = 0;  // found later, with the UID
    }
    return err == SUCCESS ? Kind::Record : Kind::Malformed;
  }

 private:
  // The direct path (see Cursor): an error leaves the line to parse().
  error_code parse_direct(const char* begin, const char* end, Flow& f, Seen& seen) {
    Cursor c{begin, end, &room_};
    TRY(read_object(Direct(c), f, seen, 0));
    if (c.p != c.end) return kGiveUp;
    TRY(endpoints_.verify(seen.pending, 2));
    unescaped_ = c.unescaped != nullptr;
    return SUCCESS;
  }

  // simdjson's stage 1 and room for the unescaped strings of a line of `len` bytes.
  error_code make_room(size_t len) {
    if (!stage1_ || stage1_->capacity() <= len) {
      size_t capacity = std::max<size_t>(std::bit_ceil(len + 1), size_t{64} << 10);
      if (!stage1_) {
        TRY(simdjson::get_active_implementation()->create_dom_parser_implementation(
            capacity, simdjson::DEFAULT_MAX_DEPTH, stage1_));
      } else {
        TRY(stage1_->set_capacity(capacity));
      }
      scratch_.reset(new char[capacity + simdjson::SIMDJSON_PADDING]);
      room_ = {stage1_.get(), scratch_.get(), capacity};
    }
    return SUCCESS;
  }

  error_code parse(const char* data, size_t len, Flow& f, Seen& seen) {
    TRY(make_room(len));
    TRY(stage1_->stage1(reinterpret_cast<const uint8_t*>(data), len,
                        simdjson::stage1_mode::regular));
    Tokens t;
    t.buf = data;
    t.len = len;
    t.pos = stage1_->structural_indexes.get();
    t.n = stage1_->n_structural_indexes;
    t.impl = stage1_.get();
    t.scratch = scratch_.get();
    error_code err = read_object(Value(t), f, seen, 0);
    if (err == SUCCESS) err = endpoints_.finish(t, seen.pending, 2, seen.hint);
    unescaped_ = t.scratch != scratch_.get();
    TRY(err);
    // The object must be the whole line: `{…}{…}` or `{…} x` is not one record.
    return t.i == t.n ? SUCCESS : simdjson::TRAILING_CONTENT;
  }

  std::unique_ptr<simdjson::internal::dom_parser_implementation> stage1_;
  std::unique_ptr<char[]> scratch_;  // unescaped strings of the current line
  Cursor::Room room_;                // the same, for the direct path
  bool direct_;
  bool strict_;
  bool unescaped_ = false;
  EndpointCache endpoints_;
  Rfc3339Parser times_;
  L7Info l7_;
  KeyMemo keys_[2];  // the record's, the wrapped flow's
};

}  // namespace

class RecordParser::Impl : public LineParser {
 public:
  using LineParser::LineParser;
};

RecordParser::RecordParser(bool direct, bool strict)
    : impl_(std::make_unique<Impl>(direct, strict)) {}
RecordParser::~RecordParser() = default;

void RecordParser::parse(Chunk& c, const FlowReadOptions::PeerHint& hint) {
  LineParser& parser = *impl_;
  std::vector<char>& text = c.text;
  const size_t len = c.len;
  auto& flows = c.flows;
  auto& l7s = c.l7s;
  auto& arena = c.arena;
  auto& bad = c.bad;
  auto& lines = c.lines;
  auto& ignored = c.ignored;
  const char* p = text.data();
  flows.clear();
  l7s.clear();
  arena.clear(p, p + len);
  bad.clear();
  lines = ignored = 0;
  const uint64_t direct_before = parser.direct_lines;
  std::memset(text.data() + len, 0, simdjson::SIMDJSON_PADDING);
  const char* end = p + len;
  while (p < end) {
    if (*p == '\n') {  // an empty line: no record to set up (a stream of them costs nothing)
      ++lines;
      ++p;
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    Flow& f = flows.emplace_back();
    error_code err = SUCCESS;
    switch (parser.line(p, static_cast<size_t>(line_end - p), f, err, &hint)) {
      case LineParser::Kind::Record:
        if (parser.unescaped()) keep_strings(f, arena);
        if (!f.node.empty()) f.node_hash = hash_bytes(f.node);
        if (f.l7_info != nullptr) {
          L7Info& kept = l7s.emplace_back(*f.l7_info);
          if (parser.unescaped()) keep_strings(kept, arena);
          f.l7_info = &kept;
        }
        if (hint) {
          if (f.src.hint == 0) f.src.hint = hint(f.src);
          if (f.dst.hint == 0) f.dst.hint = hint(f.dst);
        }
        break;
      case LineParser::Kind::Malformed:
        flows.pop_back();
        bad.push_back({lines, flows.size(), err});
        break;
      case LineParser::Kind::Ignored:
        ++ignored;
        flows.pop_back();
        break;
      case LineParser::Kind::Blank:
        flows.pop_back();
        break;
    }
    ++lines;
    p = line_end + 1;
  }
  c.direct = parser.direct_lines - direct_before;
}

std::string malformed_message(simdjson::error_code err) {
  if (err == kBadName)
    return "not a flow record: an endpoint's namespace, pod or workload name is not a valid "
           "Kubernetes name";
  return std::string("not a flow record: ") + simdjson::error_message(err);
}

#undef TRY
#undef HOT

}  // namespace stockade::input

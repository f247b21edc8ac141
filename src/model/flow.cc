#include "model/flow.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace stockade {

std::string_view to_string(L4Protocol p) {
  switch (p) {
    case L4Protocol::TCP:
      return "TCP";
    case L4Protocol::UDP:
      return "UDP";
    case L4Protocol::SCTP:
      return "SCTP";
    case L4Protocol::ICMPv4:
      return "ICMPv4";
    case L4Protocol::ICMPv6:
      return "ICMPv6";
    case L4Protocol::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<Protocol> to_protocol(L4Protocol p) {
  switch (p) {
    case L4Protocol::TCP:
      return Protocol::TCP;
    case L4Protocol::UDP:
      return Protocol::UDP;
    case L4Protocol::SCTP:
      return Protocol::SCTP;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(FlowVerdict v) {
  switch (v) {
    case FlowVerdict::Forwarded:
      return "FORWARDED";
    case FlowVerdict::Dropped:
      return "DROPPED";
    case FlowVerdict::Error:
      return "ERROR";
    case FlowVerdict::Audit:
      return "AUDIT";
    case FlowVerdict::Redirected:
      return "REDIRECTED";
    case FlowVerdict::Traced:
      return "TRACED";
    case FlowVerdict::Translated:
      return "TRANSLATED";
    case FlowVerdict::Unknown:
      return "VERDICT_UNKNOWN";
  }
  return "VERDICT_UNKNOWN";
}

// A new connection: TCP SYN without ACK from the initiator; any other non-reply datagram
// (UDP, SCTP, ICMP requests); an outbound connect seen by the agent. Replies (is_reply, or
// SYN-ACK when the source could not tell) are the responder's. TCP packets after the
// handshake and L7 records are evidence of the edge, not new connections.
FlowKind classify(const Flow& f) {
  if (f.l7 || f.policy_verdict || f.sock) return FlowKind::Other;
  if (!f.agent_outcome.empty())
    return f.direction == TrafficDirection::Ingress ? FlowKind::Other : FlowKind::Start;
  if (f.is_reply.value_or(false)) return FlowKind::Reply;
  if (f.l4 == L4Protocol::TCP) {
    if (f.tcp.syn && !f.tcp.ack) return FlowKind::Start;
    if (f.tcp.syn && f.tcp.ack) return FlowKind::Reply;
    // A drop of a non-SYN packet still says the initiator tried.
    return f.verdict == FlowVerdict::Dropped && !f.is_reply.has_value() ? FlowKind::Start
                                                                        : FlowKind::Other;
  }
  return FlowKind::Start;
}

FlowOutcome outcome_of(const Flow& f) {
  if (f.verdict == FlowVerdict::Dropped) return FlowOutcome::Dropped;
  if (f.verdict == FlowVerdict::Error) return FlowOutcome::Failed;
  std::string_view o = f.agent_outcome;
  if (o == "refused" || o == "timeout" || o == "unreachable" || o == "reset" || o == "failed")
    return FlowOutcome::Failed;
  return FlowOutcome::Established;
}

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

namespace {

// "YYYY-MM-DDTHH:MM:SS", the first 19 characters: seconds since the epoch as if it were UTC.
std::optional<int64_t> civil_seconds(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
      !digits(s, 17, 2, se))
    return std::nullopt;
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  // Nanoseconds since the epoch fit in int64 from 1677 to 2262.
  if (y < 1678 || y > 2261) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + se;
}

// What follows the seconds: an optional fraction, then Z or an offset.
std::optional<int64_t> with_suffix(std::string_view s, int64_t secs) {
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++n;
      }
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return (secs - offset) * 1000000000 + frac;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  auto secs = civil_seconds(s);
  if (!secs) return std::nullopt;
  return with_suffix(s, *secs);
}

std::optional<int64_t> Rfc3339Parser::parse(std::string_view s) {
  if (s.size() < kPrefix) return std::nullopt;
  if (!valid_ || std::memcmp(s.data(), prefix_, kPrefix) != 0) {
    auto secs = civil_seconds(s);
    if (!secs) return std::nullopt;
    std::memcpy(prefix_, s.data(), kPrefix);
    secs_ = *secs;
    valid_ = true;
  }
  return with_suffix(s, secs_);
}

void append_rfc3339(std::string& out, int64_t ns) {
  // Floor divisions (no negation: -INT64_MIN overflows).
  const int64_t secs = ns / 1000000000 - (ns % 1000000000 < 0);
  const int64_t days = secs / 86400 - (secs % 86400 < 0);
  const int64_t rem = secs - days * 86400;
  // civil_from_days
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  if (y < 0 || y > 9999) {
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                          static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                          static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
    out.append(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
    return;
  }
  // The common case without printf (maps print two times per edge).
  char buf[21] = "0000-00-00T00:00:00Z";
  auto two = [&](int at, int64_t v) {
    buf[at] = static_cast<char>('0' + v / 10);
    buf[at + 1] = static_cast<char>('0' + v % 10);
  };
  two(0, y / 100);
  two(2, y % 100);
  two(5, m);
  two(8, d);
  two(11, rem / 3600);
  two(14, rem / 60 % 60);
  two(17, rem % 60);
  out.append(buf, 20);
}

std::string format_rfc3339(int64_t ns) {
  std::string out;
  append_rfc3339(out, ns);
  return out;
}

std::string describe(const Flow& f) {
  auto peer = [](const FlowPeer& p) {
    return std::string(p.ns) + "/" + std::string(p.pod) + "/" + std::string(p.pod_uid) + "/" +
           std::string(p.workload) + "/" + std::string(p.workload_kind) + "/" +
           std::string(p.service_ns) + "/" + std::string(p.service_name) + "/" +
           std::string(p.reserved) + "/" + std::string(p.labels_json) + "/" +
           std::to_string(p.identity) + "/" + std::to_string(p.port) + "/" +
           (p.ip ? p.ip->str() : "-") + "/" + std::to_string(p.hint);
  };
  std::string out =
      std::to_string(f.time_ns) + "|" + std::to_string(static_cast<int>(f.l4)) +
      std::to_string(f.tcp.syn) + std::to_string(f.tcp.ack) + std::to_string(f.tcp.fin) +
      std::to_string(f.tcp.rst) + "|" + std::to_string(static_cast<int>(f.verdict)) + "|" +
      std::string(f.drop_reason) + "|" + (f.is_reply ? std::to_string(*f.is_reply) : "-") + "|" +
      std::to_string(static_cast<int>(f.direction)) + std::to_string(f.l7) +
      std::to_string(f.policy_verdict) + std::to_string(f.sock) + "|" + std::string(f.node) + "|" +
      std::string(f.agent_outcome) + "|" + std::to_string(f.pid) + "|" + std::string(f.comm) + "|" +
      peer(f.src) + "|" + peer(f.dst);
  if (const L7Info* l7 = f.l7_info) {
    out += "|l7 " + std::to_string(static_cast<int>(l7->type)) + " " +
           std::to_string(l7->latency_ns) + " " + std::string(l7->dns_query) + " " +
           std::to_string(l7->dns_rcode) + " " + std::string(l7->http_method) + " " +
           std::string(l7->http_url) + " " + std::string(l7->http_protocol) + " " +
           std::to_string(l7->http_code);
    for (size_t i = 0; i < l7->dns_ip_count; ++i) out += " " + std::string(l7->dns_ips[i]);
  }
  return out;
}

}  // namespace stockade

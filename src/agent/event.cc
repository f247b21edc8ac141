#include "agent/event.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "model/flow.h"
#include "stockade_agent.h"

namespace stockade::agent {

namespace {

IpAddr to_ip(const uint8_t* a, uint16_t family) {
  IpAddr ip;
  if (family == 10) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMapped, 12) == 0) {  // an IPv4 peer of a dual-stack socket
      ip.lo = uint64_t{a[12]} << 24 | uint64_t{a[13]} << 16 | uint64_t{a[14]} << 8 | a[15];
      return ip;
    }
    ip.v6 = true;
    for (int i = 0; i < 8; ++i) ip.hi = ip.hi << 8 | a[i];
    for (int i = 8; i < 16; ++i) ip.lo = ip.lo << 8 | a[i];
    return ip;
  }
  ip.lo = uint64_t{a[0]} << 24 | uint64_t{a[1]} << 16 | uint64_t{a[2]} << 8 | a[3];
  return ip;
}

std::string_view canonical_outcome(std::string_view o) {
  for (std::string_view k :
       {"established", "accepted", "refused", "timeout", "unreachable", "reset", "failed"})
    if (o == k) return k;
  return "failed";
}

std::string_view outcome_name(uint8_t o) {
  switch (o) {
    case STK_OUT_ESTABLISHED:
      return "established";
    case STK_OUT_ACCEPTED:
      return "accepted";
    case STK_OUT_REFUSED:
      return "refused";
    case STK_OUT_TIMEOUT:
      return "timeout";
    case STK_OUT_UNREACHABLE:
      return "unreachable";
    case STK_OUT_RESET:
      return "reset";
    default:
      return "failed";
  }
}

void append_escaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {  // comm is bytes, not UTF-8: escape what is not ASCII
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

void append_peer(std::string& out, const IpAddr& ip, uint16_t port, std::string_view ns,
                 std::string_view pod) {
  out += "{\"ip\":\"";
  out += ip.str();
  out += "\",\"port\":";
  out += std::to_string(port);
  if (!pod.empty()) {
    out += ",\"namespace\":";
    append_escaped(out, ns);
    out += ",\"pod\":";
    append_escaped(out, pod);
  }
  out.push_back('}');
}

}  // namespace

AgentEvent decode_event(const stk_event& raw, int64_t boot_to_real_ns) {
  AgentEvent e;
  e.time_ns = static_cast<int64_t>(raw.boot_ns) + boot_to_real_ns;
  e.udp = raw.protocol == 17;
  e.inbound = raw.direction == STK_DIR_INBOUND;
  e.outcome = outcome_name(raw.outcome);
  e.src = to_ip(raw.saddr, raw.family);
  e.dst = to_ip(raw.daddr, raw.family);
  e.src_port = raw.sport;
  e.dst_port = raw.dport;
  if (raw.flags & STK_F_PID) {
    e.pid = raw.pid;
    e.comm.assign(raw.comm, strnlen(raw.comm, sizeof raw.comm));
    e.via_socket = raw.flags & STK_F_SOCKET;
  }
  if (raw.flags & STK_F_CGROUP) e.cgroup_id = raw.cgroup_id;
  e.netns = raw.netns;
  e.sk_err = raw.sk_err;
  return e;
}

std::string format_rfc3339_nano(int64_t ns) {
  // Floor division and its remainder, without overflow at INT64_MIN.
  int64_t frac = ns % 1'000'000'000;
  const int64_t secs = ns / 1'000'000'000 - (frac < 0);
  if (frac < 0) frac += 1'000'000'000;
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string format_event_json(const AgentEvent& e, std::string_view node) {
  std::string out;
  out.reserve(320);
  out += "{\"time\":\"";
  out += format_rfc3339_nano(e.time_ns);
  out += "\",\"type\":\"connect\",\"protocol\":\"";
  out += e.udp ? "UDP" : "TCP";
  out += "\",\"direction\":\"";
  out += e.inbound ? "inbound" : "outbound";
  out += "\",\"outcome\":\"";
  out += e.outcome;
  out += "\",\"src\":";
  append_peer(out, e.src, e.src_port, e.src_ns, e.src_pod);
  out += ",\"dst\":";
  append_peer(out, e.dst, e.dst_port, e.dst_ns, e.dst_pod);
  if (e.pid || e.cgroup_id) {
    out += ",\"process\":{";
    bool first = true;
    if (e.pid) {
      out += "\"pid\":";
      out += std::to_string(*e.pid);
      out += ",\"comm\":";
      append_escaped(out, e.comm);
      if (e.via_socket) out += ",\"attribution\":\"socket\"";
      first = false;
    }
    if (e.cgroup_id) {
      if (!first) out.push_back(',');
      out += "\"cgroup_id\":";
      out += std::to_string(*e.cgroup_id);
    }
    out.push_back('}');
  }
  out += ",\"netns\":";
  out += std::to_string(e.netns);
  if (e.sk_err) {
    out += ",\"errno\":";
    out += std::to_string(e.sk_err);
  }
  if (!e.pod_uid.empty()) {
    out += ",\"pod_uid\":";
    append_escaped(out, e.pod_uid);
  }
  if (!node.empty()) {
    out += ",\"node\":";
    append_escaped(out, node);
  }
  out.push_back('}');
  return out;
}

std::string format_lost_json(int64_t time_ns, uint64_t lost, uint64_t total,
                             std::string_view node) {
  std::string out = "{\"time\":\"" + format_rfc3339_nano(time_ns) +
                    "\",\"type\":\"lost\",\"lost\":" + std::to_string(lost) +
                    ",\"lost_total\":" + std::to_string(total);
  if (!node.empty()) {
    out += ",\"node\":";
    append_escaped(out, node);
  }
  out.push_back('}');
  return out;
}

std::optional<std::string> pod_uid_from_cgroup_path(std::string_view path) {
  // The last path component that starts with "pod" (cgroupfs) or contains "-pod" and ends
  // in ".slice" (systemd) and holds a UUID.
  auto is_uid = [](std::string_view s) {
    if (s.size() != 36) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      bool dash = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
  };
  std::optional<std::string> found;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string_view part =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    std::string_view cand;
    if (part.ends_with(".slice")) {
      size_t p = part.rfind("-pod");
      if (p != std::string_view::npos) cand = part.substr(p + 4, part.size() - p - 4 - 6);
    } else if (part.starts_with("pod")) {
      cand = part.substr(3);
    }
    if (cand.size() == 36) {
      std::string uid(cand);
      for (char& c : uid)
        if (c == '_') c = '-';  // systemd escapes '-' in unit names
      if (is_uid(uid)) found = std::move(uid);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return found;
}

std::optional<std::string> find_cgroup2_mount(const std::string& mounts) {
  FILE* f = std::fopen(mounts.c_str(), "r");
  if (!f) return std::nullopt;
  char dev[512], dir[4096], type[128];
  std::optional<std::string> found;
  while (std::fscanf(f, "%511s %4095s %127s %*[^\n]", dev, dir, type) == 3) {
    if (std::string_view(type) == "cgroup2") {
      found = dir;
      break;
    }
  }
  std::fclose(f);
  return found;
}

CgroupPaths::CgroupPaths(std::string root, int64_t rescan_interval_ns)
    : root_(std::move(root)), interval_(rescan_interval_ns) {}

void CgroupPaths::scan() {
  namespace fs = std::filesystem;
  std::error_code ec;
  paths_.clear();
  struct stat st;
  if (::stat(root_.c_str(), &st) == 0) paths_[st.st_ino] = "";
  fs::recursive_directory_iterator it(root_, fs::directory_options::skip_permission_denied, ec),
      end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (::stat(it->path().c_str(), &st) != 0) continue;
    paths_[st.st_ino] = "/" + fs::relative(it->path(), root_, ec).string();
  }
}

std::optional<std::string> CgroupPaths::path(uint64_t id, int64_t now_ns) {
  auto it = paths_.find(id);
  if (it == paths_.end() && now_ns - last_scan_ >= interval_) {
    last_scan_ = now_ns;
    scan();
    it = paths_.find(id);
  }
  if (it == paths_.end()) return std::nullopt;
  return it->second;
}

const std::string& CgroupPaths::pod_uid(uint64_t id, int64_t now_ns) {
  static const std::string kNone;
  auto it = uids_.find(id);
  if (it != uids_.end()) return it->second;
  auto p = path(id, now_ns);
  if (!p) return kNone;  // not cached: the cgroup may appear at the next scan
  if (uids_.size() > 100000) uids_.clear();
  return uids_[id] = pod_uid_from_cgroup_path(*p).value_or("");
}

std::optional<AgentEvent> event_from_flow(const Flow& f) {
  if (f.agent_outcome.empty() || !f.src.ip || !f.dst.ip) return std::nullopt;
  AgentEvent e;
  e.time_ns = f.time_ns;
  e.udp = f.l4 == L4Protocol::UDP;
  e.inbound = f.direction == TrafficDirection::Ingress;
  e.outcome = canonical_outcome(f.agent_outcome);
  e.src = *f.src.ip;
  e.dst = *f.dst.ip;
  e.src_port = f.src.port;
  e.dst_port = f.dst.port;
  if (f.pid >= 0) e.pid = static_cast<uint32_t>(f.pid);
  e.comm = std::string(f.comm);
  const FlowPeer& local = e.inbound ? f.dst : f.src;
  e.pod_uid = std::string(local.pod_uid);
  e.src_ns = std::string(f.src.ns);
  e.src_pod = std::string(f.src.pod);
  e.dst_ns = std::string(f.dst.ns);
  e.dst_pod = std::string(f.dst.pod);
  return e;
}

}  // namespace stockade::agent

#include "flow/agent_batch.h"

#include <simdjson.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "core/json_text.h"

namespace stockade::batch {

namespace {

std::string_view direction_name(bool inbound) {
  return inbound ? "inbound" : "outbound";
}

void append_peer(std::string& out, const Peer& p) {
  out += "{\"ip\":";
  append_json_string(out, p.ip.str());
  auto field = [&](const char* key, const std::string& v) {
    if (v.empty()) return;
    out += ",\"";
    out += key;
    out += "\":";
    append_json_string(out, v);
  };
  field("pod_uid", p.pod_uid);
  field("namespace", p.ns);
  field("pod", p.pod);
  out += '}';
}

// RFC 3339 with nanoseconds, UTC: "2026-11-22T18:01:31.449926226Z".
void append_rfc3339_nano(std::string& out, int64_t ns) {
  int64_t frac = ns % 1000000000;
  if (frac < 0) frac += 1000000000;
  append_rfc3339(out, ns - frac);
  // append_rfc3339 ends with 'Z': the fraction goes before it.
  out.pop_back();
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%09lldZ", static_cast<long long>(frac));
  out += buf;
}

void append_time(std::string& out, int64_t ns) {
  out += '"';
  append_rfc3339_nano(out, ns);
  out += '"';
}

}  // namespace

std::string encode_json(const AgentBatch& b) {
  std::string out;
  out.reserve(256 + b.edges.size() * 256);
  out += "{\"version\":";
  append_json_number(out, static_cast<int64_t>(b.version));
  out += ",\"node\":";
  append_json_string(out, b.node);
  out += ",\"boot_id\":";
  append_json_string(out, b.boot_id);
  out += ",\"seq\":";
  append_json_number(out, b.seq);
  out += ",\"window_start\":";
  append_time(out, b.window_start);
  out += ",\"window_end\":";
  append_time(out, b.window_end);
  out += ",\"lost_events\":";
  append_json_number(out, b.lost_events);
  out += ",\"dropped_batches\":";
  append_json_number(out, b.dropped_batches);
  out += ",\"edges\":[";
  for (size_t i = 0; i < b.edges.size(); ++i) {
    const Edge& e = b.edges[i];
    if (i) out += ',';
    out += "{\"src\":";
    append_peer(out, e.src);
    out += ",\"dst\":";
    append_peer(out, e.dst);
    out += ",\"protocol\":";
    append_json_string(out, to_string(e.protocol));
    out += ",\"port\":";
    append_json_number(out, uint64_t{e.port});
    out += ",\"direction\":\"";
    out += direction_name(e.inbound);
    out += "\",\"count\":";
    append_json_number(out, e.stats.count);
    out += ",\"established\":";
    append_json_number(out, e.stats.established);
    out += ",\"failed\":";
    append_json_number(out, e.stats.failed);
    out += ",\"dropped\":";
    append_json_number(out, e.stats.dropped);
    out += ",\"first_seen\":";
    append_time(out, e.stats.first_seen);
    out += ",\"last_seen\":";
    append_time(out, e.stats.last_seen);
    out += ",\"processes\":[";
    for (size_t k = 0; k < e.processes.size(); ++k) {
      if (k) out += ',';
      append_json_string(out, e.processes[k]);
    }
    out += ']';
    if (e.processes_truncated) out += ",\"processes_truncated\":true";
    out += '}';
  }
  out += "]}";
  return out;
}

std::string gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer.
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Result<std::string> gunzip(std::string_view data, size_t max_out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return make_error("gzip: cannot initialise zlib");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return make_error(rc == Z_BUF_ERROR ? "gzip: the body is cut short"
                                          : "gzip: the body is not valid gzip");
    }
    size_t got = sizeof buf - z.avail_out;
    if (out.size() + got > max_out) {
      inflateEnd(&z);
      return make_error("gzip: the body expands past " + std::to_string(max_out >> 20) + " MiB");
    }
    out.append(buf, got);
  }
  bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  if (trailing) return make_error("gzip: bytes after the end of the gzip stream");
  return out;
}

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

struct Decoder {
  std::string error;  // the first error: "field: message"

  bool fail(const std::string& path, const std::string& message) {
    if (error.empty()) error = path + ": " + message;
    return false;
  }
  bool uint_field(element v, const std::string& path, uint64_t max, uint64_t& out) {
    uint64_t n;
    if (v.get_uint64().get(n) != simdjson::SUCCESS || n > max)
      return fail(path, "expected an integer 0.." + std::to_string(max));
    out = n;
    return true;
  }
  bool string_field(element v, const std::string& path, size_t max, std::string& out) {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) return fail(path, "expected a string");
    if (s.size() > max) return fail(path, "longer than " + std::to_string(max) + " bytes");
    for (char c : s)
      if (static_cast<unsigned char>(c) < 0x20) return fail(path, "holds a control character");
    out = std::string(s);
    return true;
  }
  bool time_field(element v, const std::string& path, int64_t& out) {
    std::string_view s;
    if (v.get_string().get(s) != simdjson::SUCCESS) return fail(path, "expected an RFC 3339 time");
    auto t = parse_rfc3339(s);
    if (!t) return fail(path, "expected an RFC 3339 time");
    out = *t;
    return true;
  }
  bool peer(element v, const std::string& path, Peer& p) {
    object o;
    if (v.get_object().get(o) != simdjson::SUCCESS) return fail(path, "expected an object");
    bool has_ip = false;
    for (auto [key, val] : o) {
      if (key == "ip") {
        std::string_view s;
        std::optional<IpAddr> ip;
        if (val.get_string().get(s) != simdjson::SUCCESS || !(ip = IpAddr::parse(s)))
          return fail(path + ".ip", "expected an IPv4 or IPv6 address");
        p.ip = *ip;
        has_ip = true;
      } else if (key == "pod_uid") {
        if (!string_field(val, path + ".pod_uid", 64, p.pod_uid)) return false;
      } else if (key == "namespace") {
        if (!string_field(val, path + ".namespace", 63, p.ns)) return false;
      } else if (key == "pod") {
        if (!string_field(val, path + ".pod", kMaxNameBytes, p.pod)) return false;
      }
      // Other keys: later versions of the agent may add to a peer; ignored.
    }
    if (!has_ip) return fail(path + ".ip", "missing");
    if (p.ns.empty() != p.pod.empty())
      return fail(path + (p.ns.empty() ? ".namespace" : ".pod"),
                  "missing (namespace and pod come together)");
    return true;
  }
  bool edge(element v, const std::string& path, Edge& e) {
    object o;
    if (v.get_object().get(o) != simdjson::SUCCESS) return fail(path, "expected an object");
    unsigned seen = 0;
    bool has_processes = false;
    enum : unsigned {
      kSrc = 1,
      kDst = 2,
      kProto = 4,
      kPort = 8,
      kDir = 16,
      kCount = 32,
      kFirst = 64,
      kLast = 128
    };
    for (auto [key, val] : o) {
      std::string p = path + "." + std::string(key);
      uint64_t n = 0;
      if (key == "src") {
        if (!peer(val, p, e.src)) return false;
        seen |= kSrc;
      } else if (key == "dst") {
        if (!peer(val, p, e.dst)) return false;
        seen |= kDst;
      } else if (key == "protocol") {
        std::string_view s;
        if (val.get_string().get(s) != simdjson::SUCCESS ||
            (s != "TCP" && s != "UDP" && s != "SCTP"))
          return fail(p, "expected \"TCP\", \"UDP\" or \"SCTP\"");
        e.protocol = s == "TCP" ? L4Protocol::TCP : s == "UDP" ? L4Protocol::UDP : L4Protocol::SCTP;
        seen |= kProto;
      } else if (key == "port") {
        if (!uint_field(val, p, 65535, n)) return false;
        e.port = static_cast<uint16_t>(n);
        seen |= kPort;
      } else if (key == "direction") {
        std::string_view s;
        if (val.get_string().get(s) != simdjson::SUCCESS || (s != "outbound" && s != "inbound"))
          return fail(p, "expected \"outbound\" or \"inbound\"");
        e.inbound = s == "inbound";
        seen |= kDir;
      } else if (key == "count") {
        if (!uint_field(val, p, UINT64_MAX >> 2, e.stats.count)) return false;
        seen |= kCount;
      } else if (key == "established") {
        if (!uint_field(val, p, UINT64_MAX >> 2, e.stats.established)) return false;
      } else if (key == "failed") {
        if (!uint_field(val, p, UINT64_MAX >> 2, e.stats.failed)) return false;
      } else if (key == "dropped") {
        if (!uint_field(val, p, UINT64_MAX >> 2, e.stats.dropped)) return false;
      } else if (key == "first_seen") {
        if (!time_field(val, p, e.stats.first_seen)) return false;
        seen |= kFirst;
      } else if (key == "last_seen") {
        if (!time_field(val, p, e.stats.last_seen)) return false;
        seen |= kLast;
      } else if (key == "processes") {
        // Twice would add up past the bound (and not encode back to what was read).
        if (has_processes) return fail(p, "given twice");
        has_processes = true;
        simdjson::dom::array a;
        if (val.get_array().get(a) != simdjson::SUCCESS) return fail(p, "expected an array");
        if (a.size() > kMaxProcesses)
          return fail(p, "more than " + std::to_string(kMaxProcesses) + " names");
        size_t k = 0;
        for (element name : a) {
          std::string s;
          if (!string_field(name, p + "[" + std::to_string(k++) + "]", 64, s)) return false;
          e.processes.push_back(std::move(s));
        }
      } else if (key == "processes_truncated") {
        if (val.get_bool().get(e.processes_truncated) != simdjson::SUCCESS)
          return fail(p, "expected true or false");
      }
    }
    static const std::pair<unsigned, const char*> required[] = {
        {kSrc, "src"},       {kDst, "dst"},     {kProto, "protocol"},   {kPort, "port"},
        {kDir, "direction"}, {kCount, "count"}, {kFirst, "first_seen"}, {kLast, "last_seen"}};
    for (const auto& [bit, name] : required)
      if (!(seen & bit)) return fail(path + "." + name, "missing");
    if (e.stats.established + e.stats.failed + e.stats.dropped != e.stats.count)
      return fail(path + ".count", "is not established + failed + dropped");
    if (e.stats.last_seen < e.stats.first_seen)
      return fail(path + ".last_seen", "before first_seen");
    return true;
  }
};

}  // namespace

Result<AgentBatch> decode(std::string_view body) {
  std::string inflated;
  if (body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
      static_cast<unsigned char>(body[1]) == 0x8b) {
    if (body.size() > kMaxCompressedBytes)
      return make_error("the body is larger than " + std::to_string(kMaxCompressedBytes >> 20) +
                        " MiB");
    auto text = gunzip(body);
    if (!text) return tl::unexpected(text.error());
    inflated = std::move(*text);
    body = inflated;
  } else if (body.size() > kMaxJsonBytes) {
    return make_error("the body is larger than " + std::to_string(kMaxJsonBytes >> 20) + " MiB");
  }
  simdjson::dom::parser parser;
  if (parser.allocate(body.size() + 64, kMaxDepth) != simdjson::SUCCESS)
    return make_error("cannot allocate the JSON parser");
  element root;
  simdjson::padded_string text(body);
  if (auto err = parser.parse(text).get(root); err != simdjson::SUCCESS)
    return make_error(err == simdjson::DEPTH_ERROR
                          ? std::string("the JSON nests deeper than a batch does")
                          : std::string("not valid JSON: ") + simdjson::error_message(err));
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) return make_error("expected a JSON object");
  Decoder d;
  AgentBatch b;
  b.version = 0;
  bool has_node = false, has_boot = false, has_seq = false, has_edges = false, has_ws = false,
       has_we = false;
  for (auto [key, val] : o) {
    std::string p(key);
    uint64_t n = 0;
    bool ok = true;
    if (key == "version") {
      ok = d.uint_field(val, p, 1000, n);
      if (ok && n != kVersion)
        ok = d.fail(p, "version " + std::to_string(n) + " is not understood (this reader: 1)");
      b.version = static_cast<int>(n);
    } else if (key == "node") {
      ok = d.string_field(val, p, kMaxNameBytes, b.node) && (!b.node.empty() || d.fail(p, "empty"));
      has_node = true;
    } else if (key == "boot_id") {
      ok = d.string_field(val, p, 64, b.boot_id) && (!b.boot_id.empty() || d.fail(p, "empty"));
      has_boot = true;
    } else if (key == "seq") {
      ok = d.uint_field(val, p, UINT64_MAX >> 1, b.seq) &&
           (b.seq > 0 || d.fail(p, "must be 1 or more"));
      has_seq = true;
    } else if (key == "window_start") {
      ok = d.time_field(val, p, b.window_start);
      has_ws = true;
    } else if (key == "window_end") {
      ok = d.time_field(val, p, b.window_end);
      has_we = true;
    } else if (key == "lost_events") {
      ok = d.uint_field(val, p, UINT64_MAX >> 1, b.lost_events);
    } else if (key == "dropped_batches") {
      ok = d.uint_field(val, p, UINT64_MAX >> 1, b.dropped_batches);
    } else if (key == "edges") {
      simdjson::dom::array a;
      if (has_edges) {
        ok = d.fail(p, "given twice");  // the edges of both would pass the bound
      } else if (val.get_array().get(a) != simdjson::SUCCESS) {
        ok = d.fail(p, "expected an array");
      } else if (a.size() > kMaxEdges) {
        ok = d.fail(p, "more than " + std::to_string(kMaxEdges) + " edges");
      } else {
        b.edges.reserve(a.size());
        size_t i = 0;
        for (element e : a) {
          b.edges.emplace_back();
          if (!(ok = d.edge(e, "edges[" + std::to_string(i++) + "]", b.edges.back()))) break;
        }
      }
      has_edges = true;
    }
    if (!ok) return make_error(d.error);
  }
  if (b.version == 0) return make_error("version: missing");
  for (auto [has, name] : {std::pair{has_node, "node"},
                           {has_boot, "boot_id"},
                           {has_seq, "seq"},
                           {has_ws, "window_start"},
                           {has_we, "window_end"},
                           {has_edges, "edges"}})
    if (!has) return make_error(std::string(name) + ": missing");
  if (b.window_end < b.window_start) return make_error("window_end: before window_start");
  return b;
}

void add_to_graph(const AgentBatch& b, EdgeGraph& graph) {
  for (const Edge& e : b.edges) {
    auto peer = [&](const Peer& p) {
      FlowPeer f;
      f.ns = p.ns;
      f.pod = p.pod;
      f.pod_uid = p.pod_uid;
      f.ip = p.ip;
      f.port = 0;
      return f;
    };
    FlowPeer src = peer(e.src), dst = peer(e.dst);
    dst.port = e.port;
    // An inbound edge counted its accepted connections, which stand for as many events.
    graph.add_aggregated(src, dst, e.protocol, e.port, e.stats, e.inbound, b.node, e.stats.count);
  }
}

}  // namespace stockade::batch

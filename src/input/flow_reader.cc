#include "input/flow_reader.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace stockade {

namespace {

namespace dom = simdjson::dom;
using simdjson::error_code;
using simdjson::SUCCESS;

constexpr size_t kMaxLine = size_t{64} << 20;

// Field handlers. Every one returns an error code; any error makes the line malformed.
#define TRY(expr)                 \
  do {                            \
    error_code e_ = (expr);       \
    if (e_ != SUCCESS) return e_; \
  } while (0)

error_code read_ip(dom::element v, std::optional<IpAddr>& out) {
  std::string_view s;
  TRY(v.get_string().get(s));
  if (s.empty()) return SUCCESS;
  out = IpAddr::parse(s);
  return out ? SUCCESS : simdjson::INCORRECT_TYPE;
}

error_code read_port(dom::element v, uint16_t& out) {
  uint64_t n;
  TRY(v.get_uint64().get(n));
  if (n > 65535) return simdjson::NUMBER_OUT_OF_RANGE;
  out = static_cast<uint16_t>(n);
  return SUCCESS;
}

// Calls f(key, value) -> error_code for each field of an object; an error stops.
template <class F>
error_code each_field(dom::element v, F&& f) {
  dom::object o;
  TRY(v.get_object().get(o));
  for (auto field : o) TRY(f(field.key, field.value));
  return SUCCESS;
}

template <class F>
error_code each_item(dom::element v, F&& f) {
  dom::array a;
  TRY(v.get_array().get(a));
  for (dom::element item : a) TRY(f(item));
  return SUCCESS;
}

// Hubble `source` / `destination` endpoint.
error_code read_endpoint(dom::element v, FlowPeer& p) {
  return each_field(v, [&](std::string_view key, dom::element val) -> error_code {
    if (key == "namespace") return val.get_string().get(p.ns);
    if (key == "pod_name") return val.get_string().get(p.pod);
    if (key == "identity") {
      uint64_t id;
      TRY(val.get_uint64().get(id));
      p.identity = static_cast<uint32_t>(id);
    } else if (key == "labels") {
      return each_item(val, [&](dom::element item) -> error_code {
        std::string_view label;
        TRY(item.get_string().get(label));
        // One peer can carry several reserved labels (host + kube-apiserver): the node ones
        // decide where it resolves.
        if (label.starts_with("reserved:")) {
          std::string_view r = label.substr(9);
          if (p.reserved.empty() || r == "host" || r == "remote-node") p.reserved = r;
        }
        if (label.starts_with("k8s:") && p.label_count < p.labels.size())
          p.labels[p.label_count++] = label.substr(4);
        return SUCCESS;
      });
    } else if (key == "workloads") {
      return each_item(val, [&](dom::element item) {
        return each_field(item, [&](std::string_view wk, dom::element wv) -> error_code {
          if (p.workload.empty() && wk == "name") return wv.get_string().get(p.workload);
          if (p.workload_kind.empty() && wk == "kind") return wv.get_string().get(p.workload_kind);
          return SUCCESS;
        });
      });
    }
    return SUCCESS;
  });
}

error_code read_service(dom::element v, FlowPeer& p) {
  return each_field(v, [&](std::string_view key, dom::element val) -> error_code {
    if (key == "name") return val.get_string().get(p.service_name);
    if (key == "namespace") return val.get_string().get(p.service_ns);
    return SUCCESS;
  });
}

error_code read_l4(dom::element v, Flow& f) {
  return each_field(v, [&](std::string_view key, dom::element val) -> error_code {
    if (key == "ICMPv4" || key == "ICMPv6") {
      f.l4 = key == "ICMPv4" ? L4Protocol::ICMPv4 : L4Protocol::ICMPv6;
      return SUCCESS;
    }
    if (key != "TCP" && key != "UDP" && key != "SCTP") return SUCCESS;
    f.l4 = key == "TCP" ? L4Protocol::TCP : key == "UDP" ? L4Protocol::UDP : L4Protocol::SCTP;
    return each_field(val, [&](std::string_view pk, dom::element pv) -> error_code {
      if (pk == "source_port") return read_port(pv, f.src.port);
      if (pk == "destination_port") return read_port(pv, f.dst.port);
      if (pk != "flags") return SUCCESS;
      return each_field(pv, [&](std::string_view fk, dom::element fv) -> error_code {
        bool b = false;
        TRY(fv.get_bool().get(b));
        if (fk == "SYN") f.tcp.syn = b;
        if (fk == "ACK") f.tcp.ack = b;
        if (fk == "FIN") f.tcp.fin = b;
        if (fk == "RST") f.tcp.rst = b;
        return SUCCESS;
      });
    });
  });
}

FlowVerdict parse_verdict(std::string_view s) {
  if (s == "FORWARDED") return FlowVerdict::Forwarded;
  if (s == "DROPPED") return FlowVerdict::Dropped;
  if (s == "ERROR") return FlowVerdict::Error;
  if (s == "AUDIT") return FlowVerdict::Audit;
  if (s == "REDIRECTED") return FlowVerdict::Redirected;
  if (s == "TRACED") return FlowVerdict::Traced;
  if (s == "TRANSLATED") return FlowVerdict::Translated;
  return FlowVerdict::Unknown;
}

// Agent `src` / `dst`: {"ip": "...", "port": N}.
error_code read_agent_peer(dom::element v, FlowPeer& p) {
  return each_field(v, [&](std::string_view key, dom::element val) -> error_code {
    if (key == "ip") return read_ip(val, p.ip);
    if (key == "port") return read_port(val, p.port);
    if (key == "namespace") return val.get_string().get(p.ns);  // set by `agent -f`
    if (key == "pod") return val.get_string().get(p.pod);
    return SUCCESS;
  });
}

struct Seen {
  bool flow = false;         // a Hubble flow (IP, l4, source/destination, verdict)
  bool agent = false;        // a Stockade agent event
  std::string_view pod_uid;  // agent: the pod of the process (the local side)
};

// One object: a Hubble flow, the {"flow": …} wrapper around one, or an agent event. The
// field sets do not overlap in meaning, so one pass handles all three.
error_code read_object(dom::element o, Flow& f, Seen& seen, int depth) {
  return each_field(o, [&](std::string_view key, dom::element val) -> error_code {
    std::string_view s;
    if (key == "flow") {
      if (depth > 0) return simdjson::TAPE_ERROR;
      return read_object(val, f, seen, depth + 1);
    }
    if (key == "time") {
      TRY(val.get_string().get(s));
      auto ns = parse_rfc3339(s);
      if (!ns) return simdjson::INCORRECT_TYPE;
      if (f.time_ns == 0 || depth > 0) f.time_ns = *ns;
    } else if (key == "verdict") {
      TRY(val.get_string().get(s));
      f.verdict = parse_verdict(s);
      seen.flow = true;
    } else if (key == "drop_reason_desc") {
      return val.get_string().get(f.drop_reason);
    } else if (key == "IP") {
      seen.flow = true;
      return each_field(val, [&](std::string_view ik, dom::element iv) -> error_code {
        if (ik == "source") return read_ip(iv, f.src.ip);
        if (ik == "destination") return read_ip(iv, f.dst.ip);
        return SUCCESS;
      });
    } else if (key == "l4" || key == "source" || key == "destination") {
      seen.flow = true;
      return key == "l4" ? read_l4(val, f) : read_endpoint(val, key == "source" ? f.src : f.dst);
    } else if (key == "source_service" || key == "destination_service") {
      return read_service(val, key == "source_service" ? f.src : f.dst);
    } else if (key == "Type") {
      TRY(val.get_string().get(s));
      f.l7 = f.l7 || s == "L7";
      f.sock = s == "SOCK";
    } else if (key == "l7") {
      f.l7 = true;
    } else if (key == "event_type") {
      return each_field(val, [&](std::string_view ek, dom::element ev) -> error_code {
        uint64_t type;
        if (ek == "type" && ev.get_uint64().get(type) == SUCCESS && type == 5)
          f.policy_verdict = true;
        return SUCCESS;
      });
    } else if (key == "is_reply") {
      bool b;
      if (val.get_bool().get(b) == SUCCESS) f.is_reply = b;
    } else if (key == "traffic_direction") {
      TRY(val.get_string().get(s));
      f.direction = s == "INGRESS"  ? TrafficDirection::Ingress
                    : s == "EGRESS" ? TrafficDirection::Egress
                                    : TrafficDirection::Unknown;
    } else if (key == "node_name" || key == "node") {
      TRY(val.get_string().get(s));
      if (f.node.empty() || depth > 0) f.node = s;
    } else if (key == "type") {  // agent event
      TRY(val.get_string().get(s));
      if (s == "lost") return SUCCESS;  // the agent's notice of lost events: no flow
      if (s != "connect") return simdjson::INCORRECT_TYPE;
      seen.agent = true;
      f.verdict = FlowVerdict::Forwarded;
    } else if (key == "protocol") {
      TRY(val.get_string().get(s));
      f.l4 = s == "TCP" ? L4Protocol::TCP : s == "UDP" ? L4Protocol::UDP : L4Protocol::Unknown;
    } else if (key == "direction") {
      TRY(val.get_string().get(s));
      f.direction = s == "inbound" ? TrafficDirection::Ingress : TrafficDirection::Egress;
    } else if (key == "outcome") {
      return val.get_string().get(f.agent_outcome);
    } else if (key == "pod_uid") {
      return val.get_string().get(seen.pod_uid);
    } else if (key == "src" || key == "dst") {
      return read_agent_peer(val, key == "src" ? f.src : f.dst);
    } else if (key == "process") {
      return each_field(val, [&](std::string_view pk, dom::element pv) -> error_code {
        if (pk == "pid") return pv.get_int64().get(f.pid);
        if (pk == "comm") return pv.get_string().get(f.comm);
        return SUCCESS;
      });
    }
    return SUCCESS;
  });
}

#undef TRY

class LineParser {
 public:
  LineParser(const std::string& name, const FlowReadOptions& options, FlowReadStats& stats,
             const FlowSink& sink)
      : name_(name), options_(options), stats_(stats), sink_(sink) {}

  // `line` must be followed by at least SIMDJSON_PADDING readable bytes.
  Result<void> line(const char* data, size_t len, size_t capacity) {
    ++stats_.lines;
    ++line_no_;
    while (len > 0 && (data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t'))
      --len;
    size_t start = 0;
    while (start < len && (data[start] == ' ' || data[start] == '\t')) ++start;
    if (start == len) return {};
    Flow f;
    Seen seen;
    error_code err = parse(data + start, len - start, capacity - start, f, seen);
    if (err == SUCCESS && !seen.flow && !seen.agent) {
      ++stats_.ignored;  // valid JSON without a flow (lost events, node status)
      return {};
    }
    if (err == SUCCESS && seen.agent && (!f.src.ip || !f.dst.ip)) err = simdjson::INCORRECT_TYPE;
    if (seen.agent && !seen.pod_uid.empty())  // the process runs on the connection's own side
      (f.direction == TrafficDirection::Ingress ? f.dst : f.src).pod_uid = seen.pod_uid;
    if (err != SUCCESS)
      return malformed(std::string("not a flow record: ") + simdjson::error_message(err));
    ++stats_.records;
    sink_(f);
    return {};
  }

  Result<void> malformed(const std::string& why) {
    ++stats_.malformed;
    Error e{name_, static_cast<int>(std::min<uint64_t>(line_no_, INT32_MAX)), why};
    if (options_.strict) return tl::unexpected(e);
    if (stats_.problems.size() < options_.max_reported) stats_.problems.push_back(std::move(e));
    return {};
  }

 private:
  error_code parse(const char* data, size_t len, size_t capacity, Flow& f, Seen& seen) {
    (void)capacity;  // the caller guarantees SIMDJSON_PADDING readable bytes after the line
    dom::element doc;
    auto err = parser_.parse(data, len, false).get(doc);
    if (err != SUCCESS) return err;
    return read_object(doc, f, seen, 0);
  }

  const std::string& name_;
  const FlowReadOptions& options_;
  FlowReadStats& stats_;
  const FlowSink& sink_;
  dom::parser parser_;
  uint64_t line_no_ = 0;
};

// Splits a byte stream into lines in a reusable buffer padded for simdjson.
class LineSplitter {
 public:
  LineSplitter(LineParser& p, const volatile std::sig_atomic_t* stop)
      : parser_(p), stop_(stop), buf_(kInitial + simdjson::SIMDJSON_PADDING) {}

  // Feeds whatever `read(dst, max)` returns until it returns 0; negative is an I/O error.
  template <class Read>
  Result<void> run(Read&& read, const std::string& name) {
    size_t begin = 0, end = 0;
    for (;;) {
      if (end == capacity()) {
        if (begin > 0) {
          std::memmove(buf_.data(), buf_.data() + begin, end - begin);
          end -= begin;
          begin = 0;
        } else {
          if (capacity() >= kMaxLine)
            return make_error(name, 0, "a line is longer than 64 MiB: not a flow file?");
          buf_.resize(capacity() * 2 + simdjson::SIMDJSON_PADDING);
        }
      }
      if (stopped()) break;
      long n = read(buf_.data() + end, capacity() - end);
      if (n < 0 && stopped()) break;
      if (n == -1 && errno == EINTR) continue;              // another signal: read on
      if (n < 0) return make_error(name, 0, "read error");  // the caller names the cause
      if (n == 0) break;
      size_t scan = end;
      end += static_cast<size_t>(n);
      for (;;) {
        const char* nl =
            static_cast<const char*>(std::memchr(buf_.data() + scan, '\n', end - scan));
        if (!nl) break;
        size_t line_end = static_cast<size_t>(nl - buf_.data());
        auto r = parser_.line(buf_.data() + begin, line_end - begin, buf_.size() - begin);
        if (!r) return r;
        begin = scan = line_end + 1;
      }
    }
    if (end > begin && !stopped()) {  // a last line without newline (not a cut-off one)
      std::memset(buf_.data() + end, 0, simdjson::SIMDJSON_PADDING);
      return parser_.line(buf_.data() + begin, end - begin, buf_.size() - begin);
    }
    return {};
  }

 private:
  static constexpr size_t kInitial = size_t{1} << 20;
  size_t capacity() const { return buf_.size() - simdjson::SIMDJSON_PADDING; }
  bool stopped() const { return stop_ && *stop_; }
  LineParser& parser_;
  const volatile std::sig_atomic_t* stop_;
  std::vector<char> buf_;
};

}  // namespace

namespace {

// Bytes of a file descriptor, inflated when the stream starts with the gzip magic (several
// gzip members one after another too). read(2) returns whatever is available, so a live
// stream is parsed as it arrives and a signal loses nothing already read.
class ByteSource {
 public:
  explicit ByteSource(int fd) : fd_(fd), in_(1 << 20) {}
  ~ByteSource() {
    if (gzip_) inflateEnd(&z_);
  }

  // > 0 bytes, 0 at the end, -1 on a read error (errno set), -2 on corrupt gzip data,
  // -3 on gzip data cut short.
  long read(char* dst, size_t max) {
    if (!started_) {
      started_ = true;
      long n = fill();
      if (n < 0) return -1;
      gzip_ = in_len_ >= 2 && static_cast<uint8_t>(in_[0]) == 0x1f &&
              static_cast<uint8_t>(in_[1]) == 0x8b;
      if (gzip_ && inflateInit2(&z_, 15 + 32) != Z_OK) return -2;
    }
    if (!gzip_) {
      if (in_pos_ == in_len_ && fill() < 0) return -1;
      size_t n = std::min(max, in_len_ - in_pos_);
      std::memcpy(dst, in_.data() + in_pos_, n);
      in_pos_ += n;
      return static_cast<long>(n);
    }
    for (;;) {
      if (in_pos_ == in_len_) {
        long n = fill();
        if (n < 0) return -1;
        if (n == 0) return member_done_ ? 0 : -3;
      }
      if (member_done_) {  // another gzip member follows
        inflateReset(&z_);
        member_done_ = false;
      }
      z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      z_.avail_in = static_cast<uInt>(in_len_ - in_pos_);
      z_.next_out = reinterpret_cast<Bytef*>(dst);
      z_.avail_out = static_cast<uInt>(std::min<size_t>(max, 1u << 30));
      int rc = inflate(&z_, Z_NO_FLUSH);
      in_pos_ = in_len_ - z_.avail_in;
      long produced = static_cast<long>(std::min<size_t>(max, 1u << 30) - z_.avail_out);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = z_.msg ? z_.msg : "corrupt data";
        return -2;
      }
      if (produced > 0) return produced;
    }
  }
  const std::string& error() const { return error_; }

 private:
  long fill() {
    in_pos_ = in_len_ = 0;
    for (;;) {
      ssize_t n = ::read(fd_, in_.data(), in_.size());
      if (n >= 0) {
        in_len_ = static_cast<size_t>(n);
        return n;
      }
      if (errno != EINTR) return -1;
      return -1;  // interrupted: the caller decides (a stop request ends the input)
    }
  }

  int fd_;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool started_ = false, gzip_ = false, member_done_ = true;
  z_stream z_{};
  std::string error_;
};

}  // namespace

Result<void> read_flows(const std::string& path, const FlowReadOptions& options,
                        FlowReadStats& stats, const FlowSink& sink) {
  std::string name = path == "-" ? "<stdin>" : path;
  int fd = path == "-" ? 0 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(name, 0, std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) ::close(fd);
    }
  } closer{fd};
  ByteSource source(fd);
  LineParser parser(name, options, stats, sink);
  LineSplitter splitter(parser, options.stop);
  long failure = 0;
  int read_errno = 0;
  auto r = splitter.run(
      [&](char* dst, size_t max) -> long {
        long n = source.read(dst, max);
        if (n < 0) {
          failure = n;
          read_errno = errno;
        }
        return n;
      },
      name);
  if (options.stop && *options.stop) return {};  // interrupted on purpose: what was read counts
  if (failure == -3)
    return make_error(name, 0, "truncated gzip file (unexpected end of compressed data)");
  if (failure == -2) return make_error(name, 0, "corrupt gzip data: " + source.error());
  if (failure == -1)
    return make_error(name, 0, std::string("read error: ") + std::strerror(read_errno));
  return r;
}

Result<void> read_flows_text(std::string_view text, const std::string& name,
                             const FlowReadOptions& options, FlowReadStats& stats,
                             const FlowSink& sink) {
  LineParser parser(name, options, stats, sink);
  LineSplitter splitter(parser, options.stop);
  size_t pos = 0;
  return splitter.run(
      [&](char* dst, size_t max) -> long {
        size_t n = std::min(max, text.size() - pos);
        std::memcpy(dst, text.data() + pos, n);
        pos += n;
        return static_cast<long>(n);
      },
      name);
}

}  // namespace stockade

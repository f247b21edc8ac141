// gen_flows: deterministic synthetic Cilium Hubble flow records for benchmarks and tests.
//
// Reads a cluster dump (`kind: List` JSON, as written by gen_cluster or `kubectl get -o json`),
// builds a plausible traffic pattern over its pods, and prints one Hubble flow per line in the
// protobuf JSON mapping that `hubble observe -o jsonpb` (and Hubble's flow exporter) print:
// proto field names, enums as strings, 64-bit integers as strings, RFC 3339 nanosecond times.
// The format is described in tests/flow/fixtures/HUBBLE_FORMAT.md.
//
// With --truth it also writes the workload-level edges the records contain, counting every
// record that starts a connection (see kUsage), so tests can compare `stockade map` against it.
//
// Determinism: all randomness comes from one std::mt19937_64 (whose output sequence is fixed by
// the standard) reduced with `% n`; no std distributions, no hash-ordered iteration.

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------------------------
// Randomness and small helpers

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_(); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : g_() % n; }
  bool PerMille(int p) { return Below(1000) < static_cast<uint64_t>(p); }
  bool Percent(int p) { return Below(100) < static_cast<uint64_t>(p); }
  template <class C>
  const auto& Pick(const C& c) {
    return c[Below(std::size(c))];
  }

 private:
  std::mt19937_64 g_;
};

uint64_t Fnv(std::string_view s, uint64_t seed = 0xcbf29ce484222325ULL) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void AppendU(std::string& s, uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  s.append(b, r.ptr);
}

// JSON string body the way Go's encoding/json writes it (Hubble's printer): `<`, `>` and `&`
// become \u003c, \u003e, \u0026.
void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  AppendEscaped(out, s);
  out.push_back('"');
  return out;
}

std::string JsonStringArray(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out.push_back(',');
    out.append(Quoted(v[i]));
  }
  out.push_back(']');
  return out;
}

std::string Mac(uint64_t h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 6; ++i) {
    unsigned b = static_cast<unsigned>(h >> (8 * i)) & 0xff;
    if (i == 0) b = (b & 0xfc) | 0x02;  // unicast, locally administered
    if (i) s.push_back(':');
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DDTHH:MM:SS" of Unix seconds.
std::string CivilSeconds(int64_t secs) {
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
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
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y),
                m, d, static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// RFC 3339 ("2026-01-01T00:00:00Z", optional fraction, Z or +hh:mm) to ns since the epoch.
bool ParseRfc3339(std::string_view s, int64_t& out) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !Digits(s, 0, 4, y) || s[4] != '-' || !Digits(s, 5, 2, mo) || s[7] != '-' ||
      !Digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) ||
      s[13] != ':' || !Digits(s, 14, 2, mi) || s[16] != ':' || !Digits(s, 17, 2, se))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return false;
  size_t pos = 19;
  int64_t frac = 0;
  if (s[pos] == '.') {
    int n = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++n)
      if (n < 9) frac = frac * 10 + (s[pos] - '0');
    if (n == 0) return false;
    for (; n < 9; ++n) frac *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, om))
      return false;
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  const int64_t secs =
      DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + se - offset;
  out = secs * 1000000000 + frac;
  return true;
}

// ---------------------------------------------------------------------------------------------
// The cluster

struct PortDef {
  int num = 0;
  std::string proto;  // TCP, UDP, SCTP
  std::string name;
};

struct Node {
  std::string name, ip;
  std::string name_json;    // "cluster/name", quoted
  std::string labels_json;  // ["k=v",...]
  std::string mac;
  int endpoints = 0;
};

struct Pod {
  std::string ns, name, ip4, ip6, sa, node_name;
  Labels labels;
  int node = -1;
  int workload = -1;
  bool host_network = false;
  std::vector<PortDef> ports;
  std::string owner_kind, owner_name;
  // Precomputed JSON: endpoint body (without "ID"), `"ID":N,`, MACs and interface.
  std::string ep_body, ep_id, mac, iface;
};

struct Workload {
  std::string ns, name, kind;  // kind "Pod" for bare pods
  std::vector<int> pods;       // pods with an address, not host-network
  std::vector<PortDef> ports;
  std::vector<int> port_service;  // per port: service index or -1
  std::vector<int> port_service_port;
  bool frontend = false;
  int truth = -1;
};

struct ServicePort {
  int port = 0;
  std::string proto;
  json target;  // number or name
};

struct Service {
  std::string ns, name, type, cluster_ip, json;  // json: {"name":..,"namespace":..}
  Labels selector;
  std::vector<ServicePort> ports;
};

// A fixed external address: egress destinations and ingress clients.
struct External {
  std::string ip, ep_body, names_json, mac;
  int truth = -1;
};

constexpr std::string_view kDocsExternal[][2] = {
    // ip, DNS name ("" when none). The 203.0.113.0/24 ones are selected by a CIDR policy.
    {"203.0.113.10", "api.payments.example"},    {"203.0.113.25", "hooks.partner.example"},
    {"198.51.100.7", "objects.storage.example"}, {"198.51.100.40", ""},
    {"192.0.2.80", "telemetry.vendor.example"},
};
constexpr std::string_view kDocsClients[] = {
    "198.51.100.11",  "198.51.100.23", "198.51.100.77", "198.51.100.150",
    "198.51.100.201", "203.0.113.101", "203.0.113.140", "203.0.113.199",
    "192.0.2.17",     "192.0.2.33",    "192.0.2.64",    "192.0.2.250",
};

// Cilium's default label filter (pkg/labels/filter.go and docs): which pod labels make up the
// security identity and appear in Hubble's endpoint labels.
bool IdentityRelevant(std::string_view k) {
  if (k.starts_with("app.kubernetes.io")) return true;
  if (k.find("beta.kubernetes.io") != std::string_view::npos) return false;
  static constexpr std::string_view kExcluded[] = {"io.kubernetes",
                                                   "kubernetes.io",
                                                   "statefulset.kubernetes.io/pod-name",
                                                   "apps.kubernetes.io/pod-index",
                                                   "batch.kubernetes.io/job-completion-index",
                                                   "batch.kubernetes.io/controller-uid",
                                                   "k8s.io",
                                                   "pod-template-generation",
                                                   "pod-template-hash",
                                                   "controller-revision-hash",
                                                   "annotation",
                                                   "controller-uid",
                                                   "etcd_node"};
  for (auto e : kExcluded)
    if (k.starts_with(e)) return false;
  return true;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Labels LabelMap(const json& meta) {
  Labels l;
  auto it = meta.find("labels");
  if (it != meta.end() && it->is_object())
    for (auto& [k, v] : it->items())
      if (v.is_string()) l[k] = v.get<std::string>();
  return l;
}

std::pair<std::string, std::string> ControllerRef(const json& meta) {
  auto it = meta.find("ownerReferences");
  if (it == meta.end() || !it->is_array() || it->empty()) return {};
  const json* pick = &(*it)[0];
  for (const auto& r : *it)
    if (r.value("controller", false)) pick = &r;
  return {Str(*pick, "kind"), Str(*pick, "name")};
}

// ---------------------------------------------------------------------------------------------
// Records

enum Proto : uint8_t { kTcp, kUdp, kSctp, kIcmp };
enum Verdict : uint8_t { kForwarded, kDropped, kAudit, kTraced, kTranslated };
enum RecKind : uint8_t { kTrace, kDrop, kPolicyVerdict, kSock, kL7 };
enum PeerKind : uint8_t { kNone, kPod, kExternal, kClient, kNodePeer };
enum Obs : uint8_t { kNoObs, kToEndpoint, kToStack };
enum Reason : uint8_t { kNoReason, kNew, kEstablished, kReply };
enum L7Kind : uint8_t { kNoL7, kDnsReq, kDnsResp, kHttpReq, kHttpResp };
enum Flag : uint8_t { kFin = 1, kSyn = 2, kRst = 4, kPsh = 8, kAck = 16 };

struct Peer {
  PeerKind kind = kNone;
  int idx = -1;
};

struct Rec {
  RecKind kind = kTrace;
  Verdict verdict = kForwarded;
  Proto proto = kTcp;
  uint8_t flags = 0;
  bool reply = false;
  bool v6 = false;
  Peer src, dst;
  uint16_t sport = 0, dport = 0;
  uint16_t svc_port = 0;    // the Service port, when dst_svc is set
  uint16_t sport_seed = 0;  // the client's port, kept for socket events (which show none)
  int observer = -1;        // node index
  uint8_t dir = 0;          // 1 INGRESS, 2 EGRESS
  Obs obs = kNoObs;
  Reason reason = kNoReason;
  int src_svc = -1, dst_svc = -1;
  uint16_t drop_reason = 0;
  uint8_t denied = 0;  // 1 egress_denied_by, 2 ingress_denied_by
  uint8_t match_type = 0;
  L7Kind l7 = kNoL7;
  int l7_arg = 0;
  uint8_t sock = 0;  // 1 pre-xlate fwd, 2 post-xlate fwd
  bool names = false;
  bool dst_vip = false;  // destination is the Service's cluster IP (sock pre-translation)
  bool counted = false;
};

struct Conversation {
  std::vector<Rec> recs;
  size_t next = 0;
};

struct Options {
  std::string cluster, out, truth, cluster_name = "default";
  int64_t records = -1;
  uint64_t seed = 1;
  bool wrap = true, gzip = false, truncate_last = false, slim = false;
  int64_t start_ns = 0;
  int64_t rate = 10000;
};

// ---------------------------------------------------------------------------------------------
// Output

class Output {
 public:
  bool Open(const std::string& path, bool gzip) {
    gzip_ = gzip;
    if (gzip) {
      gz_ = path.empty() ? gzdopen(dup(fileno(stdout)), "wb1") : gzopen(path.c_str(), "wb1");
      if (!gz_) return false;
      gzbuffer(gz_, 1 << 20);
    } else {
      f_ = path.empty() ? stdout : std::fopen(path.c_str(), "wb");
      if (!f_) return false;
    }
    buf.reserve(kFlushAt + (1 << 16));
    return true;
  }
  void MaybeFlush() {
    if (buf.size() >= kFlushAt) Flush();
  }
  void Flush() {
    if (buf.empty()) return;
    if (gzip_) {
      if (gzwrite(gz_, buf.data(), static_cast<unsigned>(buf.size())) !=
          static_cast<int>(buf.size()))
        failed_ = true;
    } else if (std::fwrite(buf.data(), 1, buf.size(), f_) != buf.size()) {
      failed_ = true;
    }
    bytes_ += buf.size();
    buf.clear();
  }
  bool Close() {
    Flush();
    if (gzip_) return gzclose(gz_) == Z_OK && !failed_;
    bool ok = std::fflush(f_) == 0 && !failed_;
    if (f_ != stdout) ok = std::fclose(f_) == 0 && ok;
    return ok;
  }
  uint64_t bytes() const { return bytes_ + buf.size(); }

  std::string buf;

 private:
  static constexpr size_t kFlushAt = 4 << 20;
  std::FILE* f_ = nullptr;
  gzFile gz_ = nullptr;
  bool gzip_ = false;
  bool failed_ = false;
  uint64_t bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------

class Generator {
 public:
  Generator(const Options& o) : o_(o), rng_(o.seed) {}

  bool Load(std::string& err);
  void Prepare();
  bool Run(Output& out, std::string& err);
  bool WriteTruth(std::string& err) const;
  std::string Summary() const {
    return "pods=" + std::to_string(pods_.size()) +
           " workloads=" + std::to_string(workloads_.size()) +
           " nodes=" + std::to_string(nodes_.size()) +
           " conversations=" + std::to_string(conversations_) +
           " starts=" + std::to_string(starts_) + " edges=" + std::to_string(truth_.size());
  }

 private:
  // --- setup
  int NodeIndex(const std::string& name, const std::string& host_ip);
  int Truth(const std::string& name);
  uint32_t IdentityFor(const std::string& labels_key);
  void BuildEndpoints();
  void BuildServices();
  void BuildEdges();

  // --- conversations
  void NewConversation(Conversation& c);
  int PodOf(int workload) {
    return workloads_[workload].pods[rng_.Below(workloads_[workload].pods.size())];
  }
  uint16_t Ephemeral() { return static_cast<uint16_t>(32768 + rng_.Below(28232)); }
  void Tcp(std::vector<Rec>& v, const Rec& base, bool http_ok);
  void Datagram(std::vector<Rec>& v, const Rec& base);
  void Drops(std::vector<Rec>& v, Rec base);
  void Sock(std::vector<Rec>& v, const Rec& base);
  void PolicyVerdict(std::vector<Rec>& v, const Rec& base, Verdict verdict);
  void Dns(std::vector<Rec>& v, Rec base);
  void Place(Rec& r, bool ingress_side);
  // The responder's answer to `r`: endpoints, ports and services swapped.
  Rec Reply(const Rec& r, bool ingress_side);

  // --- output
  void Emit(std::string& s, const Rec& r, int64_t t_ns);
  void Endpoint(std::string& s, const Peer& p, int observer, bool as_source);
  void PeerIp(std::string& s, const Peer& p, bool v6, bool vip, int svc);
  const std::string& PeerMac(const Peer& p, int observer) const;
  void Count(const Rec& r);

  const Options& o_;
  Rng rng_;

  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> node_by_name_;
  std::vector<Pod> pods_;
  std::vector<Workload> workloads_;
  std::vector<Service> services_;
  std::vector<External> externals_, clients_;
  std::map<std::string, Labels> ns_labels_;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> rs_owner_,
      job_owner_;
  std::unordered_map<std::string, uint32_t> identities_;
  std::set<uint32_t> used_identities_;
  bool dual_stack_ = false;
  int apiserver_node_ = -1;
  int kube_dns_svc_ = -1, kubernetes_svc_ = -1;
  std::vector<int> dns_pods_;

  // Traffic pattern
  struct Edge {
    int src = -1, dst = -1, port = -1;  // workloads; port index into dst ports
  };
  std::vector<Edge> app_edges_;                    // pod to pod
  std::vector<std::pair<int, int>> ext_edges_;     // workload, external
  std::vector<std::pair<int, int>> frontends_;     // workload, port index
  std::vector<std::pair<int, int>> probes_;        // workload, port index
  std::vector<int> clients_pods_;                  // pods that make DNS queries
  std::vector<int> host_dns_nodes_;                // nodes with host-network pods
  std::vector<int> apiserver_clients_;             // workloads
  std::vector<int> kubelet_scrapers_;              // workloads scraping kubelets (10250)
  std::vector<std::pair<int, int>> node_scrapes_;  // workload, target host-network pod
  std::vector<std::string> dns_names_;             // svc FQDNs
  std::vector<std::string> dns_answers_;           // matching cluster IPs ("" = NXDOMAIN)

  // Truth
  std::vector<std::string> truth_names_;
  std::vector<int> node_truth_;
  std::unordered_map<std::string, int> truth_by_name_;
  std::unordered_map<uint64_t, uint64_t> truth_;
  uint64_t conversations_ = 0, starts_ = 0;

  // Output state
  int64_t cached_sec_ = INT64_MIN;
  std::string cached_civil_;
};

// ---------------------------------------------------------------------------------------------
// Loading

bool Generator::Load(std::string& err) {
  std::FILE* f = std::fopen(o_.cluster.c_str(), "rb");
  if (!f) {
    err = "cannot open " + o_.cluster + ": " + std::strerror(errno);
    return false;
  }
  std::string text;
  char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) text.append(chunk, n);
  std::fclose(f);

  // Drop the bulky parts of objects we never look at while parsing.
  static const std::set<std::string, std::less<>> kSkip = {"managedFields",
                                                           "annotations",
                                                           "conditions",
                                                           "containerStatuses",
                                                           "volumes",
                                                           "volumeMounts",
                                                           "env",
                                                           "resources",
                                                           "tolerations",
                                                           "affinity",
                                                           "securityContext",
                                                           "readinessProbe",
                                                           "livenessProbe",
                                                           "startupProbe",
                                                           "nodeInfo",
                                                           "allocatable",
                                                           "capacity",
                                                           "images",
                                                           "template",
                                                           "jobTemplate",
                                                           "ingress",
                                                           "egress",
                                                           "initContainerStatuses"};
  json::parser_callback_t cb = [](int /*depth*/, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && parsed.is_string())
      return kSkip.find(parsed.get_ref<const std::string&>()) == kSkip.end();
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, cb);
  } catch (const std::exception& e) {
    err = o_.cluster + ": " + e.what();
    return false;
  }
  text.clear();
  text.shrink_to_fit();
  const json* items = nullptr;
  json single = json::array();
  if (doc.is_object() && doc.contains("items") && doc["items"].is_array()) {
    items = &doc["items"];
  } else if (doc.is_array()) {
    items = &doc;
  } else if (doc.is_object()) {
    single.push_back(doc);
    items = &single;
  } else {
    err = o_.cluster + ": not a Kubernetes List";
    return false;
  }

  std::vector<const json*> pod_items;
  for (const json& it : *items) {
    if (!it.is_object()) continue;
    const std::string kind = Str(it, "kind");
    const json& meta = it.contains("metadata") ? it["metadata"] : json::object();
    const std::string name = Str(meta, "name"), ns = Str(meta, "namespace");
    if (kind == "Namespace") {
      ns_labels_[name] = LabelMap(meta);
    } else if (kind == "Node") {
      std::string ip;
      if (it.contains("status") && it["status"].contains("addresses"))
        for (const auto& a : it["status"]["addresses"])
          if (Str(a, "type") == "InternalIP" && ip.empty()) ip = Str(a, "address");
      const int idx = NodeIndex(name, ip);
      std::vector<std::string> l;
      for (const auto& [k, v] : LabelMap(meta)) l.push_back(k + "=" + v);
      nodes_[idx].labels_json = JsonStringArray(l);
    } else if (kind == "ReplicaSet") {
      rs_owner_[{ns, name}] = ControllerRef(meta);
    } else if (kind == "Job") {
      job_owner_[{ns, name}] = ControllerRef(meta);
    } else if (kind == "Service") {
      Service s;
      s.ns = ns;
      s.name = name;
      const json& spec = it.contains("spec") ? it["spec"] : json::object();
      s.type = Str(spec, "type");
      s.cluster_ip = Str(spec, "clusterIP");
      if (spec.contains("selector") && spec["selector"].is_object())
        for (auto& [k, v] : spec["selector"].items())
          if (v.is_string()) s.selector[k] = v.get<std::string>();
      if (spec.contains("ports") && spec["ports"].is_array())
        for (const auto& p : spec["ports"]) {
          ServicePort sp;
          sp.port = p.value("port", 0);
          sp.proto = p.value("protocol", std::string("TCP"));
          sp.target = p.contains("targetPort") ? p["targetPort"] : json(sp.port);
          s.ports.push_back(std::move(sp));
        }
      s.json = "{\"name\":" + Quoted(name) + ",\"namespace\":" + Quoted(ns) + "}";
      services_.push_back(std::move(s));
    } else if (kind == "Pod") {
      pod_items.push_back(&it);
    }
  }

  for (const json* it : pod_items) {
    const json& meta = (*it)["metadata"];
    const json& spec = it->contains("spec") ? (*it)["spec"] : json::object();
    const json& status = it->contains("status") ? (*it)["status"] : json::object();
    const std::string phase = Str(status, "phase");
    if (phase == "Succeeded" || phase == "Failed") continue;
    Pod p;
    p.ns = Str(meta, "namespace");
    if (p.ns.empty()) p.ns = "default";
    p.name = Str(meta, "name");
    p.labels = LabelMap(meta);
    p.ip4 = Str(status, "podIP");
    if (status.contains("podIPs") && status["podIPs"].is_array())
      for (const auto& a : status["podIPs"]) {
        const std::string ip = Str(a, "ip");
        if (ip.find(':') != std::string::npos) {
          if (p.ip6.empty()) p.ip6 = ip;
        } else if (p.ip4.empty()) {
          p.ip4 = ip;
        }
      }
    if (p.ip4.find(':') != std::string::npos) std::swap(p.ip4, p.ip6);
    if (p.ip4.empty()) continue;  // pending, or IPv6-only: not modelled
    p.host_network = spec.value("hostNetwork", false);
    p.sa = Str(spec, "serviceAccountName");
    if (p.sa.empty()) p.sa = Str(spec, "serviceAccount");
    if (p.sa.empty()) p.sa = "default";
    p.node_name = Str(spec, "nodeName");
    if (p.node_name.empty()) continue;
    p.node = NodeIndex(p.node_name, p.host_network ? p.ip4 : Str(status, "hostIP"));
    if (spec.contains("containers") && spec["containers"].is_array())
      for (const auto& c : spec["containers"])
        if (c.contains("ports") && c["ports"].is_array())
          for (const auto& port : c["ports"]) {
            PortDef d;
            d.num = port.value("containerPort", 0);
            d.proto = port.value("protocol", std::string("TCP"));
            d.name = Str(port, "name");
            if (d.num > 0 && d.num < 65536 &&
                (d.proto == "TCP" || d.proto == "UDP" || d.proto == "SCTP"))
              p.ports.push_back(std::move(d));
          }
    std::tie(p.owner_kind, p.owner_name) = ControllerRef(meta);
    if (!p.ip6.empty()) dual_stack_ = true;
    pods_.push_back(std::move(p));
  }
  if (pods_.empty()) {
    err = o_.cluster + ": no running pods with an IPv4 address and a node";
    return false;
  }
  return true;
}

int Generator::NodeIndex(const std::string& name, const std::string& host_ip) {
  auto it = node_by_name_.find(name);
  if (it != node_by_name_.end()) {
    if (nodes_[it->second].ip.empty()) nodes_[it->second].ip = host_ip;
    return it->second;
  }
  Node n;
  n.name = name;
  n.ip = host_ip;
  n.labels_json = "[\"kubernetes.io/hostname=" + name + "\"]";
  nodes_.push_back(std::move(n));
  node_by_name_[name] = static_cast<int>(nodes_.size() - 1);
  return static_cast<int>(nodes_.size() - 1);
}

int Generator::Truth(const std::string& name) {
  auto it = truth_by_name_.find(name);
  if (it != truth_by_name_.end()) return it->second;
  truth_names_.push_back(name);
  truth_by_name_[name] = static_cast<int>(truth_names_.size() - 1);
  return static_cast<int>(truth_names_.size() - 1);
}

uint32_t Generator::IdentityFor(const std::string& key) {
  auto it = identities_.find(key);
  if (it != identities_.end()) return it->second;
  // Cluster-scoped identities live in 256..65535; derive from the labels, probe on collision.
  uint32_t id = 256 + static_cast<uint32_t>(Fnv(key) % 65000);
  while (used_identities_.count(id)) id = id == 65535 ? 256 : id + 1;
  used_identities_.insert(id);
  identities_[key] = id;
  return id;
}

void Generator::Prepare() {
  for (Node& n : nodes_) {
    if (n.ip.empty()) {
      const uint64_t h = Fnv(n.name);
      n.ip = "10.255." + std::to_string((h >> 8) & 255) + "." + std::to_string(1 + h % 250);
    }
    n.name_json = Quoted(o_.cluster_name + "/" + n.name);
    n.mac = Mac(Fnv(n.name, 7));
    node_truth_.push_back(Truth("node/" + n.name));
  }
  // The API server runs on the first node (kubeadm-style control plane).
  apiserver_node_ = 0;
  BuildEndpoints();
  BuildServices();
  BuildEdges();

  const bool cidr_world = true;
  const std::string world = dual_stack_ ? "reserved:world-ipv4" : "reserved:world";
  const std::string world_id = dual_stack_ ? "9" : "2";
  for (const auto& e : kDocsExternal) {
    External x;
    x.ip = std::string(e[0]);
    if (cidr_world && x.ip.starts_with("203.0.113.")) {
      // Selected by a toCIDR rule: a node-local CIDR identity (>= 2^24).
      x.ep_body = "\"identity\":16777217,\"labels\":[\"cidr:203.0.113.0/24\",\"" + world + "\"]";
    } else {
      x.ep_body = "\"identity\":" + world_id + ",\"labels\":[\"" + world + "\"]";
    }
    if (!e[1].empty()) x.names_json = "[" + Quoted(e[1]) + "]";
    x.mac = Mac(Fnv(x.ip, 3));
    x.truth = Truth("world/" + x.ip);
    externals_.push_back(std::move(x));
  }
  for (auto ip : kDocsClients) {
    External x;
    x.ip = std::string(ip);
    x.ep_body = "\"identity\":" + world_id + ",\"labels\":[\"" + world + "\"]";
    x.mac = Mac(Fnv(x.ip, 3));
    x.truth = Truth("world/" + x.ip);
    clients_.push_back(std::move(x));
  }
}

void Generator::BuildEndpoints() {
  std::map<std::string, int> workload_by_key;
  std::vector<std::set<uint32_t>> ids_by_node(nodes_.size());
  for (size_t i = 0; i < pods_.size(); ++i) {
    Pod& p = pods_[i];
    // The workload, as Hubble's `workloads` and Stockade name it.
    std::string kind = p.owner_kind, name = p.owner_name;
    if (kind == "ReplicaSet") {
      auto it = rs_owner_.find({p.ns, name});
      if (it != rs_owner_.end() && !it->second.first.empty()) {
        kind = it->second.first;
        name = it->second.second;
      } else if (it == rs_owner_.end()) {
        auto h = p.labels.find("pod-template-hash");
        if (h != p.labels.end() && name.size() > h->second.size() + 1 &&
            name.ends_with("-" + h->second)) {
          kind = "Deployment";
          name.resize(name.size() - h->second.size() - 1);
        }
      }
    } else if (kind == "Job") {
      auto it = job_owner_.find({p.ns, name});
      if (it != job_owner_.end() && it->second.first == "CronJob") {
        kind = "CronJob";
        name = it->second.second;
      }
    }
    const bool bare = kind.empty() || name.empty();
    if (bare) {
      kind = "Pod";
      name = p.name;
    }
    const std::string key = p.ns + "/" + kind + "/" + name;
    auto [it, inserted] = workload_by_key.emplace(key, static_cast<int>(workloads_.size()));
    if (inserted) {
      Workload w;
      w.ns = p.ns;
      w.name = name;
      w.kind = kind;
      w.ports = p.ports;
      w.truth = Truth(p.ns + "/" + name);
      workloads_.push_back(std::move(w));
    }
    p.workload = it->second;
    if (!p.host_network) workloads_[p.workload].pods.push_back(static_cast<int>(i));

    // Hubble endpoint labels: identity-relevant pod labels, namespace labels, cluster,
    // service account and namespace, all with the k8s: source, sorted.
    std::vector<std::string> l;
    for (const auto& [k, v] : p.labels)
      if (IdentityRelevant(k)) l.push_back("k8s:" + k + "=" + v);
    const auto nl = ns_labels_.find(p.ns);
    if (nl != ns_labels_.end())
      for (const auto& [k, v] : nl->second)
        l.push_back("k8s:io.cilium.k8s.namespace.labels." + k + "=" + v);
    l.push_back("k8s:io.cilium.k8s.policy.cluster=" + o_.cluster_name);
    l.push_back("k8s:io.cilium.k8s.policy.serviceaccount=" + p.sa);
    l.push_back("k8s:io.kubernetes.pod.namespace=" + p.ns);
    if (o_.slim)  // an identity label filter that keeps only the pod's own labels
      std::erase_if(l, [](const std::string& x) {
        return x.starts_with("k8s:io.cilium.k8s.") || x.starts_with("k8s:io.kubernetes.");
      });
    std::sort(l.begin(), l.end());
    const std::string labels = JsonStringArray(l);
    const uint32_t identity = IdentityFor(labels);
    p.ep_body = "\"identity\":" + std::to_string(identity) +
                ",\"cluster_name\":" + Quoted(o_.cluster_name) + ",\"namespace\":" + Quoted(p.ns) +
                ",\"labels\":" + labels + ",\"pod_name\":" + Quoted(p.name);
    if (!bare)
      p.ep_body += ",\"workloads\":[{\"name\":" + Quoted(name) + ",\"kind\":" + Quoted(kind) + "}]";
    // Endpoint IDs are per node, 1..4095.
    uint32_t id = 1 + static_cast<uint32_t>(Fnv(p.name, 11) % 4000);
    auto& used = ids_by_node[p.node];
    while (used.count(id)) id = id % 4095 + 1;
    used.insert(id);
    p.ep_id = "\"ID\":" + std::to_string(id) + ",";
    const uint64_t h = Fnv(p.ns + "/" + p.name, 5);
    p.mac = Mac(h);
    char iface[64];
    std::snprintf(iface, sizeof iface, "{\"index\":%u,\"name\":\"lxc%012llx\"}",
                  static_cast<unsigned>(10 + h % 990),
                  static_cast<unsigned long long>((h >> 16) & 0xffffffffffffULL));
    p.iface = iface;
  }
}

void Generator::BuildServices() {
  for (Workload& w : workloads_) {
    w.port_service.assign(w.ports.size(), -1);
    w.port_service_port.assign(w.ports.size(), 0);
  }
  // Workloads by namespace, to match selectors.
  std::map<std::string, std::vector<int>> by_ns;
  for (size_t i = 0; i < workloads_.size(); ++i)
    if (!workloads_[i].pods.empty()) by_ns[workloads_[i].ns].push_back(static_cast<int>(i));
  for (size_t si = 0; si < services_.size(); ++si) {
    const Service& s = services_[si];
    if (s.ns == "kube-system" && s.name == "kube-dns") kube_dns_svc_ = static_cast<int>(si);
    if (s.ns == "default" && s.name == "kubernetes") kubernetes_svc_ = static_cast<int>(si);
    if (s.selector.empty() || s.cluster_ip.empty() || s.cluster_ip == "None") continue;
    auto ns = by_ns.find(s.ns);
    if (ns == by_ns.end()) continue;
    for (int wi : ns->second) {
      Workload& w = workloads_[wi];
      const Labels& pl = pods_[w.pods[0]].labels;
      bool match = true;
      for (const auto& [k, v] : s.selector) {
        auto it = pl.find(k);
        match = match && it != pl.end() && it->second == v;
      }
      if (!match) continue;
      for (const ServicePort& sp : s.ports)
        for (size_t pi = 0; pi < w.ports.size(); ++pi) {
          const PortDef& d = w.ports[pi];
          const bool hit = sp.target.is_string()
                               ? sp.target.get<std::string>() == d.name
                               : sp.target.is_number_integer() && sp.target.get<int>() == d.num;
          if (hit && d.proto == sp.proto && w.port_service[pi] < 0) {
            w.port_service[pi] = static_cast<int>(si);
            w.port_service_port[pi] = sp.port;
          }
        }
      if (s.type == "LoadBalancer" || s.type == "NodePort") w.frontend = true;
    }
  }
  // DNS names the pods look up: cluster Services, and NXDOMAINs from the search path.
  for (const Service& s : services_) {
    if (s.cluster_ip.empty() || s.cluster_ip == "None") continue;
    dns_names_.push_back(s.name + "." + s.ns + ".svc.cluster.local.");
    dns_answers_.push_back(s.cluster_ip);
    if (dns_names_.size() >= 4000) break;
  }
}

void Generator::BuildEdges() {
  // Servers: workloads with pods and declared ports.
  std::vector<int> servers;
  std::map<std::string, std::vector<int>> servers_by_ns;
  for (size_t i = 0; i < workloads_.size(); ++i) {
    const Workload& w = workloads_[i];
    if (w.pods.empty() || w.ports.empty()) continue;
    servers.push_back(static_cast<int>(i));
    servers_by_ns[w.ns].push_back(static_cast<int>(i));
  }
  for (size_t i = 0; i < pods_.size(); ++i) {
    const Pod& p = pods_[i];
    if (p.labels.count("k8s-app") && p.labels.at("k8s-app") == "kube-dns" && !p.host_network)
      dns_pods_.push_back(static_cast<int>(i));
    if (!p.host_network) clients_pods_.push_back(static_cast<int>(i));
  }
  std::set<int> hn_nodes;
  for (const Pod& p : pods_)
    if (p.host_network) hn_nodes.insert(p.node);
  host_dns_nodes_.assign(hn_nodes.begin(), hn_nodes.end());

  std::vector<int> hostnet_pods;  // scrape targets (node-exporter style)
  for (size_t i = 0; i < pods_.size(); ++i)
    if (pods_[i].host_network && !pods_[i].ports.empty())
      hostnet_pods.push_back(static_cast<int>(i));

  for (size_t i = 0; i < workloads_.size(); ++i) {
    const Workload& w = workloads_[i];
    if (w.pods.empty()) continue;
    const int wi = static_cast<int>(i);
    const bool system = w.ns == "kube-system" || w.ns == "monitoring";
    const bool prometheus = w.name.find("prometheus") != std::string::npos;
    if (prometheus) {
      // Scrape metrics ports everywhere, and the host-network exporters on each node.
      int added = 0;
      for (int s : servers) {
        const Workload& d = workloads_[s];
        for (size_t pi = 0; pi < d.ports.size(); ++pi)
          if (d.ports[pi].name == "metrics" && s != wi && added < 200) {
            app_edges_.push_back({wi, s, static_cast<int>(pi)});
            ++added;
            break;
          }
      }
      for (int hp : hostnet_pods) node_scrapes_.push_back({wi, hp});
    }
    if (w.name.find("metrics-server") != std::string::npos) kubelet_scrapers_.push_back(wi);
    if (system || rng_.Percent(8)) apiserver_clients_.push_back(wi);
    if (w.frontend)
      for (size_t pi = 0; pi < w.ports.size(); ++pi)
        if (w.port_service[pi] >= 0 && services_[w.port_service[pi]].type != "ClusterIP" &&
            w.ports[pi].proto == "TCP")
          frontends_.push_back({wi, static_cast<int>(pi)});
    for (size_t pi = 0; pi < w.ports.size(); ++pi)
      if (w.ports[pi].proto == "TCP") {
        if (rng_.Percent(40)) probes_.push_back({wi, static_cast<int>(pi)});
        break;
      }
    if (!system && rng_.Percent(20)) {
      const int k = 1 + static_cast<int>(rng_.Below(2));
      for (int j = 0; j < k; ++j)
        ext_edges_.push_back({wi, static_cast<int>(rng_.Below(std::size(kDocsExternal)))});
    }
    if (system || servers.empty()) continue;
    // 1-3 peers: mostly the same namespace, some elsewhere.
    const int k = 1 + static_cast<int>(rng_.Below(3));
    const auto& same = servers_by_ns[w.ns];
    for (int j = 0; j < k; ++j) {
      int dst = -1;
      for (int attempt = 0; attempt < 4 && (dst < 0 || dst == wi); ++attempt) {
        if (same.size() > 1 && rng_.Percent(80))
          dst = rng_.Pick(same);
        else
          dst = rng_.Pick(servers);
      }
      if (dst < 0 || dst == wi) continue;
      const Workload& d = workloads_[dst];
      // Prefer ports a Service exposes.
      int port = static_cast<int>(rng_.Below(d.ports.size()));
      for (size_t pi = 0; pi < d.ports.size(); ++pi)
        if (d.port_service[pi] >= 0 && rng_.Percent(60)) {
          port = static_cast<int>(pi);
          break;
        }
      app_edges_.push_back({wi, dst, port});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conversations: the records of one connection (or request/response exchange).

// Sets the observing node, direction, observation point, and endpoint IDs' locality for a
// record of a connection whose start is seen on the source's node (EGRESS) or, for sources
// that are not pods of this cluster, on the destination's node (INGRESS).
Rec Generator::Reply(const Rec& r, bool ingress_side) {
  Rec rep = r;
  std::swap(rep.src, rep.dst);
  std::swap(rep.sport, rep.dport);
  std::swap(rep.src_svc, rep.dst_svc);
  rep.reply = true;
  Place(rep, ingress_side);
  rep.reason = kReply;
  return rep;
}

void Generator::Place(Rec& r, bool ingress_side) {
  // r.src/r.dst are the packet's endpoints; the connection's initiator is src unless reply.
  const Peer& init = r.reply ? r.dst : r.src;
  const Peer& resp = r.reply ? r.src : r.dst;
  if (!ingress_side) {
    r.observer = pods_[init.idx].node;
    r.dir = 2;
    const bool same_node = resp.kind == kPod && pods_[resp.idx].node == r.observer;
    // Toward the initiator (reply) or a local peer: delivered to the endpoint.
    r.obs = r.reply || same_node ? kToEndpoint : kToStack;
  } else {
    r.observer = pods_[resp.idx].node;
    r.dir = 1;
    r.obs = r.reply ? kToStack : kToEndpoint;
  }
}

void Generator::PolicyVerdict(std::vector<Rec>& v, const Rec& base, Verdict verdict) {
  Rec r = base;
  r.kind = kPolicyVerdict;
  r.verdict = verdict;
  r.flags = r.proto == kTcp ? kSyn : 0;
  r.reason = kNoReason;
  r.obs = kNoObs;
  r.match_type = verdict == kDropped ? (base.drop_reason == 181 ? 1 : 0)
                                     : static_cast<uint8_t>(rng_.Percent(70) ? 2 : 3);
  r.counted = false;
  v.push_back(r);
}

void Generator::Sock(std::vector<Rec>& v, const Rec& base) {
  Rec r = base;
  r.kind = kSock;
  r.flags = 0;
  r.obs = kNoObs;
  r.reason = kNoReason;
  r.counted = false;
  r.sport_seed = base.sport;
  r.sport = 0;  // the socket is not bound yet
  r.verdict = kTraced;
  r.sock = 1;
  r.dst_vip = true;
  r.dport = base.svc_port;
  v.push_back(r);
  r.verdict = kTranslated;
  r.sock = 2;
  r.dst_vip = false;
  r.dport = base.dport;
  v.push_back(r);
}

void Generator::Drops(std::vector<Rec>& v, Rec base) {
  // The initiator's packets are dropped by policy: on its node (egress policy) or on the
  // destination's node (ingress policy). Dropped SYNs are retransmitted.
  const bool ingress = base.dst.kind == kPod && (base.src.kind != kPod || rng_.Percent(40));
  Place(base, ingress);
  base.kind = kDrop;
  base.verdict = kDropped;
  base.flags = base.proto == kTcp ? kSyn : 0;
  base.reason = kNoReason;
  base.obs = kNoObs;
  base.drop_reason = rng_.Percent(20) ? 181 : 133;
  base.denied = base.drop_reason == 181 ? (ingress ? 2 : 1) : 0;
  if (rng_.Percent(40)) PolicyVerdict(v, base, kDropped);
  const int n = 1 + static_cast<int>(rng_.Below(3));
  for (int i = 0; i < n; ++i) {
    base.counted = true;
    v.push_back(base);
  }
}

void Generator::Tcp(std::vector<Rec>& v, const Rec& b, bool http_ok) {
  const bool ingress = b.src.kind != kPod;
  Rec base = b;
  Place(base, ingress);
  if (base.dst_svc >= 0 && !ingress && rng_.Percent(8)) Sock(v, base);
  const int scenario = static_cast<int>(rng_.Below(1000));
  if (scenario < 35) {
    Drops(v, b);
    return;
  }
  if (scenario < 45)
    PolicyVerdict(v, base, kAudit);
  else if (scenario < 90)
    PolicyVerdict(v, base, kForwarded);
  Rec syn = base;
  syn.flags = kSyn;
  syn.reason = kNew;
  syn.counted = true;
  v.push_back(syn);
  Rec rep = Reply(b, ingress);
  if (scenario < 115) {  // refused: the responder resets
    rep.flags = kRst | kAck;
    v.push_back(rep);
    return;
  }
  rep.flags = kSyn | kAck;
  v.push_back(rep);
  Rec est = base;
  est.reason = kEstablished;
  if (rng_.Percent(15)) {
    est.flags = kAck;
    v.push_back(est);
  }
  if (rng_.Percent(10)) {
    est.flags = kAck | kPsh;
    v.push_back(est);
    rep.flags = kAck | kPsh;
    v.push_back(rep);
  }
  if (http_ok && rng_.Percent(8)) {
    // L7 visibility on the server side (an ingress L7 rule): request and response.
    Rec req = b;
    req.kind = kL7;
    req.l7 = kHttpReq;
    req.l7_arg = static_cast<int>(rng_.Below(1 << 20));
    Place(req, true);
    req.obs = kNoObs;
    req.flags = 0;
    v.push_back(req);
    Rec resp = rep;
    resp.kind = kL7;
    resp.l7 = kHttpResp;
    resp.l7_arg = req.l7_arg;
    Place(resp, true);
    resp.obs = kNoObs;
    resp.flags = 0;
    resp.reason = kNoReason;
    v.push_back(resp);
  }
  if (rng_.Percent(15)) {
    est.flags = kAck | kFin;
    v.push_back(est);
    rep.flags = kAck | kFin;
    v.push_back(rep);
  }
}

void Generator::Datagram(std::vector<Rec>& v, const Rec& b) {
  const bool ingress = b.src.kind != kPod;
  Rec base = b;
  Place(base, ingress);
  if (base.dst_svc >= 0 && !ingress && rng_.Percent(8)) Sock(v, base);
  const int scenario = static_cast<int>(rng_.Below(1000));
  if (scenario < 20) {
    Drops(v, b);
    return;
  }
  if (scenario < 30) PolicyVerdict(v, base, kAudit);
  Rec req = base;
  req.reason = kNew;
  req.counted = true;
  v.push_back(req);
  Rec rep = Reply(b, ingress);
  v.push_back(rep);
}

void Generator::Dns(std::vector<Rec>& v, Rec b) {
  b.dport = 53;
  b.dst_svc = kube_dns_svc_;
  b.svc_port = 53;
  if (b.src.kind == kPod && rng_.Percent(8)) {
    b.proto = kTcp;
    Tcp(v, b, false);
    return;
  }
  b.proto = kUdp;
  const size_t first = v.size();
  Datagram(v, b);
  // DNS visibility through the proxy: L7 request and response between the UDP records.
  if (b.src.kind != kPod || v.size() - first != 2 || v[first].kind != kTrace ||
      v[first + 1].kind != kTrace || !rng_.Percent(12) || dns_names_.empty())
    return;
  Rec req = v[first];
  req.kind = kL7;
  req.l7 = kDnsReq;
  req.obs = kNoObs;
  req.reason = kNoReason;
  req.counted = false;
  // Half the lookups are Services, some external names, a few NXDOMAIN search-path misses.
  const uint64_t r = rng_.Below(100);
  req.l7_arg = r < 70   ? static_cast<int>(rng_.Below(dns_names_.size()))
               : r < 90 ? -1 - static_cast<int>(rng_.Below(std::size(kDocsExternal)))
                        : -100 - static_cast<int>(rng_.Below(dns_names_.size()));
  if (req.l7_arg < 0 && req.l7_arg > -100 && kDocsExternal[-1 - req.l7_arg][1].empty())
    req.l7_arg = -1;
  Rec resp = v[first + 1];
  resp.kind = kL7;
  resp.l7 = kDnsResp;
  resp.obs = kNoObs;
  resp.reason = kNoReason;
  resp.l7_arg = req.l7_arg;
  v.insert(v.begin() + static_cast<long>(first) + 1, {req, resp});
}

void Generator::NewConversation(Conversation& c) {
  ++conversations_;
  c.recs.clear();
  c.next = 0;
  std::vector<Rec>& v = c.recs;
  Rec b;
  b.sport = Ephemeral();

  // Categories, per mille; empty ones fall through to pod-to-pod traffic.
  const int r = static_cast<int>(rng_.Below(1000));
  if (r < 200 && !dns_pods_.empty()) {
    b.src = {kPod, rng_.Pick(clients_pods_)};
    b.dst = {kPod, rng_.Pick(dns_pods_)};
    Dns(v, b);
    return;
  }
  if (r < 215 && !dns_pods_.empty() && !host_dns_nodes_.empty()) {
    // Host-network pods resolve through the node: the DNS pod sees the host or a remote node.
    b.src = {kNodePeer, rng_.Pick(host_dns_nodes_)};
    b.dst = {kPod, rng_.Pick(dns_pods_)};
    Dns(v, b);
    return;
  }
  if (r < 275 && !ext_edges_.empty()) {
    const auto& [w, x] = rng_.Pick(ext_edges_);
    b.src = {kPod, PodOf(w)};
    b.dst = {kExternal, x};
    b.dport = 443;
    b.names = !externals_[x].names_json.empty();
    Tcp(v, b, false);
    return;
  }
  if (r < 325 && !frontends_.empty()) {
    const auto& [w, pi] = rng_.Pick(frontends_);
    b.dst = {kPod, PodOf(w)};
    // Clients keep their address (externalTrafficPolicy: Local) or are SNATed by another node.
    const int src_node = static_cast<int>(rng_.Below(nodes_.size()));
    if (rng_.Percent(70) || nodes_.size() < 2 || src_node == pods_[b.dst.idx].node)
      b.src = {kClient, static_cast<int>(rng_.Below(clients_.size()))};
    else
      b.src = {kNodePeer, src_node};
    b.sport = static_cast<uint16_t>(1024 + rng_.Below(64511));
    b.dport = static_cast<uint16_t>(workloads_[w].ports[pi].num);
    Tcp(v, b, true);
    return;
  }
  if (r < 370 && !probes_.empty()) {
    // Kubelet probes: from the pod's own node.
    const auto& [w, pi] = rng_.Pick(probes_);
    b.dst = {kPod, PodOf(w)};
    b.src = {kNodePeer, pods_[b.dst.idx].node};
    b.dport = static_cast<uint16_t>(workloads_[w].ports[pi].num);
    Tcp(v, b, false);
    return;
  }
  if (r < 385 && !kubelet_scrapers_.empty()) {
    b.src = {kPod, PodOf(rng_.Pick(kubelet_scrapers_))};
    b.dst = {kNodePeer, static_cast<int>(rng_.Below(nodes_.size()))};
    b.dport = 10250;
    Tcp(v, b, false);
    return;
  }
  if (r < 405 && !node_scrapes_.empty()) {
    const auto& [w, hp] = rng_.Pick(node_scrapes_);
    b.src = {kPod, PodOf(w)};
    b.dst = {kNodePeer, pods_[hp].node};
    b.dport = static_cast<uint16_t>(pods_[hp].ports[0].num);
    Tcp(v, b, false);
    return;
  }
  if (r < 430 && !apiserver_clients_.empty()) {
    b.src = {kPod, PodOf(rng_.Pick(apiserver_clients_))};
    b.dst = {kNodePeer, apiserver_node_};
    b.dport = 6443;
    b.dst_svc = kubernetes_svc_;
    b.svc_port = kubernetes_svc_ >= 0 && !services_[kubernetes_svc_].ports.empty()
                     ? static_cast<uint16_t>(services_[kubernetes_svc_].ports[0].port)
                     : 443;
    Tcp(v, b, false);
    return;
  }
  if (app_edges_.empty()) {
    // Nothing else to do: DNS if possible, else pod-to-pod pings.
    b.src = {kPod, rng_.Pick(clients_pods_)};
    if (!dns_pods_.empty()) {
      b.dst = {kPod, rng_.Pick(dns_pods_)};
      Dns(v, b);
      return;
    }
    b.dst = {kPod, rng_.Pick(clients_pods_)};
    b.proto = kIcmp;
    b.sport = 0;
    Datagram(v, b);
    return;
  }
  const Edge& e = rng_.Pick(app_edges_);
  b.src = {kPod, PodOf(e.src)};
  b.dst = {kPod, PodOf(e.dst)};
  const Workload& d = workloads_[e.dst];
  const PortDef& port = d.ports[e.port];
  b.v6 = !pods_[b.src.idx].ip6.empty() && !pods_[b.dst.idx].ip6.empty() && rng_.Percent(30);
  if (r < 445) {  // ping
    b.proto = kIcmp;
    b.sport = 0;
    b.dport = 0;
    Datagram(v, b);
    return;
  }
  b.dport = static_cast<uint16_t>(port.num);
  if (d.port_service[e.port] >= 0 && rng_.Percent(70)) {
    b.dst_svc = d.port_service[e.port];
    b.svc_port = static_cast<uint16_t>(d.port_service_port[e.port]);
  }
  if (port.proto == "TCP") {
    const bool http =
        port.name.find("http") != std::string::npos || port.num == 80 || port.num == 8080;
    Tcp(v, b, http);
  } else {
    b.proto = port.proto == "UDP" ? kUdp : kSctp;
    Datagram(v, b);
  }
}

// ---------------------------------------------------------------------------------------------
// Output of one record

const std::string& Generator::PeerMac(const Peer& p, int observer) const {
  switch (p.kind) {
    case kPod:
      if (pods_[p.idx].node == observer && !pods_[p.idx].host_network) return pods_[p.idx].mac;
      return nodes_[observer].mac;
    default:
      return nodes_[observer].mac;
  }
}

void Generator::PeerIp(std::string& s, const Peer& p, bool v6, bool vip, int svc) {
  if (vip && svc >= 0) {
    s.append(services_[svc].cluster_ip);
    return;
  }
  switch (p.kind) {
    case kPod:
      s.append(v6 ? pods_[p.idx].ip6 : pods_[p.idx].ip4);
      break;
    case kExternal:
      s.append(externals_[p.idx].ip);
      break;
    case kClient:
      s.append(clients_[p.idx].ip);
      break;
    case kNodePeer:
      s.append(nodes_[p.idx].ip);
      break;
    case kNone:
      break;
  }
}

void Generator::Endpoint(std::string& s, const Peer& p, int observer, bool as_source) {
  s.append(as_source ? ",\"source\":{" : ",\"destination\":{");
  switch (p.kind) {
    case kPod: {
      const Pod& pod = pods_[p.idx];
      if (pod.node == observer) s.append(pod.ep_id);
      s.append(pod.ep_body);
      break;
    }
    case kExternal:
      s.append(externals_[p.idx].ep_body);
      break;
    case kClient:
      s.append(clients_[p.idx].ep_body);
      break;
    case kNodePeer:
      if (p.idx == observer)
        s.append(p.idx == apiserver_node_
                     ? "\"identity\":1,\"labels\":[\"reserved:host\",\"reserved:kube-apiserver\"]"
                     : "\"identity\":1,\"labels\":[\"reserved:host\"]");
      else
        s.append(p.idx == apiserver_node_
                     ? "\"identity\":7,\"labels\":[\"reserved:kube-apiserver\","
                       "\"reserved:remote-node\"]"
                     : "\"identity\":6,\"labels\":[\"reserved:remote-node\"]");
      break;
    case kNone:
      break;
  }
  s.push_back('}');
}

const char* TcpSummary(uint8_t f) {
  switch (f) {
    case kSyn:
      return "TCP Flags: SYN";
    case kSyn | kAck:
      return "TCP Flags: SYN, ACK";
    case kAck:
      return "TCP Flags: ACK";
    case kAck | kPsh:
      return "TCP Flags: ACK, PSH";
    case kAck | kFin:
      return "TCP Flags: ACK, FIN";
    case kAck | kRst:
      return "TCP Flags: ACK, RST";
    default:
      return "TCP";
  }
}

constexpr const char* kHttpPaths[] = {"/api/v1/items?limit=20&offset=40",
                                      "/healthz",
                                      "/v1/orders/4711",
                                      "/api/v2/search?q=red+shoes&page=2",
                                      "/graphql",
                                      "/v1/users/me",
                                      "/static/app.js",
                                      "/api/v1/cart?session=9f3c&currency=EUR"};
constexpr const char* kHttpMethods[] = {"GET", "GET", "GET", "POST", "PUT", "GET", "DELETE"};
constexpr int kHttpCodes[] = {200, 200, 200, 201, 204, 200, 304, 404, 500, 503};

void Generator::Emit(std::string& s, const Rec& r, int64_t t_ns) {
  // Time: protojson writes 0, 3, 6 or 9 fractional digits.
  const int64_t sec = t_ns >= 0 ? t_ns / 1000000000 : (t_ns - 999999999) / 1000000000;
  const int64_t nanos = t_ns - sec * 1000000000;
  if (sec != cached_sec_) {
    cached_sec_ = sec;
    cached_civil_ = CivilSeconds(sec);
  }
  char time_buf[48];
  size_t time_len = 0;
  {
    std::memcpy(time_buf, cached_civil_.data(), cached_civil_.size());
    time_len = cached_civil_.size();
    if (nanos != 0) {
      int digits = 9;
      int64_t v = nanos;
      if (v % 1000000 == 0) {
        digits = 3;
        v /= 1000000;
      } else if (v % 1000 == 0) {
        digits = 6;
        v /= 1000;
      }
      time_buf[time_len++] = '.';
      for (int i = digits - 1; i >= 0; --i) {
        time_buf[time_len + i] = static_cast<char>('0' + v % 10);
        v /= 10;
      }
      time_len += digits;
    }
    time_buf[time_len++] = 'Z';
  }
  const std::string_view time(time_buf, time_len);
  const Node& node = nodes_[r.observer];

  if (o_.wrap) s.append("{\"flow\":");
  s.append("{\"time\":\"");
  s.append(time);
  s.append("\",\"uuid\":\"");
  {
    static constexpr char kHex[] = "0123456789abcdef";
    uint64_t a = rng_.Next(), b = rng_.Next();
    a = (a & ~0xf000ULL) | 0x4000ULL;                         // version 4
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
    char u[36];
    int k = 0;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) u[k++] = '-';
      const uint64_t w = i < 16 ? a : b;
      u[k++] = kHex[(w >> (4 * (15 - i % 16))) & 15];
    }
    s.append(u, 36);
  }
  s.append(o_.slim ? "\",\"verdict\":\""
                   : "\",\"emitter\":{\"name\":\"Hubble\",\"version\":\"1.19.4+g7c0a1b2e\"},"
                     "\"verdict\":\"");
  static constexpr const char* kVerdicts[] = {"FORWARDED", "DROPPED", "AUDIT", "TRACED",
                                              "TRANSLATED"};
  s.append(kVerdicts[r.verdict]);
  s.push_back('"');
  if (r.drop_reason) {
    s.append(",\"drop_reason\":");
    AppendU(s, r.drop_reason);
  }
  if (r.kind != kSock && r.kind != kL7) {
    s.append(",\"ethernet\":{\"source\":\"");
    s.append(PeerMac(r.src, r.observer));
    s.append("\",\"destination\":\"");
    s.append(PeerMac(r.dst, r.observer));
    s.append("\"}");
  }
  // IP
  s.append(",\"IP\":{\"source\":\"");
  PeerIp(s, r.src, r.v6, false, -1);
  s.append("\",\"destination\":\"");
  PeerIp(s, r.dst, r.v6, r.dst_vip, r.dst_svc);
  s.append(r.v6 ? "\",\"ipVersion\":\"IPv6\"}" : "\",\"ipVersion\":\"IPv4\"}");
  // l4 (zero values are omitted by protojson)
  switch (r.proto) {
    case kTcp:
    case kUdp:
    case kSctp:
      s.append(r.proto == kTcp   ? ",\"l4\":{\"TCP\":{"
               : r.proto == kUdp ? ",\"l4\":{\"UDP\":{"
                                 : ",\"l4\":{\"SCTP\":{");
      if (r.sport) {
        s.append("\"source_port\":");
        AppendU(s, r.sport);
        s.push_back(',');
      }
      s.append("\"destination_port\":");
      AppendU(s, r.dport);
      if (r.proto == kTcp && r.flags) {
        s.append(",\"flags\":{");
        bool first = true;
        auto flag = [&](uint8_t bit, const char* name) {
          if (!(r.flags & bit)) return;
          if (!first) s.push_back(',');
          first = false;
          s.append(name);
        };
        flag(kFin, "\"FIN\":true");
        flag(kSyn, "\"SYN\":true");
        flag(kRst, "\"RST\":true");
        flag(kPsh, "\"PSH\":true");
        flag(kAck, "\"ACK\":true");
        s.push_back('}');
      }
      s.append("}}");
      break;
    case kIcmp: {
      const int type = r.v6 ? (r.reply ? 129 : 128) : (r.reply ? 0 : 8);
      s.append(r.v6 ? ",\"l4\":{\"ICMPv6\":{" : ",\"l4\":{\"ICMPv4\":{");
      if (type) {
        s.append("\"type\":");
        AppendU(s, static_cast<uint64_t>(type));
      }
      s.append("}}");
      break;
    }
  }
  // Endpoints (the pre-translation socket event knows no destination endpoint).
  Endpoint(s, r.src, r.observer, true);
  if (!r.dst_vip) Endpoint(s, r.dst, r.observer, false);
  s.append(r.kind == kSock ? ",\"Type\":\"SOCK\""
           : r.kind == kL7 ? ",\"Type\":\"L7\""
                           : ",\"Type\":\"L3_L4\"");
  s.append(",\"node_name\":");
  s.append(node.name_json);
  if (!o_.slim) {
    s.append(",\"node_labels\":");
    s.append(node.labels_json);
  }
  if (r.names) {
    if (r.reply && r.src.kind == kExternal) {
      s.append(",\"source_names\":");
      s.append(externals_[r.src.idx].names_json);
    } else if (!r.reply && r.dst.kind == kExternal) {
      s.append(",\"destination_names\":");
      s.append(externals_[r.dst.idx].names_json);
    }
  }
  // L7
  std::string summary;
  if (r.l7 == kDnsReq || r.l7 == kDnsResp) {
    std::string query, answer;
    int rcode = 0;
    if (r.l7_arg >= 0) {
      query = dns_names_[r.l7_arg];
      answer = dns_answers_[r.l7_arg];
    } else if (r.l7_arg > -100) {
      query = std::string(kDocsExternal[-1 - r.l7_arg][1]) + ".";
      answer = std::string(kDocsExternal[-1 - r.l7_arg][0]);
    } else {
      const std::string& n = dns_names_[-100 - r.l7_arg];
      const size_t dot = n.find('.');
      query = n + n.substr(dot + 1);  // "a.b.svc.cluster.local.b.svc.cluster.local."
      rcode = 3;
    }
    s.append(",\"l7\":{\"type\":\"");
    if (r.l7 == kDnsReq) {
      s.append("REQUEST\",\"dns\":{\"query\":");
      s.append(Quoted(query));
      s.append(",\"observation_source\":\"proxy\",\"qtypes\":[\"A\"]}}");
      summary = "DNS Query " + query + " A";
    } else {
      s.append("RESPONSE\",\"latency_ns\":\"");
      AppendU(s, 200000 + rng_.Below(3000000));
      s.append("\",\"dns\":{\"query\":");
      s.append(Quoted(query));
      if (rcode == 0) {
        s.append(",\"ips\":[\"");
        s.append(answer);
        s.append("\"],\"ttl\":30");
      }
      s.append(",\"observation_source\":\"proxy\"");
      if (rcode) {
        s.append(",\"rcode\":");
        AppendU(s, static_cast<uint64_t>(rcode));
      }
      s.append(",\"qtypes\":[\"A\"]");
      if (rcode == 0) s.append(",\"rrtypes\":[\"A\"]");
      s.append("}}");
      summary =
          rcode ? "DNS Answer RCode: Non-Existent Domain TTL: 4294967295 (Proxy " + query + " A)"
                : "DNS Answer \"" + answer + "\" TTL: 30 (Proxy " + query + " A)";
    }
  } else if (r.l7 == kHttpReq || r.l7 == kHttpResp) {
    const int a = r.l7_arg;
    const char* method = kHttpMethods[a % std::size(kHttpMethods)];
    const char* path = kHttpPaths[(a >> 3) % std::size(kHttpPaths)];
    const int code = kHttpCodes[(a >> 6) % std::size(kHttpCodes)];
    const Peer& server = r.reply ? r.src : r.dst;
    const uint16_t port = r.reply ? r.sport : r.dport;
    std::string url = "http://";
    const int svc = r.reply ? r.src_svc : r.dst_svc;
    if (svc >= 0) {
      url += services_[svc].name + "." + services_[svc].ns + ".svc.cluster.local";
    } else {
      url += pods_[server.idx].ip4 + ":" + std::to_string(port);
    }
    url += path;
    s.append(",\"l7\":{\"type\":\"");
    if (r.l7 == kHttpReq) {
      s.append("REQUEST\",\"http\":{\"method\":\"");
      s.append(method);
      s.append("\",\"url\":");
      s.append(Quoted(url));
      s.append(
          ",\"protocol\":\"HTTP/1.1\",\"headers\":[{\"key\":\"User-Agent\",\"value\":"
          "\"Go-http-client/1.1\"},{\"key\":\"X-Request-Id\",\"value\":\"");
      AppendU(s, static_cast<uint64_t>(a) * 2654435761u);
      s.append("\"}]}}");
      summary = std::string("HTTP/1.1 ") + method + " " + url;
    } else {
      const uint64_t lat = 500000 + rng_.Below(40000000);
      s.append("RESPONSE\",\"latency_ns\":\"");
      AppendU(s, lat);
      s.append("\",\"http\":{\"code\":");
      AppendU(s, static_cast<uint64_t>(code));
      s.append(",\"method\":\"");
      s.append(method);
      s.append("\",\"url\":");
      s.append(Quoted(url));
      s.append(
          ",\"protocol\":\"HTTP/1.1\",\"headers\":[{\"key\":\"Content-Type\",\"value\":"
          "\"application/json\"}]}}");
      summary = "HTTP/1.1 " + std::to_string(code) + " " + std::to_string(lat / 1000000) + "ms (" +
                method + " " + url + ")";
    }
  }
  if (r.reply && r.kind != kSock) s.append(",\"reply\":true");
  // event_type: 1 drop, 4 trace (sub_type = observation point), 5 policy verdict,
  // 7 trace-sock, 129 L7 access log.
  switch (r.kind) {
    case kTrace:
      s.append(r.obs == kToEndpoint ? ",\"event_type\":{\"type\":4}"
                                    : ",\"event_type\":{\"type\":4,\"sub_type\":3}");
      break;
    case kDrop:
      s.append(",\"event_type\":{\"type\":1,\"sub_type\":");
      AppendU(s, r.drop_reason);
      s.push_back('}');
      break;
    case kPolicyVerdict:
      s.append(",\"event_type\":{\"type\":5}");
      break;
    case kSock:
      s.append(",\"event_type\":{\"type\":7}");
      break;
    case kL7:
      s.append(",\"event_type\":{\"type\":129}");
      break;
  }
  if (r.src_svc >= 0) {
    s.append(",\"source_service\":");
    s.append(services_[r.src_svc].json);
  }
  if (r.dst_svc >= 0) {
    s.append(",\"destination_service\":");
    s.append(services_[r.dst_svc].json);
  }
  if (r.kind != kSock)
    s.append(r.dir == 1 ? ",\"traffic_direction\":\"INGRESS\""
                        : ",\"traffic_direction\":\"EGRESS\"");
  if (r.match_type) {
    s.append(",\"policy_match_type\":");
    AppendU(s, r.match_type);
  }
  if (r.kind == kTrace) {
    s.append(r.obs == kToEndpoint ? ",\"trace_observation_point\":\"TO_ENDPOINT\""
                                  : ",\"trace_observation_point\":\"TO_STACK\"");
    static constexpr const char* kReasons[] = {"", "NEW", "ESTABLISHED", "REPLY"};
    if (r.reason) {
      s.append(",\"trace_reason\":\"");
      s.append(kReasons[r.reason]);
      s.push_back('"');
    }
  }
  if (r.kind == kDrop) {
    s.append(r.dir == 1 ? ",\"file\":{\"name\":\"bpf_lxc.c\",\"line\":2094}"
                        : ",\"file\":{\"name\":\"bpf_lxc.c\",\"line\":1375}");
  }
  if (r.drop_reason)
    s.append(r.drop_reason == 181 ? ",\"drop_reason_desc\":\"POLICY_DENY\""
                                  : ",\"drop_reason_desc\":\"POLICY_DENIED\"");
  // is_reply is unknown (absent) for drops; policy verdicts are connection starts.
  if (r.kind == kTrace || r.kind == kL7 || (r.kind == kPolicyVerdict && r.verdict != kDropped))
    s.append(r.reply ? ",\"is_reply\":true" : ",\"is_reply\":false");
  if (r.kind == kTrace && r.obs == kToEndpoint) {
    const Peer& local = r.dst;
    if (local.kind == kPod) {
      s.append(",\"interface\":");
      s.append(pods_[local.idx].iface);
    }
  }
  if (r.kind == kSock) {
    s.append(r.sock == 1 ? ",\"sock_xlate_point\":\"SOCK_XLATE_POINT_PRE_DIRECTION_FWD\""
                         : ",\"sock_xlate_point\":\"SOCK_XLATE_POINT_POST_DIRECTION_FWD\"");
    const uint64_t h = Fnv(pods_[r.src.idx].name) ^ (static_cast<uint64_t>(r.sport_seed) << 40) ^
                       (static_cast<uint64_t>(r.svc_port) << 20);
    s.append(",\"socket_cookie\":\"");
    AppendU(s, 4096 + h % 900000000ULL);
    s.append("\",\"cgroup_id\":\"");
    AppendU(s, 5000 + (h >> 20) % 200000);
    s.push_back('"');
  }
  // Summary (the deprecated one-line description; absent for socket events).
  if (r.kind != kSock) {
    s.append(",\"Summary\":\"");
    if (!summary.empty()) {
      AppendEscaped(s, summary);
    } else {
      switch (r.proto) {
        case kTcp:
          s.append(TcpSummary(r.flags));
          break;
        case kUdp:
          s.append("UDP");
          break;
        case kSctp:
          s.append("SCTP");
          break;
        case kIcmp:
          s.append(r.v6 ? (r.reply ? "ICMPv6 EchoReply" : "ICMPv6 EchoRequest")
                        : (r.reply ? "ICMPv4 EchoReply" : "ICMPv4 EchoRequest"));
          break;
      }
    }
    s.push_back('"');
  }
  if (r.denied) {
    const Peer& local = r.denied == 1 ? r.src : r.dst;
    const std::string& ns = pods_[local.idx].ns;
    const char* name = r.denied == 1 ? (r.dst.kind == kPod ? "deny-cross-team" : "deny-external")
                                     : "deny-untrusted-ingress";
    s.append(r.denied == 1 ? ",\"egress_denied_by\":[{\"name\":\""
                           : ",\"ingress_denied_by\":[{\"name\":\"");
    s.append(name);
    s.append("\",\"namespace\":");
    s.append(Quoted(ns));
    s.append(",\"labels\":[\"k8s:io.cilium.k8s.policy.name=");
    s.append(name);
    s.append("\"],\"revision\":\"");
    AppendU(s, 2 + Fnv(ns) % 40);
    s.append("\",\"kind\":\"CiliumNetworkPolicy\"}]");
    if (r.kind == kPolicyVerdict) s.append(",\"policy_log\":[\"\"]");
  }
  s.push_back('}');
  if (o_.wrap) {
    s.append(",\"node_name\":");
    s.append(node.name_json);
    s.append(",\"time\":\"");
    s.append(time);
    s.append("\"}");
  }
  s.push_back('\n');
}

int TruthOf(const Peer& p, const std::vector<Pod>& pods, const std::vector<Workload>& ws,
            const std::vector<External>& ext, const std::vector<External>& cli,
            const std::vector<int>& node_truth) {
  switch (p.kind) {
    case kPod:
      return ws[pods[p.idx].workload].truth;
    case kExternal:
      return ext[p.idx].truth;
    case kClient:
      return cli[p.idx].truth;
    case kNodePeer:
      return node_truth[p.idx];
    case kNone:
      break;
  }
  return -1;
}

void Generator::Count(const Rec& r) {
  const int s = TruthOf(r.src, pods_, workloads_, externals_, clients_, node_truth_);
  const int d = TruthOf(r.dst, pods_, workloads_, externals_, clients_, node_truth_);
  const uint8_t proto = r.proto == kIcmp ? (r.v6 ? 4 : 3) : static_cast<uint8_t>(r.proto);
  const uint64_t key = (static_cast<uint64_t>(s) << 40) | (static_cast<uint64_t>(d) << 19) |
                       (static_cast<uint64_t>(proto) << 16) | r.dport;
  ++truth_[key];
  ++starts_;
}

bool Generator::Run(Output& out, std::string& err) {
  constexpr size_t kActive = 64;
  std::vector<Conversation> active(kActive);
  for (auto& c : active) NewConversation(c);
  const int64_t n = o_.records;
  for (int64_t i = 0; i < n; ++i) {
    Conversation& c = active[rng_.Below(kActive)];
    while (c.next >= c.recs.size()) NewConversation(c);
    const Rec& r = c.recs[c.next++];
    // Strictly increasing times at the requested rate, jittered within each slot.
    auto slot = [&](int64_t k) {
      return k / o_.rate * 1000000000 + k % o_.rate * 1000000000 / o_.rate;
    };
    const int64_t lo = slot(i), hi = slot(i + 1);
    const int64_t t = o_.start_ns + lo + static_cast<int64_t>(rng_.Below(hi - lo));
    const size_t before = out.buf.size();
    Emit(out.buf, r, t);
    if (i == n - 1 && o_.truncate_last) {
      out.buf.resize(before + (out.buf.size() - before) / 2);
    } else {
      if (r.counted) Count(r);
      out.MaybeFlush();
    }
  }
  (void)err;
  return true;
}

bool Generator::WriteTruth(std::string& err) const {
  static const char* kProto[] = {"TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"};
  struct Row {
    const std::string *src, *dst;
    int proto, port;
    uint64_t count;
  };
  std::vector<Row> rows;
  for (const auto& [key, count] : truth_)
    rows.push_back({&truth_names_[key >> 40], &truth_names_[(key >> 19) & 0x1fffff],
                    static_cast<int>((key >> 16) & 7), static_cast<int>(key & 0xffff), count});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(*a.src, *a.dst, a.proto, a.port) < std::tie(*b.src, *b.dst, b.proto, b.port);
  });
  std::FILE* f = std::fopen(o_.truth.c_str(), "wb");
  if (!f) {
    err = "cannot open " + o_.truth + ": " + std::strerror(errno);
    return false;
  }
  std::string s;
  for (const Row& r : rows) {
    s.append("{\"src\":");
    s.append(Quoted(*r.src));
    s.append(",\"dst\":");
    s.append(Quoted(*r.dst));
    s.append(",\"protocol\":\"");
    s.append(kProto[r.proto]);
    s.append("\",\"port\":");
    AppendU(s, static_cast<uint64_t>(r.port));
    s.append(",\"count\":");
    AppendU(s, r.count);
    s.append("}\n");
  }
  const bool ok = std::fwrite(s.data(), 1, s.size(), f) == s.size();
  if (std::fclose(f) != 0 || !ok) {
    err = "write error on " + o_.truth;
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

constexpr const char* kUsage =
    "usage: gen_flows --cluster CLUSTER.json --records N [--seed S] [--wrap|--no-wrap] [--gzip]\n"
    "                 [--out FILE] [--start RFC3339] [--rate PER_SECOND] [--truncate-last]\n"
    "                 [--truth FILE] [--cluster-name NAME] [--slim]\n"
    "\n"
    "Writes N deterministic synthetic Cilium Hubble flow records, one JSON object per line,\n"
    "for the pods of a cluster dump (a `kind: List` JSON such as gen_cluster writes).\n"
    "  --cluster FILE      cluster objects (Namespaces, Nodes, Pods, ReplicaSets, Jobs, Services)\n"
    "  --records N         number of records (required)\n"
    "  --seed S            random seed (default 1)\n"
    "  --wrap              {\"flow\":{...},\"node_name\":...,\"time\":...} as `hubble observe\n"
    "                      -o jsonpb` and the flow exporter print (default)\n"
    "  --no-wrap           the bare Flow object (legacy `hubble observe -o json`)\n"
    "  --gzip              gzip the output\n"
    "  --out FILE          output file (default stdout)\n"
    "  --start T           time of the first record (default 2026-01-01T00:00:00Z)\n"
    "  --rate R            records per second of flow time (default 10000)\n"
    "  --truncate-last     cut the last record in the middle (no newline): bad input\n"
    "  --truth FILE        write the expected workload-level edges as JSON lines\n"
    "                      {\"src\",\"dst\",\"protocol\",\"port\",\"count\"}; peers are "
    "\"ns/workload\",\n"
    "                      \"world/IP\" or \"node/NAME\"; count = records that start a "
    "connection:\n"
    "                      Type L3_L4, event_type.type != 5 (policy verdicts repeat the start),\n"
    "                      is_reply not true, and TCP SYN without ACK (or UDP/SCTP/ICMP). Drops\n"
    "                      (DROPPED, is_reply absent) count, SYN retransmissions included. The\n"
    "                      truncated last record is not counted.\n"
    "  --cluster-name N    Cilium cluster name (default `default`)\n"
    "  --slim              smaller records (~1 KB) as older Hubble with an identity label filter\n"
    "                      prints them: endpoint labels are the pod's own (no namespace,\n"
    "                      cluster, service account labels), no node_labels, no emitter\n";

bool ParseInt(const char* s, int64_t& out) {
  if (!s || !*s) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  if (errno || *end || v < 0) return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ParseRfc3339("2026-01-01T00:00:00Z", o.start_ns);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need_str = [&](std::string& dst) {
      if (!next) return false;
      dst = next;
      ++i;
      return true;
    };
    auto need_int = [&](int64_t& dst) {
      if (!ParseInt(next, dst)) return false;
      ++i;
      return true;
    };
    bool ok = true;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--cluster") {
      ok = need_str(o.cluster);
    } else if (a == "--records") {
      ok = need_int(o.records);
    } else if (a == "--seed") {
      int64_t s = 0;
      ok = need_int(s);
      o.seed = static_cast<uint64_t>(s);
    } else if (a == "--wrap") {
      o.wrap = true;
    } else if (a == "--no-wrap") {
      o.wrap = false;
    } else if (a == "--gzip") {
      o.gzip = true;
    } else if (a == "--out") {
      ok = need_str(o.out);
    } else if (a == "--truth") {
      ok = need_str(o.truth);
    } else if (a == "--cluster-name") {
      ok = need_str(o.cluster_name) && !o.cluster_name.empty();
    } else if (a == "--start") {
      ok = next && ParseRfc3339(next, o.start_ns);
      if (ok) ++i;
    } else if (a == "--rate") {
      ok = need_int(o.rate) && o.rate >= 1 && o.rate <= 1000000000;
    } else if (a == "--slim") {
      o.slim = true;
    } else if (a == "--truncate-last") {
      o.truncate_last = true;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "gen_flows: bad argument: %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (o.cluster.empty() || o.records < 0) {
    std::fprintf(stderr, "gen_flows: --cluster and --records are required\n%s", kUsage);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  std::string err;
  Generator gen(o);
  if (!gen.Load(err)) {
    std::fprintf(stderr, "gen_flows: %s\n", err.c_str());
    return 1;
  }
  gen.Prepare();
  Output out;
  if (!out.Open(o.out, o.gzip)) {
    std::fprintf(stderr, "gen_flows: cannot open %s: %s\n",
                 o.out.empty() ? "stdout" : o.out.c_str(), std::strerror(errno));
    return 1;
  }
  gen.Run(out, err);
  const uint64_t bytes = out.bytes();
  const bool ok = out.Close();
  if (!ok) {
    std::fprintf(stderr, "gen_flows: write error\n");
    return 1;
  }
  if (!o.truth.empty() && !gen.WriteTruth(err)) {
    std::fprintf(stderr, "gen_flows: %s\n", err.c_str());
    return 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "gen_flows: records=%lld bytes=%llu seconds=%.2f %s\n",
               static_cast<long long>(o.records), static_cast<unsigned long long>(bytes), secs,
               gen.Summary().c_str());
  return 0;
}

// gen_cluster: deterministic synthetic Kubernetes cluster generator for benchmarks and tests.
//
// Prints one `kind: List` object (as `kubectl get ... -o json|yaml` does) holding Namespaces,
// Nodes, ServiceAccounts, workloads (Deployment + ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob), Pods, Services and NetworkPolicies; with --admin also AdminNetworkPolicies, the
// BaselineAdminNetworkPolicy `default` and ClusterNetworkPolicies.
//
// Determinism: all randomness comes from one std::mt19937_64 (whose output sequence is fixed by
// the standard) reduced with `% n`; no std distributions, no hash-ordered iteration.

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------------------------
// Randomness

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_(); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : g_() % n; }
  // Uniform-ish integer in [lo, hi].
  int Range(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Percent(int p) { return Below(100) < static_cast<uint64_t>(p); }
  template <class C>
  const auto& Pick(const C& c) {
    return c[Below(std::size(c))];
  }

 private:
  std::mt19937_64 g_;
};

// Kubernetes' rand.String alphabet (no vowels, no confusable digits).
constexpr std::string_view kSafeAlphabet = "bcdfghjklmnpqrstvwxz2456789";

std::string RandSafe(Rng& rng, int n) {
  std::string s;
  s.reserve(n);
  for (int i = 0; i < n; ++i) s += kSafeAlphabet[rng.Below(kSafeAlphabet.size())];
  return s;
}

std::string RandHex(Rng& rng, int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(n);
  while (static_cast<int>(s.size()) < n) {
    uint64_t v = rng.Next();
    for (int i = 0; i < 16 && static_cast<int>(s.size()) < n; ++i, v >>= 4) s += kHex[v & 15];
  }
  return s;
}

std::string Uid(Rng& rng) {
  std::string h = RandHex(rng, 32);
  h[12] = '4';
  h[16] = "89ab"[h[16] % 4];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// RFC 3339 UTC timestamp from Unix seconds (Howard Hinnant's civil_from_days).
std::string Timestamp(int64_t t) {
  int64_t days = t / 86400;
  int64_t rem = t % 86400;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::string Ipv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string Hex16(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x", v & 0xffffu);
  return buf;
}

// fd00::/64 address number n (n > 0), in canonical (RFC 5952) form.
std::string Ipv6Pod(uint32_t n) {
  const uint32_t hi = n >> 16, lo = n & 0xffff;
  if (hi == 0) return "fd00::" + Hex16(lo);
  return "fd00::" + Hex16(hi) + ":" + Hex16(lo);
}

// ---------------------------------------------------------------------------------------------
// Output: one List, streamed item by item, as JSON (one item per line) or kubectl-style YAML.

enum class Format { kJson, kYaml };

bool YamlPlainSafe(const std::string& s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  std::string lower;
  for (char c : s) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  static const std::array<std::string_view, 11> kReserved = {
      "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf"};
  for (auto r : kReserved)
    if (lower == r) return false;
  return true;
}

void YamlScalar(const json& v, std::string& out) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (YamlPlainSafe(s))
      out += s;
    else
      out += v.dump();  // JSON string syntax is valid YAML double-quoted syntax.
  } else {
    out += v.dump();  // numbers, true/false, null
  }
}

void YamlSeq(const json& arr, int indent, std::string& out);

void YamlMap(const json& obj, int indent, bool first_inline, std::string& out) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!(first && first_inline)) out.append(indent, ' ');
    first = false;
    YamlScalar(json(it.key()), out);
    out += ':';
    const json& v = it.value();
    if (v.is_object() && !v.empty()) {
      out += '\n';
      YamlMap(v, indent + 2, false, out);
    } else if (v.is_array() && !v.empty()) {
      out += '\n';
      YamlSeq(v, indent, out);
    } else if (v.is_object()) {
      out += " {}\n";
    } else if (v.is_array()) {
      out += " []\n";
    } else {
      out += ' ';
      YamlScalar(v, out);
      out += '\n';
    }
  }
}

void YamlSeq(const json& arr, int indent, std::string& out) {
  for (const auto& v : arr) {
    out.append(indent, ' ');
    out += '-';
    if (v.is_object() && !v.empty()) {
      out += ' ';
      YamlMap(v, indent + 2, true, out);
    } else if (v.is_array() && !v.empty()) {
      out += '\n';
      YamlSeq(v, indent + 2, out);
    } else if (v.is_object()) {
      out += " {}\n";
    } else if (v.is_array()) {
      out += " []\n";
    } else {
      out += ' ';
      YamlScalar(v, out);
      out += '\n';
    }
  }
}

// --slim: what the engine reads and little else, as a dump filtered for size would hold it
// (the engine-scale issue's 150,000-pod dump is about 1 KB per pod): no ReplicaSets (pods keep
// their ownerReferences to them), no status but a pod's addresses and phase, pod specs reduced to
// node, host network, service account and the containers' names and ports.
json SlimPodSpec(const json& spec) {
  json out = json::object();
  for (const char* k : {"nodeName", "hostNetwork", "serviceAccountName"})
    if (spec.contains(k)) out[k] = spec[k];
  out["containers"] = json::array();
  for (const auto& c : spec.value("containers", json::array())) {
    json slim = {{"name", c["name"]}};
    if (c.contains("ports")) slim["ports"] = c["ports"];
    out["containers"].push_back(std::move(slim));
  }
  return out;
}

// Returns false when the item is left out.
bool Slim(json& j) {
  const std::string kind = j.value("kind", "");
  if (kind == "ReplicaSet") return false;
  if (j.contains("metadata")) {
    auto& m = j["metadata"];
    for (const char* k : {"creationTimestamp", "resourceVersion", "generateName", "generation",
                          "managedFields", "finalizers"})
      m.erase(k);
    if (m.contains("annotations")) {
      auto& a = m["annotations"];
      a.erase("deployment.kubernetes.io/revision");
      a.erase("kubectl.kubernetes.io/restartedAt");
      a.erase("sidecar.istio.io/status");
      if (a.empty()) m.erase("annotations");
    }
  }
  if (kind == "Pod") {
    j["spec"] = SlimPodSpec(j["spec"]);
    json status = json::object();
    for (const char* k : {"phase", "hostIP", "podIP", "podIPs"})
      if (j["status"].contains(k)) status[k] = j["status"][k];
    j["status"] = std::move(status);
    return true;
  }
  j.erase("status");
  if (j.contains("spec") && j["spec"].contains("template")) {
    auto& t = j["spec"]["template"];
    t["metadata"].erase("creationTimestamp");
    t["metadata"].erase("annotations");
    t["spec"] = SlimPodSpec(t["spec"]);
    for (const char* k :
         {"strategy", "revisionHistoryLimit", "progressDeadlineSeconds", "updateStrategy",
          "podManagementPolicy", "persistentVolumeClaimRetentionPolicy"})
      j["spec"].erase(k);
  }
  return true;
}

class Writer {
 public:
  Writer(std::FILE* f, Format fmt, bool slim = false) : f_(f), fmt_(fmt), slim_(slim) {
    buf_.reserve(1 << 21);
  }

  void Begin() {
    Put(fmt_ == Format::kJson ? "{\"apiVersion\":\"v1\",\"items\":[\n" : "apiVersion: v1\n");
  }

  void Item(const json& item) {
    json slimmed;
    if (slim_) {
      slimmed = item;
      if (!Slim(slimmed)) return;
    }
    const json& j = slim_ ? slimmed : item;
    if (fmt_ == Format::kJson) {
      if (items_ > 0) buf_ += ",\n";
      buf_ += j.dump();
    } else {
      if (items_ == 0) buf_ += "items:\n";
      buf_ += "- ";
      YamlMap(j, 2, true, buf_);
    }
    ++items_;
    if (buf_.size() >= (1u << 20)) Flush();
  }

  void End() {
    if (fmt_ == Format::kJson) {
      Put("\n],\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"}}\n");
    } else {
      if (items_ == 0) Put("items: []\n");
      Put("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    }
    Flush();
  }

  uint64_t bytes() const { return bytes_ + buf_.size(); }
  bool failed() const { return failed_; }

 private:
  void Put(std::string_view s) { buf_.append(s); }
  void Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      failed_ = true;
    bytes_ += buf_.size();
    buf_.clear();
  }

  std::FILE* f_;
  Format fmt_;
  bool slim_ = false;
  std::string buf_;
  uint64_t bytes_ = 0;
  uint64_t items_ = 0;
  bool failed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Vocabulary

const std::vector<std::string> kTeams = {
    "payments",  "checkout", "search", "identity", "catalog", "shipping", "billing", "analytics",
    "messaging", "media",    "ads",    "risk",     "growth",  "support",  "orders",  "ledger"};
const std::vector<std::string> kTiers = {"web", "api", "db", "cache", "worker"};
const std::vector<std::string> kWebNames = {"frontend", "storefront", "web",
                                            "portal",   "dashboard",  "admin-ui"};
const std::vector<std::string> kApiNames = {"api",     "gateway", "accounts", "pricing", "auth",
                                            "profile", "cart",    "quotes",   "notify",  "users"};
const std::vector<std::string> kWorkerNames = {"worker",     "consumer",    "indexer",  "mailer",
                                               "reconciler", "thumbnailer", "exporter", "ingester"};
const std::vector<std::string> kJobNames = {"migrate", "backfill",    "report",
                                            "cleanup", "rotate-keys", "reindex"};
const std::vector<std::string> kZones = {"us-east-1a", "us-east-1b", "us-east-1c"};
const std::vector<std::string> kEnvValues = {"prod", "staging", "dev"};

struct PortDef {
  std::string name;  // IANA service name (<= 15 chars, lowercase alnum and '-')
  int port;
  std::string proto;  // TCP, UDP, SCTP
};

struct ContainerDef {
  std::string name;
  std::string image;
  std::vector<PortDef> ports;
  std::string cpu_req, cpu_lim, mem_req, mem_lim;
  bool http_probe = false;
};

struct Namespace {
  std::string name, team, env;
  bool dual = false, istio = false, system = false;
  int weight = 1;
  std::vector<int> workloads;  // indexes into Generator::workloads_
  std::unordered_set<std::string> names, policy_names, sa_names;
  int64_t created = 0;
};

struct Node {
  std::string name, ip, zone, pool;
  int pods = 0;  // pods with an IP from this node's podCIDR
};

struct Workload {
  int ns = 0;
  std::string kind, name, tier, team;
  Labels selector;             // spec.selector.matchLabels
  Labels labels;               // template labels (a superset of selector)
  std::vector<PortDef> ports;  // all container ports of the pod
  std::vector<ContainerDef> containers;
  std::string service_account = "default";
  bool host_network = false;
  int pods = 0;
  std::string first_ip, first_ip6;  // an example pod IP
  int first_node = -1;
  bool service = false;
};

// ---------------------------------------------------------------------------------------------

struct Options {
  int64_t pods = -1;
  int64_t policies = -1;
  int64_t namespaces = -1;
  int64_t replicas = 3;
  int64_t admin_policies = 6;
  uint64_t seed = 1;
  Format format = Format::kJson;
  bool admin = false;
  bool experimental = false;
  bool slim = false;
  std::string out;
};

constexpr int64_t kEpoch = 1717228800;                       // 2024-06-01T08:00:00Z
constexpr uint32_t kPodNet = (10u << 24) | (64u << 16);      // 10.64.0.0/10, one /24 per node
constexpr uint32_t kNodeNet = (10u << 24) | (1u << 16);      // 10.1.0.0/16
constexpr uint32_t kServiceNet = (10u << 24) | (96u << 16);  // 10.96.0.0/12
constexpr int kMaxPodsPerNode = 250;

json Sel(const Labels& l) {
  json m = json::object();
  for (const auto& [k, v] : l) m[k] = v;
  return json{{"matchLabels", m}};
}

json Expr(const std::string& key, const std::string& op, std::vector<std::string> values = {}) {
  json e = {{"key", key}, {"operator", op}};
  if (!values.empty()) e["values"] = values;
  return e;
}

json PortNum(const std::string& proto, int port) {
  return {{"protocol", proto}, {"port", port}};
}
json PortName(const std::string& proto, const std::string& name) {
  return {{"protocol", proto}, {"port", name}};
}

class Generator {
 public:
  Generator(const Options& o, Writer& w) : o_(o), w_(w), rng_(o.seed) {}

  void Run() {
    w_.Begin();
    MakeNamespaces();
    MakeNodes();
    MakeWorkloads();
    MakeNetworkPolicies();
    if (o_.admin) MakeAdminPolicies();
    w_.End();
  }

  std::string Summary() const {
    return "namespaces=" + std::to_string(namespaces_.size()) +
           " nodes=" + std::to_string(nodes_.size()) +
           " workloads=" + std::to_string(workload_count_) + " pods=" + std::to_string(pods_) +
           " services=" + std::to_string(services_) +
           " networkpolicies=" + std::to_string(policies_) +
           " admin=" + std::to_string(admin_policies_) + " bytes=" + std::to_string(w_.bytes());
  }

 private:
  // ------------------------------------------------------------------ helpers

  std::string NextRv() { return std::to_string(++rv_); }

  json Meta(const std::string& name, const Namespace* ns, int64_t created, const Labels& labels) {
    json m = {{"name", name},
              {"uid", Uid(rng_)},
              {"resourceVersion", NextRv()},
              {"creationTimestamp", Timestamp(created)}};
    if (ns) m["namespace"] = ns->name;
    if (!labels.empty()) {
      json l = json::object();
      for (const auto& [k, v] : labels) l[k] = v;
      m["labels"] = l;
    }
    return m;
  }

  static json OwnerRef(const std::string& api, const std::string& kind, const json& owner_meta) {
    return json::array({{{"apiVersion", api},
                         {"kind", kind},
                         {"name", owner_meta["name"]},
                         {"uid", owner_meta["uid"]},
                         {"controller", true},
                         {"blockOwnerDeletion", true}}});
  }

  std::string UniqueName(std::unordered_set<std::string>& used, const std::string& base) {
    std::string n = base;
    for (int i = 2; used.count(n); ++i) n = base + "-" + std::to_string(i);
    used.insert(n);
    return n;
  }

  // ------------------------------------------------------------------ namespaces

  void MakeNamespaces() {
    const int64_t apps = o_.namespaces >= 0 ? o_.namespaces : std::max<int64_t>(1, o_.pods / 200);
    std::unordered_set<std::string> used;
    auto add = [&](const std::string& name, const std::string& team, const std::string& env,
                   bool system) {
      Namespace ns;
      ns.name = name;
      ns.team = team;
      ns.env = env;
      ns.system = system;
      ns.created = kEpoch + static_cast<int64_t>(rng_.Below(86400 * 3));
      used.insert(name);
      namespaces_.push_back(std::move(ns));
    };
    add("default", "", "", true);
    add("kube-system", "platform", "prod", true);
    add("kube-public", "", "", true);
    add("kube-node-lease", "", "", true);
    if (apps >= 2) add("monitoring", "platform", "prod", false);
    first_app_ns_ = static_cast<int>(namespaces_.size());
    while (static_cast<int64_t>(namespaces_.size()) - 4 < apps) {
      const std::string& team = rng_.Pick(kTeams);
      const uint64_t r = rng_.Below(10);
      const std::string env = r < 4 ? "prod" : r < 7 ? "staging" : "dev";
      add(UniqueName(used, team + "-" + env), team, env, false);
      Namespace& ns = namespaces_.back();
      ns.dual = (namespaces_.size() - first_app_ns_) % 20 == 2;  // ~5%, the 2nd, 22nd, ...
      ns.istio = rng_.Percent(10);
      ns.weight = rng_.Range(1, 4);
    }
    for (auto& ns : namespaces_) {
      Labels l = {{"kubernetes.io/metadata.name", ns.name}};
      if (!ns.team.empty()) {
        l["team"] = ns.team;
        l["env"] = ns.env;
      }
      if (ns.istio) l["istio-injection"] = "enabled";
      if (!ns.system)
        l["pod-security.kubernetes.io/enforce"] = ns.env == "prod" ? "restricted" : "baseline";
      if (ns.name == "kube-system") l["pod-security.kubernetes.io/enforce"] = "privileged";
      json meta = Meta(ns.name, nullptr, ns.created, l);
      if (!ns.system)
        meta["annotations"] = {{"owner", ns.team + "@example.com"},
                               {"scheduler.alpha.kubernetes.io/node-selector", ""}};
      json obj = {{"apiVersion", "v1"},
                  {"kind", "Namespace"},
                  {"metadata", meta},
                  {"spec", {{"finalizers", json::array({"kubernetes"})}}},
                  {"status", {{"phase", "Active"}}}};
      w_.Item(obj);
      ns.sa_names.insert("default");
      Sa(ns, "default");
    }
  }

  void Sa(Namespace& ns, const std::string& name) {
    w_.Item({{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata", Meta(name, &ns, ns.created + 1, {})}});
  }

  // ------------------------------------------------------------------ nodes

  void MakeNodes() {
    const int64_t n = std::max<int64_t>(1, o_.pods / 30);
    const int width = n >= 10000 ? 5 : 4;
    for (int64_t i = 0; i < n; ++i) {
      Node node;
      char buf[32];
      std::snprintf(buf, sizeof buf, "node-%0*lld", width, static_cast<long long>(i));
      node.name = buf;
      node.ip = Ipv4(kNodeNet + static_cast<uint32_t>(i) + 10);
      node.zone = kZones[i % kZones.size()];
      node.pool = "pool-" + std::to_string(i / 8);
      const std::string cidr = Ipv4(kPodNet + (static_cast<uint32_t>(i) << 8)) + "/24";
      Labels l = {{"beta.kubernetes.io/arch", "amd64"},
                  {"beta.kubernetes.io/os", "linux"},
                  {"kubernetes.io/arch", "amd64"},
                  {"kubernetes.io/hostname", node.name},
                  {"kubernetes.io/os", "linux"},
                  {"node-role.kubernetes.io/worker", ""},
                  {"node-pool", node.pool},
                  {"node.kubernetes.io/instance-type", "m6i.2xlarge"},
                  {"topology.kubernetes.io/region", "us-east-1"},
                  {"topology.kubernetes.io/zone", node.zone}};
      const int64_t created = kEpoch - 86400 + static_cast<int64_t>(rng_.Below(3600));
      json meta = Meta(node.name, nullptr, created, l);
      meta["annotations"] = {{"node.alpha.kubernetes.io/ttl", "0"},
                             {"volumes.kubernetes.io/controller-managed-attach-detach", "true"}};
      auto cond = [&](const char* type, const char* status, const char* reason, const char* msg) {
        return json{{"type", type},
                    {"status", status},
                    {"reason", reason},
                    {"message", msg},
                    {"lastHeartbeatTime", Timestamp(kEpoch + 86400 * 7)},
                    {"lastTransitionTime", Timestamp(created + 30)}};
      };
      json obj = {{"apiVersion", "v1"},
                  {"kind", "Node"},
                  {"metadata", meta},
                  {"spec",
                   {{"podCIDR", cidr},
                    {"podCIDRs", json::array({cidr})},
                    {"providerID", "aws:///" + node.zone + "/i-0" + RandHex(rng_, 16)}}},
                  {"status",
                   {{"addresses", json::array({{{"type", "InternalIP"}, {"address", node.ip}},
                                               {{"type", "Hostname"}, {"address", node.name}}})},
                    {"allocatable",
                     {{"cpu", "7910m"},
                      {"ephemeral-storage", "95491281146"},
                      {"memory", "31482124Ki"},
                      {"pods", "110"}}},
                    {"capacity",
                     {{"cpu", "8"},
                      {"ephemeral-storage", "103609324Ki"},
                      {"memory", "32408332Ki"},
                      {"pods", "110"}}},
                    {"conditions",
                     json::array({cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
                                       "kubelet has sufficient memory available"),
                                  cond("DiskPressure", "False", "KubeletHasNoDiskPressure",
                                       "kubelet has no disk pressure"),
                                  cond("PIDPressure", "False", "KubeletHasSufficientPID",
                                       "kubelet has sufficient PID available"),
                                  cond("Ready", "True", "KubeletReady",
                                       "kubelet is posting ready status")})},
                    {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
                    {"nodeInfo",
                     {{"architecture", "amd64"},
                      {"bootID", Uid(rng_)},
                      {"containerRuntimeVersion", "containerd://1.7.13"},
                      {"kernelVersion", "6.1.79-99.164.amzn2023.x86_64"},
                      {"kubeProxyVersion", "v1.30.2"},
                      {"kubeletVersion", "v1.30.2"},
                      {"machineID", RandHex(rng_, 32)},
                      {"operatingSystem", "linux"},
                      {"osImage", "Amazon Linux 2023"},
                      {"systemUUID", Uid(rng_)}}}}}};
      w_.Item(obj);
      nodes_.push_back(std::move(node));
    }
  }

  // ------------------------------------------------------------------ containers

  ContainerDef MainContainer(const std::string& wname, const std::string& tier,
                             const std::string& team, const std::string& version) {
    ContainerDef c;
    c.name = wname.size() > 40 ? wname.substr(0, 40) : wname;
    const std::string semver = "1." + std::to_string(rng_.Below(20)) + "." +
                               std::to_string(rng_.Below(10)) + "-" + version;
    c.image = "registry.example.com/" + team + "/" + wname + ":" + semver;
    c.cpu_req = std::to_string(50 * rng_.Range(1, 8)) + "m";
    c.cpu_lim = std::to_string(500 * rng_.Range(1, 4)) + "m";
    c.mem_req = std::to_string(64 * rng_.Range(1, 8)) + "Mi";
    c.mem_lim = std::to_string(256 * rng_.Range(1, 8)) + "Mi";
    if (tier == "web") {
      c.ports = {{"http", 8080, "TCP"}, {"metrics", 9090, "TCP"}};
      if (rng_.Percent(30)) c.ports.push_back({"https", 8443, "TCP"});
      if (rng_.Percent(30))
        c.image = "docker.io/library/nginx:1.25." + std::to_string(rng_.Below(5));
      c.http_probe = true;
    } else if (tier == "api") {
      c.ports = {{"http", 8080, "TCP"}, {"grpc", 9000, "TCP"}, {"metrics", 9090, "TCP"}};
      if (rng_.Percent(8)) c.ports.push_back({"diameter", 3868, "SCTP"});
      if (rng_.Percent(10)) c.ports.push_back({"statsd", 8125, "UDP"});
      c.http_probe = true;
    } else if (tier == "worker") {
      c.ports = {{"metrics", 9090, "TCP"}, {"health", 8081, "TCP"}};
      if (rng_.Percent(20)) c.ports.push_back({"statsd", 8125, "UDP"});
      if (rng_.Percent(10)) c.ports.push_back({"syslog", 514, "UDP"});
      if (rng_.Percent(5)) c.ports.push_back({"sigtran", 2905, "SCTP"});
    }
    return c;
  }

  // Database / cache pods: engine container plus a metrics exporter sidecar.
  std::vector<ContainerDef> DataContainers(const std::string& engine) {
    ContainerDef c, e;
    c.name = engine;
    c.cpu_req = "250m";
    c.cpu_lim = "2";
    c.mem_req = "512Mi";
    c.mem_lim = "4Gi";
    e.cpu_req = "10m";
    e.cpu_lim = "100m";
    e.mem_req = "32Mi";
    e.mem_lim = "128Mi";
    e.name = "metrics-exporter";
    if (engine == "postgres") {
      c.image = "docker.io/library/postgres:16.2";
      c.ports = {{"postgres", 5432, "TCP"}};
      e.image = "quay.io/prometheuscommunity/postgres-exporter:v0.15.0";
      e.ports = {{"metrics", 9187, "TCP"}};
    } else if (engine == "mysql") {
      c.image = "docker.io/library/mysql:8.0.36";
      c.ports = {{"mysql", 3306, "TCP"}, {"mysqlx", 33060, "TCP"}};
      e.image = "quay.io/prometheus/mysqld-exporter:v0.15.1";
      e.ports = {{"metrics", 9104, "TCP"}};
    } else if (engine == "mongodb") {
      c.image = "docker.io/library/mongo:7.0.6";
      c.ports = {{"mongodb", 27017, "TCP"}};
      e.image = "docker.io/percona/mongodb_exporter:0.40.0";
      e.ports = {{"metrics", 9216, "TCP"}};
    } else if (engine == "cassandra") {
      c.image = "docker.io/library/cassandra:4.1.4";
      c.ports = {{"cql", 9042, "TCP"}, {"intra-node", 7000, "TCP"}, {"jmx", 7199, "TCP"}};
      e.image = "docker.io/criteord/cassandra_exporter:2.3.8";
      e.ports = {{"metrics", 8080, "TCP"}};
    } else if (engine == "redis") {
      c.image = "docker.io/library/redis:7.2.4";
      c.ports = {{"redis", 6379, "TCP"}};
      e.image = "docker.io/oliver006/redis_exporter:v1.58.0";
      e.ports = {{"metrics", 9121, "TCP"}};
    } else {  // memcached
      c.image = "docker.io/library/memcached:1.6.23";
      c.ports = {{"memcache", 11211, "TCP"}, {"memcache-udp", 11211, "UDP"}};
      e.image = "quay.io/prometheus/memcached-exporter:v0.14.2";
      e.ports = {{"metrics", 9150, "TCP"}};
    }
    if (rng_.Percent(40)) return {c};
    return {c, e};
  }

  json ContainerJson(const ContainerDef& c, const Workload& w, bool sidecar) {
    json ports = json::array();
    for (const auto& p : c.ports) {
      json pj = {{"containerPort", p.port}, {"name", p.name}, {"protocol", p.proto}};
      if (w.host_network) pj["hostPort"] = p.port;
      ports.push_back(pj);
    }
    json env = json::array();
    if (!sidecar) {
      env.push_back(
          {{"name", "POD_NAME"},
           {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.name"}}}}}});
      env.push_back({{"name", "LOG_LEVEL"}, {"value", rng_.Percent(80) ? "info" : "debug"}});
    }
    json c_json = {{"name", c.name},
                   {"image", c.image},
                   {"imagePullPolicy", "IfNotPresent"},
                   {"resources",
                    {{"requests", {{"cpu", c.cpu_req}, {"memory", c.mem_req}}},
                     {"limits", {{"cpu", c.cpu_lim}, {"memory", c.mem_lim}}}}},
                   {"terminationMessagePath", "/dev/termination-log"},
                   {"terminationMessagePolicy", "File"}};
    if (!env.empty()) c_json["env"] = std::move(env);
    if (!ports.empty()) c_json["ports"] = std::move(ports);
    if (c.http_probe) {
      c_json["readinessProbe"] = {
          {"httpGet", {{"path", "/readyz"}, {"port", "http"}, {"scheme", "HTTP"}}},
          {"periodSeconds", 10}};
    } else if (!c.ports.empty() && c.ports[0].proto == "TCP") {
      c_json["readinessProbe"] = {{"tcpSocket", {{"port", c.ports[0].port}}},
                                  {"periodSeconds", 10}};
    }
    if (!sidecar && !w.host_network) {
      c_json["securityContext"] = {{"allowPrivilegeEscalation", false},
                                   {"readOnlyRootFilesystem", true},
                                   {"runAsNonRoot", true}};
    }
    return c_json;
  }

  // Pod template spec shared by the workload, its ReplicaSet and its pods (minus per-pod parts).
  json TemplateSpec(const Workload& w, bool restart_never) {
    const Namespace& ns = namespaces_[w.ns];
    json containers = json::array();
    bool first = true;
    for (const auto& c : w.containers) {
      containers.push_back(ContainerJson(c, w, !first));
      first = false;
    }
    json volumes = json::array();
    json mounts = json::array();
    if (w.kind == "StatefulSet" &&
        (w.tier == "db" || w.tier == "cache" || w.tier == "monitoring")) {
      mounts.push_back({{"name", "data"}, {"mountPath", "/var/lib/data"}});
    }
    if (!w.host_network && w.tier != "" && w.tier != "worker") {
      volumes.push_back({{"name", "config"},
                         {"configMap", {{"name", w.name + "-config"}, {"defaultMode", 420}}}});
      mounts.push_back({{"name", "config"}, {"mountPath", "/etc/" + w.name}, {"readOnly", true}});
    }
    if (!mounts.empty()) containers[0]["volumeMounts"] = mounts;
    json spec = {{"containers", containers},
                 {"dnsPolicy", w.host_network ? "ClusterFirstWithHostNet" : "ClusterFirst"},
                 {"restartPolicy", restart_never ? "Never" : "Always"},
                 {"schedulerName", "default-scheduler"},
                 {"securityContext", json::object()},
                 {"serviceAccountName", w.service_account},
                 {"terminationGracePeriodSeconds", 30}};
    if (!volumes.empty()) spec["volumes"] = volumes;
    if (w.host_network) spec["hostNetwork"] = true;
    if (ns.istio && !w.host_network) {
      spec["containers"].push_back(
          {{"name", "istio-proxy"},
           {"image", "docker.io/istio/proxyv2:1.21.0"},
           {"imagePullPolicy", "IfNotPresent"},
           {"args", json::array({"proxy", "sidecar", "--domain",
                                 "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning"})},
           {"ports",
            json::array(
                {{{"containerPort", 15090}, {"name", "http-envoy-prom"}, {"protocol", "TCP"}}})},
           {"resources",
            {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}},
             {"limits", {{"cpu", "2"}, {"memory", "1Gi"}}}}},
           {"terminationMessagePath", "/dev/termination-log"},
           {"terminationMessagePolicy", "File"}});
    }
    return spec;
  }

  // Template labels + the workload kind's own labels -> template metadata.
  static json LabelsJson(const Labels& l) {
    json j = json::object();
    for (const auto& [k, v] : l) j[k] = v;
    return j;
  }

  // ------------------------------------------------------------------ pods

  int PlaceNode(bool host_network) {
    uint64_t n = rng_.Below(nodes_.size());
    if (host_network) return static_cast<int>(n);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const size_t k = (n + i) % nodes_.size();
      if (nodes_[k].pods < kMaxPodsPerNode) return static_cast<int>(k);
    }
    return -1;
  }

  void EmitPod(Workload& w, const std::string& name, const std::string& generate_name,
               const Labels& labels, const json& owner_refs, const json& tmpl_spec, int64_t created,
               int node_index, const std::string& hostname_subdomain = "") {
    Namespace& ns = namespaces_[w.ns];
    Node& node = nodes_[node_index];
    std::string ip, ip6;
    if (w.host_network) {
      ip = node.ip;
    } else {
      ++node.pods;
      ip = Ipv4(kPodNet + (static_cast<uint32_t>(node_index) << 8) +
                static_cast<uint32_t>(node.pods));
      if (ns.dual) ip6 = Ipv6Pod(static_cast<uint32_t>(++v6_counter_));
    }
    if (w.first_ip.empty() && !w.host_network) {
      w.first_ip = ip;
      w.first_ip6 = ip6;
      w.first_node = node_index;
    }
    ++w.pods;
    ++pods_;

    json meta = Meta(name, &ns, created, labels);
    if (!generate_name.empty()) meta["generateName"] = generate_name;
    meta["ownerReferences"] = owner_refs;
    json ann = json::object();
    for (const auto& p : w.ports) {
      if (p.name == "metrics") {
        ann["prometheus.io/scrape"] = "true";
        ann["prometheus.io/port"] = std::to_string(p.port);
        break;
      }
    }
    if (ns.istio && !w.host_network) {
      ann["sidecar.istio.io/status"] =
          "{\"initContainers\":null,\"containers\":[\"istio-proxy\"],\"volumes\":[\"istio-envoy\"],"
          "\"revision\":\"default\"}";
    }
    if (rng_.Percent(15)) ann["kubectl.kubernetes.io/restartedAt"] = Timestamp(created - 60);
    if (!ann.empty()) meta["annotations"] = ann;

    json spec = tmpl_spec;
    const std::string token_vol = "kube-api-access-" + RandSafe(rng_, 5);
    json ns_item = {{"fieldRef", {{"apiVersion", "v1"}, {"fieldPath", "metadata.namespace"}}},
                    {"path", "namespace"}};
    json sources = json::array();
    sources.push_back({{"serviceAccountToken", {{"expirationSeconds", 3607}, {"path", "token"}}}});
    sources.push_back({{"configMap",
                        {{"name", "kube-root-ca.crt"},
                         {"items", json::array({{{"key", "ca.crt"}, {"path", "ca.crt"}}})}}}});
    sources.push_back({{"downwardAPI", {{"items", json::array({ns_item})}}}});
    spec["volumes"].push_back(
        {{"name", token_vol}, {"projected", {{"defaultMode", 420}, {"sources", sources}}}});
    for (auto& c : spec["containers"])
      c["volumeMounts"].push_back({{"name", token_vol},
                                   {"mountPath", "/var/run/secrets/kubernetes.io/serviceaccount"},
                                   {"readOnly", true}});
    if (!hostname_subdomain.empty()) {
      spec["hostname"] = name;
      spec["subdomain"] = hostname_subdomain;
      spec["volumes"].push_back(
          {{"name", "data"}, {"persistentVolumeClaim", {{"claimName", "data-" + name}}}});
    }
    spec["nodeName"] = node.name;
    spec["enableServiceLinks"] = true;
    spec["preemptionPolicy"] = "PreemptLowerPriority";
    spec["priority"] = w.host_network ? 2000001000 : 0;
    if (w.host_network) spec["priorityClassName"] = "system-node-critical";
    spec["serviceAccount"] = w.service_account;
    json tol = json::array({{{"effect", "NoExecute"},
                             {"key", "node.kubernetes.io/not-ready"},
                             {"operator", "Exists"},
                             {"tolerationSeconds", 300}},
                            {{"effect", "NoExecute"},
                             {"key", "node.kubernetes.io/unreachable"},
                             {"operator", "Exists"},
                             {"tolerationSeconds", 300}}});
    if (w.kind == "DaemonSet") {
      tol = json::array();
      for (const char* key :
           {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
            "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
            "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable"}) {
        tol.push_back(
            {{"key", key},
             {"operator", "Exists"},
             {"effect", std::strstr(key, "ready") || std::strstr(key, "unreach") ? "NoExecute"
                                                                                 : "NoSchedule"}});
      }
      spec["affinity"] = {
          {"nodeAffinity",
           {{"requiredDuringSchedulingIgnoredDuringExecution",
             {{"nodeSelectorTerms",
               json::array({{{"matchFields",
                              json::array({{{"key", "metadata.name"},
                                            {"operator", "In"},
                                            {"values", json::array({node.name})}}})}}})}}}}}};
    }
    spec["tolerations"] = tol;

    auto cond = [&](const char* type, int64_t at) {
      return json{{"type", type},
                  {"status", "True"},
                  {"lastProbeTime", nullptr},
                  {"lastTransitionTime", Timestamp(at)}};
    };
    json statuses = json::array();
    for (const auto& c : spec["containers"]) {
      const std::string image = c["image"].get<std::string>();
      const std::string repo = image.substr(0, image.rfind(':'));
      statuses.push_back({{"containerID", "containerd://" + RandHex(rng_, 64)},
                          {"image", image},
                          {"imageID", repo + "@sha256:" + RandHex(rng_, 64)},
                          {"lastState", json::object()},
                          {"name", c["name"]},
                          {"ready", true},
                          {"restartCount", rng_.Percent(10) ? rng_.Range(1, 5) : 0},
                          {"started", true},
                          {"state", {{"running", {{"startedAt", Timestamp(created + 4)}}}}}});
    }
    json pod_ips = json::array({{{"ip", ip}}});
    if (!ip6.empty()) pod_ips.push_back({{"ip", ip6}});
    json status = {
        {"phase", "Running"},
        {"conditions",
         json::array({cond("PodReadyToStartContainers", created + 3),
                      cond("Initialized", created + 1), cond("Ready", created + 9),
                      cond("ContainersReady", created + 9), cond("PodScheduled", created)})},
        {"containerStatuses", statuses},
        {"hostIP", node.ip},
        {"hostIPs", json::array({{{"ip", node.ip}}})},
        {"podIP", ip},
        {"podIPs", pod_ips},
        {"qosClass", "Burstable"},
        {"startTime", Timestamp(created + 1)}};
    json pod = json::object();
    pod["apiVersion"] = "v1";
    pod["kind"] = "Pod";
    pod["metadata"] = std::move(meta);
    pod["spec"] = std::move(spec);
    pod["status"] = std::move(status);
    w_.Item(pod);
  }

  // ------------------------------------------------------------------ workloads

  Workload NewWorkload(int ns_index, const std::string& kind, const std::string& tier,
                       const std::string& base) {
    Namespace& ns = namespaces_[ns_index];
    Workload w;
    w.ns = ns_index;
    w.kind = kind;
    w.tier = tier;
    w.team = ns.team;
    w.name = UniqueName(ns.names, base);
    const std::string version = "v" + std::to_string(rng_.Range(1, 4));
    w.selector = {{"app", w.name}};
    if (rng_.Percent(25)) w.selector["app.kubernetes.io/name"] = w.name;
    w.labels = w.selector;
    w.labels["app"] = w.name;
    w.labels["app.kubernetes.io/name"] = w.name;
    w.labels["app.kubernetes.io/part-of"] = ns.team;
    w.labels["tier"] = tier;
    w.labels["version"] = version;
    if (rng_.Percent(5)) w.labels["canary"] = "true";
    if (tier == "db" || tier == "cache") {
      w.containers = DataContainers(base.substr(base.rfind('-') + 1));
    } else {
      w.containers = {MainContainer(w.name, tier, ns.team, version)};
    }
    if (rng_.Percent(50)) {
      w.service_account = w.name;
      if (ns.sa_names.insert(w.name).second) Sa(ns, w.name);
    }
    return w;
  }

  void FinishPorts(Workload& w) {
    w.ports.clear();
    for (const auto& c : w.containers)
      for (const auto& p : c.ports) w.ports.push_back(p);
    if (namespaces_[w.ns].istio && !w.host_network)
      w.ports.push_back({"http-envoy-prom", 15090, "TCP"});
  }

  json WorkloadMeta(const Workload& w, int64_t created) {
    Labels l = w.labels;
    l.erase("version");
    l.erase("canary");
    json m = Meta(w.name, &namespaces_[w.ns], created, l);
    m["generation"] = 1;
    return m;
  }

  json TemplateJson(const Labels& labels, const json& spec, const json& annotations = nullptr) {
    json md = {{"labels", LabelsJson(labels)}};
    if (!annotations.is_null()) md["annotations"] = annotations;
    return {{"metadata", md}, {"spec", spec}};
  }

  void MakeDeployment(Workload& w, int replicas, int64_t created) {
    FinishPorts(w);
    Namespace& ns = namespaces_[w.ns];
    json tspec = TemplateSpec(w, false);
    json meta = WorkloadMeta(w, created);
    const bool rolled = rng_.Percent(10);
    const std::string revision = rolled ? "2" : "1";
    meta["annotations"] = {{"deployment.kubernetes.io/revision", revision}};
    json status = {
        {"availableReplicas", replicas},
        {"readyReplicas", replicas},
        {"replicas", replicas},
        {"updatedReplicas", replicas},
        {"observedGeneration", 1},
        {"conditions", json::array({{{"type", "Available"},
                                     {"status", "True"},
                                     {"reason", "MinimumReplicasAvailable"},
                                     {"message", "Deployment has minimum availability."},
                                     {"lastTransitionTime", Timestamp(created + 30)},
                                     {"lastUpdateTime", Timestamp(created + 30)}},
                                    {{"type", "Progressing"},
                                     {"status", "True"},
                                     {"reason", "NewReplicaSetAvailable"},
                                     {"message", "ReplicaSet has successfully progressed."},
                                     {"lastTransitionTime", Timestamp(created)},
                                     {"lastUpdateTime", Timestamp(created + 30)}}})}};
    json dep = {{"apiVersion", "apps/v1"},
                {"kind", "Deployment"},
                {"metadata", meta},
                {"spec",
                 {{"progressDeadlineSeconds", 600},
                  {"replicas", replicas},
                  {"revisionHistoryLimit", 10},
                  {"selector", Sel(w.selector)},
                  {"strategy",
                   {{"type", "RollingUpdate"},
                    {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}},
                  {"template", TemplateJson(w.labels, tspec)}}},
                {"status", status}};
    w_.Item(dep);

    auto make_rs = [&](const std::string& hash, int rs_replicas, const std::string& rev,
                       int64_t rs_created) {
      Labels l = w.labels;
      l["pod-template-hash"] = hash;
      Labels sel = w.selector;
      sel["pod-template-hash"] = hash;
      json m = Meta(w.name + "-" + hash, &ns, rs_created, l);
      m["generation"] = 1;
      m["annotations"] = {
          {"deployment.kubernetes.io/desired-replicas", std::to_string(replicas)},
          {"deployment.kubernetes.io/max-replicas", std::to_string(replicas + (replicas + 3) / 4)},
          {"deployment.kubernetes.io/revision", rev}};
      m["ownerReferences"] = OwnerRef("apps/v1", "Deployment", meta);
      json st = {{"replicas", rs_replicas}, {"observedGeneration", 1}};
      if (rs_replicas > 0) {
        st["availableReplicas"] = rs_replicas;
        st["readyReplicas"] = rs_replicas;
        st["fullyLabeledReplicas"] = rs_replicas;
      }
      json rs = {{"apiVersion", "apps/v1"},
                 {"kind", "ReplicaSet"},
                 {"metadata", m},
                 {"spec",
                  {{"replicas", rs_replicas},
                   {"selector", Sel(sel)},
                   {"template", TemplateJson(l, tspec)}}},
                 {"status", st}};
      w_.Item(rs);
      return m;
    };
    if (rolled) make_rs(RandSafe(rng_, 10), 0, "1", created);
    const std::string hash = RandSafe(rng_, 10);
    json rs_meta = make_rs(hash, replicas, revision, created + (rolled ? 86400 : 0));
    Labels pl = w.labels;
    pl["pod-template-hash"] = hash;
    const json owner = OwnerRef("apps/v1", "ReplicaSet", rs_meta);
    for (int i = 0; i < replicas; ++i) {
      const int node = PlaceNode(w.host_network);
      if (node < 0) break;
      const std::string gen = w.name + "-" + hash + "-";
      EmitPod(w, gen + RandSafe(rng_, 5), gen, pl, owner, tspec,
              created + (rolled ? 86400 : 0) + rng_.Range(1, 600), node);
    }
  }

  void MakeStatefulSet(Workload& w, int replicas, int64_t created) {
    FinishPorts(w);
    json tspec = TemplateSpec(w, false);
    json meta = WorkloadMeta(w, created);
    const std::string rev = w.name + "-" + RandSafe(rng_, 10);
    json sts = {
        {"apiVersion", "apps/v1"},
        {"kind", "StatefulSet"},
        {"metadata", meta},
        {"spec",
         {{"podManagementPolicy", "OrderedReady"},
          {"replicas", replicas},
          {"revisionHistoryLimit", 10},
          {"selector", Sel(w.selector)},
          {"serviceName", w.name},
          {"template", TemplateJson(w.labels, tspec)},
          {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"partition", 0}}}}},
          {"persistentVolumeClaimRetentionPolicy",
           {{"whenDeleted", "Retain"}, {"whenScaled", "Retain"}}},
          {"volumeClaimTemplates",
           json::array({{{"apiVersion", "v1"},
                         {"kind", "PersistentVolumeClaim"},
                         {"metadata", {{"name", "data"}}},
                         {"spec",
                          {{"accessModes", json::array({"ReadWriteOnce"})},
                           {"resources", {{"requests", {{"storage", "20Gi"}}}}},
                           {"storageClassName", "gp3"},
                           {"volumeMode", "Filesystem"}}}}})}}},
        {"status",
         {{"availableReplicas", replicas},
          {"collisionCount", 0},
          {"currentReplicas", replicas},
          {"currentRevision", rev},
          {"observedGeneration", 1},
          {"readyReplicas", replicas},
          {"replicas", replicas},
          {"updateRevision", rev},
          {"updatedReplicas", replicas}}}};
    w_.Item(sts);
    const json owner = OwnerRef("apps/v1", "StatefulSet", meta);
    for (int i = 0; i < replicas; ++i) {
      const int node = PlaceNode(w.host_network);
      if (node < 0) break;
      const std::string pod = w.name + "-" + std::to_string(i);
      Labels pl = w.labels;
      pl["controller-revision-hash"] = rev;
      pl["statefulset.kubernetes.io/pod-name"] = pod;
      pl["apps.kubernetes.io/pod-index"] = std::to_string(i);
      EmitPod(w, pod, w.name + "-", pl, owner, tspec, created + 60 * (i + 1), node, w.name);
    }
  }

  // Runs on the given nodes (indexes).
  void MakeDaemonSet(Workload& w, const std::vector<int>& on_nodes, int64_t created,
                     const std::string& pool) {
    FinishPorts(w);
    json tspec = TemplateSpec(w, false);
    if (!pool.empty()) tspec["nodeSelector"] = {{"node-pool", pool}};
    json meta = WorkloadMeta(w, created);
    meta["annotations"] = {{"deprecated.daemonset.template.generation", "1"}};
    const int n = static_cast<int>(on_nodes.size());
    json ds = {{"apiVersion", "apps/v1"},
               {"kind", "DaemonSet"},
               {"metadata", meta},
               {"spec",
                {{"revisionHistoryLimit", 10},
                 {"selector", Sel(w.selector)},
                 {"template", TemplateJson(w.labels, tspec)},
                 {"updateStrategy",
                  {{"type", "RollingUpdate"},
                   {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}}}},
               {"status",
                {{"currentNumberScheduled", n},
                 {"desiredNumberScheduled", n},
                 {"numberAvailable", n},
                 {"numberMisscheduled", 0},
                 {"numberReady", n},
                 {"observedGeneration", 1},
                 {"updatedNumberScheduled", n}}}};
    w_.Item(ds);
    const std::string hash = RandSafe(rng_, 9);
    Labels pl = w.labels;
    pl["controller-revision-hash"] = hash;
    pl["pod-template-generation"] = "1";
    const json owner = OwnerRef("apps/v1", "DaemonSet", meta);
    for (int node : on_nodes) {
      if (!w.host_network && nodes_[node].pods >= kMaxPodsPerNode) continue;
      EmitPod(w, w.name + "-" + RandSafe(rng_, 5), w.name + "-", pl, owner, tspec,
              created + rng_.Range(1, 300), node);
    }
  }

  json JobSpec(const Labels& tmpl_labels, const json& tspec) {
    return {{"backoffLimit", 6},
            {"completionMode", "NonIndexed"},
            {"completions", 1},
            {"parallelism", 1},
            {"suspend", false},
            {"podReplacementPolicy", "TerminatingOrFailed"},
            {"manualSelector", false},
            {"template", TemplateJson(tmpl_labels, tspec)},
            {"selector",
             {{"matchLabels",
               {{"batch.kubernetes.io/controller-uid", tmpl_labels.at("controller-uid")}}}}}};
  }

  // A Job (standalone, or owned by a CronJob when cron_meta is given) with one running pod.
  void MakeJob(Workload& w, int64_t created, const json* cron_meta, const json& tspec) {
    const std::string job_name =
        cron_meta ? w.name + "-" + std::to_string(28000000 + rng_.Below(1000000)) : w.name;
    json meta = Meta(job_name, &namespaces_[w.ns], created, {});
    const std::string uid = meta["uid"];
    Labels pl = w.labels;
    pl["batch.kubernetes.io/controller-uid"] = uid;
    pl["batch.kubernetes.io/job-name"] = job_name;
    pl["controller-uid"] = uid;
    pl["job-name"] = job_name;
    meta["labels"] = LabelsJson(pl);
    meta["generation"] = 1;
    if (cron_meta) meta["ownerReferences"] = OwnerRef("batch/v1", "CronJob", *cron_meta);
    json job = {{"apiVersion", "batch/v1"},
                {"kind", "Job"},
                {"metadata", meta},
                {"spec", JobSpec(pl, tspec)},
                {"status",
                 {{"active", 1},
                  {"ready", 1},
                  {"startTime", Timestamp(created)},
                  {"terminating", 0},
                  {"uncountedTerminatedPods", json::object()}}}};
    w_.Item(job);
    const int node = PlaceNode(false);
    if (node < 0) return;
    EmitPod(w, job_name + "-" + RandSafe(rng_, 5), job_name + "-", pl,
            OwnerRef("batch/v1", "Job", meta), tspec, created + 1, node);
  }

  void MakeBatch(Workload& w, bool cron, int64_t created) {
    FinishPorts(w);
    json tspec = TemplateSpec(w, true);
    if (!cron) {
      MakeJob(w, created, nullptr, tspec);
      return;
    }
    json meta = WorkloadMeta(w, created);
    static const std::vector<std::string> kSchedules = {"*/5 * * * *", "*/15 * * * *", "0 * * * *",
                                                        "30 2 * * *"};
    json cj = {{"apiVersion", "batch/v1"},
               {"kind", "CronJob"},
               {"metadata", meta},
               {"spec",
                {{"concurrencyPolicy", "Forbid"},
                 {"failedJobsHistoryLimit", 1},
                 {"schedule", rng_.Pick(kSchedules)},
                 {"successfulJobsHistoryLimit", 3},
                 {"suspend", false},
                 {"jobTemplate",
                  {{"metadata", json::object()},
                   {"spec", {{"backoffLimit", 2}, {"template", TemplateJson(w.labels, tspec)}}}}}}},
               {"status", {{"lastScheduleTime", Timestamp(created + 3600)}}}};
    w_.Item(cj);
    MakeJob(w, created + 3600, &meta, tspec);
  }

  // ------------------------------------------------------------------ services

  void MakeService(const Workload& w, int64_t created, bool headless) {
    if (w.ports.empty()) return;
    Namespace& ns = namespaces_[w.ns];
    json ports = json::array();
    std::unordered_set<std::string> seen;
    for (const auto& p : w.ports) {
      if (p.name == "http-envoy-prom") continue;
      int port = p.port;
      if (p.name == "http") port = 80;
      if (p.name == "https") port = 443;
      const std::string key = std::to_string(port) + p.proto;
      if (!seen.insert(key).second) continue;
      json pj = {{"name", p.name}, {"port", port}, {"protocol", p.proto}};
      if (rng_.Percent(25))
        pj["targetPort"] = p.port;
      else
        pj["targetPort"] = p.name;
      ports.push_back(pj);
    }
    if (ports.empty()) return;
    Labels l = w.labels;
    l.erase("version");
    l.erase("canary");
    json meta = Meta(w.name, &ns, created, l);
    json spec = {{"ports", ports},
                 {"selector", LabelsJson(w.selector)},
                 {"sessionAffinity", "None"},
                 {"internalTrafficPolicy", "Cluster"}};
    std::string type = "ClusterIP";
    if (!headless && w.tier == "web") {
      const uint64_t r = rng_.Below(100);
      if (r < 20)
        type = "LoadBalancer";
      else if (r < 40)
        type = "NodePort";
    } else if (!headless && rng_.Percent(5)) {
      type = "NodePort";
    }
    spec["type"] = type;
    if (headless) {
      spec["clusterIP"] = "None";
      spec["clusterIPs"] = json::array({"None"});
      spec["publishNotReadyAddresses"] = true;
    } else {
      const uint32_t n = ++service_ip_counter_;
      const std::string ip = Ipv4(kServiceNet + 1000 + n);
      spec["clusterIP"] = ip;
      spec["clusterIPs"] = json::array({ip});
      if (ns.dual) spec["clusterIPs"].push_back("fd00:10:96::" + Hex16(n & 0xffff));
    }
    if (ns.dual) {
      spec["ipFamilies"] = json::array({"IPv4", "IPv6"});
      spec["ipFamilyPolicy"] = "PreferDualStack";
    } else {
      spec["ipFamilies"] = json::array({"IPv4"});
      spec["ipFamilyPolicy"] = "SingleStack";
    }
    json status = {{"loadBalancer", json::object()}};
    if (type != "ClusterIP") {
      spec["externalTrafficPolicy"] = rng_.Percent(30) ? "Local" : "Cluster";
      for (auto& p : spec["ports"]) p["nodePort"] = 30000 + static_cast<int>(node_port_++ % 2768);
    }
    if (type == "LoadBalancer") {
      spec["allocateLoadBalancerNodePorts"] = true;
      const uint32_t n = lb_counter_++;
      status["loadBalancer"]["ingress"] =
          json::array({{{"ip", "203.0.113." + std::to_string(n % 254 + 1)}, {"ipMode", "VIP"}}});
    }
    w_.Item({{"apiVersion", "v1"},
             {"kind", "Service"},
             {"metadata", meta},
             {"spec", spec},
             {"status", status}});
    ++services_;
  }

  void FixedService(int ns_index, const std::string& name, const std::string& ip,
                    const json& selector, const json& ports, const Labels& labels) {
    json spec = {{"clusterIP", ip},
                 {"clusterIPs", json::array({ip})},
                 {"internalTrafficPolicy", "Cluster"},
                 {"ipFamilies", json::array({"IPv4"})},
                 {"ipFamilyPolicy", "SingleStack"},
                 {"ports", ports},
                 {"sessionAffinity", "None"},
                 {"type", "ClusterIP"}};
    if (!selector.is_null()) spec["selector"] = selector;
    w_.Item({{"apiVersion", "v1"},
             {"kind", "Service"},
             {"metadata", Meta(name, &namespaces_[ns_index], kEpoch - 86000, labels)},
             {"spec", spec},
             {"status", {{"loadBalancer", json::object()}}}});
    ++services_;
  }

  // ------------------------------------------------------------------ cluster contents

  void AddWorkload(Workload&& w) {
    namespaces_[w.ns].workloads.push_back(static_cast<int>(workloads_.size()));
    workloads_.push_back(std::move(w));
    ++workload_count_;
  }

  std::vector<int> AllNodes() const {
    std::vector<int> v(nodes_.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i);
    return v;
  }

  Workload SystemWorkload(int ns, const std::string& kind, const std::string& name,
                          const Labels& selector, const std::vector<ContainerDef>& containers,
                          bool host_network) {
    Workload w;
    w.ns = ns;
    w.kind = kind;
    w.name = name;
    namespaces_[ns].names.insert(name);
    w.team = "platform";
    w.selector = selector;
    w.labels = selector;
    w.containers = containers;
    w.host_network = host_network;
    w.service_account = name;
    if (namespaces_[ns].sa_names.insert(name).second) Sa(namespaces_[ns], name);
    return w;
  }

  void MakeWorkloads() {
    int64_t remaining = o_.pods;
    const int kube_system = 1;
    const int64_t n_nodes = static_cast<int64_t>(nodes_.size());
    // The `kubernetes` service in default.
    FixedService(
        0, "kubernetes", Ipv4(kServiceNet + 1), nullptr,
        json::array(
            {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", 6443}}}),
        {{"component", "apiserver"}, {"provider", "kubernetes"}});
    if (o_.pods >= 40) {
      // CoreDNS, 2 replicas.
      ContainerDef dns{"coredns",
                       "registry.k8s.io/coredns/coredns:v1.11.1",
                       {{"dns", 53, "UDP"}, {"dns-tcp", 53, "TCP"}, {"metrics", 9153, "TCP"}},
                       "100m",
                       "1",
                       "70Mi",
                       "170Mi",
                       false};
      Workload w = SystemWorkload(kube_system, "Deployment", "coredns", {{"k8s-app", "kube-dns"}},
                                  {dns}, false);
      MakeDeployment(w, 2, kEpoch - 86000);
      remaining -= w.pods;
      FixedService(
          kube_system, "kube-dns", Ipv4(kServiceNet + 10), {{"k8s-app", "kube-dns"}},
          json::array(
              {{{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}, {"targetPort", 53}},
               {{"name", "dns-tcp"}, {"port", 53}, {"protocol", "TCP"}, {"targetPort", 53}},
               {{"name", "metrics"}, {"port", 9153}, {"protocol", "TCP"}, {"targetPort", 9153}}}),
          {{"k8s-app", "kube-dns"},
           {"kubernetes.io/cluster-service", "true"},
           {"kubernetes.io/name", "CoreDNS"}});
      AddWorkload(std::move(w));
      // metrics-server.
      ContainerDef ms{"metrics-server",
                      "registry.k8s.io/metrics-server/metrics-server:v0.7.1",
                      {{"https", 10250, "TCP"}},
                      "100m",
                      "1",
                      "200Mi",
                      "400Mi",
                      false};
      Workload m = SystemWorkload(kube_system, "Deployment", "metrics-server",
                                  {{"k8s-app", "metrics-server"}}, {ms}, false);
      MakeDeployment(m, 1, kEpoch - 86000);
      remaining -= m.pods;
      FixedService(
          kube_system, "metrics-server", Ipv4(kServiceNet + 20), {{"k8s-app", "metrics-server"}},
          json::array(
              {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", "https"}}}),
          {{"k8s-app", "metrics-server"}});
      AddWorkload(std::move(m));
    }
    if (o_.pods >= 40 && remaining >= 2 * n_nodes + 10) {
      // kube-proxy: hostNetwork DaemonSet on every node.
      ContainerDef kp{
          "kube-proxy", "registry.k8s.io/kube-proxy:v1.30.2", {}, "100m", "1", "64Mi", "256Mi",
          false};
      Workload w = SystemWorkload(kube_system, "DaemonSet", "kube-proxy",
                                  {{"k8s-app", "kube-proxy"}}, {kp}, true);
      MakeDaemonSet(w, AllNodes(), kEpoch - 86000, "");
      remaining -= w.pods;
      AddWorkload(std::move(w));
    }
    const int monitoring = first_app_ns_ == 5 ? 4 : -1;
    if (monitoring >= 0 && o_.pods >= 100 && remaining >= n_nodes + 10) {
      ContainerDef prom{"prometheus",
                        "quay.io/prometheus/prometheus:v2.51.1",
                        {{"web", 9090, "TCP"}},
                        "500m",
                        "4",
                        "2Gi",
                        "8Gi",
                        false};
      Workload p = SystemWorkload(monitoring, "StatefulSet", "prometheus",
                                  {{"app.kubernetes.io/name", "prometheus"}}, {prom}, false);
      p.tier = "monitoring";
      p.labels["app.kubernetes.io/part-of"] = "kube-prometheus";
      MakeStatefulSet(p, 1, kEpoch - 80000);
      remaining -= p.pods;
      MakeService(p, kEpoch - 80000, false);
      AddWorkload(std::move(p));
      ContainerDef ne{"node-exporter",
                      "quay.io/prometheus/node-exporter:v1.7.0",
                      {{"metrics", 9100, "TCP"}},
                      "50m",
                      "250m",
                      "32Mi",
                      "128Mi",
                      false};
      Workload e = SystemWorkload(monitoring, "DaemonSet", "node-exporter",
                                  {{"app.kubernetes.io/name", "node-exporter"}}, {ne}, true);
      e.labels["app.kubernetes.io/part-of"] = "kube-prometheus";
      MakeDaemonSet(e, AllNodes(), kEpoch - 80000, "");
      remaining -= e.pods;
      AddWorkload(std::move(e));
    }

    // Application workloads.
    std::vector<int> apps;
    int total_weight = 0;
    for (size_t i = first_app_ns_; i < namespaces_.size(); ++i) {
      apps.push_back(static_cast<int>(i));
      total_weight += namespaces_[i].weight;
    }
    if (apps.empty()) {  // only with --namespaces 0: put applications in default
      apps.push_back(0);
      total_weight = 1;
    }
    const int64_t r_avg = std::max<int64_t>(1, o_.replicas);
    while (remaining > 0) {
      int pick = static_cast<int>(rng_.Below(total_weight));
      int ns_index = apps[0];
      for (int a : apps) {
        pick -= std::max(1, namespaces_[a].weight);
        if (pick < 0) {
          ns_index = a;
          break;
        }
      }
      Namespace& ns = namespaces_[ns_index];
      const std::string prefix = ns.team.empty() ? "app" : ns.team;
      const int64_t created = ns.created + 3600 + static_cast<int64_t>(rng_.Below(86400 * 20));
      const uint64_t k = rng_.Below(100);
      if (k < 76) {  // Deployment
        const uint64_t t = rng_.Below(100);
        std::string tier = t < 30 ? "web" : t < 70 ? "api" : t < 80 ? "cache" : "worker";
        std::string base;
        if (tier == "web")
          base = prefix + "-" + rng_.Pick(kWebNames);
        else if (tier == "api")
          base = prefix + "-" + rng_.Pick(kApiNames);
        else if (tier == "cache")
          base = prefix + "-" + std::string(rng_.Percent(70) ? "redis" : "memcached");
        else
          base = prefix + "-" + rng_.Pick(kWorkerNames);
        Workload w = NewWorkload(ns_index, "Deployment", tier, base);
        const int replicas = static_cast<int>(
            std::min<int64_t>(remaining, 1 + static_cast<int64_t>(rng_.Below(2 * r_avg - 1))));
        MakeDeployment(w, replicas, created);
        remaining -= w.pods;
        if (tier != "worker") MakeService(w, created, false);
        AddWorkload(std::move(w));
      } else if (k < 88) {  // StatefulSet: databases and caches
        const bool db = rng_.Percent(75);
        static const std::vector<std::string> kDb = {"postgres", "postgres", "postgres",
                                                     "mysql",    "mongodb",  "cassandra"};
        const std::string engine = db ? rng_.Pick(kDb) : "redis";
        Workload w =
            NewWorkload(ns_index, "StatefulSet", db ? "db" : "cache", prefix + "-" + engine);
        const int replicas = static_cast<int>(std::min<int64_t>(remaining, rng_.Range(1, 3)));
        MakeStatefulSet(w, replicas, created);
        MakeService(w, created, true);  // headless governing service
        remaining -= w.pods;
        AddWorkload(std::move(w));
      } else if (k < 91) {  // DaemonSet on one node pool
        const int pools = static_cast<int>((nodes_.size() + 7) / 8);
        const int pool = static_cast<int>(rng_.Below(pools));
        std::vector<int> on;
        for (int n = pool * 8; n < std::min<int>(pool * 8 + 8, static_cast<int>(nodes_.size())) &&
                               static_cast<int64_t>(on.size()) < remaining;
             ++n)
          on.push_back(n);
        static const std::vector<std::string> kAgents = {"log-agent", "gpu-monitor", "cache-warmer",
                                                         "sidecar-injector"};
        Workload w =
            NewWorkload(ns_index, "DaemonSet", "worker", prefix + "-" + rng_.Pick(kAgents));
        MakeDaemonSet(w, on, created, "pool-" + std::to_string(pool));
        remaining -= w.pods;
        AddWorkload(std::move(w));
      } else {  // Job / CronJob
        Workload w = NewWorkload(ns_index, k < 95 ? "Job" : "CronJob", "worker",
                                 prefix + "-" + rng_.Pick(kJobNames));
        w.containers[0].ports.clear();
        if (rng_.Percent(50)) w.containers[0].ports.push_back({"metrics", 9090, "TCP"});
        MakeBatch(w, k >= 95, created);
        remaining -= w.pods;
        AddWorkload(std::move(w));
      }
    }
  }

  // ------------------------------------------------------------------ NetworkPolicies

  enum Shape {
    kDenyIngress,
    kDenyIngressImplicit,
    kDenyEgress,
    kDenyAll,
    kAllowSameNs,
    kMatchExpr,
    kNsSelector,
    kNsAndPod,
    kSeparatePeers,
    kIpBlockV4,
    kIpBlockV6,
    kIpBlockPods,
    kNumericPorts,
    kNamedPorts,
    kEndPort,
    kUdpSctp,
    kProtocolOnly,
    kNoPorts,
    kEgressDns,
    kEmptyFrom,
    kAllowAllEgress,
    kImplicitTypes,
    kStale,
    kAllNamespaces,
    kMultiRule,
    kNumShapes
  };

  static const char* ShapeName(int s) {
    static const std::array<const char*, kNumShapes> kNames = {"default-deny-ingress",
                                                               "default-deny",
                                                               "default-deny-egress",
                                                               "default-deny-all",
                                                               "allow-same-ns",
                                                               "allow-tiers",
                                                               "allow-team",
                                                               "allow-ns-app",
                                                               "allow-env-or-app",
                                                               "allow-external",
                                                               "allow-ipv6",
                                                               "allow-pod-cidr",
                                                               "allow-ports",
                                                               "allow-named",
                                                               "allow-port-range",
                                                               "allow-udp-sctp",
                                                               "allow-protocol",
                                                               "allow-app",
                                                               "allow-dns",
                                                               "allow-all-ingress",
                                                               "allow-all-egress",
                                                               "allow-implicit",
                                                               "legacy",
                                                               "allow-cluster",
                                                               "app-policy"};
    return kNames[s];
  }

  // Weights for shapes after every shape has been emitted once.
  static int ShapeWeight(int s) {
    switch (s) {
      case kDenyIngress:
      case kAllowSameNs:
      case kNamedPorts:
        return 10;
      case kEgressDns:
      case kNsAndPod:
      case kMultiRule:
        return 8;
      case kDenyEgress:
      case kDenyAll:
      case kNsSelector:
      case kSeparatePeers:
      case kNumericPorts:
      case kMatchExpr:
        return 5;
      case kStale:
        return 2;
      default:
        return 3;
    }
  }

  bool IsAppWorkload(const Workload& w) const { return w.ns != 1 && w.pods > 0; }

  const Workload* PickAny() {
    if (app_workloads_.empty()) return nullptr;
    return &workloads_[rng_.Pick(app_workloads_)];
  }
  const Workload* PickInNs(int ns) {
    const auto& v = namespaces_[ns].workloads;
    if (v.empty()) return nullptr;
    return &workloads_[rng_.Pick(v)];
  }
  // A workload in `ns` (or anywhere if none) with a port of the given tier set.
  const Workload* PickTier(int ns, std::initializer_list<const char*> tiers) {
    auto ok = [&](const Workload& w) {
      for (auto* t : tiers)
        if (w.tier == t && !w.ports.empty()) return true;
      return false;
    };
    std::vector<int> c;
    for (int i : namespaces_[ns].workloads)
      if (ok(workloads_[i])) c.push_back(i);
    if (c.empty())
      for (int i : app_workloads_)
        if (ok(workloads_[i])) c.push_back(i);
    if (c.empty()) return nullptr;
    return &workloads_[rng_.Pick(c)];
  }

  json SelOf(const Workload* w) { return w ? Sel(w->selector) : json::object(); }

  // A port of w as a NetworkPolicy port entry: by name or number.
  json PortOf(const Workload* w, bool named) {
    if (!w || w->ports.empty()) return PortNum("TCP", 8080);
    const PortDef& p = w->ports[rng_.Below(std::min<size_t>(w->ports.size(), 3))];
    return named ? PortName(p.proto, p.name) : PortNum(p.proto, p.port);
  }

  json NsNameSel(const std::string& ns) {
    return {{"matchLabels", {{"kubernetes.io/metadata.name", ns}}}};
  }

  json DnsPeer() {
    return {{"namespaceSelector", NsNameSel("kube-system")},
            {"podSelector", {{"matchLabels", {{"k8s-app", "kube-dns"}}}}}};
  }

  json DnsRule(bool named) {
    if (named)
      return {{"to", json::array({DnsPeer()})},
              {"ports", json::array({PortName("UDP", "dns"), PortName("TCP", "dns-tcp")})}};
    return {{"to", json::array({DnsPeer()})},
            {"ports", json::array({PortNum("UDP", 53), PortNum("TCP", 53)})}};
  }

  std::string OtherEnv(const std::string& e) {
    std::string o = rng_.Pick(kEnvValues);
    return o == e ? (e == "prod" ? "staging" : "prod") : o;
  }

  json NetworkPolicySpec(int shape, const Workload* w, int ns) {
    const Namespace& n = namespaces_[ns];
    const Workload* same = PickInNs(ns);
    const Workload* other = PickAny();
    json spec;
    auto types = [](std::initializer_list<const char*> t) {
      json a = json::array();
      for (const char* x : t) a.push_back(x);
      return a;
    };
    switch (shape) {
      case kDenyIngress:
        spec = {{"podSelector", json::object()}, {"policyTypes", types({"Ingress"})}};
        break;
      case kDenyIngressImplicit:  // no policyTypes, no rules: defaults to [Ingress]
        spec = {{"podSelector", json::object()}};
        break;
      case kDenyEgress:
        spec = {{"podSelector", json::object()}, {"policyTypes", types({"Egress"})}};
        break;
      case kDenyAll:
        spec = {{"podSelector", json::object()}, {"policyTypes", types({"Ingress", "Egress"})}};
        if (rng_.Percent(50)) {
          spec["ingress"] = json::array();
          spec["egress"] = json::array();
        }
        break;
      case kAllowSameNs:
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress"})},
                {"ingress", json::array({{{"from", json::array({{{"podSelector", SelOf(same)}}})},
                                          {"ports", json::array({PortOf(w, true)})}}})}};
        break;
      case kMatchExpr: {
        json target;
        if (w && !w->tier.empty() && w->tier != "monitoring") {
          std::string t2 = rng_.Pick(kTiers);
          std::vector<std::string> in = {w->tier};
          if (t2 != w->tier) in.push_back(t2);
          target = {
              {"matchExpressions", json::array({Expr("tier", "In", in), Expr("app", "Exists")})}};
        } else {
          target = {
              {"matchExpressions", json::array({Expr("app.kubernetes.io/name", "In",
                                                     {w ? w->name : std::string("nothing")})})}};
        }
        spec = {{"podSelector", target},
                {"ingress",
                 json::array(
                     {{{"from",
                        json::array(
                            {{{"podSelector",
                               {{"matchExpressions",
                                 json::array({Expr("tier", "NotIn", {"db", "cache"}),
                                              Expr("canary", "DoesNotExist")})}}}},
                             {{"namespaceSelector",
                               {{"matchExpressions",
                                 json::array({Expr("env", "In", {n.env.empty() ? "prod" : n.env}),
                                              Expr("istio-injection", "DoesNotExist")})}}},
                              {"podSelector",
                               {{"matchLabels", {{"tier", "api"}}},
                                {"matchExpressions",
                                 json::array({Expr("app.kubernetes.io/part-of", "Exists")})}}}}})},
                       {"ports", json::array({PortOf(w, false)})}}})}};
        if (rng_.Percent(50)) spec["policyTypes"] = types({"Ingress"});
        break;
      }
      case kNsSelector: {
        json nsel = rng_.Percent(50) && other
                        ? json{{"matchLabels", {{"team", namespaces_[other->ns].team}}}}
                        : json{{"matchLabels", {{"env", n.env.empty() ? "prod" : n.env}}}};
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress"})},
            {"ingress", json::array({{{"from", json::array({{{"namespaceSelector", nsel}}})}}})}};
        break;
      }
      case kNsAndPod:
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress"})},
            {"ingress",
             json::array(
                 {{{"from", json::array({{{"namespaceSelector",
                                           NsNameSel(other ? namespaces_[other->ns].name : n.name)},
                                          {"podSelector", SelOf(other)}}})},
                   {"ports", json::array({PortOf(w, rng_.Percent(60))})}}})}};
        break;
      case kSeparatePeers:
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress"})},
            {"ingress",
             json::array({{{"from", json::array({{{"namespaceSelector",
                                                   {{"matchLabels", {{"env", OtherEnv(n.env)}}}}}},
                                                 {{"podSelector", SelOf(same)}}})},
                           {"ports", json::array({PortOf(w, false)})}}})}};
        break;
      case kIpBlockV4: {
        const int third = rng_.Range(0, 254);
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress", "Egress"})},
                {"ingress",
                 json::array(
                     {{{"from",
                        json::array(
                            {{{"ipBlock",
                               {{"cidr", "172.16.0.0/12"},
                                {"except", json::array({"172.16." + std::to_string(third) + ".0/24",
                                                        "172.20.0.0/16"})}}}},
                             {{"ipBlock", {{"cidr", "192.168.0.0/16"}}}},
                             {{"ipBlock",
                               {{"cidr", "203.0.113.0/24"},
                                {"except", json::array({"203.0.113.128/25"})}}}}})},
                       {"ports", json::array({PortOf(w, false)})}}})},
                {"egress",
                 json::array(
                     {{{"to", json::array({{{"ipBlock",
                                             {{"cidr", "0.0.0.0/0"},
                                              {"except", json::array({"10.0.0.0/8",
                                                                      "169.254.169.254/32"})}}}}})},
                       {"ports", json::array({PortNum("TCP", 443)})}},
                      DnsRule(false)})}};
        break;
      }
      case kIpBlockV6:
        spec = {
            {"podSelector", SelOf(w)},
            {"ingress",
             json::array(
                 {{{"from", json::array({{{"ipBlock",
                                           {{"cidr", "fd00::/64"},
                                            {"except", json::array({"fd00::ff00/120"})}}}},
                                         {{"ipBlock",
                                           {{"cidr", "2001:db8::/32"},
                                            {"except", json::array({"2001:db8:1::/48"})}}}}})}}})},
            {"egress",
             json::array({{{"to", json::array({{{"ipBlock",
                                                 {{"cidr", "::/0"},
                                                  {"except", json::array({"fd00::/8"})}}}}})},
                           {"ports", json::array({PortNum("TCP", 443)})}}})},
            {"policyTypes", types({"Ingress", "Egress"})}};
        break;
      case kIpBlockPods: {
        const Workload* src = other;
        for (int tries = 0; tries < 8 && (!src || src->first_ip.empty()); ++tries) src = PickAny();
        json from = json::array();
        if (src && !src->first_ip.empty()) {
          const std::string node_cidr =
              Ipv4(kPodNet + (static_cast<uint32_t>(src->first_node) << 8)) + "/24";
          from.push_back({{"ipBlock", {{"cidr", src->first_ip + "/32"}}}});
          from.push_back(
              {{"ipBlock",
                {{"cidr", node_cidr}, {"except", json::array({src->first_ip + "/32"})}}}});
          if (!src->first_ip6.empty())
            from.push_back({{"ipBlock", {{"cidr", src->first_ip6 + "/128"}}}});
          if (rng_.Percent(30))
            from.push_back(
                {{"ipBlock", {{"cidr", "10.64.0.0/10"}, {"except", json::array({node_cidr})}}}});
        } else {
          from.push_back({{"ipBlock", {{"cidr", "10.64.0.0/10"}}}});
        }
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress"})},
                {"ingress", json::array({{{"from", from}}})}};
        break;
      }
      case kNumericPorts:
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress"})},
            {"ingress",
             json::array({{{"from", json::array({{{"podSelector", json::object()}}})},
                           {"ports", json::array({PortOf(w, false), json{{"port", 9090}}})}}})}};
        break;
      case kNamedPorts: {
        const Workload* db = PickTier(ns, {"db", "cache"});
        json to_peer = {{"podSelector", SelOf(db)}};
        if (db && db->ns != ns) to_peer["namespaceSelector"] = NsNameSel(namespaces_[db->ns].name);
        json in_ports = json::array({PortOf(w, true)});
        if (w && !w->ports.empty() && rng_.Percent(50)) {
          const PortDef& p = w->ports.back();
          json pp = {{"port", p.name}};
          if (p.proto != "TCP" || rng_.Percent(50)) pp["protocol"] = p.proto;
          in_ports.push_back(pp);
        }
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress", "Egress"})},
                {"ingress", json::array({{{"from", json::array({{{"podSelector", SelOf(same)}}})},
                                          {"ports", in_ports}}})},
                {"egress", json::array({{{"to", json::array({to_peer})},
                                         {"ports", json::array({PortOf(db, true)})}},
                                        DnsRule(rng_.Percent(30))})}};
        break;
      }
      case kEndPort: {
        const int lo = rng_.Range(1024, 60000);
        const int hi = std::min(65535, lo + rng_.Range(0, 2000));
        json p = {{"protocol", "TCP"}, {"port", lo}, {"endPort", hi}};
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress", "Egress"})},
                {"ingress",
                 json::array(
                     {{{"ports",
                        json::array({{{"protocol", "TCP"}, {"port", 30000}, {"endPort", 32767}}})}},
                      {{"from", json::array({{{"podSelector", SelOf(same)}}})},
                       {"ports", json::array({p, {{"port", 8000}, {"endPort", 8000}}})}}})},
                {"egress",
                 json::array(
                     {{{"ports",
                        json::array({{{"protocol", "UDP"}, {"port", 10000}, {"endPort", 10100}},
                                     {{"protocol", "SCTP"}, {"port", 2905}, {"endPort", 2910}}})}},
                      DnsRule(false)})}};
        break;
      }
      case kUdpSctp:
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress", "Egress"})},
            {"ingress",
             json::array({{{"from", json::array({{{"namespaceSelector", json::object()}}})},
                           {"ports", json::array({PortNum("UDP", 8125), PortNum("SCTP", 3868),
                                                  PortName("UDP", "statsd"),
                                                  PortName("SCTP", "diameter")})}}})},
            {"egress",
             json::array({{{"to", json::array({{{"podSelector", SelOf(same)}}})},
                           {"ports", json::array({PortName("UDP", "syslog"), PortNum("UDP", 514),
                                                  PortName("SCTP", "sigtran")})}},
                          DnsRule(false)})}};
        break;
      case kProtocolOnly:
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress", "Egress"})},
                {"ingress", json::array({{{"from", json::array({{{"podSelector", SelOf(same)}}})},
                                          {"ports", json::array({{{"protocol", "UDP"}}})}},
                                         {{"ports", json::array({{{"protocol", "SCTP"}}})}}})},
                {"egress", json::array({{{"ports", json::array({{{"protocol", "TCP"}}})}}})}};
        break;
      case kNoPorts:
        spec = {{"podSelector", SelOf(w)},
                {"ingress", json::array({{{"from", json::array({{{"podSelector", SelOf(same)}},
                                                                {{"namespaceSelector",
                                                                  NsNameSel("monitoring")}}})}}})}};
        break;
      case kEgressDns:
        spec = {{"podSelector", rng_.Percent(60) ? json::object() : SelOf(w)},
                {"policyTypes", types({"Egress"})},
                {"egress", json::array({DnsRule(rng_.Percent(25))})}};
        break;
      case kEmptyFrom:
        if (rng_.Percent(50))
          spec = {{"podSelector", SelOf(w)},
                  {"policyTypes", types({"Ingress"})},
                  {"ingress", json::array({json::object()})}};
        else
          spec = {{"podSelector", SelOf(w)},
                  {"ingress", json::array({{{"from", json::array()},
                                            {"ports", json::array({PortOf(w, true)})}}})}};
        break;
      case kAllowAllEgress:
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Egress"})},
                {"egress", json::array({json::object()})}};
        break;
      case kImplicitTypes: {
        // No policyTypes, but egress rules: the API server defaults to [Ingress, Egress].
        const Workload* dst = PickTier(ns, {"api", "db", "cache"});
        json to_peer = {{"podSelector", SelOf(dst)}};
        if (dst && dst->ns != ns)
          to_peer["namespaceSelector"] = NsNameSel(namespaces_[dst->ns].name);
        spec = {{"podSelector", SelOf(w)},
                {"egress", json::array({{{"to", json::array({to_peer})},
                                         {"ports", json::array({PortOf(dst, rng_.Percent(50))})}},
                                        DnsRule(false)})}};
        if (rng_.Percent(50))
          spec["ingress"] =
              json::array({{{"from", json::array({{{"podSelector", SelOf(same)}}})}}});
        break;
      }
      case kStale:
        spec = {{"podSelector",
                 {{"matchLabels",
                   {{"app", "legacy-" + (w ? w->name.substr(0, 40) : std::string("service"))}}}}},
                {"policyTypes", types({"Ingress"})},
                {"ingress",
                 json::array(
                     {{{"from", json::array({{{"podSelector",
                                               {{"matchLabels", {{"app", "retired-client"}}}}}}})},
                       {"ports", json::array({PortNum("TCP", 8080)})}}})}};
        break;
      case kAllNamespaces:
        spec = {
            {"podSelector", SelOf(w)},
            {"policyTypes", types({"Ingress", "Egress"})},
            {"ingress",
             json::array({{{"from", json::array({{{"namespaceSelector", json::object()}}})},
                           {"ports", json::array({PortOf(w, true)})}}})},
            {"egress",
             json::array(
                 {{{"to", json::array({{{"namespaceSelector", json::object()},
                                        {"podSelector", {{"matchLabels", {{"tier", "api"}}}}}}})},
                   {"ports", json::array({PortName("TCP", "http"), PortName("TCP", "grpc")})}},
                  DnsRule(false)})}};
        break;
      default: {  // kMultiRule: a typical hand-written application policy
        const Workload* db = PickTier(ns, {"db", "cache"});
        json db_peer = {{"podSelector", SelOf(db)}};
        if (db && db->ns != ns) db_peer["namespaceSelector"] = NsNameSel(namespaces_[db->ns].name);
        json ingress = json::array(
            {{{"from",
               json::array({{{"podSelector", SelOf(same)}},
                            {{"namespaceSelector", NsNameSel("monitoring")},
                             {"podSelector",
                              {{"matchLabels", {{"app.kubernetes.io/name", "prometheus"}}}}}}})},
              {"ports", json::array({PortName("TCP", "metrics")})}},
             {{"from",
               json::array({{{"namespaceSelector",
                              {{"matchLabels", {{"team", n.team.empty() ? "platform" : n.team}}}}},
                             {"podSelector",
                              {{"matchExpressions",
                                json::array({Expr("tier", "In", {"web", "api"})})}}}}})},
              {"ports", json::array({PortOf(w, true), PortOf(w, false)})}}});
        spec = {{"podSelector", SelOf(w)},
                {"policyTypes", types({"Ingress", "Egress"})},
                {"ingress", ingress},
                {"egress",
                 json::array({{{"to", json::array({db_peer})},
                               {"ports", json::array({PortOf(db, rng_.Percent(50))})}},
                              DnsRule(false),
                              {{"to", json::array({{{"ipBlock", {{"cidr", "198.51.100.0/24"}}}}})},
                               {"ports", json::array({PortNum("TCP", 443)})}}})}};
        break;
      }
    }
    return spec;
  }

  void MakeNetworkPolicies() {
    for (size_t i = 0; i < workloads_.size(); ++i)
      if (IsAppWorkload(workloads_[i])) app_workloads_.push_back(static_cast<int>(i));
    const int64_t count = o_.policies >= 0 ? o_.policies : o_.pods * 3 / 10;
    int total_weight = 0;
    for (int s = 0; s < kNumShapes; ++s) total_weight += ShapeWeight(s);
    for (int64_t i = 0; i < count; ++i) {
      int shape;
      if (i < kNumShapes) {
        shape = static_cast<int>(i);
      } else {
        int r = static_cast<int>(rng_.Below(total_weight));
        shape = 0;
        while (r >= ShapeWeight(shape)) r -= ShapeWeight(shape++);
      }
      const Workload* w = PickAny();
      int ns = w ? w->ns
                 : static_cast<int>(
                       first_app_ns_ < static_cast<int>(namespaces_.size()) ? first_app_ns_ : 0);
      Namespace& n = namespaces_[ns];
      std::string base = ShapeName(shape);
      if (w && shape != kDenyIngress && shape != kDenyIngressImplicit && shape != kDenyEgress &&
          shape != kDenyAll)
        base += "-" + w->name;
      json spec = NetworkPolicySpec(shape, w, ns);
      Labels l;
      if (rng_.Percent(30)) l["app.kubernetes.io/managed-by"] = "Helm";
      if (w && rng_.Percent(40))
        l["app.kubernetes.io/part-of"] = w->labels.count("app.kubernetes.io/part-of")
                                             ? w->labels.at("app.kubernetes.io/part-of")
                                             : "platform";
      json meta = Meta(UniqueName(n.policy_names, base), &n,
                       n.created + 7200 + static_cast<int64_t>(rng_.Below(86400 * 25)), l);
      meta["generation"] = 1;
      w_.Item({{"apiVersion", "networking.k8s.io/v1"},
               {"kind", "NetworkPolicy"},
               {"metadata", meta},
               {"spec", spec}});
      ++policies_;
    }
  }

  // ------------------------------------------------------------------ admin policies

  json ClusterMeta(const std::string& name) {
    json m = Meta(name, nullptr, kEpoch + static_cast<int64_t>(rng_.Below(86400)), {});
    m["generation"] = 1;
    return m;
  }

  std::string SomeTeam() {
    const Workload* w = PickAny();
    return w && !namespaces_[w->ns].team.empty() ? namespaces_[w->ns].team : "payments";
  }

  static json AnpPortNumber(const char* proto, int port) {
    return {{"portNumber", {{"protocol", proto}, {"port", port}}}};
  }
  static json AnpPortRange(const char* proto, int start, int end) {
    return {{"portRange", {{"protocol", proto}, {"start", start}, {"end", end}}}};
  }
  static json AnpDnsPeer() {
    return {{"pods",
             {{"namespaceSelector", NsSel("kube-system")},
              {"podSelector", {{"matchLabels", {{"k8s-app", "kube-dns"}}}}}}}};
  }
  static json NsSel(const std::string& ns) {
    return {{"matchLabels", {{"kubernetes.io/metadata.name", ns}}}};
  }
  static json NotSystem() {
    return {{"matchExpressions",
             json::array({Expr("kubernetes.io/metadata.name", "NotIn",
                               {"kube-system", "kube-public", "kube-node-lease"})})}};
  }

  void MakeAdminPolicies() {
    const int64_t n = o_.admin_policies;
    // AdminNetworkPolicy (v1alpha1, standard channel v0.1.7).
    for (int64_t i = 0; i < n; ++i) {
      json spec;
      std::string name;
      const int prio = static_cast<int>((10 + 10 * i) % 1001);
      const std::string team = SomeTeam();
      switch (i % 6) {
        case 0:
          name = "allow-monitoring";
          spec = {{"subject", {{"namespaces", NotSystem()}}},
                  {"ingress",
                   json::array({{{"name", "allow-prometheus-scrape"},
                                 {"action", "Allow"},
                                 {"from", json::array({{{"namespaces", NsSel("monitoring")}}})},
                                 {"ports", json::array({AnpPortNumber("TCP", 9090),
                                                        AnpPortRange("TCP", 9100, 9199)})}}})}};
          break;
        case 1:
          name = "isolate-prod";
          spec = {{"subject", {{"namespaces", {{"matchLabels", {{"env", "prod"}}}}}}},
                  {"ingress",
                   json::array(
                       {{{"name", "deny-from-dev"},
                         {"action", "Deny"},
                         {"from",
                          json::array({{{"namespaces", {{"matchLabels", {{"env", "dev"}}}}}}})}},
                        {{"name", "delegate-staging"},
                         {"action", "Pass"},
                         {"from", json::array({{{"namespaces",
                                                 {{"matchLabels", {{"env", "staging"}}}}}}})}}})}};
          break;
        case 2:
          name = "protect-databases";
          spec = {
              {"subject",
               {{"pods",
                 {{"namespaceSelector", json::object()},
                  {"podSelector", {{"matchLabels", {{"tier", "db"}}}}}}}}},
              {"ingress",
               json::array(
                   {{{"name", "allow-api"},
                     {"action", "Allow"},
                     {"from",
                      json::array({{{"pods",
                                     {{"namespaceSelector", {{"matchLabels", {{"team", team}}}}},
                                      {"podSelector", {{"matchLabels", {{"tier", "api"}}}}}}}}})},
                     {"ports",
                      json::array({AnpPortNumber("TCP", 5432), AnpPortNumber("TCP", 3306)})}},
                    {{"name", "deny-rest"},
                     {"action", "Deny"},
                     {"from", json::array({{{"namespaces", json::object()}}})}}})},
              {"egress",
               json::array(
                   {{{"name", "no-internet"},
                     {"action", "Deny"},
                     {"to", json::array({{{"networks", json::array({"0.0.0.0/0", "::/0"})}}})}}})}};
          if (o_.experimental) spec["ingress"][0]["ports"].push_back({{"namedPort", "postgres"}});
          break;
        case 3:
          name = "allow-dns";
          spec = {{"subject", {{"namespaces", json::object()}}},
                  {"egress", json::array({{{"name", "dns"},
                                           {"action", "Allow"},
                                           {"to", json::array({AnpDnsPeer()})},
                                           {"ports", json::array({AnpPortNumber("UDP", 53),
                                                                  AnpPortNumber("TCP", 53)})}}})}};
          break;
        case 4:
          name = "block-metadata";
          spec = {
              {"subject", {{"namespaces", NotSystem()}}},
              {"egress",
               json::array(
                   {{{"name", "deny-imds"},
                     {"action", "Deny"},
                     {"to", json::array({{{"networks", json::array({"169.254.169.254/32",
                                                                    "fd00:ec2::254/128"})}}})}}})}};
          break;
        default:
          name = "pass-nonprod";
          spec = {
              {"subject",
               {{"pods",
                 {{"namespaceSelector",
                   {{"matchExpressions", json::array({Expr("env", "In", {"staging", "dev"})})}}},
                  {"podSelector",
                   {{"matchExpressions", json::array({Expr("tier", "Exists")})}}}}}}},
              {"egress",
               json::array(
                   {{{"name", "pass-to-prod"},
                     {"action", "Pass"},
                     {"to", json::array({{{"namespaces", {{"matchLabels", {{"env", "prod"}}}}}},
                                         {{"pods",
                                           {{"namespaceSelector", NsSel("monitoring")},
                                            {"podSelector", json::object()}}}}})},
                     {"ports",
                      json::array({AnpPortRange("UDP", 1000, 2000),
                                   AnpPortRange("SCTP", 2905, 2910), AnpPortNumber("TCP", 8080)})}},
                    {{"action", "Allow"},
                     {"to", json::array({{{"networks", json::array({"10.0.0.0/8"})}}})}}})}};
          if (o_.experimental) spec["egress"][0]["ports"].push_back({{"namedPort", "http"}});
          break;
      }
      if (i >= 6) name += "-" + std::to_string(i / 6);
      spec["priority"] = prio;
      w_.Item({{"apiVersion", "policy.networking.k8s.io/v1alpha1"},
               {"kind", "AdminNetworkPolicy"},
               {"metadata", ClusterMeta(name)},
               {"spec", spec}});
      ++admin_policies_;
    }

    // BaselineAdminNetworkPolicy: exactly one, named "default".
    {
      json spec = {
          {"subject", {{"namespaces", NotSystem()}}},
          {"ingress",
           json::array(
               {{{"name", "allow-same-team-api"},
                 {"action", "Allow"},
                 {"from",
                  json::array({{{"pods",
                                 {{"namespaceSelector", {{"matchLabels", {{"team", SomeTeam()}}}}},
                                  {"podSelector", {{"matchLabels", {{"tier", "api"}}}}}}}}})},
                 {"ports", json::array({AnpPortNumber("TCP", 8080)})}},
                {{"name", "default-deny-cross-env"},
                 {"action", "Deny"},
                 {"from", json::array({{{"namespaces", {{"matchLabels", {{"env", "dev"}}}}}}})}}})},
          {"egress",
           json::array(
               {{{"name", "dns"},
                 {"action", "Allow"},
                 {"to", json::array({AnpDnsPeer()})},
                 {"ports", json::array({AnpPortNumber("UDP", 53), AnpPortNumber("TCP", 53)})}},
                {{"name", "deny-external"},
                 {"action", "Deny"},
                 {"to", json::array({{{"networks", json::array({"0.0.0.0/0"})}}})},
                 {"ports", json::array({AnpPortRange("TCP", 1, 1023)})}}})}};
      w_.Item({{"apiVersion", "policy.networking.k8s.io/v1alpha1"},
               {"kind", "BaselineAdminNetworkPolicy"},
               {"metadata", ClusterMeta("default")},
               {"spec", spec}});
      ++admin_policies_;
    }

    // ClusterNetworkPolicy (v1alpha2).
    auto tcp = [](int port) { return json{{"tcp", {{"destinationPort", {{"number", port}}}}}}; };
    auto udp_range = [](int s, int e) {
      return json{{"udp", {{"destinationPort", {{"range", {{"start", s}, {"end", e}}}}}}}};
    };
    for (int64_t i = 0; i < n; ++i) {
      json spec;
      std::string name;
      const int prio = static_cast<int>((5 + 10 * i) % 1001);
      switch (i % 6) {
        case 0:
          name = "admin-allow-monitoring";
          spec = {{"tier", "Admin"},
                  {"subject", {{"namespaces", {{"matchLabels", {{"env", "prod"}}}}}}},
                  {"ingress",
                   json::array({{{"name", "scrape"},
                                 {"action", "Accept"},
                                 {"from", json::array({{{"namespaces", NsSel("monitoring")}}})},
                                 {"protocols", json::array({tcp(9090), json{{"destinationNamedPort",
                                                                             "metrics"}}})}}})}};
          break;
        case 1:
          name = "admin-deny-web-to-db";
          spec = {
              {"tier", "Admin"},
              {"subject",
               {{"pods",
                 {{"namespaceSelector", json::object()},
                  {"podSelector", {{"matchLabels", {{"tier", "db"}}}}}}}}},
              {"ingress",
               json::array(
                   {{{"name", "no-web"},
                     {"action", "Deny"},
                     {"from",
                      json::array(
                          {{{"pods", {{"podSelector", {{"matchLabels", {{"tier", "web"}}}}}}}}})}},
                    {{"name", "pass-api"},
                     {"action", "Pass"},
                     {"from",
                      json::array(
                          {{{"pods",
                             {{"namespaceSelector", {{"matchLabels", {{"team", SomeTeam()}}}}},
                              {"podSelector", {{"matchLabels", {{"tier", "api"}}}}}}}}})},
                     {"protocols", json::array({tcp(5432), tcp(3306)})}}})}};
          break;
        case 2:
          name = "admin-pass-internal";
          spec = {
              {"tier", "Admin"},
              {"subject", {{"namespaces", NotSystem()}}},
              {"egress",
               json::array(
                   {{{"name", "internal"},
                     {"action", "Pass"},
                     {"to", json::array({{{"networks", json::array({"10.0.0.0/8", "fd00::/8"})}}})},
                     {"protocols",
                      json::array({tcp(80), udp_range(1000, 2000),
                                   json{{"sctp", {{"destinationPort", {{"number", 3868}}}}}}})}},
                    {{"name", "deny-imds"},
                     {"action", "Deny"},
                     {"to",
                      json::array({{{"networks", json::array({"169.254.169.254/32"})}}})}}})}};
          break;
        case 3:
          name = "baseline-default-deny";
          spec = {
              {"tier", "Baseline"},
              {"subject", {{"namespaces", NotSystem()}}},
              {"ingress",
               json::array({{{"name", "deny-cross-namespace"},
                             {"action", "Deny"},
                             {"from", json::array({{{"namespaces", json::object()}}})}}})},
              {"egress",
               json::array(
                   {{{"name", "dns"},
                     {"action", "Accept"},
                     {"to", json::array({{{"pods",
                                           {{"namespaceSelector", NsSel("kube-system")},
                                            {"podSelector",
                                             {{"matchLabels", {{"k8s-app", "kube-dns"}}}}}}}}})},
                     {"protocols",
                      json::array(
                          {json{{"udp", {{"destinationPort", {{"number", 53}}}}}}, tcp(53)})}}})}};
          break;
        case 4:
          name = "baseline-api-egress";
          spec = {
              {"tier", "Baseline"},
              {"subject",
               {{"pods",
                 {{"namespaceSelector", json::object()},
                  {"podSelector",
                   {{"matchExpressions", json::array({Expr("tier", "In", {"api", "web"})})}}}}}}},
              {"egress",
               json::array(
                   {{{"name", "deny-dev"},
                     {"action", "Deny"},
                     {"to", json::array({{{"namespaces", {{"matchLabels", {{"env", "dev"}}}}}}})},
                     {"protocols",
                      json::array({json{{"tcp",
                                         {{"destinationPort",
                                           {{"range", {{"start", 8000}, {"end", 8999}}}}}}}}})}},
                    {{"name", "accept-db"},
                     {"action", "Accept"},
                     {"to",
                      json::array({{{"pods",
                                     {{"namespaceSelector", json::object()},
                                      {"podSelector", {{"matchLabels", {{"tier", "db"}}}}}}}}})},
                     {"protocols", json::array({json{{"destinationNamedPort", "postgres"}}})}}})}};
          break;
        default:
          name = "admin-team-isolation";
          spec = {
              {"tier", "Admin"},
              {"subject", {{"namespaces", {{"matchLabels", {{"team", SomeTeam()}}}}}}},
              {"ingress",
               json::array(
                   {{{"action", "Accept"},
                     {"from",
                      json::array({{{"namespaces",
                                     {{"matchExpressions",
                                       json::array({Expr("istio-injection", "Exists")})}}}}})}},
                    {{"action", "Deny"},
                     {"from",
                      json::array({{{"namespaces",
                                     {{"matchExpressions",
                                       json::array({Expr("env", "NotIn", {"prod"})})}}}}})}}})}};
          break;
      }
      if (i >= 6) name += "-" + std::to_string(i / 6);
      spec["priority"] = prio;
      w_.Item({{"apiVersion", "policy.networking.k8s.io/v1alpha2"},
               {"kind", "ClusterNetworkPolicy"},
               {"metadata", ClusterMeta(name)},
               {"spec", spec}});
      ++admin_policies_;
    }
  }

  // ------------------------------------------------------------------ state

  const Options& o_;
  Writer& w_;
  Rng rng_;
  std::vector<Namespace> namespaces_;
  std::vector<Node> nodes_;
  std::vector<Workload> workloads_;
  std::vector<int> app_workloads_;
  int first_app_ns_ = 4;
  uint64_t rv_ = 100000;
  uint64_t v6_counter_ = 0;
  uint32_t service_ip_counter_ = 0;
  uint32_t node_port_ = 0;
  uint32_t lb_counter_ = 0;
  int64_t pods_ = 0, services_ = 0, policies_ = 0, admin_policies_ = 0, workload_count_ = 0;
};

// ---------------------------------------------------------------------------------------------

constexpr const char* kUsage =
    "usage: gen_cluster --pods N [--policies N] [--namespaces N] [--replicas N] [--seed S]\n"
    "                   [--format json|yaml] [--admin] [--admin-policies N] [--experimental]\n"
    "                   [--slim] [--out FILE]\n"
    "\n"
    "Writes a deterministic synthetic cluster as one `kind: List` (like kubectl get -o json).\n"
    "  --pods N            number of Pod objects (required)\n"
    "  --policies N        NetworkPolicies (default 0.3 * pods)\n"
    "  --namespaces N      application namespaces (default max(1, pods/200); the first is\n"
    "                      `monitoring` when N >= 2), plus default, kube-system, kube-public\n"
    "                      and kube-node-lease\n"
    "  --replicas N        average Deployment replicas, varied 1..2N-1 (default 3)\n"
    "  --seed S            random seed (default 1)\n"
    "  --format F          json (one item per line) or yaml (default json)\n"
    "  --admin             also emit AdminNetworkPolicies, BaselineAdminNetworkPolicy `default`\n"
    "                      and ClusterNetworkPolicies\n"
    "  --admin-policies N  AdminNetworkPolicies and ClusterNetworkPolicies each (default 6)\n"
    "  --experimental      use experimental-channel fields (AdminNetworkPolicy namedPort)\n"
    "  --slim              only what the engine reads (~1 KB per pod): no ReplicaSets (pods\n"
    "                      keep their ownerReferences), no status but addresses and phase,\n"
    "                      pod specs reduced to node, service account and container ports\n"
    "  --out FILE          output file (default stdout)\n";

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
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need_int = [&](int64_t& dst) {
      if (!ParseInt(next, dst)) return false;
      ++i;
      return true;
    };
    bool ok = true;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--pods") {
      ok = need_int(o.pods);
    } else if (a == "--policies") {
      ok = need_int(o.policies);
    } else if (a == "--namespaces") {
      ok = need_int(o.namespaces);
    } else if (a == "--replicas") {
      ok = need_int(o.replicas) && o.replicas >= 1;
    } else if (a == "--admin-policies") {
      ok = need_int(o.admin_policies);
    } else if (a == "--seed") {
      int64_t s = 0;
      ok = need_int(s);
      o.seed = static_cast<uint64_t>(s);
    } else if (a == "--format") {
      ok = next && (std::strcmp(next, "json") == 0 || std::strcmp(next, "yaml") == 0);
      if (ok) o.format = std::strcmp(next, "json") == 0 ? Format::kJson : Format::kYaml, ++i;
    } else if (a == "--admin") {
      o.admin = true;
    } else if (a == "--experimental") {
      o.experimental = true;
    } else if (a == "--slim") {
      o.slim = true;
    } else if (a == "--out") {
      ok = next != nullptr;
      if (ok) o.out = next, ++i;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "gen_cluster: bad argument: %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (o.pods < 0) {
    std::fprintf(stderr, "gen_cluster: --pods is required\n%s", kUsage);
    return 2;
  }
  std::FILE* f = stdout;
  if (!o.out.empty()) {
    f = std::fopen(o.out.c_str(), "wb");
    if (!f) {
      std::fprintf(stderr, "gen_cluster: cannot open %s: %s\n", o.out.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  Writer writer(f, o.format, o.slim);
  Generator gen(o, writer);
  gen.Run();
  const bool failed =
      writer.failed() || std::fflush(f) != 0 || (f != stdout && std::fclose(f) != 0);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "gen_cluster: %s seconds=%.2f\n", gen.Summary().c_str(), secs);
  if (failed) {
    std::fprintf(stderr, "gen_cluster: write error\n");
    return 1;
  }
  return 0;
}

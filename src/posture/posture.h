// Posture: configuration checks, RBAC over-privilege, risk ranking by context and Kubernetes
// version CVEs (`stockade scan`). Reads the ClusterState; asks the PolicyEngine which
// workloads are isolated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "engine/engine.h"
#include "model/cluster_state.h"

namespace stockade::posture {

enum class Severity : uint8_t { Low = 1, Medium = 2, High = 3, Critical = 4 };
std::string_view to_string(Severity s);  // "low", "medium", "high", "critical"
std::optional<Severity> parse_severity(std::string_view s);

// One entry of the check catalog (POSTURE.md table 1.7 plus the RBAC patterns).
struct CheckInfo {
  std::string_view id;
  Severity severity;          // base severity; some findings raise or lower it with context
  std::string_view category;  // pod-security, secrets, namespace, service, ingress, network,
                              // rbac, version
  std::string_view title;
  std::string_view remediation;
  std::vector<std::string_view> aliases;  // other tools' IDs
};
const std::vector<CheckInfo>& catalog();
const CheckInfo* find_check(std::string_view id);

struct ResourceRef {
  std::string kind;
  std::string ns;  // empty for cluster-scoped objects
  std::string name;
  std::string text() const;  // KIND/NS/NAME or KIND/NAME
  friend auto operator<=>(const ResourceRef&, const ResourceRef&) = default;
};

struct Suppression {
  std::string by;  // "annotation", "accepted-file", "default-exclusion"
  std::string reason;
  std::string expires;  // accepted-file entries, when given
};

struct Finding {
  std::string id;
  Severity severity = Severity::Low;
  ResourceRef resource;
  std::string container;  // empty when not about one container
  std::string file;
  int line = 0;  // 0 when unknown (JSON input, live objects)
  std::string message;
  std::optional<Suppression> suppressed;
};

enum class Exposure : uint8_t { Internal, Node, External };
std::string_view to_string(Exposure e);
enum class Environment : uint8_t { Unknown, Dev, Prod };

struct RiskEntry {
  ResourceRef resource;
  double score = 0;  // 0..100, see risk.cc
  std::vector<std::string> factors;
  Exposure exposure = Exposure::Internal;
  bool isolated_ingress = false;
  bool isolated_egress = false;
  bool escape_capable = false;
  std::string service_account;  // NS/NAME when its token is mounted
  std::string sa_permission;    // "cluster-admin", "takeover", "elevated", "none"
  Environment env = Environment::Unknown;
};

// A file of accepted findings (suppressions), see suppress.cc for the format.
struct AcceptedFinding {
  std::string check;           // check ID or "*"
  std::string kind, ns, name;  // "*" matches anything; ns empty for cluster-scoped
  std::string container;       // empty: any
  std::string reason;
  std::string expires;  // YYYY-MM-DD, empty: never
  std::string file;
  int line = 0;
};
Result<std::vector<AcceptedFinding>> load_accepted(const std::string& path);
// Today as YYYY-MM-DD (UTC): ScanOptions::today, the day expiries are compared with.
std::string today_utc();

struct ScanOptions {
  std::string k8s_version;      // --k8s-version; else the cluster's (nodes, server)
  bool include_system = false;  // report default-excluded RBAC subjects as findings
  std::vector<AcceptedFinding> accepted;
  std::string today;  // YYYY-MM-DD, for expiries (empty: never expired)
  // --allowed-registry: image prefixes ("registry.example.com/", "docker.io/library/");
  // empty: UNTRUSTED_REGISTRY is not checked.
  std::vector<std::string> allowed_registries;
};

struct CveMatch {
  std::string cve;
  std::string component;
  std::string version;  // the version found (as given)
  std::string where;    // "--k8s-version", "API server", "Node NAME kubelet"
  std::string fixed;    // fixed versions, comma-separated
  std::string url;
  std::string summary;
  double cvss = 0;
  bool potentially = false;  // vendor build: fixes may be backported
};

struct ScanReport {
  std::vector<Finding> findings;      // active and suppressed, sorted
  std::vector<RiskEntry> risk;        // highest score first
  std::vector<std::string> warnings;  // for stderr (expired acceptances, version suffixes)
  uint64_t resources = 0;             // objects examined
};

// Runs every check. `engine` must be compiled from `state`.
Result<ScanReport> scan(const ClusterState& state, const PolicyEngine& engine,
                        const ScanOptions& options);

// ---- RBAC (rbac.cc) -----------------------------------------------------------------------

// Upstream matching (pkg/apis/rbac/v1/evaluation_helpers.go). `resource` is "res" or
// "res/subresource"; `name` empty asks about every name.
bool rule_allows(const PolicyRuleSpec& rule, std::string_view verb, std::string_view group,
                 std::string_view resource, std::string_view name = {});

// ---- Kubernetes versions and CVEs (cve.cc) ------------------------------------------------

struct K8sVersion {
  int major = 0, minor = 0, patch = 0;
  std::string suffix;  // vendor or pre-release suffix ("-eks-…", "-gke.…", "+k3s1"), "" none
  friend auto operator<=>(const K8sVersion& a, const K8sVersion& b) {
    return std::tie(a.major, a.minor, a.patch) <=> std::tie(b.major, b.minor, b.patch);
  }
  friend bool operator==(const K8sVersion& a, const K8sVersion& b) {
    return std::tie(a.major, a.minor, a.patch) == std::tie(b.major, b.minor, b.patch);
  }
};
std::optional<K8sVersion> parse_k8s_version(std::string_view text);

// Affected: introduced <= v < fixed, or introduced <= v <= last_affected when no fix exists.
struct CveRange {
  K8sVersion introduced;  // 0.0.0 when every earlier version is affected
  std::optional<K8sVersion> fixed;
  std::optional<K8sVersion> last_affected;
};
struct CveEntry {
  std::string cve;
  std::vector<std::string> components;  // kube-apiserver, kubelet, kube-proxy, ...
  std::vector<CveRange> ranges;
  std::string summary;
  std::string url;
  std::vector<std::string> sources;
  double cvss = 0;
  std::string preconditions;  // when only some clusters are affected (free text)
  std::string os;             // "windows" when only nodes of that OS are affected
};
// The table shipped in src/posture/data/k8s_cves.json.
const std::vector<CveEntry>& cve_table();
Result<std::vector<CveEntry>> parse_cve_table(std::string_view json, const std::string& file);
bool affected(const CveEntry& e, const K8sVersion& v);

// ---- Output (report.cc) -------------------------------------------------------------------

std::string render_json(const ScanReport& r);
std::string render_sarif(const ScanReport& r);
std::string render_table(const ScanReport& r);

// Whether an unsuppressed finding at or above `threshold` exists (`scan --fail-on`).
bool has_findings_at(const ScanReport& r, Severity threshold);

}  // namespace stockade::posture

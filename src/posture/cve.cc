// Kubernetes versions and the offline CVE table (src/posture/data/k8s_cves.json, refreshed
// with scripts/refresh-k8s-cves.py; see docs/scan.md).
#include <charconv>
#include <nlohmann/json.hpp>

#include "posture/data/k8s_cves_embed.h"
#include "posture/posture_impl.h"

namespace stockade::posture {

// "v1.29.3", "1.29.3", "v1.29.3-eks-adc7111", "v1.30.5-gke.1014000", "v1.31.2+k3s1", "1.29".
std::optional<K8sVersion> parse_k8s_version(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  K8sVersion v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  for (int i = 0; i < 3; ++i) {
    const char* b = s.data();
    const char* e = s.data() + s.size();
    auto [p, ec] = std::from_chars(b, e, *parts[i]);
    if (ec != std::errc() || p == b || *parts[i] < 0 || *parts[i] > 100000) return std::nullopt;
    s.remove_prefix(static_cast<size_t>(p - b));
    if (i < 2) {
      if (s.empty() && i == 1) return v;  // "1.29": patch 0
      if (s.empty() || s[0] != '.') return std::nullopt;
      s.remove_prefix(1);
    }
  }
  if (!s.empty()) {
    if (s[0] != '-' && s[0] != '+') return std::nullopt;
    v.suffix = std::string(s);
  }
  return v;
}

bool affected(const CveEntry& e, const K8sVersion& v) {
  for (const CveRange& r : e.ranges) {
    if (v < r.introduced) continue;
    if (r.fixed && v < *r.fixed) return true;
    if (!r.fixed && r.last_affected && v <= *r.last_affected) return true;
    if (!r.fixed && !r.last_affected) return true;
  }
  return false;
}

Result<std::vector<CveEntry>> parse_cve_table(std::string_view text, const std::string& file) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("cves") || !j["cves"].is_array())
    return make_error(file, 0, "expected a JSON object with a \"cves\" list");
  std::vector<CveEntry> out;
  auto version = [&](const nlohmann::json& v, const std::string& what) -> Result<K8sVersion> {
    if (!v.is_string()) return make_error(file, 0, what + ": expected a version string");
    auto p = parse_k8s_version(v.get<std::string>());
    if (!p) return make_error(file, 0, what + ": invalid version \"" + v.get<std::string>() + "\"");
    return *p;
  };
  for (const auto& c : j["cves"]) {
    if (!c.is_object() || !c.contains("id") || !c["id"].is_string())
      return make_error(file, 0, "every entry needs an \"id\"");
    CveEntry e;
    e.cve = c["id"].get<std::string>();
    auto str = [&](const char* k) {
      return c.contains(k) && c[k].is_string() ? c[k].get<std::string>() : std::string();
    };
    e.summary = str("summary");
    e.url = str("url");
    e.preconditions = str("preconditions");
    e.os = str("os");
    if (c.contains("cvss") && c["cvss"].is_number()) e.cvss = c["cvss"].get<double>();
    for (const char* k : {"components", "sources"})
      if (c.contains(k) && c[k].is_array())
        for (const auto& x : c[k])
          if (x.is_string())
            (std::string_view(k) == "components" ? e.components : e.sources)
                .push_back(x.get<std::string>());
    if (!c.contains("affected") || !c["affected"].is_array() || c["affected"].empty())
      return make_error(file, 0, e.cve + ": \"affected\" ranges are required");
    for (const auto& r : c["affected"]) {
      CveRange range;
      if (r.contains("introduced")) {
        auto v = version(r["introduced"], e.cve + " introduced");
        if (!v) return tl::unexpected(v.error());
        range.introduced = *v;
      }
      if (r.contains("fixed")) {
        auto v = version(r["fixed"], e.cve + " fixed");
        if (!v) return tl::unexpected(v.error());
        range.fixed = *v;
      }
      if (r.contains("last_affected")) {
        auto v = version(r["last_affected"], e.cve + " last_affected");
        if (!v) return tl::unexpected(v.error());
        range.last_affected = *v;
      }
      if (range.fixed && *range.fixed <= range.introduced)
        return make_error(file, 0, e.cve + ": a range's fixed version is not above introduced");
      e.ranges.push_back(range);
    }
    out.push_back(std::move(e));
  }
  return out;
}

const std::vector<CveEntry>& cve_table() {
  static const std::vector<CveEntry> kTable = [] {
    auto r =
        parse_cve_table(std::string_view(data::kK8sCves, data::kK8sCves_size), "k8s_cves.json");
    return r ? *r : std::vector<CveEntry>{};
  }();
  return kTable;
}

namespace detail {

std::vector<CveMatch> version_cves(const ClusterState& state, const ScanOptions& o,
                                   std::vector<std::string>& warnings) {
  struct Target {
    std::string where, text;
    std::vector<std::string_view> components;
    std::string os;  // the node's operating system, "" when unknown or not a node
  };
  std::vector<Target> targets;
  std::vector<std::string_view> control = {"kube-apiserver", "kube-controller-manager",
                                           "kube-scheduler", "kubelet", "kube-proxy"};
  if (!o.k8s_version.empty()) {
    targets.push_back({"--k8s-version", o.k8s_version, control, ""});
  } else {
    if (!state.server_version.empty())
      targets.push_back({"API server",
                         state.server_version,
                         {"kube-apiserver", "kube-controller-manager", "kube-scheduler"},
                         ""});
    for (const Node& n : state.nodes)
      if (!n.kubelet_version.empty())
        targets.push_back(
            {"Node " + n.name + " kubelet", n.kubelet_version, {"kubelet", "kube-proxy"}, n.os});
  }
  std::vector<CveMatch> out;
  for (const Target& t : targets) {
    auto v = parse_k8s_version(t.text);
    if (!v) {
      warnings.push_back(t.where + ": cannot read version \"" + t.text + "\"; not checked");
      continue;
    }
    // A pre-release (-alpha, -beta, -rc) is not a vendor build.
    bool vendor = !v->suffix.empty() && v->suffix.find("alpha") == std::string::npos &&
                  v->suffix.find("beta") == std::string::npos &&
                  v->suffix.find("rc.") == std::string::npos;
    for (const CveEntry& e : cve_table()) {
      std::string comp;
      for (const std::string& c : e.components)
        for (std::string_view want : t.components)
          if (c == want) comp += (comp.empty() ? "" : ", ") + c;
      if (comp.empty() || !affected(e, *v)) continue;
      if (!e.os.empty() && !t.os.empty() && e.os != t.os) continue;  // e.g. Windows-only
      CveMatch m;
      m.cve = e.cve;
      m.component = comp;
      m.version = t.text;
      m.where = t.where;
      for (const CveRange& r : e.ranges)
        if (r.fixed) {
          m.fixed += (m.fixed.empty() ? "" : ", ") + std::to_string(r.fixed->major) + "." +
                     std::to_string(r.fixed->minor) + "." + std::to_string(r.fixed->patch);
        }
      if (m.fixed.empty()) m.fixed = "no release";
      m.url = e.url;
      m.summary = e.summary;
      if (!e.preconditions.empty()) m.summary += "; only if " + e.preconditions;
      m.cvss = e.cvss;
      m.potentially = vendor;
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace detail
}  // namespace stockade::posture

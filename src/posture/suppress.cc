// The file of accepted findings (`scan --accept FILE`), YAML or JSON:
//
//   accepted:
//   - check: PRIVILEGED                        # a check ID, or "*"
//     resource: DaemonSet/monitoring/exporter  # KIND/NS/NAME, KIND/NAME (cluster-scoped);
//     container: exporter                      #   "*" matches any part; container optional
//     reason: needs the host's /proc           # required
//     expires: 2027-01-31                      # optional, YYYY-MM-DD
//
// Matching findings are reported as suppressed (with the reason), never dropped; an expired
// entry no longer applies and is named in a warning.
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/read_text.h"
#include "input/yaml_tree.h"
#include "posture/posture.h"

namespace stockade::posture {
namespace {

using input::YamlTreeNode;

const YamlTreeNode* get(const YamlTreeNode* map, std::string_view key) {
  for (const auto& [k, v] : map->map)
    if (k->kind == YamlTreeNode::Kind::Scalar && k->scalar == key) return v;
  return nullptr;
}

bool valid_date(const std::string& d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (d[i] < '0' || d[i] > '9') return false;
  int month = (d[5] - '0') * 10 + (d[6] - '0');
  int day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

bool cluster_scoped(std::string_view kind) {
  return kind == "ClusterRole" || kind == "ClusterRoleBinding" || kind == "Node" ||
         kind == "Namespace" || kind == "Cluster" || kind == "AdminNetworkPolicy" ||
         kind == "BaselineAdminNetworkPolicy" || kind == "ClusterNetworkPolicy";
}

}  // namespace

Result<std::vector<AcceptedFinding>> load_accepted(const std::string& path) {
  auto read = read_text_file(path);
  if (!read) return tl::unexpected(read.error());
  const std::string& text = *read;
  auto stream = input::YamlStream::parse(text, path, 64);
  if (!stream) return tl::unexpected(stream.error());
  std::vector<AcceptedFinding> out;
  for (const YamlTreeNode* doc : stream->documents()) {
    if (doc->kind == YamlTreeNode::Kind::Null) continue;
    if (doc->kind != YamlTreeNode::Kind::Map)
      return make_error(path, doc->line, "expected a mapping with an \"accepted\" list");
    const YamlTreeNode* list = get(doc, "accepted");
    if (!list || list->kind != YamlTreeNode::Kind::Seq)
      return make_error(path, doc->line, "accepted: expected a list of accepted findings");
    for (const YamlTreeNode* e : list->seq) {
      if (e->kind != YamlTreeNode::Kind::Map)
        return make_error(path, e->line, "accepted[]: expected a mapping");
      AcceptedFinding a;
      a.file = path;
      a.line = e->line;
      for (const auto& [k, v] : e->map) {
        if (k->kind != YamlTreeNode::Kind::Scalar || v->kind != YamlTreeNode::Kind::Scalar)
          return make_error(path, v->line, "accepted[]: expected scalar fields");
        const std::string& key = k->scalar;
        if (key == "check") {
          a.check = v->scalar;
        } else if (key == "resource") {
          std::string r = v->scalar;
          size_t s1 = r.find('/');
          if (s1 == std::string::npos || s1 == 0)
            return make_error(path, v->line, "resource: expected KIND/NAMESPACE/NAME or KIND/NAME");
          a.kind = r.substr(0, s1);
          std::string rest = r.substr(s1 + 1);
          size_t s2 = rest.find('/');
          if (s2 == std::string::npos) {
            if (!cluster_scoped(a.kind) && a.kind != "*")
              return make_error(path, v->line,
                                "resource: " + a.kind + " is namespaced: use KIND/NAMESPACE/NAME");
            a.name = rest;
          } else {
            a.ns = rest.substr(0, s2);
            a.name = rest.substr(s2 + 1);
          }
          if (a.name.empty() || a.name.find('/') != std::string::npos)
            return make_error(path, v->line, "resource: expected KIND/NAMESPACE/NAME or KIND/NAME");
        } else if (key == "container") {
          a.container = v->scalar;
        } else if (key == "reason") {
          a.reason = v->scalar;
        } else if (key == "expires") {
          a.expires = v->scalar;
          if (!valid_date(a.expires))
            return make_error(path, v->line, "expires: expected a date YYYY-MM-DD");
        } else {
          return make_error(path, k->line, "accepted[]: unknown field \"" + key + "\"");
        }
      }
      if (a.check.empty()) return make_error(path, e->line, "accepted[]: check is required");
      if (a.check != "*" && !find_check(a.check))
        return make_error(path, e->line, "accepted[]: unknown check \"" + a.check + "\"");
      if (a.kind.empty()) return make_error(path, e->line, "accepted[]: resource is required");
      if (a.reason.empty()) return make_error(path, e->line, "accepted[]: reason is required");
      out.push_back(std::move(a));
    }
  }
  return out;
}

std::string today_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace stockade::posture

// Labels and Kubernetes label selectors (matchLabels + matchExpressions).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace stockade {

using Labels = std::map<std::string, std::string, std::less<>>;

enum class SelectorOp : uint8_t { In, NotIn, Exists, DoesNotExist };

struct SelectorRequirement {
  std::string key;
  SelectorOp op = SelectorOp::In;
  std::vector<std::string> values;  // sorted, unique
};

// A parsed LabelSelector. matchLabels entries are stored as In requirements with one value,
// which is how the API server itself converts them. An empty selector matches everything.
struct LabelSelector {
  std::vector<SelectorRequirement> requirements;

  bool matches(const Labels& labels) const;
  bool empty() const { return requirements.empty(); }
  // Canonical text, e.g. "app in (web),tier notin (db,x),!legacy" (sorted); "" when empty.
  std::string canonical() const;
};

std::string_view to_string(SelectorOp op);

// Validation as the API server does it (apimachinery validation). Return "" when valid, else a
// message naming the problem.
std::string validate_label_key(std::string_view key);
std::string validate_label_value(std::string_view value);
// "KEY=VALUE", validated as the API server validates labels; an error names `what`.
Result<std::pair<std::string, std::string>> parse_label_pair(const std::string& text,
                                                             const std::string& what);

// Object names as apimachinery validates them; "" when valid, else why not (without the name,
// which may hold anything: callers quote it escaped).
// DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both ends, at most 63
// (namespaces). DNS-1123 subdomain: such labels joined by '.', at most 253 (most objects).
// DNS-1035 label: a DNS-1123 label that starts with a letter (Services).
// Path segment: not "." or "..", no '/' or '%' (RBAC objects, e.g. "system:node").
std::string validate_dns1123_label(std::string_view name);
std::string validate_dns1123_subdomain(std::string_view name);
std::string validate_dns1035_label(std::string_view name);
std::string validate_path_segment_name(std::string_view name);

}  // namespace stockade

#include "core/labels.h"

#include <algorithm>

namespace stockade {

bool LabelSelector::matches(const Labels& labels) const {
  for (const SelectorRequirement& r : requirements) {
    auto it = labels.find(r.key);
    switch (r.op) {
      case SelectorOp::In:
        if (it == labels.end() || !std::binary_search(r.values.begin(), r.values.end(), it->second))
          return false;
        break;
      case SelectorOp::NotIn:
        if (it != labels.end() && std::binary_search(r.values.begin(), r.values.end(), it->second))
          return false;
        break;
      case SelectorOp::Exists:
        if (it == labels.end()) return false;
        break;
      case SelectorOp::DoesNotExist:
        if (it != labels.end()) return false;
        break;
    }
  }
  return true;
}

std::string_view to_string(SelectorOp op) {
  switch (op) {
    case SelectorOp::In:
      return "In";
    case SelectorOp::NotIn:
      return "NotIn";
    case SelectorOp::Exists:
      return "Exists";
    case SelectorOp::DoesNotExist:
      return "DoesNotExist";
  }
  return "?";
}

std::string LabelSelector::canonical() const {
  std::vector<std::string> parts;
  parts.reserve(requirements.size());
  for (const SelectorRequirement& r : requirements) {
    std::string s;
    switch (r.op) {
      case SelectorOp::Exists:
        s = r.key;
        break;
      case SelectorOp::DoesNotExist:
        s = "!" + r.key;
        break;
      case SelectorOp::In:
      case SelectorOp::NotIn: {
        s = r.key + (r.op == SelectorOp::In ? " in (" : " notin (");
        for (size_t i = 0; i < r.values.size(); ++i) {
          if (i) s += ",";
          s += r.values[i];
        }
        s += ")";
        break;
      }
    }
    parts.push_back(std::move(s));
  }
  std::sort(parts.begin(), parts.end());
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += ",";
    out += parts[i];
  }
  return out;
}

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters.
bool is_qualified_name_part(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// RFC 1123 subdomain as Kubernetes checks it (IsDNS1123Subdomain): lowercase alnum, '-', '.',
// at most 253 in all, alnum at both ends of each dot-separated part; no length limit per part
// (the API server accepts a 253-character name without a dot).
bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (label.empty()) return false;
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    for (char c : label)
      if (!lower_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

}  // namespace

std::string validate_dns1123_label(std::string_view name) {
  if (name.size() > 63) return "must be no more than 63 characters";
  if (name.find('.') != std::string_view::npos || !is_dns1123_subdomain(name))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
           "'-', and must start and end with an alphanumeric character";
  return {};
}

std::string validate_dns1123_subdomain(std::string_view name) {
  if (name.size() > 253) return "must be no more than 253 characters";
  if (!is_dns1123_subdomain(name))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
           "'-' or '.', and must start and end with an alphanumeric character";
  return {};
}

std::string validate_dns1035_label(std::string_view name) {
  if (auto m = validate_dns1123_label(name); !m.empty()) return m;
  if (name.front() < 'a' || name.front() > 'z')
    return "a DNS-1035 label must start with an alphabetic character";
  return {};
}

std::string validate_path_segment_name(std::string_view name) {
  if (name.empty()) return "may not be empty";
  if (name == "." || name == "..") return "may not be '.' or '..'";
  if (name.find_first_of("/%") != std::string_view::npos) return "may not contain '/' or '%'";
  return {};
}

std::string validate_label_key(std::string_view key) {
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!is_dns1123_subdomain(prefix))
      return "invalid label key \"" + std::string(key) + "\": prefix must be a DNS subdomain";
  }
  if (!is_qualified_name_part(name))
    return "invalid label key \"" + std::string(key) +
           "\": name must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and "
           "ending with an alphanumeric character";
  return {};
}

std::string validate_label_value(std::string_view value) {
  if (value.empty()) return {};
  if (!is_qualified_name_part(value))
    return "invalid label value \"" + std::string(value) +
           "\": must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending "
           "with an alphanumeric character";
  return {};
}

Result<std::pair<std::string, std::string>> parse_label_pair(const std::string& s,
                                                             const std::string& what) {
  auto eq = s.find('=');
  if (eq == std::string::npos)
    return make_error(ErrorCode::Usage, what, 0, "expected KEY=VALUE, got \"" + s + "\"");
  std::string key = s.substr(0, eq), value = s.substr(eq + 1);
  if (std::string why = validate_label_key(key); !why.empty())
    return make_error(ErrorCode::Usage, what, 0, why);
  if (std::string why = validate_label_value(value); !why.empty())
    return make_error(ErrorCode::Usage, what, 0, why);
  return std::pair{key, value};
}

}  // namespace stockade

#include "core/ports.h"

#include <cctype>

namespace stockade {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::TCP:
      return "TCP";
    case Protocol::UDP:
      return "UDP";
    case Protocol::SCTP:
      return "SCTP";
  }
  return "?";
}

std::optional<Protocol> parse_protocol(std::string_view s) {
  if (s == "TCP") return Protocol::TCP;
  if (s == "UDP") return Protocol::UDP;
  if (s == "SCTP") return Protocol::SCTP;
  return std::nullopt;
}

std::string validate_port_name(std::string_view name) {
  if (name.empty() || name.size() > 15) return "must be 1 to 15 characters";
  bool letter = false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (c == '-') {
      if (i == 0 || i + 1 == name.size()) return "must not begin or end with '-'";
      if (name[i - 1] == '-') return "must not contain consecutive '-'";
    } else if (!(c >= '0' && c <= '9')) {
      return "must contain only lowercase letters, digits and '-'";
    }
  }
  if (!letter) return "must contain at least one letter";
  return {};
}

std::optional<PortQuery> parse_port_query(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string proto;
  for (char c : s.substr(0, slash)) proto += static_cast<char>(std::toupper((unsigned char)c));
  auto p = parse_protocol(proto);
  if (!p) return std::nullopt;
  std::string_view rest = s.substr(slash + 1);
  if (rest.empty()) return std::nullopt;
  PortQuery q;
  q.protocol = *p;
  if (rest.find_first_not_of("0123456789") == std::string_view::npos) {
    if (rest.size() > 5) return std::nullopt;
    int n = 0;
    for (char c : rest) n = n * 10 + (c - '0');
    if (n < 1 || n > 65535) return std::nullopt;
    q.number = static_cast<uint16_t>(n);
    return q;
  }
  if (!validate_port_name(rest).empty()) return std::nullopt;
  q.name = std::string(rest);
  return q;
}

}  // namespace stockade

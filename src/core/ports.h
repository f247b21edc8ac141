// Protocols and ports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stockade {

enum class Protocol : uint8_t { TCP = 0, UDP = 1, SCTP = 2 };
inline constexpr int kProtocolCount = 3;

std::string_view to_string(Protocol p);
// Exact, case-sensitive names as the API accepts them: "TCP", "UDP", "SCTP".
std::optional<Protocol> parse_protocol(std::string_view s);

// IANA_SVC_NAME as the API server validates named ports: 1-15 characters, lowercase
// alphanumerics and '-', at least one letter, no leading, trailing or double '-'.
// Returns "" when valid, else the reason.
std::string validate_port_name(std::string_view name);

// "tcp/80", "udp/53", "sctp/9000", "tcp/http" as used on the command line (protocol
// case-insensitive). `name` is set for a named port, else `number`.
struct PortQuery {
  Protocol protocol = Protocol::TCP;
  uint16_t number = 0;
  std::string name;
};
std::optional<PortQuery> parse_port_query(std::string_view s);

}  // namespace stockade

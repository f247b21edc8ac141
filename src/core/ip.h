// IPv4/IPv6 addresses and CIDR prefixes, as NetworkPolicy ipBlock and ANP networks use them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockade {

struct IpAddr {
  // IPv4 addresses use the low 32 bits of `lo`; `hi` is 0.
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool v6 = false;

  static std::optional<IpAddr> parse(std::string_view text);
  std::string str() const;
  int bits() const { return v6 ? 128 : 32; }

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

struct Cidr {
  IpAddr network;  // host bits cleared
  uint8_t prefix = 0;

  // Accepts "a.b.c.d/n" and "x::y/n"; host bits set are masked off (as the API server's
  // net.ParseCIDR does). A bare address is rejected: NetworkPolicy requires the prefix.
  static std::optional<Cidr> parse(std::string_view text);
  std::string str() const;

  bool contains(const IpAddr& ip) const;
  bool contains(const Cidr& other) const;  // other ⊆ this

  friend bool operator==(const Cidr&, const Cidr&) = default;
  friend auto operator<=>(const Cidr&, const Cidr&) = default;
};

// A CIDR minus a list of excepted CIDRs (a NetworkPolicy ipBlock), or a plain CIDR list
// (AdminNetworkPolicy networks).
struct IpBlock {
  Cidr cidr;
  std::vector<Cidr> except;

  bool contains(const IpAddr& ip) const {
    if (!cidr.contains(ip)) return false;
    for (const Cidr& e : except)
      if (e.contains(ip)) return false;
    return true;
  }
  std::string str() const;
  friend bool operator==(const IpBlock&, const IpBlock&) = default;
  friend auto operator<=>(const IpBlock&, const IpBlock&) = default;
};

}  // namespace stockade

#include "core/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace stockade {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  // The common case first, in one pass: a dotted quad of 1-3 digit octets without leading
  // zeros. Anything else (IPv6, or not an address) takes the full way below.
  if (text.size() >= 7 && text.size() <= 15) {
    uint32_t v = 0;
    unsigned octet = 0, digits = 0, dots = 0;
    bool ok = true;
    for (char c : text) {
      if (c >= '0' && c <= '9') {
        if (digits == 1 && octet == 0) ok = false;  // a leading zero
        octet = octet * 10 + static_cast<unsigned>(c - '0');
        ++digits;
      } else if (c == '.' && digits != 0 && dots < 3) {
        ok = ok && octet <= 255 && digits <= 3;
        v = v << 8 | octet;
        octet = digits = 0;
        ++dots;
      } else {
        ok = false;
        break;
      }
    }
    if (ok && dots == 3 && digits != 0 && digits <= 3 && octet <= 255) {
      IpAddr ip;
      ip.lo = v << 8 | octet;
      return ip;
    }
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  IpAddr ip;
  if (text.find(':') == std::string_view::npos) {
    // Dotted quad, as inet_pton reads it (four decimal octets, no leading zeros), without
    // its copy and call: flow records hold two addresses each.
    uint32_t v = 0;
    int octets = 0;
    size_t i = 0;
    while (octets < 4) {
      size_t start = i;
      unsigned o = 0;
      while (i < text.size() && i - start < 3 && text[i] >= '0' && text[i] <= '9')
        o = o * 10 + static_cast<unsigned>(text[i++] - '0');
      if (i == start || o > 255 || (text[start] == '0' && i - start > 1)) return std::nullopt;
      v = v << 8 | o;
      if (++octets < 4 && (i >= text.size() || text[i++] != '.')) return std::nullopt;
    }
    if (i != text.size()) return std::nullopt;
    ip.lo = v;
    return ip;
  }
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in6_addr a{};
  if (inet_pton(AF_INET6, buf, &a) != 1) return std::nullopt;
  ip.v6 = true;
  for (int i = 0; i < 8; ++i) ip.hi = (ip.hi << 8) | a.s6_addr[i];
  for (int i = 8; i < 16; ++i) ip.lo = (ip.lo << 8) | a.s6_addr[i];
  return ip;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  if (!v6) {
    in_addr a{};
    a.s_addr = htonl(static_cast<uint32_t>(lo));
    inet_ntop(AF_INET, &a, buf, sizeof buf);
  } else {
    in6_addr a{};
    for (int i = 0; i < 8; ++i) a.s6_addr[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    for (int i = 0; i < 8; ++i) a.s6_addr[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return buf;
}

namespace {

// Clears every bit past `prefix` (counted from the most significant bit of the family).
IpAddr mask(IpAddr ip, int prefix) {
  if (!ip.v6) {
    uint64_t m = prefix == 0 ? 0 : (~uint64_t{0} << (32 - prefix)) & 0xffffffffULL;
    ip.lo &= m;
    return ip;
  }
  if (prefix <= 64) {
    ip.hi &= prefix == 0 ? 0 : ~uint64_t{0} << (64 - prefix);
    ip.lo = 0;
  } else {
    ip.lo &= prefix == 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - prefix);
  }
  return ip;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  std::string_view len = text.substr(slash + 1);
  if (len.empty() || len.size() > 3) return std::nullopt;
  int n = 0;
  for (char c : len) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (len.size() > 1 && len[0] == '0') return std::nullopt;
  if (n > ip->bits()) return std::nullopt;
  Cidr c;
  c.network = mask(*ip, n);
  c.prefix = static_cast<uint8_t>(n);
  return c;
}

std::string Cidr::str() const {
  return network.str() + "/" + std::to_string(prefix);
}

bool Cidr::contains(const IpAddr& ip) const {
  if (ip.v6 != network.v6) return false;
  return mask(ip, prefix) == network;
}

bool Cidr::contains(const Cidr& other) const {
  return other.network.v6 == network.v6 && other.prefix >= prefix && contains(other.network);
}

std::string IpBlock::str() const {
  std::string s = cidr.str();
  if (!except.empty()) {
    s += " except ";
    for (size_t i = 0; i < except.size(); ++i) {
      if (i) s += ",";
      s += except[i].str();
    }
  }
  return s;
}

}  // namespace stockade

#include "recommend/aggregate.h"

#include <string>

namespace stockade {

std::vector<std::pair<Cidr, std::vector<size_t>>> aggregate_prefixes(const std::vector<IpAddr>& ips,
                                                                     size_t limit,
                                                                     uint8_t min_prefix) {
  std::vector<std::pair<Cidr, std::vector<size_t>>> out;
  for (size_t i = 0; i < ips.size(); ++i) {
    Cidr c;
    c.network = ips[i];
    c.prefix = static_cast<uint8_t>(ips[i].bits());
    out.push_back({c, {i}});
  }
  if (ips.empty()) return out;
  const int bits = ips.front().bits();
  for (int p = bits - 1; p >= min_prefix && out.size() > limit; --p) {
    std::vector<std::pair<Cidr, std::vector<size_t>>> next;
    for (auto& item : out) {
      auto net = Cidr::parse(item.first.network.str() + "/" + std::to_string(p));
      if (!next.empty() && net && next.back().first.prefix <= p &&
          next.back().first.contains(item.first.network) && next.back().first.contains(*net)) {
        // already covered by the previous, wider group
        auto& v = next.back().second;
        v.insert(v.end(), item.second.begin(), item.second.end());
        continue;
      }
      if (!next.empty() && net && next.back().first.prefix > p) {
        auto prev = Cidr::parse(next.back().first.network.str() + "/" + std::to_string(p));
        if (prev && *prev == *net) {
          next.back().first = *net;
          auto& v = next.back().second;
          v.insert(v.end(), item.second.begin(), item.second.end());
          continue;
        }
      }
      next.push_back(std::move(item));
    }
    out = std::move(next);
  }
  return out;
}

}  // namespace stockade

// What the phases of `recommend()` share, private to src/recommend/: the unit (the pods one
// policy selects), how a port is written, the evidence of an edge, and the policy name rules.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "recommend/recommend.h"

namespace stockade::rec {

inline constexpr const char* kMetadataName = "kubernetes.io/metadata.name";

// The pods one policy selects: a top-level workload's pods, or a pod without an owner.
struct Unit {
  std::string ns, name, kind;
  LabelSelector selector;
  std::vector<uint32_t> endpoints;
  bool host_network = false;
  bool broad = false;  // no stable label: the selector picks every pod of the namespace
  std::string base;    // policy name stem
};

struct PortSpec {
  Protocol protocol = Protocol::TCP;
  std::string name;  // named port, else `number`
  uint16_t number = 0;
  friend auto operator<=>(const PortSpec&, const PortSpec&) = default;
};

struct Evidence {
  uint64_t connections = 0;
  uint64_t edges = 0;
  int64_t first = 0, last = 0;
  void add(const EdgeStats& s) {
    connections += s.established;
    ++edges;
    if (s.first_seen && (!first || s.first_seen < first)) first = s.first_seen;
    if (s.last_seen > last) last = s.last_seen;
  }
  void add(const Evidence& o) {
    connections += o.connections;
    edges += o.edges;
    if (o.first && (!first || o.first < first)) first = o.first;
    if (o.last > last) last = o.last;
  }
};

inline LabelSelector selector_of_labels(const Labels& l) {
  LabelSelector s;
  for (const auto& [k, v] : l) s.requirements.push_back({k, SelectorOp::In, {v}});
  return s;
}

inline bool selector_is_stable(const LabelSelector& s) {
  for (const SelectorRequirement& r : s.requirements)
    if (is_per_pod_label(r.key)) return false;
  return !s.empty();
}

inline std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A DNS-1123 subdomain name no longer than 253 characters.
inline std::string policy_name(const std::string& stem) {
  if (stem.size() <= 253) return stem;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : stem) h = (h ^ c) * 0x100000001b3ULL;
  char buf[20];
  std::snprintf(buf, sizeof buf, "-%08x", static_cast<unsigned>(h & 0xffffffffu));
  std::string s = stem.substr(0, 244);
  while (!s.empty() && (s.back() == '-' || s.back() == '.')) s.pop_back();
  return s + buf;
}

}  // namespace stockade::rec

// Fuzzes the manifest loader (YAML and JSON paths, decoding, validation) and the policy engine
// on whatever the loader accepts. Any crash, hang, sanitizer report or leak is a bug. A List
// read item by item (LoadOptions::split_list_bytes) must give what the whole document gives.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/engine.h"
#include "input/loader.h"

namespace {

// What a load gave: the error, or the objects by kind and name.
std::string outcome(std::string_view text, bool split) {
  stockade::LoadOptions o;
  o.split_list_bytes = split ? 0 : SIZE_MAX;
  o.split_list_items = 1;
  stockade::ClusterLoader loader(o);
  auto r = loader.add_text(text, "fuzz.json");
  if (!r) return "error " + r.error().str();
  stockade::ClusterState s = std::move(loader).finish();
  std::string out;
  for (const auto& p : s.pods) out += "pod " + p.ns + "/" + p.name + " " + p.uid + "\n";
  for (const auto& w : s.workloads) out += "workload " + w.ns + "/" + w.name + "\n";
  for (const auto& v : s.services) out += "service " + v.ns + "/" + v.name + "\n";
  for (const auto& n : s.network_policies) out += "np " + n.ns + "/" + n.name + "\n";
  for (const auto& c : s.cluster_policies) out += "cp " + c.name + "\n";
  for (const auto& n : s.namespaces) out += "ns " + n.name + "\n";
  for (const auto& [k, n] : s.skipped_kinds) out += "skipped " + k + std::to_string(n) + "\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!text.empty() && text.front() == '{' && outcome(text, true) != outcome(text, false))
    __builtin_trap();
  stockade::ClusterLoader loader;
  auto r = loader.add_text(text, "fuzz.yaml");
  if (!r) {
    // Errors must name the input.
    if (r.error().file != "fuzz.yaml") __builtin_trap();
    return 0;
  }
  stockade::ClusterState state = std::move(loader).finish();
  auto endpoints = stockade::build_endpoints(state);
  if (endpoints.size() > 200) return 0;
  auto engine = stockade::PolicyEngine::compile(state, std::move(endpoints));
  auto matrix = engine->reach({});
  auto counts = matrix->counts({}, {});
  if (counts.allowed + counts.denied != counts.pairs) __builtin_trap();
  const auto& eps = engine->endpoints();
  for (uint32_t s = 0; s < eps.size(); ++s)
    for (uint32_t d = 0; d < eps.size(); ++d)
      for (size_t k = 0; k < matrix->ports(d).size(); ++k) {
        const auto& p = matrix->ports(d)[k];
        if (matrix->allowed(s, d, k) != engine->allowed(s, d, p.protocol, p.port)) __builtin_trap();
      }
  return 0;
}

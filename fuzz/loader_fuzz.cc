// Fuzzes the manifest loader (YAML and JSON paths, decoding, validation) and the policy engine
// on whatever the loader accepts. Any crash, hang, sanitizer report or leak is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/engine.h"
#include "input/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
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

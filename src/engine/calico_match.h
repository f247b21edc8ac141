// What a compiled Calico rule matches (engine internals, shared by engine.cc and calico.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bitset.h"
#include "engine/engine_impl.h"

namespace stockade::engine_internal {

// One end of a compiled Calico rule (source or destination).
struct CalicoEnd {
  bool any = true;  // no condition on this end
  Bits ids;         // identities it matches (when !any)
  // For addresses outside the pods: when `by_sets`, the address must be in a selected network
  // set; then in `nets` (if any) and in none of `not_nets` / `not_sets`.
  bool by_sets = false;
  std::vector<IpMatcher> sets, nets, not_nets, not_sets;
};

struct CalicoMatch {
  std::optional<uint8_t> protocol, not_protocol;
  CalicoEnd source, destination;
  std::vector<CompiledPort> ports, not_ports;  // destination ports; empty: none given
  bool never = false;                          // holds what the engine cannot match (see notes)
  bool log = false;                            // action Log: recorded, never decides
  std::string ip_version;
  std::vector<std::string> notes;
};

// The key that orders a tier's policies of equal order, as Felix does.
std::string calico_sort_name(std::string_view name, std::string_view ns, std::string_view kind);

}  // namespace stockade::engine_internal

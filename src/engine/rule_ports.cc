// A rule's ports: compiled from a policy's ports (NetworkPolicy, and the cluster policies'
// ports, whose named ports match any protocol), and matched against a connection.
#include "engine/engine_impl.h"

namespace stockade::engine_internal {

void compile_ports(const std::vector<NetworkPolicyPort>& ports, CompiledRule& r) {
  r.all_ports = ports.empty();
  for (const NetworkPolicyPort& p : ports) {
    CompiledPort c;
    c.protocol = p.effective_protocol();
    switch (p.kind) {
      case NetworkPolicyPort::Kind::Any:
        c.kind = CompiledPort::Kind::Any;
        break;
      case NetworkPolicyPort::Kind::Number:
        c.kind = CompiledPort::Kind::Range;
        c.lo = p.port;
        c.hi = p.end_port ? p.end_port : p.port;
        break;
      case NetworkPolicyPort::Kind::Name:
        c.kind = CompiledPort::Kind::Named;
        c.name = p.name;
        break;
    }
    r.ports.push_back(std::move(c));
  }
}

void compile_ports(const std::optional<std::vector<ClusterPolicyPort>>& ports, CompiledRule& r) {
  r.all_ports = !ports.has_value();
  if (!ports) return;
  for (const ClusterPolicyPort& p : *ports) {
    CompiledPort c;
    c.protocol = p.protocol;
    if (p.kind == ClusterPolicyPort::Kind::Named) {
      c.kind = CompiledPort::Kind::Named;
      c.named_any_protocol = true;
      c.name = p.name;
    } else {
      c.kind = CompiledPort::Kind::Range;
      c.lo = p.start;
      c.hi = p.kind == ClusterPolicyPort::Kind::Range ? p.end : p.start;
    }
    r.ports.push_back(std::move(c));
  }
}

bool EngineImpl::port_matches(const CompiledRule& r, Protocol proto, uint16_t port,
                              const std::vector<ContainerPort>* dst_ports) {
  if (r.all_ports) return true;
  for (const CompiledPort& p : r.ports) {
    if (p.protocol != proto && p.kind != CompiledPort::Kind::Named) continue;
    switch (p.kind) {
      case CompiledPort::Kind::Any:
        return true;
      case CompiledPort::Kind::Range:
        if (port >= p.lo && port <= p.hi) return true;
        break;
      case CompiledPort::Kind::Named:
        if (!dst_ports || (!p.named_any_protocol && p.protocol != proto)) break;
        for (const ContainerPort& cp : *dst_ports)
          if (cp.port == port && cp.protocol == proto && cp.name == p.name) return true;
        break;
    }
  }
  return false;
}

}  // namespace stockade::engine_internal

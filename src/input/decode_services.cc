// Services and what declares traffic to them: EndpointSlices, Ingresses, Gateway API routes,
// ServiceMonitors and PodMonitors (recommend keeps their traffic allowed, declared.h).
#include "input/decode_impl.h"

namespace stockade::input::detail {

template <class N>
void Decoder<N>::service(const N& obj) {
  Meta m = metadata(obj, true, NameRule::Dns1035);
  where_ = "Service " + m.ns + "/" + m.name + ": ";
  Service s;
  s.ns = m.ns;
  s.name = m.name;
  s.labels = std::move(m.labels);  // what ServiceMonitors select
  s.annotations = std::move(m.annotations);
  s.source = source(obj);
  if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
    s.external_ips = string_list(*spec, "externalIPs", "spec.externalIPs");
    s.type = opt_string(*spec, "type", "spec.type");
    if (s.type.empty()) s.type = "ClusterIP";
    if (auto sel = spec->get("selector"); sel && !sel->is_null())
      s.selector = string_map(*spec, "selector", "spec.selector", false);
    auto add_ip = [&](const N& at, const std::string& text) {
      if (text.empty() || text == "None") return;
      auto ip = IpAddr::parse(text);
      if (!ip) fail(at, "spec.clusterIP: invalid IP address \"" + text + "\"");
      if (std::find(s.cluster_ips.begin(), s.cluster_ips.end(), *ip) == s.cluster_ips.end())
        s.cluster_ips.push_back(*ip);
    };
    add_ip(*spec, opt_string(*spec, "clusterIP", "spec.clusterIP"));
    each_item(*spec, "clusterIPs", "spec.clusterIPs", [&](const N& v, const std::string& p) {
      auto t = v.as_string();
      if (!t) fail(v, p + ": expected a string, got " + std::string(v.type_name()));
      add_ip(v, std::string(*t));
    });
    each_item(*spec, "ports", "spec.ports", [&](const N& p, const std::string& pp) {
      ServicePort sp;
      sp.name = opt_string(p, "name", pp + ".name");
      sp.protocol = protocol(p, "protocol", pp + ".protocol");
      auto n = opt_int(p, "port", pp + ".port");
      if (!n) fail(p, pp + ".port: required");
      sp.port = port_number(p, *n, pp + ".port");
      if (auto t = p.get("targetPort"); t && !t->is_null()) {
        if (auto i = t->as_int())
          sp.target_number = port_number(*t, *i, pp + ".targetPort");
        else if (auto str = t->as_string())
          sp.target_name = std::string(*str);
        else  // IntOrString: a JSON string or an int32; a float or a boolean is neither
          fail(*t, pp + ".targetPort: expected an integer or a string, got " +
                       std::string(t->type_name()));
      } else {
        sp.target_number = sp.port;
      }
      if (auto np = opt_int(p, "nodePort", pp + ".nodePort"))
        sp.node_port = port_number(p, *np, pp + ".nodePort");
      s.ports.push_back(std::move(sp));
    });
  }
  ctx_.state->services.push_back(std::move(s));
}

// ---- Ingress, ServiceAccount, Secret, RBAC (posture) -----------------------------------
template <class N>
void Decoder<N>::endpoint_slice(const N& obj) {
  Meta m = metadata(obj, true);
  where_ = "EndpointSlice " + m.ns + "/" + m.name + ": ";
  EndpointSlice es;
  es.ns = m.ns;
  es.name = m.name;
  if (auto it = m.labels.find("kubernetes.io/service-name"); it != m.labels.end())
    es.service = it->second;
  es.source = source(obj);
  std::string type = opt_string(obj, "addressType", "addressType");
  each_item(obj, "endpoints", "endpoints", [&](const N& e, const std::string& p) {
    if (!e.is_map()) fail(e, p + ": expected an object");
    each_item(e, "addresses", p + ".addresses", [&](const N& a, const std::string& pa) {
      auto text = a.as_string();
      if (!text) fail(a, pa + ": expected a string, got " + std::string(a.type_name()));
      if (type == "FQDN") return;  // names, not addresses
      auto ip = IpAddr::parse(*text);
      if (!ip) fail(a, pa + ": invalid IP address \"" + std::string(*text) + "\"");
      es.addresses.push_back(*ip);
    });
    if (auto ref = e.get("targetRef"); ref && !ref->is_null()) {
      if (!ref->is_map()) fail(*ref, p + ".targetRef: expected an object");
      std::string ns = opt_string(*ref, "namespace", p + ".targetRef.namespace");
      if (opt_string(*ref, "kind", p + ".targetRef.kind") == "Pod" && (ns.empty() || ns == es.ns))
        es.pods.push_back(opt_string(*ref, "name", p + ".targetRef.name"));
    }
  });
  ctx_.state->endpoint_slices.push_back(std::move(es));
}

template <class N>
void Decoder<N>::ingress(const N& obj) {
  Meta m = metadata(obj, true);
  where_ = "Ingress " + m.ns + "/" + m.name + ": ";
  Ingress ing;
  ing.ns = m.ns;
  ing.name = m.name;
  ing.annotations = std::move(m.annotations);
  ing.source = source(obj);
  auto backend_service = [&](const N& b, const std::string& p) {
    if (b.is_null()) return;
    if (!b.is_map()) fail(b, p + ": expected an object");
    std::string n = nested_string(b, "service", "name", p);
    if (n.empty()) n = opt_string(b, "serviceName", p + ".serviceName");  // v1beta1
    if (!n.empty()) ing.services.push_back(std::move(n));
  };
  if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
    if (!spec->is_map()) fail(*spec, "spec: expected an object");
    each_item(*spec, "tls", "spec.tls", [&](const N&, const std::string&) { ing.tls = true; });
    for (std::string_view key : {"defaultBackend", "backend"})
      if (auto b = spec->get(key)) backend_service(*b, "spec." + std::string(key));
    each_item(*spec, "rules", "spec.rules", [&](const N& r, const std::string& rp) {
      auto http = r.get("http");
      if (!http || http->is_null()) return;
      each_item(*http, "paths", rp + ".http.paths", [&](const N& pth, const std::string& pp) {
        if (auto b = pth.get("backend")) backend_service(*b, pp + ".backend");
      });
    });
  }
  std::sort(ing.services.begin(), ing.services.end());
  ing.services.erase(std::unique(ing.services.begin(), ing.services.end()), ing.services.end());
  ctx_.state->ingresses.push_back(std::move(ing));
}

template <class N>
void Decoder<N>::gateway_route(const N& obj, const std::string& kind) {
  Meta m = metadata(obj, true);
  where_ = kind + " " + m.ns + "/" + m.name + ": ";
  GatewayRoute r;
  r.kind = kind;
  r.ns = m.ns;
  r.name = m.name;
  r.source = source(obj);
  if (auto spec = obj.get("spec"); spec && !spec->is_null()) {
    if (!spec->is_map()) fail(*spec, "spec: expected an object");
    each_item(*spec, "rules", "spec.rules", [&](const N& rule, const std::string& rp) {
      each_item(rule, "backendRefs", rp + ".backendRefs", [&](const N& b, const std::string& bp) {
        std::string bkind = opt_string(b, "kind", bp + ".kind");
        std::string group = opt_string(b, "group", bp + ".group");
        if ((!bkind.empty() && bkind != "Service") || !group.empty()) return;
        std::string name = opt_string(b, "name", bp + ".name");
        std::string ns = opt_string(b, "namespace", bp + ".namespace");
        if (!name.empty()) r.services.emplace_back(ns.empty() ? r.ns : ns, name);
      });
    });
  }
  ctx_.state->routes.push_back(std::move(r));
}

// ServiceMonitor / PodMonitor: which Services' (pods') ports Prometheus scrapes. Only what
// names a target is read; the rest of the spec (intervals, relabelings, TLS) is not ours.
template <class N>
void Decoder<N>::scrape_monitor(const N& obj, const std::string& kind) {
  Meta m = metadata(obj, true);
  where_ = kind + " " + m.ns + "/" + m.name + ": ";
  ScrapeMonitor sm;
  sm.kind = kind;
  sm.ns = m.ns;
  sm.name = m.name;
  sm.source = source(obj);
  auto spec = obj.get("spec");
  if (!spec || spec->is_null()) fail(obj, "spec: required");
  if (!spec->is_map()) fail(*spec, "spec: expected an object");
  // An absent selector is invalid upstream; an empty one selects every object.
  if (auto sel = opt_selector(*spec, "selector", "spec.selector", false)) sm.selector = *sel;
  if (auto nss = spec->get("namespaceSelector"); nss && !nss->is_null()) {
    if (!nss->is_map()) fail(*nss, "spec.namespaceSelector: expected an object");
    sm.any_namespace = opt_bool(*nss, "any", "spec.namespaceSelector.any");
    sm.namespaces = string_list(*nss, "matchNames", "spec.namespaceSelector.matchNames");
  }
  const bool pods = kind == "PodMonitor";
  const char* list = pods ? "podMetricsEndpoints" : "endpoints";
  each_item(*spec, list, std::string("spec.") + list, [&](const N& e, const std::string& ep) {
    if (!e.is_map()) fail(e, ep + ": expected an object");
    ScrapeMonitor::Port port;
    port.name = opt_string(e, "port", ep + ".port");
    if (pods)
      if (auto n = opt_int(e, "portNumber", ep + ".portNumber"))
        port.number = port_number(e, *n, ep + ".portNumber");
    if (auto t = e.get("targetPort"); t && !t->is_null()) {
      if (auto i = t->as_int())
        port.number = port_number(*t, *i, ep + ".targetPort");
      else if (auto str = t->as_string())
        port.target_name = std::string(*str);
      else
        fail(*t, ep + ".targetPort: expected an integer or a string");
    }
    sm.ports.push_back(std::move(port));
  });
  ctx_.state->monitors.push_back(std::move(sm));
}

template void Decoder<YamlNode>::service(const YamlNode&);
template void Decoder<JsonNode>::service(const JsonNode&);
template void Decoder<YamlNode>::endpoint_slice(const YamlNode&);
template void Decoder<JsonNode>::endpoint_slice(const JsonNode&);
template void Decoder<YamlNode>::ingress(const YamlNode&);
template void Decoder<JsonNode>::ingress(const JsonNode&);
template void Decoder<YamlNode>::gateway_route(const YamlNode&, const std::string&);
template void Decoder<JsonNode>::gateway_route(const JsonNode&, const std::string&);
template void Decoder<YamlNode>::scrape_monitor(const YamlNode&, const std::string&);
template void Decoder<JsonNode>::scrape_monitor(const JsonNode&, const std::string&);

}  // namespace stockade::input::detail

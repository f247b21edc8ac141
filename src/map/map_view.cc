#include "map/map_view.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "map/map_html.h"

namespace stockade {

namespace {

Isolation node_isolation(const GraphNode& n, const PolicyEngine& engine) {
  if (n.endpoints.empty()) return {};
  Isolation out{true, true};
  for (uint32_t e : n.endpoints) {
    Isolation i = engine.np_isolation(e);
    out.ingress = out.ingress && i.ingress;
    out.egress = out.egress && i.egress;
  }
  return out;
}

std::vector<uint32_t> sorted_nodes(const EdgeGraph& g) {
  std::vector<uint32_t> order(g.nodes().size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return g.nodes()[a].id < g.nodes()[b].id; });
  return order;
}

std::string dot_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

namespace {

// The "nodes" array shared by both forms; `index` receives each graph node's position in it.
void append_map_nodes(std::string& out, const EdgeGraph& g, const PolicyEngine& engine,
                      const MapSummary& summary, std::vector<uint32_t>* index) {
  out += "{\"nodes\":[";
  bool first = true;
  uint32_t pos = 0;
  if (index) index->assign(g.nodes().size(), 0);
  for (uint32_t i : sorted_nodes(g)) {
    if (index) (*index)[i] = pos++;
    const GraphNode& n = g.nodes()[i];
    Isolation iso = node_isolation(n, engine);
    out += first ? "{\"id\":" : ",{\"id\":";
    first = false;
    append_json_string(out, n.id);
    out += ",\"namespace\":";
    append_json_string(out, n.ns);
    out += ",\"kind\":";
    append_json_string(out, n.kind);
    out += ",\"labels\":{";
    bool first_label = true;
    for (const auto& [k, v] : n.labels) {
      if (!first_label) out += ',';
      first_label = false;
      append_json_string(out, k);
      out += ':';
      append_json_string(out, v);
    }
    // A cluster node with no endpoint of the input behind it (named only by records): no
    // policy's isolation can be read for it.
    const bool unknown = !summary.isolation_known || (n.endpoints.empty() && n.kind != "External" &&
                                                      n.kind != "Node" && n.kind != "Service");
    if (unknown) {
      out += "},\"isolated\":null}";
      continue;
    }
    out += "},\"isolated\":{\"ingress\":";
    out += iso.ingress ? "true" : "false";
    out += ",\"egress\":";
    out += iso.egress ? "true" : "false";
    out += "}}";
  }
  out += ']';
}

void append_map_summary(std::string& out, const EdgeGraph& g, const MapSummary& summary,
                        size_t edges) {
  out += ",\"summary\":{\"flows\":";
  append_json_number(out, uint64_t{summary.flows});
  out += ",\"skipped\":";
  append_json_number(out, uint64_t{summary.skipped});
  if (!summary.isolation_known) out += ",\"isolation\":\"unknown\"";
  out += ",\"nodes\":";
  append_json_number(out, uint64_t{g.nodes().size()});
  out += ",\"edges\":";
  append_json_number(out, uint64_t{edges});
  out += "}}";
}

}  // namespace

std::string render_map_json(const EdgeGraph& g, const PolicyEngine& engine,
                            const MapSummary& summary) {
  // Written directly: a map of a large cluster has hundreds of thousands of edges.
  auto list = g.edges();
  std::string out;
  out.reserve(256 * (g.nodes().size() + list.size()) + 256);
  append_map_nodes(out, g, engine, summary, nullptr);
  out += ",\"edges\":[";
  bool first = true;
  auto time = [&](int64_t t) {
    if (t) {
      out += '"';
      append_rfc3339(out, t);
      out += '"';
    } else {
      out += "null";
    }
  };
  for (const auto& [k, s] : list) {
    out += first ? "{\"src\":" : ",{\"src\":";
    first = false;
    append_json_string(out, g.nodes()[k.src].id);
    out += ",\"dst\":";
    append_json_string(out, g.nodes()[k.dst].id);
    out += ",\"protocol\":";
    append_json_string(out, to_string(k.protocol));
    out += ",\"port\":";
    append_json_number(out, uint64_t{k.port});
    out += ",\"count\":";
    append_json_number(out, s.count);
    out += ",\"first_seen\":";
    time(s.first_seen);
    out += ",\"last_seen\":";
    time(s.last_seen);
    out += ",\"outcomes\":{\"established\":";
    append_json_number(out, s.established);
    out += ",\"failed\":";
    append_json_number(out, s.failed);
    out += ",\"dropped\":";
    append_json_number(out, s.dropped);
    out += "}}";
  }
  out += ']';
  append_map_summary(out, g, summary, list.size());
  return out;
}

std::string render_map_columns_json(const EdgeGraph& g, const PolicyEngine& engine,
                                    const MapSummary& summary) {
  auto list = g.edges();
  std::string out;
  out.reserve(256 * g.nodes().size() + 64 * list.size() + 512);
  std::vector<uint32_t> index;
  append_map_nodes(out, g, engine, summary, &index);
  // The protocols' names once; each edge has its protocol's position in "protocols".
  std::vector<std::string> protocols;
  std::vector<uint32_t> proto(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    std::string p(to_string(list[i].first.protocol));
    auto it = std::find(protocols.begin(), protocols.end(), p);
    proto[i] = static_cast<uint32_t>(it - protocols.begin());
    if (it == protocols.end()) protocols.push_back(std::move(p));
  }
  out += ",\"edge_columns\":{\"protocols\":[";
  for (size_t i = 0; i < protocols.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, protocols[i]);
  }
  out += ']';
  // One array per field, in the order of the "edges" of the plain form.
  auto column = [&](const char* name, auto value) {
    out += ",\"";
    out += name;
    out += "\":[";
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) out += ',';
      value(i, list[i].first, list[i].second);
    }
    out += ']';
  };
  auto num = [&](uint64_t v) { append_json_number(out, v); };
  // Whole seconds since the epoch (the plain form's RFC 3339 times have no fraction); 0: none.
  auto secs = [&](int64_t ns) {
    append_json_number(out, ns ? ns / 1000000000 - (ns % 1000000000 < 0) : int64_t{0});
  };
  column("src", [&](size_t, const EdgeKey& k, const EdgeStats&) { num(index[k.src]); });
  column("dst", [&](size_t, const EdgeKey& k, const EdgeStats&) { num(index[k.dst]); });
  column("protocol", [&](size_t i, const EdgeKey&, const EdgeStats&) { num(proto[i]); });
  column("port", [&](size_t, const EdgeKey& k, const EdgeStats&) { num(k.port); });
  column("count", [&](size_t, const EdgeKey&, const EdgeStats& s) { num(s.count); });
  column("first_seen", [&](size_t, const EdgeKey&, const EdgeStats& s) { secs(s.first_seen); });
  column("last_seen", [&](size_t, const EdgeKey&, const EdgeStats& s) { secs(s.last_seen); });
  column("established", [&](size_t, const EdgeKey&, const EdgeStats& s) { num(s.established); });
  column("failed", [&](size_t, const EdgeKey&, const EdgeStats& s) { num(s.failed); });
  column("dropped", [&](size_t, const EdgeKey&, const EdgeStats& s) { num(s.dropped); });
  out += '}';
  append_map_summary(out, g, summary, list.size());
  return out;
}

std::string render_map_dot(const EdgeGraph& g, const PolicyEngine& engine) {
  std::string out =
      "digraph stockade {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", "
      "fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  std::map<std::string, std::vector<uint32_t>> by_ns;
  for (uint32_t i : sorted_nodes(g)) by_ns[g.nodes()[i].ns].push_back(i);
  int cluster = 0;
  for (const auto& [ns, members] : by_ns) {
    std::string indent = "  ";
    if (!ns.empty()) {
      out += "  subgraph cluster_" + std::to_string(cluster++) + " {\n    label=" + dot_quote(ns) +
             ";\n    style=rounded;\n    color=\"#999999\";\n";
      indent = "    ";
    }
    for (uint32_t i : members) {
      const GraphNode& n = g.nodes()[i];
      Isolation iso = node_isolation(n, engine);
      std::string name = n.id.substr(n.id.find('/') == std::string::npos ? 0 : n.id.find('/') + 1);
      std::string fill = n.endpoints.empty()           ? "#e8e8e8"
                         : (iso.ingress && iso.egress) ? "#d4edda"
                         : (iso.ingress || iso.egress) ? "#fff3cd"
                                                       : "#f8d7da";
      // A node without cluster endpoints (external, a node, a pod only records name): no
      // policy's isolation can be read for it.
      std::string tip = n.endpoints.empty()
                            ? std::string("isolation unknown")
                            : std::string("ingress ") + (iso.ingress ? "isolated" : "open") +
                                  ", egress " + (iso.egress ? "isolated" : "open");
      out += indent + dot_quote(n.id) + " [label=" + dot_quote(name + "\n" + n.kind) +
             ", fillcolor=\"" + fill + "\", tooltip=" + dot_quote(tip) + "];\n";
    }
    if (!ns.empty()) out += "  }\n";
  }
  for (const auto& [k, s] : g.edges()) {
    std::string label = std::string(to_string(k.protocol)) +
                        (k.port ? "/" + std::to_string(k.port) : "") + " x" +
                        std::to_string(s.count);
    std::string color = s.dropped ? "#c0392b" : s.failed ? "#e67e22" : "#555555";
    out += "  " + dot_quote(g.nodes()[k.src].id) + " -> " + dot_quote(g.nodes()[k.dst].id) +
           " [label=" + dot_quote(label) + ", color=\"" + color + "\"" +
           (s.dropped || s.failed ? ", style=dashed" : "") + "];\n";
  }
  out += "}\n";
  return out;
}

std::string render_map_html(const std::string& json) {
  std::string_view page(web::kMapHtml, web::kMapHtml_size);
  static constexpr std::string_view kPlaceholder = "__STOCKADE_MAP_DATA__";
  size_t at = page.find(kPlaceholder);
  std::string data;
  data.reserve(json.size() + 64);
  for (char c : json) {
    if (c == '<')
      data += "\\u003c";
    else
      data += c;
  }
  std::string out;
  out.reserve(page.size() + data.size());
  if (at == std::string_view::npos) return std::string(page);
  out.append(page.substr(0, at)).append(data).append(page.substr(at + kPlaceholder.size()));
  return out;
}

MapSummary map_summary(const EdgeGraph& graph, const FlowReadStats& stats) {
  return {stats.records, stats.malformed + graph.unresolved(), graph.has_objects()};
}

std::string render_map(const EdgeGraph& graph, const PolicyEngine& engine,
                       const MapSummary& summary, const std::string& format) {
  if (format == "dot") return render_map_dot(graph, engine);
  std::string out = render_map_json(graph, engine, summary);
  if (format == "html") out = render_map_html(out);
  return out + "\n";
}

}  // namespace stockade

// Reads and normalizes the JSON object that `stockade map -o json` prints. The C++ side embeds it
// in <script id="stockade-data" type="application/json"> with every "<" written as \u003c.

const str = (v, d = "") => (typeof v === "string" ? v : v === undefined || v === null ? d : String(v));
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : Number(v) || 0);

function namespaceOf(id) {
  const i = id.indexOf("/");
  return i > 0 ? id.slice(0, i) : "";
}

function normalizeNode(n) {
  const id = str(n.id);
  const iso = n.isolated && typeof n.isolated === "object" ? n.isolated : {};
  const labels = {};
  if (n.labels && typeof n.labels === "object") {
    for (const [k, v] of Object.entries(n.labels)) labels[k] = str(v);
  }
  return {
    id,
    namespace: typeof n.namespace === "string" ? n.namespace : namespaceOf(id),
    kind: str(n.kind, "Unknown") || "Unknown",
    labels,
    isolated: { ingress: iso.ingress === true, egress: iso.egress === true },
  };
}

function normalizeEdge(e) {
  const o = e.outcomes && typeof e.outcomes === "object" ? e.outcomes : {};
  return {
    src: str(e.src),
    dst: str(e.dst),
    protocol: str(e.protocol, "?"),
    port: num(e.port),
    count: num(e.count),
    first_seen: str(e.first_seen),
    last_seen: str(e.last_seen),
    outcomes: { established: num(o.established), failed: num(o.failed), dropped: num(o.dropped) },
  };
}

export function loadData(element) {
  if (!element) return { ok: false, error: "The page has no stockade-data element." };
  const text = element.textContent.trim();
  if (!text.startsWith("{")) {
    return { ok: false, error: "This is the page template without embedded data: produce the page with `stockade map -o html`." };
  }
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: "The embedded map data is not valid JSON: " + err.message };
  }
  if (!raw || typeof raw !== "object" || !Array.isArray(raw.nodes) || !Array.isArray(raw.edges)) {
    return { ok: false, error: "The embedded map data has no \"nodes\" and \"edges\" arrays." };
  }
  const nodes = raw.nodes.filter((n) => n && n.id !== undefined && n.id !== null).map(normalizeNode);
  const edges = raw.edges.filter((e) => e && e.src !== undefined && e.dst !== undefined).map(normalizeEdge);
  const s = raw.summary && typeof raw.summary === "object" ? raw.summary : {};
  const summary = {
    flows: num(s.flows),
    skipped: num(s.skipped),
    nodes: s.nodes === undefined ? nodes.length : num(s.nodes),
    edges: s.edges === undefined ? edges.length : num(s.edges),
  };
  return { ok: true, data: { nodes, edges, summary } };
}

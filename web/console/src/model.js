// Pure helpers shared by the views (no DOM): edge keys, matching the audit's pod-level events to
// the map's edges at workload and namespace level, one-line summaries of an event's detail.

export function edgeKey(e) {
  return `${e.src}|${e.dst}|${String(e.protocol).toUpperCase()}|${e.port}`;
}

function split(id) {
  const i = id.indexOf("/");
  return i > 0 ? [id.slice(0, i), id.slice(i + 1)] : ["", id];
}

// Whether the pod-level id `pod` (ns/name) belongs to the map node `group` at granularity `by`.
// The audit names pods; a workload's pods are named after it (Deployment: name-<hash>-<hash>,
// StatefulSet: name-<ordinal>, DaemonSet/Job: name-<hash>), so "ns/cart" holds "ns/cart-7d9f-x".
// Peers outside the cluster (world/…, node/…) have the same id at every level.
export function podInGroup(pod, group, by) {
  if (pod === group) return true;
  const [pns, pname] = split(pod);
  const [gns, gname] = split(group);
  if (by === "namespace") return group === pns || (gns === "" && gname === pns);
  if (pns !== gns || pns === "world" || pns === "node") return false;
  return pname.startsWith(gname + "-");
}

function ref(p) {
  return p ? `${p.kind} ${p.namespace ? p.namespace + "/" : ""}${p.name}` : "";
}

export function summarizeDetail(ev) {
  const d = ev.detail;
  if (!d || typeof d !== "object") return typeof d === "string" ? d : "";
  if (ev.kind === "outside-baseline") return `new to the locked baseline of ${d.namespace}${d.verdict ? ` (${d.verdict})` : ""}`;
  // Policies written through POST /api/v1/apply: who, and each object with what was done.
  if (ev.kind === "applied")
    return `applied by ${d.by}: ` + (d.objects || []).map((o) => `${o.kind} ${o.namespace ? o.namespace + "/" : ""}${o.name} (${o.action})`).join(", ");
  const parts = [];
  for (const side of ["egress", "ingress"]) {
    const s = d[side];
    if (!s || s.allowed) continue;
    let t = `${side} denied (${s.tier})`;
    if (s.policy) t += ` by ${ref(s.policy)}`;
    else if (s.isolated_by && s.isolated_by.length) t += `: isolated by ${s.isolated_by.map(ref).join(", ")}`;
    parts.push(t);
  }
  return parts.join("; ") || d.verdict || "";
}

// The map's edges from GET /api/v1/map?format=columns ("edge_columns": one array per field, src
// and dst positions in "nodes", times in seconds since the epoch, 0 for none): objects shaped as
// the plain form's edges. A browser parses columns of numbers several times faster than 50,000
// objects of JSON; the times are formatted when read (few are).
const rfc3339 = (s) => (s ? new Date(s * 1000).toISOString().replace(".000Z", "Z") : null);
class ColumnEdge {
  constructor(src, dst, protocol, port, count, first, last, outcomes) {
    this.src = src;
    this.dst = dst;
    this.protocol = protocol;
    this.port = port;
    this.count = count;
    this.first = first;
    this.last = last;
    this.outcomes = outcomes;
  }
  get first_seen() {
    return rfc3339(this.first);
  }
  get last_seen() {
    return rfc3339(this.last);
  }
}
export function mapEdges(data) {
  if (Array.isArray(data.edges)) return data.edges;
  const c = data.edge_columns;
  if (!c || !Array.isArray(c.src)) return [];
  const ids = (data.nodes || []).map((n) => n.id);
  const out = new Array(c.src.length);
  for (let i = 0; i < c.src.length; i++) {
    out[i] = new ColumnEdge(ids[c.src[i]], ids[c.dst[i]], c.protocols[c.protocol[i]], c.port[i], c.count[i],
      c.first_seen[i], c.last_seen[i], { established: c.established[i], failed: c.failed[i], dropped: c.dropped[i] });
  }
  return out;
}

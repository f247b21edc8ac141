// The map's edges as the page holds them (no DOM): grouped into lines, one per ordered pair of
// nodes, identified by a number (src position × node count + dst position) rather than by a
// string, and looked up by edge key ("src|dst|PROTO|port") through their line. Building a
// string key and a Map entry per edge cost more than everything else of a 50,000-edge map's
// first load; an edge's key is made only when it is asked for (the busiest in the list, a
// selection).
import { edgeKey } from "./model.js";

// Every edge, looked up by key as a Map would be (get, has, size, values, [key, edge] pairs).
class EdgeTable {
  constructor(list, lines, pairId) {
    this.list = list;
    this.lines = lines;
    this.pairId = pairId;
  }
  get size() {
    return this.list.length;
  }
  values() {
    return this.list.values();
  }
  *[Symbol.iterator]() {
    for (const e of this.list) yield [edgeKey(e), e];
  }
  get(k) {
    if (typeof k !== "string") return undefined;
    // Node ids have no "|"; the protocol and the port are the last two fields.
    const h = k.indexOf("|");
    const j = k.lastIndexOf("|");
    const i = k.lastIndexOf("|", j - 1);
    if (h < 0 || i <= h) return undefined;
    const line = this.lines.get(this.pairId(k.slice(0, h), k.slice(h + 1, i)));
    if (!line) return undefined;
    const proto = k.slice(i + 1, j);
    const port = k.slice(j + 1);
    for (const e of line.edges) if (String(e.port) === port && String(e.protocol).toUpperCase() === proto) return e;
    return undefined;
  }
  has(k) {
    return this.get(k) !== undefined;
  }
}

// `nodes`: the map's nodes; `edges`: its edges (objects); `columns`: the map's edge_columns when
// the server sent them (their src/dst are already node positions). Edges naming a node that is
// not in `nodes` are left out.
export function indexEdges(nodes, edges, columns) {
  const n = nodes.length;
  const at = new Map();
  for (let i = 0; i < n; i++) at.set(nodes[i].id, i);
  const pairId = (src, dst) => {
    const s = at.get(src);
    const d = at.get(dst);
    return s === undefined || d === undefined ? -1 : s * n + d;
  };
  const lines = new Map(); // pair id → {id, src, dst, count, dropped, failed, edges (busiest first), top}
  const adj = new Array(n); // node position → ids of its lines
  const degree = new Uint32Array(n); // node position → its edges
  const list = [];
  const cs = columns && columns.src;
  const cd = columns && columns.dst;
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    const s = cs ? cs[i] : at.get(e.src);
    const d = cd ? cd[i] : at.get(e.dst);
    if (s === undefined || d === undefined || s >= n || d >= n) continue;
    list.push(e);
    degree[s]++;
    degree[d]++;
    const id = s * n + d;
    const o = e.outcomes;
    const c = e.count || 0;
    const line = lines.get(id);
    if (line === undefined) {
      lines.set(id, { id, src: e.src, dst: e.dst, count: c, dropped: !!o && o.dropped > 0, failed: !!o && o.failed > 0, edges: [e], top: c });
      (adj[s] || (adj[s] = [])).push(id);
      if (s !== d) (adj[d] || (adj[d] = [])).push(id);
      continue;
    }
    if (c > line.top) {
      line.edges.unshift(e);
      line.top = c;
    } else line.edges.push(e);
    line.count += c;
    line.dropped ||= !!o && o.dropped > 0;
    line.failed ||= !!o && o.failed > 0;
  }
  return {
    edges: new EdgeTable(list, lines, pairId),
    lines,
    // node id → the ids of its lines
    adj: { get: (id) => adj[at.get(id)] },
    degree: (id) => degree[at.get(id)] || 0,
    pairId,
  };
}

// The count a line needs to be among the `max` busiest (0: every line fits).
export function drawThreshold(lines, max) {
  if (lines.size <= max) return 0;
  const counts = new Float64Array(lines.size);
  let i = 0;
  for (const l of lines.values()) counts[i++] = l.count;
  counts.sort();
  return counts[counts.length - max];
}

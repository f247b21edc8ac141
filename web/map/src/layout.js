// Positions for the map, in two passes so that namespaces read as separate groups:
//  1. inside each namespace, ForceAtlas2 (bounded iterations) lays out its nodes from a seeded
//     sunflower disc using only the edges within that namespace; the result is scaled to a disc
//     whose area grows with the namespace's node count;
//  2. the namespace discs are placed with ForceAtlas2 on a small graph of namespaces weighted by
//     the traffic between them (talking namespaces end up near each other), then pushed apart
//     until no two discs overlap and pulled in again so the map stays compact.
// Everything is deterministic: the same map data always gives the same picture.
import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";

// Work budget in node-iterations and wall-clock time: the page must open quickly even for maps of
// many thousands of nodes.
const MAX_ITERATIONS = 300;
const MIN_ITERATIONS = 30;
const WORK_BUDGET = 500000;
const TIME_BUDGET_MS = 4000;
const SPACING = 10; // graph units per sqrt(node): a namespace of n nodes gets radius SPACING*sqrt(n)

const GOLDEN = Math.PI * (3 - Math.sqrt(5));

function hash(str) {
  let h = 2166136261;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) / 4294967296;
}

function sunflower(ids, radius) {
  const pos = new Map();
  ids.forEach((id, k) => {
    const r = radius * Math.sqrt((k + 0.5) / ids.length);
    const th = k * GOLDEN + hash(id) * 0.3;
    pos.set(id, { x: r * Math.cos(th), y: r * Math.sin(th) });
  });
  return pos;
}

function runFA2(g, iterations, extra) {
  if (g.order < 2 || iterations <= 0) return;
  const settings = {
    ...forceAtlas2.inferSettings(g),
    barnesHutOptimize: g.order > 400,
    barnesHutTheta: 0.6,
    strongGravityMode: true,
    gravity: 0.5,
    scalingRatio: 2,
    adjustSizes: false,
    ...extra,
  };
  forceAtlas2.assign(g, { iterations, settings, getEdgeWeight: "weight" });
}

// Lays out one namespace around (0, 0); returns local positions scaled to `radius`.
function layoutNamespace(graph, members, radius, iterations) {
  const seed = sunflower(members, radius);
  if (members.length === 1) return new Map([[members[0], { x: 0, y: 0 }]]);
  const g = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
  for (const id of members) g.addNode(id, { ...seed.get(id), size: 1 });
  for (const id of members) {
    graph.forEachOutEdge(id, (e, a, s, t) => {
      if (s === t || !g.hasNode(t)) return;
      if (g.hasEdge(s, t)) g.updateEdgeAttribute(s, t, "weight", (w) => w + 1);
      else g.addEdge(s, t, { weight: 1 });
    });
  }
  if (g.size > 0) {
    g.forEachEdge((e, a) => g.setEdgeAttribute(e, "weight", 1 + Math.log2(a.weight)));
    runFA2(g, iterations);
  }
  // Center and scale so the farthest node sits on the namespace's disc.
  let cx = 0, cy = 0;
  g.forEachNode((_, a) => { cx += a.x; cy += a.y; });
  cx /= g.order; cy /= g.order;
  let rmax = 0;
  g.forEachNode((_, a) => { rmax = Math.max(rmax, Math.hypot(a.x - cx, a.y - cy)); });
  const k = rmax > 0 ? radius / rmax : 1;
  const out = new Map();
  g.forEachNode((id, a) => out.set(id, { x: (a.x - cx) * k, y: (a.y - cy) * k }));
  return out;
}

// Places namespace discs: FA2 on the namespace graph, then collision removal with a pull to the center.
function placeNamespaces(graph, groups) {
  const names = groups.map((g) => g.ns);
  const radius = new Map(groups.map((g) => [g.ns, g.radius]));
  const meta = new Graph({ type: "undirected", multi: false, allowSelfLoops: false });
  let cumulative = 0;
  groups.forEach((g, i) => {
    const d = i === 0 ? 0 : SPACING * 1.6 * Math.sqrt(cumulative + g.members.length / 2) + g.radius;
    cumulative += g.members.length;
    meta.addNode(g.ns, { x: d * Math.cos(i * GOLDEN), y: d * Math.sin(i * GOLDEN), size: g.radius });
  });
  graph.forEachEdge((e, a, s, t, sa, ta) => {
    if (sa.namespace === ta.namespace) return;
    if (meta.hasEdge(sa.namespace, ta.namespace)) meta.updateEdgeAttribute(sa.namespace, ta.namespace, "weight", (w) => w + 1);
    else meta.addEdge(sa.namespace, ta.namespace, { weight: 1 });
  });
  meta.forEachEdge((e, a) => meta.setEdgeAttribute(e, "weight", 1 + Math.log2(a.weight)));
  if (meta.size > 0) runFA2(meta, 200, { gravity: 0.2, scalingRatio: 10 });

  const pos = names.map((ns) => ({ ...meta.getNodeAttributes(ns) }));
  const rad = names.map((ns) => radius.get(ns));
  // Rescale the FA2 result to the discs' size: the mean distance to the center becomes about the
  // radius of a disc holding all namespaces.
  const total = Math.sqrt(rad.reduce((s, r) => s + r * r, 0));
  const meanDist = pos.reduce((s, p) => s + Math.hypot(p.x, p.y), 0) / pos.length;
  if (meanDist > 0) {
    const k = total / meanDist;
    for (const p of pos) { p.x *= k; p.y *= k; }
  }
  const sorted = rad.slice().sort((a, b) => a - b);
  const gap = Math.max(SPACING * 4, 0.8 * sorted[Math.floor(sorted.length / 2)]);
  const n = pos.length;
  const resolve = () => {
    let moved = false;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[j].x - pos[i].x, dy = pos[j].y - pos[i].y;
        let d = Math.hypot(dx, dy);
        const min = rad[i] + rad[j] + gap;
        if (d >= min) continue;
        if (d < 1e-6) { dx = Math.cos(i + j); dy = Math.sin(i + j); d = 1; }
        const push = (min - d) / d;
        // The smaller disc moves more.
        const wi = rad[j] * rad[j] / (rad[i] * rad[i] + rad[j] * rad[j]);
        pos[i].x -= dx * push * wi; pos[i].y -= dy * push * wi;
        pos[j].x += dx * push * (1 - wi); pos[j].y += dy * push * (1 - wi);
        moved = true;
      }
    }
    return moved;
  };
  for (let it = 0; it < 300; it++) {
    for (const p of pos) { p.x *= 0.97; p.y *= 0.97; } // compaction
    resolve();
  }
  for (let it = 0; it < 500 && resolve(); it++);
  return new Map(names.map((ns, i) => [ns, pos[i]]));
}

export function computeLayout(graph) {
  const started = performance.now();
  const byNs = new Map();
  graph.forEachNode((id, a) => {
    if (!byNs.has(a.namespace)) byNs.set(a.namespace, []);
    byNs.get(a.namespace).push(id);
  });
  const groups = [...byNs.entries()]
    .map(([ns, members]) => ({ ns, members: members.sort(), radius: SPACING * Math.sqrt(members.length) }))
    .sort((a, b) => b.members.length - a.members.length || (a.ns < b.ns ? -1 : 1));

  const iterations = Math.max(MIN_ITERATIONS, Math.min(MAX_ITERATIONS, Math.floor(WORK_BUDGET / Math.max(1, graph.order))));
  const local = new Map();
  for (const g of groups) {
    const over = performance.now() - started > TIME_BUDGET_MS;
    const pos = layoutNamespace(graph, g.members, g.radius, over ? 0 : iterations);
    for (const [id, p] of pos) local.set(id, p);
  }
  const centers = placeNamespaces(graph, groups);
  graph.forEachNode((id, a) => {
    const c = centers.get(a.namespace);
    const p = local.get(id);
    graph.mergeNodeAttributes(id, { x: c.x + p.x, y: c.y + p.y });
  });
  return { iterations, ms: Math.round(performance.now() - started) };
}

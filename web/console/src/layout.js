// Positions for the console's map without an iterative force layout, so that a map of thousands
// of nodes is on screen at once: each namespace is a disc (area proportional to its node count)
// with its nodes on a sunflower spiral, sorted by id; the discs are placed largest first along a
// spiral around the centre, each at the first point where it overlaps no placed disc. Peers
// outside the cluster (world/…, node/…) form their own discs. Deterministic for the same nodes;
// nodes already placed by a previous load keep their position (`previous`), so the picture does
// not jump when the data refreshes.
const GOLDEN = Math.PI * (3 - Math.sqrt(5));
const SPACING = 6;

export function layout(nodes, previous) {
  const groups = new Map();
  for (const n of nodes) {
    const g = n.namespace || n.id.split("/")[0] || "";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(n.id);
  }
  const order = [...groups.keys()].sort((a, b) => groups.get(b).length - groups.get(a).length || (a < b ? -1 : 1));
  const discs = [];
  const pos = new Map();
  for (const g of order) {
    const ids = groups.get(g).sort();
    const r = SPACING * Math.sqrt(ids.length) + SPACING;
    let cx = 0;
    let cy = 0;
    for (let s = 0; discs.length; s++) {
      const d = s * SPACING * 0.5;
      const a = s * 0.5;
      cx = d * Math.cos(a);
      cy = d * Math.sin(a);
      if (discs.every((o) => Math.hypot(o.x - cx, o.y - cy) >= o.r + r + SPACING)) break;
    }
    discs.push({ x: cx, y: cy, r });
    ids.forEach((id, k) => {
      const old = previous && previous.get(id);
      if (old) {
        pos.set(id, old);
        return;
      }
      const rr = (r - SPACING / 2) * Math.sqrt((k + 0.5) / ids.length);
      const th = k * GOLDEN;
      pos.set(id, { x: cx + rr * Math.cos(th), y: cy + rr * Math.sin(th) });
    });
  }
  return pos;
}

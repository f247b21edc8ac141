// Writes test inputs for the map page, shaped exactly like `stockade map -o json` output:
//   large.json  ~1,200 nodes in 12 namespaces (+ external peers and cluster nodes), ~3,000 edges
//   tiny.json   3 nodes, with a label that tries to close the <script> element
//   empty.json  0 nodes, 0 edges
// Usage: node gen-data.mjs OUT_DIR
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const out = process.argv[2];
if (!out) { console.error("usage: node gen-data.mjs OUT_DIR"); process.exit(2); }
mkdirSync(out, { recursive: true });

// Small deterministic PRNG (mulberry32) so every run draws the same map.
let seed = 0x5eed1234;
const rand = () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (arr) => arr[Math.floor(rand() * arr.length)];
const iso = (t) => new Date(Date.UTC(2026, 0, 1) + t * 1000).toISOString().replace(/\.\d+Z$/, "Z");

function large() {
  const namespaces = ["shop", "payments", "auth", "search", "catalog", "orders", "shipping",
    "analytics", "monitoring", "logging", "kube-system", "ingress-nginx"];
  const words = ["web", "api", "worker", "db", "cache", "queue", "gateway", "frontend", "backend",
    "indexer", "scheduler", "exporter", "collector", "proxy", "sync", "batch", "cron", "ml", "store", "auth"];
  const kinds = ["Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Service", "CronJob"];
  const nodes = [];
  const byNs = new Map();
  namespaces.forEach((ns, i) => {
    const count = 70 + ((i * 37) % 60); // 70..129 per namespace
    const members = [];
    for (let k = 0; k < count; k++) {
      const name = `${pick(words)}-${k}`;
      const id = `${ns}/${name}`;
      const ingress = rand() > 0.07;
      const egress = rand() > 0.12;
      nodes.push({ id, namespace: ns, kind: pick(kinds), labels: { app: name, tier: pick(["frontend", "backend", "data"]) },
        isolated: { ingress, egress } });
      members.push(id);
    }
    byNs.set(ns, members);
  });
  const world = [];
  for (let k = 0; k < 30; k++) {
    const id = `world/203.0.113.${k + 1}`;
    nodes.push({ id, namespace: "world", kind: "External", labels: {}, isolated: { ingress: false, egress: false } });
    world.push(id);
  }
  for (let k = 0; k < 5; k++) {
    const id = `node/worker-${k}`;
    nodes.push({ id, namespace: "node", kind: "Node", labels: { "kubernetes.io/hostname": `worker-${k}` }, isolated: { ingress: false, egress: false } });
  }
  const all = nodes.map((n) => n.id);
  const edges = [];
  const seen = new Set();
  const target = 3000;
  while (edges.length < target) {
    const srcNs = pick(namespaces);
    const src = pick(byNs.get(srcNs));
    const r = rand();
    const dst = r < 0.72 ? pick(byNs.get(srcNs)) : r < 0.92 ? pick(byNs.get(pick(namespaces))) : r < 0.97 ? pick(world) : pick(all);
    if (dst === src) continue;
    const protocol = rand() < 0.9 ? "TCP" : "UDP";
    const port = pick([80, 443, 8080, 8443, 5432, 6379, 9090, 53, 3000, 9200]);
    const key = `${src}|${dst}|${protocol}|${port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const count = 1 + Math.floor(rand() ** 3 * 5000);
    const o = rand();
    const failed = o < 0.06 ? 1 + Math.floor(rand() * Math.min(count, 50)) : 0;
    const dropped = o > 0.96 ? 1 + Math.floor(rand() * Math.min(count, 50)) : 0;
    const established = Math.max(0, count - failed - dropped);
    const first = Math.floor(rand() * 3600);
    edges.push({ src, dst, protocol, port, count, first_seen: iso(first), last_seen: iso(first + Math.floor(rand() * 86400)),
      outcomes: { established, failed, dropped } });
  }
  const flows = edges.reduce((s, e) => s + e.count, 0);
  return { nodes, edges, summary: { flows, skipped: 7, nodes: nodes.length, edges: edges.length } };
}

function tiny() {
  const nodes = [
    { id: "shop/web", namespace: "shop", kind: "Deployment", labels: { app: "web", note: "</script><script>document.body.dataset.pwned='1'</script>" }, isolated: { ingress: false, egress: true } },
    { id: "shop/api", namespace: "shop", kind: "Deployment", labels: { app: "api" }, isolated: { ingress: true, egress: true } },
    { id: "world/203.0.113.7", namespace: "world", kind: "External", labels: {}, isolated: { ingress: false, egress: false } },
  ];
  const edges = [
    { src: "shop/web", dst: "shop/api", protocol: "TCP", port: 8080, count: 12, first_seen: "2026-01-01T00:00:00Z", last_seen: "2026-01-01T01:00:00Z", outcomes: { established: 11, failed: 1, dropped: 0 } },
    { src: "world/203.0.113.7", dst: "shop/web", protocol: "TCP", port: 443, count: 40, first_seen: "2026-01-01T00:00:00Z", last_seen: "2026-01-01T02:00:00Z", outcomes: { established: 40, failed: 0, dropped: 0 } },
  ];
  return { nodes, edges, summary: { flows: 52, skipped: 0, nodes: 3, edges: 2 } };
}

const empty = { nodes: [], edges: [], summary: { flows: 0, skipped: 0, nodes: 0, edges: 0 } };

for (const [name, data] of [["large", large()], ["tiny", tiny()], ["empty", empty]]) {
  writeFileSync(join(out, `${name}.json`), JSON.stringify(data));
  console.log(`${name}.json: ${data.nodes.length} nodes, ${data.edges.length} edges`);
}

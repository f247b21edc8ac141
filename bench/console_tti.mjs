// Time to interactive of the web console in headless Chromium (Debian's, through playwright-core
// from web/console/node_modules), median of N runs each in a fresh browser context:
//   node bench/console_tti.mjs demo URL [RUNS]     a running `stockade serve` (no token)
//   node bench/console_tti.mjs synthetic NODES EDGES [RUNS]
//        the console page (web/console/dist/console.html) with /api/v1/* answered by the
//        browser test harness from a generated map shaped like `stockade map -o json`
//        (namespaces of 100 workloads; edges mostly within a namespace), so that the figure is
//        the page's own: fetch, parse, layout, first WebGL frame with the handlers attached.
// "Interactive" = the page has loaded the map, the audit and the baselines, built the graph,
// attached its event handlers and the next animation frame ran: the page records
// performance.now() at that frame (milliseconds since navigation start) as
// body[data-interactive-ms].
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const require = createRequire(join(root, "web/console/package.json"));
const { chromium } = require("playwright-core");

const mode = process.argv[2];
let url;
let nodesN = 0;
let edgesN = 0;
let runs;
let mapBody = null;
if (mode === "demo") {
  url = process.argv[3];
  runs = Number(process.argv[4] || 5);
} else if (mode === "synthetic") {
  nodesN = Number(process.argv[3]);
  edgesN = Number(process.argv[4]);
  runs = Number(process.argv[5] || 5);
  url = "http://console.bench/";
  mapBody = JSON.stringify(generate(nodesN, edgesN));
} else {
  console.error("usage: console_tti.mjs demo URL [RUNS] | synthetic NODES EDGES [RUNS]");
  process.exit(2);
}

function generate(n, m) {
  let seed = 0x5eed1234;
  const rand = () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const nodes = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${Math.floor(i / 100)}`;
    nodes.push({ id: `${ns}/wl-${i}`, namespace: ns, kind: "Deployment", labels: { app: `wl-${i}` },
      isolated: { ingress: rand() > 0.3, egress: rand() > 0.5 } });
  }
  const edges = [];
  const seen = new Set();
  while (edges.length < m) {
    const a = Math.floor(rand() * n);
    // 80% within the namespace, the rest anywhere.
    const b = rand() < 0.8 ? Math.floor(a / 100) * 100 + Math.floor(rand() * Math.min(100, n - Math.floor(a / 100) * 100)) : Math.floor(rand() * n);
    const port = [80, 443, 8080, 5432, 6379][Math.floor(rand() * 5)];
    const k = `${a}|${b}|${port}`;
    if (a === b || seen.has(k)) continue;
    seen.add(k);
    const count = 1 + Math.floor(rand() * 1000);
    const dropped = rand() < 0.05 ? Math.floor(count / 10) : 0;
    edges.push({ src: nodes[a].id, dst: nodes[b].id, protocol: "TCP", port, count,
      first_seen: "2026-01-01T00:00:00Z", last_seen: "2026-01-01T01:00:00Z",
      outcomes: { established: count - dropped, failed: 0, dropped } });
  }
  return { nodes, edges, summary: { flows: m * 10, skipped: 0, nodes: n, edges: m } };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-gpu"],
});
const page_html = mode === "synthetic" ? readFileSync(join(root, "web/console/dist/console.html"), "utf8") : null;
const figures = [];
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  if (mode === "synthetic") {
    await page.route("**/*", (route) => {
      const u = new URL(route.request().url());
      const json = (body) => route.fulfill({ status: 200, contentType: "application/json", body });
      if (u.pathname === "/") return route.fulfill({ status: 200, contentType: "text/html", body: page_html });
      if (u.pathname === "/api/v1/map") return json(mapBody);
      if (u.pathname === "/api/v1/audit") return json('{"events":[]}');
      if (u.pathname === "/api/v1/baselines") return json('{"baselines":[]}');
      return route.fulfill({ status: 404, body: "" });
    });
  }
  await page.goto(url + "?poll=600000");
  await page.waitForFunction(() => document.body.dataset.interactiveMs, null, { timeout: 120000 });
  const t = await page.evaluate(() => +document.body.dataset.interactiveMs);
  const got = await page.evaluate(() => [+document.body.dataset.nodes, +document.body.dataset.edges]);
  figures.push(t);
  console.error(`run ${i + 1}: ${t.toFixed(0)} ms (${got[0]} nodes, ${got[1]} edges)`);
  await ctx.close();
}
await browser.close();
figures.sort((a, b) => a - b);
const median = figures[Math.floor(figures.length / 2)];
console.log(JSON.stringify({ mode, nodes: nodesN || undefined, edges: edgesN || undefined, runs,
  median_ms: Math.round(median), min_ms: Math.round(figures[0]), max_ms: Math.round(figures[figures.length - 1]) }));

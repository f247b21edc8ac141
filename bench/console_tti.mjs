// Time to interactive of the web console in headless Chromium (Debian's, through playwright-core
// from web/console/node_modules), median of N runs each in a fresh browser context:
//   node bench/console_tti.mjs demo URL [RUNS]     a running `stockade serve` (no token)
//   node bench/console_tti.mjs synthetic NODES EDGES [RUNS]
//        the console page (web/console/dist/console.html) and a generated map shaped like
//        `stockade map -o json` (namespaces of 100 workloads; edges mostly within a namespace),
//        served over loopback HTTP by this script (the map JSON prepared once, so the figure is
//        the page's own: fetch, parse, layout, first WebGL frame with the handlers attached).
// Each run also prints where the time went (performance marks the page sets on its first
// load: map-response, map-parsed, layout, graph-built, sigma-drawn), and in demo mode the time
// from a click on a workload to its draft and simulation on screen (body[data-draft-ms]).
// "Interactive" = the page has loaded the map (the view on screen), built the graph, attached
// its event handlers and the next animation frame ran: the page records performance.now() at
// that frame (milliseconds since navigation start) as body[data-interactive-ms]. The audit and
// the baselines (other tabs) are read after the map: "all loaded" (body[data-ready-ms]) is the
// frame after they are in too.
//   Environment: BY=pod|namespace (the first granularity), CLICK=A,B (demo mode: time the click
//   on A after one on B), DRAW_MAX=N, CONSOLE_HTML=FILE (synthetic mode: another build of the
//   page), PROFILE=1 (a CPU profile of the first run).
import { createRequire } from "node:module";
import { createServer } from "node:http";
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
let columnsBody = null;
let recsBody = null;
if (mode === "demo") {
  url = process.argv[3];
  runs = Number(process.argv[4] || 5);
} else if (mode === "synthetic") {
  nodesN = Number(process.argv[3]);
  edgesN = Number(process.argv[4]);
  runs = Number(process.argv[5] || 5);
  const generated = generate(nodesN, edgesN);
  mapBody = JSON.stringify(generated);
  columnsBody = JSON.stringify(columns(generated));
  recsBody = JSON.stringify({ apiVersion: "v1", kind: "List", items: generated.nodes.map((n) => ({
    apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
    metadata: { name: `stockade-ingress-${n.id.split("/")[1]}`, namespace: n.namespace,
      annotations: { "stockade.io/workload": `Deployment/${n.id.split("/")[1]}` } },
    spec: { podSelector: { matchLabels: n.labels }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] } })) });
} else {
  console.error("usage: console_tti.mjs demo URL [RUNS] | synthetic NODES EDGES [RUNS]");
  process.exit(2);
}

// The same map as GET /api/v1/map?format=columns gives it (docs/cli.md; the server's
// render_map_columns_json): edges as one array per field, src/dst positions in "nodes", times in
// seconds since the epoch. The console asks for this form.
function columns(map) {
  const at = new Map(map.nodes.map((n, i) => [n.id, i]));
  const protocols = [...new Set(map.edges.map((e) => e.protocol))];
  const col = (f) => map.edges.map(f);
  const secs = (t) => (t ? Date.parse(t) / 1000 : 0);
  return { nodes: map.nodes, edge_columns: { protocols, src: col((e) => at.get(e.src)), dst: col((e) => at.get(e.dst)),
    protocol: col((e) => protocols.indexOf(e.protocol)), port: col((e) => e.port), count: col((e) => e.count),
    first_seen: col((e) => secs(e.first_seen)), last_seen: col((e) => secs(e.last_seen)),
    established: col((e) => e.outcomes.established), failed: col((e) => e.outcomes.failed),
    dropped: col((e) => e.outcomes.dropped) }, summary: map.summary };
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
// CONSOLE_HTML: another build of the page (e.g. main's, for a side-by-side figure).
const page_html = mode === "synthetic" ? readFileSync(process.env.CONSOLE_HTML || join(root, "web/console/dist/console.html"), "utf8") : null;
let httpServer = null;
if (mode === "synthetic") {
  httpServer = createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    const send = (type, body) => {
      res.writeHead(200, { "Content-Type": type });
      res.end(body);
    };
    if (u.pathname === "/") return send("text/html", page_html);
    if (u.pathname === "/api/v1/map")
      return send("application/json", u.searchParams.get("format") === "columns" ? columnsBody : mapBody);
    if (u.pathname === "/api/v1/audit") return send("application/json", '{"events":[]}');
    if (u.pathname === "/api/v1/baselines") return send("application/json", '{"baselines":[]}');
    // For the click → draft figure, the page's side of it: one recommended policy per workload
    // (the shape `stockade recommend -o json` prints) and a simulation that changes nothing.
    // What the server takes to compute them at this size is not part of this figure.
    if (u.pathname === "/api/v1/recommendations") return send("application/json", recsBody);
    if (u.pathname === "/api/v1/simulate")
      return send("application/json", '{"changes":[],"summary":{"changed":0,"newly_allowed":0,"newly_denied":0},"flows":{"changes":[],"summary":{"edges":0,"broken":0,"newly_allowed":0}}}');
    // No event stream here: the page polls (every 10 minutes with ?poll=600000).
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end('{"error":"no such resource"}');
  });
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${httpServer.address().port}/`;
}
const breakdown = [];
const drafts = [];
const figures = [];
const readies = [];
const presented = [];
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  // PROFILE=1: a CPU profile of the first run's load (DevTools protocol), self time by function.
  const cdp = process.env.PROFILE && i === 0 ? await ctx.newCDPSession(page) : null;
  if (cdp) {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 250 });
    await cdp.send("Profiler.start");
  }
  // DRAW_MAX=N: draw at most N lines at first (the page's default 10,000; a large N draws all).
  // BY=pod|namespace: the page's first granularity (?by=).
  await page.goto(url + "?poll=600000" + (process.env.DRAW_MAX ? `&drawMax=${process.env.DRAW_MAX}` : "") +
    (process.env.BY ? `&by=${process.env.BY}` : ""));
  await page.waitForFunction(() => document.body.dataset.interactiveMs, null, { timeout: 120000 });
  // The page stamps the frame that draws the map; in software WebGL that frame's raster comes
  // after the stamp. "Presented": two more frames begun (the second cannot begin before the
  // first is drawn), taken the same way for any build of the page: the headline figure.
  const shown = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now())))));
  const t = await page.evaluate(() => +document.body.dataset.interactiveMs);
  presented.push(shown);
  // Everything of the first load in (the audit and the baselines too).
  // (A page from before data-ready-ms, main's, set data-interactive-ms after all of it.)
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 300000 });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  readies.push(await page.evaluate(() => +(document.body.dataset.readyMs || document.body.dataset.interactiveMs)));
  if (cdp) printProfile((await cdp.send("Profiler.stop")).profile);
  const got = await page.evaluate(() => [+document.body.dataset.nodes, +document.body.dataset.edges, +document.body.dataset.linesDrawn]);
  figures.push(t);
  const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType("mark").map((m) => [m.name, Math.round(m.startTime)])));
  breakdown.push(marks);
  let draft = "";
  // CLICK=A,B: in demo mode against another server, the node whose click is timed (A) after a
  // first click on B.
  const click = (process.env.CLICK || "").split(",");
  draft = await draftTime(page, click[0] || (mode === "demo" ? "shop/checkout" : "ns-0/wl-0"), click[1]);
  console.error(`run ${i + 1}: presented ${shown.toFixed(0)} ms, interactive mark ${t.toFixed(0)} ms, all loaded ${readies[i]} ms (${got[0]} nodes, ${got[1]} edges, ${got[2]} lines drawn) marks ${JSON.stringify(marks)}${draft}`);
  await ctx.close();
}
await browser.close();
if (httpServer) httpServer.close();

// Click a workload with recommended policies (shop/checkout in the demo) and wait for its draft
// and simulation in the details.
async function draftTime(page, id, first) {
  const xy = await page.evaluate((id) => {
    const s = window.__stockade;
    if (!s.map.nodes.has(id) || !s.decision) return null;  // (a page without drafts: main's)
    const box = document.getElementById("graph").getBoundingClientRect();
    const p = s.sigma.framedGraphToViewport(s.sigma.getNodeDisplayData(id));
    return { x: box.left + p.x, y: box.top + p.y };
  }, id);
  if (!xy) return "";
  // The recommendations are read once per data version (the first click would include them),
  // and a draft simulated once is not simulated again: the figure is a second workload's click.
  const other = first || (mode === "demo" ? "shop/payments" : "ns-1/wl-100");
  const xy2 = await page.evaluate((id) => {
    const s = window.__stockade;
    const box = document.getElementById("graph").getBoundingClientRect();
    const p = s.sigma.framedGraphToViewport(s.sigma.getNodeDisplayData(id));
    return { x: box.left + p.x, y: box.top + p.y };
  }, other);
  await page.mouse.click(xy2.x, xy2.y);
  await page.waitForFunction(() => document.body.dataset.draftMs, null, { timeout: 120000 });
  await page.keyboard.press("Escape");
  await page.evaluate(() => delete document.body.dataset.draftMs);
  await page.waitForTimeout(500);
  await page.mouse.click(xy.x, xy.y);
  await page.waitForFunction(() => document.body.dataset.draftMs, null, { timeout: 120000 });
  const ms = await page.evaluate(() => +document.body.dataset.draftMs);
  drafts.push(ms);
  return `; click → draft + simulation ${ms} ms`;
}
function printProfile(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let k = 0; k < profile.samples.length; k++) {
    const f = byId.get(profile.samples[k]).callFrame;
    const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    self.set(name, (self.get(name) || 0) + (profile.timeDeltas[k] || 0) / 1000);
  }
  console.error("CPU profile of run 1 (self ms, top 30):");
  for (const [name, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.error(`${ms.toFixed(1).padStart(9)}  ${name}`);
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const markNames = [...new Set(breakdown.flatMap((m) => Object.keys(m)))];
const markMedians = Object.fromEntries(markNames.map((n) => [n, med(breakdown.map((m) => m[n]).filter((x) => x !== undefined))]));
figures.sort((a, b) => a - b);
const median = figures[Math.floor(figures.length / 2)];
console.log(JSON.stringify({ mode, nodes: nodesN || undefined, edges: edgesN || undefined, runs,
  presented_median_ms: Math.round(med(presented)), presented_range_ms: [Math.round(Math.min(...presented)), Math.round(Math.max(...presented))],
  median_ms: Math.round(median), ready_median_ms: med(readies), min_ms: Math.round(figures[0]), max_ms: Math.round(figures[figures.length - 1]),
  marks_median_ms: markMedians, draft_median_ms: drafts.length ? med(drafts) : undefined }));

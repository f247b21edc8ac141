// Browser test of the web console against a real `stockade serve` on the demo (run.sh starts the
// server and passes its address, token and data): Playwright (playwright-core from
// web/console/node_modules) driving Debian's Chromium. Each step leaves a screenshot in OUT.
//   node console.mjs BASE_URL TOKEN_FILE FLOWS_NDJSON OUT
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../web/console/package.json"));
const { chromium } = require("playwright-core");

const [base, tokenFile, flowsFile, out] = process.argv.slice(2);
const token = readFileSync(tokenFile, "utf8").trim();
let passed = 0;
let failed = 0;
function check(name, ok, why) {
  if (ok) {
    passed++;
    console.log(`console_browser: ok   ${name}`);
  } else {
    failed++;
    console.error(`console_browser: FAIL ${name}: ${why}`);
  }
}
async function apiGet(path) {
  const r = await fetch(base + path, { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}
async function shot(page, name) {
  await page.screenshot({ path: join(out, name) });
  console.log(`console_browser: screenshot ${join(out, name)}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // The console reports its own caught failures (a refused request, a bad answer) on the console.
  page.on("console", (m) => {
    // (Chromium also logs every 401 and 501 answer as "Failed to load resource": expected here.)
    if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  const external = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base)) external.push(r.url());
  });

  // 1. The server wants a token: the console asks for it, keeps it in sessionStorage.
  await page.goto(base + "/?poll=300");
  await page.locator("#login").waitFor({ state: "visible", timeout: 15000 });
  check("the console asks for a token when the API answers 401", true);
  await shot(page, "01-login.png");
  await page.fill("#token", "not-the-token");
  await page.press("#token", "Enter");
  await page.waitForFunction(() => !document.getElementById("login").hidden &&
    /refused/.test(document.getElementById("login-msg").textContent), null, { timeout: 10000 });
  check("a wrong token is refused and asked again", true);
  await page.fill("#token", token);
  await page.press("#token", "Enter");

  // 2. The map: as many nodes and edges as the server's /api/v1/map holds.
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30000 });
  const stored = await page.evaluate(() => sessionStorage.getItem("stockade.token"));
  check("the token is kept in sessionStorage", stored === token, `sessionStorage holds ${stored}`);
  const want = await apiGet("/api/v1/map?by=workload");
  const got = await page.evaluate(() => ({ nodes: +document.body.dataset.nodes, edges: +document.body.dataset.edges }));
  check(`the map shows the server's ${want.nodes.length} nodes / ${want.edges.length} edges`,
    got.nodes === want.nodes.length && got.edges === want.edges.length && want.edges.length > 0,
    `page ${JSON.stringify(got)}`);
  await shot(page, "02-map.png");

  // 3. Click an edge on the canvas (at the middle of its line) and read its details.
  const targets = await page.evaluate(() => {
    const s = window.__stockade;
    const box = document.getElementById("graph").getBoundingClientRect();
    const res = [];
    for (const [key, e] of s.map.edges) {
      if (e.src === e.dst) continue;
      const a = s.sigma.getNodeDisplayData(e.src);
      const b = s.sigma.getNodeDisplayData(e.dst);
      const p = s.sigma.framedGraphToViewport({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
      res.push({ key, x: box.left + p.x, y: box.top + p.y, count: e.count, dropped: e.outcomes.dropped });
    }
    return res;
  });
  let clicked = null;
  for (const t of targets.slice(0, 40)) {
    // Apart by more than sigma's double-click time, which would zoom instead.
    await page.waitForTimeout(400);
    await page.mouse.click(t.x, t.y);
    const sel = await page.evaluate(() => document.getElementById("details").dataset.selected);
    if (sel === t.key) {
      clicked = t;
      break;
    }
  }
  check("clicking an edge on the map selects that edge", !!clicked, `no click on ${targets.length} edge midpoints selected its edge`);
  if (clicked) {
    const [src, dst, proto, port] = clicked.key.split("|");
    const title = await page.textContent("#d-title");
    const count = await page.textContent("#d-count");
    const portText = await page.textContent("#d-port");
    check(`the edge's details: ${src} → ${dst} ${proto}/${port} ×${clicked.count}`,
      title.includes(`${src} → ${dst}`) && count.trim() === String(clicked.count) && portText.trim().toUpperCase() === `${proto}/${port}`,
      `title '${title}', count '${count}', port '${portText}'`);
    await shot(page, "03-edge.png");
  }

  // 3b. An allowed edge picked from the edge list: its verdict and each side's deciding rule
  // now, as GET /api/v1/verify gives them (the audit only records denied edges).
  {
    const ver = await apiGet("/api/v1/verify?by=workload");
    const allowed = ver.edges.filter((r) => r.verdict === "allowed" && r.src !== r.dst);
    const row = allowed.find((r) => r.ingress.policy) || allowed[0];
    check("the demo has allowed edges in /api/v1/verify", !!row, "no allowed row");
    if (row) {
      const key = `${row.src}|${row.dst}|${String(row.protocol).toUpperCase()}|${row.port}`;
      await page.click(`#edge-list li[data-key="${key}"]`);
      await page.waitForFunction(() => /allowed|denied/.test(document.getElementById("d-verdict").textContent),
        null, { timeout: 10000 }).catch(() => {});
      const vtext = await page.textContent("#d-verdict");
      const rule = row.ingress.policy ? row.ingress.policy.name : row.ingress.tier;
      check(`an allowed edge shows its verdict and deciding rule from /api/v1/verify (${row.src} → ${row.dst}, ${rule})`,
        vtext.includes("allowed") && vtext.includes(rule), `verdict text '${vtext}'`);
      await shot(page, "03b-allowed-edge.png");
    }
  }

  // 4. An edge the policies deny, reached from the audit table: the verdict and deciding rules.
  const audit = await apiGet("/api/v1/audit?limit=10000");
  const denied = audit.events.find((e) => e.kind === "denied");
  check("the demo has denied audit events", !!denied, "GET /api/v1/audit has no denied event");
  await page.keyboard.press("Escape");
  await page.keyboard.press("2");
  await page.waitForFunction((n) => +document.body.dataset.auditEvents >= n, audit.events.length, { timeout: 10000 });
  await shot(page, "04-audit.png");
  if (denied) {
    await page.click(`#audit-table tr[data-id="${denied.id}"] button.show-edge`);
    await page.waitForFunction((k) => document.getElementById("details").dataset.selected === k,
      `${denied.src}|${denied.dst}|${String(denied.protocol).toUpperCase()}|${denied.port}`, { timeout: 10000 });
    const verdict = await page.textContent("#d-verdict");
    const d = typeof denied.detail === "string" ? JSON.parse(denied.detail) : denied.detail;
    const side = [d.ingress, d.egress].find((s) => s && !s.allowed);
    const names = side && side.policy ? [side.policy.name] : (side && side.isolated_by || []).map((r) => r.name);
    check(`a denied edge from the audit shows its verdict and deciding policy (${names.join(", ")})`,
      verdict.includes("denied") && names.length > 0 && names.every((n) => verdict.includes(n)),
      `verdict text '${verdict}'`);
    await shot(page, "05-denied-edge.png");
  }

  // 5. The map is polled with If-None-Match: unchanged data is not loaded again.
  const loads0 = await page.evaluate(() => +document.body.dataset.mapLoads);
  await page.waitForTimeout(1500);
  const loads1 = await page.evaluate(() => +document.body.dataset.mapLoads);
  check("an unchanged map is not reloaded (ETag / 304)", loads1 === loads0, `map loaded ${loads1 - loads0} more times`);

  // 6. Lock the baseline of "data" with the keyboard, then a new edge into it shows in the audit.
  await page.keyboard.press("3");
  const lockButton = page.locator('#baseline-table button.baseline-action[data-ns="data"]');
  await lockButton.waitFor({ timeout: 10000 });
  await lockButton.focus();
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => {
    const row = document.querySelector('#baseline-table tr[data-ns="data"]');
    return row && /locked/.test(row.textContent);
  }, null, { timeout: 10000 });
  const baselines = await apiGet("/api/v1/baselines");
  const data = baselines.baselines.find((b) => b.namespace === "data");
  check("locking a baseline from the console locks it on the server", data && data.state === "locked",
    `the server says ${JSON.stringify(data && data.state)}`);
  await shot(page, "06-baseline-locked.png");

  // A flow the demo never had: redis → postgres on port 7777, into the locked namespace.
  const lines = readFileSync(flowsFile, "utf8").split("\n").filter(Boolean);
  const rec = JSON.parse(lines.find((l) => l.includes('"pod_name":"postgres-0"') && l.includes('"namespace":"data"') &&
    l.includes('"destination_port":5432') && !l.includes('"is_reply":true')));
  rec.flow.uuid = "console-browser-new-edge";
  rec.flow.l4.TCP.destination_port = 7777;
  const post = await fetch(base + "/api/v1/flows", {
    method: "POST",
    headers: { Authorization: "Bearer " + token },
    body: JSON.stringify(rec) + "\n",
  });
  check("the new flow is accepted", post.ok, `POST /api/v1/flows: ${post.status}`);
  await page.keyboard.press("2");
  await page.selectOption("#audit-kind", "outside-baseline");
  const row = page.locator("#audit-table tbody tr", { hasText: "7777" });
  await row.first().waitFor({ timeout: 15000 });
  const rowText = await row.first().textContent();
  check("the new edge's outside-baseline event appears in the audit table",
    /outside-baseline/.test(rowText) && /data\/postgres-0/.test(rowText), `row '${rowText}'`);
  await shot(page, "07-audit-new-edge.png");
  const reloaded = await page.waitForFunction((n) => +document.body.dataset.mapLoads > n, loads1, { timeout: 10000 })
    .then(() => true, () => false);
  const why = await page.evaluate(() => `${document.getElementById("status").textContent} ${document.body.dataset.error || ""}`);
  check("the map reloads when the data changed", reloaded, `map loads stayed at ${loads1}; status: ${why}`);
  await row.first().locator("button.show-edge").click();
  await page.waitForFunction(() => /7777/.test(document.getElementById("d-port")?.textContent || ""), null, { timeout: 10000 });
  const base2 = await page.textContent("#d-baseline");
  check("the audit event links to its edge on the map, outside the locked baseline",
    /outside the baseline/.test(base2), `baseline text '${base2}'`);
  await shot(page, "08-new-edge-on-map.png");

  // 7. The recommended policies, as GET /api/v1/recommendations gives them, per namespace;
  // simulate answers the probe.
  await page.keyboard.press("4");
  const recAll = await apiGet("/api/v1/recommendations?acceptBlocked=true");
  await page.check("#rec-accept");
  await page.click("#rec-load");
  await page.waitForFunction((n) => document.body.dataset.recommended === String(n), recAll.items.length, { timeout: 15000 });
  const recText = await page.textContent("#rec-list");
  check(`the policies panel lists the ${recAll.items.length} recommended policies`,
    recAll.items.length > 0 && recAll.items.every((p) => recText.includes(`${p.metadata.namespace}/${p.metadata.name}`)),
    `list '${recText.slice(0, 200)}'`);
  const recShop = await apiGet("/api/v1/recommendations?acceptBlocked=true&namespace=shop");
  await page.fill("#rec-ns", "shop");
  await page.click("#rec-load");
  await page.waitForFunction((n) => document.body.dataset.recommended === String(n), recShop.items.length, { timeout: 15000 });
  check("a namespace's recommended policies only", (await page.textContent("#rec-list")).split("NetworkPolicy").length - 1 === recShop.items.length);
  // The probe posts "{}": simulate is built and refuses it naming the line (an object without
  // kind), 400.
  await page.waitForFunction(() => /400: request body:1/.test(document.getElementById("endpoint-probe").textContent), null, { timeout: 10000 });
  check("the policies panel reaches simulate", true);
  await shot(page, "09-recommended.png");

  check("no script errors in the page", pageErrors.length === 0, pageErrors.join("; "));
  check("nothing requested outside the server", external.length === 0, external.join(", "));
} catch (e) {
  check("the run", false, e.stack || String(e));
} finally {
  await browser.close();
}
console.log(`console_browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

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
  // Polling only every 10 minutes: every later update has to come through the event stream.
  await page.goto(base + "/?poll=600000");
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
  // The page reads the map in its compact form (?format=columns): the edges it holds are the
  // plain form's, field for field, in the same order.
  const held = await page.evaluate(() => [...window.__stockade.map.edges.values()].map((e) => ({ src: e.src, dst: e.dst,
    protocol: e.protocol, port: e.port, count: e.count, first_seen: e.first_seen, last_seen: e.last_seen,
    outcomes: { established: e.outcomes.established, failed: e.outcomes.failed, dropped: e.outcomes.dropped } })));
  check("the page's edges (read as columns) are the plain map's", JSON.stringify(held) === JSON.stringify(want.edges),
    `first page edge ${JSON.stringify(held[0])}, server ${JSON.stringify(want.edges[0])}`);
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
  // The timeline filters the table: a click on a bar keeps that bar's time range.
  {
    const bars = await page.locator("#timeline rect[data-bucket]").count();
    check("the timeline has bars", bars > 0, "no bar");
    if (bars > 0) {
      await page.locator("#timeline rect[data-bucket]").first().click();
      const shown = await page.evaluate(() => {
        const r = window.__stockade.auditRange;
        const times = [...document.querySelectorAll("#audit-table tbody tr td:first-child")].map((td) => Date.parse(td.textContent.replace(" ", "T")));
        return { n: times.length, inside: r && times.every((t) => t >= r[0] - 1000 && t < r[1] + 1000) };
      });
      check("a click on a timeline bar filters the table to its time", shown.n > 0 && shown.inside, JSON.stringify(shown));
      await page.click("#audit-range-clear");
    }
  }
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

  // 4b. The console follows GET /api/v1/events (server-sent events, read with fetch and the token).
  await page.waitForFunction(() => document.body.dataset.live === "sse", null, { timeout: 15000 }).catch(() => {});
  const live = await page.evaluate(() => [document.body.dataset.live, document.body.dataset.liveWhy]);
  check("the console follows the server's event stream", live[0] === "sse", `live: ${live.join(" ")}`);

  // 5. Nothing changed: the map is not loaded again.
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
  check("the map reloads when the data changed, told by the event stream (no polling)", reloaded, `map loads stayed at ${loads1}; status: ${why}`);
  await row.first().locator("button.show-edge").click();
  await page.waitForFunction(() => /7777/.test(document.getElementById("d-port")?.textContent || ""), null, { timeout: 10000 });
  const base2 = await page.textContent("#d-baseline");
  check("the audit event links to its edge on the map, outside the locked baseline",
    /outside the baseline/.test(base2), `baseline text '${base2}'`);
  await shot(page, "08-new-edge-on-map.png");

  // 7. Select a workload on the map: its draft (the recommended policies that select it, read as
  // "who may call whom") and the simulation of that draft, in the details at once.
  await page.keyboard.press("1");
  await page.selectOption("#by", "workload");
  await page.waitForFunction(() => window.__stockade.by === "workload" && window.__stockade.map.nodes.has("shop/checkout"), null, { timeout: 10000 });
  const recAll = await apiGet("/api/v1/recommendations?acceptBlocked=true");
  const target = "shop/checkout";
  const mapW = await apiGet("/api/v1/map?by=workload");
  await page.evaluate(() => window.__stockade.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 }));
  await page.waitForTimeout(400);
  const xy = await page.evaluate((id) => {
    const s = window.__stockade;
    const box = document.getElementById("graph").getBoundingClientRect();
    const p = s.sigma.framedGraphToViewport(s.sigma.getNodeDisplayData(id));
    return { x: box.left + p.x, y: box.top + p.y };
  }, target);
  await page.mouse.click(xy.x, xy.y);
  await page.waitForFunction((id) => document.getElementById("details").dataset.selected === id, target, { timeout: 10000 });
  await page.waitForFunction(() => document.getElementById("node-sim") && !/simulating/.test(document.getElementById("node-sim").textContent),
    null, { timeout: 15000 });
  const drafted = recAll.items.filter((p) => p.metadata.namespace === "shop" &&
    (p.metadata.annotations || {})["stockade.io/workload"] === "Deployment/checkout").map((p) => p.metadata.name);
  const draftText = await page.textContent("#node-draft");
  // Each established edge into or out of checkout, as a sentence.
  const sentences = mapW.edges.filter((e) => (e.src === target || e.dst === target) && e.outcomes.established > 0)
    .map((e) => `${e.src.startsWith("shop/") ? e.src.slice(5) : e.src} may call ${e.dst.startsWith("shop/") ? e.dst.slice(5) : e.dst} on ${e.protocol}/${e.port}`);
  check(`selecting ${target} shows its draft (${drafted.join(", ")}) as sentences`,
    drafted.length > 0 && drafted.every((n) => draftText.includes(n)) && sentences.length > 0 && sentences.every((t) => draftText.includes(t)),
    `draft card '${draftText.slice(0, 400)}', want ${drafted.join(", ")} and ${sentences.join("; ")}`);
  const draftMs = await page.evaluate(() => document.body.dataset.draftMs);
  console.log(`console_browser: click → draft and simulation on screen: ${draftMs} ms`);
  await shot(page, "10-workload-draft.png");

  // 8. Decide: the workload, and an edge of the demo marked denied (a guardrail).
  await page.click("#decide-node");
  const guard = mapW.edges.find((e) => e.src === "shop/frontend" && e.dst === "shop/cart" && e.outcomes.established > 0);
  check("the demo has frontend → cart", !!guard, "no such edge");
  const guardKey = `${guard.src}|${guard.dst}|${guard.protocol.toUpperCase()}|${guard.port}`;
  await page.click(`#edge-list li[data-key="${guardKey}"]`);
  await page.click('button.decide-edge[data-mark="deny"]');
  await page.keyboard.press("4");
  await page.waitForFunction((n) => +document.body.dataset.draftPolicies === n, drafted.length + 1, { timeout: 10000 })
    .catch(() => {});
  const yaml = await page.textContent("#draft-yaml");
  const summary = await page.textContent("#draft-summary");
  check("the decision's draft holds the workload's recommended policies and the guardrail, as YAML",
    drafted.every((n) => yaml.includes(`name: "${n}"`)) && /kind: "AdminNetworkPolicy"/.test(yaml) && /action: "Deny"/.test(yaml) &&
      summary.includes(`frontend may not call cart on ${guard.protocol}/${guard.port}`),
    `summary '${summary}', yaml ${yaml.length} bytes`);
  check("the draft can be downloaded for Git", await page.evaluate(() => !document.getElementById("draft-download").hidden &&
    document.getElementById("draft-download").href.startsWith("blob:")), "no download link");
  await shot(page, "11-decide-draft.png");

  // 9. Simulate the decision: POST /api/v1/simulate, the `diff --flows -o json` object.
  await page.click("#simulate");
  await page.waitForFunction(() => document.getElementById("decide-sim") && !/simulating/.test(document.getElementById("decide-sim").textContent),
    null, { timeout: 20000 });
  const simDirect = await fetch(base + "/api/v1/simulate", {
    method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": "application/yaml" }, body: yaml,
  });
  if (simDirect.status === 501) {
    const t = await page.textContent("#decide-sim");
    check("the simulation's absence (501 from this server) is said, not faked", /unavailable/.test(t) && /501/.test(t), `'${t}'`);
  } else {
    const sim = await simDirect.json();
    const broken = (sim.flows.changes || []).filter((c) => c.after === "denied").length;
    const shown = await page.evaluate(() => +document.getElementById("decide-sim").dataset.broken);
    check(`the simulation shows the ${broken} observed edge(s) the decision would break`, simDirect.ok && shown === broken,
      `${simDirect.status}; page says ${shown}`);
  }
  await shot(page, "12-simulate.png");

  // 10. Dry run, then apply, with the user's token.
  await page.click("#apply-dry");
  await page.waitForFunction(() => /^dry-/.test(document.body.dataset.applyStatus || ""), null, { timeout: 20000 });
  const dry = await page.evaluate(() => document.body.dataset.applyStatus);
  // What the server answers to the same dry run (a dry run changes nothing).
  const dryDirect = await fetch(base + "/api/v1/apply?dryRun=All", {
    method: "POST", headers: { Authorization: "Bearer " + token, "Content-Type": "application/yaml" }, body: yaml,
  });
  if (dryDirect.ok) {
    check("the dry run is accepted and enables Apply", dry === "dry-ok" && !(await page.isDisabled("#apply")), dry);
  } else {
    const said = await page.textContent("#apply-status");
    check(`a refused dry run (${dryDirect.status} from this server${dryDirect.status === 501 ? ": not built yet" : ""}) is said, and Apply stays disabled`,
      dry === `dry-${dryDirect.status}` && said.includes(String(dryDirect.status)) && (await page.isDisabled("#apply")), `${dry}; '${said}'`);
  }
  await shot(page, "13-apply.png");

  // 11. The recommended policies of every namespace, and of one.
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
  await shot(page, "14-recommended.png");

  // 12. Posture: the scan's findings, the policy category (the sock-shop fixture's dead
  // selectors, with their "did you mean"), the ranked workloads linking to the map.
  const posture = await apiGet("/api/v1/posture");
  await page.keyboard.press("5");
  await page.waitForFunction((n) => +document.body.dataset.postureFindings === n, posture.findings.length, { timeout: 15000 });
  const policyText = await page.textContent("#policy-findings");
  const lint = posture.findings.filter((f) => f.id.startsWith("POLICY_"));
  check(`the policy section lists the scan's ${lint.length} policy findings`,
    lint.length > 0 && lint.every((f) => policyText.includes(f.message)) && /did you mean name=carts/.test(policyText),
    `policy section '${policyText.slice(0, 300)}'`);
  await page.selectOption("#posture-category", "policy");
  check("the findings filter by category", (await page.textContent("#posture-count")).startsWith(`${lint.length} of ${posture.findings.length}`),
    await page.textContent("#posture-count"));
  await shot(page, "15-posture.png");
  const ranked = posture.risk.find((r) => mapW.nodes.some((n) => n.id === `${r.resource.namespace}/${r.resource.name}`));
  check("a ranked workload is on the map", !!ranked, "none");
  if (ranked) {
    const id = `${ranked.resource.namespace}/${ranked.resource.name}`;
    await page.click(`#risk-table button.posture-map[data-node="${id}"]`);
    await page.waitForFunction((k) => document.getElementById("details").dataset.selected === k, id, { timeout: 10000 });
    check(`a ranked workload links to its node on the map (${id})`, true);
    await shot(page, "16-posture-on-map.png");
  }

  // 13. A dense map (here: at most 10 lines drawn at first, ?drawMax=10): the quieter lines
  // join the canvas when a node is selected, a search is typed or every line is asked for.
  {
    const p2 = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    p2.on("pageerror", (e) => pageErrors.push(String(e)));
    await p2.goto(base + "/?poll=600000&drawMax=10");
    await p2.locator("#login").waitFor({ state: "visible", timeout: 15000 });
    await p2.fill("#token", token);
    await p2.press("#token", "Enter");
    await p2.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30000 });
    const lines0 = await p2.evaluate(() => [+document.body.dataset.linesDrawn, window.__stockade.lines.size]);
    check(`a dense map draws its busiest lines first (${lines0[0]} of ${lines0[1]})`, lines0[0] >= 10 && lines0[0] < lines0[1],
      JSON.stringify(lines0));
    const quiet = await p2.evaluate(() => {
      const s = window.__stockade;
      for (const [pk, l] of s.lines) if (!s.graph.hasEdge(String(pk))) return l.src === l.dst ? null : l.dst;
      return null;
    });
    // Select the node through the map's own click path: its details and its lines.
    const xy = await p2.evaluate((id) => {
      const s = window.__stockade;
      const box = document.getElementById("graph").getBoundingClientRect();
      s.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
      const p = s.sigma.framedGraphToViewport(s.sigma.getNodeDisplayData(id));
      return { x: box.left + p.x, y: box.top + p.y };
    }, quiet);
    await p2.waitForTimeout(400);
    await p2.mouse.click(xy.x, xy.y);
    await p2.waitForFunction((id) => document.getElementById("details").dataset.selected === id, quiet, { timeout: 10000 });
    await p2.waitForFunction((n) => +document.body.dataset.linesDrawn > n, lines0[0], { timeout: 10000 }).catch(() => {});
    const lines1 = await p2.evaluate((id) => [+document.body.dataset.linesDrawn, (window.__stockade.adj.get(id) || []).every((pk) => window.__stockade.graph.hasEdge(String(pk)))], quiet);
    check(`selecting ${quiet} draws its quieter lines too`, lines1[0] > lines0[0] && lines1[1], JSON.stringify(lines1));
    await p2.check("#draw-all");
    const lines2 = await p2.evaluate(() => +document.body.dataset.linesDrawn);
    check("'draw every line' draws them all", lines2 === lines0[1], `${lines2} of ${lines0[1]}`);
    await p2.screenshot({ path: join(out, "17-dense-all-lines.png") });
    await p2.close();
  }

  check("no script errors in the page", pageErrors.length === 0, pageErrors.join("; "));
  check("nothing requested outside the server", external.length === 0, external.join(", "));
} catch (e) {
  check("the run", false, e.stack || String(e));
} finally {
  await browser.close();
}
console.log(`console_browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// The browser half of console_apply_browser (apply_test.py starts the API server, the server and
// the grants): headless Chromium signs in with the user's token, selects WORKLOAD on the map,
// adds it to the decision, reads the draft, simulates, dry-runs and applies it. The YAML the
// console previewed (and dry-ran, and applied) is written to OUT/previewed.yaml for
// apply_test.py to compare with what the API server then holds. Screenshots in OUT.
//   node console_apply.mjs BASE_URL TOKEN_FILE WORKLOAD OUT
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../web/console/package.json"));
const { chromium } = require("playwright-core");

const [base, tokenFile, target, out] = process.argv.slice(2);
const token = readFileSync(tokenFile, "utf8").trim();
const NAME = "console_apply_browser";
let failed = 0;
function check(name, ok, why) {
  if (!ok) failed++;
  console.log(`${NAME}: ${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : ": " + why}`);
}
async function shot(page, name) {
  await page.screenshot({ path: join(out, name) });
  console.log(`${NAME}: screenshot ${join(out, name)}`);
}
async function api(path, init = {}) {
  return fetch(base + path, { ...init, headers: { Authorization: "Bearer " + token, ...(init.headers || {}) } });
}
// Generous waits: a condition, never a fixed sleep deciding the outcome (a busy 2-core machine).
const LONG = { timeout: 60000 };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--disable-gpu",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await page.goto(base + "/?poll=600000");
  await page.locator("#login").waitFor({ state: "visible", ...LONG });
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, LONG);
  await page.selectOption("#by", "workload");
  await page.waitForFunction((id) => window.__stockade.by === "workload" && window.__stockade.map.nodes.has(id), target, LONG);
  await shot(page, "a1-map.png");

  // Select a workload with a mouse click on its node.
  async function clickNode(id) {
    await page.keyboard.press("1");
    await page.evaluate(() => window.__stockade.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 }));
    for (let i = 0; i < 10; i++) {
      // The camera settles before its coordinates are read; apart by more than a double click.
      await page.waitForTimeout(400);
      const xy = await page.evaluate((id) => {
        const s = window.__stockade;
        const box = document.getElementById("graph").getBoundingClientRect();
        const p = s.sigma.framedGraphToViewport(s.sigma.getNodeDisplayData(id));
        return { x: box.left + p.x, y: box.top + p.y };
      }, id);
      await page.mouse.click(xy.x, xy.y);
      const ok = await page.waitForFunction((id) => document.getElementById("details").dataset.selected === id, id, { timeout: 5000 })
        .then(() => true, () => false);
      if (ok) return true;
    }
    return false;
  }
  check(`a click on ${target} selects it`, await clickNode(target), "not selected after 10 clicks");
  await page.waitForFunction(() => document.getElementById("node-sim") && !/simulating/.test(document.getElementById("node-sim").textContent), null, LONG);
  console.log(`${NAME}: click → draft and simulation on screen: ${await page.evaluate(() => document.body.dataset.draftMs)} ms`);
  await shot(page, "a2-workload-draft.png");

  // Decide: the workload; the draft as YAML in the Decide tab.
  await page.click("#decide-node");
  await page.keyboard.press("4");
  await page.waitForFunction(() => +document.body.dataset.draftPolicies > 0, null, LONG);
  const yaml = await page.textContent("#draft-yaml");
  const recs = await (await api("/api/v1/recommendations?acceptBlocked=true")).json();
  const [ns, name] = target.split("/");
  const mine = recs.items.filter((p) => p.metadata.namespace === ns &&
    ((p.metadata.annotations || {})["stockade.io/workload"] || "").endsWith("/" + name)).map((p) => p.metadata.name);
  check(`the draft holds ${target}'s recommended policies (${mine.join(", ")})`,
    mine.length > 0 && mine.every((n) => yaml.includes(`name: "${n}"`)), `yaml: ${yaml.slice(0, 300)}`);
  await shot(page, "a3-decide-draft.png");

  // Simulate (the real endpoint): the page's count equals the server's answer to the same YAML.
  await page.click("#simulate");
  await page.waitForFunction(() => document.getElementById("decide-sim") && !/simulating/.test(document.getElementById("decide-sim").textContent), null, LONG);
  const simRes = await api("/api/v1/simulate", { method: "POST", headers: { "Content-Type": "application/yaml" }, body: yaml });
  const sim = simRes.ok ? await simRes.json() : null;
  const broken = sim ? (sim.flows.changes || []).filter((c) => c.after === "denied").length : -1;
  const shown = await page.evaluate(() => +document.getElementById("decide-sim").dataset.broken);
  check(`the simulation shows the ${broken} observed edge(s) the draft would break`, simRes.ok && shown === broken, `${simRes.status}; page ${shown}`);
  await shot(page, "a4-simulate.png");

  // Dry run: nothing is created; Apply is enabled only after it.
  check("Apply is disabled before a dry run", await page.isDisabled("#apply"), "enabled");
  await page.click("#apply-dry");
  await page.waitForFunction(() => /^dry-/.test(document.body.dataset.applyStatus || ""), null, LONG);
  const dry = await page.evaluate(() => document.body.dataset.applyStatus);
  const dryText = await page.textContent("#apply-result");
  check("the dry run, as the user, is accepted and enables Apply", dry === "dry-ok" && !(await page.isDisabled("#apply")),
    `${dry}: ${dryText.slice(0, 300)}`);
  await shot(page, "a5-dry-run.png");
  // What the console applies is what it previewed and dry-ran.
  writeFileSync(join(out, "previewed.yaml"), yaml);

  await page.click("#apply");
  await page.waitForFunction(() => /^apply-/.test(document.body.dataset.applyStatus || ""), null, LONG);
  const applied = await page.evaluate(() => document.body.dataset.applyStatus);
  const result = await page.textContent("#apply-result");
  let objects = [];
  try {
    objects = JSON.parse(result).objects || [];
  } catch (_) {}
  check(`apply is accepted and creates ${mine.length} policies`, applied === "apply-ok" &&
    objects.length === mine.length && objects.every((o) => o.action === "created"), `${applied}: ${result.slice(0, 400)}`);
  await shot(page, "a6-applied.png");

  // The apply is an audit event (kind "applied", by the user, naming each policy written), and
  // the console shows it: "see the audit event" opens the audit filtered to applies.
  await page.click("#apply-audit");
  const names = objects.map((o) => `${o.kind} ${o.namespace}/${o.name} (created)`);
  await page.waitForFunction((names) => [...document.querySelectorAll("#audit-table tbody tr")].some((tr) =>
    tr.textContent.includes("applied by nobody") && names.every((n) => tr.textContent.includes(n))), names, LONG).catch(() => {});
  const rows = await page.$$eval("#audit-table tbody tr", (trs) => trs.map((tr) => tr.textContent.replace(/\s+/g, " ").trim()));
  const auditRes = await api("/api/v1/audit?limit=10000");
  const events = auditRes.ok ? (await auditRes.json()).events.filter((e) => e.kind === "applied") : [];
  check(`the apply is one audit event by "nobody" naming the ${objects.length} policies, shown in the console's audit`,
    events.length === 1 && events[0].src === "nobody" && events[0].detail.by === "nobody" &&
    events[0].detail.objects.length === objects.length &&
    objects.every((o) => events[0].detail.objects.some((e) => e.kind === o.kind && e.namespace === o.namespace && e.name === o.name && e.action === "created")) &&
    rows.length === 1 && names.every((n) => rows[0].includes(n)) && rows[0].includes("applied by nobody") &&
    (await page.inputValue("#audit-kind")) === "applied",
    `${auditRes.status} ${JSON.stringify(events).slice(0, 400)}; rows ${JSON.stringify(rows).slice(0, 400)}`);
  await shot(page, "a6b-audit-event.png");

  // The user may write policies in one namespace only: a draft for a workload of another is
  // refused by the API server *for the user* (the server's own identity could write it).
  const other = "data/redis";
  await page.keyboard.press("4");  // back from the audit to the decision
  await page.click("#decide-clear");
  check(`a click on ${other} selects it`, await clickNode(other), "not selected after 10 clicks");
  await page.click("#decide-node");
  await page.keyboard.press("4");
  await page.waitForFunction(() => +document.body.dataset.draftPolicies > 0 && /namespace: "data"/.test(document.getElementById("draft-yaml").textContent), null, LONG);
  await page.click("#apply-dry");
  await page.waitForFunction(() => /^dry-/.test(document.body.dataset.applyStatus || ""), null, LONG);
  const refused = await page.evaluate(() => document.body.dataset.applyStatus);
  const why = await page.textContent("#apply-result");
  check(`a draft for ${other} is refused for the user (403, "User \"nobody\" cannot"), Apply stays disabled`,
    refused === "dry-403" && why.includes('User \\"nobody\\" cannot') && (await page.isDisabled("#apply")), `${refused}: ${why.slice(0, 300)}`);
  await shot(page, "a7-refused-for-the-user.png");
  const after = await api("/api/v1/audit?limit=10000");
  const appliedAfter = after.ok ? (await after.json()).events.filter((e) => e.kind === "applied").length : -1;
  check("dry runs and a refused draft write no audit event", appliedAfter === 1, `${appliedAfter} applied events`);
  check("no script errors in the page", pageErrors.length === 0, pageErrors.join("; "));
} catch (e) {
  check("the run", false, e.stack || String(e));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);

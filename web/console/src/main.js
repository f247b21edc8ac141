// The web console of `stockade serve`: the live map, edge explanations from the audit, the
// audit timeline and table, the namespace baselines with lock/unlock. Everything comes from the
// server's /api/v1 at run time; the bearer token (when the server asks for one) is kept in this
// tab's sessionStorage.
import Graph from "graphology";
import Sigma from "sigma";
import { EdgeLineProgram } from "sigma/rendering";
import { layout } from "./layout.js";
import { podInGroup, summarizeDetail, edgeKey, mapEdges } from "./model.js";
import { indexEdges, drawThreshold } from "./edges.js";
import { followEvents } from "./live.js";
import { renderPolicyFindings, renderRisk, renderFindings, summaryText } from "./posture.js";
import { buildDraft, draftYaml, readableSummary, readSimulation, policiesOfWorkload } from "./decide.js";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "stockade.token";
const params = new URLSearchParams(location.search);
// Poll period in ms; the browser test shortens it with ?poll=.
const POLL_MS = Math.max(200, Number(params.get("poll")) || 3000);
const MAX_AUDIT = 20000;
const MAX_LIST = 400;
// Picking edges under the mouse draws every edge a second time into an offscreen buffer; past
// this many edges the edge list (and the audit links) select edges instead of the canvas.
const EDGE_EVENTS_MAX = Number(params.get("edgeEvents")) || 10000;
// Lines drawn at most on a dense map until "draw every line" (see renderMap).
const DRAW_MAX = Number(params.get("drawMax")) || 10000;

const state = {
  // ?by=pod|workload|namespace: the map's granularity at first.
  by: ["pod", "workload", "namespace"].includes(params.get("by")) ? params.get("by") : "workload",
  window: "",
  etag: null,
  mapKey: "",
  map: null,
  graph: null,
  sigma: null,
  positions: new Map(),
  selected: null, // {type: "edge"|"node", key}
  outcomes: { established: true, failed: true, dropped: true },
  search: "",
  audit: [],
  auditIds: new Set(),
  auditSince: "",
  baselines: [],
  view: "map",
  loads: 0,
  // The decision being drafted: workloads (ids), edges marked allowed / denied (key → edge).
  decision: { workloads: new Set(), allow: new Map(), deny: new Map() },
  recs: null, // GET /api/v1/recommendations?acceptBlocked=true: {items} or {error}
  recsStale: true,
  sims: new Map(), // draft YAML → simulation answer (or {error})
  posture: null,
  postureStale: true,
  live: "starting", // "sse" while the event stream is open, "polling" otherwise
  sseEvents: 0,
};
// For the browser test and the benchmark: a read-only look at what the page holds.
window.__stockade = state;

// Where the time of the first load goes (the TTI benchmark reads these marks).
function mark(name) {
  if (state.loads === 0 && performance.mark) performance.mark(name);
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function setStatus(text, error) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", !!error);
}
function fmtTime(t) {
  return t ? String(t).replace("T", " ").replace(/\.\d+Z$|Z$/, "Z") : "—";
}

// ---------------------------------------------------------------- the API and the token

let loginPending = null;
function askToken(message) {
  if (loginPending) return loginPending;
  loginPending = new Promise((resolve) => {
    $("login-msg").textContent = message || "";
    $("login").hidden = false;
    const input = $("token");
    input.value = "";
    input.focus();
    $("login-form").onsubmit = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $("login").hidden = true;
      $("logout").hidden = false;
      loginPending = null;
      resolve();
    };
  });
  return loginPending;
}

async function api(path, opts = {}) {
  for (;;) {
    const headers = Object.assign({}, opts.headers || {});
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(path, Object.assign({}, opts, { headers, cache: "no-store" }));
    if (res.status !== 401) return res;
    let msg = "";
    try {
      msg = (await res.json()).error || "";
    } catch (_) {}
    if (token) {
      sessionStorage.removeItem(TOKEN_KEY);
      msg = "The server refused the token: " + msg;
    }
    await askToken(msg);
  }
}

async function errorOf(res) {
  try {
    const j = await res.json();
    return `${res.status}: ${j.error || JSON.stringify(j)}`;
  } catch (_) {
    return `${res.status} ${res.statusText}`;
  }
}

// ---------------------------------------------------------------- the map

function nodeColor(n) {
  if (n.kind === "External" || n.kind === "Node" || n.kind === "World" || n.namespace === "world" || n.namespace === "")
    return "#8a8f98";
  const i = n.isolated || {};
  if (i.ingress && i.egress) return "#3fb68b";
  if (i.ingress) return "#2fa4b8";
  if (i.egress) return "#b3a23a";
  return "#e07b39";
}
function edgeColor(e) {
  const o = e.outcomes || {};
  if (o.dropped > 0) return "#e5484d";
  if (o.failed > 0) return "#f0a030";
  return "#5b8def";
}

function verifyKey() {
  return `${state.by}|${state.window || ""}|${state.etag || ""}`;
}

async function loadVerify() {
  const key = verifyKey();
  if (state.verifyLoading === key) return;
  state.verifyLoading = key;
  try {
    const q = new URLSearchParams({ by: state.by });
    if (state.window) q.set("since", state.window);
    const res = await api("/api/v1/verify?" + q.toString());
    const rows = new Map();
    state.verifyError = "";
    if (res.ok) {
      for (const r of (await res.json()).edges || []) {
        const k = `${r.src}|${r.dst}|${String(r.protocol).toUpperCase()}|${r.port}`;
        if (!rows.has(k)) rows.set(k, []);
        rows.get(k).push(r);  // a pair whose pods' edges differ has a row per verdict
      }
    } else {
      state.verifyError = await errorOf(res);
    }
    state.verify = rows;
    state.verifyKey = key;
  } catch (err) {
    state.verifyError = String(err);
    state.verifyKey = key;
  } finally {
    state.verifyLoading = "";
  }
  showDetails();
}

async function loadMap() {
  // The compact form (edge_columns); a server that does not know it answers the plain one.
  const q = new URLSearchParams({ by: state.by, format: "columns" });
  if (state.window) q.set("since", state.window);
  const key = q.toString();
  const headers = {};
  if (state.etag && state.mapKey === key) headers["If-None-Match"] = state.etag;
  const res = await api("/api/v1/map?" + key, { headers });
  if (res.status === 304) return false;
  if (!res.ok) throw new Error("map: " + (await errorOf(res)));
  mark("map-response");
  const data = await res.json();
  mark("map-parsed");
  state.etag = res.headers.get("ETag");
  state.mapKey = key;
  // New data: the recommendations and the simulations of drafts are answers about the old.
  state.recsStale = true;
  state.sims = new Map();
  renderMap(data, key);
  return true;
}

function edgePrograms(dense) {
  return dense ? { line: EdgeLineProgram, arrow: EdgeLineProgram } : {};
}

function renderMap(data, key) {
  const nodes = Array.isArray(data.nodes) ? data.nodes : [];
  // One line per ordered pair of nodes: the edges of a pair (its ports) would be drawn on top of
  // each other, and a simple graph is cheaper to build and draw than a multigraph. A click on
  // the line selects the pair's busiest edge; the details list the pair's other ports.
  const index = indexEdges(nodes, mapEdges(data), data.edge_columns);
  const lines = index.lines;
  state.map = { nodes: new Map(nodes.map((n) => [n.id, n])), edges: index.edges, summary: data.summary || {} };
  const pos = layout(nodes, state.positions);
  state.positions = pos;
  mark("layout");
  const g = new Graph({ multi: false, type: "directed", allowSelfLoops: true });
  for (const n of nodes) {
    const p = pos.get(n.id);
    g.addNode(n.id, {
      x: p.x,
      y: p.y,
      size: 3 + Math.log2(1 + index.degree(n.id)),
      color: nodeColor(n),
      label: n.id,
    });
  }
  const edgeCount = index.edges.size;
  const arrows = edgeCount <= 20000;
  // Thin lines on dense maps: they read better, and every pixel of a line costs fill time.
  const dense = edgeCount > 10000;
  const type = arrows && !dense ? "arrow" : "line";
  // On a map of more lines than DRAW_MAX, the quieter lines are not drawn until asked for
  // ("draw every line"), selected or searched: each line drawn costs raster time in software
  // WebGL on every frame, and each line in the graph costs building and processing time. They
  // join the graph when they are to be drawn (ensureLine). Every edge stays in the list, the
  // search and the selection.
  state.drawMin = drawThreshold(lines, DRAW_MAX);
  state.lineAttrs = (l) => ({
    weight: l.count,
    size: dense ? 0.5 : 0.6 + Math.log10(1 + l.count) / 2,
    color: edgeColor({ outcomes: { dropped: l.dropped ? 1 : 0, failed: l.failed ? 1 : 0 } }),
    type,
  });
  // A line's key in the graph is its pair id as text.
  for (const l of lines.values())
    if (l.count >= state.drawMin || state.drawAll) g.addDirectedEdgeWithKey(String(l.id), l.src, l.dst, state.lineAttrs(l));
  document.body.dataset.linesDrawn = String(g.size);
  state.lines = lines;
  state.adj = index.adj;
  state.pairId = index.pairId;
  state.graph = g;
  mark("graph-built");
  const fresh = !state.sigma;
  if (!state.sigma) {
    state.sigma = new Sigma(g, $("graph"), {
      enableEdgeEvents: lines.size <= EDGE_EVENTS_MAX,
      // The map updates while another view is shown (its container hidden, zero-sized).
      allowInvalidContainer: true,
      labelRenderedSizeThreshold: g.order <= 300 ? 0 : g.order <= 2000 ? 7 : 100,
      renderEdgeLabels: false,
      labelColor: { color: "#d8dee6" },
      // Panning a dense map redraws every line per frame; without them while the camera moves.
      hideEdgesOnMove: lines.size > 10000,
      defaultEdgeType: "line",
      // A dense map's edges are 1-pixel GL lines (2 vertices each, not a 6-vertex rectangle),
      // and only that program is compiled (shader compilation is slow in software WebGL).
      edgeProgramClasses: edgePrograms(dense),
      // Sorting 50,000 edges by z-index on every frame costs more than the highlight is worth.
      zIndex: lines.size <= EDGE_EVENTS_MAX,
      nodeReducer,
      edgeReducer,
    });
    state.sigma.on("clickEdge", ({ edge }) => {
      const l = state.lines.get(+edge);
      if (l) select({ type: "edge", key: edgeKey(l.edges[0]) });
    });
    state.sigma.on("clickNode", ({ node }) => select({ type: "node", key: node }));
    state.sigma.on("clickStage", () => select(null));
  } else {
    if (state.dense !== dense) state.sigma.setSetting("edgeProgramClasses", edgePrograms(dense));
    state.sigma.setGraph(g);
    if (key !== state.shownKey) state.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
  }
  state.shownKey = key;
  state.dense = dense;
  mark("sigma-drawn");
  // Every label on small maps; on large ones only the bigger nodes' (sigma also skips overlaps).
  const labels = g.order <= 300 ? 0 : g.order <= 2000 ? 7 : 100;
  if (state.sigma.getSetting("labelRenderedSizeThreshold") !== labels) state.sigma.setSetting("labelRenderedSizeThreshold", labels);
  const edgeEvents = lines.size <= EDGE_EVENTS_MAX;
  if (state.sigma.getSetting("enableEdgeEvents") !== edgeEvents) state.sigma.setSetting("enableEdgeEvents", edgeEvents);
  if (state.selected && !(state.selected.type === "edge" ? state.map.edges.has(state.selected.key) : g.hasNode(state.selected.key)))
    state.selected = null;
  state.loads++;
  // A new sigma has just drawn the graph with the reducers: no second frame for the filters.
  refreshFilters(!fresh);
  showDetails();
  document.body.dataset.nodes = String(g.order);
  document.body.dataset.edges = String(state.map.edges.size);
  document.body.dataset.mapLoads = String(state.loads);
}

function searchMatchesNode(id) {
  const t = state.search;
  if (!t) return true;
  if (id.toLowerCase().includes(t)) return true;
  const n = state.map.nodes.get(id);
  if (!n) return false;
  if (n.kind && n.kind.toLowerCase() === t) return true;
  for (const [k, v] of Object.entries(n.labels || {})) if (`${k}=${v}`.toLowerCase().includes(t)) return true;
  return false;
}
// The selected edge (its object), looked up once per selection and map.
let selEdgeOf = null;
function selectedEdge() {
  const sel = state.selected;
  if (!sel || sel.type !== "edge" || !state.map) return null;
  if (!selEdgeOf || selEdgeOf.key !== sel.key || selEdgeOf.map !== state.map)
    selEdgeOf = { key: sel.key, map: state.map, edge: state.map.edges.get(sel.key) || null };
  return selEdgeOf.edge;
}
function edgePasses(e) {
  if (!e) return false;
  const o = e.outcomes || {};
  const any = (state.outcomes.established && o.established > 0) || (state.outcomes.failed && o.failed > 0) ||
    (state.outcomes.dropped && o.dropped > 0) || (!o.established && !o.failed && !o.dropped);
  if (!any) return false;
  if (!state.search) return true;
  return String(e.port) === state.search || searchMatchesNode(e.src) || searchMatchesNode(e.dst);
}

function nodeReducer(node, attrs) {
  const sel = state.selected;
  const res = Object.assign({}, attrs);
  if (sel && sel.type === "node" && sel.key === node) {
    res.highlighted = true;
    res.zIndex = 2;
  } else if (sel && sel.type === "edge") {
    const e = selectedEdge();
    if (e && (e.src === node || e.dst === node)) {
      res.highlighted = true;
      res.zIndex = 2;
    }
  }
  if (state.search && !searchMatchesNode(node)) {
    res.color = "#3a434d";
    res.label = "";
  }
  return res;
}
// `edge` is a pair "src|dst": shown when one of its edges passes the filters.
function edgeReducer(edge, attrs) {
  const l = state.lines.get(+edge);
  if (!l || !l.edges.some(edgePasses)) return Object.assign({}, attrs, { hidden: true });
  const sel = state.selected;
  let hit = false;
  if (sel && sel.type === "edge") hit = l.edges.includes(selectedEdge());
  else if (sel) hit = l.src === sel.key || l.dst === sel.key;
  if (hit) return Object.assign({}, attrs, { color: "#ffffff", size: attrs.size + 1.5, zIndex: 2 });
  if (attrs.weight < state.drawMin && !state.drawAll && !state.search) return Object.assign({}, attrs, { hidden: true });
  return attrs;
}

function refreshFilters(render = true) {
  if (!state.sigma) return;
  if (state.drawMin > 0 && state.drawAll) ensureLines(state.lines.keys());
  else if (state.drawMin > 0 && state.search)
    ensureLines([...state.lines.values()].filter((l) => l.edges.some(edgePasses)).map((l) => l.id));
  if (render) state.sigma.refresh({ skipIndexation: true });
  // The edge list: the edges the filters leave, busiest first.
  const list = [];
  for (const e of state.map.edges.values()) if (edgePasses(e)) list.push(e);
  list.sort((a, b) => (b.count || 0) - (a.count || 0));
  const ul = $("edge-list");
  const shown = list.slice(0, MAX_LIST);
  ul.innerHTML = shown
    .map((e) => {
      const k = edgeKey(e);
      return `<li role="option" tabindex="0" data-key="${esc(k)}" aria-selected="${state.selected && state.selected.key === k}">` +
        `<span class="sw ${e.outcomes && e.outcomes.dropped ? "dropped" : e.outcomes && e.outcomes.failed ? "failed" : "established"}"></span>` +
        `${esc(e.src)} → ${esc(e.dst)} ${esc(e.protocol)}/${esc(e.port)} ×${e.count}</li>`;
    })
    .join("");
  const total = state.map.edges.size;
  $("search-msg").textContent = `${list.length} of ${total} edges shown` + (list.length > MAX_LIST ? ` (list: the ${MAX_LIST} busiest)` : "");
  const quiet = state.drawMin > 0 && !state.drawAll && !state.search;
  $("draw-all-card").hidden = !(state.drawMin > 0);
  $("draw-all-msg").textContent = quiet ? `the ${DRAW_MAX} busiest of ${state.lines.size} lines are drawn` : "";
  document.body.dataset.visibleEdges = String(list.length);
}

// ---------------------------------------------------------------- selection and details

let canvasTimer = 0;
let canvasJob = null;
function deferCanvas(job) {
  canvasJob = job;
  clearTimeout(canvasTimer);
  // At the latest after a second; earlier when the details say they are complete.
  canvasTimer = setTimeout(flushCanvas, 1000);
  if (!state.clickAt) requestAnimationFrame(() => setTimeout(flushCanvas, 0));
}
function flushCanvas() {
  clearTimeout(canvasTimer);
  const job = canvasJob;
  canvasJob = null;
  if (job) job();
}

// A line joins the graph (to be drawn) if it is not in it yet; false when there is no such line.
// Added while sigma runs, it is processed with the next frame.
function ensureLine(pk) {
  const g = state.graph;
  if (g.hasEdge(String(pk))) return true;
  const l = state.lines && state.lines.get(+pk);
  if (!l) return false;
  g.addDirectedEdgeWithKey(String(pk), l.src, l.dst, state.lineAttrs(l));
  state.linesAdded = (state.linesAdded || 0) + 1;
  return true;
}
function ensureLines(keys) {
  for (const pk of keys) ensureLine(pk);
  document.body.dataset.linesDrawn = String(state.graph.size);
}

// The nodes and lines a selection highlights (for a partial redraw).
function touched(sel) {
  const out = { nodes: [], edges: [] };
  const g = state.graph;
  if (!sel || !g) return out;
  if (sel.type === "node" && g.hasNode(sel.key)) {
    out.nodes.push(sel.key);
    out.edges.push(...(state.adj.get(sel.key) || []).map(String));
  } else if (sel.type === "edge") {
    const e = state.map.edges.get(sel.key);
    const id = e ? state.pairId(e.src, e.dst) : -1;
    if (state.lines.has(id)) {
      out.nodes.push(e.src, e.dst);
      out.edges.push(String(id));
    }
  }
  return out;
}

function select(sel) {
  const before = touched(state.selected);
  state.selected = sel;
  // From the click to the draft and its simulation on screen (body[data-draft-ms]).
  state.clickAt = sel && sel.type === "node" ? performance.now() : 0;
  if (state.sigma) {
    // On a large map only what the selection changes is reduced and redrawn again (a full
    // refresh reprocesses every line); with z-ordering (small maps) everything is re-sorted.
    const after = touched(sel);
    // The selection's quieter lines join the graph when the canvas is redrawn (after the
    // details); lines new to the graph are not indexed yet, so that is a full refresh.
    const missing = after.edges.filter((pk) => !state.graph.hasEdge(pk));
    const partial = state.sigma.getSetting("zIndex")
      ? null
      : { nodes: [...new Set([...before.nodes, ...after.nodes])], edges: [...new Set([...before.edges, ...after.edges])] };
    const redraw = () => {
      if (missing.length) {
        ensureLines(missing);
        state.sigma.refresh();
      } else if (partial) {
        partial.edges = partial.edges.filter((pk) => state.graph.hasEdge(pk));
        state.sigma.refresh({ partialGraph: partial, skipIndexation: true });
      }
      else state.sigma.refresh({ skipIndexation: true });
    };
    // Drawing a dense map in software WebGL takes a good part of a second: the details (the
    // draft and its simulation) go on screen first, the highlight on the canvas after them.
    if (state.lines.size > 10000) deferCanvas(redraw);
    else redraw();
  }
  for (const li of $("edge-list").children) li.setAttribute("aria-selected", String(!!sel && li.dataset.key === sel.key));
  showDetails();
  // No simulation to wait for: the canvas after this frame.
  if (canvasJob && !/simulating/.test(($("node-sim") || {}).textContent || ""))
    requestAnimationFrame(() => setTimeout(flushCanvas, 0));
}

function auditFor(e) {
  const by = state.by;
  return state.audit.filter((ev) => {
    if (ev.port !== e.port || String(ev.protocol).toUpperCase() !== String(e.protocol).toUpperCase()) return false;
    if (by === "pod") return ev.src === e.src && ev.dst === e.dst;
    return podInGroup(ev.src, e.src, by) && podInGroup(ev.dst, e.dst, by);
  });
}

function nsOf(id) {
  const i = id.indexOf("/");
  return i > 0 ? id.slice(0, i) : "";
}

function baselineLine(ns, events) {
  const b = state.baselines.find((x) => x.namespace === ns);
  if (!b) return "";
  const outside = events.some((ev) => ev.kind === "outside-baseline" && ev.detail && ev.detail.namespace === ns);
  let text = `${esc(ns)}: <span class="pill ${esc(b.state)}">${esc(b.state)}</span>`;
  if (b.state === "locked") text += outside ? ` <span class="pill outside-baseline">outside the baseline</span>` : " inside the baseline";
  return `<div>${text}</div>`;
}

function sideText(side) {
  if (!side) return "—";
  let t = `${side.allowed ? "allowed" : "denied"} (${esc(side.tier || "")})`;
  if (side.policy) t += ` by ${esc(side.policy.kind)} ${esc(side.policy.namespace ? side.policy.namespace + "/" : "")}${esc(side.policy.name)}`;
  if (side.rule_name) t += ` rule ${esc(side.rule_name)}`;
  else if (side.rule !== undefined) t += ` rule #${side.rule}`;
  if (side.policy && side.policy.file) t += ` <span class="muted">(${esc(side.policy.file)}${side.policy.line ? ":" + side.policy.line : ""})</span>`;
  if (side.isolated_by && side.isolated_by.length)
    t += `<br><span class="muted">isolated by ${side.isolated_by.map((r) => esc(`${r.kind} ${r.namespace ? r.namespace + "/" : ""}${r.name}`)).join(", ")}</span>`;
  return t;
}

function showDetails() {
  const box = $("details");
  const sel = state.selected;
  if (!sel || !state.map) {
    box.innerHTML = `<p class="muted">Click an edge or a node (or pick one from the edge list) to read its details.</p>`;
    box.dataset.selected = "";
    return;
  }
  box.dataset.selected = sel.key;
  if (sel.type === "node") {
    const n = state.map.nodes.get(sel.key) || { id: sel.key };
    const iso = n.isolated || {};
    const mine = incidentEdges([n.id]);
    const out = mine.filter((e) => e.src === n.id).length;
    const inn = mine.filter((e) => e.dst === n.id).length;
    box.innerHTML = `<div class="card"><div class="card-title" id="d-title">${esc(n.id)}</div><dl class="kv">
      <dt>kind</dt><dd>${esc(n.kind || "")}</dd>
      <dt>ingress</dt><dd>${iso.ingress ? '<span class="pill allowed">isolated</span>' : '<span class="pill failed">not isolated</span>'}</dd>
      <dt>egress</dt><dd>${iso.egress ? '<span class="pill allowed">isolated</span>' : '<span class="pill failed">not isolated</span>'}</dd>
      <dt>edges</dt><dd>${out} out, ${inn} in</dd>
      <dt>labels</dt><dd>${Object.entries(n.labels || {}).map(([k, v]) => esc(`${k}=${v}`)).join("<br>") || "—"}</dd></dl></div>
      ${nodeDraftCard(n)}`;
    return;
  }
  const e = state.map.edges.get(sel.key);
  if (!e) return;
  const o = e.outcomes || {};
  const events = auditFor(e);
  const denied = events.filter((ev) => ev.kind === "denied");
  let verdict;
  if (denied.length) {
    const d = denied[denied.length - 1].detail || {};
    verdict = `<span class="pill denied">denied</span> <span class="muted">(${denied.length} audit event${denied.length > 1 ? "s" : ""})</span>
      <dl class="kv"><dt>egress</dt><dd>${sideText(d.egress)}</dd><dt>ingress</dt><dd>${sideText(d.ingress)}</dd></dl>`;
  } else {
    // The verdict of the policies in force now and the deciding rule of each side, as
    // `stockade verify` gives them (GET /api/v1/verify, loaded once per map version).
    const rows = state.verify && state.verify.get(`${e.src}|${e.dst}|${String(e.protocol).toUpperCase()}|${e.port}`);
    if (rows) {
      verdict = rows
        .map((r) => `<span class="pill ${esc(r.verdict)}">${esc(r.verdict)}</span>${r.pod_edges ? ` <span class="muted">(${r.pod_edges} pod edge${r.pod_edges > 1 ? "s" : ""})</span>` : ""}
      <dl class="kv"><dt>egress</dt><dd>${sideText(r.egress)}</dd><dt>ingress</dt><dd>${sideText(r.ingress)}</dd></dl>`)
        .join("");
    } else if (state.verifyKey === verifyKey()) {
      verdict = `<span class="muted">no established connection: attempts that never connected have no verdict${state.verifyError ? ` (${esc(state.verifyError)})` : ""}</span>`;
    } else {
      verdict = `<span class="muted">reading the verdicts…</span>`;
      loadVerify();
    }
  }
  const namespaces = [...new Set([nsOf(e.src), nsOf(e.dst)])].filter((ns) => ns && ns !== "world" && ns !== "node");
  box.innerHTML = `<div class="card"><div class="card-title" id="d-title">${esc(e.src)} → ${esc(e.dst)}</div><dl class="kv">
    <dt>port</dt><dd id="d-port">${esc(e.protocol)}/${esc(e.port)}</dd>
    <dt>flows</dt><dd id="d-count">${e.count}</dd>
    <dt>outcomes</dt><dd id="d-outcomes"><span class="pill established">established ${o.established || 0}</span>
      <span class="pill failed">failed ${o.failed || 0}</span> <span class="pill dropped">dropped ${o.dropped || 0}</span></dd>
    <dt>first seen</dt><dd>${esc(fmtTime(e.first_seen))}</dd>
    <dt>last seen</dt><dd>${esc(fmtTime(e.last_seen))}</dd>
    <dt>verdict</dt><dd id="d-verdict">${verdict}</dd>
    <dt>baseline</dt><dd id="d-baseline">${namespaces.map((ns) => baselineLine(ns, events)).join("") || "—"}</dd>
    </dl>${pairPorts(e)}${edgeDecisionButtons(e)}</div>
    <div class="card"><div class="card-title">Audit events of this edge (${events.length})</div>
    ${events.slice(-20).reverse().map((ev) => `<div><span class="pill ${esc(ev.kind)}">${esc(ev.kind)}</span> ${esc(fmtTime(ev.time))}<br><span class="muted small">${esc(ev.src)} → ${esc(ev.dst)}</span></div>`).join("") || '<span class="muted">none</span>'}
    ${state.by === "pod" ? "" : '<p class="muted small">At this granularity, events are matched to the edge by pod name (a workload\'s pods are named after it).</p>'}</div>`;
}

// ---------------------------------------------------------------- decide → draft → simulate → apply

async function loadRecs() {
  if (state.recsLoading) return state.recsLoading;
  state.recsLoading = (async () => {
    const res = await api("/api/v1/recommendations?acceptBlocked=true");
    state.recs = res.ok ? { items: (await res.json()).items || [] } : { items: [], error: await errorOf(res) };
    state.recsStale = false;
  })().finally(() => (state.recsLoading = null));
  return state.recsLoading;
}

// The simulation of a draft (POST /api/v1/simulate), once per draft and data version.
function simulation(yaml) {
  if (state.sims.has(yaml)) return state.sims.get(yaml);
  const entry = { pending: true };
  state.sims.set(yaml, entry);
  (async () => {
    const res = await api("/api/v1/simulate", { method: "POST", headers: { "Content-Type": "application/yaml" }, body: yaml });
    if (res.ok) entry.answer = await res.json();
    else entry.error = await errorOf(res);
  })()
    .catch((e) => (entry.error = String(e.message || e)))
    .finally(() => {
      entry.pending = false;
      showDetails();
      if (state.view === "policies") renderDecision();
    });
  return entry;
}

function simulationHtml(entry, id) {
  if (!entry || entry.pending) return `<div id="${id}" class="muted">simulating…</div>`;
  if (entry.error) return `<div id="${id}" data-error="true"><span class="pill failed">simulation unavailable</span> <span class="muted small">${esc(entry.error)}</span></div>`;
  const r = readSimulation(entry.answer);
  const broken = r.broken.length
    ? `<table class="small"><tbody>${r.broken.slice(0, 20).map((c) => `<tr class="broken"><td>${esc(c.src)} → ${esc(c.dst)}</td><td>${esc(c.protocol)}/${esc(c.port)}</td><td>${esc(c.established ?? "")}</td></tr>`).join("")}</tbody></table>`
    : "";
  const exposure = r.exposure.length
    ? `<table class="small"><thead><tr><th>namespace</th><th>newly denied</th><th>newly allowed</th></tr></thead><tbody>${r.exposure
      .map((x) => `<tr><td>${esc(x.ns)}</td><td>−${x.denied}</td><td>+${x.allowed}</td></tr>`).join("")}</tbody></table>`
    : `<p class="muted small">no connection changes verdict</p>`;
  return `<div id="${id}" data-broken="${r.broken.length}">
    <div>${r.broken.length ? `<span class="pill denied">${r.broken.length} observed edge(s) would break</span>` : `<span class="pill allowed">no observed edge breaks</span>`}
      <span class="muted small">(${r.checked} observed edges checked)</span></div>${broken}
    <div class="card-title small">Exposure: connections (pod pairs) into each namespace whose verdict changes</div>${exposure}</div>`;
}

function summaryHtml(lines) {
  return lines.map((l) => `<li class="${l.kind}">${esc(l.text)}</li>`).join("");
}

// The draft of the one workload shown in the details, and its simulation: what selecting a
// workload shows at once.
function nodeDraftCard(n) {
  const title = `<div class="card-title">Draft for this workload</div>`;
  if (state.by !== "workload" || !n.namespace || n.namespace === "world" || n.kind === "Node")
    return `<div class="card" id="node-draft">${title}<p class="muted small">Policies are drafted per workload: switch to workload granularity.</p></div>`;
  if (!state.recs || state.recsStale) {
    loadRecs().then(showDetails, fail);
    return `<div class="card" id="node-draft">${title}<p class="muted">reading the recommendations…</p></div>`;
  }
  if (state.recs.error) return `<div class="card" id="node-draft">${title}<p class="muted small">${esc(state.recs.error)}</p></div>`;
  const draft = buildDraft({ workloads: new Set([n.id]), allow: new Map(), deny: new Map() }, state.recs.items, state.map.nodes);
  if (!draft.policies.length)
    return `<div class="card" id="node-draft">${title}<p class="muted small">No recommended policy selects ${esc(n.id)}.</p></div>`;
  const yaml = draftYaml(draft.policies);
  const entry = simulation(yaml);
  if (!entry.pending && state.clickAt) {
    // Measured at the next frame: the details are on screen then.
    const t0 = state.clickAt;
    requestAnimationFrame(() => {
      document.body.dataset.draftMs = (performance.now() - t0).toFixed(0);
      setTimeout(flushCanvas, 0);
    });
    state.clickAt = 0;
  }
  const inDecision = state.decision.workloads.has(n.id);
  return `<div class="card" id="node-draft">${title}
    <ul class="summary" id="node-draft-summary">${summaryHtml(readableSummary(draft, incidentEdges([n.id])))}</ul>
    <div class="muted small">${draft.policies.map((p) => esc(p.metadata.name)).join(", ")}</div>
    ${simulationHtml(entry, "node-sim")}
    <div class="actions"><button id="decide-node" data-node="${esc(n.id)}">${inDecision ? "remove from the decision" : "add to the decision"}</button>
    <button id="open-decide">open Decide</button></div></div>`;
}

// The other ports between the same two nodes (drawn as one line).
function pairPorts(e) {
  const l = state.lines && state.lines.get(state.pairId(e.src, e.dst));
  const list = l ? l.edges : [];
  if (list.length < 2) return "";
  const k = edgeKey(e);
  return `<div class="small">also between them: ${list.filter((o) => edgeKey(o) !== k).map((o) =>
    `<button class="linklike pair-port" data-key="${esc(edgeKey(o))}">${esc(o.protocol)}/${esc(o.port)} ×${o.count}</button>`).join(" ")}</div>`;
}

// The map's edges into or out of these nodes (through the graph's lines, not every edge).
function incidentEdges(ids) {
  const g = state.graph;
  const out = [];
  const seen = new Set();
  for (const id of ids) {
    if (!g || !g.hasNode(id)) continue;
    for (const pk of state.adj.get(id) || []) {
      if (seen.has(pk)) continue;
      seen.add(pk);
      const l = state.lines.get(pk);
      if (l) out.push(...l.edges);
    }
  }
  return out;
}

// The workloads a draft's NetworkPolicies are for (their stockade.io/workload annotation).
function draftWorkloads(draft) {
  const ids = [];
  for (const p of draft.policies) {
    const w = ((p.metadata || {}).annotations || {})["stockade.io/workload"];
    if (w) ids.push(`${p.metadata.namespace}/${w.slice(w.indexOf("/") + 1)}`);
  }
  return ids;
}

function edgeDecisionButtons(e) {
  const k = edgeKey(e);
  const allowed = state.decision.allow.has(k);
  const denied = state.decision.deny.has(k);
  return `<div class="actions"><button class="decide-edge" data-mark="allow" aria-pressed="${allowed}">${allowed ? "✓ marked allowed" : "mark allowed"}</button>
    <button class="decide-edge" data-mark="deny" aria-pressed="${denied}">${denied ? "✓ marked denied" : "mark denied (guardrail)"}</button></div>`;
}

function markEdge(mark) {
  const sel = state.selected;
  if (!sel || sel.type !== "edge") return;
  const e = state.map.edges.get(sel.key);
  if (!e) return;
  const d = state.decision;
  const [mine, other] = mark === "allow" ? [d.allow, d.deny] : [d.deny, d.allow];
  if (mine.has(sel.key)) mine.delete(sel.key);
  else {
    mine.set(sel.key, e);
    other.delete(sel.key);
  }
  decisionChanged();
}

function decisionChanged() {
  state.dryRunOf = "";
  const d = state.decision;
  document.body.dataset.decision = String(d.workloads.size + d.allow.size + d.deny.size);
  showDetails();
  renderDecision();
}

function currentDraft() {
  if (!state.recs || !state.map) return { policies: [], missing: [], refused: [], guarded: [] };
  return buildDraft(state.decision, state.recs.items, state.map.nodes);
}

function renderDecision() {
  const d = state.decision;
  const chips = [
    ...[...d.workloads].map((id) => ({ kind: "workload", key: id, text: id })),
    ...[...d.allow].map(([k, e]) => ({ kind: "allow", key: k, text: `allow ${e.src} → ${e.dst} ${e.protocol}/${e.port}` })),
    ...[...d.deny].map(([k, e]) => ({ kind: "deny", key: k, text: `deny ${e.src} → ${e.dst} ${e.protocol}/${e.port}` })),
  ];
  $("decide-selection").innerHTML = chips.length
    ? chips.map((c) => `<li class="${c.kind}">${esc(c.text)}<button class="undecide" data-kind="${c.kind}" data-key="${esc(c.key)}" aria-label="remove ${esc(c.text)}">×</button></li>`).join("")
    : `<li class="muted">nothing decided yet</li>`;
  if (chips.length && (!state.recs || state.recsStale)) {
    loadRecs().then(renderDecision, fail);
    $("draft-status").textContent = "reading the recommendations…";
    return;
  }
  const draft = currentDraft();
  const yaml = draftYaml(draft.policies);
  state.draftYaml = yaml;
  $("draft-summary").innerHTML = summaryHtml(readableSummary(draft, incidentEdges(draftWorkloads(draft))));
  const notes = [];
  if (state.recs && state.recs.error) notes.push(state.recs.error);
  if (draft.missing.length) notes.push(`no recommended policy for ${draft.missing.join(", ")}`);
  if (draft.refused.length) notes.push(`no guardrail for edges with an end outside the cluster: ${draft.refused.map((e) => `${e.src} → ${e.dst}`).join(", ")}`);
  $("draft-status").textContent = notes.join("; ");
  $("draft-count").textContent = String(draft.policies.length);
  $("draft-yaml").textContent = yaml;
  const link = $("draft-download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.hidden = !yaml;
  if (yaml) link.href = URL.createObjectURL(new Blob([yaml], { type: "application/yaml" }));
  document.body.dataset.draftPolicies = String(draft.policies.length);
  $("simulate").disabled = !yaml;
  $("apply-dry").disabled = !yaml;
  $("apply").disabled = !yaml || state.dryRunOf !== yaml;
  const entry = yaml && state.sims.get(yaml);
  $("sim-result").innerHTML = entry ? simulationHtml(entry, "decide-sim") : "";
  $("sim-status").textContent = entry ? "" : yaml ? "not simulated yet" : "";
}

async function applyDraft(dry) {
  const yaml = state.draftYaml;
  if (!yaml) return;
  $("apply-status").textContent = dry ? "dry run…" : "applying…";
  const res = await api("/api/v1/apply" + (dry ? "?dryRun=All" : ""), {
    method: "POST",
    headers: { "Content-Type": "application/yaml" },
    body: yaml,
  });
  const text = await res.text();
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch (_) {}
  $("apply-result").textContent = shown;
  if (!res.ok) {
    $("apply-status").innerHTML = `<span class="pill failed">${dry ? "dry run" : "apply"} refused</span> ${esc(res.status)}`;
    document.body.dataset.applyStatus = `${dry ? "dry" : "apply"}-${res.status}`;
    return;
  }
  document.body.dataset.applyStatus = `${dry ? "dry" : "apply"}-ok`;
  if (dry) {
    state.dryRunOf = yaml;
    $("apply-status").innerHTML = `<span class="pill allowed">dry run accepted</span> the API server would take these policies; Apply them now.`;
  } else {
    state.dryRunOf = "";
    // The server records the apply as an audit event (kind "applied"): shown once it is read.
    $("apply-status").innerHTML = `<span class="pill allowed">applied</span> <button id="apply-audit" type="button">see the audit event</button>`;
    $("apply-audit").addEventListener("click", () => {
      $("audit-kind").value = "applied";
      $("audit-filter").value = "";
      setView("audit");
    });
    state.recsStale = true;
    refresh();
  }
  $("apply").disabled = state.dryRunOf !== yaml;
}

// ---------------------------------------------------------------- posture

async function loadPosture() {
  const res = await api("/api/v1/posture");
  if (!res.ok) {
    $("posture-summary").textContent = "posture: " + (await errorOf(res));
    return;
  }
  state.posture = await res.json();
  state.postureStale = false;
  renderPosture();
}

function renderPosture() {
  const data = state.posture;
  if (!data) return;
  $("posture-summary").textContent = summaryText(data);
  $("policy-findings").innerHTML = renderPolicyFindings(data, esc);
  $("risk").innerHTML = renderRisk(data, esc);
  const f = renderFindings(data, { category: $("posture-category").value, severity: $("posture-severity").value, text: $("posture-filter").value }, esc);
  $("findings").innerHTML = f.html;
  $("posture-count").textContent = `${f.count} of ${(data.findings || []).length}`;
  document.body.dataset.postureFindings = String((data.findings || []).length);
}

// A posture row's link: a workload's node (at workload level), or the namespace as a search.
async function showPostureTarget(node, search) {
  setView("map");
  if (node) {
    if (state.by !== "workload") {
      state.by = "workload";
      $("by").value = "workload";
      await loadMap();
    }
    if (!state.map.nodes.has(node)) {
      setStatus(`${node} is not on the map (no traffic seen)`, true);
      return;
    }
    select({ type: "node", key: node });
    const a = state.sigma.getNodeDisplayData(node);
    if (a) state.sigma.getCamera().animate({ x: a.x, y: a.y, ratio: 0.5 }, { duration: 300 });
  } else if (search) {
    $("search").value = search;
    state.search = search.toLowerCase();
    refreshFilters();
  }
}

// ---------------------------------------------------------------- audit

async function loadAudit() {
  let added = 0;
  let after = "";
  for (let page = 0; page < 20 && state.audit.length < MAX_AUDIT; page++) {
    const q = new URLSearchParams({ limit: "1000" });
    if (after) q.set("after", after);
    else if (state.auditSince) q.set("since", state.auditSince);
    const res = await api("/api/v1/audit?" + q);
    if (!res.ok) throw new Error("audit: " + (await errorOf(res)));
    const j = await res.json();
    for (const ev of j.events || []) {
      if (state.auditIds.has(ev.id)) continue;
      state.auditIds.add(ev.id);
      if (typeof ev.detail === "string") {
        try {
          ev.detail = JSON.parse(ev.detail);
        } catch (_) {}
      }
      state.audit.push(ev);
      added++;
      if (ev.time) state.auditSince = ev.time;
    }
    if (!j.next) break;
    after = j.next;
  }
  if (added) {
    renderAudit();
    if (state.selected && state.selected.type === "edge") showDetails();
  }
  return added;
}

function auditRows() {
  const kind = $("audit-kind").value;
  const t = $("audit-filter").value.trim().toLowerCase();
  const range = state.auditRange;
  return state.audit.filter((ev) => {
    if (kind && ev.kind !== kind) return false;
    if (range) {
      const t = Date.parse(ev.time);
      if (!(t >= range[0] && t < range[1])) return false;
    }
    if (!t) return true;
    return `${ev.src} ${ev.dst} ${ev.protocol}/${ev.port} ${ev.kind} ${summarizeDetail(ev)}`.toLowerCase().includes(t);
  });
}

function renderAudit() {
  const rows = auditRows();
  $("audit-count").textContent = `${rows.length} of ${state.audit.length} events`;
  document.body.dataset.auditEvents = String(state.audit.length);
  const shown = rows.slice(-1000).reverse();
  $("audit-table").tBodies[0].innerHTML = shown
    .map((ev) => `<tr data-id="${esc(ev.id)}"><td>${esc(fmtTime(ev.time))}</td><td><span class="pill ${esc(ev.kind)}">${esc(ev.kind)}</span></td>
      <td>${esc(ev.src)}</td><td>${esc(ev.dst)}</td><td>${esc(ev.protocol)}/${esc(ev.port)}</td><td>${esc(summarizeDetail(ev))}</td>
      <td>${ev.port || ev.kind !== "applied" ? `<button class="show-edge" data-id="${esc(ev.id)}">show on map</button>` : ""}</td></tr>`)
    .join("");
  renderTimeline(rows);
}

function renderTimeline(rows) {
  const svg = $("timeline");
  const w = svg.clientWidth || 800;
  const h = 90;
  const times = rows.map((ev) => Date.parse(ev.time)).filter((x) => Number.isFinite(x));
  if (!times.length) {
    svg.innerHTML = `<text x="10" y="50">no audit events</text>`;
    return;
  }
  let lo = Math.min(...times);
  let hi = Math.max(...times);
  if (hi === lo) {
    lo -= 30000;
    hi += 30000;
  }
  const buckets = 60;
  const counts = Array.from({ length: buckets }, () => ({ denied: 0, "outside-baseline": 0 }));
  for (const ev of rows) {
    const t = Date.parse(ev.time);
    if (!Number.isFinite(t)) continue;
    const b = Math.min(buckets - 1, Math.floor(((t - lo) / (hi - lo)) * buckets));
    counts[b][ev.kind] = (counts[b][ev.kind] || 0) + 1;
  }
  const max = Math.max(1, ...counts.map((c) => c.denied + c["outside-baseline"]));
  const bw = (w - 20) / buckets;
  let out = "";
  counts.forEach((c, i) => {
    let y = h - 16;
    for (const k of ["denied", "outside-baseline"]) {
      const bh = (c[k] / max) * (h - 26);
      if (bh > 0) out += `<rect class="${k}" data-bucket="${i}" x="${10 + i * bw}" y="${y - bh}" width="${Math.max(1, bw - 1)}" height="${bh}"><title>${c[k]} ${k} (click: only this time)</title></rect>`;
      y -= bh;
    }
  });
  out += `<text x="10" y="${h - 3}">${esc(new Date(lo).toISOString())}</text><text x="${w - 10}" y="${h - 3}" text-anchor="end">${esc(new Date(hi).toISOString())}</text>`;
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.innerHTML = out;
  // A click on a bar keeps that bucket's time range in the table.
  svg.onclick = (ev) => {
    const b = ev.target.closest("rect[data-bucket]");
    if (!b) return;
    const i = Number(b.dataset.bucket);
    const step = (hi - lo) / buckets;
    state.auditRange = [lo + i * step, i === buckets - 1 ? hi + 1 : lo + (i + 1) * step];
    $("audit-range").hidden = false;
    $("audit-range-text").textContent = `${new Date(state.auditRange[0]).toISOString()} – ${new Date(state.auditRange[1]).toISOString()}`;
    renderAudit();
  };
}

// The edge of an audit event on the map: audit events name pods, so the map goes to pod level.
async function showAuditEdge(id) {
  const ev = state.audit.find((x) => String(x.id) === String(id));
  if (!ev) return;
  setView("map");
  if (state.by !== "pod" || state.window) {
    state.by = "pod";
    $("by").value = "pod";
    state.window = "";
    $("window").value = "";
    await loadMap();
  }
  const k = edgeKey(ev);
  if (state.map.edges.has(k)) {
    select({ type: "edge", key: k });
    const e = state.map.edges.get(k);
    const a = state.sigma.getNodeDisplayData(e.src);
    const b = state.sigma.getNodeDisplayData(e.dst);
    if (a && b) state.sigma.getCamera().animate({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, ratio: 0.6 }, { duration: 300 });
  } else {
    setStatus(`the edge ${ev.src} → ${ev.dst} ${ev.protocol}/${ev.port} is not on the map`, true);
  }
}

// ---------------------------------------------------------------- baselines

async function loadBaselines() {
  const res = await api("/api/v1/baselines");
  if (!res.ok) throw new Error("baselines: " + (await errorOf(res)));
  state.baselines = (await res.json()).baselines || [];
  renderBaselines();
}

function coverage(b) {
  const ws = b.workloads || [];
  const seen = ws.filter((w) => w.seen).length;
  return { seen, total: ws.length };
}

function renderBaselines() {
  const body = $("baseline-table").tBodies[0];
  body.innerHTML = state.baselines
    .map((b) => {
      const c = coverage(b);
      const pct = c.total ? Math.round((100 * c.seen) / c.total) : 0;
      const action = b.state === "locked" ? "unlock" : "lock";
      return `<tr data-ns="${esc(b.namespace)}"><td><button class="linklike ns-detail" data-ns="${esc(b.namespace)}">${esc(b.namespace)}</button></td>
        <td><span class="pill ${esc(b.state)}">${esc(b.state)}</span></td><td>${esc(fmtTime(b.since))}</td><td>${b.edges ?? ""}</td>
        <td>${esc(fmtTime(b.last_new_edge))}</td>
        <td><span class="bar"><span style="width:${pct}%"></span></span>${c.seen}/${c.total} workloads seen${b.silent_workloads ? `, ${b.silent_workloads} silent` : ""}</td>
        <td>${esc(b.locked_by || "")}</td>
        <td><button class="baseline-action" data-ns="${esc(b.namespace)}" data-action="${action}">${action}</button></td></tr>`;
    })
    .join("");
  if (state.baselineDetail) renderBaselineDetail(state.baselineDetail);
}

function renderBaselineDetail(ns) {
  state.baselineDetail = ns;
  const b = state.baselines.find((x) => x.namespace === ns);
  const box = $("baseline-detail");
  if (!b) {
    box.innerHTML = "";
    return;
  }
  box.innerHTML = `<div class="card-title">Workloads of ${esc(ns)}</div><table><thead><tr><th>workload</th><th>kind</th><th>seen</th><th>in</th><th>out</th>
    <th>first seen</th><th>last seen</th><th>ports declared</th><th>ports never used</th></tr></thead><tbody>${(b.workloads || [])
      .map((w) => `<tr><td>${esc(w.workload)}</td><td>${esc(w.kind || "")}</td><td>${w.seen ? "yes" : '<span class="pill failed">no</span>'}</td>
        <td>${w.edges_in ?? ""}</td><td>${w.edges_out ?? ""}</td><td>${esc(fmtTime(w.first_seen))}</td><td>${esc(fmtTime(w.last_seen))}</td>
        <td>${esc((w.ports_declared || []).join(", "))}</td><td>${esc((w.ports_unused || []).join(", "))}</td></tr>`)
      .join("")}</tbody></table>`;
}

async function baselineAction(ns, action) {
  const res = await api(`/api/v1/baselines/${encodeURIComponent(ns)}/${action}`, { method: "POST", body: "" });
  if (!res.ok) {
    setStatus(`${action} ${ns}: ${await errorOf(res)}`, true);
    return;
  }
  setStatus(`${ns}: ${action === "lock" ? "locked" : "unlocked"}`);
  await loadBaselines();
}

// ---------------------------------------------------------------- recommended policies

// One line a person reads for a recommended policy: who it selects and what it lets in/out.
function policySummary(p) {
  const ps = (p.spec && p.spec.podSelector) || {};
  const terms = Object.entries(ps.matchLabels || {}).map(([k, v]) => `${k}=${v}`);
  for (const e of ps.matchExpressions || [])
    terms.push(`${e.key} ${e.operator}${e.values ? " (" + e.values.join(", ") + ")" : ""}`);
  const who = terms.length ? terms.join(", ") : "every pod";
  const rules = (dir) => (p.spec && p.spec[dir] ? p.spec[dir].length : 0);
  return `${p.kind} ${p.metadata.namespace ? p.metadata.namespace + "/" : ""}${p.metadata.name}: selects ${who}; ` +
    `${rules("ingress")} ingress rule(s), ${rules("egress")} egress rule(s)`;
}

async function loadRecommendations() {
  const q = new URLSearchParams();
  const ns = $("rec-ns").value.trim();
  if (ns) q.set("namespace", ns);
  if ($("rec-accept").checked) q.set("acceptBlocked", "true");
  $("rec-status").textContent = "recommending…";
  const res = await api("/api/v1/recommendations?" + q.toString());
  if (!res.ok) {
    $("rec-status").textContent = await errorOf(res);
    $("rec-list").innerHTML = "";
    $("rec-json").textContent = "";
    $("rec-download").hidden = true;
    return;
  }
  const text = await res.text();
  const list = JSON.parse(text);
  const items = list.items || [];
  $("rec-status").textContent = `${items.length} polic${items.length === 1 ? "y" : "ies"}`;
  $("rec-list").innerHTML = items.map((p) => `<li>${esc(policySummary(p))}</li>`).join("");
  $("rec-json").textContent = text;
  const link = $("rec-download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  link.hidden = false;
  document.body.dataset.recommended = String(items.length);
}


// ---------------------------------------------------------------- views, keys, polling

const VIEWS = ["map", "audit", "baselines", "policies", "posture"];
function setView(v) {
  state.view = v;
  for (const name of VIEWS) {
    const tab = $("tab-" + name);
    tab.setAttribute("aria-selected", String(name === v));
    tab.tabIndex = name === v ? 0 : -1;
    $("view-" + name).hidden = name !== v;
  }
  if (v === "audit") renderAudit();
  if (v === "policies") {
    renderDecision();
    if (!document.body.dataset.recommended)
      loadRecommendations().catch((e) => setStatus(String(e.message || e), true));
  }
  if (v === "posture") {
    if (state.postureStale) loadPosture().catch(fail);
    else renderPosture();
  }
  if (v === "map" && state.sigma) {
    state.sigma.resize();
    state.sigma.refresh();
  }
}

function wire() {
  for (const name of VIEWS) $("tab-" + name).addEventListener("click", () => setView(name));
  $("by").value = state.by;
  $("by").addEventListener("change", () => {
    state.by = $("by").value;
    state.selected = null;
    state.positions = new Map();
    loadMap().catch(fail);
  });
  $("window").addEventListener("change", () => {
    state.window = $("window").value;
    loadMap().catch(fail);
  });
  $("draw-all").addEventListener("change", (ev) => {
    state.drawAll = ev.target.checked;
    refreshFilters();
  });
  for (const o of ["established", "failed", "dropped"])
    $("o-" + o).addEventListener("change", (ev) => {
      state.outcomes[o] = ev.target.checked;
      refreshFilters();
    });
  $("rec-load").addEventListener("click", () =>
    loadRecommendations().catch((e) => setStatus(String(e.message || e), true)));
  $("search").addEventListener("input", () => {
    state.search = $("search").value.trim().toLowerCase();
    refreshFilters();
  });
  const list = $("edge-list");
  list.addEventListener("click", (ev) => {
    const li = ev.target.closest("li");
    if (li) select({ type: "edge", key: li.dataset.key });
  });
  list.addEventListener("keydown", (ev) => {
    const li = ev.target.closest("li");
    if (!li) return;
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      select({ type: "edge", key: li.dataset.key });
    } else if (ev.key === "ArrowDown" && li.nextElementSibling) {
      ev.preventDefault();
      li.nextElementSibling.focus();
    } else if (ev.key === "ArrowUp" && li.previousElementSibling) {
      ev.preventDefault();
      li.previousElementSibling.focus();
    }
  });
  $("audit-kind").addEventListener("change", renderAudit);
  $("audit-range-clear").addEventListener("click", () => {
    state.auditRange = null;
    $("audit-range").hidden = true;
    renderAudit();
  });
  $("audit-filter").addEventListener("input", renderAudit);
  $("audit-table").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.show-edge");
    if (b) showAuditEdge(b.dataset.id).catch(fail);
  });
  $("baseline-table").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.baseline-action");
    if (b) baselineAction(b.dataset.ns, b.dataset.action).catch(fail);
    const d = ev.target.closest("button.ns-detail");
    if (d) renderBaselineDetail(d.dataset.ns);
  });
  $("details").addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.id === "decide-node") {
      const id = b.dataset.node;
      if (state.decision.workloads.has(id)) state.decision.workloads.delete(id);
      else state.decision.workloads.add(id);
      decisionChanged();
    } else if (b.id === "open-decide") {
      setView("policies");
    } else if (b.classList.contains("pair-port")) {
      select({ type: "edge", key: b.dataset.key });
    } else if (b.classList.contains("decide-edge")) {
      markEdge(b.dataset.mark);
    }
  });
  $("decide-selection").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.undecide");
    if (!b) return;
    const d = state.decision;
    ({ workload: d.workloads, allow: d.allow, deny: d.deny })[b.dataset.kind].delete(b.dataset.key);
    decisionChanged();
  });
  $("decide-clear").addEventListener("click", () => {
    state.decision = { workloads: new Set(), allow: new Map(), deny: new Map() };
    decisionChanged();
  });
  $("simulate").addEventListener("click", () => {
    if (!state.draftYaml) return;
    state.sims.delete(state.draftYaml);
    simulation(state.draftYaml);
    renderDecision();
  });
  $("apply-dry").addEventListener("click", () => applyDraft(true).catch(fail));
  $("apply").addEventListener("click", () => applyDraft(false).catch(fail));
  for (const id of ["posture-category", "posture-severity"]) $(id).addEventListener("change", renderPosture);
  $("posture-filter").addEventListener("input", renderPosture);
  $("view-posture").addEventListener("click", (ev) => {
    const b = ev.target.closest("button.posture-map");
    if (b) showPostureTarget(b.dataset.node, b.dataset.search).catch(fail);
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("logout").hidden = true;
  });
  $("logout").hidden = !sessionStorage.getItem(TOKEN_KEY);
  document.addEventListener("keydown", (ev) => {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(ev.target.tagName);
    if (ev.key === "Escape") {
      if (typing) ev.target.blur();
      select(null);
      return;
    }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const i = ["1", "2", "3", "4", "5"].indexOf(ev.key);
    if (i >= 0) {
      setView(VIEWS[i]);
      $("tab-" + VIEWS[i]).focus();
    } else if (ev.key === "/") {
      ev.preventDefault();
      setView("map");
      $("search").focus();
    }
  });
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  $("tab-map").parentElement.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const i = VIEWS.indexOf(state.view);
    const next = VIEWS[(i + (ev.key === "ArrowRight" ? 1 : VIEWS.length - 1)) % VIEWS.length];
    setView(next);
    $("tab-" + next).focus();
  });
}

function fail(e) {
  console.error(e);
  state.errors = (state.errors || 0) + 1;
  setStatus(String((e && e.message) || e), true);
  document.body.dataset.error = String((e && e.message) || e);
}

// Loads what changed: the map (a 304 when it did not), new audit events, the baselines. Calls
// that arrive while one runs are folded into one more run after it.
let refreshing = null;
let refreshAgain = false;
function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      refreshAgain = false;
      await loadAll();
    } while (refreshAgain);
  })().finally(() => (refreshing = null));
  return refreshing;
}

async function loadAll() {
  const t0 = performance.now();
  try {
    // The map first: it is the view on screen, and usable once drawn (body[data-interactive-ms]:
    // the frame after it). The audit and the baselines are other tabs, and on a busy cluster
    // megabytes of events: they are read after the map, so that the server is not answering them
    // while it writes the map; body[data-ready-ms] when they are in too.
    await loadMap();
    const first = document.body.dataset.ready !== "true";
    if (first && state.map) requestAnimationFrame(() => (document.body.dataset.interactiveMs ||= performance.now().toFixed(0)));
    await Promise.all([loadAudit(), loadBaselines()]);
    if (state.view === "posture" && state.postureStale) await loadPosture();
    const s = state.map ? state.map.summary : {};
    setStatus(`${state.live === "sse" ? "live" : "polling"} · updated ${new Date().toISOString().slice(11, 19)}Z · ${state.graph ? state.graph.order : 0} nodes, ${state.map ? state.map.edges.size : 0} edges · ${s.flows ?? 0} flows · ${state.audit.length} audit events`);
    if (first) requestAnimationFrame(() => (document.body.dataset.readyMs = performance.now().toFixed(0)));
    document.body.dataset.ready = "true";
    delete document.body.dataset.error;
  } catch (e) {
    fail(e);
  }
  state.lastLoadMs = performance.now() - t0;
  state.lastLoadEnd = performance.now();
}

// A busy cluster changes the data every fraction of a second: reloads follow the events at
// most every max(1 s, 3 × the last reload's time), so a large map is not rebuilt back to back.
let refreshTimer = 0;
function scheduleRefresh() {
  if (refreshTimer) return;
  const gap = Math.min(15000, Math.max(1000, 3 * (state.lastLoadMs || 0)));
  const wait = Math.max(0, (state.lastLoadEnd || 0) + gap - performance.now());
  refreshTimer = setTimeout(() => {
    refreshTimer = 0;
    refresh();
  }, wait);
}

// While the event stream is open the map is reloaded when the server says the data changed;
// polling (with If-None-Match) stays as the fallback, and, slowly, for a time window that moves.
const SAFETY_POLL_MS = Math.max(POLL_MS, 30000);
async function poll() {
  await refresh();
  setTimeout(poll, state.live === "sse" ? SAFETY_POLL_MS : POLL_MS);
}

let lastGeneration = null;
function onServerEvent(name, data) {
  state.live = "sse";
  state.sseEvents++;
  document.body.dataset.live = "sse";
  document.body.dataset.sseEvents = String(state.sseEvents);
  if (data && typeof data === "object") {
    if (lastGeneration !== null && data.generation !== lastGeneration) state.postureStale = true;
    lastGeneration = data.generation;
  }
  if (name === "change" || name === "hello") scheduleRefresh();
}

async function live() {
  for (;;) {
    let why;
    try {
      why = await followEvents(api, onServerEvent);
    } catch (e) {
      why = String(e.message || e);
    }
    state.live = "polling";
    document.body.dataset.live = "polling";
    document.body.dataset.liveWhy = why;
    // Back to the stream later; polling meanwhile.
    await new Promise((r) => setTimeout(r, 10000));
  }
}

wire();
poll().then(() => live());

// The `stockade map -o html` page: reads the JSON that `stockade map -o json` prints from the
// <script id="stockade-data"> element, lays it out with ForceAtlas2 (namespaces seeded as groups)
// and draws it with sigma.js (WebGL). Everything is bundled into one offline HTML file.
import Graph from "graphology";
import Sigma from "sigma";
import { createNodeBorderProgram } from "@sigma/node-border";

import { loadData } from "./data.js";
import { computeLayout } from "./layout.js";
import { convexHull, namespaceColors, tint } from "./geometry.js";

const COLORS = {
  openIn: "#dc2626",
  openOut: "#f59e0b",
  ringGap: "#ffffff",
  established: "#94a3b8", // lighter for big maps, see buildGraph
  failed: "#f97316",
  dropped: "#dc2626",
  dim: "#e5e7eb",
  highlight: "#2563eb",
};
const OUTCOMES = ["established", "failed", "dropped"];
// Kinds that NetworkPolicies cannot isolate: rings and "not isolated" lists would only be noise.
const NOT_ISOLATABLE = new Set(["External", "Node"]);
const MAX_ROWS = 200;

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n || 0).toLocaleString("en-US");

// Small DOM builder: all data goes through textContent, never innerHTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") Object.assign(el.style, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function finish(nodes, edges, state) {
  document.body.dataset.renderedNodes = String(nodes);
  document.body.dataset.renderedEdges = String(edges);
  document.body.dataset.ready = state;
}

function showMessage(title, text) {
  const m = $("message");
  m.replaceChildren(h("div", null, h("h2", null, title), h("p", null, text)));
  m.hidden = false;
}

function edgeStatus(o) {
  if (o.dropped > 0) return "dropped";
  if (o.failed > 0) return "failed";
  return "established";
}

function buildGraph(data, nsColor) {
  // Sigma blends premultiplied colors, so edge colors stay opaque; big maps get a lighter gray so
  // the many ordinary edges recede behind the failed and dropped ones.
  if (data.edges.length > 400) COLORS.established = "#d3dae3";
  const edgeScale = data.nodes.length <= 60 ? 1.8 : 1;
  const graph = new Graph({ type: "directed", multi: true, allowSelfLoops: true });
  for (const n of data.nodes) {
    if (graph.hasNode(n.id)) continue;
    const isolatable = !NOT_ISOLATABLE.has(n.kind);
    graph.addNode(n.id, {
      label: n.id,
      namespace: n.namespace,
      kind: n.kind,
      labels: n.labels,
      isolated: n.isolated,
      openIn: isolatable && !n.isolated.ingress,
      openOut: isolatable && !n.isolated.egress,
      color: nsColor.get(n.namespace),
      x: 0,
      y: 0,
    });
  }
  for (const e of data.edges) {
    // An edge whose endpoint is missing from "nodes" still deserves to be drawn.
    for (const id of [e.src, e.dst]) {
      if (!graph.hasNode(id)) {
        const ns = id.includes("/") ? id.slice(0, id.indexOf("/")) : "";
        graph.addNode(id, {
          label: id, namespace: ns, kind: "Unknown", labels: {},
          isolated: { ingress: false, egress: false }, openIn: false, openOut: false,
          color: nsColor.get(ns) || "#9ca3af", x: 0, y: 0,
        });
      }
    }
    const status = edgeStatus(e.outcomes);
    graph.addEdge(e.src, e.dst, {
      protocol: e.protocol,
      port: e.port,
      count: e.count,
      first_seen: e.first_seen,
      last_seen: e.last_seen,
      outcomes: e.outcomes,
      status,
      color: COLORS[status],
      size: edgeScale * (Math.min(5, 1 + Math.log10(1 + e.count) * 0.8) + (status === "established" ? 0 : 0.4)),
      zIndex: status === "established" ? 0 : status === "failed" ? 1 : 2,
      type: "arrow",
    });
  }
  graph.forEachNode((id, a) => {
    const deg = graph.degree(id);
    const base = (graph.order > 500 ? 2.2 : graph.order > 60 ? 3.5 : 10) * (a.kind === "External" ? 0.8 : 1);
    graph.mergeNodeAttributes(id, {
      size: Math.min(graph.order > 500 ? 10 : 20, base + 1.5 * Math.log2(1 + deg)),
      ringIn: a.openIn ? 0.28 : 0,
      ringOut: a.openOut ? (a.openIn ? 0.2 : 0.28) : 0,
      ringGap: a.openIn || a.openOut ? 0.1 : 0,
      zIndex: a.openIn ? 1 : 0,
    });
  });
  return graph;
}

function labelSettingsFor(order) {
  if (order <= 60) return { threshold: 0, density: 1 };
  if (order <= 300) return { threshold: 6, density: 0.5 };
  if (order <= 500) return { threshold: 7, density: 0.15 };
  // Big maps: no node labels at the overview (the namespace labels are enough); they appear on zoom.
  if (order <= 1500) return { threshold: 11, density: 0.12 };
  return { threshold: 12, density: 0.08 };
}

function main() {
  const parsed = loadData($("stockade-data"));
  if (!parsed.ok) {
    showMessage("No map data", parsed.error);
    finish(0, 0, "error");
    document.body.dataset.error = parsed.error;
    return;
  }
  const data = parsed.data;
  const namespaces = [...new Set(data.nodes.map((n) => n.namespace).concat(
    data.edges.flatMap((e) => [e.src, e.dst]).map((id) => (id.includes("/") ? id.slice(0, id.indexOf("/")) : ""))))]
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  const nsColor = namespaceColors(namespaces);
  const graph = buildGraph(data, nsColor);

  renderSummary(data, graph, namespaces);
  if (graph.order === 0) {
    renderLegend();
    $("open-lists").replaceChildren(h("p", { class: "muted" }, "Nothing to list."));
    showMessage("No traffic observed", "The flow input produced no nodes and no edges. Check the --flows file (and the time window) and run stockade map again.");
    finish(0, 0, "true");
    return;
  }

  showMessage("Laying out " + fmt(graph.order) + " nodes…", "");
  // Let the browser paint the message before the (synchronous, bounded) layout runs.
  setTimeout(() => {
    try {
      computeLayout(graph);
      $("message").hidden = true;
      const app = startRenderer(graph, data, namespaces, nsColor);
      app.renderer.refresh();
      const gl = app.renderer.getCanvases().nodes?.getContext("webgl2") ? "webgl2" : "webgl";
      document.body.dataset.webgl = gl;
      finish(graph.order, graph.size, "true");
    } catch (err) {
      const msg = err && err.message ? err.message : String(err);
      const webgl = /webgl|context/i.test(msg);
      showMessage(webgl ? "This browser cannot draw the graph (WebGL unavailable)" : "Could not draw the map",
        msg + (webgl ? " — enable hardware acceleration or use another browser; the JSON output (stockade map -o json) has the same data." : ""));
      document.body.dataset.error = msg;
      finish(graph.order, graph.size, "error");
    }
  }, 0);
}

function renderSummary(data, graph, namespaces) {
  const s = data.summary;
  let openIn = 0, openOut = 0, bad = 0;
  graph.forEachNode((_, a) => { if (a.openIn) openIn++; if (a.openOut) openOut++; });
  graph.forEachEdge((_, a) => { if (a.status !== "established") bad++; });
  const chip = (n, label, cls) => h("div", { class: "chip" + (cls && n > 0 ? " " + cls : "") }, h("b", null, fmt(n)), h("span", null, label));
  $("summary").replaceChildren(
    chip(s.flows, "flows"),
    chip(s.skipped, "skipped", "warn"),
    chip(s.nodes, "nodes"),
    chip(s.edges, "edges"),
    chip(namespaces.length, "namespaces"),
    chip(openIn, "open for ingress", "bad"),
    chip(openOut, "open for egress", "warn"),
    chip(bad, "edges failed/dropped", "bad"),
  );
}

function ringSvg(inColor, outColor) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  const circle = (r, fill) => {
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", "9"); c.setAttribute("cy", "9"); c.setAttribute("r", String(r)); c.setAttribute("fill", fill);
    svg.append(c);
  };
  let r = 8.5;
  if (inColor) { circle(r, inColor); r -= 2.2; }
  if (outColor) { circle(r, outColor); r -= 2.2; }
  if (inColor || outColor) { circle(r, "#fff"); r -= 1; }
  circle(r, "#64748b");
  return svg;
}

function renderLegend() {
  const line = (color, w) => h("span", { class: "bar", style: { background: color, height: w + "px" } });
  $("legend").replaceChildren(
    h("span", null, ringSvg(null, null)), h("span", null, "isolated both ways (fill = namespace color)"),
    h("span", null, ringSvg(COLORS.openIn, null)), h("span", null, "red ring: not isolated for ingress"),
    h("span", null, ringSvg(null, COLORS.openOut)), h("span", null, "amber ring: not isolated for egress"),
    h("span", null, ringSvg(COLORS.openIn, COLORS.openOut)), h("span", null, "both rings: open both ways"),
    h("span", null, line("#94a3b8", 3)), h("span", null, "edge: established only (arrow = direction)"),
    h("span", null, line(COLORS.failed, 4)), h("span", null, "edge with failed connections"),
    h("span", null, line(COLORS.dropped, 4)), h("span", null, "edge with dropped flows"),
    h("span", { class: "muted" }, "●"), h("span", { class: "muted" }, "node size = number of edges; world/… = external peers (no rings for external peers and cluster nodes)"),
  );
}

function startRenderer(graph, data, namespaces, nsColor) {
  const state = {
    hiddenNs: new Set(),
    outcomes: { established: true, failed: true, dropped: true },
    selectedNode: null,
    selectedEdge: null,
    hoveredNode: null,
    neighbors: null,
  };

  const BorderedNode = createNodeBorderProgram({
    borders: [
      { size: { attribute: "ringIn", defaultValue: 0 }, color: { value: COLORS.openIn } },
      { size: { attribute: "ringOut", defaultValue: 0 }, color: { value: COLORS.openOut } },
      { size: { attribute: "ringGap", defaultValue: 0 }, color: { value: COLORS.ringGap } },
      { size: { fill: true }, color: { attribute: "color" } },
    ],
  });
  const labels = labelSettingsFor(graph.order);

  const edgeVisible = (edge, a) => {
    const o = a.outcomes;
    const any = o.established + o.failed + o.dropped;
    const byOutcome = (state.outcomes.established && (o.established > 0 || any === 0)) ||
      (state.outcomes.failed && o.failed > 0) || (state.outcomes.dropped && o.dropped > 0);
    if (!byOutcome) return false;
    const [s, t] = graph.extremities(edge);
    return !state.hiddenNs.has(graph.getNodeAttribute(s, "namespace")) &&
      !state.hiddenNs.has(graph.getNodeAttribute(t, "namespace"));
  };

  const renderer = new Sigma(graph, $("graph"), {
    defaultNodeType: "bordered",
    nodeProgramClasses: { bordered: BorderedNode },
    defaultEdgeType: "arrow",
    enableEdgeEvents: true,
    zIndex: true,
    labelFont: getComputedStyle(document.documentElement).fontFamily,
    labelSize: 12,
    labelWeight: "500",
    labelColor: { color: "#111827" },
    labelRenderedSizeThreshold: labels.threshold,
    labelDensity: labels.density,
    labelGridCellSize: 140,
    minCameraRatio: 0.01,
    maxCameraRatio: 4,
    stagePadding: graph.order <= 60 ? 90 : 50,
    minEdgeThickness: 0.8,
    nodeReducer: (node, a) => {
      const res = { ...a };
      if (state.hiddenNs.has(a.namespace)) { res.hidden = true; return res; }
      const focus = state.selectedNode || state.hoveredNode;
      if (focus && state.neighbors) {
        if (node === focus) { res.highlighted = true; res.forceLabel = true; res.zIndex = 3; }
        else if (state.neighbors.has(node)) { res.forceLabel = graph.order <= 3000 && state.neighbors.size <= 40; res.zIndex = 2; }
        else { res.color = COLORS.dim; res.ringIn = 0; res.ringOut = 0; res.ringGap = 0; res.label = ""; res.zIndex = 0; }
      }
      if (state.selectedEdge) {
        const [s, t] = graph.extremities(state.selectedEdge);
        if (node === s || node === t) { res.highlighted = true; res.forceLabel = true; res.zIndex = 3; }
      }
      return res;
    },
    edgeReducer: (edge, a) => {
      const res = { ...a };
      if (!edgeVisible(edge, a)) { res.hidden = true; return res; }
      const focus = state.selectedNode || state.hoveredNode;
      if (focus && state.neighbors) {
        const [s, t] = graph.extremities(edge);
        if (s !== focus && t !== focus) { res.hidden = true; return res; }
        else { res.size = a.size + 0.3; res.zIndex = a.zIndex + 3; if (a.status === "established") res.color = "#64748b"; }
      }
      if (state.selectedEdge === edge) { res.color = COLORS.highlight; res.size = a.size + 2; res.zIndex = 10; }
      return res;
    },
  });

  // ---- namespace hulls (behind the edges) and namespace labels (HTML overlay) ----
  const hullCanvas = renderer.createCanvas("hulls", { beforeLayer: "edges" });
  const hullCtx = hullCanvas.getContext("2d");
  const groups = new Map(); // namespace -> { hull: [{x,y}], cx, cy, count, label }
  graph.forEachNode((id, a) => {
    let g = groups.get(a.namespace);
    if (!g) { g = { pts: [], count: 0 }; groups.set(a.namespace, g); }
    g.pts.push({ x: a.x, y: a.y });
    g.count++;
  });
  const labelLayer = $("ns-labels");
  for (const [ns, g] of groups) {
    g.hull = convexHull(g.pts);
    g.cx = g.pts.reduce((s, p) => s + p.x, 0) / g.pts.length;
    g.cy = g.pts.reduce((s, p) => s + p.y, 0) / g.pts.length;
    g.fill = tint(nsColor.get(ns), 0.9);
    g.stroke = tint(nsColor.get(ns), 0.55);
    g.label = h("div", { class: "ns-label", style: { color: nsColor.get(ns) } },
      ns === "" ? "(cluster)" : ns === "world" ? "world (external)" : ns, h("span", { class: "n" }, fmt(g.count)));
    delete g.pts;
    labelLayer.append(g.label);
  }
  const drawOverlays = () => {
    const { width, height } = renderer.getDimensions();
    const dpr = window.devicePixelRatio || 1;
    if (hullCanvas.width !== Math.round(width * dpr) || hullCanvas.height !== Math.round(height * dpr)) {
      hullCanvas.width = Math.round(width * dpr);
      hullCanvas.height = Math.round(height * dpr);
    }
    hullCtx.setTransform(dpr, 0, 0, dpr, 0, 0);
    hullCtx.clearRect(0, 0, width, height);
    const pad = 11 / Math.sqrt(Math.max(0.05, renderer.getCamera().ratio));
    const placed = [];
    for (const [ns, g] of groups) {
      const hidden = state.hiddenNs.has(ns);
      g.label.style.display = hidden ? "none" : "";
      if (hidden) continue;
      const vp = g.hull.map((p) => renderer.graphToViewport(p));
      hullCtx.beginPath();
      if (vp.length === 1) hullCtx.arc(vp[0].x, vp[0].y, 0.5, 0, 2 * Math.PI);
      else vp.forEach((p, i) => (i ? hullCtx.lineTo(p.x, p.y) : hullCtx.moveTo(p.x, p.y)));
      if (vp.length > 2) hullCtx.closePath();
      hullCtx.lineJoin = "round";
      hullCtx.lineCap = "round";
      hullCtx.lineWidth = pad * 2;
      hullCtx.strokeStyle = g.fill;
      hullCtx.stroke();
      hullCtx.fillStyle = g.fill;
      hullCtx.fill();
      // Outline: re-stroke a thin line just outside the padded area.
      hullCtx.save();
      hullCtx.globalCompositeOperation = "destination-over";
      hullCtx.lineWidth = pad * 2 + 3;
      hullCtx.strokeStyle = g.stroke;
      hullCtx.stroke();
      hullCtx.restore();
      // Label above the group, kept inside the viewport and off other labels where possible.
      let top = Infinity, bottom = -Infinity, left = Infinity, right = -Infinity;
      for (const p of vp) {
        top = Math.min(top, p.y); bottom = Math.max(bottom, p.y);
        left = Math.min(left, p.x); right = Math.max(right, p.x);
      }
      const offscreen = bottom < 0 || top > height || right < 0 || left > width;
      g.label.style.display = offscreen ? "none" : "";
      if (offscreen) continue;
      const c = renderer.graphToViewport({ x: g.cx, y: g.cy });
      let x = Math.max(60, Math.min(width - 60, c.x));
      let y = Math.max(26, Math.min(height - 4, top - pad - 2));
      for (const q of placed) if (Math.abs(q.x - x) < 110 && Math.abs(q.y - y) < 20) y = q.y - 22;
      placed.push({ x, y });
      g.label.style.left = x + "px";
      g.label.style.top = y + "px";
    }
  };
  renderer.on("afterRender", drawOverlays);

  // ---- interaction ----
  const tooltip = $("tooltip");
  const stage = document.querySelector(".stage");
  let mouse = { x: 0, y: 0 };
  stage.addEventListener("mousemove", (e) => {
    const r = stage.getBoundingClientRect();
    mouse = { x: e.clientX - r.left, y: e.clientY - r.top };
    if (!tooltip.hidden) placeTooltip();
  });
  const placeTooltip = () => {
    const r = stage.getBoundingClientRect();
    const w = tooltip.offsetWidth, hgt = tooltip.offsetHeight;
    tooltip.style.left = Math.min(r.width - w - 6, mouse.x + 14) + "px";
    tooltip.style.top = Math.min(r.height - hgt - 6, mouse.y + 14) + "px";
  };
  const showTooltip = (...children) => { tooltip.replaceChildren(...children); tooltip.hidden = false; placeTooltip(); };
  const hideTooltip = () => { tooltip.hidden = true; };

  const setNeighbors = (node) => {
    state.neighbors = node ? new Set(graph.neighbors(node)) : null;
  };
  const selectNode = (node, { focus = false } = {}) => {
    state.selectedNode = node;
    state.selectedEdge = null;
    setNeighbors(node);
    renderNodeDetails(node);
    renderer.refresh({ skipIndexation: true });
    if (focus && node) {
      const d = renderer.getNodeDisplayData(node);
      if (d) renderer.getCamera().animate({ x: d.x, y: d.y, ratio: Math.min(renderer.getCamera().ratio, graph.order > 100 ? 0.25 : 1) }, { duration: 500 });
    }
  };
  const selectEdge = (edge) => {
    state.selectedEdge = edge;
    state.selectedNode = null;
    setNeighbors(null);
    renderEdgeDetails(edge);
    renderer.refresh({ skipIndexation: true });
  };
  const clearSelection = () => {
    state.selectedNode = null;
    state.selectedEdge = null;
    setNeighbors(state.hoveredNode);
    $("details").replaceChildren(h("p", { class: "muted" }, "Click a node or an edge to see its details."));
    renderer.refresh({ skipIndexation: true });
  };

  renderer.on("enterNode", ({ node }) => {
    state.hoveredNode = node;
    if (!state.selectedNode) setNeighbors(node);
    const a = graph.getNodeAttributes(node);
    showTooltip(
      h("div", { class: "t-title" }, node),
      h("div", { class: "t-sub" }, `${a.kind} · ${fmt(graph.inDegree(node))} in / ${fmt(graph.outDegree(node))} out`),
      h("div", { class: "t-sub" }, isolationText(a)),
    );
    renderer.refresh({ skipIndexation: true });
  });
  renderer.on("leaveNode", () => {
    state.hoveredNode = null;
    if (!state.selectedNode) setNeighbors(null);
    hideTooltip();
    renderer.refresh({ skipIndexation: true });
  });
  renderer.on("enterEdge", ({ edge }) => {
    const a = graph.getEdgeAttributes(edge);
    const [s, t] = graph.extremities(edge);
    const o = a.outcomes;
    showTooltip(
      h("div", { class: "t-title" }, `${s} → ${t}`),
      h("div", { class: "t-sub" }, `${a.protocol}/${a.port} · ${fmt(a.count)} flows`),
      h("div", { class: "t-sub" }, `${fmt(o.established)} established · ${fmt(o.failed)} failed · ${fmt(o.dropped)} dropped`),
    );
  });
  renderer.on("leaveEdge", hideTooltip);
  renderer.on("clickNode", ({ node }) => selectNode(node));
  renderer.on("clickEdge", ({ edge }) => selectEdge(edge));
  renderer.on("clickStage", clearSelection);

  const camera = renderer.getCamera();
  $("zoom-in").addEventListener("click", () => camera.animatedZoom({ duration: 250 }));
  $("zoom-out").addEventListener("click", () => camera.animatedUnzoom({ duration: 250 }));
  $("zoom-reset").addEventListener("click", () => camera.animatedReset({ duration: 300 }));

  // ---- details panels ----
  function isolationText(a) {
    if (NOT_ISOLATABLE.has(a.kind)) return "isolation: n/a (" + a.kind.toLowerCase() + ")";
    const i = a.isolated.ingress ? "ingress isolated" : "ingress OPEN";
    const e = a.isolated.egress ? "egress isolated" : "egress OPEN";
    return i + " · " + e;
  }
  function isolationPill(a, dir) {
    if (NOT_ISOLATABLE.has(a.kind)) return h("span", { class: "pill na" }, "n/a");
    return a.isolated[dir] ? h("span", { class: "pill ok" }, "isolated")
      : h("span", { class: "pill " + (dir === "ingress" ? "open-in" : "open-out") }, "not isolated");
  }
  function outcomePills(o) {
    return OUTCOMES.filter((k) => o[k] > 0).map((k) => h("span", { class: "pill " + k }, `${fmt(o[k])} ${k}`));
  }
  function edgeRows(edges, peerOf) {
    const list = edges.slice().sort((x, y) => {
      const ax = graph.getEdgeAttributes(x), ay = graph.getEdgeAttributes(y);
      const bad = (a) => a.outcomes.dropped + a.outcomes.failed;
      return (bad(ay) > 0) - (bad(ax) > 0) || ay.count - ax.count;
    });
    const rows = list.slice(0, MAX_ROWS).map((e) => {
      const a = graph.getEdgeAttributes(e);
      const peer = peerOf(e);
      return h("div", { class: "row", title: "Show this edge", onclick: () => selectEdge(e) },
        h("span", { class: "bar", style: { background: a.status === "established" ? "#94a3b8" : COLORS[a.status], height: "4px" } }),
        h("span", { class: "peer" }, peer),
        h("span", { class: "meta" }, `${a.protocol}/${a.port} ×${fmt(a.count)}`));
    });
    if (list.length > MAX_ROWS) rows.push(h("div", { class: "muted small" }, `…and ${fmt(list.length - MAX_ROWS)} more`));
    if (!list.length) rows.push(h("div", { class: "muted small" }, "none"));
    return h("div", { class: "rows" }, rows);
  }
  function renderNodeDetails(node) {
    if (!node) return clearSelection();
    const a = graph.getNodeAttributes(node);
    const labelTags = Object.entries(a.labels || {}).sort().map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`));
    $("details").replaceChildren(
      h("div", { class: "d-title" }, h("span", { class: "swatch", style: { background: a.color } }), node),
      h("dl", { class: "d-grid" },
        h("dt", null, "namespace"), h("dd", null, a.namespace || "(none)"),
        h("dt", null, "kind"), h("dd", null, a.kind),
        h("dt", null, "ingress"), h("dd", null, isolationPill(a, "ingress")),
        h("dt", null, "egress"), h("dd", null, isolationPill(a, "egress")),
        h("dt", null, "labels"), h("dd", null, labelTags.length ? labelTags : h("span", { class: "muted" }, "none")),
      ),
      h("div", { class: "d-section" }, `Incoming (${fmt(graph.inDegree(node))})`),
      edgeRows(graph.inEdges(node), (e) => "← " + graph.source(e)),
      h("div", { class: "d-section" }, `Outgoing (${fmt(graph.outDegree(node))})`),
      edgeRows(graph.outEdges(node), (e) => "→ " + graph.target(e)),
    );
  }
  function renderEdgeDetails(edge) {
    const a = graph.getEdgeAttributes(edge);
    const [s, t] = graph.extremities(edge);
    const o = a.outcomes;
    const total = o.established + o.failed + o.dropped || 1;
    const nodeLink = (id) => h("button", { class: "link", type: "button", onclick: () => selectNode(id, { focus: true }) }, id);
    $("details").replaceChildren(
      h("div", { class: "d-title" }, h("span", { class: "bar", style: { background: a.status === "established" ? "#94a3b8" : COLORS[a.status], height: "4px" } }), `${s} → ${t}`),
      h("dl", { class: "d-grid" },
        h("dt", null, "from"), h("dd", null, nodeLink(s)),
        h("dt", null, "to"), h("dd", null, nodeLink(t)),
        h("dt", null, "protocol"), h("dd", null, a.protocol),
        h("dt", null, "port"), h("dd", null, String(a.port)),
        h("dt", null, "flows"), h("dd", null, fmt(a.count)),
        h("dt", null, "first seen"), h("dd", null, a.first_seen || "—"),
        h("dt", null, "last seen"), h("dd", null, a.last_seen || "—"),
        h("dt", null, "outcomes"), h("dd", null, outcomePills(o).length ? outcomePills(o) : h("span", { class: "muted" }, "none recorded")),
      ),
      h("div", { class: "outcomes", title: "established / failed / dropped" },
        OUTCOMES.map((k) => h("span", { class: k, style: { width: (100 * o[k] / total) + "%" } }))),
    );
  }

  // ---- "not isolated" lists ----
  function renderOpenLists() {
    const groupFor = (attr, title, color) => {
      const ids = graph.filterNodes((id, a) => a[attr] && !state.hiddenNs.has(a.namespace)).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
      const rows = ids.slice(0, 2000).map((id) => h("div", { class: "row", onclick: () => selectNode(id, { focus: true }) },
        h("span", { class: "swatch", style: { background: graph.getNodeAttribute(id, "color") } }),
        h("span", { class: "peer" }, id),
        h("span", { class: "meta" }, graph.getNodeAttribute(id, "kind"))));
      if (ids.length > 2000) rows.push(h("div", { class: "muted small" }, `…and ${fmt(ids.length - 2000)} more`));
      if (!ids.length) rows.push(h("div", { class: "muted small" }, "none — every workload shown is isolated"));
      return h("div", { class: "open-group" },
        h("div", { class: "g-title" }, ringSvg(attr === "openIn" ? COLORS.openIn : null, attr === "openOut" ? COLORS.openOut : null), `${title} (${fmt(ids.length)})`),
        h("div", { class: "rows" }, rows));
    };
    $("open-lists").replaceChildren(
      groupFor("openIn", "Ingress not isolated", COLORS.openIn),
      groupFor("openOut", "Egress not isolated", COLORS.openOut),
    );
  }

  // ---- filters ----
  const nsCounts = new Map();
  graph.forEachNode((_, a) => nsCounts.set(a.namespace, (nsCounts.get(a.namespace) || 0) + 1));
  const nsChecks = new Map();
  const applyFilters = () => {
    for (const [ns, box] of nsChecks) box.parentElement.classList.toggle("off", !box.checked);
    if (state.selectedNode && state.hiddenNs.has(graph.getNodeAttribute(state.selectedNode, "namespace"))) clearSelection();
    renderOpenLists();
    renderer.refresh({ skipIndexation: true });
  };
  $("ns-filters").replaceChildren(...namespaces.filter((ns) => nsCounts.has(ns)).map((ns) => {
    const box = h("input", { type: "checkbox", checked: true, onchange: () => {
      if (box.checked) state.hiddenNs.delete(ns); else state.hiddenNs.add(ns);
      applyFilters();
    } });
    nsChecks.set(ns, box);
    return h("label", { class: "check", title: ns },
      box, h("span", { class: "swatch", style: { background: nsColor.get(ns) } }),
      h("span", { class: "name" }, ns === "" ? "(cluster)" : ns), h("span", { class: "count" }, fmt(nsCounts.get(ns))));
  }));
  const setAllNs = (on) => {
    for (const [ns, box] of nsChecks) { box.checked = on; if (on) state.hiddenNs.delete(ns); else state.hiddenNs.add(ns); }
    applyFilters();
  };
  $("ns-all").addEventListener("click", () => setAllNs(true));
  $("ns-none").addEventListener("click", () => setAllNs(false));

  const outcomeCounts = { established: 0, failed: 0, dropped: 0 };
  graph.forEachEdge((_, a) => { for (const k of OUTCOMES) if (a.outcomes[k] > 0) outcomeCounts[k]++; });
  $("outcome-filters").replaceChildren(...OUTCOMES.map((k) => {
    const box = h("input", { type: "checkbox", checked: true, onchange: () => {
      state.outcomes[k] = box.checked;
      box.parentElement.classList.toggle("off", !box.checked);
      renderer.refresh({ skipIndexation: true });
    } });
    const color = k === "established" ? "#94a3b8" : COLORS[k];
    return h("label", { class: "check" }, box, h("span", { class: "bar", style: { background: color, height: "4px" } }),
      h("span", { class: "name" }, k), h("span", { class: "count" }, fmt(outcomeCounts[k])));
  }));

  // ---- search ----
  const ids = graph.nodes().sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  $("node-ids").replaceChildren(...ids.slice(0, 5000).map((id) => h("option", { value: id })));
  const search = $("search");
  const runSearch = () => {
    const q = search.value.trim().toLowerCase();
    const msg = $("search-msg");
    if (!q) { msg.textContent = ""; return; }
    const exact = ids.find((id) => id.toLowerCase() === q);
    const matches = exact ? [exact] : ids.filter((id) => id.toLowerCase().includes(q));
    if (!matches.length) { msg.textContent = "No node matches “" + search.value.trim() + "”."; return; }
    const node = matches[0];
    const ns = graph.getNodeAttribute(node, "namespace");
    if (state.hiddenNs.has(ns)) { nsChecks.get(ns).checked = true; state.hiddenNs.delete(ns); applyFilters(); }
    msg.textContent = matches.length > 1 ? `${fmt(matches.length)} matches; showing ${node}` : "";
    selectNode(node, { focus: true });
  };
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") runSearch(); });
  search.addEventListener("change", runSearch);

  // Deep links: map.html#node=<id> opens with that node selected and in view;
  // map.html#edge=<src>|<dst> with the first edge from src to dst selected.
  const openFromHash = () => {
    const m = /^#(node|edge)=(.+)$/.exec(location.hash);
    if (!m) return;
    const value = decodeURIComponent(m[2]);
    if (m[1] === "node" && graph.hasNode(value)) { search.value = value; runSearch(); }
    if (m[1] === "edge") {
      const [s, t] = value.split("|");
      if (graph.hasNode(s) && graph.hasNode(t) && graph.edges(s, t).length) selectEdge(graph.edges(s, t)[0]);
    }
  };
  window.addEventListener("hashchange", openFromHash);

  renderLegend();
  renderOpenLists();
  openFromHash();
  return { renderer, state };
}

main();

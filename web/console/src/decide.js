// Decide → draft → simulate → apply, the pure part (no DOM, no fetch): the draft for a
// selection of workloads and edges, its YAML, a readable summary, and the reading of a
// simulation (the `stockade diff --flows -o json` object POST /api/v1/simulate answers).
//
// The draft is made of what the server recommends (GET /api/v1/recommendations, i.e.
// `stockade recommend`): the NetworkPolicies annotated `stockade.io/workload: KIND/NAME` for the
// workloads selected, or at either end of an edge marked allowed. An edge marked denied becomes
// an AdminNetworkPolicy guardrail (Deny, from the source workload's pods to the destination's
// on that port), selecting the pods by the labels the map gives each workload; whether the
// draft does what was meant is the simulation's answer (the engine's), not this file's.

export const WORKLOAD_ANNOTATION = "stockade.io/workload";
const NS_LABEL = "kubernetes.io/metadata.name";

function nsOf(id) {
  const i = id.indexOf("/");
  return i > 0 ? id.slice(0, i) : "";
}
function nameOf(id) {
  const i = id.indexOf("/");
  return i > 0 ? id.slice(i + 1) : id;
}

// The recommended policies that select the workload `node` (a map node at workload level).
export function policiesOfWorkload(items, node) {
  if (!node || !node.kind) return [];
  const want = `${node.kind}/${nameOf(node.id)}`;
  return items.filter((p) => {
    const m = p.metadata || {};
    return m.namespace === node.namespace && (m.annotations || {})[WORKLOAD_ANNOTATION] === want;
  });
}

function dnsName(s) {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "") || "x";
}

// An AdminNetworkPolicy that denies `edge` (src → dst PROTO/PORT) between two in-cluster
// workloads; null when an end is outside the cluster or has no labels to select it by.
export function guardrailFor(edge, nodes, priority = 50) {
  const src = nodes.get(edge.src);
  const dst = nodes.get(edge.dst);
  const inCluster = (n) => n && n.namespace && n.namespace !== "world" && n.kind !== "Node" && n.kind !== "External" &&
    Object.keys(n.labels || {}).length > 0;
  if (!inCluster(src) || !inCluster(dst)) return null;
  const pods = (n) => ({ namespaceSelector: { matchLabels: { [NS_LABEL]: n.namespace } }, podSelector: { matchLabels: { ...n.labels } } });
  const proto = String(edge.protocol).toUpperCase();
  return {
    apiVersion: "policy.networking.k8s.io/v1alpha1",
    kind: "AdminNetworkPolicy",
    metadata: {
      name: dnsName(`stockade-guardrail-${nameOf(edge.src)}-${nameOf(edge.dst)}-${proto}-${edge.port}`),
      labels: { "app.kubernetes.io/managed-by": "stockade" },
      annotations: { "stockade.io/generated-by": "stockade console", "stockade.io/guardrail": `${edge.src} -> ${edge.dst} ${proto}/${edge.port}` },
    },
    spec: {
      priority,
      subject: { pods: pods(dst) },
      ingress: [{ name: "deny-" + dnsName(nameOf(edge.src)), action: "Deny", from: [{ pods: pods(src) }], ports: [{ portNumber: { protocol: proto, port: edge.port } }] }],
    },
  };
}

// The draft for a selection: {workloads: Set(id), allow: Map(key → edge), deny: Map(key → edge)}.
// Returns {policies, missing (workloads without a recommended policy), refused (denied edges no
// guardrail can express), guarded (the denied edges that have one)}.
export function buildDraft(selection, items, nodes) {
  const ids = new Set(selection.workloads);
  for (const e of selection.allow.values()) {
    ids.add(e.src);
    ids.add(e.dst);
  }
  const policies = [];
  const seen = new Set();
  const missing = [];
  for (const id of [...ids].sort()) {
    const n = nodes.get(id);
    if (!n || n.namespace === "world" || !n.namespace || n.kind === "Node" || n.kind === "External") continue;
    const ps = policiesOfWorkload(items, n);
    if (!ps.length) missing.push(id);
    for (const p of ps) {
      const k = `${p.metadata.namespace}/${p.metadata.name}`;
      if (!seen.has(k)) {
        seen.add(k);
        policies.push(p);
      }
    }
  }
  const refused = [];
  const guarded = [];
  for (const e of selection.deny.values()) {
    const g = guardrailFor(e, nodes);
    if (g) {
      policies.push(g);
      guarded.push(e);
    } else refused.push(e);
  }
  return { policies, missing, refused, guarded };
}

function shortName(id, ns) {
  return nsOf(id) === ns ? nameOf(id) : id;
}

// Lines a person reads: "checkout may call payments on TCP/8080", from the observed edges the
// draft's policies are there to allow (recommend allows every observed connection of the
// workloads it writes a policy for), and "… may not call …" for the guardrails.
export function readableSummary(draft, edges) {
  const lines = [];
  const ingress = new Set();
  const egress = new Set();
  for (const p of draft.policies) {
    const w = ((p.metadata || {}).annotations || {})[WORKLOAD_ANNOTATION];
    if (!w || p.kind !== "NetworkPolicy") continue;
    const id = `${p.metadata.namespace}/${w.slice(w.indexOf("/") + 1)}`;
    const types = (p.spec && p.spec.policyTypes) || [];
    if (types.includes("Ingress")) ingress.add(id);
    if (types.includes("Egress")) egress.add(id);
  }
  const said = new Set();
  for (const e of edges) {
    if (!(e.outcomes && e.outcomes.established > 0)) continue;
    if (!ingress.has(e.dst) && !egress.has(e.src)) continue;
    const ns = nsOf(ingress.has(e.dst) ? e.dst : e.src);
    const text = `${shortName(e.src, ns)} may call ${shortName(e.dst, ns)} on ${e.protocol}/${e.port}`;
    if (said.has(text)) continue;
    said.add(text);
    lines.push({ kind: "allow", text });
  }
  for (const e of draft.guarded) {
    const ns = nsOf(e.dst);
    lines.push({ kind: "deny", text: `${shortName(e.src, ns)} may not call ${shortName(e.dst, ns)} on ${e.protocol}/${e.port} (guardrail)` });
  }
  for (const id of ingress) lines.push({ kind: "isolate", text: `only these may call ${id}` });
  for (const id of egress) lines.push({ kind: "isolate", text: `${id} may call only these (and the cluster DNS)` });
  return lines;
}

// YAML for people and Git: block style, every string double-quoted (JSON's escapes are YAML's).
export function toYaml(value, indent = "") {
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    return value.map((v) => {
      const inner = toYaml(v, indent + "  ");
      return `\n${indent}- ${isBlock(v) ? inner.replace(/^\n\s*/, "") : inner}`;
    }).join("");
  }
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return "{}";
    return keys.map((k) => {
      const v = value[k];
      const key = /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k);
      const inner = toYaml(v, indent + "  ");
      return `\n${indent}${key}:${isBlock(v) ? inner : " " + inner}`;
    }).join("");
  }
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}
function isBlock(v) {
  return v && typeof v === "object" && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

export function draftYaml(policies) {
  return policies.map((p) => "---" + toYaml(p) + "\n").join("");
}

// A simulation's answer, read for the console: the observed flows that would break, the
// connections newly denied / allowed per destination namespace (pod pairs: the exposure the
// draft removes or adds).
export function readSimulation(sim) {
  const flows = (sim && sim.flows) || { changes: [], summary: {} };
  const broken = (flows.changes || []).filter((c) => c.after === "denied");
  const perNs = new Map();
  for (const c of (sim && sim.changes) || []) {
    const ns = nsOf(c.dst) || c.dst;
    if (!perNs.has(ns)) perNs.set(ns, { ns, denied: 0, allowed: 0 });
    const row = perNs.get(ns);
    const n = c.pairs || 1;
    if (c.after === "denied") row.denied += n;
    else row.allowed += n;
  }
  return {
    broken,
    checked: (flows.summary || {}).edges || 0,
    exposure: [...perNs.values()].sort((a, b) => b.denied - a.denied || (a.ns < b.ns ? -1 : 1)),
    summary: (sim && sim.summary) || {},
  };
}

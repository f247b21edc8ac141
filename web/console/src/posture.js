// The posture and policy sections: GET /api/v1/posture is `stockade scan -o json` (findings,
// suppressed, risk, summary). The console only sorts, filters and links them to the map; the
// checks and the ranking are the scan's. The `policy` category (issue 26's lint) is the checks
// whose IDs start with POLICY_ (docs/scan.md).

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod",
  "ReplicationController"]);
const SEVERITIES = ["critical", "high", "medium", "low"];

export function isPolicyFinding(f) {
  return typeof f.id === "string" && f.id.startsWith("POLICY_");
}

export function resourceText(r) {
  return r ? `${r.kind} ${r.namespace ? r.namespace + "/" : ""}${r.name}` : "";
}

// Where a finding or a ranked workload is on the map: a workload's node (workload level), or the
// namespace of anything namespaced (a policy, a service account) as a search.
export function mapTarget(r) {
  if (!r) return null;
  if (WORKLOAD_KINDS.has(r.kind) && r.namespace) return { node: `${r.namespace}/${r.name}` };
  if (r.kind === "Namespace") return { search: `${r.name}/` };
  if (r.namespace) return { search: `${r.namespace}/` };
  return null;
}

export function filterFindings(findings, { category, severity, text }) {
  const t = (text || "").trim().toLowerCase();
  return findings.filter((f) => {
    if (category === "policy" && !isPolicyFinding(f)) return false;
    if (category === "other" && isPolicyFinding(f)) return false;
    if (severity && SEVERITIES.indexOf(f.severity) > SEVERITIES.indexOf(severity)) return false;
    if (!t) return true;
    return `${f.id} ${f.severity} ${resourceText(f.resource)} ${f.message}`.toLowerCase().includes(t);
  });
}

function linkButton(r, esc) {
  const t = mapTarget(r);
  if (!t) return "";
  const attrs = t.node ? `data-node="${esc(t.node)}"` : `data-search="${esc(t.search)}"`;
  return `<button class="posture-map" ${attrs}>show on map</button>`;
}

function findingRow(f, esc) {
  const where = f.file ? `<span class="muted small">${esc(f.file)}${f.line ? ":" + f.line : ""}</span>` : "";
  return `<tr data-id="${esc(f.id)}"><td><span class="pill sev-${esc(f.severity)}">${esc(f.severity)}</span></td>
    <td><code>${esc(f.id)}</code></td><td>${esc(resourceText(f.resource))}${f.container ? ` <span class="muted">(${esc(f.container)})</span>` : ""}<br>${where}</td>
    <td>${esc(f.message)}<br><span class="muted small">${esc(f.remediation || "")}</span></td><td>${linkButton(f.resource, esc)}</td></tr>`;
}

export function renderPolicyFindings(data, esc) {
  const list = (data.findings || []).filter(isPolicyFinding);
  if (!list.length)
    return `<p class="muted" id="policy-none">No policy finding: every policy selects something, every peer selects something, no rule is ignored, shadowed or redundant.</p>`;
  return `<table id="policy-table"><thead><tr><th>severity</th><th>check</th><th>policy</th><th>finding</th><th></th></tr></thead>
    <tbody>${list.map((f) => findingRow(f, esc)).join("")}</tbody></table>`;
}

export function renderRisk(data, esc, max = 50) {
  const risk = data.risk || [];
  if (!risk.length) return `<p class="muted">No workload ranked.</p>`;
  return `<table id="risk-table"><thead><tr><th>#</th><th>workload</th><th>score</th><th>exposure</th><th>isolated</th><th>why</th><th></th></tr></thead>
    <tbody>${risk.slice(0, max).map((e, i) => {
      const c = e.context || {};
      const iso = c.isolated || {};
      return `<tr><td>${i + 1}</td><td>${esc(resourceText(e.resource))}</td><td>${esc(e.score)}</td><td>${esc(c.exposure || "")}</td>
        <td>${iso.ingress ? "ingress" : '<span class="pill failed">no ingress</span>'} ${iso.egress ? "egress" : '<span class="pill failed">no egress</span>'}</td>
        <td class="small">${(e.factors || []).map(esc).join("<br>")}</td><td>${linkButton(e.resource, esc)}</td></tr>`;
    }).join("")}</tbody></table>${risk.length > max ? `<p class="muted small">the ${max} highest of ${risk.length}</p>` : ""}`;
}

export function renderFindings(data, filter, esc, max = 500) {
  const rows = filterFindings(data.findings || [], filter);
  return {
    count: rows.length,
    html: `<table id="findings-table"><thead><tr><th>severity</th><th>check</th><th>resource</th><th>finding</th><th></th></tr></thead>
      <tbody>${rows.slice(0, max).map((f) => findingRow(f, esc)).join("")}</tbody></table>`,
  };
}

export function summaryText(data) {
  const s = data.summary || {};
  return `${s.findings ?? 0} findings (${SEVERITIES.map((k) => `${s[k] ?? 0} ${k}`).join(", ")}), ` +
    `${s.suppressed ?? 0} suppressed, ${s.resources ?? 0} resources examined; ` +
    `${(data.findings || []).filter(isPolicyFinding).length} in the policy category`;
}

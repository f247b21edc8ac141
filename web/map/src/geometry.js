// Colors and geometry helpers for namespace groups.

// Qualitative palette without pure reds and ambers: those mean "not isolated" and "failed/dropped".
const PALETTE = [
  "#4e79a7", "#59a14f", "#b07aa1", "#76b7b2", "#9c755f", "#edc948", "#ff9da7", "#17becf",
  "#8c6bb1", "#bcbd22", "#1f5f8b", "#2ca02c", "#d37295", "#499894", "#86bcb6", "#a0cbe8",
];
export const WORLD_COLOR = "#6b7280";

function hslToHex(h, s, l) {
  const a = s * Math.min(l, 1 - l);
  const f = (n) => {
    const k = (n + h / 30) % 12;
    const c = l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(255 * c).toString(16).padStart(2, "0");
  };
  return "#" + f(0) + f(8) + f(4);
}

// Namespaces get colors in sorted order, so the same cluster looks the same run after run.
export function namespaceColors(namespaces) {
  const map = new Map();
  let i = 0;
  for (const ns of namespaces) {
    if (ns === "world") { map.set(ns, WORLD_COLOR); continue; }
    if (ns === "") { map.set(ns, "#374151"); continue; }
    if (i < PALETTE.length) map.set(ns, PALETTE[i]);
    else {
      // Golden-angle hues, skipping the red/orange band (0–45°) kept for warnings.
      const hue = 45 + ((i - PALETTE.length) * 137.508) % 300;
      map.set(ns, hslToHex(hue, 0.5, 0.47));
    }
    i++;
  }
  return map;
}

// Mix a #rrggbb color with white: amount 0 = color, 1 = white.
export function tint(hex, amount) {
  const v = parseInt(hex.slice(1), 16);
  const ch = [(v >> 16) & 255, (v >> 8) & 255, v & 255].map((c) => Math.round(c + (255 - c) * amount));
  return "rgb(" + ch.join(",") + ")";
}

// Andrew's monotone chain. Returns the hull in order; 1 or 2 points come back as they are.
export function convexHull(points) {
  const pts = points.slice().sort((a, b) => a.x - b.x || a.y - b.y);
  if (pts.length <= 2) return pts;
  const cross = (o, a, b) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}

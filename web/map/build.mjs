// Builds dist/map.html: one self-contained page (JS and CSS inline, nothing loaded at run time)
// that `stockade map -o html` fills by replacing the data placeholder with the map JSON.
//   node build.mjs            build dist/map.html
//   node build.mjs --check    also fail if the output looks like it would reach the network
import { build } from "esbuild";
import { readFile, writeFile, mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const outFile = join(here, "dist", "map.html");
const PLACEHOLDER = "__STOCKADE_MAP_DATA__";

function fail(msg) {
  console.error("build-web: " + msg);
  process.exit(1);
}

async function bundle(entry, loader) {
  const result = await build({
    entryPoints: [join(src, entry)],
    bundle: true,
    minify: true,
    write: false,
    format: loader === "css" ? undefined : "iife",
    target: loader === "css" ? ["chrome100", "firefox100", "safari15"] : ["es2020"],
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
    define: loader === "css" ? undefined : { "process.env.NODE_ENV": '"production"' },
  });
  return result.outputFiles[0].text;
}

const [template, js, css] = await Promise.all([
  readFile(join(src, "index.html"), "utf8"),
  bundle("main.js", "js"),
  bundle("style.css", "css"),
]);

// Text inlined into <script> or <style> must not be able to end the element early.
if (/<\/script|<!--|<script/i.test(js)) fail("the bundled JS contains </script, <script or <!--; it cannot be inlined safely");
if (/<\/style/i.test(css)) fail("the bundled CSS contains </style");
if (js.includes(PLACEHOLDER) || css.includes(PLACEHOLDER)) fail("the bundle contains the data placeholder; it must appear only in the template");

const slots = ["/*@STOCKADE_CSS@*/", "/*@STOCKADE_JS@*/"];
for (const s of slots) if (template.split(s).length !== 2) fail(`template must contain ${s} exactly once`);
// Function replacements: the bundle may contain "$&" and other replacement patterns.
const html = template.replace(slots[0], () => css.trim()).replace(slots[1], () => js.trim());

const occurrences = html.split(PLACEHOLDER).length - 1;
if (occurrences !== 1) fail(`${PLACEHOLDER} must appear exactly once in the page, found ${occurrences}`);
if (!html.includes(`<script id="stockade-data" type="application/json">${PLACEHOLDER}</script>`)) {
  fail("the data placeholder must sit inside <script id=\"stockade-data\" type=\"application/json\">");
}
// Offline: no external scripts, stylesheets, fonts or imports.
const external = html.match(/<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i) ||
  html.match(/@import|url\(\s*["']?(https?:)?\/\//i);
if (external) fail("the page references an external resource: " + external[0]);

await mkdir(dirname(outFile), { recursive: true });
const tmp = outFile + ".tmp";
await writeFile(tmp, html);
await rename(tmp, outFile);
console.log(`build-web: wrote ${outFile} (${(html.length / 1024).toFixed(0)} KiB)`);

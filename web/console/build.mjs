// Builds dist/console.html: the web console `stockade serve` answers at GET /. One self-contained
// page (JS and CSS inline, nothing loaded from elsewhere); it holds no data: everything comes
// from the server's /api/v1 at run time, with the user's bearer token.
//   node build.mjs
import { build } from "esbuild";
import { readFile, writeFile, mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, "src");
const outFile = join(here, "dist", "console.html");

function fail(msg) {
  console.error("build-web: " + msg);
  process.exit(1);
}

async function bundle(entry, css) {
  const result = await build({
    entryPoints: [join(src, entry)],
    bundle: true,
    minify: true,
    write: false,
    format: css ? undefined : "iife",
    target: css ? ["chrome100", "firefox100", "safari15"] : ["es2020"],
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
    define: css ? undefined : { "process.env.NODE_ENV": '"production"' },
  });
  return result.outputFiles[0].text;
}

const [template, js, css] = await Promise.all([
  readFile(join(src, "index.html"), "utf8"),
  bundle("main.js", false),
  bundle("style.css", true),
]);

// Text inlined into <script> or <style> must not be able to end the element early.
if (/<\/script|<!--|<script/i.test(js)) fail("the bundled JS contains </script, <script or <!--; it cannot be inlined safely");
if (/<\/style/i.test(css)) fail("the bundled CSS contains </style");
const slots = ["/*@STOCKADE_CSS@*/", "/*@STOCKADE_JS@*/"];
for (const s of slots) if (template.split(s).length !== 2) fail(`template must contain ${s} exactly once`);
// Function replacements: the bundle may contain "$&" and other replacement patterns.
const html = template.replace(slots[0], () => css.trim()).replace(slots[1], () => js.trim());
// Offline: no external scripts, stylesheets, fonts or imports.
const external = html.match(/<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i) ||
  html.match(/@import|url\(\s*["']?(https?:)?\/\//i);
if (external) fail("the console references an external resource: " + external[0]);

await mkdir(dirname(outFile), { recursive: true });
const tmp = outFile + ".tmp";
await writeFile(tmp, html);
await rename(tmp, outFile);
console.log(`build-web: wrote ${outFile} (${(html.length / 1024).toFixed(0)} KiB)`);

// Produces a map page the way `stockade map -o html` does: the template's placeholder (which must
// occur exactly once) is replaced by the JSON with every "<" written as \u003c.
// Usage: node embed.mjs TEMPLATE.html DATA.json OUT.html
import { readFileSync, writeFileSync } from "node:fs";

const [template, dataFile, out] = process.argv.slice(2);
if (!out) { console.error("usage: node embed.mjs TEMPLATE.html DATA.json OUT.html"); process.exit(2); }
const PLACEHOLDER = "__STOCKADE_MAP_DATA__";
const html = readFileSync(template, "utf8");
const parts = html.split(PLACEHOLDER);
if (parts.length !== 2) { console.error(`embed: ${template} has ${parts.length - 1} placeholders, expected 1`); process.exit(1); }
const json = readFileSync(dataFile, "utf8").trim().replaceAll("<", "\\u003c");
writeFileSync(out, parts[0] + json + parts[1]);

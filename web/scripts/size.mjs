#!/usr/bin/env node
// Prints the web app's initial transfer size: index.html plus the JS and CSS it
// loads before the first page can render (its <script>, stylesheet and
// modulepreload references, and their static imports), each gzip-compressed.
// Exits 1 above the budget (150 KB, DESIGN.md). Lazily loaded chunks (the
// editor, the designer, ...) are listed for information.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, constants } from "node:zlib";

const BUDGET = 150 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
if (!existsSync(join(dist, "index.html"))) {
  console.error("size: dist/index.html missing; run `npm run build` first");
  process.exit(2);
}

const gz = (buf) => gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
const file = (p) => readFileSync(join(dist, p.replace(/^\//, "")));
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

const html = file("index.html").toString();
const refs = new Set();
for (const m of html.matchAll(/<(?:script|link)\b[^>]*?(?:src|href)="([^"]+\.(?:js|css))"/g)) refs.add(m[1].replace(/^\//, ""));

// Static imports of JS chunks load before the entry runs: follow them.
const initial = new Set();
const queue = [...refs];
while (queue.length) {
  const p = queue.shift();
  if (initial.has(p)) continue;
  initial.add(p);
  if (!p.endsWith(".js")) continue;
  const src = file(p).toString();
  for (const m of src.matchAll(/(?:^|[;}\n])\s*import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+\.js)["']/g)) queue.push(`assets/${m[1]}`);
}

const rows = [["index.html", html.length, gz(Buffer.from(html))]];
for (const p of initial) {
  const b = file(p);
  rows.push([p, b.length, gz(b)]);
}
const total = rows.reduce((a, r) => a + r[2], 0);

console.log("initial transfer (gzip):");
for (const [p, raw, g] of rows) console.log(`  ${p.padEnd(44)} ${kb(raw).padStart(10)} raw ${kb(g).padStart(10)} gzip`);
console.log(`  ${"TOTAL".padEnd(44)} ${"".padStart(14)} ${kb(total).padStart(10)} gzip  (budget ${kb(BUDGET)})`);

const lazy = readdirSync(join(dist, "assets"))
  .filter((n) => /\.(js|css)$/.test(n) && !initial.has(`assets/${n}`))
  .map((n) => [n, gz(file(`assets/${n}`))])
  .sort((a, b) => b[1] - a[1]);
if (lazy.length) {
  console.log("lazily loaded chunks (gzip):");
  for (const [n, g] of lazy) console.log(`  assets/${n.padEnd(37)} ${kb(g).padStart(10)}`);
}

if (total > BUDGET) {
  console.error(`size: FAIL: initial ${kb(total)} gzip is over the ${kb(BUDGET)} budget`);
  process.exit(1);
}
console.log(`size: ok: initial ${kb(total)} gzip <= ${kb(BUDGET)}`);

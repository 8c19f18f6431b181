// Checks the built app (npm run build first): no inline script or handler, hashed
// assets under /assets/, gzip copies, and the initial size budget.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const dist = new URL("../dist/", import.meta.url);
const built = existsSync(new URL("index.html", dist));

test("index.html has no inline script, handler or style attribute", { skip: !built && "run npm run build first" }, () => {
  const html = readFileSync(new URL("index.html", dist), "utf8");
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc="\/assets\/[\w-]+\.js"/, "scripts load from /assets/");
    assert.equal(m[2].trim(), "", "no inline script body");
  }
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handlers");
  assert.doesNotMatch(html, /\sstyle\s*=/i, "no style attributes");
});

test("assets are hashed and precompressed", { skip: !built && "run npm run build first" }, () => {
  const assets = readdirSync(new URL("assets/", dist));
  const code = assets.filter((n) => /\.(js|css)$/.test(n));
  assert.ok(code.length > 0);
  for (const n of code) {
    assert.match(n, /-[\w-]{8}\.(js|css)$/, `${n} has a content hash`);
    assert.ok(assets.includes(`${n}.gz`), `${n}.gz exists`);
  }
  assert.ok(existsSync(new URL("index.html.gz", dist)));
});

test("no source uses innerHTML, eval or inline handlers", () => {
  const src = new URL("../src/", import.meta.url);
  const walk = (u) => readdirSync(u, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(new URL(d.name + "/", u)) : [new URL(d.name, u)]);
  for (const f of walk(src).filter((u) => u.pathname.endsWith(".ts"))) {
    const s = readFileSync(f, "utf8");
    assert.doesNotMatch(s, /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, f.pathname);
    assert.doesNotMatch(s, /setAttribute\(\s*["']on|setAttribute\(\s*["']style/, f.pathname);
  }
});

test("initial transfer stays within the budget", { skip: !built && "run npm run build first" }, () => {
  const out = execFileSync(process.execPath, [new URL("../scripts/size.mjs", import.meta.url).pathname], { encoding: "utf8" });
  assert.match(out, /size: ok/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { parseMarkdown, parseInline, safeHref } = await loadTs("markdown");

const text = (nodes) => nodes.map((n) => (n.t === "text" || n.t === "code" ? n.v : n.c ? text(n.c) : "")).join("");

test("raw HTML stays text", () => {
  const b = parseMarkdown("Hello <script>alert(1)</script> <img src=x onerror=alert(2)>");
  assert.equal(b.length, 1);
  assert.equal(b[0].t, "p");
  assert.deepEqual(b[0].c, [{ t: "text", v: "Hello <script>alert(1)</script> <img src=x onerror=alert(2)>" }]);
});

test("script-only block is a paragraph of text", () => {
  const b = parseMarkdown("<script>document.title='x'</script>\n");
  assert.equal(b[0].t, "p");
  assert.equal(text(b[0].c), "<script>document.title='x'</script>");
});

test("headings, fenced code and lists", () => {
  const b = parseMarkdown("## Input\n\nThe first line holds `n`.\n\n```\n4\n1 2 3 5\n```\n\n- 1 ≤ n\n- x *y* **z**\n\n1. one\n2. two\n");
  assert.deepEqual(b.map((x) => x.t), ["h", "p", "pre", "list", "list"]);
  assert.equal(b[0].level, 2);
  assert.equal(b[2].v, "4\n1 2 3 5");
  assert.equal(b[3].ordered, false);
  assert.equal(b[3].items.length, 2);
  assert.equal(b[4].ordered, true);
  const item = b[3].items[1][0].c;
  assert.deepEqual(item.map((n) => n.t), ["text", "em", "text", "strong"]);
});

test("intraword underscores are not emphasis", () => {
  const c = parseInline("0 ≤ s_i < e_i ≤ 10^9");
  assert.deepEqual(c, [{ t: "text", v: "0 ≤ s_i < e_i ≤ 10^9" }]);
});

test("links keep only safe targets", () => {
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref(" JaVaScRiPt:alert(1)"), null);
  assert.equal(safeHref("data:text/html,x"), null);
  assert.equal(safeHref("//evil.example"), null);
  assert.equal(safeHref("https://docs.python.org/3/"), "https://docs.python.org/3/");
  assert.equal(safeHref("/tasks/two-sum"), "/tasks/two-sum");
  const c = parseInline("[click](javascript:alert(1)) and [ok](https://example.org)");
  assert.deepEqual(c.map((n) => n.t), ["text", "text", "link"]);
  assert.equal(c[0].v, "click");
});

test("images become links, never loads", () => {
  const c = parseInline("![diagram](https://example.org/a.png)");
  assert.equal(c[0].t, "link");
  assert.equal(text(c[0].c), "diagram");
});

test("tables", () => {
  const b = parseMarkdown("| a | b |\n|:--|--:|\n| 1 | 2 |\n");
  assert.equal(b[0].t, "table");
  assert.deepEqual(b[0].align, ["left", "right"]);
  assert.equal(b[0].rows.length, 1);
});

test("every task statement in content/ parses", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const dir = new URL("../../content/tasks/", import.meta.url);
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".json"))) {
    const t = JSON.parse(readFileSync(new URL(f, dir), "utf8"));
    const b = parseMarkdown(t.description);
    assert.ok(b.length > 0, f);
    n++;
  }
  assert.ok(n > 0);
});

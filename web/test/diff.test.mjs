import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { firstDifference, lineDiff, splitLines } = await loadTs("diff");

test("lines: trailing whitespace and blank lines at the end do not count (ignore_trailing_ws)", () => {
  assert.equal(firstDifference("1\n2\n", "1  \n2\n\n\n", "ignore_trailing_ws"), null);
  const d = firstDifference("a b c\n10 20\n", "a b c\n10 21\n", "ignore_trailing_ws");
  assert.deepEqual(d.actual, { line: 2, from: 3, to: 5, col: 4 });
  assert.deepEqual(d.expected, { line: 2, from: 3, to: 5, col: 4 });
  assert.equal(d.summary, 'Line 2, column 4: expected "20", your output has "21".');
  assert.equal(d.whitespace, false);
});

test("lines: output that ends early or goes on", () => {
  const early = firstDifference("1\n2\n3\n", "1\n2\n", "ignore_trailing_ws");
  assert.equal(early.actual, null);
  assert.equal(early.expected.line, 3);
  assert.match(early.summary, /^Line 3: expected "3", but your output ends before it\.$/);
  const more = firstDifference("1\n", "1\n2\n", "ignore_trailing_ws");
  assert.equal(more.expected, null);
  assert.match(more.summary, /goes on with "2"/);
  const short = firstDifference("hello world\n", "hello\n", "ignore_trailing_ws");
  assert.match(short.summary, /Line 1, column 6: your line ends early; expected a space next\./);
});

test("whitespace-only differences are said to be so", () => {
  const d = firstDifference("blue is sky\n", "blue  is sky\n", "ignore_trailing_ws");
  assert.equal(d.whitespace, true);
  assert.match(d.summary, /column 6: expected "is", your output has a space\. Only whitespace differs/);
  const crlf = firstDifference("a\nb\n", "a\r\nb\r\n", "exact");
  assert.equal(crlf.whitespace, true);
  assert.match(crlf.summary, /^Line 1, column 2: expected a line break, your output has a carriage return/);
});

test("exact: every byte counts, columns count characters", () => {
  assert.equal(firstDifference("x\n", "x\n", "exact"), null);
  const d = firstDifference("héllo wörld\n", "héllo wôrld\n", "exact");
  assert.equal(d.actual.line, 1);
  assert.equal(d.actual.col, 8);
  const missingNewline = firstDifference("Fizz\n", "Fizz", "exact");
  assert.equal(missingNewline.whitespace, true);
  assert.match(missingNewline.summary, /your output ends here; expected a line break next/);
});

test("tokens and floats: positions of the first differing token; tolerance", () => {
  assert.equal(firstDifference("1 2\n3\n", "1\n2 3", "tokens"), null);
  const d = firstDifference("1 2\n3 4\n", "1 2\n3 5\n", "tokens");
  assert.deepEqual(d.actual, { line: 2, from: 2, to: 3, col: 3 });
  assert.equal(firstDifference("0.333333\n", "0.3333334\n", "float", { abs_tol: 1e-6 }), null);
  const f = firstDifference("0.5\n", "0.6\n", "float", { abs_tol: 1e-6 });
  assert.match(f.summary, /expected "0.5", your output has "0.6" \(numbers may differ by the tolerance only\)/);
  assert.equal(firstDifference("1\n", "9\n", "custom"), null);
});

test("splitLines follows the checkers: a final newline ends the last line", () => {
  assert.deepEqual(splitLines(""), []);
  assert.deepEqual(splitLines("a\nb\n"), ["a", "b"]);
  assert.deepEqual(splitLines("a\n\n"), ["a", ""]);
});

test("lineDiff: kept, removed and added lines with their numbers", () => {
  const d = lineDiff("a\nb\nc\nd", "a\nc\nx\nd");
  assert.deepEqual(d.map((l) => l.op + l.text), ["=a", "-b", "=c", "+x", "=d"]);
  assert.deepEqual(d.find((l) => l.op === "+"), { op: "+", text: "x", b: 3 });
  assert.deepEqual(lineDiff("same", "same").map((l) => l.op), ["="]);
  const big = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join("\n");
  const changed = big.replace("line 1500", "LINE");
  const bd = lineDiff(big, changed);
  assert.deepEqual(bd.filter((l) => l.op !== "=").map((l) => l.op + l.text), ["-line 1500", "+LINE"]);
});

// What the learner sees after a run or a submission: the verdict in plain
// words with what to try (the judge's wording one click away), per-test rows
// (hidden tests: verdict, time and memory only), and for a visible test that
// failed its input, the expected output and the program's output side by side
// with the first difference marked and whitespace made visible. Also the view
// of an earlier submission's code against the editor's.

import type { Limits, SampleTest, TaskView, TestResult } from "../api";
import { firstDifference, lineDiff, type Difference, type Spot } from "../diff";
import { append, h } from "../dom";
import { verdictText } from "../enums";
import { explain, type Explanation, type VerdictFacts } from "../verdicts";

/** The executor keeps at most this much of a visible test's output (EXEC_EXCERPT_MAX). */
const EXCERPT_MAX = 1024;
/** Longer texts show a window of lines around the difference, with a button for the rest. */
const FOLD_LINES = 24;

export function kib(n?: number): string {
  if (!n) return "";
  return n >= 1024 ? `${Math.round(n / 1024)} MiB` : `${n} KiB`;
}

export function verdictBadge(v: string | null): HTMLElement {
  return h("span.verdict", { class: `v-${v ?? "pending"}` }, verdictText(v ?? "unspecified"));
}

/**
 * The plain-words box: title (left out when it only repeats the verdict shown
 * beside it), what happened, what to try, and the technical detail behind a
 * disclosure.
 */
export function explanationBox(e: Explanation, verdict: string | null, onLine?: (n: number) => void): HTMLElement {
  const title = e.title === verdictText(verdict ?? "unspecified") ? null : h("strong.explain-title", { class: `v-${verdict ?? "pending"}` }, e.title, " ");
  return h("div.explain", { "data-verdict": verdict ?? "" },
    h("p.explain-what", null, title, e.what),
    e.tip ? h("p.explain-tip", null, h("span.tip-label", null, "Try: "), e.tip) : null,
    e.line && onLine ? h("button.btn.btn-small.goto-line", { type: "button", onclick: () => onLine(e.line!) }, `Go to line ${e.line}`) : null,
    e.detail.length ? h("details.tech", null, h("summary", null, "Technical details"),
      h("ul.tech-list", null, e.detail.map((d) => h("li", null, h("code", null, d))))) : null);
}

// ---------------------------------------------------------------------------
// Texts with line numbers, visible whitespace and a marked difference
// ---------------------------------------------------------------------------

/** One line's characters, whitespace as glyph-carrying spans (the text itself stays copyable). */
function lineNodes(text: string): Node[] {
  const out: Node[] = [];
  let run = "";
  const flush = () => { if (run) out.push(document.createTextNode(run)); run = ""; };
  for (const ch of text) {
    if (ch === " " || ch === "\t" || ch === "\r") {
      flush();
      out.push(ch === "\r" ? h("span.ws.ws-cr", { title: "carriage return (\\r)" }) : h("span.ws", { class: ch === " " ? "ws-space" : "ws-tab" }, ch));
    } else run += ch;
  }
  flush();
  return out;
}

/**
 * A text as numbered lines in a <pre>: the line of `mark` highlighted and its
 * range in a <mark>; long texts folded to a window around it. `ended` adds a
 * last marker line when the difference is "the output ends here".
 */
export function textView(text: string, label: string, mark: Spot | null, opts: { endLabel?: string; note?: string } = {}): HTMLElement {
  const raw = text.split("\n");
  const endsWithNewline = raw.length > 1 && raw[raw.length - 1] === "";
  if (endsWithNewline) raw.pop();
  const lines = text === "" ? [] : raw;
  const markLine = mark ? mark.line : 0;
  const pre = h("pre.io.io-lines", { tabindex: "0", role: "group", "aria-label": label });
  const rows: HTMLElement[] = lines.map((line, i) => {
    const n = i + 1;
    const row = h("span.io-line", { "data-line": String(n), class: n === markLine ? "is-diff" : "" }, h("span.ln", { "aria-hidden": "true" }, String(n)));
    const body = h("span.lt");
    if (mark && n === markLine) {
      const from = Math.min(mark.from, line.length), to = Math.min(Math.max(mark.to, from), line.length);
      body.append(...lineNodes(line.slice(0, from)),
        h("mark.diff-mark", { class: to === from ? "is-gap" : "" }, ...(to > from ? lineNodes(line.slice(from, to)) : [])),
        ...lineNodes(line.slice(to)));
    } else body.append(...lineNodes(line));
    // Every line but an unterminated last one ends with a line break.
    if (n < lines.length || endsWithNewline) body.append(h("span.ws.ws-eol", { "aria-hidden": "true" }));
    row.append(body);
    return row;
  });
  if (mark && markLine > lines.length) {
    rows.push(h("span.io-line.is-diff.io-end", { "data-line": String(markLine) }, h("span.ln", { "aria-hidden": "true" }, String(markLine)),
      h("span.lt", null, h("mark.diff-mark.is-gap"), h("span.muted", null, ` (${opts.endLabel ?? "ends here"})`))));
  }
  if (!rows.length) rows.push(h("span.io-line.io-empty", null, h("span.muted", null, "(empty)")));
  pre.append(...rows);

  const box = h("div.io-box", null, pre);
  if (rows.length > FOLD_LINES) {
    const centre = markLine || 1;
    const lo = Math.max(1, Math.min(centre - 8, rows.length - FOLD_LINES + 1)), hi = lo + FOLD_LINES - 1;
    rows.forEach((r, i) => { if (i + 1 < lo || i + 1 > hi) r.hidden = true; });
    const more = h("button.btn.btn-small.unfold", { type: "button", "aria-expanded": "false" }, `Show all ${rows.length} lines`);
    more.addEventListener("click", () => {
      const open = more.getAttribute("aria-expanded") !== "true";
      rows.forEach((r, i) => (r.hidden = !open && (i + 1 < lo || i + 1 > hi)));
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? `Show lines ${lo}–${hi} only` : `Show all ${rows.length} lines`;
    });
    box.append(h("p.fold-note.muted", null, `Lines ${lo}–${hi} of ${rows.length}. `, more));
  }
  if (opts.note) box.append(h("p.fold-note.muted", null, opts.note));
  return box;
}

/** Input | Expected output | Your output, with the first difference marked. */
export function compareView(sample: SampleTest | undefined, actual: string, task: TaskView, t: TestResult): HTMLElement {
  const truncated = new TextEncoder().encode(actual).length >= EXCERPT_MAX - 4;
  let diff: Difference | null = null;
  if (sample && t.verdict === "wa") diff = firstDifference(sample.expected, actual, task.checker_kind, { abs_tol: task.abs_tol, rel_tol: task.rel_tol });
  const showWs = h("input", { type: "checkbox", class: "ws-toggle" });
  const grid = h("div.compare", { class: diff?.whitespace ? "show-ws" : "" });
  showWs.checked = Boolean(diff?.whitespace);
  showWs.addEventListener("change", () => grid.classList.toggle("show-ws", showWs.checked));
  let summary: string;
  if (diff) summary = diff.summary;
  else if (t.verdict === "wa" && sample && truncated) summary = "The part of your output kept here matches; the difference comes later. " + (t.message ? `The judge says: ${t.message}.` : "");
  else if (t.verdict === "wa") summary = t.message ? `The judge says: ${t.message}.` : "";
  else summary = "";
  append(grid, [
    sample ? h("div.compare-col.col-input", null, h("h3", null, "Input"), textView(sample.input, `Input of ${t.name}`, null)) : null,
    sample ? h("div.compare-col", null, h("h3", null, "Expected output"), textView(sample.expected, `Expected output of ${t.name}`, diff?.expected ?? (diff ? missingSpot(diff.actual) : null),
      { endLabel: "the expected output ends here" })) : null,
    h("div.compare-col", null, h("h3", null, "Your output"), textView(actual, `Your output for ${t.name}`, diff?.actual ?? (diff ? missingSpot(diff.expected) : null),
      { endLabel: "your output ends here", note: truncated ? "Only the first 1 KiB of your output is kept." : undefined }))]);
  return h("div.compare-wrap", null,
    summary ? h("p.diff-summary", { "data-testid": "diff-summary" }, summary) : null,
    h("label.check.small", null, showWs, " Show spaces, tabs and line ends"),
    grid);
}

/** Where a text that has ended would have had the other one's difference: just past its last line. */
function missingSpot(other: Spot | null): Spot | null {
  return other ? { line: other.line, from: 0, to: 0, col: 1 } : null;
}

// ---------------------------------------------------------------------------
// Per-test results
// ---------------------------------------------------------------------------

export interface TestsViewOptions {
  task: TaskView;
  /** Tests still to come ("Running test 3 of 7…"). */
  total?: number;
}

/** The per-test table; a failing visible test opens its comparison beneath its row (the first one open). */
export function testsTable(list: TestResult[], o: TestsViewOptions): HTMLElement {
  const samples = new Map(o.task.sample_tests.map((s) => [s.name, s]));
  const body = h("tbody");
  let opened = false;
  for (const t of list) {
    const hidden = t.hidden;
    const e = explain(facts(t, o.task.limits));
    body.append(h("tr.test-row", { class: hidden ? "is-hidden" : "", "data-verdict": t.verdict ?? "", "data-test": t.name },
      h("th", { scope: "row" }, hidden ? h("span", null, h("span.lock", { "aria-hidden": "true" }, "🔒 "), "Hidden ", h("span.sr-only", null, "test "), t.name.replace(/^hidden-/, "#")) : t.name),
      h("td", null, verdictBadge(t.verdict), t.verdict && e.title !== verdictText(t.verdict) && t.verdict !== "ac" ? h("div.small.muted.row-title", null, e.title) : null),
      h("td", null, t.verdict === "not_run" ? "—" : `${t.cpu_ms} ms`),
      h("td", null, t.verdict === "not_run" ? "—" : kib(t.memory_kib))));
    if (hidden || !t.verdict || t.verdict === "ac" || t.verdict === "not_run") continue;
    const sample = samples.get(t.name);
    // A wrong answer is told by the comparison itself; other verdicts by their explanation, with the output so far.
    const det = h("details.test-detail-box", { open: !opened }, h("summary", null, `What happened in ${t.name}`),
      t.verdict === "wa" ? null : explanationBox(e, t.verdict),
      compareView(sample, t.output_excerpt, o.task, t),
      t.verdict === "wa" && t.message ? h("details.tech", null, h("summary", null, "Technical details"),
        h("ul.tech-list", null, h("li", null, h("code", null, `judge: ${t.message}`)))) : null);
    opened = true;
    body.append(h("tr.test-detail", { "data-test": t.name }, h("td", { colspan: "4" }, det)));
  }
  if (o.total && list.length < o.total) body.append(h("tr.pending-row", null, h("td", { colspan: "4" }, `Running test ${list.length + 1} of ${o.total}…`)));
  return h("div.table-wrap", null, h("table.tests-table", null,
    h("caption.sr-only", null, "Per-test results"),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Test"), h("th", { scope: "col" }, "Verdict"),
      h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Memory"))),
    body));
}

export function facts(t: TestResult, limits: Limits): VerdictFacts {
  return { verdict: t.verdict, message: t.hidden ? "" : t.message, limits, hidden: t.hidden, cpu_ms: t.hidden ? undefined : t.cpu_ms, memory_kib: t.hidden ? undefined : t.memory_kib };
}

/** The explanation of a whole submission: its verdict, told by its first failing test. */
export function submissionExplanation(verdict: string | null, tests: TestResult[], limits: Limits, message?: string): Explanation {
  const failed = (t: TestResult) => t.verdict && t.verdict !== "ac" && t.verdict !== "not_run";
  const bad = tests.find((t) => failed(t) && t.verdict === verdict) ?? tests.find(failed);
  if (!bad) return explain({ verdict, message, limits });
  const e = explain({ ...facts(bad, limits), verdict: verdict ?? bad.verdict, message: bad.hidden ? bad.message : bad.message || message });
  if (bad.hidden) e.detail = e.detail.filter((d) => !d.startsWith("judge:"));
  e.detail.unshift(`first failing test: ${bad.hidden ? `hidden test ${bad.name.replace(/^hidden-/, "#")}` : bad.name}`);
  return e;
}

// ---------------------------------------------------------------------------
// Code against code
// ---------------------------------------------------------------------------

/** A unified line diff: "−" lines only in `a` (the earlier submission), "+" only in `b` (the editor). Unchanged runs fold to 3 lines of context. */
export function codeDiffView(a: string, b: string, aLabel: string, bLabel: string): HTMLElement {
  const d = lineDiff(a, b);
  const changed = d.filter((l) => l.op !== "=").length;
  if (!changed) return h("p.muted.code-diff-same", null, "The two are the same.");
  const keep = new Set<number>();
  d.forEach((l, i) => { if (l.op !== "=") for (let k = i - 3; k <= i + 3; k++) keep.add(k); });
  const pre = h("pre.code-diff", { tabindex: "0", role: "group", "aria-label": `Differences: ${aLabel} against ${bLabel}` });
  let skipped = 0;
  const flushSkip = () => { if (skipped) pre.append(h("span.cd-line.cd-skip", null, `⋯ ${skipped} unchanged line${skipped === 1 ? "" : "s"}`)); skipped = 0; };
  d.forEach((l, i) => {
    if (l.op === "=" && !keep.has(i)) { skipped++; return; }
    flushSkip();
    const sign = l.op === "-" ? "−" : l.op === "+" ? "+" : " ";
    pre.append(h("span.cd-line", { class: l.op === "-" ? "cd-del" : l.op === "+" ? "cd-add" : "" },
      h("span.ln", { "aria-hidden": "true" }, String(l.a ?? "")), h("span.ln", { "aria-hidden": "true" }, String(l.b ?? "")),
      h("span.cd-sign", null, sign), h("span.sr-only", null, l.op === "-" ? ` only in ${aLabel}: ` : l.op === "+" ? ` only in ${bLabel}: ` : ""),
      l.text || " "));
  });
  flushSkip();
  const added = d.filter((l) => l.op === "+").length, removed = changed - added;
  return h("div.code-diff-box", null,
    h("p.small.muted", null, `${removed} line${removed === 1 ? "" : "s"} only in ${aLabel} (−), ${added} only in ${bLabel} (+).`), pre);
}

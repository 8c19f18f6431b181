// Where a program's output first differs from the expected output, by the same
// rules as the executor's checkers (services/executor/checker.c: exact,
// ignore_trailing_ws, tokens, float), and a line diff of two texts (an earlier
// submission's code against the editor's). DOM-free: unit-tested in Node.

/** A place in one text: 1-based line; [from, to) are UTF-16 offsets in that line; col is 1-based in characters. */
export interface Spot { line: number; from: number; to: number; col: number }

export interface Difference {
  /** Where the expected output differs; null when it has already ended (the program printed more). */
  expected: Spot | null;
  /** Where the program's output differs; null when it has already ended (it printed too little). */
  actual: Spot | null;
  /** The two differ only in whitespace (spaces, tabs, line breaks). */
  whitespace: boolean;
  /** The difference in plain words: "Line 2, column 5: expected "7", your output has "8"." */
  summary: string;
}

export interface Tolerance { abs_tol?: number; rel_tol?: number }

/** The lines of a text as the checkers see them: split at "\n", a final "\n" ends the last line, "\r" before "\n" dropped. */
export function splitLines(s: string): string[] {
  if (s === "") return [];
  const lines = s.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

const rstrip = (s: string) => s.replace(/[ \t\r]+$/, "");
const noSpace = (s: string) => s.replace(/\s+/g, "");

function colOf(line: string, from: number): number {
  return Array.from(line.slice(0, from)).length + 1;
}

function spot(line: string, n: number, from: number, to: number): Spot {
  return { line: n, from, to, col: colOf(line, from) };
}

/** The start of the word around i (i itself when s[i] is whitespace). */
function wordStart(s: string, i: number): number {
  if (i < s.length && /\s/.test(s[i])) return i;
  let j = i;
  while (j > 0 && !/\s/.test(s[j - 1])) j--;
  return j;
}

/** The end of the word starting at i (at least one character when there is one). */
function wordEnd(s: string, i: number): number {
  if (i >= s.length) return i;
  if (/\s/.test(s[i])) return i + 1;
  let j = i;
  while (j < s.length && !/\s/.test(s[j])) j++;
  return j;
}

const WS_NAMES: Record<string, string> = { " ": "a space", "\t": "a tab", "\r": "a carriage return (\\r)", "\n": "a line break" };

/** A short quotable rendering: whitespace named, at most 40 characters. */
export function quote(s: string): string {
  if (s.length === 1 && WS_NAMES[s]) return WS_NAMES[s];
  const cps = Array.from(s);
  return `"${cps.slice(0, 40).join("")}${cps.length > 40 ? "…" : ""}"`;
}

function byLines(expected: string, actual: string): Difference | null {
  const E = splitLines(expected), A = splitLines(actual);
  const meaningful = (L: string[]) => { let n = L.length; while (n > 0 && rstrip(L[n - 1]) === "") n--; return n; };
  const ne = meaningful(E), na = meaningful(A);
  for (let i = 0; i < Math.max(ne, na); i++) {
    const e = i < ne ? rstrip(E[i]) : null, a = i < na ? rstrip(A[i]) : null;
    if (e !== null && a !== null && e === a) continue;
    const n = i + 1;
    if (a === null) {
      return { expected: spot(E[i], n, 0, e!.length), actual: i < A.length ? spot(A[i], n, 0, 0) : null, whitespace: false,
        summary: `Line ${n}: expected ${quote(e!)}, but your output ends before it.` };
    }
    if (e === null) {
      return { expected: i < E.length ? spot(E[i], n, 0, 0) : null, actual: spot(A[i], n, 0, a.length), whitespace: false,
        summary: `Line ${n}: your output goes on with ${quote(a)} where the expected output has ended.` };
    }
    let k = 0;
    while (k < e.length && k < a.length && e[k] === a[k]) k++;
    // Mark whole words: "20" against "21", not "0" against "1".
    if (k < e.length && k < a.length && !/\s/.test(e[k]) && !/\s/.test(a[k])) k = Math.max(wordStart(e, k), wordStart(a, k));
    return { expected: spot(E[i], n, k, wordEnd(e, k)), actual: spot(A[i], n, k, wordEnd(a, k)), whitespace: false,
      summary: sameLineSummary(n, colOf(e, k), e, a, k) };
  }
  return null;
}

function sameLineSummary(n: number, col: number, e: string, a: string, k: number): string {
  const at = `Line ${n}, column ${col}`;
  if (k >= a.length) return `${at}: your line ends early; expected ${quote(e.slice(k, wordEnd(e, k)))} next.`;
  if (k >= e.length) return `${at}: your line goes on with ${quote(a.slice(k, wordEnd(a, k)))} where the expected line ends.`;
  return `${at}: expected ${quote(e.slice(k, wordEnd(e, k)))}, your output has ${quote(a.slice(k, wordEnd(a, k)))}.`;
}

/** Line number and offset in that line of an offset in s. */
function locate(s: string, i: number): { n: number; line: string; from: number } {
  const start = s.lastIndexOf("\n", i - 1) + 1;
  let end = s.indexOf("\n", i);
  if (end < 0) end = s.length;
  let n = 1;
  for (let j = s.indexOf("\n"); j >= 0 && j < start; j = s.indexOf("\n", j + 1)) n++;
  return { n, line: s.slice(start, end), from: i - start };
}

function exact(expected: string, actual: string): Difference | null {
  if (expected === actual) return null;
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i++;
  const part = (s: string) => (i >= s.length ? "" : s.slice(i, wordEnd(s, i)));
  const place = (s: string) => {
    const l = locate(s, i);
    return spot(l.line, l.n, l.from, Math.min(l.from + part(s).length, l.line.length));
  };
  const a = locate(actual, i);
  const at = `Line ${a.n}, column ${colOf(a.line, a.from)}`;
  let summary: string;
  if (i >= actual.length) summary = `${at}: your output ends here; expected ${quote(part(expected))} next.`;
  else if (i >= expected.length) summary = `${at}: your output goes on with ${quote(part(actual))} where the expected output has ended.`;
  else summary = `${at}: expected ${quote(part(expected))}, your output has ${quote(part(actual))}.`;
  return { expected: place(expected), actual: place(actual), whitespace: false, summary };
}

function tokens(s: string): { v: string; at: number }[] {
  const out: { v: string; at: number }[] = [];
  for (const m of s.matchAll(/[^ \t\n\r\v\f]+/g)) out.push({ v: m[0], at: m.index! });
  return out;
}

function asNumber(t: string): number | null {
  if (!/^[0-9.+\-eE]+$/.test(t)) return null;
  const v = Number(t);
  return Number.isFinite(v) ? v : null;
}

function byTokens(expected: string, actual: string, numeric: boolean, tol: Tolerance): Difference | null {
  let abs = tol.abs_tol ?? 0, rel = tol.rel_tol ?? 0;
  if (abs <= 0 && rel <= 0) abs = rel = 1e-6;
  const E = tokens(expected), A = tokens(actual);
  const where = (s: string, t: { v: string; at: number }) => { const l = locate(s, t.at); return spot(l.line, l.n, l.from, l.from + t.v.length); };
  for (let i = 0; ; i++) {
    const e = E[i], a = A[i];
    if (!e && !a) return null;
    if (!a) {
      return { expected: where(expected, e), actual: null, whitespace: false,
        summary: `Expected ${quote(e.v)} next (item ${i + 1}), but your output ends before it.` };
    }
    const at = (() => { const l = locate(actual, a.at); return `Line ${l.n}, column ${colOf(l.line, l.from)}`; })();
    if (!e) {
      return { expected: null, actual: where(actual, a), whitespace: false,
        summary: `${at}: your output goes on with ${quote(a.v)} where the expected output has ended.` };
    }
    if (e.v === a.v) continue;
    if (numeric) {
      const x = asNumber(e.v), y = asNumber(a.v);
      if (x !== null && y !== null && (Math.abs(y - x) <= abs || Math.abs(y - x) <= rel * Math.abs(x))) continue;
    }
    return { expected: where(expected, e), actual: where(actual, a), whitespace: false,
      summary: `${at}: expected ${quote(e.v)}, your output has ${quote(a.v)}${numeric && asNumber(e.v) !== null ? " (numbers may differ by the tolerance only)" : ""}.` };
  }
}

/**
 * The first difference between a program's output and the expected one under
 * the task's checker kind, or null when they match (or the checker is custom:
 * only its own message says what is wrong).
 */
export function firstDifference(expected: string, actual: string, checker: string, tol: Tolerance = {}): Difference | null {
  let d: Difference | null;
  switch (checker) {
    case "exact": d = exact(expected, actual); break;
    case "tokens": d = byTokens(expected, actual, false, tol); break;
    case "float": d = byTokens(expected, actual, true, tol); break;
    case "custom": return null;
    default: d = byLines(expected, actual);
  }
  if (d && noSpace(expected) === noSpace(actual)) {
    d.whitespace = true;
    d.summary += " Only whitespace differs: spaces, tabs or line breaks.";
  }
  return d;
}

// ---------------------------------------------------------------------------
// Line diff (code against code)
// ---------------------------------------------------------------------------

export interface DiffLine { op: "=" | "-" | "+"; text: string; a?: number; b?: number }

/**
 * The lines of b compared with a: "=" kept, "-" only in a, "+" only in b, with
 * their line numbers. A longest common subsequence between the common prefix
 * and suffix; beyond about 2.5 million cells the middle counts as replaced.
 */
export function lineDiff(a: string, b: string): DiffLine[] {
  const A = a.split("\n"), B = b.split("\n");
  let p = 0;
  while (p < A.length && p < B.length && A[p] === B[p]) p++;
  let s = 0;
  while (s < A.length - p && s < B.length - p && A[A.length - 1 - s] === B[B.length - 1 - s]) s++;
  const out: DiffLine[] = [];
  for (let i = 0; i < p; i++) out.push({ op: "=", text: A[i], a: i + 1, b: i + 1 });
  const am = A.slice(p, A.length - s), bm = B.slice(p, B.length - s);
  const n = am.length, m = bm.length;
  if (n * m > 2_500_000) {
    am.forEach((t, i) => out.push({ op: "-", text: t, a: p + i + 1 }));
    bm.forEach((t, j) => out.push({ op: "+", text: t, b: p + j + 1 }));
  } else {
    // L[i][j]: the LCS length of am[i..] and bm[j..].
    const L = new Uint32Array((n + 1) * (m + 1));
    const w = m + 1;
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        L[i * w + j] = am[i] === bm[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    let i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) { out.push({ op: "=", text: am[i], a: p + i + 1, b: p + j + 1 }); i++; j++; }
      else if (i < n && (j >= m || L[(i + 1) * w + j] >= L[i * w + j + 1])) { out.push({ op: "-", text: am[i], a: p + i + 1 }); i++; }
      else { out.push({ op: "+", text: bm[j], b: p + j + 1 }); j++; }
    }
  }
  for (let k = s; k > 0; k--) out.push({ op: "=", text: A[A.length - k], a: A.length - k + 1, b: B.length - k + 1 });
  return out;
}

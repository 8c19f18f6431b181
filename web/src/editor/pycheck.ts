// Python diagnostics while typing: the first syntax error and names that are
// never defined, like Python's tokenizer and pyflakes would report them.
//
// Why in the browser: the editor already parses Python with Lezer for
// highlighting, so the check costs no download, no server work and no
// rate-limit budget, and it answers within the debounce of a keystroke. A
// sandboxed `python3 -m py_compile` would be exact but costs a container start
// (~45 ms of CPU, more under runsc) per pause in typing, for every learner.
//
// Two passes over the text:
//  1. a small tokenizer for what Lezer forgives or reports vaguely: strings
//     that never close, brackets that never close or do not match, and
//     indentation (unexpected indent, a block header with no block);
//  2. Lezer's tree: its first error node, then (when the code parses) scopes
//     and names: every name read must be bound somewhere in its scope chain
//     (anywhere in the scope, as pyflakes does: no false alarms on order), or
//     be a builtin. `from m import *` turns the name check off.
// DOM-free, with types only from @lezer/common: unit-tested in Node.

import type { SyntaxNode, Tree } from "@lezer/common";

export interface PyDiagnostic { from: number; to: number; severity: "error" | "warning"; message: string }

// Python 3.11's builtins module (dir(builtins)), plus module attributes.
const BUILTINS = new Set((
  "abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex " +
  "copyright credits delattr dict dir divmod enumerate eval exec exit filter float format frozenset getattr " +
  "globals hasattr hash help hex id input int isinstance issubclass iter len license list locals map max " +
  "memoryview min next object oct open ord pow print property quit range repr reversed round set setattr " +
  "slice sorted staticmethod str sum super tuple type vars zip __import__ __build_class__ __debug__ __name__ " +
  "__doc__ __file__ __spec__ __loader__ __package__ __builtins__ __annotations__ NotImplemented Ellipsis " +
  "BaseException BaseExceptionGroup Exception ExceptionGroup ArithmeticError AssertionError AttributeError " +
  "BlockingIOError BrokenPipeError BufferError BytesWarning ChildProcessError ConnectionAbortedError " +
  "ConnectionError ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError EncodingWarning " +
  "EnvironmentError FileExistsError FileNotFoundError FloatingPointError FutureWarning GeneratorExit IOError " +
  "ImportError ImportWarning IndentationError IndexError InterruptedError IsADirectoryError KeyError " +
  "KeyboardInterrupt LookupError MemoryError ModuleNotFoundError NameError NotADirectoryError " +
  "NotImplementedError OSError OverflowError PendingDeprecationWarning PermissionError ProcessLookupError " +
  "RecursionError ReferenceError ResourceWarning RuntimeError RuntimeWarning StopAsyncIteration StopIteration " +
  "SyntaxError SyntaxWarning SystemError SystemExit TabError TimeoutError TypeError UnboundLocalError " +
  "UnicodeDecodeError UnicodeEncodeError UnicodeError UnicodeTranslateError UnicodeWarning UserWarning " +
  "ValueError Warning ZeroDivisionError"
).split(" "));

const BLOCK_START = /^(?:async\s+)?(?:if|elif|else|for|while|def|class|try|except|finally|with|match|case)\b/;

// ---------------------------------------------------------------------------
// Pass 1: strings, brackets, indentation
// ---------------------------------------------------------------------------

const CLOSE: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
const NAME: Record<string, string> = { "(": "parenthesis", "[": "bracket", "{": "brace", ")": "parenthesis", "]": "bracket", "}": "brace" };

function tokenErrors(text: string): PyDiagnostic | null {
  const stack: { ch: string; at: number }[] = [];
  const indents = [0];
  let lineStart = true, lineNo = 1;
  let last = "", lastLine = 0, lastAt = 0; // the last significant character of the previous logical line
  let curStart = 0, prevStart = 0; // where the current and the previous logical line begin
  const err = (from: number, to: number, message: string): PyDiagnostic => ({ from, to: Math.max(to, from + 1), severity: "error", message });
  for (let i = 0; i < text.length; i++) {
    if (lineStart && stack.length === 0) {
      // Measure this line's indentation (tabs to the next multiple of 8, as Python does).
      let j = i, width = 0;
      while (j < text.length && (text[j] === " " || text[j] === "\t" || text[j] === "\f")) {
        width = text[j] === "\t" ? (Math.floor(width / 8) + 1) * 8 : text[j] === " " ? width + 1 : 0;
        j++;
      }
      const blank = j >= text.length || text[j] === "\n" || text[j] === "\r" || text[j] === "#";
      if (!blank) {
        prevStart = curStart;
        curStart = j;
        const top = indents[indents.length - 1];
        if (last === ":" && width <= top) return err(j, lineEnd(text, j), `Expected an indented block after line ${lastLine}.`);
        if (width > top) {
          if (last !== ":") {
            if (BLOCK_START.test(text.slice(prevStart, lastAt + 1))) return err(lastAt, lastAt + 1, "Expected ':' at the end of this line.");
            return err(i, j, "Unexpected indent: this line is indented more than the one before.");
          }
          indents.push(width);
        } else if (width < top) {
          while (indents.length > 1 && indents[indents.length - 1] > width) indents.pop();
          if (indents[indents.length - 1] !== width) return err(i, j, "This line's indentation matches no outer block.");
        }
      }
      lineStart = false;
      i = j - 1;
      continue;
    }
    const c = text[i];
    if (c === "\n") {
      lineNo++;
      if (stack.length === 0 && !(i > 0 && text[i - 1] === "\\")) lineStart = true;
      continue;
    }
    if (c === "#") {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\\") continue;
    if (c === "'" || c === '"') {
      const start = i;
      const triple = text.startsWith(c.repeat(3), i);
      i += triple ? 3 : 1;
      let closed = false;
      for (; i < text.length; i++) {
        if (text[i] === "\\") { if (text[i + 1] === "\n") lineNo++; i++; continue; }
        if (text[i] === "\n") {
          if (!triple) break;
          lineNo++;
        }
        if (triple ? text.startsWith(c.repeat(3), i) : text[i] === c) { i += triple ? 2 : 0; closed = true; break; }
      }
      if (!closed) {
        return err(start, triple ? start + 3 : lineEnd(text, start),
          triple ? "This triple-quoted string is never closed." : `This string is never closed: add the closing ${c} on the same line.`);
      }
      markLast(c, start);
      continue;
    }
    if (c === "(" || c === "[" || c === "{") stack.push({ ch: c, at: i });
    else if (c === ")" || c === "]" || c === "}") {
      const open = stack.pop();
      if (!open) return err(i, i + 1, `This closing ${NAME[c]} '${c}' has no opening one.`);
      if (open.ch !== CLOSE[c]) {
        return err(i, i + 1, `The closing ${NAME[c]} '${c}' does not match the opening ${NAME[open.ch]} '${open.ch}' on line ${lineOf(text, open.at)}.`);
      }
    }
    markLast(c, i);
  }
  if (stack.length) {
    const open = stack[stack.length - 1];
    return err(open.at, open.at + 1, `This ${NAME[open.ch]} '${open.ch}' is never closed.`);
  }
  if (last === ":") return err(lastAt, lastAt + 1, `Expected an indented block after line ${lastLine}.`);
  return null;

  function markLast(c: string, at: number): void {
    if (stack.length === 0) {
      last = c;
      lastLine = lineNo;
      lastAt = at;
    }
  }
}

function lineEnd(text: string, i: number): number {
  const e = text.indexOf("\n", i);
  return e < 0 ? text.length : e;
}

function lineOf(text: string, i: number): number {
  let n = 1;
  for (let j = text.indexOf("\n"); j >= 0 && j < i; j = text.indexOf("\n", j + 1)) n++;
  return n;
}

// ---------------------------------------------------------------------------
// Pass 2: Lezer's errors, then scopes and names
// ---------------------------------------------------------------------------

function firstParseError(tree: Tree, text: string): PyDiagnostic | null {
  let found: PyDiagnostic | null = null;
  tree.iterate({
    enter: (n) => {
      if (found) return false;
      if (!n.type.isError) return undefined;
      const from = Math.min(n.from, text.length);
      const ls = text.lastIndexOf("\n", from - 1) + 1;
      // An error at a line's end belongs to that line.
      const line = text.slice(ls, lineEnd(text, ls)).replace(/#.*$/, "").trim();
      let message = "Python cannot read the code here (invalid syntax).";
      if (BLOCK_START.test(line) && !line.endsWith(":") && !/:\s*\S/.test(line.replace(/\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|lambda[^:]*:/g, ""))) {
        message = "Expected ':' at the end of this line.";
      } else if (/^(?:if|elif|while)\b/.test(line) && /[^=!<>:]=[^=]/.test(line)) {
        message = "'=' gives a value; to compare, use '=='.";
      }
      const to = n.to > from ? n.to : Math.min(lineEnd(text, from), text.length);
      found = { from: to > from ? from : Math.max(ls, from - 1), to: Math.max(to, from), severity: "error", message };
      return false;
    },
  });
  return found;
}

type ScopeKind = "module" | "function" | "lambda" | "class" | "comprehension";
interface Scope { kind: ScopeKind; names: Set<string>; parent: Scope | null }
interface Use { name: string; from: number; to: number; scope: Scope }

const COMPREHENSIONS = new Set(["ComprehensionExpression", "ArrayComprehensionExpression", "SetComprehensionExpression", "DictionaryComprehensionExpression"]);

function kids(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

function analyse(tree: Tree, text: string): PyDiagnostic[] {
  const module: Scope = { kind: "module", names: new Set(), parent: null };
  const uses: Use[] = [];
  const out: PyDiagnostic[] = [];
  let starImport = false;
  const src = (n: SyntaxNode) => text.slice(n.from, n.to);
  const bind = (n: SyntaxNode, s: Scope) => s.names.add(src(n));
  const fnScope = (s: Scope) => { let x = s; while (x.kind === "comprehension" && x.parent) x = x.parent; return x; };
  const inside = (n: SyntaxNode, names: string[], stop: string[]) => {
    for (let p = n.parent; p; p = p.parent) {
      if (names.includes(p.name)) return true;
      if (stop.includes(p.name)) return false;
    }
    return false;
  };

  // Binds the names of an assignment target; reads what is read (a.b = 1 reads a).
  function target(n: SyntaxNode, s: Scope): void {
    switch (n.name) {
      case "VariableName": bind(n, s); return;
      case "TupleExpression": case "ArrayExpression": case "ParenthesizedExpression":
        for (const c of kids(n)) target(c, s);
        return;
      case "(": case ")": case "[": case "]": case ",": case "*": return;
      default: visit(n, s);
    }
  }

  function visitAll(ns: SyntaxNode[], s: Scope): void {
    for (const c of ns) visit(c, s);
  }

  // for-targets: the nodes between `for` and `in`.
  function forParts(ns: SyntaxNode[], s: Scope, bindIn: Scope): void {
    let mode: "read" | "target" = "read";
    for (const c of ns) {
      if (c.name === "for") { mode = "target"; continue; }
      if (c.name === "in") { mode = "read"; continue; }
      if (mode === "target") target(c, bindIn);
      else visit(c, s);
    }
  }

  function params(list: SyntaxNode, inner: Scope, outer: Scope): void {
    const ns = kids(list);
    for (let i = 0; i < ns.length; i++) {
      const c = ns[i];
      if (c.name === "VariableName") bind(c, inner);
      else if (c.name === "AssignOp") { if (ns[i + 1]) visit(ns[++i], outer); }
      else if (c.name === "TypeDef") visit(c, outer);
    }
  }

  function visit(n: SyntaxNode, s: Scope): void {
    switch (n.name) {
      case "Comment": case "String": case "Number": case "PropertyName": return;
      case "VariableName":
        uses.push({ name: src(n), from: n.from, to: n.to, scope: s });
        return;
      case "FunctionDefinition": {
        const fn: Scope = { kind: "function", names: new Set(), parent: s };
        for (const c of kids(n)) {
          if (c.name === "VariableName") bind(c, s);
          else if (c.name === "TypeParamList") { for (const t of kids(c)) for (const v of t.name === "TypeParam" ? kids(t) : []) if (v.name === "VariableName") bind(v, fn); }
          else if (c.name === "ParamList") params(c, fn, s);
          else if (c.name === "TypeDef") visit(c, s);
          else if (c.name === "Body") visit(c, fn);
        }
        fn.names.add("__class__");
        return;
      }
      case "LambdaExpression": {
        const fn: Scope = { kind: "lambda", names: new Set(), parent: s };
        for (const c of kids(n)) {
          if (c.name === "ParamList") params(c, fn, s);
          else if (c.name !== "lambda" && c.name !== ":") visit(c, fn);
        }
        return;
      }
      case "ClassDefinition": {
        const cls: Scope = { kind: "class", names: new Set(), parent: s };
        for (const c of kids(n)) {
          if (c.name === "VariableName") bind(c, s);
          else if (c.name === "Body") visit(c, cls);
          else visit(c, s);
        }
        return;
      }
      case "ForStatement": forParts(kids(n), s, s); return;
      case "AssignStatement": {
        const ns = kids(n);
        let lastEq = -1;
        ns.forEach((c, i) => { if (c.name === "AssignOp") lastEq = i; });
        if (lastEq < 0) { // `x: int` binds x for our purposes
          if (ns[0]) target(ns[0], s);
          visitAll(ns.slice(1), s);
          return;
        }
        ns.forEach((c, i) => {
          if (c.name === "AssignOp") return;
          if (i < lastEq && c.name !== "TypeDef") target(c, s);
          else visit(c, s);
        });
        return;
      }
      case "NamedExpression": {
        const ns = kids(n);
        if (ns[0]?.name === "VariableName") bind(ns[0], fnScope(s));
        visitAll(ns.slice(1), s);
        return;
      }
      case "ArgList": {
        const ns = kids(n);
        if (ns.some((c) => c.name === "for")) { // f(x for x in xs): a generator expression
          const comp: Scope = { kind: "comprehension", names: new Set(), parent: s };
          forParts(ns, comp, comp);
          return;
        }
        for (let i = 0; i < ns.length; i++) {
          const c = ns[i], next = ns[i + 1];
          if (c.name === "VariableName" && next?.name === "AssignOp") {
            if (src(next) === ":=") bind(c, fnScope(s));
            continue; // f(key=value): a keyword, not a read
          }
          visit(c, s);
        }
        return;
      }
      case "WithStatement": case "TryStatement": {
        const ns = kids(n);
        ns.forEach((c, i) => {
          const prev = ns[i - 1]?.name;
          if (c.name === "VariableName" && (prev === "as" || (n.name === "TryStatement" && prev === ","))) bind(c, s);
          else visit(c, s);
        });
        return;
      }
      case "ImportStatement": {
        const ns = kids(n).filter((c) => c.name !== "(" && c.name !== ")");
        let i = 0;
        if (ns[0]?.name === "from") { while (i < ns.length && ns[i].name !== "import") i++; }
        i++;
        let group: SyntaxNode[] = [];
        const flush = () => {
          if (!group.length) return;
          const as = group.findIndex((c) => c.name === "as");
          const v = as >= 0 ? group[as + 1] : group.find((c) => c.name === "VariableName");
          if (v && v.name === "VariableName") bind(v, s);
          group = [];
        };
        for (; i < ns.length; i++) {
          if (ns[i].name === "*") starImport = true;
          else if (ns[i].name === ",") flush();
          else group.push(ns[i]);
        }
        flush();
        return;
      }
      case "ScopeStatement": {
        const ns = kids(n);
        for (const c of ns) if (c.name === "VariableName") { bind(c, s); if (ns[0].name === "global") bind(c, module); }
        return;
      }
      case "Decorator": {
        const ns = kids(n);
        const first = ns.find((c) => c.name === "VariableName");
        if (first) visit(first, s);
        for (const c of ns) if (c.name === "ArgList") visit(c, s);
        return;
      }
      case "CapturePattern": for (const c of kids(n)) if (c.name === "VariableName") bind(c, s); return;
      case "AsPattern": for (const c of kids(n)) { if (c.name === "VariableName") bind(c, s); else visit(c, s); } return;
      case "KeywordPattern": visitAll(kids(n).slice(1), s); return;
      case "TypeDefinition": {
        const ns = kids(n);
        const name = ns.find((c) => c.name === "VariableName");
        for (const c of ns) { if (c === name) bind(c, s); else visit(c, s); }
        return;
      }
      case "ReturnStatement":
        if (!inside(n, ["FunctionDefinition"], ["ClassDefinition"])) out.push({ from: n.from, to: n.from + 6, severity: "error", message: "'return' outside a function." });
        break;
      case "BreakStatement": case "ContinueStatement":
        if (!inside(n, ["ForStatement", "WhileStatement"], ["FunctionDefinition", "ClassDefinition"])) {
          out.push({ from: n.from, to: n.to, severity: "error", message: `'${src(n)}' outside a loop.` });
        }
        return;
      default:
        if (COMPREHENSIONS.has(n.name)) {
          const comp: Scope = { kind: "comprehension", names: new Set(), parent: s };
          forParts(kids(n), comp, comp);
          return;
        }
    }
    visitAll(kids(n), s);
  }

  visit(tree.topNode, module);
  if (starImport) return out;

  for (const u of uses) {
    if (resolves(u.name, u.scope)) continue;
    const hint = suggestion(u.name, u.scope);
    out.push({ from: u.from, to: u.to, severity: "error",
      message: `'${u.name}' is not defined${hint ? ` — did you mean '${hint}'?` : ": a typo, or a name used before it gets a value or is imported?"}` });
  }
  return out.sort((a, b) => a.from - b.from);
}

/** Python's lookup: the scope itself, then enclosing functions (class bodies are skipped from inside functions), module, builtins. */
function visible(s: Scope): Set<string>[] {
  const out: Set<string>[] = [];
  let crossedFunction = false;
  for (let x: Scope | null = s; x; x = x.parent) {
    if (!(x.kind === "class" && crossedFunction)) out.push(x.names);
    if (x.kind === "function" || x.kind === "lambda") crossedFunction = true;
  }
  out.push(BUILTINS);
  return out;
}

function resolves(name: string, s: Scope): boolean {
  return visible(s).some((names) => names.has(name));
}

function suggestion(name: string, s: Scope): string {
  // Short names get no guesses beyond case ("N" for "n"): every other one-letter name is one edit away.
  const max = name.length <= 2 ? 0.5 : name.length <= 5 ? 1 : 2;
  let best = "", bestD = Infinity;
  for (const names of visible(s)) {
    for (const cand of names) {
      if (cand.startsWith("__") || cand === name) continue;
      const d = cand.toLowerCase() === name.toLowerCase() ? 0.5 : distance(name, cand, Math.floor(max));
      if (d <= max && d < bestD) { best = cand; bestD = d; }
    }
  }
  return best;
}

/** Levenshtein distance with a cut-off (returns > max when it is larger). */
function distance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let low = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      low = Math.min(low, cur[j]);
    }
    if (low > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}

/** The diagnostics for a Python program: the first syntax error alone, or else every undefined name. */
export function checkPython(tree: Tree, text: string): PyDiagnostic[] {
  const tok = tokenErrors(text);
  if (tok) return [tok];
  const parse = firstParseError(tree, text);
  if (parse) return [parse];
  return analyse(tree, text);
}

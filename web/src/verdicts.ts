// Verdicts in plain words, with what to try next. The judge's own wording
// ("exit code 1: NameError: ...", "killed by signal 24", "resource limits")
// stays available as the technical detail. DOM-free: unit-tested in Node.

import type { Limits } from "./api";

export interface Explanation {
  /** A short heading: "Wrong answer", "Syntax error", "Too slow". */
  title: string;
  /** What happened, in plain words. */
  what: string;
  /** What to try next ("" when nothing is to be done). */
  tip: string;
  /** The judge's technical facts, one per line (shown one click away). */
  detail: string[];
  /** The line of the learner's program the error points at, when known. */
  line?: number;
}

export interface VerdictFacts {
  verdict: string | null;
  /** The judge's message for the test or the run. */
  message?: string;
  limits?: Limits;
  exit_code?: number;
  term_signal?: number;
  cpu_ms?: number;
  wall_ms?: number;
  memory_kib?: number;
  /** A run's standard error (for a Python traceback), when the page has it. */
  stderr?: string;
  /** The verdict is of a hidden test: never any of its data. */
  hidden?: boolean;
  /** A run on the learner's own input (no expected output to compare with). */
  run?: boolean;
}

const SIGNALS: Record<number, string> = {
  1: "SIGHUP", 2: "SIGINT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
  11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
};

export function signalName(n: number): string {
  return SIGNALS[n] ? `${n} (${SIGNALS[n]})` : String(n);
}

function ms(n?: number): string {
  if (!n) return "the limit";
  return n % 1000 === 0 ? `${n / 1000} s` : n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${n} ms`;
}

function mem(kib?: number): string {
  if (!kib) return "the limit";
  return kib >= 1024 ? `${Math.round(kib / 1024)} MiB` : `${kib} KiB`;
}

export interface PythonError { type: string; text: string; line?: number }

/**
 * The exception at the end of a Python traceback (or of a judge message that
 * quotes its last line: "exit code 1: ValueError: ..."), with the line of the
 * learner's file it points at when the traceback shows it.
 */
export function pythonError(text: string): PythonError | null {
  if (!text) return null;
  const lines = text.replace(/\s+$/, "").split("\n");
  let found: { type: string; text: string } | null = null;
  for (let i = lines.length - 1; i >= 0 && !found; i--) {
    const m = /(?:^|:\s)([A-Z][A-Za-z]*(?:Error|Exception|Exit|Interrupt|Warning)|StopIteration)(?::\s?(.*))?$/.exec(lines[i].trim());
    if (m) found = { type: m[1], text: (m[2] ?? "").trim() };
  }
  if (!found) return null;
  // The last frame in the learner's own file (not the standard library's).
  let line: number | undefined;
  for (const m of text.matchAll(/File "([^"]*)", line (\d+)/g)) if (!/\/lib\/python|^<frozen/.test(m[1])) line = Number(m[2]);
  return { ...found, line };
}

function pythonAdvice(e: PythonError): { title: string; what: string; tip: string } {
  const said = e.text ? `${e.type}: ${e.text}` : e.type;
  const at = e.line ? ` (line ${e.line})` : "";
  switch (e.type) {
    case "SyntaxError": case "IndentationError": case "TabError":
      return { title: "Syntax error", what: `Python could not read your program${at}: ${said}. Nothing ran.`,
        tip: e.type === "SyntaxError" ? "The editor underlines the spot. Look for a missing colon, bracket or quote just before it."
          : "Indent each block by the same amount (4 spaces), and do not mix tabs and spaces." };
    case "NameError": case "UnboundLocalError":
      return { title: "Unknown name", what: `Your program used a name Python does not know${at}: ${said}.`,
        tip: "Check the spelling (upper and lower case count), and that the variable gets a value or the module is imported before it is used." };
    case "EOFError":
      return { title: "Read past the input", what: `Your program asked for more input than there is${at}.`,
        tip: "Read only as many lines as the input has; an empty input or a missing last line needs care. sys.stdin.read() reads everything at once." };
    case "ValueError":
      return { title: "Unexpected value", what: `A value was not what your program expected${at}: ${said}.`,
        tip: /int\(\)|float\(\)/.test(e.text) ? "int() and float() need a single number: split the line first (line.split()), and strip the line break."
          : "Check the shape of the input you read, and the values you convert." };
    case "IndexError":
      return { title: "Index out of range", what: `Your program used a position that does not exist${at}: ${said}.`,
        tip: "Indexes run from 0 to len(x) - 1; check loop bounds and empty lists." };
    case "KeyError":
      return { title: "Missing key", what: `Your program looked up a key that is not in the dictionary${at}: ${said}.`,
        tip: "Use d.get(key, default), or check `key in d` first." };
    case "ZeroDivisionError":
      return { title: "Division by zero", what: `Your program divided by zero${at}.`, tip: "Check the inputs where a divisor can be 0." };
    case "RecursionError":
      return { title: "Recursion too deep", what: `Your program called itself too deeply${at}: ${said}.`,
        tip: "Rewrite the recursion as a loop with an explicit stack, or make sure every call gets closer to the base case." };
    case "TypeError": case "AttributeError":
      return { title: "Wrong kind of value", what: `An operation got a value of the wrong type${at}: ${said}.`,
        tip: "Input arrives as text: convert with int() or float() before doing arithmetic." };
    case "ModuleNotFoundError": case "ImportError":
      return { title: "Module not available", what: `An import failed${at}: ${said}.`,
        tip: "Only Python's standard library is available here." };
    case "MemoryError":
      return { title: "Out of memory", what: `Your program ran out of memory${at}.`,
        tip: "Process the input as it comes instead of keeping everything in lists." };
    default:
      return { title: "Runtime error", what: `Your program stopped with an error${at}: ${said}.`,
        tip: "The error output shows the line where it happened; test that case with Run." };
  }
}

/** Explains a verdict; f.message and the figures become the technical detail. */
export function explain(f: VerdictFacts): Explanation {
  const l = f.limits ?? {};
  const msg = f.message ?? "";
  const detail: string[] = [];
  if (f.verdict) detail.push(`verdict: ${f.verdict}`);
  if (msg) detail.push(`judge: ${msg}`);
  if (f.exit_code !== undefined && f.exit_code !== 0 && !(f.exit_code === -1 && f.term_signal)) detail.push(`exit code: ${f.exit_code}`);
  if (f.term_signal) detail.push(`signal: ${signalName(f.term_signal)}`);
  if (f.cpu_ms !== undefined) detail.push(`CPU time: ${f.cpu_ms} ms of ${l.cpu_ms ?? "?"} ms`);
  if (f.wall_ms) detail.push(`wall time: ${f.wall_ms} ms`);
  if (f.memory_kib) detail.push(`memory: ${mem(f.memory_kib)} of ${mem(l.memory_kib)}`);
  const out = (title: string, what: string, tip: string, line?: number): Explanation => ({ title, what, tip, detail, line });

  switch (f.verdict) {
    case "ac":
      return out(f.run ? "Finished" : "Accepted", f.run ? "Your program ran to the end without an error." : "Correct output.", "");
    case "wa":
      return f.hidden
        ? out("Wrong answer", "Your program printed a different answer on this hidden test.",
          "Think of cases the examples do not show: an empty or one-item input, equal values, negative numbers, the largest sizes.")
        : out("Wrong answer", "Your program ran, but its output differs from the expected output.",
          "Compare the two side by side: the first difference is marked. Check spacing, line breaks and number format too.");
    case "tle": {
      if (/wall-clock/.test(msg))
        return out("Too slow", `Your program ran for more than ${ms(l.wall_ms)} without finishing.`,
          "If it computes all that time, look for a loop that never ends; if it waits, it may be reading more input than there is, or sleeping.");
      if (/whole run/.test(msg))
        return out("Too slow", "The tests together took longer than the whole run may take.",
          "Look for a loop that never ends, or work that grows much faster than the input.");
      return out("Too slow", `Your program used more than ${ms(l.cpu_ms)} of CPU time on this input.`,
        "Look for a loop that never ends, or an O(n²) step — a loop inside a loop over the input, or `x in list` inside a loop (a set is faster).");
    }
    case "mle":
      return out("Too much memory", `Your program needed more than ${mem(l.memory_kib)} of memory.`,
        "Process the input as it comes instead of keeping every value; very deep recursion uses memory too.");
    case "ole":
      return out("Too much output", `Your program printed more than ${l.output_kib ? mem(l.output_kib) : "the output limit"}.`,
        "Often a print inside a loop that never ends. Print only the answer, without debug output.");
    case "ce":
      return out("Compilation failed", "The compiler could not build your program; its messages are below.",
        "Fix the first error the compiler reports; later ones often follow from it.");
    case "ie":
      return out("Something went wrong on our side", "The judge could not finish this run. It does not count against you.",
        "Please try again in a moment.");
    case "cancelled":
      return out("Stopped", "The run was stopped before it finished.", "");
    case "not_run":
      return out("Not run", "This test did not run: an earlier test failed, and this task stops at the first failure.",
        "Fix the first failing test; the ones after it run again on your next submission.");
    case "re": {
      if (/resource limits/.test(msg))
        return out("Stopped by the sandbox", "Your program was stopped for using too many resources at once — most often too many processes or threads, or memory growing very fast.",
          "Do not start processes or threads; process the input step by step.");
      const py = pythonError(f.stderr || "") ?? pythonError(msg.replace(/^exit code -?\d+:\s*/, ""));
      if (py) {
        const a = pythonAdvice(py);
        return out(a.title, a.what, a.tip, py.line);
      }
      const sig = /signal (\d+)/.exec(msg)?.[1] ?? (f.term_signal ? String(f.term_signal) : "");
      if (sig === "11" || sig === "7")
        return out("Crashed", "Your program crashed (it read or wrote memory it may not use).",
          "In Python this is usually recursion far too deep (after raising the recursion limit).");
      if (sig) return out("Crashed", `Your program was stopped by signal ${signalName(Number(sig))}.`, "The error output may show why.");
      const code = /exit code (-?\d+)/.exec(msg)?.[1] ?? (f.exit_code !== undefined ? String(f.exit_code) : "");
      return out("Runtime error", `Your program stopped with exit code ${code || "≠ 0"} before finishing.`,
        "An exception or sys.exit() with a non-zero code ends the program early; the error output shows where.");
    }
    default:
      return out("Pending", "Waiting for the judge.", "");
  }
}

/** What a queued event tells the learner: the queue, or why the judge holds the job back (it runs by itself later). */
export function queuedText(e: { position?: number; waiting_for?: string }): string {
  if (e.waiting_for === "earlier_job") return "Waiting for your previous run or submission to finish…";
  if (e.waiting_for === "sandbox_time") return "Waiting: you used this minute's judging time; it starts again shortly…";
  return e.position ? `Queued (${e.position} ahead)…` : "Queued…";
}

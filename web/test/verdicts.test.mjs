import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { explain, pythonError, queuedText } = await loadTs("verdicts");
const limits = { cpu_ms: 2000, wall_ms: 5000, memory_kib: 262144, output_kib: 1024 };

test("a Python syntax error is a syntax error, not 'exit code 1'", () => {
  const e = explain({ verdict: "re", message: "exit code 1: SyntaxError: invalid syntax", limits });
  assert.equal(e.title, "Syntax error");
  assert.match(e.what, /Python could not read your program: SyntaxError: invalid syntax/);
  assert.match(e.tip, /missing colon/);
  assert.ok(e.detail.includes("judge: exit code 1: SyntaxError: invalid syntax"));
});

test("a traceback gives the exception and the learner's line", () => {
  const tb = 'Traceback (most recent call last):\n  File "/box/main.py", line 7, in <module>\n    main()\n  File "/box/main.py", line 4, in main\n    n = int(line)\nValueError: invalid literal for int() with base 10: \'1 2\'\n';
  assert.deepEqual(pythonError(tb), { type: "ValueError", text: "invalid literal for int() with base 10: '1 2'", line: 4 });
  const e = explain({ verdict: "re", message: "exit code 1", stderr: tb, limits, run: true });
  assert.equal(e.title, "Unexpected value");
  assert.equal(e.line, 4);
  assert.match(e.tip, /split the line first/);
  assert.equal(pythonError("just some output\n"), null);
});

test("time limits in plain words, with what to try; the signal is the detail", () => {
  const cpu = explain({ verdict: "tle", message: "CPU time limit exceeded (2000 ms)", limits, exit_code: -1, term_signal: 24 });
  assert.equal(cpu.title, "Too slow");
  assert.equal(cpu.what, "Your program used more than 2 s of CPU time on this input.");
  assert.match(cpu.tip, /loop that never ends, or an O\(n²\) step/);
  assert.ok(cpu.detail.includes("signal: 24 (SIGXCPU)"));
  assert.ok(!cpu.detail.some((d) => d.startsWith("exit code")), "no 'exit code -1' beside a signal");
  const wall = explain({ verdict: "tle", message: "wall-clock time limit exceeded (5000 ms)", limits });
  assert.equal(wall.title, "Too slow");
  assert.match(wall.what, /more than 5 s without finishing/);
  assert.match(wall.tip, /loop that never ends.*reading more input than there is/);
});

test("the sandbox's resource kill and other verdicts", () => {
  assert.equal(explain({ verdict: "re", message: "the sandbox was killed (resource limits)", limits }).title, "Stopped by the sandbox");
  assert.match(explain({ verdict: "mle", limits }).what, /more than 256 MiB of memory/);
  assert.match(explain({ verdict: "ole", limits }).what, /more than 1 MiB/);
  assert.match(explain({ verdict: "wa", hidden: true }).what, /hidden test/);
  assert.match(explain({ verdict: "ie" }).what, /does not count against you/);
  assert.equal(explain({ verdict: "re", message: "killed by signal 11 (SIGSEGV)" }).title, "Crashed");
  assert.match(explain({ verdict: "re", message: "exit code 3" }).what, /exit code 3/);
  assert.equal(explain({ verdict: "ac", run: true }).title, "Finished");
  assert.match(explain({ verdict: "re", message: "exit code 1: NameError: name 'x' is not defined" }).tip, /spelling/);
});

test("the rate-limit message says once when to try again", async () => {
  const { errorMessage } = await loadTs("api");
  assert.equal(errorMessage(429, "too many runs and submissions; try again in 21 s", 21), "Too many runs and submissions; try again in 21 s.");
  assert.equal(errorMessage(429, "slow down", 5), "Slow down. Try again in 5 s.");
  assert.equal(errorMessage(400, "code: must not be empty"), "code: must not be empty");
});

test("a test that did not run says so, and is no failure of its own", () => {
  const e = explain({ verdict: "not_run", message: "not run: an earlier test failed", limits });
  assert.equal(e.title, "Not run");
  assert.match(e.what, /earlier test failed/);
  assert.doesNotMatch(e.what, /wrong|too slow|crash/i);
});

test("a queued job says why the judge holds it back, or where it is in the queue", () => {
  assert.equal(queuedText({ position: 3 }), "Queued (3 ahead)…");
  assert.equal(queuedText({}), "Queued…");
  assert.match(queuedText({ waiting_for: "earlier_job" }), /previous run or submission/);
  assert.match(queuedText({ waiting_for: "sandbox_time" }), /this minute's judging time/);
});

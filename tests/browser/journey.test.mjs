// The learner's whole journey in a real browser (issue 5, part 3), against the
// real local stack: `./dojo up`, then
//   DOJO_BASE_URL=http://127.0.0.1:8080 node --test tests/browser/
// `./dojo test` runs it against a stack of its own (scripts/lib/web.sh).
// Skips (with the reason) when no gateway answers at DOJO_BASE_URL.
//
// playwright-core (from web/node_modules: cd web && npm ci) drives Debian's
// Chromium (/usr/bin/chromium, or DOJO_CHROMIUM). Screenshots at desktop
// (1280×800) and phone (390×844) sizes go to tests/artifacts/browser/, and
// every page screenshotted is checked with axe-core (web/node_modules, pinned
// in web/package.json) at both sizes: no serious or critical violation; every
// finding is written to tests/artifacts/browser/axe.json.
//
// The author step needs an author account: DOJO_AUTHOR_LOGIN and
// DOJO_AUTHOR_PASSWORD, or else a fresh account promoted with
// `./dojo auth-admin set-role USER author` (local stacks only).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BASE = (process.env.DOJO_BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const CHROMIUM = process.env.DOJO_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "tests", "artifacts", "browser");
const OUTBOX = process.env.DOJO_MAIL_OUTBOX || join(ROOT, ".dojo", "outbox");
const SLOW = 90_000; // judging on a cold executor can take a while
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ---- can we run at all? ------------------------------------------------------
async function whyNot() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (./dojo deps installs it)`;
  for (const m of ["playwright-core", "axe-core"]) {
    try {
      createRequire(join(ROOT, "web", "package.json")).resolve(m);
    } catch {
      return `${m} is not installed (cd web && npm ci)`;
    }
  }
  try {
    const r = await fetch(`${BASE}/api/v1/health`, { signal: AbortSignal.timeout(3000) });
    if (!r.ok) return `the gateway at ${BASE} answered ${r.status} to /api/v1/health`;
    const page = await fetch(`${BASE}/`, { signal: AbortSignal.timeout(3000) });
    if (!(await page.text()).includes("/assets/")) return `${BASE}/ does not serve the web app (build it: npm run build in web/)`;
  } catch (e) {
    return `no gateway reachable at ${BASE} (start the stack with ./dojo up, or set DOJO_BASE_URL): ${e.cause?.code || e.cause?.message || e.message}`;
  }
  return "";
}
const skipReason = await whyNot();
if (skipReason) console.log(`# SKIP browser journey: ${skipReason}`);

// ---- fixtures from content/ -------------------------------------------------------
const TASK_SLUG = "reverse-words";
const taskFile = JSON.parse(readFileSync(join(ROOT, "content", "tasks", `${TASK_SLUG}.json`), "utf8"));
const RIGHT = taskFile.reference_solutions[0].code;
const WRONG = taskFile.wrong_solutions.find((s) => (s.expected_verdict ?? "wa") === "wa").code;
const BASICS = JSON.parse(readFileSync(join(ROOT, "content", "tracks", "python-basics.json"), "utf8"));
const taskTitle = (slug) => JSON.parse(readFileSync(join(ROOT, "content", "tasks", `${slug}.json`), "utf8")).title;
const FIRST_SOLVE = readdirSync(join(ROOT, "content", "achievements"))
  .map((f) => JSON.parse(readFileSync(join(ROOT, "content", "achievements", f), "utf8")))
  .find((a) => a.rule.kind === "first_solve");

const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const XSS_NAME = `<script>window.__pwned=1</script>Ann ${stamp}`.slice(0, 64);
const learner = { email: `l${stamp}@example.test`, username: `l${stamp}`, password: `learner-pass-${stamp}`, display: XSS_NAME,
  time_zone: "Europe/Berlin" };
const authorAcct = {
  login: process.env.DOJO_AUTHOR_LOGIN || `a${stamp}`,
  email: `a${stamp}@example.test`,
  password: process.env.DOJO_AUTHOR_PASSWORD || `author-pass-${stamp}`,
  fromEnv: Boolean(process.env.DOJO_AUTHOR_LOGIN),
};
const newTask = { slug: `journey-${stamp}`, title: `Journey echo ${stamp}` };

// ---- browser ---------------------------------------------------------------------------
let context, page, profileDir;
const problems = []; // CSP violations, page errors, unexpected dialogs

// ---- accessibility: axe-core on every page screenshotted, at both sizes ----------------
let axeSrc = "";
const axeSource = () => (axeSrc ||= readFileSync(createRequire(join(ROOT, "web", "package.json")).resolve("axe-core/axe.min.js"), "utf8"));
const axeFindings = []; // { page, size, id, impact, help, nodes }

async function a11y(name, size, p = page) {
  // page.evaluate runs outside the page's CSP (no script element is added).
  if (!(await p.evaluate(() => Boolean(window.axe)))) await p.evaluate(axeSource());
  const violations = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
      html: v.nodes.slice(0, 3).map((n) => `${n.html.slice(0, 160)} — ${(n.failureSummary ?? "").replace(/\s+/g, " ").slice(0, 200)}`) }));
  });
  for (const v of violations) axeFindings.push({ page: name, size, ...v });
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, "axe.json"), JSON.stringify(axeFindings, null, 2) + "\n");
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical").map(({ html, ...v }) => ({ ...v, first: html[0] }));
  assert.deepEqual(bad, [], `${name} (${size}): serious accessibility violations`);
}

async function shoot(name, p = page) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`), fullPage: true });
  await a11y(name, "desktop", p);
  const vp = p.viewportSize();
  await p.setViewportSize(PHONE);
  try {
    await phoneChecks(name, p);
  } finally {
    await p.setViewportSize(vp); // a failure here must not leave later steps on a phone
  }
}

async function phoneChecks(name, p) {
  await p.waitForTimeout(150);
  await p.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
  // Usable on a phone: nothing widens the page past the screen (wide tables and
  // the activity calendar scroll inside their own boxes).
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  // What sticks out, for the message: the outermost elements past the right edge.
  const wide = width <= PHONE.width ? "" : await p.evaluate((w) => [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > w && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w))
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`).join(", "), PHONE.width);
  await a11y(name, "phone", p);
  assert.ok(width <= PHONE.width, `${name}: the page is ${width}px wide on a ${PHONE.width}px phone screen (${wide})`);
}

/** Runs f with the phone-sized viewport, then restores the desktop one. */
async function atPhone(f) {
  await page.setViewportSize(PHONE);
  try {
    await page.waitForTimeout(100);
    await f();
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}

function watch(p) {
  p.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  p.on("dialog", (d) => {
    problems.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
}

// The editor's text (Playwright's CSS locators reach into its shadow root).
const editorText = () => page.locator(".cm-line").evaluateAll((ls) => ls.map((l) => l.textContent).join("\n"));

// A learner that is an API client (bearer token), not a browser.
async function apiLearner(username) {
  const call = async (method, path, body, token) => {
    const r = await fetch(`${BASE}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  };
  const reg = await call("POST", "/api/v1/auth/register", {
    email: `${username}@example.test`, username, password: `rival-pass-${stamp}`,
    display_name: `Rival ${stamp}`, session: "token",
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const token = reg.json.access_token;
  return { post: (path, body) => call("POST", path, body, token), get: (path) => call("GET", path, undefined, token) };
}

// Pastes code into the editor the way a person would (select all, then the text).
async function typeInEditor(code) {
  const content = page.locator(".cm-content");
  await content.click();
  await page.keyboard.press("Escape"); // an open completion list would take the keys
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await page.keyboard.insertText(code);
  await page.keyboard.press("Escape");
  let text = "";
  for (let i = 0; i < 20; i++) {
    text = await editorText();
    if (text.trim() === code.trim()) return;
    await page.waitForTimeout(100);
  }
  assert.equal(text.trim(), code.trim(), "the editor holds the code typed");
}

async function register(acct, name) {
  await page.goto("/register");
  if (name) {
    await page.locator("#f-email").waitFor();
    await shoot(name);
  }
  await page.fill("#f-email", acct.email);
  await page.fill("#f-username", acct.username ?? acct.login);
  if (acct.display) await page.fill("#f-display_name", acct.display);
  if (acct.time_zone) await page.fill("#f-time_zone", acct.time_zone);
  await page.fill("#f-password", acct.password);
  await page.click("form button[type=submit]");
  await page.waitForURL((u) => !u.pathname.startsWith("/register"), { timeout: 15_000 });
}

let loginChecked = false;
async function signIn(login, password) {
  await page.goto("/login");
  if (!loginChecked) {
    await page.locator("#f-login").waitFor();
    await shoot("00-sign-in");
    loginChecked = true;
  }
  await page.fill("#f-login", login);
  await page.fill("#f-password", password);
  await page.click("form button[type=submit]");
  await page.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 15_000 });
}

async function signOut() {
  if (await page.locator("#sign-out").isVisible()) await page.click("#sign-out");
  else {
    await page.click(".menu-btn");
    await page.click("#sign-out");
  }
  await page.waitForURL(/\/login/);
}

describe("learner journey in Chromium", { skip: skipReason || false, concurrency: 1 }, () => {
  before(async () => {
    const { chromium } = createRequire(join(ROOT, "web", "package.json"))("playwright-core");
    profileDir = mkdtempSync(join(tmpdir(), "dojo-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      baseURL: BASE,
      viewport: DESKTOP,
      acceptDownloads: true,
    });
    context.setDefaultTimeout(20_000);
    page = context.pages()[0] ?? (await context.newPage());
    watch(page);
  });

  after(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  test("register; the display name with a script tag shows as text", async () => {
    await register(learner, "00-register");
    const name = page.locator(".user-link");
    await name.waitFor();
    if (!(await name.isVisible())) await page.click(".menu-btn");
    assert.equal((await name.textContent()).trim(), XSS_NAME);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  });

  test("a newcomer lands on / with tracks to follow, in order, with progress", async () => {
    await page.goto("/");
    await page.locator("#tracks").waitFor();
    assert.equal(await page.locator("#tracks-h").textContent(), "Start here: follow a track");
    const card = page.locator('.track-card[data-track="python-basics"]');
    assert.equal(await card.locator("h3").textContent(), BASICS.title);
    assert.match(await card.locator(".track-progress").textContent(), new RegExp(`0 of ${BASICS.tasks.length} solved`));
    assert.equal(await card.locator("a.track-next").textContent(), `Start: ${taskTitle(BASICS.tasks[0])}`);
    assert.equal(await page.locator(".track-card").first().getAttribute("data-track"), "python-basics", "tracks in their order");
    await shoot("01-home-tracks");
  });

  test("the task list shows difficulty, points and filters", async () => {
    await page.goto("/tasks");
    const row = page.locator(`.task-row[data-slug="${TASK_SLUG}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /Easy/);
    assert.match(await row.textContent(), new RegExp(`${taskFile.points} pts`));
    await page.selectOption("#f-difficulty", "hard");
    await row.waitFor({ state: "detached" });
    await page.selectOption("#f-difficulty", "");
    await page.fill("#f-q", TASK_SLUG);
    await row.waitFor();
    await shoot("01-tasks");
  });

  test("open a task, run with stdin and see the output stream in", async () => {
    await page.click(`.task-row[data-slug="${TASK_SLUG}"] a`);
    await page.waitForURL(`**/tasks/${TASK_SLUG}`);
    await page.locator(".statement").waitFor();
    await page.locator(".cm-content").waitFor();
    await typeInEditor(
      "import sys, time\n" +
      "print('first:', sys.stdin.readline().strip().upper(), flush=True)\n" +
      "time.sleep(2.5)\n" +
      "print('second:', sys.stdin.readline().strip().upper(), flush=True)\n");
    await page.fill("#f-stdin", "hello\nworld\n");
    await page.click("#run-btn");
    const out = page.locator("#run-output");
    await page.waitForFunction(() => document.querySelector("#run-output")?.textContent.includes("first: HELLO"), null, { timeout: SLOW });
    assert.doesNotMatch(await out.textContent(), /second:/, "the first line arrived while the program still ran");
    await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
    assert.match(await out.textContent(), /second: WORLD/);
    assert.match(await page.locator("#run-status").textContent(), /Accepted/);
  });

  test("Stop cancels a running program", async () => {
    await typeInEditor("import time\nprint('tick', flush=True)\ntime.sleep(30)\n");
    await page.fill("#f-stdin", "");
    await page.click("#run-btn");
    await page.waitForFunction(() => document.querySelector("#run-output")?.textContent.includes("tick"), null, { timeout: SLOW });
    await page.click("#stop-btn");
    await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
    assert.match(await page.locator("#run-status").textContent(), /Cancelled/);
  });

  test("diagnostics while typing: a syntax error and an undefined name are marked in the editor", async () => {
    await typeInEditor("n = int(input())\nif n > 1\n    print(n)\n");
    const diag = page.locator("#diagnostics");
    await diag.filter({ hasText: "Expected ':' at the end of this line." }).waitFor();
    assert.match(await diag.textContent(), /Line 2/);
    await page.locator(".cm-lintRange-error").first().waitFor();
    await typeInEditor("total = 0\nfor i in range(3):\n    total += i\nprint(totl)\n");
    await diag.filter({ hasText: "'totl' is not defined — did you mean 'total'?" }).waitFor();
    assert.equal(await page.locator(".cm-lintRange-error").count(), 1);
    assert.equal((await page.locator(".cm-lintRange-error").textContent()).trim(), "totl");
    await shoot("02-diagnostics");
    await typeInEditor("total = 0\nfor i in range(3):\n    total += i\nprint(total)\n");
    await page.waitForFunction(() => !document.querySelector("#diagnostics")?.textContent, null, { timeout: 5_000 });
  });

  test("a run's error in plain words with what to try; the technical detail one click away", async () => {
    await typeInEditor("n = int(input())\nprint(n * 2)\n");
    await page.fill("#f-stdin", "1 2\n");
    await page.click("#run-btn");
    await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
    const status = page.locator("#run-status");
    assert.equal((await status.locator(".explain-title").textContent()).trim(), "Unexpected value");
    assert.match(await status.locator(".explain-tip").textContent(), /split the line first/);
    const tech = status.locator("details.tech");
    assert.equal(await tech.getAttribute("open"), null, "the technical detail starts folded");
    assert.ok(!(await tech.locator("ul").isVisible()));
    await tech.locator("summary").click();
    assert.match(await tech.textContent(), /exit code: 1/);
    await status.locator("button.goto-line", { hasText: "Go to line 1" }).click();

    // A time limit: plain words, and no "exit code -1 · signal 24" outside the detail.
    await typeInEditor("while True:\n    pass\n");
    await page.fill("#f-stdin", "");
    await page.click("#run-btn");
    await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
    assert.equal((await status.locator(".explain-title").textContent()).trim(), "Too slow");
    // CPU time, or on a very busy machine the wall clock first: either way in seconds, with what to look for.
    assert.match(await status.locator(".explain-what").textContent(),
      new RegExp(`more than (${taskFile.limits.cpu_ms / 1000} s of CPU time on this input|${taskFile.limits.wall_ms / 1000} s without finishing)`));
    assert.match(await status.locator(".explain-tip").textContent(), /loop that never ends/);
    const shown = await status.evaluate((el) => { const c = el.cloneNode(true); c.querySelector("details")?.remove(); return c.textContent; });
    assert.doesNotMatch(shown, /exit code|signal/);
    await shoot("03-run-explained");
  });

  test("long outputs fold, with a way to expand", async () => {
    await typeInEditor("for i in range(60):\n    print(i)\n");
    await page.click("#samples-btn");
    const detail = page.locator("#results tr.test-detail").first();
    await detail.waitFor({ timeout: SLOW });
    await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
    const mine = detail.locator(".compare-col").last();
    assert.equal((await mine.locator("h3").textContent()).trim(), "Your output");
    assert.ok((await mine.locator(".io-line[hidden]").count()) > 0, "lines beyond the window are folded");
    const more = mine.locator("button.unfold");
    assert.equal((await more.textContent()).trim(), "Show all 60 lines");
    await more.click();
    assert.equal(await mine.locator(".io-line[hidden]").count(), 0);
    assert.equal(await mine.locator(".io-line").count(), 60);
    assert.match(await detail.locator(".diff-summary").textContent(), /^Line 1, column 1: expected "world", your output has "0"\./);
  });

  test("a wrong answer: input, expected and actual side by side, the first difference marked, whitespace visible; hidden tests stay hidden", async () => {
    await typeInEditor(WRONG);
    await page.click("#submit-btn");
    const banner = page.locator(".result-banner");
    await banner.waitFor({ timeout: SLOW });
    assert.equal(await banner.getAttribute("data-verdict"), "wa");
    assert.equal(await banner.locator(".explain-title").count(), 0, "no title that repeats the verdict");
    assert.match(await banner.locator(".explain-what").textContent(), /^Your program ran, but its output differs from the expected output\.$/);
    assert.match(await banner.locator(".explain-tip").textContent(), /first difference is marked/);
    // The failing visible test (sample-2) is open beneath its row.
    const detail = page.locator('#results tr.test-detail[data-test="sample-2"]');
    assert.ok(await detail.locator("details.test-detail-box").evaluate((d) => d.open));
    const cols = detail.locator(".compare-col");
    assert.deepEqual(await cols.locator("h3").allTextContents(), ["Input", "Expected output", "Your output"]);
    const sample = taskFile.tests.find((t) => t.name === "sample-2");
    assert.equal(await cols.nth(0).locator(".lt").first().textContent(), sample.input.replace(/\n$/, ""));
    assert.equal(await detail.locator(".diff-summary").textContent(),
      'Line 1, column 6: expected "is", your output has a space. Only whitespace differs: spaces, tabs or line breaks.');
    // Marked in both, whitespace shown (the difference is only whitespace).
    assert.equal(await cols.nth(1).locator("mark.diff-mark").textContent(), "is");
    assert.equal(await cols.nth(2).locator("mark.diff-mark .ws-space").count(), 1);
    assert.ok(await detail.locator(".compare.show-ws").count());
    const glyph = await cols.nth(2).locator(".ws-space").first().evaluate((el) => getComputedStyle(el, "::after").content);
    assert.equal(glyph, '"·"');
    // Hidden tests: verdict, time and memory only: no detail row, no output, no judge message.
    const hiddenRows = page.locator("#results tr.test-row.is-hidden");
    assert.equal(await hiddenRows.count(), taskFile.tests.filter((t) => t.hidden).length);
    for (const row of await hiddenRows.all()) {
      assert.equal(await row.locator("pre, details").count(), 0);
      assert.equal(await row.locator("td").count(), 3);
      const name = await row.getAttribute("data-test");
      assert.equal(await page.locator(`#results tr.test-detail[data-test="${name}"]`).count(), 0);
    }
    for (const t of taskFile.tests.filter((x) => x.hidden && x.expected.trim().length >= 4))
      assert.ok(!(await page.locator("#results").textContent()).includes(t.expected.trim()), `hidden test ${t.name}'s expected output never shows`);
    // Before an accepted submission the author's solution and editorial stay closed.
    assert.match(await page.locator("#solutions").textContent(), /open after your own accepted submission/);
    assert.equal(await page.locator("#solutions pre").count(), 0);
    await shoot("04-wrong-submission");
  });

  test("the right solution earns points, a 1-day streak and the first-solve achievement", async () => {
    await typeInEditor(RIGHT);
    await page.click("#submit-btn");
    const banner = page.locator(".result-banner");
    await banner.waitFor({ timeout: SLOW });
    assert.equal(await banner.getAttribute("data-verdict"), "ac");
    assert.match(await page.locator(".award-points").textContent(), new RegExp(`\\+${taskFile.points} points`));
    assert.match(await page.locator(".award-streak").textContent(), /1-day streak/);
    await page.locator(`.award-achievement[data-achievement="${FIRST_SOLVE.slug}"]`).waitFor();
    assert.ok(await page.locator(".badge-solved").isVisible());
    // What next: the following task of the track.
    const next = page.locator("#next-task");
    await next.waitFor();
    const after = BASICS.tasks[BASICS.tasks.indexOf(TASK_SLUG) + 1];
    assert.equal(await next.getAttribute("data-slug"), after);
    assert.equal(await next.textContent(), `${taskTitle(after)} →`);
    assert.match(await page.locator(".next-task").textContent(), /^Next in Python basics:/);
    // After it: the editorial and the reference solution, beside the earlier attempts.
    const sol = page.locator("#solutions");
    await sol.locator(".editorial").waitFor();
    assert.match(await sol.locator(".editorial").textContent(), /The usual mistake/);
    assert.equal((await sol.locator(".ref-solution pre.code-view").first().textContent()).trim(), RIGHT.trim());
    await sol.locator("button.compare-ref").first().click();
    await sol.locator(".code-diff-same").waitFor();
    await shoot("05-accepted");
  });

  test("the draft is saved to the server: it comes back with the browser's storage cleared", async () => {
    await page.waitForFunction(() => /Draft saved/.test(document.querySelector(".draft-status")?.textContent ?? ""), null, { timeout: 20_000 });
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await page.locator(".cm-content").waitFor();
    let text = "";
    for (let i = 0; i < 50 && text.trim() !== RIGHT.trim(); i++) {
      if (i) await page.waitForTimeout(100);
      text = await editorText();
    }
    assert.equal(text.trim(), RIGHT.trim());
  });

  test("submission history: an earlier submission reopens with its code and results, loads into the editor, compares with the current code", async () => {
    const rows = page.locator("#history tbody tr");
    await page.waitForFunction(() => document.querySelectorAll("#history tbody tr").length >= 2, null, { timeout: 10_000 });
    assert.equal(await rows.first().locator(".verdict").getAttribute("class"), "verdict v-ac", "newest first");
    await rows.filter({ has: page.locator(".v-wa") }).first().locator("button.open-sub").click();
    const past = page.locator("#past-submission");
    await past.locator("h3", { hasText: "Submission of" }).waitFor();
    assert.equal((await past.locator("pre.code-view").textContent()).trim(), WRONG.trim());
    await past.locator('tr.test-detail[data-test="sample-2"] .diff-summary').waitFor();
    await page.click("#compare-btn");
    const diff = past.locator("pre.code-diff");
    await diff.waitFor();
    assert.ok((await diff.locator(".cd-del").count()) > 0 && (await diff.locator(".cd-add").count()) > 0);
    assert.match(await past.locator(".code-diff-box p").textContent(), /only in the submission \(−\), \d+ only in your code now \(\+\)/);
    await shoot("06-history");
    await page.click("#load-sub-btn");
    await page.waitForFunction((w) => [...document.querySelector("[data-testid=editor]").shadowRoot.querySelectorAll(".cm-line")].map((l) => l.textContent).join("\n").trim() === w,
      WRONG.trim(), { timeout: 5_000 });
    await typeInEditor(RIGHT);
  });

  test("phone: Statement | Code | Result tabs, the editor in reach at 16 px; desktop: side by side", async () => {
    assert.ok(!(await page.locator(".task-tabs").isVisible()), "no tabs on a desktop");
    assert.ok(await page.locator(".statement").isVisible() && await page.locator(".cm-editor").isVisible());
    await atPhone(async () => {
      await page.reload();
      await page.locator(".cm-content").waitFor({ state: "attached" });
      const tabs = page.locator(".task-tabs [role=tab]");
      assert.deepEqual((await tabs.allTextContents()).map((t) => t.trim()), ["Statement", "Code", "Result"]);
      assert.equal(await page.getAttribute("#tab-statement", "aria-selected"), "true");
      assert.ok(await page.locator(".statement").isVisible());
      assert.ok(!(await page.locator(".cm-editor").isVisible()));
      await page.screenshot({ path: join(ARTIFACTS, "07-tab-statement-phone.png") });
      await page.click("#tab-code");
      await page.locator(".cm-editor").waitFor();
      assert.ok(!(await page.locator(".statement").isVisible()));
      const box = await page.locator(".cm-editor").boundingBox();
      assert.ok(box.y < 400, `the editor starts ${box.y}px from the top`);
      assert.equal(await page.locator(".cm-content").evaluate((el) => getComputedStyle(el).fontSize), "16px");
      await page.screenshot({ path: join(ARTIFACTS, "07-tab-code-phone.png") });
      await a11y("07-tab-code", "phone");
      await page.click("#samples-btn");
      assert.equal(await page.getAttribute("#tab-result", "aria-selected"), "true", "running shows the Result tab");
      await page.waitForFunction(() => document.querySelector("#run-status")?.dataset.state === "done", null, { timeout: SLOW });
      assert.equal(await page.getAttribute("#tab-result", "aria-label"), "Result: Accepted");
      assert.ok(await page.locator("#results .tests-table").isVisible());
      await page.screenshot({ path: join(ARTIFACTS, "07-tab-result-phone.png"), fullPage: true });
      await a11y("07-tab-result", "phone");
      // Arrow keys move between tabs.
      await page.focus("#tab-result");
      await page.keyboard.press("ArrowRight");
      assert.equal(await page.getAttribute("#tab-statement", "aria-selected"), "true");
    });
  });

  test("the dashboard shows points, streak, achievement and the submission", async () => {
    await page.goto("/dashboard");
    await page.locator(".stats").waitFor();
    assert.match(await page.locator('[data-stat="total-points"] .stat-value').textContent(), new RegExp(`^${taskFile.points}$`));
    assert.match(await page.locator('[data-stat="streak"] .stat-value').textContent(), /^1 day$/);
    await page.locator(`.achievement.is-unlocked[data-achievement="${FIRST_SOLVE.slug}"]`).waitFor();
    assert.equal(await page.locator(".calendar .cal-day:not(.cal-pad)").count(), 365);
    assert.ok((await page.locator(".recent tbody tr").count()) >= 2);
    // The heatmap is labelled: months along the top, weekdays down the side.
    const months = (await page.locator(".calendar .cal-month").allTextContents()).filter(Boolean);
    assert.ok(months.length >= 12, `month labels: ${months}`);
    assert.deepEqual((await page.locator(".calendar .cal-wd").allTextContents()).filter(Boolean), ["Mon", "Wed", "Fri"]);
    await page.locator(".calendar .cal-today").waitFor();
    await shoot("08-dashboard");
    // On a phone it opens on today, not on last year's oldest week.
    await atPhone(async () => {
      await page.reload();
      await page.locator(".calendar .cal-today").waitFor();
      const { left, width, total } = await page.locator(".calendar-wrap").evaluate((w) => ({ left: w.scrollLeft, width: w.clientWidth, total: w.scrollWidth }));
      assert.ok(total > width, "the year is wider than a phone");
      assert.ok(left + width >= total - 1, `scrolled to the end (${left} + ${width} of ${total})`);
      const wrap = await page.locator(".calendar-wrap").boundingBox(), today = await page.locator(".cal-today").boundingBox();
      assert.ok(today.x >= wrap.x && today.x + today.width <= wrap.x + wrap.width, "today is in view");
      await page.locator(".calendar-wrap").scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, "08-dashboard-calendar-phone.png") });
    });
    // A recent submission reopens on its task page.
    await page.locator(".recent a.review-link").first().click();
    await page.waitForURL(/\/tasks\/.+\?submission=/);
    await page.locator("#past-submission h3").waitFor();
  });

  test("find yourself on the leaderboard (name as text)", async () => {
    await page.goto("/leaderboard");
    const me = page.locator(".leaderboard tr.is-me");
    await me.waitFor();
    assert.equal((await me.locator(".lb-name").evaluate((td) => td.firstChild.textContent)), XSS_NAME);
    assert.equal(await page.locator(".leaderboard script").count(), 0);
    // Live: another learner solves a task through the API (a second client);
    // the open board shows them without a reload.
    const rival = await apiLearner(`r${stamp}`);
    const sub = await rival.post("/api/v1/submissions", { task_slug: TASK_SLUG, language: "python3", code: RIGHT });
    assert.equal(sub.status, 202, JSON.stringify(sub.json));
    await page.locator(`.leaderboard .lb-name:has-text("Rival ${stamp}")`).waitFor({ timeout: 30_000 });
    await page.click("#tab-weekly");
    await page.locator(".leaderboard tr.is-me").waitFor();
    await shoot("09-leaderboard");
    // Dark mode toggle.
    await page.click("#theme-toggle");
    await shoot("09-leaderboard-toggled-theme");
    await page.click("#theme-toggle");
  });

  test("the task list shows solve counts, acceptance and attempts, and sorts and filters by them", async () => {
    // Two learners solved it (the rival through the API): 3 submissions, 2 accepted, 2 and 1 tries.
    const row = page.locator(`.task-row[data-slug="${TASK_SLUG}"]`);
    for (let i = 0; ; i++) {
      await page.goto("/tasks?sort=solved");
      await row.waitFor();
      if ((await row.locator(".task-stats").getAttribute("data-solvers")) === "2" || i >= 8) break;
      await page.waitForTimeout(1000); // the gateway's and the browser's 2 s cache
    }
    assert.equal(await row.locator(".task-stats").textContent(), "2 solved · 67% of submissions accepted · 1.5 tries to solve (median)");
    assert.equal(await page.locator(".task-row").first().getAttribute("data-slug"), TASK_SLUG, "most solved first");
    await shoot("10-tasks-stats");
    await page.goto("/");
    const card = page.locator('.track-card[data-track="python-basics"]');
    await card.waitFor();
    assert.equal(await page.locator("#tracks-h").textContent(), "Your tracks");
    assert.match(await card.locator(".track-progress").textContent(), new RegExp(`1 of ${BASICS.tasks.length} solved`));
    assert.match(await card.locator("a.track-next").textContent(), /^Continue: /);
    await page.goto("/tasks?sort=solved");
    await row.waitFor();
    await page.selectOption("#f-acceptance", "none");
    await row.waitFor({ state: "detached" });
    assert.match(page.url(), /acceptance=none/);
    await page.selectOption("#f-acceptance", "high");
    await row.waitFor();
    await page.selectOption("#f-sort", "acceptance-low");
    assert.match(page.url(), /sort=acceptance-low/);
  });

  test("profile: the zone chosen at sign-up is corrected at once; a second change within 24 h is refused and the field shows the saved zone", async () => {
    await page.goto("/profile");
    assert.equal(await page.inputValue("#f-time_zone"), learner.time_zone);
    await page.fill("#f-time_zone", "Asia/Tokyo");
    await page.check("#f-opt-out");
    await page.click("form[aria-labelledby=profile-h] button[type=submit]");
    await page.locator(".toast, [role=status]").filter({ hasText: "Profile saved." }).first().waitFor();
    await shoot("11-profile");
    await page.reload();
    assert.equal(await page.inputValue("#f-time_zone"), "Asia/Tokyo");
    assert.ok(await page.isChecked("#f-opt-out"));
    assert.match(await page.textContent("#f-time_zone-help"), /the next change is possible after/);
    await page.fill("#f-time_zone", "America/Lima");
    await page.click("form[aria-labelledby=profile-h] button[type=submit]");
    const err = page.locator("#f-time_zone-err");
    await err.filter({ hasText: "America/Lima is not saved" }).waitFor();
    assert.match(await err.textContent(), /stays Asia\/Tokyo until /);
    assert.equal(await page.inputValue("#f-time_zone"), "Asia/Tokyo", "the field shows the saved zone, not the refused one");
    assert.equal(await page.locator(".form-alert").first().textContent(), "", "no 'Saved, but…' half-success");
    await page.goto("/leaderboard");
    await page.locator(`.leaderboard .lb-name:has-text("Rival ${stamp}")`).waitFor();
    assert.equal(await page.locator(".leaderboard tr.is-me").count(), 0, "an opted-out learner is not on the board");
  });

  test("forgot and reset password through the mailed link", { skip: !existsSync(OUTBOX) && `no local mail outbox at ${OUTBOX}` }, async () => {
    await signOut();
    const since = Date.now();
    await page.goto("/forgot-password");
    await page.locator("#f-email").waitFor();
    await shoot("12-forgot-password");
    await page.fill("#f-email", learner.email);
    await page.click("form button[type=submit]");
    await page.locator(".notice-success").waitFor();
    let link = "";
    for (let i = 0; i < 50 && !link; i++) {
      for (const f of readdirSync(OUTBOX)) {
        const p = join(OUTBOX, f);
        if (statSync(p).mtimeMs < since - 1000) continue;
        const mail = readFileSync(p, "utf8");
        if (!mail.includes(learner.email)) continue;
        const m = /\/reset-password\?token=([A-Za-z0-9_%-]+)/.exec(mail.replace(/=\r?\n/g, ""));
        if (m) link = `/reset-password?token=${m[1]}`;
      }
      if (!link) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(link, "a reset mail arrived in the outbox");
    learner.password = `${learner.password}-new`;
    await page.goto(link);
    await page.locator("#f-new_password").waitFor();
    await shoot("12-reset-password");
    await page.fill("#f-new_password", learner.password);
    await page.fill("#f-confirm", learner.password);
    await page.click("form button[type=submit]");
    await page.locator(".notice-success").waitFor();
    await signIn(learner.username, learner.password);
  });

  test("an author creates a task in the designer; learners see it; its Markdown script shows as text", async (t) => {
    // An author account.
    if (await page.locator("#sign-out").count()) await signOut();
    if (!authorAcct.fromEnv) {
      await register({ ...authorAcct, username: authorAcct.login });
      try {
        execFileSync(join(ROOT, "dojo"), ["auth-admin", "set-role", authorAcct.login, "author"], { stdio: "pipe", timeout: 30_000 });
      } catch (e) {
        t.skip(`cannot make ${authorAcct.login} an author (./dojo auth-admin set-role failed: ${String(e.stderr || e.message).trim()}); set DOJO_AUTHOR_LOGIN and DOJO_AUTHOR_PASSWORD`);
        return;
      }
      await signOut(); // the role travels in the next access token
    }
    await signIn(authorAcct.login, authorAcct.password);

    await page.goto("/designer");
    await page.click("#new-task");
    await page.waitForURL("**/designer/new");
    await page.fill('[data-path="$.title"]', newTask.title);
    await page.fill('[data-path="$.slug"]', newTask.slug);
    await page.fill('[data-path="$.description"]', "Echo the line.\n\n<script>window.__pwned=2</script>\n\n**Bold** and `code`.\n");
    await page.fill('[data-path="$.tags"]', "strings");
    await page.fill('[data-path="$.languages[0].starter_code"]', "print(input())\n");
    await page.fill('[data-path="$.tests[0].input"]', "hi\n");
    await page.fill('[data-path="$.tests[0].expected"]', "hi\n");
    await page.click("text=+ Add test");
    await page.fill('[data-path="$.tests[1].input"]', "secret\n");
    await page.fill('[data-path="$.tests[1].expected"]', "secret\n");
    assert.ok(await page.locator('[data-path="$.tests[1].hidden"]').isChecked(), "new tests start hidden");
    await page.fill('[data-path="$.reference_solutions[0].code"]', "print(input())\n");
    await page.click("text=+ Add wrong solution");
    await page.fill('[data-path="$.wrong_solutions[0].code"]', "print('nope')\n");

    await page.click("#validate-btn");
    await page.locator("#designer-report h2.good").waitFor();
    await page.click("#run-ref-btn");
    await page.locator("#designer-report h2.good, #designer-report h2.bad").waitFor({ timeout: SLOW });
    assert.match(await page.locator("#designer-report h2").textContent(), /Every solution behaved as expected/);
    await shoot("13-designer");
    // On a phone the toolbar is one row, not a quarter of the screen.
    await atPhone(async () => {
      const bar = await page.locator(".designer-actions").boundingBox();
      assert.ok(bar.height <= 64, `the designer's toolbar is ${bar.height}px tall on a phone`);
    });
    const download = page.waitForEvent("download");
    await page.click("#export-btn");
    const file = await (await download).path();
    const exported = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(exported.slug, newTask.slug);
    assert.equal(exported.tests[1].hidden, true);
    await page.click("#save-btn");
    await page.waitForURL(`**/designer/${newTask.slug}`, { timeout: 20_000 });
    // The same task as a problem package: downloaded from the designer, then
    // uploaded again — its submissions run, and nothing changed.
    await page.locator("#export-package").waitFor();
    const pkgDownload = page.waitForEvent("download");
    await page.click("#export-package");
    const zipPath = await (await pkgDownload).path();
    await page.goto("/designer");
    await page.setInputFiles("#f-package", { name: `${newTask.slug}.zip`, mimeType: "application/zip",
      buffer: readFileSync(zipPath) });
    await page.locator("#package-report p.ok, #package-report p.bad").waitFor({ timeout: SLOW });
    assert.match(await page.locator("#package-report p").first().textContent(),
      new RegExp(`${newTask.slug} unchanged`));
    await shoot("13b-designer-package-import");

    // Back as the learner.
    await signOut();
    await signIn(learner.username, learner.password);
    // Task lists are cached for DOJO_GATEWAY_TASKS_CACHE_TTL (2 s; the browser
    // too): the gateway drops its cache on an author's write, the browser's
    // copy may still be a moment old, so look again until it shows.
    const row = page.locator(`.task-row[data-slug="${newTask.slug}"]`);
    for (let i = 0; ; i++) {
      await page.goto(`/tasks?q=${newTask.slug}`);
      try {
        await row.waitFor({ timeout: 3_000 });
        break;
      } catch (e) {
        if (i >= 5) throw e;
      }
    }
    await row.locator("a").click();
    await page.locator(".statement").waitFor();
    const statement = await page.locator(".statement .markdown").textContent();
    assert.match(statement, /<script>window\.__pwned=2<\/script>/);
    assert.equal(await page.locator(".statement script").count(), 0);
    assert.equal(await page.locator(".statement strong").textContent(), "Bold");
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await shoot("14-new-task-as-learner");
  });

  test("over the rate limit, the message says once when to try again", async () => {
    await page.goto(`/tasks/${TASK_SLUG}`);
    await page.locator(".cm-content").waitFor();
    // Spend the rest of this minute's budget (runs and submissions share it).
    const statuses = await page.evaluate(async (slug) => {
      const csrf = decodeURIComponent(/(?:^|;\s*)dojo_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? "");
      const out = [];
      for (let i = 0; i < 25; i++) {
        const r = await fetch("/api/v1/runs", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf },
          body: JSON.stringify({ task_slug: slug, language: "python3", code: "pass\n", stdin: "" }) });
        out.push(r.status);
        if (r.status === 429) break;
      }
      return out;
    }, TASK_SLUG);
    assert.equal(statuses.at(-1), 429, `statuses: ${statuses}`);
    await page.click("#run-btn");
    const status = page.locator("#run-status");
    await status.filter({ hasText: /try again/i }).waitFor();
    const text = await status.textContent();
    assert.equal(text.match(/try again/gi).length, 1, text);
    assert.match(text, /^Too many runs and submissions; try again in \d+ s\.$/);
  });

  test("no CSP violations, page errors or dialogs along the way", () => {
    assert.deepEqual(problems, []);
  });
});

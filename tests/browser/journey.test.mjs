// The learner's whole journey in a real browser (issue 5, part 3), against the
// real local stack: `./dojo up`, then
//   DOJO_BASE_URL=http://127.0.0.1:8080 node --test tests/browser/
// `./dojo test` runs it against a stack of its own (scripts/lib/web.sh).
// Skips (with the reason) when no gateway answers at DOJO_BASE_URL.
//
// playwright-core (from web/node_modules: cd web && npm ci) drives Debian's
// Chromium (/usr/bin/chromium, or DOJO_CHROMIUM). Screenshots at desktop and
// phone sizes go to tests/artifacts/browser/.
//
// The author step needs an author account: DOJO_AUTHOR_LOGIN and
// DOJO_AUTHOR_PASSWORD, or else a fresh account promoted with
// `./dojo auth-admin set-role USER author` (local stacks only).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
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

// ---- can we run at all? ------------------------------------------------------
async function whyNot() {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (./dojo deps installs it)`;
  try {
    createRequire(join(ROOT, "web", "package.json")).resolve("playwright-core");
  } catch {
    return "playwright-core is not installed (cd web && npm ci)";
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
const FIRST_SOLVE = readdirSync(join(ROOT, "content", "achievements"))
  .map((f) => JSON.parse(readFileSync(join(ROOT, "content", "achievements", f), "utf8")))
  .find((a) => a.rule.kind === "first_solve");

const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const XSS_NAME = `<script>window.__pwned=1</script>Ann ${stamp}`.slice(0, 64);
const learner = { email: `l${stamp}@example.test`, username: `l${stamp}`, password: `learner-pass-${stamp}`, display: XSS_NAME };
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

async function shoot(name, p = page) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`), fullPage: true });
  const vp = p.viewportSize();
  await p.setViewportSize({ width: 390, height: 844 });
  await p.waitForTimeout(150);
  await p.screenshot({ path: join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
  // Usable on a phone: nothing widens the page past the screen (wide tables and
  // the activity calendar scroll inside their own boxes).
  const width = await p.evaluate(() => document.documentElement.scrollWidth);
  await p.setViewportSize(vp);
  assert.ok(width <= 390, `${name}: the page is ${width}px wide on a 390px phone screen`);
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

async function register(acct) {
  await page.goto("/register");
  await page.fill("#f-email", acct.email);
  await page.fill("#f-username", acct.username ?? acct.login);
  if (acct.display) await page.fill("#f-display_name", acct.display);
  await page.fill("#f-password", acct.password);
  await page.click("form button[type=submit]");
  await page.waitForURL((u) => !u.pathname.startsWith("/register"), { timeout: 15_000 });
}

async function signIn(login, password) {
  await page.goto("/login");
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
      viewport: { width: 1366, height: 900 },
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
    await register(learner);
    const name = page.locator(".user-link");
    await name.waitFor();
    if (!(await name.isVisible())) await page.click(".menu-btn");
    assert.equal((await name.textContent()).trim(), XSS_NAME);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
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

  test("a wrong solution shows its failing test", async () => {
    await typeInEditor(WRONG);
    await page.click("#submit-btn");
    const banner = page.locator(".result-banner");
    await banner.waitFor({ timeout: SLOW });
    assert.notEqual(await banner.getAttribute("data-verdict"), "ac");
    const failing = page.locator(".tests-table tr.test-row:not([data-verdict='ac'])");
    assert.ok((await failing.count()) >= 1, "at least one failing test row");
    // Hidden tests never show output.
    for (const row of await page.locator(".tests-table tr.is-hidden").all()) {
      assert.equal(await row.locator("pre").count(), 0);
    }
    await shoot("02-wrong-submission");
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
    await shoot("03-accepted");
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

  test("the dashboard shows points, streak, achievement and the submission", async () => {
    await page.goto("/dashboard");
    await page.locator(".stats").waitFor();
    assert.match(await page.locator('[data-stat="total-points"] .stat-value').textContent(), new RegExp(`^${taskFile.points}$`));
    assert.match(await page.locator('[data-stat="streak"] .stat-value').textContent(), /^1 day$/);
    await page.locator(`.achievement.is-unlocked[data-achievement="${FIRST_SOLVE.slug}"]`).waitFor();
    assert.equal(await page.locator(".calendar .cal-day:not(.cal-pad)").count(), 365);
    assert.ok((await page.locator(".recent tbody tr").count()) >= 2);
    await shoot("04-dashboard");
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
    await shoot("05-leaderboard");
    // Dark mode toggle.
    await page.click("#theme-toggle");
    await shoot("05-leaderboard-toggled-theme");
    await page.click("#theme-toggle");
  });

  test("profile: time zone and leaderboard opt-out", async () => {
    await page.goto("/profile");
    await page.fill("#f-time_zone", "Asia/Tokyo");
    await page.check("#f-opt-out");
    await page.click("form[aria-labelledby=profile-h] button[type=submit]");
    await page.locator(".toast, [role=status]").filter({ hasText: "Profile saved." }).first().waitFor();
    await shoot("06-profile");
    await page.reload();
    assert.equal(await page.inputValue("#f-time_zone"), "Asia/Tokyo");
    assert.ok(await page.isChecked("#f-opt-out"));
    await page.goto("/leaderboard");
    await page.locator(`.leaderboard .lb-name:has-text("Rival ${stamp}")`).waitFor();
    assert.equal(await page.locator(".leaderboard tr.is-me").count(), 0, "an opted-out learner is not on the board");
  });

  test("forgot and reset password through the mailed link", { skip: !existsSync(OUTBOX) && `no local mail outbox at ${OUTBOX}` }, async () => {
    await signOut();
    const since = Date.now();
    await page.goto("/forgot-password");
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
    await shoot("07-designer");
    const download = page.waitForEvent("download");
    await page.click("#export-btn");
    const file = await (await download).path();
    const exported = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(exported.slug, newTask.slug);
    assert.equal(exported.tests[1].hidden, true);
    await page.click("#save-btn");
    await page.waitForURL(`**/designer/${newTask.slug}`, { timeout: 20_000 });

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
    await shoot("08-new-task-as-learner");
  });

  test("no CSP violations, page errors or dialogs along the way", () => {
    assert.deepEqual(problems, []);
  });
});

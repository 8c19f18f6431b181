// A teacher's class in a real browser (issue 18), against the real stack like
// journey.test.mjs (same requirements, same skip rule): a teacher creates a
// class and an assignment of three tasks; two learners join by code (one in
// the browser, one through the API) and a third never does anything; the
// browser learner sees what is due in their own time zone and solves a task;
// the teacher reads the matrix, the failure analysis, the inactive learners
// and a learner's code and per-test results, and exports the grades as CSV.
// Every page is screenshotted and checked with axe-core at 1280×800 and
// 390×844 (tests/artifacts/browser/classes-*).
//
// The teacher role comes from `./dojo auth-admin set-role USER teacher`
// (the stack ./dojo test starts, or a local ./dojo up).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BASE = (process.env.DOJO_BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const CHROMIUM = process.env.DOJO_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "tests", "artifacts", "browser");
const SLOW = 90_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const LOCALE = "en-GB";

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
if (skipReason) console.log(`# SKIP classes journey: ${skipReason}`);

// ---- fixtures ------------------------------------------------------------------------
const task = (slug) => JSON.parse(readFileSync(join(ROOT, "content", "tasks", `${slug}.json`), "utf8"));
const TASKS = ["digit-sum", "fizz-buzz", "leap-years"].map(task);
const [SOLVED, FAILED] = TASKS;
const wrongOf = (t) => t.wrong_solutions.find((s) => (s.expected_verdict ?? "wa") === "wa").code;

const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const CLASS_ZONE = "America/New_York";
const LEARNER_ZONE = "Asia/Tokyo";
const teacher = { username: `t${stamp}`, password: `teacher-pass-${stamp}`, display: `Teacher ${stamp}` };
const learner = { username: `k${stamp}`, password: `learner-pass-${stamp}`, display: `Kim ${stamp}` };
const classTitle = `Python 1A ${stamp}`;
const assignmentTitle = `Week 1 ${stamp}`;

// ---- dates: the due date is written in the class's zone, shown in the learner's ------
function zoneParts(ms, zone) {
  const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
}
/** The instant a wall-clock time "YYYY-MM-DDTHH:MM" of `zone` names (no DST edge here: 18:00). */
function instantIn(local, zone) {
  const asUtc = Date.parse(`${local}:00Z`);
  let t = asUtc;
  for (let i = 0; i < 3; i++) t = asUtc - (zoneParts(t, zone) - t);
  return new Date(t);
}
function localIn(ms, zone) {
  return new Date(zoneParts(ms, zone)).toISOString().slice(0, 16);
}
// What the web app shows (web/src/classes.ts inZone) for the learner's locale and zone.
function shown(d, zone) {
  const o = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
  if (new Date().getFullYear() !== d.getFullYear()) o.year = "numeric";
  return new Intl.DateTimeFormat(LOCALE, o).format(d);
}
const dueDay = localIn(Date.now() + 10 * 86400000, CLASS_ZONE).slice(0, 10);
const firstDueLocal = `${dueDay}T17:00`; // then moved to 18:30
const dueLocal = `${dueDay}T18:30`;
const dueInstant = instantIn(dueLocal, CLASS_ZONE);

// ---- API people (bearer tokens) --------------------------------------------------------
async function call(method, path, body, token) {
  const r = await fetch(`${BASE}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, json };
}
async function apiPerson(username, extra = {}) {
  const reg = await call("POST", "/api/v1/auth/register", {
    email: `${username}@example.test`, username, password: `pass-${username}`, session: "token", ...extra,
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.json));
  const token = reg.json.access_token;
  return { id: reg.json.user.id, username, post: (p, b) => call("POST", p, b, token), get: (p) => call("GET", p, undefined, token) };
}

async function apiLogin(username, password = `pass-${username}`) {
  const r = await call("POST", "/api/v1/auth/login", { login: username, password, session: "token" });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const token = r.json.access_token;
  return { id: r.json.user.id, role: r.json.user.role, post: (p, b) => call("POST", p, b, token), get: (p) => call("GET", p, undefined, token) };
}

function dojoAdmin(...args) {
  return execFileSync(join(ROOT, "dojo"), ["auth-admin", ...args], { stdio: "pipe", timeout: 30_000 }).toString();
}

// ---- browser ---------------------------------------------------------------------------
let browser, tctx, lctx, tp, lp;
const problems = [];
const axeFindings = [];
let axeSrc = "";
const axeSource = () => (axeSrc ||= readFileSync(createRequire(join(ROOT, "web", "package.json")).resolve("axe-core/axe.min.js"), "utf8"));

async function a11y(name, size, p) {
  if (!(await p.evaluate(() => Boolean(window.axe)))) await p.evaluate(axeSource());
  const violations = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
      first: v.nodes[0] ? `${v.nodes[0].html.slice(0, 160)} — ${(v.nodes[0].failureSummary ?? "").replace(/\s+/g, " ").slice(0, 200)}` : "" }));
  });
  for (const v of violations) axeFindings.push({ page: name, size, ...v });
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, "classes-axe.json"), JSON.stringify(axeFindings, null, 2) + "\n");
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${name} (${size}): serious accessibility violations`);
}

/** Screenshots and axe at both sizes; on the phone nothing may widen the page past the screen. */
async function shoot(name, p) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: join(ARTIFACTS, `classes-${name}-desktop.png`), fullPage: true });
  await a11y(name, "desktop", p);
  await p.setViewportSize(PHONE);
  try {
    await p.waitForTimeout(150);
    await p.screenshot({ path: join(ARTIFACTS, `classes-${name}-phone.png`), fullPage: true });
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    const wide = width <= PHONE.width ? "" : await p.evaluate((w) => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > w && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w))
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}`).join(", "), PHONE.width);
    await a11y(name, "phone", p);
    assert.ok(width <= PHONE.width, `${name}: the page is ${width}px wide on a ${PHONE.width}px phone screen (${wide})`);
  } finally {
    await p.setViewportSize(DESKTOP);
  }
}

function watch(p, who) {
  p.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`${who} console: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`${who} page error: ${e.message}`));
  // The app confirms destructive steps only; none is taken here.
  p.on("dialog", (d) => {
    problems.push(`${who} unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
}

async function signIn(p, login, password) {
  await p.goto("/login");
  await p.fill("#f-login", login);
  await p.fill("#f-password", password);
  await p.click("form button[type=submit]");
  await p.waitForURL((u) => !u.pathname.startsWith("/login"), { timeout: 15_000 });
}

async function typeInEditor(p, code) {
  const text = () => p.locator(".cm-line").evaluateAll((ls) => ls.map((l) => l.textContent).join("\n"));
  await p.locator(".cm-content").click();
  await p.keyboard.press("Escape");
  await p.keyboard.press("Control+A");
  await p.keyboard.press("Delete");
  await p.keyboard.insertText(code);
  await p.keyboard.press("Escape");
  for (let i = 0; i < 20 && (await text()).trim() !== code.trim(); i++) await p.waitForTimeout(100);
  assert.equal((await text()).trim(), code.trim(), "the editor holds the code typed");
}

async function submitIn(p, slug, code) {
  await p.goto(`/tasks/${slug}`);
  await p.locator(".cm-content").waitFor();
  await typeInEditor(p, code);
  await p.click("#submit-btn");
  const banner = p.locator(".result-banner");
  await banner.waitFor({ timeout: SLOW });
  return banner.getAttribute("data-verdict");
}

/** Waits until an API submission has a final verdict (bounded). */
async function finished(who, id) {
  for (let i = 0; i < 180; i++) {
    const r = await who.get(`/api/v1/submissions/${id}`);
    if (r.status === 200 && r.json.state === "finished") return r.json;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`submission ${id} did not finish`);
}

const state = {};

describe("a teacher's class in Chromium", { skip: skipReason || false, concurrency: 1 }, () => {
  before(async () => {
    const { chromium } = createRequire(join(ROOT, "web", "package.json"))("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    const opts = { baseURL: BASE, viewport: DESKTOP, acceptDownloads: true, locale: LOCALE };
    tctx = await browser.newContext(opts);
    lctx = await browser.newContext(opts);
    for (const c of [tctx, lctx]) c.setDefaultTimeout(20_000);
    tp = await tctx.newPage();
    lp = await lctx.newPage();
    watch(tp, "teacher");
    watch(lp, "learner");
  });

  after(async () => {
    await browser?.close();
  });

  test("a teacher creates a class in the class's own zone", async (t) => {
    await apiPerson(teacher.username, { display_name: teacher.display, time_zone: "Europe/Berlin", password: teacher.password });
    try {
      execFileSync(join(ROOT, "dojo"), ["auth-admin", "set-role", teacher.username, "teacher"], { stdio: "pipe", timeout: 30_000 });
    } catch (e) {
      state.noTeacher = true;
      t.skip(`cannot make ${teacher.username} a teacher (./dojo auth-admin set-role failed: ${String(e.stderr || e.message).trim()})`);
      return;
    }
    await signIn(tp, teacher.username, teacher.password);
    await tp.goto("/classes");
    await tp.locator("#teaching").waitFor();
    await tp.fill("#f-title", classTitle);
    await tp.fill("#f-time_zone", CLASS_ZONE);
    await tp.fill("#f-description", "Tuesdays, room 4");
    await shoot("01-classes-teacher", tp);
    await tp.click("#create-class");
    await tp.waitForURL(/\/classes\/[^/]+$/);
    state.classId = decodeURIComponent(new URL(tp.url()).pathname.split("/")[2]);
    const code = tp.locator("#join-code");
    await code.waitFor();
    state.code = await code.getAttribute("data-code");
    assert.match(state.code, /^[A-Z0-9]{8}$/);
    assert.equal(await tp.locator("#join-link").textContent(), `${BASE}/join/${state.code}`);
    assert.match(await tp.locator(".page-summary").textContent(), new RegExp(`Dates in ${CLASS_ZONE}`));
  });

  test("…and an assignment of three tasks, due in ten days at 18:30 of the class's zone", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    for (const x of TASKS) await tp.check(`.task-pick[data-slug="${x.slug}"] input`);
    await tp.fill("#f-title", assignmentTitle);
    await tp.fill("#f-due_at", firstDueLocal);
    await tp.selectOption("#f-late_policy", "penalty");
    await tp.fill("#f-late_penalty_percent", "25");
    await shoot("02-class-teacher", tp);
    await tp.click("#create-assignment");
    const item = tp.locator(".assignment", { hasText: assignmentTitle });
    await item.waitFor();
    state.assignmentId = await item.getAttribute("data-assignment");
    assert.match(await item.textContent(), /Late work loses 25%/);
    assert.deepEqual((await item.locator(".tag").allTextContents()).sort(), TASKS.map((x) => x.title).sort());
    assert.equal(await item.locator(".assignment-due").textContent(), shown(instantIn(firstDueLocal, CLASS_ZONE), CLASS_ZONE));
    // Moved half an hour later.
    await item.locator("button.edit-assignment").click();
    const edit = item.locator("form.is-edit");
    assert.equal(await edit.locator('input[name="due_at"]').inputValue(), firstDueLocal);
    assert.equal(await edit.locator('select[name="late_policy"]').inputValue(), "penalty");
    await edit.locator('input[name="due_at"]').fill(dueLocal);
    await edit.locator("button[type=submit]").click();
    await item.locator(".assignment-due").waitFor();
    assert.equal(await item.locator(".assignment-due").textContent(), shown(dueInstant, CLASS_ZONE));
    assert.match(await item.textContent(), /Late work loses 25%/);
  });

  test("two learners join with the code: one through a link in the browser, one through the API", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    // Kim registers in Tokyo and opens the join link.
    await lp.goto("/register");
    await lp.fill("#f-email", `${learner.username}@example.test`);
    await lp.fill("#f-username", learner.username);
    await lp.fill("#f-display_name", learner.display);
    await lp.fill("#f-time_zone", LEARNER_ZONE);
    await lp.fill("#f-password", learner.password);
    await lp.click("form button[type=submit]");
    await lp.waitForURL((u) => !u.pathname.startsWith("/register"), { timeout: 15_000 });
    await lp.goto(`/join/${state.code.slice(0, 4).toLowerCase()}-${state.code.slice(4)}`);
    await lp.locator("#join-btn").waitFor();
    await shoot("03-join", lp);
    await lp.click("#join-btn");
    await lp.waitForURL(`**/classes/${state.classId}`);
    // Lee joins through the API and submits a wrong answer; Ina joins and does nothing.
    state.lee = await apiPerson(`e${stamp}`, { display_name: `Lee ${stamp}` });
    state.ina = await apiPerson(`i${stamp}`, { display_name: `Ina ${stamp}` });
    for (const p of [state.lee, state.ina]) {
      const r = await p.post("/api/v1/classes/join", { code: state.code });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.joined, true);
    }
    const s = await state.lee.post("/api/v1/submissions", { task_slug: SOLVED.slug, language: "python3", code: wrongOf(SOLVED) });
    assert.equal(s.status, 202, JSON.stringify(s.json));
    state.leeSub = s.json.id;
  });

  test("the learner sees what is due in their own time zone, and the class board", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    const item = lp.locator(`.due-item[data-assignment="${state.assignmentId}"]`);
    await item.waitFor();
    assert.equal(await item.locator(".due-at").textContent(), `Due ${shown(dueInstant, LEARNER_ZONE)}`);
    assert.match(await lp.locator("#due").textContent(), new RegExp(`Times in your time zone, ${LEARNER_ZONE}\\.`));
    assert.match(await item.textContent(), /0 of 3 solved/);
    await lp.locator("#board-panel").filter({ hasText: /Nobody on this board yet|Rank/ }).waitFor();
    await shoot("04-class-learner", lp);
    // The learner's class page never shows the teacher's tools.
    assert.equal(await lp.locator("#join-code, #roster, #create-assignment, #dashboard-link").count(), 0);
  });

  test("the learner fails one task and solves another; /classes shows it", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    assert.equal(await submitIn(lp, FAILED.slug, wrongOf(FAILED)), "wa");
    assert.equal(await submitIn(lp, SOLVED.slug, SOLVED.reference_solutions[0].code), "ac");
    await lp.goto("/classes");
    const item = lp.locator(`.due-item[data-assignment="${state.assignmentId}"]`);
    await item.waitFor();
    assert.match(await item.textContent(), /1 of 3 solved/);
    assert.match(await item.locator(`li[data-slug="${SOLVED.slug}"]`).textContent(), /\(solved\)/);
    assert.match(await item.locator(`li[data-slug="${FAILED.slug}"]`).textContent(), /last: Wrong answer/);
    await shoot("05-classes-learner", lp);
    const lee = await finished(state.lee, state.leeSub);
    assert.equal(lee.verdict, "wa");
  });

  test("the teacher reads the dashboard: the matrix, who is inactive, where learners fail", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    await tp.goto(`/classes/${state.classId}/dashboard`);
    const kim = tp.locator("#matrix tbody tr", { hasText: learner.display });
    await kim.waitFor();
    assert.equal(await kim.locator(`td.cell[data-slug="${SOLVED.slug}"]`).getAttribute("data-state"), "solved");
    assert.match(await kim.locator(`td.cell[data-slug="${SOLVED.slug}"]`).textContent(), /✓ 1/);
    assert.equal(await kim.locator(`td.cell[data-slug="${FAILED.slug}"]`).getAttribute("data-state"), "failing");
    assert.match(await kim.locator(`td.cell[data-slug="${FAILED.slug}"]`).textContent(), /✗ 1 WA/);
    assert.equal(await kim.locator(`td.cell[data-slug="${TASKS[2].slug}"]`).getAttribute("data-state"), "none");
    const lee = tp.locator(`#matrix tbody tr[data-user="${state.lee.id}"]`);
    assert.equal(await lee.locator(`td.cell[data-slug="${SOLVED.slug}"]`).getAttribute("data-state"), "failing");
    // Ina never submitted: inactive; the others are not.
    await tp.locator(`#inactive li[data-user="${state.ina.id}"]`).waitFor();
    assert.equal(await tp.locator("#inactive li").count(), 1);
    assert.match(await tp.locator(`#matrix tbody tr[data-user="${state.ina.id}"]`).textContent(), /inactive/);
    // Where learners fail on the task both tried.
    const card = tp.locator(`#analytics .analytics[data-task="${SOLVED.slug}"]`);
    await card.waitFor();
    assert.equal((await card.locator('[data-stat="learners"] .stat-value').textContent()).trim(), "2");
    assert.equal((await card.locator('[data-stat="solvers"] .stat-value').textContent()).trim(), "1");
    assert.match(await card.locator('.bars li[data-verdict="wa"]').textContent(), /1 \(50%\)/);
    assert.match(await card.locator('.retries li[data-retries="unsolved"]').textContent(), /1 learner/);
    assert.ok(await card.locator(".failing-tests tbody tr").count() >= 1, "the failing tests are listed");
    await shoot("06-dashboard", tp);
  });

  test("the teacher opens a learner's submission: code and per-test results", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    await tp.locator("#matrix tbody tr", { hasText: learner.display }).locator("th a").click();
    await tp.waitForURL(/\/students\//);
    const rows = tp.locator(".student-subs tbody tr");
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    await tp.locator(`.student-subs tr[data-slug="${FAILED.slug}"] button.open-sub`).click();
    const detail = tp.locator("#submission");
    await detail.locator("pre.code-view").waitFor();
    assert.equal((await detail.locator("pre.code-view").textContent()).trim(), wrongOf(FAILED).trim());
    assert.ok(await detail.locator("tr.test-row").count() >= 1, "per-test results");
    assert.equal(await detail.locator(".verdict").first().textContent(), "Wrong answer");
    await shoot("07-student", tp);
  });

  test("the teacher exports the grades as CSV", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    await tp.goto(`/classes/${state.classId}/dashboard?assignment=${state.assignmentId}`);
    await tp.locator("#matrix tbody tr").first().waitFor();
    const download = tp.waitForEvent("download");
    await tp.click("#export-csv");
    const d = await download;
    assert.match(d.suggestedFilename(), /-grades\.csv$/);
    const text = readFileSync(await d.path(), "utf8");
    const lines = text.trim().split(/\r\n/).map((l) => l.split(","));
    assert.deepEqual(lines[0].slice(0, 3), ["username", "display_name", "email"]);
    for (const x of TASKS) assert.ok(lines[0].includes(x.slug), `a column for ${x.slug}`);
    const row = lines.find((l) => l[0] === learner.username);
    assert.ok(row, "a row for the learner");
    assert.equal(Number(row[lines[0].indexOf(SOLVED.slug)]), 100);
    assert.ok(Number(row[lines[0].indexOf(FAILED.slug)]) < 100, "a wrong answer earns at most its passed tests' share");
    assert.equal(Number(row[lines[0].indexOf("solved")]), 1);
    assert.equal(lines.length, 4, "a header and three learners");
  });

  test("an institution's admin makes one of its members a teacher", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    const slug = `inst-${stamp}`;
    const admin = await apiPerson(`a${stamp}`, { display_name: `Head ${stamp}` });
    const newt = await apiPerson(`n${stamp}`, { display_name: `Newt ${stamp}` });
    dojoAdmin("create-institution", slug, `School ${stamp}`);
    dojoAdmin("set-institution", admin.username, slug, "--admin");
    dojoAdmin("set-institution", newt.username, slug);
    assert.equal((await newt.post("/api/v1/classes", { title: "Not yet" })).status, 403);
    const ctx = await browser.newContext({ baseURL: BASE, viewport: DESKTOP, locale: LOCALE });
    try {
      const p = await ctx.newPage();
      watch(p, "institution admin");
      await signIn(p, admin.username, `pass-${admin.username}`);
      await p.locator('.nav-link[href="/institutions"]').first().waitFor({ state: "attached" });
      await p.goto("/institutions");
      const row = p.locator(`#inst-members tr[data-user="${newt.id}"]`);
      await row.waitFor();
      assert.match(await p.locator("#inst-members h2").textContent(), new RegExp(`School ${stamp}`));
      // Teacher or learner only, and not for oneself.
      assert.deepEqual(await row.locator("select option").evaluateAll((os) => os.map((o) => o.value)), ["learner", "teacher"]);
      assert.equal(await p.locator(`#inst-members tr[data-user="${admin.id}"] select`).count(), 0);
      await shoot("08-institution", p);
      await row.locator("select").selectOption("teacher");
      await p.locator(".toast-success", { hasText: `${newt.username} is now Teacher` }).waitFor();
    } finally {
      await ctx.close();
    }
    const again = await apiLogin(newt.username);
    assert.equal(again.role, "teacher");
    assert.equal((await again.post("/api/v1/classes", { title: `Newt's class ${stamp}` })).status, 201);
  });

  test("an author reads the analytics of their own task across every learner", async (t) => {
    if (state.noTeacher) return t.skip("no teacher");
    const author = await apiPerson(`w${stamp}`, { display_name: `Author ${stamp}` });
    dojoAdmin("set-role", author.username, "author");
    const writer = await apiLogin(author.username);
    const doc = { ...task(SOLVED.slug), slug: `own-${stamp}`, title: `Own task ${stamp}` };
    const created = await writer.post("/api/v1/author/tasks", { task: doc });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const s = await state.lee.post("/api/v1/submissions", { task_slug: doc.slug, language: "python3", code: wrongOf(SOLVED) });
    assert.equal(s.status, 202, JSON.stringify(s.json));
    assert.equal((await finished(state.lee, s.json.id)).verdict, "wa");
    const ctx = await browser.newContext({ baseURL: BASE, viewport: DESKTOP, locale: LOCALE });
    try {
      const p = await ctx.newPage();
      watch(p, "author");
      await signIn(p, author.username, `pass-${author.username}`);
      await p.goto("/designer");
      await p.locator(`.task-row[data-slug="${doc.slug}"] a.analytics-link`).click();
      await p.waitForURL(`**/designer/${doc.slug}/analytics`);
      const card = p.locator(`.analytics[data-task="${doc.slug}"]`);
      await card.waitFor().catch(async (e) => {
        throw new Error(`${e.message}\nthe page says: ${(await p.locator("#main").innerText()).slice(0, 400)}`);
      });
      assert.equal((await card.locator('[data-stat="learners"] .stat-value').textContent()).trim(), "1");
      assert.equal((await card.locator('[data-stat="solvers"] .stat-value').textContent()).trim(), "0");
      assert.match(await card.locator('.bars li[data-verdict="wa"]').textContent(), /1 \(100%\)/);
      await shoot("09-author-analytics", p);
      // Someone else's task: not theirs to read.
      await p.goto(`/designer/${SOLVED.slug}/analytics`);
      await p.locator("#analytics-refused", { hasText: "Only the author who created a task" }).waitFor();
    } finally {
      await ctx.close();
    }
  });

  test("no CSP violations, page errors or dialogs along the way", () => {
    assert.deepEqual(problems, []);
  });
});

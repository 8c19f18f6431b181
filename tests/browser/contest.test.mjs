// Contest mode in a real browser (issue 17), against the real stack and the
// demo contest content/contests/practice-round.json (always open): a
// participant finds it, registers, reads a problem, submits the reference
// solution and sees the verdict, finds their team solved on the scoreboard
// and asks the jury; a jury member (an admin) reads the submission with its
// code and per-test results, answers the question for everyone, overrides
// the verdict with a reason and finds it in the audit log, and the
// participant's open scoreboard shows it as pushed over the WebSocket; the
// participant sees the answer. The admin then makes a contest of their own in
// the contest editor: a problem naming no task is refused next to its field,
// and the contest is created (invitation code, an organisation), gets a team
// and a new version, and its page shows the new title. Runs like journey.test.mjs (`./dojo test browser`, or
// DOJO_BASE_URL=... node --test tests/browser/); skips, saying why, when it
// cannot. The jury step needs `./dojo auth-admin set-role USER admin` to work
// (local and test stacks), and skips otherwise.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BASE = (process.env.DOJO_BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
const CHROMIUM = process.env.DOJO_CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = join(ROOT, "tests", "artifacts", "browser");
const SLOW = 90_000;
const CONTEST = JSON.parse(readFileSync(join(ROOT, "content", "contests", "practice-round.json"), "utf8"));
// A task no other browser journey submits to: they count its solves.
const PROBLEM = CONTEST.problems.find((p) => p.task_slug === "balanced-brackets");
const EDITOR_TASKS = ["knapsack", "cheapest-route"];
const TASK = JSON.parse(readFileSync(join(ROOT, "content", "tasks", `${PROBLEM.task_slug}.json`), "utf8"));
const RIGHT = TASK.reference_solutions[0].code;

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
    const r = await fetch(`${BASE}/api/v1/contests/${CONTEST.slug}`, { signal: AbortSignal.timeout(3000) });
    if (r.status === 404) return `the gateway at ${BASE} has no contest ${CONTEST.slug}`;
    if (!r.ok) return `the gateway at ${BASE} answered ${r.status} to /api/v1/contests/${CONTEST.slug}`;
    const page = await fetch(`${BASE}/`, { signal: AbortSignal.timeout(3000) });
    if (!(await page.text()).includes("/assets/")) return `${BASE}/ does not serve the web app (build it: npm run build in web/)`;
  } catch (e) {
    return `no gateway reachable at ${BASE}: ${e.cause?.code || e.cause?.message || e.message}`;
  }
  return "";
}
const skipReason = await whyNot();
if (skipReason) console.log(`# SKIP contest journey: ${skipReason}`);

const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const participant = { email: `cp${stamp}@example.test`, username: `cp${stamp}`, password: `contest-pass-${stamp}`, display_name: `Racer ${stamp}` };
const juror = { email: `cj${stamp}@example.test`, username: `cj${stamp}`, password: `jury-pass-${stamp}`, display_name: `Judge ${stamp}` };
const QUESTION = `Is the input one line? (${stamp})`;
const ANSWER = `Yes, always one line (${stamp}).`;

let browser, profileDir, participantPage, juryPage;
const problems = [];
let axeSrc = "";

function watch(p) {
  p.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
}

async function a11y(p, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await p.screenshot({ path: join(ARTIFACTS, `contest-${name}.png`), fullPage: true });
  axeSrc ||= readFileSync(createRequire(join(ROOT, "web", "package.json")).resolve("axe-core/axe.min.js"), "utf8");
  if (!(await p.evaluate(() => Boolean(window.axe)))) await p.evaluate(axeSrc);
  const bad = await p.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes[0]?.html.slice(0, 120)}`));
  assert.deepEqual(bad, [], `${name}: serious accessibility violations`);
}

/** A signed-in browser tab of its own (cookies of its own). */
async function signedIn(acct, register) {
  const ctx = await browser.newContext({ baseURL: BASE, viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(20_000);
  const body = register ? { ...acct, session: "cookie" } : { login: acct.username, password: acct.password, session: "cookie" };
  const r = await ctx.request.post(`/api/v1/auth/${register ? "register" : "login"}`, { data: body });
  assert.ok(r.ok(), `${register ? "register" : "login"} ${acct.username}: ${r.status()} ${await r.text()}`);
  const p = await ctx.newPage();
  watch(p);
  return p;
}

describe("contest journey in Chromium", { skip: skipReason || false, concurrency: 1 }, () => {
  before(async () => {
    const { chromium } = createRequire(join(ROOT, "web", "package.json"))("playwright-core");
    profileDir = mkdtempSync(join(tmpdir(), "dojo-chromium-"));
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    participantPage = await signedIn(participant, true);
  });

  after(async () => {
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  test("the participant finds the contest and registers", async () => {
    const p = participantPage;
    await p.goto("/contests");
    const card = p.locator(`.contest-card[data-contest="${CONTEST.slug}"]`);
    await card.waitFor();
    assert.match(await card.textContent(), new RegExp(CONTEST.title));
    await card.locator("a").click();
    await p.waitForURL(`**/contests/${CONTEST.slug}`);
    await p.locator("#register").click();
    await p.locator("#my-team").waitFor();
    assert.match(await p.locator("#my-team").textContent(), /You are in/);
    await p.locator(`.problem-item[data-problem="${PROBLEM.label}"]`).waitFor();
    assert.equal(await p.locator(".problem-item").count(), CONTEST.problems.length);
    await a11y(p, "page");
  });

  test("reads a problem, submits and sees the verdict", { timeout: SLOW + 30_000 }, async () => {
    const p = participantPage;
    await p.locator(`.problem-item[data-problem="${PROBLEM.label}"] a`).click();
    await p.waitForURL(`**/contests/${CONTEST.slug}/problems/${PROBLEM.label}`);
    // The URL changes before the problem's page is drawn: until then the
    // contest's own h1 is still there. Wait for the problem's.
    const title = new RegExp(`^${PROBLEM.label}\\. ${TASK.title}`);
    await p.locator("h1", { hasText: title }).waitFor();
    assert.match(await p.locator("h1").textContent(), title);
    await p.fill("#f-code", RIGHT);
    await p.locator("#submit").click();
    const verdict = p.locator("#submit-verdict");
    await verdict.waitFor();
    await p.waitForFunction(() => document.getElementById("submit-verdict")?.dataset.verdict !== "pending", null, { timeout: SLOW });
    assert.equal(await verdict.getAttribute("data-verdict"), "ac", await verdict.textContent());
    await a11y(p, "problem");
  });

  test("finds the team solved on the scoreboard and asks the jury", async () => {
    const p = participantPage;
    await p.goto(`/contests/${CONTEST.slug}?tab=scoreboard`);
    const me = p.locator("table.scoreboard tr.is-me");
    await me.waitFor();
    assert.match(await me.locator(".badge-me").textContent(), /you/);
    assert.ok(await me.locator(`td.sb-cell.cell-solved[data-problem="${PROBLEM.label}"]`).count() === 1, "the problem shows solved");
    await a11y(p, "scoreboard");
    await p.goto(`/contests/${CONTEST.slug}?tab=submissions`);
    await p.locator('td[data-verdict="ac"]').first().waitFor();
    await p.goto(`/contests/${CONTEST.slug}?tab=clarifications`);
    await p.fill("#f-text", QUESTION);
    await p.locator("#clar-form button[type=submit]").click();
    await p.locator(".clar-text", { hasText: QUESTION }).waitFor();
  });

  test("the jury reads the code and per-test results, answers, overrides with a reason", { timeout: 60_000 }, async (t) => {
    const reg = await fetch(`${BASE}/api/v1/auth/register`, { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...juror, session: "token" }) });
    assert.equal(reg.status, 201);
    try {
      execFileSync(join(ROOT, "dojo"), ["auth-admin", "set-role", juror.username, "admin"], { stdio: "pipe", timeout: 30_000 });
    } catch (e) {
      t.skip(`cannot make ${juror.username} an admin (./dojo auth-admin set-role failed: ${String(e.stderr || e.message).trim()})`);
      return;
    }
    juryPage = await signedIn(juror, false);
    const p = juryPage;
    await p.goto(`/contests/${CONTEST.slug}`);
    await p.locator('a[href$="/jury"]').click();
    await p.waitForURL(`**/contests/${CONTEST.slug}/jury`);
    // The participant's submission: its team, its code, its tests.
    const row = p.locator("#jury-list tr", { hasText: participant.display_name }).first();
    await row.waitFor();
    await row.locator("a").click();
    const detail = p.locator("#submission-detail");
    await detail.waitFor();
    assert.equal((await detail.locator("pre.code-view").textContent()).trim(), RIGHT.trim());
    assert.ok(await detail.locator("table.tests tbody tr").count() >= 2, "per-test results");
    await a11y(p, "jury");
    // Answer the question for everyone.
    const clar = p.locator("#jury-clars li", { hasText: QUESTION });
    await clar.locator("input[type=text], input:not([type])").first().fill(ANSWER);
    await clar.locator("input[type=checkbox]").check();
    await clar.locator("button[type=submit]").click();
    await p.locator("#jury-clars .clar-text", { hasText: ANSWER }).waitFor();
    // The participant watches the scoreboard: the override reaches it as a
    // push (the page polls only every 30 s while the WebSocket is open).
    const board = participantPage;
    await board.goto(`/contests/${CONTEST.slug}?tab=scoreboard`);
    const myCell = board.locator(`table.scoreboard tr.is-me td.sb-cell[data-problem="${PROBLEM.label}"]`);
    await board.locator(`table.scoreboard tr.is-me td.sb-cell.cell-solved[data-problem="${PROBLEM.label}"]`).waitFor();
    await board.waitForTimeout(1000); // the watch is in place
    // Override with a reason: in the audit log.
    await detail.locator('select[name="verdict"]').selectOption("wa");
    await detail.locator('input[name="reason"]').fill(`journey check ${stamp}`);
    await detail.locator("#override-form button[type=submit]").click();
    await p.locator('#jury-audit li[data-action="override"]', { hasText: `journey check ${stamp}` }).waitFor();
    // The detail is drawn again with the audit log, in either order.
    await p.locator("#submission-detail .judgement", { hasText: /override · WA \(current\)/ }).waitFor();
    await board.locator(`table.scoreboard tr.is-me td.sb-cell.cell-failed[data-problem="${PROBLEM.label}"]`).waitFor({ timeout: 20_000 });
    assert.match(await myCell.textContent(), /−1/);
  });

  test("the participant sees the answer", async () => {
    const p = participantPage;
    await p.goto(`/contests/${CONTEST.slug}?tab=clarifications`);
    await p.locator(".clar-text", { hasText: ANSWER }).waitFor();
    assert.deepEqual(problems, [], "no CSP violations or page errors");
  });
  test("an admin creates and edits a contest in the contest editor", { timeout: 60_000 }, async (t) => {
    if (!juryPage) {
      t.skip("no admin (the jury step skipped)");
      return;
    }
    const p = juryPage;
    const title = `Journey cup ${stamp}`;
    const slug = `journey-cup-${stamp}`;
    await p.goto("/contests");
    await p.locator("#new-contest-link").click();
    await p.waitForURL("**/author/contests/new");
    await p.fill('[name="title"]', title);
    assert.equal(await p.inputValue('[name="slug"]'), slug, "the slug follows the title");
    await p.fill('[name="duration"]', "3:00:00");
    // Tasks no other journey uses: a contest not yet started hides its tasks
    // from learners (the learner journey's track tasks would go missing).
    await p.fill('[name="problems_0_task_slug"]', EDITOR_TASKS[0]);
    await p.locator("button.add-btn", { hasText: "Add problem" }).click();
    await p.fill('[name="problems_1_task_slug"]', `no-such-task-${stamp}`);
    await p.selectOption('[name="registration"]', "invite");
    await p.fill('[name="invite_code"]', `sesame-${stamp}`);
    await p.locator("button.add-btn", { hasText: "Add organisation" }).click();
    await p.fill('[name="organizations_0_id"]', "journey-u");
    await p.fill('[name="organizations_0_name"]', "Journey University");
    // A problem naming no task: refused, said next to its field, nothing stored.
    await p.locator("#contest-save").click();
    const err = p.locator('#contest-report li[data-path="$.problems[1].task_slug"]');
    await err.waitFor();
    assert.match(await err.textContent(), /problem B: no task/);
    assert.equal(await p.getAttribute('[name="problems_1_task_slug"]', "aria-invalid"), "true");
    assert.equal((await fetch(`${BASE}/api/v1/contests/${slug}`)).status, 404, "nothing stored");
    await a11y(p, "editor-errors");
    await p.fill('[name="problems_1_task_slug"]', EDITOR_TASKS[1]);
    await p.locator("#contest-save").click();
    await p.waitForURL(`**/author/contests/${slug}`);
    await p.locator("#contest-version", { hasText: "Editing v1" }).waitFor();
    const made = await (await fetch(`${BASE}/api/v1/contests/${slug}`)).json();
    assert.equal(made.registration, "invite");
    assert.deepEqual(made.organizations.map((o) => o.id), ["journey-u"]);
    // A team of the organisation (an admin is every contest's jury).
    await p.fill("#new-team-name", `Team ${stamp}`);
    await p.selectOption("#new-team-org", "journey-u");
    await p.locator("#team-form button[type=submit]").click();
    await p.locator("#teams-table tbody tr").first().waitFor();
    assert.equal(await p.inputValue("#teams-table tbody tr input:not([type=checkbox])"), `Team ${stamp}`);
    // A new version: the invitation code is kept without being typed again.
    await p.fill('[name="title"]', `${title} (final)`);
    await p.locator("#contest-save").click();
    await p.locator("#contest-version", { hasText: "Editing v2" }).waitFor();
    await a11y(p, "editor");
    // Exported as a CLICS contest package and imported back as a copy, teams too.
    const href = await p.getAttribute("#contest-package", "href");
    const zip = await p.request.get(href);
    assert.equal(zip.status(), 200);
    assert.equal(zip.headers()["content-type"], "application/zip");
    await p.goto("/author/contests");
    await p.fill("#package-slug", `${slug}-copy`);
    await p.setInputFiles("#f-contest-package", { name: `${slug}.zip`, mimeType: "application/zip", buffer: await zip.body() });
    await p.waitForURL(`**/author/contests/${slug}-copy`);
    await p.locator("#contest-version", { hasText: "Editing v1" }).waitFor();
    assert.equal(await p.inputValue('[name="title"]'), `${title} (final)`);
    await p.locator("#teams-table tbody tr").first().waitFor();
    assert.equal(await p.inputValue("#teams-table tbody tr input:not([type=checkbox])"), `Team ${stamp}`);
    // A package that is no zip is refused, saying why.
    await p.goto("/author/contests");
    await p.setInputFiles("#f-contest-package", { name: "broken.zip", mimeType: "application/zip", buffer: Buffer.from("not a zip") });
    await p.locator("#contest-package-report li", { hasText: "not a readable .zip" }).waitFor();
    await a11y(p, "contest-index");
    await p.goto(`/contests/${slug}`);
    assert.equal(await p.locator("h1").textContent(), `${title} (final)`);
    await p.locator("#edit-contest").waitFor();
    assert.deepEqual(problems, [], "no CSP violations or page errors");
  });
});

// /classes/:id/dashboard — the teacher's view of a class: the student × task
// matrix (solved, attempts, last verdict, time from first opening to the
// first accepted), learners inactive for N days, where they fail on each task
// (failing tests, common wrong outputs, RE/TLE share, retries), grades as
// CSV. /classes/:id/students/:user — one learner's submissions of the
// class's tasks, with their code and per-test results.

import { ApiError, get, submissions, tasks as tasksApi, type SubmissionSummary, type TaskView } from "../api";
import { assignments, classes, fetchCsv, type Assignment, type ClassInfo, type ClassProgress } from "../api-classes";
import { cellSummary, daysSince, duration, gradesFileName, round } from "../classes";
import { field, h, mount, toast } from "../dom";
import { toDate, verdictText } from "../enums";
import type { Ctx } from "../router";
import { analyticsCard } from "./analytics";
import { testsTable, verdictBadge } from "./feedback";

async function teachingClass(main: HTMLElement, id: string): Promise<ClassInfo | null> {
  try {
    const c = await classes.get(id);
    if (c.teaching) return c;
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 404 || e.status === 403))) throw e;
  }
  mount(main, h("section.page", null, h("h1", null, "Teachers only"),
    h("p", null, "The dashboard of a class is for its teachers. ", h("a", { href: "/classes" }, "Your classes"))));
  return null;
}

export async function classDashboardPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  mount(main, h("p.loading", null, "Loading the dashboard…"));
  const c = await teachingClass(main, ctx.params.id);
  if (!c || ctx.signal.aborted) return;
  document.title = `Dashboard: ${c.title} · Dojo`;
  const list = (await assignments.list(c.id)).assignments;
  if (ctx.signal.aborted) return;

  const pick = h("select", { name: "assignment" }, h("option", { value: "" }, "Every assignment"),
    list.map((a) => h("option", { value: a.id }, a.title)));
  pick.value = list.some((a) => a.id === ctx.query.get("assignment")) ? ctx.query.get("assignment")! : "";
  const days = h("input", { type: "number", name: "inactive_days", min: "0", max: "365", value: ctx.query.get("inactive_days") || "7" });
  const exportBtn = h("button.btn#export-csv", { type: "button" }, "Export grades (CSV)");
  const matrix = h("section.card#matrix", { "aria-labelledby": "matrix-h" });
  const inactive = h("section.card#inactive", { "aria-labelledby": "inactive-h" });
  const analytics = h("section#analytics", { "aria-labelledby": "analytics-h" });
  mount(main, h("section.page.class-dashboard", { "data-class": c.id },
    h("div.page-head", null, h("h1", null, `Dashboard: ${c.title}`), h("a", { href: `/classes/${encodeURIComponent(c.id)}` }, "Back to the class")),
    h("div.dash-filters", null, field("Assignment", pick), field("Inactive after (days)", days), h("div.field.field-end", null, exportBtn)),
    matrix, inactive, analytics));

  const selected = () => list.find((a) => a.id === pick.value) ?? null;
  exportBtn.addEventListener("click", () => void exportGrades(c, selected() ? [selected()!] : list, exportBtn));

  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    history.replaceState(null, "", `${location.pathname}?${new URLSearchParams({ ...(pick.value ? { assignment: pick.value } : {}), inactive_days: days.value || "7" })}`);
    exportBtn.disabled = !list.length;
    mount(matrix, h("h2#matrix-h", null, "Progress"), h("p.loading", null, "Loading…"));
    const n = Math.max(0, Math.min(365, Math.floor(Number(days.value) || 0)));
    const p = await classes.progress(c.id, { assignment: pick.value || undefined, inactive_days: n });
    if (mine !== seq || ctx.signal.aborted) return;
    mount(matrix, h("h2#matrix-h", null, "Progress"), matrixTable(c, p));
    mount(inactive, h("h2#inactive-h", null, `Inactive for ${p.inactive_days} days or more`), inactiveList(c, p));
    const slugs = [...new Set(p.columns.map((col) => col.task_slug))].slice(0, 50);
    mount(analytics, h("h2#analytics-h", null, "Where learners fail"), slugs.length ? h("p.loading", null, "Loading…") : h("p.muted", null, "No tasks assigned yet."));
    if (!slugs.length) return;
    const a = await classes.analytics(c.id, slugs);
    if (mine !== seq || ctx.signal.aborted) return;
    mount(analytics, h("h2#analytics-h", null, "Where learners fail"), a.tasks.map((t) => analyticsCard(t, 3)));
  };
  const reload = () => void load().catch((e) => mount(matrix, h("p.error-box", { role: "alert" }, (e as Error).message)));
  pick.addEventListener("change", reload);
  days.addEventListener("change", reload);
  reload();
}

function matrixTable(c: ClassInfo, p: ClassProgress): HTMLElement {
  if (!p.rows.length) return h("p.muted", null, "No learners yet: share the join code on the class page.");
  if (!p.columns.length) return h("p.muted", null, "No tasks assigned yet.");
  // Assignment names over their tasks' columns.
  const groups: { title: string; span: number }[] = [];
  for (const col of p.columns) {
    const last = groups[groups.length - 1];
    if (last && last.title === col.assignment_title) last.span++;
    else groups.push({ title: col.assignment_title, span: 1 });
  }
  const asOf = toDate(p.as_of);
  return h("div", null,
    h("p.muted.small", null, "✓ solved (attempts; L = late) · ✗ not solved yet (attempts, last verdict) · · opened · — not started. Times: from first opening to the first accepted."),
    h("div.table-wrap.matrix-wrap", { tabindex: "0", role: "group", "aria-label": "Progress matrix (scrolls sideways)" }, h("table.matrix", null,
      h("caption.sr-only", null, "Learners by task"),
      h("thead", null,
        h("tr", null, h("td.matrix-corner", { rowspan: "2" }), groups.map((g) => h("th.matrix-group", { scope: "colgroup", colspan: String(g.span) }, g.title)),
          h("th", { scope: "col", rowspan: "2" }, "Grade"), h("th", { scope: "col", rowspan: "2" }, "Solved")),
        h("tr", null, p.columns.map((col) => h("th.matrix-task", { scope: "col", "data-slug": col.task_slug, title: col.task_slug }, col.task_title)))),
      h("tbody", null, p.rows.map((row, i) => h("tr", { "data-user": row.member.user_id, class: row.inactive ? "is-inactive" : "" },
        h("th.matrix-name", { scope: "row" },
          h("a", { href: `/classes/${encodeURIComponent(c.id)}/students/${encodeURIComponent(row.member.user_id)}` }, row.member.display_name),
          row.inactive ? h("span.badge.badge-inactive", null, "inactive") : null),
        (p.cells[i] ?? []).map((cell, j) => {
          const s = cellSummary(cell);
          const col = p.columns[j];
          return h("td.cell", { class: `cell-${s.state}`, "data-slug": col.task_slug, "data-state": s.state, title: `${col.task_title}: ${s.words}` },
            h("span", { "aria-hidden": "true" }, s.text),
            h("span.sr-only", null, s.words),
            cell.solved && cell.seconds_to_solve !== null ? h("span.cell-time", null, duration(cell.seconds_to_solve)) : null);
        }),
        h("td.cell-grade", null, `${round(row.grade_percent)}%`),
        h("td", null, `${row.solved}/${p.columns.length}`)))))),
    asOf ? h("p.muted.small", null, `As of ${asOf.toLocaleString()}.`) : null);
}

function inactiveList(c: ClassInfo, p: ClassProgress): HTMLElement {
  const now = toDate(p.as_of) ?? new Date();
  const idle = p.rows.filter((r) => r.inactive);
  if (!idle.length) return h("p.muted", null, "Everyone has submitted recently.");
  return h("ul.inactive-list", null, idle.map((r) => {
    const last = toDate(r.member.last_active_at);
    const d = daysSince(last, now);
    return h("li", { "data-user": r.member.user_id },
      h("a", { href: `/classes/${encodeURIComponent(c.id)}/students/${encodeURIComponent(r.member.user_id)}` }, r.member.display_name),
      r.member.email ? h("span.muted", null, ` <${r.member.email}>`) : null,
      h("span.muted.small", null, d === null ? " — no submission yet" : ` — last submission ${d} day${d === 1 ? "" : "s"} ago`));
  }));
}

async function exportGrades(c: ClassInfo, list: Assignment[], btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  try {
    for (const a of list) {
      const text = await fetchCsv(assignments.gradesPath(c.id, a.id));
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      const link = h("a", { href: url, download: gradesFileName(c.title, a.title), class: "sr-only" }, "download");
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }
  } catch (e) {
    toast(`Could not export: ${(e as Error).message}`, "error");
  } finally {
    btn.disabled = false;
  }
}

// ---- one learner ----------------------------------------------------------------

export async function studentPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  mount(main, h("p.loading", null, "Loading…"));
  const c = await teachingClass(main, ctx.params.id);
  if (!c || ctx.signal.aborted) return;
  const uid = ctx.params.user;
  const [members, subs] = await Promise.all([
    classes.members(c.id, { page_size: 500 }),
    get<{ submissions: SubmissionSummary[]; next_page_token: string }>("/submissions", { user_id: uid, kind: "submit", page_size: 100 }),
  ]);
  if (ctx.signal.aborted) return;
  const m = members.members.find((x) => x.user_id === uid);
  const name = m?.display_name ?? "Learner";
  document.title = `${name} · ${c.title} · Dojo`;
  const detail = h("section.card#submission", { hidden: true, tabindex: "-1" });
  const taskCache = new Map<string, Promise<TaskView>>();
  const open = async (s: SubmissionSummary, row: HTMLElement) => {
    main.querySelectorAll("tr.is-open").forEach((r) => r.classList.remove("is-open"));
    row.classList.add("is-open");
    detail.hidden = false;
    mount(detail, h("p.loading", null, "Loading the submission…"));
    if (!taskCache.has(s.task_slug)) taskCache.set(s.task_slug, tasksApi.get(s.task_slug));
    const [full, task] = await Promise.all([submissions.get(s.id), taskCache.get(s.task_slug)!]);
    if (ctx.signal.aborted) return;
    mount(detail,
      h("h2", null, `${task.title}: `, verdictBadge(full.verdict)),
      h("p.muted", null, `${toDate(full.created_at)?.toLocaleString() ?? ""} · ${full.language} · score ${full.score}/${full.max_score}`),
      h("h3", null, "Code"),
      h("pre.code-view", { tabindex: "0", role: "group", "aria-label": "The submission's code" }, full.code ?? ""),
      full.compile_output ? [h("h3", null, "Compiler output"), h("pre.io", { tabindex: "0", role: "group", "aria-label": "Compiler output" }, full.compile_output)] : null,
      h("h3", null, "Tests"),
      testsTable(full.tests, { task }));
    detail.focus();
  };
  mount(main, h("section.page.student-page", null,
    h("div.page-head", null, h("h1", null, name), h("a", { href: `/classes/${encodeURIComponent(c.id)}/dashboard` }, `Back to ${c.title}`)),
    m ? h("p.page-summary", null,
      m.username ? h("span", null, m.username) : null, m.email ? h("span", null, m.email) : null,
      h("span", null, `${m.total_points} points`),
      h("span", null, `last active ${toDate(m.last_active_at)?.toLocaleDateString() ?? "never"}`)) : h("p.notice", null, "Not in this class any more."),
    h("section.card", null, h("h2", null, "Submissions of the class's tasks"),
      subs.submissions.length ? h("div.table-wrap", null, h("table.history-table.student-subs", null,
        h("thead", null, h("tr", null, ["Task", "Verdict", "Score", "When", ""].map((x) => h("th", { scope: "col" }, x || h("span.sr-only", null, "Open"))))),
        h("tbody", null, subs.submissions.map((s) => {
          const btn = h("button.btn.btn-small.open-sub", { type: "button", "data-submission": s.id, "aria-label": `Open the submission of ${s.task_slug} from ${toDate(s.created_at)?.toLocaleString() ?? ""}` }, "Open");
          const row = h("tr", { "data-submission": s.id, "data-slug": s.task_slug },
            h("td", null, s.task_slug),
            h("td", null, h("span.verdict", { class: `v-${s.verdict ?? "pending"}` }, s.state === "pending" ? "Pending" : verdictText(s.verdict ?? "unspecified"))),
            h("td", null, `${s.score}/${s.max_score}`),
            h("td", null, toDate(s.created_at)?.toLocaleString() ?? ""),
            h("td", null, btn));
          btn.addEventListener("click", () => void open(s, row).catch((e) => mount(detail, h("p.error-box", null, (e as Error).message))));
          return row;
        })))) : h("p.muted", null, "No submissions of the class's tasks yet.")),
    detail));
}

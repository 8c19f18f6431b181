// The task list: difficulty, tags, points, solved state, how every learner
// fares with each task (solve count, acceptance rate, median attempts), and
// filters and orderings by all of them.

import { me, meta, tasks, type Progress, type TaskStats, type TaskSummary, type Track } from "../api";
import { trackProgress } from "../tracks";
import { h, mount } from "../dom";
import type { Ctx } from "../router";
import * as session from "../session";

const DIFF_ORDER: Record<string, number> = { easy: 1, medium: 2, hard: 3 };

/** "62%", or "—" before anyone submitted. */
export function pct(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

/** A short line of a task's figures: "12 solved · 62% accepted · 2 tries (median)". */
export function statsLine(st: TaskStats | undefined): string {
  if (!st || !st.submissions) return "Nobody has submitted yet";
  const tries = st.median_attempts ? ` · ${Number.isInteger(st.median_attempts) ? st.median_attempts : st.median_attempts.toFixed(1)} ${st.median_attempts === 1 ? "try" : "tries"} to solve (median)` : "";
  return `${st.solvers} solved · ${pct(st.acceptance_rate)} of submissions accepted${tries}`;
}

const SORTS: [string, string, (a: TaskSummary, b: TaskSummary, st: Map<string, TaskStats>) => number][] = [
  ["", "Easiest first", (a, b) => (DIFF_ORDER[a.difficulty] ?? 9) - (DIFF_ORDER[b.difficulty] ?? 9) || a.points - b.points],
  ["solved", "Most solved", (a, b, st) => (st.get(b.slug)?.solvers ?? 0) - (st.get(a.slug)?.solvers ?? 0)],
  ["acceptance", "Highest acceptance", (a, b, st) => (st.get(b.slug)?.acceptance_rate ?? -1) - (st.get(a.slug)?.acceptance_rate ?? -1)],
  ["acceptance-low", "Lowest acceptance", (a, b, st) => (st.get(a.slug)?.acceptance_rate ?? 2) - (st.get(b.slug)?.acceptance_rate ?? 2)],
  ["attempts", "Fewest attempts to solve", (a, b, st) => (st.get(a.slug)?.median_attempts || 1e9) - (st.get(b.slug)?.median_attempts || 1e9)],
  ["points", "Most points", (a, b) => b.points - a.points],
  ["title", "Title", (a, b) => a.title.localeCompare(b.title)],
];

const ACCEPTANCE: [string, string, (r: number | null) => boolean][] = [
  ["", "Any acceptance", () => true],
  ["high", "Acceptance 60% or more", (r) => r !== null && r >= 0.6],
  ["medium", "Acceptance 30–60%", (r) => r !== null && r >= 0.3 && r < 0.6],
  ["low", "Acceptance under 30%", (r) => r !== null && r < 0.3],
  ["none", "Nobody submitted yet", (r) => r === null],
];

export function difficultyBadge(d: string): HTMLElement {
  return h("span.badge", { class: `diff-${d}` }, d ? d[0].toUpperCase() + d.slice(1) : "?");
}

async function allTasks(signal: AbortSignal): Promise<TaskSummary[]> {
  const out: TaskSummary[] = [];
  let token = "";
  for (let i = 0; i < 20; i++) {
    const page = await tasks.list({ page_size: 500, page_token: token || undefined });
    out.push(...page.tasks);
    token = page.next_page_token;
    if (!token || signal.aborted) break;
  }
  return out;
}

export async function tasksPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const q = ctx.query;
  const search = h("input#f-q", { type: "search", name: "q", placeholder: "Search title, slug or tag", value: q.get("q") ?? "", autocomplete: "off" });
  const diff = h("select#f-difficulty", { name: "difficulty" },
    h("option", { value: "" }, "Any difficulty"), h("option", { value: "easy" }, "Easy"),
    h("option", { value: "medium" }, "Medium"), h("option", { value: "hard" }, "Hard"));
  diff.value = q.get("difficulty") ?? "";
  const tag = h("select#f-tag", { name: "tag" }, h("option", { value: "" }, "Any tag"));
  const state = h("select#f-state", { name: "state" },
    h("option", { value: "" }, "Solved or not"), h("option", { value: "unsolved" }, "Unsolved"),
    h("option", { value: "solved" }, "Solved"), h("option", { value: "attempted" }, "Attempted"));
  state.value = q.get("state") ?? "";
  const sort = h("select#f-sort", { name: "sort" }, SORTS.map(([v, label]) => h("option", { value: v }, label)));
  sort.value = SORTS.some(([v]) => v === q.get("sort")) ? q.get("sort")! : "";
  const acc = h("select#f-acceptance", { name: "acceptance" }, ACCEPTANCE.map(([v, label]) => h("option", { value: v }, label)));
  acc.value = ACCEPTANCE.some(([v]) => v === q.get("acceptance")) ? q.get("acceptance")! : "";
  const count = h("p.muted.result-count", { "aria-live": "polite" });
  const list = h("ul.task-list", { "aria-label": "Tasks" });
  const filters = h("form.filters", { role: "search", "aria-label": "Filter tasks" },
    h("label.sr-only", { for: "f-q" }, "Search"), search,
    h("label.sr-only", { for: "f-difficulty" }, "Difficulty"), diff,
    h("label.sr-only", { for: "f-tag" }, "Tag"), tag,
    session.user() ? [h("label.sr-only", { for: "f-state" }, "Solved state"), state] : null,
    h("label.sr-only", { for: "f-acceptance" }, "Acceptance rate"), acc,
    h("label.sr-only", { for: "f-sort" }, "Order"), sort,
  );
  filters.addEventListener("submit", (e) => e.preventDefault());
  // "/" is the way in: the tracks come first there, for a newcomer above all.
  const home = location.pathname === "/";
  const tracksBox = home ? h("section.tracks#tracks", { "aria-labelledby": "tracks-h" }) : null;
  mount(main, h("section.page", null,
    h("div.page-head", null, h("h1", null, "Tasks"), summary()),
    tracksBox,
    home ? h("h2#all-tasks-h", null, "All tasks") : null,
    filters, count, list));

  const summaryEl = main.querySelector<HTMLElement>(".page-summary")!;
  list.append(h("li.muted", null, "Loading tasks…"));
  const [all, progress, statList, trackList] = await Promise.all([
    allTasks(ctx.signal),
    session.user() ? me.progress().catch(() => null) : Promise.resolve(null),
    meta.taskStats().then((r) => r.stats).catch(() => [] as TaskStats[]),
    home ? meta.tracks().then((r) => r.tracks).catch(() => [] as Track[]) : Promise.resolve([] as Track[]),
  ]);
  const stats = new Map(statList.map((x) => [x.task_slug, x]));
  const solved = new Set(progress?.solved ?? []);
  const attempted = new Set(progress?.attempted ?? []);
  fillSummary(summaryEl, progress, all.length);
  if (tracksBox) fillTracks(tracksBox, trackList, all, solved);

  const tags = [...new Set(all.flatMap((t) => t.tags))].sort();
  for (const t of tags) tag.appendChild(h("option", { value: t }, t));
  tag.value = q.get("tag") ?? "";

  const apply = () => {
    const text = search.value.trim().toLowerCase();
    const shown = all.filter((t) =>
      (!diff.value || t.difficulty === diff.value) &&
      (!tag.value || t.tags.includes(tag.value)) &&
      (!text || t.title.toLowerCase().includes(text) || t.slug.includes(text) || t.tags.some((x) => x.includes(text))) &&
      (!state.value ||
        (state.value === "solved" && solved.has(t.slug)) ||
        (state.value === "unsolved" && !solved.has(t.slug)) ||
        (state.value === "attempted" && attempted.has(t.slug) && !solved.has(t.slug))) &&
      ACCEPTANCE.find(([v]) => v === acc.value)![2](stats.get(t.slug)?.acceptance_rate ?? null));
    const order = SORTS.find(([v]) => v === sort.value)![2];
    shown.sort((a, b) => order(a, b, stats) || a.title.localeCompare(b.title));
    mount(list, shown.map((t) => taskRow(t, solved.has(t.slug), attempted.has(t.slug), stats.get(t.slug))));
    if (!shown.length) list.append(h("li.empty", null, all.length ? "No task matches these filters." : "No tasks yet."));
    count.textContent = `${shown.length} of ${all.length} tasks`;
    const p = new URLSearchParams();
    if (search.value.trim()) p.set("q", search.value.trim());
    if (diff.value) p.set("difficulty", diff.value);
    if (tag.value) p.set("tag", tag.value);
    if (state.value) p.set("state", state.value);
    if (acc.value) p.set("acceptance", acc.value);
    if (sort.value) p.set("sort", sort.value);
    const qs = p.toString();
    history.replaceState(null, "", `${location.pathname}${qs ? "?" + qs : ""}`);
  };
  for (const el of [search, diff, tag, state, acc, sort]) el.addEventListener("input", apply);
  apply();
}

function fillTracks(box: HTMLElement, list: Track[], all: TaskSummary[], solved: Set<string>): void {
  if (!list.length) { box.remove(); return; }
  const titles = new Map(all.map((t) => [t.slug, t.title]));
  const newcomer = solved.size === 0;
  mount(box,
    h("h2#tracks-h", null, newcomer ? "Start here: follow a track" : "Your tracks"),
    newcomer ? h("p.muted", null, "Tracks are tasks in an order that builds up step by step. Pick one and solve its tasks from the top.") : null,
    h("div.track-grid", null, list.map((t) => {
      const p = trackProgress(t, solved);
      const next = p.next;
      return h("article.track-card", { "data-track": t.slug, "aria-labelledby": `track-${t.slug}` },
        h("h3", { id: `track-${t.slug}` }, t.title),
        h("p.muted.small", null, t.description),
        h("div.track-progress", null,
          h("progress", { max: String(p.total), value: String(p.solved), "aria-label": `${t.title}: ${p.solved} of ${p.total} solved` }),
          h("span.small", null, `${p.solved} of ${p.total} solved`)),
        next
          ? h("a.btn.btn-primary.btn-small.track-next", { href: `/tasks/${encodeURIComponent(next)}` },
              `${p.solved ? "Continue" : "Start"}: ${titles.get(next) ?? next}`)
          : h("p.track-done", null, "✓ Track complete"),
        h("details.track-tasks", null, h("summary", null, `The ${p.total} tasks`),
          h("ol", null, t.tasks.map((slug) => h("li", { class: solved.has(slug) ? "is-solved" : "" },
            h("a", { href: `/tasks/${encodeURIComponent(slug)}` }, titles.get(slug) ?? slug),
            solved.has(slug) ? h("span.state-solved", null, " ✓", h("span.sr-only", null, " solved")) : null)))));
    })));
}

function summary(): HTMLElement {
  return h("div.page-summary");
}

function fillSummary(el: HTMLElement, p: Progress | null, total: number): void {
  if (!p) return;
  mount(el,
    h("span.stat", null, h("strong", null, String(p.solved.length)), ` / ${total} solved`),
    h("span.stat", null, h("strong", null, String(p.total_points)), " points"),
    h("span.stat", null, h("strong", null, String(p.streak.current_days)), ` day streak`));
}

function taskRow(t: TaskSummary, solved: boolean, attempted: boolean, st: TaskStats | undefined): HTMLElement {
  const status = solved
    ? h("span.state.state-solved", { title: "Solved" }, h("span", { "aria-hidden": "true" }, "✓"), h("span.sr-only", null, "Solved"))
    : attempted
      ? h("span.state.state-attempted", { title: "Attempted" }, h("span", { "aria-hidden": "true" }, "•"), h("span.sr-only", null, "Attempted"))
      : h("span.state", { "aria-hidden": "true" });
  return h("li.task-row", { "data-slug": t.slug, class: solved ? "is-solved" : "" },
    status,
    h("div.task-name", null, h("a.task-title", { href: `/tasks/${encodeURIComponent(t.slug)}` }, t.title),
      h("div.task-stats.small.muted", { "data-solvers": String(st?.solvers ?? 0) }, statsLine(st))),
    h("span.task-meta", null,
      difficultyBadge(t.difficulty),
      h("span.points", null, `${t.points} pts`),
      h("span.tags", null, t.tags.map((x) => h("span.tag", null, x)))));
}

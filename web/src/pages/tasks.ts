// The task list: difficulty, tags, points, solved state, filters.

import { me, tasks, type Progress, type TaskSummary } from "../api";
import { h, mount } from "../dom";
import type { Ctx } from "../router";
import * as session from "../session";

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
  const count = h("p.muted.result-count", { "aria-live": "polite" });
  const list = h("ul.task-list", { "aria-label": "Tasks" });
  const filters = h("form.filters", { role: "search", "aria-label": "Filter tasks" },
    h("label.sr-only", { for: "f-q" }, "Search"), search,
    h("label.sr-only", { for: "f-difficulty" }, "Difficulty"), diff,
    h("label.sr-only", { for: "f-tag" }, "Tag"), tag,
    session.user() ? [h("label.sr-only", { for: "f-state" }, "Solved state"), state] : null,
  );
  filters.addEventListener("submit", (e) => e.preventDefault());
  mount(main, h("section.page", null,
    h("div.page-head", null, h("h1", null, "Tasks"), summary()),
    filters, count, list));

  const summaryEl = main.querySelector<HTMLElement>(".page-summary")!;
  list.append(h("li.muted", null, "Loading tasks…"));
  const [all, progress] = await Promise.all([
    allTasks(ctx.signal),
    session.user() ? me.progress().catch(() => null) : Promise.resolve(null),
  ]);
  const solved = new Set(progress?.solved ?? []);
  const attempted = new Set(progress?.attempted ?? []);
  fillSummary(summaryEl, progress, all.length);

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
        (state.value === "attempted" && attempted.has(t.slug) && !solved.has(t.slug))));
    mount(list, shown.map((t) => taskRow(t, solved.has(t.slug), attempted.has(t.slug))));
    if (!shown.length) list.append(h("li.empty", null, all.length ? "No task matches these filters." : "No tasks yet."));
    count.textContent = `${shown.length} of ${all.length} tasks`;
    const p = new URLSearchParams();
    if (search.value.trim()) p.set("q", search.value.trim());
    if (diff.value) p.set("difficulty", diff.value);
    if (tag.value) p.set("tag", tag.value);
    if (state.value) p.set("state", state.value);
    const qs = p.toString();
    history.replaceState(null, "", `${location.pathname}${qs ? "?" + qs : ""}`);
  };
  for (const el of [search, diff, tag, state]) el.addEventListener("input", apply);
  apply();
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

function taskRow(t: TaskSummary, solved: boolean, attempted: boolean): HTMLElement {
  const status = solved
    ? h("span.state.state-solved", { title: "Solved" }, h("span", { "aria-hidden": "true" }, "✓"), h("span.sr-only", null, "Solved"))
    : attempted
      ? h("span.state.state-attempted", { title: "Attempted" }, h("span", { "aria-hidden": "true" }, "•"), h("span.sr-only", null, "Attempted"))
      : h("span.state", { "aria-hidden": "true" });
  return h("li.task-row", { "data-slug": t.slug, class: solved ? "is-solved" : "" },
    status,
    h("a.task-title", { href: `/tasks/${encodeURIComponent(t.slug)}` }, t.title),
    h("span.task-meta", null,
      difficultyBadge(t.difficulty),
      h("span.points", null, `${t.points} pts`),
      h("span.tags", null, t.tags.map((x) => h("span.tag", null, x)))));
}

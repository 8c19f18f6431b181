// Dashboard: points, streak and freezes, achievements, activity calendar, recent submissions.

import { me, meta, submissions, type AchievementDef, type CalendarDay, type Progress, type SubmissionSummary } from "../api";
import { h, mount } from "../dom";
import { toDate, verdictText } from "../enums";
import { iconFor } from "../icons";
import type { Ctx } from "../router";
import * as session from "../session";

export async function dashboardPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  mount(main, h("p.loading", null, "Loading your progress…"));
  const [p, defs, subs] = await Promise.all([
    me.progress(),
    meta.achievements().then((r) => r.achievements).catch(() => [] as AchievementDef[]),
    submissions.list({ kind: "submit", page_size: 15 }).then((r) => r.submissions).catch(() => [] as SubmissionSummary[]),
  ]);
  if (ctx.signal.aborted) return;
  const u = session.user();
  const s = p.streak;
  mount(main, h("section.page.dashboard", null,
    h("h1", null, `Hello, ${u?.display_name || u?.username || "learner"}`),
    h("div.stats", null,
      stat("Points", String(p.total_points), "total-points"),
      stat("Streak", `${s.current_days} day${s.current_days === 1 ? "" : "s"}`, "streak",
        s.extended_today ? "Today is done ✓" : s.current_days ? "Solve a task today to keep it" : "Solve a task to start one"),
      stat("Freezes", `${s.freezes} / 2`, "freezes", "One per 7 streak days; a freeze saves a missed day"),
      stat("Longest streak", `${s.longest_days} day${s.longest_days === 1 ? "" : "s"}`, "longest"),
      stat("Rank", p.all_time_rank ? `#${p.all_time_rank}` : "—", "rank", p.all_time_rank ? "All-time" : "Earn points to be ranked"),
      stat("Solved", String(p.solved.length), "solved")),
    h("section.card", null, h("h2", null, "By difficulty"), byDifficulty(p)),
    h("section.card", null, h("h2#activity-h", null, "Activity"), calendar(p.calendar, p.time_zone)),
    h("section.card", null, h("h2", null, "Achievements"), achievements(p, defs)),
    h("section.card", null, h("h2", null, "Recent submissions"), recent(subs))));
  // Today is at the right end: start there, not at last year's oldest week.
  const wrap = main.querySelector<HTMLElement>(".calendar-wrap");
  if (wrap) wrap.scrollLeft = wrap.scrollWidth;
}

function stat(label: string, value: string, key: string, note?: string): HTMLElement {
  return h("div.stat-card", { "data-stat": key }, h("div.stat-label", null, label), h("div.stat-value", null, value), note ? h("div.stat-note.muted", null, note) : null);
}

function byDifficulty(p: Progress): HTMLElement {
  return h("ul.diff-bars", null, p.by_difficulty.map((d) => {
    const pct = d.total ? Math.round((100 * d.solved) / d.total) : 0;
    const bar = h("progress", { max: String(d.total || 1), value: String(d.solved), "aria-label": `${d.difficulty}: ${d.solved} of ${d.total} solved` });
    return h("li", null, h("span.badge", { class: `diff-${d.difficulty}` }, d.difficulty), bar, h("span.muted", null, `${d.solved}/${d.total} (${pct}%)`));
  }));
}

function level(n: number): number {
  return n <= 0 ? 0 : n === 1 ? 1 : n <= 3 ? 2 : n <= 6 ? 3 : 4;
}

const WEEKDAYS = ["", "Mon", "", "Wed", "", "Fri", ""]; // rows start on Sunday

/**
 * 365 days as a week-column grid (GitHub style): months along the top,
 * weekdays down the side (they stay put while the weeks scroll), today last
 * and outlined; the page scrolls it to today. Screen readers get the summary.
 */
function calendar(days: CalendarDay[], zone: string): HTMLElement {
  const grid = h("div.calendar", { role: "img", "aria-labelledby": "activity-h activity-sum" });
  grid.append(h("span.cal-month.cal-corner"), ...WEEKDAYS.map((d) => h("span.cal-wd", null, d)));
  const month = (iso: string) => new Date(iso + "T00:00:00Z").toLocaleString([], { month: "short", timeZone: "UTC" });
  const weeks: (CalendarDay | null)[][] = [];
  if (days.length) {
    const first = new Date(days[0].date + "T00:00:00Z").getUTCDay(); // 0 = Sunday
    let week: (CalendarDay | null)[] = Array(first).fill(null);
    for (const d of days) {
      week.push(d);
      if (week.length === 7) { weeks.push(week); week = []; }
    }
    if (week.length) weeks.push(week);
  }
  let lastLabel = -3;
  weeks.forEach((week, wi) => {
    // A month's name goes over the week its first day is in (and over the first week, unless a month starts right after).
    const firstOfMonth = week.find((d) => d && d.date.endsWith("-01"));
    const opening = wi === 0 && !weeks.slice(1, 3).some((w) => w.some((d) => d && d.date.endsWith("-01")));
    const labelDay = firstOfMonth ?? (opening ? week.find((d) => d) : undefined);
    const label = labelDay && wi - lastLabel >= 3 ? month(labelDay.date) : "";
    if (label) lastLabel = wi;
    grid.append(h("span.cal-month", null, label));
    for (const d of week) {
      if (!d) { grid.append(h("span.cal-day.cal-pad")); continue; }
      const today = d === days[days.length - 1];
      grid.append(h("span.cal-day", { class: `lvl-${level(d.count)}${today ? " cal-today" : ""}`, title: `${d.date}: ${d.count} accepted${today ? " (today)" : ""}`, "data-date": d.date }));
    }
  });
  const active = days.filter((d) => d.count > 0).length;
  const total = days.reduce((a, d) => a + d.count, 0);
  return h("div", null,
    h("div.calendar-wrap", { tabindex: "0", role: "group", "aria-label": "Activity calendar (scrolls sideways)" }, grid),
    h("p.muted#activity-sum", null, `${total} accepted submission${total === 1 ? "" : "s"} on ${active} day${active === 1 ? "" : "s"} in the last year (days in ${zone}).`),
    h("div.cal-legend", { "aria-hidden": "true" }, "Less ", [0, 1, 2, 3, 4].map((l) => h("span.cal-day", { class: `lvl-${l}` })), " More"));
}

function achievements(p: Progress, defs: AchievementDef[]): HTMLElement {
  const unlocked = new Map(p.achievements.map((a) => [a.slug, a]));
  const prog = new Map(p.achievement_progress.map((a) => [a.slug, a]));
  const all = defs.length ? defs : p.achievements.map((a, i) => ({ ...a, sort_order: i }));
  return h("ul.achievements", null, all.map((d) => {
    const u = unlocked.get(d.slug);
    const pr = prog.get(d.slug);
    const when = toDate(u?.unlocked_at);
    return h("li.achievement", { class: u ? "is-unlocked" : "is-locked", "data-achievement": d.slug },
      h("span.ach-icon", { "aria-hidden": "true" }, iconFor(d.icon)),
      h("div", null,
        h("strong", null, d.title), u ? h("span.sr-only", null, " (unlocked)") : h("span.sr-only", null, " (locked)"),
        h("div.muted", null, d.description),
        u && when ? h("div.muted.small", null, `Unlocked ${when.toLocaleDateString()}`) : null,
        !u && pr && pr.target > 1 ? h("div.ach-progress", null,
          h("progress", { max: String(pr.target), value: String(Math.min(pr.current, pr.target)), "aria-label": `${pr.current} of ${pr.target}` }),
          h("span.muted.small", null, ` ${pr.current}/${pr.target}`)) : null));
  }));
}

function recent(list: SubmissionSummary[]): HTMLElement {
  if (!list.length) return h("p.muted", null, "No submissions yet. ", h("a", { href: "/tasks" }, "Pick a task"), ".");
  return h("div.table-wrap", null, h("table.recent", null,
    h("thead", null, h("tr", null, ["Task", "Verdict", "Score", "Points", "When", ""].map((c) => h("th", { scope: "col" }, c || h("span.sr-only", null, "Review"))))),
    h("tbody", null, list.map((s) => h("tr", null,
      h("td", null, h("a", { href: `/tasks/${encodeURIComponent(s.task_slug)}` }, s.task_slug)),
      h("td", null, h("span.verdict", { class: `v-${s.verdict ?? "pending"}` }, s.state === "pending" ? "Pending" : verdictText(s.verdict ?? "unspecified"))),
      h("td", null, `${s.score}/${s.max_score}`),
      h("td", null, s.points_awarded ? `+${s.points_awarded}` : "—"),
      h("td", null, toDate(s.created_at)?.toLocaleString() ?? ""),
      h("td", null, h("a.review-link", { href: `/tasks/${encodeURIComponent(s.task_slug)}?submission=${encodeURIComponent(s.id)}`,
        "aria-label": `Review this submission of ${s.task_slug}` }, "Review")))))));
}

// Where learners fail on a task (TaskAnalytics): for a teacher over their
// class, for an author over every learner of their own task
// (/designer/:slug/analytics).

import { ApiError } from "../api";
import { authorAnalytics, type TaskAnalytics } from "../api-classes";
import { duration, round } from "../classes";
import { h, mount } from "../dom";
import { verdictText } from "../enums";
import type { Ctx } from "../router";

const pct = (x: number) => `${round(100 * x)}%`;

/** One task's analysis as a card; `headingLevel` 2 on its own page, 3 inside the dashboard. */
export function analyticsCard(t: TaskAnalytics, headingLevel: 2 | 3 = 3): HTMLElement {
  const head = headingLevel === 2 ? "h2" : "h3";
  const share = (v: string) => t.verdicts.find((x) => x.verdict === v)?.share ?? 0;
  const maxRetry = Math.max(1, ...t.retries.map((r) => r.learners));
  return h("section.card.analytics", { "data-task": t.task_slug, "aria-label": `Analytics of ${t.title}` },
    h(head, null, t.title, " ", h("span.muted.small", null, `(${t.task_slug})`)),
    h("div.stats.stats-compact", null,
      stat("Learners", String(t.learners), "learners"),
      stat("Solved", `${t.solvers}`, "solvers", t.learners ? `${pct(t.solvers / t.learners)} of them` : undefined),
      stat("Submissions", String(t.submissions), "submissions"),
      stat("Median attempts", t.solvers ? String(round(t.median_attempts, 1)) : "—", "median-attempts", "up to the first accepted"),
      stat("Median time to solve", t.solvers ? duration(t.median_seconds_to_solve) : "—", "median-time", "from first opening"),
      stat("RE / TLE", `${pct(share("re"))} / ${pct(share("tle"))}`, "re-tle", "of the submissions")),
    t.submissions === 0 ? h("p.muted", null, "No submissions yet.") : [
      h("div.analytics-grid", null,
        h("div", null,
          h("h4", null, "Verdicts"),
          h("ul.bars", null, t.verdicts.map((v) => h("li", { "data-verdict": v.verdict ?? "" },
            h("span.bar-label", null, h("span.verdict", { class: `v-${v.verdict ?? "pending"}` }, verdictText(v.verdict ?? "unspecified"))),
            h("progress", { max: "1", value: String(v.share), "aria-label": `${verdictText(v.verdict ?? "unspecified")}: ${pct(v.share)}` }),
            h("span.muted.small", null, `${v.submissions} (${pct(v.share)})`))))),
        h("div", null,
          h("h4", null, "Attempts until accepted"),
          h("ul.bars.retries", null, t.retries.map((r) => h("li", { "data-retries": r.label },
            h("span.bar-label", null, r.label === "unsolved" ? "Not yet" : r.label),
            h("progress", { max: String(maxRetry), value: String(r.learners), "aria-label": `${r.label}: ${r.learners} learners` }),
            h("span.muted.small", null, `${r.learners} learner${r.learners === 1 ? "" : "s"}`)))))),
      h("h4", null, "Tests that fail most"),
      t.tests.length ? h("div.table-wrap", null, h("table.data-table.failing-tests", null,
        h("thead", null, h("tr", null, ["Test", "Failed", "Ran", "Failure rate"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, t.tests.slice(0, 10).map((x) => h("tr", { "data-test": x.name },
          h("th", { scope: "row" }, x.hidden ? `🔒 ${x.name}` : x.name),
          h("td", null, String(x.failed)), h("td", null, String(x.ran)),
          h("td", null, x.ran ? pct(x.failed / x.ran) : "—")))))) : h("p.muted", null, "No per-test results yet."),
      h("h4", null, "Most common wrong outputs"),
      t.wrong_outputs.length ? h("ul.wrong-outputs", null, t.wrong_outputs.map((w) => h("li", null,
        h("div.small", null, h("strong", null, w.test_name), ` — ${w.submissions} submission${w.submissions === 1 ? "" : "s"} by ${w.learners} learner${w.learners === 1 ? "" : "s"}`),
        h("pre.io", { tabindex: "0", role: "group", "aria-label": `Wrong output of ${w.test_name}` }, w.output_excerpt || "(empty output)"))))
        : h("p.muted", null, "None kept (hidden tests' outputs never are)."),
      h("p.muted.small", null, `Tests and wrong outputs from the latest ${t.sampled} submissions at most.`)]);
}

function stat(label: string, value: string, key: string, note?: string): HTMLElement {
  return h("div.stat-card", { "data-stat": key }, h("div.stat-label", null, label), h("div.stat-value", null, value), note ? h("div.stat-note.muted", null, note) : null);
}

export async function authorAnalyticsPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  mount(main, h("p.loading", null, "Loading analytics…"));
  let t: TaskAnalytics;
  try {
    t = await authorAnalytics(slug);
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 403 && e.status !== 404)) throw e;
    mount(main, h("section.page", null, h("h1", null, "Task analytics"),
      h("p.notice#analytics-refused", null, e.status === 404 ? "No such task." : "Only the author who created a task, and admins, read its analytics."),
      h("p", null, h("a", { href: "/designer" }, "All tasks"))));
    return;
  }
  if (ctx.signal.aborted) return;
  document.title = `Analytics: ${t.title} · Dojo`;
  mount(main, h("section.page.author-analytics", null,
    h("div.page-head", null, h("h1", null, `Analytics: ${t.title}`),
      h("div.actions", null, h("a", { href: `/designer/${encodeURIComponent(slug)}` }, "Edit the task"), h("a", { href: "/designer" }, "All tasks"))),
    h("p.muted", null, "Every learner's submissions of this task. A test that most fail, or one wrong output many share, often means the statement misleads."),
    analyticsCard(t, 2)));
}

// Contests: the list, a contest's page (problems, submitting, the team's own
// submissions, the scoreboard with the freeze marked, clarifications) and the
// jury's desk (every submission with its code and per-test results, rejudge,
// override with a reason, answers, reveal/thaw/finalize, the audit log).
// The gateway (/api/v1/contests, docs/openapi.yaml) decides who sees what;
// this page only shows it.

import { ApiError, get, post } from "../api";
import { field, h, mount, toast } from "../dom";
import { ownFrozenCells } from "../contestboard";
import { renderMarkdown } from "../markdown";
import type { Ctx } from "../router";
import { isAuthor } from "../enums";
import * as session from "../session";

const POLL_MS = 4000;
// With the scoreboard pushed over the WebSocket, a slow poll is only a safety net.
const PUSHED_POLL_MS = 30000;

interface Team { id: string; name: string; organization_id: string | null; hidden: boolean; join_code: string | null; members: { user_id: string; display_name: string }[] }
interface Problem { id: string; label: string; name: string; task_slug: string; rgb: string | null; color: string | null; points: number | null }
interface State { started: string | null; frozen: string | null; ended: string | null; thawed: string | null; finalized: string | null }
interface Contest {
  slug: string; title: string; formal_name: string; description: string; start: string | null; end: string | null;
  duration_s: number | null; freeze_minutes: number; scoring: "icpc" | "ioi"; registration: "open" | "closed" | "invite";
  max_team_size: number; problems: Problem[]; problem_count: number; state: State; phase: "scheduled" | "running" | "ended";
  access: "public" | "team" | "jury"; my_team: Team | null; can_register: boolean; team_count: number; now: string | null;
  organizations?: { id: string; name: string }[];
}
interface TestResult { index: number; name: string; hidden: boolean; verdict: string | null; cpu_ms: number; message: string }
interface Judgement { id: string; verdict: string | null; score: number; current: boolean; kind: string; tests: TestResult[]; reason: string | null; actor_id: string | null; end_time: string | null }
interface Submission { id: string; submission_id: string; team_id: string; problem_id: string; language: string; time: string; contest_time_ms: number; counted: boolean; code: string | null; judgement: Judgement | null; judgements?: Judgement[] }
interface Cell { problem_id: string; num_judged: number; num_pending: number; solved: boolean; score: number; time_ms: number | null; first_to_solve: boolean }
interface Row { rank: number; team_id: string; num_solved: number; total_minutes: number; score: number; problems: Cell[] }
interface Board { frozen: boolean; audience: string; scoring: string; state: State; rows: Row[]; awards: { id: string; citation: string; team_ids: string[] }[] }
interface Clar { id: string; from_team_id: string | null; to_team_id: string | null; reply_to_id: string | null; problem_id: string | null; text: string; time: string; announcement: boolean }

const base = (slug: string) => `/contests/${encodeURIComponent(slug)}`;
const when = (t: string | null) => (t ? new Date(t).toLocaleString() : "—");
const clock = (ms: number) => {
  const m = Math.floor(ms / 60000);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
};
const verdictLabel = (v: string | null) => (v ? v.toUpperCase() : "pending");

function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : (e as Error).message;
}

function phaseText(c: Contest): string {
  if (c.phase === "scheduled") return `Starts ${when(c.start)}`;
  if (c.phase === "running") return c.end ? `Running · ends ${when(c.end)}` : "Always open";
  return `Ended ${when(c.end)}`;
}

// ---------------------------------------------------------------------------
// The list

export async function contestsPage(main: HTMLElement): Promise<void> {
  const list = await get<{ contests: Contest[] }>("/contests");
  const authorLinks = isAuthor(session.user()?.role)
    ? h("div.actions", null, h("a.btn.btn-small#contest-editor-link", { href: "/author/contests" }, "Contest editor"), " ",
        h("a.btn.btn-small.btn-primary#new-contest-link", { href: "/author/contests/new" }, "New contest"))
    : null;
  mount(main, h("section.page", null,
    h("div.page-head", null, h("h1", null, "Contests"), authorLinks),
    list.contests.length
      ? h("ul.contest-list", null, list.contests.map((c) => h("li.card.contest-card", { "data-contest": c.slug },
          h("h2", null, h("a", { href: base(c.slug) }, c.title)),
          h("p.muted", null, phaseText(c), ` · ${c.scoring.toUpperCase()} · ${c.team_count} ${c.max_team_size > 1 ? "teams" : "participants"}`),
          c.my_team ? h("span.badge.badge-solved", null, "registered") : null)))
      : h("p.empty", null, "No contests yet.")));
}

// ---------------------------------------------------------------------------
// A contest's page

export async function contestPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  let c = await get<Contest>(base(slug));
  const teams = new Map<string, string>();
  const loadTeams = async () => {
    const t = await get<{ teams: Team[] }>(`${base(slug)}/teams`);
    teams.clear();
    for (const x of t.teams) teams.set(x.id, x.name);
  };
  await loadTeams();

  const head = h("div.contest-head");
  const tabs = h("div.tabs", { role: "tablist", "aria-label": "Contest" });
  const panel = h("div.tab-panel#contest-panel", { role: "tabpanel", tabindex: "0" });
  mount(main, h("section.page", null, head, tabs, panel));

  function renderHead(): void {
    mount(head,
      h("h1", null, c.title),
      h("p.muted#contest-phase", null, phaseText(c), c.state.frozen && !c.state.thawed ? " · scoreboard frozen" : ""),
      c.description ? renderMarkdown(c.description) : null,
      c.access === "jury" || isAuthor(session.user()?.role) ? h("p", null,
        c.access === "jury" ? h("a.btn.btn-small", { href: `${base(slug)}/jury` }, "Jury desk") : null, " ",
        isAuthor(session.user()?.role) ? h("a.btn.btn-small#edit-contest", { href: `/author/contests/${encodeURIComponent(slug)}` }, "Edit contest") : null) : null,
      c.my_team ? h("p.notice.notice-success#my-team", null, `You are in ${c.my_team.name}.`,
        c.my_team.join_code && c.max_team_size > 1 ? ` Team members join with the code ${c.my_team.join_code}.` : "") : null,
      c.can_register ? registerForm() : null,
      !session.user() && c.phase !== "ended" ? h("p", null, h("a", { href: `/login?next=${encodeURIComponent(base(slug))}` }, "Sign in"), " to take part.") : null);
  }

  function registerForm(): HTMLElement {
    const name = h("input", { name: "team_name", maxlength: "64", autocomplete: "off" });
    const code = h("input", { name: "invite_code", autocomplete: "off" });
    const join = h("input", { name: "join_code", autocomplete: "off" });
    const msg = h("p.field-error", { "aria-live": "polite" });
    const form = h("form.card#register-form", null,
      h("h2", null, "Register"),
      c.max_team_size > 1 ? field("Team name", name, "Leave empty to use your display name.") : null,
      c.registration === "invite" ? field("Invitation code", code) : null,
      c.max_team_size > 1 ? field("Or join a team with its code", join) : null,
      msg,
      h("button.btn.btn-primary#register", { type: "submit" }, "Register"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post(`${base(slug)}/register`, { team_name: name.value, invite_code: code.value, join_code: join.value });
        toast("You are registered.", "success");
        c = await get<Contest>(base(slug));
        await loadTeams();
        renderHead();
        select(current);
      } catch (err) {
        msg.textContent = errorText(err);
      }
    });
    return form;
  }

  const names: [string, string][] = [["problems", "Problems"], ["submissions", "My submissions"], ["scoreboard", "Scoreboard"], ["clarifications", "Clarifications"]];
  let current = ctx.query.get("tab") ?? "problems";
  const buttons = names.filter(([k]) => k !== "submissions" || c.access !== "public").map(([key, label]) => {
    const b = h("button.tab", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": "contest-panel", "data-tab": key }, label);
    b.addEventListener("click", () => select(key));
    return b;
  });
  tabs.append(...buttons);

  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  let seq = 0;
  // The scoreboard pushed over the WebSocket (signed out too: the public
  // board): every change arrives as it is computed; without it the tab polls.
  let pushed: Board | null = null;
  {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/v1/ws`);
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "watch_scoreboard", contest: slug })));
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(String(e.data)) as { type: string; scoreboard?: Board };
      // Admins get the jury's board; a jury member who is no admin keeps
      // polling the jury's board the REST API gives them.
      if (m.type !== "scoreboard" || !m.scoreboard || (m.scoreboard.audience === "jury") !== (c.access === "jury")) return;
      pushed = m.scoreboard;
      if (current === "scoreboard") void refresh();
    });
    ws.addEventListener("close", () => (pushed = null));
    ctx.signal.addEventListener("abort", () => ws.close());
  }

  function select(key: string): void {
    current = key;
    for (const b of buttons) {
      const on = b.dataset.tab === key;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", `tab-${key}`);
    history.replaceState(null, "", key === "problems" ? base(slug) : `${base(slug)}?tab=${key}`);
    void refresh(true);
  }

  async function refresh(reset = false, force = false): Promise<void> {
    clearTimeout(timer);
    const mine = ++seq;
    if (reset) mount(panel, h("p.loading", null, "Loading…"));
    try {
      const view = current === "scoreboard" ? await scoreboardView(slug, c, teams, pushed)
        : current === "submissions" ? await submissionsView(slug)
          : current === "clarifications" ? await clarificationsView(slug, c, teams, () => void refresh(false, true))
            : problemsView(slug, c);
      if (mine !== seq || ctx.signal.aborted) return;
      // Don't replace a form someone is typing into.
      if (reset || force || !panel.contains(document.activeElement) || document.activeElement === panel) mount(panel, view);
    } catch (e) {
      if (mine === seq) mount(panel, h("p.error-box", { role: "alert" }, errorText(e)));
    }
    if (!ctx.signal.aborted && current !== "problems")
      timer = setTimeout(() => void refresh(), current === "scoreboard" && pushed ? PUSHED_POLL_MS : POLL_MS);
  }

  renderHead();
  select(names.some(([k]) => k === current) ? current : "problems");
}

function problemsView(slug: string, c: Contest): HTMLElement {
  if (!c.problems.length)
    return h("p.empty", null, c.phase === "scheduled" ? `The problems appear at the start (${when(c.start)}).` : "No problems.");
  return h("ul.problem-list", null, c.problems.map((p) => h("li.problem-item", { "data-problem": p.id },
    h("span.problem-label", { "data-color": p.color ?? "" }, p.label),
    h("a", { href: `${base(slug)}/problems/${encodeURIComponent(p.id)}` }, p.name),
    p.points ? h("span.muted", null, ` · ${p.points} points`) : null)));
}

async function submissionsView(slug: string): Promise<HTMLElement> {
  const s = await get<{ submissions: Submission[] }>(`${base(slug)}/submissions`);
  if (!s.submissions.length) return h("p.empty", null, "No submissions yet.");
  return submissionsTable(slug, s.submissions, false);
}

function submissionsTable(slug: string, subs: Submission[], jury: boolean, teams?: Map<string, string>): HTMLElement {
  return h("div.table-wrap", null, h("table.submissions", null,
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "#"), h("th", { scope: "col" }, "Time"),
      jury ? h("th", { scope: "col" }, "Team") : null, h("th", { scope: "col" }, "Problem"),
      h("th", { scope: "col" }, "Language"), h("th", { scope: "col" }, "Verdict"))),
    h("tbody", null, subs.map((s) => h("tr", { "data-submission": s.id },
      h("td", null, jury ? h("a", { href: `${base(slug)}/jury?submission=${encodeURIComponent(s.id)}` }, s.id) : s.id),
      h("td", null, clock(s.contest_time_ms), s.counted ? null : h("span.muted", null, " (practice)")),
      jury ? h("td", null, teams?.get(s.team_id) ?? s.team_id) : null,
      h("td", null, s.problem_id),
      h("td", null, s.language),
      h("td", { class: `verdict verdict-${s.judgement?.verdict ?? "pending"}`, "data-verdict": s.judgement?.verdict ?? "pending" },
        verdictLabel(s.judgement?.verdict ?? null)))))));
}

async function scoreboardView(slug: string, c: Contest, teams: Map<string, string>, pushed: Board | null): Promise<HTMLElement> {
  const sb = pushed ?? await get<Board>(`${base(slug)}/scoreboard`);
  const myTeam = c.my_team?.id;
  // The team's own results of the freeze, from its own submissions.
  const myRow = sb.rows.find((r) => r.team_id === myTeam);
  const frozenMine = sb.frozen && myRow ? myRow.problems.filter((x) => x.num_pending > 0).map((x) => x.problem_id) : [];
  const own = frozenMine.length
    ? ownFrozenCells((await get<{ submissions: Submission[] }>(`${base(slug)}/submissions`)).submissions, frozenMine)
    : new Map();
  const ioi = sb.scoring === "ioi";
  const problems = c.problems.length ? c.problems.map((p) => p.id) : (sb.rows[0]?.problems.map((x) => x.problem_id) ?? []);
  const cell = (x: Cell) => {
    const frozen = sb.frozen && x.num_pending > 0;
    const cls = x.solved ? "cell-solved" : frozen ? "cell-frozen" : x.num_pending ? "cell-pending" : x.num_judged ? "cell-failed" : "cell-empty";
    const tries = x.num_judged + x.num_pending;
    const text = ioi ? (x.score || x.num_judged ? String(Math.round(x.score * 100) / 100) : "")
      : x.solved ? `${x.time_ms !== null ? Math.floor(x.time_ms / 60000) : ""}${tries > 1 ? ` (${tries})` : ""}`
        : tries ? (frozen ? `? ${tries}` : `−${tries}`) : "";
    return h("td", { class: `sb-cell ${cls}${x.first_to_solve ? " cell-first" : ""}`, "data-problem": x.problem_id,
      title: frozen ? "Submitted during the freeze: the result is hidden until the jury reveals it" : null }, text);
  };
  const myCell = (x: Cell) => {
    const td = cell(x);
    const o = own.get(x.problem_id);
    if (o) td.append(h("span.own-result", { "data-own": o.solved ? "solved" : o.pending ? "pending" : "failed" },
      o.solved ? ` yours: solved at ${o.minute}` : o.pending ? " yours: judging" : ` yours: −${o.judged}`));
    return td;
  };
  const awards = sb.awards.filter((a) => a.team_ids.length && !a.id.startsWith("first-to-solve"));
  return h("div", null,
    sb.frozen ? h("p.notice#board-frozen", { role: "status" },
      `The scoreboard is frozen since ${when(sb.state.frozen)}: results of submissions made after that are hidden (shown as ?) until the jury reveals them.`,
      c.access === "team" ? " Your own results show in your row (and in My submissions)." : "") : null,
    h("div.table-wrap", null, h("table.scoreboard", { "data-frozen": String(sb.frozen) },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Rank"), h("th", { scope: "col" }, c.max_team_size > 1 ? "Team" : "Participant"),
        h("th", { scope: "col" }, ioi ? "Score" : "Solved"), ioi ? null : h("th", { scope: "col" }, "Time"),
        problems.map((p) => h("th", { scope: "col" }, p)))),
      h("tbody", null, sb.rows.map((r) => h("tr", { class: r.team_id === myTeam ? "is-me" : "", "data-team": r.team_id },
        h("td", null, String(r.rank)),
        h("td.lb-name", null, teams.get(r.team_id) ?? r.team_id, r.team_id === myTeam ? h("span.badge.badge-me", null, "you") : null),
        h("td", null, ioi ? String(Math.round(r.score * 100) / 100) : String(r.num_solved)),
        ioi ? null : h("td", null, String(r.total_minutes)),
        r.problems.map(r.team_id === myTeam ? myCell : cell)))))),
    awards.length ? h("ul.awards", null, awards.map((a) => h("li", null, `${a.citation}: ${a.team_ids.map((t) => teams.get(t) ?? t).join(", ")}`))) : null,
    h("p.muted.small", null, `Updated ${new Date().toLocaleTimeString()}`));
}

async function clarificationsView(slug: string, c: Contest, teams: Map<string, string>, again: () => void): Promise<HTMLElement> {
  const l = await get<{ clarifications: Clar[] }>(`${base(slug)}/clarifications`);
  const text = h("textarea", { name: "text", rows: "3", maxlength: "4000" });
  const problem = h("select", { name: "problem_id" }, h("option", { value: "" }, "General"),
    c.problems.map((p) => h("option", { value: p.id }, `${p.label}: ${p.name}`)));
  const msg = h("p.field-error", { "aria-live": "polite" });
  const canAsk = c.access === "team" || c.access === "jury";
  const form = canAsk ? h("form.card#clar-form", null,
    h("h2", null, c.access === "jury" ? "Announce" : "Ask the jury"),
    field("Problem", problem), field("Question", text), msg,
    h("button.btn.btn-primary", { type: "submit" }, c.access === "jury" ? "Send to everyone" : "Send")) : null;
  form?.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await post(`${base(slug)}/clarifications`, { text: text.value, problem_id: problem.value || undefined });
      text.value = "";
      toast("Sent.", "success");
      again();
    } catch (err) {
      msg.textContent = errorText(err);
    }
  });
  const from = (x: Clar) => (x.from_team_id ? teams.get(x.from_team_id) ?? x.from_team_id : "Jury");
  return h("div", null, form,
    l.clarifications.length
      ? h("ul.clar-list", null, l.clarifications.slice().reverse().map((x) => h("li.card.clar", { "data-clar": x.id, class: x.from_team_id ? "clar-question" : "clar-answer" },
          h("p.muted.small", null, `${from(x)}${x.to_team_id ? ` → ${teams.get(x.to_team_id) ?? x.to_team_id}` : x.from_team_id ? " → jury" : " → everyone"}`,
            x.problem_id ? ` · problem ${x.problem_id}` : "", ` · ${when(x.time)}`),
          h("p.clar-text", null, x.text))))
      : h("p.empty", null, "No clarifications yet."));
}

// ---------------------------------------------------------------------------
// One problem: the statement and the submit form

export async function contestProblemPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug, label = ctx.params.label;
  const [c, pv] = await Promise.all([
    get<Contest>(base(slug)),
    get<{ problem: Problem; task: { title: string; description: string; languages: { language: string; starter_code: string }[]; sample_tests: { name: string; input: string; expected: string }[] } }>(
      `${base(slug)}/problems/${encodeURIComponent(label)}`),
  ]);
  const langs = pv.task.languages;
  const lang = h("select", { name: "language" }, langs.map((l) => h("option", { value: l.language }, l.language)));
  const code = h("textarea.code-input", { name: "code", rows: "14", spellcheck: "false", autocapitalize: "off" });
  code.value = langs[0]?.starter_code ?? "";
  lang.addEventListener("change", () => {
    const l = langs.find((x) => x.language === lang.value);
    if (l && !code.value.trim()) code.value = l.starter_code;
  });
  const msg = h("p.field-error", { "aria-live": "polite" });
  const result = h("div#submit-result", { "aria-live": "polite" });
  const canSubmit = c.access === "team" || c.access === "jury" || (c.phase === "ended" && !!session.user());
  const form = h("form.card#contest-submit", null, h("h2", null, "Submit"),
    field("Language", lang), field("Code", code), msg,
    h("button.btn.btn-primary#submit", { type: "submit", disabled: !canSubmit }, "Submit"),
    canSubmit ? null : h("p.muted", null, "Register for the contest to submit."), result);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    try {
      const s = await post<{ id: string; counted: boolean }>(`${base(slug)}/submissions`, {
        problem_id: label, language: lang.value, code: code.value, idempotency_key: crypto.randomUUID() });
      mount(result, h("p", null, `Submission ${s.id} queued${s.counted ? "" : " (practice: it does not count)"}. `,
        h("span#submit-verdict", { "data-verdict": "pending" }, "Judging…")));
      void follow(s.id);
    } catch (err) {
      msg.textContent = errorText(err);
    }
  });
  async function follow(id: string): Promise<void> {
    for (let i = 0; i < 120 && !ctx.signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        const s = await get<Submission>(`${base(slug)}/submissions/${encodeURIComponent(id)}`);
        const v = s.judgement?.verdict;
        const span = document.getElementById("submit-verdict");
        if (v && span) {
          span.textContent = `Verdict: ${verdictLabel(v)}`;
          span.dataset.verdict = v;
          return;
        }
      } catch {
        /* keep polling */
      }
    }
  }
  mount(main, h("section.page", null,
    h("p", null, h("a", { href: base(slug) }, `← ${c.title}`)),
    h("h1", null, `${pv.problem.label}. ${pv.problem.name}`),
    renderMarkdown(pv.task.description),
    pv.task.sample_tests.length ? h("div", null, h("h2", null, "Examples"), pv.task.sample_tests.map((t) =>
      h("div.sample", null, h("h3", null, t.name), h("pre", null, t.input), h("pre", null, t.expected)))) : null,
    form));
}

// ---------------------------------------------------------------------------
// The jury's desk

export async function contestJuryPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  const c = await get<Contest>(base(slug));
  if (c.access !== "jury") {
    mount(main, h("section.page", null, h("h1", null, "Jury only"), h("p", null, "This desk is for the contest's jury.")));
    return;
  }
  const teamList = await get<{ teams: Team[] }>(`${base(slug)}/teams`);
  const teams = new Map(teamList.teams.map((t) => [t.id, t.name] as [string, string]));
  const detail = h("div#jury-detail");
  const list = h("div#jury-list");
  const actions = h("div.card#jury-actions", null, h("h2", null, "Scoreboard"),
    h("button.btn#reveal", { type: "button", onclick: () => act("reveal") }, "Reveal next"), " ",
    h("button.btn#thaw", { type: "button", onclick: () => act("thaw") }, "Unfreeze all"), " ",
    h("button.btn#finalize", { type: "button", onclick: () => act("finalize") }, "Finalize"),
    h("p#jury-action-result", { "aria-live": "polite" }));
  const audit = h("div#jury-audit");
  mount(main, h("section.page", null, h("p", null, h("a", { href: base(slug) }, `← ${c.title}`)),
    h("h1", null, `Jury: ${c.title}`), actions, h("h2", null, "Submissions"), list, detail, h("h2", null, "Clarifications"),
    await juryClarifications(slug, teams), h("h2", null, "Audit log"), audit));

  async function act(what: string): Promise<void> {
    const out = document.getElementById("jury-action-result")!;
    try {
      const r = await post<{ team_id?: string | null; problem_id?: string | null; done?: boolean }>(`${base(slug)}/${what}`);
      out.textContent = what === "reveal" ? (r.team_id ? `Revealed ${teams.get(r.team_id) ?? r.team_id}, problem ${r.problem_id}.` : "Nothing left to reveal.") : "Done.";
      void loadAudit();
    } catch (e) {
      out.textContent = errorText(e);
    }
  }
  async function loadAudit(): Promise<void> {
    const a = await get<{ entries: { id: number; at: string; actor_name: string | null; actor_id: string; action: string; target: string; from_verdict: string | null; to_verdict: string | null; reason: string | null }[] }>(`${base(slug)}/audit`);
    mount(audit, a.entries.length ? h("ul.audit", null, a.entries.map((e) => h("li", { "data-action": e.action },
      `${when(e.at)} · ${e.actor_name ?? e.actor_id} · ${e.action} ${e.target}`,
      e.from_verdict || e.to_verdict ? ` (${verdictLabel(e.from_verdict)} → ${verdictLabel(e.to_verdict)})` : "",
      e.reason ? ` · “${e.reason}”` : ""))) : h("p.empty", null, "Nothing yet."));
  }
  async function loadList(): Promise<void> {
    const s = await get<{ submissions: Submission[] }>(`${base(slug)}/submissions`);
    mount(list, s.submissions.length ? submissionsTable(slug, s.submissions, true, teams) : h("p.empty", null, "No submissions yet."));
  }
  async function showSubmission(id: string): Promise<void> {
    const s = await get<Submission>(`${base(slug)}/submissions/${encodeURIComponent(id)}`);
    const verdict = h("select", { name: "verdict" }, ["ac", "wa", "tle", "mle", "re", "ole", "ce"].map((v) => h("option", { value: v }, v.toUpperCase())));
    const reason = h("input", { name: "reason", maxlength: "500", required: true });
    const msg = h("p.field-error", { "aria-live": "polite" });
    const override = h("form.card#override-form", null, h("h3", null, "Override the verdict"), field("Verdict", verdict), field("Reason (kept in the audit log)", reason), msg,
      h("button.btn.btn-danger", { type: "submit" }, "Override"));
    override.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post(`${base(slug)}/submissions/${encodeURIComponent(s.id)}/override`, { verdict: verdict.value, reason: reason.value });
        toast("Verdict overridden.", "success");
        await Promise.all([showSubmission(s.id), loadList(), loadAudit()]);
      } catch (err) {
        msg.textContent = errorText(err);
      }
    });
    const rejudge = h("button.btn#rejudge", { type: "button" }, "Rejudge");
    rejudge.addEventListener("click", async () => {
      try {
        await post(`${base(slug)}/rejudge`, { submission_id: s.id, reason: reason.value || "rejudge from the jury desk" });
        toast("Queued for rejudging.", "success");
        await Promise.all([showSubmission(s.id), loadAudit()]);
      } catch (err) {
        msg.textContent = errorText(err);
      }
    });
    mount(detail, h("div.card#submission-detail", { "data-submission": s.id },
      h("h3", null, `Submission ${s.id} · ${teams.get(s.team_id) ?? s.team_id} · problem ${s.problem_id} · ${clock(s.contest_time_ms)}`),
      h("pre.code-view", null, s.code ?? ""),
      (s.judgements ?? []).map((j) => h("div.judgement", { "data-judgement": j.id },
        h("p", null, `${j.kind} · ${verdictLabel(j.verdict)}${j.current ? " (current)" : ""}${j.reason ? ` · “${j.reason}”` : ""}`),
        j.tests.length ? h("div.table-wrap", null, h("table.tests", null,
          h("thead", null, h("tr", null, h("th", { scope: "col" }, "Test"), h("th", { scope: "col" }, "Verdict"), h("th", { scope: "col" }, "CPU ms"), h("th", { scope: "col" }, "Message"))),
          h("tbody", null, j.tests.map((t) => h("tr", null, h("td", null, t.name), h("td", null, verdictLabel(t.verdict)), h("td", null, String(t.cpu_ms)), h("td", null, t.message)))))) : null)),
      rejudge, override));
  }
  list.addEventListener("click", (e) => {
    const a = (e.target as Element).closest("a");
    const id = a && new URL(a.href).searchParams.get("submission");
    if (!id) return;
    e.preventDefault();
    history.replaceState(null, "", `${base(slug)}/jury?submission=${encodeURIComponent(id)}`);
    void showSubmission(id);
  }, { capture: true });
  await Promise.all([loadList(), loadAudit()]);
  const pick = ctx.query.get("submission");
  if (pick) await showSubmission(pick);
}

async function juryClarifications(slug: string, teams: Map<string, string>): Promise<HTMLElement> {
  const box = h("div#jury-clars");
  async function load(): Promise<void> {
    const l = await get<{ clarifications: Clar[] }>(`${base(slug)}/clarifications`);
    const answered = new Set(l.clarifications.filter((x) => x.reply_to_id).map((x) => x.reply_to_id));
    mount(box, l.clarifications.length ? h("ul.clar-list", null, l.clarifications.map((x) => {
      const li = h("li.card.clar", { "data-clar": x.id },
        h("p.muted.small", null, `${x.from_team_id ? teams.get(x.from_team_id) ?? x.from_team_id : "Jury"}${x.problem_id ? ` · problem ${x.problem_id}` : ""} · ${when(x.time)}`),
        h("p.clar-text", null, x.text));
      if (x.from_team_id && !answered.has(x.id)) {
        const text = h("input", { name: `answer-${x.id}`, maxlength: "4000", "aria-label": `Answer to clarification ${x.id}` });
        const all = h("input", { type: "checkbox", name: `all-${x.id}`, id: `all-${x.id}` });
        const f = h("form.answer-form", { "data-answer": x.id }, text, " ", h("label", { for: `all-${x.id}` }, all, " to everyone"), " ",
          h("button.btn.btn-small", { type: "submit" }, "Answer"));
        f.addEventListener("submit", async (e) => {
          e.preventDefault();
          try {
            await post(`${base(slug)}/clarifications`, { text: text.value, reply_to_id: x.id, to_all: all.checked });
            await load();
          } catch (err) {
            toast(errorText(err), "error");
          }
        });
        li.append(f);
      }
      return li;
    })) : h("p.empty", null, "No clarifications yet."));
  }
  await load();
  return box;
}

// The contest editor for authors and admins: every field of a contest file
// (content/contests/<slug>.json, content/schema/contest.schema.json) — title,
// window, problems with labels and colours, scoring, registration and its
// invitation code, freeze, organisations, groups, medals — saved over
// PUT /api/v1/author/contests/{slug} with the version edited, problems of the
// definition shown next to their fields; and, for the contest's jury, its
// teams (POST/PUT /api/v1/contests/{slug}/teams). The content service is the
// authority on what a contest may be; this page only collects it.

import { ApiError, author, get, importContestPackage, post, put, type FieldError } from "../api";
import { h, mount, toast } from "../dom";
import { formKit, slugFollowsTitle, type Input } from "../form";
import { navigate, type Ctx } from "../router";

interface ProblemDef { label: string; task_slug: string; rgb?: string; color?: string; points?: number }
interface OrgDef { id: string; name: string; formal_name?: string; country?: string; url?: string }
interface GroupDef { id: string; name: string; type?: string }
interface ContestFile {
  slug: string; title: string; formal_name?: string; description?: string; start: string; duration: string | null;
  freeze_minutes: number; scoring: "icpc" | "ioi"; ioi_mode?: "best" | "last"; penalty_minutes: number;
  registration: "open" | "closed" | "invite"; invite_code_sha256?: string; hide_tasks_until_start: boolean;
  practice_after_end: boolean; max_team_size: number; problems: ProblemDef[]; organizations: OrgDef[]; groups: GroupDef[];
  medals: { gold: number; silver: number; bronze: number };
}
interface Team { id: string; name: string; organization_id: string | null; hidden: boolean; join_code: string | null; members: { user_id: string; display_name: string }[] }
interface WriteResult { change: string; errors: FieldError[]; warnings: FieldError[]; contest?: { slug: string; version: number; title: string } }

const PALETTE = ["#e74c3c", "#3498db", "#2ecc71", "#f1c40f", "#9b59b6", "#e67e22", "#1abc9c", "#34495e", "#ff69b4", "#8b4513"];
const enc = encodeURIComponent;

function blankContest(): ContestFile {
  const start = new Date(Date.now() + 7 * 86400_000);
  start.setUTCHours(9, 0, 0, 0);
  return {
    slug: "", title: "", formal_name: "", description: "", start: start.toISOString().replace(/\.\d{3}Z$/, "Z"), duration: "5:00:00",
    freeze_minutes: 60, scoring: "icpc", ioi_mode: "best", penalty_minutes: 20, registration: "open",
    hide_tasks_until_start: true, practice_after_end: true, max_team_size: 1,
    problems: [{ label: "A", task_slug: "", rgb: PALETTE[0], color: "" }], organizations: [], groups: [],
    medals: { gold: 0, silver: 0, bronze: 0 },
  };
}

/** The file as it goes to the server: optional empties and the mode's extras dropped. */
export function cleanedContest(c: ContestFile): ContestFile {
  const out: ContestFile = JSON.parse(JSON.stringify(c));
  if (!out.duration) { out.duration = null; out.freeze_minutes = 0; }
  if (out.scoring !== "ioi") delete out.ioi_mode;
  if (out.registration !== "invite") delete out.invite_code_sha256;
  for (const k of ["formal_name", "description"] as const) if (!out[k]) delete out[k];
  for (const p of out.problems) {
    if (!p.color) delete p.color;
    if (!p.rgb) delete p.rgb;
    if (out.scoring !== "ioi" || !p.points) delete p.points;
  }
  for (const o of out.organizations) for (const k of ["formal_name", "country", "url"] as const) if (!o[k]) delete o[k];
  for (const g of out.groups) if (!g.type) delete g.type;
  return out;
}

/** "2026-03-08T09:00:00Z" as the value of a datetime-local input (the browser's zone). */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromLocalInput(v: string): string {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? v : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The stored file and its version (content's, from X-Contest-Version: the
 * contest page's may lag behind by gamification's cache). */
async function exportFile(slug: string): Promise<{ file: Partial<ContestFile>; version: number }> {
  const res = await fetch(`/api/v1/author/contests/${enc(slug)}/export`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!res.ok) {
    const b = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(res.status, b.error?.code ?? `http_${res.status}`, b.error?.message ?? res.statusText);
  }
  return { file: (await res.json()) as Partial<ContestFile>, version: Number(res.headers.get("X-Contest-Version")) || 0 };
}

// ---------------------------------------------------------------------------
// The list

/** A contest slug from a package's file name ("WF 2014.zip" -> "wf-2014"). */
function slugOfFile(name: string): string {
  return name.replace(/\.zip$/i, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+|-+$/g, "").slice(0, 36);
}

/** Imports a CLICS contest package: into the slug typed, else the file's
 * name; opens the contest once stored, else lists what was refused. */
function packageImport(): HTMLElement {
  const slugIn = h("input#package-slug", { type: "text", name: "package_slug", placeholder: "its slug (default: the file's name)",
    pattern: "[a-z][a-z0-9-]{0,35}", maxlength: "36", autocapitalize: "off", spellcheck: "false", "aria-label": "Slug of the imported contest" });
  const file = h("input#f-contest-package", { type: "file", accept: ".zip,application/zip", class: "sr-only" });
  const report = h("section.card.report#contest-package-report", { "aria-live": "polite", tabindex: "-1", hidden: true });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    file.value = "";
    if (!f) return;
    const slug = slugIn.value.trim() || slugOfFile(f.name);
    try {
      const r = await importContestPackage(slug, f);
      if (r.status < 300) {
        toast(`Imported ${slug}: ${r.change ?? "stored"}, ${r.teams?.length ?? 0} teams`);
        navigate(`/author/contests/${enc(slug)}`);
        return;
      }
      mount(report, h("h2", null, "The package was not imported"),
        h("ul", null, (r.errors ?? []).map((e) => h("li", { "data-path": e.path }, h("code", null, e.path || "package"), ` ${e.message}`))));
      report.hidden = false;
      report.focus();
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), "error");
    }
  });
  return h("div.package-import", null, slugIn, h("label.btn#import-contest-package", { for: "f-contest-package" }, "Import CLICS package (.zip)…"), file, report);
}

export async function contestAdminIndex(main: HTMLElement): Promise<void> {
  const list = await get<{ contests: { slug: string; title: string; version: number; start: string | null; phase: string }[] }>("/contests");
  mount(main, h("section.page", null,
    h("div.page-head", null, h("h1", null, "Contest editor"),
      h("div.actions", null, h("a.btn.btn-primary#new-contest", { href: "/author/contests/new" }, "New contest"))),
    h("p.muted", null, "Every contest. Open one to change it; problems name tasks of the designer. A CLICS contest package (contest.yaml, problems.yaml with task slugs as ids, teams.json …) imports as a contest with its teams."),
    packageImport(),
    list.contests.length
      ? h("ul.task-list", null, list.contests.map((c) => h("li.task-row", { "data-contest": c.slug },
          h("a.task-title", { href: `/author/contests/${enc(c.slug)}` }, c.title),
          h("span.task-meta", null, h("span.muted", null, `v${c.version}`), h("span.badge", null, c.phase), h("code.muted", null, c.slug),
            h("a.small", { href: `/contests/${enc(c.slug)}` }, "Open")))))
      : h("p.empty", null, "No contests yet.")));
}

// ---------------------------------------------------------------------------
// The editor

export async function contestEditorPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  if (!slug) return contestAdminIndex(main);
  const isNew = slug === "new";
  let file = blankContest();
  let version = 0;
  let access = "public";
  if (!isNew) {
    mount(main, h("p.loading", null, "Loading contest…"));
    const [exported, page] = await Promise.all([exportFile(slug), get<{ access: string }>(`/contests/${enc(slug)}`)]);
    file = { ...blankContest(), ioi_mode: "best", ...exported.file } as ContestFile;
    file.organizations ??= [];
    file.groups ??= [];
    file.medals ??= { gold: 0, silver: 0, bronze: 0 };
    // A colour input takes #rrggbb only.
    for (const p of file.problems) if (p.rgb && p.rgb.length === 4) p.rgb = `#${[...p.rgb.slice(1)].map((x) => x + x).join("")}`;
    version = exported.version;
    access = page.access;
  }
  const taskSlugs = await author.list({ page_size: 500 }).then((r) => r.tasks.map((t) => t.slug)).catch(() => [] as string[]);
  if (ctx.signal.aborted) return;
  editor(main, file, isNew, version, access, taskSlugs);
}

function editor(main: HTMLElement, c: ContestFile, isNew: boolean, version: number, access: string, taskSlugs: string[]): void {
  const { fid, bind, fld, input, select: selectValues } = formKit("c");
  // [value, label] pairs, as this editor lists its choices.
  const select = (opts: [string, string][]) => {
    const names = new Map(opts);
    return selectValues(opts.map(([v]) => v), (v) => names.get(v) ?? v);
  };

  // ---- the contest -------------------------------------------------------------
  const slugIn = bind(c, "slug", input("text", { pattern: "[a-z][a-z0-9-]{0,35}", maxlength: "36", autocapitalize: "off", spellcheck: "false" }));
  const titleIn = bind(c, "title", input("text", { maxlength: "120" }));
  slugFollowsTitle(c, slugIn, titleIn, isNew, 36);
  const startIn = input("datetime-local", { step: "60" });
  startIn.value = toLocalInput(c.start);
  startIn.addEventListener("input", () => (c.start = fromLocalInput(startIn.value)));
  const durationIn = input("text", { placeholder: "5:00:00", pattern: "\\d+:[0-5]\\d:[0-5]\\d", autocomplete: "off" });
  durationIn.value = c.duration ?? "";
  durationIn.addEventListener("input", () => (c.duration = durationIn.value.trim() || null));
  const scoringSel = bind(c, "scoring", select([["icpc", "ICPC: problems solved, then penalty minutes"], ["ioi", "IOI: points per test group"]]));
  const ioiSel = bind(c, "ioi_mode", select([["best", "Best submission counts"], ["last", "Last submission counts"]]));
  const penaltyIn = bind(c, "penalty_minutes", input("number", { min: "0", max: "120" }), "int");
  const regSel = bind(c, "registration", select([["open", "Open: anyone signed in registers"], ["closed", "Closed: the jury adds the teams"], ["invite", "By invitation code"]]));
  const codeIn = input("text", { minlength: "6", maxlength: "64", autocomplete: "off", name: "invite_code" });
  const ioiBox = h("div", null, fld("IOI scoring", "$.ioi_mode", ioiSel));
  const penaltyBox = h("div", null, fld("Penalty minutes per rejected attempt", "$.penalty_minutes", penaltyIn, "Before the first accepted one; compile errors cost nothing."));
  const codeBox = h("div", null, fld("Invitation code", "$.invite_code_sha256", codeIn,
    c.invite_code_sha256 ? "A code is set. Type a new one to replace it; leave empty to keep it." : "6-64 characters. Only its SHA-256 is stored: note it down."));
  const sync = () => {
    ioiBox.hidden = c.scoring !== "ioi";
    penaltyBox.hidden = c.scoring === "ioi";
    codeBox.hidden = c.registration !== "invite";
    problemsBody.querySelectorAll<HTMLElement>(".points-cell").forEach((e) => (e.hidden = c.scoring !== "ioi"));
    pointsHead.hidden = c.scoring !== "ioi";
  };
  scoringSel.addEventListener("change", sync);
  regSel.addEventListener("change", sync);

  const basics = h("fieldset.card", null, h("legend", null, "Contest"),
    h("div.grid-2", null,
      fld("Title", "$.title", titleIn),
      fld("Slug", "$.slug", slugIn, isNew ? "Lower-case letters, digits and -, starting with a letter; at most 36. It never changes." : "A contest's slug never changes.")),
    fld("Formal name", "$.formal_name", bind(c, "formal_name", input("text", { maxlength: "200" })), "Optional: the long name, as on certificates."),
    fld("Description (Markdown)", "$.description", bind(c, "description", h("textarea", { rows: "4" }))));

  const windowSet = h("fieldset.card", null, h("legend", null, "Time and scoreboard"),
    h("div.grid-3", null,
      fld("Start", "$.start", startIn, `In your time zone (${Intl.DateTimeFormat().resolvedOptions().timeZone}).`),
      fld("Duration (h:mm:ss)", "$.duration", durationIn, "Empty: open-ended (never ends, never freezes)."),
      fld("Freeze: last minutes", "$.freeze_minutes", bind(c, "freeze_minutes", input("number", { min: "0" }), "int"), "0: no freeze. Participants still see their own results.")),
    h("div.grid-2", null, fld("Scoring", "$.scoring", scoringSel), h("div", null, ioiBox, penaltyBox)),
    h("div.grid-3", null,
      fld("Gold medals", "$.medals.gold", bind(c.medals, "gold", input("number", { min: "0", max: "100" }), "int")),
      fld("Silver medals", "$.medals.silver", bind(c.medals, "silver", input("number", { min: "0", max: "100" }), "int")),
      fld("Bronze medals", "$.medals.bronze", bind(c.medals, "bronze", input("number", { min: "0", max: "100" }), "int"))));

  const regSet = h("fieldset.card", null, h("legend", null, "Participants"),
    h("div.grid-2", null, fld("Registration", "$.registration", regSel),
      fld("Team size", "$.max_team_size", bind(c, "max_team_size", input("number", { min: "1", max: "10" }), "int"), "1: individuals.")),
    codeBox,
    fld("Hide the contest's tasks until the start", "$.hide_tasks_until_start", bind(c, "hide_tasks_until_start", input("checkbox"), "bool")),
    fld("Practice after the end (graded, not counted)", "$.practice_after_end", bind(c, "practice_after_end", input("checkbox"), "bool")));

  // ---- problems ------------------------------------------------------------------
  const datalist = h("datalist#contest-task-slugs", null, taskSlugs.map((s) => h("option", { value: s })));
  const problemsBody = h("tbody");
  const pointsHead = h("th", { scope: "col" }, "Points");
  function renderProblems(): void {
    mount(problemsBody, c.problems.map((p, i) => {
      const cell = (key: keyof ProblemDef, el: Input, label: string, kind: "text" | "int" = "text") => {
        bind(p, key, el, kind);
        el.id = fid(`p${i}${key}`);
        el.dataset.path = `$.problems[${i}].${key}`;
        el.setAttribute("aria-label", `Problem ${i + 1} ${label}`);
        el.setAttribute("name", `problems_${i}_${key}`);
        return h("td", null, el, h("small.field-error"));
      };
      const move = (d: number) => {
        const j = i + d;
        if (j < 0 || j >= c.problems.length) return;
        [c.problems[i], c.problems[j]] = [c.problems[j], c.problems[i]];
        renderProblems();
      };
      const points = cell("points", input("number", { min: "1", max: "10000", placeholder: "100" }), "points", "int");
      points.classList.add("points-cell");
      points.hidden = c.scoring !== "ioi";
      return h("tr", { "data-problem": String(i) },
        cell("label", input("text", { maxlength: "8", size: "4" }), "label"),
        cell("task_slug", input("text", { list: "contest-task-slugs", autocapitalize: "off", spellcheck: "false" }), "task"),
        cell("rgb", input("color"), "colour"),
        cell("color", input("text", { maxlength: "32", placeholder: "red" }), "colour name"),
        points,
        h("td.row-actions", null,
          h("button.icon-btn", { type: "button", "aria-label": `Move problem ${i + 1} up`, disabled: i === 0, onclick: () => move(-1) }, "↑"),
          h("button.icon-btn", { type: "button", "aria-label": `Move problem ${i + 1} down`, disabled: i === c.problems.length - 1, onclick: () => move(1) }, "↓"),
          removeBtn(`Remove problem ${i + 1}`, () => { c.problems.splice(i, 1); renderProblems(); }, c.problems.length <= 1)));
    }));
  }
  renderProblems();
  const problemsSet = h("fieldset.card", null, h("legend", null, "Problems"),
    h("p.muted", null, "Each problem is a task of the designer, with its label (A, B, …) and balloon colour."),
    datalist,
    h("div.table-wrap", null, h("table.tests-edit#problems-table", null,
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Label"), h("th", { scope: "col" }, "Task"), h("th", { scope: "col" }, "Colour"),
        h("th", { scope: "col" }, "Colour name"), pointsHead, h("th", { scope: "col" }, h("span.sr-only", null, "Actions")))),
      problemsBody)),
    addBtn("Add problem", () => {
      const n = c.problems.length;
      c.problems.push({ label: n < 26 ? String.fromCharCode(65 + n) : `P${n + 1}`, task_slug: "", rgb: PALETTE[n % PALETTE.length], color: "" });
      renderProblems();
      (problemsBody.rows[n]?.querySelectorAll("input")[1] as HTMLElement | undefined)?.focus();
    }));

  // ---- organisations and groups ----------------------------------------------------
  function listSet<T extends object>(title: string, key: "organizations" | "groups", cols: [keyof T, string, Record<string, string>][], blank: () => T, help: string): HTMLElement {
    const box = h("div");
    const items = c[key] as unknown as T[];
    const render = () => mount(box, items.map((o, i) => h("div.sub-card", { "data-item": `${key}-${i}` },
      h(`div.grid-${Math.min(cols.length, 4)}` as "div", null, cols.map(([k, label, attrs]) =>
        fld(label, `$.${key}[${i}].${String(k)}`, bind(o, k, input("text", attrs))))),
      removeBtn(`Remove ${title.toLowerCase().replace(/s$/, "")} ${i + 1}`, () => { items.splice(i, 1); render(); }, false))));
    render();
    return h("fieldset.card", null, h("legend", null, title), h("p.muted", null, help), box,
      addBtn(`Add ${title.toLowerCase().replace(/s$/, "")}`, () => { items.push(blank()); render(); }));
  }
  const orgSet = listSet<OrgDef>("Organisations", "organizations", [
    ["id", "Id", { maxlength: "36", pattern: "[a-z0-9_-]+" }], ["name", "Name", { maxlength: "120" }],
    ["formal_name", "Formal name", { maxlength: "200" }], ["country", "Country (ISO alpha-3)", { maxlength: "3", placeholder: "NLD" }],
    ["url", "Web site", { maxlength: "300", type: "url" }]],
  () => ({ id: "", name: "" }), "Universities, schools or clubs teams belong to.");
  const groupSet = listSet<GroupDef>("Groups", "groups", [
    ["id", "Id", { maxlength: "36", pattern: "[a-z0-9_-]+" }], ["name", "Name", { maxlength: "120" }], ["type", "Type", { maxlength: "32" }]],
  () => ({ id: "", name: "" }), "Scoreboard groups (divisions, regions).");

  // ---- actions -----------------------------------------------------------------------
  const report = h("section.card.report#contest-report", { "aria-live": "polite", tabindex: "-1", hidden: true });
  const checkBtn = h("button.btn#contest-validate", { type: "button" }, "Check");
  const saveBtn = h("button.btn.btn-primary#contest-save", { type: "button" }, isNew ? "Create contest" : "Save new version");
  const status = h("span.muted#contest-version", null, isNew ? "New contest" : `Editing v${version}`);
  const bar = h("div.designer-actions", null, checkBtn, saveBtn,
    isNew ? null : h("a.btn.btn-ghost", { href: `/api/v1/author/contests/${enc(c.slug)}/export`, download: `${c.slug}.json` }, "Export JSON"),
    isNew ? null : h("a.btn.btn-ghost#contest-package", { href: `/api/v1/author/contests/${enc(c.slug)}/package`, download: `${c.slug}.zip` }, "Export CLICS package"),
    isNew ? null : h("a.btn.btn-ghost", { href: `/contests/${enc(c.slug)}` }, "Open the contest"), status);
  const form = h("form.designer#contest-form", { novalidate: true, "aria-label": "Contest" }, basics, windowSet, regSet, problemsSet, orgSet, groupSet);
  form.addEventListener("submit", (e) => e.preventDefault());
  const teamsBox = h("div#contest-teams");
  mount(main, h("section.page.designer-page", null,
    h("div.page-head", null, h("h1", null, isNew ? "New contest" : `Edit: ${c.title}`), h("a", { href: "/author/contests" }, "All contests")),
    bar, report, form, teamsBox));
  sync();
  if (!isNew) void renderTeams(teamsBox, c, access);

  function fieldFor(path: string): HTMLElement | null {
    let p = path;
    for (let i = 0; p && i < 8; i++) {
      const el = form.querySelector<HTMLElement>(`[data-path="${CSS.escape(p)}"]`);
      if (el) return el;
      const cut = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (cut === p) break;
      p = cut;
    }
    return null;
  }
  function showReport(title: string, good: boolean, errors: FieldError[], warnings: FieldError[] = []): void {
    form.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
    const item = (e: FieldError) => {
      const el = fieldFor(e.path);
      if (el) {
        el.setAttribute("aria-invalid", "true");
        const slot = el.parentElement?.querySelector(".field-error");
        if (slot && !slot.textContent) slot.textContent = e.message;
      }
      const link = h("button.link-btn", { type: "button" }, e.path || "contest");
      link.addEventListener("click", () => { el?.scrollIntoView({ block: "center" }); el?.focus(); });
      return h("li", { "data-path": e.path }, link, `: ${e.message}`);
    };
    mount(report, h("h2", { class: good ? "good" : "bad" }, title),
      errors.length ? h("ul.err-list", null, errors.map(item)) : null,
      warnings.length ? h("div", null, h("h3", null, "Warnings"), h("ul.warn-list", null, warnings.map(item))) : null);
    report.hidden = false;
    report.focus();
  }
  async function send(dry: boolean): Promise<void> {
    if (!c.slug) {
      showReport("1 problem: nothing was saved", false, [{ path: "$.slug", message: "required: the contest's slug" }]);
      return;
    }
    checkBtn.disabled = saveBtn.disabled = true;
    try {
      const body = { contest: cleanedContest(c), expected_version: version, dry_run: dry, invite_code: codeIn.value || undefined };
      const r = await put<WriteResult>(`/author/contests/${enc(c.slug)}`, body);
      if (dry) { showReport(`No problems (${r.change.replace("_", " ")})`, true, [], r.warnings); return; }
      toast(r.change === "unchanged" ? "No changes to save." : `Saved “${r.contest?.title}” (v${r.contest?.version}).`, "success");
      if (isNew) navigate(`/author/contests/${enc(c.slug)}`, true);
      else if (r.contest) { version = r.contest.version; status.textContent = `Editing v${version}`; report.hidden = true; }
    } catch (e) {
      const b = e instanceof ApiError ? (e.body as Partial<WriteResult> | undefined) : undefined;
      if (e instanceof ApiError && e.status === 422 && b?.errors)
        showReport(`${b.errors.length} problem${b.errors.length === 1 ? "" : "s"}: nothing was saved`, false, b.errors, b.warnings ?? []);
      else if (e instanceof ApiError && e.code === "aborted")
        showReport("Someone saved a newer version meanwhile. Reload to see it.", false, []);
      else showReport(e instanceof ApiError ? e.message : String((e as Error).message), false,
        e instanceof ApiError && e.field ? [{ path: e.field, message: e.message }] : []);
    } finally {
      checkBtn.disabled = saveBtn.disabled = false;
    }
  }
  checkBtn.addEventListener("click", () => void send(true));
  saveBtn.addEventListener("click", () => void send(false));
}

// ---------------------------------------------------------------------------
// Teams (the contest's jury)

async function renderTeams(box: HTMLElement, c: ContestFile, access: string): Promise<void> {
  const base = `/contests/${enc(c.slug)}/teams`;
  if (access !== "jury") {
    mount(box, h("section.card", null, h("h2", null, "Teams"), h("p.muted", null, "The contest's jury (and admins) add and change teams.")));
    return;
  }
  const orgName = (id: string | null) => c.organizations.find((o) => o.id === id)?.name ?? "";
  const orgSelect = (value: string | null, label: string) => h("select", { "aria-label": label },
    h("option", { value: "" }, "No organisation"), c.organizations.map((o) => h("option", { value: o.id, selected: o.id === value }, o.name)));
  const load = async () => {
    const t = await get<{ teams: Team[] }>(base);
    const name = h("input#new-team-name", { name: "new_team_name", maxlength: "64", autocomplete: "off" });
    const org = orgSelect(null, "Organisation of the new team");
    org.id = "new-team-org";
    const hidden = h("input#new-team-hidden", { type: "checkbox" });
    const msg = h("p.field-error", { "aria-live": "polite" });
    const add = h("form.card#team-form", null, h("h3", null, "Add a team"),
      h("div.grid-3", null,
        h("div.field", null, h("label", { for: name.id }, "Name"), name),
        h("div.field", null, h("label", { for: org.id }, "Organisation"), org),
        h("div.field", null, h("label.check", { for: hidden.id }, hidden, " Hidden from the public scoreboard"))),
      msg, h("button.btn.btn-primary", { type: "submit" }, "Add team"));
    add.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await post(base, { name: name.value, organization_id: org.value || undefined, hidden: hidden.checked });
        toast(`Team “${name.value}” added.`, "success");
        await load();
      } catch (err) {
        msg.textContent = err instanceof ApiError ? err.message : String(err);
      }
    });
    mount(box, h("section", null, h("h2", null, `Teams (${t.teams.length})`),
      t.teams.length ? h("div.table-wrap", null, h("table#teams-table", null,
        h("thead", null, h("tr", null, ["Name", "Organisation", "Hidden", "Members", "Join code", ""].map((x) => h("th", { scope: "col" }, x || h("span.sr-only", null, "Actions"))))),
        h("tbody", null, t.teams.map((x) => {
          const nm = h("input", { value: x.name, maxlength: "64", "aria-label": `Name of team ${x.name}` });
          const og = orgSelect(x.organization_id, `Organisation of team ${x.name}`);
          const hd = h("input", { type: "checkbox", checked: x.hidden, "aria-label": `Team ${x.name} hidden` });
          const save = h("button.btn.btn-small", { type: "button" }, "Save");
          save.addEventListener("click", async () => {
            try {
              await put(`${base}/${enc(x.id)}`, { name: nm.value, organization_id: og.value || undefined, hidden: hd.checked });
              toast(`Team “${nm.value}” saved.`, "success");
              await load();
            } catch (err) {
              toast(err instanceof ApiError ? err.message : String(err), "error");
            }
          });
          return h("tr", { "data-team": x.id, title: orgName(x.organization_id) }, h("td", null, nm), h("td", null, og), h("td.center", null, hd),
            h("td", null, x.members.map((m) => m.display_name).join(", ") || "—"), h("td", null, h("code", null, x.join_code ?? "")), h("td", null, save));
        })))) : h("p.empty", null, "No teams yet."),
      add));
  };
  try {
    await load();
  } catch (e) {
    mount(box, h("p.error-box", { role: "alert" }, e instanceof ApiError ? e.message : String(e)));
  }
}

function addBtn(label: string, f: () => void): HTMLButtonElement {
  return h("button.btn.btn-small.add-btn", { type: "button", onclick: f }, `+ ${label}`);
}

function removeBtn(label: string, f: () => void, disabled: boolean): HTMLButtonElement {
  return h("button.icon-btn.remove-btn", { type: "button", "aria-label": label, title: label, disabled, onclick: f }, "✕");
}

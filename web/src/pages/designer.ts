// The task designer for authors: every task field, a test-case table with
// hidden toggles, validation with precise paths, running the reference and
// known-wrong solutions on the real executor, save, and JSON export/import.

import {
  ApiError, author, meta,
  type FieldError, type Language, type ReferenceRunReport, type Solution, type TaskFile, type TestCase, type ValidationReport,
} from "../api";
import { h, mount, toast } from "../dom";
import { formKit, slugFollowsTitle } from "../form";
import { CHECKERS, DIFFICULTIES, verdictText } from "../enums";
import { renderMarkdown } from "../markdown";
import { navigate, type Ctx } from "../router";
import { difficultyBadge } from "./tasks";

const WRONG_VERDICTS = ["", "wa", "tle", "mle", "re", "ole", "ce"];

function blankTask(): TaskFile {
  return {
    slug: "",
    title: "",
    difficulty: "easy",
    points: 0,
    description: "Describe the task.\n\n## Input\n\n...\n\n## Output\n\n...\n",
    tags: [],
    languages: [{ language: "python3", starter_code: "import sys\n\n\ndef main() -> None:\n    data = sys.stdin.read().split()\n    # TODO\n\n\nif __name__ == \"__main__\":\n    main()\n" }],
    limits: { cpu_ms: 2000, wall_ms: 5000, memory_kib: 262144, output_kib: 1024 },
    checker: { kind: "ignore_trailing_ws" },
    tests: [{ name: "sample-1", input: "", expected: "", hidden: false, weight: 1 }],
    hints: [],
    reference_solutions: [{ name: "reference", language: "python3", code: "" }],
    wrong_solutions: [],
  };
}

/** Fills in what a task file may leave out, so the form always has every field. */
function normalise(t: Partial<TaskFile>): TaskFile {
  const b = blankTask();
  return {
    ...b,
    ...t,
    tags: t.tags ?? [],
    languages: t.languages?.length ? t.languages.map((l) => ({ ...l, starter_code: l.starter_code ?? "" })) : b.languages,
    limits: { ...b.limits, ...(t.limits ?? {}) },
    checker: { kind: "ignore_trailing_ws", ...(t.checker ?? {}) },
    tests: (t.tests ?? []).map((x) => ({
      name: x.name ?? "", input: x.input ?? "", expected: x.expected ?? "", hidden: Boolean(x.hidden), weight: x.weight ?? 1,
      ...(x.group ? { group: x.group } : {}),
      ...(x.input_sha256 ? { input_sha256: x.input_sha256 } : {}),
      ...(x.expected_sha256 ? { expected_sha256: x.expected_sha256 } : {}),
      // A package group's own flags: not edited here, but kept.
      ...(x.validator_flags ? { validator_flags: x.validator_flags } : {}),
    })),
    hints: t.hints ?? [],
    reference_solutions: t.reference_solutions ?? [],
    wrong_solutions: t.wrong_solutions ?? [],
  };
}

/** The task as it goes to the server: optional empties dropped. */
function cleaned(t: TaskFile): TaskFile {
  const out: TaskFile = JSON.parse(JSON.stringify(t));
  if (!out.points) delete out.points;
  if (out.checker && out.checker.kind !== "float" && out.checker.kind !== "default_validator") { delete out.checker.abs_tol; delete out.checker.rel_tol; }
  if (out.checker && out.checker.kind !== "default_validator") { delete out.checker.case_sensitive; delete out.checker.space_change_sensitive; }
  if (out.checker && out.checker.kind !== "custom") delete out.checker.custom;
  if (out.checker && out.checker.kind !== "package_validator") { delete out.checker.language; delete out.checker.files; delete out.checker.flags; delete out.checker.interactive; }
  // A blob's hash stands for the data: no empty text beside it.
  for (const t of out.tests) {
    if (t.input_sha256) delete (t as Partial<TestCase>).input;
    if (t.expected_sha256) delete (t as Partial<TestCase>).expected;
  }
  for (const s of out.wrong_solutions ?? []) if (!s.expected_verdict) delete s.expected_verdict;
  for (const s of out.reference_solutions ?? []) delete s.expected_verdict;
  if (!out.editorial) delete out.editorial;
  return out;
}

export async function designerPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  if (!slug) return taskIndex(main, ctx);
  const isNew = slug === "new";
  let task: TaskFile;
  let version = 0;
  if (isNew) task = blankTask();
  else {
    mount(main, h("p.loading", null, "Loading task…"));
    const at = await author.get(slug);
    task = normalise(at.task);
    version = at.version;
  }
  const languages: Language[] = await meta.languages().then((r) => r.languages).catch(() => []);
  if (ctx.signal.aborted) return;
  editor(main, task, isNew, version, languages);
}

async function taskIndex(main: HTMLElement, ctx: Ctx): Promise<void> {
  const list = h("ul.task-list");
  const importInput = h("input#f-import", { type: "file", accept: "application/json,.json", class: "sr-only" });
  const pkgInput = h("input#f-package", { type: "file", accept: ".zip,.kpp,application/zip", class: "sr-only" });
  const pkgReport = h("section.card.report#package-report", { "aria-live": "polite", tabindex: "-1", hidden: true });
  mount(main, h("section.page", null,
    h("div.page-head", null, h("h1", null, "Task designer"),
      h("div.actions", null,
        h("a.btn.btn-primary#new-task", { href: "/designer/new" }, "New task"),
        h("label.btn", { for: "f-import" }, "Import JSON…"), importInput,
        h("label.btn#import-package", { for: "f-package" }, "Import package (.zip)…"), pkgInput)),
    h("p.muted", null, "Every task, archived ones too. Open one to edit it, or start a new one. A problem package (Kattis / ICPC format) imports after its submissions ran with their expected verdicts."),
    pkgReport,
    list));
  pkgInput.addEventListener("change", async () => {
    const f = pkgInput.files?.[0];
    if (!f) return;
    pkgReport.hidden = false;
    mount(pkgReport, h("p", null, `Importing ${f.name}: running its submissions…`));
    try {
      const r = await author.importPackage(f, f.name);
      const issues = (list: { path: string; message: string }[] | undefined, cls: string) =>
        list?.length ? h(`ul.${cls}`, null, list.map((e) => h("li", null, h("code", null, e.path), " ", e.message))) : null;
      const runs = r.results?.length
        ? h("ul.runs", null, r.results.map((x) => h("li", { class: x.as_expected ? "ok" : "bad" },
          h("code", null, x.name), ` expected ${x.expected_verdict}, got ${x.verdict ?? "no verdict"}`)))
        : null;
      if (r.status === 422) {
        mount(pkgReport, h("p.bad", null, `${f.name} was not imported: ${r.error?.message ?? "refused"}`),
          issues(r.errors, "errors"), runs, issues(r.warnings, "warnings"));
      } else {
        const slug = r.task?.slug ?? "";
        mount(pkgReport, h("p.ok", null, `${f.name}: ${slug} ${r.change ?? "imported"}. `,
          h("a#open-imported", { href: `/designer/${encodeURIComponent(slug)}` }, "Open it")),
        runs, issues(r.warnings, "warnings"));
      }
    } catch (e) {
      mount(pkgReport, h("p.bad", null, (e as Error).message));
    }
    pkgReport.focus();
    pkgInput.value = "";
  });
  importInput.addEventListener("change", async () => {
    const f = importInput.files?.[0];
    if (!f) return;
    try {
      const t = normalise(JSON.parse(await f.text()));
      sessionStorage.setItem("dojo.designer.import", JSON.stringify(t));
      navigate("/designer/new?import=1");
    } catch (e) {
      toast(`Not a task file: ${(e as Error).message}`, "error");
    }
  });
  const r = await author.list({ page_size: 500 });
  if (ctx.signal.aborted) return;
  mount(list, r.tasks.map((t) => h("li.task-row", { "data-slug": t.slug },
    h("span.state", { "aria-hidden": "true" }, t.status === "archived" ? "🗄" : ""),
    h("a.task-title", { href: `/designer/${encodeURIComponent(t.slug)}` }, t.title),
    h("span.task-meta", null, difficultyBadge(t.difficulty), h("span.muted", null, `v${t.version}`),
      t.status === "archived" ? h("span.badge", null, "archived") : null, h("code.muted", null, t.slug),
      h("a.small.analytics-link", { href: `/designer/${encodeURIComponent(t.slug)}/analytics`, "aria-label": `Analytics of ${t.title}` }, "Analytics")))));
  if (!r.tasks.length) list.append(h("li.empty", null, "No tasks yet."));
}

function editor(main: HTMLElement, task: TaskFile, isNew: boolean, version: number, languages: Language[]): void {
  if (isNew && new URLSearchParams(location.search).get("import")) {
    try {
      task = normalise(JSON.parse(sessionStorage.getItem("dojo.designer.import") ?? "{}"));
    } catch { /* keep the blank task */ }
    sessionStorage.removeItem("dojo.designer.import");
  }
  const langIds = languages.length ? languages.map((l) => l.id) : ["python3"];
  const langLabel = (id: string) => languages.find((l) => l.id === id)?.display_name ?? id;
  let dirty = false;
  const touch = () => { dirty = true; };

  // Binds an input to a property of an object in the task.
  const { fid, bind, fld, input, select } = formKit("d", touch);
  const area = (rows = 4, mono = true) => h("textarea", { rows: String(rows), spellcheck: "false", class: mono ? "mono" : "" });

  // ---- basics --------------------------------------------------------------
  const slugIn = bind(task, "slug", input("text", { pattern: "[a-z][a-z0-9-]{0,63}", autocapitalize: "off", spellcheck: "false" }));
  const titleIn = bind(task, "title", input("text", { maxlength: "120" }));
  slugFollowsTitle(task, slugIn, titleIn, isNew, 64);
  const tagsIn = input("text", { placeholder: "strings, math" });
  tagsIn.value = task.tags.join(", ");
  tagsIn.addEventListener("input", () => {
    task.tags = tagsIn.value.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    touch();
  });
  const desc = bind(task, "description", area(14, false));
  const preview = h("div.md-preview", { "aria-live": "polite" });
  const previewBtn = h("button.btn.btn-small", { type: "button", "aria-pressed": "false" }, "Preview");
  previewBtn.addEventListener("click", () => {
    const on = previewBtn.getAttribute("aria-pressed") !== "true";
    previewBtn.setAttribute("aria-pressed", String(on));
    preview.replaceChildren(on ? renderMarkdown(task.description) : "");
    preview.hidden = !on;
  });
  preview.hidden = true;
  desc.addEventListener("input", () => { if (!preview.hidden) preview.replaceChildren(renderMarkdown(task.description)); });

  const limits = task.limits!;
  const checker = task.checker!;
  const checkerSel = bind(checker, "kind", select([...CHECKERS], (o) => o.replace(/_/g, " ")));
  const tolBox = h("div.grid-2", null,
    fld("Absolute tolerance", "$.checker.abs_tol", bind(checker, "abs_tol", input("number", { step: "any", min: "0" }), "float")),
    fld("Relative tolerance", "$.checker.rel_tol", bind(checker, "rel_tol", input("number", { step: "any", min: "0" }), "float")));
  checker.custom ??= { language: langIds[0], source: "" };
  const customBox = h("div", null,
    fld("Checker language", "$.checker.custom.language", bind(checker.custom, "language", select(langIds))),
    fld("Checker source", "$.checker.custom.source", bind(checker.custom, "source", area(8)),
      "Runs with three file arguments: input, expected, actual. Exit 0 accepts, 1 rejects."));
  const flag = (key: "case_sensitive" | "space_change_sensitive", label: string) => {
    const el = bind(checker, key, input("checkbox"), "bool");
    el.id = fid(`$.checker.${key}`);
    el.dataset.path = `$.checker.${key}`;
    return h("div.field", { "data-field": `$.checker.${key}` }, h("label.check", { for: el.id }, el, ` ${label}`), h("small.field-error"));
  };
  const validatorBox = h("div", null,
    h("p.small.muted", null, "The problem package format's default output validator: tokens, ignoring case and spacing unless told; with a tolerance, numbers (nan and inf too) compare as floats."),
    flag("case_sensitive", "Case-sensitive"), flag("space_change_sensitive", "Whitespace must match"));
  // A package's output validator (or interactor) comes with its files from a
  // package import; the designer shows what it is and keeps it as it is.
  const files = checker.files ?? [];
  const packageBox = h("div", { "data-field": "$.checker.files" },
    h("p.small.muted", null, files.length
      ? `The package's ${checker.interactive ? "interactor" : "output validator"} in ${checker.language ?? "?"}: ${files.map((f) => f.name).join(", ")}${checker.flags?.length ? `; flags: ${checker.flags.join(" ")}` : ""}. Import the package again to change it.`
      : "Set by importing a problem package (its output validator or interactor)."),
    h("small.field-error"));
  const syncChecker = () => {
    tolBox.hidden = checker.kind !== "float" && checker.kind !== "default_validator";
    validatorBox.hidden = checker.kind !== "default_validator";
    customBox.hidden = checker.kind !== "custom";
    packageBox.hidden = checker.kind !== "package_validator";
  };
  checkerSel.addEventListener("change", syncChecker);
  syncChecker();

  const basics = h("fieldset.card", null, h("legend", null, "Task"),
    h("div.grid-2", null,
      fld("Title", "$.title", titleIn),
      fld("Slug", "$.slug", slugIn, isNew ? "Lower-case letters, digits and -, starting with a letter. It never changes." : "A task's slug never changes.")),
    h("div.grid-3", null,
      fld("Difficulty", "$.difficulty", bind(task, "difficulty", select([...DIFFICULTIES]))),
      fld("Points", "$.points", bind(task, "points", input("number", { min: "0", max: "1000" }), "int"), "0: the difficulty's default (10 / 30 / 60)."),
      fld("Tags", "$.tags", tagsIn, "Comma-separated, [a-z0-9-].")),
    h("div.field-head", null, h("span", null, "Statement (Markdown; raw HTML is shown as text)"), previewBtn),
    fld("Statement", "$.description", desc),
    preview);

  const limitsSet = h("fieldset.card", null, h("legend", null, "Limits and checking"),
    h("div.grid-4", null,
      fld("CPU ms", "$.limits.cpu_ms", bind(limits, "cpu_ms", input("number", { min: "100", max: "10000" }), "int")),
      fld("Wall ms", "$.limits.wall_ms", bind(limits, "wall_ms", input("number", { min: "100", max: "30000" }), "int")),
      fld("Memory KiB", "$.limits.memory_kib", bind(limits, "memory_kib", input("number", { min: "16384", max: "1048576" }), "int")),
      fld("Output KiB", "$.limits.output_kib", bind(limits, "output_kib", input("number", { min: "1", max: "16384" }), "int"))),
    fld("Checker", "$.checker.kind", checkerSel), tolBox, validatorBox, customBox, packageBox);

  // ---- languages -------------------------------------------------------------
  const langBox = h("div");
  function renderLangs(): void {
    mount(langBox, task.languages.map((l, i) => h("div.sub-card", null,
      h("div.grid-2", null,
        fld("Language", `$.languages[${i}].language`, bind(l, "language", select([...new Set([...langIds, l.language])], langLabel))),
        h("div.row-actions", null, removeBtn(`Remove language ${i + 1}`, () => { task.languages.splice(i, 1); renderLangs(); }, task.languages.length <= 1))),
      fld("Starter code", `$.languages[${i}].starter_code`, bind(l, "starter_code", area(8))))));
  }
  renderLangs();
  const restrictIn = bind(task, "restrict_languages", input("checkbox"), "bool");
  restrictIn.id = fid("$.restrict_languages");
  restrictIn.dataset.path = "$.restrict_languages";
  const langSet = h("fieldset.card", null, h("legend", null, "Languages and starter code"),
    h("p.small.muted", null, "Learners may submit in every language Dojo runs; the ones listed here come first, with their starter code."),
    langBox,
    addBtn("Add language", () => { task.languages.push({ language: langIds[0], starter_code: "" }); renderLangs(); }),
    h("div.field", { "data-field": "$.restrict_languages" },
      h("label.check", { for: restrictIn.id }, restrictIn, " Accept only the languages listed here"), h("small.field-error")));

  // ---- tests -----------------------------------------------------------------
  const testsBody = h("tbody");
  function renderTests(): void {
    mount(testsBody, task.tests.map((t, i) => testRow(t, i)));
  }
  function testRow(t: TestCase, i: number): HTMLElement {
    const name = bind(t, "name", input("text", { "aria-label": `Test ${i + 1} name` }));
    // Data kept in a blob is not editable here: its hash is shown instead.
    const blob = (sha: string, what: string) =>
      h("code.blob", { title: `${what} is uploaded data (SHA-256 ${sha})`, tabindex: "0", "aria-label": `Test ${i + 1} ${what}: uploaded data ${sha.slice(0, 12)}` },
        `blob ${sha.slice(0, 12)}…`);
    const inp = t.input_sha256 ? blob(t.input_sha256, "input") : bind(t, "input", area(3));
    if (!t.input_sha256) inp.setAttribute("aria-label", `Test ${i + 1} input`);
    const exp = t.expected_sha256 ? blob(t.expected_sha256, "expected output") : bind(t, "expected", area(3));
    if (!t.expected_sha256) exp.setAttribute("aria-label", `Test ${i + 1} expected output`);
    const hidden = bind(t, "hidden", input("checkbox", { "aria-label": `Test ${i + 1} hidden` }), "bool");
    const weight = bind(t, "weight", input("number", { min: "0", max: "100", "aria-label": `Test ${i + 1} weight` }), "int");
    for (const [el, p] of [[name, "name"], [inp, t.input_sha256 ? "input_sha256" : "input"],
      [exp, t.expected_sha256 ? "expected_sha256" : "expected"], [hidden, "hidden"], [weight, "weight"]] as const) {
      el.dataset.path = `$.tests[${i}].${p}`;
      el.id = fid(`t${i}${p}`);
    }
    const move = (d: number) => {
      const j = i + d;
      if (j < 0 || j >= task.tests.length) return;
      [task.tests[i], task.tests[j]] = [task.tests[j], task.tests[i]];
      touch();
      renderTests();
      (testsBody.rows[j]?.querySelector("input") as HTMLElement | null)?.focus();
    };
    return h("tr", { class: t.hidden ? "is-hidden" : "", "data-test": String(i) },
      h("td", null, h("span.muted", null, `${i + 1}`)),
      h("td", null, name, h("small.field-error")),
      h("td", null, inp, h("small.field-error")),
      h("td", null, exp, h("small.field-error")),
      h("td.center", null, h("label.toggle", null, hidden, h("span", null, " hidden"))),
      h("td", null, weight),
      h("td.row-actions", null,
        h("button.icon-btn", { type: "button", "aria-label": `Move test ${i + 1} up`, disabled: i === 0, onclick: () => move(-1) }, "↑"),
        h("button.icon-btn", { type: "button", "aria-label": `Move test ${i + 1} down`, disabled: i === task.tests.length - 1, onclick: () => move(1) }, "↓"),
        removeBtn(`Remove test ${i + 1}`, () => { task.tests.splice(i, 1); renderTests(); }, false)));
  }
  testsBody.addEventListener("change", (e) => {
    const el = e.target as HTMLInputElement;
    if (el.type === "checkbox") el.closest("tr")?.classList.toggle("is-hidden", el.checked);
  });
  renderTests();
  const testsSet = h("fieldset.card", null, h("legend", null, "Test cases"),
    h("p.muted", null, "Visible tests are shown to learners as examples; hidden ones only ever show a verdict. At least one must be visible, unless the task has none on purpose (no_visible_tests, as for a package without samples)."),
    h("div.table-wrap", null, h("table.tests-edit#tests-table", null,
      h("thead", null, h("tr", null, ["#", "Name", "Input", "Expected output", "Hidden", "Weight", ""].map((c) => h("th", { scope: "col" }, c || h("span.sr-only", null, "Actions"))))),
      testsBody)),
    addBtn("Add test", () => {
      task.tests.push({ name: `test-${task.tests.length + 1}`, input: "", expected: "", hidden: true, weight: 1 });
      renderTests();
      (testsBody.rows[testsBody.rows.length - 1]?.querySelector("textarea") as HTMLElement | null)?.focus();
    }));

  // ---- hints -------------------------------------------------------------------
  const hintsBox = h("div");
  function renderHints(): void {
    mount(hintsBox, (task.hints ?? []).map((_, i) => {
      const ta = area(2, false);
      ta.value = task.hints![i];
      ta.addEventListener("input", () => { task.hints![i] = ta.value; touch(); });
      return h("div.sub-card", null, fld(`Hint ${i + 1}`, `$.hints[${i}]`, ta),
        removeBtn(`Remove hint ${i + 1}`, () => { task.hints!.splice(i, 1); renderHints(); }, false));
    }));
  }
  renderHints();
  const hintsSet = h("fieldset.card", null, h("legend", null, "Hints"), hintsBox,
    addBtn("Add hint", () => { (task.hints ??= []).push(""); renderHints(); }));
  task.editorial ??= "";
  const editorialSet = h("fieldset.card", null, h("legend", null, "Editorial"),
    fld("Editorial (Markdown)", "$.editorial", bind(task, "editorial", area(8, false)),
      "How to solve it. Learners see it, with the reference solutions, only after their own accepted submission."));

  // ---- solutions ---------------------------------------------------------------
  function solutionsSet(kind: "reference_solutions" | "wrong_solutions", title: string, help: string): HTMLElement {
    const box = h("div");
    const render = () => mount(box, (task[kind] ?? []).map((s: Solution, i: number) => h("div.sub-card", null,
      h(kind === "wrong_solutions" ? "div.grid-3" : "div.grid-2", null,
        fld("Name", `$.${kind}[${i}].name`, bind(s, "name", input("text"))),
        fld("Language", `$.${kind}[${i}].language`, bind(s, "language", select([...new Set([...langIds, s.language])]))),
        kind === "wrong_solutions" ? fld("Must get", `$.${kind}[${i}].expected_verdict`,
          bind(s, "expected_verdict", select(WRONG_VERDICTS, (v) => (v ? verdictText(v) : "anything but Accepted")))) : null),
      fld("Code", `$.${kind}[${i}].code`, bind(s, "code", area(10))),
      removeBtn(`Remove ${title.toLowerCase()} ${i + 1}`, () => { task[kind]!.splice(i, 1); render(); }, false))));
    render();
    return h("fieldset.card", null, h("legend", null, title), h("p.muted", null, help), box,
      addBtn(`Add ${kind === "wrong_solutions" ? "wrong" : "reference"} solution`, () => {
        // A solution is in one of the task's own languages; start with its first.
        const language = task.languages[0]?.language || langIds[0];
        (task[kind] ??= []).push({ name: kind === "wrong_solutions" ? `wrong-${(task[kind]?.length ?? 0) + 1}` : "reference", language, code: "" });
        render();
      }));
  }

  // ---- actions -------------------------------------------------------------------
  const report = h("section.card.report#designer-report", { "aria-live": "polite", tabindex: "-1", hidden: true });
  const validateBtn = h("button.btn#validate-btn", { type: "button" }, "Validate");
  const runRefBtn = h("button.btn#run-ref-btn", { type: "button" }, "Run solutions");
  const saveBtn = h("button.btn.btn-primary#save-btn", { type: "button" }, isNew ? "Create task" : "Save new version");
  const exportBtn = h("button.btn.btn-ghost#export-btn", { type: "button" }, "Export JSON");
  const archiveBtn = isNew ? null : h("button.btn.btn-ghost#archive-btn", { type: "button" }, "Archive / restore");
  const packageLink = isNew ? null : h("a.btn.btn-ghost#export-package", { href: author.packageUrl(task.slug), download: `${task.slug}.zip` }, "Export package");
  const bar = h("div.designer-actions", null, validateBtn, runRefBtn, saveBtn, exportBtn, packageLink, archiveBtn,
    h("span.muted", null, isNew ? "New task" : `Editing v${version}`));

  const form = h("form.designer", { novalidate: true, "aria-label": "Task" },
    basics, langSet, limitsSet, testsSet, hintsSet,
    solutionsSet("reference_solutions", "Reference solutions", "Each must be accepted by every test."),
    solutionsSet("wrong_solutions", "Known-wrong solutions", "Each must be rejected — proof that the tests catch common mistakes."),
    editorialSet);
  form.addEventListener("submit", (e) => e.preventDefault());

  mount(main, h("section.page.designer-page", null,
    h("div.page-head", null, h("h1", null, isNew ? "New task" : `Edit: ${task.title}`), h("a", { href: "/designer" }, "All tasks")),
    bar, report, form));

  // Errors land next to their field and in a list with links to them.
  function clearErrors(): void {
    form.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }
  function fieldFor(path: string): HTMLElement | null {
    let p = path;
    while (p) {
      const el = form.querySelector<HTMLElement>(`[data-path="${CSS.escape(p)}"]`);
      if (el) return el;
      const cut = p.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      if (cut === p) break;
      p = cut;
    }
    return null;
  }
  function showReport(title: string, cls: string, errors: FieldError[], warnings: FieldError[], extra?: Node): void {
    clearErrors();
    const item = (e: FieldError) => {
      const el = fieldFor(e.path);
      if (el) {
        el.setAttribute("aria-invalid", "true");
        const slot = el.parentElement?.querySelector(".field-error");
        if (slot && !slot.textContent) slot.textContent = e.message;
      }
      const link = h("button.link-btn", { type: "button" }, e.path || "task");
      link.addEventListener("click", () => { el?.scrollIntoView({ block: "center" }); el?.focus(); });
      return h("li", null, link, `: ${e.message}`);
    };
    mount(report, h("h2", { class: cls }, title),
      errors.length ? h("div", null, h("h3", null, "Errors"), h("ul.err-list", null, errors.map(item))) : null,
      warnings.length ? h("div", null, h("h3", null, "Warnings"), h("ul.warn-list", null, warnings.map(item))) : null,
      extra ?? null);
    report.hidden = false;
    report.focus();
  }
  const busy = (on: boolean) => [validateBtn, runRefBtn, saveBtn].forEach((b) => (b.disabled = on));
  function apiFail(e: unknown): void {
    if (e instanceof ApiError) showReport(e.message, "bad", e.field ? [{ path: e.field, message: e.message }] : [], []);
    else showReport(String((e as Error).message), "bad", [], []);
  }

  validateBtn.addEventListener("click", async () => {
    busy(true);
    try {
      const r: ValidationReport = await author.validate(cleaned(task));
      showReport(r.ok ? `Valid${r.change ? ` (${r.change.replace("_", " ")}${r.version ? `, would be v${r.version}` : ""})` : ""}` : `${r.errors.length} problem${r.errors.length === 1 ? "" : "s"}`,
        r.ok ? "good" : "bad", r.errors, r.warnings);
    } catch (e) { apiFail(e); } finally { busy(false); }
  });

  runRefBtn.addEventListener("click", async () => {
    if (!(task.reference_solutions?.length || task.wrong_solutions?.length)) {
      showReport("Add a reference solution first.", "bad", [], []);
      return;
    }
    busy(true);
    mount(report, h("p.loading", null, "Running the solutions on the executor…"));
    report.hidden = false;
    try {
      const r = await author.runReference(cleaned(task));
      showReport(r.ok ? "Every solution behaved as expected" : "Some solutions did not behave as expected", r.ok ? "good" : "bad", [], [], refReport(r));
    } catch (e) { apiFail(e); } finally { busy(false); }
  });

  saveBtn.addEventListener("click", async () => {
    busy(true);
    try {
      const r = isNew ? await author.create(cleaned(task)) : await author.update(task.slug, cleaned(task), version);
      dirty = false;
      toast(isNew ? `Created “${r.task.title}” (v${r.version}).` : r.change === "unchanged" ? "No changes to save." : `Saved v${r.version}.`, "success");
      if (isNew) navigate(`/designer/${encodeURIComponent(r.task.slug)}`, true);
      else { version = r.version; bar.lastElementChild!.textContent = `Editing v${version}`; }
    } catch (e) {
      if (e instanceof ApiError && e.code === "aborted") showReport("Someone saved a newer version meanwhile. Reload to see it (export yours first).", "bad", [], []);
      else apiFail(e);
    } finally { busy(false); }
  });

  exportBtn.addEventListener("click", () => {
    const json = JSON.stringify(cleaned(task), null, 2) + "\n";
    const url = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    const a = h("a", { href: url, download: `${task.slug || "task"}.json`, class: "sr-only" }, "download");
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  archiveBtn?.addEventListener("click", async () => {
    try {
      let s = await author.archive(task.slug);
      if (s.status === "archived" && confirm("The task is archived now. Restore it instead? (Cancel keeps it archived.)")) s = await author.archive(task.slug, true);
      toast(`The task is ${s.status}.`, "success");
    } catch (e) { apiFail(e); }
  });

  const warn = (e: BeforeUnloadEvent) => { if (dirty) e.preventDefault(); };
  window.addEventListener("beforeunload", warn);
  document.addEventListener("dojo:navigated", () => window.removeEventListener("beforeunload", warn), { once: true });
}

function refReport(r: ReferenceRunReport): HTMLElement {
  return h("div.table-wrap", null, h("table.ref-report", null,
    h("thead", null, h("tr", null, ["Solution", "Kind", "Expected", "Got", "Score", "Details"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, r.results.map((s) => h("tr", { class: s.as_expected ? "ok" : "not-ok", "data-solution": s.name },
      h("th", { scope: "row" }, s.name),
      h("td", null, s.role),
      h("td", null, s.expected_verdict === "not_ac" ? "not Accepted" : verdictText(s.expected_verdict)),
      h("td", null, h("span.verdict", { class: `v-${s.verdict ?? "pending"}` }, verdictText(s.verdict ?? "unspecified")), s.as_expected ? " ✓" : " ✗"),
      h("td", null, `${s.score}/${s.max_score}`),
      h("td", null, s.message,
        s.tests.length ? h("details", null, h("summary", null, `${s.tests.length} tests`),
          h("ul.small", null, s.tests.map((t) => h("li", null, `${t.name}: ${verdictText(t.verdict ?? "unspecified")}${t.message ? ` — ${t.message}` : ""} (${t.cpu_ms} ms)`)))) : null))))));
}

function addBtn(label: string, f: () => void): HTMLButtonElement {
  return h("button.btn.btn-small.add-btn", { type: "button", onclick: f }, `+ ${label}`);
}

function removeBtn(label: string, f: () => void, disabled: boolean): HTMLButtonElement {
  return h("button.icon-btn.remove-btn", { type: "button", "aria-label": label, title: label, disabled, onclick: f }, "✕");
}

// The task page: statement, editor (with Python diagnostics while typing),
// drafts, Run with stdin and live output, Submit with per-test feedback, the
// learner's earlier submissions of this task, and notices for points, streak
// and achievements. On narrow screens the three parts are tabs:
// Statement | Code | Result.

import {
  ApiError, drafts, me, meta, runs, submissions, tasks,
  type Awards, type FinalResult, type Submission, type SubmissionEvent, type SubmissionSummary, type TaskView, type TestResult,
} from "../api";
import { debounce, h, mount, toast } from "../dom";
import { toDate, verdictText } from "../enums";
import { renderMarkdown } from "../markdown";
import { SubmitKey, retrying, retryableStatus } from "../submitkey";
import type { Ctx } from "../router";
import * as session from "../session";
import { nextTask } from "../tracks";
import { explain, queuedText } from "../verdicts";
import { live } from "../ws";
import { difficultyBadge, statsLine } from "./tasks";
import { iconFor } from "../icons";
import { catalogueOf, editorMode, languageLabel, languageName } from "../languages";
import { codeDiffView, explanationBox, kib, submissionExplanation, testsTable, verdictBadge } from "./feedback";
import type { CodeEditor } from "../editor/editor";

/** Below this width the statement, the code and the results are tabs (the layout's single-column breakpoint). */
const NARROW = "(max-width: 1000px)";

interface LocalDraft { code: string; t: number }

function draftKey(slug: string, lang: string): string {
  return `dojo.draft.${session.user()?.id ?? "anon"}.${slug}.${lang}`;
}

function readLocal(slug: string, lang: string): LocalDraft | null {
  try {
    const d = JSON.parse(localStorage.getItem(draftKey(slug, lang)) ?? "null");
    return d && typeof d.code === "string" ? d : null;
  } catch {
    return null;
  }
}

function writeLocal(slug: string, lang: string, code: string): void {
  try {
    localStorage.setItem(draftKey(slug, lang), JSON.stringify({ code, t: Date.now() }));
  } catch {
    /* storage full or disabled: the server copy remains */
  }
}

function when(t?: string | null): string {
  const d = toDate(t);
  return d ? d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }) : "";
}

type Tab = "statement" | "code" | "result";

export async function taskPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const slug = ctx.params.slug;
  mount(main, h("p.loading", null, "Loading task…"));
  let task: TaskView;
  try {
    task = await tasks.get(slug);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      mount(main, h("section.page", null, h("h1", null, "No such task"), h("p", null, h("a", { href: "/tasks" }, "Back to the tasks"))));
      return;
    }
    throw e;
  }
  document.title = `${task.title} · Dojo`;
  const signedIn = Boolean(session.user());
  // Teachers read "time to solve" from the first opening; only the first call counts.
  if (signedIn) void tasks.open(slug).catch(() => undefined);
  const [progress, taskStats, catalogue] = await Promise.all([
    signedIn ? me.progress().catch(() => null) : Promise.resolve(null),
    meta.taskStats().then((r) => r.stats.find((x) => x.task_slug === slug)).catch(() => undefined),
    meta.languages().then((r) => catalogueOf(r.languages)).catch(() => catalogueOf([])),
  ]);
  const langName = (id: string) => languageName(catalogue, id);
  let solved = progress?.solved.includes(slug) ?? false;

  // ---- statement -------------------------------------------------------
  const solvedBadge = h("span.badge.badge-solved", { hidden: !solved }, "✓ Solved");
  const limits = task.limits;
  const statement = h("section.statement.tab-panel#panel-statement", { "aria-label": "Task statement" },
    renderMarkdown(task.description),
    task.sample_tests.length ? h("section.samples", null,
      h("h2", null, "Examples"),
      // An interactive task's sample is what its judge program (the
      // interactor) is given, not the program's stdin.
      task.sample_tests.map((s, i) => task.interactive
        ? h("div.sample", null,
          h("div.sample-head", null, h("h3", null, s.name || `Example ${i + 1}`)),
          h("div.sample-io", null, h("div", null, h("h4", null, "The judge's input"), h("pre.io", null, s.input))))
        : h("div.sample", null,
          h("div.sample-head", null, h("h3", null, s.name || `Example ${i + 1}`),
            h("button.btn.btn-small.use-sample", { type: "button", "data-sample": String(i) }, "Use as input")),
          h("div.sample-io", null,
            h("div", null, h("h4", null, "Input"), h("pre.io", null, s.input)),
            h("div", null, h("h4", null, "Expected output"), h("pre.io", null, s.expected)))))) :
      // A task without a visible test (a problem package without samples).
      h("p.no-examples#no-examples", null, `This task has no example tests: ${task.hidden_test_count} hidden test${task.hidden_test_count === 1 ? "" : "s"} judge your submission. Run your code on input of your own to try it.`),
    h("p.muted.limits", null,
      `Limits per test: ${limits.cpu_ms ?? "?"} ms CPU, ${kib(limits.memory_kib)} memory. `,
      task.hidden_test_count && task.sample_tests.length ? `${task.hidden_test_count} hidden test${task.hidden_test_count === 1 ? "" : "s"} besides the examples. ` : "",
      task.checker_kind === "float" ? "Numbers are compared with a tolerance." : "",
      task.interactive ? "Interactive: your program talks to a judge program through its input and output — flush after every line you print." : ""),
    task.hints.length ? h("section.hints", null, h("h2", null, "Hints"),
      task.hints.map((hint, i) => h("details.hint", null, h("summary", null, `Hint ${i + 1}`), renderMarkdown(hint)))) : null,
  );

  // ---- editor ------------------------------------------------------------
  const langs = task.languages.length ? task.languages : [{ language: "python3", starter_code: "" }];
  let lang = langs[0].language;
  const langSelect = h("select#f-language", { name: "language" },
    langs.map((l) => h("option", { value: l.language }, languageLabel(catalogue, l.language))));
  const draftStatus = h("span.draft-status.muted", { "aria-live": "polite" });
  const resetBtn = h("button.btn.btn-small.btn-ghost", { type: "button" }, "Reset to starter code");
  const editorHost = h("div.editor-host", { "data-testid": "editor" }, h("p.muted.editor-loading", null, "Loading editor…"));
  const diagBox = h("div.diagnostics#diagnostics", { "aria-live": "polite", "aria-label": "Problems in your code" });

  // ---- run controls --------------------------------------------------------
  const stdin = h("textarea#f-stdin.mono", { name: "stdin", rows: "4", spellcheck: "false", placeholder: "Standard input for Run" });
  const interactive = h("input#f-interactive", { type: "checkbox", name: "interactive" });
  const runBtn = h("button.btn#run-btn", { type: "button", disabled: !signedIn, title: "Run (Ctrl+Enter)" }, "▶ Run");
  const stopBtn = h("button.btn.btn-danger#stop-btn", { type: "button", disabled: true }, "■ Stop");
  const samplesBtn = h("button.btn.btn-ghost#samples-btn", { type: "button", disabled: !signedIn || !task.sample_tests.length }, "Run examples");
  const submitBtn = h("button.btn.btn-primary#submit-btn", { type: "button", disabled: !signedIn, title: "Submit (Ctrl+Shift+Enter)" }, "Submit");
  const output = h("pre.console#run-output", { role: "log", "aria-label": "Program output", tabindex: "0" });
  const runStatus = h("div.run-status#run-status", { role: "status" });
  const moreIn = h("input#f-more-stdin.mono", { type: "text", name: "more_stdin", placeholder: "Type a line and press Enter", autocomplete: "off" });
  const closeIn = h("button.btn.btn-small", { type: "button" }, "Close input (EOF)");
  const liveInput = h("div.live-input", { hidden: true }, h("label", { for: "f-more-stdin" }, "Send input"), moreIn, closeIn);
  const results = h("section.results#results", { "aria-live": "polite", "aria-label": "Submission results" });
  const historyList = h("div.history-list");
  const pastBox = h("section.past#past-submission", { hidden: true, tabindex: "-1", "aria-labelledby": "past-h" });
  const solutionsBox = h("section.panel.solutions#solutions", { "aria-labelledby": "solutions-h", hidden: !signedIn });
  const history = h("section.panel.history#history", { "aria-labelledby": "history-h", hidden: !signedIn },
    h("h2#history-h", null, "Your submissions"), historyList, pastBox);

  const signInNote = signedIn ? null : h("div.notice", null,
    h("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Sign in"), " or ",
    h("a", { href: `/register?next=${encodeURIComponent(location.pathname)}` }, "create an account"),
    " to run code and earn points.");

  const codePanel = h("div.code-panel.tab-panel#panel-code", null,
    signInNote,
    h("div.editor-bar", null,
      langs.length > 1 ? [h("label.sr-only", { for: "f-language" }, "Language"), langSelect] : h("span.lang-name", null, languageLabel(catalogue, lang)),
      draftStatus, h("span.spacer"), resetBtn),
    editorHost,
    diagBox,
    h("p.muted.kbd-help", null, "Ctrl+Enter runs, Ctrl+Shift+Enter submits. In the editor, Tab indents: press Esc, then Tab, to move on."),
    h("div.panel.run-panel", null,
      h("div.field", null, h("label", { for: "f-stdin" }, "Input"), stdin),
      h("label.check", null, interactive, " Keep input open while it runs (interactive)"),
      h("div.actions", null, runBtn, stopBtn, samplesBtn, h("span.spacer"), submitBtn)));
  const resultPanel = h("div.result-panel.tab-panel#panel-result", null,
    h("h2.sr-only", null, "Results"),
    h("div.panel.console-panel", null, runStatus, liveInput, output),
    results,
    solutionsBox,
    history);

  // ---- tabs (narrow screens) ---------------------------------------------------
  const tabNames: [Tab, string][] = [["statement", "Statement"], ["code", "Code"], ["result", "Result"]];
  const resultDot = h("span.tab-dot", { "aria-hidden": "true" });
  const tabBtns = tabNames.map(([key, label]) => h("button.task-tab", {
    type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, "data-tab": key,
  }, label, key === "result" ? resultDot : null));
  const tabBar = h("div.task-tabs", { role: "tablist", "aria-label": "Task views" }, tabBtns);
  const layout = h("div.task-layout", { "data-tab": "statement" }, statement, h("div.workbench", null, codePanel, resultPanel));
  const narrow = matchMedia(NARROW);
  let editor: CodeEditor | null = null;
  function showTab(key: Tab, focus = false): void {
    layout.dataset.tab = key;
    for (const b of tabBtns) {
      const on = b.dataset.tab === key;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    if (key === "code") editor?.view.requestMeasure();
  }
  // The panels are tab panels only while the tabs show.
  function syncTabs(): void {
    for (const [key] of tabNames) {
      const p = layout.querySelector<HTMLElement>(`#panel-${key}`)!;
      if (narrow.matches) { p.setAttribute("role", "tabpanel"); p.setAttribute("aria-labelledby", `tab-${key}`); }
      else { p.removeAttribute("role"); p.removeAttribute("aria-labelledby"); }
    }
    if (!narrow.matches) editor?.view.requestMeasure();
  }
  narrow.addEventListener("change", syncTabs, { signal: ctx.signal } as AddEventListenerOptions);
  tabBtns.forEach((b, i) => {
    b.addEventListener("click", () => showTab(b.dataset.tab as Tab));
    b.addEventListener("keydown", (e) => {
      const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      e.preventDefault();
      showTab(tabBtns[(i + d + tabBtns.length) % tabBtns.length].dataset.tab as Tab, true);
    });
  });
  /** What the learner just asked for may be on another tab: go there (on wide screens this only picks the tab a phone-sized window will show). */
  const reveal = (key: Tab) => showTab(key);
  function markResult(v: string | null): void {
    resultDot.textContent = v === null ? "…" : v === "ac" ? "✓" : "✗";
    resultDot.className = `tab-dot v-${v ?? "pending"}`;
    tabBtns[2].setAttribute("aria-label", v === null ? "Result (running)" : `Result: ${verdictText(v)}`);
  }

  mount(main, h("section.page.task-page", null,
    h("div.task-head", null,
      h("h1", null, task.title),
      h("div.task-meta", null, difficultyBadge(task.difficulty), h("span.points", null, `${task.points} points`),
        h("span.tags", null, task.tags.map((t) => h("a.tag", { href: `/tasks?tag=${encodeURIComponent(t)}` }, t))), solvedBadge,
        h("span.task-stats.small.muted", null, statsLine(taskStats)))),
    tabBar,
    layout));
  showTab("statement");
  syncTabs();

  statement.querySelectorAll<HTMLButtonElement>(".use-sample").forEach((b) =>
    b.addEventListener("click", () => {
      stdin.value = task.sample_tests[Number(b.dataset.sample)].input;
      reveal("code");
      stdin.focus();
    }));

  // ---- drafts ------------------------------------------------------------
  const starter = (l: string) => langs.find((x) => x.language === l)?.starter_code ?? "";
  async function initialCode(l: string): Promise<string> {
    const local = readLocal(slug, l);
    let server: { code: string; t: number } | null = null;
    if (signedIn) {
      try {
        const d = await drafts.get(slug, l);
        if (d.found && d.draft && d.draft.language === l) server = { code: d.draft.code, t: Date.parse(d.draft.updated_at ?? "") || 0 };
      } catch { /* offline: local copy or starter */ }
    }
    const best = [local, server].filter(Boolean).sort((a, b) => b!.t - a!.t)[0];
    return best ? best.code : starter(l);
  }

  let lastSaved = "";
  const saveServer = debounce(async (l: string, code: string) => {
    if (!signedIn || code === lastSaved) return;
    try {
      await drafts.save(slug, l, code);
      lastSaved = code;
      draftStatus.textContent = `Draft saved ${new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
    } catch (e) {
      draftStatus.textContent = e instanceof ApiError && e.status === 413 ? "Draft too large for the server (64 KiB); kept locally" : "Draft kept locally";
    }
  }, 1500);
  const saveLocal = debounce((l: string, code: string) => writeLocal(slug, l, code), 250);

  const gotoLine = (n: number) => { reveal("code"); editor?.gotoLine(n); };
  function showDiagnostics(ds: { line: number; col: number; message: string }[]): void {
    if (!ds.length) { diagBox.replaceChildren(); return; }
    mount(diagBox, h("p.diag-head", null, `${ds.length} problem${ds.length === 1 ? "" : "s"} in your code:`),
      h("ul.diag-list", null, ds.slice(0, 3).map((d) => h("li", null,
        h("button.link-btn.diag-line", { type: "button", onclick: () => gotoLine(d.line) }, `Line ${d.line}`), `: ${d.message}`))),
      ds.length > 3 ? h("p.small.muted", null, `…and ${ds.length - 3} more, underlined in the editor.`) : null);
  }

  const { createEditor } = await import("../editor/editor");
  if (ctx.signal.aborted) return;
  const code0 = await initialCode(lang);
  lastSaved = code0;
  editorHost.replaceChildren();
  const ed: CodeEditor = await createEditor(editorHost, {
    doc: code0,
    mode: editorMode(catalogue, lang),
    label: `${langName(lang)} code editor`,
    onChange: (code) => {
      draftStatus.textContent = "Editing…";
      saveLocal(lang, code);
      saveServer(lang, code);
    },
    onDiagnostics: showDiagnostics,
    keys: [
      { key: "Mod-Enter", run: () => (runBtn.disabled ? false : (runBtn.click(), true)) },
      { key: "Mod-Shift-Enter", run: () => (submitBtn.disabled ? false : (submitBtn.click(), true)) },
    ],
  });
  editor = ed;
  // Typing in the editor makes Code the tab a narrow window shows.
  editorHost.addEventListener("focusin", () => { if (layout.dataset.tab !== "code") showTab("code"); });
  ctx.signal.addEventListener("abort", () => {
    saveLocal.flush(lang, ed.get());
    saveServer.flush(lang, ed.get());
    ed.destroy();
  });
  const onUnload = () => saveLocal.flush(lang, ed.get());
  window.addEventListener("pagehide", onUnload);
  ctx.signal.addEventListener("abort", () => window.removeEventListener("pagehide", onUnload));

  langSelect.addEventListener("change", async () => {
    saveLocal.flush(lang, ed.get());
    saveServer.flush(lang, ed.get());
    lang = langSelect.value;
    const code = await initialCode(lang);
    lastSaved = code;
    ed.set(code);
    await ed.setMode(editorMode(catalogue, lang));
  });
  resetBtn.addEventListener("click", () => {
    if (ed.get() !== starter(lang) && !confirm("Replace your code with the starter code?")) return;
    ed.set(starter(lang));
    ed.focus();
  });
  document.addEventListener("keydown", (e) => {
    if (ctx.signal.aborted || !(e.ctrlKey || e.metaKey) || e.key !== "Enter" || editorHost.contains(e.target as Node)) return;
    e.preventDefault();
    (e.shiftKey ? submitBtn : runBtn).click();
  }, { signal: ctx.signal });

  // ---- running -----------------------------------------------------------
  let active: { id: string; kind: "run" | "submit"; unsub: () => void } | null = null;
  const busy = (on: boolean) => {
    runBtn.disabled = on || !signedIn;
    samplesBtn.disabled = on || !signedIn || !task.sample_tests.length;
    submitBtn.disabled = on || !signedIn;
    stopBtn.disabled = !on;
  };
  ctx.signal.addEventListener("abort", () => active?.unsub());

  let stderrText = "";
  function appendOut(text: string, cls: string): void {
    if (cls === "out-stderr") stderrText = (stderrText + text).slice(-8192);
    const last = output.lastElementChild as HTMLElement | null;
    if (last && last.classList.contains(cls)) last.append(text);
    else output.append(h("span", { class: cls }, text));
    output.scrollTop = output.scrollHeight;
  }

  function finishRun(r: FinalResult, tests: TestResult[]): void {
    busy(false);
    liveInput.hidden = true;
    const onInput = r.tests_total === 0;
    const e = onInput
      ? explain({ verdict: r.verdict, message: r.message, limits, exit_code: r.exit_code, term_signal: r.term_signal,
          cpu_ms: r.cpu_ms, wall_ms: r.wall_ms, memory_kib: r.memory_kib, stderr: stderrText, run: true })
      : submissionExplanation(r.verdict, tests, limits, r.message);
    const figures = [r.cpu_ms !== undefined ? `${r.cpu_ms} ms CPU` : "", kib(r.memory_kib)].filter(Boolean).join(" · ");
    mount(runStatus, verdictBadge(r.verdict), figures ? h("span.muted", null, ` ${figures}`) : null,
      r.verdict === "ac" && onInput ? null : explanationBox(e, r.verdict, gotoLine));
    runStatus.dataset.state = "done";
    markResult(r.verdict);
  }

  async function startRun(sampleTests: boolean): Promise<void> {
    if (active) return;
    output.replaceChildren();
    results.replaceChildren();
    stderrText = "";
    runStatus.dataset.state = "starting";
    runStatus.textContent = "Starting…";
    busy(true);
    markResult(null);
    reveal("result");
    const isInteractive = interactive.checked && !sampleTests;
    let acc;
    try {
      acc = await runs.create({
        task_slug: slug, language: lang, code: ed.get(),
        stdin: sampleTests ? undefined : stdin.value,
        interactive: isInteractive || undefined,
        sample_tests: sampleTests || undefined,
      });
    } catch (e) {
      busy(false);
      runStatus.dataset.state = "error";
      mount(runStatus, h("span.error-text", null, (e as Error).message));
      resultDot.textContent = "";
      return;
    }
    const tests: TestResult[] = [];
    const id = acc.id;
    const unsub = live.subscribe(id, {
      onEvent: (e) => {
        if (e.kind === "started" && e.attempt > 1) { output.replaceChildren(); tests.length = 0; stderrText = ""; }
        handleRunEvent(e, tests, sampleTests, isInteractive);
        if (e.kind === "result") active = null;
      },
      onSubmission: (s) => {
        active = null;
        finishRun({ verdict: s.verdict, score: s.score, max_score: s.max_score, tests_passed: s.tests.filter((t) => t.verdict === "ac").length,
          tests_total: s.tests.length, message: "", recorded: true, cpu_ms: s.cpu_ms, memory_kib: s.memory_kib }, s.tests);
        if (sampleTests) renderTests(s.tests);
      },
      onError: (_c, m) => { runStatus.textContent = m; },
    });
    active = { id, kind: "run", unsub };
  }

  function handleRunEvent(e: SubmissionEvent, tests: TestResult[], sampleTests: boolean, isInteractive: boolean): void {
    switch (e.kind) {
      case "queued":
        runStatus.textContent = queuedText(e);
        break;
      case "started":
        runStatus.dataset.state = "running";
        runStatus.textContent = "Running…";
        if (isInteractive) { liveInput.hidden = false; moreIn.focus(); }
        break;
      case "compile_output":
        appendOut(e.text ?? "", "out-compile");
        break;
      case "stdout": appendOut(e.data ?? "", "out-stdout"); if (e.truncated) appendOut("\n[output limit reached]\n", "out-note"); break;
      case "stderr": appendOut(e.data ?? "", "out-stderr"); if (e.truncated) appendOut("\n[stderr limit reached]\n", "out-note"); break;
      case "test_result":
        if (e.test) { tests.push(e.test); if (sampleTests) renderTests(tests); }
        break;
      case "error":
        appendOut(`\n[${e.message}]\n`, "out-note");
        break;
      case "result":
        if (e.result) finishRun(e.result, tests);
        break;
    }
  }

  stopBtn.addEventListener("click", () => {
    if (!active) return;
    live.cancel(active.id);
    runStatus.textContent = "Stopping…";
  });
  moreIn.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !active) return;
    e.preventDefault();
    live.stdin(active.id, moreIn.value + "\n");
    appendOut(moreIn.value + "\n", "out-stdin");
    moreIn.value = "";
  });
  closeIn.addEventListener("click", () => {
    if (active) live.closeStdin(active.id);
    liveInput.hidden = true;
  });
  runBtn.addEventListener("click", () => void startRun(false));
  samplesBtn.addEventListener("click", () => void startRun(true));

  // ---- submitting ----------------------------------------------------------
  function renderTests(list: TestResult[], total?: number): void {
    const table = testsTable(list, { task, total });
    const old = results.querySelector(".table-wrap");
    // Keep what the learner opened or closed while later tests arrive.
    const open = new Map<string, boolean>();
    old?.querySelectorAll<HTMLDetailsElement>("tr.test-detail").forEach((tr) => open.set(tr.dataset.test ?? "", tr.querySelector("details")!.open));
    table.querySelectorAll<HTMLElement>("tr.test-detail").forEach((tr) => {
      const was = open.get(tr.dataset.test ?? "");
      if (was !== undefined) tr.querySelector("details")!.open = was;
    });
    if (old) old.replaceWith(table);
    else results.append(table);
  }

  function showAwards(a: Awards | null | undefined, r: { verdict: string | null; score: number; max_score: number; message?: string; tests_passed?: number; tests_total?: number }, tests: TestResult[]): void {
    const e = submissionExplanation(r.verdict, tests, limits, r.message);
    const banner = h("div.result-banner", { "data-verdict": r.verdict ?? "", role: "status" },
      h("p.banner-head", null, verdictBadge(r.verdict),
        h("span", null, ` — score ${r.score}/${r.max_score}`, r.tests_total ? `, ${r.tests_passed ?? 0} of ${r.tests_total} tests passed` : "")),
      r.verdict === "ac" ? null : explanationBox(e, r.verdict, gotoLine));
    results.prepend(banner);
    markResult(r.verdict);
    if (r.verdict === "ac") {
      const first = !solved;
      solved = true;
      solvedBadge.hidden = false;
      if (first) void showSolutions();
      void showNext(banner);
    }
    if (!a) return;
    const notes = h("ul.awards", { "aria-label": "Rewards" });
    if (a.points_awarded > 0) {
      notes.append(h("li.award.award-points", null, `+${a.points_awarded} points`, h("span.muted", null, ` (total ${a.total_points})`)));
      toast(`+${a.points_awarded} points! You now have ${a.total_points}.`, "success");
    }
    if (r.verdict === "ac" && a.streak) {
      const d = a.streak.current_days;
      notes.append(h("li.award.award-streak", null, `🔥 ${d}-day streak`, a.streak.freezes ? h("span.muted", null, ` · ${a.streak.freezes} freeze${a.streak.freezes === 1 ? "" : "s"}`) : null));
      if (a.points_awarded > 0 || a.first_solve) toast(`🔥 ${d}-day streak`, "success");
    }
    for (const ach of a.achievements_unlocked ?? []) {
      notes.append(h("li.award.award-achievement", { "data-achievement": ach.slug }, h("span.ach-icon", { "aria-hidden": "true" }, iconFor(ach.icon)),
        h("span", null, h("strong", null, `Achievement unlocked: ${ach.title}`), h("span.muted", null, ` — ${ach.description}`))));
      toast(`🏆 Achievement unlocked: ${ach.title}`, "achievement", 9000);
    }
    if (notes.childElementCount) banner.after(notes);
  }

  const submitKey = new SubmitKey();
  async function startSubmit(): Promise<void> {
    if (active) return;
    output.replaceChildren();
    runStatus.textContent = "";
    results.replaceChildren(h("p.muted", null, "Submitting…"));
    busy(true);
    markResult(null);
    reveal("result");
    let acc;
    try {
      saveServer.flush(lang, ed.get());
      const code = ed.get();
      const key = submitKey.for(lang, code);
      acc = await retrying(() => submissions.create({ task_slug: slug, language: lang, code, idempotency_key: key }), { tries: 3, maxWaitMs: 5000 });
      submitKey.settled();
    } catch (e) {
      // Unanswered or 503: clicking again with the same code retries this submission.
      if (!(e instanceof ApiError && retryableStatus(e.status))) submitKey.settled();
      busy(false);
      results.replaceChildren(h("p.error-box", { role: "alert" }, (e as Error).message));
      resultDot.textContent = "";
      return;
    }
    let total = 0;
    const tests: TestResult[] = [];
    const id = acc.id;
    const done = () => { active = null; busy(false); void loadHistory(); };
    const unsub = live.subscribe(id, {
      onEvent: (e) => {
        switch (e.kind) {
          case "queued": results.replaceChildren(h("p.muted", null, queuedText(e))); break;
          case "started":
            if (e.attempt > 1) tests.length = 0;
            total = e.test_count ?? 0;
            results.replaceChildren();
            renderTests(tests, total);
            break;
          case "compile_output": if (!e.ok) results.append(h("pre.console.out-compile", null, e.text ?? "")); break;
          case "test_result": if (e.test) { tests.push(e.test); renderTests(tests, total); } break;
          case "error": results.append(h("p.muted", null, e.message ?? "")); break;
          case "result":
            done();
            if (e.result) {
              renderTests(tests);
              showAwards(e.result.awards, e.result, tests);
            }
            break;
        }
      },
      onSubmission: (s: Submission) => {
        done();
        results.replaceChildren();
        renderTests(s.tests);
        showAwards(s.awards, { ...s, tests_passed: s.tests.filter((t) => t.verdict === "ac").length, tests_total: s.tests.length }, s.tests);
      },
      onError: (_c, m) => results.append(h("p.error-box", null, m)),
    });
    active = { id, kind: "submit", unsub };
  }
  submitBtn.addEventListener("click", () => void startSubmit());

  // ---- after solving: what to do next, from the tracks -----------------------------------
  async function showNext(after: HTMLElement): Promise<void> {
    const done = new Set([...(progress?.solved ?? []), slug]);
    const [trackList, list] = await Promise.all([
      meta.tracks().then((x) => x.tracks).catch(() => []),
      tasks.list({ page_size: 500 }).then((x) => x.tasks).catch(() => []),
    ]);
    if (ctx.signal.aborted || !after.isConnected) return;
    const next = nextTask(trackList, slug, done);
    const title = (s: string) => list.find((t) => t.slug === s)?.title ?? s;
    after.after(next
      ? h("div.next-task", null, h("span", null, `Next in ${next.track.title}:`),
          h("a.btn.btn-primary#next-task", { href: `/tasks/${encodeURIComponent(next.task)}`, "data-slug": next.task }, `${title(next.task)} →`))
      : h("div.next-task", null, h("span", null, "Every track is done."), h("a.btn#next-task", { href: "/" }, "Pick any task →")));
  }

  // ---- after solving: the editorial and the author's solutions -----------------------
  async function showSolutions(): Promise<void> {
    if (!signedIn) return;
    const head = h("h2#solutions-h", null, "The author's solution and editorial");
    if (!solved) {
      mount(solutionsBox, head, h("p.muted", null, "🔒 They open after your own accepted submission — try first; your earlier attempts are below."));
      return;
    }
    let sol;
    try {
      sol = await tasks.solutions(slug);
    } catch (e) {
      mount(solutionsBox, head, h("p.muted", null, `Could not load them: ${(e as Error).message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    mount(solutionsBox, head,
      h("p.muted.small", null, "You solved it: compare your way with the author's. Your earlier attempts are below."),
      sol.editorial ? h("div.editorial", null, h("h3", null, "Editorial"), renderMarkdown(sol.editorial)) : h("p.muted", null, "This task has no editorial yet."),
      sol.reference_solutions.map((r, i) => {
        const box = h("div.compare-code", { hidden: true });
        const btn = h("button.btn.btn-small.compare-ref", { type: "button", "aria-expanded": "false" }, "Compare with your code");
        btn.addEventListener("click", () => {
          const on = box.hidden;
          box.hidden = !on;
          btn.setAttribute("aria-expanded", String(on));
          if (on) mount(box, codeDiffView(r.code, ed.get(), "the author's solution", "your code"));
        });
        return h("details.ref-solution", { open: i === 0 },
          h("summary", null, `Reference solution “${r.name}” (${langName(r.language)})`),
          h("pre.code-view", { tabindex: "0", role: "group", "aria-label": `Reference solution ${r.name}` }, r.code),
          h("div.actions", null, btn), box);
      }));
  }

  // ---- earlier submissions -------------------------------------------------------
  let nextToken = "";
  async function loadHistory(more = false): Promise<void> {
    if (!signedIn) return;
    try {
      const r = await submissions.list({ task: slug, kind: "submit", page_size: 20, page_token: more ? nextToken || undefined : undefined });
      if (ctx.signal.aborted) return;
      nextToken = r.next_page_token;
      const rows = r.submissions.map(historyRow);
      let body = historyList.querySelector("tbody");
      if (!more || !body) {
        if (!r.submissions.length) { mount(historyList, h("p.muted", null, "None yet: your submissions of this task will be listed here.")); return; }
        body = h("tbody");
        mount(historyList, h("div.table-wrap", null, h("table.history-table", null,
          h("caption.sr-only", null, "Your earlier submissions of this task, newest first"),
          h("thead", null, h("tr", null, ["When", "Verdict", "Score", ""].map((c) => h("th", { scope: "col" }, c || h("span.sr-only", null, "Open")))) ),
          body)));
      }
      body.append(...rows);
      historyList.querySelector(".history-more")?.remove();
      if (nextToken) historyList.append(h("button.btn.btn-small.history-more", { type: "button", onclick: () => void loadHistory(true) }, "Show older"));
    } catch (e) {
      mount(historyList, h("p.muted", null, `Could not load your submissions: ${(e as Error).message}`));
    }
  }

  function historyRow(s: SubmissionSummary): HTMLElement {
    const open = h("button.btn.btn-small.open-sub", { type: "button", "data-submission": s.id }, "Open");
    open.addEventListener("click", () => void openSubmission(s.id));
    return h("tr", { "data-submission": s.id },
      h("td", null, when(s.created_at)),
      h("td", null, s.state === "pending" ? h("span.verdict.v-pending", null, "Pending") : verdictBadge(s.verdict)),
      h("td", null, `${s.score}/${s.max_score}`),
      h("td", null, open));
  }

  async function openSubmission(id: string): Promise<void> {
    pastBox.hidden = false;
    mount(pastBox, h("p.loading", null, "Loading the submission…"));
    reveal("result");
    let s: Submission;
    try {
      s = await submissions.get(id);
    } catch (e) {
      mount(pastBox, h("p.error-box", { role: "alert" }, `Could not open it: ${(e as Error).message}`));
      return;
    }
    if (ctx.signal.aborted) return;
    history.querySelectorAll("tr.is-open").forEach((tr) => tr.classList.remove("is-open"));
    history.querySelector(`tr[data-submission="${CSS.escape(id)}"]`)?.classList.add("is-open");
    const code = s.code ?? "";
    const compareBox = h("div.compare-code", { hidden: true });
    const compareBtn = h("button.btn.btn-small#compare-btn", { type: "button", "aria-expanded": "false" }, "Compare with your code");
    compareBtn.addEventListener("click", () => {
      const on = compareBox.hidden;
      compareBox.hidden = !on;
      compareBtn.setAttribute("aria-expanded", String(on));
      if (on) mount(compareBox, codeDiffView(code, ed.get(), "the submission", "your code now"));
    });
    const loadBtn = h("button.btn.btn-small#load-sub-btn", { type: "button" }, "Load into the editor");
    loadBtn.addEventListener("click", () => {
      if (s.language !== lang && langs.some((l) => l.language === s.language)) {
        langSelect.value = s.language;
        langSelect.dispatchEvent(new Event("change"));
      }
      ed.set(code);
      toast("The submission's code is in the editor. Ctrl+Z (undo) brings your code back.", "info");
      reveal("code");
      ed.focus();
    });
    const passed = s.tests.filter((t) => t.verdict === "ac").length;
    const e = submissionExplanation(s.verdict, s.tests, limits);
    mount(pastBox,
      h("div.past-head", null,
        h("h3#past-h", null, `Submission of ${when(s.created_at)}`),
        h("button.icon-btn", { type: "button", "aria-label": "Close the submission", onclick: () => { pastBox.hidden = true; history.querySelectorAll("tr.is-open").forEach((tr) => tr.classList.remove("is-open")); } }, "✕")),
      h("p", null, verdictBadge(s.verdict), ` — score ${s.score}/${s.max_score}, ${passed} of ${s.tests.length} tests passed`,
        s.task_version !== task.version ? h("span.muted", null, ` (task version ${s.task_version}; the examples shown are today's)`) : null),
      s.verdict && s.verdict !== "ac" ? explanationBox(e, s.verdict) : null,
      h("div.actions", null, loadBtn, compareBtn),
      compareBox,
      h("details.past-code", { open: true }, h("summary", null, `Its code (${langName(s.language)})`),
        h("pre.code-view", { tabindex: "0", role: "group", "aria-label": "The submission's code" }, code)),
      s.compile_output ? h("pre.console.out-compile", null, s.compile_output) : null,
      s.tests.length ? testsTable(s.tests, { task }) : null);
    pastBox.focus({ preventScroll: true });
    pastBox.scrollIntoView({ block: "nearest" });
  }

  await Promise.all([loadHistory(), showSolutions()]);
  const want = ctx.query.get("submission");
  if (want && signedIn) await openSubmission(want);
}

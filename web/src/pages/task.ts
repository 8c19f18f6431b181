// The task page: statement, editor, drafts, Run with stdin and live output,
// Submit with per-test results, and notices for points, streak and achievements.

import {
  ApiError, drafts, me, runs, submissions, tasks,
  type Awards, type FinalResult, type Submission, type SubmissionEvent, type TaskView, type TestResult,
} from "../api";
import { debounce, h, mount, toast } from "../dom";
import { verdictText } from "../enums";
import { renderMarkdown } from "../markdown";
import type { Ctx } from "../router";
import * as session from "../session";
import { live } from "../ws";
import { difficultyBadge } from "./tasks";
import { iconFor } from "../icons";
import type { CodeEditor } from "../editor/editor";

const LANG_NAMES: Record<string, string> = { python3: "Python 3", c: "C", cpp: "C++" };
const MODES: Record<string, string> = { python3: "python", python: "python", c: "c", cpp: "cpp" };

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

function kib(n?: number): string {
  if (!n) return "";
  return n >= 1024 ? `${Math.round(n / 1024)} MiB` : `${n} KiB`;
}

function verdictBadge(v: string | null): HTMLElement {
  return h("span.verdict", { class: `v-${v ?? "pending"}` }, verdictText(v ?? "unspecified"));
}

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
  const progress = signedIn ? await me.progress().catch(() => null) : null;
  let solved = progress?.solved.includes(slug) ?? false;

  // ---- statement -------------------------------------------------------
  const solvedBadge = h("span.badge.badge-solved", { hidden: !solved }, "✓ Solved");
  const limits = task.limits;
  const statement = h("article.statement", { "aria-label": "Task statement" },
    renderMarkdown(task.description),
    task.sample_tests.length ? h("section.samples", null,
      h("h2", null, "Examples"),
      task.sample_tests.map((s, i) => h("div.sample", null,
        h("div.sample-head", null, h("h3", null, s.name || `Example ${i + 1}`),
          h("button.btn.btn-small.use-sample", { type: "button", "data-sample": String(i) }, "Use as input")),
        h("div.sample-io", null,
          h("div", null, h("h4", null, "Input"), h("pre.io", null, s.input)),
          h("div", null, h("h4", null, "Expected output"), h("pre.io", null, s.expected)))))) : null,
    h("p.muted.limits", null,
      `Limits per test: ${limits.cpu_ms ?? "?"} ms CPU, ${kib(limits.memory_kib)} memory. `,
      task.hidden_test_count ? `${task.hidden_test_count} hidden test${task.hidden_test_count === 1 ? "" : "s"} besides the examples. ` : "",
      task.checker_kind === "float" ? "Numbers are compared with a tolerance." : ""),
    task.hints.length ? h("section.hints", null, h("h2", null, "Hints"),
      task.hints.map((hint, i) => h("details.hint", null, h("summary", null, `Hint ${i + 1}`), renderMarkdown(hint)))) : null,
  );

  // ---- editor ------------------------------------------------------------
  const langs = task.languages.length ? task.languages : [{ language: "python3", starter_code: "" }];
  let lang = langs[0].language;
  const langSelect = h("select#f-language", { name: "language" },
    langs.map((l) => h("option", { value: l.language }, LANG_NAMES[l.language] ?? l.language)));
  const draftStatus = h("span.draft-status.muted", { "aria-live": "polite" });
  const resetBtn = h("button.btn.btn-small.btn-ghost", { type: "button" }, "Reset to starter code");
  const editorHost = h("div.editor-host", { "data-testid": "editor" }, h("p.muted.editor-loading", null, "Loading editor…"));

  // ---- console: run ------------------------------------------------------
  const stdin = h("textarea#f-stdin.mono", { name: "stdin", rows: "4", spellcheck: "false", placeholder: "Standard input for Run" });
  const interactive = h("input#f-interactive", { type: "checkbox", name: "interactive" });
  const runBtn = h("button.btn#run-btn", { type: "button", disabled: !signedIn, title: "Run (Ctrl+Enter)" }, "▶ Run");
  const stopBtn = h("button.btn.btn-danger#stop-btn", { type: "button", disabled: true }, "■ Stop");
  const samplesBtn = h("button.btn.btn-ghost#samples-btn", { type: "button", disabled: !signedIn }, "Run examples");
  const submitBtn = h("button.btn.btn-primary#submit-btn", { type: "button", disabled: !signedIn, title: "Submit (Ctrl+Shift+Enter)" }, "Submit");
  const output = h("pre.console#run-output", { "aria-live": "polite", "aria-label": "Program output", tabindex: "0" });
  const runStatus = h("p.run-status#run-status", { role: "status" });
  const moreIn = h("input#f-more-stdin.mono", { type: "text", name: "more_stdin", placeholder: "Type a line and press Enter", autocomplete: "off" });
  const closeIn = h("button.btn.btn-small", { type: "button" }, "Close input (EOF)");
  const liveInput = h("div.live-input", { hidden: true }, h("label", { for: "f-more-stdin" }, "Send input"), moreIn, closeIn);
  const results = h("section.results#results", { "aria-live": "polite", "aria-label": "Submission results" });

  const runPanel = h("div.panel.run-panel", null,
    h("div.field", null, h("label", { for: "f-stdin" }, "Input"), stdin),
    h("label.check", null, interactive, " Keep input open while it runs (interactive)"),
    h("div.actions", null, runBtn, stopBtn, samplesBtn, h("span.spacer"), submitBtn),
    runStatus, liveInput, output);

  const signInNote = signedIn ? null : h("div.notice", null,
    h("a", { href: `/login?next=${encodeURIComponent(location.pathname)}` }, "Sign in"), " or ",
    h("a", { href: `/register?next=${encodeURIComponent(location.pathname)}` }, "create an account"),
    " to run code and earn points.");

  mount(main, h("section.page.task-page", null,
    h("div.task-head", null,
      h("h1", null, task.title),
      h("div.task-meta", null, difficultyBadge(task.difficulty), h("span.points", null, `${task.points} points`),
        h("span.tags", null, task.tags.map((t) => h("a.tag", { href: `/tasks?tag=${encodeURIComponent(t)}` }, t))), solvedBadge)),
    h("div.task-layout", null,
      statement,
      h("div.workbench", null,
        signInNote,
        h("div.editor-bar", null,
          langs.length > 1 ? [h("label.sr-only", { for: "f-language" }, "Language"), langSelect] : h("span.lang-name", null, LANG_NAMES[lang] ?? lang),
          draftStatus, h("span.spacer"), resetBtn),
        editorHost,
        h("p.muted.kbd-help", null, "Ctrl+Enter runs, Ctrl+Shift+Enter submits. In the editor, Tab indents: press Esc, then Tab, to move on."),
        runPanel,
        results))));

  statement.querySelectorAll<HTMLButtonElement>(".use-sample").forEach((b) =>
    b.addEventListener("click", () => {
      stdin.value = task.sample_tests[Number(b.dataset.sample)].input;
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

  const { createEditor } = await import("../editor/editor");
  if (ctx.signal.aborted) return;
  const code0 = await initialCode(lang);
  lastSaved = code0;
  editorHost.replaceChildren();
  const editor: CodeEditor = await createEditor(editorHost, {
    doc: code0,
    mode: MODES[lang] ?? lang,
    label: `${LANG_NAMES[lang] ?? lang} code editor`,
    onChange: (code) => {
      draftStatus.textContent = "Editing…";
      saveLocal(lang, code);
      saveServer(lang, code);
    },
    keys: [
      { key: "Mod-Enter", run: () => (runBtn.disabled ? false : (runBtn.click(), true)) },
      { key: "Mod-Shift-Enter", run: () => (submitBtn.disabled ? false : (submitBtn.click(), true)) },
    ],
  });
  ctx.signal.addEventListener("abort", () => {
    saveLocal.flush(lang, editor.get());
    saveServer.flush(lang, editor.get());
    editor.destroy();
  });
  const onUnload = () => saveLocal.flush(lang, editor.get());
  window.addEventListener("pagehide", onUnload);
  ctx.signal.addEventListener("abort", () => window.removeEventListener("pagehide", onUnload));

  langSelect.addEventListener("change", async () => {
    saveLocal.flush(lang, editor.get());
    saveServer.flush(lang, editor.get());
    lang = langSelect.value;
    const code = await initialCode(lang);
    lastSaved = code;
    editor.set(code);
    await editor.setMode(MODES[lang] ?? lang);
  });
  resetBtn.addEventListener("click", () => {
    if (editor.get() !== starter(lang) && !confirm("Replace your code with the starter code?")) return;
    editor.set(starter(lang));
    editor.focus();
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
    samplesBtn.disabled = on || !signedIn;
    submitBtn.disabled = on || !signedIn;
    stopBtn.disabled = !on;
  };
  ctx.signal.addEventListener("abort", () => active?.unsub());

  function appendOut(text: string, cls: string): void {
    const last = output.lastElementChild as HTMLElement | null;
    if (last && last.classList.contains(cls)) last.append(text);
    else output.append(h("span", { class: cls }, text));
    output.scrollTop = output.scrollHeight;
  }

  function finishRun(r: FinalResult): void {
    busy(false);
    liveInput.hidden = true;
    const parts = [verdictText(r.verdict)];
    if (r.verdict !== "cancelled" && r.exit_code !== undefined && r.tests_total === 0) parts.push(`exit code ${r.exit_code}`);
    if (r.term_signal) parts.push(`signal ${r.term_signal}`);
    if (r.cpu_ms !== undefined) parts.push(`${r.cpu_ms} ms CPU`);
    if (r.memory_kib) parts.push(kib(r.memory_kib));
    mount(runStatus, verdictBadge(r.verdict), " ", parts.slice(1).join(" · "), r.message ? h("span.muted", null, ` — ${r.message}`) : null);
    runStatus.dataset.state = "done";
  }

  async function startRun(sampleTests: boolean): Promise<void> {
    if (active) return;
    output.replaceChildren();
    results.replaceChildren();
    runStatus.dataset.state = "starting";
    runStatus.textContent = "Starting…";
    busy(true);
    const isInteractive = interactive.checked && !sampleTests;
    let acc;
    try {
      acc = await runs.create({
        task_slug: slug, language: lang, code: editor.get(),
        stdin: sampleTests ? undefined : stdin.value,
        interactive: isInteractive || undefined,
        sample_tests: sampleTests || undefined,
      });
    } catch (e) {
      busy(false);
      runStatus.dataset.state = "error";
      runStatus.textContent = (e as Error).message;
      return;
    }
    const tests: TestResult[] = [];
    const id = acc.id;
    const unsub = live.subscribe(id, {
      onEvent: (e) => {
        if (e.kind === "started" && e.attempt > 1) { output.replaceChildren(); tests.length = 0; }
        handleRunEvent(e, tests, sampleTests, isInteractive);
        if (e.kind === "result") active = null;
      },
      onSubmission: (s) => {
        active = null;
        finishRun({ verdict: s.verdict, score: s.score, max_score: s.max_score, tests_passed: s.tests.filter((t) => t.verdict === "ac").length,
          tests_total: s.tests.length, message: "", recorded: true, cpu_ms: s.cpu_ms, memory_kib: s.memory_kib });
        if (sampleTests) renderTests(s.tests);
      },
      onError: (_c, m) => { runStatus.textContent = m; },
    });
    active = { id, kind: "run", unsub };
  }

  function handleRunEvent(e: SubmissionEvent, tests: TestResult[], sampleTests: boolean, isInteractive: boolean): void {
    switch (e.kind) {
      case "queued":
        runStatus.textContent = e.position ? `Queued (${e.position} ahead)…` : "Queued…";
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
        if (e.result) finishRun(e.result);
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
  let testsBody: HTMLTableSectionElement | null = null;
  function renderTests(list: TestResult[], total?: number): void {
    if (!testsBody || !results.contains(testsBody)) {
      testsBody = h("tbody");
      results.replaceChildren(h("div.table-wrap", null, h("table.tests-table", null,
        h("caption.sr-only", null, "Per-test results"),
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Test"), h("th", { scope: "col" }, "Verdict"),
          h("th", { scope: "col" }, "Time"), h("th", { scope: "col" }, "Memory"), h("th", { scope: "col" }, "Details"))),
        testsBody)));
    }
    mount(testsBody, list.map((t) => h("tr", { class: `test-row ${t.hidden ? "is-hidden" : ""}`, "data-verdict": t.verdict ?? "" },
      h("th", { scope: "row" }, t.hidden ? h("span", null, h("span.lock", { "aria-hidden": "true" }, "🔒 "), `Hidden test ${t.name.replace(/^hidden-/, "#")}`) : t.name),
      h("td", null, verdictBadge(t.verdict)),
      h("td", null, `${t.cpu_ms} ms`),
      h("td", null, kib(t.memory_kib)),
      h("td.test-details", null,
        !t.hidden && t.message ? h("div", null, t.message) : null,
        !t.hidden && t.output_excerpt && t.verdict !== "ac" ? h("details", null, h("summary", null, "Your output"), h("pre.io", null, t.output_excerpt)) : null))));
    if (total && list.length < total) testsBody.append(h("tr.pending-row", null, h("td", { colspan: "5" }, `Running test ${list.length + 1} of ${total}…`)));
  }

  function showAwards(a: Awards | null | undefined, r: { verdict: string | null; score: number; max_score: number; message?: string; tests_passed?: number; tests_total?: number }): void {
    const banner = h("div.result-banner", { class: `v-${r.verdict ?? "pending"}`, "data-verdict": r.verdict ?? "", role: "status" },
      h("strong", null, verdictText(r.verdict ?? "unspecified")),
      ` — score ${r.score}/${r.max_score}`,
      r.tests_total ? `, ${r.tests_passed ?? 0}/${r.tests_total} tests passed` : "",
      r.message ? h("div.muted", null, r.message) : null);
    results.prepend(banner);
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
    if (a.first_solve) {
      solved = true;
      solvedBadge.hidden = false;
    }
    if (notes.childElementCount) banner.after(notes);
  }

  async function startSubmit(): Promise<void> {
    if (active) return;
    output.replaceChildren();
    runStatus.textContent = "";
    results.replaceChildren(h("p.muted", null, "Submitting…"));
    testsBody = null;
    busy(true);
    let acc;
    try {
      saveServer.flush(lang, editor.get());
      acc = await submissions.create({ task_slug: slug, language: lang, code: editor.get(), idempotency_key: crypto.randomUUID?.() });
    } catch (e) {
      busy(false);
      results.replaceChildren(h("p.error-box", { role: "alert" }, (e as Error).message));
      return;
    }
    let total = 0;
    const tests: TestResult[] = [];
    const id = acc.id;
    const unsub = live.subscribe(id, {
      onEvent: (e) => {
        switch (e.kind) {
          case "queued": results.replaceChildren(h("p.muted", null, e.position ? `Queued (${e.position} ahead)…` : "Queued…")); break;
          case "started":
            if (e.attempt > 1) tests.length = 0;
            total = e.test_count ?? 0;
            renderTests(tests, total);
            break;
          case "compile_output": if (!e.ok) results.append(h("pre.console.out-compile", null, e.text ?? "")); break;
          case "test_result": if (e.test) { tests.push(e.test); renderTests(tests, total); } break;
          case "error": results.append(h("p.muted", null, e.message ?? "")); break;
          case "result":
            active = null;
            busy(false);
            if (e.result) {
              renderTests(tests);
              showAwards(e.result.awards, e.result);
            }
            break;
        }
      },
      onSubmission: (s: Submission) => {
        active = null;
        busy(false);
        testsBody = null;
        renderTests(s.tests);
        showAwards(s.awards, { ...s, tests_passed: s.tests.filter((t) => t.verdict === "ac").length, tests_total: s.tests.length });
      },
      onError: (_c, m) => results.append(h("p.error-box", null, m)),
    });
    active = { id, kind: "submit", unsub };
  }
  submitBtn.addEventListener("click", () => void startSubmit());
}

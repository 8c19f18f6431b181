// The code editor: CodeMirror 6, loaded as its own chunk (it is most of the
// app's weight). Highlighting goes through classHighlighter, so colours come
// from styles.css and follow light/dark mode without reconfiguring.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  bracketMatching, ensureSyntaxTree, indentOnInput, indentUnit, syntaxHighlighting, syntaxTree, StreamLanguage, type LanguageSupport,
} from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars,
  keymap, lineNumbers, placeholder as placeholderExt,
} from "@codemirror/view";
import { classHighlighter } from "@lezer/highlight";
import { checkPython } from "./pycheck";

export interface EditorOptions {
  doc: string;
  mode: string; // "python", "c", "cpp", "java", "kotlin", "javascript", "go", "rust" (Language.editor_mode)
  label: string;
  onChange?: (code: string) => void;
  /** Extra key bindings (Mod-Enter to run, ...). */
  keys?: { key: string; run: () => boolean }[];
  readOnly?: boolean;
  placeholder?: string;
  /** Called with the diagnostics after each check (Python: syntax errors, undefined names). */
  onDiagnostics?: (d: { line: number; col: number; message: string; severity: string }[]) => void;
}

export interface CodeEditor {
  get(): string;
  set(code: string): void;
  setMode(mode: string): Promise<void>;
  focus(): void;
  /** Puts the cursor at the start of a 1-based line and scrolls it into view. */
  gotoLine(line: number): void;
  destroy(): void;
  view: EditorView;
}

/** Python diagnostics while typing (see pycheck.ts for why in the browser), 500 ms after the last keystroke. */
function pythonLinter(report?: EditorOptions["onDiagnostics"]): Extension {
  return [
    linter((view) => {
      const state = view.state;
      const tree = ensureSyntaxTree(state, state.doc.length, 200) ?? syntaxTree(state);
      const found: Diagnostic[] = checkPython(tree, state.doc.toString()).map((d) => ({
        from: Math.min(d.from, state.doc.length), to: Math.min(d.to, state.doc.length), severity: d.severity, message: d.message, source: "Python",
      }));
      report?.(found.map((d) => {
        const line = state.doc.lineAt(d.from);
        return { line: line.number, col: d.from - line.from + 1, message: d.message, severity: d.severity };
      }));
      return found;
    }, { delay: 500 }),
    lintGutter(),
  ];
}

async function languageFor(mode: string, o: EditorOptions): Promise<LanguageSupport | Extension> {
  switch (mode) {
    case "python": case "python3": return [python(), o.readOnly ? [] : pythonLinter(o.onDiagnostics)];
    case "c": case "cpp": case "c++": case "text/x-csrc": case "text/x-c++src": {
      const clike = await import("@codemirror/legacy-modes/mode/clike");
      return StreamLanguage.define(mode === "c" || mode === "text/x-csrc" ? clike.c : clike.cpp);
    }
    case "java": case "kotlin": {
      const clike = await import("@codemirror/legacy-modes/mode/clike");
      return StreamLanguage.define(mode === "java" ? clike.java : clike.kotlin);
    }
    case "javascript": return StreamLanguage.define((await import("@codemirror/legacy-modes/mode/javascript")).javascript);
    case "go": return StreamLanguage.define((await import("@codemirror/legacy-modes/mode/go")).go);
    case "rust": return StreamLanguage.define((await import("@codemirror/legacy-modes/mode/rust")).rust);
    default: return [];
  }
}

/**
 * The editor lives in a shadow root. CodeMirror injects its base styles at run
 * time; in a document that takes a <style> element, which the gateway's CSP
 * (style-src 'self', no 'unsafe-inline') refuses, but in a shadow root it uses
 * a constructed stylesheet, which CSP allows. The app's own stylesheet is
 * adopted into the shadow root too; theme variables inherit through the host.
 */
function shadowFor(host: HTMLElement): ShadowRoot {
  const root = host.shadowRoot ?? host.attachShadow({ mode: "open" });
  const sheets: CSSStyleSheet[] = [];
  for (const s of Array.from(document.styleSheets)) {
    try {
      const copy = new CSSStyleSheet();
      copy.replaceSync(Array.from(s.cssRules, (r) => r.cssText).join("\n"));
      sheets.push(copy);
    } catch {
      /* a cross-origin sheet: not ours */
    }
  }
  root.adoptedStyleSheets = sheets;
  return root;
}

export async function createEditor(host: HTMLElement, o: EditorOptions): Promise<CodeEditor> {
  const lang = new Compartment();
  const root = shadowFor(host);
  const parent = document.createElement("div");
  parent.className = "editor-root";
  root.replaceChildren(parent);
  const view = new EditorView({
    parent,
    root,
    state: EditorState.create({
      doc: o.doc,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        syntaxHighlighting(classHighlighter),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        keymap.of([
          ...(o.keys ?? []).map((k) => ({ key: k.key, run: k.run, preventDefault: true })),
          ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap, indentWithTab,
        ]),
        // tabindex: the content is focusable anyway (contenteditable); saying so lets checkers see the scroller is keyboard-reachable.
        EditorView.contentAttributes.of({ "aria-label": o.label, tabindex: "0" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) o.onChange?.(u.state.doc.toString());
        }),
        EditorState.readOnly.of(Boolean(o.readOnly)),
        o.placeholder ? placeholderExt(o.placeholder) : [],
        lang.of(await languageFor(o.mode, o)),
      ],
    }),
  });
  return {
    view,
    get: () => view.state.doc.toString(),
    set: (code: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } }),
    setMode: async (mode: string) => {
      o.onDiagnostics?.([]);
      view.dispatch({ effects: lang.reconfigure(await languageFor(mode, o)) });
    },
    focus: () => view.focus(),
    gotoLine: (n: number) => {
      const line = view.state.doc.line(Math.max(1, Math.min(n, view.state.doc.lines)));
      view.dispatch({ selection: { anchor: line.from }, effects: EditorView.scrollIntoView(line.from, { y: "center" }) });
      view.focus();
    },
    destroy: () => view.destroy(),
  };
}

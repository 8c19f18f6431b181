// The code editor: CodeMirror 6, loaded as its own chunk (it is most of the
// app's weight). Highlighting goes through classHighlighter, so colours come
// from styles.css and follow light/dark mode without reconfiguring.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { bracketMatching, indentOnInput, indentUnit, syntaxHighlighting, StreamLanguage, type LanguageSupport } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import {
  drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, highlightSpecialChars,
  keymap, lineNumbers, placeholder as placeholderExt,
} from "@codemirror/view";
import { classHighlighter } from "@lezer/highlight";

export interface EditorOptions {
  doc: string;
  mode: string; // "python", "c", "cpp", ... (Language.editor_mode)
  label: string;
  onChange?: (code: string) => void;
  /** Extra key bindings (Mod-Enter to run, ...). */
  keys?: { key: string; run: () => boolean }[];
  readOnly?: boolean;
  placeholder?: string;
}

export interface CodeEditor {
  get(): string;
  set(code: string): void;
  setMode(mode: string): Promise<void>;
  focus(): void;
  destroy(): void;
  view: EditorView;
}

async function languageFor(mode: string): Promise<LanguageSupport | Extension> {
  switch (mode) {
    case "python": case "python3": return python();
    case "c": case "cpp": case "c++": case "text/x-csrc": case "text/x-c++src": {
      const clike = await import("@codemirror/legacy-modes/mode/clike");
      return StreamLanguage.define(mode === "c" || mode === "text/x-csrc" ? clike.c : clike.cpp);
    }
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
        EditorView.contentAttributes.of({ "aria-label": o.label }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) o.onChange?.(u.state.doc.toString());
        }),
        EditorState.readOnly.of(Boolean(o.readOnly)),
        o.placeholder ? placeholderExt(o.placeholder) : [],
        lang.of(await languageFor(o.mode)),
      ],
    }),
  });
  return {
    view,
    get: () => view.state.doc.toString(),
    set: (code: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } }),
    setMode: async (mode: string) => view.dispatch({ effects: lang.reconfigure(await languageFor(mode)) }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

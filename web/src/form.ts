// form.ts — the form helpers of the editors (the task designer, the contest
// editor): inputs bound to a field of the document being edited, and labelled
// fields that carry the document path the server's FieldError names
// (data-field), so its errors land next to their input.
import { h } from "./dom";

export type Input = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
export type Kind = "text" | "int" | "float" | "bool";

export interface FormKit {
  /** A fresh element id for the document path `path`. */
  fid(path: string): string;
  /** Shows obj[key] in `el` and writes every edit back, as `kind`. */
  bind<T extends object>(obj: T, key: keyof T, el: Input, kind?: Kind): Input;
  /** A labelled field for the document path `path` ("$.title"), with help. */
  fld(label: string, path: string, el: Input, help?: string): HTMLElement;
  input(type?: string, attrs?: Record<string, string>): HTMLInputElement;
  /** A select of values, each shown as labels(value) (default: itself). */
  select(values: string[], labels?: (v: string) => string): HTMLSelectElement;
}

/** Helpers whose element ids start with `prefix`; `changed` runs after every
 * edit bind writes back. */
export function formKit(prefix: string, changed: () => void = () => {}): FormKit {
  let uid = 0;
  const fid = (path: string) => `${prefix}-${path.replace(/[^a-z0-9]+/gi, "-")}-${++uid}`;
  return {
    fid,
    bind(obj, key, el, kind = "text") {
      const v = obj[key] as unknown;
      if (kind === "bool") (el as HTMLInputElement).checked = Boolean(v);
      else el.value = v === undefined || v === null ? "" : String(v);
      el.addEventListener(kind === "bool" ? "change" : "input", () => {
        const raw = kind === "bool" ? (el as HTMLInputElement).checked : el.value;
        (obj as Record<string, unknown>)[key as string] =
          kind === "int" ? (raw === "" ? 0 : Math.trunc(Number(raw))) : kind === "float" ? (raw === "" ? 0 : Number(raw)) : raw;
        changed();
      });
      return el;
    },
    fld(label, path, el, help) {
      el.id ||= fid(path);
      el.dataset.path = path;
      if (!el.getAttribute("name")) el.setAttribute("name", path.replace(/^\$\./, "").replace(/[^a-z0-9_]+/gi, "_"));
      const helpEl = help ? h("small.help", { id: `${el.id}-help` }, help) : null;
      if (helpEl) el.setAttribute("aria-describedby", helpEl.id);
      if (el instanceof HTMLInputElement && el.type === "checkbox")
        return h("div.field", { "data-field": path }, h("label.check", { for: el.id }, el, ` ${label}`), helpEl, h("small.field-error"));
      return h("div.field", { "data-field": path }, h("label", { for: el.id }, label), el, helpEl, h("small.field-error"));
    },
    input: (type = "text", attrs = {}) => h("input", { type, ...attrs }),
    select: (values, labels) => h("select", null, values.map((v) => h("option", { value: v }, labels ? labels(v) : v))),
  };
}

/** Until the author edits the slug of a new document, the slug follows the
 * title (lower case, [a-z0-9-], starting with a letter, at most `max`). */
export function slugFollowsTitle(doc: { slug: string }, slugIn: Input, titleIn: Input, isNew: boolean, max: number): void {
  if (!isNew) (slugIn as HTMLInputElement).readOnly = true;
  titleIn.addEventListener("input", () => {
    if (isNew && !slugIn.dataset.edited) {
      doc.slug = titleIn.value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^[^a-z]+|-+$/g, "").slice(0, max);
      slugIn.value = doc.slug;
    }
  });
  slugIn.addEventListener("input", () => (slugIn.dataset.edited = "1"));
}

// Tiny DOM helpers. Every piece of text goes through textContent / createTextNode,
// never innerHTML, so user data (display names, task text) can never become markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

type Tag<S extends string> = S extends `${infer A}#${string}` ? Tag<A> : S extends `${infer A}.${string}` ? A : S;
type El<S extends string> = Tag<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[Tag<S>] : HTMLElement;

/** Creates an element: h("button.primary#go", { type: "button", onclick: f }, "Go"). */
export function h<S extends string>(spec: S, attrs?: Attrs | null, ...children: (Child | Child[])[]): El<S> {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  if (!m) throw new Error(`bad element spec ${spec}`);
  const el = document.createElement(m[1]) as El<S>;
  for (const part of m[2].match(/[.#][\w-]+/g) ?? []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v as EventListener);
      } else if (k === "class") {
        for (const c of String(v).split(/\s+/)) if (c) el.classList.add(c);
      } else if (k === "value" && "value" in el) {
        (el as unknown as HTMLInputElement).value = String(v);
      } else if (k === "checked" && el instanceof HTMLInputElement) {
        el.checked = Boolean(v);
      } else if (k === "style") {
        throw new Error("use CSS classes, not style attributes");
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export function $(sel: string, root: ParentNode = document): HTMLElement {
  const el = root.querySelector<HTMLElement>(sel);
  if (!el) throw new Error(`no element ${sel}`);
  return el;
}

/** A labelled form field; the input gets an id derived from name. */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  help?: string,
): HTMLElement {
  if (!input.id) input.id = `f-${input.name || Math.random().toString(36).slice(2)}`;
  const helpEl = help ? h("small.help", { id: `${input.id}-help` }, help) : null;
  if (helpEl) input.setAttribute("aria-describedby", helpEl.id);
  const err = h("small.field-error", { id: `${input.id}-err`, "aria-live": "polite" });
  return h("div.field", null, h("label", { for: input.id }, label), input, helpEl, err);
}

/** Shows a server error next to the input named by `field`, or returns false. */
export function showFieldError(form: HTMLElement, name: string | undefined, message: string): boolean {
  if (!name) return false;
  const key = name.replace(/^\$\./, "").split(/[.[]/)[0];
  const input = form.querySelector<HTMLElement>(`[name="${CSS.escape(key)}"]`);
  if (!input) return false;
  const err = form.querySelector<HTMLElement>(`#${CSS.escape(input.id)}-err`);
  input.setAttribute("aria-invalid", "true");
  if (err) err.textContent = message;
  input.focus();
  return true;
}

export function clearFieldErrors(form: HTMLElement): void {
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach((e) => (e.textContent = ""));
}

let toastSeq = 0;
/** A transient notice (points, streaks, errors). kind: info | success | error | achievement. */
export function toast(text: string, kind = "info", ms = 6000): HTMLElement {
  const box = document.getElementById("toasts");
  const t = h("div.toast", { class: `toast-${kind}`, "data-toast": String(++toastSeq) }, text);
  const close = h("button.toast-close", { type: "button", "aria-label": "Dismiss" }, "×");
  close.addEventListener("click", () => t.remove());
  t.appendChild(close);
  box?.appendChild(t);
  if (ms > 0) setTimeout(() => t.remove(), ms);
  return t;
}

export function fmtDate(micros: number | string | undefined): string {
  const n = Number(micros);
  if (!n) return "";
  return new Date(n / 1000).toLocaleString();
}

export function debounce<A extends unknown[]>(fn: (...a: A) => void, ms: number) {
  let t: ReturnType<typeof setTimeout> | undefined;
  const d = (...a: A) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
  d.flush = (...a: A) => {
    clearTimeout(t);
    fn(...a);
  };
  d.cancel = () => clearTimeout(t);
  return d;
}

// History-API routing. The gateway answers every non-API, non-asset path with
// index.html, so /tasks/two-sum and /reset-password?token=... load the app.

export interface Ctx {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the user navigates away; pages stop timers and sockets on it. */
  signal: AbortSignal;
}

export type Page = (main: HTMLElement, ctx: Ctx) => void | Promise<void>;

interface Route { re: RegExp; keys: string[]; page: () => Promise<Page> | Page; auth: boolean; author?: boolean; title: string }

const routes: Route[] = [];
let current: AbortController | null = null;
let navigated = false;
let renderHook: (r: { title: string; auth: boolean; author?: boolean }, path: string) => Promise<boolean> = async () => true;

export function route(path: string, title: string, page: () => Promise<Page> | Page, opts: { auth?: boolean; author?: boolean } = {}): void {
  const keys: string[] = [];
  const re = new RegExp(
    "^" + path.replace(/:(\w+)/g, (_, k) => { keys.push(k); return "([^/]+)"; }) + "/?$",
  );
  routes.push({ re, keys, page, auth: opts.auth ?? true, author: opts.author, title });
}

/** Called before a page renders; return false to stop (e.g. after redirecting to /login). */
export function beforeRender(f: typeof renderHook): void {
  renderHook = f;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  void render();
}

export async function render(): Promise<void> {
  current?.abort();
  const ac = new AbortController();
  current = ac;
  const main = document.getElementById("main")!;
  const path = location.pathname;
  let r = routes.find((x) => x.re.test(path));
  if (!r) r = routes.find((x) => x.title === "Not found")!;
  const m = r.re.exec(path) ?? [];
  const params: Record<string, string> = {};
  r.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1] ?? "")));
  if (!(await renderHook(r, path + location.search))) return;
  if (ac.signal.aborted) return;
  document.title = r.title ? `${r.title} · Dojo` : "Dojo";
  const page = await r.page();
  if (ac.signal.aborted) return;
  main.replaceChildren();
  main.removeAttribute("aria-busy");
  try {
    await page(main, { params, query: new URLSearchParams(location.search), signal: ac.signal });
  } catch (e) {
    if (!ac.signal.aborted) {
      const p = document.createElement("p");
      p.className = "error-box";
      p.setAttribute("role", "alert");
      p.textContent = `Something went wrong: ${(e as Error).message}`;
      main.replaceChildren(p);
    }
  }
  // After an in-app navigation, move focus to the new page for keyboard and screen-reader users.
  if (navigated && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  navigated = true;
  document.dispatchEvent(new CustomEvent("dojo:navigated", { detail: path }));
}

export function start(): void {
  window.addEventListener("popstate", () => void render());
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const href = a.getAttribute("href");
    if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/api/")) return;
    e.preventDefault();
    if (href !== location.pathname + location.search) navigate(href);
  });
  void render();
}

// Dark mode: follows prefers-color-scheme unless the user picked one.
const KEY = "dojo.theme";
export type Theme = "light" | "dark" | "system";

export function savedTheme(): Theme {
  const t = localStorage.getItem(KEY);
  return t === "light" || t === "dark" ? t : "system";
}

export function effectiveTheme(): "light" | "dark" {
  const t = savedTheme();
  if (t !== "system") return t;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(t: Theme = savedTheme()): void {
  if (t === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, t);
  document.documentElement.dataset.theme = t === "system" ? effectiveTheme() : t;
  for (const f of listeners) f();
}

const listeners = new Set<() => void>();
export function onThemeChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  if (savedTheme() === "system") applyTheme("system");
});

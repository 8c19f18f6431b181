// Register, sign in, forgot and reset password.

import { ApiError, auth } from "../api";
import { clearFieldErrors, field, h, mount, showFieldError } from "../dom";
import { navigate, type Ctx } from "../router";
import * as session from "../session";

function safeNext(q: URLSearchParams): string {
  const n = q.get("next") || "/";
  return n.startsWith("/") && !n.startsWith("//") ? n : "/";
}

function input(name: string, type: string, attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  return h("input", { name, type, id: `f-${name}`, ...attrs });
}

/** Shows an API error on its field, or in the form's alert box. */
function showError(form: HTMLFormElement, e: unknown, alias: Record<string, string> = {}): void {
  const box = form.querySelector<HTMLElement>(".form-alert")!;
  if (e instanceof ApiError) {
    const f = e.field ? alias[e.field] ?? e.field : undefined;
    if (showFieldError(form, f, e.message)) {
      box.textContent = "";
      return;
    }
    box.textContent = e.message;
  } else box.textContent = String((e as Error)?.message ?? e);
}

function authCard(title: string, form: HTMLFormElement, footer: Node[]): HTMLElement {
  return h("section.page.auth-page", null, h("div.card.auth-card", null, h("h1", null, title), form, h("div.auth-footer", null, footer)));
}

function submitting(form: HTMLFormElement, busy: boolean): void {
  form.querySelectorAll<HTMLButtonElement>("button[type=submit]").forEach((b) => (b.disabled = busy));
  form.setAttribute("aria-busy", String(busy));
}

export async function loginPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  if (session.user()) return navigate(safeNext(ctx.query), true);
  const login = input("login", "text", { autocomplete: "username", required: true, autocapitalize: "off", spellcheck: "false" });
  const password = input("password", "password", { autocomplete: "current-password", required: true });
  const form = h("form.form", { novalidate: true },
    h("div.form-alert", { role: "alert" }),
    field("Email or username", login),
    field("Password", password),
    h("button.btn.btn-primary.btn-block", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    if (!login.value.trim()) return void showFieldError(form, "login", "Enter your email or username.");
    if (!password.value) return void showFieldError(form, "password", "Enter your password.");
    submitting(form, true);
    try {
      const s = await auth.login({ login: login.value.trim(), password: password.value });
      session.setUser(s.user);
      await session.load(true).catch(() => null);
      navigate(safeNext(ctx.query), true);
    } catch (err) {
      showError(form, err);
      password.select();
    } finally {
      submitting(form, false);
    }
  });
  mount(main, authCard("Sign in", form, [
    h("a", { href: "/forgot-password" }, "Forgot your password?"),
    h("span", null, "New here? ", h("a", { href: `/register${location.search}` }, "Create an account")),
  ]));
  login.focus();
}

export async function registerPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  if (session.user()) return navigate(safeNext(ctx.query), true);
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const email = input("email", "email", { autocomplete: "email", required: true });
  const username = input("username", "text", { autocomplete: "username", required: true, pattern: "[a-z0-9_-]{3,32}", autocapitalize: "off", spellcheck: "false" });
  const display = input("display_name", "text", { autocomplete: "nickname", maxlength: "64" });
  const password = input("password", "password", { autocomplete: "new-password", required: true, minlength: "10", maxlength: "128" });
  const timeZone = input("time_zone", "text", { value: tz, autocomplete: "off", list: "tz-list" });
  const form = h("form.form", { novalidate: true },
    h("div.form-alert", { role: "alert" }),
    field("Email", email),
    field("Username", username, "3–32 characters: lower-case letters, digits, _ and -."),
    field("Display name (optional)", display, "Shown on leaderboards; defaults to your username."),
    field("Password", password, "At least 10 characters."),
    field("Time zone", timeZone, "Your streak days follow this zone."),
    timeZoneList(),
    h("button.btn.btn-primary.btn-block", { type: "submit" }, "Create account"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const u = username.value.trim().toLowerCase();
    if (!/^\S+@\S+\.\S+$/.test(email.value.trim())) return void showFieldError(form, "email", "Enter a valid email address.");
    if (!/^[a-z0-9_-]{3,32}$/.test(u)) return void showFieldError(form, "username", "Use 3–32 characters: a–z, 0–9, _ and -.");
    if (password.value.length < 10) return void showFieldError(form, "password", "Use at least 10 characters.");
    submitting(form, true);
    try {
      const s = await auth.register({
        email: email.value.trim(),
        username: u,
        password: password.value,
        time_zone: timeZone.value.trim() || "UTC",
        display_name: display.value.trim() || undefined,
      });
      session.setUser(s.user);
      await session.load(true).catch(() => null);
      navigate(safeNext(ctx.query), true);
    } catch (err) {
      showError(form, err);
    } finally {
      submitting(form, false);
    }
  });
  mount(main, authCard("Create your account", form, [
    h("span", null, "Already have one? ", h("a", { href: `/login${location.search}` }, "Sign in")),
  ]));
  email.focus();
}

export function timeZoneList(): HTMLDataListElement {
  const list = h("datalist#tz-list");
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  for (const z of ["UTC", ...zones]) list.appendChild(h("option", { value: z }));
  return list;
}

export function forgotPage(main: HTMLElement): void {
  const email = input("email", "email", { autocomplete: "email", required: true });
  const done = h("div.notice.notice-success", { role: "status", hidden: true });
  const form = h("form.form", { novalidate: true },
    h("p.muted", null, "Enter your account's email address. If it exists, we send a link to choose a new password."),
    h("div.form-alert", { role: "alert" }),
    field("Email", email),
    h("button.btn.btn-primary.btn-block", { type: "submit" }, "Send reset link"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    if (!/^\S+@\S+$/.test(email.value.trim())) return void showFieldError(form, "email", "Enter a valid email address.");
    submitting(form, true);
    try {
      await auth.forgot(email.value.trim());
      done.hidden = false;
      done.textContent = "If an account uses that address, a reset link is on its way. The link works once, for one hour.";
      form.hidden = true;
    } catch (err) {
      showError(form, err);
    } finally {
      submitting(form, false);
    }
  });
  mount(main, authCard("Forgot your password?", form, [done, h("a", { href: "/login" }, "Back to sign in")]));
  email.focus();
}

export function resetPage(main: HTMLElement, ctx: Ctx): void {
  const token = ctx.query.get("token") ?? "";
  if (!token) {
    mount(main, h("section.page.auth-page", null, h("div.card.auth-card", null, h("h1", null, "Reset password"),
      h("p", null, "This page needs the link from the reset mail. ", h("a", { href: "/forgot-password" }, "Request a new link")))));
    return;
  }
  // Keep the token out of the address bar (and of later Referer headers).
  history.replaceState(null, "", "/reset-password");
  const pw = input("new_password", "password", { autocomplete: "new-password", required: true, minlength: "10", maxlength: "128" });
  const pw2 = input("confirm", "password", { autocomplete: "new-password", required: true });
  const done = h("div.notice.notice-success", { role: "status", hidden: true });
  const form = h("form.form", { novalidate: true },
    h("div.form-alert", { role: "alert" }),
    field("New password", pw, "At least 10 characters."),
    field("Repeat it", pw2),
    h("button.btn.btn-primary.btn-block", { type: "submit" }, "Set new password"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    if (pw.value.length < 10) return void showFieldError(form, "new_password", "Use at least 10 characters.");
    if (pw.value !== pw2.value) return void showFieldError(form, "confirm", "The passwords differ.");
    submitting(form, true);
    try {
      await auth.reset(token, pw.value);
      form.hidden = true;
      done.hidden = false;
      mount(done, "Your password is changed and every session was signed out. ", h("a", { href: "/login" }, "Sign in"));
    } catch (err) {
      showError(form, err, { token: "new_password" });
      if (err instanceof ApiError && err.field === "token") {
        form.querySelector<HTMLElement>(".form-alert")!.replaceChildren(
          "This link is invalid, used or expired. ", h("a", { href: "/forgot-password" }, "Request a new one"), ".");
      }
    } finally {
      submitting(form, false);
    }
  });
  mount(main, authCard("Choose a new password", form, [done]));
  pw.focus();
}

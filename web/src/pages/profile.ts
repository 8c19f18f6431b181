// Profile: display name, time zone, leaderboard opt-out, password, theme.

import { ApiError, auth, me } from "../api";
import { clearFieldErrors, field, h, mount, showFieldError, toast } from "../dom";
import { toDate } from "../enums";
import { navigate } from "../router";
import * as session from "../session";
import { applyTheme, savedTheme, type Theme } from "../theme";
import { timeZoneList } from "./auth";

export async function profilePage(main: HTMLElement): Promise<void> {
  const m = await session.load(true);
  if (!m) return navigate("/login?next=/profile", true);
  const u = m.user;

  const name = h("input", { name: "display_name", id: "f-display_name", type: "text", maxlength: "64", required: true, value: u.display_name });
  const tz = h("input", { name: "time_zone", id: "f-time_zone", type: "text", value: u.time_zone, list: "tz-list", autocomplete: "off" });
  // The 24 h rule: when the zone changed last, the next change waits until a day later.
  const nextChange = (user: typeof u): Date | null => {
    const at = toDate(user.time_zone_changed_at);
    const next = at ? new Date(at.getTime() + 24 * 3600 * 1000) : null;
    return next && next.getTime() > Date.now() ? next : null;
  };
  const tzHelp = (user: typeof u) => {
    const next = nextChange(user);
    return "Decides when your streak days start and end. " + (next
      ? `It changed recently: the next change is possible after ${next.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}.`
      : "After a change, the next one is possible 24 hours later.");
  };
  const optOut = h("input#f-opt-out", { type: "checkbox", name: "leaderboard_opt_out", checked: m.leaderboard_opt_out });
  const form = h("form.form.card", { novalidate: true, "aria-labelledby": "profile-h" },
    h("h2#profile-h", null, "Profile"),
    h("div.form-alert", { role: "alert" }),
    h("p.muted", null, `Signed in as ${u.username}`, u.email ? ` (${u.email})` : "", ` · role: ${u.role}`),
    field("Display name", name, "Shown on leaderboards, 1–64 characters."),
    field("Time zone", tz, tzHelp(u)),
    timeZoneList(),
    h("label.check", null, optOut, " Hide me from leaderboards (my points still count)"),
    h("button.btn.btn-primary", { type: "submit" }, "Save profile"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const alert = form.querySelector<HTMLElement>(".form-alert")!;
    alert.textContent = "";
    const body: { display_name?: string; time_zone?: string; leaderboard_opt_out?: boolean } = {};
    const cur = session.profile()!;
    if (!name.value.trim()) return void showFieldError(form, "display_name", "Enter a display name.");
    if (name.value.trim() !== cur.user.display_name) body.display_name = name.value.trim();
    if (tz.value.trim() && tz.value.trim() !== cur.user.time_zone) body.time_zone = tz.value.trim();
    if (optOut.checked !== cur.leaderboard_opt_out) body.leaderboard_opt_out = optOut.checked;
    if (!Object.keys(body).length) return void toast("Nothing to save.");
    const setHelp = (user: typeof u) => { const el = form.querySelector("#f-time_zone-help"); if (el) el.textContent = tzHelp(user); };
    try {
      const r = await me.update(body);
      session.setMe(r);
      name.value = r.user.display_name;
      setHelp(r.user);
      if (body.time_zone && r.time_zone_applied === false) {
        // The zone in effect is the one streak days follow: show that one, not the text typed.
        const inEffect = (await me.progress().catch(() => null))?.time_zone ?? cur.user.time_zone;
        tz.value = inEffect;
        alert.textContent = `Saved, but the time zone stays ${inEffect}: it already changed in the last 24 hours.`;
      } else {
        tz.value = r.user.time_zone;
        toast("Profile saved.", "success");
      }
    } catch (err) {
      if (err instanceof ApiError && err.field === "time_zone" && err.status === 422) {
        // Refused by the 24 h rule: the field goes back to the saved zone, and says when it can change.
        const wanted = tz.value.trim();
        tz.value = cur.user.time_zone;
        const next = nextChange(cur.user);
        showFieldError(form, "time_zone", `${wanted} is not saved: the zone changed less than 24 hours ago, so it stays ${cur.user.time_zone}` +
          (next ? ` until ${next.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })}.` : "."));
        return;
      }
      if (err instanceof ApiError && showFieldError(form, err.field ?? undefined, err.message)) return;
      alert.textContent = (err as Error).message;
    }
  });

  const cur = h("input", { name: "current_password", id: "f-current_password", type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { name: "new_password", id: "f-new_password", type: "password", autocomplete: "new-password", required: true, minlength: "10" });
  const pwForm = h("form.form.card", { novalidate: true, "aria-labelledby": "pw-h" },
    h("h2#pw-h", null, "Password"),
    h("div.form-alert", { role: "alert" }),
    field("Current password", cur),
    field("New password", next, "At least 10 characters. Every session, this one too, is signed out."),
    h("button.btn", { type: "submit" }, "Change password"));
  pwForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(pwForm);
    if (next.value.length < 10) return void showFieldError(pwForm, "new_password", "Use at least 10 characters.");
    try {
      await auth.changePassword(cur.value, next.value);
      session.setMe(null);
      toast("Password changed. Please sign in again.", "success");
      navigate("/login", true);
    } catch (err) {
      if (err instanceof ApiError && showFieldError(pwForm, err.field ?? undefined, err.message)) return;
      pwForm.querySelector<HTMLElement>(".form-alert")!.textContent = (err as Error).message;
    }
  });

  const themes: [Theme, string][] = [["system", "Follow the system"], ["light", "Light"], ["dark", "Dark"]];
  const themeSet = h("fieldset.card.theme-choice", null, h("legend", null, "Appearance"),
    themes.map(([v, label]) => {
      const r = h("input", { type: "radio", name: "theme", value: v, checked: savedTheme() === v });
      r.addEventListener("change", () => applyTheme(v));
      return h("label.check", null, r, ` ${label}`);
    }));

  mount(main, h("section.page.profile-page", null, h("h1", null, "Your profile"), form, themeSet, pwForm));
}

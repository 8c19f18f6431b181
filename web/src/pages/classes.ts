// /classes: what is due (in the learner's own zone), joining a class by code
// or link, the classes one is in and — for teachers — the classes they teach
// and a form to create one. /join/:code and /join?invite=… join from a link.

import { ApiError } from "../api";
import { assignments, classes, type ClassInfo, type DueAssignment } from "../api-classes";
import { dueStateText, inZone, latePolicyText, parseJoinInput, prettyCode, relative, round } from "../classes";
import { clearFieldErrors, field, h, mount, showFieldError, toast } from "../dom";
import { isTeacher, toDate, verdictText } from "../enums";
import { navigate, type Ctx } from "../router";
import * as session from "../session";

export async function classesPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  mount(main, h("p.loading", null, "Loading your classes…"));
  const teacher = isTeacher(session.user()?.role);
  const showArchived = ctx.query.get("archived") === "1";
  const [list, due] = await Promise.all([
    classes.list({ include_archived: showArchived, page_size: 100 }),
    assignments.due().catch(() => null),
  ]);
  if (ctx.signal.aborted) return;
  const teaching = list.classes.filter((c) => c.teaching);
  const member = list.classes.filter((c) => c.member && !c.teaching);
  mount(main, h("section.page.classes-page", null,
    h("h1", null, "Classes"),
    due && (due.assignments.length || member.length) ? dueCard(due.assignments, due.time_zone) : null,
    joinCard(),
    member.length ? h("section.card", null, h("h2", null, "Your classes"), classList(member)) : null,
    teacher ? h("section.card#teaching", null,
      h("div.page-head", null, h("h2", null, "Classes you teach"),
        h("a.small", { href: showArchived ? "/classes" : "/classes?archived=1" }, showArchived ? "Hide archived" : "Show archived")),
      teaching.length ? classList(teaching) : h("p.muted", null, "None yet: create your first class below."),
      createForm()) : null,
    !teacher && !member.length ? h("p.muted", null, "Teachers give their learners a join code or link. Teaching yourself? Ask your institution's admin for the teacher role.") : null));
}

function classList(list: ClassInfo[]): HTMLElement {
  return h("ul.class-list", null, list.map((c) => h("li.class-row", { "data-class": c.id },
    h("div.class-name", null,
      h("a.task-title", { href: `/classes/${encodeURIComponent(c.id)}` }, c.title),
      c.archived ? h("span.badge.badge-archived", null, "archived") : null,
      c.description ? h("div.muted.small", null, c.description) : null),
    h("div.task-meta", null,
      h("span.muted", null, `${c.member_count} learner${c.member_count === 1 ? "" : "s"}`),
      h("span.muted", null, `${c.assignment_count} assignment${c.assignment_count === 1 ? "" : "s"}`),
      c.teaching ? h("a.btn.btn-small", { href: `/classes/${encodeURIComponent(c.id)}/dashboard` }, "Dashboard") : null))));
}

/** What is due, soonest first, every time shown in the learner's own zone. */
export function dueCard(list: DueAssignment[], zone: string, title = "What is due"): HTMLElement {
  const now = new Date();
  return h("section.card#due", null,
    h("h2", null, title),
    h("p.muted.small", null, `Times in your time zone, ${zone}.`),
    list.length ? h("ul.due-list", null, list.map((d) => {
      const a = d.assignment;
      const dueAt = toDate(a.due_at), opensAt = toDate(a.opens_at);
      const solved = d.tasks.filter((t) => t.solved).length;
      return h("li.due-item", { "data-assignment": a.id, "data-state": d.state, class: d.complete ? "is-complete" : "" },
        h("div.due-head", null,
          h("strong", null, a.title), h("span.muted", null, ` · ${d.class_title}`),
          h("span.badge", { class: `due-${d.state}` }, d.complete ? "done" : dueStateText(d.state))),
        h("div.due-when", null,
          d.state === "upcoming" && opensAt ? `Opens ${inZone(opensAt, zone)} (${relative(opensAt, now)}) · ` : "",
          dueAt ? h("span.due-at", null, `Due ${inZone(dueAt, zone)}`) : null,
          dueAt ? h("span.muted", null, ` (${relative(dueAt, now)})`) : null),
        h("div.muted.small", null, `${solved} of ${d.tasks.length} solved · grade ${round(d.grade_percent)}% · ${latePolicyText(a.late_policy, a.late_penalty_percent)}`),
        h("ul.due-tasks", null, d.tasks.map((t) => h("li", { "data-slug": t.slug },
          h("span.state", { class: t.solved ? "state-solved" : t.attempts ? "state-attempted" : "", "aria-hidden": "true" }, t.solved ? "✓" : t.attempts ? "•" : "○"),
          d.state === "upcoming" ? h("span", null, t.title) : h("a", { href: `/tasks/${encodeURIComponent(t.slug)}` }, t.title),
          h("span.sr-only", null, t.solved ? " (solved)" : t.attempts ? " (attempted)" : " (not started)"),
          t.late ? h("span.badge.badge-late", null, "late") : null,
          !t.solved && t.last_verdict ? h("span.muted.small", null, ` last: ${verdictText(t.last_verdict)}`) : null))));
    })) : h("p.muted", null, "Nothing due. Well done!"));
}

function joinCard(): HTMLElement {
  const input = h("input", { type: "text", name: "code", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", placeholder: "ABCD-2345 or a link" });
  const alert = h("p.form-alert", { role: "alert" });
  const btn = h("button.btn.btn-primary", { type: "submit" }, "Join");
  const form = h("form.join-form", { novalidate: true }, field("Join code or link", input, "From your teacher"), btn, alert);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.textContent = "";
    const what = parseJoinInput(input.value);
    if (!what) {
      showFieldError(form, "code", "Enter the code (8 letters and digits) or paste the link.");
      return;
    }
    btn.disabled = true;
    void joinWith(what, alert).finally(() => (btn.disabled = false));
  });
  return h("section.card#join", null, h("h2", null, "Join a class"), form);
}

async function joinWith(what: { code: string } | { invite: string }, alert: HTMLElement): Promise<boolean> {
  try {
    const r = await classes.join(what);
    toast(r.joined ? `You joined ${r.class.title}.` : `You already are in ${r.class.title}.`, "success");
    navigate(`/classes/${encodeURIComponent(r.class.id)}`);
    return true;
  } catch (e) {
    const err = e as ApiError;
    alert.textContent = err.status === 404
      ? ("invite" in what ? "This invitation link is not valid any more (it works once, for 14 days). Ask your teacher for a new one." : "No class has this code. Check it with your teacher.")
      : err.status === 409 ? `You cannot join: ${err.message}.` : err.message;
    return false;
  }
}

function createForm(): HTMLElement {
  const me = session.user();
  const title = h("input", { type: "text", name: "title", required: true, maxlength: "120", autocomplete: "off" });
  const desc = h("textarea", { name: "description", rows: "2", maxlength: "1000" });
  const zone = h("input", { type: "text", name: "time_zone", value: me?.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone, autocomplete: "off" });
  const alert = h("p.form-alert", { role: "alert" });
  const btn = h("button.btn.btn-primary#create-class", { type: "submit" }, "Create the class");
  const form = h("form.form.create-class", { novalidate: true },
    h("h3", null, "Create a class"),
    h("div.grid-2", null, field("Title", title), field("Time zone", zone, "Assignment dates are written in this IANA zone (e.g. Europe/Berlin)")),
    field("Description (optional)", desc), h("div.actions", null, btn), alert);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.textContent = "";
    if (!title.value.trim()) {
      showFieldError(form, "title", "Give the class a title.");
      return;
    }
    btn.disabled = true;
    try {
      const c = await classes.create({ title: title.value.trim(), description: desc.value.trim() || undefined, time_zone: zone.value.trim() || undefined });
      toast(`Class ${c.title} created.`, "success");
      navigate(`/classes/${encodeURIComponent(c.id)}`);
    } catch (err) {
      const x = err as ApiError;
      if (!showFieldError(form, x.field, x.message)) alert.textContent = x.message;
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

/** /join/:code and /join?invite=TOKEN: says what is about to happen, joins on a click. */
export async function joinPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const invite = ctx.query.get("invite");
  const what = invite ? { invite } : ctx.params.code ? parseJoinInput(ctx.params.code) : null;
  if (!what) {
    mount(main, h("section.page.auth-page", null, h("h1", null, "Join a class"), joinCard()));
    return;
  }
  const alert = h("p.form-alert", { role: "alert" });
  const btn = h("button.btn.btn-primary#join-btn", { type: "button" }, "Join the class");
  btn.addEventListener("click", () => {
    btn.disabled = true;
    alert.textContent = "";
    void joinWith(what, alert).then((ok) => { if (!ok) btn.disabled = false; });
  });
  mount(main, h("section.page.auth-page", null, h("div.card.auth-card", null,
    h("h1", null, "Join a class"),
    "code" in what ? h("p", null, "Join the class with the code ", h("strong.mono", null, prettyCode(what.code)), "?")
      : h("p", null, "Accept the invitation to the class?"),
    h("p.muted.small", null, "Your teacher will see your progress on the tasks of the class; classmates see only your display name on the class board."),
    h("div.actions", null, btn, h("a", { href: "/classes" }, "Not now")), alert)));
}

// /classes/:id — one class. Its teachers manage it here: the join code and
// link, assignments (tasks, open and due dates in the class's zone, the late
// policy, reminders, grades as CSV), the roster (members, invitations, CSV
// import) and archiving. Its learners see what is due in it, in their own
// zone, and the class board (classmates by display name; opt-outs respected).

import { ApiError, tasks as tasksApi, type TaskSummary } from "../api";
import {
  assignments, classes, fetchCsv,
  type Assignment, type AssignmentWrite, type ClassBoard, type ClassInfo, type LatePolicy, type RosterReport,
} from "../api-classes";
import { gradesFileName, inZone, joinLink, latePolicyText, localDateIn, prettyCode, round, toInputValue } from "../classes";
import { clearFieldErrors, field, h, mount, showFieldError, toast } from "../dom";
import { toDate } from "../enums";
import { navigate, type Ctx } from "../router";
import { dueCard } from "./classes";

export async function classPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  const id = ctx.params.id;
  mount(main, h("p.loading", null, "Loading the class…"));
  let c: ClassInfo;
  try {
    c = await classes.get(id);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) {
      mount(main, h("section.page", null, h("h1", null, "No such class"),
        h("p", null, "It does not exist, or you are not in it. ", h("a", { href: "/classes" }, "Your classes"))));
      return;
    }
    throw e;
  }
  if (ctx.signal.aborted) return;
  document.title = `${c.title} · Dojo`;
  if (c.teaching) await teacherView(main, ctx, c);
  else await learnerView(main, ctx, c);
}

function head(c: ClassInfo, ...extra: (Node | null)[]): HTMLElement {
  // Learners see every time in their own zone; the class's zone is the teachers' concern.
  return h("div.page-head", null,
    h("div", null, h("h1", null, c.title, c.archived ? h("span.badge.badge-archived", null, "archived") : null),
      h("p.page-summary", null,
        h("span", null, `${c.member_count} learner${c.member_count === 1 ? "" : "s"}`),
        h("span", null, `Teachers: ${c.teachers.map((t) => t.display_name).join(", ") || "—"}`),
        c.teaching ? h("span", null, `Dates in ${c.time_zone}`) : null)),
    h("div.actions", null, extra));
}

// ---- learners -------------------------------------------------------------

async function learnerView(main: HTMLElement, ctx: Ctx, c: ClassInfo): Promise<void> {
  const [due, list] = await Promise.all([assignments.due(true), assignments.list(c.id)]);
  if (ctx.signal.aborted) return;
  const mine = due.assignments.filter((d) => d.assignment.class_id === c.id);
  const leave = h("button.btn.btn-ghost.btn-small#leave-class", { type: "button" }, "Leave the class");
  leave.addEventListener("click", async () => {
    if (!confirm(`Leave ${c.title}? Your submissions and points stay yours.`)) return;
    await classes.removeMember(c.id, "me");
    toast(`You left ${c.title}.`, "success");
    navigate("/classes");
  });
  mount(main, h("section.page.class-page", { "data-class": c.id },
    head(c, leave),
    c.description ? h("p", null, c.description) : null,
    dueCard(mine, due.time_zone, "Assignments"),
    boardCard(c, list.assignments, ctx)));
}

// ---- the class board (learners and teachers) ------------------------------------

function boardCard(c: ClassInfo, list: Assignment[], ctx: Ctx): HTMLElement {
  const select = h("select", { name: "board" },
    h("option", { value: "" }, "All time (points)"),
    list.map((a) => h("option", { value: a.id }, `Assignment: ${a.title}`)));
  const panel = h("div#board-panel", { "aria-live": "polite" });
  const load = async () => {
    mount(panel, h("p.loading", null, "Loading…"));
    try {
      const b = await classes.board(c.id, { assignment: select.value || undefined, page_size: 100 });
      if (!ctx.signal.aborted) mount(panel, boardTable(b, Boolean(select.value)));
    } catch (e) {
      mount(panel, h("p.error-box", null, (e as Error).message));
    }
  };
  select.addEventListener("change", () => void load());
  void load();
  return h("section.card#board", null, h("h2", null, "Class board"),
    h("div.board-pick", null, field("Board", select)), panel);
}

function boardTable(b: ClassBoard, perAssignment: boolean): (HTMLElement | null)[] {
  const unit = perAssignment ? `of ${b.max_points}` : "points";
  return [
    b.own_opted_out ? h("p.notice", null, "You are hidden from boards. ", h("a", { href: "/profile" }, "Change this in your profile"), ".") : null,
    b.entries.length ? h("div.table-wrap", null, h("table.leaderboard.class-board", null,
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Rank"), h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, perAssignment ? "Grade points" : "Points"))),
      h("tbody", null, b.entries.map((e) => h("tr", { class: e.you ? "is-me" : "" },
        h("td", null, String(e.rank)),
        h("td.lb-name", null, e.display_name, e.you ? h("span.badge.badge-me", null, "you") : null),
        h("td", null, `${round(e.points, 1)}${perAssignment ? ` ${unit}` : ""}`))))))
      : h("p.empty", null, "Nobody on this board yet."),
    b.own && !b.own.rank && !b.own_opted_out ? h("p.muted", null, `You: ${round(b.own.points, 1)} ${unit}`) : null,
    h("p.muted.small", null, "Classmates who opted out of leaderboards are not listed."),
  ];
}

// ---- teachers -----------------------------------------------------------------

async function teacherView(main: HTMLElement, ctx: Ctx, c: ClassInfo): Promise<void> {
  const [list, taskList] = await Promise.all([
    assignments.list(c.id),
    tasksApi.list({ page_size: 200 }).then((r) => r.tasks).catch(() => [] as TaskSummary[]),
  ]);
  if (ctx.signal.aborted) return;
  const archive = h("button.btn.btn-small#archive-class", { type: "button" }, c.archived ? "Restore" : "Archive");
  archive.addEventListener("click", async () => {
    if (!c.archived && !confirm(`Archive ${c.title}? It becomes read-only: nobody joins, no reminders go out.`)) return;
    await classes.archive(c.id, c.archived);
    toast(c.archived ? "Class restored." : "Class archived.", "success");
    navigate(location.pathname, true);
  });
  const remove = c.archived ? h("button.btn.btn-small.btn-danger#delete-class", { type: "button" }, "Delete") : null;
  remove?.addEventListener("click", async () => {
    if (!confirm(`Delete ${c.title} with its assignments? Learners keep their submissions and points.`)) return;
    await classes.remove(c.id);
    toast("Class deleted.", "success");
    navigate("/classes");
  });
  mount(main, h("section.page.class-page", { "data-class": c.id },
    head(c, h("a.btn.btn-primary.btn-small#dashboard-link", { href: `/classes/${encodeURIComponent(c.id)}/dashboard` }, "Dashboard"), archive, remove),
    c.description ? h("p", null, c.description) : null,
    c.archived ? h("p.notice", null, "This class is archived: read-only, nobody can join, no reminders.") : [inviteCard(c), settingsCard(c)],
    assignmentsCard(c, list.assignments, taskList),
    rosterCard(c, ctx),
    boardCard(c, list.assignments, ctx)));
}

function inviteCard(c: ClassInfo): HTMLElement {
  const box = h("div.invite");
  const render = (code: string) => {
    const link = joinLink(location.origin, code);
    const copy = h("button.btn.btn-small", { type: "button" }, "Copy link");
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(link);
        toast("Link copied.", "success", 2500);
      } catch {
        toast("Copy it by hand: select the link.", "info");
      }
    });
    const rotate = h("button.btn.btn-small.btn-ghost#rotate-code", { type: "button" }, "New code");
    rotate.addEventListener("click", async () => {
      if (!confirm("Make a new code? The old code and link stop working; learners already in the class stay.")) return;
      const n = await classes.update(c.id, { rotate_join_code: true });
      render(n.join_code ?? "");
    });
    mount(box,
      h("p", null, "Learners join with the code ", h("strong.join-code.mono#join-code", { "data-code": code }, prettyCode(code)), " or the link:"),
      h("p.join-link-row", null, h("code.join-link#join-link", null, link)),
      h("div.actions", null, copy, rotate));
  };
  render(c.join_code ?? "");
  return h("section.card#invite", null, h("h2", null, "Invite learners"), box);
}

/** Title, description and zone; a zone change moves how dates are shown, not when they fall. */
function settingsCard(c: ClassInfo): HTMLElement {
  const title = h("input#cls-title", { type: "text", name: "cls_title", maxlength: "120", value: c.title, autocomplete: "off" });
  const desc = h("textarea#cls-description", { name: "cls_description", rows: "2", maxlength: "1000" });
  desc.value = c.description;
  const zone = h("input#cls-zone", { type: "text", name: "cls_zone", value: c.time_zone, autocomplete: "off" });
  const alert = h("p.form-alert", { role: "alert" });
  const btn = h("button.btn", { type: "submit" }, "Save");
  const form = h("form.form", { novalidate: true }, field("Title", title), field("Description", desc),
    field("Time zone", zone, "Changes how dates are shown, not when assignments are due"), h("div.actions", null, btn), alert);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    alert.textContent = "";
    btn.disabled = true;
    try {
      await classes.update(c.id, { title: title.value.trim(), description: desc.value.trim(), time_zone: zone.value.trim() });
      toast("Class saved.", "success");
      navigate(location.pathname, true);
    } catch (err) {
      alert.textContent = (err as Error).message;
    } finally {
      btn.disabled = false;
    }
  });
  return h("details.card.class-settings#settings", null, h("summary", null, h("h2.summary-h", null, "Class details")), form);
}

function assignmentsCard(c: ClassInfo, list: Assignment[], taskList: TaskSummary[]): HTMLElement {
  const body = h("div");
  const items = [...list];
  const byDue = () => items.sort((x, y) => (toDate(x.due_at)?.getTime() ?? 0) - (toDate(y.due_at)?.getTime() ?? 0));
  const render = () => mount(body, items.length ? h("ul.assignment-list", null, items.map((a) => {
    const li = assignmentItem(c, a, {
      deleted: () => { items.splice(items.indexOf(a), 1); render(); },
      edit: () => {
        const form = assignmentForm(c, taskList, (b) => { items[items.indexOf(a)] = b; byDue(); render(); }, a, render);
        li.replaceChildren(form);
        form.querySelector<HTMLElement>("input")?.focus();
      },
    });
    return li;
  })) : h("p.muted", null, "No assignments yet."));
  render();
  const form = assignmentForm(c, taskList, (a) => { items.push(a); byDue(); render(); });
  return h("section.card#assignments", null, h("h2", null, "Assignments"), body, c.archived ? null : form);
}

function assignmentItem(c: ClassInfo, a: Assignment, on: { deleted: () => void; edit: () => void }): HTMLElement {
  const dl = h("button.btn.btn-small.grades-csv", { type: "button", "data-assignment": a.id }, "Grades (CSV)");
  dl.addEventListener("click", async () => {
    dl.disabled = true;
    try {
      const text = await fetchCsv(assignments.gradesPath(c.id, a.id));
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      const link = h("a", { href: url, download: gradesFileName(c.title, a.title), class: "sr-only" }, "download");
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      toast(`Could not export: ${(e as Error).message}`, "error");
    } finally {
      dl.disabled = false;
    }
  });
  const editBtn = c.archived ? null : h("button.btn.btn-small.edit-assignment", { type: "button" }, "Edit");
  editBtn?.addEventListener("click", on.edit);
  const delBtn = c.archived ? null : h("button.btn.btn-small.btn-ghost", { type: "button" }, "Delete");
  delBtn?.addEventListener("click", async () => {
    if (!confirm(`Delete the assignment ${a.title}? Submissions stay; its grades go.`)) return;
    try {
      await assignments.remove(c.id, a.id);
      on.deleted();
    } catch (e) {
      toast((e as Error).message, "error");
    }
  });
  const opens = toDate(a.opens_at), due = toDate(a.due_at);
  return h("li.assignment", { "data-assignment": a.id },
    h("div.due-head", null, h("strong", null, a.title)),
    a.description ? h("div.small", null, a.description) : null,
    h("div.small", null,
      `Opens ${inZone(opens, a.time_zone)} · due `, h("strong.assignment-due", null, inZone(due, a.time_zone)), ` (${a.time_zone})`),
    h("div.muted.small", null, latePolicyText(a.late_policy, a.late_penalty_percent),
      a.remind_hours_before ? ` · reminder mail ${a.remind_hours_before} h before` : " · no reminder"),
    h("div.tags", null, a.tasks.map((t) => h("a.tag", { href: `/tasks/${encodeURIComponent(t.slug)}` }, t.title))),
    h("div.actions", null,
      h("a.btn.btn-small", { href: `/classes/${encodeURIComponent(c.id)}/dashboard?assignment=${encodeURIComponent(a.id)}` }, "Progress"),
      dl, editBtn, delBtn));
}

let formSeq = 0;

/**
 * The new-assignment form (ids f-NAME), or with `existing` the form that
 * replaces it (ids made unique per form; grades follow the change at once).
 */
function assignmentForm(c: ClassInfo, taskList: TaskSummary[], onSaved: (a: Assignment) => void, existing?: Assignment, onCancel?: () => void): HTMLElement {
  const now = new Date();
  const pre = existing ? `a${++formSeq}-` : "f-";
  const input = <T extends HTMLElement>(el: T, name: string): T => { el.id = pre + name; return el; };
  const title = input(h("input", { type: "text", name: "title", maxlength: "120", required: true, autocomplete: "off", value: existing?.title }), "title");
  const desc = input(h("textarea", { name: "description", rows: "2", maxlength: "4000" }), "description");
  desc.value = existing?.description ?? "";
  const filter = h("input", { type: "search", name: "task_filter", placeholder: "Filter tasks", "aria-label": "Filter the tasks" });
  const picks = h("div.task-picks", { role: "group", "aria-label": "Tasks" });
  const chosen = new Set(existing?.tasks.map((t) => t.slug) ?? []);
  const known = new Set(taskList.map((t) => t.slug));
  const checks = taskList.map((t) => {
    const box = h("input", { type: "checkbox", name: "task_slugs", value: t.slug, checked: chosen.has(t.slug) });
    const label = h("label.check.task-pick", { "data-slug": t.slug }, box, t.title, h("span.muted.small", null, ` ${t.slug} · ${t.difficulty.replace(/^difficulty_/i, "").toLowerCase()}`));
    picks.append(label);
    return { box, label, text: `${t.title} ${t.slug}`.toLowerCase() };
  });
  filter.addEventListener("input", () => {
    const q = filter.value.trim().toLowerCase();
    for (const x of checks) x.label.hidden = Boolean(q) && !x.text.includes(q) && !x.box.checked;
  });
  const slugs = input(h("input", { type: "text", name: "task_slugs_text", autocomplete: "off", placeholder: "slug-one, slug-two",
    value: [...chosen].filter((x) => !known.has(x)).join(", ") }), "task_slugs_text");
  const opens = input(h("input", { type: "datetime-local", name: "opens_at",
    value: existing ? toInputValue(existing.opens_at_local) : toInputValue(localDateIn(c.time_zone, now, 0, "00:00")) }), "opens_at");
  const due = input(h("input", { type: "datetime-local", name: "due_at", required: true,
    value: existing ? toInputValue(existing.due_at_local) : localDateIn(c.time_zone, now, 7, "23:59") }), "due_at");
  const policy = input(h("select", { name: "late_policy" },
    h("option", { value: "accept" }, "Accept late work (marked late)"),
    h("option", { value: "penalty" }, "Accept with a penalty"),
    h("option", { value: "refuse" }, "Refuse late work")), "late_policy");
  policy.value = existing?.late_policy ?? "accept";
  const penalty = input(h("input", { type: "number", name: "late_penalty_percent", min: "1", max: "100",
    value: String(existing?.late_penalty_percent || 20) }), "late_penalty_percent");
  const penaltyField = field("Penalty (%)", penalty);
  penaltyField.hidden = policy.value !== "penalty";
  policy.addEventListener("change", () => (penaltyField.hidden = policy.value !== "penalty"));
  const remind = input(h("input", { type: "number", name: "remind_hours_before", min: "0", max: "336",
    value: String(existing ? existing.remind_hours_before : 24) }), "remind_hours_before");
  const alert = h("p.form-alert", { role: "alert" });
  const btn = h("button.btn.btn-primary", { type: "submit", id: existing ? null : "create-assignment" }, existing ? "Save changes" : "Create the assignment");
  const cancel = existing ? h("button.btn.btn-ghost", { type: "button" }, "Cancel") : null;
  cancel?.addEventListener("click", () => onCancel?.());
  const form = h("form.form.assignment-form", { novalidate: true, class: existing ? "is-edit" : "" },
    h("h3", null, existing ? `Edit: ${existing.title}` : "New assignment"),
    field("Title", title), field("Description (optional)", desc),
    h("div.field", null, h("span.field-head", null, "Tasks"), filter, picks,
      field("Or task slugs, comma-separated", slugs)),
    h("div.grid-2", null,
      field("Opens", opens, `In ${c.time_zone}`), field("Due", due, `In ${c.time_zone}; on time means at or before it`)),
    h("div.grid-3", null, field("Late work", policy), penaltyField, field("Reminder (hours before due; 0 for none)", remind)),
    existing ? h("p.muted.small", null, "Grades follow the change at once, past submissions too.") : null,
    h("div.actions", null, btn, cancel), alert);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.textContent = "";
    const task_slugs = [...new Set([...checks.filter((x) => x.box.checked).map((x) => x.box.value),
      ...slugs.value.split(/[\s,]+/).filter(Boolean)])];
    if (!title.value.trim()) return void showFieldError(form, "title", "Give the assignment a title.");
    if (!task_slugs.length) return void showFieldError(form, "task_slugs_text", "Pick at least one task.");
    if (!due.value) return void showFieldError(form, "due_at", "When is it due?");
    const body: AssignmentWrite = {
      title: title.value.trim(), description: desc.value.trim(), task_slugs, due_at: due.value, opens_at: opens.value || undefined,
      late_policy: policy.value as LatePolicy,
      late_penalty_percent: policy.value === "penalty" ? Number(penalty.value) : 0,
      remind_hours_before: Number(remind.value) || 0,
    };
    btn.disabled = true;
    try {
      const a = existing ? await assignments.update(c.id, existing.id, body) : await assignments.create(c.id, body);
      toast(existing ? `Assignment ${a.title} saved.` : `Assignment ${a.title} created.`, "success");
      if (!existing) {
        form.reset();
        due.value = localDateIn(c.time_zone, new Date(), 7, "23:59");
        penaltyField.hidden = true;
      }
      onSaved(a);
    } catch (err) {
      const x = err as ApiError;
      const name = x.field === "task_slugs" ? "task_slugs_text" : x.field;
      if (!showFieldError(form, name, x.message)) alert.textContent = x.message;
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

function rosterCard(c: ClassInfo, ctx: Ctx): HTMLElement {
  const members = h("div#members");
  const load = async () => {
    try {
      const r = await classes.members(c.id, { page_size: 500 });
      if (ctx.signal.aborted) return;
      mount(members,
        r.members.length ? h("div.table-wrap", null, h("table.data-table.members", null,
          h("thead", null, h("tr", null, ["Name", "Username", "Email", "Joined", "Last active", "Points", ""].map((x) => h("th", { scope: "col" }, x || h("span.sr-only", null, "Remove"))))),
          h("tbody", null, r.members.map((m) => {
            const rm = h("button.btn.btn-small.btn-ghost", { type: "button", "aria-label": `Remove ${m.display_name}` }, "Remove");
            rm.addEventListener("click", async () => {
              if (!confirm(`Remove ${m.display_name} from ${c.title}? Their submissions stay theirs.`)) return;
              await classes.removeMember(c.id, m.user_id);
              void load();
            });
            return h("tr", { "data-user": m.user_id },
              h("td", null, h("a", { href: `/classes/${encodeURIComponent(c.id)}/students/${encodeURIComponent(m.user_id)}` }, m.display_name)),
              h("td", null, m.username ?? ""), h("td", null, m.email ?? ""),
              h("td", null, toDate(m.joined_at)?.toLocaleDateString() ?? ""),
              h("td", null, toDate(m.last_active_at)?.toLocaleDateString() ?? "never"),
              h("td", null, String(m.total_points)),
              h("td", null, c.archived ? null : rm));
          })))) : h("p.muted", null, "No learners yet."),
        r.invites.length ? h("details.invites", null, h("summary", null, `${r.invites.length} open invitation${r.invites.length === 1 ? "" : "s"}`),
          h("ul", null, r.invites.map((i) => h("li", null, i.email, h("span.muted.small", null, ` — until ${toDate(i.expires_at)?.toLocaleDateString() ?? ""}`))))) : null);
    } catch (e) {
      mount(members, h("p.error-box", null, (e as Error).message));
    }
  };
  void load();
  return h("section.card#roster", null, h("h2", null, "Learners"), members, c.archived ? null : importForm(c, load));
}

function importForm(c: ClassInfo, reload: () => Promise<void>): HTMLElement {
  const csv = h("textarea.mono", { name: "csv", rows: "5", spellcheck: "false", placeholder: "email,display_name\nana@example.org,Ana" });
  const file = h("input", { type: "file", name: "csv_file", accept: ".csv,text/csv" });
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f) csv.value = await f.text();
  });
  const mode = h("select", { name: "mode" },
    h("option", { value: "create_accounts" }, "Make accounts for new addresses; invite the others"),
    h("option", { value: "invite" }, "Only mail invitation links"));
  const report = h("div#roster-report", { "aria-live": "polite" });
  const btn = h("button.btn#import-roster", { type: "submit" }, "Import");
  const form = h("form.form.roster-form", { novalidate: true },
    h("h3", null, "Import a roster (CSV)"),
    h("p.muted.small", null, "The first line names the columns: email (required), username, display_name, time_zone. At most 500 rows."),
    field("CSV", csv), field("Or a file", file), field("New addresses", mode),
    h("div.actions", null, btn), report);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    mount(report);
    if (!csv.value.trim()) return void showFieldError(form, "csv", "Paste the CSV or choose a file.");
    btn.disabled = true;
    try {
      const r = await classes.roster(c.id, csv.value, mode.value as "create_accounts" | "invite");
      mount(report, rosterReport(r));
      void reload();
    } catch (err) {
      mount(report, h("p.form-alert", { role: "alert" }, (err as Error).message));
    } finally {
      btn.disabled = false;
    }
  });
  return form;
}

const OUTCOME: Record<string, string> = { added: "Added", invited: "Invited by mail", already_member: "Already in the class", rejected: "Rejected" };

function rosterReport(r: RosterReport): HTMLElement {
  return h("div.roster-report", null,
    h("p.notice.notice-success", null, `${r.added} added, ${r.invited} invited, ${r.already_members} already in the class, ${r.rejected} rejected.`),
    h("div.table-wrap", null, h("table.data-table", null,
      h("thead", null, h("tr", null, ["Line", "Email", "Outcome"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", null, r.rows.map((x) => h("tr", { "data-outcome": x.outcome },
        h("td", null, String(x.line)), h("td", null, x.email),
        h("td", null, OUTCOME[x.outcome] ?? x.outcome, x.message ? h("span.muted.small", null, ` — ${x.message}`) : null)))))));
}

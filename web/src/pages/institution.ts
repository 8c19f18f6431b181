// /institutions — who may teach. Admins see every institution and create
// them; an institution's admins see their own. An institution's accounts are
// listed with their role: its admins make members teachers (or learners
// again), admins give any role. (The operator CLI does the same:
// `auth set-role`, `auth create-institution`, `auth set-institution`.)

import type { ApiError, User } from "../api";
import { institutions, type Institution } from "../api-classes";
import { clearFieldErrors, field, h, mount, showFieldError, toast } from "../dom";
import { role as roleOf } from "../enums";
import { navigate, type Ctx } from "../router";
import * as session from "../session";

const ROLE_TEXT: Record<string, string> = { learner: "Learner", teacher: "Teacher", author: "Author", admin: "Admin" };

export async function institutionsPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  mount(main, h("p.loading", null, "Loading…"));
  const admin = roleOf(session.user()?.role) === "admin";
  const list = (await institutions.list({ page_size: 200 })).institutions;
  if (ctx.signal.aborted) return;
  const chosen = list.find((i) => i.id === ctx.params.id) ?? (list.length === 1 ? list[0] : null);
  const membersBox = h("section.card#inst-members");
  mount(main, h("section.page.institutions-page", null,
    h("h1", null, "Institutions"),
    !list.length && !admin ? h("p.notice", null, "You administer no institution. Admins put accounts in institutions and name their admins.") : null,
    list.length > 1 || admin ? h("section.card", null, h("h2", null, admin ? "Every institution" : "Your institutions"),
      list.length ? h("ul.class-list", null, list.map((i) => h("li.class-row", { "data-institution": i.id },
        h("div.class-name", null, h("a.task-title", { href: `/institutions/${encodeURIComponent(i.id)}`, "aria-current": chosen?.id === i.id ? "page" : null }, i.name),
          h("div.muted.small", null, i.slug)),
        h("span.muted", null, `${i.member_count} account${i.member_count === 1 ? "" : "s"}`)))) : h("p.muted", null, "None yet."),
      admin ? createForm() : null) : null,
    chosen ? membersBox : null));
  if (chosen) await members(membersBox, chosen, admin, ctx);
}

async function members(box: HTMLElement, inst: Institution, admin: boolean, ctx: Ctx): Promise<void> {
  mount(box, h("h2", null, inst.name), h("p.loading", null, "Loading its accounts…"));
  const r = await institutions.members(inst.id, { page_size: 500 });
  if (ctx.signal.aborted) return;
  const me = session.user()?.id;
  const roles = admin ? ["learner", "teacher", "author", "admin"] : ["learner", "teacher"];
  mount(box, h("h2", null, inst.name),
    h("p.muted.small", null, admin ? "Any role can be given here." : "You can make your institution's members teachers, or learners again. A new role takes effect when their session renews (within minutes) or at their next sign-in."),
    r.users.length ? h("div.table-wrap", null, h("table.data-table.inst-members", null,
      h("thead", null, h("tr", null, ["Username", "Name", "Email", "Role"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", null, r.users.map((u) => h("tr", { "data-user": u.id },
        h("td", null, u.username, u.institution_admin ? h("span.badge.badge-me", null, "admin") : null),
        h("td", null, u.display_name), h("td", null, u.email ?? ""),
        h("td", null, roleCell(u, roles, u.id === me))))))) : h("p.muted", null, "No accounts in it yet."));
}

function roleCell(u: User, roles: string[], self: boolean): HTMLElement {
  const current = roleOf(u.role);
  if (self || !roles.includes(current)) return h("span", null, ROLE_TEXT[current] ?? current);
  const select = h("select.role-select", { name: `role-${u.id}`, "aria-label": `Role of ${u.username}` },
    roles.map((r) => h("option", { value: r }, ROLE_TEXT[r])));
  select.value = current;
  select.addEventListener("change", async () => {
    select.disabled = true;
    try {
      const n = await institutions.setRole(u.id, select.value as User["role"]);
      toast(`${u.username} is now ${ROLE_TEXT[roleOf(n.role)] ?? n.role}.`, "success");
    } catch (e) {
      toast((e as Error).message, "error");
      select.value = current;
    } finally {
      select.disabled = false;
    }
  });
  return select;
}

function createForm(): HTMLElement {
  const slug = h("input", { type: "text", name: "slug", pattern: "[a-z0-9-]{1,64}", autocomplete: "off" });
  const name = h("input", { type: "text", name: "name", maxlength: "120", autocomplete: "off" });
  const alert = h("p.form-alert", { role: "alert" });
  const form = h("form.form.create-class", { novalidate: true }, h("h3", null, "New institution"),
    h("div.grid-2", null, field("Name", name), field("Short name", slug, "a-z, 0-9 and dashes")),
    h("div.actions", null, h("button.btn.btn-primary", { type: "submit" }, "Create")), alert);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    alert.textContent = "";
    try {
      const i = await institutions.create({ slug: slug.value.trim(), name: name.value.trim() });
      toast(`${i.name} created.`, "success");
      navigate(`/institutions/${encodeURIComponent(i.id)}`);
    } catch (err) {
      const x = err as ApiError;
      if (!showFieldError(form, x.field, x.message)) alert.textContent = x.message;
    }
  });
  return form;
}

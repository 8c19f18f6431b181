import "./styles.css";
import { auth, setSignedOutHandler } from "./api";
import { h, mount, toast } from "./dom";
import { isAuthor, role } from "./enums";
import { beforeRender, navigate, render, route, start } from "./router";
import * as session from "./session";
import { applyTheme, effectiveTheme, onThemeChange, savedTheme } from "./theme";

applyTheme();

// Pages. The task page (with the editor) and the designer are separate chunks.
route("/", "Tasks", async () => (await import("./pages/tasks")).tasksPage, { auth: false });
route("/tasks", "Tasks", async () => (await import("./pages/tasks")).tasksPage, { auth: false });
route("/tasks/:slug", "Task", () => import("./pages/task").then((m) => m.taskPage), { auth: false });
route("/login", "Sign in", async () => (await import("./pages/auth")).loginPage, { auth: false });
route("/register", "Create account", async () => (await import("./pages/auth")).registerPage, { auth: false });
route("/forgot-password", "Forgot password", async () => (await import("./pages/auth")).forgotPage, { auth: false });
route("/reset-password", "Reset password", async () => (await import("./pages/auth")).resetPage, { auth: false });
route("/dashboard", "Dashboard", async () => (await import("./pages/dashboard")).dashboardPage);
route("/leaderboard", "Leaderboard", async () => (await import("./pages/leaderboard")).leaderboardPage);
route("/profile", "Profile", async () => (await import("./pages/profile")).profilePage);
route("/designer", "Task designer", () => import("./pages/designer").then((m) => m.designerPage), { author: true });
route("/designer/:slug", "Task designer", () => import("./pages/designer").then((m) => m.designerPage), { author: true });
route("/designer/:slug/analytics", "Task analytics", () => import("./pages/analytics").then((m) => m.authorAnalyticsPage), { author: true });
// Classes: every page its own lazily loaded chunk (teachers' pages are the big ones).
route("/classes", "Classes", () => import("./pages/classes").then((m) => m.classesPage));
route("/join", "Join a class", () => import("./pages/classes").then((m) => m.joinPage));
route("/join/:code", "Join a class", () => import("./pages/classes").then((m) => m.joinPage));
route("/classes/:id", "Class", () => import("./pages/class").then((m) => m.classPage));
route("/classes/:id/dashboard", "Class dashboard", () => import("./pages/class-dashboard").then((m) => m.classDashboardPage));
route("/classes/:id/students/:user", "Learner", () => import("./pages/class-dashboard").then((m) => m.studentPage));
route("/contests", "Contests", async () => (await import("./pages/contests")).contestsPage, { auth: false });
route("/contests/:slug", "Contest", async () => (await import("./pages/contests")).contestPage, { auth: false });
route("/contests/:slug/problems/:label", "Contest problem", async () => (await import("./pages/contests")).contestProblemPage, { auth: false });
route("/contests/:slug/jury", "Jury desk", async () => (await import("./pages/contests")).contestJuryPage);
route("/author/contests", "Contest editor", () => import("./pages/contest-editor").then((m) => m.contestEditorPage), { author: true });
route("/author/contests/:slug", "Contest editor", () => import("./pages/contest-editor").then((m) => m.contestEditorPage), { author: true });
route("/institutions", "Institutions", () => import("./pages/institution").then((m) => m.institutionsPage));
route("/institutions/:id", "Institution", () => import("./pages/institution").then((m) => m.institutionsPage));
route("/.*", "Not found", () => (main) => {
  mount(main, h("section.page", null, h("h1", null, "Page not found"), h("p", null, h("a", { href: "/tasks" }, "Back to the tasks"))));
}, { auth: false });

beforeRender(async (r, path) => {
  const main = document.getElementById("main")!;
  main.setAttribute("aria-busy", "true");
  let me = null;
  try {
    me = await session.load();
  } catch {
    // The gateway is unreachable; public pages still render and show their own errors.
  }
  if (r.auth && !me) {
    navigate(`/login?next=${encodeURIComponent(path)}`, true);
    return false;
  }
  if (r.author && !isAuthor(me?.user.role)) {
    main.removeAttribute("aria-busy");
    mount(main, h("section.page", null, h("h1", null, "Authors only"),
      h("p", null, `The ${r.title === "Contest editor" ? "contest editor" : "task designer"} is for authors. Ask an admin for the author role.`)));
    return false;
  }
  renderTopbar();
  return true;
});

setSignedOutHandler(() => {
  if (session.user()) {
    session.setMe(null);
    toast("Your session ended. Please sign in again.", "error");
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
  }
});

const NAV: [string, string, (author: boolean) => boolean][] = [
  ["/tasks", "Tasks", () => true],
  ["/dashboard", "Dashboard", () => true],
  ["/leaderboard", "Leaderboard", () => true],
  ["/classes", "Classes", () => true],
  ["/contests", "Contests", () => true],
  // Admins, and an institution's admins (they make its members teachers).
  ["/institutions", "Institutions", () => role(session.user()?.role) === "admin" || Boolean(session.user()?.institution_admin)],
  ["/designer", "Designer", (a) => a],
];

function renderTopbar(): void {
  const bar = document.getElementById("topbar")!;
  const u = session.user();
  const path = location.pathname;
  const links = NAV.filter(([href, , show]) => (u || href === "/tasks" || href === "/contests") && show(isAuthor(u?.role))).map(([href, label]) =>
    h("a.nav-link", { href, "aria-current": path === href || (href !== "/" && path.startsWith(href + "/")) || (href === "/tasks" && path === "/") ? "page" : null }, label),
  );
  const themeBtn = h("button.icon-btn#theme-toggle", { type: "button" });
  const setThemeLabel = () => {
    const dark = effectiveTheme() === "dark";
    themeBtn.textContent = dark ? "☀" : "☾";
    const label = `Switch to ${dark ? "light" : "dark"} mode${savedTheme() === "system" ? " (now following the system)" : ""}`;
    themeBtn.setAttribute("aria-label", label);
    themeBtn.title = label;
  };
  setThemeLabel();
  themeBtn.addEventListener("click", () => applyTheme(effectiveTheme() === "dark" ? "light" : "dark"));
  onThemeChange(setThemeLabel);

  const account = u
    ? [
        h("a.nav-link.user-link", { href: "/profile", "aria-current": path === "/profile" ? "page" : null, title: "Profile" }, u.display_name || u.username),
        h("button.link-btn#sign-out", { type: "button", onclick: signOut }, "Sign out"),
      ]
    : [h("a.nav-link", { href: "/login" }, "Sign in"), h("a.btn.btn-small", { href: "/register" }, "Create account")];

  const menuBtn = h("button.icon-btn.menu-btn", { type: "button", "aria-expanded": "false", "aria-controls": "nav-menu", "aria-label": "Menu" }, "☰");
  const menu = h("div.nav-menu#nav-menu", null, h("nav.nav-links", { "aria-label": "Main" }, links), h("div.nav-account", null, account));
  menuBtn.addEventListener("click", () => {
    const open = menuBtn.getAttribute("aria-expanded") !== "true";
    menuBtn.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
  menu.addEventListener("click", (e) => {
    if ((e.target as Element).closest("a")) {
      menu.classList.remove("open");
      menuBtn.setAttribute("aria-expanded", "false");
    }
  });
  mount(bar, h("a.brand", { href: "/", "aria-label": "Dojo home" }, h("img.brand-mark", { src: "/favicon.svg", alt: "", width: "24", height: "24" }), "Dojo"), menuBtn, menu, themeBtn);
}

async function signOut(): Promise<void> {
  try {
    await auth.logout();
  } catch {
    /* cookies are cleared by the gateway; go on either way */
  }
  session.setMe(null);
  navigate("/login", true);
}

session.onChange(() => renderTopbar());
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") document.querySelector("#nav-menu.open")?.classList.remove("open");
});

renderTopbar();
start();
export { render };

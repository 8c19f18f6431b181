// Leaderboards (all-time and weekly), refreshed every few seconds while visible.

import { meta, type Leaderboard } from "../api";
import { h, mount } from "../dom";
import { toDate } from "../enums";
import type { Ctx } from "../router";
import * as session from "../session";

const POLL_MS = 5000;

export async function leaderboardPage(main: HTMLElement, ctx: Ctx): Promise<void> {
  let board: "all-time" | "weekly" = ctx.query.get("board") === "weekly" ? "weekly" : "all-time";
  const tabs = h("div.tabs", { role: "tablist", "aria-label": "Leaderboard" });
  const panel = h("div.tab-panel#lb-panel", { role: "tabpanel", tabindex: "0" });
  const updated = h("p.muted.small", { "aria-live": "off" });
  mount(main, h("section.page", null, h("h1", null, "Leaderboard"), tabs, panel, updated));

  const names: ["all-time" | "weekly", string][] = [["all-time", "All time"], ["weekly", "This week"]];
  const buttons = names.map(([key, label]) => {
    const b = h("button.tab", { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": "lb-panel", "data-board": key }, label);
    b.addEventListener("click", () => select(key));
    b.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
      const other = buttons.find((x) => x !== b)!;
      other.focus();
      other.click();
    });
    return b;
  });
  tabs.append(...buttons);

  function select(key: "all-time" | "weekly"): void {
    board = key;
    for (const b of buttons) {
      const on = b.dataset.board === key;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", `tab-${key}`);
    history.replaceState(null, "", key === "weekly" ? "/leaderboard?board=weekly" : "/leaderboard");
    void load(true);
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  async function load(reset = false): Promise<void> {
    clearTimeout(timer);
    const mySeq = ++seq;
    if (reset) mount(panel, h("p.loading", null, "Loading…"));
    try {
      const lb = await meta.leaderboard(board, { page_size: 50 });
      if (mySeq !== seq || ctx.signal.aborted) return;
      render(lb);
      updated.textContent = `Updated ${new Date().toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`;
    } catch (e) {
      if (mySeq === seq) updated.textContent = `Could not refresh: ${(e as Error).message}`;
    }
    if (!ctx.signal.aborted) timer = setTimeout(() => void load(), document.hidden ? POLL_MS * 6 : POLL_MS);
  }
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !ctx.signal.aborted) void load(); }, { signal: ctx.signal });

  function render(lb: Leaderboard): void {
    const myId = session.user()?.id;
    const ws = toDate(lb.week_start), we = toDate(lb.week_end);
    const own = lb.own && lb.own.rank ? lb.own : null;
    mount(panel,
      board === "weekly" && ws && we ? h("p.muted", null, `Week of ${ws.toLocaleDateString()} – ${new Date(we.getTime() - 1).toLocaleDateString()} (UTC weeks).`) : null,
      lb.own_opted_out ? h("p.notice", null, "You are hidden from leaderboards. ", h("a", { href: "/profile" }, "Change this in your profile"), ".")
        : own ? h("p.own-rank", { "data-testid": "own-rank" }, `You are #${own.rank} with ${own.points} points.`)
          : h("p.muted", null, board === "weekly" ? "Solve a task this week to appear here." : "Solve a task to appear here."),
      lb.entries.length
        ? h("div.table-wrap", null, h("table.leaderboard", null,
            h("thead", null, h("tr", null, h("th", { scope: "col" }, "Rank"), h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Points"))),
            h("tbody", null, lb.entries.map((e) => h("tr", { class: e.user_id === myId ? "is-me" : "", "data-user": e.user_id },
              h("td", null, medal(e.rank)),
              h("td.lb-name", null, e.display_name, e.user_id === myId ? h("span.badge.badge-me", null, "you") : null),
              h("td", null, String(e.points)))))))
        : h("p.empty", null, "Nobody on this board yet."),
      own && !lb.entries.some((e) => e.user_id === own.user_id) ? h("p.muted", null, `… you: #${own.rank}, ${own.points} points`) : null);
  }

  select(board);
}

function medal(rank: number): string {
  return rank === 1 ? "🥇 1" : rank === 2 ? "🥈 2" : rank === 3 ? "🥉 3" : String(rank);
}

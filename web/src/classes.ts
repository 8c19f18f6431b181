// Classroom wording and arithmetic for the class pages: join codes and links,
// dates shown in a given IANA zone, durations, late policies, the matrix's
// cells. DOM-free: unit-tested in Node (web/test/classes.test.mjs).

export type JoinInput = { code: string } | { invite: string } | null;

/**
 * What a learner typed or pasted to join: a code ("ABCD-2345", any case,
 * spaces and dashes ignored), a class link (…/join/ABCD2345) or an
 * invitation link (…/join?invite=TOKEN). null when it is neither.
 */
export function parseJoinInput(text: string): JoinInput {
  const s = text.trim();
  if (!s) return null;
  const invite = /[?&]invite=([A-Za-z0-9_-]+)/.exec(s);
  if (invite) return { invite: invite[1] };
  const link = /\/join\/([A-Za-z0-9 -]+)\/?(?:[?#].*)?$/.exec(s);
  const raw = link ? link[1] : s;
  const code = raw.replace(/[\s-]+/g, "").toUpperCase();
  return /^[A-Z0-9]{4,32}$/.test(code) ? { code } : null;
}

/** A join code as people read it aloud: ABCD-2345. */
export function prettyCode(code: string): string {
  const c = code.replace(/[\s-]+/g, "").toUpperCase();
  return c.length === 8 ? `${c.slice(0, 4)}-${c.slice(4)}` : c;
}

export function joinLink(origin: string, code: string): string {
  return `${origin.replace(/\/$/, "")}/join/${encodeURIComponent(code.replace(/[\s-]+/g, "").toUpperCase())}`;
}

/** True when the runtime knows the zone (Intl rejects an unknown one). */
export function validZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** An instant shown as a wall-clock time of `zone` (the browser's own when unknown): "Tue 10 Mar, 23:59". */
export function inZone(d: Date | null, zone: string, locale?: string | string[]): string {
  if (!d) return "";
  const o: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (new Date().getFullYear() !== d.getFullYear()) o.year = "numeric";
  if (validZone(zone)) o.timeZone = zone;
  return new Intl.DateTimeFormat(locale ?? [], o).format(d);
}

/** "in 3 days", "in 5 h", "in 20 min", "2 h ago" — from `now` to `d`. */
export function relative(d: Date, now: Date): string {
  const s = Math.round((d.getTime() - now.getTime()) / 1000);
  const a = Math.abs(s);
  const text = a < 60 ? "less than a minute" : a < 3600 ? `${Math.floor(a / 60)} min` : a < 172800 ? `${Math.floor(a / 3600)} h` : `${Math.floor(a / 86400)} days`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

/** A duration for people: "45 s", "10 min", "2 h 5 min", "3 d 4 h"; "—" for none. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ""}`;
  }
  const hh = Math.floor((s % 86400) / 3600);
  return `${Math.floor(s / 86400)} d${hh ? ` ${hh} h` : ""}`;
}

export function latePolicyText(policy: string, penalty: number): string {
  switch (policy) {
    case "accept": return "Late work counts in full (marked late)";
    case "penalty": return `Late work loses ${penalty}%`;
    case "refuse": return "Late work does not count";
    default: return policy;
  }
}

/** "2026-03-10T08:00:00" (the API's local time) → "2026-03-10T08:00" for an <input type=datetime-local>. */
export function toInputValue(local: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2})/.exec(local || "");
  return m ? m[1] : "";
}

/** Today + `days` at `hhmm`, as a local time of `zone` for a datetime-local input ("2026-03-17T23:59"). */
export function localDateIn(zone: string, now: Date, days: number, hhmm: string): string {
  const d = new Date(now.getTime() + days * 86400000);
  const parts = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", ...(validZone(zone) ? { timeZone: zone } : {}) }).format(d);
  return `${parts}T${hhmm}`;
}

export interface CellLike { solved: boolean; attempts: number; last_verdict: string | null; late: boolean; opened: boolean; grade_percent: number }

/** A matrix cell in a few characters, and in words for screen readers and titles. */
export function cellSummary(c: CellLike): { text: string; words: string; state: "solved" | "failing" | "opened" | "none" } {
  if (c.solved) {
    const late = c.late ? " (late)" : "";
    return { text: `✓ ${c.attempts}${c.late ? " L" : ""}`, words: `solved in ${c.attempts} attempt${c.attempts === 1 ? "" : "s"}${late}, grade ${round(c.grade_percent)}%`, state: "solved" };
  }
  if (c.attempts > 0) {
    const v = (c.last_verdict ?? "").toUpperCase();
    return { text: `✗ ${c.attempts}${v ? ` ${v}` : ""}`, words: `not solved, ${c.attempts} attempt${c.attempts === 1 ? "" : "s"}${v ? `, last ${v}` : ""}`, state: "failing" };
  }
  if (c.opened) return { text: "·", words: "opened, no submission", state: "opened" };
  return { text: "—", words: "not started", state: "none" };
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round((Number(n) || 0) * f) / f;
}

/** A file name for an assignment's grades: "maths-4b-week-1-grades.csv". */
export function gradesFileName(classTitle: string, assignmentTitle: string): string {
  const slug = (s: string) => s.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return `${[slug(classTitle), slug(assignmentTitle)].filter(Boolean).join("-") || "grades"}-grades.csv`;
}

/** Days since `last` (an instant), or null for never. */
export function daysSince(last: Date | null, now: Date): number | null {
  if (!last) return null;
  return Math.max(0, Math.floor((now.getTime() - last.getTime()) / 86400000));
}

/** The assignment's state in words for the learner, with the due time. */
export function dueStateText(state: string): string {
  switch (state) {
    case "upcoming": return "Opens soon";
    case "open": return "Open";
    case "late": return "Past due — late work still counts";
    case "closed": return "Closed";
    default: return state;
  }
}

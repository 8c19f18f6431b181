// Enum values arrive as the gateway writes them; accept the proto names
// ("DIFFICULTY_EASY"), the task-file form ("easy") and numbers alike, and
// work with the short lower-case form everywhere in the app.

const DIFFICULTY = ["unspecified", "easy", "medium", "hard"];
const VERDICT = ["unspecified", "ac", "wa", "tle", "mle", "re", "ole", "ce", "ie", "cancelled", "not_run"];
const ROLE = ["unspecified", "learner", "author", "admin", "teacher"];
const CHECKER = ["unspecified", "exact", "ignore_trailing_ws", "tokens", "float", "custom"];
const KIND = ["unspecified", "run", "submit"];
const STATE = ["unspecified", "pending", "finished"];
const STATUS = ["unspecified", "active", "archived"];

function norm(v: unknown, prefix: string, table: string[]): string {
  if (typeof v === "number") return table[v] ?? "unspecified";
  if (typeof v !== "string" || v === "") return "unspecified";
  let s = v.toLowerCase();
  if (s.startsWith(prefix)) s = s.slice(prefix.length);
  return s.replace(/-/g, "_");
}

export const difficulty = (v: unknown) => norm(v, "difficulty_", DIFFICULTY);
export const verdict = (v: unknown) => norm(v, "verdict_", VERDICT);
export const role = (v: unknown) => norm(v, "role_", ROLE);
export const checkerKind = (v: unknown) => norm(v, "checker_kind_", CHECKER);
export const submissionKind = (v: unknown) => norm(v, "submission_kind_", KIND);
export const submissionState = (v: unknown) => norm(v, "submission_state_", STATE);
export const taskStatus = (v: unknown) => norm(v, "task_status_", STATUS);

export const DIFFICULTIES = ["easy", "medium", "hard"] as const;
export const CHECKERS = ["ignore_trailing_ws", "exact", "tokens", "float", "custom", "default_validator", "package_validator"] as const;

const VERDICT_TEXT: Record<string, string> = {
  ac: "Accepted",
  wa: "Wrong answer",
  tle: "Time limit exceeded",
  mle: "Memory limit exceeded",
  re: "Runtime error",
  ole: "Output limit exceeded",
  ce: "Compilation error",
  ie: "Internal error",
  cancelled: "Cancelled",
  not_run: "Not run",
  unspecified: "Pending",
};

export function verdictText(v: unknown): string {
  return VERDICT_TEXT[verdict(v)] ?? String(v);
}

export function isAuthor(r: unknown): boolean {
  const x = role(r);
  return x === "author" || x === "admin";
}

/** Teachers, and the roles above them (authors and admins may teach too). */
export function isTeacher(r: unknown): boolean {
  return role(r) === "teacher" || isAuthor(r);
}

/** A timestamp as the gateway sends it: micros (number or string), {unix_micros}, or ISO text. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined || v === "") return null;
  if (typeof v === "object" && v && "unix_micros" in v) return toDate((v as { unix_micros: unknown }).unix_micros);
  if (typeof v === "number" || /^\d+$/.test(String(v))) {
    const n = Number(v);
    if (!n) return null;
    // Micros since the epoch are > 1e14; seconds < 1e11; millis in between.
    return new Date(n > 1e14 ? n / 1000 : n > 1e11 ? n : n * 1000);
  }
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

// The HTTP client for the gateway's JSON API under /api/v1 (docs/openapi.yaml
// is the contract). Cookies carry the session (HttpOnly, set by the gateway);
// writes echo the readable CSRF cookie in the X-CSRF-Token header. On a 401
// the client refreshes the session once and retries.

export const API = "/api/v1";

export interface ApiErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
    /** The whole error body (a 422's `errors`, for one). */
    readonly body?: unknown,
  ) {
    super(message);
  }
}

const CSRF_COOKIE = /(?:^|;\s*)dojo_csrf=([^;]*)/;

export function csrfToken(): string {
  const m = CSRF_COOKIE.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : "";
}

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, q?: Query): string {
  if (!q) return path;
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

/** An error's text for people: a 429 says once when to try again (the gateway's message may already say it). */
export function errorMessage(status: number, message: string, retryAfter?: number): string {
  if (status !== 429) return message;
  let m = message.charAt(0).toUpperCase() + message.slice(1);
  if (retryAfter && !/try again/i.test(m)) m = `${m.replace(/\.?$/, ".")} Try again in ${retryAfter} s.`;
  else if (!/[.!?]$/.test(m)) m += ".";
  return m;
}

let refreshing: Promise<boolean> | null = null;
/** Called when the session is gone for good (refresh failed). */
export let onSignedOut: () => void = () => {};
export function setSignedOutHandler(f: () => void): void {
  onSignedOut = f;
}

async function refreshSession(): Promise<boolean> {
  refreshing ??= fetch(API + "/auth/refresh", {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), Accept: "application/json" },
  })
    .then((r) => r.ok)
    .catch(() => false)
    .finally(() => setTimeout(() => (refreshing = null), 0));
  return refreshing;
}

export interface RequestOptions {
  query?: Query;
  /** Don't try a refresh on 401 (auth endpoints themselves). */
  noRefresh?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const url = withQuery(API + path, opts.query);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
  // No CSRF cookie means no session at all: nothing to refresh.
  if (res.status === 401 && !opts.noRefresh && csrfToken()) {
    if (await refreshSession()) {
      if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
      return request<T>(method, path, body, { ...opts, noRefresh: true });
    }
    onSignedOut();
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = (data as ApiErrorBody | undefined)?.error ?? {};
    const ra = Number(res.headers.get("Retry-After"));
    const message = errorMessage(res.status, err.message || res.statusText || `HTTP ${res.status}`, ra);
    throw new ApiError(res.status, err.code || `http_${res.status}`, message, err.field, ra || undefined, data);
  }
  return data as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, undefined, { query, signal });
export const post = <T>(path: string, body?: unknown, opts?: RequestOptions) => request<T>("POST", path, body ?? {}, opts);
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, body ?? {});
export const patch = <T>(path: string, body?: unknown) => request<T>("PATCH", path, body ?? {});
export const del = <T>(path: string) => request<T>("DELETE", path);

const enc = encodeURIComponent;

// ---------------------------------------------------------------------------
// Types (docs/openapi.yaml: snake_case fields, lower-case enums, RFC 3339 times)
// ---------------------------------------------------------------------------

export type Time = string | null;

export interface User {
  id: string;
  username: string;
  email?: string;
  display_name: string;
  time_zone: string;
  role: "learner" | "teacher" | "author" | "admin";
  created_at?: Time;
  time_zone_changed_at?: Time;
  /** The account's own only: its institution, and whether it administers it. */
  institution_id?: string | null;
  institution_admin?: boolean;
}

export interface Session { user: User; access_expires_at?: Time; refresh_expires_at?: Time; csrf_token?: string }
export interface Me { user: User; leaderboard_opt_out: boolean; time_zone_applied?: boolean }

export interface Limits { cpu_ms?: number; wall_ms?: number; memory_kib?: number; output_kib?: number }
export interface LanguageOption { language: string; starter_code: string; limits?: Limits }
export interface SampleTest { name: string; input: string; expected: string }

export interface TaskSummary {
  slug: string;
  title: string;
  difficulty: string;
  points: number;
  tags: string[];
  languages: string[];
  status: string;
  version: number;
  content_hash?: string;
  updated_at?: Time;
}

export interface TaskSolutions { slug: string; version: number; editorial: string; reference_solutions: { name: string; language: string; code: string }[] }

export interface TaskList { tasks: TaskSummary[]; next_page_token: string; total: number }

export interface TaskView {
  slug: string;
  title: string;
  difficulty: string;
  points: number;
  description: string;
  tags: string[];
  languages: LanguageOption[];
  limits: Limits;
  checker_kind: string;
  abs_tol?: number;
  rel_tol?: number;
  sample_tests: SampleTest[];
  hidden_test_count: number;
  max_score: number;
  hints: string[];
  status: string;
  version: number;
  /** Judging stops at the first failing test (the rest come back "not_run"). */
  stop_at_first_failure?: boolean;
  /** The program talks to an interactor: a sample's input is the interactor's. */
  interactive?: boolean;
}

/** A hidden test may keep its input and/or expected output in a blob (test
 * data at real size, uploaded with PUT /api/v1/author/blobs/{sha256}): then
 * the SHA-256 stands in place of the text, which the designer never sees. */
export interface TestCase {
  name: string; input: string; expected: string; hidden: boolean; weight?: number; group?: string;
  input_sha256?: string; expected_sha256?: string;
  /** Its own validator flags instead of the checker's (a package's test group). */
  validator_flags?: string[];
}
export interface Solution { name: string; language: string; code: string; expected_verdict?: string }
export interface Checker {
  kind?: string; abs_tol?: number; rel_tol?: number; custom?: { language: string; source: string };
  /** default_validator only. */
  case_sensitive?: boolean; space_change_sensitive?: boolean;
  /** package_validator only: the package's output validator or interactor. */
  language?: string; files?: { name: string; content: string }[]; flags?: string[]; interactive?: boolean;
}

/** A task in task-file form (content/tasks/<slug>.json). */
export interface TaskFile {
  slug: string;
  title: string;
  difficulty: string;
  points?: number;
  description: string;
  tags: string[];
  languages: LanguageOption[];
  /** Only the listed languages are accepted (default: every language). */
  restrict_languages?: boolean;
  limits?: Limits;
  checker?: Checker;
  tests: TestCase[];
  hints?: string[];
  reference_solutions?: Solution[];
  wrong_solutions?: Solution[];
  editorial?: string;
}

export interface AuthorTask { task: TaskFile; version: number; status: string; content_hash: string; change?: string; updated_at?: Time }

export interface FieldError { path: string; message: string }
export interface ValidationReport {
  ok: boolean;
  errors: FieldError[];
  warnings: FieldError[];
  content_hash?: string;
  change?: string | null;
  version?: number;
}

/** "not_run": a test's state (an earlier test failed and the task stops there), never a submission's. */
export type Verdict = "ac" | "wa" | "tle" | "mle" | "re" | "ole" | "ce" | "ie" | "cancelled" | "not_run" | null;

export interface TestResult {
  index: number;
  name: string;
  hidden: boolean;
  verdict: Verdict;
  cpu_ms: number;
  wall_ms: number;
  memory_kib: number;
  output_excerpt: string;
  message: string;
  weight: number;
}

export interface ReferenceRunReport {
  ok: boolean;
  results: {
    name: string;
    role: "reference" | "wrong";
    language?: string;
    expected_verdict: string;
    verdict: Verdict;
    as_expected: boolean;
    score: number;
    max_score: number;
    message: string;
    tests: TestResult[];
  }[];
}

export interface Streak {
  current_days: number;
  longest_days: number;
  freezes: number;
  extended_today: boolean;
  last_active_date: string;
}

export interface UnlockedAchievement { slug: string; title: string; description: string; icon: string; unlocked_at?: Time }

export interface Awards {
  points_awarded: number;
  total_points: number;
  streak: Streak;
  achievements_unlocked: UnlockedAchievement[];
  first_solve: boolean;
}

export interface FinalResult {
  verdict: Verdict;
  score: number;
  max_score: number;
  tests_passed: number;
  tests_total: number;
  cpu_ms?: number;
  wall_ms?: number;
  memory_kib?: number;
  exit_code?: number;
  term_signal?: number;
  message: string;
  recorded: boolean;
  awards?: Awards | null;
}

export interface Accepted { id: string; kind: string; task_slug: string; task_version: number; language: string; state: string; created_at?: Time }

export interface Submission {
  id: string;
  user_id: string;
  task_slug: string;
  task_version: number;
  language: string;
  code?: string;
  kind: "run" | "submit";
  state: "pending" | "finished";
  verdict: Verdict;
  score: number;
  max_score: number;
  tests: TestResult[];
  compile_output?: string;
  cpu_ms?: number;
  wall_ms?: number;
  memory_kib?: number;
  created_at?: Time;
  finished_at?: Time;
  awards?: Awards | null;
}

export interface SubmissionSummary {
  id: string;
  task_slug: string;
  task_version: number;
  language: string;
  kind: "run" | "submit";
  state: "pending" | "finished";
  verdict: Verdict;
  score: number;
  max_score: number;
  points_awarded: number;
  created_at?: Time;
  finished_at?: Time;
}

export interface SubmissionEvent {
  id: string;
  submission_id: string;
  seq: number;
  attempt: number;
  emitted_at?: Time;
  kind: "queued" | "started" | "compile_output" | "stdout" | "stderr" | "test_result" | "result" | "error";
  position?: number;
  /** queued, from an executor holding the job back for the learner's fair share. */
  waiting_for?: "earlier_job" | "sandbox_time";
  executor_id?: string;
  runtime?: string;
  test_count?: number;
  text?: string;
  ok?: boolean;
  data?: string;
  offset?: number;
  truncated?: boolean;
  test?: TestResult;
  result?: FinalResult;
  message?: string;
  will_retry?: boolean;
}

export interface Track { slug: string; title: string; description: string; tasks: string[]; sort_order: number }

export interface TaskStats {
  task_slug: string;
  solvers: number;
  attempters: number;
  submissions: number;
  accepted: number;
  acceptance_rate: number | null;
  median_attempts: number;
}

export interface AchievementDef { slug: string; title: string; description: string; icon: string; sort_order: number }
export interface CalendarDay { date: string; count: number }
export interface DifficultyCount { difficulty: string; solved: number; attempted: number; total: number }

export interface Progress {
  user_id: string;
  total_points: number;
  solved: string[];
  attempted: string[];
  by_difficulty: DifficultyCount[];
  streak: Streak;
  achievements: UnlockedAchievement[];
  achievement_progress: { slug: string; current: number; target: number }[];
  calendar: CalendarDay[];
  all_time_rank: number;
  time_zone: string;
}

export interface LeaderboardEntry { rank: number; user_id: string; display_name: string; points: number; reached_at?: Time }
export interface Leaderboard {
  board: string;
  entries: LeaderboardEntry[];
  next_page_token: string;
  total?: number;
  own?: LeaderboardEntry | null;
  own_opted_out: boolean;
  week_start?: Time;
  week_end?: Time;
}

export interface Language {
  id: string;
  display_name: string;
  file_extension: string;
  editor_mode: string;
  version: string;
  compiled: boolean;
}

export interface DraftResponse { found: boolean; draft?: { task_slug: string; language: string; code: string; updated_at?: Time } | null }

// ---------------------------------------------------------------------------
// Endpoints (paths relative to /api/v1)
// ---------------------------------------------------------------------------

const noRefresh = { noRefresh: true };

export const auth = {
  register: (b: { email: string; username: string; password: string; time_zone?: string; display_name?: string }) =>
    post<Session>("/auth/register", b, noRefresh),
  login: (b: { login: string; password: string }) => post<Session>("/auth/login", b, noRefresh),
  logout: () => post<void>("/auth/logout", {}, noRefresh),
  forgot: (email: string) => post<void>("/auth/forgot", { email }, noRefresh),
  reset: (token: string, new_password: string) => post<void>("/auth/reset", { token, new_password }, noRefresh),
  changePassword: (current_password: string, new_password: string) =>
    post<void>("/auth/password", { current_password, new_password }),
};

export const me = {
  get: () => get<Me>("/me"),
  update: (b: { display_name?: string; time_zone?: string; leaderboard_opt_out?: boolean }) => patch<Me>("/me", b),
  progress: () => get<Progress>("/me/progress"),
};

export const tasks = {
  list: (q: { difficulty?: string; tag?: string; q?: string; page_size?: number; page_token?: string } = {}) =>
    get<TaskList>("/tasks", q),
  get: (slug: string) => get<TaskView>(`/tasks/${enc(slug)}`),
  /** The editorial and reference solutions: 403 until the caller has solved the task. */
  solutions: (slug: string) => get<TaskSolutions>(`/tasks/${enc(slug)}/solutions`),
  /** Records the first opening (where a class's "time to solve" starts); later calls change nothing. */
  open: (slug: string) => post<{ first_opened_at: Time }>(`/tasks/${enc(slug)}/open`, {}),
};

export const drafts = {
  get: (slug: string, language?: string) => get<DraftResponse>(`/drafts/${enc(slug)}`, { language }),
  save: (slug: string, language: string, code: string) => put<{ updated_at: Time }>(`/drafts/${enc(slug)}`, { language, code }),
};

export interface RunRequest { task_slug: string; language: string; code: string; stdin?: string; interactive?: boolean; sample_tests?: boolean }

export const runs = {
  create: (b: RunRequest) => post<Accepted>("/runs", b),
};

export const submissions = {
  create: (b: { task_slug: string; language: string; code: string; idempotency_key?: string }) =>
    post<Accepted>("/submissions", b),
  list: (q: { task?: string; kind?: "run" | "submit"; page_size?: number; page_token?: string } = {}) =>
    get<{ submissions: SubmissionSummary[]; next_page_token: string; total?: number }>("/submissions", q),
  get: (id: string) => get<Submission>(`/submissions/${enc(id)}`),
  events: (id: string, after?: string) =>
    get<{ events: SubmissionEvent[]; done: boolean }>(`/submissions/${enc(id)}/events`, { after }),
  cancel: (id: string) => post<void>(`/submissions/${enc(id)}/cancel`, {}),
};

export const meta = {
  achievements: () => get<{ achievements: AchievementDef[] }>("/achievements"),
  languages: () => get<{ languages: Language[] }>("/languages"),
  taskStats: () => get<{ stats: TaskStats[] }>("/task-stats"),
  tracks: () => get<{ tracks: Track[] }>("/tracks"),
  leaderboard: (board: "all-time" | "weekly", q: { page_size?: number; page_token?: string } = {}) =>
    get<Leaderboard>(`/leaderboards/${board}`, q),
};

export const author = {
  list: (q: { q?: string; page_size?: number; page_token?: string } = {}) => get<TaskList>("/author/tasks", q),
  get: (slug: string) => get<AuthorTask>(`/author/tasks/${enc(slug)}`),
  validate: (task: TaskFile) => post<ValidationReport>("/author/tasks/validate", { task }),
  create: (task: TaskFile) => post<AuthorTask>("/author/tasks", { task }),
  update: (slug: string, task: TaskFile, expected_version?: number) =>
    put<AuthorTask>(`/author/tasks/${enc(slug)}`, { task, expected_version }),
  archive: (slug: string, restore = false) => post<TaskSummary>(`/author/tasks/${enc(slug)}/archive`, { restore }),
  exportFile: (slug: string) => get<TaskFile>(`/author/tasks/${enc(slug)}/export`),
  runReference: (task: TaskFile, solutions?: string[]) =>
    post<ReferenceRunReport>("/author/tasks/run-reference", { task, solutions }),
  /** Where a task's problem package (.zip) downloads from (cookies sign the GET). */
  packageUrl: (slug: string) => `${API}/author/tasks/${enc(slug)}/package`,
  importPackage: (zip: Blob, fileName: string, check = true) => importPackage(zip, fileName, check),
};

export interface PackageImportReport {
  ok?: boolean;
  status: number;
  task?: TaskFile;
  change?: string | null;
  checked?: boolean;
  error?: { code: string; message: string; field: string | null };
  errors?: { path: string; message: string }[];
  warnings?: { path: string; message: string }[];
  results?: ReferenceRunReport["results"];
}

/** The largest package sent as the request's body; a larger one goes up as
 * a blob first (PUT /author/blobs/{sha256}, up to 256 MiB). */
const PACKAGE_BODY_MAX = 8 * 1024 * 1024;

async function sha256Hex(data: Blob): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await data.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { credentials: "same-origin", ...init });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection and try again.");
  }
}

async function failure(res: Response, data: { error?: PackageImportReport["error"] }): Promise<ApiError> {
  const err = data.error ?? { code: `http_${res.status}`, message: res.statusText, field: null };
  return new ApiError(res.status, err.code, errorMessage(res.status, err.message, Number(res.headers.get("Retry-After"))), err.field ?? undefined);
}

/** POST /author/packages: the zip as the body, or, over 8 MiB, as a blob
 * uploaded first and named by ?blob=. A refused package (422) resolves with
 * its errors; other failures throw like request(). */
/** What PUT /author/contests/{slug}/package answers (a refusal, 422, too). */
export interface ContestPackageReport {
  status: number;
  change?: string;
  error?: { code: string; message: string; field: string | null };
  errors?: { path: string; message: string }[];
  warnings?: { path: string; message: string }[];
  teams?: { package_id: string; id?: string; name: string; change?: string }[];
}

/** Imports a CLICS contest package (.zip) as the contest `slug` and its
 * teams; a refused package (422) resolves with its errors. */
export async function importContestPackage(slug: string, zip: Blob, expectedVersion = 0): Promise<ContestPackageReport> {
  const url = withQuery(`${API}/author/contests/${enc(slug)}/package`, { expected_version: expectedVersion ? String(expectedVersion) : undefined });
  const res = await send(url, {
    method: "PUT",
    headers: { "Content-Type": "application/zip", Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: zip,
  });
  const data = (await res.json().catch(() => ({}))) as ContestPackageReport;
  if (res.ok || res.status === 422) return { ...data, status: res.status };
  throw await failure(res, data);
}

async function importPackage(zip: Blob, fileName: string, check: boolean): Promise<PackageImportReport> {
  let blob: string | undefined;
  if (zip.size > PACKAGE_BODY_MAX) {
    blob = await sha256Hex(zip);
    const up = await send(`${API}/author/blobs/${blob}`, {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", Accept: "application/json", "X-CSRF-Token": csrfToken() },
      body: zip,
    });
    if (!up.ok) throw await failure(up, await up.json().catch(() => ({})));
  }
  const url = withQuery(API + "/author/packages", { file_name: fileName, check: check ? undefined : "0", blob });
  const res = await send(url, {
    method: "POST",
    headers: { "Content-Type": "application/zip", Accept: "application/json", "X-CSRF-Token": csrfToken() },
    body: blob ? undefined : zip,
  });
  const data = (await res.json().catch(() => ({}))) as PackageImportReport;
  if (res.ok || res.status === 422) return { ...data, status: res.status };
  throw await failure(res, data);
}

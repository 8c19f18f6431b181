// The classroom part of the HTTP API (docs/openapi.yaml, tags classes and
// institutions): classes, rosters, assignments, the class board, the
// teacher's dashboard and the author's task analytics. Only the class pages
// import it, so it stays out of the initial bundle.

import { API, ApiError, csrfToken, del, get, patch, post, put, type Time, type User, type Verdict } from "./api";

const enc = encodeURIComponent;

export interface ClassInfo {
  id: string;
  title: string;
  description: string;
  time_zone: string;
  /** Teachers only. */
  join_code: string | null;
  archived: boolean;
  archived_at: Time;
  member_count: number;
  teachers: { user_id: string; display_name: string }[];
  created_at: Time;
  teaching: boolean;
  member: boolean;
  assignment_count: number;
}

export interface ClassMember {
  user_id: string;
  display_name: string;
  username: string | null;
  email: string | null;
  joined_at: Time;
  last_active_at: Time;
  total_points: number;
}

export interface Invite { email: string; invited_at: Time; expires_at: Time }

export interface RosterRow { line: number; email: string; username?: string | null; outcome: "added" | "invited" | "already_member" | "rejected"; user_id?: string | null; message?: string | null }
export interface RosterReport { rows: RosterRow[]; added: number; invited: number; already_members: number; rejected: number }

export type LatePolicy = "accept" | "penalty" | "refuse";

export interface Assignment {
  id: string;
  class_id: string;
  title: string;
  description: string;
  tasks: { slug: string; title: string; points: number }[];
  opens_at: Time;
  due_at: Time;
  time_zone: string;
  opens_at_local: string;
  due_at_local: string;
  late_policy: LatePolicy;
  late_penalty_percent: number;
  remind_hours_before: number;
  created_at?: Time;
  updated_at?: Time;
}

export interface AssignmentWrite {
  title: string;
  description?: string;
  task_slugs: string[];
  opens_at?: string;
  due_at: string;
  late_policy?: LatePolicy;
  late_penalty_percent?: number;
  remind_hours_before?: number;
}

export interface DueTask { slug: string; title: string; solved: boolean; attempts: number; grade_percent: number; late: boolean; last_verdict: Verdict }
export interface DueAssignment {
  assignment: Assignment;
  class_title: string;
  state: "upcoming" | "open" | "late" | "closed";
  tasks: DueTask[];
  grade_percent: number;
  complete: boolean;
}

export interface ClassBoardEntry { rank: number; user_id: string | null; display_name: string; points: number; reached_at: Time; you: boolean }
export interface ClassBoard { entries: ClassBoardEntry[]; own: ClassBoardEntry | null; own_opted_out: boolean; next_page_token: string; total: number; max_points: number }

export interface ProgressCell { solved: boolean; attempts: number; last_verdict: Verdict; seconds_to_solve: number | null; grade_percent: number; late: boolean; opened: boolean }
export interface ProgressColumn { assignment_id: string; assignment_title: string; task_slug: string; task_title: string }
export interface ProgressRow { member: ClassMember; grade_percent: number; solved: number; inactive: boolean }
export interface ClassProgress { columns: ProgressColumn[]; rows: ProgressRow[]; cells: ProgressCell[][]; inactive_days: number; as_of: Time }

export interface TaskAnalytics {
  task_slug: string;
  title: string;
  learners: number;
  solvers: number;
  submissions: number;
  median_attempts: number;
  median_seconds_to_solve: number;
  verdicts: { verdict: Verdict; submissions: number; share: number }[];
  tests: { index: number; name: string; hidden: boolean; ran: number; failed: number }[];
  wrong_outputs: { test_name: string; output_excerpt: string; submissions: number; learners: number }[];
  retries: { label: string; learners: number }[];
  sampled: number;
}

export const classes = {
  list: (q: { include_archived?: boolean; page_size?: number; page_token?: string } = {}) =>
    get<{ classes: ClassInfo[]; next_page_token: string }>("/classes", q),
  create: (b: { title: string; description?: string; time_zone?: string }) => post<ClassInfo>("/classes", b),
  join: (b: { code?: string; invite?: string }) => post<{ class: ClassInfo; joined: boolean }>("/classes/join", b),
  get: (id: string) => get<ClassInfo>(`/classes/${enc(id)}`),
  update: (id: string, b: { title?: string; description?: string; time_zone?: string; rotate_join_code?: boolean }) =>
    patch<ClassInfo>(`/classes/${enc(id)}`, b),
  remove: (id: string) => del<void>(`/classes/${enc(id)}`),
  archive: (id: string, restore = false) => post<ClassInfo>(`/classes/${enc(id)}/archive`, { restore }),
  members: (id: string, q: { page_size?: number; page_token?: string } = {}) =>
    get<{ members: ClassMember[]; invites: Invite[]; next_page_token: string }>(`/classes/${enc(id)}/members`, q),
  removeMember: (id: string, userId: string) => del<{ removed: boolean }>(`/classes/${enc(id)}/members/${enc(userId)}`),
  roster: (id: string, csv: string, mode: "create_accounts" | "invite") => post<RosterReport>(`/classes/${enc(id)}/roster`, { csv, mode }),
  board: (id: string, q: { assignment?: string; page_size?: number; page_token?: string } = {}) =>
    get<ClassBoard>(`/classes/${enc(id)}/board`, q),
  progress: (id: string, q: { assignment?: string; inactive_days?: number } = {}) =>
    get<ClassProgress>(`/classes/${enc(id)}/progress`, q),
  analytics: (id: string, slugs: string[]) =>
    get<{ tasks: TaskAnalytics[] }>(`/classes/${enc(id)}/analytics`, { tasks: slugs.join(",") }),
};

export const assignments = {
  list: (classId: string) => get<{ assignments: Assignment[] }>(`/classes/${enc(classId)}/assignments`),
  create: (classId: string, b: AssignmentWrite) => post<Assignment>(`/classes/${enc(classId)}/assignments`, b),
  get: (classId: string, id: string) => get<Assignment>(`/classes/${enc(classId)}/assignments/${enc(id)}`),
  update: (classId: string, id: string, b: AssignmentWrite) => put<Assignment>(`/classes/${enc(classId)}/assignments/${enc(id)}`, b),
  remove: (classId: string, id: string) => del<void>(`/classes/${enc(classId)}/assignments/${enc(id)}`),
  gradesPath: (classId: string, id: string) => `${API}/classes/${enc(classId)}/assignments/${enc(id)}/grades.csv`,
  due: (include_past = false) => get<{ assignments: DueAssignment[]; time_zone: string }>("/me/assignments", { include_past }),
};

export interface Institution { id: string; slug: string; name: string; member_count: number; created_at: Time }

export const institutions = {
  list: (q: { page_size?: number; page_token?: string } = {}) => get<{ institutions: Institution[]; next_page_token: string }>("/institutions", q),
  create: (b: { slug: string; name: string }) => post<Institution>("/institutions", b),
  members: (id: string, q: { page_size?: number; page_token?: string } = {}) =>
    get<{ users: User[]; next_page_token: string }>(`/institutions/${enc(id)}/members`, q),
  setRole: (userId: string, role: User["role"]) => put<User>(`/users/${enc(userId)}/role`, { role }),
};

export const authorAnalytics = (slug: string) => get<TaskAnalytics>(`/author/tasks/${enc(slug)}/analytics`);

/**
 * Downloads a CSV the API serves (grades): fetched with the session's cookies
 * (refreshing once on 401 through a cheap JSON call), then saved from a blob.
 */
export async function fetchCsv(path: string): Promise<string> {
  const once = () => fetch(path, { credentials: "same-origin", headers: { Accept: "text/csv", "X-CSRF-Token": csrfToken() } });
  let r = await once();
  if (r.status === 401) {
    await get("/me").catch(() => undefined);
    r = await once();
  }
  const text = await r.text();
  if (!r.ok) {
    let message = r.statusText || `HTTP ${r.status}`;
    try {
      message = JSON.parse(text)?.error?.message || message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, `http_${r.status}`, message);
  }
  return text;
}

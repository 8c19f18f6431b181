// Who is signed in. The session itself lives in HttpOnly cookies; this keeps
// the account the gateway last told us about.

import { ApiError, me as meApi, type Me, type User } from "./api";

let current: Me | null = null;
let loaded = false;
const listeners = new Set<(m: Me | null) => void>();

export function user(): User | null {
  return current?.user ?? null;
}

export function profile(): Me | null {
  return current;
}

export function setMe(m: Me | null): void {
  current = m;
  loaded = true;
  for (const f of listeners) f(m);
}

export function setUser(u: User): void {
  setMe({ user: u, leaderboard_opt_out: current?.leaderboard_opt_out ?? false });
}

export function onChange(f: (m: Me | null) => void): void {
  listeners.add(f);
}

/** Loads the signed-in account once (null when signed out). */
export async function load(force = false): Promise<Me | null> {
  if (loaded && !force) return current;
  try {
    setMe(await meApi.get());
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setMe(null);
    else {
      loaded = false;
      throw e;
    }
  }
  return current;
}

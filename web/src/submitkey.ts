// Submitting without submitting twice: one idempotency key per click, kept for
// that click's retries. The gateway answers a repeat of the same key with the
// submission it created the first time (docs/openapi.yaml, POST /submissions),
// so a retry after a lost answer or a 503 — the submission may or may not have
// been created, its job may or may not have been queued — finishes that one
// submission instead of leaving it behind and making a second.

/** An answer after which the same request may still succeed: no answer at all
 * (0: the network), or the gateway or a service behind it away for a while. */
export function retryableStatus(status: number): boolean {
  return status === 0 || status === 502 || status === 503 || status === 504;
}

function randomKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // randomUUID exists only in secure contexts (https, localhost).
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The idempotency key of the next submission of one editor. */
export class SubmitKey {
  private last: { key: string; language: string; code: string } | null = null;

  constructor(private readonly newKey: () => string = randomKey) {}

  /** The key for submitting `code` in `language`: the previous attempt's when
   * that one is unsettled and the code is the same (a retry of that click),
   * a new one otherwise. */
  for(language: string, code: string): string {
    if (this.last && this.last.language === language && this.last.code === code) return this.last.key;
    this.last = { key: this.newKey(), language, code };
    return this.last.key;
  }

  /** The last attempt is answered for good (accepted, or refused for a reason
   * a retry cannot change): the next click is a new submission. */
  settled(): void {
    this.last = null;
  }
}

export interface RetryOptions {
  /** Attempts in all, at least 1. */
  tries: number;
  /** The longest wait between two attempts, in ms (Retry-After is capped to it). */
  maxWaitMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Calls `f` until it resolves, fails with a status that is not retryable, or
 * `tries` attempts have failed; between attempts it waits the error's
 * Retry-After (seconds), else 1 s, at most maxWaitMs. Errors carry `status`
 * and `retryAfter` as ApiError does; the last one is thrown. */
export async function retrying<T>(f: () => Promise<T>, o: RetryOptions): Promise<T> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      const err = e as { status?: unknown; retryAfter?: unknown };
      if (attempt >= o.tries || typeof err.status !== "number" || !retryableStatus(err.status)) throw e;
      const ra = typeof err.retryAfter === "number" && err.retryAfter > 0 ? err.retryAfter * 1000 : 1000;
      await sleep(Math.min(ra, o.maxWaitMs));
    }
  }
}

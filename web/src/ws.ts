// Live submission events over the gateway's WebSocket (/api/v1/ws, see
// docs/openapi.yaml): subscribe with the id of the last event seen, so a
// reconnect resumes without losing or repeating anything; stdin, stdin_close
// and cancel for running programs. When the socket keeps failing, the same
// events are polled from GET /api/v1/submissions/{id}/events.

import { API, submissions, type Submission, type SubmissionEvent } from "./api";

export interface Handlers {
  onEvent: (e: SubmissionEvent) => void;
  /** A finished submission sent whole (its event stream had expired). */
  onSubmission?: (s: Submission) => void;
  /** A protocol error about this subscription (not yours, unknown id, ...). */
  onError?: (code: string, message: string) => void;
}

interface Sub extends Handlers {
  id: string;
  after: string;
  lastSeq: number;
  done: boolean;
}

export type LiveStatus = "connecting" | "open" | "closed" | "polling";

class Live {
  private ws: WebSocket | null = null;
  private subs = new Map<string, Sub>();
  private queue: string[] = [];
  private retry = 0;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pollers = new Map<string, ReturnType<typeof setTimeout>>();
  private listeners = new Set<(s: LiveStatus) => void>();

  onStatus(f: (s: LiveStatus) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private status(s: LiveStatus): void {
    for (const f of this.listeners) f(s);
  }

  private url(): string {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${API}/ws`;
  }

  private connect(): void {
    if (this.ws && (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)) return;
    this.status("connecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.retry = 0;
      this.failures = 0;
      this.status("open");
      for (const s of this.subs.values()) if (!s.done && !this.pollers.has(s.id)) ws.send(this.subscribeMsg(s));
      for (const m of this.queue.splice(0)) ws.send(m);
    });
    ws.addEventListener("message", (m) => this.onMessage(m.data));
    ws.addEventListener("close", () => {
      if (this.ws === ws) this.ws = null;
      this.status("closed");
      if ([...this.subs.values()].some((s) => !s.done)) this.scheduleReconnect();
    });
  }

  private subscribeMsg(s: Sub): string {
    return JSON.stringify(s.after ? { type: "subscribe", submission_id: s.id, after: s.after } : { type: "subscribe", submission_id: s.id });
  }

  private onMessage(raw: unknown): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(String(raw));
    } catch {
      return;
    }
    const s = this.subs.get(String(m.submission_id ?? ""));
    switch (m.type) {
      case "event":
        if (s) this.deliver(s, m as unknown as SubmissionEvent);
        break;
      case "done":
        if (s) this.finish(s);
        break;
      case "submission":
        if (s) {
          s.onSubmission?.(m.submission as Submission);
          this.finish(s);
        }
        break;
      case "error":
        if (s) {
          s.onError?.(String(m.code ?? "error"), String(m.message ?? ""));
          if (m.code === "unavailable") this.startPolling(s);
        }
        break;
      default:
        break; // subscribed, ok, pong
    }
  }

  private deliver(s: Sub, e: SubmissionEvent): void {
    if (s.done) return;
    if (e.seq && e.seq <= s.lastSeq) return; // defensive: never show an event twice
    if (e.seq) s.lastSeq = e.seq;
    if (e.id) s.after = e.id;
    s.onEvent(e);
    if (e.kind === "result") this.finish(s);
  }

  private finish(s: Sub): void {
    s.done = true;
    this.subs.delete(s.id);
    clearTimeout(this.pollers.get(s.id));
    this.pollers.delete(s.id);
  }

  private scheduleReconnect(): void {
    clearTimeout(this.timer);
    if (++this.failures >= 3) for (const s of this.subs.values()) if (!s.done) this.startPolling(s);
    const delay = Math.min(10000, 250 * 2 ** this.retry++) + Math.random() * 250;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Polls a submission's events until it finishes (socket unusable). */
  private startPolling(s: Sub): void {
    if (this.pollers.has(s.id) || s.done) return;
    this.status("polling");
    const tick = async () => {
      if (s.done) return;
      try {
        const r = await submissions.events(s.id, s.after || undefined);
        for (const e of r.events) this.deliver(s, e);
        if (r.done && !s.done) {
          s.onSubmission?.(await submissions.get(s.id));
          this.finish(s);
        }
      } catch {
        /* try again */
      }
      if (!s.done) this.pollers.set(s.id, setTimeout(tick, 700));
    };
    this.pollers.set(s.id, setTimeout(tick, 0));
  }

  private send(msg: object): void {
    const text = JSON.stringify(msg);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else {
      this.queue.push(text);
      this.connect();
    }
  }

  /** Follows a submission's events from the start; returns an unsubscribe function. */
  subscribe(id: string, h: Handlers): () => void {
    const s: Sub = { ...h, id, after: "", lastSeq: 0, done: false };
    this.subs.set(id, s);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(this.subscribeMsg(s));
    else if (this.failures >= 3) this.startPolling(s);
    else this.connect(); // "open" subscribes every open subscription
    return () => {
      if (!s.done && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "unsubscribe", submission_id: id }));
      this.finish(s);
    };
  }

  stdin(id: string, data: string): void {
    // A frame carries at most 4 KiB of stdin: 1000 code points are at most 4000 bytes.
    const cps = Array.from(data);
    for (let i = 0; i < cps.length; i += 1000) this.send({ type: "stdin", submission_id: id, data: cps.slice(i, i + 1000).join("") });
  }

  closeStdin(id: string): void {
    this.send({ type: "stdin_close", submission_id: id });
  }

  /** Cancels over the socket, or over HTTP when it is not open. */
  cancel(id: string): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "cancel", submission_id: id }));
    else submissions.cancel(id).catch(() => {});
  }
}

export const live = new Live();

// Tracks: ordered sets of tasks to follow (content/tracks/, GET /api/v1/tracks).
// Progress is the learner's solved list; "next" is the first unsolved task
// after the one just solved, in the first track that has it. DOM-free:
// unit-tested in Node.

import type { Track } from "./api";

export interface TrackProgress { solved: number; total: number; next: string | null }

/** How far a learner is in a track, and the task to do next (null when done). */
export function trackProgress(t: Track, solved: Set<string>): TrackProgress {
  const done = t.tasks.filter((s) => solved.has(s)).length;
  return { solved: done, total: t.tasks.length, next: t.tasks.find((s) => !solved.has(s)) ?? null };
}

/**
 * The task to suggest after `slug` was solved: the next unsolved one after it
 * in the first track holding it (wrapping to an earlier unsolved one), else
 * the next unsolved task of the first unfinished track; null when every
 * track is done.
 */
export function nextTask(tracks: Track[], slug: string, solved: Set<string>): { task: string; track: Track } | null {
  for (const t of tracks) {
    const i = t.tasks.indexOf(slug);
    if (i < 0) continue;
    const after = [...t.tasks.slice(i + 1), ...t.tasks.slice(0, i)].find((s) => !solved.has(s) && s !== slug);
    if (after) return { task: after, track: t };
  }
  for (const t of tracks) {
    const n = t.tasks.find((s) => !solved.has(s) && s !== slug);
    if (n) return { task: n, track: t };
  }
  return null;
}

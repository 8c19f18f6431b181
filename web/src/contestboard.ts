// The team's own results on a frozen scoreboard. During the freeze the board
// everyone sees hides the results of submissions made in it (they count as
// pending); a team still sees its own in its submissions. This lays those
// over the team's own row: per problem hidden by the freeze, what the team
// knows of it. DOM-free: unit-tested in Node.

export interface OwnSubmission { problem_id: string; contest_time_ms: number; counted: boolean; judgement: { verdict: string | null } | null }
export interface OwnCell { solved: boolean; judged: number; pending: number; minute: number | null }

/**
 * For each problem of `frozenProblems` (the team's cells with pending
 * submissions on the frozen board), the team's own counted results in
 * contest order: solved at the first accepted one (minute of it), judged
 * attempts before it (compile and judging errors do not count), pending ones
 * not judged yet.
 */
export function ownFrozenCells(subs: OwnSubmission[], frozenProblems: string[]): Map<string, OwnCell> {
  const out = new Map<string, OwnCell>();
  const noAttempt = new Set(["ce", "ie", "cancelled"]);
  for (const p of frozenProblems) {
    const cell: OwnCell = { solved: false, judged: 0, pending: 0, minute: null };
    const mine = subs.filter((s) => s.problem_id === p && s.counted).sort((a, b) => a.contest_time_ms - b.contest_time_ms);
    for (const s of mine) {
      if (cell.solved) break;
      const v = s.judgement?.verdict ?? null;
      if (v === null) {
        cell.pending++;
        continue;
      }
      if (noAttempt.has(v)) continue;
      cell.judged++;
      if (v === "ac") {
        cell.solved = true;
        cell.minute = Math.floor(s.contest_time_ms / 60000);
      }
    }
    out.set(p, cell);
  }
  return out;
}

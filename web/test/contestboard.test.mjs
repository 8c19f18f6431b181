import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { ownFrozenCells } = await loadTs("contestboard");
const sub = (problem_id, minute, verdict, counted = true) =>
  ({ problem_id, contest_time_ms: minute * 60000 + 500, counted, judgement: verdict === undefined ? null : { verdict } });

test("a team's own results of the freeze: solved at the first accepted, earlier rejections counted", () => {
  const cells = ownFrozenCells([sub("A", 250, "ac"), sub("A", 245, "wa"), sub("A", 260, "wa"), sub("B", 255, "ce")], ["A", "B"]);
  assert.deepEqual(cells.get("A"), { solved: true, judged: 2, pending: 0, minute: 250 });
  assert.deepEqual(cells.get("B"), { solved: false, judged: 0, pending: 0, minute: null }, "a compile error is no attempt");
});

test("unjudged ones stay pending, practice after the end and other problems are left out", () => {
  const cells = ownFrozenCells([sub("C", 270), sub("C", 300, "ac", false), sub("A", 250, "ac")], ["C"]);
  assert.deepEqual([...cells.keys()], ["C"]);
  assert.deepEqual(cells.get("C"), { solved: false, judged: 0, pending: 1, minute: null });
});

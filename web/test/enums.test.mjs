import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const e = await loadTs("enums");

test("enum forms normalise", () => {
  assert.equal(e.difficulty("DIFFICULTY_EASY"), "easy");
  assert.equal(e.difficulty("hard"), "hard");
  assert.equal(e.verdict(2), "wa");
  assert.equal(e.verdictText("tle"), "Time limit exceeded");
  assert.equal(e.verdictText(null), "Pending");
  assert.equal(e.verdict(10), "not_run");
  assert.equal(e.verdictText("VERDICT_NOT_RUN"), "Not run");
  assert.ok(e.isAuthor("admin") && e.isAuthor("author") && !e.isAuthor("learner"));
  assert.ok(!e.isAuthor("teacher") && e.isTeacher("teacher") && e.isTeacher("ROLE_TEACHER") && e.isTeacher(4));
  assert.ok(e.isTeacher("author") && e.isTeacher("admin") && !e.isTeacher("learner"));
});

test("times", () => {
  assert.equal(e.toDate("2026-01-05T12:00:00.000Z").toISOString(), "2026-01-05T12:00:00.000Z");
  assert.equal(e.toDate(null), null);
  assert.equal(e.toDate({ unix_micros: 1767614400000000 }).toISOString(), "2026-01-05T12:00:00.000Z");
});

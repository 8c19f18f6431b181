import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const c = await loadTs("classes");

test("a join code is read in any case, with spaces or dashes, or out of a class or invitation link", () => {
  assert.deepEqual(c.parseJoinInput("abcd-2345"), { code: "ABCD2345" });
  assert.deepEqual(c.parseJoinInput("  AB CD 23 45 "), { code: "ABCD2345" });
  assert.deepEqual(c.parseJoinInput("https://dojo.example.org/join/ABCD2345"), { code: "ABCD2345" });
  assert.deepEqual(c.parseJoinInput("https://dojo.example.org/join/abcd-2345/"), { code: "ABCD2345" });
  assert.deepEqual(c.parseJoinInput("https://dojo.example.org/join?invite=Zx_9-q"), { invite: "Zx_9-q" });
  assert.equal(c.parseJoinInput(""), null);
  assert.equal(c.parseJoinInput("no!"), null);
  assert.equal(c.parseJoinInput("https://dojo.example.org/tasks/two-sum"), null);
});

test("codes print in two halves and links name the code", () => {
  assert.equal(c.prettyCode("abcd2345"), "ABCD-2345");
  assert.equal(c.joinLink("https://dojo.example.org/", "abcd-2345"), "https://dojo.example.org/join/ABCD2345");
});

test("a due date shows as the wall clock of the zone asked for, not the browser's", () => {
  const due = new Date("2026-01-13T23:00:00Z"); // 18:00 in New York (EST), 08:00 next day in Tokyo
  const year = new Date().getFullYear() === 2026;
  assert.equal(c.inZone(due, "America/New_York", "en-GB"), year ? "Tue 13 Jan, 18:00" : "Tue 13 Jan 2026, 18:00");
  assert.equal(c.inZone(due, "Asia/Tokyo", "en-GB"), year ? "Wed 14 Jan, 08:00" : "Wed 14 Jan 2026, 08:00");
  assert.equal(c.inZone(null, "Asia/Tokyo"), "");
  assert.ok(c.inZone(due, "Not/AZone", "en-GB").length > 0, "an unknown zone falls back to the browser's");
  assert.equal(c.validZone("Europe/Berlin"), true);
  assert.equal(c.validZone("Mars/Olympus"), false);
});

test("a default due date is a day of the class's zone, which may not be the browser's day", () => {
  const now = new Date("2026-03-10T23:30:00Z");
  assert.equal(c.localDateIn("Asia/Tokyo", now, 0, "23:59"), "2026-03-11T23:59");
  assert.equal(c.localDateIn("America/New_York", now, 7, "23:59"), "2026-03-17T23:59");
  assert.equal(c.toInputValue("2026-03-10T08:00:00"), "2026-03-10T08:00");
  assert.equal(c.toInputValue(""), "");
});

test("durations and relative times in people's words", () => {
  assert.equal(c.duration(null), "—");
  assert.equal(c.duration(45), "45 s");
  assert.equal(c.duration(600), "10 min");
  assert.equal(c.duration(7500), "2 h 5 min");
  assert.equal(c.duration(3600), "1 h");
  assert.equal(c.duration(3 * 86400 + 4 * 3600 + 60), "3 d 4 h");
  const now = new Date("2026-03-10T12:00:00Z");
  assert.equal(c.relative(new Date("2026-03-10T12:20:00Z"), now), "in 20 min");
  assert.equal(c.relative(new Date("2026-03-10T07:00:00Z"), now), "5 h ago");
  assert.equal(c.relative(new Date("2026-03-13T12:00:00Z"), now), "in 3 days");
  assert.equal(c.daysSince(null, now), null);
  assert.equal(c.daysSince(new Date("2026-03-08T13:00:00Z"), now), 1);
});

test("late policies and matrix cells say what they mean", () => {
  assert.equal(c.latePolicyText("penalty", 25), "Late work loses 25%");
  assert.equal(c.latePolicyText("refuse", 0), "Late work does not count");
  const base = { solved: false, attempts: 0, last_verdict: null, late: false, opened: false, grade_percent: 0 };
  assert.equal(c.cellSummary(base).state, "none");
  assert.equal(c.cellSummary({ ...base, opened: true }).state, "opened");
  assert.deepEqual(c.cellSummary({ ...base, opened: true, attempts: 3, last_verdict: "tle" }),
    { text: "✗ 3 TLE", words: "not solved, 3 attempts, last TLE", state: "failing" });
  assert.deepEqual(c.cellSummary({ ...base, solved: true, attempts: 1, late: true, grade_percent: 75 }),
    { text: "✓ 1 L", words: "solved in 1 attempt (late), grade 75%", state: "solved" });
});

test("the grades file is named after the class and the assignment", () => {
  assert.equal(c.gradesFileName("Maths 4B", "Week 1: loops"), "maths-4b-week-1-loops-grades.csv");
  assert.equal(c.gradesFileName("", "!!"), "grades-grades.csv");
});

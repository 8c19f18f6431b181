import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { nextTask, trackProgress } = await loadTs("tracks");
const basics = { slug: "basics", title: "Basics", description: "", tasks: ["a", "b", "c"], sort_order: 1 };
const algo = { slug: "algo", title: "Algorithms", description: "", tasks: ["x", "y"], sort_order: 2 };

test("progress counts the solved tasks of the track and names the first unsolved one", () => {
  assert.deepEqual(trackProgress(basics, new Set()), { solved: 0, total: 3, next: "a" });
  assert.deepEqual(trackProgress(basics, new Set(["a", "c", "z"])), { solved: 2, total: 3, next: "b" });
  assert.deepEqual(trackProgress(basics, new Set(["a", "b", "c"])), { solved: 3, total: 3, next: null });
});

test("the next task follows the solved one in its track, wraps, then moves to the next track", () => {
  assert.equal(nextTask([basics, algo], "a", new Set(["a"])).task, "b");
  assert.equal(nextTask([basics, algo], "b", new Set(["b", "c"])).task, "a", "wraps to an earlier unsolved one");
  const t = nextTask([basics, algo], "c", new Set(["a", "b", "c"]));
  assert.equal(t.task, "x");
  assert.equal(t.track.slug, "algo");
  assert.equal(nextTask([basics, algo], "q", new Set()).task, "a", "a task in no track leads to the first unfinished one");
  assert.equal(nextTask([basics], "c", new Set(["a", "b", "c"])), null);
});

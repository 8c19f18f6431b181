import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTs } from "./load-ts.mjs";

const { SubmitKey, retrying, retryableStatus } = await loadTs("submitkey");

function keys() {
  let n = 0;
  return new SubmitKey(() => `k${++n}`);
}

test("clicking again with the same code after an unanswered attempt reuses its key", () => {
  const k = keys();
  assert.equal(k.for("python3", "print(1)"), "k1");
  assert.equal(k.for("python3", "print(1)"), "k1");
});

test("changed code or language is a new submission with a new key", () => {
  const k = keys();
  assert.equal(k.for("python3", "print(1)"), "k1");
  assert.equal(k.for("python3", "print(2)"), "k2");
  assert.equal(k.for("c", "print(2)"), "k3");
});

test("once an attempt is settled the same code again is a new submission", () => {
  const k = keys();
  assert.equal(k.for("python3", "print(1)"), "k1");
  k.settled();
  assert.equal(k.for("python3", "print(1)"), "k2");
});

test("only no answer, 502, 503 and 504 are worth retrying", () => {
  for (const s of [0, 502, 503, 504]) assert.equal(retryableStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 409, 413, 429, 500]) assert.equal(retryableStatus(s), false, String(s));
});

test("retrying waits Retry-After (capped) and calls again until it succeeds", async () => {
  const waits = [];
  let calls = 0;
  const out = await retrying(async () => {
    if (++calls < 3) throw Object.assign(new Error("busy"), { status: 503, retryAfter: calls === 1 ? 2 : 60 });
    return "ok";
  }, { tries: 3, maxWaitMs: 5000, sleep: async (ms) => { waits.push(ms); } });
  assert.equal(out, "ok");
  assert.equal(calls, 3);
  assert.deepEqual(waits, [2000, 5000]);
});

test("retrying gives up after its tries and at once on an error that is not retryable", async () => {
  let calls = 0;
  const sleep = async () => {};
  await assert.rejects(retrying(async () => { calls++; throw Object.assign(new Error("down"), { status: 0 }); },
    { tries: 3, maxWaitMs: 10, sleep }), /down/);
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retrying(async () => { calls++; throw Object.assign(new Error("bad"), { status: 400 }); },
    { tries: 3, maxWaitMs: 10, sleep }), /bad/);
  assert.equal(calls, 1);
});

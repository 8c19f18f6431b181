// attack: memory bomb in JavaScript — grow arrays of numbers until something
// gives.
// why: must be MLE: Node's old space is given the task's memory limit
//      (--max-old-space-size), so V8 aborts with "JavaScript heap out of
//      memory" near it, or the driver stops it at the limit first.
// limits: memory-kib=131072 cpu-ms=5000 wall-ms=10000
// expect: verdict=MLE
const keep = [];
for (;;) {
  const a = new Float64Array(512 * 1024).fill(1);
  keep.push(Array.from(a));
}

// attack: an infinite busy loop in JavaScript.
// why: as infinite_loop.py, for Node.js: TLE by CPU time (status TC) quiet
//      or loaded, on both runtimes (on a machine too busy to give it a tenth
//      of a CPU the safety net stops it first: TLE as well, TS).
// limits: cpu-ms=1000 wall-ms=3000
// expect: verdict=TLE
let n = 0;
for (;;) n++;

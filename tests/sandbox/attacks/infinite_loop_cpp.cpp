// attack: an infinite busy loop in C++ (no system calls at all).
// why: as infinite_loop.py, for a compiled language: TLE by CPU time (status
//      TC) quiet or loaded, on both runtimes (on a machine too busy to give
//      it a tenth of a CPU the safety net stops it first: TLE as well, TS).
// limits: cpu-ms=1000 wall-ms=3000
// expect: verdict=TLE
int main()
{
    volatile unsigned long n = 0;
    for (;;)
        n = n + 1;
}

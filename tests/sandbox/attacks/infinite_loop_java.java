// attack: an infinite busy loop in Java.
// why: as infinite_loop.py, for the JVM and its JIT and GC threads: TLE by
//      CPU time (status TC) quiet or loaded, on both runtimes (on a machine
//      too busy to give it a tenth of a CPU the safety net stops it first:
//      TLE as well, TS). At a task's usual 256 MiB: under gVisor the JVM is
//      resident beyond 128 MiB before main.
// limits: cpu-ms=2000 wall-ms=4000 memory-kib=262144
// expect: verdict=TLE
public class Main {
    static volatile long n;

    public static void main(String[] args) {
        for (;;)
            n++;
    }
}

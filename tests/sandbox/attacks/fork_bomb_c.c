// attack: fork bomb in C (fork() as fast as possible in every process; no allocation).
// why: same as fork_bomb.py but much faster, and small processes: the process
//      limit is hit within milliseconds (the kernel refuses the fork past it,
//      the driver stops the test: RE), on both runtimes at a task's usual
//      256 MiB (gVisor's processes are some 3 MiB each, Linux's a few hundred
//      KiB: with a small memory limit gVisor meets it first); the host must
//      stay responsive and clean.
// tests: 2
// limits: cpu-ms=5000 wall-ms=8000 memory-kib=262144
// expect@0: verdict=RE status=PL
// expect@1: verdict=OK stdout-contains=ALIVE
// expect-run: end=DONE
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    char buf[8] = {0};
    if (read(0, buf, sizeof buf - 1) > 0 && buf[0] == '1') {
        puts("ALIVE");
        return 0;
    }
    for (;;)
        fork();
}

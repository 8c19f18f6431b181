// attack: fork bomb in C (fork() as fast as possible in every process; no allocation).
// why: same as fork_bomb.py but much faster, so the pids limit is really hit
//      within milliseconds; the host must stay responsive and clean.
// tests: 2
// limits: cpu-ms=1000 wall-ms=2000
// expect@0: verdict=TLE|RE|MLE
// expect@1: verdict=OK stdout-contains=ALIVE
// expect[runsc]@0: verdict=TLE|RE|MLE record=any
// expect[runsc]@1: verdict=OK stdout-contains=ALIVE record=any
// expect-run[runsc]: end=DONE|CRASHED
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

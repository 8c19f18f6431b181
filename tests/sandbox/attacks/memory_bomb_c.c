// attack: memory bomb in C — malloc and touch 4 MiB blocks until killed, never
// checking malloc's result (as careless programs do): when an allocation limit
// refuses, the NULL pointer is written to.
// why: must be MLE: the memory limit stops it (cgroup OOM kill, or the
//      address-space limit followed by the crash it causes), and the verdict
//      names memory, not a runtime error or a time limit.
// limits: memory-kib=65536 cpu-ms=2000 wall-ms=4000
// expect: verdict=MLE
#include <stdlib.h>
#include <string.h>

int main(void)
{
    for (;;) {
        char *p = malloc(4 << 20);
        memset(p, 1, 4 << 20);
    }
}

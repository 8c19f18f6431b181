// attack: unbounded recursion in C with a big frame each time.
// why: the stack rlimit (8 MiB, far below the memory limit) turns it into
//      SIGSEGV: RE with signal 11, on both runtimes; the judge is unaffected.
// limits: memory-kib=262144
// expect: verdict=RE signal=11
#include <stdio.h>
#include <string.h>

static int deep(int n)
{
    volatile char frame[4096];
    memset((char *)frame, n, sizeof frame);
    return deep(n + 1) + frame[0];
}

int main(void)
{
    printf("%d\n", deep(0));
    return 0;
}

// attack: 32 threads spinning at once (real parallelism, unlike Python's GIL).
// why: CPU time of all threads counts: TLE once their sum passes the CPU limit,
//      before the wall limit on a quiet machine, and still by CPU time (not
//      the wall clock) on a busy one; nothing keeps running afterwards.
// limits: cpu-ms=1000 wall-ms=4000
// expect: verdict=TLE status=TC cpu-ms-min=1000
#include <pthread.h>

static void *spin(void *arg)
{
    volatile unsigned long n = 0;
    for (;;)
        n++;
    return arg;
}

int main(void)
{
    pthread_t t;
    for (int i = 0; i < 31; i++)
        pthread_create(&t, 0, spin, 0);
    spin(0);
}

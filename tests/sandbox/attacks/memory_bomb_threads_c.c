// attack: touch memory from many threads at once (8 threads x 4 MiB blocks),
// so that usage climbs faster than a polling judge can sample it.
// why: the memory limit is enforced by the kernel (cgroup), not by sampling:
//      MLE, or RE when an address-space limit makes malloc fail (and the
//      unchecked NULL is written) before much memory is used (see
//      control_threads_memory_c.c for why that is a problem of its own); the
//      host is unaffected.
// limits: memory-kib=65536 cpu-ms=2000 wall-ms=4000
// expect: verdict=MLE|RE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *eat(void *arg)
{
    for (;;) {
        char *p = malloc(4 << 20);
        memset(p, 1, 4 << 20);
    }
    return arg;
}

int main(void)
{
    pthread_t t;
    for (int i = 0; i < 7; i++)
        pthread_create(&t, 0, eat, 0);
    eat(0);
}

// attack: touch memory from many threads at once (8 threads x 4 MiB blocks),
// so that usage climbs faster than a polling judge can sample it.
// why: the driver samples the tree's resident memory every 2 ms near the limit
//      and stops it there (MLE); what grows between two samples stays within
//      the container's headroom (its cgroup, the kernel's backstop, is the
//      limit plus 208 MiB: a miss would be an OOM kill, still MLE by the
//      peak); the host is unaffected.
// limits: memory-kib=65536 cpu-ms=2000 wall-ms=4000
// expect: verdict=MLE status=ML
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

// attack: (control, not hostile) 16 threads each allocate and touch 2 MiB
// (32 MiB in all, half the 64 MiB limit), checking every allocation.
// why: a legitimate multi-threaded program within the memory limit must be
//      accepted (OK). A judge that limits the address space (RLIMIT_AS)
//      instead of memory use fails it: each thread's stack reserves 8 MiB of
//      address space (16 x 8 MiB = 128 MiB) and glibc reserves up to 64 MiB
//      per malloc arena, so thread creation or malloc fails long before any
//      real memory is used.
//      The driver charges resident memory; the address-space limit has 1 GiB
//      of room beyond the memory limit on both runtimes. (gVisor counts about
//      2 MiB per thread stack: some 44 MiB here, under the limit still.)
// limits: memory-kib=65536
// expect: verdict=OK stdout-contains=ALL-ALLOCATED
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 16
#define SIZE (2 << 20)

static char *volatile blocks[N];

static void *work(void *arg)
{
    long i = (long)arg;
    char *p = malloc(SIZE);
    if (p == NULL)
        return (void *)1;
    memset(p, (int)i + 1, SIZE);
    blocks[i] = p; /* kept and read below: the compiler cannot drop it */
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    int failed = 0;
    for (int i = 0; i < N; i++)
        if (pthread_create(&t[i], 0, work, (void *)(long)i) != 0) {
            printf("pthread_create %d failed\n", i);
            return 1;
        }
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        failed += r != NULL;
    }
    long sum = 0;
    for (int i = 0; i < N; i++)
        for (long k = 0; blocks[i] && k < SIZE; k += 4096)
            sum += blocks[i][k];
    if (failed)
        printf("%d of %d allocations failed\n", failed, N);
    else if (sum != (long)N * (N + 1) / 2 * (SIZE / 4096))
        printf("memory content wrong: %ld\n", sum);
    else
        puts("ALL-ALLOCATED");
    return 0;
}

// attack: fork bomb in C (fork() as fast as possible in every process; no allocation).
// why: same as fork_bomb.py but much faster, and small processes: the process
//      limit is hit within milliseconds (the kernel refuses the fork past it,
//      the driver stops the test: RE), on both runtimes at a task's usual
//      256 MiB (gVisor's processes are some 3 MiB each, Linux's a few hundred
//      KiB: with a small memory limit gVisor meets it first); the host must
//      stay responsive and clean. Test 1 starts only when every process of
//      test 0 is gone (not even a zombie left; there is no zygote for C):
//      one still dying would be charged to test 1.
// tests: 2
// limits: cpu-ms=5000 wall-ms=8000 memory-kib=262144
// expect@0: verdict=RE status=PL
// expect@1: verdict=OK stdout-contains=ALIVE stdout-not-contains=LEFTOVERS
// expect-run: end=DONE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    char buf[8] = {0};
    if (read(0, buf, sizeof buf - 1) > 0 && buf[0] == '1') {
        int left = 0;
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            int pid = atoi(e->d_name);
            if (pid > 1 && pid != getpid())
                left++;
        }
        if (left)
            printf("LEFTOVERS %d\n", left);
        puts("ALIVE");
        return 0;
    }
    for (;;)
        fork();
}

// attack: write a core dump: raise RLIMIT_CORE (soft and hard), make the
// process dumpable, chdir to /tmp, then abort(). Test 1 looks for a core file.
// why: RLIMIT_CORE's hard limit is 0, so it cannot be raised: no core file is
//      written anywhere (inside, or on the host through its core_pattern). The
//      test is a runtime error (SIGABRT, signal 6).
// tests: 2
// expect@0: verdict=RE signal=6
// expect@1: verdict=OK stdout-contains=NO-CORE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
    char buf[8] = {0};
    if (read(0, buf, sizeof buf - 1) > 0 && buf[0] == '1') {
        const char *dirs[] = {"/tmp", "/dev/shm", "/var/tmp", "."};
        int found = 0;
        for (int i = 0; i < 4; i++) {
            DIR *d = opendir(dirs[i]);
            struct dirent *e;
            while (d && (e = readdir(d)))
                if (!strncmp(e->d_name, "core", 4)) {
                    printf("CORE-FOUND %s/%s\n", dirs[i], e->d_name);
                    found = 1;
                }
            if (d)
                closedir(d);
        }
        if (!found)
            puts("NO-CORE");
        return 0;
    }
    struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &r) == 0)
        puts("RLIMIT_CORE raised");
    prctl(PR_SET_DUMPABLE, 1);
    chdir("/tmp");
    fflush(stdout);
    abort();
}

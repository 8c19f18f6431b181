// attack: io_uring_setup (and io_uring_register / io_uring_enter on whatever
// it returned): io_uring has been the source of many kernel privilege
// escalations and bypasses seccomp filtering of the operations it runs.
// why: refused by the seccomp filter (EPERM/ENOSYS) under crun; gVisor does not
//      offer it by default (ENOSYS).
// expect: verdict=OK stdout-contains=IO-URING-DENIED stdout-not-contains=IO-URING-CREATED
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif

int main(void)
{
    unsigned char params[120];
    memset(params, 0, sizeof params);
    long fd = syscall(SYS_io_uring_setup, 8, params);
    if (fd >= 0) {
        printf("IO-URING-CREATED fd %ld\n", fd);
        return 0;
    }
    printf("io_uring_setup: %s\nIO-URING-DENIED\n", strerror(errno));
    return 0;
}

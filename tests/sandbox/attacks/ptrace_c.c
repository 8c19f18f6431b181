// attack: ptrace: PTRACE_TRACEME, PTRACE_ATTACH / PTRACE_SEIZE to pid 1 (the
// driver, which holds the record pipe), reading pid 1's memory through
// /proc/1/mem and process_vm_readv, and attaching to a forked child of our own.
// why: the driver must be untouchable (no attach, no memory read): otherwise a
//      submission could forge its verdicts. A seccomp deny list may refuse
//      ptrace altogether (then TRACEME and the child attach fail too, which is
//      fine); under gVisor ptrace is emulated inside the sentry and pid 1 is
//      protected by not being dumpable.
// expect: verdict=OK stdout-contains=PID1-PROTECTED stdout-not-contains=PID1-ATTACHED stdout-not-contains=PID1-MEMORY
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    int protected_ = 1;
    pid_t c = fork();
    if (c == 0) {
        long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
        printf("TRACEME %s\n", r == 0 ? "allowed" : strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, 0, 0);

    if (ptrace(PTRACE_ATTACH, 1, 0, 0) == 0) {
        printf("PID1-ATTACHED via PTRACE_ATTACH\n");
        protected_ = 0;
        ptrace(PTRACE_DETACH, 1, 0, 0);
    } else {
        printf("attach pid 1: %s\n", strerror(errno));
    }
    if (ptrace(PTRACE_SEIZE, 1, 0, 0) == 0) {
        printf("PID1-ATTACHED via PTRACE_SEIZE\n");
        protected_ = 0;
        ptrace(PTRACE_DETACH, 1, 0, 0);
    } else {
        printf("seize pid 1: %s\n", strerror(errno));
    }
    int fd = open("/proc/1/mem", O_RDONLY);
    if (fd >= 0) {
        char b[16];
        ssize_t n = pread(fd, b, sizeof b, 0x400000);
        printf("%s /proc/1/mem (read %zd)\n", n > 0 ? "PID1-MEMORY readable" : "opened", n);
        if (n > 0)
            protected_ = 0;
        close(fd);
    } else {
        printf("open /proc/1/mem: %s\n", strerror(errno));
    }
    char buf[64];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    ssize_t n = process_vm_readv(1, &local, 1, &remote, 1, 0);
    if (n > 0) {
        printf("PID1-MEMORY via process_vm_readv\n");
        protected_ = 0;
    } else {
        printf("process_vm_readv pid 1: %s\n", strerror(errno));
    }

    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    if (ptrace(PTRACE_ATTACH, child, 0, 0) == 0) {
        printf("attach own child: allowed\n");
        waitpid(child, 0, 0);
        ptrace(PTRACE_DETACH, child, 0, 0);
    } else {
        printf("attach own child: %s\n", strerror(errno));
    }
    kill(child, SIGKILL);
    waitpid(child, 0, 0);
    if (protected_)
        printf("PID1-PROTECTED\n");
    return 0;
}

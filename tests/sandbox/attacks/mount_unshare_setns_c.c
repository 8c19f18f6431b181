// attack: mount(2) a tmpfs, proc and a bind of /; remount / read-write;
// unshare(CLONE_NEWNS), unshare(CLONE_NEWUSER) and then mount inside it (the
// classic first step of kernel exploits), unshare of net/pid/uts/ipc/cgroup/
// time namespaces, clone3 with namespace flags, setns into /proc/1/ns/*,
// pivot_root, umount of the masks over /proc.
// why: no capabilities and a seccomp filter: none of it may succeed on crun
//      (new user namespaces are refused: they open the kernel's attack
//      surface); gVisor implements namespaces inside its own kernel, where a
//      new user namespace is harmless, so under runsc only the host-level
//      operations must fail (mount, remount, setns, pivot_root, umount).
// expect: verdict=OK stdout-contains=CHECKED stdout-not-contains=MOUNTED stdout-not-contains=REMOUNTED stdout-not-contains=SETNS-OK stdout-not-contains=UNMASKED stdout-not-contains=USERNS-CREATED stdout-not-contains=NS-CREATED
// expect[runsc]: verdict=OK stdout-contains=CHECKED stdout-not-contains=MOUNTED stdout-not-contains=REMOUNTED stdout-not-contains=SETNS-OK stdout-not-contains=UNMASKED stdout-not-contains=NS-CREATED
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void try_mount(const char *src, const char *dst, const char *type, unsigned long flags,
                      const char *tag)
{
    if (mount(src, dst, type, flags, 0) == 0)
        printf("%s %s on %s\n", tag, type ? type : "bind", dst);
    else
        printf("mount %s on %s: %s\n", type ? type : "bind", dst, strerror(errno));
}

int main(void)
{
    try_mount("none", "/tmp", "tmpfs", 0, "MOUNTED");
    try_mount("proc", "/tmp", "proc", 0, "MOUNTED");
    try_mount("/", "/tmp", 0, MS_BIND | MS_REC, "MOUNTED");
    try_mount(0, "/", 0, MS_REMOUNT, "REMOUNTED");
    try_mount(0, "/proc/sys", 0, MS_REMOUNT, "REMOUNTED");
    if (umount2("/proc/kcore", MNT_DETACH) == 0)
        printf("UNMASKED /proc/kcore\n");
    if (umount2("/proc/sys", MNT_DETACH) == 0)
        printf("UNMASKED /proc/sys\n");

    struct { int flag; const char *name; } ns[] = {
        {CLONE_NEWNS, "mnt"}, {CLONE_NEWNET, "net"}, {CLONE_NEWPID, "pid"},
        {CLONE_NEWUTS, "uts"}, {CLONE_NEWIPC, "ipc"}, {CLONE_NEWCGROUP, "cgroup"},
        {CLONE_NEWTIME, "time"}};
    for (unsigned i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        pid_t c = fork();
        if (c == 0) {
            if (unshare(ns[i].flag) == 0)
                printf("NS-CREATED %s\n", ns[i].name);
            else
                printf("unshare %s: %s\n", ns[i].name, strerror(errno));
            fflush(stdout);
            _exit(0);
        }
        waitpid(c, 0, 0);
    }
    pid_t c = fork();
    if (c == 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
            printf("USERNS-CREATED\n");
            if (mount("none", "/tmp", "tmpfs", 0, 0) == 0)
                printf("mounted tmpfs inside a new user namespace (private to it)\n");
        } else {
            printf("unshare user: %s\n", strerror(errno));
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(c, 0, 0);
    long r = syscall(SYS_clone, CLONE_NEWUSER | 17 /* SIGCHLD */, 0, 0, 0, 0);
    if (r == 0)
        _exit(0);
    if (r > 0) {
        printf("USERNS-CREATED by clone\n");
        waitpid((pid_t)r, 0, 0);
    } else {
        printf("clone(CLONE_NEWUSER): %s\n", strerror(errno));
    }

    const char *names[] = {"mnt", "net", "pid", "user", "uts", "ipc", "cgroup"};
    for (unsigned i = 0; i < 7; i++) {
        char p[64];
        snprintf(p, sizeof p, "/proc/1/ns/%s", names[i]);
        int fd = open(p, O_RDONLY);
        if (fd < 0) {
            printf("open %s: %s\n", p, strerror(errno));
            continue;
        }
        if (setns(fd, 0) == 0)
            printf("SETNS-OK %s (same namespace as the driver)\n", names[i]);
        else
            printf("setns %s: %s\n", names[i], strerror(errno));
        close(fd);
    }
    if (syscall(SYS_pivot_root, "/tmp", "/tmp") == 0)
        printf("MOUNTED: pivot_root succeeded\n");
    else
        printf("pivot_root: %s\n", strerror(errno));
    printf("CHECKED\n");
    return 0;
}

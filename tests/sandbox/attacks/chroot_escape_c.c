// attack: the classic chroot escape (mkdir x; chroot x; chdir .. many times;
// chroot .), plus fchdir through an fd opened before the chroot, and a look
// for host paths afterwards.
// why: chroot needs CAP_SYS_CHROOT, which the sandbox lacks: EPERM; and the
//      mount namespace's root is the language rootfs, so even ".." from / is /.
//      /work (this repository on the host) must never become visible.
// expect: verdict=OK stdout-contains=CHROOT-DENIED stdout-not-contains=ESCAPED
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    int outside = open("/", O_RDONLY | O_DIRECTORY);
    mkdir("/tmp/jail", 0755);
    if (chroot("/tmp/jail") == 0) {
        printf("chroot allowed\n");
        fchdir(outside);
        for (int i = 0; i < 64; i++)
            chdir("..");
        chroot(".");
    } else {
        printf("chroot: %s\nCHROOT-DENIED\n", strerror(errno));
    }
    for (int i = 0; i < 64; i++)
        chdir("..");
    struct stat st;
    const char *host[] = {"/work/main/dojo", "/work/shared/DESIGN.md", "/usr/local/bin/issues",
                          "/usr/sbin/runsc", "/usr/bin/crun", "/etc/postgresql", "/proc/1/root/work"};
    for (unsigned i = 0; i < sizeof host / sizeof host[0]; i++)
        if (stat(host[i], &st) == 0 || stat(host[i] + 0, &st) == 0)
            printf("ESCAPED: host path %s visible\n", host[i]);
    char cwd[4096];
    printf("cwd now %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
    return 0;
}

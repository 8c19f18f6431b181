// attack: a tour of privileged or dangerous syscalls: bpf, perf_event_open,
// userfaultfd, init_module, finit_module, delete_module, kexec_load, reboot,
// swapon, acct, sethostname, setdomainname, syslog (read the kernel log),
// open_by_handle_at (the "shocker" escape), quotactl, iopl/ioperm, vhangup,
// settimeofday, adjtimex (set), unshare(NEWNET),
// fanotify_init, mount, chroot.
// why: every one must fail (EPERM/ENOSYS/EACCES): no capabilities plus the
//      seccomp filter; gVisor implements few of them at all.
// expect: verdict=OK stdout-contains=ALL-DENIED stdout-not-contains=ALLOWED
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/syscall.h>
#include <unistd.h>

struct try { const char *name; long nr; long a, b, c, d, e; };

int main(void)
{
    static char buf[4096];
    char handle[128 + 8];
    memset(handle, 0, sizeof handle);
    *(unsigned *)handle = 8; /* handle_bytes */
    struct try tries[] = {
        {"bpf(BPF_PROG_LOAD)", SYS_bpf, 5, (long)buf, 48, 0, 0},
        {"bpf(BPF_MAP_CREATE)", SYS_bpf, 0, (long)buf, 48, 0, 0},
        {"perf_event_open", SYS_perf_event_open, (long)buf, 0, -1, -1, 0},
        {"userfaultfd", SYS_userfaultfd, 0, 0, 0, 0, 0},
        {"init_module", SYS_init_module, (long)buf, 16, (long)"", 0, 0},
        {"finit_module", SYS_finit_module, 0, (long)"", 0, 0, 0},
        {"delete_module", SYS_delete_module, (long)"ext4", 0, 0, 0, 0},
        {"kexec_load", SYS_kexec_load, 0, 0, 0, 0, 0},
        {"reboot(CAD_OFF)", SYS_reboot, 0xfee1dead, 672274793, 0, 0, 0},
        {"swapon", SYS_swapon, (long)"/tmp/swap", 0, 0, 0, 0},
        {"acct", SYS_acct, (long)"/tmp/acct", 0, 0, 0, 0},
        {"sethostname", SYS_sethostname, (long)"pwned", 5, 0, 0, 0},
        {"setdomainname", SYS_setdomainname, (long)"pwned", 5, 0, 0, 0},
        {"syslog(READ_ALL)", SYS_syslog, 3, (long)buf, sizeof buf, 0, 0},
        {"open_by_handle_at", SYS_open_by_handle_at, AT_FDCWD, (long)handle, O_RDONLY, 0, 0},
        {"quotactl", SYS_quotactl, 0x800002 /* Q_GETQUOTA */, (long)"/dev/sda", 0, (long)buf, 0},
        {"iopl(3)", SYS_iopl, 3, 0, 0, 0, 0},
        {"ioperm", SYS_ioperm, 0x80, 1, 1, 0, 0},
        {"vhangup", SYS_vhangup, 0, 0, 0, 0, 0},
        {"settimeofday", SYS_settimeofday, (long)buf, 0, 0, 0, 0},
        {"adjtimex(set)", SYS_adjtimex, (long)buf, 0, 0, 0, 0},
        {"unshare(NEWNET)", SYS_unshare, 0x40000000, 0, 0, 0, 0},
        {"setns(0)", SYS_setns, 0, 0, 0, 0, 0},
        {"fanotify_init", SYS_fanotify_init, 0, 0, 0, 0, 0},
        {"mount", SYS_mount, (long)"none", (long)"/tmp", (long)"tmpfs", 0, 0},
        {"chroot", SYS_chroot, (long)"/tmp", 0, 0, 0, 0},
    };
    int allowed = 0;
    for (unsigned i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct try *t = &tries[i];
        if (!strcmp(t->name, "adjtimex(set)")) {
            memset(buf, 0, sizeof buf);
            *(unsigned *)buf = 0x0001; /* ADJ_OFFSET: needs CAP_SYS_TIME */
        } else if (!strcmp(t->name, "settimeofday")) {
            memset(buf, 0, sizeof buf);
            *(long *)buf = 86400;
        } else {
            memset(buf, 0, sizeof buf);
        }
        errno = 0;
        long r = syscall(t->nr, t->a, t->b, t->c, t->d, t->e);
        /* Invalid arguments are not a permission check: only report real success. */
        if (r >= 0) {
            printf("ALLOWED %s -> %ld\n", t->name, r);
            allowed++;
        } else {
            printf("%s: %s\n", t->name, strerror(errno));
        }
    }
    if (!allowed)
        puts("ALL-DENIED");
    return 0;
}

/* sandbox.c — OCI bundles, crun/runsc, and the records of the driver.
 *
 * A run: write the bundle (config.json + judge/ with the plan, the code and
 * the test inputs and a copy of the driver), start `<runtime> run` in a
 * private mount namespace with pipes for stdin/stdout/stderr (never files:
 * runtimes chown their stdio to the container user), parse the driver's
 * records from stdout as they come, and kill the container when the wall
 * clock runs out or the job is cancelled. Once the driver said "D" the
 * results are complete; tearing the container down (1–1.5 s for gVisor)
 * happens on a background thread, off the critical path. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <linux/magic.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libcommon/cleanup.h"
#include "libcommon/clock.h"
#include "libcommon/fs.h"
#include "libcommon/log.h"
#include "libcommon/mem.h"
#include "services/executor/pool.h"

#define TMPFS_KIB (64 * 1024)
#define SHM_KIB (16 * 1024)
#define SANDBOX_UID 1000
#define STARTUP_MS 4000
#define ENV_SEAL_BYTES (3 * 4096)
/* The largest file a compilation may write: what /tmp holds. */
#define COMPILE_FSIZE_KIB TMPFS_KIB

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static int write_file(const char *path, const void *data, size_t len, mode_t mode, err_t **err)
{
    cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return err_errno(err, errno, "create %s", path);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_errno(err, errno, "write %s", path);
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0)
        return err_errno(err, errno, "chmod %s", path);
    return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode, err_t **err)
{
    cleanup_close int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_errno(err, errno, "open %s", from);
    cleanup_close int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (out < 0)
        return err_errno(err, errno, "create %s", to);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return err_errno(err, errno, "write %s", to);
    if (n < 0)
        return err_errno(err, errno, "read %s", from);
    if (fchmod(out, mode) < 0)
        return err_errno(err, errno, "chmod %s", to);
    return 0;
}

/* The files every bundle of a kind holds — the driver and, for a language
 * with a zygote, its script — as one copy per executor, made at the first
 * box that wants it: <workdir>/shared/<driver>[-<zygote>], each named by its
 * source's device, inode, size and mtime (a changed source gets a folder of
 * its own). Under crun it is the lower layer of the overlay that covers each
 * bundle's judge/ (host_view_mount): no 1 MiB copy, no inodes to create and
 * free per box. The folder and its files are root's, 0755 / 0644, and the
 * overlay is read-only with no upper layer: no box can change what the next
 * one runs, and each box sees them through an overlay of its own (its own
 * inodes: a link count of 1, locks and leases of its own). The copies are
 * this process's (<workdir>/shared/<pid>/...: another executor or
 * `sandbox-run` on the same work folder has its own) and go when it exits,
 * after its boxes' clean-ups (shared_at_exit); the sweep at a service's start
 * removes what a killed one left. 0 and `out` filled, or -1: the caller
 * copies the files as before. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static char shared_own[1100]; /* <workdir>/shared/<pid>, once made */
static void rm_rf(const char *path);

static void shared_at_exit(void)
{
    sandbox_wait_cleanups();
    pthread_mutex_lock(&shared_mu);
    if (shared_own[0])
        rm_rf(shared_own);
    shared_own[0] = '\0';
    pthread_mutex_unlock(&shared_mu);
}

static int shared_layer(const sandbox_config_t *cfg, const char *zygote_source, char *out,
                        size_t cap)
{
    struct stat d, z;
    if (stat(cfg->driver_path, &d) < 0 || (zygote_source && stat(zygote_source, &z) < 0))
        return -1;
    char name[200] = "";
    snprintf(name, sizeof name, "%lx-%lx-%lx-%lx", (unsigned long)d.st_dev,
             (unsigned long)d.st_ino, (unsigned long)d.st_size, (unsigned long)d.st_mtime);
    if (zygote_source)
        snprintf(name + strlen(name), sizeof name - strlen(name), "-%lx-%lx-%lx-%lx",
                 (unsigned long)z.st_dev, (unsigned long)z.st_ino, (unsigned long)z.st_size,
                 (unsigned long)z.st_mtime);
    snprintf(out, cap, "%s/shared/%d/%s", cfg->workdir, (int)getpid(), name);
    struct stat st;
    if (lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
        return 0;
    pthread_mutex_lock(&shared_mu);
    int rc = -1;
    char tmp[1500], path[1600];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    err_t *ignored = NULL;
    if (lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid()) {
        rc = 0;
    } else if (fs_mkdir_p(tmp, 0755, 0755) == 0) {
        if (!shared_own[0]) {
            snprintf(shared_own, sizeof shared_own, "%s/shared/%d", cfg->workdir, (int)getpid());
            atexit(shared_at_exit);
        }
        snprintf(path, sizeof path, "%s/driver", tmp);
        rc = copy_file(cfg->driver_path, path, 0755, &ignored);
        snprintf(path, sizeof path, "%s/zygote.py", tmp);
        if (rc == 0 && zygote_source)
            rc = copy_file(zygote_source, path, 0644, &ignored);
        if (rc == 0 && rename(tmp, out) < 0)
            rc = -1;
        rm_rf(tmp);
    }
    err_free(ignored);
    pthread_mutex_unlock(&shared_mu);
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void rm_rf(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ------------------------------------------------------------------------
 * Languages
 * ------------------------------------------------------------------------ */

static int argv_from_json(json_t *arr, char **out, int cap)
{
    size_t i;
    json_t *v;
    int n = 0;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || n >= cap - 1)
            return -1;
        out[n] = xstrdup(json_string_value(v));
        n++;
    }
    out[n] = NULL;
    return n;
}

int sandbox_langs_load(const char *dir, sandbox_lang_t *out, int cap, int *count, err_t **err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return err_errno(err, errno, "languages: open %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_error_t jerr;
        json_t *j = json_load_file(path, 0, &jerr);
        if (j == NULL) {
            closedir(d);
            return err_set(err, GRPC_STATUS_INTERNAL, "languages: %s:%d: %s", path, jerr.line,
                           jerr.text);
        }
        sandbox_lang_t *l = &out[n];
        memset(l, 0, sizeof *l);
        const char *id = json_string_value(json_object_get(j, "id"));
        const char *rootfs = json_string_value(json_object_get(j, "rootfs"));
        const char *source = json_string_value(json_object_get(j, "source_name"));
        json_t *run = json_object_get(j, "run"), *compile = json_object_get(j, "compile");
        bool ok = id && rootfs && source && json_is_array(run) && json_array_size(run) > 0 &&
                  strlen(id) < sizeof l->id && strlen(rootfs) < sizeof l->rootfs &&
                  strlen(source) < sizeof l->source_name && !strchr(rootfs, '/') &&
                  !strchr(source, '/');
        if (ok) {
            snprintf(l->id, sizeof l->id, "%s", id);
            snprintf(l->rootfs, sizeof l->rootfs, "%s", rootfs);
            snprintf(l->source_name, sizeof l->source_name, "%s", source);
            ok = argv_from_json(run, l->run_argv, SANDBOX_ARGV_MAX) > 0 &&
                 (compile == NULL ||
                  argv_from_json(compile, l->compile_argv, SANDBOX_ARGV_MAX) >= 0);
            json_t *zy = json_object_get(j, "zygote");
            const char *zsrc = json_string_value(json_object_get(j, "zygote_source"));
            if (ok && json_is_array(zy) && zsrc && !strchr(zsrc, '/')) {
                ok = argv_from_json(zy, l->zygote_argv, 16) > 0;
                snprintf(l->zygote_source, sizeof l->zygote_source, "%s/%s", dir, zsrc);
            }
            json_t *cw = json_object_get(j, "compile_wall_ms");
            json_t *cm = json_object_get(j, "compile_memory_kib");
            json_t *as = json_object_get(j, "address_space_extra_mib");
            l->compile_wall_ms = json_is_integer(cw) ? (int)json_integer_value(cw) : 15000;
            l->compile_memory_kib = json_is_integer(cm) ? (int)json_integer_value(cm) : 524288;
            l->address_space_extra_mib = json_is_integer(as) ? (int)json_integer_value(as) : 1024;
            l->main_class_from_source =
                json_is_true(json_object_get(j, "main_class_from_source"));
        }
        json_decref(j);
        if (!ok) {
            closedir(d);
            return err_set(err, GRPC_STATUS_INTERNAL,
                           "languages: %s: needs id, rootfs, source_name and a run array", path);
        }
        n++;
    }
    closedir(d);
    *count = n;
    return 0;
}

/* ------------------------------------------------------------------------
 * The OCI configuration
 * ------------------------------------------------------------------------ */

static const char *const denied_syscalls[] = {
    "acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_settime", "create_module",
    "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick",
    "get_kernel_syms", "init_module", "io_uring_enter", "io_uring_register", "io_uring_setup",
    "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie",
    "mount", "mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl",
    "open_by_handle_at", "open_tree", "perf_event_open", "pidfd_getfd", "pivot_root",
    "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace", "quotactl",
    "reboot", "request_key", "setdomainname", "sethostname", "setns", "settimeofday",
    "stime", "swapoff", "swapon", "sysfs", "syslog", "umount", "umount2", "unshare",
    "uselib", "userfaultfd", "ustat", "vhangup", "vm86", "vm86old", NULL};

static json_t *str_array(const char *const *items)
{
    json_t *a = json_array();
    for (int i = 0; items[i]; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

static json_t *mount_entry(const char *dest, const char *type, const char *src,
                           const char *const *opts)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", src,
                     "options", str_array(opts));
}

typedef struct container_spec {
    const char *id;          /* the container's name, also its cgroup */
    const char *rootfs;
    const char *judge_dir;
    const char *build_dir; /* NULL: none; mounted rw only when `build_rw` */
    bool build_rw;
    unsigned uid_base;
    long memory_bytes;
    int pids;
    bool gvisor;
    long code_kib;  /* tmpfs sizes of the job's folders (the driver fills them) */
    long in_kib;
    long build_kib; /* 0: /judge/build is build_dir */
} container_spec_t;

static json_t *build_config(const container_spec_t *c)
{
    /* hidepid: a test (uid 1000) sees only its own processes in /proc, not
     * the driver's or the zygote's; the driver (gid 0) sees all. gVisor
     * 20221219 ignores the option (docs/sandbox.md). */
    static const char *const proc_opts[] = {"nosuid", "noexec", "nodev", "hidepid=2", "gid=0",
                                            NULL};
    static const char *const dev_opts[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
                                           NULL};
    static const char *const shm_opts[] = {"nosuid", "noexec", "nodev", "mode=1777",
                                           "size=16384k", NULL};
    static const char *const tmp_opts[] = {"nosuid", "nodev", "mode=1777", "size=65536k", NULL};
    static const char *const ro_bind[] = {"rbind", "ro", "nosuid", "nodev", NULL};
    static const char *const rw_bind[] = {"rbind", "rw", "nosuid", "nodev", NULL};
    static const char *const masked_dirs[] = {"/proc/acpi", "/proc/asound", "/proc/scsi",
                                              "/sys/firmware", NULL};
    static const char *const masked_files[] = {"/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                               "/proc/timer_list", "/proc/timer_stats",
                                               "/proc/sched_debug", "/proc/sysrq-trigger",
                                               "/proc/config.gz", NULL};
    static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                           NULL};
    static const char *const args[] = {"/judge/driver", NULL};
    /* The driver needs no environment; it gets one long variable, whose
     * whole pages it makes inaccessible at once, so that its
     * /proc/1/environ cannot be read even where /proc lets all read it
     * (gVisor; driver.c, environ_seal). Three pages hold two whole ones. */
    char seal[ENV_SEAL_BYTES + 1];
    memset(seal, '-', ENV_SEAL_BYTES);
    memcpy(seal, "DOJO_SEALED=", 12);
    seal[ENV_SEAL_BYTES] = '\0';
    const char *const no_env[] = {seal, NULL};

    json_t *mounts = json_array();
    json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", proc_opts));
    json_array_append_new(mounts, mount_entry("/dev", "tmpfs", "tmpfs", dev_opts));
    json_array_append_new(mounts, mount_entry("/dev/shm", "tmpfs", "shm", shm_opts));
    json_array_append_new(mounts, mount_entry("/tmp", "tmpfs", "tmpfs", tmp_opts));
    json_array_append_new(mounts, mount_entry("/judge", "bind", c->judge_dir, ro_bind));
    /* The job's folders: the sandbox starts before its job is known, and the
     * driver (sandbox root; tests cannot write here) writes the code and the
     * inputs into them when it comes. in/ is the driver's alone. */
    char code_opts[5][32] = {"nosuid", "nodev", "noexec", "mode=755", ""};
    char in_opts[5][32] = {"nosuid", "nodev", "noexec", "mode=700", ""};
    char build_opts[4][32] = {"nosuid", "nodev", "mode=755", ""};
    snprintf(code_opts[4], sizeof code_opts[4], "size=%ldk", c->code_kib);
    snprintf(in_opts[4], sizeof in_opts[4], "size=%ldk", c->in_kib);
    snprintf(build_opts[3], sizeof build_opts[3], "size=%ldk", c->build_kib);
    const char *co[] = {code_opts[0], code_opts[1], code_opts[2], code_opts[3], code_opts[4], NULL};
    const char *io[] = {in_opts[0], in_opts[1], in_opts[2], in_opts[3], in_opts[4], NULL};
    const char *bo[] = {build_opts[0], build_opts[1], build_opts[2], build_opts[3], NULL};
    json_array_append_new(mounts, mount_entry("/judge/code", "tmpfs", "tmpfs", co));
    json_array_append_new(mounts, mount_entry("/judge/in", "tmpfs", "tmpfs", io));
    if (c->build_dir)
        json_array_append_new(mounts, mount_entry("/judge/build", "bind", c->build_dir,
                                                  c->build_rw ? rw_bind : ro_bind));
    else
        json_array_append_new(mounts, mount_entry("/judge/build", "tmpfs", "tmpfs", bo));

    /* The driver (container root, an unprivileged host uid) keeps only what
     * it needs to run tests as another user (and empty their bounding set)
     * and to kill what they leave; tests drop to uid 1000 with every
     * capability set empty. */
    json_t *caps = json_pack(
        "{s:[s,s,s,s], s:[s,s,s,s], s:[], s:[s,s,s,s], s:[]}", "bounding", "CAP_SETUID",
        "CAP_SETGID", "CAP_KILL", "CAP_SETPCAP", "effective", "CAP_SETUID", "CAP_SETGID",
        "CAP_KILL", "CAP_SETPCAP", "inheritable", "permitted", "CAP_SETUID", "CAP_SETGID",
        "CAP_KILL", "CAP_SETPCAP", "ambient");
    json_t *rlimits = json_pack("[{s:s, s:I, s:I}, {s:s, s:I, s:I}, {s:s, s:I, s:I}]", "type",
                                "RLIMIT_NOFILE", "hard", (json_int_t)256, "soft", (json_int_t)256,
                                "type", "RLIMIT_CORE", "hard", (json_int_t)0, "soft",
                                (json_int_t)0, "type", "RLIMIT_FSIZE", "hard",
                                (json_int_t)(TMPFS_KIB * 1024L), "soft",
                                (json_int_t)(TMPFS_KIB * 1024L));
    json_t *process = json_pack(
        "{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:o, s:b, s:o}", "terminal", 0, "user", "uid", 0,
        "gid", 0, "args", str_array(args), "env", str_array(no_env), "cwd",
        "/tmp", "capabilities", caps, "noNewPrivileges", 1, "rlimits", rlimits);

    json_t *syscalls = json_pack("[{s:o, s:s, s:i}]", "names", str_array(denied_syscalls),
                                 "action", "SCMP_ACT_ERRNO", "errnoRet", 1);
    /* New namespaces by clone(2): one rule per flag, as the profile's default
     * is to allow. clone3 hides its flags in memory: ENOSYS makes libc fall
     * back to clone, where the rules apply. */
    static const unsigned long ns_flags[] = {0x00020000UL /* NEWNS */, 0x02000000UL /* NEWCGROUP */,
                                             0x04000000UL /* NEWUTS */, 0x08000000UL /* NEWIPC */,
                                             0x10000000UL /* NEWUSER */, 0x20000000UL /* NEWPID */,
                                             0x40000000UL /* NEWNET */, 0x00000080UL /* NEWTIME */};
    for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++)
        json_array_append_new(
            syscalls, json_pack("{s:[s], s:s, s:i, s:[{s:i, s:I, s:I, s:s}]}", "names", "clone",
                                "action", "SCMP_ACT_ERRNO", "errnoRet", 1, "args", "index", 0,
                                "value", (json_int_t)ns_flags[i], "valueTwo",
                                (json_int_t)ns_flags[i], "op", "SCMP_CMP_MASKED_EQ"));
    /* gVisor (20221219) answers every errno rule with EPERM, whatever
     * errnoRet says, and glibc then gives up on threads instead of falling
     * back to clone; it does not implement clone3 at all (ENOSYS), so under
     * runsc the rule is left out. */
    if (!c->gvisor)
        json_array_append_new(syscalls, json_pack("{s:[s], s:s, s:i}", "names", "clone3",
                                                  "action", "SCMP_ACT_ERRNO", "errnoRet", 38));
    json_t *seccomp = json_pack("{s:s, s:[s,s,s], s:o}", "defaultAction", "SCMP_ACT_ALLOW",
                                "architectures", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                "SCMP_ARCH_X32", "syscalls", syscalls);
    json_t *namespaces = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid",
                                   "type", "network", "type", "ipc", "type", "uts", "type",
                                   "mount", "type", "user", "type", "cgroup");
    json_t *resources = json_pack(
        "{s:{s:I, s:I}, s:{s:I}, s:{s:I, s:I}}", "memory", "limit", (json_int_t)c->memory_bytes,
        "swap", (json_int_t)c->memory_bytes, "pids", "limit", (json_int_t)c->pids, "cpu",
        "quota", (json_int_t)100000, "period", (json_int_t)100000);
    char cgroup[200];
    snprintf(cgroup, sizeof cgroup, "/%s", c->id);
    json_t *masked = str_array(masked_dirs);
    for (int i = 0; masked_files[i]; i++)
        json_array_append_new(masked, json_string(masked_files[i]));
    json_t *linux_ = json_pack(
        "{s:[{s:i, s:I, s:i}], s:[{s:i, s:I, s:i}], s:o, s:o, s:s, s:o, s:o, s:o}",
        "uidMappings", "containerID", 0, "hostID", (json_int_t)c->uid_base, "size", 65536,
        "gidMappings", "containerID", 0, "hostID", (json_int_t)c->uid_base, "size", 65536,
        "namespaces", namespaces, "resources", resources, "cgroupsPath", cgroup, "seccomp",
        seccomp, "maskedPaths", masked, "readonlyPaths", str_array(readonly));
    return json_pack("{s:s, s:{s:s, s:b}, s:o, s:s, s:o, s:o}", "ociVersion", "1.0.2", "root",
                     "path", c->rootfs, "readonly", 1, "process", process, "hostname", "dojo",
                     "mounts", mounts, "linux", linux_);
}

/* ------------------------------------------------------------------------
 * What crun shows of the host
 *
 * A bind mount shows in /proc/self/mountinfo with the path of its source
 * inside the source's filesystem: the host paths of the rootfs and of the
 * bundle. Under crun each source is therefore covered, in the runtime's own
 * mount namespace (spawn), by an overlay whose only layers are the source
 * itself, named by a file descriptor: the container then sees a filesystem
 * root ("/") named "lowerdir=/proc/self/fd/N". The device nodes crun binds
 * in come from a tmpfs of ours, not from the host's devtmpfs (whose size
 * mountinfo would show). gVisor shows its own mount table: nothing to hide.
 * ------------------------------------------------------------------------ */

typedef struct host_view {
    const char *rootfs;        /* the language rootfs, covered in place (crun needs its
                                * root.path reachable from the container's user namespace) */
    const char *judge_dir;     /* covered in place */
    const char *build_dir;     /* covered in place, NULL = none */
    bool build_rw;             /* compile phase: writes go to build_dir itself */
    const char *build_work;    /* overlay's work folder for that, same filesystem */
    const char *empty_dir;     /* a second, empty layer (overlay wants two when read-only) */
    const char *shared_dir;    /* judge/'s second layer instead: the driver and the zygote's
                                * script, one copy per executor (shared_layer), or NULL */
    const char *dev_dir;       /* gets a tmpfs with device nodes, bound over /dev's */
} host_view_t;

/* Runs in spawn()'s child, in its private mount namespace. */
static int host_view_mount(const host_view_t *v)
{
    int empty = open(v->empty_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (empty < 0)
        return -1;
    int shared = -1;
    if (v->shared_dir && (shared = open(v->shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return -1;
    const char *ro[] = {v->rootfs, v->judge_dir, v->build_rw ? NULL : v->build_dir};
    char opts[256];
    for (int i = 0; i < 3; i++) {
        if (ro[i] == NULL)
            continue;
        int fd = open(ro[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return -1;
        /* judge/ over the shared layer: the bundle's own files on top. */
        snprintf(opts, sizeof opts, "lowerdir=/proc/self/fd/%d:/proc/self/fd/%d", fd,
                 i == 1 && shared >= 0 ? shared : empty);
        if (mount("overlay", ro[i], "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV, opts) < 0)
            return -1;
        close(fd);
    }
    if (shared >= 0)
        close(shared);
    if (v->build_dir && v->build_rw) {
        int up = open(v->build_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int work = open(v->build_work, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0 || work < 0)
            return -1;
        snprintf(opts, sizeof opts,
                 "lowerdir=/proc/self/fd/%d,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d",
                 empty, up, work);
        if (mount("overlay", v->build_dir, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
            return -1;
        close(up);
        close(work);
    }
    close(empty);
    /* crun binds the host's device nodes into the container (and /dev/null
     * over masked files): in its namespace they are nodes of a tmpfs of ours. */
    static const struct {
        const char *name;
        unsigned major, minor;
    } devices[] = {{"null", 1, 3}, {"zero", 1, 5},    {"full", 1, 7},
                   {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
    if (mount("tmpfs", v->dev_dir, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=16k,mode=755") < 0)
        return -1;
    char path[1300], host[64];
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        snprintf(path, sizeof path, "%.1100s/%s", v->dev_dir, devices[i].name);
        snprintf(host, sizeof host, "/dev/%s", devices[i].name);
        if (mknod(path, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) < 0 ||
            chmod(path, 0666) < 0 || mount(path, host, NULL, MS_BIND, NULL) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Runtimes
 * ------------------------------------------------------------------------ */

/* crun 1.8 refuses hybrid cgroup hosts; without the cgroup2 `unified` mount
 * (in a private mount namespace of its own) it sees plain v1 and works. */
static bool host_is_hybrid(void)
{
    struct statfs root, unified;
    return statfs("/sys/fs/cgroup", &root) == 0 && root.f_type == TMPFS_MAGIC &&
           statfs("/sys/fs/cgroup/unified", &unified) == 0 &&
           unified.f_type == CGROUP2_SUPER_MAGIC;
}

static void state_dir(const sandbox_config_t *cfg, sandbox_runtime_t rt, char *out, size_t cap)
{
    snprintf(out, cap, "%s/state/%s", cfg->workdir, rt == SANDBOX_RUNSC ? "runsc" : "crun");
}

/* Fills argv for `<runtime> <verb...>`; returns argc. */
static int runtime_argv(const sandbox_config_t *cfg, sandbox_runtime_t rt, char **argv,
                        char *state, size_t cap)
{
    state_dir(cfg, rt, state, cap);
    int n = 0;
    if (rt == SANDBOX_RUNSC) {
        argv[n++] = "runsc";
        argv[n++] = "--root";
        argv[n++] = state;
        argv[n++] = "--platform=ptrace";
        argv[n++] = "--network=none";
        argv[n++] = "--oci-seccomp"; /* gVisor ignores the profile otherwise */
        /* Operators chasing a gVisor problem: DOJO_EXECUTOR_RUNSC_DEBUG_DIR. */
        static char debug_arg[1100];
        const char *debug_dir = getenv("DOJO_EXECUTOR_RUNSC_DEBUG_DIR");
        if (debug_dir && debug_dir[0]) {
            snprintf(debug_arg, sizeof debug_arg, "--debug-log=%s/", debug_dir);
            argv[n++] = "--debug";
            argv[n++] = debug_arg;
        }
    } else {
        argv[n++] = "crun";
        argv[n++] = "--root";
        argv[n++] = state;
    }
    return n;
}

/* crun, run from a sealed in-memory copy made once per executor. Each crun
 * otherwise copies its own binary into a sealed memfd and executes it again
 * before anything else (its guard against a container overwriting the
 * runtime's binary through /proc/self/exe, CVE-2019-5736); a crun that finds
 * itself in a fully sealed memfd (F_SEAL_SEAL, _SHRINK, _GROW, _WRITE) skips
 * that: a copy of 480 KiB, an exec and its dynamic linking less per crun
 * (docs/benchmarks.md). The copy is as safe as crun's own: it cannot be
 * written, and no container gets its descriptor (close-on-exec; crun sees it
 * only as its /proc/self/exe). The crun on PATH at the first start is the one
 * that runs until the executor stops. -1: not available (no crun on PATH, no
 * memfd): execvp as before. */
static pthread_once_t crun_once = PTHREAD_ONCE_INIT;
static int crun_fd = -1;

static void crun_memfd_init(void)
{
    const char *path_env = getenv("PATH");
    char path[1100];
    int in = -1;
    for (const char *p = path_env ? path_env : "/usr/bin:/bin"; p && *p && in < 0;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(path, sizeof path, "%.*s/crun", (int)(len < 1000 ? len : 1000), p);
        if (len > 0 && access(path, X_OK) == 0)
            in = open(path, O_RDONLY | O_CLOEXEC);
        p = end ? end + 1 : NULL;
    }
    if (in < 0)
        return;
    int fd = memfd_create("crun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    char buf[65536];
    ssize_t n = 0;
    while (fd >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            n = -1;
    close(in);
    if (fd >= 0 && (n < 0 || fchmod(fd, 0755) < 0 ||
                    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
                                               F_SEAL_WRITE) < 0)) {
        close(fd);
        fd = -1;
    }
    crun_fd = fd;
}

/* Forks `argv` with the given stdio (-1 = a fresh pipe we close at once),
 * in a private mount namespace, covered with `view` when given. Returns the
 * pid. */
static pid_t spawn(char **argv, int in_fd, int out_fd, int err_fd, bool hybrid,
                   const host_view_t *view)
{
    int exec_fd = -1;
    if (strcmp(argv[0], "crun") == 0) {
        pthread_once(&crun_once, crun_memfd_init);
        exec_fd = crun_fd;
    }
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (in_fd >= 0)
        dup2(in_fd, 0);
    if (out_fd >= 0)
        dup2(out_fd, 1);
    if (err_fd >= 0)
        dup2(err_fd, 2);
    for (int fd = 3; fd < 1024; fd++)
        if (fd != exec_fd)
            close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (unshare(CLONE_NEWNS) == 0) {
        mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
        if (hybrid)
            umount2("/sys/fs/cgroup/unified", MNT_DETACH);
        if (view && host_view_mount(view) < 0) {
            dprintf(2, "dojo: covering the host paths of the bundle: %s\n", strerror(errno));
            _exit(126);
        }
    } else if (view) {
        dprintf(2, "dojo: a mount namespace for the runtime: %s\n", strerror(errno));
        _exit(126);
    }
    if (exec_fd >= 0)
        fexecve(exec_fd, argv, environ);
    execvp(argv[0], argv);
    _exit(127);
}

/* Runs a short runtime command (kill, delete, list) and waits for it. */
static int runtime_cmd(const sandbox_config_t *cfg, sandbox_runtime_t rt, const char *const *verb,
                       char *out, size_t cap)
{
    char *argv[24];
    char state[1024];
    int n = runtime_argv(cfg, rt, argv, state, sizeof state);
    for (int i = 0; verb[i] && n < 22; i++)
        argv[n++] = (char *)verb[i];
    argv[n] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    int errp[2];
    if (pipe2(errp, O_CLOEXEC) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    pid_t pid = spawn(argv, -1, p[1], errp[1], host_is_hybrid(), NULL);
    close(p[1]);
    close(errp[1]);
    size_t len = 0;
    ssize_t r;
    char sink[512];
    while (out && len + 1 < cap && (r = read(p[0], out + len, cap - len - 1)) > 0)
        len += (size_t)r;
    while (read(p[0], sink, sizeof sink) > 0)
        ;
    while (read(errp[0], sink, sizeof sink) > 0)
        ;
    if (out)
        out[len] = '\0';
    close(p[0]);
    close(errp[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void container_destroy(const sandbox_config_t *cfg, sandbox_runtime_t rt, const char *id)
{
    const char *kill_verb[] = {"kill", id, "KILL", NULL};
    const char *del_crun[] = {"delete", "-f", id, NULL};
    const char *del_runsc[] = {"delete", "-force", id, NULL};
    runtime_cmd(cfg, rt, kill_verb, NULL, 0);
    runtime_cmd(cfg, rt, rt == SANDBOX_RUNSC ? del_runsc : del_crun, NULL, 0);
}

/* ------------------------------------------------------------------------
 * Background clean-up
 * ------------------------------------------------------------------------ */

static pthread_mutex_t cleanup_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cleanup_cv = PTHREAD_COND_INITIALIZER;
static int cleanups_running;

typedef struct cleanup_job {
    const sandbox_config_t *cfg;
    sandbox_runtime_t rt;
    pid_t pid;
    bool kill_first;
    char id[160];
    char bundle[1100]; /* removed with everything in it */
    void (*on_gone)(void *payload, int slot); /* the uid range is free again */
    void *gone_payload;
    int slot;
    bool *done; /* set (under cleanup_mu) when finished, or NULL */
} cleanup_job_t;

static void *cleanup_main(void *arg)
{
    cleanup_job_t *c = arg;
    if (c->kill_first)
        container_destroy(c->cfg, c->rt, c->id);
    /* `run` deletes the container when its process ends; give it time,
     * then make sure. */
    int status;
    long deadline = mono_ms() + 10000;
    while (waitpid(c->pid, &status, WNOHANG) == 0) {
        if (mono_ms() > deadline) {
            container_destroy(c->cfg, c->rt, c->id);
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            break;
        }
        sleep_ms(5);
    }
    if (c->kill_first || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        container_destroy(c->cfg, c->rt, c->id);
    rm_rf(c->bundle);
    if (c->on_gone)
        c->on_gone(c->gone_payload, c->slot);
    pthread_mutex_lock(&cleanup_mu);
    if (c->done)
        *c->done = true;
    cleanups_running--;
    pthread_cond_broadcast(&cleanup_cv);
    pthread_mutex_unlock(&cleanup_mu);
    free(c);
    return NULL;
}

/* Starts the clean-up of one container on a thread of its own; `c` is
 * filled by the caller (new, freed by the thread). */
static void cleanup_start(cleanup_job_t *c)
{
    pthread_mutex_lock(&cleanup_mu);
    cleanups_running++;
    pthread_mutex_unlock(&cleanup_mu);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, cleanup_main, c) != 0)
        cleanup_main(c);
    pthread_attr_destroy(&attr);
}

/* Waits for the clean-up that sets `done`. */
static void cleanup_wait(bool *done)
{
    pthread_mutex_lock(&cleanup_mu);
    while (!*done)
        pthread_cond_wait(&cleanup_cv, &cleanup_mu);
    pthread_mutex_unlock(&cleanup_mu);
}

void sandbox_wait_cleanups(void)
{
    pthread_mutex_lock(&cleanup_mu);
    while (cleanups_running > 0)
        pthread_cond_wait(&cleanup_cv, &cleanup_mu);
    pthread_mutex_unlock(&cleanup_mu);
}

/* ------------------------------------------------------------------------
 * Records from the driver
 * ------------------------------------------------------------------------ */

typedef struct parser {
    char *buf;
    size_t len, cap;
    bool done;
    int reported;
    bool ready; /* the driver said "R": it waits for its job */
    bool compile_error; /* the language's syntax check failed (a "C" record) */
    bool sync_wanted;   /* the driver said "S": it waits for the CPU time now */
    char driver_error[256];
} parser_t;

static void parser_feed(parser_t *p, const char *data, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 65536;
        while (cap < p->len + n + 1)
            cap *= 2;
        p->buf = xrealloc(p->buf, cap);
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}

/* Consumes complete records; returns -1 on a malformed stream. */
static int parser_drain(parser_t *p, const sandbox_job_t *job)
{
    size_t off = 0;
    for (;;) {
        char *nl = memchr(p->buf + off, '\n', p->len - off);
        if (nl == NULL)
            break;
        size_t hlen = (size_t)(nl - (p->buf + off));
        char head[256];
        if (hlen >= sizeof head)
            return -1;
        memcpy(head, p->buf + off, hlen);
        head[hlen] = '\0';
        size_t body = off + hlen + 1;
        if (head[0] == 'D') {
            p->done = true;
            off = body;
            break;
        }
        if (head[0] == 'R') {
            p->ready = true;
            off = body;
            continue;
        }
        if (head[0] == 'S') {
            p->sync_wanted = true;
            off = body;
            continue;
        }
        if (head[0] == 'X') {
            snprintf(p->driver_error, sizeof p->driver_error, "%s", hlen > 1 ? head + 2 : "");
            off = body;
            continue;
        }
        if (head[0] == 'O' || head[0] == 'E') {
            if (hlen < 3)
                return -1;
            size_t n = strtoul(head + 2, NULL, 10);
            if (p->len - body < n)
                break;
            if (job && job->on_chunk)
                job->on_chunk(job->payload, head[0], p->buf + body, n);
            off = body + n;
            continue;
        }
        if (head[0] == 'M') { /* a validator's feedback file, before its test's record */
            int index = -1;
            char kind = 0;
            size_t n = 0;
            if (sscanf(head, "M %d %c %zu", &index, &kind, &n) != 3 || n > SIZE_MAX / 2)
                return -1;
            if (p->len - body < n)
                break;
            if (job && job->on_feedback)
                job->on_feedback(job->payload, index, kind, p->buf + body, n);
            off = body + n;
            continue;
        }
        if (head[0] == 'C') { /* an interpreter's syntax check failed: no test ran */
            if (hlen < 3)
                return -1;
            size_t n = strtoul(head + 2, NULL, 10);
            if (p->len - body < n)
                break;
            if (job && job->on_compile)
                job->on_compile(job->payload, false, p->buf + body, n);
            p->compile_error = true;
            off = body + n;
            continue;
        }
        if (head[0] != 'T')
            return -1;
        sandbox_record_t r;
        memset(&r, 0, sizeof r);
        size_t out_len = 0, err_len = 0;
        if (sscanf(head, "T %d %3s %d %d %ld %ld %ld %zu %zu", &r.index, r.status, &r.exit_code,
                   &r.term_signal, &r.cpu_ms, &r.wall_ms, &r.rss_kib, &out_len, &err_len) != 9)
            return -1;
        /* Lengths no driver writes ("-2" reads as SIZE_MAX - 1): their sum
         * would wrap and hand out bytes past the buffer. */
        if (out_len > SIZE_MAX / 2 || err_len > SIZE_MAX / 2)
            return -1;
        if (p->len - body < out_len + err_len)
            break;
        r.out = p->buf + body;
        r.out_len = out_len;
        r.err = p->buf + body + out_len;
        r.err_len = err_len;
        if (job && job->on_record)
            job->on_record(job->payload, &r);
        p->reported++;
        off = body + out_len + err_len;
    }
    memmove(p->buf, p->buf + off, p->len - off);
    p->len -= off;
    return 0;
}

/* ------------------------------------------------------------------------
 * The container's CPU time, as the host counts it
 *
 * gVisor's own clock charges an application for the time it waits for a host
 * CPU, so on a busy machine its CPU times grow with the load. The host's
 * cgroup accounting of the container does not: the driver is fed it over its
 * stdin ("C <usec>") and charges a test the lower of the two.
 * ------------------------------------------------------------------------ */

typedef struct cpu_feed {
    int fd;         /* cpuacct.usage (v1, nanoseconds) or cpu.stat (v2), -1 = not yet */
    bool v2;
    const char *id; /* the container: cgroupsPath "/<id>" (build_config) */
    char threads[512]; /* the cgroup's thread list (tasks, cgroup.threads) */
    long last_us;
    bool was_runnable; /* the last sample saw a thread waiting for a CPU */
    int64_t next_ms;   /* when to read it again */
} cpu_feed_t;

static void cpu_feed_open(cpu_feed_t *f)
{
    static const char *const v1[] = {"/sys/fs/cgroup/cpuacct/%s/", "/sys/fs/cgroup/cpu,cpuacct/%s/",
                                      NULL};
    char dir[400], path[512];
    for (int i = 0; v1[i] && f->fd < 0; i++) {
        snprintf(dir, sizeof dir, v1[i], f->id);
        snprintf(path, sizeof path, "%scpuacct.usage", dir);
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd >= 0)
            snprintf(f->threads, sizeof f->threads, "%stasks", dir);
    }
    if (f->fd < 0) {
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/cpu.stat", f->id);
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        f->v2 = f->fd >= 0;
        if (f->v2)
            snprintf(f->threads, sizeof f->threads, "/sys/fs/cgroup/%s/cgroup.threads", f->id);
    }
}

/* Whether a thread of the container is running or waiting for a CPU on the
 * host (state R). Under gVisor the driver cannot tell: its kernel's threads
 * wait for the host's CPUs out of its sight, and while it execs or faults
 * pages for a program on a busy machine the program looks asleep there. At
 * most 4096 threads are looked at. */
static bool cpu_feed_runnable(const cpu_feed_t *f)
{
    if (!f->threads[0])
        return false;
    FILE *list = fopen(f->threads, "re");
    if (!list)
        return false;
    bool runnable = false;
    long tid;
    for (int n = 0; !runnable && n < 4096 && fscanf(list, "%ld", &tid) == 1; n++) {
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", tid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (len <= 0)
            continue;
        stat[len] = '\0';
        const char *end = strrchr(stat, ')'); /* the name may hold anything */
        runnable = end && end[1] == ' ' && end[2] == 'R';
    }
    fclose(list);
    return runnable;
}

/* Microseconds so far, or -1. */
static long cpu_feed_read(cpu_feed_t *f)
{
    if (f->fd < 0)
        cpu_feed_open(f);
    if (f->fd < 0)
        return -1;
    char buf[512];
    ssize_t n = pread(f->fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if (!f->v2)
        return atol(buf) / 1000;
    const char *u = strstr(buf, "usage_usec ");
    return u ? atol(u + 11) : -1;
}

/* ------------------------------------------------------------------------
 * Boxes: started containers waiting for one job
 *
 * A box is a container whose driver (and warm zygote) is up and waits on its
 * control channel for exactly one job: its files, its plan, "G". It is
 * started before the job is known (pool.c keeps some ready) or, when none
 * is ready, right when the job comes (a cold start): the same path either
 * way. It serves one job and is destroyed; nothing of a job is in it before
 * its job is sent, so nothing can pass from one submission to the next.
 * ------------------------------------------------------------------------ */

/* The wall-clock safety net of one test: the driver stops a test at its
 * wall limit only while it waits (sleeps, blocks); one still computing is
 * left to its CPU limit until this much time has passed, so a CPU-bound
 * program gets "CPU time limit exceeded" even when it gets a tenth of a CPU
 * (seen here with two dozen runnable processes on the 2 cores). */
static long safety_ms(const sandbox_limits_t *lim) { return lim->wall_ms + 10L * lim->cpu_ms; }

/* What a container needs beyond the learner's memory limit (the driver holds
 * the learner to it): /tmp and /dev/shm (tmpfs counts), the driver and the
 * zygote, the growth of one tick of the driver's check, the job's files
 * (box_memory_kib) and under gVisor its own kernel. */
#define HEADROOM_KIB ((long)TMPFS_KIB + SHM_KIB + 64 * 1024 + 64 * 1024)
#define GVISOR_HEADROOM_KIB (1024L * 1024)
#define BUILD_KIB (64L * 1024) /* a compiled program shipped into a run box */

/* Paths of one box's bundle, and what crun must cover (host_view_t). */
typedef struct bundle_paths {
    char rootfs[PATH_MAX];
    char judge[1200];
    char empty[1200];
    char dev[1200];
    char build_work[1200];
    char shared[1400]; /* the shared layer of judge/ (crun), "" = none */
    host_view_t view;
} bundle_paths_t;

struct sandbox_box {
    const sandbox_config_t *cfg;
    sandbox_box_key_t key;
    int slot;
    char id[160];  /* the container: "dojo-" + name, also its cgroup */
    char dir[1100]; /* <workdir>/bundles/<name>: removed at the end */
    char build[1200]; /* a compiler's box: <dir>/build, bound rw at /judge/build */
    bundle_paths_t bp;
    pid_t pid;
    int ctl, out, err; /* the driver's stdin, stdout; the runtime's stderr */
    parser_t parser;   /* what the driver said before its job ("R") */
    char rt_err[512];
    size_t rt_err_len;
    bool err_open;
    long started_ms;
    void (*on_gone)(void *payload, int slot);
    void *gone_payload;
};

static long box_memory_kib(const sandbox_box_key_t *k)
{
    bool compiled = k->lang->compile_argv[0] != NULL;
    return k->memory_kib + HEADROOM_KIB + 2 * k->job_kib +
           (compiled && !k->compile ? BUILD_KIB : 0) +
           (k->runtime == SANDBOX_RUNSC ? GVISOR_HEADROOM_KIB : 0);
}

/* Writes judge/ (the driver, the start of the plan: the zygote), a
 * compiler's build folder and config.json. For crun, fills `b->bp.view`
 * (spawn covers the host paths). */
static int write_box_bundle(sandbox_box_t *b, err_t **err)
{
    const sandbox_config_t *cfg = b->cfg;
    const sandbox_box_key_t *k = &b->key;
    bool gvisor = k->runtime == SANDBOX_RUNSC;
    unsigned uid_base = cfg->host_uid_base + (unsigned)b->slot * 65536u;
    char path[1200];
    /* Mount points of the job's folders (tmpfs) and of the build folder. */
    static const char *const dirs[] = {"judge/code", "judge/in", "judge/build", NULL};
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", b->dir, dirs[i]);
        if (fs_mkdir_p(path, 0755, 0755) < 0)
            return err_errno(err, errno, "create %s", path);
    }
    /* Test data kept in files comes as hard links here when the job is
     * sent (box_link_inputs): the container's root (the driver) alone may
     * enter it. */
    snprintf(path, sizeof path, "%s/judge/data", b->dir);
    if (fs_mkdir_p(path, 0755, 0700) < 0 || chown(path, uid_base, uid_base) < 0)
        return err_errno(err, errno, "prepare %s", path);
    /* The compiler (uid 1000 inside) writes its output here; the executor
     * reads it and sends it to the run's box. */
    const char *build_dir = NULL;
    if (k->compile) {
        unsigned uid = uid_base + SANDBOX_UID;
        snprintf(b->build, sizeof b->build, "%s/build", b->dir);
        if (fs_mkdir_p(b->build, 0755, 0700) < 0 || chown(b->build, uid, uid) < 0)
            return err_errno(err, errno, "prepare %s", b->build);
        build_dir = b->build;
    }
    bool zygote = !k->compile && k->lang->zygote_argv[0] && k->lang->zygote_source[0];
    /* crun: the driver and the zygote's script from the executor's shared
     * layer (shared_layer). runsc, or when that fails: a copy, not a bind
     * mount — gVisor's gofer cannot reach a driver kept below a private
     * directory such as /root/.cache. */
    bool shared = !gvisor && shared_layer(cfg, zygote ? k->lang->zygote_source : NULL,
                                          b->bp.shared, sizeof b->bp.shared) == 0;
    snprintf(path, sizeof path, "%s/judge/driver", b->dir);
    if (!shared && copy_file(cfg->driver_path, path, 0755, err) < 0)
        return -1;
    char *plan = NULL;
    size_t plan_len = 0;
    FILE *f = open_memstream(&plan, &plan_len);
    for (int i = 0; zygote && k->lang->zygote_argv[i]; i++)
        fprintf(f, "zarg=%s\n", k->lang->zygote_argv[i]);
    fclose(f);
    if (zygote && !shared) {
        snprintf(path, sizeof path, "%s/judge/zygote.py", b->dir);
        if (copy_file(k->lang->zygote_source, path, 0644, err) < 0) {
            free(plan);
            return -1;
        }
    }
    snprintf(path, sizeof path, "%s/judge/plan", b->dir);
    int rc = write_file(path, plan, plan_len, 0644, err);
    free(plan);
    if (rc < 0)
        return -1;

    bundle_paths_t *bp = &b->bp;
    char rootfs[1024];
    snprintf(rootfs, sizeof rootfs, "%s/%s", cfg->rootfs_dir, k->lang->rootfs);
    snprintf(bp->judge, sizeof bp->judge, "%s/judge", b->dir);
    if (realpath(rootfs, bp->rootfs) == NULL)
        return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                       "root filesystem %s is missing: run ./dojo rootfs", rootfs);
    if (!gvisor) {
        snprintf(bp->empty, sizeof bp->empty, "%s/empty", b->dir);
        snprintf(bp->dev, sizeof bp->dev, "%s/dev", b->dir);
        snprintf(bp->build_work, sizeof bp->build_work, "%s/build-work", b->dir);
        if (fs_mkdir_p(bp->empty, 0755, 0755) < 0 || fs_mkdir_p(bp->dev, 0755, 0755) < 0 ||
            (k->compile && fs_mkdir_p(bp->build_work, 0755, 0700) < 0))
            return err_errno(err, errno, "create the mount points of %s", b->dir);
        bp->view = (host_view_t){.rootfs = bp->rootfs,
                                 .judge_dir = bp->judge,
                                 .build_dir = build_dir,
                                 .build_rw = k->compile,
                                 .build_work = bp->build_work,
                                 .empty_dir = bp->empty,
                                 .shared_dir = shared ? bp->shared : NULL,
                                 .dev_dir = bp->dev};
    }
    container_spec_t spec = {
        .id = b->id,
        .rootfs = bp->rootfs,
        .judge_dir = bp->judge,
        .build_dir = build_dir,
        .build_rw = k->compile,
        .uid_base = uid_base,
        .memory_bytes = box_memory_kib(k) * 1024L,
        /* The tests' own limit is the driver's (nproc: RLIMIT_NPROC and its
         * count of the tree). gVisor needs a host thread or process for each
         * of theirs and threads of its own, and crashes when the host
         * refuses one: room for a fork storm until the driver stops it. */
        .pids = gvisor ? cfg->pids_limit * 32 + 512 : cfg->pids_limit + 16,
        .gvisor = gvisor,
        .code_kib = k->job_kib,
        .in_kib = k->job_kib,
        .build_kib = k->lang->compile_argv[0] && !k->compile ? BUILD_KIB : 64,
    };
    json_t *config = build_config(&spec);
    char *text = json_dumps(config, JSON_INDENT(1));
    json_decref(config);
    snprintf(path, sizeof path, "%s/config.json", b->dir);
    rc = write_file(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

/* gVisor's gofer opens the bundle and the root filesystem as an unprivileged
 * user: every directory above them must let others through. Says which one
 * does not, instead of runsc's "waiting for sandbox to start: EOF". */
static int check_reachable(const char *path, err_t **err)
{
    char buf[PATH_MAX];
    if (realpath(path, buf) == NULL)
        return err_errno(err, errno, "resolve %s", path);
    for (char *p = buf + strlen(buf);; p = strrchr(buf, '/')) {
        *p = '\0';
        const char *dir = buf[0] ? buf : "/";
        struct stat st;
        if (stat(dir, &st) == 0 && !(st.st_mode & S_IXOTH))
            return err_set(err, GRPC_STATUS_FAILED_PRECONDITION,
                           "runsc needs %s reachable by other users (gVisor's gofer runs "
                           "unprivileged), but %s has mode %04o",
                           path, dir, (unsigned)(st.st_mode & 07777));
        if (buf[0] == '\0' || strrchr(buf, '/') == NULL)
            return 0;
    }
}

/* `<runtime> run` of the box's bundle, with pipes for its stdio. */
static int box_spawn(sandbox_box_t *b, err_t **err)
{
    char *argv[24];
    char state[1024];
    int n = runtime_argv(b->cfg, b->key.runtime, argv, state, sizeof state);
    if (fs_mkdir_p(state, 0755, 0700) < 0)
        return err_errno(err, errno, "create %s", state);
    argv[n++] = "run";
    argv[n++] = "--bundle";
    argv[n++] = b->dir;
    argv[n++] = b->id;
    argv[n] = NULL;
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
        pipe2(err_pipe, O_CLOEXEC) < 0) {
        int e = errno;
        int *fds[] = {in_pipe, out_pipe, err_pipe};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 2; k++)
                if (fds[i][k] >= 0)
                    close(fds[i][k]);
        return err_errno(err, e, "pipe");
    }
    pid_t pid = spawn(argv, in_pipe[0], out_pipe[1], err_pipe[1], host_is_hybrid(),
                      b->key.runtime == SANDBOX_CRUN ? &b->bp.view : NULL);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (pid < 0) {
        close(in_pipe[1]);
        close(out_pipe[0]);
        close(err_pipe[0]);
        return err_errno(err, errno, "fork %s", argv[0]);
    }
    b->pid = pid;
    b->ctl = in_pipe[1];
    b->out = out_pipe[0];
    b->err = err_pipe[0];
    b->err_open = true;
    fcntl(b->ctl, F_SETFL, O_NONBLOCK);
    return 0;
}

int sandbox_box_start(const sandbox_config_t *cfg, const sandbox_box_key_t *key,
                      const sandbox_box_opts_t *o, sandbox_box_t **out, err_t **err)
{
    *out = NULL;
    sandbox_box_t *b = xcalloc(1, sizeof *b);
    b->cfg = cfg;
    b->key = *key;
    if (b->key.job_kib < 64)
        b->key.job_kib = 64;
    b->slot = o->slot;
    b->on_gone = o->on_gone;
    b->gone_payload = o->gone_payload;
    b->pid = -1;
    b->ctl = b->out = b->err = -1;
    b->started_ms = mono_ms();
    snprintf(b->id, sizeof b->id, "dojo-%s", o->name);
    snprintf(b->dir, sizeof b->dir, "%s/bundles/%s", cfg->workdir, o->name);
    /* Others may pass through (not list) the work folder: gVisor's gofer. */
    chmod(cfg->workdir, 0711);
    char bundles[1100];
    snprintf(bundles, sizeof bundles, "%s/bundles", cfg->workdir);
    int rc = fs_mkdir_p(b->dir, 0755, 0711) < 0 ? err_errno(err, errno, "create %s", b->dir) : 0;
    if (rc == 0)
        chmod(bundles, 0711);
    if (rc == 0 && key->runtime == SANDBOX_RUNSC)
        rc = check_reachable(b->dir, err);
    if (rc == 0)
        rc = write_box_bundle(b, err);
    if (rc == 0)
        rc = box_spawn(b, err);
    if (rc < 0) {
        rm_rf(b->dir);
        free(b);
        return err_wrap(err, "start sandbox %s", o->name);
    }
    *out = b;
    return 0;
}

const sandbox_box_key_t *sandbox_box_key(const sandbox_box_t *b) { return &b->key; }

long sandbox_box_memory_kib(const sandbox_box_t *b)
{
    /* cgroupsPath is "/<id>" (build_config): v1's memory controller, or v2. */
    static const char *const paths[] = {"/sys/fs/cgroup/memory/%s/memory.usage_in_bytes",
                                        "/sys/fs/cgroup/%s/memory.current", NULL};
    for (int i = 0; paths[i]; i++) {
        char path[512], buf[64];
        snprintf(path, sizeof path, paths[i], b->id);
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        return atol(buf) / 1024;
    }
    return -1;
}

/* Reads what the driver said so far (its "R", or why it died) without
 * waiting longer than `ms`. False once the box is dead. */
static bool box_poll(sandbox_box_t *b, int ms)
{
    struct pollfd fds[2] = {{b->out, POLLIN, 0}, {b->err_open ? b->err : -1, POLLIN, 0}};
    if (poll(fds, 2, ms) <= 0)
        return true;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = read(b->err, b->rt_err + b->rt_err_len, sizeof b->rt_err - 1 - b->rt_err_len);
        if (r > 0)
            b->rt_err_len += (size_t)r;
        if (r <= 0 || b->rt_err_len >= sizeof b->rt_err - 1)
            b->err_open = false;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t r = read(b->out, buf, sizeof buf);
        if (r <= 0)
            return false;
        parser_feed(&b->parser, buf, (size_t)r);
        /* Before its job a driver says "R", or "X ...\nD" when it fails. */
        if (parser_drain(&b->parser, NULL) < 0 || b->parser.done || b->parser.reported > 0)
            return false;
    }
    return true;
}

bool sandbox_box_wait_ready(sandbox_box_t *b, int timeout_ms)
{
    long until = mono_ms() + timeout_ms;
    while (!b->parser.ready) {
        long left = until - mono_ms();
        if (left <= 0 || !box_poll(b, (int)(left < 50 ? left : 50)))
            return false;
    }
    return true;
}

bool sandbox_box_usable(sandbox_box_t *b)
{
    return box_poll(b, 0) && !b->parser.done;
}

static void box_cleanup(sandbox_box_t *b, bool kill_first, bool *done)
{
    cleanup_job_t *c = xcalloc(1, sizeof *c);
    c->cfg = b->cfg;
    c->rt = b->key.runtime;
    c->pid = b->pid;
    c->kill_first = kill_first;
    c->on_gone = b->on_gone;
    c->gone_payload = b->gone_payload;
    c->slot = b->slot;
    c->done = done;
    snprintf(c->id, sizeof c->id, "%s", b->id);
    snprintf(c->bundle, sizeof c->bundle, "%s", b->dir);
    if (b->ctl >= 0)
        close(b->ctl);
    if (b->out >= 0)
        close(b->out);
    if (b->err >= 0)
        close(b->err);
    free(b->parser.buf);
    free(b);
    cleanup_start(c);
}

void sandbox_box_discard(sandbox_box_t *b)
{
    if (b == NULL)
        return;
    /* The driver reads EOF before "G" and exits: no job ever ran here. */
    box_cleanup(b, false, NULL);
}

/* ------------------------------------------------------------------------
 * Sending a job to a box, and its run
 * ------------------------------------------------------------------------ */

/* What goes to the driver's stdin (its control channel): the job, then CPU
 * feed lines and, in interactive mode, the program's input in "I <len>"
 * frames. Grows as needed: the job may be large, and the pipe takes what the
 * driver reads. */
typedef struct outbox {
    char *buf;
    size_t len, cap;
} outbox_t;

static void outbox_add(outbox_t *o, const void *data, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->len + n)
            cap *= 2;
        o->buf = xrealloc(o->buf, cap);
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void outbox_printf(outbox_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outbox_printf(outbox_t *o, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    outbox_add(o, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

static void outbox_flush(outbox_t *o, int fd)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t n = write(fd, o->buf + off, o->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (errno != EAGAIN)
                off = o->len; /* the driver is gone: nothing more to say */
            break;
        }
        off += (size_t)n;
    }
    memmove(o->buf, o->buf + off, o->len - off);
    o->len -= off;
}

/* What a compiler left in its build folder, sent on to the run's box: a
 * Java program has a class file per class, nested and anonymous ones too.
 * A name fits the driver's "F build/<name>" (127 bytes). */
#define BUILD_FILES_MAX 256
#define BUILD_NAME_MAX 112
typedef struct build_files {
    int n;
    char name[BUILD_FILES_MAX][BUILD_NAME_MAX];
    char *data[BUILD_FILES_MAX];
    size_t len[BUILD_FILES_MAX];
    bool too_big; /* more files, or more bytes, than a run's box takes */
} build_files_t;

static void build_files_free(build_files_t *bf)
{
    for (int i = 0; i < bf->n; i++)
        free(bf->data[i]);
    bf->n = 0;
}

/* Reads the regular files at the top of `dir` (a compiler's output). */
static void build_files_read(const char *dir, build_files_t *bf)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    size_t total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        /* tmpfs counts whole pages */
        size_t pages = ((size_t)st.st_size + 4095) / 4096 * 4096 + 4096;
        if (bf->n == BUILD_FILES_MAX || strlen(e->d_name) >= sizeof bf->name[0] ||
            total + pages > (size_t)(BUILD_KIB - 64) * 1024) {
            bf->too_big = true;
            break;
        }
        cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        char *buf = xmalloc((size_t)st.st_size + 1);
        size_t got = 0;
        ssize_t r;
        while (got < (size_t)st.st_size && (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)r;
        memcpy(bf->name[bf->n], e->d_name, strlen(e->d_name) + 1); /* checked above */
        bf->data[bf->n] = buf;
        bf->len[bf->n] = got;
        bf->n++;
        total += pages;
    }
    closedir(d);
}

/* One "arg=" line of the plan, with the limits the language's command may
 * name filled in: {memory_kib} and {memory_mib} (the JVM's and Node's heap
 * follow the memory limit). */
static void put_arg(FILE *f, const char *arg, const sandbox_limits_t *lim)
{
    fputs("arg=", f);
    for (const char *p = arg; *p;) {
        if (!strncmp(p, "{memory_kib}", 12)) {
            fprintf(f, "%d", lim->memory_kib);
            p += 12;
        } else if (!strncmp(p, "{memory_mib}", 12)) {
            fprintf(f, "%d", lim->memory_kib / 1024 > 0 ? lim->memory_kib / 1024 : 1);
            p += 12;
        } else {
            fputc(*p++, f);
        }
    }
    fputc('\n', f);
}

/* One container's job: its files, its plan, "G" (driver.c, "The job"). */
typedef struct box_job {
    const char *const *argv;
    const char *source_name; /* the code's file below code/ (sandbox_entry_of) */
    int ntests;
    sandbox_limits_t limits;
    bool compile;
    const build_files_t *build; /* the compiler's output for the run, or NULL */
    build_files_t *collect;     /* the compiler's box: its output goes here */
} box_job_t;

static void job_message(const sandbox_config_t *cfg, const sandbox_job_t *job,
                        const box_job_t *bj, outbox_t *o)
{
    outbox_printf(o, "F code/%s 644 %zu\n", bj->source_name, job->code_len);
    outbox_add(o, job->code, job->code_len);
    for (int i = 0; i < job->nfiles; i++) {
        const sandbox_file_t *f = &job->files[i];
        bool code = !strncmp(f->name, "code/", 5);
        if (!code && bj->compile)
            continue; /* the compiler gets the code, not the tests' data */
        outbox_printf(o, "F %s %s %zu\n", f->name, code ? "644" : "600", f->len);
        outbox_add(o, f->data, f->len);
    }
    for (int i = 0; bj->build && i < bj->build->n; i++) {
        outbox_printf(o, "F build/%s 755 %zu\n", bj->build->name[i], bj->build->len[i]);
        outbox_add(o, bj->build->data[i], bj->build->len[i]);
    }
    for (int i = 0; i < bj->ntests; i++) {
        /* An input kept in a file went in as a link (box_link_inputs). */
        if (!bj->compile && job->input_files && job->input_files[i])
            continue;
        size_t len = bj->compile ? 0 : job->input_lens[i];
        outbox_printf(o, "F in/%d 600 %zu\n", i, len);
        if (len)
            outbox_add(o, job->inputs[i], len);
    }
    char *plan = NULL;
    size_t plan_len = 0;
    FILE *f = open_memstream(&plan, &plan_len);
    const sandbox_limits_t *lim = &bj->limits;
    fprintf(f, "tests=%d\ninteractive=%d\ncpu_ms=%d\nwall_ms=%d\nsafety_ms=%ld\n", bj->ntests,
            job->interactive && !bj->compile, lim->cpu_ms, lim->wall_ms, safety_ms(lim));
    fprintf(f, "memory_kib=%d\noutput_kib=%d\nstderr_kib=%d\nworkdir=/tmp\n", lim->memory_kib,
            lim->output_kib, bj->compile ? 256 : 64);
    /* The same on both runtimes: the driver counts resident memory; the
     * address-space limit only makes an absurd allocation fail at once. */
    fprintf(f, "as_extra_mib=%d\nnproc=%d\n", job->lang->address_space_extra_mib,
            cfg->pids_limit);
    if (job->judge_files && !bj->compile)
        fprintf(f, "judge_files=1\n");
    if (job->syntax_check && job->interactive && !bj->compile)
        fprintf(f, "syntax_check=1\n");
    /* A compiler writes the program (a Go or Rust binary, a jar: megabytes)
     * and its temporary files; no bigger than /tmp can hold. */
    if (bj->compile)
        fprintf(f, "fsize_kib=%d\n", COMPILE_FSIZE_KIB);
    for (int i = 0; bj->argv[i]; i++)
        put_arg(f, bj->argv[i], lim);
    fclose(f);
    outbox_printf(o, "P %zu\n", plan_len);
    outbox_add(o, plan, plan_len);
    free(plan);
    outbox_add(o, "G\n", 2);
}

/* Tests whose input is a file: a hard link of it as judge/data/<n> (the
 * folder the driver alone may enter; /judge is bound read-only, and a file
 * linked into it after the start shows there). A copy where the files live
 * on another file system. */
static int box_link_inputs(const sandbox_job_t *job, const box_job_t *bj, sandbox_box_t *b,
                           err_t **err)
{
    if (bj->compile || !job->input_files || job->interactive)
        return 0;
    for (int i = 0; i < bj->ntests; i++) {
        if (!job->input_files[i])
            continue;
        char path[1300];
        snprintf(path, sizeof path, "%s/judge/data/%d", b->dir, i);
        if (link(job->input_files[i], path) < 0 &&
            (errno != EXDEV || copy_file(job->input_files[i], path, 0444, err) < 0))
            return err_errno(err, errno, "link test data into %s", path);
    }
    return 0;
}

/* Sends the job to the box and runs it to its end; consumes the box (its
 * clean-up runs in the background; `done`, when given, is set then). */
static int run_box(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_box_t *b,
                   const box_job_t *bj, long deadline_ms, int stdin_fd, sandbox_outcome_t *out,
                   bool *done)
{
    outbox_t box = {0};
    cleanup_err err_t *lerr = NULL;
    if (box_link_inputs(job, bj, b, &lerr) < 0) {
        out->end = SANDBOX_CRASHED;
        snprintf(out->runtime_error, sizeof out->runtime_error, "%s", lerr->msg);
        box_cleanup(b, true, done);
        return 0;
    }
    job_message(cfg, job, bj, &box);
    parser_t *parser = &b->parser;
    bool out_open = true, killed = false, input_open = stdin_fd >= 0;
    cpu_feed_t feed = {.fd = -1, .id = b->id, .last_us = -1};
    out->end = SANDBOX_DONE;
    /* Records a driver wrote before its job (none but "R") are not this job's. */
    if (parser->reported > 0 || parser->done) {
        killed = true;
        out->end = SANDBOX_CRASHED;
    }
    while (!killed && out_open && !parser->done) {
        if (job->cancel && atomic_load(job->cancel)) {
            out->end = SANDBOX_CANCELLED;
            killed = true;
            break;
        }
        if (mono_ms() > deadline_ms) {
            out->end = SANDBOX_WALL_KILLED;
            killed = true;
            break;
        }
        /* Every 50 ms: each line wakes the driver (under gVisor a trip to its
         * kernel), and the driver charges the lower count anyway. "R" when
         * this sample and the one before saw a thread waiting for a CPU:
         * the test is computing, not asleep, however still it looks inside
         * (one sample alone could be the driver's own tick). */
        if (mono_ms() >= feed.next_ms && box.len == 0) {
            long cpu_us = cpu_feed_read(&feed);
            bool runnable = cpu_us >= 0 && cpu_feed_runnable(&feed);
            bool waiting = runnable && feed.was_runnable;
            feed.was_runnable = runnable;
            if (cpu_us >= 0 && (cpu_us != feed.last_us || waiting)) {
                outbox_printf(&box, waiting ? "C %ld R\n" : "C %ld\n", cpu_us);
                feed.last_us = cpu_us;
            }
            feed.next_ms = mono_ms() + 50;
        }
        bool room = box.len < 65536;
        struct pollfd fds[4] = {{b->out, POLLIN, 0},
                                {b->err_open ? b->err : -1, POLLIN, 0},
                                {input_open && room ? stdin_fd : -1, POLLIN, 0},
                                {box.len > 0 ? b->ctl : -1, POLLOUT, 0}};
        poll(fds, 4, 10);
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            char data[32768];
            ssize_t r = read(stdin_fd, data, sizeof data);
            if (r > 0) {
                outbox_printf(&box, "I %zd\n", r);
                outbox_add(&box, data, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                outbox_printf(&box, "I 0\n");
                input_open = false;
            }
        }
        if (box.len > 0)
            outbox_flush(&box, b->ctl);
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[65536];
            ssize_t r = read(b->out, buf, sizeof buf);
            if (r > 0) {
                parser_feed(parser, buf, (size_t)r);
                if (parser_drain(parser, job) < 0) {
                    killed = true;
                    out->end = SANDBOX_CRASHED;
                    snprintf(out->runtime_error, sizeof out->runtime_error,
                             "malformed record stream from the driver");
                    break;
                }
                /* Between tests the driver asks for the count as it is now
                 * (driver.c, host_sync): answered at once, off the cadence. */
                if (parser->sync_wanted) {
                    parser->sync_wanted = false;
                    long cpu_us = cpu_feed_read(&feed);
                    if (cpu_us >= 0) {
                        outbox_printf(&box, "C %ld S\n", cpu_us);
                        feed.last_us = cpu_us;
                    } else {
                        outbox_printf(&box, "S\n");
                    }
                    outbox_flush(&box, b->ctl);
                }
            } else if (r == 0 || errno != EINTR) {
                out_open = false;
            }
        }
        if (b->err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(b->err, b->rt_err + b->rt_err_len,
                             sizeof b->rt_err - 1 - b->rt_err_len);
            if (r > 0)
                b->rt_err_len += (size_t)r;
            else
                b->err_open = false;
            if (b->rt_err_len >= sizeof b->rt_err - 1)
                b->err_open = false;
        }
    }
    free(box.buf);
    if (feed.fd >= 0)
        close(feed.fd);
    b->rt_err[b->rt_err_len] = '\0';
    if (!killed && !parser->done) {
        out->end = SANDBOX_CRASHED;
        snprintf(out->runtime_error, sizeof out->runtime_error, "%.200s%s%.300s",
                 parser->driver_error[0] ? parser->driver_error : "",
                 parser->driver_error[0] ? "; " : "", b->rt_err);
    } else if (!killed && parser->compile_error) {
        out->end = SANDBOX_COMPILE_ERROR;
    }
    out->tests_reported = parser->reported;
    if (bj->collect && !killed && parser->done)
        build_files_read(b->build, bj->collect);
    box_cleanup(b, killed, done);
    return 0;
}

static void compile_output_collect(void *payload, const sandbox_record_t *r)
{
    sandbox_record_t *dst = payload;
    *dst = *r;
    /* Keep the compiler's words past the parser's next refill. */
    size_t n = r->out_len + r->err_len;
    char *copy = xmalloc(n + 1);
    memcpy(copy, r->err, r->err_len);
    memcpy(copy + r->err_len, r->out, r->out_len);
    copy[n] = '\0';
    dst->err = copy;
    dst->err_len = n;
    dst->out = NULL;
    dst->out_len = 0;
}

long sandbox_job_kib(const sandbox_job_t *job)
{
    /* tmpfs counts pages: each file takes whole ones. */
    long kib = ((long)job->code_len + 4095) / 4096 * 4;
    int n = job->interactive ? 0 : job->ntests;
    for (int i = 0; i < n; i++)
        if (!job->input_files || !job->input_files[i])
            kib += ((long)job->input_lens[i] + 4095) / 4096 * 4 + 4;
    for (int i = 0; i < job->nfiles; i++)
        kib += ((long)job->files[i].len + 4095) / 4096 * 4 + 4;
    return kib + 64;
}

/* The compiler's box (given, from the pool, or cold), its output into `bf`.
 * `*slot` is the uid range it used; `gone` is set once its container is.
 * Returns 1 when the compilation failed (out says how), 0 when it worked. */
static int run_compile(const sandbox_config_t *cfg, const sandbox_job_t *job, build_files_t *bf,
                       sandbox_outcome_t *out, long started, int *slot, bool *gone,
                       err_t **err)
{
    sandbox_limits_t lim = {.cpu_ms = job->lang->compile_wall_ms,
                            .wall_ms = job->lang->compile_wall_ms,
                            .memory_kib = job->lang->compile_memory_kib,
                            .output_kib = 64};
    sandbox_job_t cj = *job;
    sandbox_record_t rec;
    memset(&rec, 0, sizeof rec);
    cj.interactive = false;
    cj.on_record = compile_output_collect;
    cj.on_chunk = NULL;
    cj.payload = &rec;
    cj.ntests = 1;
    sandbox_box_key_t key = {.runtime = job->runtime,
                             .lang = job->lang,
                             .memory_kib = lim.memory_kib,
                             .job_kib = sandbox_job_kib(&cj),
                             .compile = true};
    char name[160];
    snprintf(name, sizeof name, "%s-c", job->id);
    sandbox_box_t *b = job->compile_box;
    if (b == NULL && job->pool)
        b = sandbox_pool_take(job->pool, &key);
    if (b == NULL &&
        sandbox_box_start(cfg, &key, &(sandbox_box_opts_t){.slot = job->slot, .name = name}, &b,
                          err) < 0)
        return err_wrap(err, "compile");
    *slot = b->slot;
    sandbox_entry_t entry;
    sandbox_entry_of(job->lang, job->code, job->code_len, &entry);
    box_job_t bj = {.argv = entry.compile_argv,
                    .source_name = entry.source_name,
                    .ntests = 1,
                    .limits = lim,
                    .compile = true,
                    .collect = bf};
    sandbox_outcome_t co;
    memset(&co, 0, sizeof co);
    /* In the job's own uid range, the run's container must not start before
     * this one is gone (sandbox_run waits for `gone`). */
    run_box(cfg, &cj, b, &bj, mono_ms() + safety_ms(&lim) + STARTUP_MS, -1, &co,
            *slot == job->slot ? gone : NULL);
    bool ok = co.end == SANDBOX_DONE && co.tests_reported == 1 && !strcmp(rec.status, "OK") &&
              rec.exit_code == 0;
    const char *words = rec.err ? rec.err : co.runtime_error;
    size_t words_len = rec.err ? rec.err_len : strlen(co.runtime_error);
    if (ok && bf->too_big) {
        ok = false;
        words = "the compiled program is too large (more than 256 files, a file name longer "
                "than 111 bytes, or 64 MiB)";
        words_len = strlen(words);
    }
    if (job->on_compile)
        job->on_compile(job->payload, ok, words, words_len);
    free((char *)rec.err);
    if (!ok) {
        out->end = co.end == SANDBOX_CANCELLED ? SANDBOX_CANCELLED : SANDBOX_COMPILE_ERROR;
        out->total_wall_ms = mono_ms() - started;
        return 1;
    }
    return 0;
}

int sandbox_compile(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_build_t **out,
                    sandbox_outcome_t *o, err_t **err)
{
    memset(o, 0, sizeof *o);
    *out = NULL;
    build_files_t *bf = xcalloc(1, sizeof *bf);
    if (job->lang->compile_argv[0] == NULL) {
        *out = bf;
        return 0;
    }
    struct sigaction old_pipe;
    if (sigaction(SIGPIPE, NULL, &old_pipe) == 0 && old_pipe.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    int slot = -1;
    bool gone = false;
    int rc = run_compile(cfg, job, bf, o, mono_ms(), &slot, &gone, err);
    /* The caller's next container may take the same uid range. */
    if (rc >= 0 && slot == job->slot)
        cleanup_wait(&gone);
    if (rc != 0) {
        sandbox_build_free(bf);
        return rc;
    }
    *out = bf;
    return 0;
}

void sandbox_build_free(sandbox_build_t *b)
{
    if (b == NULL)
        return;
    build_files_free(b);
    free(b);
}

int sandbox_run(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_outcome_t *out,
                err_t **err)
{
    memset(out, 0, sizeof *out);
    long started = mono_ms();
    /* The driver's stdin is a pipe we write to: a driver that died must not
     * take the executor with it (as libcommon/kv.c does). */
    struct sigaction old_pipe;
    if (sigaction(SIGPIPE, NULL, &old_pipe) == 0 && old_pipe.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    bool compiled = job->lang->compile_argv[0] != NULL && job->build == NULL;
    build_files_t *bf = compiled ? xcalloc(1, sizeof *bf) : NULL; /* large for a stack */
    sandbox_box_t *b = job->box;
    int compile_slot = -1;
    bool compile_gone = false;
    if (compiled) {
        int rc = run_compile(cfg, job, bf, out, started, &compile_slot, &compile_gone, err);
        if (rc > 0 && compile_slot == job->slot)
            cleanup_wait(&compile_gone); /* it points here */
        if (rc != 0) {
            sandbox_build_free(bf);
            sandbox_box_discard(b);
            return rc < 0 ? -1 : 0;
        }
    } else {
        sandbox_box_discard(job->compile_box);
    }
    int ntests = job->interactive ? 1 : job->ntests;
    sandbox_box_key_t key = {.runtime = job->runtime,
                             .lang = job->lang,
                             .memory_kib = job->limits.memory_kib,
                             .job_kib = sandbox_job_kib(job)};
    if (b == NULL && job->pool)
        b = sandbox_pool_take(job->pool, &key);
    /* A cold start takes the job's uid range: the compiler's container must
     * be gone if it had the same. */
    bool waited = !compiled || compile_slot != job->slot;
    if (b == NULL && !waited) {
        cleanup_wait(&compile_gone);
        waited = true;
    }
    if (b == NULL && sandbox_box_start(cfg, &key,
                                       &(sandbox_box_opts_t){.slot = job->slot, .name = job->id},
                                       &b, err) < 0) {
        sandbox_build_free(bf);
        return -1;
    }
    sandbox_entry_t entry;
    sandbox_entry_of(job->lang, job->code, job->code_len, &entry);
    box_job_t bj = {.argv = entry.run_argv,
                    .source_name = entry.source_name,
                    .ntests = ntests,
                    .limits = job->limits,
                    .build = job->build ? job->build : bf};
    long budget = (long)ntests * (safety_ms(&job->limits) + 200) + STARTUP_MS;
    int rc = run_box(cfg, job, b, &bj, mono_ms() + budget, job->interactive ? job->stdin_fd : -1,
                     out, NULL);
    if (!waited)
        cleanup_wait(&compile_gone);
    sandbox_build_free(bf);
    out->total_wall_ms = mono_ms() - started;
    return rc;
}

/* ------------------------------------------------------------------------
 * Sweeping leftovers
 * ------------------------------------------------------------------------ */

int sandbox_sweep(const sandbox_config_t *cfg)
{
    int removed = 0;
    for (int rt = 0; rt < 2; rt++) {
        char state[1024];
        state_dir(cfg, (sandbox_runtime_t)rt, state, sizeof state);
        struct stat st;
        if (stat(state, &st) < 0)
            continue;
        char list[16384];
        const char *verb_crun[] = {"list", "-q", NULL};
        const char *verb_runsc[] = {"list", "-quiet", NULL};
        if (runtime_cmd(cfg, (sandbox_runtime_t)rt, rt == SANDBOX_RUNSC ? verb_runsc : verb_crun,
                        list, sizeof list) != 0)
            continue;
        for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
            if (strncmp(line, "dojo-", 5) != 0)
                continue;
            container_destroy(cfg, (sandbox_runtime_t)rt, line);
            removed++;
        }
    }
    char bundles[1100];
    snprintf(bundles, sizeof bundles, "%s/bundles", cfg->workdir);
    rm_rf(bundles);
    snprintf(bundles, sizeof bundles, "%s/shared", cfg->workdir); /* shared_layer's */
    rm_rf(bundles);
    if (removed)
        LOG_WARN("sandbox leftovers removed", "containers=%d", removed);
    return removed;
}

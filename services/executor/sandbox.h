/* sandbox.h — running untrusted code in a throw-away OCI container.
 *
 * One container per submission (crun or runsc), many tests inside it: the
 * static driver (driver/driver.c) is the container's first process and runs
 * each test as its own child with the limits of the plan. Compilation, for
 * compiled languages, runs in a container of its own first. Output is only
 * collected here; comparing it with expected output happens elsewhere
 * (checker.c), outside the sandbox.
 *
 * Always: no network, read-only root, small tmpfs for /tmp, no capabilities,
 * no_new_privs, a seccomp deny list, an unprivileged uid that maps to no host
 * user (a distinct range per slot), cgroup memory (no swap), pids and CPU
 * limits, rlimits, masked /proc paths, and a wall clock enforced from here
 * (the whole container is killed). Works on cgroup v1, v2 and hybrid hosts:
 * on hybrid hosts crun runs in a private mount namespace without the cgroup2
 * `unified` mount, which crun 1.8 refuses. */
#ifndef DOJO_SANDBOX_H
#define DOJO_SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "libcommon/err.h"

typedef enum { SANDBOX_CRUN = 0, SANDBOX_RUNSC = 1 } sandbox_runtime_t;

/** Process-wide settings (from the executor's configuration). */
typedef struct sandbox_config {
    const char *workdir;     /* bundles and runtime state live below it */
    const char *rootfs_dir;  /* language root filesystems: <rootfs_dir>/<name> */
    const char *driver_path; /* the static driver binary */
    unsigned host_uid_base;  /* container uids map to base + slot * 65536 + uid */
    int pids_limit;
} sandbox_config_t;

/* Room in a command line: a validator's is its language's run command, three
 * paths and up to 64 flags (the driver takes as many). */
#define SANDBOX_ARGV_MAX 96

/** A language, as data (languages/<id>.json). */
typedef struct sandbox_lang {
    char id[32];
    char rootfs[64];       /* directory name below rootfs_dir */
    char source_name[64];  /* file the code is written to, e.g. "main.py" */
    char *compile_argv[SANDBOX_ARGV_MAX]; /* NULL-terminated; empty = interpreted */
    char *run_argv[SANDBOX_ARGV_MAX];     /* NULL-terminated */
    char *zygote_argv[16];  /* optional pre-warmed interpreter forking per test */
    char zygote_source[512]; /* its script (copied to /judge/zygote.py), or "" */
    int compile_wall_ms;
    int compile_memory_kib;
    int address_space_extra_mib; /* RLIMIT_AS beyond the memory limit; 0 = none */
    /* The source file and main class are named by the code's own public
     * class and main (Java: entry.c); the catalogue's names are the default. */
    bool main_class_from_source;
} sandbox_lang_t;

/* ------------------------------------------------------------------------
 * A program's own entry (entry.c)
 * ------------------------------------------------------------------------ */

#define SANDBOX_ENTRY_NAME_MAX 64 /* libcommon/javasrc.h's JAVA_NAME_MAX */

/** A language's commands for one program: the catalogue's, with the source
 * file and main class the code names (argv entries borrow `lang` and `e`). */
typedef struct sandbox_entry {
    char source_name[SANDBOX_ENTRY_NAME_MAX + 8]; /* e.g. "Solution.java" */
    char source_path[SANDBOX_ENTRY_NAME_MAX + 24]; /* "/judge/code/<source_name>" */
    char main_class[SANDBOX_ENTRY_NAME_MAX];
    const char *compile_argv[SANDBOX_ARGV_MAX]; /* NULL-terminated */
    const char *run_argv[SANDBOX_ARGV_MAX];
} sandbox_entry_t;

/** The commands `lang` runs `code` with: for a language with
 * main_class_from_source, the source is written as <public type>.java
 * (default: the catalogue's source_name) and the JVM starts the public type
 * if it declares main, else the catalogue's main class if a type of that
 * name declares it, else the first type that does. Arguments equal to
 * /judge/code/<catalogue source_name> or to its stem are replaced. */
void sandbox_entry_of(const sandbox_lang_t *lang, const char *code, size_t len,
                      sandbox_entry_t *e);

/** Limits of each test. */
typedef struct sandbox_limits {
    int cpu_ms;
    int wall_ms;
    int memory_kib;
    int output_kib;
} sandbox_limits_t;

/** What the driver reported for one test (buffers borrowed for the callback). */
typedef struct sandbox_record {
    int index;
    char status[4]; /* OK SG TC ML PL TW TS OL XX (see driver.c) */
    int exit_code;
    int term_signal;
    long cpu_ms;
    long wall_ms;
    long rss_kib;   /* peak of the test's processes' resident memory */
    const char *out;
    size_t out_len;
    const char *err;
    size_t err_len;
} sandbox_record_t;

typedef struct sandbox_box sandbox_box_t;
typedef struct sandbox_pool sandbox_pool_t; /* pool.h */

/** A file of the job besides the code: "code/<name>" (next to the code, for
 * the compiler and the program) or "in/<name>" (the driver's; a validator's
 * "in/<n>.in" and "in/<n>.ans"). Borrowed. */
typedef struct sandbox_file {
    const char *name;
    const char *data;
    size_t len;
} sandbox_file_t;

/** What a compiler built (sandbox_compile): shipped to a run's box instead of
 * compiling again. */
typedef struct build_files sandbox_build_t;

typedef struct sandbox_job {
    sandbox_runtime_t runtime;
    int slot;                 /* 0..N-1: which uid range to use */
    const char *id;           /* unique, [a-z0-9-], used in names */
    const sandbox_lang_t *lang;
    const char *code;
    size_t code_len;
    int ntests;
    const char *const *inputs; /* ntests inputs (tests mode) */
    const size_t *input_lens;
    /* Tests mode: ntests files whose content is the test's input instead
     * (NULL entries: `inputs`), or NULL for none. A hard link of each goes
     * into the box (judge/data/<n>, only the driver may enter it) when the
     * job is sent: the data never passes through memory or the tmpfs. */
    const char *const *input_files;
    bool interactive;          /* one run; stdin from stdin_fd, output streamed */
    int stdin_fd;              /* interactive: read end the container's stdin comes from */
    bool syntax_check;         /* interactive: the language's syntax check (its zygote's)
                                * first; a failure ends SANDBOX_COMPILE_ERROR, as for tests */
    sandbox_limits_t limits;
    atomic_bool *cancel;       /* set to stop at once (checked every few ms) */
    sandbox_box_t *box;        /* a started box for the run (consumed), or NULL */
    sandbox_box_t *compile_box; /* and for the compiler, likewise */
    sandbox_pool_t *pool;      /* where to take a started box from, or NULL: cold starts */
    const sandbox_file_t *files; /* nfiles more files (sandbox_file_t) */
    int nfiles;
    const sandbox_build_t *build; /* compiled already (sandbox_compile): no compile step */
    bool judge_files;          /* a validator: the driver's judge_files (driver.c) */
    void *payload;
    void (*on_compile)(void *payload, bool ok, const char *output, size_t len);
    void (*on_record)(void *payload, const sandbox_record_t *rec);
    void (*on_chunk)(void *payload, char stream, const char *data, size_t len);
    /* judge_files: a feedback file of test `index` ('j' judgemessage.txt, 't'
     * teammessage.txt; at most 4 KiB), before the test's record */
    void (*on_feedback)(void *payload, int index, char kind, const char *data, size_t len);
} sandbox_job_t;

/** How the whole run ended. */
typedef enum {
    SANDBOX_DONE = 0,      /* every test reported */
    SANDBOX_COMPILE_ERROR, /* compilation failed; on_compile has the output */
    SANDBOX_WALL_KILLED,   /* the overall wall clock ran out: container killed */
    SANDBOX_CANCELLED,     /* *cancel was set */
    SANDBOX_CRASHED,       /* the container died without finishing (e.g. OOM of the driver) */
} sandbox_end_t;

typedef struct sandbox_outcome {
    sandbox_end_t end;
    int tests_reported;
    long total_wall_ms;
    char runtime_error[512]; /* what the runtime said on stderr, if anything */
} sandbox_outcome_t;

/** Compiles `job`'s code (and its code/ files) in a container of its own,
 * as sandbox_run would, without running it: 0 and *out (new:
 * sandbox_build_free) when it compiled, 1 when it did not (job->on_compile
 * has the compiler's words; out->end says how), -1 when the judge failed.
 * An interpreted language gives an empty build. */
int sandbox_compile(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_build_t **out,
                    sandbox_outcome_t *o, err_t **err);
void sandbox_build_free(sandbox_build_t *b);

/** Runs `job`: takes a started box (job->box, else from job->pool, else a
 * cold start), sends it the job, feeds records to the callbacks as they
 * arrive, enforces the wall clock and cancellation, and removes the
 * container and bundle. Errors (INTERNAL/UNAVAILABLE) mean the
 * judge failed, never the learner's code. */
int sandbox_run(const sandbox_config_t *cfg, const sandbox_job_t *job, sandbox_outcome_t *out,
                err_t **err);

/* ------------------------------------------------------------------------
 * Boxes: a started container waiting for exactly one job
 *
 * sandbox_run starts one when the job comes (a cold start), unless it is
 * given one or takes one from a pool (pool.h) that started it earlier. A box
 * holds nothing of any job until its job is sent; it serves that one job and
 * is destroyed (never reused).
 * ------------------------------------------------------------------------ */

/** What must be fixed when a box starts, before its job is known. */
typedef struct sandbox_box_key {
    sandbox_runtime_t runtime;
    const sandbox_lang_t *lang; /* borrowed: lives as long as the box */
    int memory_kib;             /* the learner's limit; the container gets headroom on top */
    long job_kib;               /* room for the job's code and inputs (sandbox_job_kib) */
    bool compile;               /* the compiler's box of a compiled language */
} sandbox_box_key_t;

typedef struct sandbox_box_opts {
    int slot;               /* uid range: no other live container may use it */
    const char *name;       /* [a-z0-9-], unique: the bundle's folder and the container */
    void (*on_gone)(void *payload, int slot); /* called when the box is gone, slot free */
    void *gone_payload;
} sandbox_box_opts_t;

/** Starts a box: writes its bundle and starts `<runtime> run`; the driver
 * then starts the zygote and says it is ready. Does not wait for that
 * (sandbox_box_wait_ready). *out is new: give it to a job or discard it. */
int sandbox_box_start(const sandbox_config_t *cfg, const sandbox_box_key_t *key,
                      const sandbox_box_opts_t *o, sandbox_box_t **out, err_t **err);

/** Waits up to `timeout_ms` for the driver's "ready"; false when it died or
 * the time ran out. */
bool sandbox_box_wait_ready(sandbox_box_t *b, int timeout_ms);

/** False once the box died while it waited (a pool checks before use). */
bool sandbox_box_usable(sandbox_box_t *b);

/** Ends a box that got no job; clean-up in the background. NULL is fine. */
void sandbox_box_discard(sandbox_box_t *b);

/** The key the box was started with (borrowed). */
const sandbox_box_key_t *sandbox_box_key(const sandbox_box_t *b);

/** The memory the box's container holds now as its cgroup counts it (KiB;
 * page cache included), or -1 when unknown. */
long sandbox_box_memory_kib(const sandbox_box_t *b);

/** The room a job's code and inputs take in a box (KiB). */
long sandbox_job_kib(const sandbox_job_t *job);

/** Removes containers and bundles left by an earlier executor process (run
 * at start, before taking jobs). Returns how many containers it removed. */
int sandbox_sweep(const sandbox_config_t *cfg);

/** Waits until the background clean-ups of finished sandboxes are done
 * (containers deleted, bundles removed): call before exiting. */
void sandbox_wait_cleanups(void);

/** Reads languages/<id>.json files of `dir` into `out` (up to `cap`). */
int sandbox_langs_load(const char *dir, sandbox_lang_t *out, int cap, int *count, err_t **err);

#endif

/* executor.h — the executor service's shared state, and what each file of
 * services/executor offers the others. Internal to services/executor.
 *
 *   queue.c    the Redis Stream consumer group: workers, dead letters
 *   reclaim.c  the group's upkeep: heartbeats, taking over the jobs of dead
 *              or stalled executors, removing dead consumers, trimming
 *   jobs.c     one job (SUBMIT or RUN) from start to end: its steps in order
 *   judge.c    test states -> verdicts, score, summary, result messages (pure;
 *              judge.h)
 *   checker.c  output comparison and the verdict of a driver record (pure), and
 *              the custom checker run through the sandbox
 *   bundles.c  judge bundles from content, cached by (slug, version)
 *   blobs.c    test data blobs from content, cached on disk by SHA-256
 *   control.c  a job's control channel dojo:ctl:{id}: cancel and stdin
 *   events.c   the per-submission event stream dojo:sub:{id}
 *   results.c  GetSubmission and RecordResult with gamification
 *   running.c  the running list (ListRunning) and the sandbox slots
 *   fair.c     each learner's share: running places (leases in Redis)
 *   admin.c    the gRPC admin service (GetStats, Drain, ListRunning, RunJob)
 *   config.c   configuration and languages
 *   cli.c      the `sandbox-run` command
 *   main.c     wiring and the command line
 *
 * The sandbox itself is sandbox.h/sandbox.c. */
#ifndef DOJO_EXECUTOR_H
#define DOJO_EXECUTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dojo/content/v1/content.pb-c.h"
#include "dojo/executor/v1/executor.pb-c.h"
#include "dojo/gamification/v1/gamification.pb-c.h"
#include "libcommon/arena.h"
#include "libcommon/clock.h"
#include "libcommon/err.h"
#include "libcommon/identity.h"
#include "libcommon/kv.h"
#include "libcommon/kvc.h"
#include "libcommon/rpc.h"
#include "services/executor/pool.h"
#include "services/executor/sandbox.h"

/* Caps of what events carry (executor.proto). */
#define EXEC_CHUNK_MAX (16 * 1024)
#define EXEC_STDERR_CAP (64 * 1024)
#define EXEC_COMPILE_OUTPUT_MAX (64 * 1024)
#define EXEC_EXCERPT_MAX 1024
#define EXEC_MESSAGE_MAX 200
#define EXEC_MAX_LANGS 32
#define EXEC_MAX_WORKERS 256 /* DOJO_EXECUTOR_CONCURRENCY at most */

typedef Dojo__Common__V1__Verdict exec_verdict_t;

/* ------------------------------------------------------------------------
 * Configuration (read once at start; see docs/operators.md)
 * ------------------------------------------------------------------------ */
typedef struct exec_config {
    const char *addr;
    const char *metrics_addr;
    const char *redis_addr;
    const char *auth_addr;
    const char *content_addr;
    const char *gamification_addr;
    const char *service_key;
    sandbox_runtime_t runtime;
    const char *runtime_name; /* "crun" | "runsc" */
    char workdir[4096];    /* absolute: the runtimes resolve paths from elsewhere */
    char rootfs_dir[4096]; /* absolute, likewise */
    const char *languages_dir;
    char driver_path[4096];
    char executor_id[128];
    int concurrency;        /* worker threads = Redis job slots */
    int sync_slots;         /* extra slots for RunJob */
    int64_t reclaim_idle_ms;
    int64_t heartbeat_ttl_ms; /* the alive marker's TTL; a peer without one is dead */
    int64_t job_retention_ms; /* acknowledged jobs stay in dojo:jobs this long */
    int max_attempts;
    int64_t event_ttl_s;
    int bundle_cache_size;
    char blob_dir[4096];      /* test data blobs on disk (blobs.c) */
    int64_t blob_cache_bytes; /* what that folder may hold */
    unsigned uid_base;
    int pids_limit;
    int learner_max_running; /* jobs of one learner at once, all executors; 0: no cap */
    int64_t learner_sandbox_ms; /* sandbox time per learner per window; 0: no cap */
    int64_t learner_window_ms;  /* that window (a minute) */
    bool pool;                  /* DOJO_EXECUTOR_POOL: pre-started sandboxes */
    int pool_size;              /* ready sandboxes per key, at most */
    int pool_starts;            /* sandboxes the pool starts at once */
    int pool_memory_mib;        /* what ready sandboxes may hold in all */
    const char *pool_languages; /* kept warm from the start, comma-separated */
    int64_t pool_key_idle_ms;   /* a key without a job this long keeps none */
} exec_config_t;

typedef struct exec_bundle_cache exec_bundle_cache_t;
typedef struct exec_blob_cache exec_blob_cache_t;
typedef struct exec_job exec_job_t;
typedef struct exec_queue exec_queue_t;

/* The process: shared by every thread. */
typedef struct exec {
    exec_config_t cfg;
    sandbox_config_t sandbox;
    sandbox_lang_t langs[EXEC_MAX_LANGS];
    int nlangs;
    kv_pool_t *kv; /* short commands; blocking reads have kvc readers of their own */
    identity_verifier_t *ids;
    rpc_channel_t *content;
    rpc_channel_t *game;
    rpc_server_t *server;
    exec_bundle_cache_t *bundles;
    exec_blob_cache_t *blobs;
    exec_queue_t *queue;
    sandbox_pool_t *pool; /* NULL: every sandbox starts cold */

    pthread_mutex_t lock; /* guards running list and slots */
    exec_job_t *running;  /* oldest first */
    bool *slot_busy;      /* concurrency + sync_slots */

    atomic_bool draining; /* Drain: no new jobs */
    atomic_bool stopping; /* SIGTERM: workers exit after their job */
    atomic_int jobs_running;
    atomic_llong jobs_done;
    atomic_llong jobs_failed;
    int64_t started_us;
} exec_t;

/* ------------------------------------------------------------------------
 * Configuration and languages (config.c), the sandbox-run command (cli.c)
 * ------------------------------------------------------------------------ */

/** Reads every DOJO_* variable the executor uses; exits naming a bad one. */
void exec_config_load(exec_config_t *cfg, const char *argv0);

/** The sandbox's settings from the configuration (strings borrowed). */
void exec_sandbox_config(const exec_config_t *cfg, sandbox_config_t *out);

/** Loads the languages of DOJO_EXECUTOR_LANGUAGES_DIR into ex->langs. */
int exec_langs_load(exec_t *ex, err_t **err);

/** The language with this id, or NULL. Borrowed from `ex`. */
const sandbox_lang_t *exec_lang(const exec_t *ex, const char *id);

/** With DOJO_EXECUTOR_POOL on: opens the pool of pre-started sandboxes
 * (ex->pool) and asks for DOJO_EXECUTOR_POOL_LANGUAGES' boxes. Run after the
 * sweep of leftovers. */
int exec_pool_open(exec_t *ex, err_t **err);
/** Closes ex->pool (after the workers stopped). */
void exec_pool_close(exec_t *ex);

/** The memory limit of a task that sets none (judge_limits). */
#define EXEC_DEFAULT_MEMORY_KIB 262144

/** `executor sandbox-run OPTION...` (argv: the options): runs code in the
 * sandbox and prints one JSON line per event. INVALID_ARGUMENT for bad
 * options; sandbox failures as sandbox_run reports them. */
int exec_cli_sandbox_run(exec_t *ex, int argc, char **argv, err_t **err);

/* ------------------------------------------------------------------------
 * Verdicts and checkers (checker.c). Pure functions unless said otherwise.
 * ------------------------------------------------------------------------ */

/** The checker of a bundle, resolved (kind never UNSPECIFIED, tolerances
 * defaulted). Strings borrowed from the bundle. */
typedef struct exec_checker {
    Dojo__Content__V1__CheckerKind kind;
    double abs_tol;
    double rel_tol;
    bool case_sensitive;         /* DEFAULT_VALIDATOR */
    bool space_change_sensitive; /* DEFAULT_VALIDATOR */
    const char *custom_language;
    const char *custom_source;
    const Dojo__Content__V1__PackageValidator *validator; /* PACKAGE_VALIDATOR */
} exec_checker_t;

void exec_checker_from_bundle(const Dojo__Content__V1__Checker *c, exec_checker_t *out);

/** The checker of one test that has its own validator flags
 * (TestCase.validator_flags, borrowed; NULL: `base` as it is): for the
 * default validator, `base` with case_sensitive, space_change_sensitive
 * and the tolerances read from `flags` alone (case_sensitive,
 * space_change_sensitive, float_tolerance E, float_absolute_tolerance E,
 * float_relative_tolerance E); other kinds unchanged. False, *out then
 * `base`, when a word is not a flag of the default validator. */
bool exec_checker_with_flags(const exec_checker_t *base,
                             const Dojo__Content__V1__ValidatorFlags *flags, exec_checker_t *out);

/** Compares actual output with expected output by `kind` (not CUSTOM).
 * Returns true when they match; otherwise writes a short explanation to
 * `msg` (which may quote a few bytes of both: only for visible tests). */
bool checker_compare(const exec_checker_t *ck, const char *expected, size_t elen,
                     const char *actual, size_t alen, char *msg, size_t cap);

/** The verdict a driver record means before comparing output: VERDICT_AC
 * when the program ran cleanly (exit 0, within limits: compare its output),
 * otherwise TLE, MLE, OLE, RE or IE with a message for the learner in `msg`
 * ("killed by signal 11 (SIGSEGV)", "exit code 3"). */
exec_verdict_t exec_verdict_of_record(const sandbox_record_t *rec, const sandbox_limits_t *lim,
                                      char *msg, size_t cap);

/** Short upper-case name: "AC", "WA", ... ("?" for unknown). Static. */
const char *exec_verdict_name(exec_verdict_t v);
/** A phrase for messages: "wrong answer", "time limit exceeded". Static. */
const char *exec_verdict_phrase(exec_verdict_t v);

/** `len` bytes of `s` as valid UTF-8 (invalid sequences → U+FFFD), at most
 * `max` bytes, cut at a character boundary. New string: free it. */
char *exec_utf8_clean(const char *s, size_t len, size_t max);

/** The input bundle a custom checker reads from stdin (the wrapper turns it
 * into three files): "DOJOCHK1 <src> <in> <exp> <act>\n" then the four byte
 * strings. New buffer in *out (free it). */
void checker_bundle(const char *src, size_t slen, const char *in, size_t ilen, const char *exp,
                    size_t elen, const char *act, size_t alen, char **out, size_t *out_len);

/** One test for a custom checker: borrowed buffers. */
typedef struct checker_case {
    const char *input;
    size_t input_len;
    const char *expected;
    size_t expected_len;
    const char *actual;
    size_t actual_len;
    /* The test's own validator flags instead of the package validator's
     * (borrowed; NULL: the validator's). The custom checker takes none. */
    const Dojo__Content__V1__ValidatorFlags *flags;
    /* results */
    exec_verdict_t verdict; /* AC, WA or IE */
    char message[EXEC_MESSAGE_MAX + 1];
} checker_case_t;

/** Runs the author's checker program (content.proto CustomChecker: called
 * with INPUT EXPECTED ACTUAL file paths; exit 0 accepted, 1 wrong; the
 * Kattis codes 42/43 are accepted as well; anything else IE) over `n` cases
 * in one sandbox (slot `slot`), filling each case's verdict and message.
 * Fails (UNAVAILABLE/INTERNAL) only when the judge itself failed; a checker
 * that does not compile or crashes gives IE verdicts. */
int checker_run_custom(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                       const sandbox_lang_t *lang, const char *source, checker_case_t *cases,
                       int n, atomic_bool *cancel, err_t **err);

/* ------------------------------------------------------------------------
 * Output and input validators of the problem package format (validator.c).
 * Pure unless said otherwise.
 * ------------------------------------------------------------------------ */

/* Where the driver stages a test's files for a validator (driver.c). */
#define VALIDATOR_INPUT "/tmp/judge/input"
#define VALIDATOR_ANSWER "/tmp/judge/answer"
#define VALIDATOR_FEEDBACK "/tmp/judge/feedback/"
/* A validator's own limits per test (its sandbox is never the learner's);
 * also its file-size limit: it gets the test's input and answer. */
#define VALIDATOR_LIMITS                                                                       \
    ((sandbox_limits_t){.cpu_ms = 10000, .wall_ms = 20000, .memory_kib = 1024 * 1024,         \
                        .output_kib = 64 * 1024})

/** A validator as a program of its language: the language's commands with
 * the validator's files (files[0] the entry, the compiler given every file
 * of the language's extension but for Rust and JavaScript, Java's main class
 * the entry's name, Python with the entry's folder on its path) and the run
 * command followed by VALIDATOR_INPUT, VALIDATOR_ANSWER, VALIDATOR_FEEDBACK
 * and the flags; no zygote. `lang` borrows from the base language and `v`
 * except what `owned` holds. */
typedef struct validator_prog {
    sandbox_lang_t lang;
    char *owned[2 * SANDBOX_ARGV_MAX];
    int nowned;
} validator_prog_t;

/** What a validator of the package format is run as. */
typedef enum {
    VALIDATOR_OUTPUT,       /* output validator or interactor: input answer feedback_dir flags */
    VALIDATOR_INPUT_FORMAT, /* input validator: the input on stdin, only the flags */
} validator_role_t;

/** Fills `p` (validator_prog_free it) for `role`; -1 with `why` when the
 * validator cannot be a command line (no files, too many sources or flags). */
int validator_prog_init(validator_prog_t *p, const sandbox_lang_t *base,
                        const Dojo__Content__V1__PackageValidator *v, validator_role_t role,
                        char *why, size_t cap);
void validator_prog_free(validator_prog_t *p);

/** The build cache's key: sha256 hex of the language and the files. */
void validator_key(const char *lang_id, const Dojo__Content__V1__PackageValidator *v,
                   char out[65]);

/** A validator's record as a verdict: exit 42 AC, 43 WA, anything else
 * (another code, a signal, its limits) IE. */
exec_verdict_t validator_verdict(const sandbox_record_t *rec);

/** The message of a visible test: teammessage.txt when there is one, else
 * judgemessage.txt, on one line ("; " for line breaks), valid UTF-8, at most
 * EXEC_MESSAGE_MAX bytes; "" when neither. */
void validator_message(const char *judge, size_t jlen, const char *team, size_t tlen, char *out,
                       size_t cap);

/** Runs the package validator `v` in language `lang` over `n` cases in one
 * sandbox of its own (slot `slot`) — one for each set of flags the cases
 * have (checker_case_t.flags, else v's), one after the other, in the same
 * build — filling each case's verdict and message; compiles it first unless
 * its build is cached (by validator_key, in this process). A validator that does not compile or fails gives IE verdicts
 * ("the output validator failed"; the details are logged). Fails only when
 * the judge itself failed. */
int checker_run_validator(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                          const sandbox_lang_t *lang,
                          const Dojo__Content__V1__PackageValidator *v, checker_case_t *cases,
                          int n, atomic_bool *cancel, err_t **err);

/** Runs input validator `v` (language `lang`) over `n` test inputs in one
 * sandbox of its own (slot `slot`), as the package format has it: each
 * input is its stdin (inputs/lens, or input_files where not NULL), its flags
 * are its arguments; `on_record` gets each test's record (validator_verdict:
 * 42 accepted, 43 refused; its stdout and stderr are the message). Compiles
 * it first unless its build is cached, as checker_run_validator does.
 * Returns 0 when it ran (*outcome says how it ended), 1 when it does not
 * compile (*compile_output new: the compiler's message), -1 when the judge
 * failed. */
int input_validator_run(const sandbox_config_t *cfg, sandbox_runtime_t runtime, int slot,
                        const sandbox_lang_t *lang, const Dojo__Content__V1__PackageValidator *v,
                        const char *const *inputs, const size_t *lens,
                        const char *const *input_files, int n,
                        void (*on_record)(void *payload, const sandbox_record_t *rec),
                        void *payload, atomic_bool *cancel, char **compile_output,
                        sandbox_outcome_t *outcome, err_t **err);

/* ------------------------------------------------------------------------
 * Interactive problems (validator.c): the package validator as the
 * interactor, run at the same time as the submission
 * ------------------------------------------------------------------------ */

/* The interactor's uid range for a job in slot `slot`: a second range of
 * the slot, far above the job and pool slots. */
#define EXEC_INTERACTOR_SLOT(slot) (4096 + (slot))

/** What one interactive test left: each side's record (buffers dropped),
 * which ended first, the interactor's feedback files. */
typedef struct interaction {
    bool sub_reported, inter_reported;
    bool inter_first; /* the interactor's record came before the submission's */
    sandbox_record_t sub, inter;
    char judge_msg[4097], team_msg[4097];
    size_t judge_len, team_len;
    sandbox_end_t sub_end;
} interaction_t;

/** The verdict of an interactive test, as the package format has it: the
 * interactor ended first with WA (or failed) -> WA (IE), whatever the
 * submission did after; with AC -> the submission's own verdict (RE, TLE,
 * MLE, OLE) unless it then ended cleanly (AC). The submission ended first:
 * not cleanly -> its verdict; cleanly -> the interactor's (42 AC, 43 WA, else
 * IE). The message is the submission's for its verdicts, "the interactor
 * failed" for IE, else the feedback (validator_message). Pure. */
exec_verdict_t interaction_verdict(const interaction_t *x, const sandbox_limits_t *lim, char *msg,
                                   size_t cap);

/** An interactor made ready for a job: its program and build (compiled, or
 * from the cache). */
typedef struct interactor interactor_t;

/** *out is new (interactor_release); without a usable build
 * (interactor_usable false: it does not compile, or cannot be a command
 * line) every test is IE. Fails only when the judge failed. */
int interactor_prepare(interactor_t **out, const sandbox_config_t *cfg, sandbox_runtime_t runtime,
                       int slot, const sandbox_lang_t *lang,
                       const Dojo__Content__V1__PackageValidator *v, atomic_bool *cancel,
                       err_t **err);
bool interactor_usable(const interactor_t *it);
void interactor_release(interactor_t *it);

/** The submission's side of an interactive test (borrowed). */
typedef struct interact_sub {
    const sandbox_config_t *cfg;
    sandbox_runtime_t runtime;
    int slot;
    const char *id; /* [a-z0-9-], the containers' names start with it */
    const sandbox_lang_t *lang;
    const char *code;
    size_t code_len;
    const sandbox_build_t *build; /* sandbox_compile's, once for every test */
    sandbox_pool_t *pool;
    sandbox_limits_t limits;
} interact_sub_t;

/** Runs one interactive test: the submission (slot sub->slot) and the
 * interactor (EXEC_INTERACTOR_SLOT of it) at the same time, connected by
 * pipes, the interactor given `input` and `answer`, and `flags` (the test's
 * own, borrowed) instead of its validator's when not NULL; fills *out.
 * Blocks until both sides ended (their limits, or `cancel`). Fails only
 * when the judge failed. */
int interact_test(const interactor_t *it, const interact_sub_t *sub, const char *input,
                  size_t input_len, const char *answer, size_t answer_len,
                  const Dojo__Content__V1__ValidatorFlags *flags, atomic_bool *cancel,
                  interaction_t *out, err_t **err);

/* ------------------------------------------------------------------------
 * Jobs (jobs.c)
 * ------------------------------------------------------------------------ */

typedef struct exec_control exec_control_t;

/** Where a job's events go: the Redis stream, or a RunJob call. */
typedef int (*exec_sink_fn)(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err);

struct exec_job {
    exec_t *ex;
    const Dojo__Executor__V1__Job *job; /* borrowed for the run */
    char submission_id[64];
    char entry_id[64]; /* the job stream's entry; "" for RunJob */
    int entry_stream;  /* index into exec_streams */
    int attempt;
    int slot;
    bool synchronous;
    bool record; /* call Gamification.RecordResult */
    bool placed; /* holds one of its learner's running places (fair.c) */
    int64_t sandbox_ms; /* wall time its sandboxes ran: charged to the learner */
    const Dojo__Content__V1__JudgeBundle *given_bundle; /* RunJob: not cached */

    exec_sink_fn sink;
    void *sink_payload;
    pthread_mutex_t ev_lock;
    int64_t seq; /* last seq written */

    atomic_bool cancel; /* the learner (or RunJob's caller) cancelled: set halt too */
    atomic_bool halt;   /* the sandbox stops now: cancelled, or the verdict is settled */
    atomic_bool done;
    atomic_int stage; /* Dojo__Executor__V1__JobStage */
    atomic_int tests_done;
    atomic_int tests_total;
    int64_t started_us;

    arena_t arena; /* the run's memory: the job thread's only */

    exec_job_t *prev, *next; /* ex->running */
};

/** What became of a job. */
typedef enum {
    EXEC_JOB_FINISHED = 0, /* final event written (and recorded if wanted): ack */
    EXEC_JOB_RETRY,        /* judge-side failure: leave unacknowledged */
    EXEC_JOB_GIVE_UP,      /* permanent failure: dead-letter, IE, ack */
} exec_job_end_t;

/** Runs a job to its end: started event, sandbox, test results, recording,
 * final event. `reason` (cap 256) explains RETRY and GIVE_UP. */
exec_job_end_t exec_job_run(exec_job_t *j, char *reason, size_t cap);

/** Initialises a job context (borrowing `job`) / destroys it, releasing
 * its arena. */
void exec_job_init(exec_job_t *j, exec_t *ex, const Dojo__Executor__V1__Job *job);
void exec_job_destroy(exec_job_t *j);

/* ------------------------------------------------------------------------
 * What runs (running.c)
 * ------------------------------------------------------------------------ */

/** Registers a job as running (ListRunning, counters) / removes it. */
void exec_running_add(exec_t *ex, exec_job_t *j);
void exec_running_remove(exec_t *ex, exec_job_t *j);

/** A free sandbox slot in [from, to), or -1. Release with exec_slot_release. */
int exec_slot_take(exec_t *ex, int from, int to);
void exec_slot_release(exec_t *ex, int slot);

/* ------------------------------------------------------------------------
 * Each learner's share (fair.c)
 * ------------------------------------------------------------------------ */

/** Takes one of the learner's running places for the submission (kvc.h's
 * kvc_learner_admit, DOJO_EXECUTOR_LEARNER_MAX_RUNNING across every
 * executor). false: the learner's places are taken, or the learner used up
 * this minute's sandbox time: the job waits. A job without a user, or Redis
 * failing (logged), is admitted. */
bool exec_fair_admit(exec_t *ex, const char *user_id, const char *submission_id,
                     kvc_share_wait_t *why);

/** Tells the learner why the job waits: a `queued` event with
 * Queued.waiting_for (best effort). */
void exec_fair_tell_waiting(exec_job_t *j, kvc_share_wait_t why);

/** Gives the place back (best effort: a lease not given back ends by itself). */
void exec_fair_release(exec_t *ex, const char *user_id, const char *submission_id);

/** Charges a job's sandbox time to its learner's minute
 * (DOJO_EXECUTOR_LEARNER_SANDBOX_SECONDS; best effort). Before the release,
 * so that the learner's next job is admitted against it. */
void exec_fair_charge(exec_t *ex, const char *user_id, int64_t sandbox_ms);

/** Renews the leases of the placed jobs running here (the reclaimer's
 * heartbeat). */
void exec_fair_renew(exec_t *ex);

/* ------------------------------------------------------------------------
 * Judge bundles, cached by (slug, version) (bundles.c)
 * ------------------------------------------------------------------------ */
int exec_bundles_open(exec_bundle_cache_t **out, int capacity);
void exec_bundles_close(exec_bundle_cache_t *c);
/** The bundle of (slug, version), fetched from content on a miss. *out is
 * a reference: exec_bundle_release it. NOT_FOUND for an unknown version,
 * UNAVAILABLE when content cannot be reached. */
int exec_bundle_get(exec_t *ex, const char *slug, int version,
                    const Dojo__Content__V1__JudgeBundle **out, err_t **err);
void exec_bundle_release(exec_t *ex, const Dojo__Content__V1__JudgeBundle *b);

/* ------------------------------------------------------------------------
 * Test data blobs on disk, by SHA-256 (blobs.c)
 * ------------------------------------------------------------------------ */

/** Opens the cache folder `dir` (created if missing; what it holds is kept,
 * half-written files removed), bounded to `capacity` bytes. */
int exec_blobs_open(exec_blob_cache_t **out, const char *dir, int64_t capacity, err_t **err);
void exec_blobs_close(exec_blob_cache_t *c);
/** The blob's file (written to `path`), fetched from content (ReadBlob,
 * streamed to disk, hash checked) on a miss — or without `fetch`, 1 (and no
 * reference) on a miss; a concurrent fetch of the same blob is waited for.
 * Returns 0 with a reference: exec_blob_release it; referenced blobs are
 * never evicted. UNAVAILABLE/DATA_LOSS/NOT_FOUND when it cannot be had. */
int exec_blob_get(exec_t *ex, const char *sha256, bool fetch, char *path, size_t cap,
                  err_t **err);
void exec_blob_release(exec_t *ex, const char *sha256);
/** How many blobs and bytes the cache holds now. */
void exec_blobs_stats(exec_blob_cache_t *c, int *count, int64_t *bytes);

/* ------------------------------------------------------------------------
 * A job's control channel (control.c)
 * ------------------------------------------------------------------------ */

/** Starts the thread that reads dojo:ctl:{id} for Redis job `j` (a cancel
 * sets j->cancel; with `interactive`, stdin data goes to the pipe given by
 * exec_control_give_stdin) and waits, up to 2 s, until it has read what the
 * stream already held, so a cancel sent while the job was queued stops it
 * before it runs. *out lives in j's arena; never fails (without a thread,
 * logged, the job runs uncontrolled). */
void exec_control_start(exec_control_t **out, exec_job_t *j, bool interactive);

/** Hands the write end of the program's stdin to the control thread, which
 * owns it from now on (writes, then closes it). */
void exec_control_give_stdin(exec_control_t *c, int fd);

/** Sets j->done, wakes the thread, waits for it, and closes the stdin pipe
 * if still open. NULL is fine. */
void exec_control_stop(exec_control_t *c);

/* ------------------------------------------------------------------------
 * Gamification calls (results.c)
 * ------------------------------------------------------------------------ */

/** GetSubmission of the job's submission. *out is new (cleanup_pb). */
int exec_get_submission(exec_job_t *j, Dojo__Gamification__V1__GetSubmissionResponse **out,
                        err_t **err);

/** RecordResult, tried up to three times on UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED or ABORTED (it is idempotent). *out is new. */
int exec_record_result(exec_job_t *j, const Dojo__Gamification__V1__RecordResultRequest *req,
                       Dojo__Gamification__V1__RecordResultResponse **out, err_t **err);

/** Ends a job that is given up: IE final event (after JobError), and an IE
 * RecordResult when the submission exists. Best effort. */
void exec_job_fail(exec_job_t *j, const char *public_msg);

/* ------------------------------------------------------------------------
 * Events (events.c)
 * ------------------------------------------------------------------------ */

/** The Redis sink: the packed event appended to dojo:sub:{id} (kvc_append,
 * expiring DOJO_EXECUTOR_EVENT_TTL after this write). */
int exec_events_redis_sink(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err);

/** Reads the highest seq already in dojo:sub:{id} (0 when empty) into
 * job->seq, so this attempt continues after it. */
int exec_events_resume(exec_job_t *job, err_t **err);

/** Fills submission_id, seq, emitted_at and attempt of `ev` and writes it
 * through the job's sink. Thread-safe per job. */
int exec_emit(exec_job_t *job, Dojo__Executor__V1__Event *ev, err_t **err);

/** exec_emit, logging (not returning) a failure: for events whose loss the
 * final result makes good. */
void exec_emit_or_log(exec_job_t *job, Dojo__Executor__V1__Event *ev);

/** Writes a JobError event (`msg` is shown to the learner). */
void exec_emit_job_error(exec_job_t *job, const char *msg, bool will_retry);

/** Builds the FinalResult of an already finished submission (its stored
 * result) and writes it. */
int exec_emit_stored_result(exec_job_t *job, const Dojo__Gamification__V1__Submission *s,
                            err_t **err);

/* ------------------------------------------------------------------------
 * Queue (queue.c)
 * ------------------------------------------------------------------------ */

/** The job streams, read in this order: counted contest submissions
 * (KVC_JOBS_CONTEST) ahead of everything else (KVC_JOBS). */
#define EXEC_NSTREAMS 2
extern const char *const exec_streams[EXEC_NSTREAMS];

/** An entry of one of the job streams. */
typedef struct exec_entry {
    int stream; /* index into exec_streams */
    char id[64];
} exec_entry_t;

/** Creates the consumer group on each stream (BUSYGROUP is fine). */
int exec_queue_init(exec_t *ex, err_t **err);
/** True once the executor stops taking jobs (SIGTERM, or the server drains). */
bool exec_queue_stopping(exec_t *ex);
/** XACK of one entry of exec_streams[stream]. */
int exec_queue_ack(exec_t *ex, int stream, const char *id, err_t **err);
/** Queues an entry taken over from another consumer (copied) for the next
 * free worker, ahead of new entries, and wakes the idle workers. false (and
 * nothing queued) when that entry is queued or running already. */
bool exec_queue_push_claimed(exec_t *ex, int stream, const char *id, const char *payload,
                             size_t len, int deliveries);
/** Workers without a job, minus the taken-over entries already waiting. */
int exec_queue_idle_workers(exec_t *ex);
/** True while any worker runs a job. */
bool exec_queue_busy(exec_t *ex);
/** The entry ids this executor holds now — running, taken over and waiting
 * for a worker, or waiting for their learner's place — into *out (new: free
 * it); returns how many. */
int exec_queue_held_entries(exec_t *ex, exec_entry_t **out);
/** Entries waiting for their learner's running place. */
int exec_queue_waiting(exec_t *ex);
/** Starts the worker threads and the reclaimer. */
int exec_queue_start(exec_t *ex, err_t **err);
/** Asks every thread to stop after its current job and waits for them. */
void exec_queue_stop(exec_t *ex);
/** pending (XPENDING) and lag (XINFO GROUPS; -1 unknown) of the group,
 * summed over the streams. */
int exec_queue_depth(exec_t *ex, int64_t *pending, int64_t *lag, err_t **err);
/** Registers the queue depth gauge refresh (metrics_on_scrape). */
void exec_queue_metrics(exec_t *ex);

/* ------------------------------------------------------------------------
 * The group's upkeep (reclaim.c)
 * ------------------------------------------------------------------------ */

/** Before the workers start: writes this executor's alive marker and takes
 * back the entries an earlier process with the same id left pending. */
void exec_reclaim_start(exec_t *ex);
/** The reclaimer thread (`arg` is the exec_t): heartbeats, rescue of dead
 * consumers' entries, XAUTOCLAIM of idle ones, trimming; at the stop it keeps
 * heartbeats going until the workers are done, then leaves the group. */
void *exec_reclaimer_main(void *arg);

/* ------------------------------------------------------------------------
 * Admin service (admin.c)
 * ------------------------------------------------------------------------ */
extern const rpc_handler_t exec_admin_handlers[];

#endif

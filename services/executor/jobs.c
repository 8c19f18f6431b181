/* jobs.c — running one job: the judge bundle (cached), the sandbox run, a
 * verdict per test, the overall result, Gamification.RecordResult, and the
 * final event.
 *
 * A job's thread (a queue worker, or a RunJob call) runs the sandbox; the
 * sandbox's callbacks arrive on that thread and turn into events at once.
 * Redis jobs also have a control thread reading dojo:ctl:{id} from the
 * beginning: it feeds an interactive program's stdin through a pipe and sets
 * the cancel flag the sandbox watches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "libcommon/cleanup.h"
#include "libcommon/log.h"
#include "libcommon/metrics.h"

#define V(x) DOJO__COMMON__V1__VERDICT__VERDICT_##x

/* ------------------------------------------------------------------------
 * Running jobs and sandbox slots
 * ------------------------------------------------------------------------ */

void exec_running_add(exec_t *ex, exec_job_t *j)
{
    pthread_mutex_lock(&ex->lock);
    j->next = NULL;
    j->prev = NULL;
    if (!ex->running) {
        ex->running = j;
    } else {
        exec_job_t *t = ex->running;
        while (t->next)
            t = t->next;
        t->next = j;
        j->prev = t;
    }
    pthread_mutex_unlock(&ex->lock);
    atomic_fetch_add(&ex->jobs_running, 1);
    metrics_gauge_set("dojo_executor_jobs_running", "", atomic_load(&ex->jobs_running));
}

void exec_running_remove(exec_t *ex, exec_job_t *j)
{
    pthread_mutex_lock(&ex->lock);
    if (j->prev)
        j->prev->next = j->next;
    else if (ex->running == j)
        ex->running = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    pthread_mutex_unlock(&ex->lock);
    atomic_fetch_sub(&ex->jobs_running, 1);
    metrics_gauge_set("dojo_executor_jobs_running", "", atomic_load(&ex->jobs_running));
}

int exec_slot_take(exec_t *ex, int from, int to)
{
    int got = -1;
    pthread_mutex_lock(&ex->lock);
    for (int s = from; s < to; s++) {
        if (!ex->slot_busy[s]) {
            ex->slot_busy[s] = true;
            got = s;
            break;
        }
    }
    pthread_mutex_unlock(&ex->lock);
    return got;
}

void exec_slot_release(exec_t *ex, int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&ex->lock);
    ex->slot_busy[slot] = false;
    pthread_mutex_unlock(&ex->lock);
}

void exec_job_init(exec_job_t *j, exec_t *ex, const Dojo__Executor__V1__Job *job)
{
    memset(j, 0, sizeof *j);
    j->ex = ex;
    j->job = job;
    snprintf(j->submission_id, sizeof j->submission_id, "%s", job->submission_id);
    j->attempt = job->attempt > 0 ? job->attempt : 1;
    j->slot = -1;
    j->record = true;
    j->sink = exec_events_redis_sink;
    pthread_mutex_init(&j->ev_lock, NULL);
    atomic_init(&j->cancel, false);
    atomic_init(&j->done, false);
    atomic_init(&j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_PREPARING);
    atomic_init(&j->tests_done, 0);
    j->started_us = wall_us();
    j->stdin_r = j->stdin_w = -1;
}

void exec_job_destroy(exec_job_t *j)
{
    if (j->stdin_r >= 0)
        close(j->stdin_r);
    if (j->stdin_w >= 0)
        close(j->stdin_w);
    j->stdin_r = j->stdin_w = -1;
    pthread_mutex_destroy(&j->ev_lock);
}

/* ------------------------------------------------------------------------
 * Judge bundles, cached by (slug, version): a pair never changes meaning.
 * ------------------------------------------------------------------------ */

typedef struct bundle_entry {
    char *slug;
    int version;
    Dojo__Content__V1__GetJudgeBundleResponse *resp;
    int refs;
    int64_t used_ms;
    struct bundle_entry *next;
} bundle_entry_t;

struct exec_bundle_cache {
    pthread_mutex_t lock;
    bundle_entry_t *head;
    int count, capacity;
};

int exec_bundles_open(exec_bundle_cache_t **out, int capacity)
{
    exec_bundle_cache_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    *out = c;
    return 0;
}

static void bundle_entry_free(bundle_entry_t *e)
{
    free(e->slug);
    if (e->resp)
        protobuf_c_message_free_unpacked(&e->resp->base, NULL);
    free(e);
}

void exec_bundles_close(exec_bundle_cache_t *c)
{
    if (!c)
        return;
    for (bundle_entry_t *e = c->head, *n; e; e = n) {
        n = e->next;
        bundle_entry_free(e);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Drops least recently used unreferenced entries above capacity. */
static void bundles_trim(exec_bundle_cache_t *c)
{
    while (c->count > c->capacity) {
        bundle_entry_t **victim = NULL;
        for (bundle_entry_t **pp = &c->head; *pp; pp = &(*pp)->next)
            if ((*pp)->refs == 0 && (!victim || (*pp)->used_ms < (*victim)->used_ms))
                victim = pp;
        if (!victim)
            return;
        bundle_entry_t *e = *victim;
        *victim = e->next;
        bundle_entry_free(e);
        c->count--;
    }
}

int exec_bundle_get(exec_t *ex, const char *slug, int version,
                    const Dojo__Content__V1__JudgeBundle **out, err_t **err)
{
    exec_bundle_cache_t *c = ex->bundles;
    pthread_mutex_lock(&c->lock);
    for (bundle_entry_t *e = c->head; e; e = e->next) {
        if (e->version == version && !strcmp(e->slug, slug)) {
            e->refs++;
            e->used_ms = mono_ms();
            *out = e->resp->bundle;
            pthread_mutex_unlock(&c->lock);
            metrics_counter_add("dojo_executor_bundle_cache_total", "result=\"hit\"", 1);
            return 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    metrics_counter_add("dojo_executor_bundle_cache_total", "result=\"miss\"", 1);

    Dojo__Content__V1__GetJudgeBundleRequest req = DOJO__CONTENT__V1__GET_JUDGE_BUNDLE_REQUEST__INIT;
    req.slug = (char *)slug;
    req.version = version;
    ProtobufCMessage *resp_msg = NULL;
    rpc_call_opts_t opts = {.timeout_ms = 15000,
                            .idempotent = true,
                            .metadata = identity_service_metadata(ex->ids)};
    if (rpc_client_call(ex->content, &dojo__content__v1__content__descriptor, "GetJudgeBundle",
                        &req.base, &resp_msg, &opts, err) < 0)
        return err_wrap(err, "judge bundle %s v%d", slug, version);
    Dojo__Content__V1__GetJudgeBundleResponse *resp = (void *)resp_msg;
    if (!resp->bundle) {
        protobuf_c_message_free_unpacked(resp_msg, NULL);
        return err_set(err, GRPC_STATUS_INTERNAL, "judge bundle %s v%d: empty reply", slug,
                       version);
    }
    bundle_entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->slug = strdup(slug)))
        abort();
    e->version = version;
    e->resp = resp;
    e->refs = 1;
    e->used_ms = mono_ms();
    pthread_mutex_lock(&c->lock);
    e->next = c->head;
    c->head = e;
    c->count++;
    bundles_trim(c);
    pthread_mutex_unlock(&c->lock);
    *out = resp->bundle;
    return 0;
}

void exec_bundle_release(exec_t *ex, const Dojo__Content__V1__JudgeBundle *b)
{
    if (!b)
        return;
    exec_bundle_cache_t *c = ex->bundles;
    pthread_mutex_lock(&c->lock);
    for (bundle_entry_t *e = c->head; e; e = e->next) {
        if (e->resp->bundle == b) {
            e->refs--;
            break;
        }
    }
    bundles_trim(c);
    pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------------------------
 * Control: dojo:ctl:{id}, read from the beginning while the job runs.
 * ------------------------------------------------------------------------ */

#define STDIN_TOTAL_MAX (1024 * 1024)

typedef struct control {
    exec_job_t *j;
    pthread_t thread;
    bool started;
    atomic_bool first_pass;
    bool interactive;
    bool stdin_closed;
    char *pending;
    size_t pending_len;
    size_t total_in;
    int64_t last_seq;
} control_t;

static void control_flush(control_t *c)
{
    exec_job_t *j = c->j;
    while (j->stdin_w >= 0 && c->pending_len > 0) {
        ssize_t n = write(j->stdin_w, c->pending, c->pending_len);
        if (n > 0) {
            memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
            c->pending_len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        /* EPIPE: the program is gone (or closed its stdin). */
        c->pending_len = 0;
        c->stdin_closed = true;
    }
    if (c->stdin_closed && c->pending_len == 0 && j->stdin_w >= 0) {
        close(j->stdin_w);
        j->stdin_w = -1;
    }
}

static void control_apply(control_t *c, const Dojo__Executor__V1__Control *m)
{
    exec_job_t *j = c->j;
    if (m->seq != 0 && m->seq <= c->last_seq)
        return; /* a repeat */
    if (m->seq > c->last_seq)
        c->last_seq = m->seq;
    switch (m->action_case) {
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_CANCEL:
        if (!atomic_exchange(&j->cancel, true))
            LOG_INFO("job cancelled", "submission=%s reason=\"%s\"", j->submission_id,
                     log_esc(m->cancel && m->cancel->reason ? m->cancel->reason : ""));
        break;
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_DATA:
        if (!c->interactive || c->stdin_closed || !m->stdin_data)
            break;
        if (c->total_in + m->stdin_data->data.len > STDIN_TOTAL_MAX)
            break;
        c->pending = realloc(c->pending, c->pending_len + m->stdin_data->data.len + 1);
        if (!c->pending)
            abort();
        memcpy(c->pending + c->pending_len, m->stdin_data->data.data, m->stdin_data->data.len);
        c->pending_len += m->stdin_data->data.len;
        c->total_in += m->stdin_data->data.len;
        break;
    case DOJO__EXECUTOR__V1__CONTROL__ACTION_STDIN_CLOSE:
        if (c->interactive)
            c->stdin_closed = true;
        break;
    default:
        break;
    }
}

static void *control_main(void *arg)
{
    control_t *c = arg;
    exec_job_t *j = c->j;
    char key[128], last_id[64] = "0-0";
    snprintf(key, sizeof key, EXEC_CTL_PREFIX "%s", j->submission_id);
    bool first = true;
    while (!atomic_load(&j->done)) {
        cleanup_redis_reply redisReply *r = NULL;
        cleanup_err err_t *err = NULL;
        int rc;
        if (first) {
            rc = kv_command(j->ex->kv, &r, &err, "XREAD COUNT 64 STREAMS %s %s", key, last_id);
        } else {
            const char *block = c->pending_len ? "20" : "250";
            rc = kv_command(j->ex->kv_block, &r, &err, "XREAD COUNT 64 BLOCK %s STREAMS %s %s",
                            block, key, last_id);
        }
        if (rc < 0) {
            LOG_WARN("control stream read failed", "submission=%s error=\"%s\"", j->submission_id,
                     log_esc(err->msg));
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
            /* [[key, [[id, [field, value]], ...]]] */
            redisReply *entries = r->element[0]->elements > 1 ? r->element[0]->element[1] : NULL;
            for (size_t i = 0; entries && i < entries->elements; i++) {
                redisReply *e = entries->element[i];
                if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
                    continue;
                snprintf(last_id, sizeof last_id, "%s", e->element[0]->str);
                redisReply *f = e->element[1];
                for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2) {
                    if (strcmp(f->element[k]->str, "control") != 0)
                        continue;
                    Dojo__Executor__V1__Control *m = dojo__executor__v1__control__unpack(
                        NULL, f->element[k + 1]->len, (const uint8_t *)f->element[k + 1]->str);
                    if (!m) {
                        LOG_WARN("control message does not decode", "submission=%s entry=%s",
                                 j->submission_id, last_id);
                        continue;
                    }
                    control_apply(c, m);
                    dojo__executor__v1__control__free_unpacked(m, NULL);
                }
            }
        }
        if (first) {
            first = false;
            atomic_store(&c->first_pass, true);
        }
        control_flush(c);
    }
    return NULL;
}

static void control_start(control_t *c, exec_job_t *j, bool interactive)
{
    memset(c, 0, sizeof *c);
    c->j = j;
    c->interactive = interactive;
    atomic_init(&c->first_pass, false);
    if (pthread_create(&c->thread, NULL, control_main, c) != 0) {
        LOG_ERROR("cannot start the control thread", "submission=%s", j->submission_id);
        atomic_store(&c->first_pass, true);
        return;
    }
    c->started = true;
    /* A cancel sent while the job was queued must stop it before it runs. */
    for (int i = 0; i < 2000 && !atomic_load(&c->first_pass); i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* Wakes a control thread blocked in XREAD on the job's stream: an empty
 * Control (no action) is ignored by control_apply, even on a replay. Without
 * it the worker waited out the BLOCK (up to 250 ms) before its next job. */
static void control_wake(exec_job_t *j)
{
    char key[128];
    snprintf(key, sizeof key, EXEC_CTL_PREFIX "%s", j->submission_id);
    cleanup_err err_t *err = NULL;
    if (exec_stream_append(j->ex, key, "control", "", 0, &err) < 0)
        LOG_WARN("control thread not woken", "submission=%s error=\"%s\"", j->submission_id,
                 log_esc(err->msg));
}

static void control_stop(control_t *c)
{
    atomic_store(&c->j->done, true);
    if (c->started) {
        control_wake(c->j);
        pthread_join(c->thread, NULL);
    }
    free(c->pending);
    c->pending = NULL;
}

/* ------------------------------------------------------------------------
 * One run
 * ------------------------------------------------------------------------ */

typedef struct test_state {
    int bundle_index;
    const Dojo__Content__V1__TestCase *tc;
    int hidden_k; /* 1-based among hidden tests; 0 for visible */
    char name[32];  /* "hidden-<k>" */
    bool reported;  /* the driver reported it */
    bool deferred;  /* ran cleanly; waits for the custom checker */
    bool emitted;   /* its test_result event was written */
    exec_verdict_t verdict;
    char message[EXEC_MESSAGE_MAX + 1];
    long cpu_ms, wall_ms, rss_kib;
    char *excerpt; /* visible only */
    char *actual;  /* custom checker: the output to check */
    size_t actual_len;
    Dojo__Gamification__V1__TestResult result;
} test_state_t;

typedef struct run_ctx {
    exec_job_t *j;
    const Dojo__Content__V1__JudgeBundle *bundle;
    exec_checker_t checker;
    bool custom;
    sandbox_limits_t limits;
    test_state_t *tests;
    int ntests;
    bool stdin_run;
    /* compile */
    bool compile_reported;
    bool compile_ok;
    char *compile_output;
    /* stdin run */
    bool have_record;
    sandbox_record_t rec;
    char rec_msg[EXEC_MESSAGE_MAX + 1];
    exec_verdict_t rec_verdict;
    int64_t out_off[2];
    bool out_cut[2];
} run_ctx_t;

static void emit_or_log(exec_job_t *j, Dojo__Executor__V1__Event *ev)
{
    cleanup_err err_t *err = NULL;
    if (exec_emit(j, ev, &err) < 0)
        LOG_WARN("event not written", "submission=%s kind=%d error=\"%s\"", j->submission_id,
                 (int)ev->kind_case, log_esc(err->msg));
}

static void fill_result(run_ctx_t *r, test_state_t *t)
{
    Dojo__Gamification__V1__TestResult *tr = &t->result;
    dojo__gamification__v1__test_result__init(tr);
    tr->index = t->bundle_index;
    tr->hidden = t->tc->hidden;
    tr->name = t->tc->hidden ? NULL : t->tc->name;
    tr->verdict = t->verdict;
    tr->cpu_ms = (int32_t)t->cpu_ms;
    tr->wall_ms = (int32_t)t->wall_ms;
    tr->memory_kib = (int32_t)t->rss_kib;
    tr->weight = t->tc->weight > 0 ? t->tc->weight : 1;
    tr->output_excerpt = t->excerpt && !t->tc->hidden ? t->excerpt : "";
    (void)r;
    if (t->tc->hidden) {
        /* Hidden tests never quote input, expected or actual output. */
        snprintf(t->name, sizeof t->name, "hidden-%d", t->hidden_k);
        tr->name = t->name;
        switch (t->verdict) {
        case V(RE):
        case V(TLE):
        case V(MLE):
        case V(OLE):
            tr->message = t->message; /* figures and exit codes only */
            break;
        default:
            tr->message = (char *)exec_verdict_phrase(t->verdict);
        }
    } else {
        tr->message = t->message[0] ? t->message : (char *)exec_verdict_phrase(t->verdict);
    }
}

static void report_test(run_ctx_t *r, test_state_t *t)
{
    fill_result(r, t);
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_TEST_RESULT;
    ev.test_result = &t->result;
    emit_or_log(r->j, &ev);
    t->emitted = true;
}

/* The last line of stderr, for a visible test's runtime error message. */
static void append_stderr_tail(char *msg, size_t cap, const char *err, size_t len)
{
    while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == '\r' || err[len - 1] == ' '))
        len--;
    if (len == 0)
        return;
    size_t start = len;
    while (start > 0 && err[start - 1] != '\n')
        start--;
    char *clean = exec_utf8_clean(err + start, len - start, 120);
    size_t used = strlen(msg);
    if (used + 3 < cap)
        snprintf(msg + used, cap - used, ": %s", clean);
    free(clean);
}

static void on_compile(void *payload, bool ok, const char *output, size_t len)
{
    run_ctx_t *r = payload;
    r->compile_reported = true;
    r->compile_ok = ok;
    free(r->compile_output);
    r->compile_output = exec_utf8_clean(output ? output : "", len, EXEC_COMPILE_OUTPUT_MAX);
    atomic_store(&r->j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RUNNING);
    Dojo__Executor__V1__CompileOutput co = DOJO__EXECUTOR__V1__COMPILE_OUTPUT__INIT;
    co.text = r->compile_output;
    co.ok = ok;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_COMPILE_OUTPUT;
    ev.compile_output = &co;
    emit_or_log(r->j, &ev);
}

static void on_record(void *payload, const sandbox_record_t *rec)
{
    run_ctx_t *r = payload;
    atomic_store(&r->j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RUNNING);
    if (r->stdin_run) {
        r->have_record = true;
        r->rec = *rec;
        r->rec.out = NULL;
        r->rec.err = NULL;
        r->rec_verdict = exec_verdict_of_record(rec, &r->limits, r->rec_msg, sizeof r->rec_msg);
        return;
    }
    if (rec->index < 0 || rec->index >= r->ntests)
        return;
    test_state_t *t = &r->tests[rec->index];
    t->reported = true;
    t->cpu_ms = rec->cpu_ms;
    t->wall_ms = rec->wall_ms;
    t->rss_kib = rec->rss_kib;
    if (!t->tc->hidden)
        t->excerpt = exec_utf8_clean(rec->out ? rec->out : "", rec->out_len, EXEC_EXCERPT_MAX);
    t->verdict = exec_verdict_of_record(rec, &r->limits, t->message, sizeof t->message);
    if (t->verdict == V(RE) && !t->tc->hidden && rec->err)
        append_stderr_tail(t->message, sizeof t->message, rec->err, rec->err_len);
    atomic_fetch_add(&r->j->tests_done, 1);
    if (t->verdict == V(AC)) {
        if (r->custom) {
            t->actual = malloc(rec->out_len + 1);
            if (!t->actual)
                abort();
            if (rec->out_len)
                memcpy(t->actual, rec->out, rec->out_len);
            t->actual_len = rec->out_len;
            t->deferred = true;
            return; /* judged after the run, in one checker sandbox */
        }
        const char *exp = t->tc->expected ? t->tc->expected : "";
        if (!checker_compare(&r->checker, exp, strlen(exp), rec->out ? rec->out : "",
                             rec->out_len, t->message, sizeof t->message))
            t->verdict = V(WA);
        else
            t->message[0] = '\0';
    }
    report_test(r, t);
}

static void on_chunk(void *payload, char stream, const char *data, size_t len)
{
    run_ctx_t *r = payload;
    atomic_store(&r->j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RUNNING);
    int s = (stream == 'E' || stream == 'e' || stream == 2) ? 1 : 0;
    if (r->out_cut[s])
        return;
    int64_t cap = s ? EXEC_STDERR_CAP : (int64_t)r->limits.output_kib * 1024;
    while (len > 0) {
        size_t n = len > EXEC_CHUNK_MAX ? EXEC_CHUNK_MAX : len;
        bool cut = false;
        if (r->out_off[s] + (int64_t)n >= cap) {
            n = (size_t)(cap - r->out_off[s]);
            cut = true;
        }
        Dojo__Executor__V1__OutputChunk ch = DOJO__EXECUTOR__V1__OUTPUT_CHUNK__INIT;
        ch.data.data = (uint8_t *)data;
        ch.data.len = n;
        ch.offset = r->out_off[s];
        ch.truncated = cut && (size_t)n < len;
        Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
        if (s) {
            ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STDERR_CHUNK;
            ev.stderr_chunk = &ch;
        } else {
            ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STDOUT_CHUNK;
            ev.stdout_chunk = &ch;
        }
        if (n > 0 || ch.truncated)
            emit_or_log(r->j, &ev);
        r->out_off[s] += (int64_t)n;
        data += n;
        len -= n;
        if (cut && len > 0) {
            r->out_cut[s] = true;
            return;
        }
    }
}

static void run_free(run_ctx_t *r)
{
    for (int i = 0; i < r->ntests; i++) {
        free(r->tests[i].excerpt);
        free(r->tests[i].actual);
    }
    free(r->tests);
    free(r->compile_output);
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* The limits of the job: the language's effective limits in the bundle,
 * with a RUN's own non-zero limits clamped to the maximums. */
static void job_limits(const Dojo__Executor__V1__Job *job, const Dojo__Content__V1__JudgeBundle *b,
                       const Dojo__Content__V1__LanguageOption *opt, sandbox_limits_t *out)
{
    const Dojo__Content__V1__Limits *l = opt && opt->limits ? opt->limits : b->limits;
    out->cpu_ms = l && l->cpu_ms ? l->cpu_ms : 2000;
    out->wall_ms = l && l->wall_ms ? l->wall_ms : 5000;
    out->memory_kib = l && l->memory_kib ? l->memory_kib : 262144;
    out->output_kib = l && l->output_kib ? l->output_kib : 1024;
    if (job->kind == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN && job->limits) {
        const Dojo__Content__V1__Limits *o = job->limits;
        if (o->cpu_ms)
            out->cpu_ms = (int)clamp64(o->cpu_ms, 100, 10000);
        if (o->wall_ms)
            out->wall_ms = (int)clamp64(o->wall_ms, 100, 30000);
        if (o->memory_kib)
            out->memory_kib = (int)clamp64(o->memory_kib, 16384, 1048576);
        if (o->output_kib)
            out->output_kib = (int)clamp64(o->output_kib, 1, 16384);
        if (out->wall_ms < out->cpu_ms)
            out->wall_ms = out->cpu_ms;
    }
}

static void sandbox_id(const exec_job_t *j, char *out, size_t cap)
{
    char sub[16];
    size_t k = 0;
    for (const char *p = j->submission_id; *p && k < 8; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            sub[k++] = c;
    }
    sub[k] = '\0';
    snprintf(out, cap, "%s-%d-%d-%x", k ? sub : "job", j->attempt, j->slot,
             (unsigned)random() & 0xffffff);
}

/* ------------------------------------------------------------------------
 * Recording
 * ------------------------------------------------------------------------ */

static bool retryable(const err_t *e)
{
    return e && (e->code == GRPC_STATUS_UNAVAILABLE || e->code == GRPC_STATUS_DEADLINE_EXCEEDED ||
                 e->code == GRPC_STATUS_RESOURCE_EXHAUSTED || e->code == GRPC_STATUS_ABORTED);
}

static int record_result(exec_job_t *j, const Dojo__Gamification__V1__RecordResultRequest *req,
                         Dojo__Gamification__V1__RecordResultResponse **out, err_t **err)
{
    atomic_store(&j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RECORDING);
    rpc_call_opts_t opts = {.timeout_ms = 10000,
                            .idempotent = true,
                            .request_id = j->job->request_id,
                            .metadata = identity_service_metadata(j->ex->ids)};
    for (int attempt = 0;; attempt++) {
        ProtobufCMessage *resp = NULL;
        if (rpc_client_call(j->ex->game, &dojo__gamification__v1__gamification__descriptor,
                            "RecordResult", &req->base, &resp, &opts, err) == 0) {
            *out = (void *)resp;
            return 0;
        }
        if (attempt >= 2 || !retryable(*err))
            return err_wrap(err, "record result");
        LOG_WARN("record result failed; retrying", "submission=%s error=\"%s\"",
                 j->submission_id, log_esc((*err)->msg));
        err_clear(err);
        struct timespec ts = {0, (attempt + 1) * 300 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int get_submission(exec_job_t *j, Dojo__Gamification__V1__GetSubmissionResponse **out,
                          err_t **err)
{
    Dojo__Gamification__V1__GetSubmissionRequest req =
        DOJO__GAMIFICATION__V1__GET_SUBMISSION_REQUEST__INIT;
    req.submission_id = j->submission_id;
    rpc_call_opts_t opts = {.timeout_ms = 5000,
                            .idempotent = true,
                            .request_id = j->job->request_id,
                            .metadata = identity_service_metadata(j->ex->ids)};
    ProtobufCMessage *resp = NULL;
    if (rpc_client_call(j->ex->game, &dojo__gamification__v1__gamification__descriptor,
                        "GetSubmission", &req.base, &resp, &opts, err) < 0)
        return err_wrap(err, "get submission");
    *out = (void *)resp;
    return 0;
}

static Dojo__Common__V1__Timestamp *ts_of(Dojo__Common__V1__Timestamp *ts, int64_t us)
{
    dojo__common__v1__timestamp__init(ts);
    ts->unix_micros = us;
    return ts;
}

static void emit_job_error(exec_job_t *j, const char *msg, bool will_retry)
{
    Dojo__Executor__V1__JobError je = DOJO__EXECUTOR__V1__JOB_ERROR__INIT;
    je.message = (char *)msg;
    je.will_retry = will_retry;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_ERROR;
    ev.error = &je;
    emit_or_log(j, &ev);
}

void exec_job_fail(exec_job_t *j, const char *public_msg)
{
    Dojo__Gamification__V1__RecordResultRequest req =
        DOJO__GAMIFICATION__V1__RECORD_RESULT_REQUEST__INIT;
    Dojo__Common__V1__Timestamp t0, t1;
    req.submission_id = j->submission_id;
    req.verdict = V(IE);
    req.started_at = ts_of(&t0, j->started_us);
    req.finished_at = ts_of(&t1, wall_us());
    req.executor_id = j->ex->cfg.executor_id;
    Dojo__Gamification__V1__RecordResultResponse *resp = NULL;
    cleanup_err err_t *err = NULL;
    bool recorded = false;
    if (j->record) {
        if (record_result(j, &req, &resp, &err) == 0)
            recorded = true;
        else
            LOG_WARN("internal-error result not recorded", "submission=%s error=\"%s\"",
                     j->submission_id, log_esc(err->msg));
    }
    Dojo__Executor__V1__FinalResult fr = DOJO__EXECUTOR__V1__FINAL_RESULT__INIT;
    fr.verdict = V(IE);
    fr.message = (char *)public_msg;
    fr.recorded = recorded;
    fr.awards = recorded ? resp->awards : NULL;
    fr.wall_ms = (wall_us() - j->started_us) / 1000;
    Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
    ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
    ev.result = &fr;
    emit_or_log(j, &ev);
    if (resp)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    atomic_fetch_add(&j->ex->jobs_done, 1);
    atomic_fetch_add(&j->ex->jobs_failed, 1);
    metrics_counter_add("dojo_executor_jobs_total", "verdict=\"IE\"", 1);
}

/* ------------------------------------------------------------------------
 * The job
 * ------------------------------------------------------------------------ */

static const Dojo__Content__V1__LanguageOption *
task_language(const Dojo__Content__V1__JudgeBundle *b, const char *id)
{
    for (size_t i = 0; i < b->n_languages; i++)
        if (b->languages[i]->language && !strcmp(b->languages[i]->language, id))
            return b->languages[i];
    return NULL;
}

static void summary(char *out, size_t cap, run_ctx_t *r, exec_verdict_t verdict, int passed,
                    int total)
{
    if (verdict == V(CANCELLED)) {
        snprintf(out, cap, "cancelled");
        return;
    }
    if (verdict == V(CE)) {
        snprintf(out, cap, "compilation failed");
        return;
    }
    if (r->stdin_run) {
        if (!r->have_record)
            snprintf(out, cap, "%s", exec_verdict_phrase(verdict));
        else if (verdict == V(AC))
            snprintf(out, cap, "exited with code 0 in %ld ms", r->rec.wall_ms);
        else
            snprintf(out, cap, "%s: %s", exec_verdict_phrase(verdict), r->rec_msg);
        return;
    }
    if (verdict == V(AC)) {
        snprintf(out, cap, "all %d tests passed", total);
        return;
    }
    for (int i = 0; i < r->ntests; i++) {
        test_state_t *t = &r->tests[i];
        if (t->verdict != V(AC)) {
            snprintf(out, cap, "%d/%d tests passed; %s: %s", passed, total,
                     t->result.name ? t->result.name : "?", exec_verdict_phrase(t->verdict));
            return;
        }
    }
    snprintf(out, cap, "%d/%d tests passed", passed, total);
}

exec_job_end_t exec_job_run(exec_job_t *j, char *reason, size_t cap)
{
    exec_t *ex = j->ex;
    const Dojo__Executor__V1__Job *job = j->job;
    bool is_run = job->kind == DOJO__GAMIFICATION__V1__SUBMISSION_KIND__SUBMISSION_KIND_RUN;
    bool stdin_run = is_run && !job->sample_tests;
    bool interactive = stdin_run && job->interactive && !j->synchronous;
    cleanup_err err_t *err = NULL;
    exec_job_end_t end = EXEC_JOB_FINISHED;
    const Dojo__Content__V1__JudgeBundle *bundle = NULL;
    bool cached_bundle = false;
    control_t ctl;
    bool ctl_on = false;
    run_ctx_t r;
    memset(&r, 0, sizeof r);
    Dojo__Gamification__V1__GetSubmissionResponse *sub = NULL;
    Dojo__Gamification__V1__RecordResultResponse *rec_resp = NULL;
    Dojo__Gamification__V1__TestResult **results = NULL;
    const char **inputs = NULL;
    size_t *input_lens = NULL;
    reason[0] = '\0';

    atomic_store(&j->stage, DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_PREPARING);
    if (!j->synchronous && exec_events_resume(j, &err) < 0) {
        snprintf(reason, cap, "%s", err->msg);
        end = EXEC_JOB_RETRY;
        goto out;
    }

    if (j->record) {
        if (get_submission(j, &sub, &err) < 0) {
            snprintf(reason, cap, "%s", err->msg);
            end = err->code == GRPC_STATUS_NOT_FOUND || err->code == GRPC_STATUS_INVALID_ARGUMENT
                      ? EXEC_JOB_GIVE_UP
                      : EXEC_JOB_RETRY;
            if (end == EXEC_JOB_GIVE_UP)
                j->record = false; /* nothing to record against */
            goto out;
        }
        if (sub->submission &&
            sub->submission->state ==
                DOJO__GAMIFICATION__V1__SUBMISSION_STATE__SUBMISSION_STATE_FINISHED) {
            LOG_INFO("submission already judged; re-publishing its result", "submission=%s",
                     j->submission_id);
            if (exec_emit_stored_result(j, sub->submission, &err) < 0) {
                snprintf(reason, cap, "%s", err->msg);
                end = EXEC_JOB_RETRY;
            }
            goto out;
        }
    }

    if (!j->synchronous) {
        control_start(&ctl, j, interactive);
        ctl_on = true;
    }

    if (j->given_bundle) {
        bundle = j->given_bundle;
    } else {
        if (exec_bundle_get(ex, job->task_slug, job->task_version, &bundle, &err) < 0) {
            snprintf(reason, cap, "%s", err->msg);
            end = err->code == GRPC_STATUS_NOT_FOUND ? EXEC_JOB_GIVE_UP : EXEC_JOB_RETRY;
            goto out;
        }
        cached_bundle = true;
    }
    const sandbox_lang_t *lang = exec_lang(ex, job->language);
    const Dojo__Content__V1__LanguageOption *opt = task_language(bundle, job->language);
    if (!lang || !opt) {
        snprintf(reason, cap, "language \"%s\" %s", job->language,
                 !lang ? "is not installed on this executor" : "is not accepted by the task");
        end = EXEC_JOB_GIVE_UP;
        goto out;
    }

    r.j = j;
    r.bundle = bundle;
    r.stdin_run = stdin_run;
    exec_checker_from_bundle(bundle->checker, &r.checker);
    r.custom = r.checker.kind == DOJO__CONTENT__V1__CHECKER_KIND__CHECKER_KIND_CUSTOM;
    job_limits(job, bundle, opt, &r.limits);
    const sandbox_lang_t *checker_lang = NULL;
    if (r.custom && !stdin_run) {
        checker_lang = exec_lang(ex, r.checker.custom_language ? r.checker.custom_language : "");
        if (!checker_lang || !r.checker.custom_source) {
            snprintf(reason, cap, "custom checker language \"%s\" is not installed",
                     r.checker.custom_language ? r.checker.custom_language : "");
            end = EXEC_JOB_GIVE_UP;
            goto out;
        }
    }

    /* Which tests run: all (SUBMIT), the visible ones (sample_tests), none
     * (a RUN on stdin: one interactive-mode run). */
    int hidden_k = 0;
    r.tests = calloc(bundle->n_tests + 1, sizeof *r.tests);
    if (!r.tests)
        abort();
    if (!stdin_run) {
        for (size_t i = 0; i < bundle->n_tests; i++) {
            const Dojo__Content__V1__TestCase *tc = bundle->tests[i];
            if (tc->hidden)
                hidden_k++;
            if (is_run && tc->hidden)
                continue;
            test_state_t *t = &r.tests[r.ntests++];
            t->bundle_index = (int)i;
            t->tc = tc;
            t->hidden_k = tc->hidden ? hidden_k : 0;
            t->verdict = V(UNSPECIFIED);
        }
    }
    j->tests_total = r.ntests;
    inputs = calloc((size_t)r.ntests + 1, sizeof *inputs);
    input_lens = calloc((size_t)r.ntests + 1, sizeof *input_lens);
    if (!inputs || !input_lens)
        abort();
    for (int i = 0; i < r.ntests; i++) {
        inputs[i] = r.tests[i].tc->input ? r.tests[i].tc->input : "";
        input_lens[i] = strlen(inputs[i]);
    }

    /* Standard input of a RUN on stdin: a pipe. stdin_data fits the pipe
     * (at most 64 KiB); more arrives through the control thread. */
    if (stdin_run) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0) {
            snprintf(reason, cap, "pipe: %s", strerror(errno));
            end = EXEC_JOB_RETRY;
            goto out;
        }
        (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
        (void)fcntl(fds[1], F_SETFL, O_NONBLOCK);
        size_t off = 0;
        while (off < job->stdin_data.len) {
            ssize_t n = write(fds[1], job->stdin_data.data + off, job->stdin_data.len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        j->stdin_r = fds[0];
        if (interactive) {
            j->stdin_w = fds[1]; /* the control thread writes and closes it */
        } else {
            close(fds[1]);
        }
    }

    /* Started */
    {
        Dojo__Executor__V1__Started st = DOJO__EXECUTOR__V1__STARTED__INIT;
        st.executor_id = ex->cfg.executor_id;
        st.runtime = (char *)ex->cfg.runtime_name;
        st.test_count = r.ntests;
        Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
        ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_STARTED;
        ev.started = &st;
        if (exec_emit(j, &ev, &err) < 0) {
            snprintf(reason, cap, "%s", err->msg);
            end = EXEC_JOB_RETRY;
            goto out;
        }
    }

    char sid[64];
    sandbox_id(j, sid, sizeof sid);
    sandbox_job_t sj = {
        .runtime = ex->cfg.runtime,
        .slot = j->slot,
        .id = sid,
        .lang = lang,
        .code = job->code ? job->code : "",
        .code_len = job->code ? strlen(job->code) : 0,
        .ntests = r.ntests,
        .inputs = inputs,
        .input_lens = input_lens,
        .interactive = stdin_run,
        .stdin_fd = stdin_run ? j->stdin_r : -1,
        .limits = r.limits,
        .cancel = &j->cancel,
        .payload = &r,
        .on_compile = on_compile,
        .on_record = on_record,
        .on_chunk = on_chunk,
    };
    atomic_store(&j->stage, lang->compile_argv[0] ? DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_COMPILING
                                                  : DOJO__EXECUTOR__V1__JOB_STAGE__JOB_STAGE_RUNNING);
    sandbox_outcome_t outcome;
    memset(&outcome, 0, sizeof outcome);
    int64_t t_run = mono_ms();
    int src = atomic_load(&j->cancel) ? 0 : sandbox_run(&ex->sandbox, &sj, &outcome, &err);
    if (atomic_load(&j->cancel) && src == 0 && outcome.end != SANDBOX_CANCELLED &&
        outcome.tests_reported < r.ntests)
        outcome.end = SANDBOX_CANCELLED;
    if (src == 0 && outcome.end == SANDBOX_DONE && atomic_load(&j->cancel) && r.ntests == 0 &&
        !r.have_record)
        outcome.end = SANDBOX_CANCELLED;
    if (src < 0) {
        LOG_ERROR("sandbox failed", "submission=%s error=\"%s\"", j->submission_id,
                  log_esc(err->msg));
        snprintf(reason, cap, "sandbox: %s", err->msg);
        emit_job_error(j, "the sandbox did not start; retrying",
                       j->attempt < ex->cfg.max_attempts);
        end = EXEC_JOB_RETRY;
        goto out;
    }
    if (outcome.runtime_error[0])
        LOG_INFO("sandbox runtime said", "submission=%s end=%d stderr=\"%s\"", j->submission_id,
                 (int)outcome.end, log_esc(outcome.runtime_error));

    /* Custom checker: one sandbox of its own for every test that ran cleanly. */
    bool checked = false;
    if (r.custom && !stdin_run && outcome.end == SANDBOX_DONE) {
        checker_case_t *cases = calloc((size_t)r.ntests + 1, sizeof *cases);
        int *map = calloc((size_t)r.ntests + 1, sizeof *map);
        if (!cases || !map)
            abort();
        int nc = 0;
        for (int i = 0; i < r.ntests; i++) {
            test_state_t *t = &r.tests[i];
            if (!t->deferred)
                continue;
            cases[nc].input = t->tc->input ? t->tc->input : "";
            cases[nc].input_len = strlen(cases[nc].input);
            cases[nc].expected = t->tc->expected ? t->tc->expected : "";
            cases[nc].expected_len = strlen(cases[nc].expected);
            cases[nc].actual = t->actual ? t->actual : "";
            cases[nc].actual_len = t->actual_len;
            map[nc++] = i;
        }
        int crc = checker_run_custom(&ex->sandbox, ex->cfg.runtime, j->slot, checker_lang,
                                     r.checker.custom_source, cases, nc, &j->cancel, &err);
        if (crc < 0) {
            free(cases);
            free(map);
            snprintf(reason, cap, "%s", err->msg);
            emit_job_error(j, "the checker did not start; retrying",
                           j->attempt < ex->cfg.max_attempts);
            end = EXEC_JOB_RETRY;
            goto out;
        }
        for (int k = 0; k < nc; k++) {
            test_state_t *t = &r.tests[map[k]];
            t->verdict = cases[k].verdict;
            snprintf(t->message, sizeof t->message, "%s",
                     cases[k].verdict == V(AC) && !cases[k].message[0] ? "" : cases[k].message);
        }
        free(cases);
        free(map);
        checked = true;
        if (atomic_load(&j->cancel))
            outcome.end = SANDBOX_CANCELLED;
    }

    /* Tests that never reported: the run ended early. */
    exec_verdict_t missing = V(IE);
    const char *missing_msg = "not run";
    switch (outcome.end) {
    case SANDBOX_WALL_KILLED:
        missing = V(TLE);
        missing_msg = "the time limit of the whole run was exceeded";
        break;
    case SANDBOX_CRASHED:
        missing = V(RE);
        missing_msg = "the sandbox was killed (resource limits)";
        break;
    case SANDBOX_CANCELLED:
        missing = V(CANCELLED);
        missing_msg = "cancelled";
        break;
    default:
        break;
    }
    bool compile_failed = outcome.end == SANDBOX_COMPILE_ERROR;
    bool cancelled = outcome.end == SANDBOX_CANCELLED;
    for (int i = 0; i < r.ntests && !compile_failed; i++) {
        test_state_t *t = &r.tests[i];
        if (!t->reported || (t->deferred && !checked)) {
            t->verdict = missing;
            snprintf(t->message, sizeof t->message, "%s", missing_msg);
        }
        if (!t->emitted)
            report_test(&r, t); /* in test order */
    }

    /* Overall result */
    int passed = 0, score = 0, max_score = 0;
    int64_t cpu = 0;
    long mem = 0;
    exec_verdict_t verdict = V(AC);
    results = calloc((size_t)r.ntests + 1, sizeof *results);
    if (!results)
        abort();
    int nres = 0;
    for (int i = 0; i < r.ntests && !compile_failed; i++) {
        test_state_t *t = &r.tests[i];
        fill_result(&r, t);
        results[nres++] = &t->result;
        max_score += t->result.weight;
        cpu += t->cpu_ms;
        if (t->rss_kib > mem)
            mem = t->rss_kib;
        if (t->verdict == V(AC)) {
            passed++;
            score += t->result.weight;
        } else if (verdict == V(AC)) {
            verdict = t->verdict;
        }
    }
    if (!is_run && bundle->max_score > max_score)
        max_score = bundle->max_score;
    Dojo__Executor__V1__FinalResult fr = DOJO__EXECUTOR__V1__FINAL_RESULT__INIT;
    if (compile_failed) {
        verdict = V(CE);
        score = passed = 0;
        if (!r.compile_reported) {
            r.compile_output = strdup("compilation failed");
        }
    } else if (cancelled) {
        verdict = V(CANCELLED);
    } else if (stdin_run) {
        if (r.have_record) {
            verdict = r.rec_verdict;
            cpu = r.rec.cpu_ms;
            mem = r.rec.rss_kib;
            fr.exit_code = r.rec.term_signal ? -1 : r.rec.exit_code;
            fr.term_signal = r.rec.term_signal;
        } else {
            verdict = missing == V(IE) && outcome.end == SANDBOX_DONE ? V(IE) : missing;
            fr.exit_code = -1;
            fr.term_signal = outcome.end == SANDBOX_WALL_KILLED ? 9 : 0;
            if (verdict == V(TLE))
                snprintf(r.rec_msg, sizeof r.rec_msg, "wall-clock time limit exceeded");
        }
    } else if (r.ntests == 0) {
        verdict = V(AC);
    }
    if (verdict == V(UNSPECIFIED))
        verdict = V(IE);
    if (!stdin_run && compile_failed && r.compile_reported && r.compile_ok)
        verdict = V(CE);

    char msg[EXEC_MESSAGE_MAX + 1];
    summary(msg, sizeof msg, &r, verdict, passed, r.ntests);
    int64_t wall = outcome.total_wall_ms > 0 ? outcome.total_wall_ms : mono_ms() - t_run;

    /* Record, then the final event, then (the caller) acknowledge. */
    bool recorded = false;
    if (j->record) {
        Dojo__Gamification__V1__RecordResultRequest req =
            DOJO__GAMIFICATION__V1__RECORD_RESULT_REQUEST__INIT;
        Dojo__Common__V1__Timestamp t0, t1;
        req.submission_id = j->submission_id;
        req.verdict = verdict;
        req.score = score;
        req.max_score = max_score;
        req.n_tests = (size_t)nres;
        req.tests = results;
        req.compile_output = r.compile_output ? r.compile_output : "";
        req.cpu_ms = cpu;
        req.wall_ms = wall;
        req.memory_kib = (int32_t)mem;
        req.started_at = ts_of(&t0, j->started_us);
        req.finished_at = ts_of(&t1, wall_us());
        req.executor_id = ex->cfg.executor_id;
        if (record_result(j, &req, &rec_resp, &err) == 0) {
            recorded = true;
        } else if (!is_run) {
            LOG_WARN("result not recorded; leaving the job for another attempt",
                     "submission=%s error=\"%s\"", j->submission_id, log_esc(err->msg));
            snprintf(reason, cap, "%s", err->msg);
            emit_job_error(j, "the result could not be saved; retrying",
                           j->attempt < ex->cfg.max_attempts);
            end = EXEC_JOB_RETRY;
            goto out;
        } else {
            LOG_WARN("run result not recorded", "submission=%s error=\"%s\"", j->submission_id,
                     log_esc(err->msg));
            err_clear(&err);
        }
    }
    fr.verdict = verdict;
    fr.score = score;
    fr.max_score = max_score;
    fr.tests_passed = passed;
    fr.tests_total = r.ntests;
    fr.cpu_ms = cpu;
    fr.wall_ms = wall;
    fr.memory_kib = (int32_t)mem;
    fr.message = msg;
    fr.recorded = recorded;
    fr.awards = recorded && rec_resp ? rec_resp->awards : NULL;
    {
        Dojo__Executor__V1__Event ev = DOJO__EXECUTOR__V1__EVENT__INIT;
        ev.kind_case = DOJO__EXECUTOR__V1__EVENT__KIND_RESULT;
        ev.result = &fr;
        if (exec_emit(j, &ev, &err) < 0) {
            /* Recorded but not announced: a redelivery re-publishes it. */
            snprintf(reason, cap, "%s", err->msg);
            end = EXEC_JOB_RETRY;
            goto out;
        }
    }
    atomic_fetch_add(&ex->jobs_done, 1);
    if (verdict == V(IE))
        atomic_fetch_add(&ex->jobs_failed, 1);
    {
        char labels[96];
        snprintf(labels, sizeof labels, "kind=\"%s\",verdict=\"%s\"", is_run ? "run" : "submit",
                 exec_verdict_name(verdict));
        metrics_counter_add("dojo_executor_jobs_total", labels, 1);
        metrics_counter_add("dojo_executor_tests_total", "", r.ntests);
    }
    LOG_INFO("job done", "submission=%s kind=%s user=%s task=%s v=%d lang=%s attempt=%d "
                         "verdict=%s score=%d/%d tests=%d wall_ms=%lld recorded=%d",
             j->submission_id, is_run ? "run" : "submit", job->user_id ? job->user_id : "",
             job->task_slug ? job->task_slug : "", job->task_version, job->language, j->attempt,
             exec_verdict_name(verdict), score, max_score, r.ntests, (long long)wall, recorded);

out:
    if (ctl_on)
        control_stop(&ctl);
    else
        atomic_store(&j->done, true);
    if (cached_bundle)
        exec_bundle_release(ex, bundle);
    if (sub)
        protobuf_c_message_free_unpacked(&sub->base, NULL);
    if (rec_resp)
        protobuf_c_message_free_unpacked(&rec_resp->base, NULL);
    run_free(&r);
    free(results);
    free(inputs);
    free(input_lens);
    return end;
}

/* test_kvc — the Redis contract: key names as other services and tests spell
 * them, stream writes and decoding, blocking readers and their wake-ups, and
 * the fixed-window limiter, against a real server named by
 * DOJO_TEST_REDIS_ADDR (skipped when unset). Streams and counters of the test
 * live under per-run random names and are deleted at the end; the entries it
 * adds to the shared dojo:jobs and dojo:jobs:dead streams are deleted too. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "libcommon/cleanup.h"
#include "libcommon/kvc.h"
#include "testutil.h"

static const char *redis_addr;
static kv_pool_t *pool;
static char run[13]; /* random per run: ids and key names of this test */

#define SKIP_WITHOUT_REDIS()                                                                       \
    do {                                                                                           \
        if (redis_addr == NULL)                                                                    \
            skip();                                                                                \
    } while (0)

static void must(int rc, err_t **err, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, *err ? (*err)->msg : "(no error)");
}

/* A submission id of this run (UUID-shaped, unique per name). */
static const char *sub_id(char out[37], const char *name)
{
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)name, strlen(name),
                       (const unsigned char *)run, strlen(run));
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return out;
}

/* A scratch key of this run: dojo:t:<run>:<name>. */
static const char *tkey(kvc_key_t *k, const char *name)
{
    snprintf(k->s, sizeof k->s, "dojo:t:%s:%s", run, name);
    return k->s;
}

static void del(const char *key)
{
    cleanup_err err_t *err = NULL;
    kv_command(pool, NULL, &err, "DEL %s", key);
}

static long long integer(const char *fmt, const char *key)
{
    cleanup_err err_t *err = NULL;
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, fmt, key), &err, fmt);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    return r->integer;
}

static int setup(void **state)
{
    if (sodium_init() < 0)
        return -1;
    random_hex(run, 12);
    if (redis_addr == NULL)
        return 0;
    cleanup_err err_t *err = NULL;
    if (kv_pool_open(&pool, redis_addr, 4, 2000, &err) < 0) {
        fprintf(stderr, "kv_pool_open: %s\n", err->msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    if (redis_addr == NULL)
        return 0;
    char pattern[64];
    snprintf(pattern, sizeof pattern, "dojo:t:%s:*", run);
    cleanup_err err_t *err = NULL;
    char cursor[32] = "0";
    do {
        cleanup_redis_reply redisReply *r = NULL;
        if (kv_command(pool, &r, &err, "SCAN %s MATCH %s COUNT 1000", cursor, pattern) < 0)
            break;
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            del(r->element[1]->element[i]->str);
    } while (strcmp(cursor, "0") != 0);
    kv_pool_close(pool);
    return 0;
}

/* ------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------ */

static void test_keys_are_spelled_as_the_contract_says(void **state)
{
    kvc_key_t k;
    const char *id = "0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a";
    assert_string_equal(kvc_key_events(&k, id), "dojo:sub:0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a");
    assert_string_equal(kvc_key_control(&k, id), "dojo:ctl:0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a");
    assert_string_equal(kvc_key_control_seq(&k, id),
                        "dojo:gw:ctlseq:0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a");
    assert_string_equal(kvc_key_enqueued(&k, id),
                        "dojo:gw:enq:0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a");
    assert_string_equal(kvc_key_rate_user(&k, id),
                        "dojo:gw:rl:u:0b7e0c7e-2f7a-4c4e-9d0a-1f2e3d4c5b6a");
    assert_string_equal(kvc_key_rate_ip(&k, "127.0.0.1"), "dojo:gw:rl:ip:127.0.0.1");
    assert_string_equal(kvc_key_executor_alive(&k, "pod-7"), "dojo:executor:alive:pod-7");
    assert_string_equal(KVC_JOBS, "dojo:jobs");
    assert_string_equal(KVC_JOBS_DEAD, "dojo:jobs:dead");
    assert_string_equal(KVC_JOBS_GROUP, "executors");
    assert_string_equal(KVC_JOBS_CONTEST, "dojo:jobs:contest");
    assert_string_equal(KVC_BOARDS, "dojo:contest:boards");
    assert_string_equal(kvc_key_contest_board(&k, "spring-cup", "public"),
                        "dojo:contest:spring-cup:board:public");
}

static void test_throttle_keys_hold_a_blake2b_hash_not_the_value(void **state)
{
    kvc_key_t k;
    /* hashlib.blake2b(b"10.0.0.1", digest_size=32).hexdigest(), as the
     * integration tests compute it. */
    assert_string_equal(kvc_key_throttle(&k, "login-ip", "10.0.0.1"),
                        "dojo:auth:throttle:login-ip:"
                        "6c0d8efc3bdf95edaad7341f8c9376c83176b84eea92ccc68777eabee33e049b");
    assert_null(strstr(k.s, "10.0.0.1"));
}

static void test_board_keys_carry_the_prefix_and_the_utc_week(void **state)
{
    kvc_key_t k, m;
    assert_string_equal(kvc_key_board_all(&k, KVC_BOARD_PREFIX_DEFAULT), "dojo:game:lb:all");
    /* 2026-11-30T00:00:00Z, a Monday */
    assert_string_equal(kvc_key_board_week(&k, "p:", 1795996800LL * 1000000),
                        "p:lb:week:2026-11-30");
    assert_string_equal(kvc_key_board_cohort(&k, "p:", "spring-2026"), "p:lb:cohort:spring-2026");
    assert_string_equal(kvc_key_board_marker(&m, k.s), "p:lb:cohort:spring-2026:gen");
}

static void test_events_key_id_is_the_part_after_the_prefix(void **state)
{
    kvc_key_t k;
    assert_string_equal(kvc_events_key_id(kvc_key_events(&k, "abc")), "abc");
    assert_null(kvc_events_key_id("dojo:ctl:abc"));
    assert_null(kvc_events_key_id(NULL));
}

static void test_an_overlong_value_is_cut_so_the_key_fits(void **state)
{
    char value[2 * KVC_KEY_MAX];
    memset(value, 'x', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    kvc_key_t k;
    kvc_key_rate_ip(&k, value);
    assert_int_equal(strlen(k.s), KVC_KEY_MAX - 1);
    assert_memory_equal(k.s, "dojo:gw:rl:ip:xxx", 17);
}

/* ------------------------------------------------------------------------
 * Writing and decoding streams
 * ------------------------------------------------------------------------ */

static void test_append_adds_one_entry_and_sets_the_ttl(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "events");
    const char data[] = {'e', '\0', 'v'};
    cleanup_err err_t *err = NULL;
    must(kvc_append(pool, k.s, KVC_FIELD_EVENT, data, sizeof data, 600, &err), &err, "append");
    must(kvc_append(pool, k.s, KVC_FIELD_EVENT, "2", 1, 600, &err), &err, "append");
    assert_int_equal(integer("XLEN %s", k.s), 2);
    long long ttl = integer("TTL %s", k.s);
    assert_true(ttl > 0 && ttl <= 600);

    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "XRANGE %s - +", k.s), &err, "xrange");
    assert_int_equal(kvc_entries_count(r), 2);
    kvc_entry_t e;
    assert_true(kvc_entry_at(r, 0, KVC_FIELD_EVENT, &e));
    assert_int_equal(e.len, sizeof data);
    assert_memory_equal(e.value, data, sizeof data);
    assert_non_null(strchr(e.id, '-'));
}

static void test_append_without_ttl_leaves_the_stream_persistent(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "no-ttl");
    cleanup_err err_t *err = NULL;
    must(kvc_append(pool, k.s, KVC_FIELD_CONTROL, "c", 1, 0, &err), &err, "append");
    assert_int_equal(integer("TTL %s", k.s), -1);
    del(k.s);
}

static void test_entry_at_reads_the_named_field_and_skips_what_is_no_entry(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "fields");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "XADD %s * a 1 event yes b 2", k.s), &err, "xadd");
    must(kv_command(pool, NULL, &err, "XADD %s * other 3", k.s), &err, "xadd");
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "XRANGE %s - +", k.s), &err, "xrange");
    kvc_entry_t e;
    assert_true(kvc_entry_at(r, 0, KVC_FIELD_EVENT, &e));
    assert_string_equal(e.value, "yes");
    assert_int_equal(e.len, 3);
    assert_true(kvc_entry_at(r, 1, KVC_FIELD_EVENT, &e));
    assert_null(e.value); /* an entry without the field */
    assert_false(kvc_entry_at(r, 2, KVC_FIELD_EVENT, &e));

    cleanup_redis_reply redisReply *pong = NULL;
    must(kv_command(pool, &pong, &err, "PING"), &err, "ping");
    assert_int_equal(kvc_entries_count(pong), 0);
    assert_int_equal(kvc_streams_count(pong), 0);
    assert_false(kvc_entry_at(pong, 0, KVC_FIELD_EVENT, &e));
}

static void test_an_entry_deleted_while_pending_decodes_without_a_value(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "pending");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "XGROUP CREATE %s g $ MKSTREAM", k.s), &err, "group");
    cleanup_redis_reply redisReply *id = NULL;
    must(kv_command(pool, &id, &err, "XADD %s * job x", k.s), &err, "xadd");
    must(kv_command(pool, NULL, &err, "XREADGROUP GROUP g c STREAMS %s >", k.s), &err, "deliver");
    must(kv_command(pool, NULL, &err, "XDEL %s %s", k.s, id->str), &err, "xdel");
    /* Re-reading the pending list answers the deleted entry with nil fields. */
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "XREADGROUP GROUP g c STREAMS %s 0", k.s), &err, "pending");
    assert_int_equal(kvc_streams_count(r), 1);
    const char *key = NULL;
    const redisReply *entries = NULL;
    assert_true(kvc_stream_at(r, 0, &key, &entries));
    assert_string_equal(key, k.s);
    kvc_entry_t e;
    assert_true(kvc_entry_at(entries, 0, KVC_FIELD_JOB, &e));
    assert_string_equal(e.id, id->str);
    assert_null(e.value);
}

/* Deletes the entry of `stream` whose `field` equals value (this test's own,
 * in a stream other runs share). Returns whether there was one. */
static bool delete_entry_with(const char *stream, const char *field, const void *value, size_t len,
                              kvc_entry_t *found_copy)
{
    cleanup_err err_t *err = NULL;
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "XREVRANGE %s + - COUNT 1000", stream), &err, "xrevrange");
    for (size_t i = 0; i < kvc_entries_count(r); i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(r, i, field, &e) || e.value == NULL || e.len != len ||
            memcmp(e.value, value, len) != 0)
            continue;
        must(kv_command(pool, NULL, &err, "XDEL %s %s", stream, e.id), &err, "xdel");
        if (found_copy)
            *found_copy = e;
        return true;
    }
    return false;
}

static void test_job_enqueue_writes_the_queued_event_and_the_job_once(void **state)
{
    SKIP_WITHOUT_REDIS();
    char id[37];
    sub_id(id, "enqueue");
    char job[64];
    snprintf(job, sizeof job, "job of %s", run);
    kvc_key_t events, marker;
    kvc_key_events(&events, id);
    kvc_key_enqueued(&marker, id);
    cleanup_err err_t *err = NULL;
    const char *ids[] = {id};
    bool marked = true, queued = false;
    must(kvc_jobs_enqueued(pool, ids, 1, &marked, &err), &err, "markers");
    assert_false(marked);
    must(kvc_job_enqueue(pool, id, "queued", 6, job, strlen(job), 600, &queued, &err), &err,
         "enqueue");
    assert_true(queued);
    /* The same submission again (an idempotent repeat): nothing more. */
    must(kvc_job_enqueue(pool, id, "queued", 6, job, strlen(job), 600, &queued, &err), &err,
         "repeat");
    assert_false(queued);
    must(kvc_jobs_enqueued(pool, ids, 1, &marked, &err), &err, "markers");
    assert_true(marked);
    bool won = true;
    must(kvc_job_forgo(pool, id, &won, &err), &err, "forgo");
    assert_false(won); /* queued already: not ours to forgo */

    assert_int_equal(integer("XLEN %s", events.s), 1);
    long long ttl = integer("TTL %s", events.s);
    assert_true(ttl > 0 && ttl <= 600);
    long long marker_ttl = integer("TTL %s", marker.s);
    assert_true(marker_ttl > 600 && marker_ttl <= KVC_ENQUEUED_TTL_MIN_S);
    assert_true(delete_entry_with(KVC_JOBS, KVC_FIELD_JOB, job, strlen(job), NULL));
    assert_false(delete_entry_with(KVC_JOBS, KVC_FIELD_JOB, job, strlen(job), NULL));
    del(events.s);
    del(marker.s);
}

static void test_a_forgone_job_is_never_queued_afterwards(void **state)
{
    SKIP_WITHOUT_REDIS();
    char id[37];
    sub_id(id, "forgo");
    char job[64];
    snprintf(job, sizeof job, "forgone job of %s", run);
    kvc_key_t events, marker;
    kvc_key_events(&events, id);
    kvc_key_enqueued(&marker, id);
    cleanup_err err_t *err = NULL;
    bool won = false, queued = true;
    must(kvc_job_forgo(pool, id, &won, &err), &err, "forgo");
    assert_true(won);
    must(kvc_job_enqueue(pool, id, "queued", 6, job, strlen(job), 600, &queued, &err), &err,
         "late enqueue");
    assert_false(queued);
    assert_int_equal(integer("EXISTS %s", events.s), 0);
    assert_false(delete_entry_with(KVC_JOBS, KVC_FIELD_JOB, job, strlen(job), NULL));
    long long ttl = integer("TTL %s", marker.s);
    assert_true(ttl > 0 && ttl <= KVC_ENQUEUED_TTL_MIN_S);
    del(marker.s);
}

static void test_a_contest_job_goes_to_the_contest_stream_only(void **state)
{
    SKIP_WITHOUT_REDIS();
    char id[37];
    sub_id(id, "contest-enqueue");
    char job[64];
    snprintf(job, sizeof job, "contest job of %s", run);
    kvc_key_t events, marker;
    kvc_key_events(&events, id);
    kvc_key_enqueued(&marker, id);
    cleanup_err err_t *err = NULL;
    bool queued = false;
    must(kvc_job_enqueue_on(pool, KVC_JOBS_CONTEST, id, "queued", 6, job, strlen(job), 600,
                            &queued, &err),
         &err, "enqueue");
    assert_true(queued);
    assert_int_equal(integer("XLEN %s", events.s), 1);
    assert_false(delete_entry_with(KVC_JOBS, KVC_FIELD_JOB, job, strlen(job), NULL));
    assert_true(delete_entry_with(KVC_JOBS_CONTEST, KVC_FIELD_JOB, job, strlen(job), NULL));
    del(events.s);
    del(marker.s);
}

static void test_a_published_board_is_the_latest_and_appended_to_the_stream(void **state)
{
    SKIP_WITHOUT_REDIS();
    char slug[40], board[64], old[64];
    snprintf(slug, sizeof slug, "t-%s", run);
    snprintf(board, sizeof board, "board of %s", run);
    snprintf(old, sizeof old, "older board of %s", run);
    cleanup_err err_t *err = NULL;
    must(kvc_board_publish(pool, slug, "public", old, strlen(old), &err), &err, "publish");
    must(kvc_board_publish(pool, slug, "public", board, strlen(board), &err), &err, "publish");
    kvc_key_t latest;
    kvc_key_contest_board(&latest, slug, "public");
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "GET %s", latest.s), &err, "get");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, board);
    assert_true(delete_entry_with(KVC_BOARDS, KVC_FIELD_BOARD, board, strlen(board), NULL));
    assert_true(delete_entry_with(KVC_BOARDS, KVC_FIELD_BOARD, old, strlen(old), NULL));
    del(latest.s);
}

static void test_control_seq_counts_from_one_and_expires_with_the_stream(void **state)
{
    SKIP_WITHOUT_REDIS();
    char id[37];
    sub_id(id, "control");
    kvc_key_t seq;
    kvc_key_control_seq(&seq, id);
    cleanup_err err_t *err = NULL;
    int64_t a = 0, b = 0;
    must(kvc_control_seq_next(pool, id, 300, &a, &err), &err, "seq");
    must(kvc_control_seq_next(pool, id, 300, &b, &err), &err, "seq");
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    long long ttl = integer("TTL %s", seq.s);
    assert_true(ttl > 0 && ttl <= 300);
    del(seq.s);
}

static void test_dead_letter_carries_the_documented_fields(void **state)
{
    SKIP_WITHOUT_REDIS();
    char job[64];
    snprintf(job, sizeof job, "dead job of %s", run);
    cleanup_err err_t *err = NULL;
    must(kvc_dead_letter(pool, job, strlen(job), "delivered 4 times (limit 3)", "1-1", "exec-a", 4,
                         &err),
         &err, "dead letter");
    cleanup_redis_reply redisReply *r = NULL;
    must(kv_command(pool, &r, &err, "XREVRANGE %s + - COUNT 1000", KVC_JOBS_DEAD), &err, "read");
    bool seen = false;
    for (size_t i = 0; i < kvc_entries_count(r) && !seen; i++) {
        kvc_entry_t e;
        if (!kvc_entry_at(r, i, "job", &e) || e.value == NULL || strcmp(e.value, job) != 0)
            continue;
        seen = true;
        kvc_entry_t f;
        assert_true(kvc_entry_at(r, i, "reason", &f));
        assert_string_equal(f.value, "delivered 4 times (limit 3)");
        assert_true(kvc_entry_at(r, i, "entry", &f));
        assert_string_equal(f.value, "1-1");
        assert_true(kvc_entry_at(r, i, "executor", &f));
        assert_string_equal(f.value, "exec-a");
        assert_true(kvc_entry_at(r, i, "deliveries", &f));
        assert_string_equal(f.value, "4");
    }
    assert_true(seen);
    assert_true(delete_entry_with(KVC_JOBS_DEAD, "job", job, strlen(job), NULL));
}

/* ------------------------------------------------------------------------
 * Blocking reads
 * ------------------------------------------------------------------------ */

static void test_one_read_covers_several_streams(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t a, b, c;
    tkey(&a, "multi-a");
    tkey(&b, "multi-b");
    tkey(&c, "multi-c");
    cleanup_err err_t *err = NULL;
    must(kvc_append(pool, a.s, KVC_FIELD_EVENT, "A", 1, 600, &err), &err, "append a");
    must(kvc_append(pool, c.s, KVC_FIELD_EVENT, "C", 1, 600, &err), &err, "append c");
    kvc_reader_t *r = NULL;
    kvc_reader_open(&r, pool);
    const char *keys[] = {a.s, b.s, c.s};
    const char *after[] = {"0-0", "0-0", "0-0"};
    cleanup_redis_reply redisReply *rep = NULL;
    must(kvc_reader_read(r, 3, keys, after, 100, 1000, &rep, &err), &err, "read");
    assert_non_null(rep);
    assert_int_equal(kvc_streams_count(rep), 2);
    bool seen_a = false, seen_c = false;
    for (size_t i = 0; i < kvc_streams_count(rep); i++) {
        const char *key = NULL;
        const redisReply *entries = NULL;
        kvc_entry_t e;
        assert_true(kvc_stream_at(rep, i, &key, &entries));
        assert_true(kvc_entry_at(entries, 0, KVC_FIELD_EVENT, &e));
        seen_a |= !strcmp(key, a.s) && !strcmp(e.value, "A");
        seen_c |= !strcmp(key, c.s) && !strcmp(e.value, "C");
    }
    assert_true(seen_a && seen_c);
    kvc_reader_close(r);
}

static void test_a_read_with_nothing_new_returns_nothing(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t a;
    tkey(&a, "quiet");
    kvc_reader_t *r = NULL;
    kvc_reader_open(&r, pool);
    const char *keys[] = {a.s};
    const char *after[] = {"$"};
    cleanup_err err_t *err = NULL;
    redisReply *rep = (redisReply *)1;
    must(kvc_reader_read(r, 1, keys, after, 10, 50, &rep, &err), &err, "read");
    assert_null(rep);
    kvc_reader_close(r);
}

/* A relay as a multiplexing service would run it: reads whatever streams
 * are in `keys` until told to stop, and records what it received. */
typedef struct relay {
    kvc_reader_t *reader;
    pthread_mutex_t lock;
    const char *keys[4];
    char after[4][48];
    size_t n;
    bool stop;
    int reads;
    char got[64]; /* the values received, concatenated */
    bool done;    /* the thread has ended */
    pthread_cond_t cond;
} relay_t;

static void *relay_main(void *p)
{
    relay_t *rl = p;
    for (;;) {
        const char *keys[4], *after[4];
        pthread_mutex_lock(&rl->lock);
        bool stop = rl->stop;
        size_t n = rl->n;
        for (size_t i = 0; i < n; i++) {
            keys[i] = rl->keys[i];
            after[i] = rl->after[i];
        }
        pthread_mutex_unlock(&rl->lock);
        if (stop)
            break;
        redisReply *rep = NULL;
        err_t *err = NULL;
        /* Two minutes: only a wake ends the read within the test's bounds. */
        int rc = kvc_reader_read(rl->reader, n, keys, after, 10, 120000, &rep, &err);
        err_free(err);
        pthread_mutex_lock(&rl->lock);
        rl->reads++;
        for (size_t s = 0; rc == 0 && s < kvc_streams_count(rep); s++) {
            const char *key = NULL;
            const redisReply *entries = NULL;
            if (!kvc_stream_at(rep, s, &key, &entries))
                continue;
            for (size_t i = 0; i < kvc_entries_count(entries); i++) {
                kvc_entry_t e;
                if (!kvc_entry_at(entries, i, KVC_FIELD_EVENT, &e) || e.value == NULL)
                    continue;
                strncat(rl->got, e.value, sizeof rl->got - strlen(rl->got) - 1);
                for (size_t k = 0; k < rl->n; k++)
                    if (!strcmp(rl->keys[k], key))
                        snprintf(rl->after[k], sizeof rl->after[k], "%s", e.id);
            }
        }
        pthread_cond_broadcast(&rl->cond);
        pthread_mutex_unlock(&rl->lock);
        if (rep)
            freeReplyObject(rep);
    }
    pthread_mutex_lock(&rl->lock);
    rl->done = true;
    pthread_cond_broadcast(&rl->cond);
    pthread_mutex_unlock(&rl->lock);
    return NULL;
}

/* Waits (at most 20 s, far beyond a wake-up's milliseconds, far below the
 * read's two minutes) until `cond_fn` holds. */
static bool relay_wait(relay_t *rl, bool (*cond_fn)(relay_t *))
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&rl->lock);
    bool ok = true;
    while (ok && !cond_fn(rl))
        ok = pthread_cond_timedwait(&rl->cond, &rl->lock, &until) == 0 || cond_fn(rl);
    pthread_mutex_unlock(&rl->lock);
    return ok;
}

static bool relay_done(relay_t *rl)
{
    return rl->done;
}
static bool relay_got_ab(relay_t *rl)
{
    return strstr(rl->got, "a") && strstr(rl->got, "b");
}

static void test_a_stream_added_during_a_read_is_read_after_a_wake(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t a, b;
    tkey(&a, "wake-a");
    tkey(&b, "wake-b");
    relay_t rl = {.n = 1};
    pthread_mutex_init(&rl.lock, NULL);
    pthread_cond_init(&rl.cond, NULL);
    kvc_reader_open(&rl.reader, pool);
    rl.keys[0] = a.s;
    snprintf(rl.after[0], sizeof rl.after[0], "0-0");
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, relay_main, &rl), 0);
    cleanup_err err_t *err = NULL;
    must(kvc_append(pool, a.s, KVC_FIELD_EVENT, "a", 1, 600, &err), &err, "append a");

    /* A second stream joins while the relay may be blocked on the first. */
    pthread_mutex_lock(&rl.lock);
    rl.keys[1] = b.s;
    snprintf(rl.after[1], sizeof rl.after[1], "0-0");
    rl.n = 2;
    pthread_mutex_unlock(&rl.lock);
    kvc_reader_wake(rl.reader);
    must(kvc_append(pool, b.s, KVC_FIELD_EVENT, "b", 1, 600, &err), &err, "append b");
    bool got = relay_wait(&rl, relay_got_ab);

    pthread_mutex_lock(&rl.lock);
    rl.stop = true;
    pthread_mutex_unlock(&rl.lock);
    kvc_reader_wake(rl.reader);
    bool ended = relay_wait(&rl, relay_done);
    assert_true(got);
    assert_true(ended);
    pthread_join(t, NULL);
    kvc_reader_close(rl.reader);
    pthread_mutex_destroy(&rl.lock);
    pthread_cond_destroy(&rl.cond);
}

/* One read on a thread of its own, so the test can bound its wait. */
typedef struct one_read {
    kvc_reader_t *reader;
    const char *key;
    int rc;
    redisReply *rep;
    bool done;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} one_read_t;

static void *one_read_main(void *p)
{
    one_read_t *o = p;
    const char *keys[] = {o->key};
    const char *after[] = {"$"};
    err_t *err = NULL;
    redisReply *rep = NULL;
    /* Two minutes: only a wake ends the read within the test's bounds. */
    int rc = kvc_reader_read(o->reader, 1, keys, after, 10, 120000, &rep, &err);
    err_free(err);
    pthread_mutex_lock(&o->lock);
    o->rc = rc;
    o->rep = rep;
    o->done = true;
    pthread_cond_broadcast(&o->cond);
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

/* Waits at most 20 s (far beyond a wake-up's milliseconds, far below the
 * read's two minutes) for the read to end; wakes it for good if it did not,
 * so the thread can be joined either way. */
static bool one_read_finish(one_read_t *o, pthread_t t)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&o->lock);
    while (!o->done && pthread_cond_timedwait(&o->cond, &o->lock, &until) == 0)
        ;
    bool done = o->done;
    pthread_mutex_unlock(&o->lock);
    if (!done)
        kvc_reader_wake(o->reader);
    pthread_join(t, NULL);
    return done;
}

static void one_read_init(one_read_t *o, const char *key)
{
    *o = (one_read_t){.key = key};
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    kvc_reader_open(&o->reader, pool);
}

static void one_read_destroy(one_read_t *o)
{
    if (o->rep)
        freeReplyObject(o->rep);
    kvc_reader_close(o->reader);
    pthread_mutex_destroy(&o->lock);
    pthread_cond_destroy(&o->cond);
}

static void test_a_wake_before_the_read_makes_it_return_at_once(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t a;
    one_read_t o;
    one_read_init(&o, tkey(&a, "early"));
    kvc_reader_wake(o.reader); /* no read is underway: the next one answers it */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_read_main, &o), 0);
    bool done = one_read_finish(&o, t);
    int rc = o.rc;
    bool nothing = o.rep == NULL;
    one_read_destroy(&o);
    assert_true(done);
    assert_int_equal(rc, 0);
    assert_true(nothing);
}

static void test_a_wake_cuts_a_blocked_read_short(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t a;
    one_read_t o;
    one_read_init(&o, tkey(&a, "blocked"));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, one_read_main, &o), 0);
    /* Wake only once Redis has an XREAD blocked (CLIENT LIST shows it). */
    cleanup_err err_t *err = NULL;
    bool blocked = false;
    for (int i = 0; i < 1000 && !blocked; i++) {
        cleanup_redis_reply redisReply *list = NULL;
        if (kv_command(pool, &list, &err, "CLIENT LIST TYPE normal") < 0)
            break;
        blocked = list->type == REDIS_REPLY_STRING && strstr(list->str, "flags=b") &&
                  strstr(list->str, "cmd=xread");
        if (!blocked)
            test_sleep_ms(10);
    }
    kvc_reader_wake(o.reader);
    bool done = one_read_finish(&o, t);
    int rc = o.rc;
    bool nothing = o.rep == NULL;
    one_read_destroy(&o);
    assert_true(blocked);
    assert_true(done);
    assert_int_equal(rc, 0);
    assert_true(nothing);
}

static void test_group_read_delivers_new_entries_to_the_consumer(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t q;
    tkey(&q, "jobs");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "XGROUP CREATE %s %s $ MKSTREAM", q.s, KVC_JOBS_GROUP), &err,
         "group");
    must(kv_command(pool, NULL, &err, "XADD %s * job j1", q.s), &err, "xadd");
    kvc_reader_t *r = NULL;
    kvc_reader_open(&r, pool);
    const char *keys[] = {q.s};
    const char *ids[] = {">"};
    cleanup_redis_reply redisReply *rep = NULL;
    must(kvc_reader_read_group(r, KVC_JOBS_GROUP, "worker-1", 1, keys, ids, 1, 1000, &rep, &err),
         &err, "read group");
    const char *key = NULL;
    const redisReply *entries = NULL;
    kvc_entry_t e;
    assert_true(kvc_stream_at(rep, 0, &key, &entries));
    assert_true(kvc_entry_at(entries, 0, KVC_FIELD_JOB, &e));
    assert_string_equal(e.value, "j1");
    cleanup_redis_reply redisReply *pending = NULL;
    must(kv_command(pool, &pending, &err, "XPENDING %s %s", q.s, KVC_JOBS_GROUP), &err, "xpending");
    assert_int_equal(pending->element[0]->integer, 1);
    kvc_reader_close(r);
}

/* ------------------------------------------------------------------------
 * Against a Redis of the test's own, which it restarts
 * ------------------------------------------------------------------------ */

static pid_t own_pid = -1;
static char *own_dir;

static int own_redis_teardown(void **state)
{
    test_redis_stop(own_pid);
    own_pid = -1;
    if (own_dir != NULL)
        rmdir(own_dir);
    free(own_dir);
    own_dir = NULL;
    return 0;
}

static void test_a_reader_reads_again_right_after_a_redis_restart(void **state)
{
    int port = free_port();
    own_dir = test_tmpdir();
    assert_non_null(own_dir);
    if ((own_pid = test_redis_start(port, own_dir)) < 0)
        skip();
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    cleanup_err err_t *err = NULL;
    kv_pool_t *p = NULL;
    must(kv_pool_open(&p, addr, 2, 2000, &err), &err, "open");
    kvc_reader_t *r = NULL;
    kvc_reader_open(&r, p);
    const char *keys[] = {"dojo:sub:restart"};
    const char *after[] = {"0-0"};
    redisReply *rep = NULL;
    must(kvc_reader_read(r, 1, keys, after, 10, 10, &rep, &err), &err, "read");
    assert_null(rep);

    test_redis_stop(own_pid);
    own_pid = test_redis_start(port, own_dir);
    assert_true(own_pid > 0);
    must(kvc_append(p, keys[0], KVC_FIELD_EVENT, "e", 1, 60, &err), &err, "append after restart");
    cleanup_redis_reply redisReply *got = NULL;
    must(kvc_reader_read(r, 1, keys, after, 10, 1000, &got, &err), &err, "read after restart");
    assert_int_equal(kvc_streams_count(got), 1);
    kvc_reader_close(r);
    kv_pool_close(p);
}

/* ------------------------------------------------------------------------
 * Rate limits
 * ------------------------------------------------------------------------ */

static void test_limit_lets_limit_requests_through_then_refuses(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "rl-basic");
    kvc_limit_t l = {k.s, 3, 60};
    cleanup_err err_t *err = NULL;
    kvc_limit_state_t st;
    for (int i = 1; i <= 3; i++) {
        must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
        assert_false(st.exceeded);
        assert_int_equal(st.remaining, 3 - i);
        assert_int_equal(st.limit, 3);
        assert_true(st.reset_s > 0 && st.reset_s <= 60);
    }
    must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
    assert_true(st.exceeded);
    assert_int_equal(st.remaining, 0);
    long long ttl = integer("TTL %s", k.s);
    assert_true(ttl > 0 && ttl <= 60);
}

static void test_the_binding_window_is_the_one_with_fewest_requests_left(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t u, ip;
    tkey(&u, "rl-user");
    tkey(&ip, "rl-ip");
    cleanup_err err_t *err = NULL;
    /* The address was busy already (other users behind it). */
    must(kv_command(pool, NULL, &err, "SET %s 4 EX 30", ip.s), &err, "seed");
    kvc_limit_t ls[] = {{u.s, 5, 60}, {ip.s, 5, 60}};
    kvc_limit_state_t st;
    must(kvc_limit_take(pool, ls, 2, &st, &err), &err, "take");
    assert_false(st.exceeded);
    assert_int_equal(st.remaining, 0); /* the address: 5 of 5 */
    assert_true(st.reset_s <= 30);
    must(kvc_limit_take(pool, ls, 2, &st, &err), &err, "take");
    assert_true(st.exceeded);
    /* Both windows counted each request. */
    cleanup_redis_reply redisReply *count = NULL;
    must(kv_command(pool, &count, &err, "GET %s", u.s), &err, "get");
    assert_string_equal(count->str, "2");
}

static void test_a_counter_without_ttl_gets_a_window(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "rl-no-ttl");
    cleanup_err err_t *err = NULL;
    must(kv_command(pool, NULL, &err, "SET %s 7", k.s), &err, "seed");
    kvc_limit_t l = {k.s, 100, 45};
    kvc_limit_state_t st;
    must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
    long long ttl = integer("TTL %s", k.s);
    assert_true(ttl > 0 && ttl <= 45);
    assert_int_equal(st.remaining, 100 - 8);
}

static void test_give_back_returns_a_request_but_never_revives_an_ended_window(void **state)
{
    SKIP_WITHOUT_REDIS();
    kvc_key_t k;
    tkey(&k, "rl-give-back");
    kvc_limit_t l = {k.s, 2, 60};
    cleanup_err err_t *err = NULL;
    kvc_limit_state_t st;
    must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
    must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
    must(kvc_limit_give_back(pool, k.s, &err), &err, "give back");
    must(kvc_limit_take(pool, &l, 1, &st, &err), &err, "take");
    assert_false(st.exceeded);

    must(kvc_limit_forget(pool, k.s, &err), &err, "forget");
    assert_int_equal(integer("EXISTS %s", k.s), 0);
    must(kvc_limit_give_back(pool, k.s, &err), &err, "give back to an ended window");
    assert_int_equal(integer("EXISTS %s", k.s), 0);
}

static void test_limit_without_windows_is_invalid(void **state)
{
    cleanup_err err_t *err = NULL;
    kvc_limit_state_t st;
    assert_int_equal(kvc_limit_take(pool, NULL, 0, &st, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_INVALID_ARGUMENT);
}

/* ------------------------------------------------------------------------
 * A learner's running places
 * ------------------------------------------------------------------------ */

static void test_a_learner_has_max_running_places_and_a_submission_keeps_its_own(void **state)
{
    SKIP_WITHOUT_REDIS();
    char user[37], a[37], b[37], c[37];
    sub_id(user, "learner-places");
    kvc_key_t k;
    kvc_key_learner_running(&k, user);
    assert_int_equal(strncmp(k.s, "dojo:exec:running:", 18), 0);
    assert_string_equal(k.s + 18, user);
    kvc_share_t share = {.max_running = 2, .lease_ms = 30000};
    cleanup_err err_t *err = NULL;
    bool ok = false;
    must(kvc_learner_admit(pool, user, sub_id(a, "place-a"), &share, &ok, NULL, &err), &err, "admit a");
    assert_true(ok);
    must(kvc_learner_admit(pool, user, sub_id(b, "place-b"), &share, &ok, NULL, &err), &err, "admit b");
    assert_true(ok);
    kvc_share_wait_t why = KVC_SHARE_ADMITTED;
    must(kvc_learner_admit(pool, user, sub_id(c, "place-c"), &share, &ok, &why, &err), &err,
         "admit c");
    assert_false(ok);
    assert_int_equal(why, KVC_SHARE_PLACES);
    /* A redelivered job takes its own place again. */
    must(kvc_learner_admit(pool, user, a, &share, &ok, NULL, &err), &err, "admit a again");
    assert_true(ok);
    assert_int_equal(integer("ZCARD %s", k.s), 2);
    long long pttl = integer("PTTL %s", k.s);
    assert_true(pttl > 0 && pttl <= 30000);
    must(kvc_learner_release(pool, user, a, &err), &err, "release a");
    must(kvc_learner_admit(pool, user, c, &share, &ok, NULL, &err), &err, "admit c");
    assert_true(ok);
    bool held = false;
    must(kvc_learner_renew(pool, user, b, &share, &held, &err), &err, "renew b");
    assert_true(held);
    del(k.s);
}

static void test_a_place_nobody_renews_ends_with_its_lease(void **state)
{
    SKIP_WITHOUT_REDIS();
    char user[37], ghost[37], next[37];
    sub_id(user, "learner-lease");
    kvc_key_t k;
    kvc_key_learner_running(&k, user);
    cleanup_err err_t *err = NULL;
    /* A dead executor's place: its lease ended (score 1 ms after the epoch). */
    must(kv_command(pool, NULL, &err, "ZADD %s 1 %s", k.s, sub_id(ghost, "ghost")), &err,
         "seed");
    kvc_share_t share = {.max_running = 1, .lease_ms = 30000};
    bool ok = false;
    must(kvc_learner_admit(pool, user, sub_id(next, "next"), &share, &ok, NULL, &err), &err, "admit");
    assert_true(ok);
    cleanup_redis_reply redisReply *score = NULL;
    must(kv_command(pool, &score, &err, "ZSCORE %s %s", k.s, ghost), &err, "zscore");
    assert_int_equal(score->type, REDIS_REPLY_NIL);
    del(k.s);
}

static void test_without_a_limit_or_a_learner_every_job_is_admitted(void **state)
{
    SKIP_WITHOUT_REDIS();
    char user[37], a[37];
    sub_id(user, "learner-unlimited");
    kvc_key_t k;
    kvc_key_learner_running(&k, user);
    kvc_share_t none = {.max_running = 0, .lease_ms = 30000};
    kvc_share_t one = {.max_running = 1, .lease_ms = 30000};
    cleanup_err err_t *err = NULL;
    bool ok = false;
    static const char *const names[] = {"u0", "u1", "u2"};
    for (int i = 0; i < 3; i++) {
        must(kvc_learner_admit(pool, user, sub_id(a, names[i]), &none, &ok, NULL, &err), &err,
             "admit");
        assert_true(ok);
    }
    assert_int_equal(integer("EXISTS %s", k.s), 0);
    must(kvc_learner_admit(pool, "", a, &one, &ok, NULL, &err), &err, "admit without a learner");
    assert_true(ok);
}

static void test_a_learner_over_the_sandbox_time_gets_no_new_place_until_the_window_ends(
    void **state)
{
    SKIP_WITHOUT_REDIS();
    char user[37], running[37], next[37];
    sub_id(user, "learner-sandbox");
    kvc_key_t places, sandbox;
    kvc_key_learner_running(&places, user);
    kvc_key_learner_sandbox(&sandbox, user);
    assert_int_equal(strncmp(sandbox.s, "dojo:exec:sandbox:", 18), 0);
    kvc_share_t share = {.max_running = 2, .lease_ms = 30000, .sandbox_cap_ms = 1000,
                         .window_ms = 20000};
    cleanup_err err_t *err = NULL;
    bool ok = false;
    must(kvc_learner_admit(pool, user, sub_id(running, "sb-running"), &share, &ok, NULL, &err), &err,
         "admit");
    assert_true(ok);
    must(kvc_learner_charge(pool, user, 600, &share, &err), &err, "charge");
    long long pttl = integer("PTTL %s", sandbox.s);
    assert_true(pttl > 0 && pttl <= 20000);
    must(kvc_learner_admit(pool, user, sub_id(next, "sb-next"), &share, &ok, NULL, &err), &err, "admit");
    assert_true(ok); /* 600 of 1000 ms */
    must(kvc_learner_release(pool, user, next, &err), &err, "release");
    must(kvc_learner_charge(pool, user, 700, &share, &err), &err, "charge");
    assert_true(integer("PTTL %s", sandbox.s) <= pttl); /* the same window */
    kvc_share_wait_t why = KVC_SHARE_ADMITTED;
    must(kvc_learner_admit(pool, user, next, &share, &ok, &why, &err), &err, "admit over the cap");
    assert_false(ok);
    assert_int_equal(why, KVC_SHARE_SANDBOX);
    /* A job that holds a place keeps it (a renewal, a redelivery). */
    bool held = false;
    must(kvc_learner_renew(pool, user, running, &share, &held, &err), &err, "renew");
    assert_true(held);
    /* The window over, the learner is admitted again. */
    del(sandbox.s);
    must(kvc_learner_admit(pool, user, next, &share, &ok, NULL, &err), &err, "admit after the window");
    assert_true(ok);
    /* Without places, the cap still holds. */
    kvc_share_t cap_only = {.max_running = 0, .lease_ms = 30000, .sandbox_cap_ms = 1000,
                            .window_ms = 20000};
    char other[37];
    must(kvc_learner_charge(pool, user, 1000, &cap_only, &err), &err, "charge");
    must(kvc_learner_admit(pool, user, sub_id(other, "sb-other"), &cap_only, &ok, NULL, &err), &err,
         "admit");
    assert_false(ok);
    del(sandbox.s);
    del(places.s);
}

int main(void)
{
    redis_addr = test_env_or_null("DOJO_TEST_REDIS_ADDR");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_are_spelled_as_the_contract_says),
        cmocka_unit_test(test_a_contest_job_goes_to_the_contest_stream_only),
        cmocka_unit_test(test_a_published_board_is_the_latest_and_appended_to_the_stream),
        cmocka_unit_test(test_throttle_keys_hold_a_blake2b_hash_not_the_value),
        cmocka_unit_test(test_board_keys_carry_the_prefix_and_the_utc_week),
        cmocka_unit_test(test_events_key_id_is_the_part_after_the_prefix),
        cmocka_unit_test(test_an_overlong_value_is_cut_so_the_key_fits),
        cmocka_unit_test(test_append_adds_one_entry_and_sets_the_ttl),
        cmocka_unit_test(test_append_without_ttl_leaves_the_stream_persistent),
        cmocka_unit_test(test_entry_at_reads_the_named_field_and_skips_what_is_no_entry),
        cmocka_unit_test(test_an_entry_deleted_while_pending_decodes_without_a_value),
        cmocka_unit_test(test_job_enqueue_writes_the_queued_event_and_the_job_once),
        cmocka_unit_test(test_a_forgone_job_is_never_queued_afterwards),
        cmocka_unit_test(test_control_seq_counts_from_one_and_expires_with_the_stream),
        cmocka_unit_test(test_dead_letter_carries_the_documented_fields),
        cmocka_unit_test(test_one_read_covers_several_streams),
        cmocka_unit_test(test_a_read_with_nothing_new_returns_nothing),
        cmocka_unit_test(test_a_stream_added_during_a_read_is_read_after_a_wake),
        cmocka_unit_test(test_a_wake_before_the_read_makes_it_return_at_once),
        cmocka_unit_test(test_a_wake_cuts_a_blocked_read_short),
        cmocka_unit_test_teardown(test_a_reader_reads_again_right_after_a_redis_restart,
                                  own_redis_teardown),
        cmocka_unit_test(test_group_read_delivers_new_entries_to_the_consumer),
        cmocka_unit_test(test_limit_lets_limit_requests_through_then_refuses),
        cmocka_unit_test(test_the_binding_window_is_the_one_with_fewest_requests_left),
        cmocka_unit_test(test_a_counter_without_ttl_gets_a_window),
        cmocka_unit_test(test_give_back_returns_a_request_but_never_revives_an_ended_window),
        cmocka_unit_test(test_limit_without_windows_is_invalid),
        cmocka_unit_test(test_a_learner_has_max_running_places_and_a_submission_keeps_its_own),
        cmocka_unit_test(test_a_place_nobody_renews_ends_with_its_lease),
        cmocka_unit_test(test_without_a_limit_or_a_learner_every_job_is_admitted),
        cmocka_unit_test(
            test_a_learner_over_the_sandbox_time_gets_no_new_place_until_the_window_ends),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_pool — the pool of pre-started sandboxes (pool.c) over stand-in
 * boxes: a box is given to one job only and never comes back, an empty pool
 * is a miss, a box that died while it waited is never handed out, the number
 * kept follows the arrivals within the memory budget, slots are never shared
 * by two live boxes, and close waits for every box to be gone. The stand-in
 * boxes are defined here (sandbox_box_*); no container starts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/executor/pool.h"

/* ---- stand-in boxes ------------------------------------------------------ */

struct sandbox_box {
    sandbox_box_key_t key;
    int slot;
    int serial;
    bool dead;
    void (*on_gone)(void *payload, int slot);
    void *gone_payload;
};

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static int fake_started, fake_discarded, fake_serial;
static long fake_kib = 20 * 1024;
static bool slot_live[1024];
static bool slot_shared; /* a box started in a slot another live box held */
static sandbox_box_t *last_started;

int sandbox_box_start(const sandbox_config_t *cfg, const sandbox_box_key_t *key,
                      const sandbox_box_opts_t *o, sandbox_box_t **out, err_t **err)
{
    sandbox_box_t *b = calloc(1, sizeof *b);
    b->key = *key;
    b->slot = o->slot;
    b->on_gone = o->on_gone;
    b->gone_payload = o->gone_payload;
    pthread_mutex_lock(&fake_mu);
    b->serial = ++fake_serial;
    fake_started++;
    last_started = b;
    if (slot_live[o->slot])
        slot_shared = true;
    slot_live[o->slot] = true;
    pthread_mutex_unlock(&fake_mu);
    *out = b;
    return 0;
}

/* With fake_gated, a start waits (up to 5 s) until the test opens the gate:
 * how many starts run at once is then visible. */
static pthread_cond_t fake_cv = PTHREAD_COND_INITIALIZER;
static bool fake_gated;
static int fake_waiting, fake_waiting_max;

bool sandbox_box_wait_ready(sandbox_box_t *b, int timeout_ms)
{
    pthread_mutex_lock(&fake_mu);
    fake_waiting++;
    if (fake_waiting > fake_waiting_max)
        fake_waiting_max = fake_waiting;
    pthread_cond_broadcast(&fake_cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (fake_gated && pthread_cond_timedwait(&fake_cv, &fake_mu, &until) == 0)
        ;
    fake_waiting--;
    pthread_mutex_unlock(&fake_mu);
    return true;
}
bool sandbox_box_usable(sandbox_box_t *b) { return !b->dead; }
long sandbox_box_memory_kib(const sandbox_box_t *b) { return fake_kib; }
const sandbox_box_key_t *sandbox_box_key(const sandbox_box_t *b) { return &b->key; }

/* A box's end (a job's, or a discard): its container is gone at once here. */
static void fake_gone(sandbox_box_t *b, bool discarded)
{
    pthread_mutex_lock(&fake_mu);
    slot_live[b->slot] = false;
    if (discarded)
        fake_discarded++;
    pthread_mutex_unlock(&fake_mu);
    if (b->on_gone)
        b->on_gone(b->gone_payload, b->slot);
    free(b);
}

void sandbox_box_discard(sandbox_box_t *b)
{
    if (b)
        fake_gone(b, true);
}

/* ---- helpers -------------------------------------------------------------- */

static sandbox_lang_t python = {.id = "python3"};
static sandbox_lang_t other = {.id = "other"};
static sandbox_config_t cfg;

static sandbox_box_key_t key_of(sandbox_lang_t *lang, int memory_kib)
{
    return (sandbox_box_key_t){.runtime = SANDBOX_CRUN, .lang = lang, .memory_kib = memory_kib,
                               .job_kib = 64};
}

static sandbox_pool_t *open_pool_starts(int size, long budget_kib, int slots, int starts)
{
    fake_started = fake_discarded = 0;
    fake_waiting = fake_waiting_max = 0;
    fake_gated = false; /* a test that failed with the gate shut leaves it open */
    fake_kib = 20 * 1024;
    slot_shared = false;
    memset(slot_live, 0, sizeof slot_live);
    sandbox_pool_config_t pc = {.size = size,
                                .memory_budget_kib = budget_kib,
                                .first_slot = 10,
                                .slots = slots,
                                .key_idle_ms = 600000,
                                .starts = starts};
    sandbox_pool_t *p = NULL;
    err_t *err = NULL;
    assert_int_equal(sandbox_pool_open(&p, &cfg, &pc, &err), 0);
    return p;
}

static sandbox_pool_t *open_pool(int size, long budget_kib, int slots)
{
    return open_pool_starts(size, budget_kib, slots, 1);
}

/* Waits (bounded) until `n` stand-in starts wait at the gate at once. */
static bool wait_gate(int n)
{
    pthread_mutex_lock(&fake_mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (fake_waiting < n && pthread_cond_timedwait(&fake_cv, &fake_mu, &until) == 0)
        ;
    bool ok = fake_waiting >= n;
    pthread_mutex_unlock(&fake_mu);
    return ok;
}

static void gate_open(bool open)
{
    pthread_mutex_lock(&fake_mu);
    fake_gated = !open;
    pthread_cond_broadcast(&fake_cv);
    pthread_mutex_unlock(&fake_mu);
}

/* Waits (bounded) until the pool holds `n` ready boxes in all (at least
 * `n` with `or_more`). */
static bool wait_ready_count_of(sandbox_pool_t *p, int n, bool or_more)
{
    for (int i = 0; i < 2000; i++) {
        sandbox_pool_stats_t st;
        sandbox_pool_stats(p, &st);
        if ((st.ready == n || (or_more && st.ready > n)) && st.starting == 0)
            return true;
        usleep(2000);
    }
    return false;
}

static bool wait_ready_count(sandbox_pool_t *p, int n) { return wait_ready_count_of(p, n, false); }

/* ---- tests ------------------------------------------------------------------ */

static void test_an_unknown_key_is_a_miss_and_is_kept_ready_from_then_on(void **state)
{
    sandbox_pool_t *p = open_pool(2, 1 << 20, 16);
    sandbox_box_key_t k = key_of(&python, 65536);
    assert_null(sandbox_pool_take(p, &k));
    assert_true(sandbox_pool_wait_ready(p, &k, 5000));
    sandbox_box_t *b = sandbox_pool_take(p, &k);
    assert_non_null(b);
    assert_string_equal(b->key.lang->id, "python3");
    assert_int_equal(b->key.memory_kib, 65536);
    sandbox_pool_stats_t st;
    sandbox_pool_stats(p, &st);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 1);
    fake_gone(b, false);
    sandbox_pool_close(p);
}

static void test_a_box_is_given_to_one_job_only(void **state)
{
    sandbox_pool_t *p = open_pool(4, 1 << 20, 32);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    int seen[64] = {0};
    for (int i = 0; i < 40; i++) {
        assert_true(sandbox_pool_wait_ready(p, &k, 5000));
        sandbox_box_t *b = sandbox_pool_take(p, &k);
        assert_non_null(b);
        assert_true(b->serial < 64);
        assert_int_equal(seen[b->serial], 0);
        seen[b->serial] = 1;
        fake_gone(b, false); /* the job's end: the box is destroyed */
    }
    assert_false(slot_shared);
    sandbox_pool_close(p);
}

static void test_keys_differ_by_language_and_memory(void **state)
{
    sandbox_pool_t *p = open_pool(1, 1 << 20, 16);
    sandbox_box_key_t a = key_of(&python, 65536), b = key_of(&python, 131072),
                      c = key_of(&other, 65536);
    sandbox_pool_want(p, &a);
    assert_true(sandbox_pool_wait_ready(p, &a, 5000));
    assert_null(sandbox_pool_take(p, &b));
    assert_null(sandbox_pool_take(p, &c));
    sandbox_box_t *got = sandbox_pool_take(p, &a);
    assert_non_null(got);
    fake_gone(got, false);
    sandbox_pool_close(p);
}

static void test_a_box_that_died_while_it_waited_is_never_handed_out(void **state)
{
    sandbox_pool_t *p = open_pool(1, 1 << 20, 16);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    assert_true(wait_ready_count(p, 1));
    /* The one ready box (size 1) is the latest started: it dies. */
    pthread_mutex_lock(&fake_mu);
    sandbox_box_t *dying = last_started;
    int dying_serial = dying->serial;
    dying->dead = true;
    pthread_mutex_unlock(&fake_mu);
    assert_null(sandbox_pool_take(p, &k)); /* dropped, and a miss */
    assert_int_equal(fake_discarded, 1);
    assert_true(sandbox_pool_wait_ready(p, &k, 5000));
    sandbox_box_t *next = sandbox_pool_take(p, &k);
    assert_non_null(next);
    assert_int_not_equal(next->serial, dying_serial);
    fake_gone(next, false);
    sandbox_pool_close(p);
    assert_false(slot_shared);
}

static void test_a_job_too_big_for_a_pooled_box_starts_cold(void **state)
{
    sandbox_pool_t *p = open_pool(1, 1 << 20, 16);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    assert_true(sandbox_pool_wait_ready(p, &k, 5000));
    sandbox_box_key_t big = k;
    big.job_kib = SANDBOX_POOL_JOB_KIB + 1;
    assert_null(sandbox_pool_take(p, &big));
    sandbox_pool_close(p);
}

static void test_an_idle_key_keeps_one_and_a_burst_of_jobs_raises_it(void **state)
{
    sandbox_pool_t *p = open_pool(16, 1 << 20, 64);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    assert_true(wait_ready_count(p, 1));
    usleep(50000);
    sandbox_pool_stats_t st;
    sandbox_pool_stats(p, &st);
    assert_int_equal(st.ready, 1);
    /* Forty jobs in a moment: more than one box is kept, fewer than 16. */
    for (int i = 0; i < 40; i++) {
        sandbox_box_t *b = sandbox_pool_take(p, &k);
        if (b)
            fake_gone(b, false);
    }
    assert_true(wait_ready_count_of(p, 2, true));
    sandbox_pool_stats(p, &st);
    assert_true(st.ready < 16);
    sandbox_pool_close(p);
}

static void test_the_size_caps_what_a_burst_asks_for(void **state)
{
    sandbox_pool_t *p = open_pool(2, 1 << 20, 64);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    for (int i = 0; i < 40; i++) {
        sandbox_box_t *b = sandbox_pool_take(p, &k);
        if (b)
            fake_gone(b, false);
    }
    assert_true(wait_ready_count(p, 2));
    usleep(50000);
    sandbox_pool_stats_t st;
    sandbox_pool_stats(p, &st);
    assert_int_equal(st.ready, 2);
    sandbox_pool_close(p);
}

static void test_ready_boxes_stay_within_the_memory_budget(void **state)
{
    /* 50 MiB for boxes of 20 MiB: two, whatever the arrivals ask. */
    sandbox_pool_t *p = open_pool(8, 50 * 1024, 64);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    for (int i = 0; i < 40; i++) {
        sandbox_box_t *b = sandbox_pool_take(p, &k);
        if (b)
            fake_gone(b, false);
    }
    assert_true(wait_ready_count(p, 2));
    usleep(50000);
    sandbox_pool_stats_t st;
    sandbox_pool_stats(p, &st);
    assert_int_equal(st.ready, 2);
    assert_true(st.memory_kib <= 50 * 1024);
    sandbox_pool_close(p);
}

static void test_no_two_live_boxes_share_a_slot_and_close_lets_every_box_go(void **state)
{
    /* Three slots: taken boxes keep theirs until they are gone. */
    sandbox_pool_t *p = open_pool(4, 1 << 20, 3);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    sandbox_box_t *held[3] = {0};
    for (int i = 0; i < 3; i++) {
        assert_true(sandbox_pool_wait_ready(p, &k, 5000));
        held[i] = sandbox_pool_take(p, &k);
        assert_non_null(held[i]);
    }
    /* Every slot is held by a job: nothing more can start. */
    assert_false(sandbox_pool_wait_ready(p, &k, 100));
    fake_gone(held[0], false);
    assert_true(sandbox_pool_wait_ready(p, &k, 5000));
    fake_gone(held[1], false);
    fake_gone(held[2], false);
    sandbox_pool_close(p);
    assert_false(slot_shared);
    assert_int_equal(fake_started, fake_discarded + 3);
}

static void test_starts_boxes_at_once_never_more_than_asked(void **state)
{
    /* Two threads; a burst of jobs wants three boxes (before a start was
     * measured, one is taken to last 100 ms). */
    sandbox_pool_t *p = open_pool_starts(8, 1 << 20, 64, 2);
    gate_open(false);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    assert_true(wait_gate(1));
    for (int i = 0; i < 40; i++) {
        sandbox_box_t *b = sandbox_pool_take(p, &k);
        if (b)
            fake_gone(b, false);
    }
    assert_true(wait_gate(2));
    usleep(50000);
    pthread_mutex_lock(&fake_mu);
    int most = fake_waiting_max;
    pthread_mutex_unlock(&fake_mu);
    assert_int_equal(most, 2);
    gate_open(true);
    assert_true(wait_ready_count_of(p, 1, true));
    sandbox_pool_close(p);
    assert_false(slot_shared);
}

static void test_one_key_wanting_one_box_starts_one_whatever_the_threads(void **state)
{
    sandbox_pool_t *p = open_pool_starts(8, 1 << 20, 64, 4);
    gate_open(false);
    sandbox_box_key_t k = key_of(&python, 65536);
    sandbox_pool_want(p, &k);
    assert_true(wait_gate(1));
    usleep(100000);
    pthread_mutex_lock(&fake_mu);
    int most = fake_waiting_max;
    pthread_mutex_unlock(&fake_mu);
    assert_int_equal(most, 1);
    gate_open(true);
    assert_true(wait_ready_count(p, 1));
    sandbox_pool_close(p);
    assert_int_equal(fake_started, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_unknown_key_is_a_miss_and_is_kept_ready_from_then_on),
        cmocka_unit_test(test_a_box_is_given_to_one_job_only),
        cmocka_unit_test(test_keys_differ_by_language_and_memory),
        cmocka_unit_test(test_a_box_that_died_while_it_waited_is_never_handed_out),
        cmocka_unit_test(test_a_job_too_big_for_a_pooled_box_starts_cold),
        cmocka_unit_test(test_an_idle_key_keeps_one_and_a_burst_of_jobs_raises_it),
        cmocka_unit_test(test_the_size_caps_what_a_burst_asks_for),
        cmocka_unit_test(test_ready_boxes_stay_within_the_memory_budget),
        cmocka_unit_test(test_no_two_live_boxes_share_a_slot_and_close_lets_every_box_go),
        cmocka_unit_test(test_starts_boxes_at_once_never_more_than_asked),
        cmocka_unit_test(test_one_key_wanting_one_box_starts_one_whatever_the_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

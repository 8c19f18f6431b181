/* test_secrets — password hashes (argon2id at the cheapest cost the
 * configuration allows) verify only their own password; the hash gate runs
 * so many at once, queues so many more and refuses the rest at once; bearer
 * secrets are fresh, URL-safe and stored as their SHA-256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdlib.h>

#include "libcommon/cleanup.h"
#include "services/auth/auth.h"

static int setup(void **state)
{
    static auth_t auth;
    auth.cfg.argon_ops = 1;
    auth.cfg.argon_mem_bytes = 8192 * 1024; /* the smallest DOJO_AUTH_ARGON2_MEM_KIB */
    auth_hash_gate_init(&auth.hash_gate, 2, 0);
    *state = &auth;
    return sodium_init() < 0 ? -1 : 0;
}

static bool verifies(auth_t *auth, const char *hash, const char *password)
{
    bool ok = false;
    cleanup_err err_t *err = NULL;
    assert_int_equal(auth_verify_password(auth, NULL, hash, password, &ok, &err), 0);
    return ok;
}

static void test_a_password_hash_verifies_its_password_and_no_other(void **state)
{
    char hash[128];
    cleanup_err err_t *err = NULL;
    assert_int_equal(auth_hash_password(*state, NULL, "correct horse battery", hash, &err), 0);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(verifies(*state, hash, "correct horse battery"));
    assert_false(verifies(*state, hash, "correct horse batterY"));
    assert_false(verifies(*state, hash, ""));
}

static void test_the_same_password_hashes_differently_each_time(void **state)
{
    char a[128], b[128];
    cleanup_err err_t *err = NULL;
    assert_int_equal(auth_hash_password(*state, NULL, "correct horse battery", a, &err), 0);
    assert_int_equal(auth_hash_password(*state, NULL, "correct horse battery", b, &err), 0);
    assert_string_not_equal(a, b); /* salted */
    assert_true(verifies(*state, a, "correct horse battery"));
    assert_true(verifies(*state, b, "correct horse battery"));
}

static void test_a_broken_hash_verifies_nothing(void **state)
{
    assert_false(verifies(*state, "", "anything"));
    assert_false(verifies(*state, "$argon2id$v=19$garbage", "anything"));
}

/* ------------------------------------------------------------------------
 * The hash gate
 * ------------------------------------------------------------------------ */

static void
test_a_hash_past_the_slots_and_the_queue_is_refused_at_once_with_a_retry_after(void **state)
{
    auth_hash_gate_t g;
    auth_hash_gate_init(&g, 1, 0);
    cleanup_err err_t *err = NULL;
    int slot = auth_hash_gate_enter(&g, 60000, &err);
    assert_int_equal(slot, 0);
    /* A wait of a minute: were the refusal not at once, the test would hang. */
    assert_int_equal(auth_hash_gate_enter(&g, 60000, &err), -1);
    assert_non_null(err);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_true(err->retry_after_s >= 1);
    assert_int_equal(auth_hash_gate_admitted(&g), 1);
    auth_hash_gate_leave(&g, slot, 40000);
    err_clear(&err);
    slot = auth_hash_gate_enter(&g, 60000, &err);
    assert_int_equal(slot, 0);
    auth_hash_gate_leave(&g, slot, 40000);
    assert_int_equal(auth_hash_gate_admitted(&g), 0);
    auth_hash_gate_destroy(&g);
}

typedef struct waiter {
    auth_hash_gate_t *g;
    int slot;
} waiter_t;

static void *wait_for_slot(void *arg)
{
    waiter_t *w = arg;
    cleanup_err err_t *err = NULL;
    w->slot = auth_hash_gate_enter(w->g, 600000, &err);
    return NULL;
}

static void test_a_caller_within_the_queue_waits_for_a_slot_and_the_next_is_refused(void **state)
{
    auth_hash_gate_t g;
    auth_hash_gate_init(&g, 1, 1);
    cleanup_err err_t *err = NULL;
    int mine = auth_hash_gate_enter(&g, 0, &err);
    assert_int_equal(mine, 0);
    waiter_t w = {.g = &g, .slot = -2};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_for_slot, &w), 0);
    while (auth_hash_gate_admitted(&g) < 2)
        sched_yield();
    assert_int_equal(auth_hash_gate_enter(&g, 600000, &err), -1); /* the queue holds one */
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    auth_hash_gate_leave(&g, mine, 1000);
    pthread_join(t, NULL);
    assert_int_equal(w.slot, 0);
    auth_hash_gate_leave(&g, w.slot, 1000);
    assert_int_equal(auth_hash_gate_admitted(&g), 0);
    auth_hash_gate_destroy(&g);
}

static void test_a_waiter_whose_wait_ends_is_refused_and_leaves_the_queue(void **state)
{
    auth_hash_gate_t g;
    auth_hash_gate_init(&g, 1, 4);
    cleanup_err err_t *err = NULL;
    int mine = auth_hash_gate_enter(&g, 0, &err);
    assert_int_equal(auth_hash_gate_enter(&g, 0, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_int_equal(auth_hash_gate_admitted(&g), 1);
    auth_hash_gate_leave(&g, mine, 1000);
    auth_hash_gate_destroy(&g);
}

static void test_the_retry_after_counts_the_hashes_ahead_per_slot(void **state)
{
    auth_hash_gate_t g;
    auth_hash_gate_init(&g, 2, 0);
    cleanup_err err_t *err = NULL;
    int a = auth_hash_gate_enter(&g, 0, &err);
    auth_hash_gate_leave(&g, a, 3000000); /* one hash took 3 s */
    a = auth_hash_gate_enter(&g, 0, &err);
    int b = auth_hash_gate_enter(&g, 0, &err);
    assert_int_equal(auth_hash_gate_enter(&g, 0, &err), -1);
    assert_int_equal(err->retry_after_s, 3); /* 2 ahead x 3 s over 2 slots */
    auth_hash_gate_leave(&g, a, 3000000);
    auth_hash_gate_leave(&g, b, 3000000);
    auth_hash_gate_destroy(&g);
}

static void test_a_refused_hash_writes_no_hash(void **state)
{
    auth_t *auth = *state;
    cleanup_err err_t *err = NULL;
    int a = auth_hash_gate_enter(&auth->hash_gate, 0, &err);
    int b = auth_hash_gate_enter(&auth->hash_gate, 0, &err);
    char hash[128] = "";
    assert_int_equal(auth_hash_password(auth, NULL, "correct horse battery", hash, &err), -1);
    assert_int_equal(err->code, GRPC_STATUS_UNAVAILABLE);
    assert_string_equal(hash, "");
    bool ok = true;
    err_clear(&err);
    assert_int_equal(auth_verify_password(auth, NULL, "x", "y", &ok, &err), -1);
    auth_hash_gate_leave(&auth->hash_gate, a, 1000);
    auth_hash_gate_leave(&auth->hash_gate, b, 1000);
}

static void test_bearer_secrets_are_43_url_safe_characters_and_fresh(void **state)
{
    cleanup_free char *a = auth_random_token();
    cleanup_free char *b = auth_random_token();
    assert_int_equal(strlen(a), 43); /* 32 bytes, base64url without padding */
    assert_string_not_equal(a, b);
    for (const char *p = a; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

static void test_a_secret_is_stored_as_its_sha256_in_hex(void **state)
{
    char hex[65];
    auth_token_hash("abc", hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auth_token_hash("", hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_password_hash_verifies_its_password_and_no_other),
        cmocka_unit_test(test_the_same_password_hashes_differently_each_time),
        cmocka_unit_test(test_a_broken_hash_verifies_nothing),
        cmocka_unit_test(
            test_a_hash_past_the_slots_and_the_queue_is_refused_at_once_with_a_retry_after),
        cmocka_unit_test(test_a_caller_within_the_queue_waits_for_a_slot_and_the_next_is_refused),
        cmocka_unit_test(test_a_waiter_whose_wait_ends_is_refused_and_leaves_the_queue),
        cmocka_unit_test(test_the_retry_after_counts_the_hashes_ahead_per_slot),
        cmocka_unit_test(test_a_refused_hash_writes_no_hash),
        cmocka_unit_test(test_bearer_secrets_are_43_url_safe_characters_and_fresh),
        cmocka_unit_test(test_a_secret_is_stored_as_its_sha256_in_hex),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

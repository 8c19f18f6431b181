/* test_slots — the lease bookkeeping of the PostgreSQL and Redis pools:
 * each slot has one holder, connected slots are preferred, a waiter gets a
 * slot given back, and a full set times out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "libcommon/slots.h"

static bool none_connected(int index, void *payload)
{
    return false;
}

static bool in_set(int index, void *payload)
{
    return ((const bool *)payload)[index];
}

static void test_every_slot_is_taken_once_before_any_is_taken_twice(void **state)
{
    slots_t s;
    slots_init(&s, 4);
    bool seen[4] = {false};
    for (int i = 0; i < 4; i++) {
        int k = slots_take(&s, 1000, none_connected, NULL);
        assert_true(k >= 0 && k < 4);
        assert_false(seen[k]);
        seen[k] = true;
    }
    slots_destroy(&s);
}

static void test_a_connected_slot_is_preferred_to_an_unconnected_one(void **state)
{
    slots_t s;
    slots_init(&s, 4);
    bool connected[4] = {false, false, true, false};
    assert_int_equal(slots_take(&s, 1000, in_set, connected), 2);
    /* With the connected one taken, the first free one. */
    assert_int_equal(slots_take(&s, 1000, in_set, connected), 0);
    slots_put(&s, 2);
    assert_int_equal(slots_take(&s, 1000, in_set, connected), 2);
    slots_destroy(&s);
}

static void test_taking_from_a_full_set_gives_up_after_the_timeout(void **state)
{
    slots_t s;
    slots_init(&s, 1);
    assert_int_equal(slots_take(&s, 1000, none_connected, NULL), 0);
    assert_int_equal(slots_take(&s, 20, none_connected, NULL), -1);
    assert_int_equal(slots_take(&s, 0, none_connected, NULL), -1);
    slots_put(&s, 0);
    assert_int_equal(slots_take(&s, 0, none_connected, NULL), 0);
    slots_destroy(&s);
}

typedef struct waiter {
    slots_t *s;
    int got;
} waiter_t;

static void *wait_for_slot(void *arg)
{
    waiter_t *w = arg;
    /* Long enough never to run out on a busy machine: the put wakes it. */
    w->got = slots_take(w->s, 60000, none_connected, NULL);
    return NULL;
}

static void test_a_waiter_gets_the_slot_given_back(void **state)
{
    slots_t s;
    slots_init(&s, 2);
    assert_int_equal(slots_take(&s, 1000, none_connected, NULL), 0);
    assert_int_equal(slots_take(&s, 1000, none_connected, NULL), 1);
    waiter_t w = {.s = &s, .got = -2};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_for_slot, &w), 0);
    slots_put(&s, 1);
    pthread_join(t, NULL);
    assert_int_equal(w.got, 1);
    slots_destroy(&s);
}

static void test_a_deadline_carries_nanoseconds_into_seconds(void **state)
{
    for (int64_t ms = 0; ms < 3000; ms += 137) {
        struct timespec t = timespec_in_ms(CLOCK_MONOTONIC, ms);
        assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
    }
    struct timespec now = timespec_in_ms(CLOCK_MONOTONIC, 0);
    struct timespec later = timespec_in_ms(CLOCK_MONOTONIC, 5000);
    int64_t diff_ms =
        (int64_t)(later.tv_sec - now.tv_sec) * 1000 + (later.tv_nsec - now.tv_nsec) / 1000000;
    assert_true(diff_ms >= 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_slot_is_taken_once_before_any_is_taken_twice),
        cmocka_unit_test(test_a_connected_slot_is_preferred_to_an_unconnected_one),
        cmocka_unit_test(test_taking_from_a_full_set_gives_up_after_the_timeout),
        cmocka_unit_test(test_a_waiter_gets_the_slot_given_back),
        cmocka_unit_test(test_a_deadline_carries_nanoseconds_into_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

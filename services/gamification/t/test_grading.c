/* test_grading — late policies, assignment states, retries buckets,
 * medians and time to solve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "services/gamification/grading.h"

#define S 1000000LL

static grading_result_t grade(double on, double late, bool ac_on, bool ac_late, int policy,
                              int penalty)
{
    grading_facts_t f = {.best_on_time = on,
                         .best_on_time_at_us = on >= 0 ? 100 * S : 0,
                         .best_late = late,
                         .best_late_at_us = late >= 0 ? 200 * S : 0,
                         .accepted_on_time = ac_on,
                         .accepted_late = ac_late};
    grading_result_t r;
    grading_grade(&f, policy, penalty, &r);
    return r;
}

static void test_an_on_time_submission_counts_as_it_is_under_every_policy(void **state)
{
    for (int policy = GRADING_ACCEPT; policy <= GRADING_REFUSE; policy++) {
        grading_result_t r = grade(0.5, -1, false, false, policy, 30);
        assert_true(r.percent == 50.0);
        assert_false(r.late);
        assert_false(r.solved);
        assert_int_equal(r.at_us, 100 * S);
    }
}

static void test_a_late_accepted_submission_counts_in_full_when_late_work_is_accepted(void **state)
{
    grading_result_t r = grade(0.25, 1.0, false, true, GRADING_ACCEPT, 0);
    assert_true(r.percent == 100.0);
    assert_true(r.late && r.solved);
    assert_int_equal(r.at_us, 200 * S);
}

static void test_a_penalty_takes_its_share_of_a_late_score_and_only_wins_when_better(void **state)
{
    grading_result_t r = grade(0.5, 1.0, false, true, GRADING_PENALTY, 30);
    assert_true(r.percent == 70.0);
    assert_true(r.late && r.solved);
    /* 0.8 on time beats 1.0 late less 30 %. */
    r = grade(0.8, 1.0, false, true, GRADING_PENALTY, 30);
    assert_true(r.percent == 80.0);
    assert_false(r.late);
    assert_true(r.solved); /* the late accepted one still solves the task */
    /* A tie goes to the on-time submission. */
    r = grade(0.7, 1.0, false, true, GRADING_PENALTY, 30);
    assert_false(r.late);
    r = grade(-1, 1.0, false, true, GRADING_PENALTY, 100);
    assert_true(r.percent == 0.0);
    assert_int_equal(r.at_us, 0);
}

static void test_refused_late_work_counts_for_nothing(void **state)
{
    grading_result_t r = grade(-1, 1.0, false, true, GRADING_REFUSE, 0);
    assert_true(r.percent == 0.0);
    assert_false(r.late || r.solved);
    assert_int_equal(r.at_us, 0);
    r = grade(0.4, 1.0, false, true, GRADING_REFUSE, 0);
    assert_true(r.percent == 40.0);
    assert_false(r.solved);
}

static void test_nothing_submitted_is_zero(void **state)
{
    grading_result_t r = grade(-1, -1, false, false, GRADING_ACCEPT, 0);
    assert_true(r.percent == 0.0);
    assert_false(r.late || r.solved);
}

static void test_states_follow_the_clock_and_the_policy(void **state)
{
    assert_int_equal(grading_state(5, 10, 20, GRADING_ACCEPT), GRADING_UPCOMING);
    assert_int_equal(grading_state(10, 10, 20, GRADING_ACCEPT), GRADING_OPEN);
    assert_int_equal(grading_state(20, 10, 20, GRADING_ACCEPT), GRADING_OPEN);
    assert_int_equal(grading_state(21, 10, 20, GRADING_ACCEPT), GRADING_LATE);
    assert_int_equal(grading_state(21, 10, 20, GRADING_PENALTY), GRADING_LATE);
    assert_int_equal(grading_state(21, 10, 20, GRADING_REFUSE), GRADING_CLOSED);
}

static void test_retries_buckets(void **state)
{
    assert_string_equal(grading_retries_label(1, true), "1");
    assert_string_equal(grading_retries_label(2, true), "2");
    assert_string_equal(grading_retries_label(3, true), "3");
    assert_string_equal(grading_retries_label(5, true), "4-5");
    assert_string_equal(grading_retries_label(6, true), "6-10");
    assert_string_equal(grading_retries_label(11, true), "11+");
    assert_string_equal(grading_retries_label(4, false), "unsolved");
    assert_int_equal(grading_retries_nlabels, 7);
}

static void test_median_of_odd_even_and_none(void **state)
{
    double a[] = {5, 1, 3};
    assert_true(grading_median(a, 3) == 3);
    double b[] = {4, 1, 3, 2};
    assert_true(grading_median(b, 4) == 2.5);
    assert_true(grading_median(NULL, 0) == 0);
}

static void test_time_to_solve_starts_at_the_first_opening_or_submission(void **state)
{
    assert_int_equal(grading_seconds_to_solve(100 * S, 150 * S, 400 * S), 300);
    /* Opened after submitting (an API client): the submission starts it. */
    assert_int_equal(grading_seconds_to_solve(200 * S, 150 * S, 400 * S), 250);
    assert_int_equal(grading_seconds_to_solve(0, 150 * S, 400 * S), 250);
    assert_int_equal(grading_seconds_to_solve(100 * S, 150 * S, 0), -1);
    assert_int_equal(grading_seconds_to_solve(0, 0, 400 * S), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_on_time_submission_counts_as_it_is_under_every_policy),
        cmocka_unit_test(test_a_late_accepted_submission_counts_in_full_when_late_work_is_accepted),
        cmocka_unit_test(test_a_penalty_takes_its_share_of_a_late_score_and_only_wins_when_better),
        cmocka_unit_test(test_refused_late_work_counts_for_nothing),
        cmocka_unit_test(test_nothing_submitted_is_zero),
        cmocka_unit_test(test_states_follow_the_clock_and_the_policy),
        cmocka_unit_test(test_retries_buckets),
        cmocka_unit_test(test_median_of_odd_even_and_none),
        cmocka_unit_test(test_time_to_solve_starts_at_the_first_opening_or_submission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_board — contest scoreboards against results worked out by hand:
 * ICPC penalties (20 minutes per rejected attempt before the first accepted
 * one, compile errors free), ties, pending and frozen submissions, IOI
 * groups with best and last submissions, first to solve, medals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "services/gamification/board.h"

#define AC 1
#define WA 2
#define TLE 3
#define CE 7
#define IE 8
#define MIN(m) ((int64_t)(m)*60000)

static const board_problem_t problems[] = {{"A", 10000}, {"B", 10000}, {"C", 10000}};
static const board_team_t teams[] = {
    {"1", "Alpha"}, {"2", "Bravo"}, {"3", "Charlie"}, {"4", "Delta"}};

/* The row of team `id`. */
static const board_row_t *row_of(const board_t *b, const char *id)
{
    for (size_t i = 0; i < b->nrows; i++)
        if (!strcmp(teams[b->rows[i].team].id, id))
            return &b->rows[i];
    fail_msg("no row for team %s", id);
    return NULL;
}

static const board_award_t *award_of(const board_t *b, const char *id)
{
    for (size_t i = 0; i < b->nawards; i++)
        if (!strcmp(b->awards[i].id, id))
            return &b->awards[i];
    return NULL;
}

static board_input_t icpc(const board_sub_t *subs, size_t n)
{
    board_input_t in = {.scoring = BOARD_ICPC,
                        .ioi_mode = BOARD_IOI_BEST,
                        .penalty_minutes = 20,
                        .problems = problems,
                        .nproblems = 3,
                        .teams = teams,
                        .nteams = 4,
                        .subs = subs,
                        .nsubs = n};
    return in;
}

/* Alpha: A WA@10 AC@25 (45), B CE@30 AC@40 (40) -> 2 solved, 85 min.
 * Bravo: A AC@20 (20), B WA@50 WA@60 AC@65 (105) -> 2 solved, 125 min.
 * Charlie: A AC@5 (5), C TLE@100 -> 1 solved, 5 min. Delta: nothing. */
static const board_sub_t script[] = {
    {0, 0, 1, MIN(10), WA, 0, false},  {0, 0, 2, MIN(25), AC, 0, false},
    {0, 1, 3, MIN(30), CE, 0, false},  {0, 1, 4, MIN(40), AC, 0, false},
    {1, 0, 5, MIN(20), AC, 0, false},  {1, 1, 6, MIN(50), WA, 0, false},
    {1, 1, 7, MIN(60), WA, 0, false},  {1, 1, 8, MIN(65) + 59999, AC, 0, false},
    {2, 0, 9, MIN(5), AC, 0, false},   {2, 2, 10, MIN(100), TLE, 0, false},
    {1, 0, 11, MIN(90), WA, 0, false}, /* after Bravo's solve of A: counts for nothing */
};

static void test_icpc_penalties_and_ranks_match_the_hand_count(void **state)
{
    board_input_t in = icpc(script, sizeof script / sizeof script[0]);
    board_t b;
    board_compute(&in, &b);
    assert_string_equal(teams[b.rows[0].team].id, "1");
    assert_string_equal(teams[b.rows[1].team].id, "2");
    assert_string_equal(teams[b.rows[2].team].id, "3");
    assert_string_equal(teams[b.rows[3].team].id, "4");
    const board_row_t *a = row_of(&b, "1"), *br = row_of(&b, "2"), *c = row_of(&b, "3"),
                      *d = row_of(&b, "4");
    assert_int_equal(a->rank, 1);
    assert_int_equal(a->num_solved, 2);
    assert_int_equal(a->total_minutes, 85);
    assert_int_equal(a->last_ms, MIN(40));
    assert_int_equal(a->cells[0].num_judged, 2);
    assert_int_equal(a->cells[1].num_judged, 1); /* the compile error is no attempt */
    assert_int_equal(br->rank, 2);
    assert_int_equal(br->total_minutes, 20 + 65 + 40); /* the minute is cut, not rounded */
    assert_int_equal(br->cells[0].num_judged, 1);      /* nothing after the solve */
    assert_int_equal(br->cells[1].num_judged, 3);
    assert_int_equal(c->rank, 3);
    assert_int_equal(c->total_minutes, 5);
    assert_false(c->cells[2].solved);
    assert_int_equal(c->cells[2].num_judged, 1);
    assert_int_equal(d->rank, 4);
    assert_int_equal(d->last_ms, -1);
    /* First to solve: A by Charlie at 0:05, B by Alpha at 0:40, C nobody. */
    assert_true(c->cells[0].first_to_solve);
    assert_false(br->cells[0].first_to_solve);
    assert_true(a->cells[1].first_to_solve);
    const board_award_t *fa = award_of(&b, "first-to-solve-A");
    assert_non_null(fa);
    assert_int_equal(fa->nteams, 1);
    assert_string_equal(teams[fa->teams[0]].id, "3");
    assert_int_equal(award_of(&b, "first-to-solve-C")->nteams, 0);
    const board_award_t *w = award_of(&b, "winner");
    assert_int_equal(w->nteams, 1);
    assert_string_equal(teams[w->teams[0]].id, "1");
    assert_null(award_of(&b, "gold-medal")); /* no medals configured */
    board_free(&b);
}

static void test_equal_scores_share_a_rank_and_sort_by_name(void **state)
{
    /* Delta and Bravo both solve A at 0:30 with one wrong try: 50 minutes. */
    const board_sub_t subs[] = {
        {3, 0, 1, MIN(10), WA, 0, false},
        {3, 0, 2, MIN(30), AC, 0, false},
        {1, 0, 3, MIN(12), WA, 0, false},
        {1, 0, 4, MIN(30), AC, 0, false},
    };
    board_input_t in = icpc(subs, 4);
    in.gold = 1;
    in.silver = 1;
    board_t b;
    board_compute(&in, &b);
    assert_string_equal(teams[b.rows[0].team].name, "Bravo");
    assert_string_equal(teams[b.rows[1].team].name, "Delta");
    assert_int_equal(b.rows[0].rank, 1);
    assert_int_equal(b.rows[1].rank, 1);
    assert_int_equal(b.rows[2].rank, 3); /* Alpha and Charlie: nothing, tied */
    assert_int_equal(b.rows[3].rank, 3);
    /* Both winners and both gold; nobody with a score is left for silver. */
    assert_int_equal(award_of(&b, "winner")->nteams, 2);
    assert_int_equal(award_of(&b, "gold-medal")->nteams, 2);
    assert_int_equal(award_of(&b, "silver-medal")->nteams, 0);
    /* First to solve A: Delta, who submitted first within that second. */
    assert_string_equal(teams[award_of(&b, "first-to-solve-A")->teams[0]].name, "Delta");
    board_free(&b);
}

static void test_pending_and_frozen_submissions_hide_what_comes_after(void **state)
{
    /* Alpha: A WA@10 (judged), AC@50 frozen, AC@55 judged -> pending 2,
     * judged 1, not solved. Bravo: A AC@60 judged. */
    const board_sub_t subs[] = {
        {0, 0, 1, MIN(10), WA, 0, false}, {0, 0, 2, MIN(50), AC, 0, true},
        {0, 0, 3, MIN(55), AC, 0, false}, {1, 0, 4, MIN(60), AC, 0, false},
        {2, 1, 5, MIN(70), 0, 0, false}, /* not judged yet */
    };
    board_input_t in = icpc(subs, 5);
    board_t b;
    board_compute(&in, &b);
    const board_row_t *a = row_of(&b, "1");
    assert_false(a->cells[0].solved);
    assert_int_equal(a->cells[0].num_judged, 1);
    assert_int_equal(a->cells[0].num_pending, 2);
    assert_int_equal(row_of(&b, "3")->cells[1].num_pending, 1);
    assert_int_equal(row_of(&b, "2")->rank, 1);
    /* Alpha's frozen try came first: first to solve A is not decided. */
    assert_int_equal(award_of(&b, "first-to-solve-A")->nteams, 0);
    assert_false(row_of(&b, "2")->cells[0].first_to_solve);
    board_free(&b);
}

static void test_ioi_groups_count_whole(void **state)
{
    const char *groups[] = {"", "", "big", "big"};
    const int weights[] = {1, 1, 2, 2};
    const bool some[] = {true, false, true, false};
    const bool all_big[] = {false, false, true, true};
    const bool all[] = {true, true, true, true};
    /* 1 of 6 -> 16.67; 4 of 6 -> 66.67; 6 of 6 -> 100. */
    assert_int_equal(board_ioi_score_c(10000, 4, groups, weights, some), 1667);
    assert_int_equal(board_ioi_score_c(10000, 4, groups, weights, all_big), 6667);
    assert_int_equal(board_ioi_score_c(10000, 4, groups, weights, all), 10000);
    assert_int_equal(board_ioi_score_c(5000, 4, NULL, weights, some), 2500); /* no groups */
}

static void test_ioi_best_and_last_submissions(void **state)
{
    /* Alpha: A 40@10 then 70@20 then 30@30; B 100@50. Bravo: A 100@15. */
    const board_sub_t subs[] = {
        {0, 0, 1, MIN(10), WA, 4000, false},  {0, 0, 2, MIN(20), WA, 7000, false},
        {0, 0, 3, MIN(30), WA, 3000, false},  {0, 1, 4, MIN(50), AC, 10000, false},
        {1, 0, 5, MIN(15), AC, 10000, false}, {1, 2, 6, MIN(16), CE, 0, false},
    };
    board_input_t in = {.scoring = BOARD_IOI,
                        .ioi_mode = BOARD_IOI_BEST,
                        .problems = problems,
                        .nproblems = 3,
                        .teams = teams,
                        .nteams = 4,
                        .subs = subs,
                        .nsubs = 6};
    board_t b;
    board_compute(&in, &b);
    const board_row_t *a = row_of(&b, "1");
    assert_int_equal(a->score_c, 17000);
    assert_int_equal(a->cells[0].time_ms, MIN(20));
    assert_int_equal(a->cells[0].num_judged, 3);
    assert_int_equal(a->last_ms, MIN(50));
    assert_int_equal(a->rank, 1);
    assert_int_equal(row_of(&b, "2")->score_c, 10000);
    assert_int_equal(row_of(&b, "2")->cells[2].num_judged, 0);
    assert_string_equal(teams[award_of(&b, "first-to-solve-A")->teams[0]].id, "2");
    board_free(&b);

    in.ioi_mode = BOARD_IOI_LAST;
    board_compute(&in, &b);
    a = row_of(&b, "1");
    assert_int_equal(a->score_c, 13000);
    assert_int_equal(a->cells[0].time_ms, MIN(30));
    assert_int_equal(a->rank, 1);
    board_free(&b);
}

static void test_medals_go_by_rank_to_teams_that_scored(void **state)
{
    board_input_t in = icpc(script, sizeof script / sizeof script[0]);
    in.gold = 1;
    in.silver = 1;
    in.bronze = 2;
    board_t b;
    board_compute(&in, &b);
    const board_award_t *g = award_of(&b, "gold-medal"), *s = award_of(&b, "silver-medal"),
                        *z = award_of(&b, "bronze-medal");
    assert_int_equal(g->nteams, 1);
    assert_string_equal(teams[g->teams[0]].id, "1");
    assert_int_equal(s->nteams, 1);
    assert_string_equal(teams[s->teams[0]].id, "2");
    assert_int_equal(z->nteams, 1); /* Delta (rank 4) solved nothing */
    assert_string_equal(teams[z->teams[0]].id, "3");
    board_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_icpc_penalties_and_ranks_match_the_hand_count),
        cmocka_unit_test(test_equal_scores_share_a_rank_and_sort_by_name),
        cmocka_unit_test(test_pending_and_frozen_submissions_hide_what_comes_after),
        cmocka_unit_test(test_ioi_groups_count_whole),
        cmocka_unit_test(test_ioi_best_and_last_submissions),
        cmocka_unit_test(test_medals_go_by_rank_to_teams_that_scored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
